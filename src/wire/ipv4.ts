/**
 * IPv4 header (RFC 791 §3.1): a zero-copy view, a plain repr, a total parser and a header
 * emitter. Fragments are parsed like any datagram (the fragment fields are in the repr);
 * putting them back together is `ipv4-reassembly.ts`.
 *
 * What the parser checks: version, IHL, total length against the bytes at hand, the header
 * checksum (unless the caller says a NIC already did), and the option list's TLV structure.
 * Bytes after `totalLength` are Ethernet padding and are ignored (RFC 1122 §3.2.1.2 hints at
 * it; Linux's ip_rcv_core trims them). What it does not check is policy: addresses, TTL,
 * protocol support belong to the receiver.
 */
import type { Ipv4Address } from './addr.js';
import { ensureRoom, put16be, put32be, u16be, u32be, u8 } from './bytes.js';
import { finishChecksum, fold16, pseudoHeaderSumV4, sum16 } from './checksum.js';
import type { DropReason } from './drop-reason.js';
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

export const IPV4_HEADER_LEN = 20;
export const IPV4_MAX_HEADER_LEN = 60;
export const IPV4_MAX_OPTIONS_LEN = IPV4_MAX_HEADER_LEN - IPV4_HEADER_LEN;
export const IPV4_MAX_TOTAL_LEN = 0xffff;
/** RFC 791 §3.2: every host must accept a 576-byte datagram; the minimum MTU for IPv4 is 68. */
export const IPV4_MIN_MTU = 68;

/** Option types (RFC 791 §3.1 "Options"). Only the two one-byte kinds are special to the TLV walk. */
export const IPV4_OPT_EOL = 0;
export const IPV4_OPT_NOP = 1;

const F_VERSION_IHL = 0;
const F_DSCP_ECN = 1;
const F_TOTAL_LENGTH = 2;
const F_IDENTIFICATION = 4;
const F_FLAGS_FRAGMENT = 6;
const F_TTL = 8;
const F_PROTOCOL = 9;
const F_CHECKSUM = 10;
const F_SRC = 12;
const F_DST = 16;

/** RFC 791 flags in the top three bits of the 16-bit flags/fragment-offset word. The first is reserved (must be zero, not checked, as Linux). */
const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const FRAGMENT_OFFSET_MASK = 0x1fff;

export interface Ipv4Repr {
  /** Bytes, 20..60. */
  readonly headerLength: number;
  /** Differentiated services code point (RFC 2474), the top six bits of the former TOS byte. */
  readonly dscp: number;
  /** ECN codepoint (RFC 3168), the low two bits. */
  readonly ecn: number;
  readonly totalLength: number;
  readonly identification: number;
  readonly dontFragment: boolean;
  readonly moreFragments: boolean;
  /** In bytes (the wire field counts 8-byte units). */
  readonly fragmentOffset: number;
  readonly ttl: number;
  readonly protocol: number;
  /** The header checksum as received. */
  readonly checksum: number;
  readonly src: Ipv4Address;
  readonly dst: Ipv4Address;
  /** A view of the raw option bytes (empty without options); structure validated. */
  readonly options: Uint8Array;
  /** A view of the payload, trimmed to `totalLength`. */
  readonly payload: Uint8Array;
}

/** Zero-copy accessors over a header whose bounds `checkIpv4` has established. */
export class Ipv4View {
  constructor(readonly bytes: Uint8Array) {}
  get version(): number {
    return u8(this.bytes, F_VERSION_IHL) >>> 4;
  }
  get headerLength(): number {
    return (u8(this.bytes, F_VERSION_IHL) & 0x0f) * 4;
  }
  get dscp(): number {
    return u8(this.bytes, F_DSCP_ECN) >>> 2;
  }
  get ecn(): number {
    return u8(this.bytes, F_DSCP_ECN) & 0x03;
  }
  get totalLength(): number {
    return u16be(this.bytes, F_TOTAL_LENGTH);
  }
  get identification(): number {
    return u16be(this.bytes, F_IDENTIFICATION);
  }
  get dontFragment(): boolean {
    return (u16be(this.bytes, F_FLAGS_FRAGMENT) & FLAG_DF) !== 0;
  }
  get moreFragments(): boolean {
    return (u16be(this.bytes, F_FLAGS_FRAGMENT) & FLAG_MF) !== 0;
  }
  get fragmentOffset(): number {
    return (u16be(this.bytes, F_FLAGS_FRAGMENT) & FRAGMENT_OFFSET_MASK) * 8;
  }
  get ttl(): number {
    return u8(this.bytes, F_TTL);
  }
  get protocol(): number {
    return u8(this.bytes, F_PROTOCOL);
  }
  get checksum(): number {
    return u16be(this.bytes, F_CHECKSUM);
  }
  get src(): Ipv4Address {
    return u32be(this.bytes, F_SRC);
  }
  get dst(): Ipv4Address {
    return u32be(this.bytes, F_DST);
  }
  get options(): Uint8Array {
    return this.bytes.subarray(IPV4_HEADER_LEN, this.headerLength);
  }
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLength, this.totalLength);
  }
  /** True when the header's words sum to 0xffff (RFC 1071). */
  verifyChecksum(): boolean {
    return fold16(sum16(this.bytes, 0, this.headerLength)) === 0xffff;
  }
}

