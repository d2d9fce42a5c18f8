import { describe, expect, it } from 'vitest';
import { formatIpv6Address, parseIpv6Address } from '../../../src/wire/addr.js';
import { fold16, sum16 } from '../../../src/wire/checksum.js';
import {
  IPV6_HEADER_LEN,
  IPV6_MAX_EXTENSION_HEADERS,
  IP_PROTO_AH,
  IP_PROTO_DSTOPTS,
  IP_PROTO_ESP,
  IP_PROTO_FRAGMENT,
  IP_PROTO_HOPOPTS,
  IP_PROTO_ICMPV6,
  IP_PROTO_NONE,
  IP_PROTO_ROUTING,
  IP_PROTO_TCP,
  IP_PROTO_UDP,
  Ipv6View,
  emitIpv6FragmentHeader,
  emitIpv6Header,
  ipv6PseudoHeaderSum,
  ipv6UnrecognizedOption,
  parseIpv6,
  type Ipv6ExtensionHeader,
  type Ipv6Repr,
} from '../../../src/wire/ipv6.js';
import { ICMPV6_ECHO_REQUEST, IPV6_FRAGMENT_FIRST, IPV6_FRAGMENT_LAST, MLDV2_REPORT, UDP6 } from '../../fixtures/wire/kernel-frames.js';
import { concat, filled, hex, toHex } from '../../helpers/hex.js';
import { expectTruncationsRejected, roundTrip, type Codec } from '../../helpers/roundtrip.js';

const ip = (frame: string): Uint8Array => hex(frame).slice(14);
const A = parseIpv6Address('2001:2::1') as Uint8Array;
const B = parseIpv6Address('2001:2::2') as Uint8Array;

/** A packet: fixed header with `nextHeader`, then the given bytes (extension headers and payload). */
function packet(nextHeader: number, rest: Uint8Array): Uint8Array {
  const out = new Uint8Array(IPV6_HEADER_LEN + rest.length);
  emitIpv6Header({ src: A, dst: B, nextHeader, hopLimit: 64, payloadLength: rest.length }, out, 0);
  out.set(rest, IPV6_HEADER_LEN);
  return out;
}

/** Packets without extension headers round-trip through header + upper payload. */
const codec: Codec<Ipv6Repr> = {
  parse: parseIpv6,
  emit: (r, out, off) => {
    emitIpv6Header(r, out, off);
    out.set(r.upperPayload, off + IPV6_HEADER_LEN);
    return IPV6_HEADER_LEN + r.upperPayload.length;
  },
  length: (r) => IPV6_HEADER_LEN + r.upperPayload.length,
};

function parsed(bytes: Uint8Array): Ipv6Repr {
  const r = parseIpv6(bytes);
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}

function firstExtension(v: Ipv6Repr): Ipv6ExtensionHeader {
  const e = v.extensionHeaders[0];
  if (e === undefined) throw new Error('no extension header');
  return e;
}

describe('IPv6 fixed header', () => {
  it('parses the kernel echo request field by field', () => {
    const v = parsed(ip(ICMPV6_ECHO_REQUEST));
    expect(v.trafficClass).toBe(0);
    expect(v.flowLabel).toBe(0xd5ec4);
    expect(v.payloadLength).toBe(24);
    expect(v.nextHeader).toBe(IP_PROTO_ICMPV6);
    expect(v.hopLimit).toBe(64);
    expect(formatIpv6Address(v.src)).toBe('2001:2::1');
    expect(formatIpv6Address(v.dst)).toBe('2001:2::2');
    expect(v.upperProtocol).toBe(IP_PROTO_ICMPV6);
    expect(v.upperPayload.length).toBe(24);
    expect(v.fragment).toBeUndefined();
    expect(v.extensionHeaders).toEqual([]);
  });

  it('reads traffic class and flow label through the view', () => {
    const d = hex('6 ab cdef5 0000 3b 01').slice();
    const full = concat(d, new Uint8Array(32));
    const v = new Ipv6View(full);
    expect(v.version).toBe(6);
    expect(v.trafficClass).toBe(0xab);
    expect(v.flowLabel).toBe(0xcdef5);
    expect(v.nextHeader).toBe(IP_PROTO_NONE);
    expect(v.hopLimit).toBe(1);
  });

  it('emits a header into a 0xa5 buffer byte for byte', () => {
    const out = filled(42);
    expect(emitIpv6Header({ src: A, dst: B, nextHeader: IP_PROTO_ICMPV6, hopLimit: 64, payloadLength: 24, flowLabel: 0xd5ec4 }, out, 1)).toBe(40);
    expect(toHex(out)).toBe(`a5 ${toHex(ip(ICMPV6_ECHO_REQUEST).subarray(0, 40))} a5`);
    const tc = new Uint8Array(40);
    emitIpv6Header({ src: A, dst: B, nextHeader: 59, hopLimit: 255, payloadLength: 0, trafficClass: 0xb8, flowLabel: 0xfffff }, tc, 0);
    expect(toHex(tc.subarray(0, 8))).toBe('6b 8f ff ff 00 00 3b ff');
  });

  it('ignores Ethernet padding after the payload', () => {
    expect(parsed(concat(ip(ICMPV6_ECHO_REQUEST), new Uint8Array(6))).upperPayload.length).toBe(24);
  });

  it('names version and length errors, and rejects every truncation', () => {
    const d = ip(UDP6);
    const v4 = d.slice();
    v4[0] = 0x45;
    expect(parseIpv6(v4)).toEqual({ ok: false, reason: 'ipv6-bad-version' });
    expectTruncationsRejected(parseIpv6, d, { reason: 'ipv6-truncated' });
    const jumbo = packet(IP_PROTO_HOPOPTS, hex('3a 00 c2 04 00 01 00 00'));
    jumbo[4] = 0;
    jumbo[5] = 0;
    expect(parseIpv6(jumbo)).toEqual({ ok: false, reason: 'ipv6-bad-payload-length' });
  });

  it('round-trips kernel packets without extension headers exactly', () => {
    for (const f of [ICMPV6_ECHO_REQUEST, UDP6]) roundTrip(codec, parsed(ip(f)), ip(f));
    roundTrip(codec, parsed(packet(IP_PROTO_TCP, hex('00'))));
  });

  it('throws RangeError on programmer errors', () => {
    expect(() => emitIpv6Header({ src: A, dst: B, nextHeader: 6, hopLimit: 1, payloadLength: 0 }, new Uint8Array(39), 0)).toThrow(RangeError);
    expect(() => emitIpv6Header({ src: A, dst: B, nextHeader: 6, hopLimit: 1, payloadLength: 65536 }, new Uint8Array(40), 0)).toThrow(RangeError);
  });

  it('computes the pseudo-header sum that verifies the kernel UDP checksum', () => {
    const v = parsed(ip(UDP6));
    const sum = ipv6PseudoHeaderSum(v, IP_PROTO_UDP, v.upperPayload.length);
    expect(fold16(sum16(v.upperPayload, 0, v.upperPayload.length, sum))).toBe(0xffff);
  });
});

