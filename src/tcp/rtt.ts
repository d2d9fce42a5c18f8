/**
 * The retransmission timer's estimator (RFC 6298 §2): SRTT, RTTVAR and RTO from RTT samples,
 * with the configured bounds (Linux keeps a 200 ms floor where RFC 6298 §2.4 says 1 s; the
 * configuration says which). Samples come from timestamps (RFC 7323 §4) or from one timed
 * segment at a time under Karn's rule; the connection decides which, this class only does
 * the arithmetic. All values in milliseconds.
 */
export class RttEstimator {
  srtt = 0;
  rttvar = 0;
  hasSample = false;
  /** The base RTO before any backoff. */
  rto: number;

  constructor(
    initialRtoMs: number,
    private readonly minRtoMs: number,
    private readonly maxRtoMs: number,
    /** Clock granularity G of RFC 6298 §2 (one tick of the chimney clock). */
    private readonly granularityMs: number,
  ) {
    this.rto = initialRtoMs;
  }

  /** RFC 6298 §2.2 (first sample) and §2.3 (later samples), with alpha = 1/8 and beta = 1/4. */
  sample(rttMs: number): void {
    const r = rttMs < 0 ? 0 : rttMs;
    if (!this.hasSample) {
      this.srtt = r;
      this.rttvar = r / 2;
      this.hasSample = true;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.update();
  }

  /** Resumes from imported estimator values (chimney SRtt/8 and RttVar/4, reference §3.2.5). */
  restore(srttMs: number, rttvarMs: number): void {
    if (srttMs <= 0 && rttvarMs <= 0) return;
    this.srtt = srttMs;
    this.rttvar = rttvarMs;
    this.hasSample = true;
    this.update();
  }

  /** RTO after `backoff` doublings (RFC 6298 §5.5), within the maximum. */
  backedOff(backoff: number): number {
    const v = this.rto * 2 ** backoff;
    return v > this.maxRtoMs ? this.maxRtoMs : v;
  }

  /** RFC 6298 §5.7: after a SYN timeout with no sample, data transfer starts from a 3 s RTO. */
  resetForSynTimeout(): void {
    if (!this.hasSample && this.rto < 3000) this.rto = Math.min(3000, this.maxRtoMs);
  }

  private update(): void {
    const v = this.srtt + Math.max(this.granularityMs, 4 * this.rttvar);
    this.rto = v < this.minRtoMs ? this.minRtoMs : v > this.maxRtoMs ? this.maxRtoMs : v;
  }
}
