import { describe, expect, it } from 'vitest';
import { completeChecksum, locateHeaders, segmentGso } from '../../../src/wire/gso.js';
import {
  VNET_F_NEEDS_CSUM,
  VNET_GSO_ECN,
  VNET_GSO_NONE,
  VNET_GSO_TCPV4,
  VNET_GSO_TCPV6,
  VNET_GSO_UDP,
  VNET_GSO_UDP_L4,
  VNET_NONE,
  type VnetHeader,
} from '../../../src/wire/vnet.js';
import { buildL4Frame, checkFrame, patternPayload, type L4FrameSpec } from '../../helpers/build-frames.js';
import { toHex } from '../../helpers/hex.js';

const FIN = 0x01;
const PSH = 0x08;
const ACK = 0x10;
const CWR = 0x80;
const TIMESTAMPS = Uint8Array.of(1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9);

function gsoVnet(gsoType: number, gsoSize: number, l4: number, protocol: 'tcp' | 'udp' = 'tcp', needsCsum = true): VnetHeader {
  return {
    flags: needsCsum ? VNET_F_NEEDS_CSUM : 0,
    gsoType,
    hdrLen: 0,
    gsoSize,
    csumStart: needsCsum ? l4 : 0,
    csumOffset: needsCsum ? (protocol === 'tcp' ? 16 : 6) : 0,
  };
}

function segment(frame: Uint8Array, vnet: VnetHeader): { segments: Uint8Array[]; reason: string | undefined } {
  const segments: Uint8Array[] = [];
  const reason = segmentGso(frame, vnet, (s) => segments.push(s));
  return { segments, reason };
}

/**
 * The frames Linux would put on the wire for `spec` cut at `gsoSize`, built independently:
 * one full frame per segment with the payload slice, advanced sequence number and IP id, and
 * the flags rule of tcp_gso_segment.
 */
function expectedSegments(spec: L4FrameSpec, gsoSize: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const total = spec.payload.length;
  for (let off = 0, i = 0; off < total; off += gsoSize, i++) {
    const len = Math.min(gsoSize, total - off);
    let flags = spec.flags ?? ACK;
    if (off + len < total) flags &= ~(FIN | PSH);
    if (off > 0) flags &= ~CWR;
    out.push(
      buildL4Frame({
        ...spec,
        payload: spec.payload.subarray(off, off + len),
        seqNumber: ((spec.seqNumber ?? 1000) + off) >>> 0,
        ipId: ((spec.ipId ?? 0x1234) + i) & 0xffff,
        flags,
        checksum: 'full',
      }).frame,
    );
  }
  return out;
}

