/**
 * The host stack's link and network layers at the packet level, over a test-driven SimLink in
 * simulated time: ARP, neighbor discovery and DAD, ICMP and ICMPv6 echo (with fragmentation
 * both ways), errors for closed ports, and the rules about when not to answer.
 */
import { describe, expect, it } from 'vitest';
import { IPV6_ALL_NODES, parseIpv4Address, parseIpv6Address, solicitedNodeMulticast } from '../../../src/wire/addr.js';
import { ARP_OP_REPLY, ARP_OP_REQUEST, emitArp, parseArp } from '../../../src/wire/arp.js';
import { pseudoHeaderSumV4 } from '../../../src/wire/checksum.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, emitEthernetHeader, parseEthernet } from '../../../src/wire/ethernet.js';
import { emitIcmp, icmpLength, parseIcmp } from '../../../src/wire/icmp.js';
import { emitIcmpv6, icmpv6Length, parseIcmpv6, type Icmpv6Repr } from '../../../src/wire/icmpv6.js';
import { IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_UDP } from '../../../src/wire/ip-proto.js';
import { emitIpv4Header, parseIpv4 } from '../../../src/wire/ipv4.js';
import { emitIpv6Header, parseIpv6 } from '../../../src/wire/ipv6.js';
import { SeededRandom } from '../../../src/wire/random.js';
import { emitUdp } from '../../../src/wire/udp.js';
import { SimLink } from '../../../src/link/sim-link.js';
import { OffloadTarget } from '../../../src/target/target.js';
import { bindProtocol } from '../../../src/ndis/binding.js';
import { HostStack } from '../../../src/host/stack.js';
import type { HostLogEvent } from '../../../src/host/config.js';

const OUR_MAC = Uint8Array.of(2, 0, 0, 0, 0, 2);
const PEER_MAC = Uint8Array.of(2, 0, 0, 0, 0, 1);
const BCAST = new Uint8Array(6).fill(0xff);
const OUR4 = parseIpv4Address('198.18.0.2') as number;
const PEER4 = parseIpv4Address('198.18.0.1') as number;
const OUR6 = parseIpv6Address('2001:2::2') as Uint8Array;
const PEER6 = parseIpv6Address('2001:2::1') as Uint8Array;

function setup(dadTransmits = 0) {
  const scheduler = new SimScheduler();
  const link = new SimLink(scheduler, { name: 'sim0' });
  const target = new OffloadTarget({ link, macAddress: OUR_MAC });
  const log: HostLogEvent[] = [];
  const stack = new HostStack({
    interface: { mac: OUR_MAC, ipv4: { address: OUR4, prefixLength: 24 }, ipv6: { address: OUR6, prefixLength: 64 } },
    scheduler,
    random: new SeededRandom(1),
    secret: new Uint8Array(32),
    dadTransmits,
    log: (e) => log.push(e),
  });
  bindProtocol(stack, target);
  const started = stack.start();
  const deliver = (...frames: Uint8Array[]): void => link.deliverNow(frames);
  const sent = (): Uint8Array[] => {
    scheduler.advance(0);
    return link.takeSent().map((s) => s.frame);
  };
  return { scheduler, link, stack, deliver, sent, log, started };
}

function arpFrame(op: number, dst: Uint8Array, targetIp: number, senderIp = PEER4): Uint8Array {
  const f = new Uint8Array(60);
  emitEthernetHeader({ dst, src: PEER_MAC, ethertype: ETHERTYPE_ARP }, f, 0);
  emitArp({ operation: op, senderHardwareAddr: PEER_MAC, senderProtocolAddr: senderIp, targetHardwareAddr: op === ARP_OP_REPLY ? OUR_MAC : new Uint8Array(6), targetProtocolAddr: targetIp }, f, 14);
  return f;
}

