/**
 * Neighbor Discovery for IPv6 (RFC 4861): the four messages a host handles (Router
 * Solicitation, Router Advertisement, Neighbor Solicitation, Neighbor Advertisement) and the
 * options they carry. `icmpv6.ts` dispatches to the body parsers here; the reprs are members of
 * its `Icmpv6Repr` union.
 *
 * Option rules (RFC 4861 §4.6): every option is a multiple of 8 bytes, and a length of zero or
 * an option that runs past the message is 'ndisc-bad-option' (§6.1, §7.1 "all included
 * options have a length that is greater than zero"). Options the message does not use, and
 * unknown ones, are skipped (§4.6: "receivers MUST silently ignore"). A repeated link-layer
 * address or MTU option keeps the first, as Linux's ndisc_parse_options does.
 *
 * Link-layer address options are read as Ethernet (RFC 2464 §6: length 1, six bytes).
 */
import { IPV6_LEN, MAC_LEN, type Ipv6Address, type MacAddress } from './addr.js';
import { put16be, put32be, u16be, u32be, u8 } from './bytes.js';

/** Option types (RFC 4861 §4.6). */
export const NDISC_OPT_SOURCE_LINK_ADDR = 1;
export const NDISC_OPT_TARGET_LINK_ADDR = 2;
export const NDISC_OPT_PREFIX_INFO = 3;
export const NDISC_OPT_REDIRECTED_HEADER = 4;
export const NDISC_OPT_MTU = 5;
/** Nonce (RFC 3971 §5.3.2), used by enhanced DAD (RFC 7527) in Neighbor Solicitations; Linux sends one. */
export const NDISC_OPT_NONCE = 14;

/** The hop limit every ND message must arrive with (RFC 4861 §6.1, §7.1): proof it was not forwarded. */
export const NDISC_HOP_LIMIT = 255;

/** Fixed body lengths (ICMPv6 header included) before the options. */
export const NDISC_RS_LEN = 8;
export const NDISC_RA_LEN = 16;
export const NDISC_NS_LEN = 24;
export const NDISC_NA_LEN = 24;

const LINK_ADDR_OPTION_LEN = 8;
const PREFIX_OPTION_LEN = 32;
const MTU_OPTION_LEN = 8;

/** Field offsets inside messages (from the start of the ICMPv6 header). */
const RA_CUR_HOP_LIMIT = 4;
const RA_FLAGS = 5;
const RA_ROUTER_LIFETIME = 6;
const RA_REACHABLE_TIME = 8;
const RA_RETRANS_TIMER = 12;
const NA_FLAGS = 4;
const NS_NA_TARGET = 8;
/** RS, NS and NA: four reserved bytes after the checksum (NA's first byte holds its flags). */
const F_RESERVED = 4;

const RA_FLAG_MANAGED = 0x80;
const RA_FLAG_OTHER = 0x40;
const NA_FLAG_ROUTER = 0x80;
const NA_FLAG_SOLICITED = 0x40;
const NA_FLAG_OVERRIDE = 0x20;

/** Prefix Information option fields (RFC 4861 §4.6.2), from the option start. */
const PI_PREFIX_LENGTH = 2;
const PI_FLAGS = 3;
const PI_VALID_LIFETIME = 4;
const PI_PREFERRED_LIFETIME = 8;
const PI_RESERVED2 = 12;
const PI_PREFIX = 16;
/** MTU option fields (RFC 4861 §4.6.4). */
const MTU_RESERVED = 2;
const MTU_VALUE = 4;
const PI_FLAG_ON_LINK = 0x80;
const PI_FLAG_AUTONOMOUS = 0x40;

export interface NdiscPrefixInfo {
  readonly prefixLength: number;
  /** L flag: the prefix is on-link. */
  readonly onLink: boolean;
  /** A flag: usable for stateless autoconfiguration (RFC 4862). */
  readonly autonomous: boolean;
  /** Seconds; 0xffffffff is infinity. */
  readonly validLifetime: number;
  readonly preferredLifetime: number;
  readonly prefix: Ipv6Address;
}

