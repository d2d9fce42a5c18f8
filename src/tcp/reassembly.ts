/**
 * Out-of-order segments waiting for the hole before them to fill (RFC 9293 §3.10.7.4, step 7:
 * "segments with higher beginning sequence numbers SHOULD be held for later processing").
 * Memory is bounded: a segment that would push the held bytes over the limit is dropped
 * ('tcp-reassembly-full'); the peer retransmits it. The merged ranges double as the source of
 * the SACK blocks we send (RFC 2018 §4), most recently changed first.
 */
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, type Seq } from '../wire/seq.js';

/** Most SACK blocks we ever report; the option space allows 4 without timestamps, 3 with. */
const MAX_RECENT = 4;

export type ReassemblyResult = 'added' | 'duplicate' | 'full';

export class Reassembly {
  /** Held pieces, sorted by start, disjoint (adjacent pieces are not merged: their bytes are separate copies). */
  private starts: Seq[] = [];
  private datas: Uint8Array[] = [];
  /** Merged ranges of held data, sorted, disjoint and non-adjacent: what SACK reports. */
  private rangeLefts: Seq[] = [];
  private rangeRights: Seq[] = [];
  /** Sequence numbers of the most recently received segments, newest first (RFC 2018 §4 block order). */
  private recent: Seq[] = [];
  private held = 0;

  constructor(private readonly limit: number) {}

  get bytes(): number {
    return this.held;
  }

  get isEmpty(): boolean {
    return this.starts.length === 0;
  }

  /** Number of merged ranges (holes above RCV.NXT). */
  get rangeCount(): number {
    return this.rangeLefts.length;
  }

  /** Highest sequence number held, exclusive; undefined when empty. */
  get highestEnd(): Seq | undefined {
    const n = this.rangeRights.length;
    return n === 0 ? undefined : (this.rangeRights[n - 1] as Seq);
  }

  /**
   * Holds src[off, off+len), whose first byte has sequence number `start` (above RCV.NXT).
   * Only bytes not already held are copied.
   */
  insert(start: Seq, src: Uint8Array, off: number, len: number): ReassemblyResult {
    const end = seqAdd(start, len);
    const starts = this.starts;
    const datas = this.datas;
    // First pass: count the new bytes, to enforce the memory bound before copying anything.
    let fresh = 0;
    let i = this.firstEndingAfter(start);
    let cur = start;
    let j = i;
    while (seqLt(cur, end)) {
      if (j < starts.length && seqLe(starts[j] as Seq, cur)) {
        // Inside (or at the start of) a held piece: skip over it.
        const pieceEnd = seqAdd(starts[j] as Seq, (datas[j] as Uint8Array).length);
        if (seqGt(pieceEnd, cur)) cur = pieceEnd;
        j++;
        continue;
      }
      // A gap up to the next held piece (which is then examined) or to the end.
      const next = j < starts.length && seqLt(starts[j] as Seq, end) ? (starts[j] as Seq) : end;
      fresh += seqDiff(next, cur);
      cur = next;
    }
    if (fresh === 0) return 'duplicate';
    if (this.held + fresh > this.limit) return 'full';
    // Second pass: copy the gaps.
    cur = start;
    while (seqLt(cur, end)) {
      if (i < starts.length && seqLe(starts[i] as Seq, cur)) {
        const pieceEnd = seqAdd(starts[i] as Seq, (datas[i] as Uint8Array).length);
        if (seqGt(pieceEnd, cur)) cur = pieceEnd;
        i++;
        continue;
      }
      const next = i < starts.length && seqLt(starts[i] as Seq, end) ? (starts[i] as Seq) : end;
      const n = seqDiff(next, cur);
      const from = off + seqDiff(cur, start);
      const copy = src.slice(from, from + n);
      if (i === starts.length) {
        starts.push(cur);
        datas.push(copy);
      } else {
        starts.splice(i, 0, cur);
        datas.splice(i, 0, copy);
      }
      i++;
      cur = next;
    }
    this.held += fresh;
    this.addRange(start, end);
    this.noteRecent(start);
    return 'added';
  }

  /** Whether [start, end) is wholly held already (a duplicate, for D-SACK). */
  covers(start: Seq, end: Seq): boolean {
    const k = this.rangeIndexContaining(start);
    return k >= 0 && seqLe(end, this.rangeRights[k] as Seq);
  }

