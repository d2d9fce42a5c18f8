/**
 * ICMP for IPv4 (RFC 792, RFC 1191 for "fragmentation needed" with the next-hop MTU, RFC 1122
 * §3.2.2 for host rules): a discriminated repr per message kind, a total parser and an emitter.
 * Messages this stack does not interpret are kept as `other` with their raw bytes, so they can
 * be counted, traced and round-tripped.
 */
import { ensureRoom, put16be, u16be, u8 } from './bytes.js';
import { finishChecksum, fold16, sum16 } from './checksum.js';
import type { DropReason } from './drop-reason.js';
import { err, ok, type Result } from './result.js';

export const ICMP_HEADER_LEN = 8;

/** Types (RFC 792, IANA "ICMP Type Numbers"). */
export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACHABLE = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETER_PROBLEM = 12;
export const ICMP_TIMESTAMP = 13;
export const ICMP_TIMESTAMP_REPLY = 14;

/** Destination Unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1). */
export const ICMP_UNREACH_NET = 0;
export const ICMP_UNREACH_HOST = 1;
export const ICMP_UNREACH_PROTOCOL = 2;
export const ICMP_UNREACH_PORT = 3;
/** Fragmentation needed and DF set; carries the next-hop MTU (RFC 1191 §4). */
export const ICMP_UNREACH_NEEDFRAG = 4;
export const ICMP_UNREACH_SRCFAIL = 5;
export const ICMP_UNREACH_NET_UNKNOWN = 6;
export const ICMP_UNREACH_HOST_UNKNOWN = 7;
export const ICMP_UNREACH_ISOLATED = 8;
export const ICMP_UNREACH_NET_PROHIB = 9;
export const ICMP_UNREACH_HOST_PROHIB = 10;
export const ICMP_UNREACH_TOSNET = 11;
export const ICMP_UNREACH_TOSHOST = 12;
export const ICMP_UNREACH_FILTER_PROHIB = 13;
export const ICMP_UNREACH_HOST_PRECEDENCE = 14;
export const ICMP_UNREACH_PRECEDENCE_CUTOFF = 15;

/** Time Exceeded codes (RFC 792). */
export const ICMP_TIMXCEED_INTRANS = 0;
export const ICMP_TIMXCEED_REASS = 1;

/** Parameter Problem codes (RFC 792, RFC 1108). */
export const ICMP_PARAMPROB_POINTER = 0;
export const ICMP_PARAMPROB_OPTABSENT = 1;
export const ICMP_PARAMPROB_LENGTH = 2;

/** RFC 1812 §4.3.2.3 (followed by Linux for hosts too): an ICMP error datagram is at most 576 bytes. */
export const ICMP_ERROR_MAX_DATAGRAM = 576;

const F_TYPE = 0;
const F_CODE = 1;
const F_CHECKSUM = 2;
const F_IDENTIFIER = 4;
const F_SEQUENCE = 6;
const F_POINTER = 4;
const F_NEXT_HOP_MTU = 6;
const F_REST = 4;
/** The four type-specific bytes after the checksum; unused ones are sent as zero. */
const F_UNUSED = 4;

export type IcmpRepr =
  | { readonly kind: 'echo-request' | 'echo-reply'; readonly identifier: number; readonly sequence: number; readonly data: Uint8Array }
  | {
      readonly kind: 'dest-unreachable';
      readonly code: number;
      /** The next-hop MTU of RFC 1191 §4; meaningful for code 4, zero otherwise ("unused"). */
      readonly nextHopMtu: number;
      /** The quoted invoking datagram: its IP header and leading payload bytes. */
      readonly invoking: Uint8Array;
    }
  | { readonly kind: 'time-exceeded'; readonly code: number; readonly invoking: Uint8Array }
  | { readonly kind: 'parameter-problem'; readonly code: number; readonly pointer: number; readonly invoking: Uint8Array }
  /** Any other type; `rest` is everything after the checksum (the 4 type-specific bytes and the body). */
  | { readonly kind: 'other'; readonly type: number; readonly code: number; readonly rest: Uint8Array };

/** Zero-copy accessors over a message whose length `checkIcmp` has established. */
export class IcmpView {
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
  get pointer(): number {
    return u8(this.bytes, F_POINTER);
  }
  get nextHopMtu(): number {
    return u16be(this.bytes, F_NEXT_HOP_MTU);
  }
  /** Echo data or the quoted invoking datagram. */
  get body(): Uint8Array {
    return this.bytes.subarray(ICMP_HEADER_LEN);
  }
  verifyChecksum(): boolean {
    return fold16(sum16(this.bytes, 0, this.bytes.length)) === 0xffff;
  }
}

/** Every ICMP message has the 8-byte header (RFC 792). */
export function checkIcmp(bytes: Uint8Array): DropReason | undefined {
  return bytes.length < ICMP_HEADER_LEN ? 'icmp-truncated' : undefined;
}

export interface IcmpParseContext {
  /** Verify the checksum (default true). */
  readonly verifyChecksum?: boolean | undefined;
}

/**
 * Parses an ICMP message (the whole IPv4 payload). Echo with a non-zero code, and codes not
 * defined for Destination Unreachable, Time Exceeded or Parameter Problem, are 'icmp-bad-code'.
 */
