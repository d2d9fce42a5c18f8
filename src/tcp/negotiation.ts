/**
 * Option negotiation rules shared by the engine and SYN cookies, so a connection built from a
 * cookie advertises exactly what the cookie's SYN-ACK promised.
 */
import { TCP_MAX_WINDOW_SCALE } from '../wire/tcp.js';

/** RFC 9293 §3.7.1: without an MSS option an IPv4 peer is assumed to take 536-byte segments. */
export const DEFAULT_PEER_MSS_IPV4 = 536;
/** RFC 9293 §3.7.1: the same for IPv6, 1280 − 60. */
export const DEFAULT_PEER_MSS_IPV6 = 1220;

/** Bytes of a timestamps option as sent on every segment (NOP NOP TS, RFC 7323 Appendix A). */
export const TIMESTAMPS_OPTION_LEN = 12;

/**
 * The receive window scale we offer for a receive buffer: the smallest shift that lets the
 * 16-bit window field describe the whole buffer (RFC 7323 §2.2), at most 14 (§2.3).
 */
export function chooseWindowScale(rcvBufSize: number): number {
  let shift = 0;
  while (shift < TCP_MAX_WINDOW_SCALE && rcvBufSize > 0xffff * 2 ** shift) shift++;
  return shift;
}

/** RFC 7323 §2.3: a received shift count above 14 is used as 14 (and may be logged). */
export function clampWindowScale(shift: number): number {
  return shift > TCP_MAX_WINDOW_SCALE ? TCP_MAX_WINDOW_SCALE : shift;
}
