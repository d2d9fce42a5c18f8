import { describe, expect, it } from 'vitest';
import { IPV6_ALL_NODES, IPV6_UNSPECIFIED, formatIpv6Address, formatMac, parseIpv6Address, solicitedNodeMulticast } from '../../../src/wire/addr.js';
import {
  ICMPV6_UNREACH_PORT,
  Icmpv6View,
  emitIcmpv6,
  icmpv6ErrorQuote,
  icmpv6Length,
  isIcmpv6Error,
  parseIcmpv6,
  type Icmpv6Repr,
} from '../../../src/wire/icmpv6.js';
import { parseIpv6 } from '../../../src/wire/ipv6.js';
import { parseNdiscOptions } from '../../../src/wire/ndisc.js';
import {
  ICMPV6_ECHO_REQUEST,
  ICMPV6_PORT_UNREACHABLE,
  MLDV2_REPORT,
  NEIGHBOR_ADVERTISEMENT,
  NEIGHBOR_SOLICITATION,
  NS_DAD,
  ROUTER_SOLICITATION,
  UDP6,
} from '../../fixtures/wire/kernel-frames.js';
import { concat, filled, hex, toHex } from '../../helpers/hex.js';
import { expectTruncationsRejected, roundTrip, type Codec } from '../../helpers/roundtrip.js';

const v6 = (s: string): Uint8Array => parseIpv6Address(s) as Uint8Array;

interface Kernel {
  readonly message: Uint8Array;
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  readonly hopLimit: number;
}

function kernel(frame: string): Kernel {
  const r = parseIpv6(hex(frame).slice(14));
  if (!r.ok) throw new Error(r.reason);
  return { message: r.value.upperPayload, src: r.value.src, dst: r.value.dst, hopLimit: r.value.hopLimit };
}

function parseKernel(frame: string): Icmpv6Repr {
  const k = kernel(frame);
  const r = parseIcmpv6(k.message, k.src, k.dst, { hopLimit: k.hopLimit });
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}

const codec = (src: Uint8Array, dst: Uint8Array): Codec<Icmpv6Repr> => ({
  parse: (b) => parseIcmpv6(b, src, dst),
  emit: (r, out, off) => emitIcmpv6(r, out, off, src, dst),
  length: icmpv6Length,
});

const ROUTER = v6('fe80::1');
/** A Router Advertisement written by hand from RFC 4861 §4.2 and §4.6; checksum computed independently. */
const ROUTER_ADVERTISEMENT = hex(`
  86 00 da 41                 # type 134, code 0, checksum
  40 40 07 08                 # cur hop limit 64, O flag, router lifetime 1800 s
  00 00 00 00  00 00 00 00    # reachable time, retrans timer: unspecified
  01 01 02 00 5e 10 00 fe     # source link-layer address
  05 01 00 00 00 00 05 dc     # MTU 1500
  03 04 40 c0 00 01 51 80 00 00 38 40 00 00 00 00   # prefix /64, L and A, valid 86400 s, preferred 14400 s
  20 01 00 02 00 00 00 00 00 00 00 00 00 00 00 00   # 2001:2::
`);

