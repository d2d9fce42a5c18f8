/**
 * `npm run bench`: the host stack against real kernel TCP, next to gVisor netstack measured the
 * same way in the same run.
 *
 *   namespace chb-ns: kernel side of chbtap0, 198.18.0.1/24 (python3 peers)
 *        |  TAP (plain 1500-byte frames, or virtio-net header with CSUM + TSO4/6)
 *   this process: TapLink -> OffloadTarget -> HostStack 198.18.0.2, serving discard:9,
 *                 chargen:19 and echo:7 (src/cli/services.ts, what `chimney run --serve` runs)
 *
 * The emulator runs in this process (startEmulator), so its CPU (process.cpuUsage), link
 * counters, heap and CPU profile are read directly. Measured, per path (plain / tso):
 *
 * - k2h: goodput of one bulk connection kernel -> host stack. The anchors' bounded sender
 *   (shared/bench-anchors/tcpclient.py `send`) writes for --seconds, shuts down and waits for
 *   the discard service to close, so only bytes the application consumed count.
 * - h2k: host stack -> kernel: chargen (endless source, with backpressure) read by
 *   tcpclient.py `recv` for --seconds.
 * - cps: connections per second: scripts/bench-peer.py `cps`, workers each looping connect ->
 *   100-byte request to echo -> read the echo -> close.
 * - heap: N idle established connections (bench-peer.py `hold`): heapUsed and ArrayBuffer
 *   bytes after forced GC, before and after, per connection; and from two heap snapshots, the
 *   share of the Duplex stream (TcpSocket and its node:stream state) against the share of the
 *   engine and host stack (HostTcb, TcpConnection and what they own).
 *
 * Baselines (unless --skip-baseline): gVisor netstack on a TAP, MTU 1500, GOMAXPROCS=1
 * (shared/bench-anchors/03-gvisor.sh, DIR=send for k2h, DIR=recv for h2k), run from a temp copy
 * of the anchors whose namespace and device names are renamed to chb-* so they cannot collide
 * with anybody else's anchor run. Missing Debian packages (golang-go, golang-gvisor-gvisor-dev)
 * are installed with apt-get, as the anchors' run-all.sh does.
 *
 * The machine is shared: before every measured run we wait (at most --quiet-wait s) for it to
 * be quiet, and measure other processes' CPU during the run with the anchors' cpusnap.py; a run
 * during which they used more than 0.3 CPU-s is repeated (up to --attempts) and flagged if it
 * never gets clean.
 *
 * Usage (root): npm run bench -- [--seconds 5] [--runs 1] [--only plain,tso,k2h,h2k,cps,heap,attack,baseline]
 *   [--skip-baseline] [--json FILE] [--heap-conns 2000] [--cps-workers 4] [--profile DIR]
 *   [--quiet-wait 60] [--attempts 3] [--warmup 1]
 * --profile DIR adds one profiled run of every selected test (V8 sampling profiler in this
 * process), writes DIR/<path>-<test>.cpuprofile (and .heapprofile, allocation samples, unless
 * --no-alloc-profile) and prints the top self-time and allocating functions.
 *
 * Everything is bounded (seconds, timeouts on every child, bytes by time) and removed on exit,
 * on error and on SIGINT/SIGTERM: the namespace and TAP (through the emulator's own stop), the
 * gVisor namespaces and devices, every child process group, the temp directory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { startEmulator, type Emulator } from '../src/cli/emulator.js';
import type { Logger } from '../src/cli/log.js';
import { startService, type RunningService } from '../src/cli/services.js';
import type { TcpSocket } from '../src/host/socket.js';
import type { TcpInfo } from '../src/tcp/types.js';
import { diffSnapshots, forceGc, getGc, snapshotIds, type HeapSplit } from './bench/heap.js';
import { PhaseProfiler, formatAllocSummary, formatProfileSummary, summarizeAlloc, summarizeProfile, type AllocSummary, type ProfileSummary } from './bench/profile.js';
import { intArg } from './bench/args.js';

// ---- configuration ------------------------------------------------------------------------------

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PEER = join(REPO, 'scripts', 'bench-peer.py');
const NS = 'chb-ns';
const TAP = 'chbtap0';
const HOST_IP = '198.18.0.2';
const DISCARD_PORT = 9;
const CHARGEN_PORT = 19;
const ECHO_PORT = 7;
/** CPU seconds other processes may use during a run before it counts as disturbed (anchors' common.sh FOREIGN_MAX). */
const FOREIGN_MAX = 0.3;
/** Aims from the issue. */
const AIM_TSO_GBPS = 5;
const AIM_HEAP_BYTES = 8 * 1024;
/** gVisor names in the anchors, and ours for the temp copy (no collision with other runs of the anchors). */
const ANCHOR_RENAMES: [RegExp, string][] = [
  [/\bNS_A=pfa\b/g, 'NS_A=chb-pfa'],
  [/\bNS_B=pfb\b/g, 'NS_B=chb-pfb'],
  [/\bpftapG\b/g, 'chbtapG'],
  [/\bpftapA\b/g, 'chbtapA'],
  [/\bpftapB\b/g, 'chbtapB'],
  [/\bpfveA\b/g, 'chbveA'],
  [/\bpfveB\b/g, 'chbveB'],
];
const BASELINE_NETNS = ['chb-pfa', 'chb-pfb'];
const BASELINE_DEVS = ['chbtapG', 'chbtapA', 'chbtapB', 'chbveA', 'chbveB'];

/** A path: the frame format, and whether connections are offloaded to the target (`+offload`). */
type PathName = 'plain' | 'tso' | 'plain+offload' | 'tso+offload' | 'tso+cycle';
type TestName = 'k2h' | 'h2k' | 'cps' | 'heap';
function pathLabel(path: PathName): string {
  return `${path.startsWith('plain') ? 'plain 1500' : 'vnet + TSO'}${path.endsWith('+offload') ? ', offloaded' : path.endsWith('+cycle') ? ', offloaded, --cycle 20' : ''}`;
}

const PATHS: PathName[] = ['plain', 'tso', 'plain+offload', 'tso+offload', 'tso+cycle'];
const TESTS: TestName[] = ['k2h', 'h2k', 'cps', 'heap'];

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    runs: { type: 'string', default: '1' },
    only: { type: 'string' },
    'skip-baseline': { type: 'boolean', default: false },
    json: { type: 'string', default: join(tmpdir(), 'chimney-bench.json') },
    'heap-conns': { type: 'string', default: '2000' },
    'heap-snapshot': { type: 'boolean', default: true },
    'no-heap-snapshot': { type: 'boolean', default: false },
    'cps-workers': { type: 'string', default: '4' },
    'cps-size': { type: 'string', default: '100' },
    profile: { type: 'string' },
    'profile-interval': { type: 'string', default: '250' },
    'no-alloc-profile': { type: 'boolean', default: false },
    'quiet-wait': { type: 'string', default: '60' },
    attempts: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    anchors: { type: 'string', default: resolve(REPO, '..', 'shared', 'bench-anchors') },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (args.help) {
  process.stdout.write(`npm run bench -- [options]   (root; runs the emulator in-process against kernel TCP in a namespace)

  --seconds N          length of each goodput run (default 5)
  --runs N             runs per configuration; the median is reported (default 1)
  --only LIST          any of plain,tso,k2h,h2k,cps,heap,attack,baseline (default: everything)
                       (attack: what crafted SACKs and out-of-order segments cost the engine, dist/scripts/bench-attack.js)
  --skip-baseline      do not measure gVisor from the bench anchors
  --anchors DIR        the bench-anchors folder (default ../shared/bench-anchors)
  --json FILE          where to write the results (default $TMPDIR/chimney-bench.json)
  --heap-conns N       idle connections for the heap measurement (default 2000)
  --cps-workers N      parallel clients for connections per second (default 4)
  --profile DIR        also write CPU and allocation profiles of each phase to DIR
  --quiet-wait S       wait up to S seconds for a quiet machine before each run (default 60)
  --attempts N         repeat a run disturbed by foreign CPU load up to N times (default 3)
  --verbose            print every step
`);
  process.exit(0);
}

