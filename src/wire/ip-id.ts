/**
 * IP identification ranges and the counter that walks one. The chimney reference (§4.1.1)
 * splits the ID space between the host stack and the offload target so that datagrams of
 * the same source and destination never share an ID whichever of the two sent them: the
 * target uses the upper half (0x8000-0xFFFF for the IPv4 Identification, the upper half of
 * the 32-bit IPv6 fragment ID), the host the lower half.
 */
import type { Random } from './random.js';

/** A contiguous range of identification values: `first` .. `first + size - 1`. */
export interface IdRange {
  readonly first: number;
  readonly size: number;
}

/** IPv4 Identification values of datagrams the host stack sends (reference §4.1.1: the lower half). */
export const HOST_IPV4_ID_RANGE: IdRange = Object.freeze({ first: 0x0000, size: 0x8000 });
/** IPv4 Identification values of datagrams the offload target sends (reference §4.1.1: 0x8000-0xFFFF). */
export const OFFLOAD_IPV4_ID_RANGE: IdRange = Object.freeze({ first: 0x8000, size: 0x8000 });
/** IPv6 fragment-header identifications of the host stack (reference §4.1.1: the lower half). */
export const HOST_IPV6_FRAGMENT_ID_RANGE: IdRange = Object.freeze({ first: 0, size: 0x8000_0000 });
/** IPv6 fragment-header identifications of the offload target (reference §4.1.1: the upper half). */
export const OFFLOAD_IPV6_FRAGMENT_ID_RANGE: IdRange = Object.freeze({ first: 0x8000_0000, size: 0x8000_0000 });

/**
 * A counter through one range, starting at a random point so the IDs of a fresh run are not
 * predictable from zero. RFC 6864 asks only that an ID be unique per source, destination and
 * protocol while a datagram can live; RFC 7739 shows what predictable IDs give an attacker.
 */
export class IdCounter {
  private offset: number;

  constructor(
    private readonly range: IdRange,
    random: Random,
  ) {
    this.offset = random.nextU32() % range.size;
  }

  /**
   * The first of `count` consecutive IDs, all inside the range: a TSO super-frame takes one
   * per segment, and the device numbers them upward from the one in its header. A run that
   * would pass the end of the range starts again at its beginning.
   */
  take(count = 1): number {
    const size = this.range.size;
    if (this.offset + count > size) this.offset = 0;
    const id = this.range.first + this.offset;
    this.offset += count;
    if (this.offset >= size) this.offset = 0;
    return id;
  }
}
