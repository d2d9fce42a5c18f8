/**
 * CUBIC congestion control (RFC 9438): after a reduction the window follows
 * W_cubic(t) = C (t - K)^3 + W_max, concave up to the last maximum and convex beyond it,
 * never below the Reno-friendly estimate W_est (§4.3). Slow start is RFC 5681's (HyStart++
 * is left out). Windows are computed in segments, as the RFC writes them, and stored
 * in bytes.
 */
import type { CongestionControl } from './congestion-control.js';
import { slowStart } from './congestion-control.js';

/** RFC 9438 §5: C = 0.4, beta_cubic = 0.7. */
export const CUBIC_C = 0.4;
export const CUBIC_BETA = 0.7;
/** RFC 9438 §4.3: alpha_cubic = 3 (1 - beta) / (1 + beta), so W_est grows like Reno with the same average rate. */
const ALPHA_CUBIC = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

export class Cubic implements CongestionControl {
  readonly name = 'cubic' as const;
  cwnd: number;
  ssthresh: number;
  /** W_max in segments: the window just before the last reduction. */
  wMax = 0;
  /** W_max before the last reduction, for fast convergence (§4.7). */
  private wLastMax = 0;
  /** K in seconds: when W_cubic reaches W_max again. */
  k = 0;
  /** Start of the current congestion-avoidance epoch (ms); -1 when none has started. */
  private epochStart = -1;
  /** W_est in segments (§4.3). */
  private wEst = 0;

  constructor(initialCwnd: number) {
    this.cwnd = initialCwnd;
    this.ssthresh = 0x7fffffff;
  }

  /** W_cubic(t) in segments, t in seconds since the epoch started (RFC 9438 §4.2, equation 1). */
  wCubic(t: number): number {
    const d = t - this.k;
    return CUBIC_C * d * d * d + this.wMax;
  }

  onAck(acked: number, mss: number, nowMs: number, srttMs: number, cwndLimited: boolean): void {
    if (!cwndLimited) return;
    let left = acked;
    if (this.cwnd < this.ssthresh) {
      left = slowStart(this, acked);
      if (left === 0) return;
    }
    const cwndSeg = this.cwnd / mss;
    if (this.epochStart < 0) {
      // §4.2: a new epoch starts with the first ACK in congestion avoidance.
      this.epochStart = nowMs;
      if (cwndSeg < this.wMax) {
        this.k = Math.cbrt((this.wMax - cwndSeg) / CUBIC_C);
      } else {
        this.k = 0;
        this.wMax = cwndSeg;
      }
      this.wEst = cwndSeg;
    }
    const segmentsAcked = left / mss;
    const t = (nowMs - this.epochStart) / 1000;
    // §4.3: the Reno-friendly estimate.
    this.wEst += (ALPHA_CUBIC * segmentsAcked) / cwndSeg;
    const cubicNow = this.wCubic(t);
    if (cubicNow < this.wEst) {
      // Reno-friendly region: follow W_est.
      if (this.wEst > cwndSeg) this.cwnd = this.wEst * mss;
      return;
    }
    // §4.4 / §4.5: grow toward W_cubic(t + RTT), at most 1.5 cwnd, by (target - cwnd) / cwnd per segment.
    let target = this.wCubic(t + srttMs / 1000);
    if (target < cwndSeg) target = cwndSeg;
    if (target > 1.5 * cwndSeg) target = 1.5 * cwndSeg;
    this.cwnd += (((target - cwndSeg) / cwndSeg) * segmentsAcked) * mss;
  }

  onCongestionEvent(flightSize: number, mss: number, _nowMs?: number): void {
    this.reduce(flightSize, mss);
    this.cwnd = this.ssthresh;
  }

  onRecoveryExit(_flightSize: number, _mss: number, _nowMs?: number): void {
    this.cwnd = this.ssthresh;
  }

  onRetransmitTimeout(flightSize: number, mss: number, _nowMs: number, first: boolean): void {
    // §4.8: Reno's loss window, with ssthresh from beta_cubic.
    if (first) this.reduce(flightSize, mss);
    this.epochStart = -1;
    this.cwnd = mss;
  }

  /**
   * RFC 9438 §5.8: t in W_cubic(t) must not count time the sender had nothing to send, or
   * the first ACK after an idle period finds the window far along the convex side of the
   * curve (the 1.5 cwnd cap at once). As Linux cubictcp_cwnd_event on CA_EVENT_TX_START:
   * the epoch moves later by the idle time, so the curve keeps its shape and resumes where
   * it stood, and never starts in the future.
   */
  onTransmitStart(idleMs: number, nowMs: number): void {
    if (this.epochStart < 0 || idleMs <= 0) return;
    this.epochStart += idleMs;
    if (this.epochStart > nowMs) this.epochStart = nowMs;
  }

  restore(cwnd: number, ssthresh: number): void {
    this.cwnd = cwnd;
    this.ssthresh = ssthresh;
    this.epochStart = -1;
    // Without carried CUBIC state, take the imported window as the last maximum.
    this.wMax = 0;
    this.wLastMax = 0;
  }

  private reduce(flightSize: number, mss: number): void {
    const cwndSeg = this.cwnd / mss;
    // §4.7 fast convergence: release bandwidth when the maximum keeps falling.
    if (cwndSeg < this.wLastMax) this.wMax = (cwndSeg * (1 + CUBIC_BETA)) / 2;
    else this.wMax = cwndSeg;
    this.wLastMax = cwndSeg;
    // §4.6: ssthresh = flight_size * beta_cubic, at least 2 segments.
    this.ssthresh = Math.max(flightSize * CUBIC_BETA, 2 * mss);
    this.epochStart = -1;
  }
}