const SECONDS = intArg('seconds', args.seconds, 1, 30);
const RUNS = intArg('runs', args.runs, 1, 9);
const HEAP_CONNS = intArg('heap-conns', args['heap-conns'], 10, 20000);
const CPS_WORKERS = intArg('cps-workers', args['cps-workers'], 1, 16);
const CPS_SIZE = intArg('cps-size', args['cps-size'], 1, 65536);
const QUIET_WAIT = intArg('quiet-wait', args['quiet-wait'], 0, 600);
const ATTEMPTS = intArg('attempts', args.attempts, 1, 5);
const WARMUP = intArg('warmup', args.warmup, 0, 10);
const PROFILE_INTERVAL = intArg('profile-interval', args['profile-interval'], 50, 10000);
const HEAP_SNAPSHOT = args['heap-snapshot'] && !args['no-heap-snapshot'];
/** With --profile: also sample allocations (V8 heap, collected objects included). */
const ALLOC_PROFILE = !args['no-alloc-profile'];

const onlyTokens = (args.only ?? '')
  .split(',')
  .map((t) => t.trim())
  .filter((t) => t !== '');
for (const t of onlyTokens) {
  if (!(PATHS as string[]).includes(t) && !(TESTS as string[]).includes(t) && t !== 'baseline' && t !== 'attack') {
    throw new Error(`--only: unknown '${t}' (use any of ${[...PATHS, ...TESTS, 'attack', 'baseline'].join(', ')})`);
  }
}
/** The engine-only attack bench runs once, on no path: with --only attack alone, nothing else runs. */
const RUN_ATTACK = onlyTokens.length === 0 || onlyTokens.includes('attack');
const attackOnly = onlyTokens.length > 0 && onlyTokens.every((t) => t === 'attack');
const selPaths = PATHS.filter((p) => onlyTokens.includes(p));
const selTests = TESTS.filter((t) => onlyTokens.includes(t));
const baselineOnly = onlyTokens.length > 0 && onlyTokens.every((t) => t === 'baseline' || t === 'attack') && onlyTokens.includes('baseline');
const RUN_PATHS: PathName[] = baselineOnly || attackOnly ? [] : selPaths.length > 0 ? selPaths : PATHS;
const RUN_TESTS: TestName[] = baselineOnly || attackOnly ? [] : selTests.length > 0 ? selTests : TESTS;
/** gVisor is the baseline of the plain-frame goodput tests. */
const BASELINE_DIRS: ('k2h' | 'h2k')[] = args['skip-baseline']
  ? []
  : baselineOnly || onlyTokens.includes('baseline')
    ? ['k2h', 'h2k']
    : RUN_PATHS.includes('plain')
      ? (['k2h', 'h2k'] as const).filter((t) => RUN_TESTS.includes(t))
      : [];

// ---- process and cleanup plumbing ---------------------------------------------------------------

const children = new Set<ChildProcess>();
let emulator: Emulator | undefined;
let tempDir: string | undefined;
let cleanedUp = false;

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface ChildResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A bounded child in its own process group (so it and everything it starts can be ended
 * together by its id), read asynchronously: the emulator keeps running in this event loop.
 */
function runChild(cmd: string, argv: readonly string[], opts: { timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string; stdin?: 'pipe' | 'ignore' }): { child: ChildProcess; done: Promise<ChildResult> } {
  const child = spawn(cmd, argv, { stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'], detached: true, env: opts.env ?? process.env, cwd: opts.cwd });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d.length + stderr.length > 1 << 20 ? '' : d));
  const done = new Promise<ChildResult>((resolveDone) => {
    const timer = setTimeout(() => {
      stderr += `\n[bench] killed after ${opts.timeoutMs} ms`;
      killGroup(child, 'SIGKILL');
    }, opts.timeoutMs);
    const finish = (code: number): void => {
      clearTimeout(timer);
      children.delete(child);
      resolveDone({ code, stdout, stderr });
    };
    child.on('error', (e) => {
      stderr += String(e);
      finish(-1);
    });
    child.on('close', (code, signal) => finish(code ?? (signal !== null ? 128 : -1)));
  });
  return { child, done };
}

async function run(cmd: string, argv: readonly string[], timeoutMs = 15_000, opts: { env?: NodeJS.ProcessEnv; cwd?: string; allowFail?: boolean } = {}): Promise<string> {
  const r = await runChild(cmd, argv, { timeoutMs, ...opts }).done;
  if (r.code !== 0 && opts.allowFail !== true) throw new Error(`${cmd} ${argv.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 800)}`);
  return r.stdout;
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Every process descending from `root` (from /proc), found before anything is killed: a
 * descendant in a process group of its own (`timeout` makes one) escapes a group kill, and
 * once its parent is gone it is no longer traceable to us.
 */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(d), ppid);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const seen = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (!seen.has(pid) && seen.has(ppid)) {
        seen.add(pid);
        out.push(pid);
        grew = true;
      }
    }
  }
  return out;
}

/** Synchronous teardown for exit paths: children, the emulator (namespace, TAP), baseline leftovers, temp dir. */
function cleanupSync(): void {
  if (cleanedUp) return;
  cleanedUp = true;
  const stragglers = [...children].flatMap((c) => (c.pid !== undefined ? descendants(c.pid) : []));
  for (const c of children) killGroup(c, 'SIGTERM');
  for (const pid of stragglers) killPid(pid, 'SIGTERM');
  for (const c of children) killGroup(c, 'SIGKILL');
  for (const pid of stragglers) killPid(pid, 'SIGKILL');
  children.clear();
  emulator?.stopSync();
  emulator = undefined;
  removeBaselineNetworksSync();
  if (tempDir !== undefined) rmSync(tempDir, { recursive: true, force: true });
  tempDir = undefined;
}

function removeBaselineNetworksSync(): void {
  // Only names of our own (chb-*): the renamed copy of the anchors uses these.
  for (const ns of BASELINE_NETNS) if (existsSync(`/run/netns/${ns}`)) spawnSyncQuiet('ip', ['netns', 'del', ns]);
  for (const dev of BASELINE_DEVS) if (existsSync(`/sys/class/net/${dev}`)) spawnSyncQuiet('ip', ['link', 'del', dev]);
}

function spawnSyncQuiet(cmd: string, argv: string[]): void {
  try {
    // Synchronous: this also runs from the 'exit' handler, where nothing asynchronous completes.
    spawnSync(cmd, argv, { stdio: 'ignore', timeout: 5000 });
  } catch {
    // exit path: keep going
  }
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    log(`${sig}: cleaning up`);
    cleanupSync();
    process.exit(130);
  });
}
process.on('exit', () => cleanupSync());

// ---- shared-machine guard (the anchors' cpusnap.py) ---------------------------------------------

function cpusnapPath(): string | undefined {
  const p = tempDir !== undefined ? join(tempDir, 'anchors', 'cpusnap.py') : undefined;
  return p !== undefined && existsSync(p) ? p : undefined;
}

