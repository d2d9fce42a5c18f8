/**
 * The virtio-net header (virtio spec §5.1.6, `struct virtio_net_hdr`) that a TAP opened with
 * IFF_VNET_HDR puts in front of every frame. Fields are little-endian on the hosts we run on
 * (legacy virtio is native-endian; the TAP uses little-endian on x86 and arm64).
 *
 *   flags u8 | gso_type u8 | hdr_len u16 | gso_size u16 | csum_start u16 | csum_offset u16 [| num_buffers u16]
 */
import { ensureRoom, put16le, u16le, u8 } from './bytes.js';
import type { DropReason } from './drop-reason.js';
import { err, ok, type Result } from './result.js';

export const VNET_HDR_LEN = 10;
/** With num_buffers (VIRTIO_NET_F_MRG_RXBUF layout), the size the C relay anchor uses. */
export const VNET_HDR_LEN_MRG = 12;

export const VNET_F_NEEDS_CSUM = 1;
export const VNET_F_DATA_VALID = 2;
export const VNET_F_RSC_INFO = 4;

export const VNET_GSO_NONE = 0;
export const VNET_GSO_TCPV4 = 1;
export const VNET_GSO_UDP = 3;
export const VNET_GSO_TCPV6 = 4;
export const VNET_GSO_UDP_L4 = 5;
export const VNET_GSO_ECN = 0x80;

export interface VnetHeader {
  readonly flags: number;
  readonly gsoType: number;
  /** Length of the headers (Ethernet + IP + TCP) of a GSO frame; a hint, may be 0. */
  readonly hdrLen: number;
  /** Payload bytes per segment of a GSO frame. */
  readonly gsoSize: number;
  /** With NEEDS_CSUM: the checksum covers frame[csumStart..] and goes at csumStart + csumOffset. */
  readonly csumStart: number;
  readonly csumOffset: number;
}

export const VNET_NONE: VnetHeader = Object.freeze({
  flags: 0,
  gsoType: VNET_GSO_NONE,
  hdrLen: 0,
  gsoSize: 0,
  csumStart: 0,
  csumOffset: 0,
});

/** Parses a virtio-net header of `hdrLen` bytes (10 or 12) at b[off]. */
export function parseVnet(b: Uint8Array, off: number, hdrLen: number, frameLen: number): Result<VnetHeader, DropReason> {
  if (off + hdrLen > b.length || hdrLen < VNET_HDR_LEN) return err('vnet-truncated');
  const flags = u8(b, off);
  const gsoType = u8(b, off + 1);
  const base = gsoType & ~VNET_GSO_ECN;
  if (base !== VNET_GSO_NONE && base !== VNET_GSO_TCPV4 && base !== VNET_GSO_TCPV6 && base !== VNET_GSO_UDP && base !== VNET_GSO_UDP_L4) {
    return err('vnet-bad-gso-type');
  }
  const h: VnetHeader = {
    flags,
    gsoType,
    hdrLen: u16le(b, off + 2),
    gsoSize: u16le(b, off + 4),
    csumStart: u16le(b, off + 6),
    csumOffset: u16le(b, off + 8),
  };
  if (flags & VNET_F_NEEDS_CSUM && h.csumStart + h.csumOffset + 2 > frameLen) return err('vnet-bad-csum-offsets');
  return ok(h);
}

/**
 * Writes `h` as a header of `hdrLen` bytes (num_buffers, when present, is written as 0).
 * Throws RangeError when `hdrLen` is below 10 or the buffer is short (programmer errors).
 */
export function emitVnet(h: VnetHeader, out: Uint8Array, off: number, hdrLen: number): number {
  if (hdrLen < VNET_HDR_LEN) throw new RangeError(`virtio-net header length ${hdrLen} is below ${VNET_HDR_LEN}`);
  ensureRoom(out, off, hdrLen, 'emitVnet');
  out[off] = h.flags;
  out[off + 1] = h.gsoType;
  put16le(out, off + 2, h.hdrLen);
  put16le(out, off + 4, h.gsoSize);
  put16le(out, off + 6, h.csumStart);
  put16le(out, off + 8, h.csumOffset);
  if (hdrLen >= VNET_HDR_LEN_MRG) put16le(out, off + 10, 0);
  return hdrLen;
}
