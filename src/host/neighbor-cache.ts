/**
 * Neighbor cache shared by ARP (IPv4) and neighbor discovery (IPv6): the RFC 4861 §7.3.2
 * reachability state machine (INCOMPLETE, REACHABLE, STALE, DELAY, PROBE), which Linux also
 * runs for ARP. Packets sent to a neighbor whose link-layer address is still being resolved
 * wait in a small per-entry queue and go out when the answer arrives.
 *
 * The cache knows nothing of ARP or ND packet formats: a `NeighborProber` sends the
 * solicitations, so the same code serves both families.
 */
import type { MacAddress } from '../wire/addr.js';
import type { Random } from '../wire/random.js';
import type { Scheduler, TimerHandle } from '../wire/clock.js';

export type NeighborState = 'INCOMPLETE' | 'REACHABLE' | 'STALE' | 'DELAY' | 'PROBE';

/** RFC 4861 §10 protocol constants, in milliseconds. */
export interface NeighborParams {
  /** REACHABLE_TIME base; each entry uses a random value in [0.5, 1.5) × this (§6.3.2). */
  readonly reachableTimeMs: number;
  /** RETRANS_TIMER: time between solicitations. */
  readonly retransTimerMs: number;
  readonly maxMulticastSolicit: number;
  readonly maxUnicastSolicit: number;
  /** DELAY_FIRST_PROBE_TIME. */
  readonly delayFirstProbeMs: number;
  /** Packets queued per INCOMPLETE entry (Linux unres_qlen_bytes is the analogue). */
  readonly queueLimit: number;
  /** Entries kept at most; the least recently used STALE entries go first. */
  readonly maxEntries: number;
  /** How long an unused STALE entry lives before garbage collection (Linux gc_stale_time 60 s). */
  readonly staleGcMs: number;
}

export const DEFAULT_NEIGHBOR_PARAMS: NeighborParams = Object.freeze({
  reachableTimeMs: 30_000,
  retransTimerMs: 1000,
  maxMulticastSolicit: 3,
  maxUnicastSolicit: 3,
  delayFirstProbeMs: 5000,
  queueLimit: 64,
  maxEntries: 1024,
  staleGcMs: 60_000,
});

export interface NeighborProber<A, I> {
  /**
   * Sends a solicitation for `address`: broadcast/multicast when `unicastTo` is undefined
   * (resolution), unicast to the cached address when probing reachability (§7.3.3).
   */
  solicit(address: A, unicastTo: MacAddress | undefined): void;
  /** Transmits a frame whose destination MAC has been written in, with the offload information it was queued with. */
  transmit(frame: Uint8Array, info: I | undefined): void;
  /** Counts a queued frame dropped because resolution failed or the queue overflowed. */
  dropped(reason: 'neigh-queue-full' | 'neigh-resolution-failed', frame: Uint8Array): void;
}

interface Queued<I> {
  readonly frame: Uint8Array;
  readonly info: I | undefined;
}

interface Entry<A, I> {
  readonly address: A;
  state: NeighborState;
  mac: MacAddress | undefined;
  isRouter: boolean;
  probes: number;
  queue: Queued<I>[];
  timer: TimerHandle | undefined;
  /** When the entry last changed state or was confirmed (for `ip neigh`-style listings). */
  updatedAt: number;
  usedAt: number;
}

export interface NeighborEntrySnapshot<A> {
  readonly address: A;
  readonly state: NeighborState;
  readonly mac: MacAddress | undefined;
  readonly isRouter: boolean;
  readonly probes: number;
  readonly queued: number;
  readonly ageMs: number;
}

/**
 * `A` is the address type (a number for IPv4, a 16-byte array for IPv6); `keyOf` maps it to a
 * Map key with value equality.
 */
