/**
 * Issue 9: remote denial of service in the TCP engine. A peer that SACKs single bytes made
 * the send map split at every byte edge, each split shifting the arrays (CVE-2019-11478's
 * class: quadratic in the number of crafted ACKs); a peer that sends one-byte segments at
 * every other byte above a hole made the reassembly queue scan and splice per segment, and
 * charge one byte for each piece that costs hundreds. The checks here count structure (ranges,
 * pieces, charged memory, and the records each ACK walks), not wall-clock time; the timings
 * are in scripts/bench-attack.ts.
 */
import { describe, expect, it } from 'vitest';
import { MAX_PIECES, PIECE_OVERHEAD, Reassembly } from '../../../src/tcp/reassembly.js';
import { MAX_SACK_RECORDS, SACKED, SendMap } from '../../../src/tcp/send-map.js';
import { SeededRandom } from '../../../src/wire/random.js';
import { seq, seqAdd, seqDiff, type Seq } from '../../../src/wire/seq.js';
import { ACK, DATA, EngineHarness, SYN_ACK, TCP_ACK, TCP_SYN, streamBytes } from '../../helpers/segments.js';

const BASE = 0xfff00000; // the flight crosses 2^32
const SEGMENT = 1448;
const BURST = 64; // segments per burst, each burst sent at its own instant
const FLIGHT = 1 << 20;

/** About 1 MiB in flight, sent in bursts of 64 segments of 1448 bytes, as the engine records them. */
function flight(): { m: SendMap; segments: number } {
  const m = new SendMap();
  m.reset(seq(BASE));
  let at = 0;
  let t = 0;
  let segments = 0;
  while (at < FLIGHT) {
    const len = Math.min(BURST * SEGMENT, FLIGHT - at);
    m.append(seq(BASE + at), seq(BASE + at + len), t++, 0, SEGMENT);
    segments += Math.ceil(len / SEGMENT);
    at += len;
  }
  return { m, segments };
}

/**
 * `acks` ACKs of four single-byte SACK blocks each, top-down over the flight (every block a
 * separate byte, so none merge). Returns the largest record count seen and the sum over the
 * ACKs of the records in the map (what each ACK's splits shift and its walks visit).
 */
function singleByteSackAttack(m: SendMap, acks: number): { maxRecords: number; work: number } {
  const step = Math.floor(FLIGHT / (4 * acks));
  let maxRecords = 0;
  let work = 0;
  let k = 0;
  for (let a = 0; a < acks; a++) {
    for (let b = 0; b < 4; b++, k++) {
      const at = seq(BASE + FLIGHT - 1 - k * step);
      m.sack(at, seqAdd(at, 1), () => undefined);
    }
    if (m.count > maxRecords) maxRecords = m.count;
    work += m.count;
  }
  return { maxRecords, work };
}

