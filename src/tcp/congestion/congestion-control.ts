/**
 * The congestion controller seen by the connection: it owns cwnd and ssthresh (bytes) and
 * reacts to the four events loss recovery distinguishes. Which segment to retransmit is the
 * connection's business (RFC 6675 / RFC 6582 mechanics); how much may be in flight is the
 * controller's. NewReno (RFC 5681 + RFC 6582) and CUBIC (RFC 9438) implement it.
 */
import type { CongestionControlName } from '../types.js';

export interface CongestionControl {
  readonly name: CongestionControlName;
  /** Congestion window in bytes (may be fractional inside; the connection floors it). */
  cwnd: number;
  /** Slow-start threshold in bytes. */
  ssthresh: number;
  /**
   * `acked` bytes of new data were cumulatively acknowledged outside fast recovery.
   * `cwndLimited` is false when the sender did not fill the window (then the window does not
   * grow: RFC 7661 §4.1, Linux `tcp_is_cwnd_limited`). `srttMs` is 0 before the first sample.
   */
  onAck(acked: number, mss: number, nowMs: number, srttMs: number, cwndLimited: boolean): void;
  /** Loss detected by duplicate ACKs or SACK: set ssthresh and cwnd for fast recovery (RFC 5681 §3.2 step 2). */
  onCongestionEvent(flightSize: number, mss: number, nowMs: number): void;
  /** Fast recovery ended with a full acknowledgment. */
  onRecoveryExit(flightSize: number, mss: number, nowMs: number): void;
  /**
   * The retransmission timer expired. `first` is false for a second or later timeout of the
   * same data, which must not lower ssthresh again (RFC 5681 §3.1, equation (4) applies to
   * the first retransmission only).
   */
  onRetransmitTimeout(flightSize: number, mss: number, nowMs: number, first: boolean): void;
  /**
   * New data goes out with nothing in flight: the sender was idle (application-limited) for
   * `idleMs`, the time since its last data segment (Linux CA_EVENT_TX_START with
   * now - lsndtime). A controller whose growth follows the clock leaves that time out.
   */
  onTransmitStart(idleMs: number, nowMs: number): void;
  /** Continues from imported values (chimney CWnd and SsThresh, reference §3.2.5). */
  restore(cwnd: number, ssthresh: number): void;
}

/** RFC 5681 §3.1 equation (4): ssthresh = max(FlightSize / 2, 2 * SMSS). */
export function halfFlight(flightSize: number, mss: number): number {
  return Math.max(flightSize / 2, 2 * mss);
}

/**
 * Slow start (RFC 5681 §3.1) with byte counting: cwnd grows by every acknowledged byte up to
 * ssthresh, and returns the bytes left over for congestion avoidance. Linux counts every
 * acknowledged segment, without RFC 3465's L = 2 * SMSS limit, and so do we: the host
 * acknowledges whole receive batches with one ACK (like GRO), so stretch ACKs are the norm.
 */
export function slowStart(cc: CongestionControl, acked: number): number {
  const room = cc.ssthresh - cc.cwnd;
  if (acked <= room) {
    cc.cwnd += acked;
    return 0;
  }
  cc.cwnd = Math.max(cc.cwnd, cc.ssthresh);
  return acked - Math.max(room, 0);
}
