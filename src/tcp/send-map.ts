/**
 * The sender's per-range transmit metadata for [SND.UNA, SND.MAX): when each range was last
 * (re)transmitted, and whether it is SACKed, deemed lost, or has a retransmission in flight.
 * RACK (RFC 8985 §6.1) needs a transmit time per segment to detect losses by time, lost
 * retransmissions included; RFC 6675's scoreboard, pipe and NextSeg need the SACKed, lost
 * and retransmitted state per sequence range. One structure serves both (as Linux keeps both
 * in the retransmission queue's skb->sacked bits and FreeBSD RACK in its sendmap).
 *
 * Records tile [SND.UNA, SND.MAX) in sequence order, each a range sent at one instant with
 * one set of flags. New data sent at the same instant as the previous record extends it, so a
 * burst sent by one poll() is one record and the bulk path costs a few array writes per
 * burst, not an object per segment. A record is split where a SACK block, an ACK or a
 * retransmission ends inside it. Each record also keeps the grid its segments were cut on
 * (origin and segment size), so retransmissions can follow the original segment boundaries
 * as Linux's do (its retransmission queue holds the segments as sent): a retransmission that
 * straddles two originals, one of which never reached the wire, is one a capture tool cannot
 * credit, and it reports the peer's ACK of it as an ACK of an unseen segment. Storage is parallel typed arrays with a moving head,
 * compacted and grown in place (no allocation per segment).
 *
 * Counters are kept incrementally so RFC 6675 pipe is O(1): pipe = (SND.MAX - SND.UNA)
 * - sacked - lost + retransmitted, where a lost range whose retransmission is in flight
 * counts once (Linux tcp_packets_in_flight).
 */
import { seqAdd, seqDiff, seqGt, seqLe, seqLt, type Seq } from '../wire/seq.js';

/** The peer reported holding the range (RFC 2018). */
export const SACKED = 1;
/** Deemed lost (RACK, DupThresh, RTO) and not SACKed since. */
export const LOST = 2;
/** A retransmission of the range is in flight (Linux TCPCB_SACKED_RETRANS). */
export const RETRANS = 4;
/** The range was retransmitted at least once (RFC 8985 Segment.retransmitted; Karn). */
export const EVER_RETRANS = 8;
/**
 * Sent at an unknown time: data imported with chimney state, which carries no transmit
 * times. Such a range never advances RACK's notion of the latest delivered transmission.
 */
export const UNTIMED = 16;

/**
 * The arrays start empty and are allocated at the first send: an idle or receive-only
 * connection carries no transmit metadata (they are most of a connection's memory otherwise).
 */
const FIRST_CAPACITY = 8;
const NO_U32 = new Uint32Array(0);
const NO_F64 = new Float64Array(0);
const NO_U8 = new Uint8Array(0);

/**
 * Most records a SACK block may split the map into. On the segment grid a map holds at most
 * about two records per segment in flight, far below this; the cap binds only data of
 * unknown segmentation, whose records a SACK may split at any byte.
 */
export const MAX_SACK_RECORDS = 4096;

export class SendMap {
  private starts = NO_U32;
  private ends = NO_U32;
  private times = NO_F64;
  private flags = NO_U8;
  /** The grid each record's segments were cut on: boundaries at origin + k * cut; cut 0 = unknown. */
  private origins = NO_U32;
  private cuts = NO_U32;
  /** Records live in [head, tail). */
  private head = 0;
  private tail = 0;
  /** SND.UNA: the start of the first record, or of the empty map. */
  private base = 0 as Seq;
  /** Bytes SACKed, deemed lost (not SACKed), and retransmitted and in flight (not SACKed). */
  sackedBytes = 0;
  lostBytes = 0;
  retransBytes = 0;
  /** End of the highest range ever retransmitted (beyond it, records are in transmit order). */
  private retransHigh = 0 as Seq;
  /** SACK block edges not split at because the map held MAX_SACK_RECORDS records (diagnostics). */
  sackSplitsRefused = 0;

