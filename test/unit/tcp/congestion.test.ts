import { describe, expect, it } from 'vitest';
import { Cubic, CUBIC_BETA, CUBIC_C } from '../../../src/tcp/congestion/cubic.js';
import { NewReno } from '../../../src/tcp/congestion/newreno.js';
import { createCongestionControl } from '../../../src/tcp/congestion/index.js';

const MSS = 1000;

/** Drives a controller with a steady ACK clock: each RTT, cwnd worth of bytes is acknowledged in 2-MSS ACKs. */
function clock(cc: { cwnd: number; onAck(a: number, m: number, t: number, s: number, l: boolean): void }, startMs: number, rttMs: number, rtts: number): number[] {
  const trace: number[] = [];
  let t = startMs;
  for (let r = 0; r < rtts; r++) {
    // A whole window is delivered per RTT, in 2-MSS ACKs (the last one may be smaller).
    let left = Math.floor(cc.cwnd / MSS) * MSS;
    const acks = Math.ceil(left / (2 * MSS));
    for (let k = 0; left > 0; k++) {
      const n = Math.min(2 * MSS, left);
      cc.onAck(n, MSS, t + (k * rttMs) / acks, rttMs, true);
      left -= n;
    }
    t += rttMs;
    trace.push(cc.cwnd / MSS);
  }
  return trace;
}

describe('CUBIC (RFC 9438)', () => {
  it('reduces to beta_cubic = 0.7 of the flight and remembers W_max', () => {
    const c = new Cubic(100 * MSS);
    c.ssthresh = 50 * MSS;
    c.onCongestionEvent(100 * MSS, MSS, 0);
    expect(c.ssthresh).toBe(70 * MSS);
    expect(c.cwnd).toBe(70 * MSS);
    expect(c.wMax).toBe(100);
  });

  it('computes K = cbrt(W_max (1 - beta) / C) at the start of congestion avoidance', () => {
    const c = new Cubic(100 * MSS);
    c.onCongestionEvent(100 * MSS, MSS, 0);
    c.onAck(MSS, MSS, 10, 100, true);
    expect(c.k).toBeCloseTo(Math.cbrt((100 * (1 - CUBIC_BETA)) / CUBIC_C), 6);
  });

  it('grows concave up to W_max, plateaus around K, then grows convex beyond it', () => {
    const c = new Cubic(100 * MSS);
    c.onCongestionEvent(100 * MSS, MSS, 0);
    const rtt = 100;
    const trace = clock(c, 0, rtt, 90);
    const kRtts = Math.round((c.k * 1000) / rtt); // about 42 RTTs
    const at = (r: number) => trace[r] as number;
    // Near K the window is close to W_max.
    expect(at(kRtts)).toBeGreaterThan(97);
    expect(at(kRtts)).toBeLessThan(103);
    // Concave: the first half of the approach gains more than the second half.
    expect(at(kRtts / 2) - at(0)).toBeGreaterThan(at(kRtts) - at(kRtts / 2));
    // Convex: past K, each stretch gains more than the one before.
    const q = Math.round(kRtts / 3);
    expect(at(kRtts + 2 * q) - at(kRtts + q)).toBeGreaterThan(at(kRtts + q) - at(kRtts));
    // Never shrinks while ACKs arrive.
    for (let r = 1; r < trace.length; r++) expect(at(r)).toBeGreaterThanOrEqual(at(r - 1));
  });

  it('follows the Reno-friendly estimate when it is above W_cubic (short RTT, small window)', () => {
    const c = new Cubic(20 * MSS);
    c.onCongestionEvent(20 * MSS, MSS, 0);
    const trace = clock(c, 0, 1, 200);
    // In 200 ms, W_cubic barely moves (K ~ 2.5 s) while W_est grows linearly per RTT.
    const wCubic = c.wCubic(0.2);
    expect(trace[199] as number).toBeGreaterThan(wCubic + 10);
  });

  it('releases bandwidth with fast convergence when the maximum falls (RFC 9438 §4.7)', () => {
    const c = new Cubic(100 * MSS);
    c.onCongestionEvent(100 * MSS, MSS, 0);
    expect(c.wMax).toBe(100);
    // The next loss happens below the previous maximum.
    c.cwnd = 80 * MSS;
    c.onCongestionEvent(80 * MSS, MSS, 1000);
    expect(c.wMax).toBeCloseTo((80 * (1 + CUBIC_BETA)) / 2, 6);
  });

  it('does not grow when the sender is not cwnd-limited', () => {
    const c = new Cubic(10 * MSS);
    c.onAck(5 * MSS, MSS, 0, 10, false);
    expect(c.cwnd).toBe(10 * MSS);
  });

  it('slow-starts by every delivered byte up to ssthresh', () => {
    const c = new Cubic(10 * MSS);
    c.ssthresh = 15 * MSS;
    c.onAck(4 * MSS, MSS, 0, 10, true);
    expect(c.cwnd).toBe(14 * MSS);
    c.onAck(4 * MSS, MSS, 1, 10, true);
    expect(c.cwnd).toBeGreaterThanOrEqual(15 * MSS);
    expect(c.cwnd).toBeLessThan(16 * MSS);
  });

  it('uses a one-segment loss window after a timeout and restarts its epoch', () => {
    const c = new Cubic(50 * MSS);
    c.onRetransmitTimeout(50 * MSS, MSS, 0, true);
    expect(c.cwnd).toBe(MSS);
    expect(c.ssthresh).toBe(35 * MSS);
  });
});

describe('NewReno (RFC 5681, RFC 3465)', () => {
  it('adds one MSS per window of acknowledged bytes in congestion avoidance', () => {
    const n = new NewReno(10 * MSS);
    n.ssthresh = 10 * MSS;
    const trace = clock(n, 0, 100, 5);
    expect(trace).toEqual([11, 12, 13, 14, 15]);
  });

  it('doubles per RTT in slow start', () => {
    const n = new NewReno(10 * MSS);
    const trace = clock(n, 0, 100, 3);
    expect(trace).toEqual([20, 40, 80]);
  });

  it('halves the flight on loss and never goes below two segments', () => {
    const n = new NewReno(10 * MSS);
    n.onCongestionEvent(3 * MSS, MSS);
    expect(n.ssthresh).toBe(2 * MSS);
  });

  it('is chosen by name, like CUBIC', () => {
    expect(createCongestionControl('newreno', 1).name).toBe('newreno');
    expect(createCongestionControl('cubic', 1).name).toBe('cubic');
  });
});
