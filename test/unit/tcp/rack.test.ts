/**
 * RACK-TLP (RFC 8985) and Proportional Rate Reduction (RFC 6937) on a SACK connection,
 * segment by segment in simulated time: losses found by time rather than by counting,
 * reordering told apart from loss, lost retransmissions and lost tails recovered without
 * the RTO, the reordering window adapting to D-SACKs, and the probe timer across a
 * chimney hand-over.
 */
import { describe, expect, it } from 'vitest';
import { TcpConnection } from '../../../src/tcp/connection.js';
import { Rack } from '../../../src/tcp/rack.js';
import { DEFAULT_TCP_CONFIG, type TcpConfig } from '../../../src/tcp/types.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { SeededRandom } from '../../../src/wire/random.js';
import { seq, seqDiff } from '../../../src/wire/seq.js';
import { ACK, capture, EngineHarness, SYN_ACK, TCP_ACK, TCP_SYN, Wire, type Captured } from '../../helpers/segments.js';

const ISS = 1000;
const PEER = 5000;
const RTT = 10;
/** Sequence number of the first byte of segment k (1000-byte segments). */
const S = (k: number): number => ISS + 1 + k * 1000;

/**
 * A SACK connection with a 10 ms RTT sample from the handshake and one clean round trip of
 * data (so RACK knows min_RTT = 10 ms), then `bytes` written at once: the first ten segments
 * go out at `t0`.
 */
function sender(o: { bytes?: number; config?: Partial<TcpConfig> } = {}): { h: EngineHarness; t0: number } {
  const h = EngineHarness.connect({ config: { congestionControl: 'newreno', ...o.config } });
  h.poll();
  h.expect({ flags: TCP_SYN });
  h.advance(RTT);
  h.send(SYN_ACK(PEER, ISS + 1, { mss: 1000, sackPermitted: true }, 65535));
  h.expect({ flags: TCP_ACK });
  // One warm-up segment, acknowledged after one RTT.
  h.conn.write(new Uint8Array(1000));
  h.poll();
  h.expect({ seq: ISS + 1, len: 1000 });
  h.advance(RTT);
  h.send(ACK(PEER + 1, ISS + 1001));
  h.sent.length = 0;
  h.events.length = 0;
  h.conn.write(new Uint8Array(o.bytes ?? 10_000));
  h.poll();
  return { h, t0: h.now };
}

/** Segment numbers (relative to the warm-up segment) of what was sent. */
const segs = (l: Captured[]): number[] => l.map((s) => seqDiff(s.seqNumber, seq(ISS + 1)) / 1000 - 1);
/** S(k) for data segment k after the warm-up. */
const D = (k: number): number => S(k + 1);
const sack = (ack: number, blocks: Array<[number, number]>, more: object = {}) =>
  ACK(PEER + 1, ack, { options: { sackBlocks: blocks.map(([l, r]) => ({ left: seq(l), right: seq(r) })) }, ...more });

