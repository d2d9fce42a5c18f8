/**
 * The sender's per-range transmit metadata (src/tcp/send-map.ts): records that tile
 * [SND.UNA, SND.MAX), their SACKed/lost/retransmitted flags and counters (RFC 6675 pipe),
 * and RACK's time-ordered loss walk (RFC 8985 §6.2 step 5).
 */
import { describe, expect, it } from 'vitest';
import { EVER_RETRANS, LOST, RETRANS, SACKED, SendMap, UNTIMED, sentAfter } from '../../../src/tcp/send-map.js';
import { seq, seqAdd, type Seq } from '../../../src/wire/seq.js';

const BASE = 0xfffff000; // the stream crosses 2^32 after four 1000-byte segments
const S = (k: number): Seq => seqAdd(seq(BASE), k * 1000);

function records(m: SendMap): Array<[number, number, number, number]> {
  const out: Array<[number, number, number, number]> = [];
  for (let i = m.first; i < m.end; i++) out.push([(m.startOf(i) - BASE) >>> 0, (m.endOf(i) - BASE) >>> 0, m.timeOf(i), m.flagsOf(i)]);
  return out;
}

/** Ten 1000-byte segments, segment k sent at time k. */
function tenSegments(): SendMap {
  const m = new SendMap();
  m.reset(S(0));
  for (let k = 0; k < 10; k++) m.append(S(k), S(k + 1), k);
  return m;
}

const pipe = (m: SendMap, flight: number): number => flight - m.sackedBytes - m.lostBytes + m.retransBytes;