export class NeighborCache<A, I = unknown> {
  private readonly entries = new Map<string | number, Entry<A, I>>();
  private readonly params: NeighborParams;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly random: Random,
    private readonly prober: NeighborProber<A, I>,
    private readonly keyOf: (address: A) => string | number,
    params: Partial<NeighborParams> = {},
  ) {
    this.params = { ...DEFAULT_NEIGHBOR_PARAMS, ...params };
  }

  /**
   * The link-layer address to send to `address` now, or undefined when it must be resolved
   * first. Using a STALE entry moves it to DELAY (§7.3.3): traffic flows at once and
   * reachability is verified afterwards.
   */
  lookup(address: A): MacAddress | undefined {
    const e = this.entries.get(this.keyOf(address));
    if (e === undefined || e.mac === undefined) return undefined;
    e.usedAt = this.scheduler.now();
    if (e.state === 'STALE') {
      this.enter(e, 'DELAY');
      this.arm(e, this.params.delayFirstProbeMs);
    }
    return e.mac;
  }

  /**
   * Sends `frame` (an Ethernet frame whose destination MAC, bytes 0..5, is filled in here) to
   * `address`: at once when the address is known, otherwise after resolution. The frame is
   * copied when it has to wait.
   */
  send(address: A, frame: Uint8Array, info?: I): void {
    const mac = this.lookup(address);
    if (mac !== undefined) {
      frame.set(mac, 0);
      this.prober.transmit(frame, info);
      return;
    }
    const key = this.keyOf(address);
    let e = this.entries.get(key);
    const isNew = e === undefined;
    e ??= this.create(key, address);
    if (e.queue.length >= this.params.queueLimit) {
      const old = e.queue.shift();
      if (old !== undefined) this.prober.dropped('neigh-queue-full', old.frame);
    }
    // Copy before soliciting: the caller's frame may live in a scratch buffer that building the
    // solicitation reuses.
    e.queue.push({ frame: frame.slice(), info });
    if (isNew) {
      this.enter(e, 'INCOMPLETE');
      e.probes = 1;
      this.prober.solicit(address, undefined);
      this.arm(e, this.params.retransTimerMs);
    }
  }

  /**
   * Records what an ARP packet or a neighbor advertisement said about `address` (RFC 4861
   * §7.2.5 for solicited/override semantics; RFC 826's merge rule for ARP: a sender already in
   * the table is updated, `create` adds a new one).
   */
  update(address: A, mac: MacAddress, how: { solicited: boolean; override: boolean; create: boolean; isRouter?: boolean }): void {
    const key = this.keyOf(address);
    let e = this.entries.get(key);
    if (e === undefined) {
      if (!how.create) return;
      e = this.create(key, address);
    }
    if (how.isRouter !== undefined) e.isRouter = how.isRouter;
    const changed = e.mac === undefined || !sameMac(e.mac, mac);
    if (e.state === 'INCOMPLETE' || e.mac === undefined) {
      e.mac = mac.slice();
      this.enter(e, how.solicited ? 'REACHABLE' : 'STALE');
      this.arm(e, how.solicited ? this.reachableTime() : undefined);
      this.flushQueue(e);
      return;
    }
    if (changed && !how.override) {
      // §7.2.5: a non-override advertisement with a different address only marks the entry STALE.
      if (e.state === 'REACHABLE') {
        this.enter(e, 'STALE');
        this.arm(e, undefined);
      }
      return;
    }
    if (changed) e.mac = mac.slice();
    if (how.solicited) {
      this.enter(e, 'REACHABLE');
      this.arm(e, this.reachableTime());
    } else if (changed) {
      this.enter(e, 'STALE');
      this.arm(e, undefined);
    }
  }

  /** Upper-layer confirmation of forward progress (§7.3.1), e.g. a TCP ACK of new data. */
  confirm(address: A): void {
    const e = this.entries.get(this.keyOf(address));
    if (e === undefined || e.mac === undefined || e.state === 'REACHABLE') return;
    this.enter(e, 'REACHABLE');
    this.arm(e, this.reachableTime());
  }

  /** Forgets one entry (its queued frames are dropped). */
  delete(address: A): void {
    const e = this.entries.get(this.keyOf(address));
    if (e !== undefined) this.remove(e, 'neigh-resolution-failed');
  }

  get(address: A): NeighborEntrySnapshot<A> | undefined {
    const e = this.entries.get(this.keyOf(address));
    return e === undefined ? undefined : this.snapshot(e);
  }

  list(): NeighborEntrySnapshot<A>[] {
    return [...this.entries.values()].map((e) => this.snapshot(e));
  }

  get size(): number {
    return this.entries.size;
  }

  /** Stops every timer and drops every queued frame (shutdown). */
  clear(): void {
    for (const e of [...this.entries.values()]) this.remove(e, 'neigh-resolution-failed');
  }

  private snapshot(e: Entry<A, I>): NeighborEntrySnapshot<A> {
    return {
      address: e.address,
      state: e.state,
      mac: e.mac,
      isRouter: e.isRouter,
      probes: e.probes,
      queued: e.queue.length,
      ageMs: this.scheduler.now() - e.updatedAt,
    };
  }

  private create(key: string | number, address: A): Entry<A, I> {
    if (this.entries.size >= this.params.maxEntries) this.evict();
    const now = this.scheduler.now();
    const e: Entry<A, I> = {
      // Byte-array addresses are usually views into a received packet: keep our own copy.
      address: address instanceof Uint8Array ? (address.slice() as A) : address,
      state: 'INCOMPLETE',
      mac: undefined,
      isRouter: false,
      probes: 0,
      queue: [],
      timer: undefined,
      updatedAt: now,
      usedAt: now,
    };
    this.entries.set(key, e);
    return e;
  }

  /** Makes room: the least recently used entry that is not being resolved goes. */
  private evict(): void {
    let victim: Entry<A, I> | undefined;
    for (const e of this.entries.values()) {
      if (e.state === 'INCOMPLETE') continue;
      if (victim === undefined || e.usedAt < victim.usedAt) victim = e;
    }
    victim ??= this.entries.values().next().value;
    if (victim !== undefined) this.remove(victim, 'neigh-resolution-failed');
  }

  private enter(e: Entry<A, I>, state: NeighborState): void {
    // Solicitation counts belong to INCOMPLETE and PROBE; the callers entering those set them.
    if (state === 'REACHABLE' || state === 'STALE' || state === 'DELAY') e.probes = 0;
    e.state = state;
    e.updatedAt = this.scheduler.now();
  }

  private reachableTime(): number {
    return this.params.reachableTimeMs * (0.5 + this.random.nextFloat());
  }

  private arm(e: Entry<A, I>, delayMs: number | undefined): void {
    if (e.timer !== undefined) this.scheduler.clearTimer(e.timer);
    e.timer = delayMs === undefined ? undefined : this.scheduler.setTimer(() => this.expire(e), delayMs);
  }

  private expire(e: Entry<A, I>): void {
    e.timer = undefined;
    switch (e.state) {
      case 'INCOMPLETE':
        if (e.probes >= this.params.maxMulticastSolicit) {
          this.remove(e, 'neigh-resolution-failed');
          return;
        }
        e.probes++;
        this.prober.solicit(e.address, undefined);
        this.arm(e, this.params.retransTimerMs);
        return;
      case 'REACHABLE':
        this.enter(e, 'STALE');
        this.arm(e, this.params.staleGcMs);
        return;
      case 'STALE':
        // Garbage collection of an entry nobody used for staleGcMs.
        if (this.scheduler.now() - e.usedAt >= this.params.staleGcMs) this.remove(e, 'neigh-resolution-failed');
        else this.arm(e, this.params.staleGcMs - (this.scheduler.now() - e.usedAt));
        return;
      case 'DELAY':
        this.enter(e, 'PROBE');
        e.probes = 1;
        this.prober.solicit(e.address, e.mac);
        this.arm(e, this.params.retransTimerMs);
        return;
      case 'PROBE':
        if (e.probes >= this.params.maxUnicastSolicit) {
          this.remove(e, 'neigh-resolution-failed');
          return;
        }
        e.probes++;
        this.prober.solicit(e.address, e.mac);
        this.arm(e, this.params.retransTimerMs);
        return;
    }
  }

  private flushQueue(e: Entry<A, I>): void {
    const mac = e.mac;
    if (mac === undefined) return;
    const queued = e.queue;
    e.queue = [];
    for (const q of queued) {
      q.frame.set(mac, 0);
      this.prober.transmit(q.frame, q.info);
    }
  }

  private remove(e: Entry<A, I>, reason: 'neigh-resolution-failed'): void {
    this.arm(e, undefined);
    this.entries.delete(this.keyOf(e.address));
    for (const q of e.queue) this.prober.dropped(reason, q.frame);
    e.queue = [];
  }
}

function sameMac(a: MacAddress, b: MacAddress): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}
