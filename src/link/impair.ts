/**
 * Network impairment as a `Link` wrapper (Linux netem and tbf, smoltcp `FaultInjector`):
 * loss, duplication, reordering, delay with jitter, bit corruption and a token-bucket rate
 * limit, on received frames, sent frames or both. Seeded, and timed through an injected
 * scheduler, so a unit test replays the same run from the same seed in simulated time.
 *
 * Each frame meets the effects in netem's order: loss, duplication (the copy goes through the
 * rest on its own), corruption, the rate limit, then delay. Delay and jitter never reorder
 * frames (a frame leaves no earlier than the one before it, like netem over a FIFO); only the
 * `reorder` effect does, by holding a frame back `reorderDelayMs` while later frames pass.
 * Frames that need no waiting pass straight through inside the current batch.
 */
import type { Scheduler, TimerHandle } from '../wire/clock.js';
import { DropCounters } from '../wire/drop-reason.js';
import { SeededRandom } from '../wire/random.js';
import type { VnetHeader } from '../wire/vnet.js';
import type { Link, LinkCapabilities, LinkReceiver, LinkStats } from './link.js';

export type ImpairDirection = 'rx' | 'tx' | 'both';

export interface ImpairConfig {
  /** Probability that a frame is dropped. */
  readonly loss?: number;
  /** Probability that a frame is sent twice. */
  readonly duplicate?: number;
  /** Probability that a frame is held back `reorderDelayMs` while later frames overtake it. */
  readonly reorder?: number;
  /** How long a reordered frame is held back. Default 5 ms. */
  readonly reorderDelayMs?: number;
  /** Probability that one bit of a frame (after the Ethernet header) is flipped. */
  readonly corrupt?: number;
  /** Fixed one-way delay added to every frame. */
  readonly delayMs?: number;
  /** Uniform jitter: each frame's delay varies in [delay - jitter, delay + jitter] (never below 0). */
  readonly jitterMs?: number;
  /** Rate limit in bits per second (frame bytes, Ethernet header included). Unset or 0: unlimited. */
  readonly rateBitsPerSecond?: number;
  /** Token-bucket depth in bytes. Default: two full-size frames or 1 ms at the rate, whichever is larger. */
  readonly burstBytes?: number;
  /** Bytes that may wait for tokens; beyond that frames are dropped (0: drop all excess, a policer). Default 128 KiB. */
  readonly queueBytes?: number;
  /** Seed of the random generator. Default 1. */
  readonly seed?: number;
  /** Which frames are impaired. Default 'both'. */
  readonly direction?: ImpairDirection;
}

/** What the impairment did, per direction. */
export interface ImpairCounters {
  /** Frames that entered the impairment in this direction. */
  frames: number;
  /** Frames that left it (duplicates included). */
  passed: number;
  lost: number;
  duplicated: number;
  corrupted: number;
  reordered: number;
  /** Frames that waited (delay, jitter, reorder hold or rate queue) before leaving. */
  delayed: number;
  /** Frames that waited in the rate limiter's queue. */
  rateQueued: number;
  rateDropped: number;
  /** Frames still waiting when the link was closed. */
  discardedOnClose: number;
}

export interface ImpairStats {
  readonly rx: ImpairCounters;
  readonly tx: ImpairCounters;
}

export const ERR_CHIMNEY_BAD_IMPAIR_SPEC = 'ERR_CHIMNEY_BAD_IMPAIR_SPEC';

/** A bad impairment specification or configuration; `part` is the offending piece of the spec string. */
export class ImpairSpecError extends Error {
  readonly code = ERR_CHIMNEY_BAD_IMPAIR_SPEC;
  readonly part: string | undefined;

  constructor(message: string, part?: string) {
    super(message);
    this.name = 'ImpairSpecError';
    this.part = part;
  }
}

const DEFAULT_REORDER_DELAY_MS = 5;
const DEFAULT_QUEUE_BYTES = 128 * 1024;
const DEFAULT_SEED = 1;
/** A full-size Ethernet frame (1500-byte MTU plus the 14-byte header). */
const FULL_FRAME_BYTES = 1514;
const ETH_HEADER_LEN = 14;

function newCounters(): ImpairCounters {
  return { frames: 0, passed: 0, lost: 0, duplicated: 0, corrupted: 0, reordered: 0, delayed: 0, rateQueued: 0, rateDropped: 0, discardedOnClose: 0 };
}