  /** Forgets everything; the map is empty at `una`. */
  reset(una: Seq): void {
    this.head = 0;
    this.tail = 0;
    this.base = una;
    this.retransHigh = una;
    this.sackedBytes = 0;
    this.lostBytes = 0;
    this.retransBytes = 0;
  }

  get isEmpty(): boolean {
    return this.head === this.tail;
  }

  get count(): number {
    return this.tail - this.head;
  }

  get first(): number {
    return this.head;
  }

  get end(): number {
    return this.tail;
  }

  startOf(i: number): Seq {
    return this.starts[i] as Seq;
  }

  endOf(i: number): Seq {
    return this.ends[i] as Seq;
  }

  timeOf(i: number): number {
    return this.times[i] as number;
  }

  flagsOf(i: number): number {
    return this.flags[i] as number;
  }

  /**
   * The first original segment boundary above `s` in record `i` (its end when the grid is
   * unknown): a retransmission starting at `s` should not reach past it.
   */
  boundaryAfter(i: number, s: Seq): Seq {
    const end = this.ends[i] as Seq;
    const cut = this.cuts[i] as number;
    if (cut === 0) return end;
    const origin = this.origins[i] as number;
    const b = ((origin + (Math.floor(seqDiff(s, origin as Seq) / cut) + 1) * cut) >>> 0) as Seq;
    return seqLt(b, end) ? b : end;
  }

  /** The last original segment boundary at or below `s` in record `i` (its start when the grid is unknown). */
  boundaryAtOrBelow(i: number, s: Seq): Seq {
    const start = this.starts[i] as Seq;
    const cut = this.cuts[i] as number;
    if (cut === 0) return start;
    const origin = this.origins[i] as number;
    const b = ((origin + Math.floor(seqDiff(s, origin as Seq) / cut) * cut) >>> 0) as Seq;
    return seqGt(b, start) ? b : start;
  }

  /**
   * Nothing outstanding is SACKed or was ever retransmitted: then every outstanding range was
   * sent after everything delivered so far, and RACK can find nothing lost (the common case
   * of a loss-free ACK clock, checked before walking the map).
   */
  get inOrder(): boolean {
    return this.sackedBytes === 0 && !seqGt(this.retransHigh, this.base);
  }

  /** The sequence number after the last record (SND.MAX as far as the map knows). */
  get top(): Seq {
    return this.tail > this.head ? (this.ends[this.tail - 1] as Seq) : this.base;
  }

  /**
   * New data [start, end) sent at `now` (start is the current top), cut into wire segments of
   * `cut` bytes from `start` (the segment's length, or the GSO size of a super-segment; 0 when
   * not known). Extends the last record when it was sent at the same instant, is plain new
   * data and starts on the last record's grid; otherwise appends.
   */
  append(start: Seq, end: Seq, now: number, flags = 0, cut = 0): void {
    const last = this.tail - 1;
    if (
      last >= this.head &&
      this.times[last] === now &&
      this.flags[last] === 0 &&
      this.ends[last] === start &&
      cut !== 0 &&
      this.cuts[last] === cut &&
      seqDiff(start, this.origins[last] as Seq) % cut === 0
    ) {
      this.ends[last] = end;
      return;
    }
    if (this.tail === this.head) this.base = start;
    const i = this.slotAtTail();
    this.starts[i] = start;
    this.ends[i] = end;
    this.times[i] = now;
    this.flags[i] = flags;
    this.origins[i] = start;
    this.cuts[i] = cut;
  }

