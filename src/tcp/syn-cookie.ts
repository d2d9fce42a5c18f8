/**
 * SYN cookies, in the Linux scheme (net/ipv4/syncookies.c), used by the host when its SYN
 * backlog is full: the listener keeps no state for a SYN; it encodes what it must remember in
 * its own initial sequence number (and, with timestamps, in the low bits of its TSval), and
 * rebuilds the connection from the returning ACK.
 *
 *   cookie = H0(tuple) + peerIsn + (count << 24) + ((H1(tuple, count) + mssIndex) mod 2^24)
 *
 * `count` is a minute counter from the clock; H0 and H1 are SipHash-2-4 under the secret. A
 * cookie is valid for the minute it was made and the next one (Linux MAX_SYNCOOKIE_AGE = 2);
 * a forged cookie passes with probability about 4 / 2^24. Window scale and SACK-permitted can
 * only survive when timestamps are on: they travel in the low six bits of our TSval, which the
 * peer echoes (Linux `cookie_init_timestamp`/`cookie_timestamp_decode`); without timestamps a
 * cookie connection runs without them, and its SYN-ACK must not offer them.
 */
import { seq, seqAdd, type Seq } from '../wire/seq.js';
import { TCP_ACK, TCP_RST, TCP_SYN, type TcpOptions, type TcpRepr } from '../wire/tcp.js';
import { chooseWindowScale, clampWindowScale } from './negotiation.js';
import { sipHash24, sipKey } from './siphash.js';
import type { TcpConfig } from './types.js';

/** MSS values a cookie can carry (Linux msstab / msstab for IPv6). */
export const SYN_COOKIE_MSS_IPV4: readonly number[] = Object.freeze([536, 1300, 1440, 1460]);
export const SYN_COOKIE_MSS_IPV6: readonly number[] = Object.freeze([1220, 1400, 1440, 1460]);

const COOKIE_BITS = 24;
const COOKIE_MASK = (1 << COOKIE_BITS) - 1;
/** A cookie is accepted in the minute it was made and the next (Linux MAX_SYNCOOKIE_AGE). */
const MAX_COOKIE_AGE = 2;
const MINUTE_MS = 60_000;
/** Low TSval bits that carry options (Linux TSBITS = 6). */
const TS_BITS = 6;
const TS_OPT_WSCALE_MASK = 0x0f;
const TS_OPT_SACK = 0x10;

export interface SynCookieTuple {
  readonly localAddr: Uint8Array;
  readonly localPort: number;
  readonly remoteAddr: Uint8Array;
  readonly remotePort: number;
}

/** The subset of the configuration a cookie depends on. */
export type SynCookieConfig = Pick<TcpConfig, 'mss' | 'defaultPeerMss' | 'rcvBufSize' | 'windowScaling' | 'sack' | 'timestamps' | 'ticksPerSecond'>;

/** What the listener puts in its SYN-ACK for a cookie. */
export interface SynCookie {
  /** Our initial sequence number: the cookie itself. */
  readonly iss: Seq;
  /** The peer MSS the cookie remembers (the largest table entry not above what the peer offered). */
  readonly peerMss: number;
  /** The TSval of the SYN-ACK, carrying window scale and SACK-permitted; undefined without timestamps. */
  readonly tsVal: number | undefined;
  /** Whether the SYN-ACK offers window scaling and SACK (only possible with timestamps). */
  readonly windowScaling: boolean;
  readonly sackPermitted: boolean;
}

/** What a valid cookie ACK gives back: the arguments of `TcpConnection.fromSynCookie`. */
export interface SynCookieDecoded {
  readonly iss: Seq;
  readonly irs: Seq;
  readonly peerMss: number;
  readonly peerWindowScale: number | undefined;
  readonly sackPermitted: boolean;
  readonly tsRecent: number | undefined;
}

/** The timestamp clock a cookie connection uses: ticks of `ticksPerSecond` from the clock, no offset. */
export function cookieTsClock(nowMs: number, ticksPerSecond: number): number {
  return Math.floor((nowMs * ticksPerSecond) / 1000) % 0x100000000;
}

/** Builds the cookie for a received SYN. `secret` is 16 bytes. */
export function encodeSynCookie(secret: Uint8Array, nowMs: number, tuple: SynCookieTuple, syn: TcpRepr, config: SynCookieConfig): SynCookie {
  const table = mssTable(tuple);
  const offered = syn.options.mss ?? config.defaultPeerMss;
  let index = 0;
  for (let i = table.length - 1; i >= 0; i--) {
    if ((table[i] as number) <= offered) {
      index = i;
      break;
    }
  }
  const count = minuteCounter(nowMs);
  const h0 = cookieHash(secret, tuple, 0, 0);
  const h1 = cookieHash(secret, tuple, count, 1);
  const iss = seq(h0 + syn.seqNumber + ((count << COOKIE_BITS) >>> 0) + ((h1 + index) & COOKIE_MASK));
  const timestamps = config.timestamps && syn.options.timestamps !== undefined;
  const windowScaling = timestamps && config.windowScaling && syn.options.windowScale !== undefined;
  const sackPermitted = timestamps && config.sack && syn.options.sackPermitted === true;
  let tsVal: number | undefined;
  if (timestamps) {
    let opts = windowScaling ? clampWindowScale(syn.options.windowScale ?? 0) : TS_OPT_WSCALE_MASK;
    if (sackPermitted) opts |= TS_OPT_SACK;
    const now = cookieTsClock(nowMs, config.ticksPerSecond);
    let ts = (((now >>> TS_BITS) << TS_BITS) | opts) >>> 0;
    // Never put a TSval ahead of the clock the connection will continue from (Linux does the same).
    if (((ts - now) | 0) > 0) ts = (ts - (1 << TS_BITS)) >>> 0;
    tsVal = ts;
  }
  return { iss, peerMss: table[index] as number, tsVal, windowScaling, sackPermitted };
}

