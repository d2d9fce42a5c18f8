/**
 * A SYN without an MSS option: the peer's MSS is assumed to be 536 over IPv4 and 1220 over
 * IPv6 (RFC 9293 §3.7.1). The engine does not know the IP version, so the host tells it.
 */
import { describe, expect, it } from 'vitest';
import { parseIpv4Address, parseIpv6Address } from '../../../src/wire/addr.js';
import { emitEthernetHeader } from '../../../src/wire/ethernet.js';
import { emitIpv4Header, ipv4PseudoHeaderSum } from '../../../src/wire/ipv4.js';
import { emitIpv6Header, ipv6PseudoHeaderSum } from '../../../src/wire/ipv6.js';
import { emitTcp, TCP_SYN, type TcpRepr } from '../../../src/wire/tcp.js';
import { seq } from '../../../src/wire/seq.js';
import { net } from './sim-net.js';

const A_MAC = Uint8Array.of(2, 0, 0, 0, 0, 1);
const B_MAC = Uint8Array.of(2, 0, 0, 0, 0, 2);

const SYN: TcpRepr = { srcPort: 40000, dstPort: 7, seqNumber: seq(12345), ackNumber: seq(0), flags: TCP_SYN, windowLen: 65535, urgentPointer: 0, options: {}, payload: new Uint8Array(0) };

/** A SYN from B to A's port 7 carrying no options at all. */
function bareSyn(family: 4 | 6): Uint8Array {
  if (family === 4) {
    const ip = { src: parseIpv4Address('198.18.0.2') as number, dst: parseIpv4Address('198.18.0.1') as number, protocol: 6, ttl: 64, payloadLength: 20 };
    const frame = new Uint8Array(14 + 20 + 20);
    emitEthernetHeader({ dst: A_MAC, src: B_MAC, ethertype: 0x0800 }, frame, 0);
    emitIpv4Header(ip, frame, 14);
    emitTcp(SYN, frame, 34, { kind: 'full', pseudoHeaderSum: ipv4PseudoHeaderSum(ip, 20) });
    return frame;
  }
  const ip = { src: parseIpv6Address('2001:2::2') as Uint8Array, dst: parseIpv6Address('2001:2::1') as Uint8Array, nextHeader: 6, hopLimit: 64, payloadLength: 20 };
  const frame = new Uint8Array(14 + 40 + 20);
  emitEthernetHeader({ dst: A_MAC, src: B_MAC, ethertype: 0x86dd }, frame, 0);
  emitIpv6Header(ip, frame, 14);
  emitTcp(SYN, frame, 54, { kind: 'full', pseudoHeaderSum: ipv6PseudoHeaderSum(ip, 6, 20) });
  return frame;
}

describe('default peer MSS (RFC 9293 §3.7.1)', () => {
  for (const [family, want] of [
    [4, 536],
    [6, 1220],
  ] as const) {
    it(`IPv${family}: a SYN without an MSS option makes the peer MSS ${want}`, async () => {
      // Latency keeps B's answer to our SYN-ACK (a RST: B never sent the SYN) away while we look.
      const n = net({ latencyMs: 50 });
      n.a.createServer((s) => s.resume()).listen(7);
      await n.tick();
      n.linkA.deliverNow([bareSyn(family)]);
      await n.tick();
      const tcbs = n.a.tcp.connections();
      expect(tcbs).toHaveLength(1);
      const info = tcbs[0]?.engine.info();
      expect(info?.state).toBe('SYN-RECEIVED');
      expect(info?.peerMss).toBe(want);
      expect(info?.mss).toBe(want);
    });
  }
});
