/**
 * Issue 9 defect 7: the host's IPv4 Identification values come from one counter that starts
 * at a random point and stays in the host's half of the ID space, 0x0000-0x7FFF; the upper
 * half belongs to the offload target (chimney reference §4.1.1).
 */
import { describe, expect, it } from 'vitest';
import { parseIpv4Address } from '../../../src/wire/addr.js';
import { ARP_OP_REQUEST, emitArp } from '../../../src/wire/arp.js';
import { pseudoHeaderSumV4 } from '../../../src/wire/checksum.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, emitEthernetHeader } from '../../../src/wire/ethernet.js';
import { emitIcmp, icmpLength } from '../../../src/wire/icmp.js';
import { IP_PROTO_ICMP, IP_PROTO_TCP } from '../../../src/wire/ip-proto.js';
import { emitIpv4Header, parseIpv4 } from '../../../src/wire/ipv4.js';
import { SeededRandom, type Random } from '../../../src/wire/random.js';
import { seq } from '../../../src/wire/seq.js';
import { TCP_SYN, emitTcp, tcpLength, type TcpRepr } from '../../../src/wire/tcp.js';
import { SimLink } from '../../../src/link/sim-link.js';
import { OffloadTarget } from '../../../src/target/target.js';
import { bindProtocol } from '../../../src/ndis/binding.js';
import { HostStack } from '../../../src/host/stack.js';

const OUR_MAC = Uint8Array.of(2, 0, 0, 0, 0, 2);
const PEER_MAC = Uint8Array.of(2, 0, 0, 0, 0, 1);
const OUR4 = parseIpv4Address('198.18.0.2') as number;
const PEER4 = parseIpv4Address('198.18.0.1') as number;

function setup(random: Random) {
  const scheduler = new SimScheduler();
  const link = new SimLink(scheduler, { name: 'sim0' });
  const target = new OffloadTarget({ link, macAddress: OUR_MAC });
  const stack = new HostStack({ interface: { mac: OUR_MAC, ipv4: { address: OUR4, prefixLength: 24 } }, scheduler, random, secret: new Uint8Array(32), dadTransmits: 0 });
  bindProtocol(stack, target);
  void stack.start();
  stack.createServer(() => undefined).listen(80);
  // The peer introduces itself, so replies leave at once instead of waiting for ARP.
  const arp = new Uint8Array(60);
  emitEthernetHeader({ dst: OUR_MAC, src: PEER_MAC, ethertype: ETHERTYPE_ARP }, arp, 0);
  emitArp({ operation: ARP_OP_REQUEST, senderHardwareAddr: PEER_MAC, senderProtocolAddr: PEER4, targetHardwareAddr: new Uint8Array(6), targetProtocolAddr: OUR4 }, arp, 14);
  link.deliverNow([arp]);
  scheduler.advance(0);
  link.takeSent();
  /** IPv4 identifications of the datagrams sent since the last call. */
  const ids = (): number[] => {
    scheduler.advance(0);
    return link
      .takeSent()
      .map((s) => parseIpv4(s.frame.subarray(14)))
      .map((r) => (r.ok ? r.value.identification : -1));
  };
  return { link, stack, ids };
}

function echo(): Uint8Array {
  const repr = { kind: 'echo-request' as const, identifier: 1, sequence: 1, data: new Uint8Array(8) };
  const n = icmpLength(repr);
  const f = new Uint8Array(34 + n);
  emitEthernetHeader({ dst: OUR_MAC, src: PEER_MAC, ethertype: ETHERTYPE_IPV4 }, f, 0);
  emitIpv4Header({ src: PEER4, dst: OUR4, protocol: IP_PROTO_ICMP, ttl: 64, payloadLength: n, identification: 9 }, f, 14);
  emitIcmp(repr, f, 34);
  return f;
}

function syn(dstPort: number, srcPort: number): Uint8Array {
  const repr: TcpRepr = { srcPort, dstPort, seqNumber: seq(1), ackNumber: seq(0), flags: TCP_SYN, windowLen: 65535, urgentPointer: 0, options: {}, payload: new Uint8Array(0) };
  const n = tcpLength(repr);
  const f = new Uint8Array(34 + n);
  emitEthernetHeader({ dst: OUR_MAC, src: PEER_MAC, ethertype: ETHERTYPE_IPV4 }, f, 0);
  emitIpv4Header({ src: PEER4, dst: OUR4, protocol: IP_PROTO_TCP, ttl: 64, payloadLength: n, identification: 9 }, f, 14);
  emitTcp(repr, f, 34, { kind: 'full', pseudoHeaderSum: pseudoHeaderSumV4(PEER4, OUR4, IP_PROTO_TCP, n) });
  return f;
}

/** A generator that always answers the same word: the counter's start is then known. */
function constant(word: number): Random {
  return { nextU32: () => word >>> 0, nextFloat: () => 0.5 };
}

describe('issue 9 defect 7: IPv4 identification', () => {
  it('issue 9 defect 7: TCP and other datagrams share one counter that starts at random and wraps below 0x8000', () => {
    // A start of 0x7ffe: the third datagram must wrap to 0x0000, not go on into 0x8000.
    const { link, ids } = setup(constant(0xffff7ffe));
    link.deliverNow([syn(80, 40000)]); // SYN-ACK, built by the TCP layer
    link.deliverNow([echo()]); // echo reply, built by the IP layer
    link.deliverNow([syn(81, 40001)]); // RST for a closed port, built by the IP layer
    link.deliverNow([syn(80, 40002)]);
    expect(ids()).toEqual([0x7ffe, 0x7fff, 0x0000, 0x0001]);
  });

  it('issue 9 defect 7: the first identification depends on the injected random source', () => {
    const first = new Set<number>();
    for (const seed of [1, 2, 3, 4]) {
      const { link, ids } = setup(new SeededRandom(seed));
      link.deliverNow([syn(80, 40000)]);
      const [id] = ids();
      expect(id).toBeGreaterThanOrEqual(0);
      expect(id).toBeLessThan(0x8000);
      first.add(id as number);
    }
    expect(first.size).toBeGreaterThan(1);
  });

  it('issue 9 defect 7: thousands of datagrams never leave 0x0000-0x7fff', () => {
    const { link, ids } = setup(new SeededRandom(7));
    const seen: number[] = [];
    for (let i = 0; i < 33; i++) {
      link.deliverNow(Array.from({ length: 1000 }, () => echo()));
      seen.push(...ids());
    }
    expect(seen).toHaveLength(33_000); // more than one lap of the 32768 values
    expect(seen.every((id) => id >= 0 && id < 0x8000)).toBe(true);
  });
});
