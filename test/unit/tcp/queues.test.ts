import { describe, expect, it } from 'vitest';
import { Reassembly } from '../../../src/tcp/reassembly.js';
import { ReceiveQueue } from '../../../src/tcp/receive-queue.js';
import { SendQueue } from '../../../src/tcp/send-queue.js';
import { seq, seqAdd, type Seq } from '../../../src/wire/seq.js';
import { streamBytes } from '../../helpers/segments.js';

const concat = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => Array.from(p)));

describe('SendQueue', () => {
  it('copies any byte range across chunk boundaries', () => {
    const q = new SendQueue();
    const data = streamBytes(0, 1000);
    for (let off = 0; off < 1000; off += 37) q.push(data.subarray(off, Math.min(1000, off + 37)));
    for (const [off, len] of [
      [0, 1000],
      [36, 2],
      [500, 300],
      [999, 1],
      [0, 0],
    ] as const) {
      const out = new Uint8Array(len);
      q.copyOut(off, len, out, 0);
      expect(out).toEqual(data.subarray(off, off + len));
    }
  });

  it('frees whole chunks as bytes are consumed, keeping a partial head', () => {
    const q = new SendQueue();
    q.push(streamBytes(0, 100));
    q.push(streamBytes(100, 100));
    q.consume(150);
    expect(q.length).toBe(50);
    expect(concat(q.views())).toEqual(streamBytes(150, 50));
    const out = new Uint8Array(50);
    q.copyOut(0, 50, out, 0);
    expect(out).toEqual(streamBytes(150, 50));
  });

  it('keeps working through thousands of chunks (compaction)', () => {
    const q = new SendQueue();
    let pushed = 0;
    let consumed = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) {
        q.push(streamBytes(pushed, 13));
        pushed += 13;
      }
      q.consume(1000);
      consumed += 1000;
      const out = new Uint8Array(20);
      q.copyOut(5, 20, out, 0);
      expect(out).toEqual(streamBytes(consumed + 5, 20));
    }
    expect(q.length).toBe(pushed - consumed);
  });

  it('ignores empty writes and refuses to consume more than it holds', () => {
    const q = new SendQueue();
    q.push(new Uint8Array(0));
    expect(q.views()).toEqual([]);
    expect(() => q.consume(1)).toThrow(RangeError);
  });
});

describe('ReceiveQueue', () => {
  it('fills chunks back to back, doubling from 4 KiB to 64 KiB, and reads views that never span two chunks', () => {
    const q = new ReceiveQueue();
    const data = streamBytes(0, 250_000);
    for (let off = 0; off < data.length; off += 1448) q.append(data, off, Math.min(1448, data.length - off));
    expect(q.length).toBe(250_000);
    const views: Uint8Array[] = [];
    for (let v = q.read(Infinity); v !== undefined; v = q.read(Infinity)) views.push(v);
    expect(views.map((v) => v.length).slice(0, 6)).toEqual([4096, 8192, 16384, 32768, 65536, 65536]);
    expect(concat(views)).toEqual(data);
    expect(q.length).toBe(0);
  });

  it('holds no chunk memory once a request-sized exchange has been read', () => {
    const q = new ReceiveQueue();
    q.append(streamBytes(0, 100), 0, 100);
    expect(q.capacity).toBe(4096);
    q.read(Infinity);
    expect(q.capacity).toBe(0);
  });

  it('keeps the 64 KiB tail chunk of a streaming connection across reads while it has room', () => {
    const q = new ReceiveQueue();
    const data = streamBytes(0, 200_000);
    for (let off = 0; off < 100_000; off += 1000) q.append(data, off, 1000);
    for (let v = q.read(Infinity); v !== undefined; v = q.read(Infinity));
    expect(q.capacity).toBe(65536);
    q.append(data, 100_000, 1000);
    expect(q.read(Infinity)).toEqual(data.subarray(100_000, 101_000));
  });

  it('uses the allocator it is given for every chunk', () => {
    const sizes: number[] = [];
    const q = new ReceiveQueue((n) => {
      sizes.push(n);
      return new Uint8Array(n);
    });
    const data = streamBytes(0, 20_000);
    for (let off = 0; off < data.length; off += 1000) q.append(data, off, 1000);
    // A large append fills the room left, and the rest gets one chunk that holds it whole.
    q.append(streamBytes(0, 50_000), 0, 50_000);
    expect(sizes).toEqual([4096, 8192, 16384, 50_000 - (28_672 - 20_000)]);
  });

  it('never reuses a chunk whose bytes were handed out', () => {
    const q = new ReceiveQueue();
    q.append(streamBytes(0, 10), 0, 10);
    const v = q.read(10) as Uint8Array;
    const copy = v.slice();
    q.append(streamBytes(10, 70_000), 0, 70_000);
    expect(v).toEqual(copy);
  });

  it('exports the unread bytes as views', () => {
    const q = new ReceiveQueue();
    q.append(streamBytes(0, 70_000), 0, 70_000);
    q.read(100);
    expect(concat(q.views())).toEqual(streamBytes(100, 69_900));
  });
});

describe('Reassembly', () => {
  const S = (n: number): Seq => seq(0xfffff000 + n); // ranges straddle the 2^32 wrap

  it('holds only the bytes it does not already have, and hands them back in order', () => {
    const r = new Reassembly(1 << 20);
    const data = streamBytes(0, 5000);
    expect(r.insert(S(2000), data, 2000, 1000)).toBe('added');
    expect(r.insert(S(4000), data, 4000, 1000)).toBe('added');
    expect(r.insert(S(2500), data, 2500, 2000)).toBe('added');
    expect(r.bytes).toBe(3000);
    expect(r.insert(S(2000), data, 2000, 3000)).toBe('duplicate');
    expect(r.take(S(1000))).toBeUndefined();
    const parts: Uint8Array[] = [];
    let next = S(2000);
    for (let p = r.take(next); p !== undefined; p = r.take(next)) {
      parts.push(p);
      next = seqAdd(next, p.length);
    }
    expect(concat(parts)).toEqual(data.subarray(2000));
    expect(r.isEmpty).toBe(true);
  });

  it('returns only the part beyond RCV.NXT when a piece overlaps it', () => {
    const r = new Reassembly(1 << 20);
    r.insert(S(100), streamBytes(100, 100), 0, 100);
    expect(r.take(S(150))).toEqual(streamBytes(150, 50));
  });

  it('refuses data over its limit', () => {
    const r = new Reassembly(1500);
    expect(r.insert(S(1000), new Uint8Array(1000), 0, 1000)).toBe('added');
    expect(r.insert(S(3000), new Uint8Array(1000), 0, 1000)).toBe('full');
    expect(r.bytes).toBe(1000);
  });

  it('reports merged ranges as SACK blocks, most recent first', () => {
    const r = new Reassembly(1 << 20);
    r.insert(S(1000), new Uint8Array(100), 0, 100);
    r.insert(S(3000), new Uint8Array(100), 0, 100);
    r.insert(S(1100), new Uint8Array(100), 0, 100);
    const lefts: Seq[] = [];
    const rights: Seq[] = [];
    expect(r.sackBlocks(lefts, rights, 0, 4)).toBe(2);
    expect([lefts[0], rights[0], lefts[1], rights[1]]).toEqual([S(1000), S(1200), S(3000), S(3100)]);
    expect(r.covers(S(1050), S(1150))).toBe(true);
    expect(r.covers(S(1150), S(1250))).toBe(false);
  });
});
