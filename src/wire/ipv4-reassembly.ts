/**
 * IPv4 reassembly (RFC 791 §3.2, RFC 815 for the hole logic, RFC 1122 §3.3.2): datagrams are
 * keyed by (source, destination, protocol, identification), fragments are checked against the
 * IPv4 rules here and collected by `FragmentTable` (overlaps discard the datagram, exact
 * duplicates are dropped alone, bounded datagrams and bytes, a timeout from the first fragment).
 *
 * Per-fragment checks: every fragment but the last carries a non-zero multiple of 8 bytes
 * (RFC 791 §3.2), a zero-length fragment is meaningless (Linux discards it), and no fragment
 * may reach past a 65535-byte datagram (the "ping of death", RFC 791 §3.1 total length).
 *
 * The reassembled datagram keeps the first fragment's header (RFC 791 §3.2: options that are
 * not copied into later fragments are in the first one) with the fragment fields cleared, the
 * total length updated and the checksum recomputed. Its ECN field is the first fragment's;
 * RFC 3168 §5.3's mixing rule is not applied.
 */
import { DropCounters, type DropReason } from './drop-reason.js';
import { FragmentTable, type FragmentRejection, type ReassemblyLimits, type ReassemblyStats } from './fragment-table.js';
import { emitIpv4Header, ipv4EmitReprOf, isIpv4Fragment, IPV4_CHECKSUM_OFFSET, IPV4_MAX_TOTAL_LEN, type Ipv4Repr } from './ipv4.js';
import { u16be } from './bytes.js';
import { err, ok, type Result } from './result.js';

export type { ReassemblyLimits } from './fragment-table.js';

/** Linux's defaults: net.ipv4.ipfrag_time 30 s, ipfrag_high_thresh 4 MiB. */
export const IPV4_REASSEMBLY_DEFAULTS: ReassemblyLimits = { maxDatagrams: 256, maxBytes: 4 * 1024 * 1024, timeoutMs: 30_000 };

/** How much of the first fragment's payload is kept for a Time Exceeded quote (RFC 792: the header and 64 bits). */
const FIRST_FRAGMENT_QUOTE = 8;

const REASONS: Record<FragmentRejection, DropReason> = {
  overlap: 'ipv4-frag-overlap',
  duplicate: 'ipv4-frag-duplicate',
  'bad-offset': 'ipv4-frag-bad-offset',
  limit: 'ipv4-frag-limit',
};

export interface Ipv4ReassemblyStats extends ReassemblyStats {
  readonly datagramsInProgress: number;
  readonly bytesHeld: number;
  /** Rejected fragments and timed-out datagrams, by reason. */
  readonly drops: Record<string, number>;
}

export class Ipv4Reassembler {
  private readonly table: FragmentTable<string, Ipv4Repr>;
  private readonly drops = new DropCounters();

  /**
   * `onTimeout` hears of each datagram discarded for its timeout, with its first fragment (the
   * header and the first 8 payload bytes) when that had arrived, so the host can send Time
   * Exceeded code 1 (RFC 792, RFC 1122 §3.3.2).
   */
  constructor(limits: ReassemblyLimits, onTimeout?: (firstFragment: Ipv4Repr | undefined) => void) {
    this.table = new FragmentTable(limits, (first) => {
      this.drops.count('ipv4-frag-timeout');
      onTimeout?.(first);
    });
  }

  /**
   * Adds a datagram. A datagram that is not a fragment is returned as it is; a fragment gives
   * `undefined` while its datagram is incomplete and the reassembled datagram once it is.
   */
  add(repr: Ipv4Repr, now: number): Result<Ipv4Repr | undefined, DropReason> {
    if (!isIpv4Fragment(repr)) return ok(repr);
    const length = repr.payload.length;
    if (length === 0 || (repr.moreFragments && length % 8 !== 0)) return this.reject('ipv4-frag-bad-offset');
    if (repr.headerLength + repr.fragmentOffset + length > IPV4_MAX_TOTAL_LEN) return this.reject('ipv4-frag-too-big');
    const key = `${repr.src},${repr.dst},${repr.protocol},${repr.identification}`;
    const first = repr.fragmentOffset === 0 ? { ...repr, options: repr.options.slice(), payload: repr.payload.slice(0, FIRST_FRAGMENT_QUOTE) } : undefined;
    const outcome = this.table.add(key, repr.fragmentOffset, repr.payload, !repr.moreFragments, first, now);
    switch (outcome.kind) {
      case 'incomplete':
        return ok(undefined);
      case 'rejected':
        return this.reject(REASONS[outcome.why]);
      case 'complete':
        return ok(reassembled(outcome.first, outcome.payload));
    }
  }

  /** Discards datagrams past their timeout; returns how many. */
  expire(now: number): number {
    return this.table.expire(now);
  }

  /** When `expire` next has work (arm one timer for it), or undefined when nothing is pending. */
  nextDeadline(): number | undefined {
    return this.table.nextDeadline();
  }

  get stats(): Ipv4ReassemblyStats {
    return { ...this.table.counters, datagramsInProgress: this.table.datagramsInProgress, bytesHeld: this.table.bytes, drops: this.drops.toJSON() };
  }

  private reject(reason: DropReason): Result<never, DropReason> {
    this.drops.count(reason);
    return err(reason);
  }
}

/** The first fragment's header over the whole payload, with fragment fields cleared and a fresh checksum. */
function reassembled(first: Ipv4Repr, payload: Uint8Array): Ipv4Repr {
  const header = new Uint8Array(first.headerLength);
  emitIpv4Header({ ...ipv4EmitReprOf(first), payloadLength: payload.length, moreFragments: false, fragmentOffset: 0 }, header, 0);
  return {
    ...first,
    totalLength: first.headerLength + payload.length,
    moreFragments: false,
    fragmentOffset: 0,
    checksum: u16be(header, IPV4_CHECKSUM_OFFSET),
    payload,
  };
}
