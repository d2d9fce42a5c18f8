import { describe, expect, it } from 'vitest';
import { ACK, EngineHarness, SYN_ACK, TCP_ACK, TCP_FIN, TCP_SYN } from '../../helpers/segments.js';

const ISS = 1000;
const PEER = 5000;

/** Established with the SYN-ACK arriving `rttMs` after the SYN (one RTT sample of rttMs). */
function withRtt(rttMs: number, o: { config?: object; timestamps?: boolean } = {}): EngineHarness {
  const h = EngineHarness.connect({ config: o.config ?? {} });
  h.poll();
  const syn = h.expect({ flags: TCP_SYN });
  h.advance(rttMs);
  const ts = o.timestamps ? { timestamps: { tsVal: 1, tsEcr: syn.options.timestamps?.tsVal ?? 0 } } : {};
  h.send(SYN_ACK(PEER, ISS + 1, { mss: 1000, ...ts }));
  h.expect({ flags: TCP_ACK });
  h.events.length = 0;
  return h;
}

describe('retransmission timer (RFC 6298)', () => {
  it('computes RTO = SRTT + 4 RTTVAR from the first sample (RFC 6298 §2.2)', () => {
    const h = withRtt(100);
    expect(h.conn.info().srttMs).toBe(100);
    expect(h.conn.info().rttvarMs).toBe(50);
    expect(h.conn.info().rtoMs).toBe(300);
  });

  it('never uses an RTO below rtoMinMs', () => {
    const h = withRtt(10);
    expect(h.conn.info().rtoMs).toBe(200);
  });

  it('updates SRTT and RTTVAR with gains 1/8 and 1/4 (RFC 6298 §2.3)', () => {
    const h = withRtt(100);
    h.conn.write(new Uint8Array(100));
    h.poll();
    h.expect({ len: 100 });
    h.advance(200);
    h.send(ACK(PEER + 1, ISS + 101));
    // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5
    expect(h.conn.info().rttvarMs).toBe(62.5);
    expect(h.conn.info().srttMs).toBe(112.5);
    expect(h.conn.info().rtoMs).toBe(362.5);
  });

  it('retransmits the first unacknowledged segment at the RTO and doubles it each time', () => {
    const h = withRtt(100);
    const t0 = h.now;
    h.conn.write(new Uint8Array(3000));
    h.poll();
    expect(h.sent.length).toBe(3);
    h.sent.length = 0;
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const s = h.nextSegmentWithin(10_000);
      expect(s.seqNumber).toBe(ISS + 1);
      expect(s.payload.length).toBe(1000);
      times.push(s.at - t0);
    }
    expect(times).toEqual([300, 900, 2100, 4500]);
    expect(h.conn.info().timeouts).toBe(4);
  });

  it('restarts the timer on an ACK of new data and stops it when everything is acknowledged', () => {
    const h = withRtt(100);
    const t0 = h.now;
    h.conn.write(new Uint8Array(2000));
    h.poll();
    h.sent.length = 0;
    h.advance(250);
    h.send(ACK(PEER + 1, ISS + 1001));
    expect(h.conn.nextDeadline()).toBeGreaterThan(t0 + 300);
    h.send(ACK(PEER + 1, ISS + 2001));
    expect(h.conn.nextDeadline()).toBe(Infinity);
  });

  it('takes no RTT sample from an ACK of retransmitted data without timestamps (Karn)', () => {
    const h = withRtt(100);
    h.conn.write(new Uint8Array(1000));
    h.poll();
    h.expect({ len: 1000 });
    h.nextSegmentWithin(1000);
    h.advance(50);
    h.send(ACK(PEER + 1, ISS + 1001));
    expect(h.conn.info().srttMs).toBe(100);
    // The backed-off RTO stays until a valid sample.
    expect(h.conn.info().rtoMs).toBe(600);
  });

  it('samples the RTT from the echoed timestamp of the retransmission', () => {
    const h = withRtt(100, { timestamps: true });
    h.conn.write(new Uint8Array(988));
    h.poll();
    h.sent.length = 0;
    const rtx = h.nextSegmentWithin(1000);
    h.advance(60);
    h.send(ACK(PEER + 1, ISS + 989, { options: { timestamps: { tsVal: 2, tsEcr: rtx.options.timestamps?.tsVal as number } } }));
    // SRTT = 7/8 * 100 + 1/8 * 60
    expect(h.conn.info().srttMs).toBe(95);
    expect(h.conn.info().rtoMs).toBeLessThan(600);
  });

  it('ignores an echo older than the latest retransmission while recovering (ambiguous sample)', () => {
    const h = withRtt(100, { timestamps: true });
    // 988 payload bytes: an MSS of 1000 less the timestamps option.
    h.conn.write(new Uint8Array(988));
    h.poll();
    const original = h.expect({ len: 988 });
    h.nextSegmentWithin(1000);
    h.advance(5000);
    h.send(ACK(PEER + 1, ISS + 989, { options: { timestamps: { tsVal: 2, tsEcr: original.options.timestamps?.tsVal as number } } }));
    expect(h.conn.info().srttMs).toBe(100);
  });

  it('gives up with ETIMEDOUT after maxRetransmits retransmissions', () => {
    const h = withRtt(100, { config: { maxRetransmits: 3 } });
    const t0 = h.now;
    h.conn.write(new Uint8Array(10));
    h.poll();
    h.runUntil(t0 + 300 + 600 + 1200 + 2399);
    expect(h.conn.state).toBe('ESTABLISHED');
    expect(h.conn.info().retransmits).toBe(3);
    h.runUntil(t0 + 300 + 600 + 1200 + 2400);
    expect(h.conn.state).toBe('CLOSED');
    expect(h.eventTypes()).toEqual(['error:ETIMEDOUT', 'closed']);
  });

  it('reports an earlier ICMP soft error instead of ETIMEDOUT (Linux sk_err_soft)', () => {
    const h = withRtt(100, { config: { maxRetransmits: 1 } });
    h.conn.write(new Uint8Array(10));
    h.poll();
    h.conn.icmpUnreachable('EHOSTUNREACH');
    expect(h.conn.state).toBe('ESTABLISHED');
    h.advance(10_000);
    expect(h.eventTypes()).toEqual(['error:EHOSTUNREACH', 'closed']);
  });

  it('caps the backed-off RTO at rtoMaxMs', () => {
    const h = withRtt(100, { config: { rtoMaxMs: 1000, maxRetransmits: 10 } });
    const t0 = h.now;
    h.conn.write(new Uint8Array(10));
    h.poll();
    h.sent.length = 0;
    const times: number[] = [];
    for (let i = 0; i < 5; i++) times.push(h.nextSegmentWithin(5000).at - t0);
    expect(times).toEqual([300, 900, 1900, 2900, 3900]);
  });

  it('resends the flight by slow start after a timeout (go-back-N from SND.UNA)', () => {
    const h = withRtt(100);
    h.conn.write(new Uint8Array(5000));
    h.poll();
    expect(h.sent.length).toBe(5);
    h.sent.length = 0;
    h.nextSegmentWithin(1000);
    expect(h.conn.info().cwnd).toBe(1000);
    h.expectNothing();
    h.send(ACK(PEER + 1, ISS + 1001));
    // cwnd 2: the next two segments are resent.
    h.expect({ seq: ISS + 1001, len: 1000 });
    h.expect({ seq: ISS + 2001, len: 1000 });
    h.expectNothing();
    expect(h.conn.info().caState).toBe('loss');
  });

  it('retransmits a lost FIN on its own', () => {
    const h = withRtt(100);
    h.conn.shutdown();
    h.poll();
    h.expect({ flags: TCP_ACK | TCP_FIN, seq: ISS + 1 });
    const r = h.nextSegmentWithin(1000);
    expect(r.flags).toBe(TCP_ACK | TCP_FIN);
    expect(r.seqNumber).toBe(ISS + 1);
    h.send(ACK(PEER + 1, ISS + 2));
    expect(h.conn.state).toBe('FIN-WAIT-2');
  });
});
