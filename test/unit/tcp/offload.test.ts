/**
 * Chimney hand-over (reference §3.2.4-3.2.5, §3.3.2, §7.5-7.6): what exportState() produces,
 * how fromOffloadState() resumes from it, and live connections moved between engines many
 * times mid-stream without the peer noticing.
 */
import { describe, expect, it } from 'vitest';
import { TcpConnection } from '../../../src/tcp/connection.js';
import {
  TCP_FLAG_KEEP_ALIVE_ENABLED,
  TCP_FLAG_NAGLING_ENABLED,
  TcpConnectionEstablished,
  TcpConnectionFinWait1,
  TcpConnectionTimeWait,
  TIMER_NOT_RUNNING,
  type TcpOffloadSnapshot,
} from '../../../src/tcp/offload-state.js';
import { DEFAULT_TCP_CONFIG, type TcpConfig, type TcpEvent } from '../../../src/tcp/types.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { SeededRandom } from '../../../src/wire/random.js';
import { seqAdd } from '../../../src/wire/seq.js';
import { ACK, capture, DATA, EngineHarness, FIN, streamBytes, TCP_ACK, TCP_FIN, Wire, type Captured } from '../../helpers/segments.js';

const ISS = 1000;
const PEER = 5000;
const LINUX = { mss: 1460, sackPermitted: true, windowScale: 7, timestamps: { tsVal: 100, tsEcr: 0 } };
const TS = (tsVal: number) => ({ options: { timestamps: { tsVal, tsEcr: 0 } } });

/** Imports `snapshot` into a fresh engine on its own clock (started at `startMs`). */
function importInto(snapshot: TcpOffloadSnapshot, startMs: number, config: Partial<TcpConfig> = {}) {
  const clock = new SimScheduler(startMs);
  const sent: Captured[] = [];
  const events: TcpEvent[] = [];
  const conn = TcpConnection.fromOffloadState({
    config: { ...DEFAULT_TCP_CONFIG, ...config },
    hooks: { clock, transmit: (s) => sent.push(capture(s, clock.now())), event: (e) => events.push(e) },
    random: new SeededRandom(3),
    snapshot,
  });
  const runUntil = (t: number): void => {
    for (;;) {
      const d = conn.nextDeadline();
      if (d > t) break;
      clock.runUntil(Math.max(d, clock.now()));
      conn.onTimer();
    }
    clock.runUntil(t);
  };
  return { clock, sent, events, conn, runUntil };
}

