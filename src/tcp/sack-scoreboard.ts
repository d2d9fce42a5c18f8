/**
 * The sender's SACK scoreboard (RFC 6675 §3): which sequence ranges above SND.UNA the peer has
 * reported holding. Kept as a short sorted list of disjoint ranges; every query is linear in
 * the number of ranges (holes), which stays small. A peer may renege on SACKed data (RFC 2018
 * §8; a chimney upload drops SACKed-only data by design, reference §3.3.2 step 2), so SACK
 * information only ever steers retransmission; SND.UNA alone frees the send queue.
 */
import { seqDiff, seqGt, seqLe, seqLt, seqMax, seqMin, type Seq } from '../wire/seq.js';
import type { TcpSackBlock } from '../wire/tcp.js';

/** At most this many ranges are remembered; beyond it the highest range is forgotten (treated as not SACKed). */
const MAX_RANGES = 64;

export class SackScoreboard {
  private lefts: Seq[] = [];
  private rights: Seq[] = [];
  private total = 0;

  /** Total SACKed bytes above SND.UNA. */
  get sacked(): number {
    return this.total;
  }

  get isEmpty(): boolean {
    return this.lefts.length === 0;
  }

  /** Left edge of the lowest SACKed range; undefined when empty. */
  get firstLeft(): Seq | undefined {
    return this.lefts[0];
  }

  get rangeCount(): number {
    return this.lefts.length;
  }

  /** Right edge of the highest SACKed range (RFC 6675 "the highest octet covered by any received SACK", plus one); undefined when empty. */
  get highestRight(): Seq | undefined {
    return this.rights[this.rights.length - 1];
  }

  /**
   * Adds the blocks of one ACK. Blocks that are not inside [sndUna, sndMax) are ignored
   * (D-SACK blocks lie below SND.UNA, RFC 2883; others are bogus). Returns true when the ACK
   * reported bytes not known to be SACKed before (RFC 6675 §2 "DupAck" condition (b)).
   */
  update(blocks: readonly TcpSackBlock[], sndUna: Seq, sndMax: Seq): boolean {
    const before = this.total;
    for (let b = 0; b < blocks.length; b++) {
      const block = blocks[b] as TcpSackBlock;
      let left = block.left;
      const right = block.right;
      if (!seqLt(left, right) || seqLe(right, sndUna) || seqGt(right, sndMax)) continue;
      if (seqLt(left, sndUna)) left = sndUna;
      this.add(left, right);
    }
    return this.total > before;
  }

  /** Forgets everything at or below the new SND.UNA. */
  pruneBelow(sndUna: Seq): void {
    const lefts = this.lefts;
    const rights = this.rights;
    let k = 0;
    while (k < lefts.length && seqLe(rights[k] as Seq, sndUna)) {
      this.total -= seqDiff(rights[k] as Seq, lefts[k] as Seq);
      k++;
    }
    if (k > 0) {
      lefts.splice(0, k);
      rights.splice(0, k);
    }
    if (lefts.length > 0 && seqLt(lefts[0] as Seq, sndUna)) {
      this.total -= seqDiff(sndUna, lefts[0] as Seq);
      lefts[0] = sndUna;
    }
  }

  clear(): void {
    this.lefts.length = 0;
    this.rights.length = 0;
    this.total = 0;
  }

  /** SACKed bytes inside [a, b). */
  sackedIn(a: Seq, b: Seq): number {
    if (this.total === 0 || !seqLt(a, b)) return 0;
    let n = 0;
    for (let k = 0; k < this.lefts.length; k++) {
      const l = seqMax(this.lefts[k] as Seq, a);
      const r = seqMin(this.rights[k] as Seq, b);
      if (seqLt(l, r)) n += seqDiff(r, l);
    }
    return n;
  }

  /** The first sequence number at or after `s` that is not SACKed. */
  nextUnsacked(s: Seq): Seq {
    for (let k = 0; k < this.lefts.length; k++) {
      if (seqLe(this.lefts[k] as Seq, s) && seqLt(s, this.rights[k] as Seq)) return this.rights[k] as Seq;
    }
    return s;
  }

  /** End of the hole that starts at `s` (an unSACKed sequence number): the next SACKed left edge above it, or `limit`. */
  holeEnd(s: Seq, limit: Seq): Seq {
    for (let k = 0; k < this.lefts.length; k++) {
      const l = this.lefts[k] as Seq;
      if (seqGt(l, s)) return seqMin(l, limit);
    }
    return limit;
  }

  /**
   * RFC 6675 §4 IsLost: an unSACKed sequence number is lost when DupThresh discontiguous SACKed
   * ranges lie above it, or more than (DupThresh - 1) * SMSS SACKed bytes. Every unSACKed
   * number below the returned boundary is lost; `floor` (SND.UNA) when none is.
   */
  lostBoundary(floor: Seq, mss: number, dupThresh: number): Seq {
    let bytes = 0;
    for (let k = this.lefts.length - 1, count = 1; k >= 0; k--, count++) {
      bytes += seqDiff(this.rights[k] as Seq, this.lefts[k] as Seq);
      if (count >= dupThresh || bytes > (dupThresh - 1) * mss) return seqMax(this.lefts[k] as Seq, floor);
    }
    return floor;
  }

  /** Copies the ranges out (tests and diagnostics). */
  ranges(): Array<{ left: Seq; right: Seq }> {
    return this.lefts.map((left, k) => ({ left, right: this.rights[k] as Seq }));
  }

  private add(left: Seq, right: Seq): void {
    const lefts = this.lefts;
    const rights = this.rights;
    let k = 0;
    while (k < lefts.length && seqLt(rights[k] as Seq, left)) k++;
    let l = left;
    let r = right;
    let m = k;
    let removed = 0;
    while (m < lefts.length && seqLe(lefts[m] as Seq, r)) {
      if (seqLt(lefts[m] as Seq, l)) l = lefts[m] as Seq;
      if (seqGt(rights[m] as Seq, r)) r = rights[m] as Seq;
      removed += seqDiff(rights[m] as Seq, lefts[m] as Seq);
      m++;
    }
    if (m === k) {
      lefts.splice(k, 0, l);
      rights.splice(k, 0, r);
    } else {
      lefts.splice(k, m - k, l);
      rights.splice(k, m - k, r);
    }
    this.total += seqDiff(r, l) - removed;
    if (lefts.length > MAX_RANGES) {
      const last = lefts.length - 1;
      this.total -= seqDiff(rights[last] as Seq, lefts[last] as Seq);
      lefts.length = last;
      rights.length = last;
    }
  }
}
