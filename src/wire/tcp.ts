/**
 * TCP header and options (RFC 9293 §3.1, RFC 7323, RFC 2018): a zero-copy view, a plain
 * repr, a total parser and an emitter that writes into the caller's buffer.
 */
import { put16be, put32be, u16be, u32be, u8, ensureRoom } from './bytes.js';
import { finishChecksum, fold16, sum16 } from './checksum.js';
import type { DropReason } from './drop-reason.js';
import { err, ok, type Result } from './result.js';
import { seq, type Seq } from './seq.js';

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

export const TCP_HEADER_LEN = 20;
export const TCP_MAX_OPTIONS_LEN = 40;
export const TCP_MAX_HEADER_LEN = TCP_HEADER_LEN + TCP_MAX_OPTIONS_LEN;

/** Option kinds (IANA "TCP Option Kind Numbers"). */
export const TCP_OPT_EOL = 0;
export const TCP_OPT_NOP = 1;
export const TCP_OPT_MSS = 2;
export const TCP_OPT_WINDOW_SCALE = 3;
export const TCP_OPT_SACK_PERMITTED = 4;
export const TCP_OPT_SACK = 5;
export const TCP_OPT_TIMESTAMPS = 8;

/** RFC 7323 §2.3: a shift count above 14 is treated as 14. The parser keeps the raw value. */
export const TCP_MAX_WINDOW_SCALE = 14;

/** Field offsets inside the fixed header. */
const F_SRC_PORT = 0;
const F_DST_PORT = 2;
const F_SEQ = 4;
const F_ACK = 8;
const F_DATA_OFFSET = 12;
const F_FLAGS = 13;
const F_WINDOW = 14;
const F_CHECKSUM = 16;
const F_URGENT = 18;

export interface TcpTimestamps {
  readonly tsVal: number;
  readonly tsEcr: number;
}

export interface TcpSackBlock {
  readonly left: Seq;
  readonly right: Seq;
}

/** An option this codec does not interpret; kept so it survives a parse/emit round trip. */
export interface TcpUnknownOption {
  readonly kind: number;
  readonly data: Uint8Array;
}

/** TCP options; `undefined` means absent. */
export interface TcpOptions {
  readonly mss?: number | undefined;
  /** Raw shift count as received (may exceed 14; the engine clamps, RFC 7323 §2.3). */
  readonly windowScale?: number | undefined;
  readonly sackPermitted?: boolean | undefined;
  readonly sackBlocks?: readonly TcpSackBlock[] | undefined;
  readonly timestamps?: TcpTimestamps | undefined;
  readonly unknown?: readonly TcpUnknownOption[] | undefined;
  /**
   * Known options skipped because their length was wrong for their kind (an MSS of length 3,
   * a SACK of 2 + 8n + 6 bytes). Linux tcp_parse_options skips them and processes the segment;
   * so does this parser, and the host counts them. Parse side only; the emitter ignores it.
   */
  readonly ignoredBadOptions?: number | undefined;
}

export const NO_TCP_OPTIONS: TcpOptions = Object.freeze({});

/** A parsed or to-be-emitted TCP segment. `payload` is a view; it aliases the frame it came from. */
export interface TcpRepr {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seqNumber: Seq;
  readonly ackNumber: Seq;
  /** Bitwise OR of TCP_FIN..TCP_CWR. The three reserved bits are not represented. */
  readonly flags: number;
  /** The raw 16-bit window field (before any window scaling). */
  readonly windowLen: number;
  readonly urgentPointer: number;
  readonly options: TcpOptions;
  readonly payload: Uint8Array;
}

/** Zero-copy accessors over a TCP header whose length `checkTcp` has established. */
export class TcpView {
  constructor(readonly bytes: Uint8Array) {}
  get srcPort(): number {
    return u16be(this.bytes, F_SRC_PORT);
  }
  get dstPort(): number {
    return u16be(this.bytes, F_DST_PORT);
  }
  get seqNumber(): Seq {
    return seq(u32be(this.bytes, F_SEQ));
  }
  get ackNumber(): Seq {
    return seq(u32be(this.bytes, F_ACK));
  }
  get headerLen(): number {
    return (u8(this.bytes, F_DATA_OFFSET) >>> 4) * 4;
  }
  get flags(): number {
    return u8(this.bytes, F_FLAGS);
  }
  get windowLen(): number {
    return u16be(this.bytes, F_WINDOW);
  }
  get checksum(): number {
    return u16be(this.bytes, F_CHECKSUM);
  }
  get urgentPointer(): number {
    return u16be(this.bytes, F_URGENT);
  }
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLen);
  }
}