describe('completeChecksum', () => {
  it('fills the TCPv4 checksum of a NEEDS_CSUM frame so it equals the fully computed one', () => {
    const spec: L4FrameSpec = { ipVersion: 4, payload: patternPayload(333) };
    const partial = buildL4Frame({ ...spec, checksum: 'partial' });
    const full = buildL4Frame({ ...spec, checksum: 'full' });
    const vnet: VnetHeader = { ...VNET_NONE, flags: VNET_F_NEEDS_CSUM, csumStart: partial.l4, csumOffset: 16 };
    expect(completeChecksum(partial.frame, vnet)).toBeUndefined();
    expect(toHex(partial.frame)).toBe(toHex(full.frame));
  });

  it('fills UDP over IPv6 behind a VLAN tag', () => {
    const spec: L4FrameSpec = { ipVersion: 6, protocol: 'udp', vlanId: 7, payload: patternPayload(101) };
    const partial = buildL4Frame({ ...spec, checksum: 'partial' });
    const full = buildL4Frame({ ...spec, checksum: 'full' });
    const vnet: VnetHeader = { ...VNET_NONE, flags: VNET_F_NEEDS_CSUM, csumStart: partial.l4, csumOffset: 6 };
    expect(completeChecksum(partial.frame, vnet)).toBeUndefined();
    expect(toHex(partial.frame)).toBe(toHex(full.frame));
    expect(checkFrame(partial.frame).l4ChecksumOk).toBe(true);
  });

  /** A payload whose full checksum folds to zero: the first word absorbs the checksum (RFC 1071). */
  function zeroSumPayload(spec: L4FrameSpec, offset: number): Uint8Array {
    const built = buildL4Frame({ ...spec, checksum: 'full' });
    const c = ((built.frame[built.l4 + offset] as number) << 8) | (built.frame[built.l4 + offset + 1] as number);
    const payload = spec.payload.slice();
    let w = (((payload[0] as number) << 8) | (payload[1] as number)) + c;
    w = (w & 0xffff) + (w >>> 16);
    payload[0] = w >>> 8;
    payload[1] = w & 0xff;
    return payload;
  }

  for (const [protocol, offset, want] of [
    ['tcp', 16, 0x0000],
    ['udp', 6, 0xffff],
  ] as const) {
    it(`a ${protocol.toUpperCase()} checksum that folds to zero is written as 0x${want.toString(16).padStart(4, '0')} (0xffff only where zero means "none", RFC 768)`, () => {
      const base: L4FrameSpec = { ipVersion: 4, protocol, payload: patternPayload(200) };
      const spec = { ...base, payload: zeroSumPayload(base, offset) };
      const partial = buildL4Frame({ ...spec, checksum: 'partial' });
      const vnet: VnetHeader = { ...VNET_NONE, flags: VNET_F_NEEDS_CSUM, csumStart: partial.l4, csumOffset: offset };
      expect(completeChecksum(partial.frame, vnet)).toBeUndefined();
      expect(((partial.frame[partial.l4 + offset] as number) << 8) | (partial.frame[partial.l4 + offset + 1] as number)).toBe(want);
      expect(checkFrame(partial.frame).l4ChecksumOk).toBe(true);
    });
  }

  it('leaves a frame without NEEDS_CSUM untouched', () => {
    const built = buildL4Frame({ ipVersion: 4, payload: patternPayload(10), checksum: 'zero' });
    const before = toHex(built.frame);
    expect(completeChecksum(built.frame, VNET_NONE)).toBeUndefined();
    expect(toHex(built.frame)).toBe(before);
  });

  it('rejects offsets that point past the frame and writes nothing', () => {
    const built = buildL4Frame({ ipVersion: 4, payload: patternPayload(10), checksum: 'partial' });
    const before = toHex(built.frame);
    const vnet: VnetHeader = { ...VNET_NONE, flags: VNET_F_NEEDS_CSUM, csumStart: built.frame.length - 1, csumOffset: 0 };
    expect(completeChecksum(built.frame, vnet)).toBe('vnet-bad-csum-offsets');
    expect(toHex(built.frame)).toBe(before);
  });
});

