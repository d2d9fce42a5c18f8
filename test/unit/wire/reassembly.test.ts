import { describe, expect, it } from 'vitest';
import { parseIpv6Address } from '../../../src/wire/addr.js';
import { fold16, sum16 } from '../../../src/wire/checksum.js';
import { parseIcmp } from '../../../src/wire/icmp.js';
import { parseIcmpv6 } from '../../../src/wire/icmpv6.js';
import { IP_PROTO_DSTOPTS, IP_PROTO_FRAGMENT, IP_PROTO_ICMPV6, IP_PROTO_TCP, IP_PROTO_UDP } from '../../../src/wire/ip-proto.js';
import { emitIpv4Header, ipv4HeaderLength, parseIpv4, type Ipv4Repr } from '../../../src/wire/ipv4.js';
import { Ipv4Reassembler } from '../../../src/wire/ipv4-reassembly.js';
import { emitIpv6FragmentHeader, emitIpv6Header, parseIpv6, type Ipv6Repr } from '../../../src/wire/ipv6.js';
import { Ipv6Reassembler } from '../../../src/wire/ipv6-reassembly.js';
import { IPV4_FRAGMENT_FIRST, IPV4_FRAGMENT_LAST, IPV6_FRAGMENT_FIRST, IPV6_FRAGMENT_LAST, UDP4 } from '../../fixtures/wire/kernel-frames.js';
import { concat, hex, toHex } from '../../helpers/hex.js';

const LIMITS = { maxDatagrams: 4, maxBytes: 8192, timeoutMs: 30_000 };

function v4(frame: string): Ipv4Repr {
  const r = parseIpv4(hex(frame).slice(14));
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}

function v6(frame: string): Ipv6Repr {
  const r = parseIpv6(hex(frame).slice(14));
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}

/** Payload bytes 0, 1, 2, ... so every misplaced byte shows. */
function pattern(n: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 7 + 3) & 0xff);
}

/** An IPv4 fragment of datagram `id` carrying payload[offset, offset+len). */
function frag4(payload: Uint8Array, offset: number, len: number, more: boolean, id = 0x1234, options?: Uint8Array): Ipv4Repr {
  const part = payload.subarray(offset, offset + len);
  const repr = { src: 0xc6120002, dst: 0xc6120001, protocol: IP_PROTO_UDP, ttl: 64, payloadLength: part.length, identification: id, moreFragments: more, fragmentOffset: offset, options };
  const out = new Uint8Array(ipv4HeaderLength(repr) + part.length);
  const h = emitIpv4Header(repr, out, 0);
  out.set(part, h);
  const r = parseIpv4(out);
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}

const A6 = parseIpv6Address('2001:2::2') as Uint8Array;
const B6 = parseIpv6Address('2001:2::1') as Uint8Array;

/** An IPv6 fragment: fixed header, Fragment header (next header `upper`), then payload[offset, offset+len). */
function frag6(payload: Uint8Array, offset: number, len: number, more: boolean, id = 0xabcdef01, upper = IP_PROTO_UDP): Ipv6Repr {
  const part = payload.subarray(offset, offset + len);
  const out = new Uint8Array(48 + part.length);
  emitIpv6Header({ src: A6, dst: B6, nextHeader: IP_PROTO_FRAGMENT, hopLimit: 64, payloadLength: 8 + part.length }, out, 0);
  emitIpv6FragmentHeader({ nextHeader: upper, offset, moreFragments: more, identification: id }, out, 40);
  out.set(part, 48);
  const r = parseIpv6(out);
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}

