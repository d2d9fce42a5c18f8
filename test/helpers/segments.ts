/**
 * Test harnesses for the TCP engine, in simulated time (SimScheduler as the clock):
 *
 * - `EngineHarness`: one engine driven segment by segment, smoltcp style. `send(seg)` feeds a
 *   segment (then polls, like the host after a batch), `expect(fields)` checks the next
 *   transmitted segment, `expectNothing(untilMs)` runs the engine's timers up to a time and
 *   checks that nothing was sent. Named templates (`SYN`, `ACK`, `DATA`, ...) build segments.
 * - `Wire`: two engines back to back over a simulated path with seeded loss, reordering,
 *   duplication, latency and an optional bottleneck, with applications that write a
 *   deterministic byte stream and verify it byte by byte on the other side. Either engine can
 *   be exported and re-imported mid-stream (`migrate`), as a chimney offload or upload does.
 */
import { expect as vexpect } from 'vitest';
import { SimScheduler } from '../../src/wire/clock.js';
import { SeededRandom, type Random } from '../../src/wire/random.js';
import { seq, seqAdd, type Seq } from '../../src/wire/seq.js';
import {
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  formatTcpFlags,
  type TcpOptions,
  type TcpRepr,
  type TcpSackBlock,
} from '../../src/wire/tcp.js';
import { TcpConnection } from '../../src/tcp/connection.js';
import { DEFAULT_TCP_CONFIG, type TcpConfig, type TcpEvent, type TcpHooks, type TcpInputVerdict, type TcpSegmentOut } from '../../src/tcp/types.js';

export { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN };

export const LOCAL_PORT = 49152;
export const REMOTE_PORT = 80;

/** A segment as a test writes it: sequence numbers as plain numbers, payload as bytes or a length. */
export interface SegSpec {
  readonly seq: number;
  readonly ack?: number;
  readonly flags: number;
  readonly window?: number;
  readonly options?: TcpOptions;
  readonly payload?: Uint8Array | number;
}

/** A transmitted segment, copied out of the engine's reused object. */
export interface Captured {
  readonly at: number;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seqNumber: Seq;
  readonly ackNumber: Seq;
  readonly flags: number;
  readonly windowLen: number;
  readonly options: TcpOptions;
  readonly payload: Uint8Array;
  readonly gsoSize: number;
}

/** Deterministic stream content: the byte at stream offset i. */
export function streamByte(i: number): number {
  return (Math.imul(i + 0x9e37, 0x2545f491) >>> 23) & 0xff;
}

export function streamBytes(offset: number, length: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = streamByte(offset + i);
  return b;
}

function copyOptions(o: TcpOptions): TcpOptions {
  return {
    mss: o.mss,
    windowScale: o.windowScale,
    sackPermitted: o.sackPermitted,
    sackBlocks: o.sackBlocks?.map((b) => ({ left: b.left, right: b.right })),
    timestamps: o.timestamps ? { tsVal: o.timestamps.tsVal, tsEcr: o.timestamps.tsEcr } : undefined,
  };
}

export function capture(seg: TcpSegmentOut, at: number): Captured {
  const payload = new Uint8Array(seg.payloadLength);
  seg.copyPayload(payload, 0);
  return {
    at,
    srcPort: seg.srcPort,
    dstPort: seg.dstPort,
    seqNumber: seg.seqNumber,
    ackNumber: seg.ackNumber,
    flags: seg.flags,
    windowLen: seg.windowLen,
    options: copyOptions(seg.options),
    payload,
    gsoSize: seg.gsoSize,
  };
}

export function describeSegment(s: { seqNumber: number; ackNumber: number; flags: number; windowLen: number; payload: Uint8Array }): string {
  return `[${formatTcpFlags(s.flags)}] ${s.seqNumber}:${(s.seqNumber + s.payload.length) >>> 0}(${s.payload.length}) ack ${s.ackNumber} win ${s.windowLen}`;
}

// ------------------------------------------------------------------------------------------
// Templates (the segments a test sends)
// ------------------------------------------------------------------------------------------