  /**
   * Takes the held data that continues the stream at `rcvNxt`: returns the first piece
   * overlapping rcvNxt (as a view starting at rcvNxt) and forgets it, or undefined when the
   * hole before the held data is still open. Pieces wholly below rcvNxt are discarded.
   */
  take(rcvNxt: Seq): Uint8Array | undefined {
    const starts = this.starts;
    const datas = this.datas;
    while (starts.length > 0) {
      const s = starts[0] as Seq;
      if (seqGt(s, rcvNxt)) return undefined;
      const d = datas[0] as Uint8Array;
      starts.shift();
      datas.shift();
      this.held -= d.length;
      const skip = seqDiff(rcvNxt, s);
      if (skip < d.length) {
        this.trimRanges(seqAdd(s, d.length));
        return skip === 0 ? d : d.subarray(skip);
      }
    }
    this.trimRanges(rcvNxt);
    return undefined;
  }

  /**
   * Writes up to `max` SACK blocks into lefts/rights from index `at`: the range holding the
   * most recently received segment first, then the other recently reported ranges (RFC 2018
   * §4), then the highest others. Returns the number of blocks written.
   */
  sackBlocks(lefts: Seq[], rights: Seq[], at: number, max: number): number {
    let n = 0;
    for (let r = 0; r < this.recent.length && n < max; r++) {
      const k = this.rangeIndexContaining(this.recent[r] as Seq);
      if (k >= 0 && !written(lefts, at, n, this.rangeLefts[k] as Seq)) {
        lefts[at + n] = this.rangeLefts[k] as Seq;
        rights[at + n] = this.rangeRights[k] as Seq;
        n++;
      }
    }
    for (let k = this.rangeLefts.length - 1; k >= 0 && n < max; k--) {
      if (!written(lefts, at, n, this.rangeLefts[k] as Seq)) {
        lefts[at + n] = this.rangeLefts[k] as Seq;
        rights[at + n] = this.rangeRights[k] as Seq;
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.starts.length = 0;
    this.datas.length = 0;
    this.rangeLefts.length = 0;
    this.rangeRights.length = 0;
    this.recent.length = 0;
    this.held = 0;
  }

  /** Index of the first piece whose end is after `s` (pieces before it lie wholly below s). */
  private firstEndingAfter(s: Seq): number {
    const starts = this.starts;
    const n = starts.length;
    if (n === 0) return 0;
    // Fast path: in-order arrival above the highest piece.
    const last = n - 1;
    if (seqGe(s, seqAdd(starts[last] as Seq, (this.datas[last] as Uint8Array).length))) return n;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (seqLe(seqAdd(starts[mid] as Seq, (this.datas[mid] as Uint8Array).length), s)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private rangeIndexContaining(s: Seq): number {
    for (let k = 0; k < this.rangeLefts.length; k++) {
      if (seqLe(this.rangeLefts[k] as Seq, s) && seqLt(s, this.rangeRights[k] as Seq)) return k;
    }
    return -1;
  }

  private addRange(left: Seq, right: Seq): void {
    const lefts = this.rangeLefts;
    const rights = this.rangeRights;
    let k = 0;
    while (k < lefts.length && seqLt(rights[k] as Seq, left)) k++;
    // Merge every range that overlaps or touches [left, right).
    let l = left;
    let r = right;
    let m = k;
    while (m < lefts.length && seqLe(lefts[m] as Seq, r)) {
      if (seqLt(lefts[m] as Seq, l)) l = lefts[m] as Seq;
      if (seqGt(rights[m] as Seq, r)) r = rights[m] as Seq;
      m++;
    }
    lefts.splice(k, m - k, l);
    rights.splice(k, m - k, r);
  }

  /** Forgets range parts below `s` (delivered). */
  private trimRanges(s: Seq): void {
    const lefts = this.rangeLefts;
    const rights = this.rangeRights;
    while (lefts.length > 0 && seqLe(rights[0] as Seq, s)) {
      lefts.shift();
      rights.shift();
    }
    if (lefts.length > 0 && seqLt(lefts[0] as Seq, s)) lefts[0] = s;
    if (lefts.length === 0) this.recent.length = 0;
  }

  private noteRecent(s: Seq): void {
    const recent = this.recent;
    const k = this.rangeIndexContaining(s);
    // Drop older anchors that now fall into the same merged range, then put this one first.
    for (let r = recent.length - 1; r >= 0; r--) {
      if (this.rangeIndexContaining(recent[r] as Seq) === k) recent.splice(r, 1);
    }
    recent.unshift(s);
    if (recent.length > MAX_RECENT) recent.length = MAX_RECENT;
  }
}

function written(lefts: Seq[], at: number, n: number, left: Seq): boolean {
  for (let q = 0; q < n; q++) if (lefts[at + q] === left) return true;
  return false;
}