/** Establishes every bound the accessors rely on: a full fixed header and a data offset inside the segment. */
export function checkTcp(bytes: Uint8Array): DropReason | undefined {
  if (bytes.length < TCP_HEADER_LEN) return 'tcp-truncated';
  const headerLen = (u8(bytes, F_DATA_OFFSET) >>> 4) * 4;
  if (headerLen < TCP_HEADER_LEN) return 'tcp-bad-data-offset';
  if (headerLen > bytes.length) return 'tcp-truncated';
  return undefined;
}

/** How a parser treats the checksum: verify against a pseudo-header sum, or trust it (offload or already verified). */
export interface TcpParseContext {
  /** Unfolded pseudo-header sum (checksum.ts `pseudoHeaderSumV4/V6`); `undefined` skips verification. */
  readonly pseudoHeaderSum?: number | undefined;
}

/**
 * Parses one TCP segment (the whole IP payload). Total: every malformed input gives a named
 * drop reason. Checks the checksum when a pseudo-header sum is supplied.
 */
export function parseTcp(bytes: Uint8Array, ctx: TcpParseContext = {}): Result<TcpRepr, DropReason> {
  const bad = checkTcp(bytes);
  if (bad !== undefined) return err(bad);
  if (ctx.pseudoHeaderSum !== undefined) {
    if (fold16(sum16(bytes, 0, bytes.length, ctx.pseudoHeaderSum)) !== 0xffff) return err('tcp-bad-checksum');
  }
  const srcPort = u16be(bytes, F_SRC_PORT);
  const dstPort = u16be(bytes, F_DST_PORT);
  if (srcPort === 0 || dstPort === 0) return err('tcp-bad-port');
  const headerLen = (u8(bytes, F_DATA_OFFSET) >>> 4) * 4;
  const options = headerLen > TCP_HEADER_LEN ? parseTcpOptions(bytes, TCP_HEADER_LEN, headerLen) : NO_TCP_OPTIONS;
  if (options === undefined) return err('tcp-bad-option');
  return ok({
    srcPort,
    dstPort,
    seqNumber: seq(u32be(bytes, F_SEQ)),
    ackNumber: seq(u32be(bytes, F_ACK)),
    flags: u8(bytes, F_FLAGS),
    windowLen: u16be(bytes, F_WINDOW),
    urgentPointer: u16be(bytes, F_URGENT),
    options,
    payload: bytes.subarray(headerLen),
  });
}

/**
 * Parses the option area b[start, end). `undefined` when the area cannot be walked: an option
 * without its length byte, with a length below 2, or running past `end` (RFC 9293 §3.2 says
 * nothing of where the next option starts then). A known option whose length is wrong for its
 * kind but inside the area is skipped and counted in `ignoredBadOptions`, as Linux does.
 */
export function parseTcpOptions(b: Uint8Array, start: number, end: number): TcpOptions | undefined {
  let mss: number | undefined;
  let windowScale: number | undefined;
  let sackPermitted: boolean | undefined;
  let sackBlocks: TcpSackBlock[] | undefined;
  let timestamps: TcpTimestamps | undefined;
  let unknown: TcpUnknownOption[] | undefined;
  let ignoredBadOptions: number | undefined;
  let i = start;
  while (i < end) {
    const kind = u8(b, i);
    if (kind === TCP_OPT_EOL) break;
    if (kind === TCP_OPT_NOP) {
      i += 1;
      continue;
    }
    if (i + 1 >= end) return undefined;
    const len = u8(b, i + 1);
    if (len < 2 || i + len > end) return undefined;
    let wellFormed = true;
    switch (kind) {
      case TCP_OPT_MSS:
        if (len === 4) mss = u16be(b, i + 2);
        else wellFormed = false;
        break;
      case TCP_OPT_WINDOW_SCALE:
        if (len === 3) windowScale = u8(b, i + 2);
        else wellFormed = false;
        break;
      case TCP_OPT_SACK_PERMITTED:
        if (len === 2) sackPermitted = true;
        else wellFormed = false;
        break;
      case TCP_OPT_SACK: {
        const n = (len - 2) / 8;
        if (!Number.isInteger(n) || n < 1 || n > 4) {
          wellFormed = false;
          break;
        }
        sackBlocks = [];
        for (let k = 0; k < n; k++) {
          const o = i + 2 + k * 8;
          sackBlocks.push({ left: seq(u32be(b, o)), right: seq(u32be(b, o + 4)) });
        }
        break;
      }
      case TCP_OPT_TIMESTAMPS:
        if (len === 10) timestamps = { tsVal: u32be(b, i + 2), tsEcr: u32be(b, i + 6) };
        else wellFormed = false;
        break;
      default:
        (unknown ??= []).push({ kind, data: b.slice(i + 2, i + len) });
    }
    if (!wellFormed) ignoredBadOptions = (ignoredBadOptions ?? 0) + 1;
    i += len;
  }
  return { mss, windowScale, sackPermitted, sackBlocks, timestamps, unknown, ignoredBadOptions };
}