export const SYN = (seqNumber: number, options: TcpOptions = {}, window = 65535): SegSpec => ({ seq: seqNumber, flags: TCP_SYN, options, window });
export const SYN_ACK = (seqNumber: number, ack: number, options: TcpOptions = {}, window = 65535): SegSpec => ({
  seq: seqNumber,
  ack,
  flags: TCP_SYN | TCP_ACK,
  options,
  window,
});
export const ACK = (seqNumber: number, ack: number, more: Partial<SegSpec> = {}): SegSpec => ({ seq: seqNumber, ack, flags: TCP_ACK, ...more });
export const DATA = (seqNumber: number, ack: number, payload: Uint8Array | number, more: Partial<SegSpec> = {}): SegSpec => ({
  seq: seqNumber,
  ack,
  flags: TCP_ACK | TCP_PSH,
  payload,
  ...more,
});
export const FIN = (seqNumber: number, ack: number, more: Partial<SegSpec> = {}): SegSpec => ({ seq: seqNumber, ack, flags: TCP_FIN | TCP_ACK, ...more });
export const RST = (seqNumber: number, more: Partial<SegSpec> = {}): SegSpec => ({ seq: seqNumber, flags: TCP_RST, ...more });
export const RST_ACK = (seqNumber: number, ack: number): SegSpec => ({ seq: seqNumber, ack, flags: TCP_RST | TCP_ACK });

/** Options of a Linux-like SYN: MSS 1460, SACK-permitted, timestamps, window scale 7. */
export const LINUX_SYN_OPTIONS = (tsVal = 1000): TcpOptions => ({
  mss: 1460,
  sackPermitted: true,
  timestamps: { tsVal, tsEcr: 0 },
  windowScale: 7,
});

export function toRepr(spec: SegSpec, srcPort = REMOTE_PORT, dstPort = LOCAL_PORT): TcpRepr {
  const payload = typeof spec.payload === 'number' ? streamBytes(0, spec.payload) : (spec.payload ?? new Uint8Array(0));
  return {
    srcPort,
    dstPort,
    seqNumber: seq(spec.seq),
    ackNumber: seq(spec.ack ?? 0),
    flags: spec.flags,
    windowLen: spec.window ?? 65535,
    urgentPointer: 0,
    options: spec.options ?? {},
    payload,
  };
}

// ------------------------------------------------------------------------------------------
// One engine, scripted
// ------------------------------------------------------------------------------------------

export interface HarnessOptions {
  config?: Partial<TcpConfig>;
  iss?: number;
  startMs?: number;
  seed?: number;
}

export class EngineHarness {
  readonly clock: SimScheduler;
  readonly random: Random;
  readonly config: TcpConfig;
  readonly sent: Captured[] = [];
  readonly events: TcpEvent[] = [];
  readonly hooks: TcpHooks;
  conn!: TcpConnection;
  readonly iss: Seq;

  private constructor(o: HarnessOptions) {
    this.clock = new SimScheduler(o.startMs ?? 1_000_000);
    this.random = new SeededRandom(o.seed ?? 1);
    this.config = { ...DEFAULT_TCP_CONFIG, ...o.config };
    this.iss = seq(o.iss ?? 1000);
    this.hooks = {
      clock: this.clock,
      transmit: (s) => this.sent.push(capture(s, this.clock.now())),
      event: (e) => this.events.push(e),
    };
  }

  /** An engine after connect(): nothing sent until the first poll. */
  static connect(o: HarnessOptions = {}): EngineHarness {
    const h = new EngineHarness(o);
    h.conn = TcpConnection.connect({ config: h.config, hooks: h.hooks, random: h.random, localPort: LOCAL_PORT, remotePort: REMOTE_PORT, iss: h.iss });
    return h;
  }