async function waitQuiet(): Promise<string> {
  const p = cpusnapPath();
  if (p === undefined || QUIET_WAIT === 0) return 'quiet-wait skipped';
  return (await run('python3', [p, 'quiet', String(QUIET_WAIT), '10'], (QUIET_WAIT + 15) * 1000, { allowFail: true })).trim();
}

async function foreignSnap(file: string): Promise<void> {
  const p = cpusnapPath();
  if (p !== undefined && tempDir !== undefined) await run('python3', [p, 'snap', String(process.pid), join(tempDir, file)], 15_000, { allowFail: true });
}

async function foreignDiff(): Promise<{ cpu: number; text: string }> {
  const p = cpusnapPath();
  if (p === undefined || tempDir === undefined) return { cpu: 0, text: 'foreign load not measured' };
  const text = (await run('python3', [p, 'diff', join(tempDir, 'snap0.json'), join(tempDir, 'snap1.json')], 15_000, { allowFail: true })).trim();
  const cpu = Number(/foreign_cpu=([\d.]+)s/.exec(text)?.[1]);
  return { cpu: Number.isFinite(cpu) ? cpu : 0, text };
}

interface Guard {
  readonly disturbed: boolean;
  readonly foreign: string;
  readonly quiet: string;
  readonly attempts: number;
}

/** Runs `fn` after waiting for a quiet machine; repeats it while other processes disturbed it. */
async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T & Guard> {
  let last: (T & Guard) | undefined;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const quiet = await waitQuiet();
    await foreignSnap('snap0.json');
    const r = await fn();
    await foreignSnap('snap1.json');
    const f = await foreignDiff();
    last = { ...r, disturbed: f.cpu > FOREIGN_MAX, foreign: f.text, quiet, attempts: attempt };
    if (!last.disturbed) break;
    log(`${what}: disturbed by other processes (${f.text}), ${attempt < ATTEMPTS ? 'repeating' : 'keeping it, flagged'}`);
  }
  return last as T & Guard;
}

// ---- the emulator -------------------------------------------------------------------------------

const quietLogger: Logger = {
  format: 'text',
  event(name, fields) {
    if (args.verbose) process.stderr.write(`chimney: ${name} ${JSON.stringify(fields ?? {})}\n`);
  },
  warn(message) {
    process.stderr.write(`chimney: warning: ${message}\n`);
  },
};

interface Running {
  readonly emu: Emulator;
  readonly services: RunningService[];
  /** The latest chargen connection (the h2k sender), for its TCP_INFO. */
  lastSource: TcpSocket | undefined;
  lastSourceInfo: TcpInfo | undefined;
}

async function bringUp(path: PathName): Promise<Running> {
  // A namespace or device left by a killed earlier run of this benchmark: ours by name, remove it.
  if (existsSync(`/run/netns/${NS}`)) await run('ip', ['netns', 'del', NS], 10_000, { allowFail: true });
  if (existsSync(`/sys/class/net/${TAP}`)) await run('ip', ['link', 'del', TAP], 10_000, { allowFail: true });
  const emu = await startEmulator(
    {
      tap: TAP,
      ip: `${HOST_IP}/24`,
      ip6: '2001:2::2/64',
      mtu: 1500,
      netns: NS,
      peerIp: '198.18.0.1/24',
      peerIp6: '2001:2::1/64',
      pcap: undefined,
      impair: undefined,
      mac: undefined,
      vnet: path.startsWith('tso'),
      dadTransmits: 0,
      offload: path.endsWith('+offload') || path.endsWith('+cycle') ? 'handshake' : 'never',
      cycleMs: path.endsWith('+cycle') ? 20 : undefined,
    },
    quietLogger,
  );
  emulator = emu;
  const r: Running = { emu, services: [], lastSource: undefined, lastSourceInfo: undefined };
  for (const [kind, port] of [
    ['discard', DISCARD_PORT],
    ['chargen', CHARGEN_PORT],
    ['echo', ECHO_PORT],
  ] as const) {
    r.services.push(startService(emu.stack, { kind, port }, (e) => log(`service ${kind}: ${e.message}`)));
  }
  const chargen = r.services[1] as RunningService;
  chargen.server.on('connection', (socket: TcpSocket) => {
    r.lastSource = socket;
    r.lastSourceInfo = undefined;
    socket.once('close', () => {
      if (r.lastSource === socket) r.lastSourceInfo = safeInfo(socket);
    });
  });
  // The kernel side may reuse TIME-WAIT ports for new connections (the cps loop makes tens of
  // thousands): per-namespace sysctl, our namespace only.
  await run('ip', ['netns', 'exec', NS, 'sysctl', '-q', '-w', 'net.ipv4.tcp_tw_reuse=1'], 10_000, { allowFail: true });
  const ping = await runChild('ip', ['netns', 'exec', NS, 'ping', '-c', '1', '-W', '3', HOST_IP], { timeoutMs: 8000 }).done;
  if (ping.code !== 0) throw new Error(`${path}: ping ${HOST_IP} from ${NS} failed: ${ping.stdout}${ping.stderr}`);
  if (path.startsWith('tso')) {
    const k = await run('ip', ['netns', 'exec', NS, 'ethtool', '-k', TAP], 8000, { allowFail: true });
    const tso = /tcp-segmentation-offload: (\w+)/.exec(k)?.[1];
    log(`tso: kernel side ${TAP} tcp-segmentation-offload: ${tso ?? 'unknown'}`);
  }
  return r;
}

async function bringDown(r: Running): Promise<void> {
  await Promise.race([Promise.all(r.services.map((s) => s.close())), sleep(5000)]);
  await r.emu.stop();
  emulator = undefined;
}

function safeInfo(socket: TcpSocket | undefined): TcpInfo | undefined {
  try {
    return socket?.info();
  } catch {
    return undefined;
  }
}

/** The kernel's TCP RetransSegs in the namespace (/proc/net/snmp is per network namespace). */
async function kernelRetransSegs(): Promise<number> {
  const snmp = await run('ip', ['netns', 'exec', NS, 'cat', '/proc/net/snmp'], 8000, { allowFail: true });
  const lines = snmp.split('\n').filter((l) => l.startsWith('Tcp:'));
  const head = lines[0]?.split(/\s+/) ?? [];
  const vals = lines[1]?.split(/\s+/) ?? [];
  const i = head.indexOf('RetransSegs');
  return i >= 0 ? Number(vals[i]) : NaN;
}

// ---- tests --------------------------------------------------------------------------------------

/** Main-thread GC pauses, summed from the start (perf_hooks 'gc' entries). */
const gcTotals = { ms: 0, count: 0, major: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcTotals.ms += e.duration;
    gcTotals.count++;
    if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) gcTotals.major++;
  }
}).observe({ entryTypes: ['gc'] });

interface Counters {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  rxBatches: number;
  linkDrops: number;
  stackDrops: number;
  rstOut: number;
  synCookies: number;
  cpuUser: number;
  cpuSystem: number;
  dropReasons: Record<string, number>;
  gcMs: number;
  gcCount: number;
  gcMajor: number;
  t: number;
}

function counters(r: Running): Counters {
  const l = r.emu.tap.stats;
  const s = r.emu.stack.stats;
  const cpu = process.cpuUsage();
  return {
    rxFrames: l.rxFrames,
    rxBytes: l.rxBytes,
    txFrames: l.txFrames,
    txBytes: l.txBytes,
    rxBatches: l.rxBatches,
    linkDrops: l.txDropped + l.rxDropped,
    stackDrops: s.drops.total() + s.txDrops.total(),
    rstOut: s.tcpRstOut,
    synCookies: s.tcpSynCookiesSent,
    cpuUser: cpu.user,
    cpuSystem: cpu.system,
    dropReasons: { ...s.drops.toJSON(), ...Object.fromEntries(Object.entries(s.txDrops.toJSON()).map(([k, v]) => [`tx:${k}`, v])) },
    gcMs: gcTotals.ms,
    gcCount: gcTotals.count,
    gcMajor: gcTotals.major,
    t: performance.now(),
  };
}