export interface RouterSolicitationRepr {
  readonly kind: 'router-solicitation';
  readonly sourceLinkAddr?: MacAddress | undefined;
}

export interface RouterAdvertisementRepr {
  readonly kind: 'router-advertisement';
  readonly curHopLimit: number;
  /** M flag (RFC 4861 §4.2). */
  readonly managed: boolean;
  /** O flag. */
  readonly other: boolean;
  /** Seconds; 0 means "not a default router". */
  readonly routerLifetime: number;
  /** Milliseconds; 0 means unspecified. */
  readonly reachableTime: number;
  /** Milliseconds; 0 means unspecified. */
  readonly retransTimer: number;
  readonly sourceLinkAddr?: MacAddress | undefined;
  readonly mtu?: number | undefined;
  readonly prefixes: readonly NdiscPrefixInfo[];
}

export interface NeighborSolicitationRepr {
  readonly kind: 'neighbor-solicitation';
  readonly target: Ipv6Address;
  readonly sourceLinkAddr?: MacAddress | undefined;
  /** The nonce option's bytes (RFC 7527 §4: a looped-back DAD probe carries our own nonce). */
  readonly nonce?: Uint8Array | undefined;
}

export interface NeighborAdvertisementRepr {
  readonly kind: 'neighbor-advertisement';
  readonly router: boolean;
  readonly solicited: boolean;
  readonly override: boolean;
  readonly target: Ipv6Address;
  readonly targetLinkAddr?: MacAddress | undefined;
}

export type NdiscRepr = RouterSolicitationRepr | RouterAdvertisementRepr | NeighborSolicitationRepr | NeighborAdvertisementRepr;

/** The options of one message, as far as this stack uses them. */
export interface NdiscOptions {
  sourceLinkAddr?: MacAddress | undefined;
  targetLinkAddr?: MacAddress | undefined;
  mtu?: number | undefined;
  nonce?: Uint8Array | undefined;
  prefixes: NdiscPrefixInfo[];
}

/**
 * Walks the options in b[start, end). Returns `undefined` for a zero length, an option past
 * the end, or a Prefix Information / MTU option of the wrong size ('ndisc-bad-option').
 */
export function parseNdiscOptions(b: Uint8Array, start: number, end: number): NdiscOptions | undefined {
  const options: NdiscOptions = { prefixes: [] };
  let i = start;
  while (i < end) {
    if (i + 2 > end) return undefined;
    const type = u8(b, i);
    const length = u8(b, i + 1) * 8;
    if (length === 0 || i + length > end) return undefined;
    switch (type) {
      case NDISC_OPT_SOURCE_LINK_ADDR:
        options.sourceLinkAddr ??= b.slice(i + 2, i + 2 + MAC_LEN);
        break;
      case NDISC_OPT_TARGET_LINK_ADDR:
        options.targetLinkAddr ??= b.slice(i + 2, i + 2 + MAC_LEN);
        break;
      case NDISC_OPT_PREFIX_INFO: {
        if (length !== PREFIX_OPTION_LEN) return undefined; // §4.6.2: Length 4
        const flags = u8(b, i + PI_FLAGS);
        options.prefixes.push({
          prefixLength: u8(b, i + PI_PREFIX_LENGTH),
          onLink: (flags & PI_FLAG_ON_LINK) !== 0,
          autonomous: (flags & PI_FLAG_AUTONOMOUS) !== 0,
          validLifetime: u32be(b, i + PI_VALID_LIFETIME),
          preferredLifetime: u32be(b, i + PI_PREFERRED_LIFETIME),
          prefix: b.slice(i + PI_PREFIX, i + PI_PREFIX + IPV6_LEN),
        });
        break;
      }
      case NDISC_OPT_MTU:
        if (length !== MTU_OPTION_LEN) return undefined; // §4.6.4: Length 1
        options.mtu ??= u32be(b, i + MTU_VALUE);
        break;
      case NDISC_OPT_NONCE:
        options.nonce ??= b.slice(i + 2, i + length);
        break;
      default:
        break; // §4.6: unknown options are ignored
    }
    i += length;
  }
  return options;
}