/** IPv4 datagram(s) carrying `payload`, cut into fragments of `chunk` bytes when given. */
function ipv4Frames(protocol: number, payload: Uint8Array, dst = OUR4, chunk?: number): Uint8Array[] {
  const size = chunk ?? payload.length;
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += size) {
    const n = Math.min(size, payload.length - off);
    const f = new Uint8Array(34 + n);
    emitEthernetHeader({ dst: OUR_MAC, src: PEER_MAC, ethertype: ETHERTYPE_IPV4 }, f, 0);
    emitIpv4Header({ src: PEER4, dst, protocol, ttl: 64, payloadLength: n, identification: 77, moreFragments: off + n < payload.length, fragmentOffset: off }, f, 14);
    f.set(payload.subarray(off, off + n), 34);
    out.push(f);
  }
  return out;
}

function icmpEcho(dataLength: number): Uint8Array {
  const data = new Uint8Array(dataLength).map((_, i) => i & 0xff);
  const repr = { kind: 'echo-request' as const, identifier: 0x1234, sequence: 7, data };
  const b = new Uint8Array(icmpLength(repr));
  emitIcmp(repr, b, 0);
  return b;
}

function ipv6Frame(msg: Icmpv6Repr, src: Uint8Array, dst: Uint8Array, hopLimit = 64, dstMac = OUR_MAC): Uint8Array {
  const len = icmpv6Length(msg);
  const f = new Uint8Array(54 + len);
  emitEthernetHeader({ dst: dstMac, src: PEER_MAC, ethertype: ETHERTYPE_IPV6 }, f, 0);
  emitIpv6Header({ src, dst, nextHeader: IP_PROTO_ICMPV6, hopLimit, payloadLength: len }, f, 14);
  emitIcmpv6(msg, f, 54, src, dst);
  return f;
}

function decode4(frame: Uint8Array) {
  const eth = parseEthernet(frame);
  if (!eth.ok) throw new Error(eth.reason);
  const ip = parseIpv4(eth.value.payload);
  if (!ip.ok) throw new Error(ip.reason);
  return { eth: eth.value, ip: ip.value };
}

function decode6(frame: Uint8Array) {
  const eth = parseEthernet(frame);
  if (!eth.ok) throw new Error(eth.reason);
  const ip = parseIpv6(eth.value.payload);
  if (!ip.ok) throw new Error(ip.reason);
  const icmp = parseIcmpv6(ip.value.upperPayload, ip.value.src, ip.value.dst);
  if (!icmp.ok) throw new Error(icmp.reason);
  return { eth: eth.value, ip: ip.value, icmp: icmp.value };
}

describe('host stack: ARP', () => {
  it('answers an ARP request for its address with its MAC, and ignores one for another address', () => {
    const { deliver, sent, stack } = setup();
    sent();
    deliver(arpFrame(ARP_OP_REQUEST, BCAST, OUR4), arpFrame(ARP_OP_REQUEST, BCAST, OUR4 + 5));
    const out = sent();
    expect(out).toHaveLength(1);
    const eth = parseEthernet(out[0] as Uint8Array);
    if (!eth.ok) throw new Error(eth.reason);
    expect(eth.value.dst).toEqual(PEER_MAC);
    const arp = parseArp(eth.value.payload);
    if (!arp.ok) throw new Error(arp.reason);
    expect(arp.value).toMatchObject({ operation: ARP_OP_REPLY, senderProtocolAddr: OUR4, targetProtocolAddr: PEER4 });
    expect(arp.value.senderHardwareAddr).toEqual(OUR_MAC);
    expect(stack.stats.drops.get('arp-not-for-us')).toBe(1);
  });

  it('announces its address with a gratuitous ARP at start', () => {
    const { sent } = setup();
    const first = sent()[0] as Uint8Array;
    const arp = parseArp(first.subarray(14));
    if (!arp.ok) throw new Error(arp.reason);
    expect(arp.value).toMatchObject({ operation: ARP_OP_REQUEST, senderProtocolAddr: OUR4, targetProtocolAddr: OUR4 });
  });
});

