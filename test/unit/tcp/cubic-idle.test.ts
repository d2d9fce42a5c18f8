/**
 * CUBIC across idle periods. W_cubic(t) counts t from the start of the congestion-avoidance
 * epoch; time the sender spends with nothing to send must not count (RFC 9438 §5.8), or the
 * first ACK after a pause finds the window far along the convex side of the curve. Linux
 * shifts epoch_start by the idle time when transmission starts again (tcp_cubic.c,
 * cubictcp_cwnd_event on CA_EVENT_TX_START), and so do we.
 */
import { describe, expect, it } from 'vitest';
import { Cubic } from '../../../src/tcp/congestion/cubic.js';
import { ACK, EngineHarness } from '../../helpers/segments.js';

const PEER = 5000;
const MSS = 1000;
const RTT = 100;

/** One round: a cwnd-limited burst, then one ACK for all of it a round trip later. */
function round(h: EngineHarness): void {
  h.poll();
  h.sent.length = 0;
  h.advance(RTT);
  h.send(ACK(PEER + 1, h.conn.info().sndMax));
}

/**
 * A CUBIC sender in congestion avoidance with an epoch under way: a loss at 10 segments
 * (W_max = 10, cwnd 7), recovery, then a few cwnd-limited rounds; all data acknowledged.
 */
function inCongestionAvoidance(): EngineHarness {
  const h = EngineHarness.established({ peerOptions: { mss: MSS }, config: { congestionControl: 'cubic' } });
  h.conn.write(new Uint8Array(10 * MSS));
  h.poll();
  h.sent.length = 0;
  for (let i = 0; i < 3; i++) h.send(ACK(PEER + 1, h.iss + 1));
  h.advance(RTT);
  h.send(ACK(PEER + 1, h.conn.info().sndMax));
  expect(h.conn.info().caState).toBe('open');
  for (let r = 0; r < 3; r++) {
    h.conn.write(new Uint8Array(40 * MSS));
    round(h);
    // Drain what the window did not let out, so the next burst starts from an empty pipe.
    while (h.conn.info().sndUna !== h.conn.info().sndMax || h.conn.info().sendQueueBytes > 0) round(h);
  }
  return h;
}

/** cwnd growth (segments) on the first ACK of a burst written after `idleMs` of silence. */
function growthAfter(idleMs: number): number {
  const h = inCongestionAvoidance();
  h.advance(idleMs);
  h.conn.write(new Uint8Array(40 * MSS));
  const before = h.conn.info().cwnd;
  round(h);
  return (h.conn.info().cwnd - before) / MSS;
}

describe('CUBIC after an idle period (RFC 9438 §5.8)', () => {
  it('issue 9 defect 9: the first ACK after several seconds of idle grows cwnd as it would without the idle period', () => {
    const busy = growthAfter(0);
    const idle = growthAfter(5000);
    expect(busy).toBeGreaterThanOrEqual(0);
    // Without the epoch shift, t = 5 s puts W_cubic(t + RTT) far beyond W_max and cwnd
    // jumps by half (the 1.5 cwnd cap of RFC 9438 §4.4) on this one ACK.
    expect(idle).toBeCloseTo(busy, 6);
  });
});

describe('Cubic.onTransmitStart', () => {
  /** A controller whose epoch started at 1000 ms (a loss at 100 segments, then one ACK). */
  function started(): Cubic {
    const c = new Cubic(100 * MSS);
    c.onCongestionEvent(100 * MSS, MSS, 0);
    c.onAck(MSS, MSS, 1000, RTT, true);
    return c;
  }

  it('moves the epoch later by the idle time: the curve resumes where it stood', () => {
    const shifted = started();
    const steady = started();
    shifted.onTransmitStart(5000, 7000);
    shifted.onAck(10 * MSS, MSS, 7100, RTT, true);
    steady.onAck(10 * MSS, MSS, 2100, RTT, true);
    expect(shifted.cwnd).toBeCloseTo(steady.cwnd, 6);
  });

  it('never puts the epoch in the future', () => {
    const clamped = started();
    const fresh = started();
    // An idle time longer than the epoch has run: the epoch starts now, not later.
    clamped.onTransmitStart(10_000, 2000);
    fresh.onTransmitStart(1000, 2000);
    clamped.onAck(10 * MSS, MSS, 2100, RTT, true);
    fresh.onAck(10 * MSS, MSS, 2100, RTT, true);
    expect(clamped.cwnd).toBeCloseTo(fresh.cwnd, 6);
  });

  it('leaves slow start alone: there is no epoch to move yet', () => {
    const c = new Cubic(10 * MSS);
    c.onTransmitStart(5000, 5000);
    c.onAck(10 * MSS, MSS, 5100, RTT, true);
    expect(c.cwnd).toBe(20 * MSS);
  });
});
