/**
 * ICMPv6 (RFC 4443) with the Neighbor Discovery messages of RFC 4861 (bodies in `ndisc.ts`): a
 * discriminated repr, a total parser that also applies ND's message validation rules, and an
 * emitter. The checksum always covers the IPv6 pseudo-header (RFC 4443 §2.3), so both take the
 * packet's source and destination.
 *
 * Codes: echo messages must carry code 0 and ND messages too (RFC 4443 §4.1-4.2, RFC 4861
 * §6.1, §7.1); a non-zero code is 'icmpv6-bad-code'. Error messages keep whatever code they
 * carry, so codes defined after RFC 4443 (RFC 7112, RFC 8883) still reach the host. Types this
 * codec does not interpret (Redirect, MLD, ...) are `other` with their raw bytes.
 */
import { isIpv6LinkLocal, isIpv6Multicast, isIpv6Unspecified, isSolicitedNodeMulticast, type Ipv6Address } from './addr.js';
import { ensureRoom, put16be, put32be, u16be, u32be, u8 } from './bytes.js';
import { finishChecksum, fold16, pseudoHeaderSumV6, sum16 } from './checksum.js';
import type { DropReason } from './drop-reason.js';
import { IP_PROTO_ICMPV6 } from './ip-proto.js';
import {
  NDISC_HOP_LIMIT,
  NDISC_NA_LEN,
  NDISC_NS_LEN,
  NDISC_RA_LEN,
  NDISC_RS_LEN,
  ndiscLength,
  parseNdiscOptions,
  readNeighborAdvertisement,
  readNeighborSolicitation,
  readRouterAdvertisement,
  readRouterSolicitation,
  writeNdiscBody,
  type NdiscRepr,
} from './ndisc.js';
import { err, ok, type Result } from './result.js';

export type {
  NdiscPrefixInfo,
  NeighborAdvertisementRepr,
  NeighborSolicitationRepr,
  RouterAdvertisementRepr,
  RouterSolicitationRepr,
} from './ndisc.js';

export const ICMPV6_HEADER_LEN = 8;

/** Types (RFC 4443 §2.1, RFC 4861 §4). */
export const ICMPV6_DEST_UNREACHABLE = 1;
export const ICMPV6_PACKET_TOO_BIG = 2;
export const ICMPV6_TIME_EXCEEDED = 3;
export const ICMPV6_PARAMETER_PROBLEM = 4;
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ICMPV6_ROUTER_SOLICITATION = 133;
export const ICMPV6_ROUTER_ADVERTISEMENT = 134;
export const ICMPV6_NEIGHBOR_SOLICITATION = 135;
export const ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;
export const ICMPV6_REDIRECT = 137;

/** Destination Unreachable codes (RFC 4443 §3.1). */
export const ICMPV6_UNREACH_NO_ROUTE = 0;
export const ICMPV6_UNREACH_ADMIN_PROHIBITED = 1;
export const ICMPV6_UNREACH_BEYOND_SCOPE = 2;
export const ICMPV6_UNREACH_ADDRESS = 3;
export const ICMPV6_UNREACH_PORT = 4;
export const ICMPV6_UNREACH_SOURCE_POLICY = 5;
export const ICMPV6_UNREACH_REJECT_ROUTE = 6;

/** Time Exceeded codes (RFC 4443 §3.3). */
export const ICMPV6_TIME_EXCEEDED_HOP_LIMIT = 0;
export const ICMPV6_TIME_EXCEEDED_REASSEMBLY = 1;

/** Parameter Problem codes (RFC 4443 §3.4, RFC 7112 §6). */
export const ICMPV6_PARAMPROB_HEADER = 0;
export const ICMPV6_PARAMPROB_NEXT_HEADER = 1;
export const ICMPV6_PARAMPROB_OPTION = 2;
export const ICMPV6_PARAMPROB_FIRST_FRAGMENT = 3;

/** RFC 4443 §2.4(c): an error message must not exceed the IPv6 minimum MTU. */
export const ICMPV6_ERROR_MAX_PACKET = 1280;

