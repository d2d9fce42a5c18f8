/**
 * Hand-built Ethernet frames for link and capture tests: TCP and UDP over IPv4 or IPv6, with an
 * optional 802.1Q tag, and the transport checksum either complete or left partial (the
 * pseudo-header sum only, as a sender using NEEDS_CSUM leaves it). Independent of the wire
 * codecs on purpose, so a test of a codec or of segmentation does not check itself against
 * itself. Also checksum verifiers that read a frame the same way a receiver would.
 */
import { finishChecksum, fold16, internetChecksum, pseudoHeaderSumV4, pseudoHeaderSumV6, sum16 } from '../../src/wire/checksum.js';

export const SRC_MAC = Uint8Array.of(0x02, 0x00, 0x00, 0x00, 0x00, 0x01);
export const DST_MAC = Uint8Array.of(0x02, 0x00, 0x00, 0x00, 0x00, 0x02);
/** 198.18.0.1 and 198.18.0.2 (RFC 2544 benchmarking range). */
export const SRC_V4 = Uint8Array.of(198, 18, 0, 1);
export const DST_V4 = Uint8Array.of(198, 18, 0, 2);
/** 2001:2::1 and 2001:2::2 (RFC 5180 benchmarking range). */
export const SRC_V6 = Uint8Array.of(0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
export const DST_V6 = Uint8Array.of(0x20, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);

export interface L4FrameSpec {
  readonly ipVersion: 4 | 6;
  readonly protocol?: 'tcp' | 'udp';
  /** Swap source and destination MAC and IP addresses (the reply direction; ports are given explicitly). */
  readonly reverse?: boolean;
  readonly vlanId?: number;
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** TCP only. */
  readonly seqNumber?: number;
  readonly ackNumber?: number;
  readonly flags?: number;
  readonly windowLen?: number;
  /** TCP option bytes, a multiple of 4 long. */
  readonly options?: Uint8Array;
  readonly payload: Uint8Array;
  /** IPv4 identification. */
  readonly ipId?: number;
  /** IPv4 options, a multiple of 4 long. */
  readonly ipOptions?: Uint8Array;
  /** 'full': a correct checksum; 'partial': the folded pseudo-header sum (NEEDS_CSUM); 'zero'. */
  readonly checksum?: 'full' | 'partial' | 'zero';
}

export interface BuiltFrame {
  readonly frame: Uint8Array;
  /** Offset of the IP header. */
  readonly l3: number;
  /** Offset of the transport header. */
  readonly l4: number;
  /** Offset of the transport payload. */
  readonly payloadOffset: number;
}

/** Builds one Ethernet frame carrying a TCP segment or UDP datagram. */
export function buildL4Frame(spec: L4FrameSpec): BuiltFrame {
  const tcp = (spec.protocol ?? 'tcp') === 'tcp';
  const options = spec.options ?? new Uint8Array(0);
  const ipOptions = spec.ipOptions ?? new Uint8Array(0);
  if (options.length % 4 !== 0 || ipOptions.length % 4 !== 0) throw new Error('options must be a multiple of 4 bytes');
  const ethLen = spec.vlanId === undefined ? 14 : 18;
  const ipHeaderLen = spec.ipVersion === 4 ? 20 + ipOptions.length : 40;
  const l4HeaderLen = tcp ? 20 + options.length : 8;
  const l4Len = l4HeaderLen + spec.payload.length;
  const frame = new Uint8Array(ethLen + ipHeaderLen + l4Len);
  const dv = new DataView(frame.buffer);
  const rev = spec.reverse ?? false;
  frame.set(rev ? SRC_MAC : DST_MAC, 0);
  frame.set(rev ? DST_MAC : SRC_MAC, 6);
  let off = 12;
  if (spec.vlanId !== undefined) {
    dv.setUint16(off, 0x8100);
    dv.setUint16(off + 2, spec.vlanId);
    off += 4;
  }
  dv.setUint16(off, spec.ipVersion === 4 ? 0x0800 : 0x86dd);
  const l3 = ethLen;
  const l4 = l3 + ipHeaderLen;
  const protocol = tcp ? 6 : 17;
  if (spec.ipVersion === 4) {
    frame[l3] = 0x40 | (ipHeaderLen / 4);
    dv.setUint16(l3 + 2, ipHeaderLen + l4Len);
    dv.setUint16(l3 + 4, spec.ipId ?? 0x1234);
    dv.setUint16(l3 + 6, 0x4000); // DF
    frame[l3 + 8] = 64;
    frame[l3 + 9] = protocol;
    frame.set(rev ? DST_V4 : SRC_V4, l3 + 12);
    frame.set(rev ? SRC_V4 : DST_V4, l3 + 16);
    frame.set(ipOptions, l3 + 20);
    dv.setUint16(l3 + 10, internetChecksum(frame, l3, ipHeaderLen));
  } else {
    dv.setUint32(l3, 0x60000000);
    dv.setUint16(l3 + 4, l4Len);
    frame[l3 + 6] = protocol;
    frame[l3 + 7] = 64;
    frame.set(rev ? DST_V6 : SRC_V6, l3 + 8);
    frame.set(rev ? SRC_V6 : DST_V6, l3 + 24);
  }
  dv.setUint16(l4, spec.srcPort ?? 40000);
  dv.setUint16(l4 + 2, spec.dstPort ?? 5001);
  let checksumOffset: number;
  if (tcp) {
    dv.setUint32(l4 + 4, (spec.seqNumber ?? 1000) >>> 0);
    dv.setUint32(l4 + 8, (spec.ackNumber ?? 1) >>> 0);
    frame[l4 + 12] = (l4HeaderLen / 4) << 4;
    frame[l4 + 13] = spec.flags ?? 0x10;
    dv.setUint16(l4 + 14, spec.windowLen ?? 65535);
    frame.set(options, l4 + 20);
    checksumOffset = 16;
  } else {
    dv.setUint16(l4 + 4, l4Len);
    checksumOffset = 6;
  }
  frame.set(spec.payload, l4 + l4HeaderLen);
  const pseudo = pseudoSum(frame, l3, spec.ipVersion, protocol, l4Len);
  const mode = spec.checksum ?? 'full';
  if (mode === 'partial') dv.setUint16(l4 + checksumOffset, fold16(pseudo));
  else if (mode === 'full') {
    let c = finishChecksum(sum16(frame, l4, l4Len, pseudo));
    if (!tcp && c === 0) c = 0xffff;
    dv.setUint16(l4 + checksumOffset, c);
  }
  return { frame, l3, l4, payloadOffset: l4 + l4HeaderLen };
}

function pseudoSum(frame: Uint8Array, l3: number, ipVersion: 4 | 6, protocol: number, l4Len: number): number {
  if (ipVersion === 4) {
    const dv = new DataView(frame.buffer, frame.byteOffset);
    return pseudoHeaderSumV4(dv.getUint32(l3 + 12), dv.getUint32(l3 + 16), protocol, l4Len);
  }
  return pseudoHeaderSumV6(frame.subarray(l3 + 8, l3 + 24), frame.subarray(l3 + 24, l3 + 40), protocol, l4Len);
}

/** Bytes 0, 1, 2, ... (mod 251, so no period lines up with a segment size), for payloads whose split can be checked byte by byte. */
export function patternPayload(length: number, start = 0): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (start + i) % 251;
  return out;
}