describe('exportState()', () => {
  function busy(): EngineHarness {
    const h = EngineHarness.established({ peerOptions: LINUX });
    h.send(ACK(PEER + 1, ISS + 1, { window: 1000, ...TS(150) }));
    h.conn.write(streamBytes(0, 5000));
    h.poll();
    h.sent.length = 0;
    h.advance(30);
    h.send(DATA(PEER + 1, ISS + 1 + 1448, streamBytes(0, 300), { window: 1000, ...TS(180) }));
    h.advance(40);
    h.sent.length = 0;
    return h;
  }

  it('fills TCP_OFFLOAD_STATE_CONST from the negotiated options', () => {
    const s = busy().conn.exportState();
    expect(s.const).toEqual({ Flags: 7, RemotePort: 80, LocalPort: 49152, SndWindScale: 7, RcvWindScale: 5, RemoteMss: 1460, HashValue: 0 });
  });

  it('fills TCP_OFFLOAD_STATE_CACHED from the configuration, in ticks', () => {
    const s = busy().conn.exportState();
    expect(s.cached).toEqual({
      Flags: TCP_FLAG_NAGLING_ENABLED,
      InitialRcvWnd: 1 << 20,
      RcvIndicationSize: 0,
      KaProbeCount: 9,
      KaTimeout: 7_200_000,
      KaInterval: 75_000,
      MaxRT: 0,
      FlowLabel: 0,
      TtlOrHopLimit: 64,
      TosOrTrafficClass: 0,
      UserPriority: 0,
    });
  });

  it('fills TCP_OFFLOAD_STATE_DELEGATED with sequence space, windows, RTT and timer residues', () => {
    const h = busy();
    const info = h.conn.info();
    const s = h.conn.exportState();
    const d = s.delegated;
    expect(d.State).toBe(TcpConnectionEstablished);
    expect(d.RcvNxt).toBe(PEER + 301);
    expect(d.RcvWnd).toBe(info.rcvWnd);
    expect(d.SndUna).toBe(ISS + 1449);
    expect(d.SndNxt).toBe(d.SndMax);
    expect(d.SndMax).toBe(ISS + 5001);
    expect(d.SndWnd).toBe(1000 << 7);
    expect(d.MaxSndWnd).toBe(1000 << 7);
    expect(d.CWnd).toBe(info.cwnd);
    expect(d.SRtt).toBe(Math.round(info.srttMs * 8));
    expect(d.RttVar).toBe(Math.round(info.rttvarMs * 4));
    expect(d.TsRecent).toBe(180);
    expect(d.TsRecentAge).toBe(40);
    expect(d.DupAckCount).toBe(0);
    // The retransmission timer was restarted by the ACK 40 ms ago, with RTO 200 ms.
    expect(d.Retransmit).toEqual({ Count: 0, TimeoutDelta: 160 });
    expect(d.KeepAlive).toEqual({ ProbeCount: 0, TimeoutDelta: TIMER_NOT_RUNNING });
    expect(s.peerFinReceived).toBe(false);
    expect(s.finQueued).toBe(false);
  });

  it('hands over the send stream from SND.UNA and the received-but-unread data', () => {
    const s = busy().conn.exportState();
    expect(Buffer.concat(s.sendData)).toEqual(Buffer.from(streamBytes(1448, 5000 - 1448)));
    expect(Buffer.concat(s.bufferedData)).toEqual(Buffer.from(streamBytes(0, 300)));
  });

  it('flushes a due delayed ACK before exporting (§3.2.4)', () => {
    const h = EngineHarness.established();
    h.send(DATA(PEER + 1, ISS + 1, 10));
    h.expectNothing();
    const s = h.conn.exportState();
    h.expect({ flags: TCP_ACK, ack: PEER + 11 });
    expect(s.delegated.RcvNxt).toBe(PEER + 11);
  });

  it('drops data that was only SACKed, not acknowledged (§3.3.2 step 2)', () => {
    const h = EngineHarness.established({ peerOptions: { mss: 1460, sackPermitted: true } });
    h.send(DATA(PEER + 101, ISS + 1, 100));
    const s = h.conn.exportState();
    expect(s.delegated.RcvNxt).toBe(PEER + 1);
    expect(s.bufferedData).toEqual([]);
  });

  it('reports the persist timer in Retransmit with its round in SndWndProbeCount (§7.5.4)', () => {
    const h = EngineHarness.established({ peerWindow: 1460 });
    h.conn.write(new Uint8Array(3000));
    h.poll();
    h.send(ACK(PEER + 1, ISS + 1461, { window: 0 }));
    h.nextSegmentWithin(1000);
    h.send(ACK(PEER + 1, ISS + 1461, { window: 0 }));
    h.advance(100);
    const d = h.conn.exportState().delegated;
    expect(d.SndWndProbeCount).toBe(1);
    expect(d.Retransmit).toEqual({ Count: 0, TimeoutDelta: 300 });
  });

  it('reports a timer that is due as 0 and idle timers as 0xFFFFFFFF', () => {
    const h = EngineHarness.established({ config: { keepAlive: { enabled: true, idleMs: 1000, intervalMs: 100, probes: 2 } } });
    h.clock.advance(1500);
    const d = h.conn.exportState().delegated;
    expect(d.KeepAlive.TimeoutDelta).toBe(0);
    expect(d.Retransmit.TimeoutDelta).toBe(TIMER_NOT_RUNNING);
  });

  it('reports keepalive probes sent and the time to the next one', () => {
    const h = EngineHarness.established({ config: { keepAlive: { enabled: true, idleMs: 1000, intervalMs: 100, probes: 5 } } });
    h.nextSegmentWithin(2000);
    h.nextSegmentWithin(2000);
    h.advance(30);
    const s = h.conn.exportState();
    expect(s.delegated.KeepAlive).toEqual({ ProbeCount: 2, TimeoutDelta: 70 });
    expect(s.cached.Flags & TCP_FLAG_KEEP_ALIVE_ENABLED).toBe(TCP_FLAG_KEEP_ALIVE_ENABLED);
  });
});

