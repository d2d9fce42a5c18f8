/**
 * The send queue: the application's buffers, kept by reference (no copy on write), from
 * SND.UNA's first data byte on. Acknowledged bytes free whole chunks; segments copy their
 * payload straight out of the chunks into the host's frame buffer (`copyOut`), so a byte is
 * copied exactly once between the application and the wire.
 */
export class SendQueue {
  private chunks: Uint8Array[] = [];
  /** Index of the first live chunk. */
  private head = 0;
  /** Bytes of chunks[head] already acknowledged. */
  private headOffset = 0;
  private total = 0;
  /** Absolute stream position of chunks[head][0] (a byte counter, not a sequence number). */
  private headAbs = 0;
  /** Sequential-access cursor: chunk index and the absolute position of its first byte. */
  private cursorIndex = 0;
  private cursorAbs = 0;

  /** Bytes queued (unacknowledged and unsent). */
  get length(): number {
    return this.total;
  }

  push(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.total += data.length;
  }

  /** Drops the first `n` bytes (newly acknowledged), releasing chunks that are wholly acknowledged. */
  consume(n: number): void {
    if (n <= 0) return;
    if (n > this.total) throw new RangeError(`SendQueue.consume(${n}) with ${this.total} bytes queued`);
    this.total -= n;
    let left = n + this.headOffset;
    const chunks = this.chunks;
    while (this.head < chunks.length) {
      const c = chunks[this.head] as Uint8Array;
      if (left < c.length) break;
      left -= c.length;
      this.headAbs += c.length;
      chunks[this.head] = EMPTY;
      this.head++;
    }
    this.headOffset = left;
    if (this.head === chunks.length) {
      chunks.length = 0;
      this.head = 0;
      this.cursorIndex = 0;
      this.cursorAbs = this.headAbs;
    } else if (this.head >= 64 && this.head * 2 >= chunks.length) {
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
    const chunks = this.chunks;
    let abs = this.headAbs + this.headOffset + offset;
    if (abs < this.cursorAbs) {
      this.cursorIndex = this.head;
      this.cursorAbs = this.headAbs;
    }
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

  /** The queued bytes as views, in order (for export; they alias the application's buffers). */
  views(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = this.head; i < this.chunks.length; i++) {
      const c = this.chunks[i] as Uint8Array;
      out.push(i === this.head && this.headOffset > 0 ? c.subarray(this.headOffset) : c);
    }
    return out;
  }
}

const EMPTY = new Uint8Array(0);
