/**
 * What a NIC does to a frame that carries a virtio-net header before it reaches the wire:
 * finish a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM) and cut a GSO super-frame into
 * wire-size segments (software TSO/USO). The capture wrapper records frames "as they would
 * cross a wire" with these; a simulated link can also apply them in transit.
 *
 * The segmentation follows Linux: `inet_gso_segment`/`ipv6_gso_segment` (IP headers),
 * `tcp_gso_segment` (net/ipv4/tcp_offload.c) and `__udp_gso_segment` (net/ipv4/udp_offload.c).
 * Headers are located with a small local walk: this file must not depend on the full codecs,
 * and it only needs offsets and lengths. Wire input never throws; a frame that cannot be
 * segmented gives a named drop reason.
 */
import { put16be, put32be, u16be, u32be, u8 } from './bytes.js';
import { finishChecksum, fold16, internetChecksum, pseudoHeaderSumV4, pseudoHeaderSumV6, sum16 } from './checksum.js';
import type { DropReason } from './drop-reason.js';
import { err, ok, type Result } from './result.js';
import {
  VNET_F_NEEDS_CSUM,
  VNET_GSO_ECN,
  VNET_GSO_NONE,
  VNET_GSO_TCPV4,
  VNET_GSO_TCPV6,
  VNET_GSO_UDP_L4,
  type VnetHeader,
} from './vnet.js';

const ETH_HEADER_LEN = 14;
const VLAN_TAG_LEN = 4;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;

const IPV4_MIN_HEADER_LEN = 20;
const IPV6_HEADER_LEN = 40;
const IP_PROTO_TCP = 6;
const IP_PROTO_UDP = 17;
/** IPv6 extension headers that `ipv6_gso_segment` walks past (RFC 8200 §4): hop-by-hop, routing, destination options. */
const IPV6_EXT_HOP_BY_HOP = 0;
const IPV6_EXT_ROUTING = 43;
const IPV6_EXT_DEST_OPTS = 60;
/** At most this many extension headers are walked (the same bound as the IPv6 codec's chain limit). */
const IPV6_MAX_EXT_HEADERS = 8;

const TCP_MIN_HEADER_LEN = 20;
const TCP_SEQ_OFFSET = 4;
const TCP_FLAGS_OFFSET = 13;
const TCP_CHECKSUM_OFFSET = 16;
const TCP_FLAG_FIN = 0x01;
const TCP_FLAG_PSH = 0x08;
const TCP_FLAG_CWR = 0x80;
const UDP_HEADER_LEN = 8;
const UDP_LENGTH_OFFSET = 4;
const UDP_CHECKSUM_OFFSET = 6;

/** RFC 768: a computed UDP checksum of zero is sent as all ones (Linux CSUM_MANGLED_0). */
const CSUM_MANGLED_0 = 0xffff;

/**
 * Finishes the checksum of a frame marked NEEDS_CSUM, in place: the ones' complement sum over
 * frame[csumStart..] goes into the 16-bit field at csumStart + csumOffset, which on entry holds
 * the folded pseudo-header sum (virtio spec §5.1.6.2). A result of zero is written as 0xffff
 * only in UDP's checksum field (csumOffset 6), where zero means "no checksum" (RFC 768);
 * TCP's (16) and ICMP's (2) keep 0x0000, the value a full computation gives and the one our
 * own emitters and segmentGso write. (Linux `skb_checksum_help` writes 0xffff for every
 * protocol; equal in ones' complement, but tshark reports it on TCP.) Frames without
 * NEEDS_CSUM are left alone.
 *
 * Returns a drop reason when the offsets point outside the frame, undefined otherwise.
 */
export function completeChecksum(frame: Uint8Array, vnet: VnetHeader): DropReason | undefined {
  if ((vnet.flags & VNET_F_NEEDS_CSUM) === 0) return undefined;
  const start = vnet.csumStart;
  const field = start + vnet.csumOffset;
  if (field + 2 > frame.length) return 'vnet-bad-csum-offsets';
  const checksum = finishChecksum(sum16(frame, start, frame.length - start));
  put16be(frame, field, checksum === 0 && vnet.csumOffset === UDP_CHECKSUM_OFFSET ? CSUM_MANGLED_0 : checksum);
  return undefined;
}

