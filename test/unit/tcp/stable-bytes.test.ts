/**
 * Stable bytes: memory marked never to change is queued by reference (no copy at write), and
 * the queue never treats it as its own (it is never reused as a spare chunk, so later writes
 * never land in the application's memory).
 */
import { describe, expect, it } from 'vitest';
import { SendQueue } from '../../../src/tcp/send-queue.js';
import { isStable, stableBuffer } from '../../../src/tcp/stable-bytes.js';

function contents(q: SendQueue): Buffer {
  const out = new Uint8Array(q.length);
  q.copyOut(0, q.length, out, 0);
  return Buffer.from(out);
}

describe('stable bytes', () => {
  it('marks a whole ArrayBuffer, every view of it counts, and refuses a pooled Buffer', () => {
    const block = stableBuffer(Buffer.alloc(8192, 1));
    expect(isStable(block)).toBe(true);
    expect(isStable(block.subarray(100, 200))).toBe(true);
    expect(isStable(Buffer.alloc(8192))).toBe(false);
    // Small Buffers share Node's pool: marking one would mark its neighbours.
    expect(() => stableBuffer(Buffer.from('abc'))).toThrow(TypeError);
    expect(() => stableBuffer(block.subarray(1))).toThrow(/whole ArrayBuffer/);
  });

  it('pushStable queues by reference: no chunk memory is allocated for it', () => {
    const q = new SendQueue();
    const block = stableBuffer(new Uint8Array(200_000).fill(7));
    q.pushStable(block.subarray(0, 150_000));
    expect(q.length).toBe(150_000);
    // The capacity counts the chunks held; the stable chunk is the caller's view, nothing else.
    expect(q.capacity).toBe(150_000);
    expect(q.views()[0]?.buffer).toBe(block.buffer);
  });

  it('mixes copied and stable writes in order, through copyOut, consume and views', () => {
    const q = new SendQueue();
    const stable = stableBuffer(Buffer.alloc(70_000, 'S'));
    q.push(Buffer.alloc(5_000, 'a'));
    q.pushStable(stable.subarray(0, 70_000));
    q.push(Buffer.alloc(3_000, 'b'));
    q.pushStable(stable.subarray(10, 20));
    q.push(Buffer.alloc(1, 'c'));
    const want = Buffer.concat([Buffer.alloc(5_000, 'a'), Buffer.alloc(70_000, 'S'), Buffer.alloc(3_000, 'b'), Buffer.alloc(10, 'S'), Buffer.from('c')]);
    expect(contents(q).equals(want)).toBe(true);
    // A segment straddling a copied chunk and a stable one.
    const mid = new Uint8Array(100);
    q.copyOut(4_950, 100, mid, 0);
    expect(Buffer.from(mid).equals(want.subarray(4_950, 5_050))).toBe(true);
    q.consume(4_990);
    expect(contents(q).equals(want.subarray(4_990))).toBe(true);
    expect(Buffer.concat(q.views()).equals(want.subarray(4_990))).toBe(true);
  });

  it('an acknowledged stable chunk of full chunk size is never reused for later writes', () => {
    // 64 KiB is the queue's own chunk size, which is what it recycles as spares.
    const q = new SendQueue();
    const stable = stableBuffer(new Uint8Array(64 * 1024).fill(0x53));
    q.push(new Uint8Array(64 * 1024).fill(1));
    q.pushStable(stable);
    q.push(new Uint8Array(10).fill(2));
    q.consume(128 * 1024);
    for (let i = 0; i < 8; i++) q.push(new Uint8Array(64 * 1024).fill(0x42));
    expect(stable.every((b) => b === 0x53)).toBe(true);
    expect(q.length).toBe(10 + 8 * 64 * 1024);
  });
});