describe('host stack: ICMP', () => {
  it('answers an echo request with the same identifier, sequence and data, resolving the peer first', () => {
    const { deliver, sent } = setup();
    sent();
    deliver(...ipv4Frames(IP_PROTO_ICMP, icmpEcho(56)));
    const [arpReq] = sent();
    expect(parseArp((arpReq as Uint8Array).subarray(14))).toMatchObject({ ok: true, value: { operation: ARP_OP_REQUEST, targetProtocolAddr: PEER4 } });
    deliver(arpFrame(ARP_OP_REPLY, OUR_MAC, OUR4));
    const [reply] = sent();
    const { eth, ip } = decode4(reply as Uint8Array);
    expect(eth.dst).toEqual(PEER_MAC);
    expect(ip).toMatchObject({ src: OUR4, dst: PEER4, protocol: IP_PROTO_ICMP });
    const icmp = parseIcmp(ip.payload);
    expect(icmp).toMatchObject({ ok: true, value: { kind: 'echo-reply', identifier: 0x1234, sequence: 7 } });
    if (icmp.ok && icmp.value.kind === 'echo-reply') expect([...icmp.value.data]).toEqual([...Array(56).keys()]);
  });

  it('reassembles a fragmented 3000-byte echo request and fragments its reply to the MTU', () => {
    const { deliver, sent } = setup();
    deliver(arpFrame(ARP_OP_REPLY, OUR_MAC, OUR4));
    sent();
    deliver(...ipv4Frames(IP_PROTO_ICMP, icmpEcho(3000), OUR4, 1480).reverse());
    const out = sent().map(decode4);
    expect(out).toHaveLength(3);
    expect(out.every((f) => f.ip.totalLength <= 1500)).toBe(true);
    expect(out.map((f) => f.ip.fragmentOffset)).toEqual([0, 1480, 2960]);
    expect(out.map((f) => f.ip.moreFragments)).toEqual([true, true, false]);
    expect(out.reduce((n, f) => n + f.ip.payload.length, 0)).toBe(3008);
  });

  it('ignores echo requests to a broadcast address (like Linux icmp_echo_ignore_broadcasts)', () => {
    const { deliver, sent, stack } = setup();
    sent();
    deliver(...ipv4Frames(IP_PROTO_ICMP, icmpEcho(8), parseIpv4Address('198.18.0.255') as number));
    expect(sent()).toHaveLength(0);
    expect(stack.stats.drops.get('icmp-echo-broadcast-ignored')).toBe(1);
  });

  it('answers UDP to a closed port with ICMP port unreachable quoting the datagram', () => {
    const { deliver, sent, stack } = setup();
    deliver(arpFrame(ARP_OP_REPLY, OUR_MAC, OUR4));
    sent();
    const udp = new Uint8Array(8 + 5);
    emitUdp({ srcPort: 4000, dstPort: 9999, payload: Uint8Array.of(1, 2, 3, 4, 5) }, udp, 0, pseudoHeaderSumV4(PEER4, OUR4, IP_PROTO_UDP, 13));
    deliver(...ipv4Frames(IP_PROTO_UDP, udp));
    const [err] = sent().map(decode4);
    const icmp = parseIcmp((err as ReturnType<typeof decode4>).ip.payload);
    expect(icmp).toMatchObject({ ok: true, value: { kind: 'dest-unreachable', code: 3 } });
    if (icmp.ok && icmp.value.kind === 'dest-unreachable') {
      const quoted = parseIpv4(icmp.value.invoking, { verifyChecksum: true });
      expect(quoted).toMatchObject({ ok: true, value: { src: PEER4, dst: OUR4, protocol: IP_PROTO_UDP } });
    }
    expect(stack.stats.drops.get('udp-no-socket')).toBe(1);
  });

  it('sends no ICMP error about an ICMP error', () => {
    const { deliver, sent } = setup();
    deliver(arpFrame(ARP_OP_REPLY, OUR_MAC, OUR4));
    sent();
    const repr = { kind: 'dest-unreachable' as const, code: 3, nextHopMtu: 0, invoking: new Uint8Array(28) };
    const b = new Uint8Array(icmpLength(repr));
    emitIcmp(repr, b, 0);
    deliver(...ipv4Frames(IP_PROTO_ICMP, b));
    expect(sent()).toHaveLength(0);
  });
});