/**
 * The SYN-ACK a listener sends for a cookie: what a connection built with `fromSynCookie` will
 * honour (the same receive window scale, the same options).
 */
export function synCookieSynAck(
  config: SynCookieConfig,
  syn: TcpRepr,
  cookie: SynCookie,
): { seqNumber: Seq; ackNumber: Seq; flags: number; windowLen: number; options: TcpOptions } {
  const options: TcpOptions = {
    mss: config.mss,
    windowScale: cookie.windowScaling ? chooseWindowScale(config.rcvBufSize) : undefined,
    sackPermitted: cookie.sackPermitted ? true : undefined,
    timestamps: cookie.tsVal !== undefined ? { tsVal: cookie.tsVal, tsEcr: syn.options.timestamps?.tsVal ?? 0 } : undefined,
  };
  return {
    seqNumber: cookie.iss,
    ackNumber: seqAdd(syn.seqNumber, 1),
    flags: TCP_SYN | TCP_ACK,
    windowLen: Math.min(config.rcvBufSize, 0xffff),
    options,
  };
}

/**
 * Checks the ACK that completes a cookie handshake. Returns undefined for anything but a plain
 * ACK carrying a cookie made with this secret in this or the previous minute.
 */
export function decodeSynCookie(
  secret: Uint8Array,
  nowMs: number,
  tuple: SynCookieTuple,
  ack: TcpRepr,
  config: SynCookieConfig,
): SynCookieDecoded | undefined {
  if ((ack.flags & (TCP_ACK | TCP_SYN | TCP_RST)) !== TCP_ACK) return undefined;
  const iss = seqAdd(ack.ackNumber, -1);
  const irs = seqAdd(ack.seqNumber, -1);
  const count = minuteCounter(nowMs);
  const c = (iss - cookieHash(secret, tuple, 0, 0) - irs) >>> 0;
  const age = (count - (c >>> COOKIE_BITS)) & (0xffffffff >>> COOKIE_BITS);
  if (age >= MAX_COOKIE_AGE) return undefined;
  const index = (c - cookieHash(secret, tuple, (count - age) >>> 0, 1)) & COOKIE_MASK;
  const table = mssTable(tuple);
  if (index >= table.length) return undefined;
  const ts = ack.options.timestamps;
  let peerWindowScale: number | undefined;
  let sackPermitted = false;
  let tsRecent: number | undefined;
  if (ts !== undefined && config.timestamps) {
    const opts = ts.tsEcr & ((1 << TS_BITS) - 1);
    sackPermitted = config.sack && (opts & TS_OPT_SACK) !== 0;
    const ws = opts & TS_OPT_WSCALE_MASK;
    if (ws !== TS_OPT_WSCALE_MASK && config.windowScaling) peerWindowScale = ws;
    tsRecent = ts.tsVal;
  }
  return { iss, irs, peerMss: table[index] as number, peerWindowScale, sackPermitted, tsRecent };
}

function mssTable(tuple: SynCookieTuple): readonly number[] {
  return tuple.localAddr.length === 16 ? SYN_COOKIE_MSS_IPV6 : SYN_COOKIE_MSS_IPV4;
}

function minuteCounter(nowMs: number): number {
  return Math.floor(nowMs / MINUTE_MS) >>> 0;
}

const hashOut = new Uint32Array(2);

/** SipHash-2-4 over (addresses, ports, count, which) under the secret, low 32 bits. */
function cookieHash(secret: Uint8Array, tuple: SynCookieTuple, count: number, which: number): number {
  const a = tuple.localAddr.length + tuple.remoteAddr.length;
  const msg = new Uint8Array(a + 9);
  msg.set(tuple.localAddr, 0);
  msg.set(tuple.remoteAddr, tuple.localAddr.length);
  msg[a] = tuple.localPort >>> 8;
  msg[a + 1] = tuple.localPort;
  msg[a + 2] = tuple.remotePort >>> 8;
  msg[a + 3] = tuple.remotePort;
  msg[a + 4] = count >>> 24;
  msg[a + 5] = count >>> 16;
  msg[a + 6] = count >>> 8;
  msg[a + 7] = count;
  msg[a + 8] = which;
  sipHash24(sipKey(secret), msg, hashOut);
  return hashOut[0] as number;
}