/**
 * Parses a CLI impairment spec such as `loss=0.01,dup=0.001,reorder=0.02,corrupt=0.001,seed=7,
 * delay=5ms,jitter=1ms,rate=100mbit,dir=rx`. Keys: loss, dup (or duplicate), reorder,
 * reorder-delay, corrupt (probabilities in [0, 1], or percentages such as `2%`); delay, jitter,
 * reorder-delay (durations with ns, us, ms or s; a bare number is milliseconds); rate (bits per
 * second with bit, kbit, mbit, gbit or tbit, as tc writes them; a bare number is bit/s); burst,
 * queue (bytes with b, k/kb/kib, m/mb/mib; a bare number is bytes); seed (an unsigned 32-bit
 * integer); dir (rx, tx or both). Throws `ImpairSpecError` (code ERR_CHIMNEY_BAD_IMPAIR_SPEC)
 * naming the bad part.
 */
export function parseImpairSpec(spec: string): ImpairConfig {
  const config: { -readonly [K in keyof ImpairConfig]: ImpairConfig[K] } = {};
  const seen = new Set<string>();
  if (spec.trim() === '') return config;
  for (const rawPart of spec.split(',')) {
    const part = rawPart.trim();
    if (part === '') throw new ImpairSpecError(`impairment spec ${JSON.stringify(spec)} has an empty item`, rawPart);
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ImpairSpecError(`impairment spec item ${JSON.stringify(part)} is not key=value`, part);
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    const canonical = key === 'duplicate' ? 'dup' : key;
    if (seen.has(canonical)) throw new ImpairSpecError(`impairment spec gives ${JSON.stringify(key)} twice`, part);
    seen.add(canonical);
    switch (canonical) {
      case 'loss':
        config.loss = parseProbability(value, part);
        break;
      case 'dup':
        config.duplicate = parseProbability(value, part);
        break;
      case 'reorder':
        config.reorder = parseProbability(value, part);
        break;
      case 'corrupt':
        config.corrupt = parseProbability(value, part);
        break;
      case 'delay':
        config.delayMs = parseDuration(value, part);
        break;
      case 'jitter':
        config.jitterMs = parseDuration(value, part);
        break;
      case 'reorder-delay':
        config.reorderDelayMs = parseDuration(value, part);
        break;
      case 'rate':
        config.rateBitsPerSecond = parseRate(value, part);
        break;
      case 'burst':
        config.burstBytes = parseBytes(value, part);
        break;
      case 'queue':
        config.queueBytes = parseBytes(value, part);
        break;
      case 'seed': {
        if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) {
          throw new ImpairSpecError(`impairment seed must be an integer in [0, 4294967295], got ${JSON.stringify(value)}`, part);
        }
        config.seed = Number(value);
        break;
      }
      case 'dir': {
        const dir = value.toLowerCase();
        if (dir !== 'rx' && dir !== 'tx' && dir !== 'both') {
          throw new ImpairSpecError(`impairment dir must be rx, tx or both, got ${JSON.stringify(value)}`, part);
        }
        config.direction = dir;
        break;
      }
      default:
        throw new ImpairSpecError(
          `unknown impairment key ${JSON.stringify(key)} (known: loss, dup, reorder, reorder-delay, corrupt, delay, jitter, rate, burst, queue, seed, dir)`,
          part,
        );
    }
  }
  return config;
}

function parseProbability(value: string, part: string): number {
  const m = /^(\d+(?:\.\d*)?|\.\d+)(%?)$/.exec(value);
  const p = m === null ? NaN : Number(m[1]) / (m[2] === '%' ? 100 : 1);
  if (!(p >= 0 && p <= 1)) throw new ImpairSpecError(`impairment ${part.split('=')[0]} must be a probability in [0, 1] or a percentage, got ${JSON.stringify(value)}`, part);
  return p;
}

const DURATION_UNITS: Record<string, number> = { '': 1, ns: 1e-6, us: 1e-3, ms: 1, s: 1000 };

function parseDuration(value: string, part: string): number {
  const m = /^(\d+(?:\.\d*)?|\.\d+)([a-z]*)$/i.exec(value);
  const unit = m === null ? undefined : DURATION_UNITS[(m[2] ?? '').toLowerCase()];
  if (m === null || unit === undefined) {
    throw new ImpairSpecError(`impairment ${part.split('=')[0]} must be a duration such as 5ms, 200us or 1s, got ${JSON.stringify(value)}`, part);
  }
  return Number(m[1]) * unit;
}

/** tc(8) units: "bit" suffixes are bits per second with SI prefixes. tc's "bps" means bytes, which misleads, so it is refused. */
const RATE_UNITS: Record<string, number> = { '': 1, bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12 };

