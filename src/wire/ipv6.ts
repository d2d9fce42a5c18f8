/**
 * IPv6 header (RFC 8200 §3) and its extension header chain (§4): a zero-copy view of the fixed
 * header, a repr that also names the upper-layer protocol and payload found by walking the
 * chain, a total parser, and emitters for the fixed header and the Fragment header.
 *
 * The walk (RFC 8200 §4.1):
 * - Hop-by-Hop Options may only come first; anywhere else it is 'ipv6-bad-extension-header'.
 * - Hop-by-Hop, Destination Options, Routing and AH are stepped over after a bounds check
 *   (and an option-TLV structure check for the two options headers); each is listed in
 *   `extensionHeaders` so the receiver can apply the rules that are policy (unrecognised
 *   option actions, Routing headers with segments left).
 * - A Fragment header ends the walk: what follows is fragment data, not headers, until
 *   reassembly (`ipv6-reassembly.ts`) puts the datagram back together. `fragment` is then set,
 *   and `upperProtocol`/`upperPayload` are the Fragment header's next header and the data after
 *   it. A receiver must look at `fragment` before treating `upperPayload` as a transport header.
 * - ESP (50) ends the walk, since what follows is encrypted; so does No Next Header (59), and
 *   so does any other number: it is reported as `upperProtocol` with its payload, and the
 *   receiver decides whether it knows the protocol.
 * - The chain is bounded at IPV6_MAX_EXTENSION_HEADERS headers ('ipv6-extension-chain-too-long').
 *
 * Bytes after 40 + payloadLength are Ethernet padding and are ignored. Jumbograms (RFC 2675,
 * payload length 0 with a Hop-by-Hop header) cannot occur on an Ethernet link and are
 * rejected as 'ipv6-bad-payload-length'.
 */
import { IPV6_LEN, type Ipv6Address } from './addr.js';
import { ensureRoom, put16be, put32be, u16be, u32be, u8 } from './bytes.js';
import { pseudoHeaderSumV6 } from './checksum.js';
import type { DropReason } from './drop-reason.js';
import { IP_PROTO_AH, IP_PROTO_DSTOPTS, IP_PROTO_FRAGMENT, IP_PROTO_HOPOPTS, IP_PROTO_ROUTING } from './ip-proto.js';
import { err, ok, type Result } from './result.js';

export {
  IP_PROTO_AH,
  IP_PROTO_DSTOPTS,
  IP_PROTO_ESP,
  IP_PROTO_FRAGMENT,
  IP_PROTO_HOPOPTS,
  IP_PROTO_ICMP,
  IP_PROTO_ICMPV6,
  IP_PROTO_NONE,
  IP_PROTO_ROUTING,
  IP_PROTO_TCP,
  IP_PROTO_UDP,
} from './ip-proto.js';

export const IPV6_HEADER_LEN = 40;
export const IPV6_FRAGMENT_HEADER_LEN = 8;
/** RFC 8200 §5: every link must carry 1280-byte packets. */
export const IPV6_MIN_MTU = 1280;
/**
 * The most extension headers accepted in one packet. RFC 8200 §4.1's recommended order has at
 * most seven (Hop-by-Hop, Destination, Routing, Fragment, AH, ESP, Destination), so eight
 * leaves room for one repeat while bounding the work a hostile packet can cause (RFC 8504 §5.3).
 */
export const IPV6_MAX_EXTENSION_HEADERS = 8;

/** Option types inside Hop-by-Hop and Destination Options headers (RFC 8200 §4.2, RFC 2711). */
export const IPV6_OPT_PAD1 = 0;
export const IPV6_OPT_PADN = 1;
export const IPV6_OPT_ROUTER_ALERT = 5;

const F_VERSION_TC_FLOW = 0;
const F_PAYLOAD_LENGTH = 4;
const F_NEXT_HEADER = 6;
const F_HOP_LIMIT = 7;
const F_SRC = 8;
const F_DST = 24;

/** Every extension header starts with Next Header and a length byte (RFC 8200 §4.3-4.6, RFC 4302 §2). */
const EXT_NEXT_HEADER = 0;
const EXT_LENGTH = 1;

/** Fragment header fields (RFC 8200 §4.5), relative to the start of the header. */
const FRAG_NEXT_HEADER = 0;
const FRAG_OFFSET_FLAGS = 2;
const FRAG_IDENTIFICATION = 4;
const FRAG_MORE = 0x0001;
const FRAG_OFFSET_MASK = 0xfff8;