  /**
   * The cumulative ACK moved SND.UNA to `ack`: records below it leave the map. Calls
   * `delivered(i, from, to)` for every range that was not SACKed before (newly delivered,
   * RFC 8985 RACK_update) before removing it. Returns true when the new first record is
   * SACKed: the receiver reneged on it (RFC 2018 §8).
   */
  advance(ack: Seq, delivered: (i: number, from: Seq, to: Seq) => void): boolean {
    const starts = this.starts;
    const ends = this.ends;
    while (this.head < this.tail) {
      const i = this.head;
      const s = starts[i] as Seq;
      if (!seqLt(s, ack)) break;
      const e = ends[i] as Seq;
      const f = this.flags[i] as number;
      if (seqLe(e, ack)) {
        if ((f & SACKED) === 0) delivered(i, s, e);
        this.account(f, seqDiff(e, s), -1);
        this.head++;
        continue;
      }
      // The ACK ends inside this record: trim its head.
      const n = seqDiff(ack, s);
      if ((f & SACKED) === 0) delivered(i, s, ack);
      this.account(f, n, -1);
      starts[i] = ack;
      break;
    }
    this.base = ack;
    if (this.head === this.tail) {
      // Everything is acknowledged: the arrays go, as the send queue's chunks do, so an idle
      // connection carries no transmit metadata; the next send allocates them again.
      this.head = 0;
      this.tail = 0;
      this.release();
    }
    if (seqLt(this.retransHigh, ack)) this.retransHigh = ack;
    return this.head < this.tail && ((this.flags[this.head] as number) & SACKED) !== 0;
  }

  /**
   * Marks [left, right) SACKed (clipped to the map). Calls `delivered(i, from, to)` for each
   * range that was not SACKed before.
   *
   * The block is first rounded in to the segment grid (Linux tcp_sacktag_walk splits only on
   * segment boundaries, tcp_match_skb_to_sack): a segment the block covers only in part is
   * left unSACKed, which RFC 6675 §2 permits ("a segment that is not fully SACKed is treated
   * as not SACKed"). Otherwise a peer SACKing single bytes would make every byte a record
   * and every ACK a shift of the arrays (CVE-2019-11478). Records of unknown segmentation
   * (cut 0: imported state) may split at any edge, but no split is made once the map holds
   * MAX_SACK_RECORDS records (counted in `sackSplitsRefused`; the SACK is then taken in part,
   * which costs at most a retransmission the peer did not need). A newly SACKed record merges
   * with a SACKed neighbour sent at the same instant on the same grid, undoing the split that
   * made it, so SACKing a burst segment by segment leaves it one record.
   */
  sack(left: Seq, right: Seq, delivered: (i: number, from: Seq, to: Seq) => void): void {
    if (this.head === this.tail) return;
    if (seqLt(left, this.base)) left = this.base;
    const top = this.top;
    if (seqGt(right, top)) right = top;
    if (!seqLt(left, right)) return;
    let i = this.find(left);
    if ((this.cuts[i] as number) !== 0 && this.boundaryAtOrBelow(i, left) !== left) {
      left = this.boundaryAfter(i, left);
      if (left === this.ends[i]) i++;
    }
    const j = this.find(seqAdd(right, -1));
    if ((this.cuts[j] as number) !== 0 && right !== this.ends[j]) right = this.boundaryAtOrBelow(j, right);
    if (!seqLt(left, right)) return;
    if (this.starts[i] !== left) {
      // Already SACKed up to its end, or a split refused: continue from the next record.
      if (((this.flags[i] as number) & SACKED) === 0) this.splitForSack(i, left);
      i++;
    }
    while (i < this.tail && seqLt(this.starts[i] as Seq, right)) {
      const f = this.flags[i] as number;
      if ((f & SACKED) === 0) {
        if (seqGt(this.ends[i] as Seq, right) && !this.splitForSack(i, right)) return;
        const s = this.starts[i] as Seq;
        const e = this.ends[i] as Seq;
        delivered(i, s, e);
        this.account(f, seqDiff(e, s), -1);
        this.flags[i] = (f & EVER_RETRANS) | SACKED;
        this.sackedBytes += seqDiff(e, s);
        i = this.mergeSacked(i);
      }
      i++;
    }
  }

