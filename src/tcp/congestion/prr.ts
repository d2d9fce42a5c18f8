/**
 * Proportional Rate Reduction (RFC 6937): how much may be sent on each ACK during fast
 * recovery. Setting cwnd = ssthresh at once (RFC 6675 §5) stalls the sender until pipe has
 * drained below ssthresh and then lets it burst; PRR instead spreads the reduction over the
 * recovery round trip, sending ssthresh/RecoverFS bytes per byte delivered while pipe is above
 * ssthresh, and slow-starts back toward ssthresh when heavy losses drove pipe below it (the
 * slow-start reduction bound, PRR-SSRB). All values in bytes.
 */
export class ProportionalRateReduction {
  /** prr_delivered: bytes delivered to the receiver since recovery started. */
  private delivered = 0;
  /** prr_out: bytes sent (new data and retransmissions) since recovery started. */
  private out = 0;
  /** RecoverFS: the flight size when recovery started. */
  private recoverFs = 1;

  /** RFC 6937 §3, on entering recovery. */
  start(flightSize: number): void {
    this.delivered = 0;
    this.out = 0;
    this.recoverFs = flightSize > 0 ? flightSize : 1;
  }

  /** Every byte sent during recovery, retransmitted or new. */
  onSend(bytes: number): void {
    this.out += bytes;
  }

  /**
   * RFC 6937 §3, on every ACK during recovery: the congestion window that lets exactly
   * `sndcnt` more bytes go out (cwnd = pipe + sndcnt, as Linux tcp_cwnd_reduction sets it).
   * `deliveredData` is the bytes this ACK newly acknowledged or SACKed; `unaAdvanced` is true
   * when it moved SND.UNA and marked nothing newly lost (Linux then allows one more segment,
   * so a recovery whose pipe has collapsed still grows by slow start).
   */
  onAck(deliveredData: number, pipe: number, ssthresh: number, mss: number, unaAdvanced: boolean): number {
    this.delivered += deliveredData;
    let sndcnt: number;
    if (pipe > ssthresh) {
      // Proportional part: CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out.
      sndcnt = Math.ceil((this.delivered * ssthresh) / this.recoverFs) - this.out;
    } else {
      // Slow-start reduction bound: MAX(prr_delivered - prr_out, DeliveredData) + MSS.
      let limit = Math.max(this.delivered - this.out, deliveredData);
      if (unaAdvanced) limit += mss;
      sndcnt = Math.min(ssthresh - pipe, limit);
    }
    if (sndcnt < 0) sndcnt = 0;
    // The fast retransmit goes out on entering recovery whatever the arithmetic says (RFC 6937 §3 note).
    if (this.out === 0 && sndcnt < mss) sndcnt = mss;
    return pipe + sndcnt;
  }
}
