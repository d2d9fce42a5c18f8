/**
 * Out-of-order segments waiting for the hole before them to fill (RFC 9293 §3.10.7.4, step 7:
 * "segments with higher beginning sequence numbers SHOULD be held for later processing").
 * The merged ranges double as the source of the SACK blocks we send (RFC 2018 §4), most
 * recently changed first.
 *
 * Memory is bounded by what the pieces cost, not only by their payload (a peer sending one
 * byte at every other sequence number once made each held byte cost some 400 bytes of heap):
 * - the payload held stays within the limit ('full', dropped as 'tcp-reassembly-full'; the
 *   peer retransmits);
 * - each piece is charged its payload plus PIECE_OVERHEAD (Linux charges skb->truesize), and
 *   the charge stays within twice the limit (Linux sizes its receive buffer at about twice
 *   the window it advertises for the same reason), and no more than MAX_PIECES pieces are
 *   held ('fragmented', dropped as 'tcp-reassembly-fragmented'). The incoming segment is the
 *   one dropped: held data is never pruned, so nothing already SACKed is reneged on.
 * Small adjacent pieces are coalesced into one copy (Linux tcp_try_coalesce), so a stream of
 * tiny segments above a hole costs few pieces.
 *
 * Pieces and ranges are sorted typed arrays searched by bisection; a piece's bytes sit in a
 * slot of a pool that never moves, so an insert costs a binary search, a copy of the new
 * bytes and a shift of at most MAX_PIECES array entries, and delivery from the front is O(1).
 */
import { seqAdd, seqDiff, seqGt, seqLe, seqLt, type Seq } from '../wire/seq.js';

/** Most SACK blocks we ever report; the option space allows 4 without timestamps, 3 with. */
const MAX_RECENT = 4;

/**
 * Bytes charged per held piece beyond its payload: what a piece costs the heap besides its
 * bytes on Node 20 (the Uint8Array and its ArrayBuffer, their backing-store record, the pool
 * slot and the index entries: measured at about 245 bytes per one-byte piece), rounded up.
 */
export const PIECE_OVERHEAD = 256;

/** Most pieces held at once (each insert shifts at most this many index entries). */
export const MAX_PIECES = 4096;

/** Adjacent pieces are coalesced into one copy while the result stays this small. */
const COALESCE_MAX = 2048;

const FIRST_CAPACITY = 8;
const NO_U32 = new Uint32Array(0);

export type ReassemblyResult = 'added' | 'duplicate' | 'full' | 'fragmented';

/** Disjoint [start, end) ranges sorted by sequence number, live in [head, tail), with a tag each. */
class SortedRanges {
  starts = NO_U32;
  ends = NO_U32;
  tags = NO_U32;
  head = 0;
  tail = 0;

  get count(): number {
    return this.tail - this.head;
  }