function parseRate(value: string, part: string): number {
  const m = /^(\d+(?:\.\d*)?|\.\d+)([a-z]*)$/i.exec(value);
  const unitName = (m?.[2] ?? '').toLowerCase();
  const unit = RATE_UNITS[unitName];
  if (m === null || unit === undefined) {
    const hint = /bps$/.test(unitName) ? ' (write bits per second as kbit, mbit or gbit; tc reads "bps" as bytes)' : '';
    throw new ImpairSpecError(`impairment rate must be a bit rate such as 100mbit, got ${JSON.stringify(value)}${hint}`, part);
  }
  const rate = Number(m[1]) * unit;
  if (!(rate > 0)) throw new ImpairSpecError(`impairment rate must be greater than 0, got ${JSON.stringify(value)}`, part);
  return rate;
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1 << 20, mb: 1 << 20, mib: 1 << 20 };

function parseBytes(value: string, part: string): number {
  const m = /^(\d+(?:\.\d*)?|\.\d+)([a-z]*)$/i.exec(value);
  const unit = m === null ? undefined : BYTE_UNITS[(m[2] ?? '').toLowerCase()];
  if (m === null || unit === undefined) {
    throw new ImpairSpecError(`impairment ${part.split('=')[0]} must be a size such as 1500, 64kb or 1mb, got ${JSON.stringify(value)}`, part);
  }
  return Math.round(Number(m[1]) * unit);
}

/** Checks a configuration given as an object; throws `ImpairSpecError` naming the bad field. */
export function validateImpairConfig(config: ImpairConfig): void {
  for (const key of ['loss', 'duplicate', 'reorder', 'corrupt'] as const) {
    const v = config[key];
    if (v !== undefined && !(v >= 0 && v <= 1)) throw new ImpairSpecError(`ImpairConfig.${key} must be a probability in [0, 1], got ${v}`);
  }
  for (const key of ['delayMs', 'jitterMs', 'reorderDelayMs', 'rateBitsPerSecond', 'burstBytes', 'queueBytes'] as const) {
    const v = config[key];
    if (v !== undefined && !(v >= 0 && Number.isFinite(v))) throw new ImpairSpecError(`ImpairConfig.${key} must be a finite number >= 0, got ${v}`);
  }
  const seed = config.seed;
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) {
    throw new ImpairSpecError(`ImpairConfig.seed must be an unsigned 32-bit integer, got ${seed}`);
  }
  const dir = config.direction;
  if (dir !== undefined && dir !== 'rx' && dir !== 'tx' && dir !== 'both') throw new ImpairSpecError(`ImpairConfig.direction must be rx, tx or both, got ${String(dir)}`);
}

interface Held {
  readonly at: number;
  readonly order: number;
  readonly frame: Uint8Array;
  readonly vnet: VnetHeader | undefined;
}

/** One direction's pipeline state: the token bucket and the frames waiting to leave. */
class Stage {
  readonly counters = newCounters();
  /** Time the last non-reordered frame leaves: later frames never leave before it. */
  lastRelease = -Infinity;
  /** Token bucket, in bytes, as of `tokensAt`; may go negative after a frame larger than the bucket. */
  tokens: number;
  tokensAt = -Infinity;
  /** Departure times and sizes of frames still in the rate queue, oldest first. */
  readonly rateQueue: { at: number; size: number }[] = [];
  rateQueueBytes = 0;
  /** Waiting frames, ordered by (at, order). */
  held: Held[] = [];
  timer: TimerHandle | undefined;

  constructor(burst: number) {
    this.tokens = burst;
  }
}

/**
 * Wraps a link and impairs the frames crossing it. `stats`, `capabilities`, `name` and `mtu`
 * are the wrapped link's; what the impairment did is in `impairStats` and `drops`.
 */
export class ImpairLink implements Link {
  /** The configuration with every default filled in. */
  readonly config: Readonly<Required<ImpairConfig>>;
  readonly impairStats: ImpairStats;
  /** Frames removed by the impairment, by reason: impair-loss, impair-rate-limit. */
  readonly drops = new DropCounters();

  private readonly inner: Link;
  private readonly scheduler: Scheduler;
  private readonly random: SeededRandom;
  private readonly rx: Stage;
  private readonly tx: Stage;
  private receiver: LinkReceiver | undefined;
  /** Frames handed to the receiver in the current inner batch (an empty batch is not forwarded). */
  private rxPassedInBatch = 0;
  private order = 0;
  private closed: Promise<void> | undefined;

