/** The TCP layer's timer queue: one scheduler timer, a heap of deadlines, cancelled items let go. */
import { describe, expect, it } from 'vitest';
import { SimScheduler } from '../../../src/wire/clock.js';
import { TimerQueue, type TimedItem } from '../../../src/tcp/timer-queue.js';

interface Item extends TimedItem {
  readonly id: number;
}

describe('TimerQueue', () => {
  it('fires items in deadline order and skips cancelled ones', () => {
    const s = new SimScheduler();
    const fired: number[] = [];
    const q = new TimerQueue<Item>(s, (item) => fired.push(item.id));
    const items = [30, 10, 20, 40].map((at, id) => ({ id, queuedAt: Infinity, at }));
    for (const it of items) q.schedule(it, it.at);
    q.cancel(items[3] as Item);
    s.advance(100);
    expect(fired).toEqual([1, 2, 0]);
  });

  it('does not hold cancelled items until their old deadlines (closed connections with keepalive timers)', () => {
    const s = new SimScheduler();
    const q = new TimerQueue<Item>(s, () => undefined);
    // Long deadlines (a 2-hour keepalive), then the items go away (their connections closed).
    for (let id = 0; id < 10_000; id++) {
      const item = { id, queuedAt: Infinity };
      q.schedule(item, 7_200_000 + id);
      q.cancel(item);
    }
    expect(q.size).toBeLessThan(100);
    // Live items still fire.
    const fired: number[] = [];
    const q2 = new TimerQueue<Item>(s, (item) => fired.push(item.id));
    const live = { id: 1, queuedAt: Infinity };
    for (let id = 0; id < 1000; id++) {
      const dead = { id: 100 + id, queuedAt: Infinity };
      q2.schedule(dead, 50 + id);
      q2.cancel(dead);
    }
    q2.schedule(live, 60);
    s.advance(10_000);
    expect(fired).toEqual([1]);
  });

  it('lets go of entries superseded by an earlier deadline', () => {
    const s = new SimScheduler();
    const q = new TimerQueue<Item>(s, () => undefined);
    const item = { id: 0, queuedAt: Infinity };
    for (let i = 0; i < 10_000; i++) q.schedule(item, 7_200_000 - i);
    expect(q.size).toBeLessThan(100);
  });
});