describe('segmentGso: TCP', () => {
  it('cuts a TCPv4 super-frame into gso_size segments, byte-exact with what Linux puts on the wire', () => {
    const spec: L4FrameSpec = { ipVersion: 4, payload: patternPayload(4000), flags: ACK | PSH | FIN | CWR, seqNumber: 5000, ipId: 0x1234 };
    const superFrame = buildL4Frame({ ...spec, checksum: 'partial' });
    const { segments, reason } = segment(superFrame.frame, gsoVnet(VNET_GSO_TCPV4, 1448, superFrame.l4));
    expect(reason).toBeUndefined();
    expect(segments.map((s) => s.length)).toEqual([14 + 40 + 1448, 14 + 40 + 1448, 14 + 40 + 1104]);
    expect(segments.map((s) => toHex(s))).toEqual(expectedSegments(spec, 1448).map((s) => toHex(s)));
  });

  it('splits the payload byte for byte, advances sequence numbers and IP ids, and every checksum verifies', () => {
    const payload = patternPayload(3000, 17);
    const superFrame = buildL4Frame({ ipVersion: 4, payload, seqNumber: 100, ipId: 7, checksum: 'partial' });
    const { segments } = segment(superFrame.frame, gsoVnet(VNET_GSO_TCPV4, 1000, superFrame.l4));
    expect(segments).toHaveLength(3);
    const joined: number[] = [];
    segments.forEach((s, i) => {
      const dv = new DataView(s.buffer);
      const c = checkFrame(s);
      expect(c.ipHeaderOk).toBe(true);
      expect(c.l4ChecksumOk).toBe(true);
      expect(dv.getUint16(c.l3 + 2)).toBe(20 + 20 + 1000);
      expect(dv.getUint16(c.l3 + 4)).toBe(7 + i);
      expect(dv.getUint32(c.l4 + 4)).toBe(100 + 1000 * i);
      joined.push(...s.subarray(c.l4 + 20));
    });
    expect(toHex(Uint8Array.from(joined))).toBe(toHex(payload));
  });

  it('keeps FIN and PSH only on the last segment and CWR only on the first', () => {
    const superFrame = buildL4Frame({ ipVersion: 4, payload: patternPayload(2500), flags: ACK | PSH | FIN | CWR, checksum: 'partial' });
    const { segments } = segment(superFrame.frame, gsoVnet(VNET_GSO_TCPV4 | VNET_GSO_ECN, 1000, superFrame.l4));
    expect(segments.map((s) => s[superFrame.l4 + 13])).toEqual([ACK | CWR, ACK, ACK | PSH | FIN]);
  });

  it('cuts TCPv6 behind a VLAN tag with timestamp options, byte-exact', () => {
    const spec: L4FrameSpec = { ipVersion: 6, vlanId: 42, options: TIMESTAMPS, payload: patternPayload(5000, 3), flags: ACK | PSH, seqNumber: 1 };
    const superFrame = buildL4Frame({ ...spec, checksum: 'partial' });
    const { segments, reason } = segment(superFrame.frame, gsoVnet(VNET_GSO_TCPV6, 1428, superFrame.l4));
    expect(reason).toBeUndefined();
    expect(segments).toHaveLength(4);
    expect(segments.map((s) => toHex(s))).toEqual(expectedSegments(spec, 1428).map((s) => toHex(s)));
    for (const s of segments) expect(checkFrame(s).l4ChecksumOk).toBe(true);
  });

  it('copies IPv4 options into every segment', () => {
    const spec: L4FrameSpec = { ipVersion: 4, ipOptions: Uint8Array.of(1, 1, 1, 0), payload: patternPayload(2100) };
    const superFrame = buildL4Frame({ ...spec, checksum: 'partial' });
    const { segments } = segment(superFrame.frame, gsoVnet(VNET_GSO_TCPV4, 1000, superFrame.l4));
    expect(segments.map((s) => toHex(s))).toEqual(expectedSegments(spec, 1000).map((s) => toHex(s)));
  });

  it('wraps the sequence number and the IPv4 identification modulo their widths', () => {
    const spec: L4FrameSpec = { ipVersion: 4, payload: patternPayload(3000), seqNumber: 0xffffff00, ipId: 0xffff };
    const superFrame = buildL4Frame({ ...spec, checksum: 'partial' });
    const { segments } = segment(superFrame.frame, gsoVnet(VNET_GSO_TCPV4, 1000, superFrame.l4));
    const dv = segments.map((s) => new DataView(s.buffer));
    expect(dv.map((d) => d.getUint32(superFrame.l4 + 4))).toEqual([0xffffff00, 0x000002e8, 0x000006d0]);
    expect(dv.map((d) => d.getUint16(superFrame.l3 + 4))).toEqual([0xffff, 0x0000, 0x0001]);
    expect(segments.map((s) => toHex(s))).toEqual(expectedSegments(spec, 1000).map((s) => toHex(s)));
  });

  it('cuts an exact multiple of gso_size into equal segments', () => {
    const superFrame = buildL4Frame({ ipVersion: 4, payload: patternPayload(2896), checksum: 'partial' });
    const { segments } = segment(superFrame.frame, gsoVnet(VNET_GSO_TCPV4, 1448, superFrame.l4));
    expect(segments.map((s) => s.length - superFrame.payloadOffset)).toEqual([1448, 1448]);
  });

  it('computes the pseudo-header itself when the super-frame is not NEEDS_CSUM', () => {
    const spec: L4FrameSpec = { ipVersion: 6, payload: patternPayload(3000) };
    const superFrame = buildL4Frame({ ...spec, checksum: 'zero' });
    const { segments } = segment(superFrame.frame, gsoVnet(VNET_GSO_TCPV6, 1200, superFrame.l4, 'tcp', false));
    expect(segments.map((s) => toHex(s))).toEqual(expectedSegments(spec, 1200).map((s) => toHex(s)));
  });

  it('honours the partial sum the sender left in the field, as tcp_gso_segment does', () => {
    const superFrame = buildL4Frame({ ipVersion: 4, payload: patternPayload(2000), checksum: 'partial' });
    const dv = new DataView(superFrame.frame.buffer);
    dv.setUint16(superFrame.l4 + 16, (dv.getUint16(superFrame.l4 + 16) + 1) & 0xffff);
    const { segments } = segment(superFrame.frame, gsoVnet(VNET_GSO_TCPV4, 1000, superFrame.l4));
    expect(segments.map((s) => checkFrame(s).l4ChecksumOk)).toEqual([false, false]);
  });

  it('emits a frame whose payload fits in one segment once, with its checksum completed', () => {
    const spec: L4FrameSpec = { ipVersion: 4, payload: patternPayload(1448), flags: ACK | PSH };
    const superFrame = buildL4Frame({ ...spec, checksum: 'partial' });
    const { segments } = segment(superFrame.frame, gsoVnet(VNET_GSO_TCPV4, 1448, superFrame.l4));
    expect(segments.map((s) => toHex(s))).toEqual([toHex(buildL4Frame({ ...spec, checksum: 'full' }).frame)]);
  });

  it('drops Ethernet padding after the IP packet', () => {
    const spec: L4FrameSpec = { ipVersion: 4, payload: patternPayload(2500) };
    const superFrame = buildL4Frame({ ...spec, checksum: 'partial' });
    const padded = new Uint8Array(superFrame.frame.length + 6);
    padded.set(superFrame.frame);
    const { segments } = segment(padded, gsoVnet(VNET_GSO_TCPV4, 1000, superFrame.l4));
    expect(segments.map((s) => toHex(s))).toEqual(expectedSegments(spec, 1000).map((s) => toHex(s)));
  });

  it('does not modify the super-frame', () => {
    const superFrame = buildL4Frame({ ipVersion: 4, payload: patternPayload(3000), checksum: 'partial' });
    const before = toHex(superFrame.frame);
    segment(superFrame.frame, gsoVnet(VNET_GSO_TCPV4, 1000, superFrame.l4));
    expect(toHex(superFrame.frame)).toBe(before);
  });
});