  /** An engine after accept() of `syn`. */
  static accept(syn: SegSpec, o: HarnessOptions = {}): EngineHarness {
    const h = new EngineHarness(o);
    h.conn = TcpConnection.accept({
      config: h.config,
      hooks: h.hooks,
      random: h.random,
      localPort: LOCAL_PORT,
      remotePort: REMOTE_PORT,
      iss: h.iss,
      syn: toRepr(syn),
    });
    return h;
  }

  /**
   * An ESTABLISHED connection by an active open: our SYN, the peer's SYN-ACK (peer ISN
   * `peerIss`, options `peerOptions`), our ACK. The captured segments and events are cleared.
   */
  static established(o: HarnessOptions & { peerIss?: number; peerOptions?: TcpOptions; peerWindow?: number } = {}): EngineHarness {
    const h = EngineHarness.connect(o);
    h.conn.poll();
    const syn = h.expect({ flags: TCP_SYN });
    const peerIss = o.peerIss ?? 5000;
    const ts = syn.options.timestamps;
    const peerOptions = o.peerOptions ?? { mss: 1460 };
    const withEcho: TcpOptions = peerOptions.timestamps && ts ? { ...peerOptions, timestamps: { tsVal: peerOptions.timestamps.tsVal, tsEcr: ts.tsVal } } : peerOptions;
    h.send(SYN_ACK(peerIss, h.iss + 1, withEcho, o.peerWindow ?? 65535));
    h.expect({ flags: TCP_ACK, seq: h.iss + 1, ack: peerIss + 1 });
    h.sent.length = 0;
    h.events.length = 0;
    return h;
  }

  get now(): number {
    return this.clock.now();
  }

  /** Feeds one segment; by default polls afterwards, as the host does after a batch. */
  send(spec: SegSpec, poll = true): TcpInputVerdict {
    const v = this.conn.input(toRepr(spec));
    if (poll) this.conn.poll();
    return v;
  }

  poll(): void {
    this.conn.poll();
  }

  /** Advances simulated time to `t`, firing the engine's timers on the way. */
  runUntil(t: number): void {
    for (;;) {
      const d = this.conn.nextDeadline();
      if (d > t) break;
      this.clock.runUntil(Math.max(d, this.clock.now()));
      this.conn.onTimer();
    }
    this.clock.runUntil(t);
  }

  advance(ms: number): void {
    this.runUntil(this.clock.now() + ms);
  }

  /** Removes and returns the next transmitted segment, checking the given fields. */
  expect(want: { seq?: number; ack?: number; flags?: number; window?: number; len?: number; payload?: Uint8Array; gso?: number } = {}): Captured {
    const s = this.sent.shift();
    if (s === undefined) throw new Error(`expected a segment ${JSON.stringify(want)}, nothing was sent`);
    const what = describeSegment(s);
    if (want.flags !== undefined) vexpect(formatTcpFlags(s.flags), what).toBe(formatTcpFlags(want.flags));
    if (want.seq !== undefined) vexpect(s.seqNumber, what).toBe(seq(want.seq));
    if (want.ack !== undefined) vexpect(s.ackNumber, what).toBe(seq(want.ack));
    if (want.window !== undefined) vexpect(s.windowLen, what).toBe(want.window);
    if (want.len !== undefined) vexpect(s.payload.length, what).toBe(want.len);
    if (want.payload !== undefined) vexpect(Array.from(s.payload), what).toEqual(Array.from(want.payload));
    if (want.gso !== undefined) vexpect(s.gsoSize, what).toBe(want.gso);
    return s;
  }

  /** Runs timers until `untilMs` (default: now) and checks that nothing was transmitted. */
  expectNothing(untilMs = this.clock.now()): void {
    this.runUntil(untilMs);
    if (this.sent.length > 0) throw new Error(`expected nothing, got ${this.sent.map(describeSegment).join(', ')}`);
  }

  /** Runs timers until a segment goes out (at most `limitMs` from now) and returns it. */
  nextSegmentWithin(limitMs: number): Captured {
    const until = this.clock.now() + limitMs;
    while (this.sent.length === 0) {
      const d = this.conn.nextDeadline();
      if (d > until) throw new Error(`no segment within ${limitMs} ms`);
      this.runUntil(d);
    }
    return this.sent.shift() as Captured;
  }