export interface Ipv6ExtensionHeader {
  /** The header's protocol number (0, 43, 44, 51, 60). */
  readonly type: number;
  /** Offset of the header from the start of the IPv6 packet. */
  readonly offset: number;
  /** Length in bytes. */
  readonly length: number;
}

export interface Ipv6FragmentInfo {
  /** In bytes (a multiple of 8). */
  readonly offset: number;
  readonly moreFragments: boolean;
  readonly identification: number;
  /** Offset of the Fragment header from the start of the IPv6 packet. */
  readonly headerOffset: number;
}

export interface Ipv6Repr {
  readonly trafficClass: number;
  readonly flowLabel: number;
  readonly payloadLength: number;
  /** The fixed header's next header (the first extension header, or the upper protocol). */
  readonly nextHeader: number;
  readonly hopLimit: number;
  /**
   * Views into the packet, like every other field that holds bytes: whoever keeps an address
   * beyond the packet (a neighbor cache, a connection table) copies it. A copy per packet
   * would cost two allocations on the receive path of every IPv6 frame.
   */
  readonly src: Ipv6Address;
  readonly dst: Ipv6Address;
  /** Where the walk stopped: the transport protocol, or a Fragment header's next header, ESP, 59, or an unknown number. */
  readonly upperProtocol: number;
  /** A view of the bytes after the last header walked, up to 40 + payloadLength. */
  readonly upperPayload: Uint8Array;
  /** Present when a Fragment header was found: `upperPayload` is then fragment data. */
  readonly fragment?: Ipv6FragmentInfo | undefined;
  readonly extensionHeaders: readonly Ipv6ExtensionHeader[];
}

/** Zero-copy accessors over the fixed header, whose bounds `checkIpv6` has established. */
export class Ipv6View {
  constructor(readonly bytes: Uint8Array) {}
  get version(): number {
    return u8(this.bytes, F_VERSION_TC_FLOW) >>> 4;
  }
  get trafficClass(): number {
    return (u16be(this.bytes, F_VERSION_TC_FLOW) >>> 4) & 0xff;
  }
  get flowLabel(): number {
    return u32be(this.bytes, F_VERSION_TC_FLOW) & 0xfffff;
  }
  get payloadLength(): number {
    return u16be(this.bytes, F_PAYLOAD_LENGTH);
  }
  get nextHeader(): number {
    return u8(this.bytes, F_NEXT_HEADER);
  }
  get hopLimit(): number {
    return u8(this.bytes, F_HOP_LIMIT);
  }
  get src(): Uint8Array {
    return this.bytes.subarray(F_SRC, F_SRC + IPV6_LEN);
  }
  get dst(): Uint8Array {
    return this.bytes.subarray(F_DST, F_DST + IPV6_LEN);
  }
  /** Everything after the fixed header, up to the payload length. */
  get payload(): Uint8Array {
    return this.bytes.subarray(IPV6_HEADER_LEN, IPV6_HEADER_LEN + this.payloadLength);
  }
}

/** Establishes the bounds `Ipv6View` relies on: a fixed header, version 6, a payload inside the bytes. */
export function checkIpv6(bytes: Uint8Array): DropReason | undefined {
  if (bytes.length < IPV6_HEADER_LEN) return 'ipv6-truncated';
  if (u8(bytes, F_VERSION_TC_FLOW) >>> 4 !== 6) return 'ipv6-bad-version';
  const payloadLength = u16be(bytes, F_PAYLOAD_LENGTH);
  if (payloadLength === 0 && u8(bytes, F_NEXT_HEADER) === IP_PROTO_HOPOPTS) return 'ipv6-bad-payload-length';
  if (IPV6_HEADER_LEN + payloadLength > bytes.length) return 'ipv6-truncated';
  return undefined;
}

/** Checks the option TLVs of an options header's body b[start, end) (RFC 8200 §4.2): Pad1 is one byte, every other option has a length that stays inside. */
function validOptions(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    if (u8(b, i) === IPV6_OPT_PAD1) {
      i += 1;
      continue;
    }
    if (i + 2 > end) return false;
    i += 2 + u8(b, i + 1);
  }
  return i === end;
}