describe('RACK loss detection (RFC 8985 §6)', () => {
  it('waits one reordering window before deeming a hole lost, and a late original is not retransmitted', () => {
    const { h, t0 } = sender();
    expect(h.sent.length).toBe(10);
    h.sent.length = 0;
    h.runUntil(t0 + RTT);
    // Segment 0 arrived, segment 1 is late, segment 2 was SACKed.
    h.send(sack(D(1), [[D(2), D(3)]]));
    h.expectNothing();
    expect(h.conn.info().caState).toBe('disorder');
    // RACK.rtt + reo_wnd = 10 + min_RTT / 4: the reordering timer stands at t0 + 12.5.
    h.runUntil(t0 + RTT + 2);
    h.send(ACK(PEER + 1, D(3)));
    h.send(ACK(PEER + 1, D(10)));
    h.expectNothing(t0 + 1000);
    const i = h.conn.info();
    expect(i.totalRetransmits).toBe(0);
    expect(i.fastRetransmits).toBe(0);
    // Segment 1 came in below RACK.fack without having been retransmitted.
    expect(i.reorderingSeen).toBe(true);
  });

  it('retransmits a hole still missing when the reordering timer expires, without an RTO', () => {
    const { h, t0 } = sender();
    h.sent.length = 0;
    h.runUntil(t0 + RTT);
    h.send(sack(D(1), [[D(2), D(3)]]));
    h.expectNothing();
    const rtx = h.nextSegmentWithin(100);
    expect(segs([rtx])).toEqual([1]);
    expect(rtx.at).toBe(t0 + RTT + 2.5);
    const i = h.conn.info();
    expect(i.caState).toBe('recovery');
    expect(i.timeouts).toBe(0);
    expect(i.rackRetransmits).toBe(1);
    expect(i.fastRetransmits).toBe(1);
  });

  it('deems a hole lost at once when DupThresh segments are SACKed above it and no reordering was seen', () => {
    const { h, t0 } = sender();
    h.sent.length = 0;
    h.runUntil(t0 + RTT);
    h.send(sack(D(1), [[D(2), D(5)]]));
    expect(segs(h.sent)[0]).toBe(1);
    expect(h.conn.info().caState).toBe('recovery');
  });

  it('finds a lost retransmission when data sent after it is SACKed, and resends it without an RTO', () => {
    const { h, t0 } = sender({ bytes: 30_000 });
    h.sent.length = 0;
    h.runUntil(t0 + RTT);
    // Segment 1 is lost; 2-9 arrive. RACK retransmits 1, PRR lets new data follow.
    h.send(sack(D(1), [[D(2), D(5)]]));
    h.send(sack(D(1), [[D(2), D(10)]]));
    const first = h.sent.splice(0);
    expect(segs(first)[0]).toBe(1);
    const newData = segs(first).filter((k) => k >= 10);
    expect(newData.length).toBeGreaterThan(0);
    // One RTT later the new data is SACKed, but the retransmission of 1 was lost too.
    h.runUntil(t0 + 2 * RTT);
    const top = D(newData[newData.length - 1] as number) + 1000;
    h.send(sack(D(1), [[D(2), top]]));
    expect(segs(h.sent)).toContain(1);
    const i = h.conn.info();
    expect(i.lostRetransmits).toBe(1);
    expect(i.timeouts).toBe(0);
    // The second retransmission arrives: everything is acknowledged.
    h.runUntil(t0 + 3 * RTT);
    h.sent.length = 0;
    h.send(ACK(PEER + 1, top));
    expect(h.conn.info().caState).toBe('open');
  });
});

