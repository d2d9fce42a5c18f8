/**
 * NewReno congestion control: RFC 5681 slow start and congestion avoidance (with RFC 3465
 * appropriate byte counting in congestion avoidance), RFC 6582 window handling in fast
 * recovery. The connection inflates cwnd by one SMSS per duplicate ACK during non-SACK
 * recovery and deflates it on partial ACKs (RFC 6582 §3.2 steps 4 and 5); this class sets the
 * window on entry and exit.
 */
import type { CongestionControl } from './congestion-control.js';
import { halfFlight, slowStart } from './congestion-control.js';

export class NewReno implements CongestionControl {
  readonly name = 'newreno' as const;
  cwnd: number;
  ssthresh: number;
  /** Bytes acknowledged since cwnd last grew in congestion avoidance (RFC 3465 §2.1). */
  private bytesAcked = 0;

  constructor(initialCwnd: number) {
    this.cwnd = initialCwnd;
    // RFC 5681 §3.1: the initial ssthresh SHOULD be set arbitrarily high.
    this.ssthresh = 0x7fffffff;
  }

  onAck(acked: number, mss: number, _nowMs: number, _srttMs: number, cwndLimited: boolean): void {
    if (!cwndLimited) return;
    let left = acked;
    if (this.cwnd < this.ssthresh) {
      left = slowStart(this, acked);
      if (left === 0) return;
    }
    // RFC 3465 §2.1: one SMSS per cwnd's worth of acknowledged bytes.
    this.bytesAcked += left;
    while (this.bytesAcked >= this.cwnd) {
      this.bytesAcked -= this.cwnd;
      this.cwnd += mss;
    }
  }

  onCongestionEvent(flightSize: number, mss: number, _nowMs?: number): void {
    this.ssthresh = halfFlight(flightSize, mss);
    this.cwnd = this.ssthresh;
    this.bytesAcked = 0;
  }

  onRecoveryExit(flightSize: number, mss: number, _nowMs?: number): void {
    // RFC 6582 §3.2 step 3, option (1): min(ssthresh, max(FlightSize, SMSS) + SMSS).
    this.cwnd = Math.min(this.ssthresh, Math.max(flightSize, mss) + mss);
    this.bytesAcked = 0;
  }

  onRetransmitTimeout(flightSize: number, mss: number, _nowMs: number, first: boolean): void {
    if (first) this.ssthresh = halfFlight(flightSize, mss);
    // RFC 5681 §3.1: the loss window is one segment.
    this.cwnd = mss;
    this.bytesAcked = 0;
  }

  /** NewReno grows per acknowledged byte, not per unit of time: an idle period changes nothing. */
  onTransmitStart(_idleMs: number, _nowMs: number): void {}

  restore(cwnd: number, ssthresh: number): void {
    this.cwnd = cwnd;
    this.ssthresh = ssthresh;
    this.bytesAcked = 0;
  }
}