  /** Clears every SACKED flag (the receiver reneged); the ranges become lost (`markLost`) or plain in flight. */
  unsackAll(markLost: boolean): void {
    for (let i = this.head; i < this.tail; i++) {
      const f = this.flags[i] as number;
      if ((f & SACKED) === 0) continue;
      const n = seqDiff(this.ends[i] as Seq, this.starts[i] as Seq);
      this.sackedBytes -= n;
      this.flags[i] = (f & EVER_RETRANS) | (markLost ? LOST : 0);
      if (markLost) this.lostBytes += n;
    }
  }

  /**
   * Marks record `i` lost (RFC 8985 Segment.lost; a lost retransmission loses its RETRANS
   * flag so it is sent again). Returns the bytes newly counted as lost or taken out of flight.
   */
  markLost(i: number): number {
    const f = this.flags[i] as number;
    if ((f & SACKED) !== 0) return 0;
    const n = seqDiff(this.ends[i] as Seq, this.starts[i] as Seq);
    let changed = 0;
    if ((f & RETRANS) !== 0) {
      this.retransBytes -= n;
      changed = n;
    }
    if ((f & LOST) === 0) {
      this.lostBytes += n;
      changed = n;
    }
    this.flags[i] = (f & ~RETRANS) | LOST;
    return changed;
  }

  /**
   * Marks the records covering [SND.UNA, end) lost (splitting at `end`); see markLost. With
   * `skipRetransmitted`, ranges already retransmitted are left alone (RFC 6675's HighRxt: its
   * DupThresh rule never resends a range twice; a lost retransmission waits for the RTO).
   */
  markLostBelow(end: Seq, skipRetransmitted: boolean): void {
    for (let i = this.head; i < this.tail; i++) {
      const s = this.starts[i] as Seq;
      if (!seqLt(s, end)) break;
      const f = this.flags[i] as number;
      if ((f & SACKED) !== 0 || (skipRetransmitted && (f & EVER_RETRANS) !== 0)) continue;
      if (seqGt(this.ends[i] as Seq, end)) this.split(i, end);
      this.markLost(i);
    }
  }

  /** markRetransmitted for every unSACKed record inside [start, end), splitting at both edges. */
  markRangeRetransmitted(start: Seq, end: Seq, now: number): void {
    if (this.head === this.tail || !seqLt(start, end)) return;
    let i = this.find(start);
    if (seqLt(this.starts[i] as Seq, start)) {
      if (!seqLt(start, this.ends[i] as Seq)) return;
      this.split(i, start);
      i++;
    }
    for (; i < this.tail && seqLt(this.starts[i] as Seq, end); i++) {
      if (((this.flags[i] as number) & SACKED) !== 0) continue;
      this.markRetransmitted(i, seqLt(end, this.ends[i] as Seq) ? end : (this.ends[i] as Seq), now);
    }
  }

  /**
   * Records [start, start + len) (inside record `i`, starting at its start) as retransmitted
   * at `now`: split off the rest, flag RETRANS and EVER_RETRANS, and take the new transmit
   * time (RFC 8985 §6.2: Segment.xmit_ts is the most recent transmission).
   */
  markRetransmitted(i: number, end: Seq, now: number): void {
    if (seqLt(end, this.ends[i] as Seq)) this.split(i, end);
    const f = this.flags[i] as number;
    const n = seqDiff(this.ends[i] as Seq, this.starts[i] as Seq);
    if ((f & RETRANS) === 0) this.retransBytes += n;
    this.flags[i] = (f & ~UNTIMED) | RETRANS | EVER_RETRANS;
    this.times[i] = now;
    if (seqGt(this.ends[i] as Seq, this.retransHigh)) this.retransHigh = this.ends[i] as Seq;
  }