  eventTypes(): string[] {
    return this.events.filter((e) => e.type !== 'state').map((e) => (e.type === 'error' ? `error:${e.code}` : e.type));
  }

  states(): string[] {
    return this.events.flatMap((e) => (e.type === 'state' ? [e.to] : []));
  }

  readAll(): Uint8Array {
    const parts: Uint8Array[] = [];
    for (;;) {
      const v = this.conn.read();
      if (v === undefined) break;
      parts.push(v.slice());
    }
    const n = parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

// ------------------------------------------------------------------------------------------
// Two engines over a simulated path
// ------------------------------------------------------------------------------------------

export interface PathOptions {
  /** One-way latency in ms. */
  delayMs?: number;
  /** Extra uniformly random latency in ms, per segment: reorders segments. */
  jitterMs?: number;
  /** Probability that a segment is lost. */
  loss?: number;
  /** Probability that a segment is duplicated. */
  duplicate?: number;
  /** Probability that a segment is held back `reorderDelayMs` while later ones overtake it (netem reorder). */
  reorder?: number;
  /** How long a reordered segment is held back (default 1 ms). */
  reorderDelayMs?: number;
  /** Bottleneck rate in bytes per ms (0: unlimited); segments queue FIFO behind it. */
  rateBytesPerMs?: number;
  /** Drop-tail limit of the bottleneck queue in bytes. */
  queueLimitBytes?: number;
}

export interface WireOptions {
  seed?: number;
  configA?: Partial<TcpConfig>;
  configB?: Partial<TcpConfig>;
  /** Path from A to B, and from B to A (defaults to the same). */
  pathAB?: PathOptions;
  pathBA?: PathOptions;
  issA?: number;
  issB?: number;
  startMs?: number;
}

interface InFlight {
  at: number;
  order: number;
  to: 'a' | 'b';
  repr: TcpRepr;
}

/** A min-heap of segments in flight, by delivery time then send order. */
class FlightHeap {
  private items: InFlight[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): InFlight | undefined {
    return this.items[0];
  }

  push(x: InFlight): void {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i] as InFlight, a[p] as InFlight)) break;
      [a[i], a[p]] = [a[p] as InFlight, a[i] as InFlight];
      i = p;
    }
  }

  pop(): InFlight | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l] as InFlight, a[m] as InFlight)) m = l;
        if (r < a.length && before(a[r] as InFlight, a[m] as InFlight)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as InFlight, a[i] as InFlight];
        i = m;
      }
    }
    return top;
  }
}

function before(x: InFlight, y: InFlight): boolean {
  return x.at < y.at || (x.at === y.at && x.order < y.order);
}

/** One side of the wire: its engine, its application, what it saw. */
export class Endpoint {
  conn!: TcpConnection;
  readonly events: TcpEvent[] = [];
  readonly hooks: TcpHooks;
  readonly drops = new Map<string, number>();
  /** Bytes this side's application wrote so far, and will write in total. */
  written = 0;
  toWrite = 0;
  /** Bytes this side's application read and verified. */
  received = 0;
  /** Size of each application write. */
  writeChunk = 16 * 1024;
  /** Shut down the write side once everything is written. */
  shutdownWhenDone = false;
  /** Stop reading (the receive window closes). */
  readPaused = false;
  peerFin = false;
  segmentsSent = 0;
  rstSent = 0;
  /** Data segments seen going out (for retransmission accounting). */
  dataSegmentsSent = 0;
  /** Payload bytes sent below the highest sequence number already sent (retransmitted), counted on the wire. */
  retransmittedBytes = 0;
  highestSent: number | undefined;
  /** Highest TSval sent so far, and the number of times TSval went backwards. */
  lastTsVal: number | undefined;
  tsValRegressions = 0;
  errors: string[] = [];
  closed = false;
  /** Out-of-order bytes this side held when it was exported (dropped by design, reference §3.3.2 step 2). */
  droppedOnMigration = 0;