describe('issue 9 defect 1: SACK processing is not quadratic', () => {
  it('16,000 ACKs of single-byte SACK blocks over 1 MiB in flight never split a segment: the records stay those sent', () => {
    const { m, segments } = flight();
    const sent = m.count;
    const { maxRecords } = singleByteSackAttack(m, 16_000);
    expect(maxRecords).toBeLessThanOrEqual(segments);
    expect(maxRecords).toBe(sent);
    // A block covering part of a segment does not SACK it (RFC 6675 permits treating
    // partially SACKed segments as not SACKed).
    expect(m.sackedBytes).toBe(0);
  });

  it('the work per crafted ACK does not grow with the number of ACKs (doubling the ACKs doubles the work)', () => {
    const half = singleByteSackAttack(flight().m, 8_000).work;
    const full = singleByteSackAttack(flight().m, 16_000).work;
    expect(full / half).toBeLessThan(2.2);
    expect(full).toBeLessThanOrEqual(16_000 * 32);
  });

  it('rounds a block in to the segment grid: only the segments it wholly covers are SACKed', () => {
    const { m } = flight();
    const seg = (k: number): Seq => seq(BASE + k * SEGMENT);
    // Half of segment 2, all of 3 and 4, one byte of 5.
    const seen: Array<[number, number]> = [];
    m.sack(seqAdd(seg(2), 700), seqAdd(seg(5), 1), (_i, from, to) => seen.push([seqDiff(from, seq(BASE)), seqDiff(to, seq(BASE))]));
    expect(seen).toEqual([[3 * SEGMENT, 5 * SEGMENT]]);
    expect(m.sackedBytes).toBe(2 * SEGMENT);
    expect(m.sackedRanges()).toEqual([{ left: seg(3), right: seg(5) }]);
  });

  it('merges a newly SACKed segment into its SACKed neighbour: SACKing a burst segment by segment top-down leaves three records', () => {
    const m = new SendMap();
    m.reset(seq(BASE));
    m.append(seq(BASE), seq(BASE + 100 * SEGMENT), 1, 0, SEGMENT);
    let most = 0;
    for (let k = 99; k >= 1; k -= 1) {
      m.sack(seq(BASE + k * SEGMENT), seq(BASE + (k + 1) * SEGMENT), () => undefined);
      if (m.count > most) most = m.count;
    }
    expect(most).toBeLessThanOrEqual(3);
    expect(m.count).toBe(2);
    expect(m.flagsOf(m.first + 1)).toBe(SACKED);
    expect(m.sackedBytes).toBe(99 * SEGMENT);
    // Split again where a retransmission or a loss ends: the grid survived the merges.
    expect(m.boundaryAfter(m.first + 1, seq(BASE + 5 * SEGMENT + 3))).toBe(seq(BASE + 6 * SEGMENT));
  });

  it('alternate whole segments SACKed: at most one record per segment in flight', () => {
    const { m, segments } = flight();
    for (let k = segments - 1; k >= 0; k -= 2) m.sack(seq(BASE + k * SEGMENT), seq(BASE + (k + 1) * SEGMENT), () => undefined);
    expect(m.count).toBeLessThanOrEqual(segments + 1);
    expect(m.sackedRanges().length).toBe(Math.ceil(segments / 2));
  });

  it('data of unknown segmentation (imported state) splits at any edge, but never beyond the record cap, and counts the refusals', () => {
    const m = new SendMap();
    m.reset(seq(BASE));
    m.append(seq(BASE), seq(BASE + FLIGHT), 1, 0, 0);
    let most = 0;
    for (let k = 0; k < 40_000; k++) {
      const at = seq(BASE + FLIGHT - 1 - 2 * k);
      m.sack(at, seqAdd(at, 1), () => undefined);
      if (m.count > most) most = m.count;
    }
    expect(most).toBeLessThanOrEqual(MAX_SACK_RECORDS);
    expect(m.sackSplitsRefused).toBeGreaterThan(0);
    // What was marked is counted exactly once.
    let sacked = 0;
    for (const r of m.sackedRanges()) sacked += seqDiff(r.right, r.left);
    expect(m.sackedBytes).toBe(sacked);
  });

  it('SACK still spares what the peer holds: one lost segment out of twenty is the only one resent', () => {
    const h = EngineHarness.connect({ config: { congestionControl: 'newreno', initialCwndSegments: 20 } });
    const ISS = 1000;
    h.poll();
    h.expect({ flags: TCP_SYN });
    h.advance(10);
    h.send(SYN_ACK(5000, ISS + 1, { mss: 1000, sackPermitted: true }, 65535));
    h.expect({ flags: TCP_ACK });
    h.conn.write(new Uint8Array(20_000));
    h.poll();
    expect(h.sent.length).toBe(20);
    h.sent.length = 0;
    // Segment 0 is lost; the peer SACKs the rest as it arrives.
    for (let k = 1; k < 20; k++) {
      h.advance(0.1);
      h.send(ACK(5001, ISS + 1, { options: { sackBlocks: [{ left: seq(ISS + 1 + 1000), right: seq(ISS + 1 + (k + 1) * 1000) }] } }));
    }
    const resent = h.nextSegmentWithin(100);
    expect(resent.seqNumber).toBe(seq(ISS + 1));
    expect(resent.payload.length).toBe(1000);
    expect(h.sent.filter((s) => s.payload.length > 0)).toEqual([]);
    h.send(ACK(5001, ISS + 1 + 20_000));
    expect(h.conn.info().sacked).toBe(0);
  });
});

