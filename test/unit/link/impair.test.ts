import { describe, expect, it } from 'vitest';
import { ImpairLink, parseImpairSpec, type ImpairConfig } from '../../../src/link/impair.js';
import { SimLink } from '../../../src/link/sim-link.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { VNET_F_NEEDS_CSUM, VNET_NONE } from '../../../src/wire/vnet.js';
import { LinkRecorder } from '../../helpers/link-recorder.js';

/** A frame numbered `id` (bytes 14..17), `length` bytes long. */
function frame(id: number, length = 100): Uint8Array {
  const f = new Uint8Array(length);
  f[12] = 0x88;
  f[13] = 0xb5;
  new DataView(f.buffer).setUint32(14, id);
  for (let i = 18; i < length; i++) f[i] = (id * 7 + i) & 0xff;
  return f;
}

function idOf(f: Uint8Array): number {
  return new DataView(f.buffer, f.byteOffset).getUint32(14);
}

/** b's received frames go through an ImpairLink (rx side); a sends plainly. */
function rxSetup(config: ImpairConfig, options: { vnet?: boolean } = {}) {
  const s = new SimScheduler();
  const [a, b] = SimLink.pair(s, { vnet: options.vnet ?? false });
  const ib = new ImpairLink(b, s, config);
  const rec = new LinkRecorder(() => s.now());
  ib.setReceiver(rec);
  a.setReceiver(new LinkRecorder());
  return { s, a, b, ib, rec };
}

/** a's sent frames go through an ImpairLink (tx side); b records what arrives. */
function txSetup(config: ImpairConfig, options: { mtu?: number } = {}) {
  const s = new SimScheduler();
  const [a, b] = SimLink.pair(s, { mtu: options.mtu ?? 1500 });
  const ia = new ImpairLink(a, s, config);
  const rec = new LinkRecorder(() => s.now());
  b.setReceiver(rec);
  ia.setReceiver(new LinkRecorder());
  return { s, a, b, ia, rec };
}

