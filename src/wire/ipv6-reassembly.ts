/**
 * IPv6 reassembly (RFC 8200 §4.5): fragments are keyed by (source, destination,
 * identification), checked against the IPv6 rules here and collected by `FragmentTable`
 * (overlaps discard the datagram as RFC 5722 requires, exact duplicates are dropped alone,
 * bounded datagrams and bytes, a timeout from the first fragment; RFC 8200 says 60 s).
 *
 * Per-fragment checks (RFC 8200 §4.5): a fragment with M set must carry a non-zero multiple
 * of 8 bytes, and no fragment may end past 65535 bytes of fragmentable part. The first fragment
 * must hold the whole extension header chain after the Fragment header (RFC 7112 §5; RFC 8200
 * §4.5), else 'ipv6-bad-extension-header'. An atomic fragment (offset 0, M clear; RFC 6946 §4)
 * is returned at once and never touches a queue, so it cannot be used to disturb one.
 *
 * The reassembled packet is rebuilt as the first fragment's fixed header followed directly by
 * the fragmentable part, and parsed again, so the returned repr walks the extension headers
 * that were inside the fragments and names the real upper-layer protocol. The per-fragment
 * headers before the Fragment header (Hop-by-Hop, Routing) were seen on every fragment and are
 * not repeated in it.
 */
import { DropCounters, type DropReason } from './drop-reason.js';
import { FragmentTable, type FragmentRejection, type ReassemblyLimits, type ReassemblyStats } from './fragment-table.js';
import { emitIpv6Header, IPV6_HEADER_LEN, parseIpv6, walkIpv6Extensions, type Ipv6Repr } from './ipv6.js';
import { err, ok, type Result } from './result.js';

export type { ReassemblyLimits } from './fragment-table.js';

/** RFC 8200 §4.5's 60-second timeout, and Linux's ip6frag_high_thresh of 4 MiB. */
export const IPV6_REASSEMBLY_DEFAULTS: ReassemblyLimits = { maxDatagrams: 256, maxBytes: 4 * 1024 * 1024, timeoutMs: 60_000 };

const MAX_FRAGMENTABLE = 0xffff;

const REASONS: Record<FragmentRejection, DropReason> = {
  overlap: 'ipv6-frag-overlap',
  duplicate: 'ipv6-frag-duplicate',
  'bad-offset': 'ipv6-frag-bad-offset',
  limit: 'ipv6-frag-limit',
};

export interface Ipv6ReassemblyStats extends ReassemblyStats {
  readonly datagramsInProgress: number;
  readonly bytesHeld: number;
  /** Rejected fragments and timed-out datagrams, by reason. */
  readonly drops: Record<string, number>;
}

/** What is kept of the first fragment: its repr, with `upperPayload` cut to the quote a Time Exceeded needs. */
const FIRST_FRAGMENT_QUOTE = 8;

export class Ipv6Reassembler {
  private readonly table: FragmentTable<string, Ipv6Repr>;
  private readonly drops = new DropCounters();

  /**
   * `onTimeout` hears of each datagram discarded for its timeout, with its first fragment's
   * repr when that had arrived, so the host can send Time Exceeded code 1 (RFC 8200 §4.5).
   */
  constructor(limits: ReassemblyLimits, onTimeout?: (firstFragment: Ipv6Repr | undefined) => void) {
    this.table = new FragmentTable(limits, (first) => {
      this.drops.count('ipv6-frag-timeout');
      onTimeout?.(first);
    });
  }

  /**
   * Adds a packet. A packet without a Fragment header is returned as it is; a fragment gives
   * `undefined` while its datagram is incomplete and the reassembled packet once it is.
   */
  add(repr: Ipv6Repr, now: number): Result<Ipv6Repr | undefined, DropReason> {
    const fragment = repr.fragment;
    if (fragment === undefined) return ok(repr);
    const data = repr.upperPayload;
    if (fragment.offset === 0 && !fragment.moreFragments) return this.rebuild(repr, data); // RFC 6946 §4
    if (data.length === 0 || (fragment.moreFragments && data.length % 8 !== 0)) return this.reject('ipv6-frag-bad-offset');
    if (fragment.offset + data.length > MAX_FRAGMENTABLE) return this.reject('ipv6-frag-too-big');
    let first: Ipv6Repr | undefined;
    if (fragment.offset === 0) {
      // RFC 7112 §5: the first fragment carries the whole header chain.
      if (!walkIpv6Extensions(data, 0, data.length, repr.upperProtocol).ok) return this.reject('ipv6-bad-extension-header');
      // Kept across packets: own copies of everything that is a view into this one.
      first = { ...repr, src: repr.src.slice(), dst: repr.dst.slice(), upperPayload: data.slice(0, FIRST_FRAGMENT_QUOTE) };
    }
    const key = `${hexOf(repr.src)},${hexOf(repr.dst)},${fragment.identification}`;
    const outcome = this.table.add(key, fragment.offset, data, !fragment.moreFragments, first, now);
    switch (outcome.kind) {
      case 'incomplete':
        return ok(undefined);
      case 'rejected':
        return this.reject(REASONS[outcome.why]);
      case 'complete':
        return this.rebuild(outcome.first, outcome.payload);
    }
  }

  /** Discards datagrams past their timeout; returns how many. */
  expire(now: number): number {
    return this.table.expire(now);
  }

  /** When `expire` next has work, or undefined when nothing is pending. */
  nextDeadline(): number | undefined {
    return this.table.nextDeadline();
  }

  get stats(): Ipv6ReassemblyStats {
    return { ...this.table.counters, datagramsInProgress: this.table.datagramsInProgress, bytesHeld: this.table.bytes, drops: this.drops.toJSON() };
  }

  /** The first fragment's fixed header, next header = the Fragment header's, then the fragmentable part; parsed again. */
  private rebuild(first: Ipv6Repr, fragmentable: Uint8Array): Result<Ipv6Repr, DropReason> {
    const packet = new Uint8Array(IPV6_HEADER_LEN + fragmentable.length);
    emitIpv6Header(
      {
        src: first.src,
        dst: first.dst,
        nextHeader: first.upperProtocol,
        hopLimit: first.hopLimit,
        payloadLength: fragmentable.length,
        trafficClass: first.trafficClass,
        flowLabel: first.flowLabel,
      },
      packet,
      0,
    );
    packet.set(fragmentable, IPV6_HEADER_LEN);
    const parsed = parseIpv6(packet);
    if (!parsed.ok) return this.reject(parsed.reason);
    // RFC 8200 §4.1: a Fragment header occurs once; a fragment inside a fragment is not reassembled again.
    if (parsed.value.fragment !== undefined) return this.reject('ipv6-bad-extension-header');
    return parsed;
  }

  private reject(reason: DropReason): Result<never, DropReason> {
    this.drops.count(reason);
    return err(reason);
  }
}

function hexOf(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += (x < 16 ? '0' : '') + x.toString(16);
  return s;
}