describe('tail loss probe (RFC 8985 §7)', () => {
  it('recovers a lost tail with a probe at 2 SRTT and RACK, not the RTO', () => {
    const { h, t0 } = sender();
    h.sent.length = 0;
    h.runUntil(t0 + RTT);
    // Everything but the last two segments arrived: no SACK can tell the sender.
    h.send(ACK(PEER + 1, D(8)));
    h.expectNothing();
    const srtt = h.conn.info().srttMs;
    const probe = h.nextSegmentWithin(1000);
    // PTO = 2 * SRTT + 2 ms (more than one segment was in flight when it was armed): the
    // highest segment goes again.
    expect(probe.at).toBeCloseTo(t0 + RTT + 2 * srtt + 2, 6);
    expect(segs([probe])).toEqual([9]);
    // The probe is SACKed: RACK now knows segment 8, sent before it, is lost.
    h.runUntil(probe.at + RTT);
    h.send(sack(D(8), [[D(9), D(10)]]));
    expect(segs(h.sent.splice(0))).toEqual([8]);
    h.runUntil(probe.at + 2 * RTT);
    h.send(ACK(PEER + 1, D(10)));
    const i = h.conn.info();
    expect(i.tlpProbes).toBe(1);
    expect(i.timeouts).toBe(0);
    expect(i.totalRetransmits).toBe(2);
    expect(i.unacked).toBe(0);
  });

  it('probes with the tail segment as it was sent, not the last MSS of the stream (which would reach into the segment before)', () => {
    // 9,500 bytes: nine 1000-byte segments and a 500-byte tail, all sent in one turn (one
    // merged record in the send map).
    const { h, t0 } = sender({ bytes: 9500 });
    expect(h.sent.map((x) => x.payload.length)).toEqual([1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 500]);
    h.sent.length = 0;
    h.runUntil(t0 + RTT);
    h.send(ACK(PEER + 1, D(8)));
    const probe = h.nextSegmentWithin(1000);
    // The 500-byte tail again: a capture sees the probe cover exactly what the lost tail
    // covered, so it can tell what a later ACK acknowledges.
    expect(probe.seqNumber).toBe(D(9));
    expect(probe.payload.length).toBe(500);
  });

  it('waits for the worst-case delayed ACK when one segment is in flight', () => {
    const { h, t0 } = sender();
    h.sent.length = 0;
    h.runUntil(t0 + RTT);
    h.send(ACK(PEER + 1, D(9)));
    const probe = h.nextSegmentWithin(1000);
    // PTO = 2 SRTT + WCDelAckT (rtoMinMs), no later than the RTO: here the RTO's time.
    expect(probe.at).toBe(t0 + RTT + 200);
    expect(segs([probe])).toEqual([9]);
    expect(h.conn.info().timeouts).toBe(0);
  });

  it('probes with the last segment sent even when unsent data waits, then leaves the rest to the RTO', () => {
    const { h, t0 } = sender({ bytes: 15_000 });
    expect(h.sent.length).toBe(10);
    h.sent.length = 0;
    // No ACK comes back at all. A duplicate is acknowledged at once by the peer, where one
    // new segment could wait for its delayed-ACK timer: the probe is segment 9 again.
    const probe = h.nextSegmentWithin(1000);
    expect(segs([probe])).toEqual([9]);
    expect(probe.at).toBeLessThan(t0 + 50);
    // Only one probe: then the RTO.
    const next = h.nextSegmentWithin(1000);
    expect(segs([next])).toEqual([0]);
    expect(next.at).toBeGreaterThanOrEqual(probe.at + 200);
    expect(h.conn.info().timeouts).toBe(1);
    expect(h.conn.info().tlpProbes).toBe(1);
  });

  it('takes a D-SACK of the probe as proof that nothing was lost: no congestion response', () => {
    const { h, t0 } = sender();
    h.sent.length = 0;
    h.runUntil(t0 + RTT);
    h.send(ACK(PEER + 1, D(9)));
    const cwnd = h.conn.info().cwnd;
    const probe = h.nextSegmentWithin(1000);
    // The original was only late: its ACK, then the duplicate's D-SACK.
    h.send(ACK(PEER + 1, D(10)));
    h.send(sack(D(10), [[D(9), D(10)]]));
    const i = h.conn.info();
    expect(segs([probe])).toEqual([9]);
    expect(i.tlpRecoveries).toBe(0);
    expect(i.dsacksReceived).toBe(1);
    expect(i.cwnd).toBeGreaterThanOrEqual(cwnd);
  });

  it('reduces cwnd as fast recovery would once an ACK beyond the probe shows it repaired a loss', () => {
    const { h, t0 } = sender({ bytes: 10_000 });
    h.sent.length = 0;
    h.runUntil(t0 + RTT);
    h.send(ACK(PEER + 1, D(9)));
    h.nextSegmentWithin(1000);
    h.send(ACK(PEER + 1, D(10)));
    const before = h.conn.info();
    expect(before.tlpRecoveries).toBe(0);
    h.conn.write(new Uint8Array(1000));
    h.poll();
    h.send(ACK(PEER + 1, D(11)));
    const after = h.conn.info();
    expect(after.tlpRecoveries).toBe(1);
    expect(after.ssthresh).toBeLessThan(before.cwnd);
    expect(after.timeouts).toBe(0);
  });

  it('is not used without SACK: the RTO stays the only timer', () => {
    const h = EngineHarness.established({ peerOptions: { mss: 1000 } });
    h.conn.write(new Uint8Array(3000));
    h.poll();
    h.sent.length = 0;
    const s = h.nextSegmentWithin(1000);
    expect(s.at - h.sent.length).toBeGreaterThanOrEqual(200);
    expect(h.conn.info().tlpProbes).toBe(0);
  });
});