describe('IPv6 extension header walk', () => {
  it('steps over the kernel MLDv2 report Hop-by-Hop header with Router Alert', () => {
    const v = parsed(ip(MLDV2_REPORT));
    expect(v.nextHeader).toBe(IP_PROTO_HOPOPTS);
    expect(v.hopLimit).toBe(1);
    expect(v.extensionHeaders).toEqual([{ type: IP_PROTO_HOPOPTS, offset: 40, length: 8 }]);
    expect(v.upperProtocol).toBe(IP_PROTO_ICMPV6);
    expect(v.upperPayload.length).toBe(48);
    expect(v.upperPayload[0]).toBe(143);
    expect(ipv6UnrecognizedOption(ip(MLDV2_REPORT), firstExtension(v))).toBeUndefined();
  });

  it('stops at the Fragment header of kernel fragments', () => {
    const first = parsed(ip(IPV6_FRAGMENT_FIRST));
    expect(first.nextHeader).toBe(IP_PROTO_FRAGMENT);
    expect(first.upperProtocol).toBe(IP_PROTO_ICMPV6);
    expect(first.fragment).toEqual({ offset: 0, moreFragments: true, identification: 0xc53878ca, headerOffset: 40 });
    expect(first.upperPayload.length).toBe(1232);
    const last = parsed(ip(IPV6_FRAGMENT_LAST));
    expect(last.fragment).toEqual({ offset: 1232, moreFragments: false, identification: 0xc53878ca, headerOffset: 40 });
    expect(last.upperPayload.length).toBe(776);
    expect(last.extensionHeaders).toEqual([{ type: IP_PROTO_FRAGMENT, offset: 40, length: 8 }]);
  });

  it('walks Destination Options, Routing and AH to the transport header', () => {
    const rest = hex(`
      2b 00 01 04 00 00 00 00              # DSTOPTS -> ROUTING, PadN(4)
      33 02 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  # ROUTING -> AH, len 2 (24 bytes), segments left 0
      06 04 00 00 00 00 01 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00  # AH -> TCP, payload len 4 (24 bytes)
      ab cd                                # transport bytes
    `);
    const v = parsed(packet(IP_PROTO_DSTOPTS, rest));
    expect(v.extensionHeaders).toEqual([
      { type: IP_PROTO_DSTOPTS, offset: 40, length: 8 },
      { type: IP_PROTO_ROUTING, offset: 48, length: 24 },
      { type: IP_PROTO_AH, offset: 72, length: 24 },
    ]);
    expect(v.upperProtocol).toBe(IP_PROTO_TCP);
    expect(toHex(v.upperPayload)).toBe('ab cd');
  });

  it('ends the walk at ESP, at No Next Header and at an unknown protocol', () => {
    const esp = parsed(packet(IP_PROTO_DSTOPTS, hex('32 00 01 04 00 00 00 00 11 22 33 44')));
    expect(esp.upperProtocol).toBe(IP_PROTO_ESP);
    expect(toHex(esp.upperPayload)).toBe('11 22 33 44');
    const none = parsed(packet(IP_PROTO_NONE, hex('ff ff')));
    expect(none.upperProtocol).toBe(IP_PROTO_NONE);
    expect(none.upperPayload.length).toBe(2);
    const unknown = parsed(packet(253, hex('01')));
    expect(unknown.upperProtocol).toBe(253);
  });

  it('rejects Hop-by-Hop anywhere but first', () => {
    expect(parseIpv6(packet(IP_PROTO_DSTOPTS, hex('00 00 01 04 00 00 00 00 3b 00 01 04 00 00 00 00')))).toEqual({ ok: false, reason: 'ipv6-bad-extension-header' });
  });

  it('rejects headers that run past the payload and malformed option TLVs', () => {
    const bad = (rest: string): void => expect(parseIpv6(packet(IP_PROTO_DSTOPTS, hex(rest))), rest).toEqual({ ok: false, reason: 'ipv6-bad-extension-header' });
    bad('3b'); // one byte: no length
    bad('3b 01 00 00 00 00 00 00'); // claims 16 bytes, has 8
    bad('3b 00 01 05 00 00 00 00'); // PadN runs one past the header
    bad('3b 00 01'); // a header shorter than 8 bytes
    bad('3b 00 05 02 00 00 00 01'); // PadN without room for its length byte at the end
    expect(parseIpv6(packet(IP_PROTO_AH, hex('3b 05 00 00 00 00 00 00')))).toEqual({ ok: false, reason: 'ipv6-bad-extension-header' });
    expect(parseIpv6(packet(IP_PROTO_FRAGMENT, hex('3a 00 00 01 00 00 00')))).toEqual({ ok: false, reason: 'ipv6-bad-extension-header' });
    expect(parseIpv6(packet(IP_PROTO_DSTOPTS, hex('3b 00 00 00 00 00 00 00'))).ok).toBe(true); // six Pad1
  });

  it(`bounds the chain at ${IPV6_MAX_EXTENSION_HEADERS} headers`, () => {
    const dst = (n: number, last: number): Uint8Array => {
      const parts: Uint8Array[] = [];
      for (let k = 0; k < n; k++) parts.push(hex(`${(k === n - 1 ? last : IP_PROTO_DSTOPTS).toString(16).padStart(2, '0')} 00 01 04 00 00 00 00`));
      return concat(...parts);
    };
    expect(parsed(packet(IP_PROTO_DSTOPTS, dst(IPV6_MAX_EXTENSION_HEADERS, IP_PROTO_NONE))).extensionHeaders.length).toBe(IPV6_MAX_EXTENSION_HEADERS);
    expect(parseIpv6(packet(IP_PROTO_DSTOPTS, dst(IPV6_MAX_EXTENSION_HEADERS + 1, IP_PROTO_NONE)))).toEqual({ ok: false, reason: 'ipv6-extension-chain-too-long' });
    expect(parseIpv6(packet(IP_PROTO_DSTOPTS, concat(dst(IPV6_MAX_EXTENSION_HEADERS, IP_PROTO_FRAGMENT), hex('3a 00 00 00 00 00 00 01'))))).toEqual({
      ok: false,
      reason: 'ipv6-extension-chain-too-long',
    });
  });

  it('reports an unrecognised option with its action bits and pointer (RFC 8200 §4.2)', () => {
    const skip = parsed(packet(IP_PROTO_DSTOPTS, hex('3b 00 1e 02 00 00 01 00')));
    expect(ipv6UnrecognizedOption(packet(IP_PROTO_DSTOPTS, hex('3b 00 1e 02 00 00 01 00')), firstExtension(skip))).toBeUndefined();
    const p = packet(IP_PROTO_HOPOPTS, hex('3b 00 01 00 9e 02 00 00'));
    const v = parsed(p);
    expect(ipv6UnrecognizedOption(p, firstExtension(v))).toEqual({ pointer: 44, action: 2 });
  });

  it('rejects every truncation of a packet with extension headers', () => {
    expectTruncationsRejected(parseIpv6, ip(MLDV2_REPORT), { reason: 'ipv6-truncated' });
  });
});

describe('IPv6 Fragment header emit', () => {
  it('writes the kernel fragment header byte for byte', () => {
    const out = filled(10);
    expect(emitIpv6FragmentHeader({ nextHeader: IP_PROTO_ICMPV6, offset: 1232, moreFragments: false, identification: 0xc53878ca }, out, 1)).toBe(8);
    expect(toHex(out)).toBe(`a5 ${toHex(ip(IPV6_FRAGMENT_LAST).subarray(40, 48))} a5`);
    const first = new Uint8Array(8);
    emitIpv6FragmentHeader({ nextHeader: IP_PROTO_ICMPV6, offset: 0, moreFragments: true, identification: 0xc53878ca }, first, 0);
    expect(toHex(first)).toBe(toHex(ip(IPV6_FRAGMENT_FIRST).subarray(40, 48)));
  });

  it('throws RangeError on an offset that is not a multiple of 8', () => {
    expect(() => emitIpv6FragmentHeader({ nextHeader: 6, offset: 12, moreFragments: true, identification: 1 }, new Uint8Array(8), 0)).toThrow(RangeError);
  });
});
