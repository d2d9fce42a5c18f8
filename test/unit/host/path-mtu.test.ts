/**
 * Path MTU discovery at the host: ICMP fragmentation-needed (RFC 1191) and ICMPv6
 * packet-too-big (RFC 8201) lower the path MTU of a destination and the MSS of the
 * connection they quote, and a later report of a larger MTU raises neither (RFC 1191 §3,
 * RFC 8201 §4). Only aging raises the path cache's estimate again.
 */
import { describe, expect, it } from 'vitest';
import { parseIpv4Address, parseIpv6Address } from '../../../src/wire/addr.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { emitEthernetHeader } from '../../../src/wire/ethernet.js';
import { emitIcmp, icmpLength } from '../../../src/wire/icmp.js';
import { emitIcmpv6, icmpv6Length } from '../../../src/wire/icmpv6.js';
import { emitIpv4Header } from '../../../src/wire/ipv4.js';
import { emitIpv6Header } from '../../../src/wire/ipv6.js';
import { PathCache } from '../../../src/host/path-cache.js';
import type { TcpSocket } from '../../../src/host/socket.js';
import { net } from './sim-net.js';

const A_MAC = Uint8Array.of(2, 0, 0, 0, 0, 1);
const B_MAC = Uint8Array.of(2, 0, 0, 0, 0, 2);
const A4 = parseIpv4Address('198.18.0.1') as number;
const B4 = parseIpv4Address('198.18.0.2') as number;
const A6 = parseIpv6Address('2001:2::1') as Uint8Array;
const B6 = parseIpv6Address('2001:2::2') as Uint8Array;

/** A router's fragmentation-needed to A about A's segment `seq` to B on `sock`. */
function fragNeeded(sock: TcpSocket, seq: number, mtu: number): Uint8Array {
  const quote = new Uint8Array(28);
  emitIpv4Header({ src: A4, dst: B4, protocol: 6, ttl: 64, payloadLength: 1480 }, quote, 0);
  const v = new DataView(quote.buffer);
  v.setUint16(20, sock.localPort);
  v.setUint16(22, sock.remotePort);
  v.setUint32(24, seq >>> 0);
  const icmp = { kind: 'dest-unreachable' as const, code: 4, nextHopMtu: mtu, invoking: quote };
  const frame = new Uint8Array(14 + 20 + icmpLength(icmp));
  emitEthernetHeader({ dst: A_MAC, src: B_MAC, ethertype: 0x0800 }, frame, 0);
  emitIpv4Header({ src: B4, dst: A4, protocol: 1, ttl: 64, payloadLength: icmpLength(icmp) }, frame, 14);
  emitIcmp(icmp, frame, 34);
  return frame;
}

function packetTooBig(sock: TcpSocket, seq: number, mtu: number): Uint8Array {
  const quote = new Uint8Array(48);
  emitIpv6Header({ src: A6, dst: B6, nextHeader: 6, hopLimit: 64, payloadLength: 1460 }, quote, 0);
  const v = new DataView(quote.buffer);
  v.setUint16(40, sock.localPort);
  v.setUint16(42, sock.remotePort);
  v.setUint32(44, seq >>> 0);
  const icmp = { kind: 'packet-too-big' as const, mtu, invoking: quote };
  const frame = new Uint8Array(14 + 40 + icmpv6Length(icmp));
  emitEthernetHeader({ dst: A_MAC, src: B_MAC, ethertype: 0x86dd }, frame, 0);
  emitIpv6Header({ src: B6, dst: A6, nextHeader: 58, hopLimit: 64, payloadLength: icmpv6Length(icmp) }, frame, 14);
  emitIcmpv6(icmp, frame, 54, B6, A6);
  return frame;
}

describe('path MTU discovery at the host', () => {
  for (const family of [4, 6] as const) {
    const host = family === 4 ? '198.18.0.2' : '2001:2::2';
    const report = family === 4 ? fragNeeded : packetTooBig;
    const cached = (n: ReturnType<typeof net>) => (family === 4 ? n.a.pathCache.mtu4(B4) : n.a.pathCache.mtu6(B6));
    // IP header + TCP header + timestamps option.
    const overhead = (family === 4 ? 20 : 40) + 20 + 12;

    it(`issue 9 defect 4: IPv${family}: a too-big report of 1400 after one of 1280 raises neither the MSS nor the path cache`, async () => {
      const n = net();
      n.b.createServer((s) => s.resume()).listen(7);
      const sock = n.a.connect({ host, port: 7 });
      let connected = false;
      sock.on('connect', () => (connected = true));
      await n.until(() => connected);
      expect(sock.info().mss).toBe(1500 - overhead);
      n.linkA.deliverNow([report(sock, sock.info().sndUna, 1280)]);
      expect(sock.info().mss).toBe(1280 - overhead);
      expect(cached(n)).toBe(1280);
      n.linkA.deliverNow([report(sock, sock.info().sndUna, 1400)]);
      expect(sock.info().mss).toBe(1280 - overhead);
      expect(cached(n)).toBe(1280);
      sock.destroy();
    });

    it(`IPv${family}: a connection told 1400 takes the 1280 the path cache learned from another connection to the same destination`, async () => {
      const n = net();
      n.b.createServer((s) => s.resume()).listen(7);
      const first = n.a.connect({ host, port: 7 });
      const second = n.a.connect({ host, port: 7 });
      let connected = 0;
      first.on('connect', () => connected++);
      second.on('connect', () => connected++);
      await n.until(() => connected === 2);
      n.linkA.deliverNow([report(first, first.info().sndUna, 1280)]);
      expect(second.info().mss).toBe(1500 - overhead);
      // As Linux tcp_v4_mtu_reduced takes dst_mtu() after updating the route: the
      // destination's estimate, not the (larger) report.
      n.linkA.deliverNow([report(second, second.info().sndUna, 1400)]);
      expect(second.info().mss).toBe(1280 - overhead);
      expect(cached(n)).toBe(1280);
      first.destroy();
      second.destroy();
    });
  }
});

describe('PathCache (RFC 1191 §6.3, RFC 8201 §5.3)', () => {
  it('issue 9 defect 4: keeps 1280 when a larger MTU of 1400 is reported afterwards', () => {
    const clock = new SimScheduler();
    const cache = new PathCache(clock);
    expect(cache.learn4(B4, 1280)).toBe(true);
    expect(cache.learn4(B4, 1400)).toBe(false);
    expect(cache.mtu4(B4)).toBe(1280);
    expect(cache.learn6(B6, 1300)).toBe(true);
    expect(cache.learn6(B6, 1400)).toBe(false);
    expect(cache.mtu6(B6)).toBe(1300);
  });

  it('forgets an estimate after 10 minutes, so the path can be found larger again (aging)', () => {
    const clock = new SimScheduler();
    const cache = new PathCache(clock);
    cache.learn4(B4, 1280);
    clock.advance(599_999);
    expect(cache.mtu4(B4)).toBe(1280);
    clock.advance(1);
    expect(cache.mtu4(B4)).toBeUndefined();
    expect(cache.learn4(B4, 1400)).toBe(true);
    expect(cache.mtu4(B4)).toBe(1400);
  });
});
