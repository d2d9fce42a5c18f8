/**
 * The send queue: from SND.UNA's first data byte on, the bytes the application wrote, copied
 * into chunks the queue owns. Acknowledged bytes free whole chunks; segments copy their
 * payload straight out of the chunks into the host's frame buffer (`copyOut`).
 *
 * Why a copy at write, not the caller's buffer by reference: node:net calls a write back once
 * the system owns the bytes (libuv's write completes when the kernel has copied them), and
 * Node programs rely on that, reusing the buffer in the callback. The socket completes a
 * write while the send buffer has room, long before the bytes are acknowledged, so the queue
 * must hold bytes of its own or a retransmission sends whatever the buffer holds by then
 * (issue 9, defect 3). The alternative, completing a write only when its bytes are
 * acknowledged (the chimney's TcpOffloadSend completion, reference §4.1.2), would hold one
 * write per round trip, since a Writable stream has one write outstanding at a time. The
 * copy is one memcpy per byte, small beside the per-segment work, and it makes the queued
 * data the stack's own, which is what an offload hands over as SendData (§4.1.4).
 *
 * Stable memory (`stableBuffer`, which the application promises never to change) is the one
 * exception: `pushStable` queues it by reference, as sendfile(2) sends the page cache.
 *
 * Chunk sizes follow the flow as the receive queue's do: 4 KiB first, doubling with every
 * chunk filled, up to 64 KiB; a large write goes into full-size chunks at once. A drained
 * queue (everything acknowledged) lets its chunks go, so an idle connection holds no send
 * memory.
 */
import type { ChunkAllocator } from './receive-queue.js';
import { isStable } from './stable-bytes.js';

const CHUNK_SIZE = 64 * 1024;
/** Full-size chunks kept for reuse while streaming. */
const MAX_SPARES = 4;
const SMALL_CHUNK = 4 * 1024;

const zeroedAllocator: ChunkAllocator = (size) => new Uint8Array(size);

export class SendQueue {
  /** Every chunk but the last is full; the last is filled to `writePos`. Empty when nothing is queued. */
  private chunks: Uint8Array[] = [];
  /** Index of the first live chunk. */
  private head = 0;
  /** Bytes of chunks[head] already acknowledged. */
  private headOffset = 0;
  /** Bytes of the last chunk filled. */
  private writePos = 0;
  private total = 0;
  /** Absolute stream position of chunks[head][0] (a byte counter, not a sequence number). */
  private headAbs = 0;
  /** Sequential-access cursor: chunk index and the absolute position of its first byte. */
  private cursorIndex = 0;
  private cursorAbs = 0;
  /** Size of the next chunk: doubles with every chunk filled, from 4 KiB to 64 KiB. */
  private nextSize = SMALL_CHUNK;
  /**
   * Full-size chunks acknowledged while the connection streams, reused by the next writes:
   * nobody else holds them (segments copy out of the queue), and a bulk sender would
   * otherwise allocate 64 KiB per 64 KiB sent, which at line rate is major collections
   * (a TSO sender lost 6x to them). A drained queue keeps none.
   */
  private spares: Uint8Array[] = [];
  /** views() handed the chunks out (an export, a query): none is reused after that. */
  private exported = false;

  constructor(private readonly allocate: ChunkAllocator = zeroedAllocator) {}

  /** Bytes queued (unacknowledged and unsent). */
  get length(): number {
    return this.total;
  }

  /** Bytes of chunk memory held (for statistics and memory tests). */
  get capacity(): number {
    let n = 0;
    for (let i = this.head; i < this.chunks.length; i++) n += (this.chunks[i] as Uint8Array).length;
    return n;
  }

  /** Appends a copy of `data`: the caller may reuse its buffer as soon as this returns. */
  push(data: Uint8Array): void {
    let len = data.length;
    if (len === 0) return;
    const chunks = this.chunks;
    let off = 0;
    let tail = chunks.length > 0 ? (chunks[chunks.length - 1] as Uint8Array) : undefined;
    for (;;) {
      if (tail !== undefined) {
        const n = Math.min(len, tail.length - this.writePos);
        if (n === data.length) tail.set(data, this.writePos);
        else if (n > 0) tail.set(data.subarray(off, off + n), this.writePos);
        this.writePos += n;
        this.total += n;
        off += n;
        len -= n;
        if (len === 0) return;
        this.nextSize = Math.min(CHUNK_SIZE, tail.length * 2);
      }
      const size = Math.max(this.nextSize, Math.min(CHUNK_SIZE, len));
      tail = size === CHUNK_SIZE && this.spares.length > 0 ? (this.spares.pop() as Uint8Array) : this.allocate(size);
      chunks.push(tail);
      this.writePos = 0;
    }
  }

