/**
 * How the host stack's TCP reacts to what real Linux peers do, with the host stack as the
 * client of small python3 servers in the namespace:
 *
 * - a peer that closes with SO_LINGER 0 sends RST: the socket fails with ECONNRESET;
 * - a peer that stops reading fills its window: zero window, then our persist probes on the
 *   wire, and every byte delivered once it reads again;
 * - a peer that vanishes (nftables drops everything in the namespace; the kernel has no netem,
 *   and a blackhole must hit both directions): ETIMEDOUT after the retransmission limit;
 * - an idle connection with keepalive on: probes on the wire, answered, connection alive.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { TcpSocket } from '../../src/host/socket.js';
import { describePrivileged } from '../helpers/root.js';
import { CleanupStack } from '../helpers/tap-netns.js';
import { nsh, spawnPeer, startTestEmulator } from '../helpers/emulator.js';
import { fields } from '../helpers/tshark.js';
import { expectSoundCapture } from '../helpers/capture-checks.js';

const NS = 'chp-ns';
const TAP = 'chptap0';

let cleanup: CleanupStack;
let dir: string;

beforeEach(() => {
  cleanup = new CleanupStack();
  dir = mkdtempSync(join(tmpdir(), 'chimney-peer-'));
  cleanup.defer(() => rmSync(dir, { recursive: true, force: true }));
});

afterEach(async () => {
  await cleanup.run();
});

/** A one-connection python3 server on [::]:port running `body` with the accepted socket `c`. */
function pyServer(port: number, body: string): string {
  return `
import socket, struct, sys, time, hashlib
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('::', ${port}))
s.listen(1)
print('listening', flush=True)
c, _ = s.accept()
${body}
`;
}