/**
 * Establishes every bound `Ipv4View` relies on: a fixed header, version 4, an IHL of at least 5
 * inside the bytes, and a total length that covers the header and fits in the bytes.
 */
export function checkIpv4(bytes: Uint8Array): DropReason | undefined {
  if (bytes.length < IPV4_HEADER_LEN) return 'ipv4-truncated';
  const versionIhl = u8(bytes, F_VERSION_IHL);
  if (versionIhl >>> 4 !== 4) return 'ipv4-bad-version';
  const headerLength = (versionIhl & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_LEN) return 'ipv4-bad-header-length';
  if (headerLength > bytes.length) return 'ipv4-truncated';
  const totalLength = u16be(bytes, F_TOTAL_LENGTH);
  if (totalLength < headerLength) return 'ipv4-bad-total-length';
  if (totalLength > bytes.length) return 'ipv4-truncated';
  return undefined;
}

/**
 * Walks the option list b[start, end) (RFC 791 §3.1): EOL ends it, NOP is one byte, every other
 * option has a length byte of at least 2 that stays inside the header. Option semantics
 * (source routes, record route, timestamps) are the receiver's; Linux parses them, we only
 * make sure their structure cannot mislead whoever does.
 */
export function validIpv4Options(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const type = u8(b, i);
    if (type === IPV4_OPT_EOL) return true;
    if (type === IPV4_OPT_NOP) {
      i += 1;
      continue;
    }
    if (i + 1 >= end) return false;
    const len = u8(b, i + 1);
    if (len < 2 || i + len > end) return false;
    i += len;
  }
  return true;
}

export interface Ipv4ParseContext {
  /** Verify the header checksum (default true); false when a NIC has checked it (CHECKSUM_UNNECESSARY). */
  readonly verifyChecksum?: boolean | undefined;
}

/** Parses one IPv4 datagram (the Ethernet payload). Total: every malformed input gives a named drop reason. */
export function parseIpv4(bytes: Uint8Array, ctx: Ipv4ParseContext = {}): Result<Ipv4Repr, DropReason> {
  const bad = checkIpv4(bytes);
  if (bad !== undefined) return err(bad);
  const view = new Ipv4View(bytes);
  if (ctx.verifyChecksum !== false && !view.verifyChecksum()) return err('ipv4-bad-checksum');
  const headerLength = view.headerLength;
  if (!validIpv4Options(bytes, IPV4_HEADER_LEN, headerLength)) return err('ipv4-bad-options');
  const flagsFragment = u16be(bytes, F_FLAGS_FRAGMENT);
  const dscpEcn = u8(bytes, F_DSCP_ECN);
  return ok({
    headerLength,
    dscp: dscpEcn >>> 2,
    ecn: dscpEcn & 0x03,
    totalLength: view.totalLength,
    identification: u16be(bytes, F_IDENTIFICATION),
    dontFragment: (flagsFragment & FLAG_DF) !== 0,
    moreFragments: (flagsFragment & FLAG_MF) !== 0,
    fragmentOffset: (flagsFragment & FRAGMENT_OFFSET_MASK) * 8,
    ttl: u8(bytes, F_TTL),
    protocol: u8(bytes, F_PROTOCOL),
    checksum: u16be(bytes, F_CHECKSUM),
    src: u32be(bytes, F_SRC),
    dst: u32be(bytes, F_DST),
    options: bytes.subarray(IPV4_HEADER_LEN, headerLength),
    payload: bytes.subarray(headerLength, view.totalLength),
  });
}

/** True when the datagram is a fragment (either flag or offset set), so it must go through reassembly. */
export function isIpv4Fragment(repr: Pick<Ipv4Repr, 'moreFragments' | 'fragmentOffset'>): boolean {
  return repr.moreFragments || repr.fragmentOffset !== 0;
}

/** What `emitIpv4Header` needs; omitted optional fields are zero/false/empty. */
export interface Ipv4EmitRepr {
  readonly src: Ipv4Address;
  readonly dst: Ipv4Address;
  readonly protocol: number;
  readonly ttl: number;
  /** Bytes that will follow the header; totalLength = header + payloadLength. */
  readonly payloadLength: number;
  readonly identification?: number | undefined;
  readonly dontFragment?: boolean | undefined;
  readonly moreFragments?: boolean | undefined;
  /** In bytes; a multiple of 8. */
  readonly fragmentOffset?: number | undefined;
  readonly dscp?: number | undefined;
  readonly ecn?: number | undefined;
  /** Raw option bytes; padded with EOL to a multiple of four. */
  readonly options?: Uint8Array | undefined;
}

