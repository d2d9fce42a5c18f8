/**
 * The send queue owns its bytes: writes are copied in (issue 9, defect 3), chunks follow the
 * flow's size, and a drained queue holds no memory.
 */
import { describe, expect, it } from 'vitest';
import { SendQueue } from '../../../src/tcp/send-queue.js';
import { streamBytes } from '../../helpers/segments.js';

const all = (q: SendQueue): Uint8Array => {
  const out = new Uint8Array(q.length);
  q.copyOut(0, q.length, out, 0);
  return out;
};

describe('SendQueue ownership and memory', () => {
  it('copies a write: changing the buffer afterwards changes nothing queued', () => {
    const q = new SendQueue();
    const buf = Uint8Array.from(streamBytes(0, 3000));
    q.push(buf);
    buf.fill(0x42);
    expect(all(q)).toEqual(streamBytes(0, 3000));
    expect(Buffer.concat(q.views())).toEqual(Buffer.from(streamBytes(0, 3000)));
  });

  it('packs small writes into one chunk, then doubles chunk sizes up to 64 KiB', () => {
    const sizes: number[] = [];
    const q = new SendQueue((size) => {
      sizes.push(size);
      return new Uint8Array(size);
    });
    for (let off = 0; off < 300_000; off += 1000) q.push(streamBytes(off, 1000));
    expect(sizes.slice(0, 7)).toEqual([4096, 8192, 16384, 32768, 65536, 65536, 65536]);
    expect(all(q)).toEqual(streamBytes(0, 300_000));
    q.consume(100_000);
    const out = new Uint8Array(5000);
    q.copyOut(61_000, 5000, out, 0);
    expect(out).toEqual(streamBytes(161_000, 5000));
  });

  it('puts a large write into full-size chunks at once', () => {
    const sizes: number[] = [];
    const q = new SendQueue((size) => {
      sizes.push(size);
      return new Uint8Array(size);
    });
    q.push(streamBytes(0, 200_000));
    expect(sizes).toEqual([65536, 65536, 65536, 65536]);
    expect(all(q)).toEqual(streamBytes(0, 200_000));
  });

  it('lets its chunks go once everything is acknowledged, and keeps positions across the drain', () => {
    const q = new SendQueue();
    q.push(streamBytes(0, 100));
    q.consume(40);
    expect(q.capacity).toBe(4096);
    q.consume(60);
    expect(q.capacity).toBe(0);
    expect(q.views()).toEqual([]);
    q.push(streamBytes(100, 5000));
    q.consume(1);
    const out = new Uint8Array(4999);
    q.copyOut(0, 4999, out, 0);
    expect(out).toEqual(streamBytes(101, 4999));
  });
});