  constructor(
    readonly name: 'a' | 'b',
    readonly config: TcpConfig,
    readonly random: Random,
    transmit: (s: TcpSegmentOut) => void,
    clock: SimScheduler,
  ) {
    this.hooks = {
      clock,
      transmit,
      event: (e) => {
        this.events.push(e);
        if (e.type === 'peer-fin') this.peerFin = true;
        if (e.type === 'error') this.errors.push(e.code);
        if (e.type === 'closed') this.closed = true;
      },
    };
  }
}

export class Wire {
  readonly clock: SimScheduler;
  readonly a: Endpoint;
  readonly b: Endpoint;
  private readonly pathRandom: SeededRandom;
  private readonly heap = new FlightHeap();
  private order = 0;
  private readonly pathAB: Required<PathOptions>;
  private readonly pathBA: Required<PathOptions>;
  private readonly bottleneckFree = { ab: 0, ba: 0 };
  private readonly queued = { ab: [] as Array<{ at: number; bytes: number }>, ba: [] as Array<{ at: number; bytes: number }> };
  /** A test's hook to drop or keep individual segments: return false to drop. */
  filter: ((from: 'a' | 'b', seg: Captured) => boolean) | undefined;
  /** Every segment offered to the path, in order (only when `record` is on). */
  readonly log: Array<{ from: 'a' | 'b'; seg: Captured }> = [];
  record = false;
  migrations = 0;
  /** Segments the path held back to reorder them. */
  reordered = 0;

  constructor(readonly options: WireOptions = {}) {
    const seed = options.seed ?? 7;
    this.clock = new SimScheduler(options.startMs ?? 1_000_000);
    this.pathRandom = new SeededRandom(seed * 31 + 1);
    const full = (p: PathOptions = {}): Required<PathOptions> => ({
      delayMs: p.delayMs ?? 10,
      jitterMs: p.jitterMs ?? 0,
      loss: p.loss ?? 0,
      duplicate: p.duplicate ?? 0,
      reorder: p.reorder ?? 0,
      reorderDelayMs: p.reorderDelayMs ?? 1,
      rateBytesPerMs: p.rateBytesPerMs ?? 0,
      queueLimitBytes: p.queueLimitBytes ?? Infinity,
    });
    this.pathAB = full(options.pathAB);
    this.pathBA = full(options.pathBA ?? options.pathAB);
    const configA = { ...DEFAULT_TCP_CONFIG, ...options.configA };
    const configB = { ...DEFAULT_TCP_CONFIG, ...options.configB };
    this.a = new Endpoint('a', configA, new SeededRandom(seed * 31 + 2), (s) => this.onTransmit('a', s), this.clock);
    this.b = new Endpoint('b', configB, new SeededRandom(seed * 31 + 3), (s) => this.onTransmit('b', s), this.clock);
  }

  get now(): number {
    return this.clock.now();
  }

  /** A connects to B (B accepts the SYN when it arrives) and the handshake runs. */
  connect(): void {
    const a = this.a;
    a.conn = TcpConnection.connect({
      config: a.config,
      hooks: a.hooks,
      random: a.random,
      localPort: LOCAL_PORT,
      remotePort: REMOTE_PORT,
      iss: seq(this.options.issA ?? 1000),
    });
    a.conn.poll();
    this.run(this.now + 10_000, () => a.conn.state === 'ESTABLISHED' && this.b.conn !== undefined && this.b.conn.state === 'ESTABLISHED');
  }

  /** Exports one side's connection and resumes it in a fresh engine (a chimney offload or upload). */
  migrate(side: 'a' | 'b'): void {
    const ep = side === 'a' ? this.a : this.b;
    ep.droppedOnMigration += ep.conn.info().reorderQueueBytes;
    const snapshot = ep.conn.exportState();
    ep.conn = TcpConnection.fromOffloadState({ config: ep.config, hooks: ep.hooks, random: ep.random, snapshot });
    this.migrations++;
    ep.conn.poll();
  }

