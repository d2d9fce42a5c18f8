/**
 * The host stack's node:net-shaped sockets, two stacks back to back over a simulated link in
 * simulated time: connect/listen, byte-exact streams in both directions, backpressure,
 * half-close, resets, refused connections, timeouts, and the error codes a node:net user
 * expects.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseIpv4Address, parseIpv6Address } from '../../../src/wire/addr.js';
import { emitEthernetHeader } from '../../../src/wire/ethernet.js';
import { emitIcmp, icmpLength } from '../../../src/wire/icmp.js';
import { emitIpv4Header } from '../../../src/wire/ipv4.js';
import type { TcpSocket } from '../../../src/host/socket.js';
import { net, pattern } from './sim-net.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('host sockets over a simulated link', () => {
  for (const family of [4, 6] as const) {
    it(`echoes 2 MB byte-exact over IPv${family}`, async () => {
      const n = net();
      n.b.createServer((s) => s.pipe(s)).listen(7);
      const sock = n.a.connect({ host: family === 4 ? '198.18.0.2' : '2001:2::2', port: 7 });
      const data = pattern(2 << 20);
      const got: Buffer[] = [];
      let connected = false;
      sock.on('connect', () => (connected = true));
      sock.on('data', (d: Buffer) => got.push(Buffer.from(d)));
      sock.end(data);
      let ended = false;
      sock.on('end', () => (ended = true));
      await n.until(() => ended);
      expect(connected).toBe(true);
      expect(sha(Buffer.concat(got))).toBe(sha(data));
      expect(sock.bytesRead).toBe(data.length);
      expect(sock.bytesWritten).toBe(data.length);
      expect(sock.remoteAddress).toBe(family === 4 ? '198.18.0.2' : '2001:2::2');
      expect(sock.remoteFamily).toBe(family === 4 ? 'IPv4' : 'IPv6');
    });
  }

  it('delivers byte-exact through loss, duplication and reordering', async () => {
    const n = net({ impair: { loss: 0.02, duplicate: 0.01, reorder: 0.02, seed: 5 }, latencyMs: 1 });
    let received = Buffer.alloc(0);
    let serverDone = false;
    n.b.createServer((s) => {
      const parts: Buffer[] = [];
      s.on('data', (d: Buffer) => parts.push(Buffer.from(d)));
      s.on('end', () => {
        received = Buffer.concat(parts);
        serverDone = true;
        s.end();
      });
    }).listen(9);
    const data = pattern(1 << 20, 9);
    const sock = n.a.connect({ host: '198.18.0.2', port: 9 });
    sock.end(data);
    await n.until(() => serverDone, 600_000);
    expect(sha(received)).toBe(sha(data));
    const info = sock.info();
    expect(info.totalRetransmits).toBeGreaterThan(0);
  });

  it('applies backpressure: a reader that stops closes the window and the writer waits', async () => {
    const n = net({ tcp: { rcvBufSize: 64 * 1024, sndBufSize: 64 * 1024 } });
    let server: TcpSocket | undefined;
    n.b.createServer((s) => {
      server = s;
      s.pause();
    }).listen(10);
    const sock = n.a.connect({ host: '198.18.0.2', port: 10 });
    let writes = 0;
    const chunk = Buffer.alloc(16 * 1024, 1);
    const writeMore = (): void => {
      while (writes < 200 && sock.write(chunk)) writes++;
    };
    sock.on('drain', writeMore);
    sock.on('connect', writeMore);
    await n.run(5000);
    expect(server).toBeDefined();
    // Far less than 200 × 16 KiB can be in flight: the peer's window and our send buffer are full.
    expect(writes).toBeLessThan(40);
    expect(sock.info().sndWnd).toBe(0);
    const written = writes;
    let consumed = 0;
    server?.on('data', (d: Buffer) => (consumed += d.length));
    server?.resume();
    await n.run(5000);
    expect(writes).toBeGreaterThan(written);
    expect(consumed).toBeGreaterThan(0);
  });

  it('supports half-close: the server keeps sending after the client ended', async () => {
    const n = net();
    n.b.createServer({ allowHalfOpen: true }, (s) => {
      s.on('end', () => {
        s.write('after your FIN');
        s.end();
      });
      s.resume();
    }).listen(11);
    const sock = n.a.connect({ host: '198.18.0.2', port: 11 });
    sock.setEncoding('utf8');
    let text = '';
    let ended = false;
    sock.on('data', (d: string) => (text += d));
    sock.on('end', () => (ended = true));
    sock.end('bye');
    await n.until(() => ended);
    expect(text).toBe('after your FIN');
  });

  it('reports ECONNREFUSED for a port nobody listens on', async () => {
    const n = net();
    const sock = n.a.connect({ host: '198.18.0.2', port: 12 });
    let error: NodeJS.ErrnoException | undefined;
    sock.on('error', (e: NodeJS.ErrnoException) => (error = e));
    await n.until(() => error !== undefined);
    expect(error?.code).toBe('ECONNREFUSED');
    expect(error?.syscall).toBe('connect');
  });

  it('reports ECONNRESET when the peer resets', async () => {
    const n = net();
    n.b.createServer((s) => s.on('data', () => s.resetAndDestroy())).listen(13);
    const sock = n.a.connect({ host: '198.18.0.2', port: 13 });
    let error: NodeJS.ErrnoException | undefined;
    sock.on('error', (e: NodeJS.ErrnoException) => (error = e));
    sock.write('hello');
    await n.until(() => error !== undefined);
    expect(error?.code).toBe('ECONNRESET');
  });

  it('reports ETIMEDOUT when the peer vanishes', async () => {
    const n = net({ tcp: { maxRetransmits: 4, rtoMaxMs: 2000 } });
    let server: TcpSocket | undefined;
    n.b.createServer((s) => (server = s)).listen(14);
    const sock = n.a.connect({ host: '198.18.0.2', port: 14 });
    await n.until(() => server !== undefined);
    // Blackhole: B stops hearing anything.
    n.linkB.setReceiver({ onFrame: () => undefined, onBatchEnd: () => undefined });
    let error: NodeJS.ErrnoException | undefined;
    sock.on('error', (e: NodeJS.ErrnoException) => (error = e));
    sock.write('anyone there?');
    await n.until(() => error !== undefined, 600_000);
    expect(error?.code).toBe('ETIMEDOUT');
  });

  it('emits close on both sides after a graceful close, and the server closes after its last connection', async () => {
    const n = net();
    let serverClosed = false;
    let serverSocketClosed = false;
    const server = n.b.createServer((s) => {
      s.on('close', () => (serverSocketClosed = true));
      s.resume();
      s.end();
      // Stop listening with this connection still open: 'close' must wait for it.
      server.close(() => (serverClosed = true));
    });
    server.listen(15);
    const sock = n.a.connect({ host: '198.18.0.2', port: 15 });
    let clientClosed = false;
    sock.on('close', () => (clientClosed = true));
    sock.resume();
    sock.end();
    await n.until(() => clientClosed && serverSocketClosed && serverClosed);
    expect(server.listening).toBe(false);
  });

  it('refuses to listen twice on a port (EADDRINUSE) and rejects bad connect arguments', async () => {
    const n = net();
    n.b.createServer().listen(16);
    const second = n.b.createServer();
    const error = new Promise<NodeJS.ErrnoException>((resolve) => second.on('error', resolve));
    second.listen(16);
    expect((await error).code).toBe('EADDRINUSE');
    expect(() => n.a.connect({ host: 'example.org', port: 1 })).toThrow(/address literal/);
    expect(() => n.a.connect({ host: '198.18.0.2', port: 70000 })).toThrow(/port/);
  });
});

describe('host sockets: connection reuse', () => {
  it('accepts a new SYN for a 4-tuple still in TIME-WAIT (RFC 6191) on the server side', async () => {
    const n = net();
    const seen: number[] = [];
    n.b.createServer((s) => {
      seen.push(s.remotePort);
      s.resume();
      // The server closes first, so it is the side that ends in TIME-WAIT.
      s.end();
    }).listen(20);
    const first = n.a.connect({ host: '198.18.0.2', port: 20, localPort: 40000 });
    first.resume();
    let closed = false;
    first.on('end', () => first.end());
    first.on('close', () => (closed = true));
    await n.until(() => closed && n.b.tcp.connections()[0]?.engine.state === 'TIME-WAIT');
    const second = n.a.connect({ host: '198.18.0.2', port: 20, localPort: 40000 });
    let connected = false;
    second.on('connect', () => (connected = true));
    second.on('error', () => undefined);
    second.resume();
    await n.until(() => connected, 10_000);
    expect(seen).toEqual([40000, 40000]);
  });
});

describe('host sockets: idle timeout', () => {
  it("emits 'timeout' after the idle time, postponed by activity, without closing (node:net setTimeout)", async () => {
    const n = net();
    let server: TcpSocket | undefined;
    n.b.createServer((s) => {
      server = s;
      s.resume();
    }).listen(21);
    const sock = n.a.connect({ host: '198.18.0.2', port: 21 });
    await n.until(() => server !== undefined);
    let timeouts = 0;
    sock.setTimeout(1000, () => timeouts++);
    await n.run(600);
    sock.write('keep me busy');
    await n.run(600);
    expect(timeouts).toBe(0);
    await n.run(500);
    expect(timeouts).toBe(1);
    expect(sock.destroyed).toBe(false);
    expect(sock.timeout).toBe(1000);
    sock.setTimeout(0);
    expect(sock.timeout).toBeUndefined();
  });
});

describe('host TCP: SYN cookies and path MTU', () => {
  it('answers SYNs beyond the SYN backlog with cookies and still establishes every connection', async () => {
    const n = net({ latencyMs: 2 });
    const accepted: TcpSocket[] = [];
    n.b.createServer({ synBacklog: 1 }, (s) => {
      accepted.push(s);
      s.pipe(s);
    }).listen(22);
    const clients = Array.from({ length: 8 }, () => n.a.connect({ host: '198.18.0.2', port: 22 }));
    const echoed = clients.map(() => '');
    clients.forEach((c, i) => {
      c.setEncoding('utf8');
      c.on('data', (d: string) => (echoed[i] += d));
      c.write(`hello ${i} `.repeat(2000));
    });
    await n.until(() => echoed.every((e, i) => e.length === `hello ${i} `.repeat(2000).length), 30_000);
    expect(accepted).toHaveLength(8);
    expect(n.b.stats.tcpSynCookiesSent).toBeGreaterThan(0);
    expect(n.b.stats.tcpSynCookiesAccepted).toBe(n.b.stats.tcpSynCookiesSent);
    // Cookies carry window scaling and SACK in the timestamp bits, so those survive.
    const cookieConn = accepted.map((s) => s.info()).find((i) => i.sndWindowScale > 0);
    expect(cookieConn?.sack).toBe(true);
  });

  it('lowers the MSS on ICMP fragmentation-needed (RFC 1191) and keeps the stream byte-exact', async () => {
    const n = net();
    let server: TcpSocket | undefined;
    n.b.createServer((s) => (server = s)).listen(23);
    const sock = n.a.connect({ host: '198.18.0.2', port: 23 });
    const parts: Buffer[] = [];
    sock.on('data', (d: Buffer) => parts.push(Buffer.from(d)));
    await n.until(() => server !== undefined);
    const srv = server as TcpSocket;
    expect(srv.info().mss).toBe(1448);
    // A router on the path says 1280: B receives the error about its own segment to A.
    const fragNeeded = (seqNumber: number): Uint8Array => {
      const quote = new Uint8Array(28);
      emitIpv4Header({ src: parseIpv4Address('198.18.0.2') as number, dst: parseIpv4Address('198.18.0.1') as number, protocol: 6, ttl: 64, payloadLength: 1448 + 32 }, quote, 0);
      quote.set([srv.localPort >> 8, srv.localPort & 0xff, sock.localPort >> 8, sock.localPort & 0xff], 20);
      quote.set([seqNumber >>> 24, (seqNumber >>> 16) & 0xff, (seqNumber >>> 8) & 0xff, seqNumber & 0xff], 24);
      const icmp = { kind: 'dest-unreachable' as const, code: 4, nextHopMtu: 1280, invoking: quote };
      const frame = new Uint8Array(14 + 20 + icmpLength(icmp));
      emitEthernetHeader({ dst: Uint8Array.of(2, 0, 0, 0, 0, 2), src: Uint8Array.of(2, 0, 0, 0, 0, 1), ethertype: 0x0800 }, frame, 0);
      emitIpv4Header({ src: parseIpv4Address('198.18.0.1') as number, dst: parseIpv4Address('198.18.0.2') as number, protocol: 1, ttl: 64, payloadLength: icmpLength(icmp) }, frame, 14);
      emitIcmp(icmp, frame, 34);
      return frame;
    };
    const data = pattern(1 << 20, 3);
    srv.write(data.subarray(0, 100_000));
    // A forged message quoting a sequence number we never sent is ignored (RFC 5927 §4.1).
    n.linkB.deliverNow([fragNeeded((srv.info().sndMax + 1_000_000) >>> 0)]);
    expect(srv.info().mss).toBe(1448);
    expect(n.b.pathCache.mtu4(parseIpv4Address('198.18.0.1') as number)).toBeUndefined();
    // A router on the path says 1280 about a segment in flight.
    n.linkB.deliverNow([fragNeeded(srv.info().sndUna)]);
    expect(srv.info().mss).toBe(1280 - 20 - 20 - 12);
    srv.end(data.subarray(100_000));
    let ended = false;
    sock.on('end', () => (ended = true));
    await n.until(() => ended);
    expect(sha(Buffer.concat(parts))).toBe(sha(data));
    expect(n.b.pathCache.mtu4(parseIpv4Address('198.18.0.1') as number)).toBe(1280);
  });
});

describe('host sockets: application exceptions', () => {
  it("an exception in a 'data' handler surfaces as uncaught, and the stack neither counts a dropped frame nor loses later events", async () => {
    const n = net();
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown): void => void uncaught.push(e);
    process.prependListener('uncaughtException', onUncaught);
    try {
      let ended = false;
      n.b.createServer((s) => {
        let first = true;
        s.on('data', () => {
          if (first) {
            first = false;
            throw new Error('application bug');
          }
        });
        s.on('end', () => (ended = true));
      }).listen(24);
      const sock = n.a.connect({ host: '198.18.0.2', port: 24 });
      sock.write('one');
      await n.run(5);
      sock.end('two');
      await n.until(() => ended);
      expect(uncaught.map((e) => (e as Error).message)).toEqual(['application bug']);
      expect(n.b.internalErrors).toBe(0);
      expect(n.b.stats.drops.get('internal-error')).toBe(0);
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
  });
});