describe('fromOffloadState()', () => {
  it('continues TSval monotonically on an importer whose clock reads differently (§7.6 NicDelta)', () => {
    const h = EngineHarness.established({ peerOptions: LINUX });
    h.conn.write(new Uint8Array(100));
    h.poll();
    const last = h.expect({ len: 100 }).options.timestamps?.tsVal as number;
    h.advance(7);
    const s = h.conn.exportState();
    expect(s.delegated.TsTime).toBe((last + 7) >>> 0);
    const imp = importInto(s, 42);
    imp.clock.advance(3);
    imp.conn.write(new Uint8Array(10));
    imp.conn.poll();
    expect(imp.sent.map((x) => x.options.timestamps?.tsVal)).toEqual([(last + 10) >>> 0]);
  });

  it('resumes the retransmission timer from its residue and retransmits from SND.UNA', () => {
    const h = EngineHarness.established();
    h.conn.write(streamBytes(0, 2000));
    h.poll();
    h.advance(50);
    const s = h.conn.exportState();
    expect(s.delegated.Retransmit.TimeoutDelta).toBe(150);
    const imp = importInto(s, 0);
    imp.runUntil(149);
    expect(imp.sent).toEqual([]);
    imp.runUntil(150);
    expect(imp.sent.length).toBe(1);
    expect(imp.sent[0]?.seqNumber).toBe(ISS + 1);
    expect(Buffer.from(imp.sent[0]?.payload ?? [])).toEqual(Buffer.from(streamBytes(0, 1460)));
  });

  it('converts SRtt/8 and RttVar/4 from ticks at the configured TicksPerSecond', () => {
    const h = EngineHarness.established({ config: { ticksPerSecond: 100 } });
    const s = h.conn.exportState();
    s.delegated.SRtt = 8 * 25; // 25 ticks of 10 ms
    s.delegated.RttVar = 4 * 5;
    const imp = importInto(s, 0, { ticksPerSecond: 100 });
    expect(imp.conn.info().srttMs).toBe(250);
    expect(imp.conn.info().rttvarMs).toBe(50);
    expect(imp.conn.info().rtoMs).toBe(450);
  });

  it('takes keepalive and Nagle from the cached state', () => {
    const h = EngineHarness.established();
    const s = h.conn.exportState();
    s.cached.Flags = TCP_FLAG_KEEP_ALIVE_ENABLED;
    s.cached.KaTimeout = 5000;
    s.delegated.KeepAlive = { ProbeCount: 0, TimeoutDelta: TIMER_NOT_RUNNING };
    const imp = importInto(s, 0);
    imp.conn.write(new Uint8Array(10));
    imp.conn.poll();
    imp.conn.write(new Uint8Array(10));
    imp.conn.poll();
    // Nagle off: both small segments go at once.
    expect(imp.sent.length).toBe(2);
    imp.sent.length = 0;
    imp.conn.input({ ...ackRepr(PEER + 1, ISS + 21) });
    imp.runUntil(5000);
    expect(imp.sent.length).toBe(1);
    expect(imp.sent[0]?.seqNumber).toBe(ISS + 20);
  });

  it('resumes a rewound SndNxt as a go-back-N retransmission in progress', () => {
    const h = EngineHarness.established();
    h.conn.write(streamBytes(0, 5 * 1460));
    h.poll();
    const s = h.conn.exportState();
    s.delegated.SndNxt = ISS + 1 + 1460;
    // One segment was resent before the hand-over; cwnd admits two more.
    s.delegated.CWnd = 3 * 1460;
    const imp = importInto(s, 0);
    imp.conn.poll();
    expect(imp.sent.map((x) => x.seqNumber)).toEqual([ISS + 1 + 1460, ISS + 1 + 2 * 1460]);
    expect(imp.conn.info().caState).toBe('loss');
  });

  it('carries a sent but unacknowledged FIN and retransmits it', () => {
    const h = EngineHarness.established();
    h.conn.shutdown();
    h.poll();
    h.expect({ flags: TCP_FIN | TCP_ACK });
    const s = h.conn.exportState();
    expect(s.delegated.State).toBe(TcpConnectionFinWait1);
    expect(s.finQueued).toBe(true);
    expect(s.delegated.SndMax).toBe(ISS + 2);
    const imp = importInto(s, 0);
    imp.runUntil(200);
    expect(imp.sent.map((x) => [x.seqNumber, x.flags])).toEqual([[ISS + 1, TCP_FIN | TCP_ACK]]);
    imp.conn.input(ackRepr(PEER + 1, ISS + 2));
    expect(imp.conn.state).toBe('FIN-WAIT-2');
  });

  it('finishes TIME-WAIT from the residue', () => {
    const h = EngineHarness.established();
    h.conn.shutdown();
    h.poll();
    h.send(FIN(PEER + 1, ISS + 2));
    h.advance(20_000);
    const s = h.conn.exportState();
    expect(s.delegated.State).toBe(TcpConnectionTimeWait);
    expect(s.delegated.Retransmit.TimeoutDelta).toBe(40_000);
    const imp = importInto(s, 0);
    imp.runUntil(39_999);
    expect(imp.conn.state).toBe('TIME-WAIT');
    imp.runUntil(40_000);
    expect(imp.conn.state).toBe('CLOSED');
    expect(imp.events.map((e) => e.type)).toEqual(['state', 'closed']);
  });

  it('exports again what it imported (a round trip changes nothing)', () => {
    const h = EngineHarness.established({ peerOptions: LINUX });
    h.conn.write(streamBytes(0, 3000));
    h.poll();
    h.send(DATA(PEER + 1, ISS + 1, 100, TS(300)));
    h.advance(40);
    const s1 = h.conn.exportState();
    const imp = importInto(s1, h.now);
    const s2 = imp.conn.exportState();
    expect({ ...s2, sendData: Buffer.concat(s2.sendData), bufferedData: Buffer.concat(s2.bufferedData) }).toEqual({
      ...s1,
      sendData: Buffer.concat(s1.sendData),
      bufferedData: Buffer.concat(s1.bufferedData),
    });
  });
});