  constructor(inner: Link, scheduler: Scheduler, config: ImpairConfig = {}) {
    validateImpairConfig(config);
    const rate = config.rateBitsPerSecond ?? 0;
    this.config = Object.freeze({
      loss: config.loss ?? 0,
      duplicate: config.duplicate ?? 0,
      reorder: config.reorder ?? 0,
      reorderDelayMs: config.reorderDelayMs ?? DEFAULT_REORDER_DELAY_MS,
      corrupt: config.corrupt ?? 0,
      delayMs: config.delayMs ?? 0,
      jitterMs: config.jitterMs ?? 0,
      rateBitsPerSecond: rate,
      burstBytes: config.burstBytes ?? Math.max(2 * FULL_FRAME_BYTES, Math.ceil(rate / 8 / 1000)),
      queueBytes: config.queueBytes ?? DEFAULT_QUEUE_BYTES,
      seed: config.seed ?? DEFAULT_SEED,
      direction: config.direction ?? 'both',
    });
    this.inner = inner;
    this.scheduler = scheduler;
    this.random = new SeededRandom(this.config.seed);
    this.rx = new Stage(this.config.burstBytes);
    this.tx = new Stage(this.config.burstBytes);
    this.impairStats = { rx: this.rx.counters, tx: this.tx.counters };
  }

  get name(): string {
    return this.inner.name;
  }
  get mtu(): number {
    return this.inner.mtu;
  }
  get capabilities(): LinkCapabilities {
    return this.inner.capabilities;
  }
  get stats(): LinkStats {
    return this.inner.stats;
  }

  setReceiver(receiver: LinkReceiver): void {
    this.receiver = receiver;
    const impairRx = this.config.direction !== 'tx';
    this.inner.setReceiver({
      onFrame: (frame, vnet) => {
        if (!impairRx) {
          this.rxPassedInBatch++;
          this.receiver?.onFrame(frame, vnet);
          return;
        }
        this.process(this.rx, frame, vnet, (f, v) => {
          this.rxPassedInBatch++;
          this.receiver?.onFrame(f, v);
        });
      },
      onBatchEnd: () => {
        if (this.rxPassedInBatch === 0) return;
        this.rxPassedInBatch = 0;
        this.receiver?.onBatchEnd();
      },
    });
  }

  /** Only when transmitted frames pass untouched: an impaired one may be held past the lend. */
  lendTx(length: number): Uint8Array | undefined {
    return this.closed !== undefined || this.config.direction === 'rx' ? this.inner.lendTx?.(length) : undefined;
  }

  send(frame: Uint8Array, vnet?: VnetHeader): void {
    if (this.closed !== undefined || this.config.direction === 'rx') {
      this.inner.send(frame, vnet);
      return;
    }
    this.process(this.tx, frame, vnet, (f, v) => this.inner.send(f, v));
  }

  flush(): void {
    this.inner.flush();
  }

  /** Discards waiting frames (counted in `discardedOnClose`) and closes the wrapped link. Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      for (const stage of [this.rx, this.tx]) {
        if (stage.timer !== undefined) this.scheduler.clearTimer(stage.timer);
        stage.timer = undefined;
        stage.counters.discardedOnClose += stage.held.length;
        stage.held = [];
      }
      await this.inner.close();
    })();
    return this.closed;
  }

  /** Runs one frame through loss, duplication, corruption, rate limit and delay; `pass` receives what leaves now. */
  private process(stage: Stage, frame: Uint8Array, vnet: VnetHeader | undefined, pass: (frame: Uint8Array, vnet: VnetHeader | undefined) => void): void {
    const c = stage.counters;
    const cfg = this.config;
    c.frames++;
    if (cfg.loss > 0 && this.random.nextFloat() < cfg.loss) {
      c.lost++;
      this.drops.count('impair-loss');
      return;
    }
    let copies = 1;
    if (cfg.duplicate > 0 && this.random.nextFloat() < cfg.duplicate) {
      c.duplicated++;
      copies = 2;
    }
    for (let i = 0; i < copies; i++) {
      let out = frame;
      if (cfg.corrupt > 0 && this.random.nextFloat() < cfg.corrupt && frame.length > ETH_HEADER_LEN) {
        // netem corrupts one random bit; keeping the Ethernet header intact keeps the frame
        // addressed to us, so the damage reaches the checksums that must catch it.
        out = frame.slice();
        const at = ETH_HEADER_LEN + Math.floor(this.random.nextFloat() * (frame.length - ETH_HEADER_LEN));
        out[at] = (out[at] as number) ^ (1 << Math.floor(this.random.nextFloat() * 8));
        c.corrupted++;
      }
      const now = this.scheduler.now();
      const departs = this.rateLimit(stage, out.length, now);
      if (departs === undefined) {
        c.rateDropped++;
        this.drops.count('impair-rate-limit');
        continue;
      }
      let at = departs;
      if (cfg.delayMs > 0 || cfg.jitterMs > 0) {
        // Uniform in [-jitter, +jitter], netem's distribution when no table is given (tabledist).
        const jitter = cfg.jitterMs > 0 ? (this.random.nextFloat() * 2 - 1) * cfg.jitterMs : 0;
        at += Math.max(0, cfg.delayMs + jitter);
      }
      if (cfg.reorder > 0 && this.random.nextFloat() < cfg.reorder) {
        c.reordered++;
        at += cfg.reorderDelayMs;
      } else {
        at = Math.max(at, stage.lastRelease);
        stage.lastRelease = at;
      }
      if (at <= now && !this.waitingBefore(stage, at)) {
        // Due now, and no held frame is due as early (one may be late if its timer has not run yet).
        c.passed++;
        pass(out, vnet);
      } else {
        c.delayed++;
        this.hold(stage, at, out === frame ? frame.slice() : out, vnet);
      }
    }
  }