  private onTransmit(from: 'a' | 'b', s: TcpSegmentOut): void {
    const ep = from === 'a' ? this.a : this.b;
    ep.segmentsSent++;
    if (s.flags & TCP_RST) ep.rstSent++;
    if (s.payloadLength > 0) {
      ep.dataSegmentsSent++;
      const end = seqAdd(s.seqNumber, s.payloadLength);
      if (ep.highestSent === undefined || ((end - ep.highestSent) | 0) > 0) {
        const fresh = ep.highestSent === undefined ? s.payloadLength : Math.min(s.payloadLength, (end - ep.highestSent) | 0);
        ep.retransmittedBytes += s.payloadLength - fresh;
        ep.highestSent = end;
      } else {
        ep.retransmittedBytes += s.payloadLength;
      }
    }
    const ts = s.options.timestamps;
    if (ts !== undefined && (s.flags & TCP_RST) === 0) {
      if (ep.lastTsVal !== undefined && ((ts.tsVal - ep.lastTsVal) | 0) < 0) ep.tsValRegressions++;
      ep.lastTsVal = ts.tsVal;
    }
    const c = capture(s, this.now);
    // A TSO super-segment is cut as a device would: every piece but the last loses FIN and PSH.
    const pieces: Captured[] = [];
    if (c.gsoSize > 0 && c.payload.length > c.gsoSize) {
      for (let off = 0; off < c.payload.length; off += c.gsoSize) {
        const last = off + c.gsoSize >= c.payload.length;
        pieces.push({
          ...c,
          seqNumber: seqAdd(c.seqNumber, off),
          flags: last ? c.flags : c.flags & ~(TCP_FIN | TCP_PSH),
          payload: c.payload.subarray(off, Math.min(off + c.gsoSize, c.payload.length)),
          gsoSize: 0,
        });
      }
    } else {
      pieces.push(c);
    }
    for (const p of pieces) this.offer(from, p);
  }

  private offer(from: 'a' | 'b', seg: Captured): void {
    if (this.record) this.log.push({ from, seg });
    if (this.filter !== undefined && !this.filter(from, seg)) return;
    const path = from === 'a' ? this.pathAB : this.pathBA;
    const r = this.pathRandom;
    if (path.loss > 0 && r.nextFloat() < path.loss) return;
    const copies = path.duplicate > 0 && r.nextFloat() < path.duplicate ? 2 : 1;
    const key = from === 'a' ? 'ab' : 'ba';
    const size = seg.payload.length + 52;
    let departs = this.now;
    if (path.rateBytesPerMs > 0) {
      const q = this.queued[key];
      while (q.length > 0 && (q[0] as { at: number }).at <= this.now) q.shift();
      const backlog = q.reduce((n, x) => n + x.bytes, 0);
      if (backlog + size > path.queueLimitBytes) return;
      departs = Math.max(this.now, this.bottleneckFree[key]) + size / path.rateBytesPerMs;
      this.bottleneckFree[key] = departs;
      q.push({ at: departs, bytes: size });
    }
    for (let k = 0; k < copies; k++) {
      let at = departs + path.delayMs + (path.jitterMs > 0 ? r.nextFloat() * path.jitterMs : 0);
      if (path.reorder > 0 && r.nextFloat() < path.reorder) {
        at += path.reorderDelayMs;
        this.reordered++;
      }
      const repr: TcpRepr = {
        srcPort: seg.srcPort,
        dstPort: seg.dstPort,
        seqNumber: seg.seqNumber,
        ackNumber: seg.ackNumber,
        flags: seg.flags,
        windowLen: seg.windowLen,
        urgentPointer: 0,
        options: seg.options,
        payload: seg.payload,
      };
      this.heap.push({ at, order: this.order++, to: from === 'a' ? 'b' : 'a', repr });
    }
  }

