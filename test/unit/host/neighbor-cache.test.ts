/** The RFC 4861 §7.3.2 reachability state machine shared by ARP and neighbor discovery. */
import { describe, expect, it } from 'vitest';
import { SimScheduler } from '../../../src/wire/clock.js';
import { SeededRandom } from '../../../src/wire/random.js';
import { NeighborCache } from '../../../src/host/neighbor-cache.js';

const MAC_A = Uint8Array.of(2, 0, 0, 0, 0, 0xa);
const MAC_B = Uint8Array.of(2, 0, 0, 0, 0, 0xb);

function setup(params = {}) {
  const scheduler = new SimScheduler();
  const solicited: { address: number; unicast: Uint8Array | undefined }[] = [];
  const sent: Uint8Array[] = [];
  const dropped: string[] = [];
  const cache = new NeighborCache<number, string>(
    scheduler,
    new SeededRandom(1),
    {
      solicit: (address, unicastTo) => solicited.push({ address, unicast: unicastTo }),
      transmit: (frame) => sent.push(frame.slice()),
      dropped: (reason) => dropped.push(reason),
    },
    (a) => a,
    { reachableTimeMs: 30_000, retransTimerMs: 1000, delayFirstProbeMs: 5000, queueLimit: 3, ...params },
  );
  return { scheduler, cache, solicited, sent, dropped };
}

function frame(tag: number): Uint8Array {
  const f = new Uint8Array(20);
  f[19] = tag;
  return f;
}

describe('neighbor cache', () => {
  it('queues frames while INCOMPLETE and sends them with the MAC written in once resolved', () => {
    const { cache, solicited, sent } = setup();
    cache.send(7, frame(1));
    cache.send(7, frame(2));
    expect(solicited).toEqual([{ address: 7, unicast: undefined }]);
    expect(sent).toHaveLength(0);
    expect(cache.get(7)?.state).toBe('INCOMPLETE');
    cache.update(7, MAC_A, { solicited: true, override: true, create: false });
    expect(cache.get(7)?.state).toBe('REACHABLE');
    expect(sent.map((f) => [...f.subarray(0, 6), f[19]])).toEqual([
      [...MAC_A, 1],
      [...MAC_A, 2],
    ]);
  });

  it('copies a queued frame before soliciting, so a solicitation built in the same buffer cannot corrupt it', () => {
    const scheduler = new SimScheduler();
    const shared = new Uint8Array(64);
    const sent: Uint8Array[] = [];
    const cache = new NeighborCache<number>(
      scheduler,
      new SeededRandom(1),
      {
        // The prober builds its solicitation in the very buffer the caller's frame lives in.
        solicit: () => shared.fill(0xee),
        transmit: (f) => sent.push(f.slice()),
        dropped: () => undefined,
      },
      (a) => a,
    );
    shared.fill(0x11);
    cache.send(9, shared.subarray(0, 32));
    cache.update(9, MAC_B, { solicited: true, override: true, create: false });
    expect(sent).toHaveLength(1);
    expect([...(sent[0] as Uint8Array).subarray(6)]).toEqual(new Array(26).fill(0x11));
  });

  it('retries resolution RetransTimer apart, then gives up and drops the queue', () => {
    const { scheduler, cache, solicited, dropped } = setup();
    cache.send(7, frame(1));
    scheduler.advance(999);
    expect(solicited).toHaveLength(1);
    scheduler.advance(1);
    expect(solicited).toHaveLength(2);
    scheduler.advance(1000);
    expect(solicited).toHaveLength(3);
    scheduler.advance(1000);
    expect(cache.get(7)).toBeUndefined();
    expect(dropped).toEqual(['neigh-resolution-failed']);
  });

  it('bounds the queue, dropping the oldest frame', () => {
    const { cache, dropped, sent } = setup();
    for (let i = 1; i <= 5; i++) cache.send(7, frame(i));
    expect(dropped).toEqual(['neigh-queue-full', 'neigh-queue-full']);
    cache.update(7, MAC_A, { solicited: true, override: true, create: false });
    expect(sent.map((f) => f[19])).toEqual([3, 4, 5]);
  });

  it('goes REACHABLE -> STALE after the reachable time, STALE -> DELAY on use, then probes by unicast', () => {
    const { scheduler, cache, solicited } = setup();
    cache.update(7, MAC_A, { solicited: false, override: true, create: true });
    expect(cache.get(7)?.state).toBe('STALE');
    cache.confirm(7);
    expect(cache.get(7)?.state).toBe('REACHABLE');
    scheduler.advance(46_000); // beyond 1.5 × the base reachable time
    expect(cache.get(7)?.state).toBe('STALE');
    expect(cache.lookup(7)).toEqual(MAC_A);
    expect(cache.get(7)?.state).toBe('DELAY');
    scheduler.advance(5000);
    expect(cache.get(7)?.state).toBe('PROBE');
    expect(solicited.at(-1)).toEqual({ address: 7, unicast: MAC_A });
    cache.update(7, MAC_A, { solicited: true, override: false, create: false });
    expect(cache.get(7)?.state).toBe('REACHABLE');
  });

  it('removes an entry whose unicast probes go unanswered', () => {
    const { scheduler, cache } = setup();
    cache.update(7, MAC_A, { solicited: false, override: true, create: true });
    cache.lookup(7);
    scheduler.advance(5000 + 3 * 1000);
    expect(cache.get(7)).toBeUndefined();
  });

  it('applies the override rule: a non-override advertisement with a new address only marks STALE', () => {
    const { cache } = setup();
    cache.update(7, MAC_A, { solicited: true, override: true, create: true });
    cache.update(7, MAC_B, { solicited: true, override: false, create: false });
    expect(cache.get(7)?.mac).toEqual(MAC_A);
    expect(cache.get(7)?.state).toBe('STALE');
    cache.update(7, MAC_B, { solicited: false, override: true, create: false });
    expect(cache.get(7)?.mac).toEqual(MAC_B);
    expect(cache.get(7)?.state).toBe('STALE');
  });

  it('creates entries only when asked to (RFC 826 merge rule)', () => {
    const { cache } = setup();
    cache.update(7, MAC_A, { solicited: false, override: true, create: false });
    expect(cache.get(7)).toBeUndefined();
  });
});

describe('neighbor cache with byte-array addresses', () => {
  it('keeps its own copy of an address that is a view into a packet buffer', () => {
    const scheduler = new SimScheduler();
    const solicited: Uint8Array[] = [];
    const cache = new NeighborCache<Uint8Array>(
      scheduler,
      new SeededRandom(1),
      { solicit: (a) => solicited.push(a.slice()), transmit: () => undefined, dropped: () => undefined },
      (a) => [...a].join(','),
    );
    const packet = new Uint8Array(32).fill(1);
    const address = packet.subarray(8, 24);
    cache.send(address, new Uint8Array(20));
    packet.fill(9); // the receive buffer is reused for the next frame
    scheduler.advance(1000);
    expect(solicited.at(-1)).toEqual(new Uint8Array(16).fill(1));
    expect(cache.list()[0]?.address).toEqual(new Uint8Array(16).fill(1));
  });
});