  /** Whether a held frame is due no later than `at` (it must leave first). */
  private waitingBefore(stage: Stage, at: number): boolean {
    const head = stage.held[0];
    return head !== undefined && head.at <= at;
  }

  /**
   * Token bucket with a FIFO queue (tbf): returns when a frame of `size` bytes arriving at
   * `now` leaves the limiter, or undefined if the queue has no room. A frame larger than the
   * bucket leaves when the bucket is full and drives it negative, so any frame can pass and
   * the long-run rate still holds.
   */
  private rateLimit(stage: Stage, size: number, now: number): number | undefined {
    const rate = this.config.rateBitsPerSecond;
    if (rate <= 0) return now;
    const bytesPerMs = rate / 8 / 1000;
    const burst = this.config.burstBytes;
    while (stage.rateQueue.length > 0 && (stage.rateQueue[0] as { at: number }).at <= now) {
      stage.rateQueueBytes -= (stage.rateQueue.shift() as { size: number }).size;
    }
    const start = Math.max(now, stage.tokensAt);
    const tokens = stage.tokensAt === -Infinity ? burst : Math.min(burst, stage.tokens + (start - stage.tokensAt) * bytesPerMs);
    const need = Math.min(size, burst);
    const departs = tokens >= need ? start : start + (need - tokens) / bytesPerMs;
    if (departs > now) {
      if (stage.rateQueueBytes + size > this.config.queueBytes) return undefined;
      stage.rateQueue.push({ at: departs, size });
      stage.rateQueueBytes += size;
      stage.counters.rateQueued++;
    }
    stage.tokens = (tokens >= need ? tokens : need) - size;
    stage.tokensAt = departs;
    return departs;
  }

  private hold(stage: Stage, at: number, frame: Uint8Array, vnet: VnetHeader | undefined): void {
    const held: Held = { at, order: this.order++, frame, vnet: vnet === undefined ? undefined : { ...vnet } };
    // Insert in (at, order) order; most frames go to the end.
    let i = stage.held.length;
    while (i > 0 && (stage.held[i - 1] as Held).at > at) i--;
    stage.held.splice(i, 0, held);
    this.arm(stage);
  }

  private arm(stage: Stage): void {
    if (stage.timer !== undefined) this.scheduler.clearTimer(stage.timer);
    stage.timer = undefined;
    const head = stage.held[0];
    if (head === undefined) return;
    stage.timer = this.scheduler.setTimer(() => {
      stage.timer = undefined;
      this.release(stage);
    }, head.at - this.scheduler.now());
  }

  /** Lets every frame that is due leave, as one batch. */
  private release(stage: Stage): void {
    const now = this.scheduler.now();
    let n = 0;
    while (n < stage.held.length && (stage.held[n] as Held).at <= now) n++;
    const due = stage.held.splice(0, n);
    stage.counters.passed += due.length;
    if (stage === this.rx) {
      const receiver = this.receiver;
      if (receiver !== undefined && due.length > 0) {
        for (const h of due) receiver.onFrame(h.frame, h.vnet);
        receiver.onBatchEnd();
      }
    } else {
      for (const h of due) this.inner.send(h.frame, h.vnet);
      if (due.length > 0) this.inner.flush();
    }
    this.arm(stage);
  }
}