  /** Sets up both applications: `bytesAToB` from A to B, `bytesBToA` from B to A. */
  transfer(bytesAToB: number, bytesBToA = 0, shutdown = true): void {
    this.a.toWrite = bytesAToB;
    this.b.toWrite = bytesBToA;
    this.a.shutdownWhenDone = shutdown;
    this.b.shutdownWhenDone = shutdown;
  }

  /** True when both streams have been delivered completely. */
  done(): boolean {
    return this.a.received === this.b.toWrite && this.b.received === this.a.toWrite;
  }

  /**
   * Runs the simulation until `until` or until `stop()` holds: delivers segments in batches
   * (one poll per destination per batch), fires timers, runs the applications.
   */
  run(until: number, stop?: () => boolean): void {
    let guard = 0;
    for (;;) {
      this.app(this.a);
      this.app(this.b);
      this.a.conn?.poll();
      this.b.conn?.poll();
      if (stop !== undefined && stop()) return;
      if (++guard > 50_000_000) throw new Error('Wire.run: no progress');
      const next = Math.min(this.heap.peek()?.at ?? Infinity, this.deadline(this.a), this.deadline(this.b));
      if (next > until) {
        this.clock.runUntil(until);
        return;
      }
      this.clock.runUntil(Math.max(next, this.now));
      const now = this.now;
      let toA = false;
      let toB = false;
      while ((this.heap.peek()?.at ?? Infinity) <= now) {
        const p = this.heap.pop() as InFlight;
        if (p.to === 'b' && this.b.conn === undefined) {
          this.acceptAtB(p.repr);
          continue;
        }
        const ep = p.to === 'a' ? this.a : this.b;
        if (ep.conn === undefined) continue;
        const v = ep.conn.input(p.repr);
        if (v !== undefined) ep.drops.set(v, (ep.drops.get(v) ?? 0) + 1);
        if (p.to === 'a') toA = true;
        else toB = true;
      }
      if (toA) this.a.conn?.poll();
      if (toB) this.b.conn?.poll();
      for (const ep of [this.a, this.b]) {
        if (ep.conn !== undefined && ep.conn.nextDeadline() <= now) ep.conn.onTimer();
      }
    }
  }

  private deadline(ep: Endpoint): number {
    return ep.conn === undefined ? Infinity : ep.conn.nextDeadline();
  }

  private acceptAtB(syn: TcpRepr): void {
    if ((syn.flags & (TCP_SYN | TCP_ACK)) !== TCP_SYN) return;
    const b = this.b;
    b.conn = TcpConnection.accept({
      config: b.config,
      hooks: b.hooks,
      random: b.random,
      localPort: REMOTE_PORT,
      remotePort: LOCAL_PORT,
      iss: seq(this.options.issB ?? 7_000_000),
      syn,
    });
  }

  private app(ep: Endpoint): void {
    const c = ep.conn;
    if (c === undefined) return;
    const st = c.state;
    if (st === 'ESTABLISHED' || st === 'CLOSE-WAIT') {
      while (ep.written < ep.toWrite && c.sendQueueLength < ep.config.sndBufSize) {
        const n = Math.min(ep.writeChunk, ep.toWrite - ep.written);
        c.write(streamBytes(ep.written, n));
        ep.written += n;
      }
      if (ep.written === ep.toWrite && ep.shutdownWhenDone && ep.toWrite > 0) c.shutdown();
    }
    if (!ep.readPaused) {
      for (;;) {
        const v = c.readableLength > 0 ? c.read() : undefined;
        if (v === undefined) break;
        for (let i = 0; i < v.length; i++) {
          if (v[i] !== streamByte(ep.received + i)) {
            throw new Error(`${ep.name}: stream byte ${ep.received + i} is ${v[i]}, expected ${streamByte(ep.received + i)}`);
          }
        }
        ep.received += v.length;
      }
    }
  }
}

/** SACK blocks of a captured segment as plain numbers. */
export function sackOf(s: Captured): Array<[number, number]> {
  return (s.options.sackBlocks ?? []).map((b: TcpSackBlock) => [b.left, b.right]);
}