/** Body parsers: `b` is the whole ICMPv6 message, whose fixed length the caller has checked. */
export function readRouterSolicitation(_b: Uint8Array, options: NdiscOptions): RouterSolicitationRepr {
  return { kind: 'router-solicitation', sourceLinkAddr: options.sourceLinkAddr };
}

export function readRouterAdvertisement(b: Uint8Array, options: NdiscOptions): RouterAdvertisementRepr {
  const flags = u8(b, RA_FLAGS);
  return {
    kind: 'router-advertisement',
    curHopLimit: u8(b, RA_CUR_HOP_LIMIT),
    managed: (flags & RA_FLAG_MANAGED) !== 0,
    other: (flags & RA_FLAG_OTHER) !== 0,
    routerLifetime: u16be(b, RA_ROUTER_LIFETIME),
    reachableTime: u32be(b, RA_REACHABLE_TIME),
    retransTimer: u32be(b, RA_RETRANS_TIMER),
    sourceLinkAddr: options.sourceLinkAddr,
    mtu: options.mtu,
    prefixes: options.prefixes,
  };
}

export function readNeighborSolicitation(b: Uint8Array, options: NdiscOptions): NeighborSolicitationRepr {
  return {
    kind: 'neighbor-solicitation',
    target: b.slice(NS_NA_TARGET, NS_NA_TARGET + IPV6_LEN),
    sourceLinkAddr: options.sourceLinkAddr,
    nonce: options.nonce,
  };
}

export function readNeighborAdvertisement(b: Uint8Array, options: NdiscOptions): NeighborAdvertisementRepr {
  const flags = u8(b, NA_FLAGS);
  return {
    kind: 'neighbor-advertisement',
    router: (flags & NA_FLAG_ROUTER) !== 0,
    solicited: (flags & NA_FLAG_SOLICITED) !== 0,
    override: (flags & NA_FLAG_OVERRIDE) !== 0,
    target: b.slice(NS_NA_TARGET, NS_NA_TARGET + IPV6_LEN),
    targetLinkAddr: options.targetLinkAddr,
  };
}

/** Bytes the message takes, ICMPv6 header included. */
export function ndiscLength(repr: NdiscRepr): number {
  switch (repr.kind) {
    case 'router-solicitation':
      return NDISC_RS_LEN + (repr.sourceLinkAddr !== undefined ? LINK_ADDR_OPTION_LEN : 0);
    case 'router-advertisement':
      return (
        NDISC_RA_LEN +
        (repr.sourceLinkAddr !== undefined ? LINK_ADDR_OPTION_LEN : 0) +
        (repr.mtu !== undefined ? MTU_OPTION_LEN : 0) +
        repr.prefixes.length * PREFIX_OPTION_LEN
      );
    case 'neighbor-solicitation':
      return NDISC_NS_LEN + (repr.sourceLinkAddr !== undefined ? LINK_ADDR_OPTION_LEN : 0) + (repr.nonce !== undefined ? nonceOptionLength(repr.nonce) : 0);
    case 'neighbor-advertisement':
      return NDISC_NA_LEN + (repr.targetLinkAddr !== undefined ? LINK_ADDR_OPTION_LEN : 0);
  }
}

/** A nonce option is padded with zeros to a multiple of 8 bytes. */
function nonceOptionLength(nonce: Uint8Array): number {
  return (2 + nonce.length + 7) & ~7;
}

function writeLinkAddrOption(type: number, mac: MacAddress, out: Uint8Array, off: number): number {
  out[off] = type;
  out[off + 1] = LINK_ADDR_OPTION_LEN / 8;
  out.set(mac.subarray(0, MAC_LEN), off + 2);
  return LINK_ADDR_OPTION_LEN;
}

