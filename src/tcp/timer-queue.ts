/**
 * One scheduler timer for all TCP connections (of the host stack, or of the offload target). Each connection reports its next deadline;
 * the queue keeps a binary min-heap of (deadline, connection) and arms a single timer for the
 * earliest. Deadlines that move later (the common case: every ACK pushes the retransmission
 * timer out) cost nothing: the old heap entry fires, finds nothing due, and the connection is
 * re-queued at its real deadline. Only earlier deadlines add heap entries.
 */
import type { Scheduler, TimerHandle } from '../wire/clock.js';

export interface TimedItem {
  /** The deadline this item is queued at (Infinity when not queued). Owned by the queue. */
  queuedAt: number;
}

interface HeapEntry<T> {
  at: number;
  item: T;
}

export class TimerQueue<T extends TimedItem> {
  private heap: HeapEntry<T>[] = [];
  private timer: TimerHandle | undefined;
  private armedAt = Infinity;
  /**
   * Entries made stale (item cancelled, or re-queued earlier) and not yet popped. Each holds
   * its item (a closed connection and its buffers) until its deadline, which can be hours away
   * (keepalive): past half the heap they are swept out.
   */
  private stale = 0;

  constructor(
    private readonly scheduler: Scheduler,
    /** Called for an item whose queued deadline has come; it must re-`schedule` itself if it still has timers. */
    private readonly fire: (item: T) => void,
  ) {}

  /** Makes sure `item` is woken at `deadline` (or earlier). */
  schedule(item: T, deadline: number): void {
    if (!(deadline < item.queuedAt)) return;
    const superseded = item.queuedAt !== Infinity;
    item.queuedAt = deadline;
    this.push({ at: deadline, item });
    if (superseded) this.noteStale();
    if (deadline < this.armedAt) this.arm(deadline);
  }

  /** Forgets `item` (its stale heap entries are skipped when they surface). */
  cancel(item: T): void {
    if (item.queuedAt === Infinity) return;
    item.queuedAt = Infinity;
    this.noteStale();
  }

  get size(): number {
    return this.heap.length;
  }

  clear(): void {
    this.heap = [];
    this.stale = 0;
    if (this.timer !== undefined) this.scheduler.clearTimer(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
  }

  private arm(at: number): void {
    if (this.timer !== undefined) this.scheduler.clearTimer(this.timer);
    this.armedAt = at;
    this.timer = this.scheduler.setTimer(() => this.run(), Math.max(0, at - this.scheduler.now()));
  }

  private run(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = this.scheduler.now();
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.at > now) break;
      this.pop();
      // A stale entry: the item was re-queued earlier or cancelled.
      if (top.item.queuedAt !== top.at) {
        if (this.stale > 0) this.stale--;
        continue;
      }
      top.item.queuedAt = Infinity;
      this.fire(top.item);
    }
    const next = this.heap[0];
    if (next !== undefined) this.arm(next.at);
  }

  private noteStale(): void {
    this.stale++;
    if (this.stale > 64 && 2 * this.stale > this.heap.length) {
      // Keep the live entries; a sorted array is a valid min-heap. The armed timer stays: if
      // it is now early, run() finds nothing due and re-arms.
      this.heap = this.heap.filter((e) => e.item.queuedAt === e.at).sort((a, b) => a.at - b.at);
      this.stale = 0;
    }
  }

  private push(entry: HeapEntry<T>): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as HeapEntry<T>;
      if (p.at <= entry.at) break;
      h[i] = p;
      i = parent;
    }
    h[i] = entry;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && (h[r] as HeapEntry<T>).at < (h[l] as HeapEntry<T>).at) c = r;
      if ((h[c] as HeapEntry<T>).at >= last.at) break;
      h[i] = h[c] as HeapEntry<T>;
      i = c;
    }
    h[i] = last;
  }
}
