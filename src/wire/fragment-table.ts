/**
 * The family-independent half of IP reassembly: a bounded table of partly received datagrams,
 * each a sorted list of non-overlapping fragment ranges. `ipv4-reassembly.ts` and
 * `ipv6-reassembly.ts` key it, validate their own header rules, and map its verdicts to their
 * drop reasons.
 *
 * Rules shared by both families:
 * - Overlapping fragments discard the whole datagram (RFC 5722 for IPv6; Linux applies the same
 *   to IPv4 since the 2018 FragmentSmack fixes). An exact duplicate of a fragment already held
 *   is dropped alone and the datagram kept (RFC 5722 erratum 3089, as Linux's
 *   inet_frag_queue_insert).
 * - A last fragment that disagrees with a known end, or data past the end, discards the
 *   datagram: its length can no longer be trusted.
 * - Limits: at most `maxDatagrams` datagrams in progress and `maxBytes` of fragment data held;
 *   a fragment over either limit is dropped (Linux drops new fragments above
 *   ipfrag_high_thresh rather than evicting). A datagram is discarded `timeoutMs` after its
 *   first fragment arrived (RFC 791 §3.2 "reassembly timer"; RFC 8200 §4.5 says 60 s).
 *
 * Fragment data is copied on arrival: the frames it came in are the link's to reuse.
 */

export interface ReassemblyLimits {
  /** Datagrams in progress at once. */
  readonly maxDatagrams: number;
  /** Bytes of fragment data held across all datagrams. */
  readonly maxBytes: number;
  /** How long a datagram may take to complete, from its first fragment. */
  readonly timeoutMs: number;
}

export type FragmentRejection = 'overlap' | 'duplicate' | 'bad-offset' | 'limit';

interface Range {
  readonly offset: number;
  readonly data: Uint8Array;
}

interface Pending<H> {
  readonly deadline: number;
  /** Header information of the fragment at offset 0, once it has arrived. */
  first: H | undefined;
  /** Payload length of the whole datagram, once the last fragment has arrived. */
  end: number | undefined;
  held: number;
  readonly ranges: Range[];
}

export type FragmentOutcome<H> =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'complete'; readonly first: H; readonly payload: Uint8Array }
  | { readonly kind: 'rejected'; readonly why: FragmentRejection };

export interface ReassemblyStats {
  /** Fragments accepted into a datagram. */
  fragments: number;
  /** Datagrams completed. */
  reassembled: number;
  /** Datagrams discarded after their timeout. */
  timeouts: number;
  /** Datagrams discarded because of an overlap or an inconsistent length. */
  discarded: number;
}

export class FragmentTable<K, H> {
  private readonly pending = new Map<K, Pending<H>>();
  private bytesHeld = 0;
  readonly counters: ReassemblyStats = { fragments: 0, reassembled: 0, timeouts: 0, discarded: 0 };

  /**
   * `onTimeout` hears of every datagram discarded for its timeout, with the first fragment's
   * header information when fragment zero had arrived (RFC 792, RFC 8200 §4.5: only then is a
   * Time Exceeded "reassembly" error sent).
   */
  constructor(
    readonly limits: ReassemblyLimits,
    private readonly onTimeout?: (first: H | undefined) => void,
  ) {}

  get datagramsInProgress(): number {
    return this.pending.size;
  }

  get bytes(): number {
    return this.bytesHeld;
  }

  /**
   * Adds the fragment covering payload bytes [offset, offset + data.length) of datagram `key`.
   * `last` is true when no more fragments follow (MF clear). `first` is the header
   * information to keep when `offset` is 0.
   */
  add(key: K, offset: number, data: Uint8Array, last: boolean, first: H | undefined, now: number): FragmentOutcome<H> {
    const end = offset + data.length;
    let p = this.pending.get(key);
    if (p !== undefined && p.deadline <= now) {
      this.timeOut(key, p);
      p = undefined;
    }
    if (p === undefined) {
      if (this.pending.size >= this.limits.maxDatagrams || this.bytesHeld + data.length > this.limits.maxBytes) {
        return { kind: 'rejected', why: 'limit' };
      }
      p = { deadline: now + this.limits.timeoutMs, first: undefined, end: undefined, held: 0, ranges: [] };
      this.pending.set(key, p);
    }

    // Length consistency (RFC 791 §3.2, RFC 8200 §4.5): one end, and nothing beyond it.
    if (last) {
      const maxEnd = p.ranges.length > 0 ? rangeEnd(p.ranges[p.ranges.length - 1] as Range) : 0;
      if ((p.end !== undefined && p.end !== end) || maxEnd > end) return this.discard(key, p, 'bad-offset');
    } else if (p.end !== undefined && end > p.end) {
      return this.discard(key, p, 'bad-offset');
    }

    // Find the insertion point and check the neighbours for overlap.
    let at = p.ranges.length;
    for (let i = 0; i < p.ranges.length; i++) {
      const r = p.ranges[i] as Range;
      if (offset < rangeEnd(r) && r.offset < end) {
        if (r.offset === offset && rangeEnd(r) === end) return this.dropOrForget(key, p, 'duplicate');
        return this.discard(key, p, 'overlap');
      }
      if (r.offset >= end) {
        at = i;
        break;
      }
    }

    if (this.bytesHeld + data.length > this.limits.maxBytes) return this.dropOrForget(key, p, 'limit');
    p.ranges.splice(at, 0, { offset, data: data.slice() });
    p.held += data.length;
    this.bytesHeld += data.length;
    this.counters.fragments++;
    if (last) p.end = end;
    if (offset === 0 && first !== undefined) p.first = first;

    if (p.end === undefined || p.first === undefined || p.held !== p.end) return { kind: 'incomplete' };
    // Ranges do not overlap and lie inside [0, end), so `held === end` means they tile it.
    const payload = new Uint8Array(p.end);
    for (const r of p.ranges) payload.set(r.data, r.offset);
    this.forget(key, p);
    this.counters.reassembled++;
    return { kind: 'complete', first: p.first, payload };
  }

  /** Discards every datagram whose deadline is at or before `now`; returns how many. */
  expire(now: number): number {
    let n = 0;
    for (const [key, p] of this.pending) {
      if (p.deadline > now) continue;
      this.timeOut(key, p);
      n++;
    }
    return n;
  }

  /** The earliest deadline of a datagram in progress (for arming one timer), or undefined. */
  nextDeadline(): number | undefined {
    let best: number | undefined;
    for (const p of this.pending.values()) if (best === undefined || p.deadline < best) best = p.deadline;
    return best;
  }

  private timeOut(key: K, p: Pending<H>): void {
    this.forget(key, p);
    this.counters.timeouts++;
    this.onTimeout?.(p.first);
  }

  private discard(key: K, p: Pending<H>, why: FragmentRejection): FragmentOutcome<H> {
    this.forget(key, p);
    this.counters.discarded++;
    return { kind: 'rejected', why };
  }

  /** Rejects one fragment; a datagram left with no fragments at all is forgotten. */
  private dropOrForget(key: K, p: Pending<H>, why: FragmentRejection): FragmentOutcome<H> {
    if (p.ranges.length === 0) this.forget(key, p);
    return { kind: 'rejected', why };
  }

  private forget(key: K, p: Pending<H>): void {
    this.bytesHeld -= p.held;
    this.pending.delete(key);
  }
}

function rangeEnd(r: Range): number {
  return r.offset + r.data.length;
}