describe('rescue probe during recovery', () => {
  it('resends the highest unSACKed segment when a recovery goes silent, so RACK can find the lost retransmission', () => {
    const { h, t0 } = sender();
    h.sent.length = 0;
    h.runUntil(t0 + RTT);
    // Segments 1 and 9 are lost; 2-8 SACKed. 1 is resent; 9 sits at the tail.
    h.send(sack(D(1), [[D(2), D(9)]]));
    expect(segs(h.sent)).toEqual([1]);
    h.sent.length = 0;
    // Nothing comes back (the retransmission is lost too): a probe of 9 before any RTO.
    const probe = h.nextSegmentWithin(1000);
    expect(segs([probe])).toEqual([9]);
    expect(probe.at).toBeLessThan(t0 + 100);
    // Its ACK shows 9 delivered; 1, resent before it, is lost again and resent.
    h.runUntil(probe.at + RTT);
    h.send(sack(D(1), [[D(2), D(10)]]));
    expect(segs(h.sent)).toEqual([1]);
    const i = h.conn.info();
    expect(i.rescueRetransmits).toBe(1);
    expect(i.lostRetransmits).toBe(1);
    expect(i.timeouts).toBe(0);
  });
});

describe('RACK reordering window (RFC 8985 §6.2 step 4)', () => {
  it('is min_RTT / 4 once reordering is seen, grows a step per round with D-SACKs, never beyond SRTT', () => {
    const r = new Rack();
    r.reset(seq(0));
    r.sampleMinRtt(8, 0);
    expect(r.reoWnd(false, 0, 3, 20)).toBe(2);
    // No reordering seen yet: zero in recovery or with DupThresh segments SACKed.
    expect(r.reoWnd(true, 0, 3, 20)).toBe(0);
    expect(r.reoWnd(false, 3, 3, 20)).toBe(0);
    r.detectReordering(seq(5000), false);
    r.detectReordering(seq(4000), false);
    expect(r.reorderingSeen).toBe(true);
    expect(r.reoWnd(true, 5, 3, 20)).toBe(2);
    // A D-SACK: one step more, once per round trip (until SND.UNA passes SND.NXT = 10000).
    r.onAckDsack(true, seq(1000), seq(10000));
    expect(r.reoWnd(false, 0, 3, 20)).toBe(4);
    r.onAckDsack(true, seq(2000), seq(12000));
    expect(r.reoWnd(false, 0, 3, 20)).toBe(4);
    r.onAckDsack(true, seq(10000), seq(20000));
    expect(r.reoWnd(false, 0, 3, 20)).toBe(6);
    for (let k = 0; k < 20; k++) r.onAckDsack(true, seq(20000 + k * 10000 + 10000), seq(20000 + (k + 2) * 10000));
    expect(r.reoWnd(false, 0, 3, 20)).toBe(20);
  });

  it('returns to min_RTT / 4 after 16 recoveries without a D-SACK', () => {
    const r = new Rack();
    r.reset(seq(0));
    r.sampleMinRtt(8, 0);
    r.detectReordering(seq(5000), false);
    r.detectReordering(seq(4000), false);
    r.onAckDsack(true, seq(0), seq(10000));
    for (let k = 0; k < 15; k++) r.onRecoveryExit();
    expect(r.reoWnd(false, 0, 3, 20)).toBe(4);
    r.onRecoveryExit();
    expect(r.reoWnd(false, 0, 3, 20)).toBe(2);
  });

  it('widens on the connection when the peer reports a spurious retransmission by D-SACK', () => {
    const { h, t0 } = sender();
    h.sent.length = 0;
    h.runUntil(t0 + RTT);
    // Segment 1 is late; RACK resends it after the window; then the original arrives and the
    // peer reports the duplicate.
    h.send(sack(D(1), [[D(2), D(3)]]));
    const rtx = h.nextSegmentWithin(100);
    expect(segs([rtx])).toEqual([1]);
    const before = h.conn.info().reorderWindowMs;
    h.send(ACK(PEER + 1, D(3)));
    h.send(sack(D(3), [[D(1), D(2)]]));
    const i = h.conn.info();
    expect(i.dsacksReceived).toBe(1);
    expect(i.reorderWindowMs).toBeGreaterThan(before);
  });
});