describe('ICMPv6', () => {
  it('parses the kernel echo request field by field', () => {
    const r = parseKernel(ICMPV6_ECHO_REQUEST);
    if (r.kind !== 'echo-request') throw new Error(r.kind);
    expect(r.identifier).toBe(0x1cdc);
    expect(r.sequence).toBe(1);
    expect(r.data.length).toBe(16);
  });

  it('parses the kernel port unreachable with its quoted packet', () => {
    const r = parseKernel(ICMPV6_PORT_UNREACHABLE);
    if (r.kind !== 'dest-unreachable') throw new Error(r.kind);
    expect(r.code).toBe(ICMPV6_UNREACH_PORT);
    expect(toHex(r.invoking)).toBe(toHex(hex(UDP6).subarray(14)));
    expect(isIcmpv6Error(r)).toBe(true);
    const v = new Icmpv6View(kernel(ICMPV6_PORT_UNREACHABLE).message);
    expect(v.type).toBe(1);
    expect(v.code).toBe(4);
    expect(v.checksum).toBe(0x1e6c);
  });

  it('keeps MLDv2 reports as other', () => {
    const r = parseKernel(MLDV2_REPORT);
    expect(r.kind).toBe('other');
    if (r.kind !== 'other') return;
    expect(r.type).toBe(143);
    expect(r.rest.length).toBe(44);
    expect(isIcmpv6Error(r)).toBe(false);
  });

  it('emits packet-too-big byte for byte', () => {
    const invoking = hex('60 00 00 00 00 08 3a 40 20010002000000000000000000000002 20010002000000000000000000000001 81 00 aa aa 00 01 00 01');
    const out = filled(58);
    const n = emitIcmpv6({ kind: 'packet-too-big', mtu: 1232, invoking }, out, 1, v6('2001:2::ff'), v6('2001:2::2'));
    expect(n).toBe(56);
    expect(toHex(out)).toBe(`a5 02 00 b1 b7 00 00 04 d0 ${toHex(invoking)} a5`);
  });

  it('emits the kernel echo request and port unreachable exactly', () => {
    for (const f of [ICMPV6_ECHO_REQUEST, ICMPV6_PORT_UNREACHABLE]) {
      const k = kernel(f);
      const out = filled(k.message.length);
      emitIcmpv6(parseKernel(f), out, 0, k.src, k.dst);
      expect(toHex(out)).toBe(toHex(k.message));
    }
  });

  it('round-trips every error and echo kind', () => {
    const c = codec(v6('2001:2::1'), v6('2001:2::2'));
    const q = hex('60 00 00 00 00 00 3b 40');
    roundTrip(c, { kind: 'echo-request', identifier: 1, sequence: 2, data: hex('ff') });
    roundTrip(c, { kind: 'echo-reply', identifier: 0xffff, sequence: 0xffff, data: new Uint8Array(0) });
    roundTrip(c, { kind: 'dest-unreachable', code: 8, invoking: q });
    roundTrip(c, { kind: 'packet-too-big', mtu: 0xffffffff, invoking: q });
    roundTrip(c, { kind: 'time-exceeded', code: 1, invoking: q });
    roundTrip(c, { kind: 'parameter-problem', code: 2, pointer: 0x12345678, invoking: q });
    roundTrip(c, { kind: 'other', type: 137, code: 0, rest: new Uint8Array(36) });
    for (const f of [ICMPV6_ECHO_REQUEST, ICMPV6_PORT_UNREACHABLE, MLDV2_REPORT]) {
      const k = kernel(f);
      roundTrip(codec(k.src, k.dst), parseKernel(f), k.message);
    }
  });

  it('drops a checksum computed for other addresses, and skips the check on request', () => {
    const k = kernel(ICMPV6_ECHO_REQUEST);
    expect(parseIcmpv6(k.message, k.src, v6('2001:2::3'))).toEqual({ ok: false, reason: 'icmpv6-bad-checksum' });
    expect(parseIcmpv6(k.message, k.src, v6('2001:2::3'), { verifyChecksum: false }).ok).toBe(true);
  });

  it('drops echo with a non-zero code, keeps any code on errors', () => {
    const src = v6('2001:2::1');
    const dst = v6('2001:2::2');
    const msg = (type: number, code: number): Uint8Array => {
      const b = new Uint8Array(8);
      emitIcmpv6({ kind: 'other', type, code, rest: new Uint8Array(4) }, b, 0, src, dst);
      return b;
    };
    expect(parseIcmpv6(msg(128, 1), src, dst)).toEqual({ ok: false, reason: 'icmpv6-bad-code' });
    expect(parseIcmpv6(msg(129, 255), src, dst)).toEqual({ ok: false, reason: 'icmpv6-bad-code' });
    expect(parseIcmpv6(msg(1, 200), src, dst).ok).toBe(true);
    expect(parseIcmpv6(msg(2, 7), src, dst)).toEqual({ ok: true, value: { kind: 'packet-too-big', mtu: 0, invoking: new Uint8Array(0) } });
  });

  it('rejects every truncation below 8 bytes as icmpv6-truncated', () => {
    const k = kernel(ICMPV6_ECHO_REQUEST);
    expectTruncationsRejected((b) => parseIcmpv6(b, k.src, k.dst), k.message, { validFrom: 8, reason: 'icmpv6-truncated' });
  });

  it('quotes at most what keeps the error within 1280 bytes (RFC 4443 §2.4(c))', () => {
    expect(icmpv6ErrorQuote(new Uint8Array(1500)).length).toBe(1232);
    expect(icmpv6ErrorQuote(new Uint8Array(100)).length).toBe(100);
  });
});

