import { describe, expect, it } from 'vitest';
import { formatIpv4Address } from '../../../src/wire/addr.js';
import { fold16, sum16 } from '../../../src/wire/checksum.js';
import {
  IPV4_HEADER_LEN,
  IP_PROTO_ICMP,
  IP_PROTO_TCP,
  IP_PROTO_UDP,
  Ipv4View,
  emitIpv4Header,
  fillIpv4Checksum,
  ipv4EmitReprOf,
  ipv4HeaderLength,
  ipv4PseudoHeaderSum,
  isIpv4Fragment,
  parseIpv4,
  validIpv4Options,
  type Ipv4Repr,
} from '../../../src/wire/ipv4.js';
import { ICMP_ECHO_REQUEST, IPV4_FRAGMENT_FIRST, IPV4_FRAGMENT_LAST, TCP_SYN, UDP4 } from '../../fixtures/wire/kernel-frames.js';
import { concat, filled, hex, toHex } from '../../helpers/hex.js';
import { expectTruncationsRejected, roundTrip, type Codec } from '../../helpers/roundtrip.js';

const ip = (frame: string): Uint8Array => hex(frame).slice(14);

/** A whole datagram: the header from the emit form of the repr, then the payload. */
const codec: Codec<Ipv4Repr> = {
  parse: (b) => parseIpv4(b),
  emit: (r, out, off) => {
    const h = emitIpv4Header(ipv4EmitReprOf(r), out, off);
    out.set(r.payload, off + h);
    return h + r.payload.length;
  },
  length: (r) => ipv4HeaderLength(r) + r.payload.length,
};

/** IGMPv3-style header with a Router Alert option (RFC 2113), written by hand; checksum computed independently. */
const ROUTER_ALERT_HEADER = hex(`
  46 c0 00 28   # version 4, IHL 6; DSCP 48 (CS6), ECN 0; total length 40
  00 00 40 00   # identification 0; DF, offset 0
  01 02 3d e6   # TTL 1, protocol 2 (IGMP), checksum
  c6 12 00 01   # 198.18.0.1
  e0 00 00 16   # 224.0.0.22
  94 04 00 00   # Router Alert, length 4, value 0
`);

function withChecksum(b: Uint8Array): Uint8Array {
  const c = b.slice();
  fillIpv4Checksum(c, 0);
  return c;
}

