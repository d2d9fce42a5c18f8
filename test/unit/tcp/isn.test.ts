import { describe, expect, it } from 'vitest';
import { IsnGenerator } from '../../../src/tcp/isn.js';
import { sipHash24, sipKey } from '../../../src/tcp/siphash.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { SeededRandom } from '../../../src/wire/random.js';
import { seqDiff, type Seq } from '../../../src/wire/seq.js';

const KEY = Uint8Array.from({ length: 16 }, (_, i) => i);

/** Published SipHash-2-4 vectors (reference vectors.h): key 00..0f, message 00..(n-1), output bytes little-endian. */
const VECTORS: Record<number, number[]> = {
  0: [0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72],
  1: [0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74],
  2: [0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d],
  7: [0x37, 0xd1, 0x01, 0x8b, 0xf5, 0x00, 0x02, 0xab],
  8: [0x62, 0x24, 0x93, 0x9a, 0x79, 0xf5, 0xf5, 0x93],
  9: [0xb0, 0xe4, 0xa9, 0x0b, 0xdf, 0x82, 0x00, 0x9e],
  15: [0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1],
};

function hashBytes(key: Uint8Array, msg: Uint8Array): number[] {
  const out = new Uint32Array(2);
  sipHash24(sipKey(key), msg, out);
  const lo = out[0] as number;
  const hi = out[1] as number;
  return [lo, lo >>> 8, lo >>> 16, lo >>> 24, hi, hi >>> 8, hi >>> 16, hi >>> 24].map((b) => b & 0xff);
}

/** An independent SipHash-2-4 over BigInt, to cross-check the 32-bit implementation on random inputs. */
function sipHashBigInt(key: Uint8Array, msg: Uint8Array): bigint {
  const M = (1n << 64n) - 1n;
  const le = (b: Uint8Array, o: number, n: number): bigint => {
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[o + i] as number);
    return v;
  };
  const rotl = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & M;
  const k0 = le(key, 0, 8);
  const k1 = le(key, 8, 8);
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = (): void => {
    v0 = (v0 + v1) & M;
    v1 = rotl(v1, 13n) ^ v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M;
    v3 = rotl(v3, 16n) ^ v2;
    v0 = (v0 + v3) & M;
    v3 = rotl(v3, 21n) ^ v0;
    v2 = (v2 + v1) & M;
    v1 = rotl(v1, 17n) ^ v2;
    v2 = rotl(v2, 32n);
  };
  const full = msg.length - (msg.length % 8);
  for (let i = 0; i < full; i += 8) {
    const m = le(msg, i, 8);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  const m = (BigInt(msg.length & 0xff) << 56n) | le(msg, full, msg.length - full);
  v3 ^= m;
  round();
  round();
  v0 ^= m;
  v2 ^= 0xffn;
  for (let r = 0; r < 4; r++) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

describe('SipHash-2-4', () => {
  for (const [len, want] of Object.entries(VECTORS)) {
    it(`matches the published vector for a ${len}-byte message`, () => {
      const msg = Uint8Array.from({ length: Number(len) }, (_, i) => i);
      expect(hashBytes(KEY, msg)).toEqual(want);
    });
  }

  it('agrees with a BigInt implementation on random keys and messages of every length up to 40', () => {
    const r = new SeededRandom(99);
    for (let len = 0; len <= 40; len++) {
      const key = Uint8Array.from({ length: 16 }, () => r.nextU32() & 0xff);
      const msg = Uint8Array.from({ length: len }, () => r.nextU32() & 0xff);
      const out = new Uint32Array(2);
      sipHash24(sipKey(key), msg, out);
      const got = (BigInt(out[1] as number) << 32n) | BigInt(out[0] as number);
      expect(got).toBe(sipHashBigInt(key, msg));
    }
  });

  it('rejects a key that is not 16 bytes', () => {
    expect(() => sipKey(new Uint8Array(8))).toThrow(RangeError);
  });
});

describe('RFC 6528 ISN generator', () => {
  const local = Uint8Array.of(198, 18, 0, 1);
  const remote = Uint8Array.of(198, 18, 0, 2);

  it('advances with the 4-microsecond timer for the same 4-tuple', () => {
    const clock = new SimScheduler(5000);
    const g = new IsnGenerator(KEY, clock);
    const a = g.isn(local, 40000, remote, 80);
    clock.advance(1);
    const b = g.isn(local, 40000, remote, 80);
    clock.advance(1000);
    const c = g.isn(local, 40000, remote, 80);
    expect(seqDiff(b, a)).toBe(250);
    expect(seqDiff(c, b)).toBe(250_000);
  });

  it('is monotonic across the 2^32 wrap of the sequence space', () => {
    const clock = new SimScheduler(0);
    const g = new IsnGenerator(KEY, clock);
    let prev = g.isn(local, 1, remote, 2);
    let wrapped = false;
    // 2^32 ticks of 4 us is about 4.8 hours; step through it in 10-minute steps.
    for (let t = 0; t < 6 * 3600_000; t += 600_000) {
      clock.advance(600_000);
      const next = g.isn(local, 1, remote, 2);
      // The raw value wraps; the sequence-space distance is always the elapsed ticks.
      expect(seqDiff(next, prev)).toBe(600_000 * 250);
      if ((next as number) < (prev as number)) wrapped = true;
      prev = next;
    }
    expect(wrapped).toBe(true);
  });

  it('differs between 4-tuples at the same instant', () => {
    const g = new IsnGenerator(KEY, new SimScheduler(0));
    const seen = new Set<Seq>();
    for (let port = 40000; port < 40100; port++) seen.add(g.isn(local, port, remote, 80));
    expect(seen.size).toBe(100);
  });

  it('depends on the secret key', () => {
    const clock = new SimScheduler(0);
    const other = Uint8Array.from(KEY, (b) => b ^ 0x5a);
    expect(new IsnGenerator(KEY, clock).isn(local, 1, remote, 2)).not.toBe(new IsnGenerator(other, clock).isn(local, 1, remote, 2));
  });

  it('hashes IPv6 addresses', () => {
    const g = new IsnGenerator(KEY, new SimScheduler(0));
    const a6 = new Uint8Array(16);
    a6[0] = 0x20;
    a6[1] = 0x01;
    const b6 = a6.slice();
    b6[15] = 2;
    expect(g.isn(a6, 1, b6, 2)).not.toBe(g.isn(b6, 1, a6, 2));
  });
});
