/**
 * Bulk TCP through the host stack against real Linux programs in a namespace, over IPv4 and
 * IPv6, every byte checked by SHA-256:
 *
 * - curl downloads 100 MB from the host stack's HTTP service and uploads 100 MB to /sha256;
 * - `chimney fetch` downloads 100 MB from `python3 -m http.server` in the namespace;
 * - nc and a node:net client exchange data with echo and discard servers on the host stack.
 *
 * Captures of the runs must be clean under tshark with checksum validation on: no malformed
 * frames, no bad checksums, no "ACKed unseen segment", no "previous segment not captured".
 * Both the virtio-net (checksum offload, TSO) and the plain-frame path are exercised.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Emulator } from '../../src/cli/emulator.js';
import { startService } from '../../src/cli/services.js';
import { patternSha } from '../helpers/pattern.js';
import type { TcpSocket } from '../../src/host/socket.js';
import { describePrivileged } from '../helpers/root.js';
import { CleanupStack } from '../helpers/tap-netns.js';
import { nsh, sh, spawnPeer, startTestEmulator } from '../helpers/emulator.js';
import { CHIMNEY_BIN } from '../helpers/chimney-process.js';
import { expectSoundCapture } from '../helpers/capture-checks.js';

const NS = 'cht-ns';
const TAP = 'chttap0';
const MB100 = 100_000_000;

let cleanup: CleanupStack;
let dir: string;

beforeEach(() => {
  cleanup = new CleanupStack();
  dir = mkdtempSync(join(tmpdir(), 'chimney-tcp-'));
  cleanup.defer(() => rmSync(dir, { recursive: true, force: true }));
});

afterEach(async () => {
  await cleanup.run();
});


/** A discard server that hashes what it receives, for checking uploads on the host side. */
function hashingSink(emulator: Emulator, port: number): Map<string, { bytes: number; sha: string }> {
  const results = new Map<string, { bytes: number; sha: string }>();
  const server = emulator.stack.createServer((s: TcpSocket) => {
    const h = createHash('sha256');
    let bytes = 0;
    s.on('data', (d: Buffer) => {
      bytes += d.length;
      h.update(d);
    });
    s.on('end', () => {
      results.set(`${s.remoteAddress}:${s.remotePort}`, { bytes, sha: h.digest('hex') });
      s.end();
    });
    s.on('error', () => undefined);
  });
  server.listen(port);
  cleanup.defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return results;
}

async function cleanCapture(pcap: string): Promise<void> {
  await expectSoundCapture(pcap);
}

const NODE_CLIENT = `
const net = require('node:net');
const crypto = require('node:crypto');
const [host, port, size, expectEcho] = process.argv.slice(1);
const n = Number(size);
const data = crypto.randomBytes(n);
const sent = crypto.createHash('sha256').update(data).digest('hex');
const got = crypto.createHash('sha256');
let received = 0;
const s = net.connect({ host, port: Number(port) }, () => s.end(data));
s.on('data', (d) => { received += d.length; got.update(d); });
s.on('end', () => console.log(JSON.stringify({ sent, received, echo: got.digest('hex') })));
s.on('error', (e) => { console.error(e.message); process.exit(1); });
`;