describe('Neighbor Discovery', () => {
  it('parses the kernel neighbor solicitation', () => {
    const r = parseKernel(NEIGHBOR_SOLICITATION);
    if (r.kind !== 'neighbor-solicitation') throw new Error(r.kind);
    expect(formatIpv6Address(r.target)).toBe('2001:2::2');
    expect(formatMac(r.sourceLinkAddr as Uint8Array)).toBe('02:00:5e:10:00:01');
    expect(r.nonce).toBeUndefined();
  });

  it('parses the kernel DAD probe from the unspecified address with its RFC 7527 nonce', () => {
    const k = kernel(NS_DAD);
    expect(formatIpv6Address(k.src)).toBe('::');
    const r = parseKernel(NS_DAD);
    if (r.kind !== 'neighbor-solicitation') throw new Error(r.kind);
    expect(formatIpv6Address(r.target)).toBe('fe80::5eff:fe10:2');
    expect(r.sourceLinkAddr).toBeUndefined();
    expect(toHex(r.nonce as Uint8Array)).toBe('fa 3c 77 7f b3 dc');
  });

  it('parses the kernel solicited neighbor advertisement', () => {
    const r = parseKernel(NEIGHBOR_ADVERTISEMENT);
    if (r.kind !== 'neighbor-advertisement') throw new Error(r.kind);
    expect(r.router).toBe(false);
    expect(r.solicited).toBe(true);
    expect(r.override).toBe(true);
    expect(formatIpv6Address(r.target)).toBe('2001:2::2');
    expect(formatMac(r.targetLinkAddr as Uint8Array)).toBe('02:00:5e:10:00:02');
  });

  it('parses the kernel router solicitation', () => {
    const r = parseKernel(ROUTER_SOLICITATION);
    expect(r.kind).toBe('router-solicitation');
    if (r.kind !== 'router-solicitation') return;
    expect(formatMac(r.sourceLinkAddr as Uint8Array)).toBe('02:00:5e:10:00:01');
  });

  it('parses a router advertisement with source link-layer address, MTU and a prefix', () => {
    const r = parseIcmpv6(ROUTER_ADVERTISEMENT, ROUTER, IPV6_ALL_NODES, { hopLimit: 255 });
    if (!r.ok || r.value.kind !== 'router-advertisement') throw new Error('not an RA');
    const ra = r.value;
    expect(ra.curHopLimit).toBe(64);
    expect(ra.managed).toBe(false);
    expect(ra.other).toBe(true);
    expect(ra.routerLifetime).toBe(1800);
    expect(ra.reachableTime).toBe(0);
    expect(ra.retransTimer).toBe(0);
    expect(formatMac(ra.sourceLinkAddr as Uint8Array)).toBe('02:00:5e:10:00:fe');
    expect(ra.mtu).toBe(1500);
    expect(ra.prefixes.length).toBe(1);
    const p = ra.prefixes[0];
    expect(p?.prefixLength).toBe(64);
    expect(p?.onLink).toBe(true);
    expect(p?.autonomous).toBe(true);
    expect(p?.validLifetime).toBe(86400);
    expect(p?.preferredLifetime).toBe(14400);
    expect(formatIpv6Address(p?.prefix as Uint8Array)).toBe('2001:2::');
  });

  it('emits the router advertisement into a 0xa5 buffer byte for byte', () => {
    const out = filled(66);
    const n = emitIcmpv6(
      {
        kind: 'router-advertisement',
        curHopLimit: 64,
        managed: false,
        other: true,
        routerLifetime: 1800,
        reachableTime: 0,
        retransTimer: 0,
        sourceLinkAddr: hex('02005e1000fe'),
        mtu: 1500,
        prefixes: [{ prefixLength: 64, onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400, prefix: v6('2001:2::') }],
      },
      out,
      1,
      ROUTER,
      IPV6_ALL_NODES,
    );
    expect(n).toBe(64);
    expect(toHex(out)).toBe(`a5 ${toHex(ROUTER_ADVERTISEMENT)} a5`);
  });

  it('emits the kernel NS, DAD probe, NA and RS exactly and round-trips them', () => {
    for (const f of [NEIGHBOR_SOLICITATION, NS_DAD, NEIGHBOR_ADVERTISEMENT, ROUTER_SOLICITATION]) {
      const k = kernel(f);
      roundTrip(codec(k.src, k.dst), parseKernel(f), k.message);
    }
  });

  it('round-trips ND messages without options, and an RA with several prefixes', () => {
    const c = codec(ROUTER, IPV6_ALL_NODES);
    roundTrip(c, { kind: 'router-solicitation' });
    roundTrip(c, { kind: 'neighbor-advertisement', router: true, solicited: false, override: false, target: v6('2001:2::9') });
    roundTrip(codec(v6('2001:2::1'), v6('2001:2::2')), { kind: 'neighbor-solicitation', target: v6('2001:2::2') });
    roundTrip(c, {
      kind: 'router-advertisement',
      curHopLimit: 0,
      managed: true,
      other: false,
      routerLifetime: 0,
      reachableTime: 30000,
      retransTimer: 1000,
      prefixes: [
        { prefixLength: 48, onLink: false, autonomous: false, validLifetime: 0xffffffff, preferredLifetime: 0xffffffff, prefix: v6('2001:2::') },
        { prefixLength: 64, onLink: true, autonomous: false, validLifetime: 0, preferredLifetime: 0, prefix: v6('2001:2:0:1::') },
      ],
    });
  });

  it('requires hop limit 255 when the caller gives one (RFC 4861 §6.1, §7.1)', () => {
    const k = kernel(NEIGHBOR_SOLICITATION);
    expect(parseIcmpv6(k.message, k.src, k.dst, { hopLimit: 254 })).toEqual({ ok: false, reason: 'ndisc-bad-hop-limit' });
    expect(parseIcmpv6(k.message, k.src, k.dst).ok).toBe(true);
  });

  it('drops option lengths of zero or past the end as ndisc-bad-option', () => {
    const src = v6('2001:2::1');
    const dst = solicitedNodeMulticast(v6('2001:2::2'));
    const ns = (options: string): Uint8Array => {
      const body = concat(hex('87 00 00 00 00 00 00 00'), v6('2001:2::2'), hex(options));
      // Fix the checksum by emitting an 'other' message with the same bytes.
      const out = new Uint8Array(body.length);
      emitIcmpv6({ kind: 'other', type: 135, code: 0, rest: body.subarray(4) }, out, 0, src, dst);
      return out;
    };
    expect(parseIcmpv6(ns('01 00 02 00 5e 10 00 01'), src, dst)).toEqual({ ok: false, reason: 'ndisc-bad-option' });
    expect(parseIcmpv6(ns('01 02 02 00 5e 10 00 01'), src, dst)).toEqual({ ok: false, reason: 'ndisc-bad-option' });
    expect(parseIcmpv6(ns('01'), src, dst)).toEqual({ ok: false, reason: 'ndisc-bad-option' });
    expect(parseIcmpv6(ns('01 01 02 00 5e'), src, dst)).toEqual({ ok: false, reason: 'ndisc-bad-option' });
    // Unknown options are skipped, and a repeated link-layer address keeps the first.
    const r = parseIcmpv6(ns('fe 01 00 00 00 00 00 00  01 01 02 00 5e 10 00 01  01 01 02 00 5e 10 00 09'), src, dst);
    expect(r.ok && r.value.kind === 'neighbor-solicitation' && formatMac(r.value.sourceLinkAddr as Uint8Array)).toBe('02:00:5e:10:00:01');
  });

  it('drops a prefix or MTU option of the wrong size', () => {
    expect(parseNdiscOptions(hex('03 03 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00'), 0, 24)).toBeUndefined();
    expect(parseNdiscOptions(hex('05 02 00 00 00 00 05 dc 00 00 00 00 00 00 00 00'), 0, 16)).toBeUndefined();
    expect(parseNdiscOptions(hex('05 01 00 00 00 00 05 dc'), 0, 8)?.mtu).toBe(1500);
  });

  it('drops a multicast target as ndisc-bad-target', () => {
    const src = v6('2001:2::1');
    const out = new Uint8Array(24);
    emitIcmpv6({ kind: 'neighbor-solicitation', target: IPV6_ALL_NODES }, out, 0, src, IPV6_ALL_NODES);
    expect(parseIcmpv6(out, src, IPV6_ALL_NODES)).toEqual({ ok: false, reason: 'ndisc-bad-target' });
    emitIcmpv6({ kind: 'neighbor-advertisement', router: false, solicited: false, override: true, target: IPV6_ALL_NODES }, out, 0, src, IPV6_ALL_NODES);
    expect(parseIcmpv6(out, src, IPV6_ALL_NODES)).toEqual({ ok: false, reason: 'ndisc-bad-target' });
  });

  it('applies the address rules of RFC 4861 §6.1.1, §6.1.2, §7.1.1 and §7.1.2', () => {
    const target = v6('2001:2::2');
    const sn = solicitedNodeMulticast(target);
    const emit = (repr: Icmpv6Repr, src: Uint8Array, dst: Uint8Array): Uint8Array => {
      const out = new Uint8Array(icmpv6Length(repr));
      emitIcmpv6(repr, out, 0, src, dst);
      return out;
    };
    // DAD probe to a non-solicited-node address.
    const dad = emit({ kind: 'neighbor-solicitation', target }, IPV6_UNSPECIFIED, target);
    expect(parseIcmpv6(dad, IPV6_UNSPECIFIED, target)).toEqual({ ok: false, reason: 'ndisc-bad-address' });
    // DAD probe with a source link-layer address.
    const dadSlla = emit({ kind: 'neighbor-solicitation', target, sourceLinkAddr: hex('02005e100001') }, IPV6_UNSPECIFIED, sn);
    expect(parseIcmpv6(dadSlla, IPV6_UNSPECIFIED, sn)).toEqual({ ok: false, reason: 'ndisc-bad-option' });
    // RS from :: with a source link-layer address.
    const rs = emit({ kind: 'router-solicitation', sourceLinkAddr: hex('02005e100001') }, IPV6_UNSPECIFIED, IPV6_ALL_NODES);
    expect(parseIcmpv6(rs, IPV6_UNSPECIFIED, IPV6_ALL_NODES)).toEqual({ ok: false, reason: 'ndisc-bad-option' });
    // RA from a global address.
    const ra = emit({ kind: 'router-advertisement', curHopLimit: 64, managed: false, other: false, routerLifetime: 0, reachableTime: 0, retransTimer: 0, prefixes: [] }, target, IPV6_ALL_NODES);
    expect(parseIcmpv6(ra, target, IPV6_ALL_NODES)).toEqual({ ok: false, reason: 'ndisc-bad-address' });
    // Solicited NA to a multicast address.
    const na = emit({ kind: 'neighbor-advertisement', router: false, solicited: true, override: true, target }, target, IPV6_ALL_NODES);
    expect(parseIcmpv6(na, target, IPV6_ALL_NODES)).toEqual({ ok: false, reason: 'ndisc-bad-address' });
  });

  it('drops ND messages shorter than their fixed part and ND with a non-zero code', () => {
    const src = v6('fe80::1');
    const msg = (type: number, code: number, len: number): Uint8Array => {
      const b = new Uint8Array(len);
      emitIcmpv6({ kind: 'other', type, code, rest: new Uint8Array(len - 4) }, b, 0, src, IPV6_ALL_NODES);
      return b;
    };
    expect(parseIcmpv6(msg(134, 0, 15), src, IPV6_ALL_NODES)).toEqual({ ok: false, reason: 'icmpv6-truncated' });
    expect(parseIcmpv6(msg(135, 0, 23), src, IPV6_ALL_NODES)).toEqual({ ok: false, reason: 'icmpv6-truncated' });
    expect(parseIcmpv6(msg(136, 0, 16), src, IPV6_ALL_NODES)).toEqual({ ok: false, reason: 'icmpv6-truncated' });
    expect(parseIcmpv6(msg(133, 1, 8), src, IPV6_ALL_NODES)).toEqual({ ok: false, reason: 'icmpv6-bad-code' });
    expect(parseIcmpv6(msg(133, 0, 8), src, IPV6_ALL_NODES).ok).toBe(true);
  });
});