describe('host stack: IPv6 neighbor discovery and ICMPv6', () => {
  it('answers a neighbor solicitation for its address with a solicited, override advertisement', async () => {
    const { deliver, sent, started } = setup();
    await started;
    sent();
    const group = solicitedNodeMulticast(OUR6);
    deliver(ipv6Frame({ kind: 'neighbor-solicitation', target: OUR6, sourceLinkAddr: PEER_MAC }, PEER6, group, 255, Uint8Array.of(0x33, 0x33, 0xff, 0, 0, 2)));
    const [na] = sent().map(decode6);
    expect(na?.eth.dst).toEqual(PEER_MAC);
    expect(na?.icmp).toMatchObject({ kind: 'neighbor-advertisement', solicited: true, override: true, router: false });
    expect(na?.ip.hopLimit).toBe(255);
  });

  it('drops neighbor discovery that crossed a router (hop limit below 255)', async () => {
    const { deliver, sent, stack, started } = setup();
    await started;
    sent();
    deliver(ipv6Frame({ kind: 'neighbor-solicitation', target: OUR6, sourceLinkAddr: PEER_MAC }, PEER6, OUR6, 64));
    expect(sent()).toHaveLength(0);
    expect(stack.stats.drops.get('ndisc-bad-hop-limit')).toBe(1);
  });

  it('answers ICMPv6 echo using the link-layer address learned from the solicitation', async () => {
    const { deliver, sent, started } = setup();
    await started;
    deliver(ipv6Frame({ kind: 'neighbor-solicitation', target: OUR6, sourceLinkAddr: PEER_MAC }, PEER6, OUR6, 255));
    sent();
    const data = Uint8Array.of(9, 8, 7);
    deliver(ipv6Frame({ kind: 'echo-request', identifier: 5, sequence: 6, data }, PEER6, OUR6));
    const [reply] = sent().map(decode6);
    expect(reply?.icmp).toMatchObject({ kind: 'echo-reply', identifier: 5, sequence: 6 });
    expect(reply?.ip.src).toEqual(OUR6);
  });

  it('runs duplicate address detection, then announces the address; a conflicting advertisement marks it duplicate', async () => {
    const a = setup(1);
    const probes = a.sent().map((f) => parseEthernet(f)).filter((e) => e.ok && e.value.ethertype === ETHERTYPE_IPV6);
    expect(probes.length).toBe(2); // link-local and global
    a.scheduler.advance(1000);
    await a.started;
    const announced = a.sent().map(decode6);
    expect(announced.every((f) => f.icmp.kind === 'neighbor-advertisement' && f.ip.dst.every((b, i) => b === IPV6_ALL_NODES[i]))).toBe(true);
    expect(a.log.filter((e) => e.event === 'address-ready')).toHaveLength(2);

    const b = setup(1);
    b.sent();
    b.deliver(ipv6Frame({ kind: 'neighbor-advertisement', router: false, solicited: false, override: true, target: OUR6, targetLinkAddr: PEER_MAC }, PEER6, IPV6_ALL_NODES, 255, Uint8Array.of(0x33, 0x33, 0, 0, 0, 1)));
    b.scheduler.advance(1000);
    await b.started;
    expect(b.log.some((e) => e.event === 'dad-conflict' && e.address === '2001:2::2')).toBe(true);
    expect(b.stack.ownIpv6(OUR6)?.state).toBe('duplicate');
  });
});