  /**
   * After a retransmission timeout: every retransmission in flight is presumed lost with the
   * rest (Linux tcp_enter_loss clears retrans_out), and `isLost(i)` decides which unSACKed
   * records are marked lost (RFC 8985 §6.3).
   */
  onRetransmitTimeout(isLost: (i: number) => boolean): void {
    this.retransBytes = 0;
    for (let i = this.head; i < this.tail; i++) {
      const f = this.flags[i] as number;
      if ((f & SACKED) !== 0) continue;
      this.flags[i] = f & ~RETRANS;
      if ((f & LOST) === 0 && isLost(i)) {
        this.flags[i] = (f & ~RETRANS) | LOST;
        this.lostBytes += seqDiff(this.ends[i] as Seq, this.starts[i] as Seq);
      }
    }
  }

  /**
   * RACK_detect_loss (RFC 8985 §6.2 step 5): every unSACKed record sent before the most
   * recently delivered one (RACK.xmit_ts, RACK.end_seq), and not already lost and awaiting
   * retransmission, is lost once `time + window <= now` (window = RACK.rtt + RACK.reo_wnd);
   * otherwise the time left until it would be. Returns the largest such remaining time (0
   * when none), and counts newly lost bytes in `lostBytes`. Beyond the highest range ever
   * retransmitted, records are in transmit order, so the walk stops at the first record sent
   * after RACK's.
   */
  rackDetectLoss(rackTime: number, rackEnd: Seq, window: number, now: number, onLost: (i: number) => void): number {
    let timeout = 0;
    const times = this.times;
    const flags = this.flags;
    for (let i = this.head; i < this.tail; i++) {
      const f = flags[i] as number;
      const t = times[i] as number;
      const e = this.ends[i] as Seq;
      if ((f & SACKED) !== 0 || (f & (LOST | RETRANS)) === LOST) continue;
      if (!sentAfter(rackTime, rackEnd, t, e)) {
        if ((f & EVER_RETRANS) === 0 && !seqLt(this.starts[i] as Seq, this.retransHigh)) break;
        continue;
      }
      const remaining = t + window - now;
      if (remaining <= 0) {
        this.markLost(i);
        onLost(i);
      } else if (remaining > timeout) {
        timeout = remaining;
      }
    }
    return timeout;
  }

  /**
   * The first record at or after index `from` that needs a retransmission (RFC 6675 NextSeg
   * rule (1): lost, not SACKed, no retransmission in flight); -1 when none.
   */
  nextLost(from: number): number {
    const flags = this.flags;
    for (let i = from < this.head ? this.head : from; i < this.tail; i++) {
      if (((flags[i] as number) & (SACKED | LOST | RETRANS)) === LOST) return i;
    }
    return -1;
  }

  /**
   * RFC 6675 NextSeg rule (3): the first record at or after `from` that is neither SACKed,
   * lost nor retransmitted and starts below `below` (the highest SACKed octet); -1 when none.
   */
  nextUnsackedBelow(from: number, below: Seq): number {
    const flags = this.flags;
    for (let i = from < this.head ? this.head : from; i < this.tail; i++) {
      if (!seqLt(this.starts[i] as Seq, below)) return -1;
      if (((flags[i] as number) & (SACKED | LOST | EVER_RETRANS)) === 0) return i;
    }
    return -1;
  }

  /** The highest record that is not SACKed; -1 when none. */
  lastUnsacked(): number {
    for (let i = this.tail - 1; i >= this.head; i--) {
      if (((this.flags[i] as number) & SACKED) === 0) return i;
    }
    return -1;
  }

  /** Right edge of the highest SACKed record (RFC 6675 HighSACK + 1); undefined when none. */
  highestSacked(): Seq | undefined {
    if (this.sackedBytes === 0) return undefined;
    for (let i = this.tail - 1; i >= this.head; i--) {
      if (((this.flags[i] as number) & SACKED) !== 0) return this.ends[i] as Seq;
    }
    return undefined;
  }