/** Parses one IPv6 packet (the Ethernet payload) and walks its extension headers. Total. */
export function parseIpv6(bytes: Uint8Array): Result<Ipv6Repr, DropReason> {
  const bad = checkIpv6(bytes);
  if (bad !== undefined) return err(bad);
  const view = new Ipv6View(bytes);
  const payloadLength = view.payloadLength;
  const end = IPV6_HEADER_LEN + payloadLength;
  const base = {
    trafficClass: view.trafficClass,
    flowLabel: view.flowLabel,
    payloadLength,
    nextHeader: view.nextHeader,
    hopLimit: view.hopLimit,
    src: bytes.subarray(F_SRC, F_SRC + IPV6_LEN),
    dst: bytes.subarray(F_DST, F_DST + IPV6_LEN),
  };
  const walked = walkIpv6Extensions(bytes, IPV6_HEADER_LEN, end, view.nextHeader);
  if (!walked.ok) return walked;
  return ok({ ...base, ...walked.value });
}

/** The part of `Ipv6Repr` the extension header walk produces. */
export interface Ipv6Walk {
  readonly upperProtocol: number;
  readonly upperPayload: Uint8Array;
  readonly fragment?: Ipv6FragmentInfo | undefined;
  readonly extensionHeaders: readonly Ipv6ExtensionHeader[];
}

/**
 * Walks the extension headers in b[start, end) starting with protocol `nextHeader` (see the
 * module comment for the rules). Exported for reassembly, which walks the reassembled
 * fragmentable part the same way.
 */
export function walkIpv6Extensions(b: Uint8Array, start: number, end: number, nextHeader: number): Result<Ipv6Walk, DropReason> {
  const extensionHeaders: Ipv6ExtensionHeader[] = [];
  let nh = nextHeader;
  let i = start;
  for (;;) {
    let length: number;
    switch (nh) {
      case IP_PROTO_HOPOPTS:
      case IP_PROTO_DSTOPTS:
      case IP_PROTO_ROUTING:
        // RFC 8200 §4.3: Hop-by-Hop only immediately after the IPv6 header.
        if (nh === IP_PROTO_HOPOPTS && i !== IPV6_HEADER_LEN) return err('ipv6-bad-extension-header');
        if (i + 2 > end) return err('ipv6-bad-extension-header');
        length = (u8(b, i + EXT_LENGTH) + 1) * 8; // §4.3-4.6: Hdr Ext Len in 8-octet units, not counting the first 8
        if (i + length > end) return err('ipv6-bad-extension-header');
        if (nh !== IP_PROTO_ROUTING && !validOptions(b, i + 2, i + length)) return err('ipv6-bad-extension-header');
        break;
      case IP_PROTO_AH:
        if (i + 2 > end) return err('ipv6-bad-extension-header');
        length = (u8(b, i + EXT_LENGTH) + 2) * 4; // RFC 4302 §2.2: Payload Len in 4-octet units, minus 2
        if (i + length > end) return err('ipv6-bad-extension-header');
        break;
      case IP_PROTO_FRAGMENT: {
        if (i + IPV6_FRAGMENT_HEADER_LEN > end) return err('ipv6-bad-extension-header');
        if (extensionHeaders.length >= IPV6_MAX_EXTENSION_HEADERS) return err('ipv6-extension-chain-too-long');
        extensionHeaders.push({ type: nh, offset: i, length: IPV6_FRAGMENT_HEADER_LEN });
        const offsetFlags = u16be(b, i + FRAG_OFFSET_FLAGS);
        return ok({
          upperProtocol: u8(b, i + FRAG_NEXT_HEADER),
          upperPayload: b.subarray(i + IPV6_FRAGMENT_HEADER_LEN, end),
          fragment: {
            offset: offsetFlags & FRAG_OFFSET_MASK,
            moreFragments: (offsetFlags & FRAG_MORE) !== 0,
            identification: u32be(b, i + FRAG_IDENTIFICATION),
            headerOffset: i,
          },
          extensionHeaders,
        });
      }
      default:
        // Upper layer, ESP, No Next Header, or unknown: the walk ends here.
        return ok({ upperProtocol: nh, upperPayload: b.subarray(i, end), extensionHeaders });
    }
    if (extensionHeaders.length >= IPV6_MAX_EXTENSION_HEADERS) return err('ipv6-extension-chain-too-long');
    extensionHeaders.push({ type: nh, offset: i, length });
    nh = u8(b, i + EXT_NEXT_HEADER);
    i += length;
  }
}