describe('IPv4', () => {
  it('parses the kernel echo request field by field', () => {
    const r = parseIpv4(ip(ICMP_ECHO_REQUEST));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const v = r.value;
    expect(v.headerLength).toBe(20);
    expect(v.dscp).toBe(0);
    expect(v.ecn).toBe(0);
    expect(v.totalLength).toBe(44);
    expect(v.identification).toBe(0x393c);
    expect(v.dontFragment).toBe(true);
    expect(v.moreFragments).toBe(false);
    expect(v.fragmentOffset).toBe(0);
    expect(v.ttl).toBe(64);
    expect(v.protocol).toBe(IP_PROTO_ICMP);
    expect(v.checksum).toBe(0x756d);
    expect(formatIpv4Address(v.src)).toBe('198.18.0.1');
    expect(formatIpv4Address(v.dst)).toBe('198.18.0.2');
    expect(v.options.length).toBe(0);
    expect(v.payload.length).toBe(24);
    expect(isIpv4Fragment(v)).toBe(false);
  });

  it('parses both halves of a kernel-fragmented echo', () => {
    const first = parseIpv4(ip(IPV4_FRAGMENT_FIRST));
    const last = parseIpv4(ip(IPV4_FRAGMENT_LAST));
    if (!first.ok || !last.ok) throw new Error('fixture rejected');
    expect(first.value.moreFragments).toBe(true);
    expect(first.value.fragmentOffset).toBe(0);
    expect(first.value.payload.length).toBe(1480);
    expect(last.value.moreFragments).toBe(false);
    expect(last.value.fragmentOffset).toBe(1480);
    expect(last.value.payload.length).toBe(528);
    expect(last.value.identification).toBe(first.value.identification);
    expect(isIpv4Fragment(first.value) && isIpv4Fragment(last.value)).toBe(true);
  });

  it('reads UDP and TCP datagrams through the view', () => {
    const u = new Ipv4View(ip(UDP4));
    expect(u.version).toBe(4);
    expect(u.protocol).toBe(IP_PROTO_UDP);
    expect(u.payload.length).toBe(21);
    expect(u.verifyChecksum()).toBe(true);
    const t = new Ipv4View(ip(TCP_SYN));
    expect(t.protocol).toBe(IP_PROTO_TCP);
    expect(t.dontFragment).toBe(true);
    expect(t.identification).toBe(0xc622);
  });

  it('parses a header with a Router Alert option and keeps the raw option bytes', () => {
    const d = concat(ROUTER_ALERT_HEADER, new Uint8Array(16));
    const r = parseIpv4(d);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.headerLength).toBe(24);
    expect(r.value.dscp).toBe(48);
    expect(toHex(r.value.options)).toBe('94 04 00 00');
    expect(r.value.payload.length).toBe(16);
  });

  it('ignores Ethernet padding beyond the total length', () => {
    const padded = concat(ip(ICMP_ECHO_REQUEST), new Uint8Array(2));
    const r = parseIpv4(padded);
    expect(r.ok && r.value.payload.length).toBe(24);
  });

  it('drops a bad header checksum unless verification is off', () => {
    const d = ip(ICMP_ECHO_REQUEST);
    d[8] = 63; // TTL changed without fixing the checksum
    expect(parseIpv4(d)).toEqual({ ok: false, reason: 'ipv4-bad-checksum' });
    expect(parseIpv4(d, { verifyChecksum: false }).ok).toBe(true);
  });

  it('names version, header length and total length errors', () => {
    const d = ip(ICMP_ECHO_REQUEST);
    const m = (at: number, v: number): Uint8Array => {
      const c = d.slice();
      c[at] = v;
      return withChecksum(c);
    };
    expect(parseIpv4(m(0, 0x65))).toEqual({ ok: false, reason: 'ipv4-bad-version' });
    expect(parseIpv4(m(0, 0x44))).toEqual({ ok: false, reason: 'ipv4-bad-header-length' });
    expect(parseIpv4(m(0, 0x40))).toEqual({ ok: false, reason: 'ipv4-bad-header-length' });
    expect(parseIpv4(m(0, 0x4f))).toEqual({ ok: false, reason: 'ipv4-truncated' }); // 60-byte header in 44 bytes
    expect(parseIpv4(m(3, 19))).toEqual({ ok: false, reason: 'ipv4-bad-total-length' });
    expect(parseIpv4(m(3, 45))).toEqual({ ok: false, reason: 'ipv4-truncated' });
    expect(parseIpv4(m(3, 20)).ok).toBe(true); // a bare header is a valid datagram
  });

  it('validates the option TLV structure', () => {
    const header = (options: string): Uint8Array => {
      const opts = hex(options);
      const out = new Uint8Array(ipv4HeaderLength({ options: opts }));
      emitIpv4Header({ src: 1, dst: 2, protocol: 6, ttl: 64, payloadLength: 0, options: opts }, out, 0);
      return out;
    };
    expect(parseIpv4(header('01 01 01 00')).ok).toBe(true); // NOPs, EOL
    expect(parseIpv4(header('00 ff ff ff')).ok).toBe(true); // bytes after EOL are not options
    expect(parseIpv4(header('07 07 04 00 00 00 00 00')).ok).toBe(true); // record route, 7 bytes, then EOL
    expect(parseIpv4(header('94 04 00 00')).ok).toBe(true);
    expect(parseIpv4(header('94 00 00 00'))).toEqual({ ok: false, reason: 'ipv4-bad-options' }); // length 0
    expect(parseIpv4(header('94 01 00 00'))).toEqual({ ok: false, reason: 'ipv4-bad-options' }); // length 1
    expect(parseIpv4(header('94 05 00 00'))).toEqual({ ok: false, reason: 'ipv4-bad-options' }); // past the header
    expect(parseIpv4(header('01 01 01 94'))).toEqual({ ok: false, reason: 'ipv4-bad-options' }); // no length byte
    expect(validIpv4Options(hex('44 0c 05 00 00 00 00 00 00 00 00 00'), 0, 12)).toBe(true); // timestamp
  });

  it('emits the Router Alert header into a 0xa5 buffer byte for byte', () => {
    const out = filled(26);
    const n = emitIpv4Header(
      { src: 0xc6120001, dst: 0xe0000016, protocol: 2, ttl: 1, payloadLength: 16, dontFragment: true, dscp: 48, options: hex('94 04 00 00') },
      out,
      1,
    );
    expect(n).toBe(24);
    expect(toHex(out)).toBe(`a5 ${toHex(ROUTER_ALERT_HEADER)} a5`);
  });

  it('emits the kernel echo request header exactly', () => {
    const out = filled(20);
    emitIpv4Header({ src: 0xc6120001, dst: 0xc6120002, protocol: 1, ttl: 64, payloadLength: 24, identification: 0x393c, dontFragment: true }, out, 0);
    expect(toHex(out)).toBe(toHex(ip(ICMP_ECHO_REQUEST).subarray(0, 20)));
  });

  it('pads options to a multiple of four with EOL and leaves the checksum zero when asked', () => {
    const out = filled(24);
    expect(emitIpv4Header({ src: 1, dst: 2, protocol: 17, ttl: 1, payloadLength: 0, options: hex('01') }, out, 0, false)).toBe(24);
    expect(toHex(out)).toBe('46 00 00 18 00 00 00 00 01 11 00 00 00 00 00 01 00 00 00 02 01 00 00 00');
  });

  it('emits fragment fields, ECN and DSCP', () => {
    const out = new Uint8Array(20);
    emitIpv4Header({ src: 1, dst: 2, protocol: 1, ttl: 9, payloadLength: 8, moreFragments: true, fragmentOffset: 65528, dscp: 46, ecn: 3, identification: 0xbeef }, out, 0);
    expect(toHex(out.subarray(0, 8))).toBe('45 bb 00 1c be ef 3f ff');
    expect(fold16(sum16(out, 0, 20))).toBe(0xffff);
  });

  it('throws RangeError on programmer errors', () => {
    const base = { src: 1, dst: 2, protocol: 6, ttl: 64, payloadLength: 0 };
    expect(() => emitIpv4Header(base, new Uint8Array(19), 0)).toThrow(RangeError);
    expect(() => emitIpv4Header({ ...base, fragmentOffset: 4 }, new Uint8Array(20), 0)).toThrow(RangeError);
    expect(() => emitIpv4Header({ ...base, payloadLength: 65516 }, new Uint8Array(20), 0)).toThrow(RangeError);
    expect(() => emitIpv4Header({ ...base, options: new Uint8Array(41) }, new Uint8Array(64), 0)).toThrow(RangeError);
  });

  it('round-trips kernel datagrams exactly, and reprs with options and fragments', () => {
    for (const f of [ICMP_ECHO_REQUEST, IPV4_FRAGMENT_FIRST, IPV4_FRAGMENT_LAST, UDP4, TCP_SYN]) {
      const d = ip(f);
      const r = parseIpv4(d);
      if (!r.ok) throw new Error(r.reason);
      roundTrip(codec, r.value, d);
    }
    const ra = parseIpv4(concat(ROUTER_ALERT_HEADER, new Uint8Array(16)));
    if (!ra.ok) throw new Error(ra.reason);
    roundTrip(codec, ra.value);
  });

  it('rejects every truncation with ipv4-truncated', () => {
    expectTruncationsRejected((b) => parseIpv4(b), ip(TCP_SYN), { reason: 'ipv4-truncated' });
    expectTruncationsRejected((b) => parseIpv4(b), concat(ROUTER_ALERT_HEADER, new Uint8Array(16)), { reason: 'ipv4-truncated' });
  });

  it('computes the pseudo-header sum that makes the kernel UDP checksum verify', () => {
    const r = parseIpv4(ip(UDP4));
    if (!r.ok) throw new Error(r.reason);
    const sum = ipv4PseudoHeaderSum(r.value, r.value.payload.length);
    expect(fold16(sum16(r.value.payload, 0, r.value.payload.length, sum))).toBe(0xffff);
    expect(IPV4_HEADER_LEN).toBe(20);
  });
});
