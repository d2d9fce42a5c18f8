import { describe, expect, it } from 'vitest';
import {
  ICMP_UNREACH_NEEDFRAG,
  ICMP_UNREACH_PORT,
  IcmpView,
  emitIcmp,
  icmpErrorQuote,
  icmpLength,
  isIcmpError,
  parseIcmp,
  type IcmpRepr,
} from '../../../src/wire/icmp.js';
import { parseIpv4 } from '../../../src/wire/ipv4.js';
import { ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_PORT_UNREACHABLE, UDP4 } from '../../fixtures/wire/kernel-frames.js';
import { filled, hex, toHex } from '../../helpers/hex.js';
import { expectTruncationsRejected, roundTrip, type Codec } from '../../helpers/roundtrip.js';

function icmpOf(frame: string): Uint8Array {
  const r = parseIpv4(hex(frame).slice(14));
  if (!r.ok) throw new Error(r.reason);
  return r.value.payload;
}

const codec: Codec<IcmpRepr> = { parse: (b) => parseIcmp(b), emit: (r, o, off) => emitIcmp(r, o, off), length: icmpLength };

/** The IP header and first 8 bytes of the kernel TCP SYN (198.18.0.2:49412 -> 198.18.0.1:8080), as an error would quote it. */
const QUOTED_SYN = hex('45 00 00 3c c6 22 40 00 40 06 e8 71 c6 12 00 02 c6 12 00 01  c1 04 1f 90 e6 24 25 70');

