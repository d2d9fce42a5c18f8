/**
 * UDP (RFC 768): view, repr, a total parser and an emitter.
 *
 * The checksum covers a pseudo-header whose length is the UDP length field (RFC 768; RFC 8200
 * §8.1 for IPv6); the caller supplies the pseudo-header sum computed with that length, which is
 * the IP payload length for every well-formed datagram. A zero checksum means "none computed"
 * over IPv4 (RFC 768), and is invalid over IPv6 (RFC 8200 §8.1; the RFC 6935 tunnel exception
 * does not apply to a host stack). An emitted checksum that computes to zero is sent as 0xffff.
 */
import { ensureRoom, put16be, u16be } from './bytes.js';
import { finishChecksum, fold16, sum16 } from './checksum.js';
import type { DropReason } from './drop-reason.js';
import { err, ok, type Result } from './result.js';

export const UDP_HEADER_LEN = 8;

const F_SRC_PORT = 0;
const F_DST_PORT = 2;
const F_LENGTH = 4;
const F_CHECKSUM = 6;

export interface UdpRepr {
  readonly srcPort: number;
  readonly dstPort: number;
  /** The length field: header plus payload. */
  readonly length: number;
  /** The checksum field as received (0: none, over IPv4). */
  readonly checksum: number;
  /** A view trimmed to the length field. */
  readonly payload: Uint8Array;
}

/** Zero-copy accessors over a datagram whose bounds `checkUdp` has established. */
export class UdpView {
  constructor(readonly bytes: Uint8Array) {}
  get srcPort(): number {
    return u16be(this.bytes, F_SRC_PORT);
  }
  get dstPort(): number {
    return u16be(this.bytes, F_DST_PORT);
  }
  get length(): number {
    return u16be(this.bytes, F_LENGTH);
  }
  get checksum(): number {
    return u16be(this.bytes, F_CHECKSUM);
  }
  get payload(): Uint8Array {
    return this.bytes.subarray(UDP_HEADER_LEN, this.length);
  }
}

/** Establishes the bounds `UdpView` relies on: a header, and a length field in 8..bytes.length. */
export function checkUdp(bytes: Uint8Array): DropReason | undefined {
  if (bytes.length < UDP_HEADER_LEN) return 'udp-truncated';
  const length = u16be(bytes, F_LENGTH);
  if (length < UDP_HEADER_LEN) return 'udp-bad-length';
  if (length > bytes.length) return 'udp-truncated';
  return undefined;
}

/**
 * Parses a UDP datagram (the IP payload). `pseudoHeaderSum` (checksum.ts `pseudoHeaderSumV4/V6`
 * with the UDP length) turns on checksum verification; `undefined` skips it (a NIC checked it).
 * `ipVersion` decides what a zero checksum means (see the module comment). Bytes after the
 * length field are ignored, as Linux does (udp_rcv trims them).
 */
export function parseUdp(bytes: Uint8Array, pseudoHeaderSum?: number, ipVersion: 4 | 6 = 4): Result<UdpRepr, DropReason> {
  const bad = checkUdp(bytes);
  if (bad !== undefined) return err(bad);
  const length = u16be(bytes, F_LENGTH);
  const checksum = u16be(bytes, F_CHECKSUM);
  if (pseudoHeaderSum !== undefined) {
    if (checksum === 0) {
      if (ipVersion === 6) return err('udp-bad-checksum');
    } else if (fold16(sum16(bytes, 0, length, pseudoHeaderSum)) !== 0xffff) {
      return err('udp-bad-checksum');
    }
  }
  return ok({
    srcPort: u16be(bytes, F_SRC_PORT),
    dstPort: u16be(bytes, F_DST_PORT),
    length,
    checksum,
    payload: bytes.subarray(UDP_HEADER_LEN, length),
  });
}

/** Header plus payload. */
export function udpLength(repr: { readonly payload: Uint8Array }): number {
  return UDP_HEADER_LEN + repr.payload.length;
}

/**
 * Writes header and payload at out[off], with the checksum over `pseudoHeaderSum` (computed
 * with length 8 + payload.length). Returns bytes written. Throws RangeError when the datagram
 * exceeds 65535 bytes or the buffer is short.
 */
export function emitUdp(
  repr: { readonly srcPort: number; readonly dstPort: number; readonly payload: Uint8Array },
  out: Uint8Array,
  off: number,
  pseudoHeaderSum: number,
): number {
  const length = udpLength(repr);
  if (length > 0xffff) throw new RangeError(`UDP datagram of ${length} bytes exceeds 65535`);
  ensureRoom(out, off, length, 'emitUdp');
  put16be(out, off + F_SRC_PORT, repr.srcPort);
  put16be(out, off + F_DST_PORT, repr.dstPort);
  put16be(out, off + F_LENGTH, length);
  put16be(out, off + F_CHECKSUM, 0);
  out.set(repr.payload, off + UDP_HEADER_LEN);
  const checksum = finishChecksum(sum16(out, off, length, pseudoHeaderSum));
  // RFC 768: a computed zero is transmitted as all ones (zero means "no checksum").
  put16be(out, off + F_CHECKSUM, checksum === 0 ? 0xffff : checksum);
  return length;
}

/** Offset of the checksum field (for offload descriptors). */
export const UDP_CHECKSUM_OFFSET = F_CHECKSUM;