/**
 * Writes the body of `repr` after the 4-byte ICMPv6 type/code/checksum at out[off] (the caller
 * writes those and has checked the room). Reserved fields are zero. Returns the message length.
 */
export function writeNdiscBody(repr: NdiscRepr, out: Uint8Array, off: number): number {
  let i: number;
  switch (repr.kind) {
    case 'router-solicitation':
      put32be(out, off + F_RESERVED, 0);
      i = off + NDISC_RS_LEN;
      if (repr.sourceLinkAddr !== undefined) i += writeLinkAddrOption(NDISC_OPT_SOURCE_LINK_ADDR, repr.sourceLinkAddr, out, i);
      break;
    case 'router-advertisement':
      out[off + RA_CUR_HOP_LIMIT] = repr.curHopLimit;
      out[off + RA_FLAGS] = (repr.managed ? RA_FLAG_MANAGED : 0) | (repr.other ? RA_FLAG_OTHER : 0);
      put16be(out, off + RA_ROUTER_LIFETIME, repr.routerLifetime);
      put32be(out, off + RA_REACHABLE_TIME, repr.reachableTime);
      put32be(out, off + RA_RETRANS_TIMER, repr.retransTimer);
      i = off + NDISC_RA_LEN;
      if (repr.sourceLinkAddr !== undefined) i += writeLinkAddrOption(NDISC_OPT_SOURCE_LINK_ADDR, repr.sourceLinkAddr, out, i);
      if (repr.mtu !== undefined) {
        out[i] = NDISC_OPT_MTU;
        out[i + 1] = MTU_OPTION_LEN / 8;
        put16be(out, i + MTU_RESERVED, 0);
        put32be(out, i + MTU_VALUE, repr.mtu);
        i += MTU_OPTION_LEN;
      }
      for (const p of repr.prefixes) {
        out[i] = NDISC_OPT_PREFIX_INFO;
        out[i + 1] = PREFIX_OPTION_LEN / 8;
        out[i + PI_PREFIX_LENGTH] = p.prefixLength;
        out[i + PI_FLAGS] = (p.onLink ? PI_FLAG_ON_LINK : 0) | (p.autonomous ? PI_FLAG_AUTONOMOUS : 0);
        put32be(out, i + PI_VALID_LIFETIME, p.validLifetime);
        put32be(out, i + PI_PREFERRED_LIFETIME, p.preferredLifetime);
        put32be(out, i + PI_RESERVED2, 0);
        out.set(p.prefix.subarray(0, IPV6_LEN), i + PI_PREFIX);
        i += PREFIX_OPTION_LEN;
      }
      break;
    case 'neighbor-solicitation':
      put32be(out, off + F_RESERVED, 0);
      out.set(repr.target.subarray(0, IPV6_LEN), off + NS_NA_TARGET);
      i = off + NDISC_NS_LEN;
      if (repr.sourceLinkAddr !== undefined) i += writeLinkAddrOption(NDISC_OPT_SOURCE_LINK_ADDR, repr.sourceLinkAddr, out, i);
      if (repr.nonce !== undefined) {
        const length = nonceOptionLength(repr.nonce);
        out[i] = NDISC_OPT_NONCE;
        out[i + 1] = length / 8;
        out.fill(0, i + 2, i + length);
        out.set(repr.nonce, i + 2);
        i += length;
      }
      break;
    case 'neighbor-advertisement':
      put32be(out, off + F_RESERVED, 0);
      out[off + NA_FLAGS] = (repr.router ? NA_FLAG_ROUTER : 0) | (repr.solicited ? NA_FLAG_SOLICITED : 0) | (repr.override ? NA_FLAG_OVERRIDE : 0);
      out.set(repr.target.subarray(0, IPV6_LEN), off + NS_NA_TARGET);
      i = off + NDISC_NA_LEN;
      if (repr.targetLinkAddr !== undefined) i += writeLinkAddrOption(NDISC_OPT_TARGET_LINK_ADDR, repr.targetLinkAddr, out, i);
      break;
  }
  return i - off;
}