export function parseIcmp(bytes: Uint8Array, ctx: IcmpParseContext = {}): Result<IcmpRepr, DropReason> {
  const bad = checkIcmp(bytes);
  if (bad !== undefined) return err(bad);
  const view = new IcmpView(bytes);
  if (ctx.verifyChecksum !== false && !view.verifyChecksum()) return err('icmp-bad-checksum');
  const type = view.type;
  const code = view.code;
  switch (type) {
    case ICMP_ECHO_REQUEST:
    case ICMP_ECHO_REPLY:
      if (code !== 0) return err('icmp-bad-code'); // RFC 792: code 0
      return ok({
        kind: type === ICMP_ECHO_REQUEST ? 'echo-request' : 'echo-reply',
        identifier: view.identifier,
        sequence: view.sequence,
        data: view.body,
      });
    case ICMP_DEST_UNREACHABLE:
      if (code > ICMP_UNREACH_PRECEDENCE_CUTOFF) return err('icmp-bad-code');
      return ok({ kind: 'dest-unreachable', code, nextHopMtu: view.nextHopMtu, invoking: view.body });
    case ICMP_TIME_EXCEEDED:
      if (code > ICMP_TIMXCEED_REASS) return err('icmp-bad-code');
      return ok({ kind: 'time-exceeded', code, invoking: view.body });
    case ICMP_PARAMETER_PROBLEM:
      if (code > ICMP_PARAMPROB_LENGTH) return err('icmp-bad-code');
      return ok({ kind: 'parameter-problem', code, pointer: view.pointer, invoking: view.body });
    default:
      return ok({ kind: 'other', type, code, rest: bytes.subarray(F_REST) });
  }
}

/** True for the error kinds, which quote an invoking datagram (RFC 1122 §3.2.2: never answer an error with an error). */
export function isIcmpError(repr: IcmpRepr): boolean {
  switch (repr.kind) {
    case 'dest-unreachable':
    case 'time-exceeded':
    case 'parameter-problem':
      return true;
    case 'other':
      return repr.type === ICMP_SOURCE_QUENCH || repr.type === ICMP_REDIRECT;
    default:
      return false;
  }
}

/** Bytes `emitIcmp` writes for `repr`. */
export function icmpLength(repr: IcmpRepr): number {
  switch (repr.kind) {
    case 'echo-request':
    case 'echo-reply':
      return ICMP_HEADER_LEN + repr.data.length;
    case 'dest-unreachable':
    case 'time-exceeded':
    case 'parameter-problem':
      return ICMP_HEADER_LEN + repr.invoking.length;
    case 'other':
      return F_REST + repr.rest.length;
  }
}

/**
 * Writes `repr` at out[off] and returns the bytes written. Unused fields are zero. The
 * checksum is computed unless `computeChecksum` is false (then it is zero). Throws RangeError
 * on a short buffer.
 */
export function emitIcmp(repr: IcmpRepr, out: Uint8Array, off: number, computeChecksum = true): number {
  const length = icmpLength(repr);
  ensureRoom(out, off, length, 'emitIcmp');
  put16be(out, off + F_CHECKSUM, 0);
  switch (repr.kind) {
    case 'echo-request':
    case 'echo-reply':
      out[off + F_TYPE] = repr.kind === 'echo-request' ? ICMP_ECHO_REQUEST : ICMP_ECHO_REPLY;
      out[off + F_CODE] = 0;
      put16be(out, off + F_IDENTIFIER, repr.identifier);
      put16be(out, off + F_SEQUENCE, repr.sequence);
      out.set(repr.data, off + ICMP_HEADER_LEN);
      break;
    case 'dest-unreachable':
      out[off + F_TYPE] = ICMP_DEST_UNREACHABLE;
      out[off + F_CODE] = repr.code;
      put16be(out, off + F_UNUSED, 0);
      put16be(out, off + F_NEXT_HOP_MTU, repr.nextHopMtu);
      out.set(repr.invoking, off + ICMP_HEADER_LEN);
      break;
    case 'time-exceeded':
      out[off + F_TYPE] = ICMP_TIME_EXCEEDED;
      out[off + F_CODE] = repr.code;
      out.fill(0, off + F_UNUSED, off + ICMP_HEADER_LEN);
      out.set(repr.invoking, off + ICMP_HEADER_LEN);
      break;
    case 'parameter-problem':
      out[off + F_TYPE] = ICMP_PARAMETER_PROBLEM;
      out[off + F_CODE] = repr.code;
      out[off + F_POINTER] = repr.pointer;
      out.fill(0, off + F_POINTER + 1, off + ICMP_HEADER_LEN);
      out.set(repr.invoking, off + ICMP_HEADER_LEN);
      break;
    case 'other':
      out[off + F_TYPE] = repr.type;
      out[off + F_CODE] = repr.code;
      out.set(repr.rest, off + F_REST);
      break;
  }
  if (computeChecksum) put16be(out, off + F_CHECKSUM, finishChecksum(sum16(out, off, length)));
  return length;
}

/**
 * The part of an offending datagram an ICMP error quotes: as much as fits in a 576-byte error
 * datagram (RFC 1812 §4.3.2.3, as Linux's icmp_send), and never less than RFC 792's IP header
 * plus 64 bits when the datagram has them. `errorIpHeaderLength` is the header the error itself
 * will carry (20 without options).
 */
export function icmpErrorQuote(datagram: Uint8Array, errorIpHeaderLength = 20): Uint8Array {
  return datagram.subarray(0, Math.min(datagram.length, ICMP_ERROR_MAX_DATAGRAM - errorIpHeaderLength - ICMP_HEADER_LEN));
}
