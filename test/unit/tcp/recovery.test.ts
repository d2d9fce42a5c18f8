import { describe, expect, it } from 'vitest';
import type { TcpConfig } from '../../../src/tcp/types.js';
import { ACK, EngineHarness, type Captured } from '../../helpers/segments.js';

const ISS = 1000;
const PEER = 5000;
/** Sequence number of the first byte of segment k (1000-byte segments). */
const S = (k: number): number => ISS + 1 + k * 1000;

function sender(o: { sack?: boolean; config?: Partial<TcpConfig>; bytes?: number } = {}): EngineHarness {
  const h = EngineHarness.established({
    peerOptions: o.sack ? { mss: 1000, sackPermitted: true } : { mss: 1000 },
    config: { congestionControl: 'newreno', ...o.config },
  });
  h.conn.write(new Uint8Array(o.bytes ?? 10_000));
  h.poll();
  expect(h.sent.length).toBe(10);
  h.sent.length = 0;
  return h;
}

const dupack = (blocks?: Array<[number, number]>) =>
  ACK(PEER + 1, S(0), blocks ? { options: { sackBlocks: blocks.map(([l, r]) => ({ left: l >>> 0, right: r >>> 0 }) as never) } } : {});
const seqs = (l: Captured[]) => l.map((s) => s.seqNumber);

describe('fast retransmit and NewReno recovery (RFC 5681 §3.2, RFC 6582), no SACK', () => {
  it('retransmits the first unacknowledged segment on the third duplicate ACK', () => {
    const h = sender();
    h.send(dupack());
    h.send(dupack());
    h.expectNothing();
    h.send(dupack());
    h.expect({ seq: S(0), len: 1000 });
    h.expectNothing();
    const i = h.conn.info();
    expect(i.caState).toBe('recovery');
    expect(i.fastRetransmits).toBe(1);
    // ssthresh = FlightSize / 2; cwnd = ssthresh + 3 SMSS.
    expect(i.ssthresh).toBe(5000);
    expect(i.cwnd).toBe(8000);
  });

  it('sends one new segment for each of the first two duplicate ACKs (limited transmit, RFC 3042)', () => {
    const h = sender({ bytes: 20_000 });
    h.send(dupack());
    h.expect({ seq: S(10) });
    h.send(dupack());
    h.expect({ seq: S(11) });
    h.send(dupack());
    h.expect({ seq: S(0) });
    h.expectNothing();
  });

  it('inflates cwnd by one MSS per further duplicate ACK and sends new data once the window allows', () => {
    const h = sender({ bytes: 20_000 });
    for (let i = 0; i < 3; i++) h.send(dupack());
    h.sent.length = 0;
    // Flight is 12 segments; cwnd = 6 + 3 = 9 segments, +1 per duplicate ACK.
    for (let i = 0; i < 3; i++) {
      h.send(dupack());
      h.expectNothing();
    }
    h.send(dupack());
    h.expect({ seq: S(12) });
  });

  it('retransmits the next hole at once on a partial ACK', () => {
    const h = sender();
    // Segments 0 and 4 are lost; 1-3 and 5-9 arrive.
    for (let i = 0; i < 8; i++) h.send(dupack());
    h.sent.length = 0;
    h.send(ACK(PEER + 1, S(4)));
    h.expect({ seq: S(4), len: 1000 });
    expect(h.conn.info().caState).toBe('recovery');
    h.send(ACK(PEER + 1, S(10)));
    expect(h.conn.info().caState).toBe('open');
    // Leaving recovery: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS), FlightSize 0 here.
    expect(h.conn.info().cwnd).toBe(2000);
  });

  it('does not start a second recovery for duplicate ACKs below the recovery point', () => {
    const h = sender({ bytes: 30_000 });
    for (let i = 0; i < 3; i++) h.send(dupack());
    expect(h.conn.info().fastRetransmits).toBe(1);
    h.send(ACK(PEER + 1, S(5)));
    h.sent.length = 0;
    for (let i = 0; i < 5; i++) h.send(ACK(PEER + 1, S(5)));
    expect(h.conn.info().fastRetransmits).toBe(1);
  });
});

// RFC 6675's own loss detection (DupThresh and IsLost, cwnd = ssthresh at once) is what a
// connection runs with RACK off (Linux net.ipv4.tcp_recovery = 0); with RACK on, these
// scripted ACKs at one instant (RTT zero) would make RACK's reordering window zero too.
// RACK-TLP and PRR have their own suite (rack.test.ts).
const RFC6675 = { rack: false };