  /** Index of the first range whose end is after `s` (tail when none). */
  firstEndingAfter(s: Seq): number {
    let lo = this.head;
    let hi = this.tail;
    // Fast path: in-order arrival above the highest range.
    if (hi > lo && seqLe(this.ends[hi - 1] as Seq, s)) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (seqLe(this.ends[mid] as Seq, s)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the range holding `s`, or -1. */
  indexOf(s: Seq): number {
    const k = this.firstEndingAfter(s);
    return k < this.tail && seqLe(this.starts[k] as Seq, s) ? k : -1;
  }

  /**
   * Replaces ranges [from, to) by `n` slots at [from', from' + n), returning from' (the
   * indices move when the arrays are compacted or grown). The caller fills the slots.
   */
  replace(from: number, to: number, n: number): number {
    const delta = n - (to - from);
    if (this.tail + delta > this.starts.length) {
      const live = this.tail - this.head;
      const h = this.head;
      if (live + delta <= this.starts.length >>> 1) {
        this.starts.copyWithin(0, h, this.tail);
        this.ends.copyWithin(0, h, this.tail);
        this.tags.copyWithin(0, h, this.tail);
      } else {
        let cap = Math.max(FIRST_CAPACITY, this.starts.length * 2);
        while (cap < live + delta) cap *= 2;
        const starts = new Uint32Array(cap);
        const ends = new Uint32Array(cap);
        const tags = new Uint32Array(cap);
        starts.set(this.starts.subarray(h, this.tail));
        ends.set(this.ends.subarray(h, this.tail));
        tags.set(this.tags.subarray(h, this.tail));
        this.starts = starts;
        this.ends = ends;
        this.tags = tags;
      }
      this.head = 0;
      this.tail = live;
      from -= h;
      to -= h;
    }
    if (delta !== 0 && to < this.tail) {
      this.starts.copyWithin(to + delta, to, this.tail);
      this.ends.copyWithin(to + delta, to, this.tail);
      this.tags.copyWithin(to + delta, to, this.tail);
    }
    this.tail += delta;
    return from;
  }

  /** Drops the first range. */
  shift(): void {
    this.head++;
    if (this.head === this.tail) this.head = this.tail = 0;
  }

  clear(): void {
    this.head = this.tail = 0;
  }
}

export class Reassembly {
  /** Held pieces: disjoint, sorted; the tag is the piece's slot in `pool`. */
  private readonly pieces = new SortedRanges();
  private readonly pool: Array<Uint8Array | undefined> = [];
  private readonly freeSlots: number[] = [];
  /** Merged ranges of held data, sorted, disjoint and non-adjacent: what SACK reports. */
  private readonly ranges = new SortedRanges();
  /** Sequence numbers of the most recently received segments, newest first (RFC 2018 §4 block order). */
  private readonly recent: Seq[] = [];
  private held = 0;

  constructor(private readonly limit: number) {}

  /** Payload bytes held. */
  get bytes(): number {
    return this.held;
  }

  /** What the held pieces are charged: payload plus PIECE_OVERHEAD per piece. */
  get chargedBytes(): number {
    return this.held + this.pieces.count * PIECE_OVERHEAD;
  }

  get pieceCount(): number {
    return this.pieces.count;
  }

  get isEmpty(): boolean {
    return this.pieces.count === 0;
  }

  /** Number of merged ranges (holes above RCV.NXT). */
  get rangeCount(): number {
    return this.ranges.count;
  }

  /** Highest sequence number held, exclusive; undefined when empty. */
  get highestEnd(): Seq | undefined {
    const r = this.ranges;
    return r.tail === r.head ? undefined : (r.ends[r.tail - 1] as Seq);
  }

  /**
   * Holds src[off, off+len), whose first byte has sequence number `start` (above RCV.NXT).
   * Only bytes not already held are copied, except that pieces coalesced with the new bytes
   * are copied once more (into one buffer of at most COALESCE_MAX bytes).
   */
  insert(start: Seq, src: Uint8Array, off: number, len: number): ReassemblyResult {
    const end = seqAdd(start, len);
    const p = this.pieces;
    // Pieces [i, j) overlap [start, end); count the bytes not yet held and the gaps they leave.
    const i = p.firstEndingAfter(start);
    let j = i;
    let fresh = len;
    let gaps = 0;
    let cur = start;
    while (j < p.tail && seqLt(p.starts[j] as Seq, end)) {
      const s = p.starts[j] as Seq;
      const e = p.ends[j] as Seq;
      if (seqLt(cur, s)) gaps++;
      fresh -= seqDiff(seqGt(e, end) ? end : e, seqLt(s, start) ? start : s);
      if (seqGt(e, cur)) cur = e;
      j++;
    }
    if (seqLt(cur, end)) gaps++;
    if (fresh === 0) return 'duplicate';
    if (this.held + fresh > this.limit) return 'full';
    // Coalesce into one piece when the span of the segment, the pieces it overlaps and the
    // pieces touching it is small; otherwise hold each gap as a piece of its own.
    let from = i;
    let to = j;
    let lo = j > i && seqLt(p.starts[i] as Seq, start) ? (p.starts[i] as Seq) : start;
    let hi = j > i && seqGt(p.ends[j - 1] as Seq, end) ? (p.ends[j - 1] as Seq) : end;
    if (from > p.head && p.ends[from - 1] === lo) {
      from--;
      lo = p.starts[from] as Seq;
    }
    if (to < p.tail && p.starts[to] === hi) {
      hi = p.ends[to] as Seq;
      to++;
    }
    const coalesce = seqDiff(hi, lo) <= COALESCE_MAX;
    const after = coalesce ? p.count - (to - from) + 1 : p.count + gaps;
    if (after > MAX_PIECES || this.held + fresh + after * PIECE_OVERHEAD > 2 * this.limit) return 'fragmented';
    if (coalesce && from === to) {
      // Nothing to coalesce with (the common case): one copy, as the gap path makes it.
      this.setPiece(p.replace(from, to, 1), start, end, src.slice(off, off + len));
    } else if (coalesce) {
      const buf = new Uint8Array(seqDiff(hi, lo));
      for (let k = from; k < to; k++) {
        buf.set(this.release(p.tags[k] as number), seqDiff(p.starts[k] as Seq, lo));
      }
      // The new bytes last: where they overlap held ones they are the same bytes (or the
      // peer is lying, and then the newer copy is as good as the older).
      buf.set(src.subarray(off, off + len), seqDiff(start, lo));
      const at = p.replace(from, to, 1);
      this.setPiece(at, lo, hi, buf);
    } else {
      // Interleave the gaps of [start, end) with the held pieces [i, j), which keep their
      // bytes: open room for the gaps, then move the pieces up from the last, filling the
      // gaps behind each (a piece's new index is never below its old one).
      const at = p.replace(i, j, j - i + gaps);
      let w = at + (j - i) + gaps;
      let top = end;
      for (let k = at + (j - i) - 1; k >= at; k--) {
        const s = p.starts[k] as Seq;
        const e = p.ends[k] as Seq;
        const tag = p.tags[k] as number;
        if (seqLt(e, top)) this.setPiece(--w, e, top, this.copy(src, off, start, e, top));
        w--;
        p.starts[w] = s;
        p.ends[w] = e;
        p.tags[w] = tag;
        top = s;
      }
      if (seqLt(start, top)) this.setPiece(--w, start, top, this.copy(src, off, start, start, top));
    }
    this.held += fresh;
    this.addRange(start, end);
    this.noteRecent(start);
    return 'added';
  }

  /** Whether [start, end) is wholly held already (a duplicate, for D-SACK). */
  covers(start: Seq, end: Seq): boolean {
    const k = this.ranges.indexOf(start);
    return k >= 0 && seqLe(end, this.ranges.ends[k] as Seq);
  }

  /**
   * Takes the held data that continues the stream at `rcvNxt`: returns the first piece
   * overlapping rcvNxt (as a view starting at rcvNxt) and forgets it, or undefined when the
   * hole before the held data is still open. Pieces wholly below rcvNxt are discarded.
   */
  take(rcvNxt: Seq): Uint8Array | undefined {
    const p = this.pieces;
    while (p.tail > p.head) {
      const s = p.starts[p.head] as Seq;
      if (seqGt(s, rcvNxt)) return undefined;
      const d = this.release(p.tags[p.head] as number);
      p.shift();
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
    const r = this.ranges;
    let n = 0;
    for (let q = 0; q < this.recent.length && n < max; q++) {
      const k = r.indexOf(this.recent[q] as Seq);
      if (k >= 0 && !written(lefts, at, n, r.starts[k] as Seq)) {
        lefts[at + n] = r.starts[k] as Seq;
        rights[at + n] = r.ends[k] as Seq;
        n++;
      }
    }
    for (let k = r.tail - 1; k >= r.head && n < max; k--) {
      if (!written(lefts, at, n, r.starts[k] as Seq)) {
        lefts[at + n] = r.starts[k] as Seq;
        rights[at + n] = r.ends[k] as Seq;
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.pieces.clear();
    this.pool.length = 0;
    this.freeSlots.length = 0;
    this.ranges.clear();
    this.recent.length = 0;
    this.held = 0;
  }

  /** A copy of the bytes [from, to) of a segment whose first byte, src[off], is `start`. */
  private copy(src: Uint8Array, off: number, start: Seq, from: Seq, to: Seq): Uint8Array {
    const a = off + seqDiff(from, start);
    return src.slice(a, a + seqDiff(to, from));
  }

  /** Stores piece `k` = [start, end) with bytes `data` in a free pool slot. */
  private setPiece(k: number, start: Seq, end: Seq, data: Uint8Array): void {
    const slot = this.freeSlots.length > 0 ? (this.freeSlots.pop() as number) : this.pool.length;
    this.pool[slot] = data;
    const p = this.pieces;
    p.starts[k] = start;
    p.ends[k] = end;
    p.tags[k] = slot;
  }

  /** Frees a pool slot, returning the bytes it held. */
  private release(slot: number): Uint8Array {
    const d = this.pool[slot] as Uint8Array;
    this.pool[slot] = undefined;
    this.freeSlots.push(slot);
    return d;
  }

  /** Adds [left, right) to the ranges, merging every range it overlaps or touches. */
  private addRange(left: Seq, right: Seq): void {
    const r = this.ranges;
    // From the first range ending at or after `left` (touching counts) past every one starting at or before `right`.
    const k = r.firstEndingAfter(seqAdd(left, -1));
    let m = k;
    let l = left;
    let h = right;
    while (m < r.tail && seqLe(r.starts[m] as Seq, h)) {
      if (seqLt(r.starts[m] as Seq, l)) l = r.starts[m] as Seq;
      if (seqGt(r.ends[m] as Seq, h)) h = r.ends[m] as Seq;
      m++;
    }
    const at = r.replace(k, m, 1);
    r.starts[at] = l;
    r.ends[at] = h;
  }

  /** Forgets range parts below `s` (delivered). */
  private trimRanges(s: Seq): void {
    const r = this.ranges;
    while (r.tail > r.head && seqLe(r.ends[r.head] as Seq, s)) r.shift();
    if (r.tail > r.head && seqLt(r.starts[r.head] as Seq, s)) r.starts[r.head] = s;
    if (r.tail === r.head) this.recent.length = 0;
  }

  private noteRecent(s: Seq): void {
    const recent = this.recent;
    const k = this.ranges.indexOf(s);
    // Drop older anchors that now fall into the same merged range, then put this one first.
    for (let q = recent.length - 1; q >= 0; q--) {
      if (this.ranges.indexOf(recent[q] as Seq) === k) recent.splice(q, 1);
    }
    recent.unshift(s);
    if (recent.length > MAX_RECENT) recent.length = MAX_RECENT;
  }
}

function written(lefts: Seq[], at: number, n: number, left: Seq): boolean {
  for (let q = 0; q < n; q++) if (lefts[at + q] === left) return true;
  return false;
}
