/**
 * ICMP errors about TCP connections: a hard error ends a connection attempt only when it
 * quotes a sequence number the connection has sent (RFC 5927 §4.1, as Linux tcp_v4_err and
 * tcp_v6_err check), so a forged error cannot refuse a connection.
 */
import { describe, expect, it } from 'vitest';
import { parseIpv4Address, parseIpv6Address } from '../../../src/wire/addr.js';
import { emitEthernetHeader } from '../../../src/wire/ethernet.js';
import { emitIcmp, icmpLength } from '../../../src/wire/icmp.js';
import { emitIcmpv6, icmpv6Length } from '../../../src/wire/icmpv6.js';
import { emitIpv4Header } from '../../../src/wire/ipv4.js';
import { emitIpv6Header } from '../../../src/wire/ipv6.js';
import type { TcpSocket } from '../../../src/host/socket.js';
import { net, type Net } from './sim-net.js';

const A_MAC = Uint8Array.of(2, 0, 0, 0, 0, 1);
const B_MAC = Uint8Array.of(2, 0, 0, 0, 0, 2);

function iss(sock: TcpSocket): number {
  return (sock as unknown as { tcb: { engine: { iss: number } } }).tcb.engine.iss;
}

/** Port unreachable from B to A about A's segment (A -> B, ports, sequence number `seq`). */
function portUnreachable4(sock: TcpSocket, seq: number): Uint8Array {
  const quote = new Uint8Array(28);
  emitIpv4Header({ src: parseIpv4Address('198.18.0.1') as number, dst: parseIpv4Address('198.18.0.2') as number, protocol: 6, ttl: 64, payloadLength: 40 }, quote, 0);
  const v = new DataView(quote.buffer);
  v.setUint16(20, sock.localPort);
  v.setUint16(22, sock.remotePort);
  v.setUint32(24, seq >>> 0);
  const icmp = { kind: 'dest-unreachable' as const, code: 3, nextHopMtu: 0, invoking: quote };
  const frame = new Uint8Array(14 + 20 + icmpLength(icmp));
  emitEthernetHeader({ dst: A_MAC, src: B_MAC, ethertype: 0x0800 }, frame, 0);
  emitIpv4Header({ src: parseIpv4Address('198.18.0.2') as number, dst: parseIpv4Address('198.18.0.1') as number, protocol: 1, ttl: 64, payloadLength: icmpLength(icmp) }, frame, 14);
  emitIcmp(icmp, frame, 34);
  return frame;
}

function portUnreachable6(sock: TcpSocket, seq: number): Uint8Array {
  const a = parseIpv6Address('2001:2::1') as Uint8Array;
  const b = parseIpv6Address('2001:2::2') as Uint8Array;
  const quote = new Uint8Array(48);
  emitIpv6Header({ src: a, dst: b, nextHeader: 6, hopLimit: 64, payloadLength: 40 }, quote, 0);
  const v = new DataView(quote.buffer);
  v.setUint16(40, sock.localPort);
  v.setUint16(42, sock.remotePort);
  v.setUint32(44, seq >>> 0);
  const icmp = { kind: 'dest-unreachable' as const, code: 4, invoking: quote };
  const frame = new Uint8Array(14 + 40 + icmpv6Length(icmp));
  emitEthernetHeader({ dst: A_MAC, src: B_MAC, ethertype: 0x86dd }, frame, 0);
  emitIpv6Header({ src: b, dst: a, nextHeader: 58, hopLimit: 64, payloadLength: icmpv6Length(icmp) }, frame, 14);
  emitIcmpv6(icmp, frame, 54, b, a);
  return frame;
}

async function connecting(n: Net, host: string): Promise<{ sock: TcpSocket; errors: string[]; connected: () => boolean }> {
  n.b.createServer((s) => s.resume()).listen(7);
  const sock = n.a.connect({ host, port: 7 });
  const errors: string[] = [];
  let connected = false;
  sock.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? '?'));
  sock.on('connect', () => (connected = true));
  await n.tick(); // the SYN is sent at the end of the turn
  return { sock, errors, connected: () => connected };
}

describe('ICMP errors about TCP connections', () => {
  for (const family of [4, 6] as const) {
    const host = family === 4 ? '198.18.0.2' : '2001:2::2';
    const forge = family === 4 ? portUnreachable4 : portUnreachable6;

    it(`IPv${family}: a port unreachable quoting a sequence number we never sent does not refuse a connection attempt`, async () => {
      const n = net({ latencyMs: 20 });
      const c = await connecting(n, host);
      n.linkA.deliverNow([forge(c.sock, iss(c.sock) + 100_000)]);
      await n.run(100);
      expect(c.errors).toEqual([]);
      expect(c.connected()).toBe(true);
      c.sock.destroy();
    });

    it(`IPv${family}: a port unreachable quoting our SYN refuses the connection attempt`, async () => {
      const n = net({ latencyMs: 20 });
      const c = await connecting(n, host);
      n.linkA.deliverNow([forge(c.sock, iss(c.sock))]);
      await n.run(100);
      expect(c.errors).toEqual(['ECONNREFUSED']);
      expect(c.connected()).toBe(false);
    });
  }

  for (const family of [4, 6] as const) {
    it(`IPv${family}: a connection attempt to an on-link address nobody answers fails with EHOSTUNREACH once resolution fails (RFC 4861 §7.2.2)`, async () => {
      const n = net();
      const sock = n.a.connect({ host: family === 4 ? '198.18.0.9' : '2001:2::9', port: 7 });
      const errors: string[] = [];
      let closed = false;
      sock.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? '?'));
      sock.on('close', () => (closed = true));
      // Three solicitations a second apart (MAX_MULTICAST_SOLICIT, RETRANS_TIMER), then the error.
      await n.run(3500);
      expect(errors).toEqual(['EHOSTUNREACH']);
      expect(closed).toBe(true);
      expect(n.a.tcp.connectionCount).toBe(0);
    });
  }
});