const F_TYPE = 0;
const F_CODE = 1;
const F_CHECKSUM = 2;
const F_IDENTIFIER = 4;
const F_SEQUENCE = 6;
const F_MTU = 4;
const F_POINTER = 4;
const F_REST = 4;
/** The four type-specific bytes after the checksum; unused ones are sent as zero. */
const F_UNUSED = 4;

export type Icmpv6Repr =
  | { readonly kind: 'echo-request' | 'echo-reply'; readonly identifier: number; readonly sequence: number; readonly data: Uint8Array }
  | { readonly kind: 'dest-unreachable'; readonly code: number; readonly invoking: Uint8Array }
  | { readonly kind: 'packet-too-big'; readonly mtu: number; readonly invoking: Uint8Array }
  | { readonly kind: 'time-exceeded'; readonly code: number; readonly invoking: Uint8Array }
  | { readonly kind: 'parameter-problem'; readonly code: number; readonly pointer: number; readonly invoking: Uint8Array }
  | NdiscRepr
  /** Any other type; `rest` is everything after the checksum. */
  | { readonly kind: 'other'; readonly type: number; readonly code: number; readonly rest: Uint8Array };

/** Zero-copy accessors over a message whose length `checkIcmpv6` has established. */
export class Icmpv6View {
  constructor(readonly bytes: Uint8Array) {}
  get type(): number {
    return u8(this.bytes, F_TYPE);
  }
  get code(): number {
    return u8(this.bytes, F_CODE);
  }
  get checksum(): number {
    return u16be(this.bytes, F_CHECKSUM);
  }
  get identifier(): number {
    return u16be(this.bytes, F_IDENTIFIER);
  }
  get sequence(): number {
    return u16be(this.bytes, F_SEQUENCE);
  }
  get mtu(): number {
    return u32be(this.bytes, F_MTU);
  }
  get pointer(): number {
    return u32be(this.bytes, F_POINTER);
  }
  /** Echo data or the invoking packet. */
  get body(): Uint8Array {
    return this.bytes.subarray(ICMPV6_HEADER_LEN);
  }
  verifyChecksum(src: Ipv6Address, dst: Ipv6Address): boolean {
    return fold16(sum16(this.bytes, 0, this.bytes.length, pseudoHeaderSumV6(src, dst, IP_PROTO_ICMPV6, this.bytes.length))) === 0xffff;
  }
}

/**
 * Every ICMPv6 message has the 4-byte type/code/checksum and, for every type RFC 4443 and
 * RFC 4861 define, four more bytes; 8 is the minimum we accept. ND messages need more, checked
 * per type in the parser.
 */
export function checkIcmpv6(bytes: Uint8Array): DropReason | undefined {
  return bytes.length < ICMPV6_HEADER_LEN ? 'icmpv6-truncated' : undefined;
}

export interface Icmpv6ParseContext {
  /** Verify the checksum (default true). */
  readonly verifyChecksum?: boolean | undefined;
  /** The IPv6 hop limit the message arrived with; when given, ND messages require 255 (RFC 4861 §6.1, §7.1). */
  readonly hopLimit?: number | undefined;
}

function isNdiscType(type: number): boolean {
  return type >= ICMPV6_ROUTER_SOLICITATION && type <= ICMPV6_NEIGHBOR_ADVERTISEMENT;
}

/**
 * Parses an ICMPv6 message (the upper-layer payload of a packet from `src` to `dst`). Applies
 * the ND validity checks of RFC 4861 §6.1.1, §6.1.2, §7.1.1 and §7.1.2 that the message itself
 * can show: hop limit, code, length, option lengths, target not multicast, the source and
 * destination rules for an unspecified source, a link-local router source, and no Solicited
 * flag on a multicast NA.
 */