/** Offsets of the headers of an IP frame, as found by `locateHeaders`. */
export interface GsoLayout {
  /** Offset of the IP header. */
  readonly l3: number;
  readonly ipVersion: 4 | 6;
  /** Offset of the transport header. */
  readonly l4: number;
  /** The transport protocol (IPv4 protocol or the last IPv6 next header). */
  readonly protocol: number;
  /** Offset one past the IP packet (IPv4 total length or IPv6 payload length; padding excluded). */
  readonly ipEnd: number;
}

/**
 * Walks Ethernet, up to two VLAN tags, and IPv4 or IPv6 (with hop-by-hop, routing and
 * destination-options headers) to the transport header. Total: truncated or inconsistent
 * headers give a drop reason.
 */
export function locateHeaders(frame: Uint8Array): Result<GsoLayout, DropReason> {
  if (frame.length < ETH_HEADER_LEN) return err('eth-truncated');
  let off = 12;
  let ethertype = u16be(frame, off);
  for (let tags = 0; (ethertype === ETHERTYPE_VLAN || ethertype === ETHERTYPE_QINQ) && tags < 2; tags++) {
    off += VLAN_TAG_LEN;
    if (off + 2 > frame.length) return err('vlan-truncated');
    ethertype = u16be(frame, off);
  }
  const l3 = off + 2;
  if (ethertype === ETHERTYPE_IPV4) {
    if (l3 + IPV4_MIN_HEADER_LEN > frame.length) return err('ipv4-truncated');
    const versionIhl = u8(frame, l3);
    if (versionIhl >>> 4 !== 4) return err('ipv4-bad-version');
    const ihl = (versionIhl & 0x0f) * 4;
    if (ihl < IPV4_MIN_HEADER_LEN) return err('ipv4-bad-header-length');
    if (l3 + ihl > frame.length) return err('ipv4-truncated');
    const totalLength = u16be(frame, l3 + 2);
    if (totalLength < ihl || l3 + totalLength > frame.length) return err('ipv4-bad-total-length');
    return ok({ l3, ipVersion: 4, l4: l3 + ihl, protocol: u8(frame, l3 + 9), ipEnd: l3 + totalLength });
  }
  if (ethertype === ETHERTYPE_IPV6) {
    if (l3 + IPV6_HEADER_LEN > frame.length) return err('ipv6-truncated');
    if (u8(frame, l3) >>> 4 !== 6) return err('ipv6-bad-version');
    const ipEnd = l3 + IPV6_HEADER_LEN + u16be(frame, l3 + 4);
    if (ipEnd > frame.length) return err('ipv6-bad-payload-length');
    let next = u8(frame, l3 + 6);
    let l4 = l3 + IPV6_HEADER_LEN;
    for (let n = 0; next === IPV6_EXT_HOP_BY_HOP || next === IPV6_EXT_ROUTING || next === IPV6_EXT_DEST_OPTS; n++) {
      if (n === IPV6_MAX_EXT_HEADERS) return err('ipv6-extension-chain-too-long');
      if (l4 + 8 > ipEnd) return err('ipv6-bad-extension-header');
      const len = (u8(frame, l4 + 1) + 1) * 8;
      if (l4 + len > ipEnd) return err('ipv6-bad-extension-header');
      next = u8(frame, l4);
      l4 += len;
    }
    return ok({ l3, ipVersion: 6, l4, protocol: next, ipEnd });
  }
  return err('eth-unknown-ethertype');
}