/** Bytes the options of `options` take when emitted, padded to a multiple of four. */
export function tcpOptionsLength(options: TcpOptions): number {
  let n = 0;
  if (options.mss !== undefined) n += 4;
  if (options.timestamps !== undefined) n += 12; // SACK-permitted shares the two pad bytes of NOP NOP TS
  else if (options.sackPermitted) n += 4;
  if (options.windowScale !== undefined) n += 4;
  if (options.sackBlocks !== undefined && options.sackBlocks.length > 0) n += 4 + 8 * options.sackBlocks.length;
  if (options.unknown !== undefined) for (const u of options.unknown) n += 2 + u.data.length;
  return (n + 3) & ~3;
}

/** Header length (fixed part plus options) that `emitTcpHeader` writes for `repr`. */
export function tcpHeaderLength(repr: Pick<TcpRepr, 'options'>): number {
  return TCP_HEADER_LEN + tcpOptionsLength(repr.options);
}

/** Total segment length: header plus payload. */
export function tcpLength(repr: TcpRepr): number {
  return tcpHeaderLength(repr) + repr.payload.length;
}

/**
 * Writes the header (with options, checksum field zero) of `repr` at out[off]. Returns the
 * header length. The layout follows Linux's canonical order, so captures look familiar:
 * MSS, SACK-permitted+timestamps (or NOP NOP TS / NOP NOP SACK-permitted), NOP WS, NOP NOP SACK.
 * Throws RangeError when the options exceed 40 bytes or the buffer is short (programmer errors).
 */
