/**
 * In-order received data waiting for the application. Segments are copied once, into chunks
 * filled back to back, so `read()` usually hands out one large view of many segments. A chunk
 * is never reused once handed out (views of it may live on in the application).
 *
 * Chunk sizes adapt to the flow: a connection starts with a small chunk (a request/response
 * exchange needs a few KiB, not 64), and each chunk it fills doubles the next, up to 64 KiB
 * for a streaming connection. When the application has taken everything, a chunk with little room left (or any
 * chunk of a connection that is not streaming) is let go, so an idle connection holds no
 * receive memory.
 */
const CHUNK_SIZE = 64 * 1024;
const SMALL_CHUNK = 4 * 1024;

/** Returns a byte array of `size` bytes whose contents will be overwritten (need not be zeroed). */
export type ChunkAllocator = (size: number) => Uint8Array;

const zeroedAllocator: ChunkAllocator = (size) => new Uint8Array(size);

export class ReceiveQueue {
  private chunks: Uint8Array[] = [];
  private head = 0;
  private readPos = 0;
  private writePos = 0;
  private total = 0;
  /** The chunk being written (the last one), if any. */
  private tail: Uint8Array | undefined;
  /** Size of the next chunk: doubles with every chunk filled, from 4 KiB to 64 KiB. */
  private nextSize = SMALL_CHUNK;

  constructor(private readonly allocate: ChunkAllocator = zeroedAllocator) {}

  get length(): number {
    return this.total;
  }

  /** Bytes of chunk memory held (for statistics and memory tests). */
  get capacity(): number {
    let n = 0;
    for (let i = this.head; i < this.chunks.length; i++) n += (this.chunks[i] as Uint8Array).length;
    return n;
  }

  /** Appends src[off, off+len). */
  append(src: Uint8Array, off: number, len: number): void {
    let chunks = this.chunks;
    while (len > 0) {
      let tail = this.tail;
      if (tail === undefined || this.writePos === tail.length) {
        if (tail !== undefined) this.nextSize = Math.min(CHUNK_SIZE, tail.length * 2);
        if (this.head > 0 && this.head === chunks.length) {
          chunks.length = 0;
          this.head = 0;
        } else if (this.head >= 32 && this.head * 2 >= chunks.length) {
          this.chunks = chunks = chunks.slice(this.head);
          this.head = 0;
        }
        tail = this.allocate(Math.max(this.nextSize, Math.min(CHUNK_SIZE, len)));
        chunks.push(tail);
        this.tail = tail;
        this.writePos = 0;
        if (chunks.length - 1 === this.head) this.readPos = 0;
      }
      const n = Math.min(len, tail.length - this.writePos);
      if (off === 0 && n === src.length) tail.set(src, this.writePos);
      else tail.set(src.subarray(off, off + n), this.writePos);
      this.writePos += n;
      this.total += n;
      off += n;
      len -= n;
    }
  }

  /** Takes up to `max` bytes from the front as one view (never spanning two chunks). */
  read(max: number): Uint8Array | undefined {
    if (this.total === 0 || max <= 0) return undefined;
    const chunks = this.chunks;
    const c = chunks[this.head] as Uint8Array;
    const end = this.head === chunks.length - 1 ? this.writePos : c.length;
    const n = Math.min(end - this.readPos, max);
    const view = c.subarray(this.readPos, this.readPos + n);
    this.readPos += n;
    this.total -= n;
    if (this.readPos === c.length) {
      chunks[this.head] = EMPTY;
      this.head++;
      this.readPos = 0;
    }
    if (this.total === 0) this.drained();
    return view;
  }

  /** The queued bytes as views, in order (for export). */
  views(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = this.head; i < this.chunks.length; i++) {
      const c = this.chunks[i] as Uint8Array;
      const from = i === this.head ? this.readPos : 0;
      const to = i === this.chunks.length - 1 ? this.writePos : c.length;
      if (to > from) out.push(c.subarray(from, to));
    }
    return out;
  }

  /**
   * Everything has been handed out. The tail chunk is kept only while it is a large one
   * (the connection streams) with room worth filling; otherwise it goes (the application's
   * views keep it alive as long as it holds them).
   */
  private drained(): void {
    const tail = this.tail;
    if (tail !== undefined && tail.length === CHUNK_SIZE && tail.length - this.writePos >= SMALL_CHUNK) return;
    this.chunks.length = 0;
    this.head = 0;
    this.readPos = 0;
    this.writePos = 0;
    this.tail = undefined;
  }
}

const EMPTY = new Uint8Array(0);