function waitEvent<T>(emit: (resolve: (v: T) => void) => void, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    emit((v) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}

describePrivileged('peer behaviours', () => {
  it('a peer closing with SO_LINGER 0 resets the connection: ECONNRESET', async () => {
    const emulator = await startTestEmulator({ tap: TAP, netns: NS }, cleanup);
    const server = spawnPeer(NS, ['python3', '-c', pyServer(8001, "c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))\nc.recv(10)\nc.close()")], cleanup);
    await server.waitFor(/listening/);
    const sock = emulator.stack.connect({ host: '198.18.0.1', port: 8001 });
    sock.on('connect', () => sock.write('hello'));
    const error = await waitEvent<NodeJS.ErrnoException>((r) => sock.on('error', r), 10_000, 'the reset');
    expect(error.code).toBe('ECONNRESET');
  });

  it('a peer that stops reading drives the window to zero; persist probes keep it alive until it reads', async () => {
    const pcap = join(dir, 'zero.pcapng');
    const emulator = await startTestEmulator({ tap: TAP, netns: NS, pcap }, cleanup);
    // Small receive buffer on the peer so its window closes quickly; then 3 s of not reading.
    const server = spawnPeer(
      NS,
      [
        'python3',
        '-c',
        pyServer(
          8002,
          "c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)\ntime.sleep(3)\nh = hashlib.sha256()\nn = 0\nwhile True:\n  d = c.recv(65536)\n  if not d: break\n  h.update(d); n += len(d)\nprint(n, h.hexdigest(), flush=True)",
        ).replace("s.listen(1)", "s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)\ns.listen(1)"),
      ],
      cleanup,
    );
    await server.waitFor(/listening/);
    const data = randomBytes(8_000_000);
    const sock: TcpSocket = emulator.stack.connect({ host: '198.18.0.1', port: 8002 });
    sock.end(data);
    sock.on('error', () => undefined);
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.resume(); // 'end' (and so 'close') needs a consumer, as on node:net
    await new Promise((r) => setTimeout(r, 2500));
    const during = sock.info();
    expect(during.sndWnd).toBe(0);
    expect(during.zeroWindowProbes).toBeGreaterThan(0);
    await server.waitFor(/^\d+ [0-9a-f]{64}/m, 30_000);
    const [n, sha] = (server.stdout().trim().split('\n').at(-1) ?? '').split(/\s+/);
    expect(Number(n)).toBe(data.length);
    expect(sha).toBe(createHash('sha256').update(data).digest('hex'));
    // Let the peer's FIN arrive and the connection finish before the stack goes away.
    await closed;
    await emulator.stop();
    // Our persist probes are shaped as Linux's (SEQ = SND.UNA - 1, no data: tcp_xmit_probe_skb),
    // which tshark labels "Keep-Alive"; keepalive is off on this connection, so every such
    // segment from us is a window probe. The peer answers each with its (zero) window.
    const probes = await fields(pcap, ['frame.number'], '(tcp.analysis.keep_alive || tcp.analysis.zero_window_probe) && ip.src == 198.18.0.2');
    expect(probes.length).toBeGreaterThan(0);
    expect(probes.length).toBeLessThanOrEqual(sock.info().zeroWindowProbes);
    expect((await fields(pcap, ['frame.number'], 'tcp.analysis.zero_window && ip.src == 198.18.0.1')).length).toBeGreaterThan(0);
    await expectSoundCapture(pcap);
  }, 60_000);

  it('a peer that vanishes ends in ETIMEDOUT after the retransmission limit', async () => {
    // A short retransmission budget keeps the test bounded: 5 retransmissions, RTO at most 1 s.
    const emulator = await startTestEmulator({ tap: TAP, netns: NS, tcp: { maxRetransmits: 5, rtoMaxMs: 1000 } }, cleanup);
    const server = spawnPeer(NS, ['python3', '-c', pyServer(8003, 'time.sleep(60)')], cleanup);
    await server.waitFor(/listening/);
    const sock = emulator.stack.connect({ host: '198.18.0.1', port: 8003 });
    await waitEvent<void>((r) => sock.on('connect', () => r()), 10_000, 'connect');
    await nsh(NS, ['nft', '-f', '-'], {
      input: 'table inet chimney_blackhole {\n chain input { type filter hook input priority 0; drop; }\n chain output { type filter hook output priority 0; drop; }\n}',
    });
    const started = Date.now();
    sock.write(randomBytes(10_000));
    const error = await waitEvent<NodeJS.ErrnoException>((r) => sock.on('error', r), 30_000, 'ETIMEDOUT');
    expect(error.code).toBe('ETIMEDOUT');
    const info = sock.info();
    expect(info.state).toBe('CLOSED');
    // 200 ms, 400 ms, 800 ms, then 1 s per round: the limit was reached by retransmitting, not at once.
    expect(Date.now() - started).toBeGreaterThan(2000);
    expect(emulator.stack.tcp.totals().timeouts).toBeGreaterThanOrEqual(5);
  }, 60_000);

  it('keepalive probes appear on an idle connection and the peer answers them', async () => {
    const pcap = join(dir, 'keepalive.pcapng');
    const emulator = await startTestEmulator(
      { tap: TAP, netns: NS, pcap, tcp: { keepAlive: { enabled: false, idleMs: 7_200_000, intervalMs: 500, probes: 3 } } },
      cleanup,
    );
    const server = spawnPeer(NS, ['python3', '-c', pyServer(8004, 'time.sleep(60)')], cleanup);
    await server.waitFor(/listening/);
    const sock = emulator.stack.connect({ host: '198.18.0.1', port: 8004 });
    await waitEvent<void>((r) => sock.on('connect', () => r()), 10_000, 'connect');
    sock.setKeepAlive(true, 1000);
    await new Promise((r) => setTimeout(r, 3500));
    expect(sock.info().state).toBe('ESTABLISHED');
    expect(sock.info().keepAliveProbes).toBeGreaterThanOrEqual(2);
    sock.destroy();
    await emulator.stop();
    const probes = await fields(pcap, ['frame.number'], 'tcp.analysis.keep_alive && ip.src == 198.18.0.2');
    const acks = await fields(pcap, ['frame.number'], 'tcp.analysis.keep_alive_ack && ip.src == 198.18.0.1');
    expect(probes.length).toBeGreaterThanOrEqual(2);
    expect(acks.length).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