describe('segmentGso: UDP_L4 and frames without GSO', () => {
  it('cuts a UDP_L4 super-frame into datagrams with their own length and checksum', () => {
    const payload = patternPayload(2500);
    const superFrame = buildL4Frame({ ipVersion: 4, protocol: 'udp', payload, checksum: 'partial', ipId: 9 });
    const { segments, reason } = segment(superFrame.frame, gsoVnet(VNET_GSO_UDP_L4, 1000, superFrame.l4, 'udp'));
    expect(reason).toBeUndefined();
    const expected = [0, 1000, 2000].map(
      (off, i) => buildL4Frame({ ipVersion: 4, protocol: 'udp', payload: payload.subarray(off, off + 1000), ipId: 9 + i }).frame,
    );
    expect(segments.map((s) => toHex(s))).toEqual(expected.map((s) => toHex(s)));
  });

  it('emits a copy of a frame without GSO, completing a NEEDS_CSUM checksum', () => {
    const spec: L4FrameSpec = { ipVersion: 6, payload: patternPayload(64) };
    const partial = buildL4Frame({ ...spec, checksum: 'partial' });
    const vnet: VnetHeader = { ...VNET_NONE, gsoType: VNET_GSO_NONE, flags: VNET_F_NEEDS_CSUM, csumStart: partial.l4, csumOffset: 16 };
    const before = toHex(partial.frame);
    const { segments } = segment(partial.frame, vnet);
    expect(segments.map((s) => toHex(s))).toEqual([toHex(buildL4Frame({ ...spec, checksum: 'full' }).frame)]);
    expect(toHex(partial.frame)).toBe(before);
  });
});