describe('SendMap records', () => {
  it('extends the last record for new data sent at the same instant, and starts a new one otherwise', () => {
    const m = new SendMap();
    m.reset(S(0));
    m.append(S(0), S(1), 5, 0, 1000);
    // A 2000-byte super-segment cut at 1000, on the same grid: the same record.
    m.append(S(1), S(3), 5, 0, 1000);
    m.append(S(3), S(4), 6, 0, 1000);
    expect(records(m)).toEqual([
      [0, 3000, 5, 0],
      [3000, 4000, 6, 0],
    ]);
  });

  it('keeps the grid segments were cut on: a segment of another size or off the grid starts a new record', () => {
    const A = (n: number): Seq => seqAdd(seq(BASE), n);
    const rel = (x: Seq): number => (x - BASE) >>> 0;
    const m = new SendMap();
    m.reset(S(0));
    m.append(S(0), S(1), 5, 0, 1000);
    m.append(S(1), A(1500), 5, 0, 1000); // a short tail: on the grid, so it extends the record
    m.append(A(1500), A(2500), 5, 0, 1000); // starts off the grid
    m.append(A(2500), A(3488), 5, 0, 988); // another size
    expect(records(m)).toEqual([
      [0, 1500, 5, 0],
      [1500, 2500, 5, 0],
      [2500, 3488, 5, 0],
    ]);
    // Boundaries inside the first record: 1000 and its end.
    expect(rel(m.boundaryAfter(m.first, S(0)))).toBe(1000);
    expect(rel(m.boundaryAfter(m.first, A(999)))).toBe(1000);
    expect(rel(m.boundaryAfter(m.first, S(1)))).toBe(1500);
    expect(rel(m.boundaryAtOrBelow(m.first, A(1499)))).toBe(1000);
    expect(rel(m.boundaryAtOrBelow(m.first, A(999)))).toBe(0);
    // A split keeps the grid: the upper half still has its boundary at 1000.
    m.markLostBelow(A(400), false);
    const upper = m.find(A(400));
    expect(rel(m.startOf(upper))).toBe(400);
    expect(rel(m.boundaryAfter(upper, A(400)))).toBe(1000);
    // Without a known grid a record is one range.
    const u = new SendMap();
    u.reset(S(0));
    u.append(S(0), S(3), 5, 0, 0);
    expect(rel(u.boundaryAfter(u.first, S(1)))).toBe(3000);
    expect(rel(u.boundaryAtOrBelow(u.first, S(2)))).toBe(0);
  });

  it('removes acknowledged records, trims a partly acknowledged one, and reports each newly delivered range once', () => {
    const m = tenSegments();
    const seen: Array<[number, number]> = [];
    const cb = (_i: number, from: Seq, to: Seq) => seen.push([(from - BASE) >>> 0, (to - BASE) >>> 0]);
    m.sack(S(3), S(4), cb);
    seen.length = 0;
    expect(m.advance(seqAdd(S(4), 500), cb)).toBe(false);
    // Segment 3 was SACKed before: not delivered again.
    expect(seen).toEqual([
      [0, 1000],
      [1000, 2000],
      [2000, 3000],
      [4000, 4500],
    ]);
    expect(records(m)[0]).toEqual([4500, 5000, 4, 0]);
    expect(m.sackedBytes).toBe(0);
  });

  it('splits records at SACK block edges and counts SACKed bytes once', () => {
    const m = new SendMap();
    m.reset(S(0));
    m.append(S(0), S(10), 1);
    m.sack(seqAdd(S(2), 500), S(4), () => undefined);
    m.sack(S(3), S(5), () => undefined);
    expect(records(m)).toEqual([
      [0, 2500, 1, 0],
      [2500, 4000, 1, SACKED],
      [4000, 5000, 1, SACKED],
      [5000, 10000, 1, 0],
    ]);
    expect(m.sackedBytes).toBe(2500);
    expect(m.sackedRanges().map((r) => [(r.left - BASE) >>> 0, (r.right - BASE) >>> 0])).toEqual([[2500, 5000]]);
    expect(m.highestSacked()).toBe(S(5));
  });

  it('is in order until something is SACKed or retransmitted, and again once SND.UNA passes both', () => {
    const m = tenSegments();
    expect(m.inOrder).toBe(true);
    m.sack(S(5), S(6), () => undefined);
    expect(m.inOrder).toBe(false);
    m.advance(S(6), () => undefined);
    expect(m.inOrder).toBe(true);
    m.markRetransmitted(m.find(S(7)), S(8), 20);
    expect(m.inOrder).toBe(false);
    m.advance(S(8), () => undefined);
    expect(m.inOrder).toBe(true);
  });

  it('clips a SACK block to [SND.UNA, SND.MAX) and ignores one wholly outside', () => {
    const m = tenSegments();
    m.advance(S(2), () => undefined);
    m.sack(S(0), seqAdd(S(2), 500), () => undefined);
    m.sack(S(9), S(12), () => undefined);
    m.sack(S(11), S(12), () => undefined);
    expect(m.sackedRanges().map((r) => [(r.left - BASE) >>> 0, (r.right - BASE) >>> 0])).toEqual([
      [2000, 2500],
      [9000, 10000],
    ]);
    expect(m.sackedBytes).toBe(1500);
  });

  it('says the receiver reneged when the cumulative ACK stops at a SACKed record', () => {
    const m = tenSegments();
    m.sack(S(2), S(3), () => undefined);
    expect(m.advance(S(2), () => undefined)).toBe(true);
    m.unsackAll(true);
    expect(m.sackedBytes).toBe(0);
    expect(m.lostBytes).toBe(1000);
    expect(records(m)[0]).toEqual([2000, 3000, 2, LOST]);
  });

  it('keeps pipe = flight - SACKed - lost + retransmitted through loss, retransmission and loss of the retransmission', () => {
    const m = tenSegments();
    m.sack(S(5), S(10), () => undefined);
    expect(pipe(m, 10_000)).toBe(5000);
    m.markLostBelow(S(2), false);
    expect(pipe(m, 10_000)).toBe(3000);
    m.markRetransmitted(m.find(S(0)), S(1), 20);
    expect(pipe(m, 10_000)).toBe(4000);
    expect(records(m)[0]).toEqual([0, 1000, 20, LOST | RETRANS | EVER_RETRANS]);
    // RACK finds the retransmission lost: it leaves the pipe and is to be sent again.
    m.markLost(m.find(S(0)));
    expect(pipe(m, 10_000)).toBe(3000);
    expect(m.nextLost(m.first)).toBe(m.find(S(0)));
    // SACKing a lost range takes it out of the lost count.
    m.sack(S(1), S(2), () => undefined);
    expect(m.lostBytes).toBe(1000);
    expect(pipe(m, 10_000)).toBe(3000);
  });

  it('marks a retransmitted range inside a record, splitting at both edges', () => {
    const m = new SendMap();
    m.reset(S(0));
    m.append(S(0), S(6), 1);
    m.markRangeRetransmitted(S(2), S(4), 9);
    expect(records(m)).toEqual([
      [0, 2000, 1, 0],
      [2000, 4000, 9, RETRANS | EVER_RETRANS],
      [4000, 6000, 1, 0],
    ]);
    expect(m.retransBytes).toBe(2000);
  });

  it('leaves retransmitted ranges alone in the DupThresh rule when asked to (RFC 6675 HighRxt)', () => {
    const m = tenSegments();
    m.markRetransmitted(m.find(S(0)), S(1), 20);
    m.markLostBelow(S(3), true);
    expect(records(m).slice(0, 3).map((r) => r[3])).toEqual([RETRANS | EVER_RETRANS, LOST, LOST]);
  });

  it('finds the DupThresh boundary: three SACKed ranges, or more than two segments SACKed, above a hole', () => {
    const m = tenSegments();
    m.sack(S(9), S(10), () => undefined);
    m.sack(S(7), S(8), () => undefined);
    expect(m.dupThreshBoundary(1000, 3)).toBe(S(0));
    m.sack(S(5), S(6), () => undefined);
    expect(m.dupThreshBoundary(1000, 3)).toBe(S(5));
    const n = tenSegments();
    n.sack(S(6), S(9), () => undefined);
    expect(n.dupThreshBoundary(1000, 3)).toBe(S(6));
  });

  it('grows past its initial capacity and compacts behind the head without losing a record', () => {
    const m = new SendMap();
    m.reset(S(0));
    let t = 0;
    let acked = 0;
    for (let k = 0; k < 5000; k++) {
      m.append(S(k), S(k + 1), t++);
      if (k % 3 === 2) m.sack(S(k), S(k + 1), () => undefined);
      if (k % 7 === 6) {
        acked = k - 50 > acked ? k - 50 : acked;
        m.advance(S(acked), () => undefined);
      }
    }
    const r = records(m);
    expect(r.length).toBe(5000 - acked);
    for (let k = 1; k < r.length; k++) expect(r[k]?.[0]).toBe(r[k - 1]?.[1]);
    expect(m.sackedBytes).toBe(r.filter((x) => x[3] === SACKED).length * 1000);
  });
});