describe('Proportional Rate Reduction (RFC 6937)', () => {
  it('sends about ssthresh / RecoverFS segments per segment delivered while pipe is above ssthresh', () => {
    const { h, t0 } = sender({ bytes: 40_000 });
    h.sent.length = 0;
    h.runUntil(t0 + RTT);
    // Segment 0 is lost; 1, 2, 3, ... are SACKed one ACK at a time.
    h.send(sack(D(0), [[D(1), D(4)]]));
    expect(h.conn.info().caState).toBe('recovery');
    // NewReno: ssthresh = 5000 of a 10000-byte flight; the first ACK also carries the retransmission.
    expect(h.conn.info().ssthresh).toBe(5000);
    const counts: number[] = [];
    for (let k = 5; k <= 10; k++) {
      h.sent.length = 0;
      h.send(sack(D(0), [[D(1), D(k)]]));
      counts.push(h.sent.length);
    }
    // While pipe > ssthresh, ssthresh / RecoverFS = half a segment per segment delivered: one
    // every other ACK, never a burst. From the third ACK pipe is down at ssthresh (the new
    // segments stay in flight), and each segment delivered lets one go: pipe stays at ssthresh.
    expect(counts).toEqual([1, 0, 0, 1, 1, 1]);
    expect(h.conn.info().cwnd).toBe(5000);
  });

  it('with RACK off, sets cwnd to ssthresh at once (RFC 6675 §5)', () => {
    const { h, t0 } = sender({ bytes: 40_000, config: { rack: false } });
    h.sent.length = 0;
    h.runUntil(t0 + RTT);
    h.send(sack(D(0), [[D(1), D(4)]]));
    expect(h.conn.info().cwnd).toBe(5000);
  });
});

describe('probe and RACK timers across a chimney hand-over', () => {
  it('exports the earliest retransmit-class deadline (here the probe) and resumes it as a probe, with the RTO behind it', () => {
    const { h, t0 } = sender();
    h.sent.length = 0;
    h.runUntil(t0 + RTT);
    h.send(ACK(PEER + 1, D(5)));
    const pto = 2 * h.conn.info().srttMs + 2;
    const s = h.conn.exportState();
    expect(s.delegated.Retransmit.TimeoutDelta).toBe(Math.ceil(pto));
    expect(s.delegated.Retransmit.Count).toBe(0);
    const clock = new SimScheduler(0);
    const sent: Captured[] = [];
    const conn = TcpConnection.fromOffloadState({
      config: { ...DEFAULT_TCP_CONFIG, congestionControl: 'newreno' },
      hooks: { clock, transmit: (x) => sent.push(capture(x, clock.now())), event: () => undefined },
      random: new SeededRandom(3),
      snapshot: s,
    });
    const runUntil = (t: number): void => {
      for (let d = conn.nextDeadline(); d <= t; d = conn.nextDeadline()) {
        clock.runUntil(Math.max(d, clock.now()));
        conn.onTimer();
      }
      clock.runUntil(t);
    };
    expect(conn.nextDeadline()).toBe(Math.ceil(pto));
    runUntil(199);
    // One probe, the highest segment, and no timeout.
    expect(segs(sent)).toEqual([9]);
    expect(sent[0]?.at).toBe(Math.ceil(pto));
    expect(conn.info().timeouts).toBe(0);
    // The RTO follows one RTO after the probe.
    runUntil(Math.ceil(pto) + 200);
    expect(segs(sent)).toEqual([9, 5]);
    expect(conn.info().timeouts).toBe(1);
    // A round trip of the state changes nothing.
    const again = conn.exportState();
    expect(again.delegated.SndUna).toBe(s.delegated.SndUna);
  });
});

describe('two engines over a reordering path', () => {
  it('tells 2% reordering by 1 ms from loss on a 20 ms path: few spurious retransmissions', () => {
    const w = new Wire({ seed: 5, pathAB: { delayMs: 10, reorder: 0.02, reorderDelayMs: 1 } });
    w.connect();
    w.transfer(4 << 20, 0);
    w.run(w.now + 60_000, () => w.done());
    expect(w.done()).toBe(true);
    expect(w.reordered).toBeGreaterThan(50);
    const i = w.a.conn.info();
    expect(i.reorderingSeen).toBe(true);
    // Only the first reordering events, before RACK has seen any, cost a retransmission.
    expect(i.totalRetransmits).toBeLessThanOrEqual(5);
    expect(i.timeouts).toBe(0);
  });
});