interface Deltas {
  wallS: number;
  cpuPct: number;
  userPct: number;
  sysPct: number;
  rxFps: number;
  txFps: number;
  rxAvgFrame: number;
  txAvgFrame: number;
  rxAvgBatch: number;
  linkDrops: number;
  stackDrops: number;
  rstOut: number;
  synCookies: number;
  /** Host stack drops during the run, by reason (`tx:` = frames the stack could not send). */
  dropReasons: Record<string, number>;
  /** Main-thread GC pause time as % of the wall time, and collections (all / major). */
  gcPct: number;
  gcCount: number;
  gcMajor: number;
}

function deltas(a: Counters, b: Counters): Deltas {
  const wallS = (b.t - a.t) / 1000;
  const rx = b.rxFrames - a.rxFrames;
  const tx = b.txFrames - a.txFrames;
  const batches = b.rxBatches - a.rxBatches;
  const dropReasons: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.dropReasons)) if (v - (a.dropReasons[k] ?? 0) > 0) dropReasons[k] = v - (a.dropReasons[k] ?? 0);
  return {
    wallS,
    cpuPct: ((b.cpuUser - a.cpuUser + b.cpuSystem - a.cpuSystem) / 1e4) / wallS,
    userPct: (b.cpuUser - a.cpuUser) / 1e4 / wallS,
    sysPct: (b.cpuSystem - a.cpuSystem) / 1e4 / wallS,
    rxFps: rx / wallS,
    txFps: tx / wallS,
    rxAvgFrame: rx > 0 ? (b.rxBytes - a.rxBytes) / rx : 0,
    txAvgFrame: tx > 0 ? (b.txBytes - a.txBytes) / tx : 0,
    rxAvgBatch: batches > 0 ? rx / batches : 0,
    linkDrops: b.linkDrops - a.linkDrops,
    stackDrops: b.stackDrops - a.stackDrops,
    rstOut: b.rstOut - a.rstOut,
    synCookies: b.synCookies - a.synCookies,
    dropReasons,
    gcPct: (b.gcMs - a.gcMs) / 10 / wallS,
    gcCount: b.gcCount - a.gcCount,
    gcMajor: b.gcMajor - a.gcMajor,
  };
}

interface GoodputRun extends Deltas {
  gbps: number;
  bytes: number;
  clientElapsedS: number;
  clientCpuPct: number;
  drainS: number | undefined;
  hostRetransmits: number | undefined;
  hostFastRetransmits: number | undefined;
  hostTimeouts: number | undefined;
  kernelRetransSegs: number;
}

/** One bulk transfer with the anchors' tcpclient.py: `send` to discard (k2h) or `recv` from chargen (h2k). */
async function goodput(r: Running, dir: 'k2h' | 'h2k', seconds: number): Promise<GoodputRun> {
  const tcpclient = join(tempDir as string, 'anchors', 'tcpclient.py');
  const k0 = await kernelRetransSegs();
  r.lastSource = undefined;
  r.lastSourceInfo = undefined;
  const c0 = counters(r);
  const res = await runChild('ip', ['netns', 'exec', NS, 'python3', tcpclient, dir === 'k2h' ? 'send' : 'recv', HOST_IP, String(dir === 'k2h' ? DISCARD_PORT : CHARGEN_PORT), String(seconds)], {
    timeoutMs: (seconds + 40) * 1000,
  }).done;
  const c1 = counters(r);
  // Let the chargen socket see the client's close (its final TCP_INFO).
  if (dir === 'h2k') for (let i = 0; i < 20 && r.lastSourceInfo === undefined && r.lastSource !== undefined; i++) await sleep(50);
  const k1 = await kernelRetransSegs();
  const line = res.stdout.trim();
  const kv = Object.fromEntries(line.split(/\s+/).map((p) => p.split('=') as [string, string]));
  const gbps = Number(kv.gbps);
  if (res.code !== 0 || !Number.isFinite(gbps)) throw new Error(`${dir}: tcpclient.py failed (exit ${res.code}): ${line} ${res.stderr.trim().slice(0, 600)}`);
  const info = dir === 'h2k' ? (r.lastSourceInfo ?? safeInfo(r.lastSource)) : undefined;
  return {
    ...deltas(c0, c1),
    gbps,
    bytes: Number(kv.bytes),
    clientElapsedS: Number(kv.elapsed),
    clientCpuPct: Number(kv.client_cpu_pct),
    drainS: kv.drain_s !== undefined ? Number(kv.drain_s) : undefined,
    hostRetransmits: info?.totalRetransmits,
    hostFastRetransmits: info?.fastRetransmits,
    hostTimeouts: info?.timeouts,
    kernelRetransSegs: k1 - k0,
  };
}

interface CpsRun extends Deltas {
  cps: number;
  connections: number;
  failures: Record<string, number>;
  latencyMs: Record<string, number | null>;
  workers: number;
  hostConnectionsLeft: number;
}

async function connectionsPerSecond(r: Running, seconds: number, workers: number): Promise<CpsRun> {
  const c0 = counters(r);
  const res = await runChild('ip', ['netns', 'exec', NS, 'python3', PEER, 'cps', HOST_IP, String(ECHO_PORT), String(seconds), String(workers), String(CPS_SIZE)], {
    timeoutMs: (seconds + 60) * 1000,
  }).done;
  const c1 = counters(r);
  let out: { cps: number; connections: number; failures: Record<string, number>; latencyMs: Record<string, number | null>; workers: number };
  try {
    out = JSON.parse(res.stdout.trim().split('\n').pop() ?? '') as typeof out;
  } catch {
    throw new Error(`cps: bench-peer.py failed (exit ${res.code}): ${res.stdout.slice(0, 300)} ${res.stderr.slice(0, 600)}`);
  }
  await sleep(200);
  return { ...deltas(c0, c1), ...out, hostConnectionsLeft: r.emu.stack.tcp.connectionCount };
}

type HeapVariant = 'fresh' | 'after-echo';

interface HeapRun {
  variant: HeapVariant;
  connections: number;
  openSeconds: number;
  openFailures: Record<string, number>;
  hostEstablished: number;
  heapUsedBefore: number;
  heapUsedAfter: number;
  arrayBuffersBefore: number;
  arrayBuffersAfter: number;
  heapPerConn: number;
  arrayBuffersPerConn: number;
  totalPerConn: number;
  /** heapUsed growth per connection that stays after the connections are closed again. */
  heapLeftPerConnAfterClose: number;
  split: HeapSplit | undefined;
  splitPerConn: { socket: number; engine: number; other: number; total: number } | undefined;
  deadBeforeClose: number | undefined;
}

/**
 * `fresh`: connections to discard that never carried data. `after-echo`: connections to echo
 * that carried one CPS_SIZE-byte round trip first (queues and timers have been used).
 */