/**
 * Cuts a GSO super-frame into wire frames and hands each to `emit` (a fresh buffer it may keep).
 * TCPv4/TCPv6 follow `tcp_gso_segment`: each segment carries gsoSize payload bytes (the last
 * the rest), the sequence number advances by the bytes before it, FIN and PSH stay only on the
 * last segment, CWR only on the first; IPv4 total length and header checksum are rewritten and
 * the identification increments per segment from the super-frame's (`inet_gso_segment`
 * without SKB_GSO_TCP_FIXEDID, which virtio cannot express); IPv6 gets its payload length.
 * UDP_L4 (USO) follows `__udp_gso_segment`: UDP length and checksum per datagram.
 *
 * The transport checksum of each segment is finished from the partial (pseudo-header) value
 * in the super-frame's field, adjusted from the super length to the segment length, as
 * `tcp_gso_segment` does; without NEEDS_CSUM the pseudo-header is computed afresh, as
 * `tcp4_gso_segment` does for a frame that is not CHECKSUM_PARTIAL. Segments come out with
 * every checksum complete.
 *
 * A frame without GSO, or whose payload fits in one segment ("too small packets are not really
 * GSO ones", `virtio_net_hdr_to_skb`), is emitted once as a copy with its checksum completed.
 * Returns a drop reason (and emits nothing) when the frame cannot be segmented.
 */
export function segmentGso(frame: Uint8Array, vnet: VnetHeader, emit: (segment: Uint8Array) => void): DropReason | undefined {
  const gsoType = vnet.gsoType & ~VNET_GSO_ECN;
  if (gsoType === VNET_GSO_NONE) return emitWhole(frame, vnet, emit);
  if (gsoType !== VNET_GSO_TCPV4 && gsoType !== VNET_GSO_TCPV6 && gsoType !== VNET_GSO_UDP_L4) {
    // VIRTIO_NET_HDR_GSO_UDP (UFO) means IP fragmentation; nothing on our side produces it.
    return 'vnet-gso-unsupported';
  }
  if (vnet.gsoSize === 0) return 'vnet-gso-bad-size';
  const located = locateHeaders(frame);
  if (!located.ok) return located.reason;
  const layout = located.value;
  const isTcp = gsoType !== VNET_GSO_UDP_L4;
  if (gsoType === VNET_GSO_TCPV4 && layout.ipVersion !== 4) return 'vnet-gso-mismatch';
  if (gsoType === VNET_GSO_TCPV6 && layout.ipVersion !== 6) return 'vnet-gso-mismatch';
  if (layout.protocol !== (isTcp ? IP_PROTO_TCP : IP_PROTO_UDP)) return 'vnet-gso-mismatch';
  if (layout.ipVersion === 4 && (u16be(frame, layout.l3 + 6) & 0x3fff) !== 0) {
    // A fragment (MF set or a non-zero offset) has no transport header to segment on.
    return 'vnet-gso-mismatch';
  }

  const { l4, ipEnd } = layout;
  let l4HeaderLen: number;
  if (isTcp) {
    if (l4 + TCP_MIN_HEADER_LEN > ipEnd) return 'tcp-truncated';
    l4HeaderLen = (u8(frame, l4 + 12) >>> 4) * 4;
    if (l4HeaderLen < TCP_MIN_HEADER_LEN) return 'tcp-bad-data-offset';
    if (l4 + l4HeaderLen > ipEnd) return 'tcp-truncated';
  } else {
    if (l4 + UDP_HEADER_LEN > ipEnd) return 'udp-truncated';
    l4HeaderLen = UDP_HEADER_LEN;
  }
  const checksumOffset = isTcp ? TCP_CHECKSUM_OFFSET : UDP_CHECKSUM_OFFSET;
  const needsCsum = (vnet.flags & VNET_F_NEEDS_CSUM) !== 0;
  if (needsCsum && (vnet.csumStart !== l4 || vnet.csumOffset !== checksumOffset)) return 'vnet-bad-csum-offsets';

  const payloadStart = l4 + l4HeaderLen;
  const payloadLen = ipEnd - payloadStart;
  if (payloadLen <= vnet.gsoSize) return emitWhole(frame.subarray(0, ipEnd), vnet, emit);

  const superL4Len = ipEnd - l4;
  // The partial sum every segment starts from: the pseudo-header with the super length,
  // either as the sender left it in the field (CHECKSUM_PARTIAL) or computed now.
  const partial = needsCsum ? u16be(frame, l4 + checksumOffset) : pseudoHeaderSum(frame, layout, superL4Len);
  const ipId = layout.ipVersion === 4 ? u16be(frame, layout.l3 + 4) : 0;
  const seq0 = isTcp ? u32be(frame, l4 + TCP_SEQ_OFFSET) : 0;
  const flags0 = isTcp ? u8(frame, l4 + TCP_FLAGS_OFFSET) : 0;

  let index = 0;
  for (let offset = 0; offset < payloadLen; offset += vnet.gsoSize, index++) {
    const segLen = Math.min(vnet.gsoSize, payloadLen - offset);
    const first = offset === 0;
    const last = offset + segLen >= payloadLen;
    const out = new Uint8Array(payloadStart + segLen);
    out.set(frame.subarray(0, payloadStart), 0);
    out.set(frame.subarray(payloadStart + offset, payloadStart + offset + segLen), payloadStart);

    if (layout.ipVersion === 4) {
      const ihl = l4 - layout.l3;
      put16be(out, layout.l3 + 2, ihl + l4HeaderLen + segLen);
      put16be(out, layout.l3 + 4, (ipId + index) & 0xffff);
      put16be(out, layout.l3 + 10, 0);
      put16be(out, layout.l3 + 10, internetChecksum(out, layout.l3, ihl));
    } else {
      put16be(out, layout.l3 + 4, l4 - layout.l3 - IPV6_HEADER_LEN + l4HeaderLen + segLen);
    }

    const segL4Len = l4HeaderLen + segLen;
    if (isTcp) {
      put32be(out, l4 + TCP_SEQ_OFFSET, (seq0 + offset) >>> 0);
      let flags = flags0;
      if (!last) flags &= ~(TCP_FLAG_FIN | TCP_FLAG_PSH);
      if (!first) flags &= ~TCP_FLAG_CWR;
      out[l4 + TCP_FLAGS_OFFSET] = flags;
    } else {
      put16be(out, l4 + UDP_LENGTH_OFFSET, segL4Len);
    }
    // Replace the super length in the pseudo-header by the segment length (RFC 1624 style:
    // add the complement of the old value and the new one), then sum the segment.
    const segPartial = fold16(partial + (~superL4Len & 0xffff) + segL4Len);
    put16be(out, l4 + checksumOffset, 0);
    let checksum = finishChecksum(sum16(out, l4, segL4Len, segPartial));
    if (!isTcp && checksum === 0) checksum = CSUM_MANGLED_0;
    put16be(out, l4 + checksumOffset, checksum);
    emit(out);
  }
  return undefined;
}

