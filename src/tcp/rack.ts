/**
 * RACK (RFC 8985 §6): time-based loss detection. A segment is deemed lost when a segment
 * sent after it has been delivered (cumulatively ACKed or SACKed) and more than RACK.rtt plus
 * a reordering window has passed since it was sent. Because it compares transmit times, not
 * sequence numbers, it also detects lost retransmissions, which the DupThresh rule of RFC
 * 6675 cannot. This class holds the per-connection RACK state; the per-range transmit times
 * live in the SendMap. Times are in milliseconds of the injected clock.
 */
import { seqGe, seqGt, seqLt, type Seq } from '../wire/seq.js';
import { sentAfter } from './send-map.js';

/** RFC 8985 §6.2 step 4: the window multiplier persists for 16 DSACK-free recoveries. */
const REO_WND_PERSIST = 16;
/** Linux tcp_min_rtt_wlen: the minimum RTT is the smallest sample of the last 300 s. */
const MIN_RTT_WINDOW_MS = 300_000;

export class Rack {
  /** RACK.xmit_ts and RACK.end_seq: the most recently sent segment that was delivered. */
  xmitTime = -Infinity;
  endSeq = 0 as Seq;
  /** RACK.rtt: the RTT of that segment. */
  rtt = 0;
  /**
   * A smoothed RTT (gain 1/8, as RFC 6298) of the RACK.rtt samples. They are exact (clock
   * time since transmission) where the timestamp-echo samples of the RTO estimator are
   * whole ticks, which can round a sub-millisecond path to zero; the reordering window is
   * capped by this one.
   */
  srtt = 0;
  /** RACK.fack: the highest end sequence number delivered. */
  fack = 0 as Seq;
  /** RACK.min_RTT (a windowed minimum); Infinity before the first sample. */
  minRtt = Infinity;
  private minRttTime = -Infinity;
  /** RACK.reordering_seen: a never-retransmitted segment was delivered below RACK.fack, or a DSACK arrived (onAckDsack). */
  reorderingSeen = false;
  /** RACK.dsack_round: SND.NXT when the window last grew on a DSACK; undefined when none pending. */
  private dsackRound: Seq | undefined;
  /** RACK.reo_wnd_mult and RACK.reo_wnd_persist. */
  reoWndMult = 1;
  private reoWndPersist = 0;

  // Per-ACK accumulation (RFC 8985 §6.2 step 2, "for each segment newly acknowledged").
  private ackTime = -Infinity;
  private ackEnd = 0 as Seq;
  private ackHasSample = false;

  reset(una: Seq): void {
    this.xmitTime = -Infinity;
    this.endSeq = una;
    this.fack = una;
    this.rtt = 0;
    this.dsackRound = undefined;
  }

  /** Starts collecting the segments one ACK delivers. */
  beginAck(): void {
    this.ackHasSample = false;
  }

  /**
   * One range newly delivered by the ACK (RACK_update and RACK_detect_reordering, §6.2 steps
   * 2 and 3). `retransmitted` ranges give an ambiguous RTT: they are used only when the ACK
   * echoes a timestamp at least as new as their transmission (`echoFresh`) and the sample is
   * not below the minimum RTT (§6.2 step 2).
   */
  delivered(xmitTime: number, end: Seq, retransmitted: boolean, echoFresh: boolean, now: number): void {
    this.detectReordering(end, retransmitted);
    const rtt = now - xmitTime;
    if (retransmitted) {
      if (!echoFresh || rtt < this.minRtt) return;
    } else {
      this.sampleMinRtt(rtt, now);
    }
    if (!this.ackHasSample || sentAfter(xmitTime, end, this.ackTime, this.ackEnd)) {
      this.ackTime = xmitTime;
      this.ackEnd = end;
      this.ackHasSample = true;
    }
  }

  /** RACK_detect_reordering (§6.2 step 3) alone, for a range whose transmit time is unknown. */
  detectReordering(end: Seq, retransmitted: boolean): void {
    if (seqGt(end, this.fack)) this.fack = end;
    else if (seqLt(end, this.fack) && !retransmitted) this.reorderingSeen = true;
  }

  /** Ends the ACK: RACK.rtt is the RTT of the most recently sent segment it delivered. Returns true when RACK advanced. */
  endAck(now: number): boolean {
    if (!this.ackHasSample) return false;
    this.rtt = now - this.ackTime;
    this.srtt = this.srtt === 0 ? this.rtt : 0.875 * this.srtt + 0.125 * this.rtt;
    if (sentAfter(this.ackTime, this.ackEnd, this.xmitTime, this.endSeq)) {
      this.xmitTime = this.ackTime;
      this.endSeq = this.ackEnd;
    }
    return true;
  }

  /** An RTT sample from elsewhere (RFC 6298 timing) also feeds RACK.min_RTT (§6.2 step 1). */
  sampleMinRtt(rtt: number, now: number): void {
    if (rtt < 0) return;
    if (rtt <= this.minRtt || now - this.minRttTime > MIN_RTT_WINDOW_MS) {
      this.minRtt = rtt;
      this.minRttTime = now;
    }
  }

  /**
   * RFC 8985 §6.2 step 4, the DSACK half: a DSACK grows the window by one step per round
   * trip (at most once until SND.UNA passes the SND.NXT of that moment).
   *
   * Deviation: a DSACK also sets RACK.reordering_seen, which RFC 8985 (and Linux) set only
   * from step 3. The DSACK says the original of a retransmission arrived after all, later
   * than RACK expected: reordering, or an ACK delayed as much. Without this the grown window
   * stays unused, zero during recovery, until a never-retransmitted segment happens to
   * arrive below RACK.fack, which a path that reorders by more than RACK.rtt + reo_wnd never
   * shows (the late segment is always retransmitted first).
   */
  onAckDsack(dsack: boolean, sndUna: Seq, sndNxt: Seq): void {
    if (this.dsackRound !== undefined && seqGe(sndUna, this.dsackRound)) this.dsackRound = undefined;
    if (dsack) this.reorderingSeen = true;
    if (this.dsackRound === undefined && dsack) {
      this.dsackRound = sndNxt;
      this.reoWndMult++;
      this.reoWndPersist = REO_WND_PERSIST;
    }
  }

  /** §6.2 step 4: leaving fast or RTO recovery; after 16 DSACK-free recoveries the window returns to its base. */
  onRecoveryExit(): void {
    if (this.reoWndPersist > 0 && --this.reoWndPersist === 0) this.reoWndMult = 1;
  }

  /**
   * RACK.reo_wnd (§6.2 step 4): zero while no reordering has been seen and either recovery
   * is under way or DupThresh segments are SACKed (RACK then acts like the DupThresh rule);
   * otherwise min_RTT / 4 per step, at most SRTT.
   */
  reoWnd(inRecovery: boolean, segmentsSacked: number, dupThresh: number, srtt: number): number {
    if (!this.reorderingSeen && (inRecovery || segmentsSacked >= dupThresh)) return 0;
    const base = this.minRtt === Infinity ? srtt : this.minRtt;
    const w = (this.reoWndMult * base) / 4;
    return w < srtt ? w : srtt;
  }
}
