/**
 * Issue 9 defect 8: datagrams whose source address cannot name a single remote host (RFC 1122
 * §3.2.1.3, RFC 4291 §2.5.2, §2.5.3, §2.7; Linux "martian source") are dropped and counted,
 * whatever they carry. The unspecified IPv6 source of a DAD neighbor solicitation (RFC 4862
 * §5.4.2) and ARP probes from 0.0.0.0 (RFC 5227 §2.1.1, ARP and not IP) keep working.
 */
import { describe, expect, it } from 'vitest';
import { IPV6_UNSPECIFIED, parseIpv4Address, parseIpv6Address, solicitedNodeMulticast } from '../../../src/wire/addr.js';
import { ARP_OP_REPLY, ARP_OP_REQUEST, emitArp, parseArp } from '../../../src/wire/arp.js';
import { pseudoHeaderSumV4, pseudoHeaderSumV6 } from '../../../src/wire/checksum.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, emitEthernetHeader, parseEthernet } from '../../../src/wire/ethernet.js';
import { emitIcmp, icmpLength } from '../../../src/wire/icmp.js';
import { emitIcmpv6, icmpv6Length, parseIcmpv6, type Icmpv6Repr } from '../../../src/wire/icmpv6.js';
import { IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_TCP } from '../../../src/wire/ip-proto.js';
import { emitIpv4Header } from '../../../src/wire/ipv4.js';
import { emitIpv6Header, parseIpv6 } from '../../../src/wire/ipv6.js';
import { SeededRandom } from '../../../src/wire/random.js';
import { seq } from '../../../src/wire/seq.js';
import { TCP_SYN, emitTcp, tcpLength, type TcpRepr } from '../../../src/wire/tcp.js';
import { SimLink } from '../../../src/link/sim-link.js';
import { OffloadTarget } from '../../../src/target/target.js';
import { bindProtocol } from '../../../src/ndis/binding.js';
import { HostStack } from '../../../src/host/stack.js';

const OUR_MAC = Uint8Array.of(2, 0, 0, 0, 0, 2);
const PEER_MAC = Uint8Array.of(2, 0, 0, 0, 0, 1);
const BCAST = new Uint8Array(6).fill(0xff);
const OUR4 = parseIpv4Address('198.18.0.2') as number;
const OUR6 = parseIpv6Address('2001:2::2') as Uint8Array;

function setup() {
  const scheduler = new SimScheduler();
  const link = new SimLink(scheduler, { name: 'sim0' });
  const target = new OffloadTarget({ link, macAddress: OUR_MAC });
  const stack = new HostStack({
    interface: { mac: OUR_MAC, ipv4: { address: OUR4, prefixLength: 24 }, ipv6: { address: OUR6, prefixLength: 64 } },
    scheduler,
    random: new SeededRandom(1),
    secret: new Uint8Array(32),
    dadTransmits: 0,
  });
  bindProtocol(stack, target);
  void stack.start();
  stack.createServer(() => undefined).listen(80);
  const sent = (): Uint8Array[] => {
    scheduler.advance(0);
    return link.takeSent().map((s) => s.frame);
  };
  sent(); // the gratuitous ARP
  return { link, stack, sent };
}

const SYN: TcpRepr = { srcPort: 40000, dstPort: 80, seqNumber: seq(1), ackNumber: seq(0), flags: TCP_SYN, windowLen: 65535, urgentPointer: 0, options: {}, payload: new Uint8Array(0) };

function echo4(src: number): Uint8Array {
  const repr = { kind: 'echo-request' as const, identifier: 1, sequence: 1, data: new Uint8Array(8) };
  const n = icmpLength(repr);
  const f = new Uint8Array(34 + n);
  emitEthernetHeader({ dst: OUR_MAC, src: PEER_MAC, ethertype: ETHERTYPE_IPV4 }, f, 0);
  emitIpv4Header({ src, dst: OUR4, protocol: IP_PROTO_ICMP, ttl: 64, payloadLength: n, identification: 9 }, f, 14);
  emitIcmp(repr, f, 34);
  return f;
}

function syn4(src: number): Uint8Array {
  const n = tcpLength(SYN);
  const f = new Uint8Array(34 + n);
  const ip = { src, dst: OUR4, protocol: IP_PROTO_TCP, ttl: 64, payloadLength: n, identification: 9 };
  emitEthernetHeader({ dst: OUR_MAC, src: PEER_MAC, ethertype: ETHERTYPE_IPV4 }, f, 0);
  emitIpv4Header(ip, f, 14);
  emitTcp(SYN, f, 34, { kind: 'full', pseudoHeaderSum: pseudoHeaderSumV4(src, OUR4, IP_PROTO_TCP, n) });
  return f;
}

function icmp6(msg: Icmpv6Repr, src: Uint8Array, dst: Uint8Array, hopLimit = 64, dstMac = OUR_MAC): Uint8Array {
  const n = icmpv6Length(msg);
  const f = new Uint8Array(54 + n);
  emitEthernetHeader({ dst: dstMac, src: PEER_MAC, ethertype: ETHERTYPE_IPV6 }, f, 0);
  emitIpv6Header({ src, dst, nextHeader: IP_PROTO_ICMPV6, hopLimit, payloadLength: n }, f, 14);
  emitIcmpv6(msg, f, 54, src, dst);
  return f;
}

