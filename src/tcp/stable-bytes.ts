/**
 * Stable bytes: memory the application promises never to change again (a constant pattern, a
 * cache entry, a read-only file image). A write of a view into it is queued by reference
 * instead of copied, as Linux sends the page cache with sendfile(2); every other write is
 * copied, because node:net lets a program reuse its buffer once the write callback has run
 * (issue 9, defect 3: a queue that kept such a buffer retransmitted what was written into it
 * later). Marking memory that does change makes retransmissions carry the new bytes.
 *
 * The mark is on the ArrayBuffer, so every view of it counts, and the view marked must span
 * all of it: Node's small Buffers share one pooled ArrayBuffer, and marking one of them would
 * mark its neighbours.
 */

const STABLE = new WeakSet<ArrayBufferLike>();

/** Marks the memory of `bytes` as never changing from now on, and returns `bytes`. */
export function stableBuffer<T extends Uint8Array>(bytes: T): T {
  if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) {
    throw new TypeError(
      'stableBuffer: the view must span its whole ArrayBuffer (a pooled Buffer shares memory with others; use Buffer.alloc or Buffer.allocUnsafeSlow)',
    );
  }
  STABLE.add(bytes.buffer);
  return bytes;
}

/** Whether `view` lies in memory marked by `stableBuffer`. */
export function isStable(view: Uint8Array): boolean {
  return STABLE.has(view.buffer);
}