describe('IPv4 reassembly', () => {
  it('passes a datagram that is not a fragment straight through', () => {
    const r = new Ipv4Reassembler(LIMITS);
    const d = v4(UDP4);
    expect(r.add(d, 0)).toEqual({ ok: true, value: d });
    expect(r.stats.datagramsInProgress).toBe(0);
  });

  it('reassembles the kernel-fragmented echo request into a checksum-valid ICMP message', () => {
    const r = new Ipv4Reassembler(LIMITS);
    expect(r.add(v4(IPV4_FRAGMENT_FIRST), 0)).toEqual({ ok: true, value: undefined });
    const done = r.add(v4(IPV4_FRAGMENT_LAST), 1);
    if (!done.ok || done.value === undefined) throw new Error('not reassembled');
    const d = done.value;
    expect(d.payload.length).toBe(2008);
    expect(d.totalLength).toBe(2028);
    expect(d.moreFragments).toBe(false);
    expect(d.fragmentOffset).toBe(0);
    expect(d.identification).toBe(v4(IPV4_FRAGMENT_FIRST).identification);
    const icmp = parseIcmp(d.payload);
    expect(icmp.ok && icmp.value.kind).toBe('echo-request');
    // The rebuilt header checksum is correct for the rebuilt header.
    const header = new Uint8Array(20);
    emitIpv4Header({ src: d.src, dst: d.dst, protocol: d.protocol, ttl: d.ttl, payloadLength: d.payload.length, identification: d.identification, dontFragment: d.dontFragment }, header, 0);
    expect(d.checksum).toBe(((header[10] as number) << 8) | (header[11] as number));
    expect(r.stats).toMatchObject({ fragments: 2, reassembled: 1, datagramsInProgress: 0, bytesHeld: 0 });
  });

  it('reassembles fragments that arrive out of order, last first', () => {
    const p = pattern(3000);
    const r = new Ipv4Reassembler(LIMITS);
    expect(r.add(frag4(p, 2400, 600, false), 0)).toEqual({ ok: true, value: undefined });
    expect(r.add(frag4(p, 800, 800, true), 0)).toEqual({ ok: true, value: undefined });
    expect(r.add(frag4(p, 1600, 800, true), 0)).toEqual({ ok: true, value: undefined });
    const done = r.add(frag4(p, 0, 800, true), 0);
    expect(done.ok && done.value !== undefined && toHex(done.value.payload)).toBe(toHex(p));
  });

  it('keeps the first fragment options in the reassembled header', () => {
    const p = pattern(24);
    const r = new Ipv4Reassembler(LIMITS);
    r.add(frag4(p, 16, 8, false), 0);
    const done = r.add(frag4(p, 0, 16, true, 0x1234, hex('94 04 00 00')), 0);
    if (!done.ok || done.value === undefined) throw new Error('not reassembled');
    expect(done.value.headerLength).toBe(24);
    expect(toHex(done.value.options)).toBe('94 04 00 00');
    expect(done.value.totalLength).toBe(48);
  });

  it('drops an exact duplicate alone and still completes the datagram', () => {
    const p = pattern(1600);
    const r = new Ipv4Reassembler(LIMITS);
    r.add(frag4(p, 0, 800, true), 0);
    expect(r.add(frag4(p, 0, 800, true), 0)).toEqual({ ok: false, reason: 'ipv4-frag-duplicate' });
    const done = r.add(frag4(p, 800, 800, false), 0);
    expect(done.ok && done.value !== undefined && done.value.payload.length).toBe(1600);
    expect(r.stats.drops).toEqual({ 'ipv4-frag-duplicate': 1 });
  });

  it('discards the whole datagram on an overlap (RFC 5722 rule, Linux since 2018)', () => {
    const p = pattern(1600);
    const r = new Ipv4Reassembler(LIMITS);
    r.add(frag4(p, 0, 800, true), 0);
    expect(r.add(frag4(p, 792, 400, true), 0)).toEqual({ ok: false, reason: 'ipv4-frag-overlap' });
    expect(r.stats.datagramsInProgress).toBe(0);
    expect(r.stats.bytesHeld).toBe(0);
    // What arrives afterwards starts a new datagram, which the old fragments no longer complete.
    expect(r.add(frag4(p, 800, 800, false), 0)).toEqual({ ok: true, value: undefined });
    expect(r.stats.discarded).toBe(1);
  });

  it('treats a fragment inside another, or covering it, as an overlap', () => {
    const p = pattern(2400);
    const inside = new Ipv4Reassembler(LIMITS);
    inside.add(frag4(p, 0, 1600, true), 0);
    expect(inside.add(frag4(p, 800, 400, true), 0)).toEqual({ ok: false, reason: 'ipv4-frag-overlap' });
    const covering = new Ipv4Reassembler(LIMITS);
    covering.add(frag4(p, 800, 400, true), 0);
    expect(covering.add(frag4(p, 0, 1600, true), 0)).toEqual({ ok: false, reason: 'ipv4-frag-overlap' });
  });

  it('names bad offsets: unaligned or empty middle fragments, a second different end, data past the end', () => {
    const p = pattern(4000);
    const r = new Ipv4Reassembler(LIMITS);
    expect(r.add(frag4(p, 0, 801, true), 0)).toEqual({ ok: false, reason: 'ipv4-frag-bad-offset' });
    expect(r.add(frag4(p, 800, 0, true), 0)).toEqual({ ok: false, reason: 'ipv4-frag-bad-offset' });
    r.add(frag4(p, 0, 800, true, 1), 0);
    r.add(frag4(p, 1600, 400, false, 1), 0);
    expect(r.add(frag4(p, 1600, 800, false, 1), 0)).toEqual({ ok: false, reason: 'ipv4-frag-bad-offset' });
    r.add(frag4(p, 1600, 400, false, 2), 0);
    expect(r.add(frag4(p, 1600, 800, true, 2), 0)).toEqual({ ok: false, reason: 'ipv4-frag-bad-offset' });
    r.add(frag4(p, 2400, 800, true, 3), 0);
    expect(r.add(frag4(p, 800, 800, false, 3), 0)).toEqual({ ok: false, reason: 'ipv4-frag-bad-offset' });
  });

  it('drops a fragment that would make the datagram exceed 65535 bytes', () => {
    const r = new Ipv4Reassembler({ ...LIMITS, maxBytes: 1 << 20 });
    const big = pattern(65536);
    expect(r.add(frag4(big, 65496, 24, false), 0)).toEqual({ ok: false, reason: 'ipv4-frag-too-big' }); // 20 + 65520
    expect(r.add(frag4(big, 65488, 24, false), 0)).toEqual({ ok: true, value: undefined }); // 20 + 65512 fits
  });

  it('enforces the datagram and byte limits', () => {
    const p = pattern(4000);
    const r = new Ipv4Reassembler({ maxDatagrams: 2, maxBytes: 2000, timeoutMs: 1000 });
    r.add(frag4(p, 0, 800, true, 1), 0);
    r.add(frag4(p, 0, 800, true, 2), 0);
    expect(r.add(frag4(p, 0, 8, true, 3), 0)).toEqual({ ok: false, reason: 'ipv4-frag-limit' });
    expect(r.add(frag4(p, 800, 800, true, 2), 0)).toEqual({ ok: false, reason: 'ipv4-frag-limit' });
    expect(r.add(frag4(p, 800, 400, true, 2), 0)).toEqual({ ok: true, value: undefined });
    expect(r.stats.bytesHeld).toBe(2000);
    expect(r.stats.drops).toEqual({ 'ipv4-frag-limit': 2 });
  });

  it('times out a datagram from its first fragment and reports fragment zero for the ICMP error', () => {
    const p = pattern(1600);
    const seen: (Ipv4Repr | undefined)[] = [];
    const r = new Ipv4Reassembler(LIMITS, (first) => seen.push(first));
    r.add(frag4(p, 0, 800, true, 1), 1000);
    r.add(frag4(p, 800, 800, true, 2), 2000);
    expect(r.nextDeadline()).toBe(31_000);
    expect(r.expire(30_999)).toBe(0);
    expect(r.expire(31_000)).toBe(1);
    expect(seen.length).toBe(1);
    expect(seen[0]?.identification).toBe(1);
    expect(toHex(seen[0]?.payload ?? new Uint8Array(0))).toBe(toHex(p.subarray(0, 8)));
    expect(r.expire(40_000)).toBe(1);
    expect(seen[1]).toBeUndefined();
    expect(r.stats).toMatchObject({ timeouts: 2, datagramsInProgress: 0, bytesHeld: 0, drops: { 'ipv4-frag-timeout': 2 } });
  });

  it('does not complete a datagram with a fragment that arrives after its timeout', () => {
    const p = pattern(1600);
    const r = new Ipv4Reassembler(LIMITS);
    r.add(frag4(p, 0, 800, true), 0);
    expect(r.add(frag4(p, 800, 800, false), 30_000)).toEqual({ ok: true, value: undefined });
    expect(r.stats.timeouts).toBe(1);
  });

  it('keys datagrams by source, destination, protocol and identification', () => {
    const p = pattern(1600);
    const r = new Ipv4Reassembler(LIMITS);
    r.add(frag4(p, 0, 800, true, 7), 0);
    expect(r.add(frag4(p, 800, 800, false, 8), 0)).toEqual({ ok: true, value: undefined });
    expect(r.stats.datagramsInProgress).toBe(2);
  });
});

