/**
 * Intermediate drivers over the real TAP (issue 8, reference §6.2–§6.5): the chimney's live
 * transitions with one and with two passthrough drivers between the host stack and the target,
 * against real Linux TCP in a namespace.
 *
 * - curl downloads and uploads 50 MB each way while `--cycle 20` uploads and re-offloads the
 *   connection about every 20 ms (every transition crosses every driver): SHA-256 exact, and
 *   the capture shows no RST from the emulator.
 * - nc echoes 20 MB through the emulator's own seeded impairment stage (loss, reordering,
 *   duplication): SHA-256 exact, no RST (the capture is on the wire side of the impairment).
 * - Leak check: while the transfer runs, whenever no state operation is in flight every
 *   driver's offload entries equal the target's live contexts; an idle connection is left
 *   offloaded and the emulator stopped, which uploads everything before it exits: afterwards
 *   every driver has 0 call entries and 0 offload entries and the target 0 contexts.
 *
 * The names (chi-ns*, chitap*) are this file's own, so it can run next to other suites.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Emulator } from '../../src/cli/emulator.js';
import { startService } from '../../src/cli/services.js';
import { patternSha } from '../helpers/pattern.js';
import { describePrivileged } from '../helpers/root.js';
import { CleanupStack, waitFor } from '../helpers/tap-netns.js';
import { nsh, spawnPeer, startTestEmulator } from '../helpers/emulator.js';
import { fields } from '../helpers/tshark.js';

const SIZE = 50_000_000;
const ECHO_SIZE = 20_000_000;
const CHAINS: readonly (readonly string[])[] = [['passthrough'], ['passthrough', 'passthrough']];

let cleanup: CleanupStack;
let dir: string;

beforeEach(() => {
  cleanup = new CleanupStack();
  dir = mkdtempSync(join(tmpdir(), 'chimney-im-'));
  cleanup.defer(() => rmSync(dir, { recursive: true, force: true }));
});

afterEach(async () => {
  await cleanup.run();
});

/** RSTs the emulator sent from `port` (the stop resets the idle connection on purpose: not counted). */
async function rstsFromEmulator(pcap: string, port: number): Promise<number> {
  const rows = await fields(pcap, ['frame.number'], `(ip.src==198.18.0.2 || ipv6.src==2001:2::2) && tcp.srcport==${port} && tcp.flags.reset==1`);
  return rows.length;
}

/** Live contexts of the target, all layers. */
function targetLive(emulator: Emulator): number {
  const live = emulator.target.chimneyProvider?.tableStats.live;
  return live === undefined ? -1 : live.neighbor + live.path + live.tcp;
}

/**
 * Samples every 2 ms: when no driver has a call entry live (no state operation in flight, so
 * no layer is between its own change and the completion above), each driver's offload entries
 * must equal the target's live contexts. Returns the stop function and what it saw.
 */
function sampleEntries(emulator: Emulator): { stop(): { samples: number; nonzero: number; mismatches: string[] } } {
  const mismatches: string[] = [];
  let samples = 0;
  let nonzero = 0;
  const timer = setInterval(() => {
    if (emulator.drivers.some((d) => d.stats.callEntriesLive !== 0)) return;
    samples++;
    const want = targetLive(emulator);
    if (want > 0) nonzero++;
    const got = emulator.drivers.map((d) => d.stats.offloadEntriesLive);
    if (got.some((n) => n !== want) && mismatches.length < 10) mismatches.push(`target ${want}, drivers ${got.join(' ')}`);
  }, 2);
  return {
    stop() {
      clearInterval(timer);
      return { samples, nonzero, mismatches };
    },
  };
}

/**
 * Leaves one idle connection offloaded (nc to the echo service), then stops the emulator: the
 * stop uploads every connection and waits for the terminates before it tears down, so nothing
 * may be left in any driver or in the target.
 */
