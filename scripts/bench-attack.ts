/**
 * What crafted input costs the TCP engine (issue 9): the event-loop time a hostile peer can
 * make one connection burn, at a full and at a halved count, so the ratio shows whether the
 * cost is linear (about 2) or worse.
 *
 *   npx tsc -p tsconfig.json && node dist/scripts/bench-attack.js [--json]
 *
 * Each count is the best of five runs.
 *
 * With --json the rows follow the table as one JSON line (scripts/bench.ts reads it).
 *
 * - SACK: about 1 MiB in flight from A; 16,000 ACKs from "B" each carrying four single-byte
 *   SACK blocks, walking top-down over the flight (the CVE-2019-11478 class: a send map that
 *   splits at every byte edge makes each ACK cost as much as everything SACKed before it).
 *   No timestamps, so four blocks fit in the option space as they would on the wire.
 * - Reassembly: B receives 40,000 one-byte segments at every other byte above a hole (each
 *   answered with a SACK ACK, as the engine does).
 * Engines only, no link and no checksums; time is simulated (timers never fire), so the
 * numbers are the CPU cost of the engine calls.
 */
import { TcpConnection } from '../src/tcp/connection.js';
import { DEFAULT_TCP_CONFIG, type TcpConfig, type TcpSegmentOut } from '../src/tcp/types.js';
import type { Clock } from '../src/wire/clock.js';
import { SeededRandom } from '../src/wire/random.js';
import { seq, seqAdd, type Seq } from '../src/wire/seq.js';
import { TCP_ACK, type TcpRepr } from '../src/wire/tcp.js';

/** A TcpRepr the bench rewrites in place between inputs (one object, no allocation per input). */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const SACK_ACKS = 16_000;
const OOO_SEGMENTS = 40_000;
/** ACKs (or segments) per receive batch: the engine is polled after each batch, as the host does. */
const BATCH = 32;

class ManualClock implements Clock {
  t = 1000;
  now(): number {
    return this.t;
  }
}

function toRepr(s: TcpSegmentOut): TcpRepr {
  const payload = new Uint8Array(s.payloadLength);
  s.copyPayload(payload, 0);
  return {
    srcPort: s.srcPort,
    dstPort: s.dstPort,
    seqNumber: s.seqNumber,
    ackNumber: s.ackNumber,
    flags: s.flags,
    windowLen: s.windowLen,
    urgentPointer: 0,
    options: {
      mss: s.options.mss,
      windowScale: s.options.windowScale,
      sackPermitted: s.options.sackPermitted,
      timestamps: s.options.timestamps === undefined ? undefined : { ...s.options.timestamps },
      sackBlocks: s.options.sackBlocks?.map((b) => ({ left: b.left, right: b.right })),
    },
    payload,
  };
}

interface Pair {
  a: TcpConnection;
  b: TcpConnection;
  clock: ManualClock;
  /** Segments A sent (copied), for the caller to deliver or discard. */
  fromA: TcpRepr[];
  fromB: TcpRepr[];
}

/** Two engines with a completed handshake (SACK, window scaling, no timestamps). */
function pair(overrides: Partial<TcpConfig>): Pair {
  const clock = new ManualClock();
  const config: TcpConfig = { ...DEFAULT_TCP_CONFIG, timestamps: false, rcvBufSize: 4 << 20, sndBufSize: 4 << 20, reassemblyLimitBytes: 4 << 20, ...overrides };
  const fromA: TcpRepr[] = [];
  const fromB: TcpRepr[] = [];
  const a = TcpConnection.connect({
    config,
    hooks: { clock, transmit: (s) => fromA.push(toRepr(s)), event: () => undefined },
    random: new SeededRandom(1),
    localPort: 40000,
    remotePort: 5001,
    iss: seq(0xfff00000),
  });
  a.poll();
  const b = TcpConnection.accept({
    config,
    hooks: { clock, transmit: (s) => fromB.push(toRepr(s)), event: () => undefined },
    random: new SeededRandom(2),
    localPort: 5001,
    remotePort: 40000,
    iss: seq(0x7ff00000),
    syn: fromA.shift() as TcpRepr,
  });
  b.poll();
  for (const s of fromB.splice(0)) a.input(s);
  a.poll();
  for (const s of fromA.splice(0)) b.input(s);
  b.poll();
  if (a.state !== 'ESTABLISHED' || b.state !== 'ESTABLISHED') throw new Error(`handshake failed: ${a.state} ${b.state}`);
  return { a, b, clock, fromA, fromB };
}

