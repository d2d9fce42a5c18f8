/**
 * Bulk transfers under loss, byte-exact and in bounded time:
 *
 * - 2% random loss on the peer side, from nftables `numgen random` rules on the kernel side of
 *   the TAP (netdev ingress and egress hooks). nftables, because this kernel has no netem and
 *   the loss must hit real kernel TCP in both directions;
 * - the emulator's own impairment stage (loss, reordering, duplication), seeded, so the same
 *   run can be replayed.
 *
 * The captures must show SACK in use and fast retransmissions (recovery driven by duplicate
 * ACKs and SACK, not only by timeouts), and must stay clean otherwise: no malformed frames, no
 * bad checksums, no ACK of a segment never sent. "Previous segment not captured" is expected
 * here: the capture point sits before the injected loss on one side.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startService } from '../../src/cli/services.js';
import { patternSha } from '../helpers/pattern.js';
import { describePrivileged } from '../helpers/root.js';
import { CleanupStack } from '../helpers/tap-netns.js';
import { nsh, sh, spawnPeer, startTestEmulator } from '../helpers/emulator.js';
import { CHIMNEY_BIN } from '../helpers/chimney-process.js';
import { fields } from '../helpers/tshark.js';
import { expectSoundCapture } from '../helpers/capture-checks.js';

const NS = 'chl-ns';
const TAP = 'chltap0';
const SIZE = 100_000_000;

let cleanup: CleanupStack;
let dir: string;

beforeEach(() => {
  cleanup = new CleanupStack();
  dir = mkdtempSync(join(tmpdir(), 'chimney-loss-'));
  cleanup.defer(() => rmSync(dir, { recursive: true, force: true }));
});

afterEach(async () => {
  await cleanup.run();
});


/**
 * `percent`% of the TCP packets the kernel receives from the emulator are dropped at the
 * kernel side of the TAP (netdev ingress hook), so the host stack's segments really are lost
 * and the kernel SACKs the holes.
 *
 * Loss of the kernel's own transmissions cannot be made this way: a drop anywhere in the
 * kernel's transmit path (inet output, postrouting, netdev egress, a tc action) fails the
 * transmit call, and Linux TCP simply sends the segment again later; nothing is missing on
 * the wire. That direction is covered by the emulator's impairment stage in the tests below.
 */
async function nftLoss(percent: number): Promise<void> {
  const rules = `
table netdev chimney_loss {
  chain ingress { type filter hook ingress device "${TAP}" priority 0; meta l4proto tcp numgen random mod 100 < ${percent} counter drop; }
}`;
  await nsh(NS, ['nft', '-f', '-'], { input: rules });
  cleanup.defer(() => nsh(NS, ['nft', 'delete', 'table', 'netdev', 'chimney_loss'], { allowFail: true }).then(() => undefined));
}

interface Recovery {
  sackSegments: number;
  fastRetransmissions: number;
  retransmissions: number;
}

async function recovery(pcap: string, from: string): Promise<Recovery> {
  const count = async (filter: string): Promise<number> => (await fields(pcap, ['frame.number'], filter)).length;
  return {
    sackSegments: await count(`tcp.options.sack_le && ip.dst == ${from}`),
    fastRetransmissions: await count(`tcp.analysis.fast_retransmission && ip.src == ${from}`),
    retransmissions: await count(`tcp.analysis.retransmission && ip.src == ${from}`),
  };
}