/** Copies a frame that goes out as one wire frame and completes its checksum if asked. */
function emitWhole(frame: Uint8Array, vnet: VnetHeader, emit: (segment: Uint8Array) => void): DropReason | undefined {
  const copy = frame.slice();
  const bad = completeChecksum(copy, vnet);
  if (bad !== undefined) return bad;
  emit(copy);
  return undefined;
}

/** Folded pseudo-header sum (RFC 9293 §3.1, RFC 8200 §8.1) for an upper-layer length of `l4Len`. */
function pseudoHeaderSum(frame: Uint8Array, layout: GsoLayout, l4Len: number): number {
  if (layout.ipVersion === 4) {
    return fold16(pseudoHeaderSumV4(u32be(frame, layout.l3 + 12), u32be(frame, layout.l3 + 16), layout.protocol, l4Len));
  }
  // RFC 8200 §8.1: with a routing header the pseudo-header uses the final destination; Linux
  // segments with whatever the sender put in the field, and a sender that offloads GSO with a
  // routing header supplies NEEDS_CSUM, so this path only sees the fixed header's addresses.
  const src = frame.subarray(layout.l3 + 8, layout.l3 + 24);
  const dst = frame.subarray(layout.l3 + 24, layout.l3 + 40);
  return fold16(pseudoHeaderSumV6(src, dst, layout.protocol, l4Len));
}