describe('parseImpairSpec', () => {
  it('reads the documented example', () => {
    expect(parseImpairSpec('loss=0.01,dup=0.001,reorder=0.02,corrupt=0.001,seed=7,delay=5ms,jitter=1ms,rate=100mbit,dir=rx')).toEqual({
      loss: 0.01,
      duplicate: 0.001,
      reorder: 0.02,
      corrupt: 0.001,
      seed: 7,
      delayMs: 5,
      jitterMs: 1,
      rateBitsPerSecond: 100e6,
      direction: 'rx',
    });
  });

  it('reads percentages, duration and size units, bare numbers and spaces', () => {
    expect(parseImpairSpec(' loss=2% , duplicate=0.5, delay=1.5s, jitter=250us, reorder-delay=3, rate=64kbit, burst=3kb, queue=0 ')).toEqual({
      loss: 0.02,
      duplicate: 0.5,
      delayMs: 1500,
      jitterMs: 0.25,
      reorderDelayMs: 3,
      rateBitsPerSecond: 64000,
      burstBytes: 3072,
      queueBytes: 0,
    });
    expect(parseImpairSpec('')).toEqual({});
    expect(parseImpairSpec('rate=1gbit,queue=1mb,delay=200ns').rateBitsPerSecond).toBe(1e9);
  });

  const bad: [string, string, RegExp][] = [
    ['loss=0.1,color=red', 'color=red', /unknown impairment key "color"/],
    ['loss=1.5', 'loss=1.5', /loss must be a probability/],
    ['loss=-0.1', 'loss=-0.1', /probability/],
    ['loss', 'loss', /not key=value/],
    ['=3', '=3', /not key=value/],
    ['loss=0.1,,dup=0.1', '', /empty item/],
    ['loss=0.1,loss=0.2', 'loss=0.2', /"loss" twice/],
    ['dup=0.1,duplicate=0.2', 'duplicate=0.2', /twice/],
    ['delay=5 minutes', 'delay=5 minutes', /delay must be a duration/],
    ['delay=5h', 'delay=5h', /duration/],
    ['rate=100mbps', 'rate=100mbps', /tc reads "bps" as bytes/],
    ['rate=0', 'rate=0', /greater than 0/],
    ['rate=fast', 'rate=fast', /bit rate/],
    ['queue=lots', 'queue=lots', /size/],
    ['seed=1.5', 'seed=1.5', /seed must be an integer/],
    ['seed=4294967296', 'seed=4294967296', /seed/],
    ['dir=up', 'dir=up', /dir must be rx, tx or both/],
  ];
  for (const [spec, part, message] of bad) {
    it(`refuses ${JSON.stringify(spec)} naming ${JSON.stringify(part)}`, () => {
      let caught: unknown;
      try {
        parseImpairSpec(spec);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(Error);
      expect(caught).toMatchObject({ code: 'ERR_CHIMNEY_BAD_IMPAIR_SPEC', part });
      expect((caught as Error).message).toMatch(message);
    });
  }

  it('refuses a bad configuration object with the same code', () => {
    const [a] = SimLink.pair(new SimScheduler());
    expect(() => new ImpairLink(a, new SimScheduler(), { loss: 2 })).toThrow(expect.objectContaining({ code: 'ERR_CHIMNEY_BAD_IMPAIR_SPEC' }));
    expect(() => new ImpairLink(a, new SimScheduler(), { delayMs: -1 })).toThrow(/delayMs/);
  });
});

describe('ImpairLink', () => {
  it('passes everything through unchanged, in the same batch, when no effect is set', () => {
    const { s, a, ib, rec } = rxSetup({});
    for (let i = 0; i < 5; i++) a.send(frame(i));
    s.advance(1);
    expect(rec.frames.map((f) => idOf(f.frame))).toEqual([0, 1, 2, 3, 4]);
    expect(rec.batchSizes()).toEqual([5]);
    expect(ib.impairStats.rx).toMatchObject({ frames: 5, passed: 5, delayed: 0 });
  });

  it('loses frames with the configured probability, reproducibly from the seed', () => {
    const run = (seed: number) => {
      const { s, a, ib, rec } = rxSetup({ loss: 0.3, seed });
      for (let i = 0; i < 5000; i++) a.send(frame(i, 60));
      s.advance(1);
      return { ids: rec.frames.map((f) => idOf(f.frame)), stats: ib.impairStats.rx, drops: ib.drops.get('impair-loss') };
    };
    const first = run(7);
    expect(first.stats.lost).toBeGreaterThan(1350);
    expect(first.stats.lost).toBeLessThan(1650);
    expect(first.ids.length + first.stats.lost).toBe(5000);
    expect(first.drops).toBe(first.stats.lost);
    expect(run(7).ids).toEqual(first.ids);
    expect(run(8).ids).not.toEqual(first.ids);
  });

  it('sends no batch end for a batch whose frames were all lost', () => {
    const { s, a, rec } = rxSetup({ loss: 1 });
    a.send(frame(1));
    s.advance(1);
    expect(rec.frames).toHaveLength(0);
    expect(rec.batches).toBe(0);
  });

  it('duplicates frames right behind the original', () => {
    const { s, a, ib, rec } = rxSetup({ duplicate: 1 });
    a.send(frame(1));
    a.send(frame(2));
    s.advance(1);
    expect(rec.frames.map((f) => idOf(f.frame))).toEqual([1, 1, 2, 2]);
    expect(ib.impairStats.rx).toMatchObject({ frames: 2, passed: 4, duplicated: 2 });
  });

  it('flips exactly one bit after the Ethernet header of a corrupted frame, on a copy', () => {
    const { s, ia, rec } = txSetup({ corrupt: 1, seed: 3 });
    const originals = Array.from({ length: 50 }, (_, i) => frame(i, 64 + i));
    const sent = originals.map((f) => f.slice());
    for (const f of sent) ia.send(f);
    s.advance(1);
    expect(sent).toEqual(originals);
    expect(rec.frames).toHaveLength(50);
    rec.frames.forEach((got, i) => {
      const want = originals[i] as Uint8Array;
      let bits = 0;
      let firstDiff = -1;
      for (let j = 0; j < want.length; j++) {
        const x = (got.frame[j] as number) ^ (want[j] as number);
        if (x !== 0 && firstDiff < 0) firstDiff = j;
        for (let v = x; v !== 0; v &= v - 1) bits++;
      }
      expect(bits).toBe(1);
      expect(firstDiff).toBeGreaterThanOrEqual(14);
    });
    expect(ia.impairStats.tx.corrupted).toBe(50);
  });

  it('delays every frame by delay, in order, released as one batch', () => {
    const { s, a, ib, rec } = rxSetup({ delayMs: 10 });
    a.send(frame(1));
    a.send(frame(2));
    s.advance(9.5);
    expect(rec.frames).toHaveLength(0);
    s.advance(1);
    expect(rec.frames.map((f) => [idOf(f.frame), f.at])).toEqual([
      [1, 10],
      [2, 10],
    ]);
    expect(rec.batchSizes()).toEqual([2]);
    expect(ib.impairStats.rx.delayed).toBe(2);
  });

  it('keeps jittered delays within [delay - jitter, delay + jitter] and never reorders', () => {
    const { s, a, rec } = rxSetup({ delayMs: 10, jitterMs: 4, seed: 11 });
    const sentAt: number[] = [];
    for (let i = 0; i < 200; i++) {
      sentAt.push(s.now());
      a.send(frame(i));
      s.advance(0.5);
    }
    s.advance(20);
    expect(rec.frames.map((f) => idOf(f.frame))).toEqual(sentAt.map((_, i) => i));
    const delays = rec.frames.map((f, i) => (f.at as number) - (sentAt[i] as number));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(6);
    expect(Math.max(...delays)).toBeLessThanOrEqual(14.5);
    expect(new Set(delays.map((d) => Math.round(d))).size).toBeGreaterThan(3);
  });

  it('holds a reordered frame back while later frames pass it', () => {
    const { s, a, ib, rec } = rxSetup({ reorder: 0.2, reorderDelayMs: 3, seed: 5 });
    const sentAt = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      sentAt.set(i, s.now());
      a.send(frame(i));
      s.advance(1);
    }
    s.advance(10);
    const ids = rec.frames.map((f) => idOf(f.frame));
    expect([...ids].sort((x, y) => x - y)).toEqual([...sentAt.keys()]);
    const held = new Set(rec.frames.filter((f) => (f.at as number) - (sentAt.get(idOf(f.frame)) as number) === 3).map((f) => idOf(f.frame)));
    expect(held.size).toBe(ib.impairStats.rx.reordered);
    expect(held.size).toBeGreaterThan(30);
    // Every other frame arrived when it was sent. So the order is by arrival time; at equal
    // times a held frame (released by its timer) comes before a frame sent at that moment.
    const arrival = (id: number) => (sentAt.get(id) as number) + (held.has(id) ? 3 : 0);
    const expected = [...sentAt.keys()].sort((x, y) => arrival(x) - arrival(y) || Number(held.has(y)) - Number(held.has(x)) || x - y);
    expect(ids).toEqual(expected);
    expect(ids).not.toEqual([...sentAt.keys()]);
  });

  it('limits the rate with a token bucket: a burst passes, the rest is queued and paced', () => {
    // 8 Mbit/s = 1000 bytes per ms; bucket 3000 bytes.
    const { s, ia, rec } = txSetup({ rateBitsPerSecond: 8e6, burstBytes: 3000 });
    for (let i = 0; i < 10; i++) ia.send(frame(i, 1000));
    s.advance(20);
    expect(rec.frames.map((f) => f.at)).toEqual([0, 0, 0, 1, 2, 3, 4, 5, 6, 7]);
    expect(ia.impairStats.tx).toMatchObject({ passed: 10, rateQueued: 7, rateDropped: 0 });
  });

  it('drops what exceeds the bucket when the queue is 0 (a policer)', () => {
    const { s, ia, rec } = txSetup({ rateBitsPerSecond: 8e6, burstBytes: 3000, queueBytes: 0 });
    for (let i = 0; i < 10; i++) ia.send(frame(i, 1000));
    s.advance(1.5);
    ia.send(frame(10, 1000));
    s.advance(20);
    expect(rec.frames.map((f) => idOf(f.frame))).toEqual([0, 1, 2, 10]);
    expect(ia.impairStats.tx.rateDropped).toBe(7);
    expect(ia.drops.get('impair-rate-limit')).toBe(7);
  });

  it('lets a frame larger than the bucket through and makes the next ones wait for its bytes', () => {
    const { s, ia, rec } = txSetup({ rateBitsPerSecond: 8e6, burstBytes: 3000 }, { mtu: 9000 });
    ia.send(frame(0, 9000));
    ia.send(frame(1, 1000));
    s.advance(20);
    // After 9000 bytes the bucket is at -6000: 7 ms until 1000 bytes of tokens.
    expect(rec.frames.map((f) => f.at)).toEqual([0, 7]);
  });

  it('bounds the rate queue in bytes', () => {
    const { s, ia, rec } = txSetup({ rateBitsPerSecond: 8e6, burstBytes: 1000, queueBytes: 2500 });
    for (let i = 0; i < 6; i++) ia.send(frame(i, 1000));
    s.advance(20);
    expect(rec.frames.map((f) => idOf(f.frame))).toEqual([0, 1, 2]);
    expect(ia.impairStats.tx.rateDropped).toBe(3);
  });

  it('impairs only the chosen direction', () => {
    const s = new SimScheduler();
    const [a, b] = SimLink.pair(s);
    const ia = new ImpairLink(a, s, { loss: 1, direction: 'rx' });
    const ra = new LinkRecorder();
    const rb = new LinkRecorder();
    ia.setReceiver(ra);
    b.setReceiver(rb);
    ia.send(frame(1));
    b.send(frame(2));
    s.advance(1);
    expect(rb.frames).toHaveLength(1);
    expect(ra.frames).toHaveLength(0);
    expect(ia.impairStats).toMatchObject({ rx: { frames: 1, lost: 1 }, tx: { frames: 0 } });
  });

  it('keeps the virtio-net header of a delayed frame', () => {
    const { s, a, rec } = rxSetup({ delayMs: 2 }, { vnet: true });
    const vnet = { ...VNET_NONE, flags: VNET_F_NEEDS_CSUM, csumStart: 34, csumOffset: 16 };
    a.send(frame(1), vnet);
    s.advance(5);
    expect(rec.frames.map((f) => f.vnet)).toEqual([vnet]);
  });

  it('sends delayed frames on the wrapped link when they are due', () => {
    const { s, a, ia, rec } = txSetup({ delayMs: 4 });
    const f = frame(9);
    ia.send(f);
    f.fill(0);
    s.advance(3);
    expect(a.stats.txFrames).toBe(0);
    s.advance(1);
    expect(a.stats.txFrames).toBe(1);
    s.advance(1);
    expect(rec.frames.map((x) => [idOf(x.frame), x.at])).toEqual([[9, 4]]);
  });

  it('discards waiting frames on close and counts them', async () => {
    const { s, ia, rec } = txSetup({ delayMs: 50 });
    ia.send(frame(1));
    ia.send(frame(2));
    s.advance(1);
    await ia.close();
    await ia.close();
    s.advance(100);
    expect(rec.frames).toHaveLength(0);
    expect(ia.impairStats.tx.discardedOnClose).toBe(2);
  });
});
