import { describe, expect, it } from 'vitest';
import { pseudoHeaderSumV4, pseudoHeaderSumV6 } from '../../../src/wire/checksum.js';
import { IP_PROTO_UDP } from '../../../src/wire/ip-proto.js';
import { parseIpv4 } from '../../../src/wire/ipv4.js';
import { parseIpv6 } from '../../../src/wire/ipv6.js';
import { UDP_HEADER_LEN, UdpView, emitUdp, parseUdp, udpLength, type UdpRepr } from '../../../src/wire/udp.js';
import { UDP4, UDP6 } from '../../fixtures/wire/kernel-frames.js';
import { concat, filled, hex, toHex } from '../../helpers/hex.js';
import { expectTruncationsRejected, roundTrip, type Codec } from '../../helpers/roundtrip.js';

const v4 = parseIpv4(hex(UDP4).slice(14));
const v6 = parseIpv6(hex(UDP6).slice(14));
if (!v4.ok || !v6.ok) throw new Error('fixtures rejected');
const UDP4_BYTES = v4.value.payload;
const UDP6_BYTES = v6.value.upperPayload;
const SUM4 = pseudoHeaderSumV4(v4.value.src, v4.value.dst, IP_PROTO_UDP, UDP4_BYTES.length);
const SUM6 = pseudoHeaderSumV6(v6.value.src, v6.value.dst, IP_PROTO_UDP, UDP6_BYTES.length);

const codecV4 = (src = 0xc6120002, dst = 0xc6120001): Codec<UdpRepr> => ({
  parse: (b) => parseUdp(b, pseudoHeaderSumV4(src, dst, IP_PROTO_UDP, b.length)),
  emit: (r, out, off) => emitUdp(r, out, off, pseudoHeaderSumV4(src, dst, IP_PROTO_UDP, udpLength(r))),
  length: udpLength,
});

describe('UDP', () => {
  it('parses the kernel IPv4 datagram field by field, checksum verified', () => {
    const r = parseUdp(UDP4_BYTES, SUM4);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.srcPort).toBe(0xed18);
    expect(r.value.dstPort).toBe(9999);
    expect(r.value.length).toBe(21);
    expect(r.value.checksum).toBe(0x6746);
    expect(new TextDecoder().decode(r.value.payload)).toBe('hello chimney');
  });

  it('parses the kernel IPv6 datagram through the view and verifies it', () => {
    const v = new UdpView(UDP6_BYTES);
    expect(v.dstPort).toBe(9999);
    expect(v.length).toBe(16);
    expect(new TextDecoder().decode(v.payload)).toBe('hello v6');
    expect(parseUdp(UDP6_BYTES, SUM6, 6).ok).toBe(true);
  });

  it('drops a corrupted datagram as udp-bad-checksum, and skips the check without a pseudo-header sum', () => {
    const c = UDP4_BYTES.slice();
    c[10] = (c[10] as number) ^ 0x01;
    expect(parseUdp(c, SUM4)).toEqual({ ok: false, reason: 'udp-bad-checksum' });
    expect(parseUdp(c).ok).toBe(true);
    expect(parseUdp(UDP6_BYTES, SUM6 + 1, 6)).toEqual({ ok: false, reason: 'udp-bad-checksum' });
  });

  it('accepts a zero checksum over IPv4 (none computed) and drops it over IPv6', () => {
    const z4 = UDP4_BYTES.slice();
    z4[6] = 0;
    z4[7] = 0;
    expect(parseUdp(z4, SUM4).ok).toBe(true);
    const z6 = UDP6_BYTES.slice();
    z6[6] = 0;
    z6[7] = 0;
    expect(parseUdp(z6, SUM6, 6)).toEqual({ ok: false, reason: 'udp-bad-checksum' });
  });

  it('names bad length fields and trims bytes past the length', () => {
    const m = (len: number): Uint8Array => {
      const c = UDP4_BYTES.slice();
      c[4] = len >>> 8;
      c[5] = len & 0xff;
      return c;
    };
    expect(parseUdp(m(7))).toEqual({ ok: false, reason: 'udp-bad-length' });
    expect(parseUdp(m(0))).toEqual({ ok: false, reason: 'udp-bad-length' });
    expect(parseUdp(m(22))).toEqual({ ok: false, reason: 'udp-truncated' });
    const r = parseUdp(concat(UDP4_BYTES, hex('00 00 00')), SUM4);
    expect(r.ok && r.value.payload.length).toBe(13);
    const empty = parseUdp(m(8));
    expect(empty.ok && empty.value.payload.length).toBe(0);
  });

  it('rejects every truncation', () => {
    expectTruncationsRejected((b) => parseUdp(b), UDP4_BYTES, { reason: 'udp-truncated' });
  });

  it('emits the kernel IPv4 datagram into a 0xa5 buffer byte for byte', () => {
    const out = filled(UDP4_BYTES.length + 2);
    const payload = new TextEncoder().encode('hello chimney');
    expect(emitUdp({ srcPort: 0xed18, dstPort: 9999, payload }, out, 1, SUM4)).toBe(21);
    expect(toHex(out)).toBe(`a5 ${toHex(UDP4_BYTES)} a5`);
  });

  it('emits the kernel IPv6 datagram byte for byte', () => {
    const out = new Uint8Array(UDP6_BYTES.length);
    emitUdp({ srcPort: 0x93ee, dstPort: 9999, payload: new TextEncoder().encode('hello v6') }, out, 0, SUM6);
    expect(toHex(out)).toBe(toHex(UDP6_BYTES));
  });

  it('sends a computed zero checksum as 0xffff (RFC 768)', () => {
    // With a zero pseudo-header sum, a datagram whose words sum to 0xffff checksums to 0.
    // Header words: ports 0x0001 + 0x0000, length 0x000a, payload word w: choose w = 0xffff - 0x0001 - 0x000a - 0x000a.
    const w = 0xffff - 0x0001 - 0x000a - 0x000a;
    const out = new Uint8Array(10);
    emitUdp({ srcPort: 1, dstPort: 0, payload: new Uint8Array([w >>> 8, w & 0xff]) }, out, 0, 0x000a);
    expect(toHex(out.subarray(6, 8))).toBe('ff ff');
    expect(parseUdp(out, 0x000a).ok).toBe(true);
  });

  it('round-trips datagrams of every small size and the kernel bytes exactly', () => {
    const k = parseUdp(UDP4_BYTES);
    if (!k.ok) throw new Error(k.reason);
    roundTrip(codecV4(), k.value, UDP4_BYTES);
    for (let n = 0; n < 12; n++) {
      const payload = new Uint8Array(n).map((_, i) => i * 37 + 1);
      const bytes = new Uint8Array(UDP_HEADER_LEN + n);
      emitUdp({ srcPort: 5353, dstPort: 53, payload }, bytes, 0, pseudoHeaderSumV4(1, 2, IP_PROTO_UDP, bytes.length));
      const parsed = parseUdp(bytes);
      if (!parsed.ok) throw new Error(parsed.reason);
      roundTrip(codecV4(1, 2), parsed.value);
    }
  });

  it('throws RangeError on a short buffer or an oversized datagram', () => {
    expect(() => emitUdp({ srcPort: 1, dstPort: 2, payload: new Uint8Array(4) }, new Uint8Array(11), 0, 0)).toThrow(RangeError);
    expect(() => emitUdp({ srcPort: 1, dstPort: 2, payload: new Uint8Array(65528) }, new Uint8Array(70000), 0, 0)).toThrow(RangeError);
  });
});
