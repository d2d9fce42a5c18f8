/**
 * In-order received data waiting for the application. Segments are copied once, into 64 KiB
 * chunks filled back to back, so `read()` usually hands out one large view of many segments.
 * A chunk is never reused once handed out (views of it may live on in the application).
 */
const CHUNK_SIZE = 64 * 1024;

export class ReceiveQueue {
  private chunks: Uint8Array[] = [];
  private head = 0;
  private readPos = 0;
  private writePos = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  /** Appends src[off, off+len). */
  append(src: Uint8Array, off: number, len: number): void {
    let chunks = this.chunks;
    while (len > 0) {
      let tail = chunks.length > this.head ? (chunks[chunks.length - 1] as Uint8Array) : undefined;
      if (tail === undefined || this.writePos === tail.length) {
        if (this.head > 0 && this.head === chunks.length) {
          chunks.length = 0;
          this.head = 0;
        } else if (this.head >= 32 && this.head * 2 >= chunks.length) {
          this.chunks = chunks = chunks.slice(this.head);
          this.head = 0;
        }
        tail = new Uint8Array(CHUNK_SIZE);
        chunks.push(tail);
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
}

const EMPTY = new Uint8Array(0);