/** Milliseconds A spends on `acks` ACKs of four single-byte SACK blocks each, top-down over ~1 MiB in flight. */
function sackAttack(acks: number): number {
  const { a, fromA } = pair({ initialCwndSegments: 800 });
  const ack: Mutable<TcpRepr> = {
    srcPort: 5001,
    dstPort: 40000,
    seqNumber: seq(0x7ff00001),
    ackNumber: seq(0xfff00001),
    flags: TCP_ACK,
    windowLen: 0xffff,
    urgentPointer: 0,
    options: {},
    payload: new Uint8Array(0),
  };
  // A window update first: the SYN-ACK's window is never scaled (RFC 7323 §2.2).
  a.input(ack);
  a.write(new Uint8Array(800 * 1448));
  a.poll();
  let una: Seq | undefined;
  let top: Seq | undefined;
  for (const s of fromA) {
    una ??= s.seqNumber;
    top = seqAdd(s.seqNumber, s.payload.length);
  }
  fromA.length = 0;
  if (una === undefined || top === undefined) throw new Error('nothing in flight');
  const flight = (top - una) >>> 0;
  if (flight < 1 << 20) throw new Error(`only ${flight} bytes in flight`);
  const step = Math.floor(flight / (4 * acks));
  const blocks: Array<{ left: Seq; right: Seq }> = [0, 1, 2, 3].map(() => ({ left: una, right: una }));
  ack.ackNumber = una;
  ack.options = { sackBlocks: blocks };
  let k = 0;
  const start = performance.now();
  for (let n = 0; n < acks; n++) {
    for (const b of blocks) {
      const at = seqAdd(top, -1 - k++ * step);
      b.left = at;
      b.right = seqAdd(at, 1);
    }
    a.input(ack);
    if ((n + 1) % BATCH === 0) {
      a.poll();
      fromA.length = 0;
    }
  }
  a.poll();
  const ms = performance.now() - start;
  fromA.length = 0;
  return ms;
}

/** Milliseconds B spends on `segments` one-byte segments at every other byte above a hole. */
function reassemblyAttack(segments: number): number {
  const { b, fromB } = pair({});
  const rcvNxt = seq(0xfff00001);
  const seg: Mutable<TcpRepr> = {
    srcPort: 40000,
    dstPort: 5001,
    seqNumber: rcvNxt,
    ackNumber: seq(0x7ff00001),
    flags: TCP_ACK,
    windowLen: 0xffff,
    urgentPointer: 0,
    options: {},
    payload: new Uint8Array([0x5a]),
  };
  const start = performance.now();
  for (let n = 0; n < segments; n++) {
    seg.seqNumber = seqAdd(rcvNxt, 1 + 2 * n);
    b.input(seg);
    if ((n + 1) % BATCH === 0) {
      b.poll();
      fromB.length = 0;
    }
  }
  b.poll();
  const ms = performance.now() - start;
  fromB.length = 0;
  return ms;
}

interface Row {
  attack: string;
  count: number;
  fullMs: number;
  halfMs: number;
  ratio: number;
}

/** Best of five runs at each count, interleaved so that JIT warm-up and load favour neither. */
function measure(attack: string, count: number, f: (n: number) => number): Row {
  f(count); // warm-up
  let halfMs = Infinity;
  let fullMs = Infinity;
  for (let r = 0; r < 5; r++) {
    halfMs = Math.min(halfMs, f(count / 2));
    fullMs = Math.min(fullMs, f(count));
  }
  return { attack, count, fullMs, halfMs, ratio: fullMs / halfMs };
}

function runAttackBench(): Row[] {
  return [
    measure('single-byte SACK ACKs (4 blocks, ~1 MiB in flight)', SACK_ACKS, sackAttack),
    measure('one-byte out-of-order segments (every other byte)', OOO_SEGMENTS, reassemblyAttack),
  ];
}

function formatAttackRows(rows: readonly Row[]): string {
  return rows
    .map(
      (r) =>
        `${r.attack.padEnd(52)} ${String(r.count).padStart(6)}: ${r.fullMs.toFixed(1).padStart(8)} ms, ` +
        `${String(r.count / 2).padStart(6)}: ${r.halfMs.toFixed(1).padStart(8)} ms, ratio ${r.ratio.toFixed(2)}`,
    )
    .join('\n');
}

const rows = runAttackBench();
console.log(formatAttackRows(rows));
if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
