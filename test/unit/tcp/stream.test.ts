/**
 * Whole connections between two engines over a simulated path: byte-exact delivery in both
 * directions under loss, reordering and duplication, with every option combination, across
 * the 2^32 sequence wrap, and sensible throughput at a bottleneck.
 */
import { describe, expect, it } from 'vitest';
import type { TcpConfig } from '../../../src/tcp/types.js';
import { Wire, type PathOptions } from '../../helpers/segments.js';

interface Case {
  name: string;
  path: PathOptions;
  config?: Partial<TcpConfig>;
}

const CASES: Case[] = [
  { name: 'a clean path', path: {} },
  { name: '2% loss, SACK and CUBIC', path: { loss: 0.02 } },
  { name: '2% loss, NewReno without SACK', path: { loss: 0.02 }, config: { sack: false, congestionControl: 'newreno' } },
  { name: 'reordering by up to 5 ms', path: { jitterMs: 5 } },
  { name: '5% duplication', path: { duplicate: 0.05 } },
  { name: 'loss, reordering and duplication together', path: { loss: 0.03, duplicate: 0.02, jitterMs: 4 } },
  { name: 'loss and reordering without SACK or timestamps', path: { loss: 0.03, jitterMs: 4 }, config: { sack: false, timestamps: false } },
  { name: 'loss without window scaling', path: { loss: 0.02 }, config: { windowScaling: false } },
  { name: 'loss with TSO super-segments', path: { loss: 0.01 }, config: { tsoMaxBytes: 65_000 } },
  { name: 'small buffers (the windows close and reopen)', path: { loss: 0.01 }, config: { rcvBufSize: 16 * 1024, sndBufSize: 16 * 1024 } },
  { name: '10% loss', path: { loss: 0.1, delayMs: 5 } },
];

describe('two engines over a simulated path', () => {
  for (const c of CASES) {
    it(`delivers 2 MiB and 1 MiB byte-exactly and closes cleanly: ${c.name}`, () => {
      for (const seed of [1, 2]) {
        const w = new Wire({ seed, pathAB: { delayMs: 10, ...c.path }, configA: c.config, configB: c.config });
        w.connect();
        w.transfer(2 << 20, 1 << 20);
        w.run(w.now + 900_000, () => w.done() && w.a.closed && w.b.closed);
        expect(w.b.received).toBe(2 << 20);
        expect(w.a.received).toBe(1 << 20);
        expect(w.a.closed && w.b.closed).toBe(true);
        expect(w.a.errors.concat(w.b.errors)).toEqual([]);
        expect(w.a.rstSent + w.b.rstSent).toBe(0);
      }
    });
  }

  it('carries both streams across the 2^32 sequence wrap', () => {
    const w = new Wire({ seed: 3, pathAB: { delayMs: 2, loss: 0.01 }, issA: 0xfffff000, issB: 0xffffff00 });
    w.connect();
    w.transfer(3 << 20, 3 << 20);
    w.run(w.now + 600_000, () => w.done() && w.a.closed && w.b.closed);
    expect(w.done()).toBe(true);
    expect(w.a.closed && w.b.closed).toBe(true);
  });

  it('fills a 10 Mbit/s bottleneck with CUBIC and SACK (over 85% goodput)', () => {
    const w = new Wire({ seed: 1, pathAB: { delayMs: 20, rateBytesPerMs: 1250, queueLimitBytes: 60_000 }, pathBA: { delayMs: 20 } });
    w.connect();
    const bytes = 8 << 20;
    w.transfer(bytes, 0);
    const t0 = w.now;
    w.run(t0 + 60_000, () => w.done());
    const mbps = (bytes * 8) / (w.now - t0) / 1000;
    expect(mbps).toBeGreaterThan(8.5);
  });

  it('keeps the bottleneck busy with NewReno and SACK too', () => {
    const w = new Wire({
      seed: 1,
      pathAB: { delayMs: 20, rateBytesPerMs: 1250, queueLimitBytes: 60_000 },
      pathBA: { delayMs: 20 },
      configA: { congestionControl: 'newreno' },
    });
    w.connect();
    const bytes = 8 << 20;
    w.transfer(bytes, 0);
    const t0 = w.now;
    w.run(t0 + 60_000, () => w.done());
    expect((bytes * 8) / (w.now - t0) / 1000).toBeGreaterThan(8);
  });
});
