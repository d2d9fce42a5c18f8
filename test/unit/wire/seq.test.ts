import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/wire/random.js';
import { inWindow, seq, seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin, u32Diff, u32Lt } from '../../../src/wire/seq.js';

const MAX = 0xffffffff;

describe('TCP sequence numbers (RFC 9293 §3.4)', () => {
  it('reduces any number modulo 2^32', () => {
    expect(seq(-1)).toBe(MAX);
    expect(seq(0x1_0000_0000)).toBe(0);
    expect(seq(0x1_0000_0005)).toBe(5);
  });

  it('adds across the 2^32 wrap in both directions', () => {
    expect(seqAdd(seq(MAX), 1)).toBe(0);
    expect(seqAdd(seq(0), -1)).toBe(MAX);
    expect(seqAdd(seq(0xfffffff0), 0x20)).toBe(0x10);
    expect(seqAdd(seq(0x10), -0x20)).toBe(0xfffffff0);
    expect(seqAdd(seq(MAX), MAX)).toBe(MAX - 1);
  });

  it('orders numbers across the wrap', () => {
    const before = seq(0xfffffff0);
    const after = seq(0x10);
    expect(seqLt(before, after)).toBe(true);
    expect(seqLe(before, after)).toBe(true);
    expect(seqGt(after, before)).toBe(true);
    expect(seqGe(after, before)).toBe(true);
    expect(seqLt(after, before)).toBe(false);
    expect(seqGt(before, after)).toBe(false);
    expect(seqLt(seq(MAX), seq(0))).toBe(true);
    expect(seqDiff(after, before)).toBe(0x20);
    expect(seqDiff(before, after)).toBe(-0x20);
    expect(seqDiff(seq(0), seq(MAX))).toBe(1);
  });

  it('treats equal numbers as neither less nor greater', () => {
    for (const n of [0, 1, 0x7fffffff, 0x80000000, MAX]) {
      const s = seq(n);
      expect(seqLt(s, s) || seqGt(s, s)).toBe(false);
      expect(seqLe(s, s) && seqGe(s, s)).toBe(true);
      expect(seqDiff(s, s)).toBe(0);
    }
  });

  it('has a signed distance in [-2^31, 2^31): half the space ahead is later, 2^31 ahead is earlier', () => {
    const a = seq(0xfffffff0);
    expect(seqDiff(seqAdd(a, 0x7fffffff), a)).toBe(0x7fffffff);
    expect(seqGt(seqAdd(a, 0x7fffffff), a)).toBe(true);
    expect(seqDiff(seqAdd(a, 0x80000000), a)).toBe(-0x80000000);
    expect(seqLt(seqAdd(a, 0x80000000), a)).toBe(true);
  });

  it('picks max and min across the wrap', () => {
    expect(seqMax(seq(0xfffffff0), seq(0x10))).toBe(0x10);
    expect(seqMin(seq(0xfffffff0), seq(0x10))).toBe(0xfffffff0);
    expect(seqMax(seq(5), seq(5))).toBe(5);
  });

  it('tests window membership across the wrap, excluding the right edge', () => {
    const start = seq(0xfffffff0);
    expect(inWindow(start, start, 0x20)).toBe(true);
    expect(inWindow(seq(MAX), start, 0x20)).toBe(true);
    expect(inWindow(seq(0), start, 0x20)).toBe(true);
    expect(inWindow(seq(0xf), start, 0x20)).toBe(true);
    expect(inWindow(seq(0x10), start, 0x20)).toBe(false);
    expect(inWindow(seq(0xffffffef), start, 0x20)).toBe(false);
    expect(inWindow(start, start, 0)).toBe(false); // an empty window holds nothing
    expect(inWindow(seq(0x7fffffff), seq(0), 0x80000000)).toBe(true);
    expect(inWindow(seq(0xfffffffe), seq(0), MAX)).toBe(true);
  });

  it('keeps seqDiff(seqAdd(a, d), a) === d and the order consistent for random a and d', () => {
    const rng = new SeededRandom(2 ** 31);
    for (let k = 0; k < 20000; k++) {
      const a = seq(rng.nextU32());
      let d = rng.nextU32() | 0;
      if (d === -0x80000000) d = 0; // the one distance with no sign
      const b = seqAdd(a, d);
      expect(seqDiff(b, a)).toBe(d);
      expect(seqLt(a, b)).toBe(d > 0);
      expect(seqGt(a, b)).toBe(d < 0);
      expect(seqMax(a, b)).toBe(d >= 0 ? b : a);
    }
  });

  it('orders 32-bit timestamps the same way (RFC 7323 §5.3)', () => {
    expect(u32Lt(MAX, 0)).toBe(true);
    expect(u32Lt(0, MAX)).toBe(false);
    expect(u32Diff(0, MAX)).toBe(1);
    expect(u32Diff(0x10, 0xfffffff0)).toBe(0x20);
  });
});