describe('IPv6 reassembly', () => {
  it('passes a packet without a Fragment header straight through', () => {
    const p = new Uint8Array(48);
    emitIpv6Header({ src: A6, dst: B6, nextHeader: IP_PROTO_TCP, hopLimit: 64, payloadLength: 8 }, p, 0);
    const parsed = parseIpv6(p);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(new Ipv6Reassembler(LIMITS).add(parsed.value, 0)).toEqual({ ok: true, value: parsed.value });
  });

  it('reassembles the kernel-fragmented echo request into a checksum-valid ICMPv6 message', () => {
    const r = new Ipv6Reassembler(LIMITS);
    expect(r.add(v6(IPV6_FRAGMENT_FIRST), 0)).toEqual({ ok: true, value: undefined });
    const done = r.add(v6(IPV6_FRAGMENT_LAST), 0);
    if (!done.ok || done.value === undefined) throw new Error('not reassembled');
    const d = done.value;
    expect(d.fragment).toBeUndefined();
    expect(d.nextHeader).toBe(IP_PROTO_ICMPV6);
    expect(d.upperProtocol).toBe(IP_PROTO_ICMPV6);
    expect(d.payloadLength).toBe(2008);
    expect(d.flowLabel).toBe(v6(IPV6_FRAGMENT_FIRST).flowLabel);
    const icmp = parseIcmpv6(d.upperPayload, d.src, d.dst);
    expect(icmp.ok && icmp.value.kind).toBe('echo-request');
  });

  it('returns an atomic fragment at once without queueing it (RFC 6946)', () => {
    const p = pattern(40);
    const r = new Ipv6Reassembler(LIMITS);
    r.add(frag6(p, 8, 8, true), 0); // a queue with the same identification
    const done = r.add(frag6(p, 0, 40, false), 0);
    expect(done.ok && done.value !== undefined && toHex(done.value.upperPayload)).toBe(toHex(p));
    expect(r.stats.datagramsInProgress).toBe(1);
  });

  it('walks extension headers inside the fragmentable part after reassembly', () => {
    const upper = concat(hex('06 00 01 04 00 00 00 00'), pattern(32)); // Destination Options -> TCP
    const r = new Ipv6Reassembler(LIMITS);
    r.add(frag6(upper, 16, 24, false, 9, IP_PROTO_DSTOPTS), 0);
    const done = r.add(frag6(upper, 0, 16, true, 9, IP_PROTO_DSTOPTS), 0);
    if (!done.ok || done.value === undefined) throw new Error('not reassembled');
    expect(done.value.extensionHeaders).toEqual([{ type: IP_PROTO_DSTOPTS, offset: 40, length: 8 }]);
    expect(done.value.upperProtocol).toBe(IP_PROTO_TCP);
    expect(toHex(done.value.upperPayload)).toBe(toHex(pattern(32)));
  });

  it('drops a first fragment that does not hold the whole header chain (RFC 7112)', () => {
    const upper = concat(hex('06 02 01 14 00 00 00 00'), new Uint8Array(16), pattern(8)); // 24-byte Destination Options
    const r = new Ipv6Reassembler(LIMITS);
    expect(r.add(frag6(upper, 0, 16, true, 9, IP_PROTO_DSTOPTS), 0)).toEqual({ ok: false, reason: 'ipv6-bad-extension-header' });
  });

  it('reassembles out of order, drops duplicates, and discards on overlap', () => {
    const p = pattern(2400);
    const r = new Ipv6Reassembler(LIMITS);
    r.add(frag6(p, 1600, 800, false), 0);
    r.add(frag6(p, 800, 800, true), 0);
    expect(r.add(frag6(p, 800, 800, true), 0)).toEqual({ ok: false, reason: 'ipv6-frag-duplicate' });
    const done = r.add(frag6(p, 0, 800, true), 0);
    expect(done.ok && done.value !== undefined && toHex(done.value.upperPayload)).toBe(toHex(p));

    r.add(frag6(p, 0, 800, true, 2), 0);
    expect(r.add(frag6(p, 400, 800, true, 2), 0)).toEqual({ ok: false, reason: 'ipv6-frag-overlap' });
    expect(r.stats.datagramsInProgress).toBe(0);
  });

  it('names unaligned fragments, oversized datagrams, limits and timeouts', () => {
    const p = pattern(4000);
    const seen: (Ipv6Repr | undefined)[] = [];
    const r = new Ipv6Reassembler({ maxDatagrams: 1, maxBytes: 1000, timeoutMs: 60_000 }, (first) => seen.push(first));
    expect(r.add(frag6(p, 0, 100, true), 0)).toEqual({ ok: false, reason: 'ipv6-frag-bad-offset' });
    expect(r.add(frag6(pattern(65536), 65528, 8, false), 0)).toEqual({ ok: false, reason: 'ipv6-frag-too-big' });
    expect(r.add(frag6(p, 0, 800, true, 1), 0)).toEqual({ ok: true, value: undefined });
    expect(r.add(frag6(p, 0, 8, true, 2), 0)).toEqual({ ok: false, reason: 'ipv6-frag-limit' });
    expect(r.add(frag6(p, 800, 800, true, 1), 0)).toEqual({ ok: false, reason: 'ipv6-frag-limit' });
    expect(r.expire(60_000)).toBe(1);
    expect(seen[0]?.fragment?.identification).toBe(1);
    expect(r.stats.drops).toEqual({ 'ipv6-frag-bad-offset': 1, 'ipv6-frag-too-big': 1, 'ipv6-frag-limit': 2, 'ipv6-frag-timeout': 1 });
  });

  it('keys by source, destination and identification', () => {
    const p = pattern(1600);
    const r = new Ipv6Reassembler(LIMITS);
    r.add(frag6(p, 0, 800, true, 1), 0);
    expect(r.add(frag6(p, 800, 800, false, 2), 0)).toEqual({ ok: true, value: undefined });
    expect(r.stats.datagramsInProgress).toBe(2);
  });

  it('produces a reassembled payload whose UDP checksum still verifies', () => {
    // A UDP datagram with a real checksum, fragmented in three.
    const body = pattern(2000);
    const udp = new Uint8Array(8 + body.length);
    udp.set(body, 8);
    udp[0] = 0x30;
    udp[1] = 0x39;
    udp[2] = 0x00;
    udp[3] = 0x35;
    udp[4] = udp.length >>> 8;
    udp[5] = udp.length & 0xff;
    const r = new Ipv6Reassembler(LIMITS);
    r.add(frag6(udp, 0, 1000, true, 5), 0);
    r.add(frag6(udp, 2000, 8, false, 5), 0);
    const done = r.add(frag6(udp, 1000, 1000, true, 5), 0);
    if (!done.ok || done.value === undefined) throw new Error('not reassembled');
    expect(done.value.upperProtocol).toBe(IP_PROTO_UDP);
    expect(fold16(sum16(done.value.upperPayload, 0, 2008))).toBe(fold16(sum16(udp, 0, 2008)));
  });
});