describe('ICMPv4', () => {
  it('parses the kernel echo request and reply field by field', () => {
    const req = parseIcmp(icmpOf(ICMP_ECHO_REQUEST));
    expect(req.ok).toBe(true);
    if (!req.ok || req.value.kind !== 'echo-request') throw new Error('not an echo request');
    expect(req.value.identifier).toBe(0x1cd8);
    expect(req.value.sequence).toBe(1);
    expect(req.value.data.length).toBe(16);
    const rep = parseIcmp(icmpOf(ICMP_ECHO_REPLY));
    if (!rep.ok || rep.value.kind !== 'echo-reply') throw new Error('not an echo reply');
    expect(rep.value.identifier).toBe(0x1cd8);
    expect(toHex(rep.value.data)).toBe(toHex(req.value.data));
  });

  it('parses the kernel port unreachable and its quoted UDP datagram', () => {
    const m = icmpOf(ICMP_PORT_UNREACHABLE);
    const r = parseIcmp(m);
    if (!r.ok || r.value.kind !== 'dest-unreachable') throw new Error('not unreachable');
    expect(r.value.code).toBe(ICMP_UNREACH_PORT);
    expect(r.value.nextHopMtu).toBe(0);
    expect(toHex(r.value.invoking)).toBe(toHex(hex(UDP4).subarray(14)));
    expect(isIcmpError(r.value)).toBe(true);
    const v = new IcmpView(m);
    expect(v.type).toBe(3);
    expect(v.code).toBe(3);
    expect(v.checksum).toBe(0x894b);
    expect(v.verifyChecksum()).toBe(true);
  });

  it('emits a fragmentation-needed error with the next-hop MTU (RFC 1191 §4) byte for byte', () => {
    const expected = hex(`03 04 0a f6  00 00 05 dc ${toHex(QUOTED_SYN)}`);
    const repr: IcmpRepr = { kind: 'dest-unreachable', code: ICMP_UNREACH_NEEDFRAG, nextHopMtu: 1500, invoking: QUOTED_SYN };
    const out = filled(expected.length + 2);
    expect(emitIcmp(repr, out, 1)).toBe(expected.length);
    expect(toHex(out)).toBe(`a5 ${toHex(expected)} a5`);
    const back = parseIcmp(expected);
    expect(back.ok && back.value).toEqual(repr);
  });

  it('emits time-exceeded and parameter-problem byte for byte', () => {
    const te = filled(36);
    emitIcmp({ kind: 'time-exceeded', code: 0, invoking: QUOTED_SYN }, te, 0);
    expect(toHex(te)).toBe(toHex(hex(`0b 00 08 d6 00 00 00 00 ${toHex(QUOTED_SYN)}`)));
    const pp = filled(36);
    emitIcmp({ kind: 'parameter-problem', code: 0, pointer: 20, invoking: QUOTED_SYN }, pp, 0);
    expect(toHex(pp)).toBe(toHex(hex(`0c 00 f3 d5 14 00 00 00 ${toHex(QUOTED_SYN)}`)));
  });

  it('emits the kernel echo reply exactly, and leaves the checksum zero when asked', () => {
    const k = icmpOf(ICMP_ECHO_REPLY);
    const r = parseIcmp(k);
    if (!r.ok) throw new Error(r.reason);
    const out = filled(k.length);
    emitIcmp(r.value, out, 0);
    expect(toHex(out)).toBe(toHex(k));
    emitIcmp(r.value, out, 0, false);
    expect(toHex(out.subarray(2, 4))).toBe('00 00');
  });

  it('round-trips every kind', () => {
    for (const f of [ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY, ICMP_PORT_UNREACHABLE]) {
      const r = parseIcmp(icmpOf(f));
      if (!r.ok) throw new Error(r.reason);
      roundTrip(codec, r.value, icmpOf(f));
    }
    roundTrip(codec, { kind: 'echo-request', identifier: 0xffff, sequence: 0, data: new Uint8Array(0) });
    roundTrip(codec, { kind: 'echo-reply', identifier: 1, sequence: 0xfffe, data: hex('01 02 03') });
    roundTrip(codec, { kind: 'time-exceeded', code: 1, invoking: QUOTED_SYN });
    roundTrip(codec, { kind: 'parameter-problem', code: 2, pointer: 255, invoking: new Uint8Array(0) });
    roundTrip(codec, { kind: 'dest-unreachable', code: 15, nextHopMtu: 0, invoking: hex('45') });
    roundTrip(codec, { kind: 'other', type: 13, code: 0, rest: hex('00 01 00 02 00 00 00 01 00 00 00 02 00 00 00 03') }); // timestamp
    roundTrip(codec, { kind: 'other', type: 5, code: 1, rest: hex('c6 12 00 fe') }); // redirect, no quote
  });

  it('drops a bad checksum unless verification is off', () => {
    const m = icmpOf(ICMP_ECHO_REQUEST).slice();
    m[8] = (m[8] as number) ^ 0xff;
    expect(parseIcmp(m)).toEqual({ ok: false, reason: 'icmp-bad-checksum' });
    expect(parseIcmp(m, { verifyChecksum: false }).ok).toBe(true);
  });

  it('drops codes RFC 792 does not define for echo, unreachable, time exceeded and parameter problem', () => {
    const withCode = (type: number, code: number): Uint8Array => {
      const b = new Uint8Array(8);
      emitIcmp({ kind: 'other', type, code, rest: new Uint8Array(4) }, b, 0);
      return b;
    };
    expect(parseIcmp(withCode(8, 1))).toEqual({ ok: false, reason: 'icmp-bad-code' });
    expect(parseIcmp(withCode(0, 9))).toEqual({ ok: false, reason: 'icmp-bad-code' });
    expect(parseIcmp(withCode(3, 16))).toEqual({ ok: false, reason: 'icmp-bad-code' });
    expect(parseIcmp(withCode(11, 2))).toEqual({ ok: false, reason: 'icmp-bad-code' });
    expect(parseIcmp(withCode(12, 3))).toEqual({ ok: false, reason: 'icmp-bad-code' });
    expect(parseIcmp(withCode(3, 15)).ok).toBe(true);
    expect(parseIcmp(withCode(200, 200))).toEqual({ ok: true, value: { kind: 'other', type: 200, code: 200, rest: new Uint8Array(4) } });
  });

  it('rejects every truncation below the 8-byte header as icmp-truncated, and never throws on longer prefixes', () => {
    expectTruncationsRejected((b) => parseIcmp(b), icmpOf(ICMP_PORT_UNREACHABLE), { validFrom: 8, reason: 'icmp-truncated' });
    // With checksum verification on, a truncated message fails its checksum.
    expect(parseIcmp(icmpOf(ICMP_PORT_UNREACHABLE).subarray(0, 20))).toEqual({ ok: false, reason: 'icmp-bad-checksum' });
  });

  it('quotes at most what fits a 576-byte error datagram (RFC 1812 §4.3.2.3)', () => {
    expect(icmpErrorQuote(new Uint8Array(2000)).length).toBe(548);
    expect(icmpErrorQuote(new Uint8Array(2000), 24).length).toBe(544);
    expect(icmpErrorQuote(new Uint8Array(40)).length).toBe(40);
  });

  it('classifies informational messages as not errors', () => {
    expect(isIcmpError({ kind: 'echo-request', identifier: 1, sequence: 1, data: new Uint8Array(0) })).toBe(false);
    expect(isIcmpError({ kind: 'other', type: 5, code: 0, rest: new Uint8Array(4) })).toBe(true);
    expect(isIcmpError({ kind: 'other', type: 13, code: 0, rest: new Uint8Array(16) })).toBe(false);
  });
});