export function emitTcpHeader(repr: Omit<TcpRepr, 'payload'>, out: Uint8Array, off: number): number {
  const o = repr.options;
  const optLen = tcpOptionsLength(o);
  if (optLen > TCP_MAX_OPTIONS_LEN) throw new RangeError(`TCP options need ${optLen} bytes, at most 40 fit`);
  const headerLen = TCP_HEADER_LEN + optLen;
  ensureRoom(out, off, headerLen, 'emitTcpHeader');
  put16be(out, off + F_SRC_PORT, repr.srcPort);
  put16be(out, off + F_DST_PORT, repr.dstPort);
  put32be(out, off + F_SEQ, repr.seqNumber);
  put32be(out, off + F_ACK, repr.ackNumber);
  out[off + F_DATA_OFFSET] = (headerLen / 4) << 4;
  out[off + F_FLAGS] = repr.flags & 0xff;
  put16be(out, off + F_WINDOW, repr.windowLen);
  put16be(out, off + F_CHECKSUM, 0);
  put16be(out, off + F_URGENT, repr.urgentPointer);
  let i = off + TCP_HEADER_LEN;
  if (o.mss !== undefined) {
    out[i] = TCP_OPT_MSS;
    out[i + 1] = 4;
    put16be(out, i + 2, o.mss);
    i += 4;
  }
  if (o.timestamps !== undefined) {
    if (o.sackPermitted) {
      out[i] = TCP_OPT_SACK_PERMITTED;
      out[i + 1] = 2;
    } else {
      out[i] = TCP_OPT_NOP;
      out[i + 1] = TCP_OPT_NOP;
    }
    out[i + 2] = TCP_OPT_TIMESTAMPS;
    out[i + 3] = 10;
    put32be(out, i + 4, o.timestamps.tsVal);
    put32be(out, i + 8, o.timestamps.tsEcr);
    i += 12;
  } else if (o.sackPermitted) {
    out[i] = TCP_OPT_NOP;
    out[i + 1] = TCP_OPT_NOP;
    out[i + 2] = TCP_OPT_SACK_PERMITTED;
    out[i + 3] = 2;
    i += 4;
  }
  if (o.windowScale !== undefined) {
    out[i] = TCP_OPT_NOP;
    out[i + 1] = TCP_OPT_WINDOW_SCALE;
    out[i + 2] = 3;
    out[i + 3] = o.windowScale;
    i += 4;
  }
  if (o.sackBlocks !== undefined && o.sackBlocks.length > 0) {
    out[i] = TCP_OPT_NOP;
    out[i + 1] = TCP_OPT_NOP;
    out[i + 2] = TCP_OPT_SACK;
    out[i + 3] = 2 + 8 * o.sackBlocks.length;
    i += 4;
    for (const block of o.sackBlocks) {
      put32be(out, i, block.left);
      put32be(out, i + 4, block.right);
      i += 8;
    }
  }
  if (o.unknown !== undefined) {
    for (const u of o.unknown) {
      out[i] = u.kind;
      out[i + 1] = 2 + u.data.length;
      out.set(u.data, i + 2);
      i += 2 + u.data.length;
    }
  }
  // Pad to the data offset with EOL (RFC 9293 §3.1: the header is zero-padded).
  while (i < off + headerLen) out[i++] = TCP_OPT_EOL;
  return headerLen;
}

/** What an emitter does with the checksum field. */
export type TcpChecksumMode =
  /** Compute the full checksum over pseudo-header, header and payload. */
  | { readonly kind: 'full'; readonly pseudoHeaderSum: number }
  /**
   * Leave the folded pseudo-header sum in the field for a device that finishes the checksum
   * (virtio-net NEEDS_CSUM / Linux CHECKSUM_PARTIAL).
   */
  | { readonly kind: 'partial'; readonly pseudoHeaderSum: number }
  /** Leave the field zero (tests of other fields). */
  | { readonly kind: 'none' };

/** Writes `repr` (header, options, payload) at out[off] and fills the checksum. Returns bytes written. */
export function emitTcp(repr: TcpRepr, out: Uint8Array, off: number, checksum: TcpChecksumMode): number {
  const headerLen = emitTcpHeader(repr, out, off);
  const total = headerLen + repr.payload.length;
  ensureRoom(out, off, total, 'emitTcp');
  out.set(repr.payload, off + headerLen);
  fillTcpChecksum(out, off, total, checksum);
  return total;
}

/** Fills the checksum field of the segment out[off, off+segmentLen) whose header and payload are in place. */
export function fillTcpChecksum(out: Uint8Array, off: number, segmentLen: number, checksum: TcpChecksumMode): void {
  switch (checksum.kind) {
    case 'full':
      put16be(out, off + F_CHECKSUM, 0);
      put16be(out, off + F_CHECKSUM, finishChecksum(sum16(out, off, segmentLen, checksum.pseudoHeaderSum)));
      return;
    case 'partial':
      put16be(out, off + F_CHECKSUM, fold16(checksum.pseudoHeaderSum));
      return;
    case 'none':
      put16be(out, off + F_CHECKSUM, 0);
      return;
  }
}

/** Offset of the checksum field inside a TCP header (for virtio-net csum_offset). */
export const TCP_CHECKSUM_OFFSET = F_CHECKSUM;

/** A short human-readable form, e.g. `[S.] 1000:1000(0) ack 1 win 65535`, for traces and test messages. */
export function formatTcpFlags(flags: number): string {
  let s = '';
  if (flags & TCP_SYN) s += 'S';
  if (flags & TCP_FIN) s += 'F';
  if (flags & TCP_RST) s += 'R';
  if (flags & TCP_PSH) s += 'P';
  if (flags & TCP_URG) s += 'U';
  if (flags & TCP_ECE) s += 'E';
  if (flags & TCP_CWR) s += 'W';
  if (flags & TCP_ACK) s += '.';
  return s === '' ? 'none' : s;
}