async function idleHeap(r: Running, n: number, variant: HeapVariant): Promise<HeapRun> {
  const server = (r.services[variant === 'fresh' ? 0 : 2] as RunningService).server;
  const port = variant === 'fresh' ? DISCARD_PORT : ECHO_PORT;
  const connectionsNow = (): Promise<number> => new Promise((res) => server.getConnections((_e, c) => res(c)));
  const base = await connectionsNow();
  // The first snapshot is only parsed after the second is written, so nothing of the analysis
  // sits in the heap while either is taken or while heapUsed is read.
  let before: string | undefined;
  let snapDir: string | undefined;
  if (HEAP_SNAPSHOT) {
    snapDir = join(tempDir as string, 'heap');
    mkdirSync(snapDir, { recursive: true });
    await forceGc();
    before = writeHeapSnapshot(join(snapDir, 'before.heapsnapshot'));
  }
  const m0b = await forceGc();
  const holder = runChild('ip', ['netns', 'exec', NS, 'python3', PEER, 'hold', HOST_IP, String(port), String(n), '300', String(variant === 'fresh' ? 0 : CPS_SIZE)], { timeoutMs: 330_000, stdin: 'pipe' });
  let opened: { opened: number; failures: Record<string, number>; openSeconds: number } | undefined;
  let buf = '';
  const openedP = new Promise<void>((res) => {
    holder.child.stdout?.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0 && opened === undefined) {
        opened = JSON.parse(buf.slice(0, nl)) as NonNullable<typeof opened>;
        res();
      }
    });
  });
  await Promise.race([openedP, holder.done, sleep(320_000)]);
  if (opened === undefined) throw new Error('heap: bench-peer.py hold did not report');
  const openedCount = opened.opened;
  // Wait until every connection is established on our side and the handshakes' timers are over.
  for (let i = 0; i < 100 && (await connectionsNow()) - base < openedCount; i++) await sleep(100);
  await sleep(1500);
  const established = (await connectionsNow()) - base;
  const m1 = await forceGc();
  let split: HeapSplit | undefined;
  if (before !== undefined && snapDir !== undefined) {
    const after = writeHeapSnapshot(join(snapDir, 'after.heapsnapshot'));
    try {
      split = diffSnapshots(snapshotIds(before), after);
    } catch (e) {
      log(`heap: snapshot analysis skipped: ${e instanceof Error ? e.message : String(e)}`);
    }
    rmSync(before, { force: true });
    rmSync(after, { force: true });
  }
  holder.child.stdin?.end();
  const done = await holder.done;
  const closing = done.stdout.trim().split('\n').pop() ?? '';
  let dead: number | undefined;
  try {
    dead = (JSON.parse(closing) as { deadBeforeClose?: number }).deadBeforeClose;
  } catch {
    dead = undefined;
  }
  for (let i = 0; i < 100 && (await connectionsNow()) > base; i++) await sleep(100);
  await sleep(500);
  const m2 = await forceGc();
  const nconn = Math.max(1, established);
  const heapPerConn = (m1.heapUsed - m0b.heapUsed) / nconn;
  const abPerConn = (m1.arrayBuffers - m0b.arrayBuffers) / nconn;
  return {
    variant,
    connections: openedCount,
    openSeconds: opened.openSeconds,
    openFailures: opened.failures,
    hostEstablished: established,
    heapUsedBefore: m0b.heapUsed,
    heapUsedAfter: m1.heapUsed,
    arrayBuffersBefore: m0b.arrayBuffers,
    arrayBuffersAfter: m1.arrayBuffers,
    heapPerConn,
    arrayBuffersPerConn: abPerConn,
    totalPerConn: heapPerConn + abPerConn,
    heapLeftPerConnAfterClose: (m2.heapUsed - m0b.heapUsed) / nconn,
    split,
    splitPerConn:
      split === undefined
        ? undefined
        : { socket: split.socketBytes / nconn, engine: split.engineBytes / nconn, other: split.otherBytes / nconn, total: split.newBytes / nconn },
    deadBeforeClose: dead,
  };
}

/** Checks the data path end to end before measuring it (a fast path that corrupts data is not fast). */
async function integrity(): Promise<{ chargen: boolean; echo: boolean; detail: string }> {
  const a = await run('ip', ['netns', 'exec', NS, 'python3', PEER, 'verify-chargen', HOST_IP, String(CHARGEN_PORT), String(64 << 20)], 60_000, { allowFail: true });
  const b = await run('ip', ['netns', 'exec', NS, 'python3', PEER, 'verify-echo', HOST_IP, String(ECHO_PORT), String(4 << 20)], 60_000, { allowFail: true });
  const pa = safeJson(a);
  const pb = safeJson(b);
  return { chargen: pa?.ok === true, echo: pb?.ok === true, detail: `${a.trim()} ${b.trim()}` };
}

