/**
 * Time, injected. Every layer reads time through a `Clock` and arms timers through a
 * `Scheduler`, so unit tests run simulated time and integration tests run real time with the
 * same code (DESIGN.md "One clock"). Times are milliseconds as fractional numbers.
 *
 * This file sits in `wire/` only because `wire/` is the one module every layer may import;
 * it holds no I/O (the real scheduler uses the global timer functions every JS runtime has).
 */

export interface Clock {
  /** Monotonic milliseconds (fractional). */
  now(): number;
}

export interface TimerHandle {
  readonly __timer: true;
}

export interface Scheduler extends Clock {
  /** Runs `fn` once, `delayMs` from now. */
  setTimer(fn: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** Real time: `performance.now()` and the global timers. Timers are unref'd: they never keep a process alive on their own. */
export class RealScheduler implements Scheduler {
  now(): number {
    return performance.now();
  }

  setTimer(fn: () => void, delayMs: number): TimerHandle {
    const t = setTimeout(fn, Math.max(0, delayMs)) as unknown as { unref?: () => void };
    t.unref?.();
    return t as unknown as TimerHandle;
  }

  clearTimer(handle: TimerHandle): void {
    clearTimeout(handle as unknown as Parameters<typeof clearTimeout>[0]);
  }
}

interface SimTimer extends TimerHandle {
  at: number;
  seq: number;
  fn: (() => void) | undefined;
}

/**
 * Simulated time for unit tests: time moves only when the test advances it, and due timers
 * run in deadline order (ties in the order they were armed).
 */
export class SimScheduler implements Scheduler {
  private time: number;
  private timers: SimTimer[] = [];
  private counter = 0;

  constructor(startMs = 0) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  setTimer(fn: () => void, delayMs: number): TimerHandle {
    const t: SimTimer = { __timer: true, at: this.time + Math.max(0, delayMs), seq: this.counter++, fn };
    this.timers.push(t);
    return t;
  }

  clearTimer(handle: TimerHandle): void {
    (handle as SimTimer).fn = undefined;
  }

  /** The deadline of the earliest pending timer, or undefined. */
  nextDeadline(): number | undefined {
    let best: number | undefined;
    for (const t of this.timers) if (t.fn !== undefined && (best === undefined || t.at < best)) best = t.at;
    return best;
  }

  /** Advances time by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    this.runUntil(this.time + ms);
  }

  /** Runs timers in deadline order until `until`, then sets the time to `until`. */
  runUntil(until: number): void {
    for (;;) {
      let next: SimTimer | undefined;
      for (const t of this.timers) {
        if (t.fn === undefined || t.at > until) continue;
        if (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq)) next = t;
      }
      if (next === undefined) break;
      this.time = Math.max(this.time, next.at);
      const fn = next.fn;
      next.fn = undefined;
      fn?.();
      this.timers = this.timers.filter((t) => t.fn !== undefined);
    }
    this.time = Math.max(this.time, until);
  }
}