describePrivileged('TCP under loss', () => {
  it('curl moves 100 MB each way with 2% of our segments lost at the peer (nftables), over IPv4 and IPv6, recovering by SACK', async () => {
    const pcap = join(dir, 'nft.pcapng');
    const emulator = await startTestEmulator({ tap: TAP, netns: NS, pcap }, cleanup);
    const http = startService(emulator.stack, { kind: 'http', port: 80 }, (e) => {
      throw e;
    });
    cleanup.defer(() => http.close());
    await nftLoss(2);
    const upload = join(dir, 'upload.bin');
    const body = randomBytes(SIZE);
    writeFileSync(upload, body);
    const uploadSha = createHash('sha256').update(body).digest('hex');
    const downloadSha = patternSha(SIZE);
    for (const host of ['198.18.0.2', '[2001:2::2]']) {
      const down = await nsh(NS, ['sh', '-c', `curl -sS --max-time 240 http://${host}/bytes/${SIZE} | sha256sum`], { timeoutMs: 250_000 });
      expect(down.stdout.split(' ')[0], `download from ${host}`).toBe(downloadSha);
      const up = await nsh(NS, ['curl', '-sS', '--max-time', '240', '-H', 'Expect:', '--data-binary', `@${upload}`, `http://${host}/sha256`], { timeoutMs: 250_000 });
      expect(up.stdout.trim(), `upload to ${host}`).toBe(uploadSha);
    }
    const totals = emulator.stack.tcp.totals();
    await emulator.stop();
    await expectSoundCapture(pcap, { lossInjected: true });
    // Our stack sending (downloads): the kernel SACKs the holes and we recover from duplicate
    // ACKs and SACK (fast retransmit, RFC 6675), far more often than by timeout.
    expect(totals.fastRetransmits).toBeGreaterThan(10);
    expect(totals.fastRetransmits).toBeGreaterThan(totals.timeouts * 5);
    const ours = await recovery(pcap, '198.18.0.2');
    expect(ours.sackSegments).toBeGreaterThan(100);
    expect(ours.fastRetransmissions).toBeGreaterThan(0);
    expect(ours.retransmissions + ours.fastRetransmissions).toBeGreaterThan(10);

  }, 900_000);

  for (const vnet of [true, false]) {
    it(`curl and nc move data byte-exact through the emulator's own loss, reordering and duplication (${vnet ? 'virtio-net/TSO' : 'plain frames'})`, async () => {
      const pcap = join(dir, 'impair.pcapng');
      const emulator = await startTestEmulator({ tap: TAP, netns: NS, pcap, vnet, impair: 'loss=0.01,reorder=0.02,dup=0.01,seed=7' }, cleanup);
      const http = startService(emulator.stack, { kind: 'http', port: 80 }, (e) => {
        throw e;
      });
      cleanup.defer(() => http.close());
      const echo = startService(emulator.stack, { kind: 'echo', port: 7 }, (e) => {
        throw e;
      });
      cleanup.defer(() => echo.close());
      const size = 50_000_000;
      const upload = join(dir, 'upload.bin');
      const body = randomBytes(size);
      writeFileSync(upload, body);
      const sha = createHash('sha256').update(body).digest('hex');
      for (const host of ['198.18.0.2', '[2001:2::2]']) {
        const down = await nsh(NS, ['sh', '-c', `curl -sS --max-time 240 http://${host}/bytes/${size} | sha256sum`], { timeoutMs: 250_000 });
        expect(down.stdout.split(' ')[0], `download from ${host}`).toBe(patternSha(size));
        const up = await nsh(NS, ['curl', '-sS', '--max-time', '240', '-H', 'Expect:', '--data-binary', `@${upload}`, `http://${host}/sha256`], { timeoutMs: 250_000 });
        expect(up.stdout.trim(), `upload to ${host}`).toBe(sha);
      }
      const e = await nsh(NS, ['sh', '-c', `nc -N 198.18.0.2 7 < ${upload} | sha256sum`], { timeoutMs: 250_000 });
      expect(e.stdout.split(' ')[0]).toBe(sha);
      const impairStats = (emulator.link as unknown as { impairStats: { rx: { lost: number; reordered: number; duplicated: number }; tx: { lost: number } } }).impairStats;
      // With TSO the kernel hands over 64 KiB super-frames, so far fewer frames cross the stage.
      expect(impairStats.rx.lost + impairStats.tx.lost).toBeGreaterThan(10);
      expect(impairStats.rx.reordered).toBeGreaterThan(10);
      expect(impairStats.rx.duplicated).toBeGreaterThan(10);
      const totals = emulator.stack.tcp.totals();
      await emulator.stop();
      // Frames the stage held back for reordering may reach a connection that has already
      // closed; the stack answers them with RST, as RFC 9293 §3.10.7.1 requires.
      await expectSoundCapture(pcap, { lossInjected: true, alsoAllowed: [/^Connection reset \(RST\)$/] });
      expect(totals.fastRetransmits).toBeGreaterThan(0);
      expect(totals.fastRetransmits).toBeGreaterThan(totals.timeouts);
      const ours = await recovery(pcap, '198.18.0.2');
      expect(ours.sackSegments).toBeGreaterThan(10);
      // Frames lost on the way in: the host stack SACKs the holes and the kernel repairs them.
      const theirs = await recovery(pcap, '198.18.0.1');
      expect(theirs.sackSegments).toBeGreaterThan(10);
      expect(theirs.fastRetransmissions + theirs.retransmissions).toBeGreaterThan(10);
    }, 900_000);
  }

  it("chimney fetch pulls 20 MB from python3 -m http.server through the emulator's 2% loss", async () => {
    const ns = 'chl-fetch';
    await sh(['ip', 'netns', 'del', ns], { allowFail: true });
    await sh(['ip', 'netns', 'add', ns]);
    cleanup.defer(() => sh(['ip', 'netns', 'del', ns], { allowFail: true }).then(() => undefined));
    await nsh(ns, ['ip', 'link', 'set', 'lo', 'up']);
    const served = join(dir, 'www');
    await sh(['mkdir', '-p', served]);
    const body = randomBytes(20_000_000);
    writeFileSync(join(served, 'f.bin'), body);
    const server = spawnPeer(ns, ['python3', '-m', 'http.server', '8000', '--bind', '::', '--directory', served], cleanup, 300_000);
    await new Promise((r) => setTimeout(r, 500));
    const out = join(dir, 'out.bin');
    // The fetch creates the TAP itself, so the loss comes from its own impairment stage.
    const r = await sh([process.execPath, CHIMNEY_BIN, 'fetch', 'http://198.18.0.1:8000/f.bin', '-o', out, '--tap', 'chltap1', '--netns', ns, '--dad', '0', '--impair', 'loss=0.02,seed=11'], {
      timeoutMs: 240_000,
      allowFail: true,
    });
    expect(r.code, r.stderr).toBe(0);
    expect((await sh(['sha256sum', out])).stdout.split(' ')[0]).toBe(createHash('sha256').update(body).digest('hex'));
    server.kill();
  }, 300_000);
});
