/**
 * Link benchmark: a Node relay between two TAPs, built on TapLink and the Link interface,
 * carrying one bounded iperf3 TCP bulk transfer between two kernels, compared in the same run
 * with the batched C relay of the perf anchors (shared/bench-anchors/02-tap-relay.sh).
 *
 *   namespace chn-a: chntapA 198.18.0.1/24  <->  [this process: TapLink A <-> TapLink B]  <->  namespace chn-b: chntapB 198.18.0.2/24
 *
 * Two configurations: plain 1500-byte frames, and virtio-net header with CSUM+TSO offloads
 * (GSO super-frames up to 64 KiB cross the relay unsegmented). Reported per configuration:
 * Gbit/s (iperf3 -J, receiver side), frames/s read by the relay (both directions, as the C
 * relay counts them), and the relay's CPU (process.cpuUsage over the transfer, % of one core).
 *
 * Usage (root): npm run bench:link -- [--seconds 5] [--runs 1] [--skip-baseline] [--config plain|vnet|both]
 *               [--rx-batch 64] [--quiet-wait 30] [--attempts 3]
 * The machine is shared, so both sides get the anchors' guard: wait (at most --quiet-wait s) for a
 * quiet machine before each run, measure other processes' CPU during it, and repeat a run that
 * was disturbed (more than 0.3 CPU-s of foreign load) up to --attempts times; a run that never
 * got clean is kept and flagged.
 * Everything is bounded (iperf3 -t, timeouts on every child) and removed on exit or failure
 * (namespaces chn-a/chn-b, TAPs chntapA/chntapB, child processes, the temp copy of the anchors).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Link } from '../src/link/link.js';
import { TapLink } from '../src/link/tap-link.js';
import { intArg } from './bench/args.js';

const NS_A = 'chn-a';
const NS_B = 'chn-b';
const TAP_A = 'chntapA';
const TAP_B = 'chntapB';
const IP_A = '198.18.0.1';
const IP_B = '198.18.0.2';
const ANCHORS = '/work/shared/bench-anchors';

type ConfigName = 'plain' | 'vnet';

interface RunResult {
  gbps: number;
  framesPerSec: number;
  cpuPct: number;
  /** The user-space share of cpuPct (JS, the addon); the rest is kernel time, most of it the peers' stacks run inside our writes. */
  userPct: number;
  retransmits: number;
  aToB: number;
  bToA: number;
  avgBatch: number;
  avgFrameBytes: number;
  drops: number;
  /** Other processes used more than FOREIGN_MAX of CPU during the run (the anchors' guard). */
  disturbed: boolean;
  foreign: string;
}