describe('segmentGso: frames it cannot cut', () => {
  const v4 = buildL4Frame({ ipVersion: 4, payload: patternPayload(3000), checksum: 'partial' });
  const v6 = buildL4Frame({ ipVersion: 6, payload: patternPayload(3000), checksum: 'partial' });
  const cases: [string, Uint8Array, VnetHeader, string][] = [
    ['a zero gso_size', v4.frame, gsoVnet(VNET_GSO_TCPV4, 0, v4.l4), 'vnet-gso-bad-size'],
    ['UFO (IP fragmentation)', v4.frame, gsoVnet(VNET_GSO_UDP, 1000, v4.l4), 'vnet-gso-unsupported'],
    ['TCPV4 on an IPv6 frame', v6.frame, gsoVnet(VNET_GSO_TCPV4, 1000, v6.l4), 'vnet-gso-mismatch'],
    ['TCPV6 on an IPv4 frame', v4.frame, gsoVnet(VNET_GSO_TCPV6, 1000, v4.l4), 'vnet-gso-mismatch'],
    ['UDP_L4 on a TCP frame', v4.frame, gsoVnet(VNET_GSO_UDP_L4, 1000, v4.l4, 'udp'), 'vnet-gso-mismatch'],
    ['csum_start not at the TCP header', v4.frame, { ...gsoVnet(VNET_GSO_TCPV4, 1000, v4.l4), csumStart: v4.l4 + 2 }, 'vnet-bad-csum-offsets'],
    ['a truncated TCP header', v4.frame.subarray(0, v4.l4 + 10), gsoVnet(VNET_GSO_TCPV4, 1000, v4.l4), 'ipv4-bad-total-length'],
    ['a non-IP frame', new Uint8Array(60), gsoVnet(VNET_GSO_TCPV4, 1000, 34), 'eth-unknown-ethertype'],
    ['a runt', new Uint8Array(10), gsoVnet(VNET_GSO_TCPV4, 1000, 34), 'eth-truncated'],
  ];
  for (const [what, frame, vnet, reason] of cases) {
    it(`returns ${reason} for ${what} and emits nothing`, () => {
      const result = segment(frame, vnet);
      expect(result.reason).toBe(reason);
      expect(result.segments).toHaveLength(0);
    });
  }

  it('returns tcp-bad-data-offset for a data offset below 5 words', () => {
    const f = buildL4Frame({ ipVersion: 4, payload: patternPayload(3000), checksum: 'partial' });
    f.frame[f.l4 + 12] = 0x40;
    expect(segment(f.frame, gsoVnet(VNET_GSO_TCPV4, 1000, f.l4)).reason).toBe('tcp-bad-data-offset');
  });

  it('returns vnet-gso-mismatch for an IPv4 fragment', () => {
    const f = buildL4Frame({ ipVersion: 4, payload: patternPayload(3000), checksum: 'partial' });
    f.frame[f.l3 + 6] = 0x20; // MF
    expect(segment(f.frame, gsoVnet(VNET_GSO_TCPV4, 1000, f.l4)).reason).toBe('vnet-gso-mismatch');
  });

  it('never throws on any truncation of a super-frame', () => {
    const f = buildL4Frame({ ipVersion: 6, vlanId: 1, payload: patternPayload(200), checksum: 'partial' });
    for (let n = 0; n <= f.frame.length; n++) {
      expect(() => segment(f.frame.subarray(0, n), gsoVnet(VNET_GSO_TCPV6, 100, f.l4))).not.toThrow();
    }
  });
});

describe('locateHeaders', () => {
  it('walks IPv6 destination options to the TCP header', () => {
    const f = buildL4Frame({ ipVersion: 6, payload: patternPayload(8) });
    // Insert an 8-byte destination-options header between the IPv6 header and TCP.
    const withExt = new Uint8Array(f.frame.length + 8);
    withExt.set(f.frame.subarray(0, f.l4));
    withExt.set(Uint8Array.of(6, 0, 1, 4, 0, 0, 0, 0), f.l4);
    withExt.set(f.frame.subarray(f.l4), f.l4 + 8);
    withExt[f.l3 + 6] = 60;
    const dv = new DataView(withExt.buffer);
    dv.setUint16(f.l3 + 4, dv.getUint16(f.l3 + 4) + 8);
    const r = locateHeaders(withExt);
    expect(r.ok && r.value).toEqual({ l3: f.l3, ipVersion: 6, l4: f.l4 + 8, protocol: 6, ipEnd: withExt.length });
  });
});