export interface CheckedFrame {
  readonly ipVersion: 4 | 6;
  readonly l3: number;
  readonly l4: number;
  readonly protocol: number;
  readonly ipHeaderOk: boolean;
  readonly l4ChecksumOk: boolean;
  /** The transport length per the IP header. */
  readonly l4Len: number;
}

/**
 * Reads an Ethernet/[802.1Q]/IPv4-or-IPv6 (no extension headers)/TCP-or-UDP frame the way a
 * receiver does and verifies the IPv4 header checksum and the transport checksum.
 */
export function checkFrame(frame: Uint8Array): CheckedFrame {
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let off = 12;
  let ethertype = dv.getUint16(off);
  if (ethertype === 0x8100) {
    off += 4;
    ethertype = dv.getUint16(off);
  }
  const l3 = off + 2;
  if (ethertype === 0x0800) {
    const ihl = (dv.getUint8(l3) & 0x0f) * 4;
    const total = dv.getUint16(l3 + 2);
    const protocol = dv.getUint8(l3 + 9);
    const l4 = l3 + ihl;
    const l4Len = total - ihl;
    const ipHeaderOk = fold16(sum16(frame, l3, ihl)) === 0xffff;
    const pseudo = pseudoHeaderSumV4(dv.getUint32(l3 + 12), dv.getUint32(l3 + 16), protocol, l4Len);
    const l4ChecksumOk = fold16(sum16(frame, l4, l4Len, pseudo)) === 0xffff;
    return { ipVersion: 4, l3, l4, protocol, ipHeaderOk, l4ChecksumOk, l4Len };
  }
  if (ethertype === 0x86dd) {
    const l4Len = dv.getUint16(l3 + 4);
    const protocol = dv.getUint8(l3 + 6);
    const l4 = l3 + 40;
    const pseudo = pseudoHeaderSumV6(frame.subarray(l3 + 8, l3 + 24), frame.subarray(l3 + 24, l3 + 40), protocol, l4Len);
    const l4ChecksumOk = fold16(sum16(frame, l4, l4Len, pseudo)) === 0xffff;
    return { ipVersion: 6, l3, l4, protocol, ipHeaderOk: true, l4ChecksumOk, l4Len };
  }
  throw new Error(`checkFrame: not an IP frame (ethertype 0x${ethertype.toString(16)})`);
}