async function stopWithOffloadedConnection(emulator: Emulator, netns: string): Promise<void> {
  const echo = startService(emulator.stack, { kind: 'echo', port: 7 }, (e) => {
    throw e;
  });
  cleanup.defer(() => echo.close());
  // One line, then nc (no -N) keeps the connection open after its input ends; `exec` makes nc
  // the process the cleanup kills. The line makes the host offload it even when the peer's MAC
  // was not known at the handshake.
  const hello = join(dir, 'hello.txt');
  writeFileSync(hello, 'hello through the drivers\n');
  const idle = spawnPeer(netns, ['sh', '-c', `exec nc 198.18.0.2 7 < ${hello}`], cleanup, 40_000);
  await idle.waitFor(/hello through the drivers/);
  await waitFor(() => (emulator.target.chimneyProvider?.tcpCount ?? 0) === 1 && emulator.drivers.every((d) => d.stats.callEntriesLive === 0), 5_000, 'the idle connection to be offloaded');
  expect(emulator.drivers.every((d) => d.stats.offloadEntriesLive > 0)).toBe(true);
  await emulator.stop();
  idle.kill();
  for (const d of emulator.drivers) {
    expect({ name: d.name, call: d.stats.callEntriesLive, offload: d.stats.offloadEntriesLive }).toEqual({ name: d.name, call: 0, offload: 0 });
    expect(d.stats.callEntriesCreated).toBe(d.stats.callEntriesFreed);
    expect(d.stats.offloadEntriesCreated).toBe(d.stats.offloadEntriesFreed);
    expect(d.stats.badCompletions + d.stats.badHandles).toBe(0);
  }
  expect(targetLive(emulator)).toBe(0);
}

describePrivileged('intermediate drivers over the real TAP', () => {
  CHAINS.forEach((chain, i) => {
    const ns = `chi-ns${i}`;
    const tap = `chitap${i}`;

    it(`curl moves ${SIZE / 1e6} MB down and up with --cycle 20 through --im ${chain.join(',')}; no RST; no entry left after stop`, async () => {
      const pcap = join(dir, 'cycle.pcapng');
      const emulator = await startTestEmulator({ tap, netns: ns, pcap, offload: 'handshake', cycleMs: 20, im: chain }, cleanup);
      expect(emulator.drivers.map((d) => d.kind)).toEqual(chain);
      const http = startService(emulator.stack, { kind: 'http', port: 80 }, (e) => {
        throw e;
      });
      cleanup.defer(() => http.close());
      const upload = join(dir, 'upload.bin');
      const body = randomBytes(SIZE);
      writeFileSync(upload, body);
      const uploadSha = createHash('sha256').update(body).digest('hex');
      const before = { ...emulator.stack.tcp.offloads.stats };
      const sampler = sampleEntries(emulator);
      const down = await nsh(ns, ['sh', '-c', `curl -sS --max-time 60 http://198.18.0.2/bytes/${SIZE} | sha256sum`], { timeoutMs: 70_000 });
      expect(down.stdout.split(' ')[0]).toBe(patternSha(SIZE));
      const up = await nsh(ns, ['curl', '-sS', '--max-time', '60', '-H', 'Expect:', '--data-binary', `@${upload}`, 'http://198.18.0.2/sha256'], { timeoutMs: 70_000 });
      expect(up.stdout.trim()).toBe(uploadSha);
      const seen = sampler.stop();
      const stats = emulator.stack.tcp.offloads.stats;
      expect(stats.offloads - before.offloads).toBeGreaterThan(10);
      expect(stats.uploads - before.uploads).toBeGreaterThan(10);
      expect(seen.mismatches).toEqual([]);
      expect(seen.nonzero).toBeGreaterThan(10);
      // Every transition went through every driver: each created (and freed) entries.
      for (const d of emulator.drivers) expect(d.stats.offloadEntriesCreated).toBeGreaterThan(30);
      await stopWithOffloadedConnection(emulator, ns);
      expect(await rstsFromEmulator(pcap, 80)).toBe(0);
    }, 120_000);

    it(`nc echoes ${ECHO_SIZE / 1e6} MB through --im ${chain.join(',')} under the emulator's loss, reordering and duplication`, async () => {
      const pcap = join(dir, 'echo.pcapng');
      const emulator = await startTestEmulator({ tap, netns: ns, pcap, offload: 'handshake', im: chain, impair: `loss=0.01,reorder=0.02,dup=0.01,seed=${7 + i}` }, cleanup);
      const echo = startService(emulator.stack, { kind: 'echo', port: 9 }, (e) => {
        throw e;
      });
      cleanup.defer(() => echo.close());
      const file = join(dir, 'echo.bin');
      const body = randomBytes(ECHO_SIZE);
      writeFileSync(file, body);
      const sha = createHash('sha256').update(body).digest('hex');
      const e = await nsh(ns, ['sh', '-c', `nc -N 198.18.0.2 9 < ${file} | sha256sum`], { timeoutMs: 60_000 });
      expect(e.stdout.split(' ')[0]).toBe(sha);
      expect(emulator.stack.tcp.offloads.stats.offloads).toBeGreaterThan(0);
      expect(emulator.stack.tcp.offloads.stats.indications).toBeGreaterThan(20);
      await stopWithOffloadedConnection(emulator, ns);
      expect(await rstsFromEmulator(pcap, 9)).toBe(0);
    }, 90_000);
  });
});