/** The header length `emitIpv4Header` writes: 20 plus the options rounded up to four bytes. */
export function ipv4HeaderLength(repr: Pick<Ipv4EmitRepr, 'options'>): number {
  const optionsLength = repr.options?.length ?? 0;
  return IPV4_HEADER_LEN + ((optionsLength + 3) & ~3);
}

/**
 * Writes the header of `repr` at out[off] and returns its length. The checksum is filled
 * unless `computeChecksum` is false (a NIC with IPv4 checksum offload fills it; the field is
 * then zero). Throws RangeError on programmer errors: a short buffer, options over 40 bytes, a
 * total length over 65535, a fragment offset that is not a multiple of 8.
 */
export function emitIpv4Header(repr: Ipv4EmitRepr, out: Uint8Array, off: number, computeChecksum = true): number {
  const headerLength = ipv4HeaderLength(repr);
  if (headerLength > IPV4_MAX_HEADER_LEN) throw new RangeError(`IPv4 options need ${headerLength - IPV4_HEADER_LEN} bytes, at most 40 fit`);
  const totalLength = headerLength + repr.payloadLength;
  if (totalLength > IPV4_MAX_TOTAL_LEN) throw new RangeError(`IPv4 total length ${totalLength} exceeds 65535`);
  const fragmentOffset = repr.fragmentOffset ?? 0;
  if (fragmentOffset % 8 !== 0 || fragmentOffset < 0 || fragmentOffset / 8 > FRAGMENT_OFFSET_MASK) {
    throw new RangeError(`IPv4 fragment offset ${fragmentOffset} is not a multiple of 8 in 0..65528`);
  }
  ensureRoom(out, off, headerLength, 'emitIpv4Header');
  out[off + F_VERSION_IHL] = 0x40 | (headerLength / 4);
  out[off + F_DSCP_ECN] = (((repr.dscp ?? 0) & 0x3f) << 2) | ((repr.ecn ?? 0) & 0x03);
  put16be(out, off + F_TOTAL_LENGTH, totalLength);
  put16be(out, off + F_IDENTIFICATION, repr.identification ?? 0);
  put16be(out, off + F_FLAGS_FRAGMENT, (repr.dontFragment ? FLAG_DF : 0) | (repr.moreFragments ? FLAG_MF : 0) | (fragmentOffset / 8));
  out[off + F_TTL] = repr.ttl;
  out[off + F_PROTOCOL] = repr.protocol;
  put16be(out, off + F_CHECKSUM, 0);
  put32be(out, off + F_SRC, repr.src);
  put32be(out, off + F_DST, repr.dst);
  const options = repr.options;
  if (options !== undefined && options.length > 0) {
    out.set(options, off + IPV4_HEADER_LEN);
    out.fill(IPV4_OPT_EOL, off + IPV4_HEADER_LEN + options.length, off + headerLength);
  }
  if (computeChecksum) put16be(out, off + F_CHECKSUM, finishChecksum(sum16(out, off, headerLength)));
  return headerLength;
}

/** Fills the checksum of the header already at out[off] (after a field was rewritten in place). */
export function fillIpv4Checksum(out: Uint8Array, off: number): void {
  const headerLength = (u8(out, off + F_VERSION_IHL) & 0x0f) * 4;
  put16be(out, off + F_CHECKSUM, 0);
  put16be(out, off + F_CHECKSUM, finishChecksum(sum16(out, off, headerLength)));
}

/** The unfolded pseudo-header sum for a TCP/UDP checksum over an upper-layer message of `upperLength` bytes. */
export function ipv4PseudoHeaderSum(repr: { readonly src: Ipv4Address; readonly dst: Ipv4Address; readonly protocol: number }, upperLength: number): number {
  return pseudoHeaderSumV4(repr.src, repr.dst, repr.protocol, upperLength);
}

/** The emit form of a parsed repr (used to rebuild a header, e.g. after reassembly or for an ICMP quote). */
export function ipv4EmitReprOf(repr: Ipv4Repr): Ipv4EmitRepr {
  return {
    src: repr.src,
    dst: repr.dst,
    protocol: repr.protocol,
    ttl: repr.ttl,
    payloadLength: repr.payload.length,
    identification: repr.identification,
    dontFragment: repr.dontFragment,
    moreFragments: repr.moreFragments,
    fragmentOffset: repr.fragmentOffset,
    dscp: repr.dscp,
    ecn: repr.ecn,
    options: repr.options,
  };
}

/** Offset of the checksum field (for offload descriptors). */
export const IPV4_CHECKSUM_OFFSET = F_CHECKSUM;