interface Baseline {
  gbps: number;
  framesPerSec: number | undefined;
  cpuPct: number | undefined;
  disturbed: boolean;
}

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    runs: { type: 'string', default: '1' },
    'skip-baseline': { type: 'boolean', default: false },
    config: { type: 'string', default: 'both' },
    'rx-batch': { type: 'string', default: '64' },
    'quiet-wait': { type: 'string', default: '30' },
    attempts: { type: 'string', default: '3' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (args.help) {
  process.stdout.write(`npm run bench:link -- [options]   (root; a TapLink relay between two namespaces, iperf3 between their kernels)

  --seconds N        iperf3 run length (default 5)
  --runs N           runs per configuration; the median is reported (default 1)
  --config WHICH     plain, vnet or both (default both)
  --rx-batch N       frames drained per readable event (default 64)
  --skip-baseline    do not measure the C relay from ../shared/bench-anchors
  --quiet-wait S     wait up to S seconds for a quiet machine before each run (default 30)
  --attempts N       repeat a run disturbed by foreign CPU load up to N times (default 3)
`);
  process.exit(0);
}

const SECONDS = intArg('seconds', args.seconds, 1, 30);
const RUNS = intArg('runs', args.runs, 1, 5);
const RX_BATCH = intArg('rx-batch', args['rx-batch'], 1, 1024);
const QUIET_WAIT = intArg('quiet-wait', args['quiet-wait'], 0, 240);
const ATTEMPTS = intArg('attempts', args.attempts, 1, 5);
/** CPU seconds other processes may use during a run before it counts as disturbed (as in the anchors' common.sh). */
const FOREIGN_MAX = 0.3;
const CONFIGS: ConfigName[] = args.config === 'both' ? ['plain', 'vnet'] : args.config === 'plain' || args.config === 'vnet' ? [args.config] : [];
if (CONFIGS.length === 0) throw new Error(`--config must be plain, vnet or both, got ${String(args.config)}`);

// ---- process and cleanup plumbing ---------------------------------------------------------------

const children = new Set<ChildProcess>();
const openLinks = new Set<Link>();
let tempDir: string | undefined;

function log(msg: string): void {
  process.stderr.write(`[bench-link] ${msg}\n`);
}

/** Synchronous, bounded command; only used while no relay is running (it blocks the event loop). */
function sh(cmd: string, argv: readonly string[], opts: { allowFail?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): string {
  try {
    return execFileSync(cmd, argv, {
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? 15_000,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      maxBuffer: 64 << 20,
    });
  } catch (e) {
    if (opts.allowFail === true) return '';
    const x = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${argv.join(' ')}: ${(x.stderr ?? x.message).trim()}`);
  }
}

/** Asynchronous, bounded child (the relay keeps running in this event loop meanwhile). */
function spawnBounded(cmd: string, argv: readonly string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const finish = (code: number): void => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, stdout, stderr });
    };
    child.on('error', (e) => {
      stderr += String(e);
      finish(-1);
    });
    child.on('close', (code) => finish(code ?? -1));
  });
}

function removeNetworks(): void {
  for (const ns of [NS_A, NS_B]) sh('ip', ['netns', 'del', ns], { allowFail: true });
  for (const dev of [TAP_A, TAP_B]) sh('ip', ['link', 'del', dev], { allowFail: true });
}

async function closeLinks(): Promise<void> {
  for (const l of openLinks) await l.close();
  openLinks.clear();
}

function cleanupSync(): void {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
  for (const l of openLinks) void l.close();
  openLinks.clear();
  removeNetworks();
  if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
  tempDir = undefined;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    log(`${sig}: cleaning up`);
    cleanupSync();
    process.exit(130);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Waits (bounded) until the shared machine is quiet, with the anchors' own guard, so both sides are measured alike. */
function waitQuiet(): string {
  if (tempDir === undefined || QUIET_WAIT === 0) return 'quiet-wait skipped';
  return sh('python3', [join(tempDir, 'cpusnap.py'), 'quiet', String(QUIET_WAIT), '10'], { allowFail: true, timeoutMs: (QUIET_WAIT + 10) * 1000 }).trim();
}

/** CPU used by processes that are not ours between two snapshots (anchors' cpusnap.py), or undefined without it. */
function foreignSnap(file: string): void {
  if (tempDir !== undefined) sh('python3', [join(tempDir, 'cpusnap.py'), 'snap', String(process.pid), join(tempDir, file)], { allowFail: true });
}

function foreignDiff(): { cpu: number; text: string } {
  if (tempDir === undefined) return { cpu: 0, text: 'foreign load not measured' };
  const text = sh('python3', [join(tempDir, 'cpusnap.py'), 'diff', join(tempDir, 'snap0.json'), join(tempDir, 'snap1.json')], { allowFail: true }).trim();
  const cpu = Number(/foreign_cpu=([\d.]+)s/.exec(text)?.[1]);
  return { cpu: Number.isFinite(cpu) ? cpu : 0, text };
}

// ---- our relay ----------------------------------------------------------------------------------

/** Forwards every frame from `from` to `to` unchanged (header included): the Link-level relay. */
function relay(from: Link, to: Link): void {
  from.setReceiver({
    onFrame(frame, vnet) {
      to.send(frame, vnet);
    },
    onBatchEnd() {
      // Frames queued on `to` go out at the end of this turn (TapLink flushes in a microtask).
    },
  });
}

async function runOurs(config: ConfigName, run: number): Promise<Omit<RunResult, 'disturbed' | 'foreign'>> {
  removeNetworks();
  const vnet = config === 'vnet';
  const options = { vnet, mtu: 1500, rxBatch: RX_BATCH };
  const a = TapLink.open({ name: TAP_A, ...options });
  openLinks.add(a);
  const b = TapLink.open({ name: TAP_B, ...options });
  openLinks.add(b);
  for (const [ns, dev, addr] of [
    [NS_A, TAP_A, IP_A],
    [NS_B, TAP_B, IP_B],
  ] as const) {
    sh('ip', ['netns', 'add', ns]);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    sh('ip', ['link', 'set', dev, 'netns', ns]);
    sh('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev]);
    sh('ip', ['-n', ns, 'link', 'set', dev, 'mtu', '1500', 'up']);
  }
  relay(a, b);
  relay(b, a);

  const ping = await spawnBounded('ip', ['netns', 'exec', NS_A, 'ping', '-c', '1', '-W', '2', IP_B], 5_000);
  if (ping.code !== 0) throw new Error(`${config}: ping through the relay failed: ${ping.stdout}${ping.stderr}`);
  if (run === 1 && vnet) {
    const k = await spawnBounded('ip', ['netns', 'exec', NS_A, 'ethtool', '-k', TAP_A], 5_000);
    const tso = /tcp-segmentation-offload: (\w+)/.exec(k.stdout)?.[1];
    log(`${config}: kernel side ${TAP_A} tcp-segmentation-offload: ${tso ?? 'unknown'}`);
  }

  const server = spawnBounded('ip', ['netns', 'exec', NS_B, 'iperf3', '-s', '-1', '-B', IP_B], (SECONDS + 20) * 1000);
  await sleep(500);
  const a0 = { ...a.stats };
  const b0 = { ...b.stats };
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const client = await spawnBounded('ip', ['netns', 'exec', NS_A, 'iperf3', '-c', IP_B, '-t', String(SECONDS), '-J'], (SECONDS + 15) * 1000);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const a1 = { ...a.stats };
  const b1 = { ...b.stats };
  await server;
  await closeLinks();
  removeNetworks();

  let parsed: { end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } }; error?: string };
  try {
    parsed = JSON.parse(client.stdout) as typeof parsed;
  } catch {
    throw new Error(`${config}: iperf3 client gave no JSON (exit ${client.code}): ${client.stderr.slice(0, 500)}`);
  }
  const bps = parsed.end?.sum_received?.bits_per_second;
  if (typeof bps !== 'number') throw new Error(`${config}: iperf3 failed: ${parsed.error ?? client.stderr.slice(0, 500)}`);

  const aToB = a1.rxFrames - a0.rxFrames;
  const bToA = b1.rxFrames - b0.rxFrames;
  const frames = aToB + bToA;
  const batches = a1.rxBatches - a0.rxBatches + (b1.rxBatches - b0.rxBatches);
  const bytes = a1.rxBytes - a0.rxBytes + (b1.rxBytes - b0.rxBytes);
  const drops = a1.txDropped + b1.txDropped + a1.rxDropped + b1.rxDropped - (a0.txDropped + b0.txDropped + a0.rxDropped + b0.rxDropped);
  // Like the C relay's counters: frames read from either TAP divided by the iperf3 duration.
  return {
    gbps: bps / 1e9,
    framesPerSec: frames / SECONDS,
    cpuPct: ((cpu.user + cpu.system) / 1e6 / wall) * 100,
    userPct: (cpu.user / 1e6 / wall) * 100,
    retransmits: parsed.end?.sum_sent?.retransmits ?? -1,
    aToB,
    bToA,
    avgBatch: batches > 0 ? frames / batches : 0,
    avgFrameBytes: frames > 0 ? bytes / frames : 0,
    drops,
  };
}

// ---- the C baseline -----------------------------------------------------------------------------

/**
 * One run of the C relay (the anchors' script with RUNS=1). main() alternates it with ours run
 * by run, so a drift of the machine's speed over the minutes of a benchmark (seen here: the
 * same relay 20% apart ten minutes later) falls on both sides of the ratio alike.
 */
function runBaselineOnce(config: ConfigName): Baseline {
  const dir = tempDir as string;
  const vnet = config === 'vnet' ? '1' : '0';
  const tag = `relay-batch-vnet${vnet}-mtu1500`;
  const env = {
    ...process.env,
    MODE: 'batch',
    VNET: vnet,
    MTU: '1500',
    RUNS: '1',
    SECS: String(SECONDS),
    QUIET_WAIT: String(QUIET_WAIT),
    MAX_ATTEMPTS: String(ATTEMPTS),
  };
  sh('bash', [join(dir, '02-tap-relay.sh')], { env, cwd: dir, timeoutMs: ATTEMPTS * (QUIET_WAIT + SECONDS + 60) * 1000 });
  const summary = readFileSync(join(dir, 'results', 'summary.txt'), 'utf8');
  const line = summary
    .split('\n')
    .filter((l) => l.startsWith(`${tag}:`))
    .pop();
  const gbps = Number(/median=([\d.]+)/.exec(line ?? '')?.[1]);
  if (!Number.isFinite(gbps)) throw new Error(`baseline ${config}: no result for ${tag} in results/summary.txt`);
  const detail = readFileSync(join(dir, 'results', `${tag}.txt`), 'utf8').trim().split('\n').pop() ?? '';
  const fps = Number(/frames\/s=([\d.]+)/.exec(detail)?.[1]);
  const cpu = Number(/relayCPU=([\d.]+)s/.exec(detail)?.[1]);
  log(`  C relay: ${detail}`);
  return {
    gbps,
    framesPerSec: Number.isFinite(fps) ? fps : undefined,
    cpuPct: Number.isFinite(cpu) ? (cpu / SECONDS) * 100 : undefined,
    disturbed: detail.includes('DISTURBED'),
  };
}

function medianBaseline(runs: Baseline[]): Baseline | undefined {
  if (runs.length === 0) return undefined;
  const defined = (xs: (number | undefined)[]): number[] => xs.filter((x): x is number => x !== undefined);
  const fps = defined(runs.map((r) => r.framesPerSec));
  const cpu = defined(runs.map((r) => r.cpuPct));
  return {
    gbps: median(runs.map((r) => r.gbps)),
    framesPerSec: fps.length > 0 ? median(fps) : undefined,
    cpuPct: cpu.length > 0 ? median(cpu) : undefined,
    disturbed: runs.some((r) => r.disturbed),
  };
}

// ---- main ---------------------------------------------------------------------------------------

function fmt(n: number | undefined, digits: number): string {
  return n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench-link needs root (network namespaces and TAP devices)');
  sh('iperf3', ['--version']);
  if (existsSync(ANCHORS)) {
    tempDir = mkdtempSync(join(tmpdir(), 'chn-bench-anchors-'));
    cpSync(ANCHORS, tempDir, { recursive: true });
    rmSync(join(tempDir, 'results'), { recursive: true, force: true });
  } else if (!args['skip-baseline']) {
    throw new Error(`${ANCHORS} not found: run with --skip-baseline`);
  }
  log(`seconds=${SECONDS} runs=${RUNS} rxBatch=${RX_BATCH} configs=${CONFIGS.join(',')}`);

  const rows: { config: ConfigName; ours: RunResult; baseline: Baseline | undefined }[] = [];
  for (const config of CONFIGS) {
    const results: RunResult[] = [];
    const baselines: Baseline[] = [];
    if (tempDir !== undefined && !args['skip-baseline']) {
      log(`baseline ${config}: MODE=batch VNET=${config === 'vnet' ? 1 : 0} MTU=1500 RUNS=1 SECS=${SECONDS} ./02-tap-relay.sh after each of our runs`);
    }
    for (let run = 1; run <= RUNS; run++) {
      let r: RunResult | undefined;
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        const quiet = waitQuiet();
        foreignSnap('snap0.json');
        const measured = await runOurs(config, run);
        foreignSnap('snap1.json');
        const foreign = foreignDiff();
        r = { ...measured, disturbed: foreign.cpu > FOREIGN_MAX, foreign: foreign.text };
        log(
          `${config} run ${run}${attempt > 1 ? ` attempt ${attempt}` : ''}: ${r.gbps.toFixed(3)} Gbit/s, ${r.framesPerSec.toFixed(0)} frames/s ` +
            `(a->b ${r.aToB}, b->a ${r.bToA}), avg frame ${r.avgFrameBytes.toFixed(0)} B, avg batch ${r.avgBatch.toFixed(1)}, ` +
            `CPU ${r.cpuPct.toFixed(0)}% (user ${r.userPct.toFixed(0)}%), retransmits ${r.retransmits}, drops ${r.drops} (${quiet}; ${foreign.text})${r.disturbed ? ' DISTURBED' : ''}`,
        );
        if (!r.disturbed) break;
      }
      results.push(r as RunResult);
      if (tempDir !== undefined && !args['skip-baseline']) {
        const b = runBaselineOnce(config);
        baselines.push(b);
        log(`${config} run ${run}: ours / C relay = ${((r as RunResult).gbps / b.gbps).toFixed(2)}`);
      }
    }
    const pick = (f: (r: RunResult) => number): number => median(results.map(f));
    const ours: RunResult = {
      gbps: pick((r) => r.gbps),
      framesPerSec: pick((r) => r.framesPerSec),
      cpuPct: pick((r) => r.cpuPct),
      userPct: pick((r) => r.userPct),
      retransmits: pick((r) => r.retransmits),
      aToB: pick((r) => r.aToB),
      bToA: pick((r) => r.bToA),
      avgBatch: pick((r) => r.avgBatch),
      avgFrameBytes: pick((r) => r.avgFrameBytes),
      drops: pick((r) => r.drops),
      disturbed: results.some((r) => r.disturbed),
      foreign: '',
    };
    const baseline = medianBaseline(baselines);
    if (baseline !== undefined) {
      log(`baseline ${config}: ${baseline.gbps.toFixed(3)} Gbit/s, ${fmt(baseline.framesPerSec, 0)} frames/s, CPU ${fmt(baseline.cpuPct, 0)}%${baseline.disturbed ? ' (DISTURBED)' : ''}`);
    }
    rows.push({ config, ours, baseline });
  }

  const aims: Record<ConfigName, number> = { plain: 0.6, vnet: 0.8 };
  const lines = [
    `| configuration | ours Gbit/s | ours frames/s | ours CPU % | C batched relay Gbit/s | C frames/s | C CPU % | ratio (Gbit/s) | aim |`,
    `|---|---|---|---|---|---|---|---|---|`,
  ];
  for (const { config, ours, baseline } of rows) {
    const name = config === 'plain' ? 'plain frames, MTU 1500' : 'vnet hdr 12 + CSUM/TSO4/TSO6, MTU 1500';
    const ratio = baseline === undefined ? undefined : ours.gbps / baseline.gbps;
    lines.push(
      `| ${name} | ${ours.gbps.toFixed(2)}${ours.disturbed ? ' (disturbed)' : ''} | ${ours.framesPerSec.toFixed(0)} | ${ours.cpuPct.toFixed(0)} | ` +
        `${fmt(baseline?.gbps, 2)}${baseline?.disturbed === true ? ' (disturbed)' : ''} | ${fmt(baseline?.framesPerSec, 0)} | ${fmt(baseline?.cpuPct, 0)} | ` +
        `${ratio === undefined ? 'n/a' : `${(ratio * 100).toFixed(0)} %`} | ≥${(aims[config] * 100).toFixed(0)} % |`,
    );
  }
  process.stdout.write(`\n${lines.join('\n')}\n\n(median of ${RUNS} run(s) of iperf3 -t ${SECONDS}, ours and the C relay alternating; frames/s = frames read from both TAPs / ${SECONDS} s)\n`);
}

main()
  .catch((e: unknown) => {
    log(`failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  })
  .finally(() => {
    cleanupSync();
  });