function syn6(src: Uint8Array): Uint8Array {
  const n = tcpLength(SYN);
  const f = new Uint8Array(54 + n);
  emitEthernetHeader({ dst: OUR_MAC, src: PEER_MAC, ethertype: ETHERTYPE_IPV6 }, f, 0);
  emitIpv6Header({ src, dst: OUR6, nextHeader: IP_PROTO_TCP, hopLimit: 64, payloadLength: n }, f, 14);
  emitTcp(SYN, f, 54, { kind: 'full', pseudoHeaderSum: pseudoHeaderSumV6(src, OUR6, IP_PROTO_TCP, n) });
  return f;
}

describe('issue 9 defect 8: martian sources', () => {
  it('issue 9 defect 8: martian sources are dropped and counted (IPv4)', () => {
    const { link, stack, sent } = setup();
    const martians = [
      '0.0.0.0', // RFC 1122 §3.2.1.3 (a): "this host", only as a source during initialisation
      '0.1.2.3', // (b): a host on "this network"
      '127.0.0.1', // (g): loopback, never outside a host
      '127.9.9.9',
      '224.0.0.5', // multicast (RFC 1112 §4)
      '239.255.255.250',
      '255.255.255.255', // limited broadcast (§3.2.1.3 (c))
      '198.18.0.255', // our subnet's directed broadcast (§3.2.1.3 (d))
      '240.0.0.1', // class E, reserved (RFC 1112 §4)
      '198.18.0.2', // our own address
    ];
    for (const [i, a] of martians.entries()) {
      const src = parseIpv4Address(a) as number;
      const before = stack.stats.drops.get('ipv4-bad-source');
      link.deliverNow([echo4(src), syn4(src)]);
      expect(stack.stats.drops.get('ipv4-bad-source') - before, a).toBe(2);
      expect(sent(), a).toEqual([]);
      expect(stack.tcp.connectionCount, a).toBe(0);
      expect(stack.stats.drops.total(), a).toBe(2 * (i + 1));
    }
    // A neighbor's own unicast address is answered (the check is not too wide).
    link.deliverNow([echo4(parseIpv4Address('198.18.0.1') as number)]);
    expect(stack.stats.drops.total()).toBe(2 * martians.length);
  });

  it('issue 9 defect 8: martian sources are dropped and counted (IPv6)', () => {
    const { link, stack, sent } = setup();
    const echo: Icmpv6Repr = { kind: 'echo-request', identifier: 1, sequence: 1, data: new Uint8Array(8) };
    const martians = [
      '::', // RFC 4291 §2.5.2: the unspecified address, only in DAD and similar initialisation
      '::1', // §2.5.3: loopback, never sent outside a node
      'ff02::1', // §2.7: multicast is never a source
      'ff0e::101',
    ];
    for (const [i, a] of martians.entries()) {
      const src = parseIpv6Address(a) as Uint8Array;
      link.deliverNow([icmp6(echo, src, OUR6), syn6(src)]);
      expect(stack.stats.drops.get('ipv6-bad-source'), a).toBe(2 * (i + 1));
      expect(sent(), a).toEqual([]);
      expect(stack.tcp.connectionCount, a).toBe(0);
    }
    expect(stack.stats.drops.total()).toBe(2 * martians.length);
  });

  it('issue 9 defect 8: a DAD neighbor solicitation from :: is still answered (RFC 4862 §5.4.3)', () => {
    const { link, stack, sent } = setup();
    const ns: Icmpv6Repr = { kind: 'neighbor-solicitation', target: OUR6 };
    const group = solicitedNodeMulticast(OUR6);
    link.deliverNow([icmp6(ns, IPV6_UNSPECIFIED, group, 255, Uint8Array.of(0x33, 0x33, 0xff, 0, 0, 2))]);
    expect(stack.stats.drops.total()).toBe(0);
    const out = sent();
    expect(out).toHaveLength(1);
    const ip = parseIpv6((out[0] as Uint8Array).subarray(14));
    if (!ip.ok) throw new Error(ip.reason);
    const na = parseIcmpv6(ip.value.upperPayload, ip.value.src, ip.value.dst);
    if (!na.ok) throw new Error(na.reason);
    expect(na.value).toMatchObject({ kind: 'neighbor-advertisement', solicited: false });
  });

  it('issue 9 defect 8: an ARP probe from 0.0.0.0 (RFC 5227) is ARP, not IP, and is still answered', () => {
    const { link, stack, sent } = setup();
    const f = new Uint8Array(60);
    emitEthernetHeader({ dst: BCAST, src: PEER_MAC, ethertype: ETHERTYPE_ARP }, f, 0);
    emitArp({ operation: ARP_OP_REQUEST, senderHardwareAddr: PEER_MAC, senderProtocolAddr: 0, targetHardwareAddr: new Uint8Array(6), targetProtocolAddr: OUR4 }, f, 14);
    link.deliverNow([f]);
    expect(stack.stats.drops.total()).toBe(0);
    const out = sent();
    expect(out).toHaveLength(1);
    const eth = parseEthernet(out[0] as Uint8Array);
    if (!eth.ok) throw new Error(eth.reason);
    const arp = parseArp(eth.value.payload);
    expect(arp.ok && arp.value.operation).toBe(ARP_OP_REPLY);
  });
});
