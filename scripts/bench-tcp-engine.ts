/**
 * Micro-benchmark of the TCP engine alone: two engines back to back in memory, a bulk
 * transfer from A to B, no link, no IP, no checksums. Measures what one core spends in the
 * engine (both ends: A sends and processes ACKs, B receives, reassembles, reads and ACKs),
 * plus the unavoidable host-side work each segment implies: copying the payload out of A's
 * send queue into a frame buffer (`copyPayload`) and building the parsed TcpRepr B gets.
 *
 *   npx tsc -p tsconfig.json && node dist/scripts/bench-tcp-engine.js [GiB]
 *
 * Modes: ordinary segments (1448-byte payloads: MSS 1460 with timestamps) received in
 * batches of 32 (one poll and so one ACK per batch, like a host reading a TAP in batches),
 * TSO super-segments of up to 64 KiB handed to the receiver whole (as GRO would merge them),
 * and the worst case of a receiver polled after every segment (an ACK every two segments).
 * Time is simulated (0.02 ms per round trip of the loop), so timers never fire and the
 * numbers are pure CPU cost.
 */
import { TcpConnection } from '../src/tcp/connection.js';
import { DEFAULT_TCP_CONFIG, type TcpConfig, type TcpSegmentOut } from '../src/tcp/types.js';
import type { Clock } from '../src/wire/clock.js';
import { SeededRandom } from '../src/wire/random.js';
import { seq } from '../src/wire/seq.js';
import { TCP_SYN, type TcpRepr } from '../src/wire/tcp.js';

interface Result {
  mode: string;
  bytes: number;
  segments: number;
  acks: number;
  seconds: number;
}

/** Segments per receive batch (one engine poll, hence one ACK, per batch). */
const RECEIVE_BATCH = 32;

class ManualClock implements Clock {
  t = 1000;
  now(): number {
    return this.t;
  }
}

/** Captured segments of one direction: payload copied into a frame-sized buffer, as a host would. */
class Pipe {
  readonly reprs: TcpRepr[] = [];
  private readonly frames: Uint8Array[] = [];
  private used = 0;

  push(s: TcpSegmentOut): void {
    let frame = this.frames[this.used];
    const need = s.payloadLength;
    if (frame === undefined || frame.length < need) {
      frame = new Uint8Array(Math.max(need, 2048));
      this.frames[this.used] = frame;
    }
    this.used++;
    s.copyPayload(frame, 0);
    const ts = s.options.timestamps;
    const sack = s.options.sackBlocks;
    this.reprs.push({
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
        timestamps: ts === undefined ? undefined : { tsVal: ts.tsVal, tsEcr: ts.tsEcr },
        sackBlocks: sack === undefined ? undefined : sack.map((b) => ({ left: b.left, right: b.right })),
      },
      payload: need === frame.length ? frame : frame.subarray(0, need),
    });
  }

  /**
   * Delivers everything captured to `conn` in receive batches of `batch` segments, polling
   * after each batch as the host does after each read from the device.
   */
  drainInto(conn: TcpConnection, batch = Infinity): number {
    const n = this.reprs.length;
    for (let i = 0; i < n; i++) {
      conn.input(this.reprs[i] as TcpRepr);
      if ((i + 1) % batch === 0) conn.poll();
    }
    this.reprs.length = 0;
    this.used = 0;
    return n;
  }
}

function run(mode: string, totalBytes: number, overrides: Partial<TcpConfig>, receiveBatch = RECEIVE_BATCH): Result {
  const clock = new ManualClock();
  const config: TcpConfig = { ...DEFAULT_TCP_CONFIG, rcvBufSize: 4 << 20, sndBufSize: 4 << 20, reassemblyLimitBytes: 4 << 20, ...overrides };
  const ab = new Pipe();
  const ba = new Pipe();
  let b: TcpConnection | undefined;
  const a = TcpConnection.connect({
    config,
    hooks: { clock, transmit: (s) => ab.push(s), event: () => undefined },
    random: new SeededRandom(1),
    localPort: 40000,
    remotePort: 5001,
    iss: seq(0xfff00000),
  });
  a.poll();
  const syn = ab.reprs.shift() as TcpRepr;
  if ((syn.flags & TCP_SYN) === 0) throw new Error('no SYN');
  ab.drainInto({ input: () => undefined } as unknown as TcpConnection);
  b = TcpConnection.accept({
    config,
    hooks: { clock, transmit: (s) => ba.push(s), event: () => undefined },
    random: new SeededRandom(2),
    localPort: 5001,
    remotePort: 40000,
    iss: seq(0x7ff00000),
    syn,
  });
  b.poll();
  ba.drainInto(a);
  a.poll();
  ab.drainInto(b);
  b.poll();
  ba.drainInto(a);
  if (a.state !== 'ESTABLISHED' || b.state !== 'ESTABLISHED') throw new Error(`handshake failed: ${a.state} ${b.state}`);

  const chunk = new Uint8Array(64 * 1024);
  let written = 0;
  let received = 0;
  let segments = 0;
  let acks = 0;
  const start = performance.now();
  let stalled = 0;
  while (received < totalBytes) {
    const before = received;
    while (written < totalBytes && a.sendQueueLength < config.sndBufSize) {
      a.write(chunk);
      written += chunk.length;
    }
    a.poll();
    // The receiving host reads frames in batches of 32 (a typical TAP/GRO batch) and polls
    // the engine after each: one ACK per batch.
    segments += ab.drainInto(b, receiveBatch);
    for (let v = b.read(); v !== undefined; v = b.read()) received += v.length;
    b.poll();
    acks += ba.drainInto(a);
    clock.t += 0.02;
    if (a.nextDeadline() <= clock.t) a.onTimer();
    if (b.nextDeadline() <= clock.t) b.onTimer();
    if (received === before && ++stalled > 100_000) {
      throw new Error(`${mode}: no progress at ${received} bytes: A ${JSON.stringify(a.info())} B ${JSON.stringify(b.info())}`);
    }
  }
  const seconds = (performance.now() - start) / 1000;
  return { mode, bytes: received, segments, acks, seconds };
}

function report(r: Result): void {
  const gbps = (r.bytes * 8) / r.seconds / 1e9;
  const segPerSec = r.segments / r.seconds;
  console.log(
    `${r.mode.padEnd(34)} ${(r.bytes / 2 ** 30).toFixed(2)} GiB in ${r.seconds.toFixed(2)} s: ` +
      `${(segPerSec / 1000).toFixed(0)}k segments/s, ${gbps.toFixed(2)} Gbit/s payload, ` +
      `${r.acks} ACKs (${(r.segments / Math.max(1, r.acks)).toFixed(1)} segments per ACK)`,
  );
}

const gib = Number(process.argv[2] ?? '1');
const total = Math.round(gib * 2 ** 30);
// Warm up the JIT on a smaller transfer first.
report(run('warm-up', 64 << 20, {}));
report(run('1448-byte segments (TS, SACK, CUBIC)', total, {}));
report(run('1448-byte segments, NewReno', total, { congestionControl: 'newreno' }));
report(run('1460-byte segments, no timestamps', total, { timestamps: false }));
report(run('64 KiB TSO super-segments', total, { tsoMaxBytes: 45 * 1448 }));
report(run('1448-byte, receiver polls per segment', total, {}, 1));