describe('SACK-based recovery (RFC 6675)', () => {
  it('enters recovery on the first duplicate ACK whose SACK shows more than 2 MSS above the hole', () => {
    const h = sender({ sack: true, config: RFC6675 });
    h.send(dupack([[S(1), S(4)]]));
    h.expect({ seq: S(0), len: 1000 });
    expect(h.conn.info().caState).toBe('recovery');
    expect(h.conn.info().sacked).toBe(3000);
  });

  it('waits for more evidence when the SACKed data is small', () => {
    const h = sender({ sack: true, config: RFC6675 });
    h.send(dupack([[S(1), S(2)]]));
    h.expectNothing();
    expect(h.conn.info().caState).toBe('disorder');
  });

  it('retransmits exactly the holes the scoreboard deems lost, never SACKed data', () => {
    const h = sender({ sack: true, config: RFC6675 });
    h.send(
      dupack([
        [S(7), S(10)],
        [S(4), S(6)],
        [S(1), S(3)],
      ]),
    );
    expect(seqs(h.sent)).toEqual([S(0), S(3), S(6)]);
    expect(h.sent.every((s) => s.payload.length === 1000)).toBe(true);
  });

  it('sends new data while SACKed segments leave the pipe', () => {
    const h = sender({ sack: true, bytes: 20_000, config: RFC6675 });
    h.send(dupack([[S(1), S(4)]]));
    h.expect({ seq: S(0) });
    // cwnd = ssthresh = 5000; pipe = 6 unSACKed segments above the lost one + 1 retransmitted.
    h.expectNothing();
    h.send(dupack([[S(1), S(7)]]));
    // pipe falls to 3 + 1 = 4 segments: one new segment fits.
    h.expect({ seq: S(10) });
    h.expectNothing();
  });

  it('ignores D-SACK blocks below SND.UNA', () => {
    const h = sender({ sack: true, config: RFC6675 });
    h.send(ACK(PEER + 1, S(2)));
    h.sent.length = 0;
    h.send(ACK(PEER + 1, S(2), { options: { sackBlocks: [{ left: S(0), right: S(1) } as never] } }));
    expect(h.conn.info().sacked).toBe(0);
    expect(h.conn.info().caState).toBe('open');
  });

  it('forgets the scoreboard when the receiver reneges (ACK stops at a SACKed block)', () => {
    const h = sender({ sack: true, config: RFC6675 });
    h.send(dupack([[S(2), S(3)]]));
    expect(h.conn.info().sacked).toBe(1000);
    h.send(ACK(PEER + 1, S(2)));
    expect(h.conn.info().sacked).toBe(0);
  });

  it('resends data the receiver reneged on after a timeout', () => {
    const h = sender({ sack: true, config: RFC6675 });
    h.send(dupack([[S(1), S(2)]]));
    h.sent.length = 0;
    h.nextSegmentWithin(1000);
    expect(h.conn.info().caState).toBe('loss');
    // The cumulative ACK stops at the left edge of the SACKed block: the receiver dropped it.
    h.send(ACK(PEER + 1, S(1)));
    expect(h.conn.info().sacked).toBe(0);
    expect(seqs(h.sent)).toEqual([S(1), S(2)]);
  });

  it('resends after a timeout only the unSACKed ranges', () => {
    const h = sender({ sack: true, config: RFC6675 });
    h.send(dupack([[S(2), S(3)]]));
    h.sent.length = 0;
    const rtx = h.nextSegmentWithin(1000);
    expect(rtx.seqNumber).toBe(S(0));
    h.send(ACK(PEER + 1, S(1), { options: { sackBlocks: [{ left: S(2), right: S(3) } as never] } }));
    // cwnd 2: S(1) and then S(3), skipping the SACKed S(2).
    expect(seqs(h.sent)).toEqual([S(1), S(3)]);
  });
});

describe('congestion response by algorithm', () => {
  it('CUBIC sets ssthresh to 0.7 of the flight on fast retransmit (RFC 9438 §4.6)', () => {
    const h = sender({ config: { congestionControl: 'cubic' } });
    for (let i = 0; i < 3; i++) h.send(dupack());
    expect(h.conn.info().ssthresh).toBe(7000);
  });

  it('NewReno halves the flight on fast retransmit', () => {
    const h = sender();
    for (let i = 0; i < 3; i++) h.send(dupack());
    expect(h.conn.info().ssthresh).toBe(5000);
  });

  it('a timeout sets cwnd to one segment and ssthresh from the flight (RFC 5681 §3.1)', () => {
    const h = sender();
    h.nextSegmentWithin(1000);
    expect(h.conn.info().cwnd).toBe(1000);
    expect(h.conn.info().ssthresh).toBe(5000);
    // A second timeout of the same data keeps ssthresh.
    h.nextSegmentWithin(2000);
    expect(h.conn.info().ssthresh).toBe(5000);
  });
});

describe('RFC 6675 NextSeg rule (3)', () => {
  it('never resends data above the highest SACK block, which is still in flight', () => {
    const h = sender({ sack: true, config: RFC6675 });
    // Segment 0 lost, 1-8 SACKed, 9 still in flight; no new data to send and cwnd has room.
    h.send(dupack([[S(1), S(9)]]));
    expect(seqs(h.sent)).toEqual([S(0)]);
  });

  it('resends an unSACKed segment below the highest SACK block when nothing else can be sent', () => {
    const h = sender({ sack: true, config: { ...RFC6675, congestionControl: 'cubic' } });
    // Segment 0 lost; 1-3 and 5 SACKed: only 0 counts as lost (4 has 1 MSS SACKed above it).
    h.send(
      dupack([
        [S(5), S(6)],
        [S(1), S(4)],
      ]),
    );
    // cwnd = 7 segments; pipe = 6-9 in flight + 4 + the retransmission of 0: room for one more.
    expect(seqs(h.sent)).toEqual([S(0), S(4)]);
  });
});
