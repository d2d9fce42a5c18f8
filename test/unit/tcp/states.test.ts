/**
 * Each synchronized state against the segment variants of RFC 9293 §3.10.7.4 (with RFC 5961):
 * in-window data, data outside the window, SYN, exact and inexact RST, FIN, and ACKs outside
 * the acceptable range.
 */
import { describe, expect, it } from 'vitest';
import type { TcpState } from '../../../src/tcp/types.js';
import { ACK, DATA, EngineHarness, FIN, RST, SYN, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST } from '../../helpers/segments.js';

const ISS = 1000;
const PEER = 5000;

/**
 * A connection in `state`, with our send sequence at ISS+1 (+1 once our FIN is out) and the
 * peer's at PEER+1 (+1 once its FIN is in). Captured segments and events are cleared.
 */
function inState(state: TcpState): EngineHarness {
  const h = EngineHarness.established();
  switch (state) {
    case 'ESTABLISHED':
      break;
    case 'FIN-WAIT-1':
      h.conn.shutdown();
      h.poll();
      break;
    case 'FIN-WAIT-2':
      h.conn.shutdown();
      h.poll();
      h.send(ACK(PEER + 1, ISS + 2));
      break;
    case 'CLOSING':
      h.conn.shutdown();
      h.poll();
      h.send(FIN(PEER + 1, ISS + 1));
      break;
    case 'TIME-WAIT':
      h.conn.shutdown();
      h.poll();
      h.send(FIN(PEER + 1, ISS + 2));
      break;
    case 'CLOSE-WAIT':
      h.send(FIN(PEER + 1, ISS + 1));
      break;
    case 'LAST-ACK':
      h.send(FIN(PEER + 1, ISS + 1));
      h.conn.shutdown();
      h.poll();
      break;
    default:
      throw new Error(state);
  }
  expect(h.conn.state).toBe(state);
  h.sent.length = 0;
  h.events.length = 0;
  return h;
}

const ourNext = (s: TcpState): number => (['FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSING', 'TIME-WAIT', 'LAST-ACK'].includes(s) ? ISS + 2 : ISS + 1);
const peerNext = (s: TcpState): number => (['CLOSING', 'TIME-WAIT', 'CLOSE-WAIT', 'LAST-ACK'].includes(s) ? PEER + 2 : PEER + 1);
/** The ACK the peer sends when it has not seen our FIN yet (states where it is unacknowledged use ISS+1). */
const peerAck = (s: TcpState): number => (['FIN-WAIT-2', 'TIME-WAIT'].includes(s) ? ISS + 2 : ISS + 1);

const ALL: TcpState[] = ['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT'];

describe('segment acceptability in every synchronized state', () => {
  for (const state of ALL) {
    describe(state, () => {
      it('challenges a SYN in the window with an ACK (RFC 5961 §4)', () => {
        const h = inState(state);
        expect(h.send(SYN(peerNext(state)))).toBe('tcp-syn-challenged');
        h.expect({ flags: TCP_ACK, seq: ourNext(state), ack: peerNext(state) });
        expect(h.conn.state).toBe(state);
      });

      it('answers a SYN outside the window with an ACK', () => {
        const h = inState(state);
        expect(h.send(SYN(PEER - 100_000))).toBe('tcp-outside-window');
        h.expect({ flags: TCP_ACK, ack: peerNext(state) });
        expect(h.conn.state).toBe(state);
      });

      it('challenges an in-window RST that is not exactly RCV.NXT', () => {
        const h = inState(state);
        expect(h.send(RST(peerNext(state) + 10))).toBe('tcp-rst-challenged');
        h.expect({ flags: TCP_ACK, ack: peerNext(state) });
        expect(h.conn.state).toBe(state);
      });

      it('ignores an RST outside the window without replying', () => {
        const h = inState(state);
        expect(h.send(RST(peerNext(state) + 200_000))).toBe('tcp-rst-outside-window');
        h.expectNothing();
        expect(h.conn.state).toBe(state);
      });

      it('closes on an RST at exactly RCV.NXT', () => {
        const h = inState(state);
        expect(h.send(RST(peerNext(state)))).toBeUndefined();
        expect(h.conn.state).toBe('CLOSED');
        const reportsReset = ['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT'].includes(state);
        expect(h.eventTypes()).toEqual(reportsReset ? ['error:ECONNRESET', 'closed'] : ['closed']);
        h.expectNothing(h.now + 100_000);
      });

      it('answers a segment left of the window with an ACK and drops it', () => {
        const h = inState(state);
        expect(h.send(ACK(peerNext(state) - 50_000, peerAck(state)))).toBe('tcp-outside-window');
        h.expect({ flags: TCP_ACK, ack: peerNext(state) });
      });

      it('drops a segment without the ACK bit', () => {
        const h = inState(state);
        expect(h.send({ seq: peerNext(state), flags: 0 })).toBe('tcp-bad-flags');
        h.expectNothing();
      });

      it('challenges an ACK of data never sent (above SND.NXT)', () => {
        const h = inState(state);
        expect(h.send(ACK(peerNext(state), ourNext(state) + 1000))).toBe('tcp-future-ack');
        h.expect({ flags: TCP_ACK, seq: ourNext(state), ack: peerNext(state) });
      });

      it('challenges an ACK older than SND.UNA - MAX.SND.WND', () => {
        const h = inState(state);
        expect(h.send(ACK(peerNext(state), ISS - 200_000))).toBe('tcp-old-ack');
        h.expect({ flags: TCP_ACK });
      });
    });
  }
});

