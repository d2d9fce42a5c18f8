/**
 * The target's context table: the one place that mints the values the target writes into the
 * host's MiniportOffloadContext cells (seed 001, reference §3.2.1 rule 3, §6.1). Every offloaded
 * neighbor, path and TCP object has a context area here; the value in the host's cell names it.
 *
 * A value is slot index plus generation: `generation * 2^24 + index + 1`. Lookups are O(1)
 * array reads. Freeing a context bumps its slot's generation, so a value kept after its
 * terminate completed (stale), reused for another object that now sits in the same slot
 * (reused), or made up (forged) names no live context: `lookup` answers undefined, and the
 * caller answers the operation with a status, never an exception. A value also carries the
 * layer it was minted for: a path's value in a TCP call is refused as well.
 */
import type { OffloadContextValue, OffloadLayer } from '../ndis/structures.js';

const INDEX_BITS = 24;
const INDEX_SPAN = 2 ** INDEX_BITS;
/** Generations wrap below 2^29, so every value stays a safe integer (< 2^53). */
const GENERATION_SPAN = 2 ** 29;

/** The most context areas one table can hold. */
export const MAX_CONTEXTS = INDEX_SPAN - 1;

export interface ContextTableStats {
  /** Context areas alive now, per layer. */
  readonly live: Readonly<Record<OffloadLayer, number>>;
  /** Values minted since the table was made. */
  readonly minted: number;
  /** Context areas freed since the table was made. */
  readonly freed: number;
  /** Lookups that named no live context of the layer asked for. */
  readonly rejected: number;
}

export class ContextTable<T> {
  private readonly entries: Array<T | undefined> = [];
  private readonly layers: Array<OffloadLayer | undefined> = [];
  private readonly generations: number[] = [];
  private readonly freeSlots: number[] = [];
  private readonly liveCount: Record<OffloadLayer, number> = { neighbor: 0, path: 0, tcp: 0 };
  private minted = 0;
  private freed = 0;
  private rejected = 0;

  /** `capacity` bounds the live contexts of all layers together (at most MAX_CONTEXTS). */
  constructor(readonly capacity: number = MAX_CONTEXTS) {
    if (!Number.isInteger(capacity) || capacity < 0 || capacity > MAX_CONTEXTS) {
      throw new RangeError(`ContextTable: capacity ${capacity} is not an integer in 0..${MAX_CONTEXTS}`);
    }
  }

  get size(): number {
    return this.liveCount.neighbor + this.liveCount.path + this.liveCount.tcp;
  }

  /** Live contexts of one layer. */
  count(layer: OffloadLayer): number {
    return this.liveCount[layer];
  }

  get stats(): ContextTableStats {
    return { live: { ...this.liveCount }, minted: this.minted, freed: this.freed, rejected: this.rejected };
  }

  /**
   * Allocates a context area holding `entry` and mints its value, or answers undefined when the
   * table is full (the caller maps that to the layer's OFFLOAD_*_ENTRIES status).
   */
  mint(layer: OffloadLayer, entry: T): OffloadContextValue | undefined {
    if (this.size >= this.capacity) return undefined;
    let index = this.freeSlots.pop();
    if (index === undefined) {
      index = this.entries.length;
      this.entries.push(undefined);
      this.layers.push(undefined);
      this.generations.push(1);
    }
    this.entries[index] = entry;
    this.layers[index] = layer;
    this.liveCount[layer]++;
    this.minted++;
    return ((this.generations[index] as number) * INDEX_SPAN + index + 1) as OffloadContextValue;
  }

  /**
   * The context a value names, if it is live and of `layer`. Anything else (null, not an
   * integer, out of range, an old generation, a freed slot, another layer) is undefined.
   */
  lookup(value: unknown, layer: OffloadLayer): T | undefined {
    const index = this.indexOf(value);
    if (index === undefined || this.layers[index] !== layer) {
      this.rejected++;
      return undefined;
    }
    return this.entries[index];
  }

  /** The layer a live value was minted for, or undefined. Does not count as a rejection. */
  layerOf(value: unknown): OffloadLayer | undefined {
    const index = this.indexOf(value);
    return index === undefined ? undefined : this.layers[index];
  }

  /**
   * Frees the context a value names (terminate completed: the slot is dead from now on,
   * §3.3.2 step 9). Returns false, changing nothing, for a value that names no live context.
   */
  free(value: unknown): boolean {
    const index = this.indexOf(value);
    if (index === undefined) return false;
    const layer = this.layers[index] as OffloadLayer;
    this.entries[index] = undefined;
    this.layers[index] = undefined;
    this.generations[index] = ((this.generations[index] as number) % (GENERATION_SPAN - 1)) + 1;
    this.freeSlots.push(index);
    this.liveCount[layer]--;
    this.freed++;
    return true;
  }

  /** Every live context, in slot order. */
  *values(): IterableIterator<[OffloadContextValue, OffloadLayer, T]> {
    for (let i = 0; i < this.entries.length; i++) {
      const layer = this.layers[i];
      if (layer === undefined) continue;
      yield [((this.generations[i] as number) * INDEX_SPAN + i + 1) as OffloadContextValue, layer, this.entries[i] as T];
    }
  }

  private indexOf(value: unknown): number | undefined {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) return undefined;
    const index = (value % INDEX_SPAN) - 1;
    const generation = Math.floor(value / INDEX_SPAN);
    if (index < 0 || index >= this.entries.length) return undefined;
    if (this.layers[index] === undefined || this.generations[index] !== generation) return undefined;
    return index;
  }
}