export function parseIcmpv6(bytes: Uint8Array, src: Ipv6Address, dst: Ipv6Address, ctx: Icmpv6ParseContext = {}): Result<Icmpv6Repr, DropReason> {
  const bad = checkIcmpv6(bytes);
  if (bad !== undefined) return err(bad);
  const view = new Icmpv6View(bytes);
  if (ctx.verifyChecksum !== false && !view.verifyChecksum(src, dst)) return err('icmpv6-bad-checksum');
  const type = view.type;
  const code = view.code;
  if (isNdiscType(type)) return parseNdisc(bytes, type, code, src, dst, ctx);
  switch (type) {
    case ICMPV6_ECHO_REQUEST:
    case ICMPV6_ECHO_REPLY:
      if (code !== 0) return err('icmpv6-bad-code');
      return ok({ kind: type === ICMPV6_ECHO_REQUEST ? 'echo-request' : 'echo-reply', identifier: view.identifier, sequence: view.sequence, data: view.body });
    case ICMPV6_DEST_UNREACHABLE:
      return ok({ kind: 'dest-unreachable', code, invoking: view.body });
    case ICMPV6_PACKET_TOO_BIG:
      // RFC 4443 §3.2: the code is set to 0 by the originator and ignored by the receiver.
      return ok({ kind: 'packet-too-big', mtu: view.mtu, invoking: view.body });
    case ICMPV6_TIME_EXCEEDED:
      return ok({ kind: 'time-exceeded', code, invoking: view.body });
    case ICMPV6_PARAMETER_PROBLEM:
      return ok({ kind: 'parameter-problem', code, pointer: view.pointer, invoking: view.body });
    default:
      return ok({ kind: 'other', type, code, rest: bytes.subarray(F_REST) });
  }
}

const NDISC_FIXED_LEN: Record<number, number> = {
  [ICMPV6_ROUTER_SOLICITATION]: NDISC_RS_LEN,
  [ICMPV6_ROUTER_ADVERTISEMENT]: NDISC_RA_LEN,
  [ICMPV6_NEIGHBOR_SOLICITATION]: NDISC_NS_LEN,
  [ICMPV6_NEIGHBOR_ADVERTISEMENT]: NDISC_NA_LEN,
};

function parseNdisc(b: Uint8Array, type: number, code: number, src: Ipv6Address, dst: Ipv6Address, ctx: Icmpv6ParseContext): Result<Icmpv6Repr, DropReason> {
  if (ctx.hopLimit !== undefined && ctx.hopLimit !== NDISC_HOP_LIMIT) return err('ndisc-bad-hop-limit');
  if (code !== 0) return err('icmpv6-bad-code');
  const fixed = NDISC_FIXED_LEN[type] ?? NDISC_RS_LEN;
  if (b.length < fixed) return err('icmpv6-truncated');
  const options = parseNdiscOptions(b, fixed, b.length);
  if (options === undefined) return err('ndisc-bad-option');
  const unspecifiedSource = isIpv6Unspecified(src);
  switch (type) {
    case ICMPV6_ROUTER_SOLICITATION:
      // §6.1.1: from the unspecified address, no source link-layer address option.
      if (unspecifiedSource && options.sourceLinkAddr !== undefined) return err('ndisc-bad-option');
      return ok(readRouterSolicitation(b, options));
    case ICMPV6_ROUTER_ADVERTISEMENT:
      // §6.1.2: the source is the router's link-local address.
      if (!isIpv6LinkLocal(src)) return err('ndisc-bad-address');
      return ok(readRouterAdvertisement(b, options));
    case ICMPV6_NEIGHBOR_SOLICITATION: {
      const ns = readNeighborSolicitation(b, options);
      if (isIpv6Multicast(ns.target)) return err('ndisc-bad-target');
      // §7.1.1: a DAD probe (unspecified source) goes to a solicited-node group and carries no source link-layer address.
      if (unspecifiedSource) {
        if (!isSolicitedNodeMulticast(dst)) return err('ndisc-bad-address');
        if (options.sourceLinkAddr !== undefined) return err('ndisc-bad-option');
      }
      return ok(ns);
    }
    default: {
      const na = readNeighborAdvertisement(b, options);
      if (isIpv6Multicast(na.target)) return err('ndisc-bad-target');
      // §7.1.2: a multicast advertisement is never a solicited one.
      if (isIpv6Multicast(dst) && na.solicited) return err('ndisc-bad-address');
      return ok(na);
    }
  }
}

/** True for the error kinds (RFC 4443 §2.1: types below 128), which quote an invoking packet. */
export function isIcmpv6Error(repr: Icmpv6Repr): boolean {
  switch (repr.kind) {
    case 'dest-unreachable':
    case 'packet-too-big':
    case 'time-exceeded':
    case 'parameter-problem':
      return true;
    case 'other':
      return repr.type < 128;
    default:
      return false;
  }
}