  /**
   * Appends `data` by reference, without a copy: its memory is marked stable (`stableBuffer`),
   * so its bytes are still the written ones whenever a segment is cut or retransmitted from it.
   * It becomes a chunk of its own and is never reused as a spare.
   */
  pushStable(data: Uint8Array): void {
    if (data.length === 0) return;
    const chunks = this.chunks;
    const last = chunks.length - 1;
    if (last >= this.head) {
      // Every chunk but the last is full: the partly filled tail shrinks to its filled part.
      const tail = chunks[last] as Uint8Array;
      if (this.writePos < tail.length) chunks[last] = tail.subarray(0, this.writePos);
    }
    chunks.push(data);
    this.writePos = data.length;
    this.total += data.length;
  }

  /** Drops the first `n` bytes (newly acknowledged), releasing chunks that are wholly acknowledged. */
  consume(n: number): void {
    if (n <= 0) return;
    if (n > this.total) throw new RangeError(`SendQueue.consume(${n}) with ${this.total} bytes queued`);
    if (n === this.total) {
      this.drained();
      return;
    }
    this.total -= n;
    // Bytes remain, so the walk stops inside the last chunk at the latest: every chunk it
    // passes is full.
    let left = n + this.headOffset;
    const chunks = this.chunks;
    for (;;) {
      const c = chunks[this.head] as Uint8Array;
      if (left < c.length) break;
      left -= c.length;
      this.headAbs += c.length;
      chunks[this.head] = EMPTY;
      this.head++;
      // Only the queue's own chunks are reused: a stable one is the application's memory.
      if (c.length === CHUNK_SIZE && this.spares.length < MAX_SPARES && !this.exported && !isStable(c)) this.spares.push(c);
    }
    this.headOffset = left;
    if (this.head >= 64 && this.head * 2 >= chunks.length) {
      this.chunks = chunks.slice(this.head);
      this.cursorIndex -= this.head;
      this.head = 0;
    }
    if (this.cursorIndex < this.head) {
      this.cursorIndex = this.head;
      this.cursorAbs = this.headAbs;
    }
  }

  /** Copies `len` bytes starting `offset` bytes after the first queued byte into dst[dstOffset..]. */
  copyOut(offset: number, len: number, dst: Uint8Array, dstOffset: number): void {
    if (offset < 0 || offset + len > this.total) {
      throw new RangeError(`SendQueue.copyOut(${offset}, ${len}) outside the ${this.total} queued bytes`);
    }
    if (len === 0) return;
    const chunks = this.chunks;
    let abs = this.headAbs + this.headOffset + offset;
    if (abs < this.cursorAbs) {
      this.cursorIndex = this.head;
      this.cursorAbs = this.headAbs;
    }
    // The range lies within the queued bytes, so the walks below never pass the last
    // chunk's filled part.
    let i = this.cursorIndex;
    let start = this.cursorAbs;
    let c = chunks[i] as Uint8Array;
    while (abs >= start + c.length) {
      start += c.length;
      c = chunks[++i] as Uint8Array;
    }
    this.cursorIndex = i;
    this.cursorAbs = start;
    let out = dstOffset;
    let left = len;
    while (left > 0) {
      const from = abs - start;
      const n = Math.min(left, c.length - from);
      if (from === 0 && n === c.length) dst.set(c, out);
      else dst.set(c.subarray(from, from + n), out);
      out += n;
      left -= n;
      abs += n;
      if (left > 0) {
        start += c.length;
        c = chunks[++i] as Uint8Array;
      }
    }
  }

  /** The queued bytes as views, in order (for export; they alias the queue's chunks, which it no longer writes once exported). */
  views(): Uint8Array[] {
    // Whoever holds the views holds the chunks: none of them may be reused from now on.
    this.exported = true;
    this.spares = [];
    const out: Uint8Array[] = [];
    const last = this.chunks.length - 1;
    for (let i = this.head; i <= last; i++) {
      const c = this.chunks[i] as Uint8Array;
      const from = i === this.head ? this.headOffset : 0;
      const to = i === last ? this.writePos : c.length;
      if (to > from) out.push(from === 0 && to === c.length ? c : c.subarray(from, to));
    }
    return out;
  }

  /**
   * Everything has been acknowledged: the chunks go (the next write allocates, at the size the
   * flow has reached), so an idle connection holds no send memory.
   */
  private drained(): void {
    const end = this.headAbs + this.headOffset + this.total;
    this.spares = [];
    this.chunks.length = 0;
    this.head = 0;
    this.headOffset = 0;
    this.writePos = 0;
    this.total = 0;
    this.headAbs = end;
    this.cursorIndex = 0;
    this.cursorAbs = end;
  }
}

const EMPTY = new Uint8Array(0);