  /** The record holding sequence number `s` (binary search; the last record when `s` is beyond it). */
  find(s: Seq): number {
    let lo = this.head;
    let hi = this.tail - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (seqLe(this.starts[mid] as Seq, s)) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * RFC 6675 §4 IsLost for the DupThresh rule, used when RACK is off: the boundary below
   * which every unSACKed octet has DupThresh discontiguous SACKed ranges, or more than
   * (DupThresh - 1) * SMSS SACKed bytes, above it.
   */
  dupThreshBoundary(mss: number, dupThresh: number): Seq {
    let bytes = 0;
    let ranges = 0;
    let inRange = false;
    for (let i = this.tail - 1; i >= this.head; i--) {
      const f = this.flags[i] as number;
      if ((f & SACKED) !== 0) {
        bytes += seqDiff(this.ends[i] as Seq, this.starts[i] as Seq);
        if (!inRange) ranges++;
        inRange = true;
        if (ranges >= dupThresh || bytes > (dupThresh - 1) * mss) {
          // Everything below the left edge of this SACKed range qualifies.
          let k = i;
          while (k > this.head && ((this.flags[k - 1] as number) & SACKED) !== 0) k--;
          return this.starts[k] as Seq;
        }
      } else {
        inRange = false;
      }
    }
    return this.base;
  }

  /** Copies the SACKed ranges out, merged (tests and diagnostics). */
  sackedRanges(): Array<{ left: Seq; right: Seq }> {
    const out: Array<{ left: Seq; right: Seq }> = [];
    for (let i = this.head; i < this.tail; i++) {
      if (((this.flags[i] as number) & SACKED) === 0) continue;
      const last = out[out.length - 1];
      if (last !== undefined && last.right === this.starts[i]) last.right = this.ends[i] as Seq;
      else out.push({ left: this.starts[i] as Seq, right: this.ends[i] as Seq });
    }
    return out;
  }

  /** split() for a SACK block edge, unless the map already holds MAX_SACK_RECORDS records. */
  private splitForSack(i: number, at: Seq): boolean {
    if (this.tail - this.head >= MAX_SACK_RECORDS) {
      this.sackSplitsRefused++;
      return false;
    }
    this.split(i, at);
    return true;
  }

  /**
   * Merges record `i` (just SACKed) with SACKed neighbours that could have been one record
   * with it: contiguous, the same flags and transmit time, and the same known grid. Returns
   * the index of the merged record (i or i - 1).
   */
  private mergeSacked(i: number): number {
    if (i > this.head && this.sameRecord(i - 1, i)) {
      this.ends[i - 1] = this.ends[i] as number;
      this.remove(i);
      i--;
    }
    if (i + 1 < this.tail && this.sameRecord(i, i + 1)) {
      this.ends[i] = this.ends[i + 1] as number;
      this.remove(i + 1);
    }
    return i;
  }

  private sameRecord(a: number, b: number): boolean {
    const cut = this.cuts[a] as number;
    return (
      cut !== 0 &&
      this.cuts[b] === cut &&
      this.ends[a] === this.starts[b] &&
      this.flags[a] === this.flags[b] &&
      this.times[a] === this.times[b] &&
      seqDiff(this.origins[b] as Seq, this.origins[a] as Seq) % cut === 0
    );
  }

  /** Removes record `i`; indices above it move down by one. */
  private remove(i: number): void {
    const n = this.tail;
    this.starts.copyWithin(i, i + 1, n);
    this.ends.copyWithin(i, i + 1, n);
    this.times.copyWithin(i, i + 1, n);
    this.flags.copyWithin(i, i + 1, n);
    this.origins.copyWithin(i, i + 1, n);
    this.cuts.copyWithin(i, i + 1, n);
    this.tail--;
  }

  /** Splits record `i` at `at` (strictly inside it): the upper part becomes record i + 1 with the same time and flags. Indices below i + 1 stay valid. */
  private split(i: number, at: Seq): void {
    if (this.tail === this.starts.length) this.grow(false);
    if (this.tail > i + 1) {
      this.starts.copyWithin(i + 2, i + 1, this.tail);
      this.ends.copyWithin(i + 2, i + 1, this.tail);
      this.times.copyWithin(i + 2, i + 1, this.tail);
      this.flags.copyWithin(i + 2, i + 1, this.tail);
      this.origins.copyWithin(i + 2, i + 1, this.tail);
      this.cuts.copyWithin(i + 2, i + 1, this.tail);
    }
    this.tail++;
    this.starts[i + 1] = at;
    this.ends[i + 1] = this.ends[i] as number;
    this.times[i + 1] = this.times[i] as number;
    this.flags[i + 1] = this.flags[i] as number;
    this.origins[i + 1] = this.origins[i] as number;
    this.cuts[i + 1] = this.cuts[i] as number;
    this.ends[i] = at;
  }

  /**
   * A slot for a new record at the tail. Only here may indices move (the dead prefix is
   * compacted away), so callers hold no record index across an append.
   */
  private slotAtTail(): number {
    if (this.tail === this.starts.length) {
      const live = this.tail - this.head;
      if (this.head > 0 && live < this.starts.length >>> 1) {
        const h = this.head;
        this.starts.copyWithin(0, h, this.tail);
        this.ends.copyWithin(0, h, this.tail);
        this.times.copyWithin(0, h, this.tail);
        this.flags.copyWithin(0, h, this.tail);
        this.origins.copyWithin(0, h, this.tail);
        this.cuts.copyWithin(0, h, this.tail);
        this.head = 0;
        this.tail = live;
      } else {
        this.grow(true);
      }
    }
    return this.tail++;
  }

  private release(): void {
    this.starts = NO_U32;
    this.ends = NO_U32;
    this.times = NO_F64;
    this.flags = NO_U8;
    this.origins = NO_U32;
    this.cuts = NO_U32;
  }

  /** Doubles the capacity; with `compact` the dead prefix is dropped (indices move), otherwise indices are kept. */
  private grow(compact: boolean): void {
    const cap = Math.max(FIRST_CAPACITY, this.starts.length * 2);
    const from = compact ? this.head : 0;
    const starts = new Uint32Array(cap);
    const ends = new Uint32Array(cap);
    const times = new Float64Array(cap);
    const flags = new Uint8Array(cap);
    const origins = new Uint32Array(cap);
    const cuts = new Uint32Array(cap);
    starts.set(this.starts.subarray(from, this.tail));
    ends.set(this.ends.subarray(from, this.tail));
    times.set(this.times.subarray(from, this.tail));
    flags.set(this.flags.subarray(from, this.tail));
    origins.set(this.origins.subarray(from, this.tail));
    cuts.set(this.cuts.subarray(from, this.tail));
    this.starts = starts;
    this.ends = ends;
    this.times = times;
    this.flags = flags;
    this.origins = origins;
    this.cuts = cuts;
    this.head -= from;
    this.tail -= from;
  }

  /** Adds (`sign` 1) or removes (-1) `n` bytes with flags `f` from the counters their flags name. */
  private account(f: number, n: number, sign: number): void {
    if ((f & SACKED) !== 0) {
      this.sackedBytes += sign * n;
      return;
    }
    if ((f & LOST) !== 0) this.lostBytes += sign * n;
    if ((f & RETRANS) !== 0) this.retransBytes += sign * n;
  }
}

/**
 * RFC 8985 §6.2 RACK_sent_after: whether a transmission at (t1, seq1) happened after one at
 * (t2, seq2); the end sequence number breaks ties between ranges sent at the same instant.
 */
export function sentAfter(t1: number, seq1: Seq, t2: number, seq2: Seq): boolean {
  return t1 > t2 || (t1 === t2 && seqGt(seq1, seq2));
}