describe('data and FIN by state', () => {
  for (const state of ['ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2'] as const) {
    it(`${state} accepts in-order data`, () => {
      const h = inState(state);
      expect(h.send(DATA(PEER + 1, peerAck(state), 100))).toBeUndefined();
      expect(h.conn.readableLength).toBe(100);
      expect(h.eventTypes()).toEqual(['readable']);
    });
  }

  for (const state of ['CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT'] as const) {
    it(`${state} ignores data beyond the peer's FIN`, () => {
      const h = inState(state);
      h.send(DATA(PEER + 2, peerAck(state), 100));
      expect(h.conn.readableLength).toBe(0);
      expect(h.conn.state).toBe(state);
    });
  }

  it('ESTABLISHED goes to CLOSE-WAIT on a FIN and acknowledges it at once', () => {
    const h = inState('ESTABLISHED');
    h.send(FIN(PEER + 1, ISS + 1));
    expect(h.conn.state).toBe('CLOSE-WAIT');
    expect(h.eventTypes()).toEqual(['peer-fin']);
    h.expect({ flags: TCP_ACK, ack: PEER + 2 });
  });

  it('FIN-WAIT-1 goes to CLOSING on a FIN that does not acknowledge ours', () => {
    const h = inState('FIN-WAIT-1');
    h.send(FIN(PEER + 1, ISS + 1));
    expect(h.conn.state).toBe('CLOSING');
    h.expect({ flags: TCP_ACK, ack: PEER + 2 });
  });

  it('FIN-WAIT-1 goes straight to TIME-WAIT on a FIN that acknowledges ours', () => {
    const h = inState('FIN-WAIT-1');
    h.send(FIN(PEER + 1, ISS + 2));
    expect(h.states()).toEqual(['FIN-WAIT-2', 'TIME-WAIT']);
    expect(h.eventTypes()).toEqual(['fin-acked', 'peer-fin']);
  });

  it('CLOSING goes to TIME-WAIT when our FIN is acknowledged', () => {
    const h = inState('CLOSING');
    h.send(ACK(PEER + 2, ISS + 2));
    expect(h.conn.state).toBe('TIME-WAIT');
    expect(h.eventTypes()).toEqual(['fin-acked']);
  });

  it('LAST-ACK goes to CLOSED when our FIN is acknowledged', () => {
    const h = inState('LAST-ACK');
    h.send(ACK(PEER + 2, ISS + 2));
    expect(h.conn.state).toBe('CLOSED');
    expect(h.eventTypes()).toEqual(['fin-acked', 'closed']);
  });

  it('TIME-WAIT acknowledges a retransmitted FIN and restarts its 2 MSL timer', () => {
    const h = inState('TIME-WAIT');
    const t0 = h.now;
    h.advance(30_000);
    expect(h.send(FIN(PEER + 1, ISS + 2))).toBe('tcp-outside-window');
    h.expect({ flags: TCP_ACK, seq: ISS + 2, ack: PEER + 2 });
    h.runUntil(t0 + 60_000);
    expect(h.conn.state).toBe('TIME-WAIT');
    h.runUntil(t0 + 90_000);
    expect(h.conn.state).toBe('CLOSED');
    expect(h.eventTypes()).toEqual(['closed']);
  });

  it('TIME-WAIT lasts timeWaitMs, then CLOSED with a closed event', () => {
    const h = inState('TIME-WAIT');
    const t0 = h.now;
    h.runUntil(t0 + 59_999);
    expect(h.conn.state).toBe('TIME-WAIT');
    h.runUntil(t0 + 60_000);
    expect(h.conn.state).toBe('CLOSED');
    expect(h.eventTypes()).toEqual(['closed']);
  });

  it('input after CLOSED is refused with tcp-closed', () => {
    const h = inState('LAST-ACK');
    h.send(ACK(PEER + 2, ISS + 2));
    expect(h.send(ACK(PEER + 2, ISS + 2))).toBe('tcp-closed');
    h.expectNothing();
  });

  it('ESTABLISHED answers data right of the window with an ACK and drops it', () => {
    const h = inState('ESTABLISHED');
    expect(h.send(DATA(PEER + 1 + 2_000_000, ISS + 1, 10))).toBe('tcp-outside-window');
    h.expect({ flags: TCP_ACK, ack: PEER + 1 });
    expect(h.conn.readableLength).toBe(0);
  });

  it('ESTABLISHED processes an old but acceptable ACK and keeps the data', () => {
    const h = inState('ESTABLISHED');
    h.conn.write(new Uint8Array(100));
    h.poll();
    h.expect({ len: 100 });
    h.send(ACK(PEER + 1, ISS + 101));
    // An ACK below SND.UNA (but within MAX.SND.WND) is a duplicate: ignored, its data accepted.
    expect(h.send(DATA(PEER + 1, ISS + 50, 10))).toBeUndefined();
    expect(h.conn.readableLength).toBe(10);
  });

  it('a FIN beyond a hole takes effect when the hole fills', () => {
    const h = inState('ESTABLISHED');
    h.send({ ...DATA(PEER + 11, ISS + 1, 10), flags: TCP_ACK | TCP_FIN });
    expect(h.conn.state).toBe('ESTABLISHED');
    h.sent.length = 0;
    h.send(DATA(PEER + 1, ISS + 1, 10));
    expect(h.conn.state).toBe('CLOSE-WAIT');
    expect(h.conn.readableLength).toBe(20);
    h.expect({ flags: TCP_ACK, ack: PEER + 22 });
  });
});