function safeJson(s: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(s.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

// ---- baselines ----------------------------------------------------------------------------------

interface Baseline {
  dir: 'k2h' | 'h2k';
  script: string;
  gbps: number;
  runs: { gbps: number; framesPerSec: number | undefined; cpuPct: number | undefined; retrans: number | undefined; disturbed: boolean; line: string }[];
  disturbed: boolean;
}

async function ensureBaselineTools(): Promise<void> {
  const missing: string[] = [];
  for (const p of ['golang-go', 'golang-gvisor-gvisor-dev']) {
    const r = await runChild('dpkg', ['-s', p], { timeoutMs: 10_000 }).done;
    if (r.code !== 0) missing.push(p);
  }
  if (missing.length === 0) return;
  log(`baseline: installing Debian packages ${missing.join(' ')} (as the anchors' run-all.sh does)`);
  await run('apt-get', ['update'], 600_000);
  await run('apt-get', ['install', '-y', ...missing], 1_200_000, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function prepareAnchors(): string {
  const dir = join(tempDir as string, 'anchors');
  cpSync(args.anchors as string, dir, { recursive: true });
  rmSync(join(dir, 'results'), { recursive: true, force: true });
  rmSync(join(dir, 'gvtap', 'gvtap'), { force: true });
  for (const f of ['common.sh', '03-gvisor.sh']) {
    const p = join(dir, f);
    let text = readFileSync(p, 'utf8');
    for (const [re, to] of ANCHOR_RENAMES) text = text.replace(re, to);
    writeFileSync(p, text);
  }
  const common = readFileSync(join(dir, 'common.sh'), 'utf8');
  const gv = readFileSync(join(dir, '03-gvisor.sh'), 'utf8');
  if (!common.includes('NS_A=chb-pfa') || !common.includes('NS_B=chb-pfb') || !gv.includes('chbtapG') || /\bpf(tap|ve)[ABG]\b|\bNS_[AB]=pf[ab]\b/.test(common + gv)) {
    throw new Error('baseline: could not rename the anchors\' namespaces/devices in the temp copy (did the scripts change?)');
  }
  return dir;
}

async function runBaseline(dir: 'k2h' | 'h2k'): Promise<Baseline> {
  const anchors = join(tempDir as string, 'anchors');
  const gvDir = dir === 'k2h' ? 'send' : 'recv';
  const tag = `gvisor-${gvDir}-mtu1500-procs1-rxcsumoff0`;
  const script = `DIR=${gvDir} PROCS=1 MTU=1500 RUNS=${RUNS} SECS=${SECONDS} ./03-gvisor.sh`;
  log(`baseline ${dir}: ${script} (in a temp copy of the anchors, names renamed to chb-*)`);
  const env = {
    ...process.env,
    DIR: gvDir,
    PROCS: '1',
    MTU: '1500',
    RUNS: String(RUNS),
    SECS: String(SECONDS),
    QUIET_WAIT: String(QUIET_WAIT),
    QUIET_PCT: '10',
    FOREIGN_MAX: String(FOREIGN_MAX),
    MAX_ATTEMPTS: String(ATTEMPTS),
  };
  const r = await runChild('bash', [join(anchors, '03-gvisor.sh')], { timeoutMs: (RUNS * ATTEMPTS * (QUIET_WAIT + SECONDS + 90) + 300) * 1000, env, cwd: anchors }).done;
  removeBaselineNetworksSync();
  const summaryPath = join(anchors, 'results', 'summary.txt');
  const summary = existsSync(summaryPath) ? readFileSync(summaryPath, 'utf8') : '';
  const line = summary
    .split('\n')
    .filter((l) => l.startsWith(`${tag}:`))
    .pop();
  const gbps = Number(/median=([\d.]+)/.exec(line ?? '')?.[1]);
  if (!Number.isFinite(gbps)) throw new Error(`baseline ${dir}: no median for ${tag} (exit ${r.code}): ${r.stderr.trim().slice(-1500)}`);
  const details = readFileSync(join(anchors, 'results', `${tag}.txt`), 'utf8').trim().split('\n');
  const runs = details.map((d) => {
    const el = Number(/elapsed=([\d.]+)/.exec(d)?.[1]);
    const cpu = Number(/gvCPU=([\d.]+)s/.exec(d)?.[1]);
    return {
      gbps: Number(/Gbit\/s = ([\d.]+)/.exec(d)?.[1]),
      framesPerSec: numOrUndef(/frames\/s=([\d.]+)/.exec(d)?.[1]),
      cpuPct: Number.isFinite(el) && Number.isFinite(cpu) && el > 0 ? (100 * cpu) / el : undefined,
      retrans: numOrUndef(/gv_retrans=(\d+)/.exec(d)?.[1]),
      disturbed: d.includes('DISTURBED'),
      line: d,
    };
  });
  for (const d of details) log(`  gVisor: ${d}`);
  return { dir, script, gbps, runs, disturbed: runs.some((x) => x.disturbed) };
}

function numOrUndef(s: string | undefined): number | undefined {
  const n = Number(s);
  return s !== undefined && Number.isFinite(n) ? n : undefined;
}

// ---- reporting ----------------------------------------------------------------------------------

function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function medianOf<T>(runs: readonly T[], f: (r: T) => number | undefined): number {
  return median(runs.map((r) => f(r) ?? NaN));
}

function fmt(n: number | undefined, digits: number): string {
  return n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits);
}

function kib(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? 'n/a' : `${(n / 1024).toFixed(2)} KiB`;
}

interface PathResults {
  path: PathName;
  integrity?: { chargen: boolean; echo: boolean; detail: string };
  k2h: (GoodputRun & Guard)[];
  h2k: (GoodputRun & Guard)[];
  cps: (CpsRun & Guard)[];
  heap: HeapRun[];
  profiles: Record<string, { file: string; summary: ProfileSummary; alloc: AllocSummary | undefined; result: unknown }>;
}

function goodputRow(label: string, path: PathName, runs: (GoodputRun & Guard)[], base: Baseline | undefined, aimText: string, aimMet: (g: number, b: number | undefined) => boolean | undefined): string {
  const g = medianOf(runs, (r) => r.gbps);
  const cpu = medianOf(runs, (r) => r.cpuPct);
  const fps = medianOf(runs, (r) => r.rxFps + r.txFps);
  const hostRt = medianOf(runs, (r) => r.hostRetransmits);
  const kRt = medianOf(runs, (r) => r.kernelRetransSegs);
  const dist = runs.some((r) => r.disturbed) ? ' (disturbed)' : '';
  const bg = base?.gbps;
  const bcpu = base === undefined ? undefined : median(base.runs.map((x) => x.cpuPct ?? NaN));
  const bfps = base === undefined ? undefined : median(base.runs.map((x) => x.framesPerSec ?? NaN));
  const ratio = bg !== undefined && bg > 0 ? g / bg : undefined;
  const met = aimMet(g, bg);
  return (
    `| ${label} | ${pathLabel(path)} | ${fmt(g, 2)}${dist} | ${fmt(cpu, 0)} | ${fmt(fps, 0)} | ${fmt(hostRt, 0)} / ${fmt(kRt, 0)} | ` +
    `${fmt(bg, 2)}${base?.disturbed === true ? ' (disturbed)' : ''} | ${fmt(bcpu, 0)} | ${fmt(bfps, 0)} | ${ratio === undefined ? '–' : `${ratio.toFixed(2)}×`} | ${aimText} | ${met === undefined ? '–' : met ? 'yes' : 'NO'} |`
  );
}

function report(results: PathResults[], baselines: Map<'k2h' | 'h2k', Baseline>): string {
  const out: string[] = [];
  out.push(
    `## Goodput, one bulk TCP connection (median of ${RUNS} run(s) of ${SECONDS} s)`,
    '',
    '| direction | path | chimney Gbit/s | chimney CPU % | frames/s (rx+tx) | retrans host / kernel | gVisor Gbit/s | gVisor CPU % | gVisor frames/s | ratio | aim | met |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
  );
  for (const r of results) {
    for (const dir of ['k2h', 'h2k'] as const) {
      const runs = r[dir];
      if (runs.length === 0) continue;
      const label = dir === 'k2h' ? 'kernel → host stack' : 'host stack → kernel';
      if (r.path === 'plain' || r.path === 'plain+offload') {
        const base = baselines.get(dir);
        out.push(goodputRow(label, r.path, runs, base, '> gVisor', (g, b) => (b === undefined ? undefined : g > b)));
      } else {
        out.push(goodputRow(label, r.path, runs, undefined, `≥ ${AIM_TSO_GBPS} Gbit/s`, (g) => g >= AIM_TSO_GBPS));
      }
    }
  }
  for (const [dir, base] of baselines) {
    if (results.some((r) => r.path === 'plain' && r[dir].length > 0)) continue;
    out.push(goodputRow(dir === 'k2h' ? 'kernel → host stack' : 'host stack → kernel', 'plain', [], base, '> gVisor', () => undefined));
  }
  out.push(
    '',
    'chimney CPU % = this process (emulator) over the transfer, % of one core, user+system (the kernel peer\'s receive/ACK work runs inside our TAP writes and counts here).',
    'gVisor: shared/bench-anchors/03-gvisor.sh, GOMAXPROCS=1, MTU 1500, its own process CPU / elapsed; frames/s = kernel TAP rx+tx packets.',
    'retrans host = our engine\'s retransmitted segments (sender in h2k), kernel = RetransSegs in the namespace.',
  );
  const detail: string[] = ['', '| direction | path | run | Gbit/s | CPU % (user/sys/GC) | rx frames/s | tx frames/s | avg rx frame B | avg tx frame B | rx batch | drops link/stack | retrans host/kernel | guard |', '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|'];
  for (const r of results) {
    for (const dir of ['k2h', 'h2k'] as const) {
      r[dir].forEach((x, i) => {
        detail.push(
          `| ${dir} | ${r.path} | ${i + 1} | ${x.gbps.toFixed(3)} | ${x.cpuPct.toFixed(0)} (${x.userPct.toFixed(0)}/${x.sysPct.toFixed(0)}/${x.gcPct.toFixed(0)}) | ${x.rxFps.toFixed(0)} | ${x.txFps.toFixed(0)} | ${x.rxAvgFrame.toFixed(0)} | ${x.txAvgFrame.toFixed(0)} | ${x.rxAvgBatch.toFixed(1)} | ${x.linkDrops}/${x.stackDrops} | ${fmt(x.hostRetransmits, 0)}/${x.kernelRetransSegs} | ${x.disturbed ? 'DISTURBED ' : ''}${x.quiet}; ${x.foreign} |`,
        );
      });
    }
  }
  if (detail.length > 3) out.push(...detail);

  const cpsRows = results.filter((r) => r.cps.length > 0);
  if (cpsRows.length > 0) {
    out.push('', `## Connections per second (connect → ${CPS_SIZE}-byte request to echo → read echo → close; ${CPS_WORKERS} kernel-side workers, ${SECONDS} s)`, '', '| path | conn/s | failures | latency p50 / p99 ms | chimney CPU % | RSTs sent | SYN cookies | host conns left |', '|---|---:|---|---:|---:|---:|---:|---:|');
    for (const r of cpsRows) {
      const fails = r.cps.map((x) => Object.entries(x.failures).map(([k, v]) => `${k}:${v}`).join(' ') || '0').join(' / ');
      const last = r.cps[r.cps.length - 1] as CpsRun & Guard;
      out.push(
        `| ${pathLabel(r.path)} | ${fmt(medianOf(r.cps, (x) => x.cps), 0)}${r.cps.some((x) => x.disturbed) ? ' (disturbed)' : ''} | ${fails} | ${fmt(medianOf(r.cps, (x) => x.latencyMs.p50 ?? NaN), 2)} / ${fmt(medianOf(r.cps, (x) => x.latencyMs.p99 ?? NaN), 2)} | ${fmt(medianOf(r.cps, (x) => x.cpuPct), 0)} | ${last.rstOut} | ${last.synCookies} | ${last.hostConnectionsLeft} |`,
      );
    }
  }

  const heapRows = results.flatMap((r) => r.heap.map((h) => ({ path: r.path, h })));
  if (heapRows.length > 0) {
    out.push(
      '',
      '## Heap per idle established connection (after forced GC)',
      '',
      `fresh = connections to discard that never carried data; after-echo = connections to echo after one ${CPS_SIZE}-byte round trip.`,
      '',
      '| path | connections | heapUsed Δ / conn | ArrayBuffers Δ / conn | total / conn | engine + stack only (snapshot) | Duplex stream part (snapshot) | aim | met (total) | left after close / conn |', '|---|---:|---:|---:|---:|---:|---:|---|---|---:|');
    for (const r of heapRows) {
      const h = r.h;
      out.push(
        `| ${pathLabel(r.path)}, ${h.variant} | ${h.hostEstablished} | ${kib(h.heapPerConn)} | ${kib(h.arrayBuffersPerConn)} | ${kib(h.totalPerConn)} | ${kib(h.splitPerConn !== undefined ? h.splitPerConn.engine + h.splitPerConn.other : undefined)} | ${kib(h.splitPerConn?.socket)} | < 8 KiB | ${h.totalPerConn < AIM_HEAP_BYTES ? 'yes' : 'NO'} | ${kib(h.heapLeftPerConnAfterClose)} |`,
      );
      if (h.split !== undefined) {
        const n = Math.max(1, h.hostEstablished);
        const cls = (title: string, list: HeapSplit['socketClasses']): void => {
          out.push('', `${title}:`, '', '| object | per conn | bytes / conn |', '|---|---:|---:|');
          for (const c of list.slice(0, 12)) out.push(`| ${c.name} | ${(c.count / n).toFixed(2)} | ${(c.bytes / n).toFixed(0)} |`);
        };
        out.push('', `Snapshot split (${r.path}, ${h.variant}): ${h.split.sockets} new TcpSocket, ${h.split.tcbs} new HostTcb; new objects ${h.split.newObjects} = ${kib(h.split.newBytes / n)} per connection (socket ${kib(h.split.socketBytes / n)}, engine ${kib(h.split.engineBytes / n)}, other ${kib(h.split.otherBytes / n)}).`);
        cls('Duplex stream side (reachable from TcpSocket)', h.split.socketClasses);
        cls('Engine and host stack side (reachable from HostTcb)', h.split.engineClasses);
        cls('Other new objects (tables, queues)', h.split.otherClasses);
      }
    }
  }
  const integrityRows = results.filter((r) => r.integrity !== undefined);
  if (integrityRows.length > 0) {
    out.push('', `Integrity (64 MiB chargen pattern, 4 MiB echo round trip): ${integrityRows.map((r) => `${r.path}: chargen ${r.integrity?.chargen === true ? 'ok' : 'FAILED'}, echo ${r.integrity?.echo === true ? 'ok' : 'FAILED'}`).join('; ')}`);
  }
  return out.join('\n');
}

// ---- main ---------------------------------------------------------------------------------------

async function profiled<T>(r: PathResults, name: string, fn: () => Promise<T>): Promise<void> {
  if (args.profile === undefined) return;
  const dir = resolve(args.profile);
  mkdirSync(dir, { recursive: true });
  const p = new PhaseProfiler();
  await p.start(PROFILE_INTERVAL, ALLOC_PROFILE);
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    await p.stop().catch(() => undefined);
    throw e;
  }
  const profile = await p.stop();
  const file = join(dir, `${r.path}-${name}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile.cpu));
  if (profile.alloc !== undefined) writeFileSync(join(dir, `${r.path}-${name}.heapprofile`), JSON.stringify(profile.alloc));
  const summary = summarizeProfile(profile.cpu, REPO);
  const alloc = profile.alloc === undefined ? undefined : summarizeAlloc(profile.alloc, profile.durationMs, REPO);
  r.profiles[name] = { file, summary, alloc, result };
  log(`profile ${r.path} ${name}: ${file}`);
}

async function measurePath(path: PathName, first: boolean): Promise<PathResults> {
  log(`${path}: starting the emulator in-process (tap ${TAP}, namespace ${NS}, ${pathLabel(path)})`);
  const r = await bringUp(path);
  const res: PathResults = { path, k2h: [], h2k: [], cps: [], heap: [], profiles: {} };
  try {
    res.integrity = await integrity();
    log(`${path}: integrity chargen ${res.integrity.chargen ? 'ok' : 'FAILED'}, echo ${res.integrity.echo ? 'ok' : 'FAILED'} (${res.integrity.detail})`);
    if (WARMUP > 0) {
      // JIT warm-up (the gVisor baseline is compiled ahead of time); not measured.
      if (RUN_TESTS.includes('k2h')) await goodput(r, 'k2h', WARMUP);
      if (RUN_TESTS.includes('h2k')) await goodput(r, 'h2k', WARMUP);
      if (RUN_TESTS.includes('cps')) await connectionsPerSecond(r, WARMUP, 1);
    }
    for (let i = 1; i <= RUNS; i++) {
      for (const dir of ['k2h', 'h2k'] as const) {
        if (!RUN_TESTS.includes(dir)) continue;
        const g = await guarded(`${path} ${dir} run ${i}`, () => goodput(r, dir, SECONDS));
        res[dir].push(g);
        log(
          `${path} ${dir} run ${i}: ${g.gbps.toFixed(3)} Gbit/s, CPU ${g.cpuPct.toFixed(0)}% (user ${g.userPct.toFixed(0)}, sys ${g.sysPct.toFixed(0)}, GC pauses ${g.gcPct.toFixed(1)}% in ${g.gcCount} (${g.gcMajor} major)), ` +
            `rx ${g.rxFps.toFixed(0)} fr/s (avg ${g.rxAvgFrame.toFixed(0)} B, batch ${g.rxAvgBatch.toFixed(1)}), tx ${g.txFps.toFixed(0)} fr/s (avg ${g.txAvgFrame.toFixed(0)} B), ` +
            `retrans host ${fmt(g.hostRetransmits, 0)} kernel ${g.kernelRetransSegs}, drops link ${g.linkDrops} stack ${g.stackDrops} ${JSON.stringify(g.dropReasons)}; ${g.quiet}; ${g.foreign}${g.disturbed ? ' DISTURBED' : ''}`,
        );
      }
      if (RUN_TESTS.includes('cps')) {
        const c = await guarded(`${path} cps run ${i}`, () => connectionsPerSecond(r, SECONDS, CPS_WORKERS));
        res.cps.push(c);
        log(
          `${path} cps run ${i}: ${c.cps.toFixed(0)} conn/s (${c.connections} in ${SECONDS} s, ${c.workers} workers), failures ${JSON.stringify(c.failures)}, ` +
            `latency ms ${JSON.stringify(c.latencyMs)}, CPU ${c.cpuPct.toFixed(0)}% (GC pauses ${c.gcPct.toFixed(1)}%), RSTs ${c.rstOut}, cookies ${c.synCookies}, left ${c.hostConnectionsLeft}; ${c.quiet}; ${c.foreign}${c.disturbed ? ' DISTURBED' : ''}`,
        );
      }
    }
    const offloads = r.emu.stack.tcp.offloads.stats;
    if (offloads.offloads > 0) {
      const pct = (xs: number[], q: number): string => {
        if (xs.length === 0) return 'n/a';
        const sorted = [...xs].sort((a, b) => a - b);
        return `${(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1000).toFixed(0)} µs`;
      };
      log(
        `${path} transitions: ${offloads.offloads} offloads, ${offloads.uploads} uploads, ${offloads.offloadFailures} failed; ` +
          `InitiateOffload→completion median ${pct(offloads.initiateMs, 0.5)} p99 ${pct(offloads.initiateMs, 0.99)}; ` +
          `TerminateOffload→completion median ${pct(offloads.terminateMs, 0.5)} p99 ${pct(offloads.terminateMs, 0.99)}; ` +
          `indications ${offloads.indications} (${(offloads.indicatedBytes / 1e6).toFixed(0)} MB)`,
      );
    }
    for (const variant of RUN_TESTS.includes('heap') && (first || path === 'plain+offload') ? (['fresh', 'after-echo'] as const) : []) {
      const h = await idleHeap(r, HEAP_CONNS, variant);
      res.heap.push(h);
      log(
        `${path} heap ${variant}: ${h.hostEstablished} idle connections: heapUsed ${kib(h.heapPerConn)}/conn, ArrayBuffers ${kib(h.arrayBuffersPerConn)}/conn, ` +
          `snapshot split ${h.splitPerConn === undefined ? 'n/a' : `socket ${kib(h.splitPerConn.socket)} engine ${kib(h.splitPerConn.engine)} other ${kib(h.splitPerConn.other)}`}; ` +
          `left after close ${kib(h.heapLeftPerConnAfterClose)}/conn; open failures ${JSON.stringify(h.openFailures)}`,
      );
    }
    if (args.profile !== undefined) {
      for (const dir of ['k2h', 'h2k'] as const) if (RUN_TESTS.includes(dir)) await profiled(res, dir, () => goodput(r, dir, SECONDS));
      if (RUN_TESTS.includes('cps')) await profiled(res, 'cps', () => connectionsPerSecond(r, SECONDS, CPS_WORKERS));
    }
  } finally {
    await bringDown(r);
  }
  return res;
}

/**
 * scripts/bench-attack.ts in a child (it needs no network and should not share this
 * process's heap or JIT state with the emulator runs).
 */
async function runAttackBench(): Promise<{ rows: unknown; text: string }> {
  log('attack: crafted SACK ACKs and out-of-order segments against the engine');
  const script = join(REPO, 'dist', 'scripts', 'bench-attack.js');
  const lines = (await run(process.execPath, [script, '--json'], 300_000)).trim().split('\n');
  const rows: unknown = JSON.parse(lines.pop() ?? 'null');
  return { rows, text: lines.join('\n') };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench needs root (network namespaces and TAP devices)');
  getGc();
  tempDir = mkdtempSync(join(tmpdir(), 'chb-bench-'));
  if (!existsSync(join(args.anchors as string, 'tcpclient.py'))) throw new Error(`${args.anchors}: the bench anchors (tcpclient.py, cpusnap.py, 03-gvisor.sh) are needed; pass --anchors DIR`);
  prepareAnchors();
  const started = new Date().toISOString();
  const env = {
    started,
    node: process.version,
    kernel: release(),
    cpus: cpus().length,
    loadavg: loadavg(),
    commit: (await run('git', ['-C', REPO, 'rev-parse', 'HEAD'], 5000, { allowFail: true })).trim(),
    /** Uncommitted changes under src/ and native/ that this build measured (empty: the commit as is). */
    uncommitted: (await run('git', ['-C', REPO, 'status', '--porcelain', '--', 'src', 'native'], 5000, { allowFail: true })).trim().split('\n').filter((l) => l !== ''),
    options: { seconds: SECONDS, runs: RUNS, paths: RUN_PATHS, tests: RUN_TESTS, baselines: BASELINE_DIRS, heapConns: HEAP_CONNS, cpsWorkers: CPS_WORKERS, cpsSize: CPS_SIZE, warmup: WARMUP, quietWait: QUIET_WAIT, attempts: ATTEMPTS },
  };
  if (env.uncommitted.length > 0) log(`note: measuring a build with uncommitted changes: ${env.uncommitted.join(', ')}`);
  log(`commit ${env.commit.slice(0, 12)} seconds=${SECONDS} runs=${RUNS} paths=${RUN_PATHS.join(',') || '-'} tests=${RUN_TESTS.join(',') || '-'} baselines=${BASELINE_DIRS.join(',') || '-'} loadavg=${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  const results: PathResults[] = [];
  for (const [i, path] of RUN_PATHS.entries()) results.push(await measurePath(path, i === 0));

  const baselines = new Map<'k2h' | 'h2k', Baseline>();
  if (BASELINE_DIRS.length > 0) {
    await ensureBaselineTools();
    for (const dir of BASELINE_DIRS) {
      try {
        baselines.set(dir, await runBaseline(dir));
      } catch (e) {
        log(`baseline ${dir} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  const attack = RUN_ATTACK ? await runAttackBench() : undefined;
  const table = report(results, baselines) + (attack === undefined ? '' : `\n## Crafted input (issue 9), engine only, best of 3\n\n${attack.text}\n`);
  const profiles: string[] = [];
  for (const r of results) {
    for (const [name, p] of Object.entries(r.profiles)) {
      profiles.push(formatProfileSummary(`CPU profile ${r.path} ${name} (${p.file})`, p.summary));
      if (p.alloc !== undefined) profiles.push(formatAllocSummary(`Allocations ${r.path} ${name}`, p.alloc));
    }
  }
  process.stdout.write(`\n${table}\n${profiles.length > 0 ? `\n## CPU profiles (one extra run each, sampling every ${PROFILE_INTERVAL} µs)\n\n${profiles.join('\n\n')}\n` : ''}`);
  const jsonPath = resolve(args.json as string);
  writeFileSync(
    jsonPath,
    JSON.stringify(
      {
        env,
        finished: new Date().toISOString(),
        aims: { plainVsGvisor: 'ahead in both directions', tsoGbps: AIM_TSO_GBPS, heapBytesPerConn: AIM_HEAP_BYTES },
        results,
        baselines: Object.fromEntries(baselines),
        attack: attack?.rows,
        table,
      },
      null,
      2,
    ),
  );
  log(`results written to ${jsonPath}`);
}

main()
  .catch((e: unknown) => {
    log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 1;
  })
  .finally(() => {
    cleanupSync();
  });