/**
 * The first option in a Hop-by-Hop or Destination Options header `ext` of packet `bytes` that
 * this stack does not recognise and whose action bits say not to skip it (RFC 8200 §4.2: 01
 * discard, 10 discard and send Parameter Problem code 2, 11 the same unless the destination
 * was multicast). `pointer` is the option's offset from the start of the packet, the value an
 * ICMPv6 Parameter Problem carries. Recognised: Pad1, PadN, Router Alert.
 */
export function ipv6UnrecognizedOption(bytes: Uint8Array, ext: Ipv6ExtensionHeader): { pointer: number; action: number } | undefined {
  let i = ext.offset + 2;
  const end = ext.offset + ext.length;
  while (i < end) {
    const type = u8(bytes, i);
    if (type === IPV6_OPT_PAD1) {
      i += 1;
      continue;
    }
    const action = type >>> 6;
    if (type !== IPV6_OPT_PADN && type !== IPV6_OPT_ROUTER_ALERT && action !== 0) return { pointer: i, action };
    i += 2 + u8(bytes, i + 1); // option type, option data length, data
  }
  return undefined;
}

/** What `emitIpv6Header` needs. */
export interface Ipv6EmitRepr {
  readonly src: Ipv6Address;
  readonly dst: Ipv6Address;
  readonly nextHeader: number;
  readonly hopLimit: number;
  /** Bytes after the fixed header (extension headers included). */
  readonly payloadLength: number;
  readonly trafficClass?: number | undefined;
  readonly flowLabel?: number | undefined;
}

/** Writes the 40-byte fixed header at out[off]; returns 40. Throws RangeError on a short buffer or a payload over 65535. */
export function emitIpv6Header(repr: Ipv6EmitRepr, out: Uint8Array, off: number): number {
  if (repr.payloadLength > 0xffff || repr.payloadLength < 0) throw new RangeError(`IPv6 payload length ${repr.payloadLength} outside 0..65535`);
  ensureRoom(out, off, IPV6_HEADER_LEN, 'emitIpv6Header');
  const trafficClass = (repr.trafficClass ?? 0) & 0xff;
  const flowLabel = (repr.flowLabel ?? 0) & 0xfffff;
  put32be(out, off + F_VERSION_TC_FLOW, ((6 << 28) | (trafficClass << 20) | flowLabel) >>> 0);
  put16be(out, off + F_PAYLOAD_LENGTH, repr.payloadLength);
  out[off + F_NEXT_HEADER] = repr.nextHeader;
  out[off + F_HOP_LIMIT] = repr.hopLimit;
  out.set(repr.src.subarray(0, IPV6_LEN), off + F_SRC);
  out.set(repr.dst.subarray(0, IPV6_LEN), off + F_DST);
  return IPV6_HEADER_LEN;
}

/** A Fragment header to emit (RFC 8200 §4.5). */
export interface Ipv6FragmentHeaderRepr {
  readonly nextHeader: number;
  /** In bytes, a multiple of 8. */
  readonly offset: number;
  readonly moreFragments: boolean;
  readonly identification: number;
}

/** Writes an 8-byte Fragment header at out[off]; returns 8. Throws RangeError on a bad offset or a short buffer. */
export function emitIpv6FragmentHeader(repr: Ipv6FragmentHeaderRepr, out: Uint8Array, off: number): number {
  if (repr.offset % 8 !== 0 || repr.offset < 0 || repr.offset > FRAG_OFFSET_MASK) {
    throw new RangeError(`IPv6 fragment offset ${repr.offset} is not a multiple of 8 in 0..65528`);
  }
  ensureRoom(out, off, IPV6_FRAGMENT_HEADER_LEN, 'emitIpv6FragmentHeader');
  out[off + FRAG_NEXT_HEADER] = repr.nextHeader;
  out[off + 1] = 0;
  put16be(out, off + FRAG_OFFSET_FLAGS, repr.offset | (repr.moreFragments ? FRAG_MORE : 0));
  put32be(out, off + FRAG_IDENTIFICATION, repr.identification);
  return IPV6_FRAGMENT_HEADER_LEN;
}

/**
 * The unfolded pseudo-header sum (RFC 8200 §8.1) for an upper-layer checksum over
 * `upperLength` bytes of protocol `upperProtocol`. With a Routing header the destination would
 * be the final one; chimney never sends Routing headers and does not act on received ones.
 */
export function ipv6PseudoHeaderSum(repr: { readonly src: Ipv6Address; readonly dst: Ipv6Address }, upperProtocol: number, upperLength: number): number {
  return pseudoHeaderSumV6(repr.src, repr.dst, upperProtocol, upperLength);
}