describePrivileged('TCP transfers between the host stack and Linux programs', () => {
  for (const vnet of [true, false]) {
    const path = vnet ? 'virtio-net/TSO' : 'plain frames';
    it(`curl downloads and uploads 100 MB over IPv4 and IPv6 (${path})`, async () => {
      const pcap = join(dir, 'curl.pcapng');
      const emulator = await startTestEmulator({ tap: TAP, netns: NS, vnet, pcap }, cleanup);
      const http = startService(emulator.stack, { kind: 'http', port: 80 }, (e) => {
        throw e;
      });
      cleanup.defer(() => http.close());
      const upload = join(dir, 'upload.bin');
      const body = randomBytes(MB100);
      writeFileSync(upload, body);
      const uploadSha = createHash('sha256').update(body).digest('hex');
      const downloadSha = patternSha(MB100);
      for (const host of ['198.18.0.2', '[2001:2::2]']) {
        const down = await nsh(NS, ['sh', '-c', `curl -sS --max-time 120 http://${host}/bytes/${MB100} | sha256sum`], { timeoutMs: 130_000 });
        expect(down.stdout.split(' ')[0], `download from ${host}`).toBe(downloadSha);
        const up = await nsh(NS, ['curl', '-sS', '--max-time', '120', '-H', 'Expect:', '--data-binary', `@${upload}`, `http://${host}/sha256`], { timeoutMs: 130_000 });
        expect(up.stdout.trim(), `upload to ${host}`).toBe(uploadSha);
      }
      await emulator.stop();
      await cleanCapture(pcap);
    }, 600_000);
  }

  it('nc and node:net clients get byte-exact echo and discard over IPv4 and IPv6', async () => {
    const pcap = join(dir, 'nc.pcapng');
    const emulator = await startTestEmulator({ tap: TAP, netns: NS, pcap }, cleanup);
    const echo = startService(emulator.stack, { kind: 'echo', port: 7 }, (e) => {
      throw e;
    });
    cleanup.defer(() => echo.close());
    const sink = hashingSink(emulator, 9);
    const file = join(dir, 'data.bin');
    const data = randomBytes(20_000_000);
    writeFileSync(file, data);
    const sha = createHash('sha256').update(data).digest('hex');
    for (const host of ['198.18.0.2', '2001:2::2']) {
      const e = await nsh(NS, ['sh', '-c', `nc -N ${host} 7 < ${file} | sha256sum`], { timeoutMs: 60_000 });
      expect(e.stdout.split(' ')[0], `nc echo via ${host}`).toBe(sha);
      await nsh(NS, ['sh', '-c', `nc -N ${host} 9 < ${file}`], { timeoutMs: 60_000 });
      const client = await nsh(NS, ['node', '-e', NODE_CLIENT, host, '7', '20000000'], { timeoutMs: 60_000 });
      const r = JSON.parse(client.stdout) as { sent: string; received: number; echo: string };
      expect(r.received).toBe(20_000_000);
      expect(r.echo, `node echo via ${host}`).toBe(r.sent);
      await nsh(NS, ['node', '-e', NODE_CLIENT, host, '9', '20000000'], { timeoutMs: 60_000 });
    }
    await new Promise((r) => setTimeout(r, 200));
    const sunk = [...sink.values()];
    expect(sunk).toHaveLength(4);
    expect(sunk.every((s) => s.bytes === 20_000_000)).toBe(true);
    expect(sunk.filter((s) => s.sha === sha)).toHaveLength(2); // the nc uploads; node's are random per run
    await emulator.stop();
    await cleanCapture(pcap);
  }, 300_000);

  it('chimney fetch downloads 100 MB from python3 -m http.server over IPv4 and IPv6', async () => {
    const ns = 'cht-fetch';
    await sh(['ip', 'netns', 'del', ns], { allowFail: true });
    await sh(['ip', 'netns', 'add', ns]);
    cleanup.defer(() => sh(['ip', 'netns', 'del', ns], { allowFail: true }).then(() => undefined));
    await nsh(ns, ['ip', 'link', 'set', 'lo', 'up']);
    const served = join(dir, 'www');
    await sh(['mkdir', '-p', served]);
    const body = randomBytes(MB100);
    writeFileSync(join(served, 'big.bin'), body);
    const sha = createHash('sha256').update(body).digest('hex');
    // Bound to the wildcard inside the test's own namespace: the TAP address appears only
    // once chimney has configured it.
    const server = spawnPeer(ns, ['python3', '-m', 'http.server', '8000', '--bind', '::', '--directory', served], cleanup, 300_000);
    await new Promise((r) => setTimeout(r, 500));
    for (const url of ['http://198.18.0.1:8000/big.bin', 'http://[2001:2::1]:8000/big.bin']) {
      const out = join(dir, 'fetched.bin');
      const pcap = join(dir, 'fetch.pcapng');
      const r = await sh([process.execPath, CHIMNEY_BIN, 'fetch', url, '-o', out, '--tap', 'chttap1', '--netns', ns, '--dad', '0', '--pcap', pcap], { timeoutMs: 180_000, allowFail: true });
      expect(r.code, r.stderr).toBe(0);
      const got = await sh(['sha256sum', out]);
      expect(got.stdout.split(' ')[0], url).toBe(sha);
      await cleanCapture(pcap);
    }
    server.kill();
  }, 600_000);
});