describe('RACK over the SendMap (RFC 8985 §6.2 step 5)', () => {
  it('orders transmissions by time, and by end sequence at the same instant', () => {
    expect(sentAfter(2, S(1), 1, S(5))).toBe(true);
    expect(sentAfter(1, S(5), 1, S(4))).toBe(true);
    expect(sentAfter(1, S(4), 1, S(4))).toBe(false);
  });

  it('marks lost what was sent before the latest delivered segment once RTT plus the window has passed, and times the rest', () => {
    const m = tenSegments();
    m.sack(S(5), S(6), () => undefined);
    const lost: number[] = [];
    // RACK: segment 5 (sent at 5) delivered with RACK.rtt 3; window 3 + 1 at now 8.
    const timeout = m.rackDetectLoss(5, S(6), 4, 8, (i) => lost.push((m.startOf(i) - BASE) >>> 0));
    // Segments 0-4 were sent at 0..4: lost when sent + 4 <= 8, i.e. 0..4 all.
    expect(lost).toEqual([0, 1000, 2000, 3000, 4000]);
    expect(timeout).toBe(0);
    const n = tenSegments();
    n.sack(S(5), S(6), () => undefined);
    const lost2: number[] = [];
    const t2 = n.rackDetectLoss(5, S(6), 4, 6.5, (i) => lost2.push((n.startOf(i) - BASE) >>> 0));
    expect(lost2).toEqual([0, 1000, 2000]);
    // Segment 4 (sent at 4) becomes overdue at 8: 1.5 from now.
    expect(t2).toBe(1.5);
  });

  it('finds a lost retransmission, which was sent after newer data, once something sent later is delivered', () => {
    const m = tenSegments();
    m.markLostBelow(S(1), false);
    m.markRetransmitted(m.find(S(0)), S(1), 20);
    m.append(S(10), S(11), 21);
    m.sack(S(10), S(11), () => undefined);
    const lost: number[] = [];
    m.rackDetectLoss(21, S(11), 1, 30, (i) => lost.push((m.startOf(i) - BASE) >>> 0));
    expect(lost).toContain(0);
    expect(records(m)[0]?.[3]).toBe(LOST | EVER_RETRANS);
    expect(m.nextLost(m.first)).toBe(m.first);
  });

  it('drops the untimed mark of imported data where it is retransmitted (that part now has a transmit time)', () => {
    const m = new SendMap();
    m.reset(S(0));
    m.append(S(0), S(3), 0, UNTIMED);
    expect(records(m)[0]?.[3]).toBe(UNTIMED);
    m.markRetransmitted(m.first, S(1), 4);
    expect(records(m)[0]?.[3]).toBe(RETRANS | EVER_RETRANS);
    expect(records(m)[1]?.[3]).toBe(UNTIMED);
  });
});