/** Bytes `emitIcmpv6` writes for `repr`. */
export function icmpv6Length(repr: Icmpv6Repr): number {
  switch (repr.kind) {
    case 'echo-request':
    case 'echo-reply':
      return ICMPV6_HEADER_LEN + repr.data.length;
    case 'dest-unreachable':
    case 'packet-too-big':
    case 'time-exceeded':
    case 'parameter-problem':
      return ICMPV6_HEADER_LEN + repr.invoking.length;
    case 'other':
      return F_REST + repr.rest.length;
    default:
      return ndiscLength(repr);
  }
}

const NDISC_TYPE: Record<NdiscRepr['kind'], number> = {
  'router-solicitation': ICMPV6_ROUTER_SOLICITATION,
  'router-advertisement': ICMPV6_ROUTER_ADVERTISEMENT,
  'neighbor-solicitation': ICMPV6_NEIGHBOR_SOLICITATION,
  'neighbor-advertisement': ICMPV6_NEIGHBOR_ADVERTISEMENT,
};

/**
 * Writes `repr` at out[off] with its checksum over the pseudo-header of `src` → `dst`, and
 * returns the bytes written. Throws RangeError on a short buffer.
 */
export function emitIcmpv6(repr: Icmpv6Repr, out: Uint8Array, off: number, src: Ipv6Address, dst: Ipv6Address): number {
  const length = icmpv6Length(repr);
  ensureRoom(out, off, length, 'emitIcmpv6');
  put16be(out, off + F_CHECKSUM, 0);
  switch (repr.kind) {
    case 'echo-request':
    case 'echo-reply':
      out[off + F_TYPE] = repr.kind === 'echo-request' ? ICMPV6_ECHO_REQUEST : ICMPV6_ECHO_REPLY;
      out[off + F_CODE] = 0;
      put16be(out, off + F_IDENTIFIER, repr.identifier);
      put16be(out, off + F_SEQUENCE, repr.sequence);
      out.set(repr.data, off + ICMPV6_HEADER_LEN);
      break;
    case 'dest-unreachable':
    case 'time-exceeded':
      out[off + F_TYPE] = repr.kind === 'dest-unreachable' ? ICMPV6_DEST_UNREACHABLE : ICMPV6_TIME_EXCEEDED;
      out[off + F_CODE] = repr.code;
      out.fill(0, off + F_UNUSED, off + ICMPV6_HEADER_LEN);
      out.set(repr.invoking, off + ICMPV6_HEADER_LEN);
      break;
    case 'packet-too-big':
      out[off + F_TYPE] = ICMPV6_PACKET_TOO_BIG;
      out[off + F_CODE] = 0;
      put32be(out, off + F_MTU, repr.mtu);
      out.set(repr.invoking, off + ICMPV6_HEADER_LEN);
      break;
    case 'parameter-problem':
      out[off + F_TYPE] = ICMPV6_PARAMETER_PROBLEM;
      out[off + F_CODE] = repr.code;
      put32be(out, off + F_POINTER, repr.pointer);
      out.set(repr.invoking, off + ICMPV6_HEADER_LEN);
      break;
    case 'other':
      out[off + F_TYPE] = repr.type;
      out[off + F_CODE] = repr.code;
      out.set(repr.rest, off + F_REST);
      break;
    default:
      out[off + F_TYPE] = NDISC_TYPE[repr.kind];
      out[off + F_CODE] = 0;
      writeNdiscBody(repr, out, off);
      break;
  }
  put16be(out, off + F_CHECKSUM, finishChecksum(sum16(out, off, length, pseudoHeaderSumV6(src, dst, IP_PROTO_ICMPV6, length))));
  return length;
}

/**
 * The part of an offending packet an ICMPv6 error quotes: as much as fits without the error
 * exceeding 1280 bytes (RFC 4443 §2.4(c)), given a 40-byte IPv6 header and the 8-byte ICMPv6 header.
 */
export function icmpv6ErrorQuote(packet: Uint8Array): Uint8Array {
  return packet.subarray(0, Math.min(packet.length, ICMPV6_ERROR_MAX_PACKET - 40 - ICMPV6_HEADER_LEN));
}