/** Drains everything in order from `r` starting at `from`; returns the bytes and the next sequence number. */
function drain(r: Reassembly, from: Seq): { bytes: number[]; next: Seq } {
  const bytes: number[] = [];
  let next = from;
  for (let p = r.take(next); p !== undefined; p = r.take(next)) {
    for (const b of p) bytes.push(b);
    next = seqAdd(next, p.length);
  }
  return { bytes, next };
}

describe('issue 9 defect 2: the reassembly queue is not quadratic and charges what it holds', () => {
  const RCV = 0xffff0000;
  const S = (n: number): Seq => seq(RCV + n);
  const stream = streamBytes(0, 100_000);

  it('40,000 one-byte segments at every other byte above a hole: pieces and charged memory stay bounded, the excess is refused as fragmented', () => {
    const limit = 1 << 20;
    const r = new Reassembly(limit);
    let added = 0;
    let fragmented = 0;
    let maxPieces = 0;
    for (let k = 0; k < 40_000; k++) {
      const res = r.insert(S(1 + 2 * k), stream, 1 + 2 * k, 1);
      if (res === 'added') added++;
      else if (res === 'fragmented') fragmented++;
      if (r.pieceCount > maxPieces) maxPieces = r.pieceCount;
    }
    expect(added + fragmented).toBe(40_000);
    expect(fragmented).toBeGreaterThan(0);
    expect(maxPieces).toBeLessThanOrEqual(MAX_PIECES);
    expect(r.rangeCount).toBeLessThanOrEqual(MAX_PIECES);
    expect(r.chargedBytes).toBe(r.bytes + r.pieceCount * PIECE_OVERHEAD);
    expect(r.chargedBytes).toBeLessThanOrEqual(2 * limit);
  });

  it('the same attack in top-down order is bounded too', () => {
    const r = new Reassembly(1 << 20);
    for (let k = 39_999; k >= 0; k--) r.insert(S(1 + 2 * k), stream, 1 + 2 * k, 1);
    expect(r.pieceCount).toBeLessThanOrEqual(MAX_PIECES);
    expect(r.chargedBytes).toBeLessThanOrEqual(2 << 20);
  });

  it('charges a per-piece overhead on top of the payload, and the payload limit still holds', () => {
    const r = new Reassembly(3000);
    expect(r.insert(S(1000), stream, 1000, 1000)).toBe('added');
    expect(r.chargedBytes).toBe(1000 + PIECE_OVERHEAD);
    expect(r.insert(S(3000), stream, 3000, 1000)).toBe('added');
    expect(r.chargedBytes).toBe(2000 + 2 * PIECE_OVERHEAD);
    expect(r.insert(S(5000), stream, 5000, 1001)).toBe('full');
  });

  it('coalesces small adjacent pieces: 4,000 contiguous one-byte segments above a hole make few pieces', () => {
    const r = new Reassembly(1 << 20);
    for (let k = 0; k < 4000; k++) expect(r.insert(S(1 + k), stream, 1 + k, 1)).toBe('added');
    expect(r.pieceCount).toBeLessThanOrEqual(4);
    expect(r.rangeCount).toBe(1);
    r.insert(S(0), stream, 0, 1);
    const { bytes } = drain(r, S(0));
    expect(bytes).toEqual(Array.from(stream.subarray(0, 4001)));
  });

  it('what it accepted from the attack is handed back byte-exact once the holes fill', () => {
    const r = new Reassembly(1 << 20);
    const accepted: number[] = [];
    for (let k = 0; k < 40_000; k++) if (r.insert(S(1 + 2 * k), stream, 1 + 2 * k, 1) === 'added') accepted.push(1 + 2 * k);
    const top = (accepted[accepted.length - 1] as number) + 1;
    // The peer fills every hole up to the highest accepted byte, one MSS at a time.
    let next = S(0);
    let out: number[] = [];
    for (let at = 0; at < top; at += 1460) {
      const len = Math.min(1460, top - at);
      const res = r.insert(S(at), stream, at, len);
      expect(res === 'added' || res === 'duplicate').toBe(true);
      const d = drain(r, next);
      out = out.concat(d.bytes);
      next = d.next;
    }
    expect(seqDiff(next, S(0))).toBe(top);
    expect(out).toEqual(Array.from(stream.subarray(0, top)));
    expect(r.isEmpty).toBe(true);
    expect(r.chargedBytes).toBe(0);
  });

  it('random overlapping segments are reassembled byte-exact, with SACK ranges that match the bytes held', () => {
    const rnd = new SeededRandom(9);
    for (let round = 0; round < 8; round++) {
      const r = new Reassembly(1 << 20);
      const total = 20_000;
      const held = new Uint8Array(total);
      for (let n = 0; n < 600; n++) {
        const at = 1 + Math.floor(rnd.nextU32() % (total - 1));
        const size = [1, 2, 7, 100, 536, 1460, 3000][rnd.nextU32() % 7] as number;
        const len = Math.min(size, total - at);
        const res = r.insert(S(at), stream, at, len);
        if (res === 'added') held.fill(1, at, at + len);
        else expect(res).toBe('duplicate');
      }
      // SACK ranges are exactly the runs of held bytes.
      const runs: Array<[number, number]> = [];
      for (let i = 0; i < total; i++) {
        if (held[i] === 0) continue;
        const last = runs[runs.length - 1];
        if (last !== undefined && last[1] === i) last[1] = i + 1;
        else runs.push([i, i + 1]);
      }
      const lefts: Seq[] = [];
      const rights: Seq[] = [];
      const n = r.sackBlocks(lefts, rights, 0, runs.length + 4);
      const blocks = lefts.slice(0, n).map((l, q) => [seqDiff(l, S(0)), seqDiff(rights[q] as Seq, S(0))] as [number, number]);
      expect(blocks.sort((a, b) => a[0] - b[0])).toEqual(runs);
      expect(r.bytes).toBe(held.reduce((a, b) => a + b, 0));
      for (const [a, b] of runs) expect(r.covers(S(a), S(b))).toBe(true);
      // Fill the hole at 0 and the rest in order: the stream comes back exact.
      let next = S(0);
      let out: number[] = [];
      for (let at = 0; at < total; at += 1460) {
        r.insert(S(at), stream, at, Math.min(1460, total - at));
        const d = drain(r, next);
        out = out.concat(d.bytes);
        next = d.next;
      }
      expect(out.length).toBe(total);
      expect(out).toEqual(Array.from(stream.subarray(0, total)));
    }
  });

  it('the engine drops the excess of the attack as tcp-reassembly-fragmented and still delivers the stream exactly', () => {
    const ISS = 1000;
    const PEER = 5000;
    const h = EngineHarness.established({ peerOptions: { mss: 1460, sackPermitted: true } });
    const reasons = new Map<string, number>();
    for (let k = 0; k < 20_000; k++) {
      const v = h.send(DATA(PEER + 2 + 2 * k, ISS + 1, stream.subarray(1 + 2 * k, 2 + 2 * k)), false);
      if (v !== undefined) reasons.set(v, (reasons.get(v) ?? 0) + 1);
    }
    h.poll();
    expect([...reasons.keys()]).toEqual(['tcp-reassembly-fragmented']);
    expect(h.conn.info().reorderQueueBytes).toBeLessThanOrEqual(MAX_PIECES);
    h.sent.length = 0;
    // The peer then sends the stream in order.
    const total = 40_000;
    for (let at = 0; at < total; at += 1460) h.send(DATA(PEER + 1 + at, ISS + 1, stream.subarray(at, Math.min(total, at + 1460))), false);
    h.poll();
    expect(h.readAll()).toEqual(stream.subarray(0, total));
  });
});