function ackRepr(seqNumber: number, ack: number) {
  return { srcPort: 80, dstPort: 49152, seqNumber: seqAdd(0 as never, seqNumber), ackNumber: seqAdd(0 as never, ack), flags: TCP_ACK, windowLen: 65535, urgentPointer: 0, options: {}, payload: new Uint8Array(0) };
}

describe('a live connection moved between engines mid-stream', () => {
  interface Scenario {
    name: string;
    seed: number;
    loss: number;
    /** Jitter below one clock tick reorders segments without tripping PAWS (Linux tolerates one tick). */
    jitterMs: number;
    config?: Partial<TcpConfig>;
  }
  const scenarios: Scenario[] = [
    { name: 'clean path', seed: 11, loss: 0, jitterMs: 0 },
    { name: '1% loss with reordering', seed: 12, loss: 0.01, jitterMs: 0.9 },
    { name: '3% loss with reordering, NewReno without SACK', seed: 13, loss: 0.03, jitterMs: 0.9, config: { sack: false, congestionControl: 'newreno' } },
    { name: '2% loss, no timestamps', seed: 14, loss: 0.02, jitterMs: 0.9, config: { timestamps: false } },
    { name: '2% loss with TSO', seed: 15, loss: 0.02, jitterMs: 0.5, config: { tsoMaxBytes: 64 * 1024 } },
  ];

  /** Runs one scenario; with `migrate`, hands a random side over every 20-200 ms. */
  function runScenario(sc: Scenario, migrate: boolean) {
    const path = { delayMs: 5, loss: sc.loss, jitterMs: sc.jitterMs };
    const w = new Wire({
      seed: sc.seed,
      pathAB: path,
      configA: sc.config,
      configB: sc.config,
      // Both streams cross the 2^32 wrap during the transfer.
      issA: 0xffffffff - 3 * 1024 * 1024,
      issB: 0xffffffff - 1024 * 1024,
    });
    w.connect();
    w.transfer(A_TO_B, B_TO_A);
    const r = new SeededRandom(sc.seed);
    const t0 = w.now;
    while (!(w.done() && w.a.closed && w.b.closed) && w.now - t0 < 600_000) {
      w.run(w.now + 20 + r.nextFloat() * 180);
      const side = r.nextFloat() < 0.5 ? w.a : w.b;
      const st = side.conn.state;
      if (migrate && st !== 'CLOSED' && st !== 'SYN-SENT' && st !== 'SYN-RECEIVED') w.migrate(side.name);
    }
    return w;
  }
  const A_TO_B = 8 * 1024 * 1024;
  const B_TO_A = 3 * 1024 * 1024;

  for (const sc of scenarios) {
    it(`moves both ends back and forth around the 2^32 wrap without the peer noticing: ${sc.name}`, () => {
      const w = runScenario(sc, true);
      expect(w.migrations).toBeGreaterThan(30);
      // Byte-exact in both directions (the wire checks every byte as it is read), then closed.
      expect(w.b.received).toBe(A_TO_B);
      expect(w.a.received).toBe(B_TO_A);
      expect(w.a.closed && w.b.closed).toBe(true);
      // Nobody reset, failed, saw a timestamp go backwards, dropped a segment by PAWS or
      // challenged an ACK.
      for (const ep of [w.a, w.b]) {
        expect(ep.rstSent).toBe(0);
        expect(ep.errors).toEqual([]);
        expect(ep.tsValRegressions).toBe(0);
        expect(ep.drops.get('tcp-paws-rejected') ?? 0).toBe(0);
        expect(ep.drops.get('tcp-future-ack') ?? 0).toBe(0);
        expect(ep.drops.get('tcp-old-ack') ?? 0).toBe(0);
      }
      // No retransmission storm: against the same path without hand-overs, the extra
      // retransmissions are bounded by the out-of-order data the hand-overs dropped.
      const control = runScenario(sc, false);
      expect(control.done()).toBe(true);
      const extra = w.a.retransmittedBytes + w.b.retransmittedBytes - 1.5 * (control.a.retransmittedBytes + control.b.retransmittedBytes);
      const dropped = w.a.droppedOnMigration + w.b.droppedOnMigration;
      expect(extra).toBeLessThan(2 * dropped + 64 * 1024);
    });
  }

  it('needs no more retransmissions on a clean path than a connection that never moves', () => {
    const run = (migrate: boolean): number => {
      const w = new Wire({ seed: 21, pathAB: { delayMs: 5 } });
      w.connect();
      w.transfer(4 * 1024 * 1024, 1024 * 1024);
      const r = new SeededRandom(21);
      const t0 = w.now;
      while (!w.done() && w.now - t0 < 100_000) {
        w.run(w.now + 5 + r.nextFloat() * 20);
        if (migrate) w.migrate(r.nextFloat() < 0.5 ? 'a' : 'b');
      }
      expect(w.done()).toBe(true);
      return w.a.retransmittedBytes + w.b.retransmittedBytes;
    };
    expect(run(false)).toBe(0);
    expect(run(true)).toBe(0);
  });
});
