import { describe, expect, it } from 'vitest';
import { resetFor } from '../../../src/tcp/connection.js';
import { ACK, DATA, EngineHarness, FIN, LINUX_SYN_OPTIONS, SYN, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, toRepr } from '../../helpers/segments.js';

const ISS = 1000;
const PEER = 5000;

describe('closing', () => {
  it('active close: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT, and CLOSED after timeWaitMs', () => {
    const h = EngineHarness.established();
    h.conn.shutdown();
    expect(h.conn.state).toBe('FIN-WAIT-1');
    h.poll();
    h.expect({ flags: TCP_FIN | TCP_ACK, seq: ISS + 1, ack: PEER + 1 });
    h.send(ACK(PEER + 1, ISS + 2));
    expect(h.conn.state).toBe('FIN-WAIT-2');
    h.send(FIN(PEER + 1, ISS + 2));
    h.expect({ flags: TCP_ACK, seq: ISS + 2, ack: PEER + 2 });
    const t = h.now;
    h.runUntil(t + 60_000);
    expect(h.states()).toEqual(['FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSED']);
    expect(h.eventTypes()).toEqual(['fin-acked', 'peer-fin', 'closed']);
  });

  it('passive close: CLOSE-WAIT, LAST-ACK, then CLOSED when the FIN is acknowledged', () => {
    const h = EngineHarness.established();
    h.send(FIN(PEER + 1, ISS + 1));
    h.expect({ flags: TCP_ACK, ack: PEER + 2 });
    expect(h.conn.state).toBe('CLOSE-WAIT');
    h.conn.write(new Uint8Array(10));
    h.conn.shutdown();
    h.poll();
    h.expect({ flags: TCP_ACK | TCP_PSH | TCP_FIN, seq: ISS + 1, len: 10 });
    h.send(ACK(PEER + 2, ISS + 12));
    expect(h.states()).toEqual(['CLOSE-WAIT', 'LAST-ACK', 'CLOSED']);
    expect(h.eventTypes()).toEqual(['peer-fin', 'acked', 'fin-acked', 'closed']);
  });

  it('simultaneous close: FIN-WAIT-1, CLOSING, TIME-WAIT', () => {
    const h = EngineHarness.established();
    h.conn.shutdown();
    h.poll();
    h.expect({ flags: TCP_FIN | TCP_ACK });
    h.send(FIN(PEER + 1, ISS + 1));
    h.expect({ flags: TCP_ACK, seq: ISS + 2, ack: PEER + 2 });
    h.send(ACK(PEER + 2, ISS + 2));
    expect(h.states()).toEqual(['FIN-WAIT-1', 'CLOSING', 'TIME-WAIT']);
  });

  it('half-close: keeps receiving in FIN-WAIT-2 for as long as the peer sends', () => {
    const h = EngineHarness.established();
    h.conn.shutdown();
    h.poll();
    h.send(ACK(PEER + 1, ISS + 2));
    h.advance(600_000);
    expect(h.conn.state).toBe('FIN-WAIT-2');
    h.send(DATA(PEER + 1, ISS + 2, 100));
    expect(h.conn.readableLength).toBe(100);
    h.send(FIN(PEER + 101, ISS + 2));
    expect(h.conn.state).toBe('TIME-WAIT');
  });

  it('close() with unread data resets the connection', () => {
    const h = EngineHarness.established();
    h.send(DATA(PEER + 1, ISS + 1, 100));
    h.sent.length = 0;
    h.conn.close();
    h.expect({ flags: TCP_RST | TCP_ACK, seq: ISS + 1, ack: PEER + 101 });
    expect(h.conn.state).toBe('CLOSED');
    expect(h.eventTypes()).toEqual(['readable', 'closed']);
  });

  it('an orphaned connection leaves FIN-WAIT-2 after finWait2TimeoutMs', () => {
    const h = EngineHarness.established();
    h.conn.close();
    h.poll();
    h.expect({ flags: TCP_FIN | TCP_ACK });
    h.send(ACK(PEER + 1, ISS + 2));
    const t = h.now;
    h.runUntil(t + 59_999);
    expect(h.conn.state).toBe('FIN-WAIT-2');
    h.runUntil(t + 60_000);
    expect(h.conn.state).toBe('CLOSED');
    expect(h.eventTypes()).toEqual(['fin-acked', 'closed']);
    h.expectNothing();
  });

  it('restarts the FIN-WAIT-2 timer on every acceptable segment (reference §7.5.2)', () => {
    const h = EngineHarness.established();
    h.conn.close();
    h.poll();
    h.send(ACK(PEER + 1, ISS + 2));
    const t = h.now;
    h.advance(50_000);
    h.send(ACK(PEER + 1, ISS + 2));
    h.runUntil(t + 100_000);
    expect(h.conn.state).toBe('FIN-WAIT-2');
    h.runUntil(t + 110_000);
    expect(h.conn.state).toBe('CLOSED');
  });

  it('resets when data arrives after close() (RFC 1122 §4.2.2.13)', () => {
    const h = EngineHarness.established();
    h.conn.close();
    h.poll();
    h.expect({ flags: TCP_FIN | TCP_ACK });
    expect(h.send(DATA(PEER + 1, ISS + 2, 10))).toBe('tcp-closed');
    h.expect({ flags: TCP_RST | TCP_ACK, seq: ISS + 2 });
    expect(h.conn.state).toBe('CLOSED');
  });

  it('abort() sends <SEQ=SND.NXT><CTL=RST,ACK> and goes CLOSED without an error event', () => {
    const h = EngineHarness.established();
    h.conn.write(new Uint8Array(100));
    h.poll();
    h.sent.length = 0;
    h.conn.abort();
    h.expect({ flags: TCP_RST | TCP_ACK, seq: ISS + 101, ack: PEER + 1 });
    expect(h.eventTypes()).toEqual(['closed']);
    h.expectNothing(h.now + 10_000);
  });

  it('abort() in TIME-WAIT is silent', () => {
    const h = EngineHarness.established();
    h.conn.shutdown();
    h.poll();
    h.send(FIN(PEER + 1, ISS + 2));
    h.sent.length = 0;
    h.conn.abort();
    h.expectNothing();
    expect(h.conn.state).toBe('CLOSED');
  });

  it('in TIME-WAIT, admits a new SYN with a newer timestamp or a higher sequence number (RFC 6191)', () => {
    const h = EngineHarness.established({ peerOptions: { mss: 1460, timestamps: { tsVal: 500, tsEcr: 0 } } });
    h.conn.shutdown();
    h.poll();
    h.send(FIN(PEER + 1, ISS + 2, { options: { timestamps: { tsVal: 600, tsEcr: 0 } } }));
    expect(h.conn.state).toBe('TIME-WAIT');
    expect(h.conn.timeWaitAcceptsSyn(toRepr(SYN(PEER - 10, { timestamps: { tsVal: 601, tsEcr: 0 } })))).toBe(true);
    expect(h.conn.timeWaitAcceptsSyn(toRepr(SYN(PEER + 100, { timestamps: { tsVal: 599, tsEcr: 0 } })))).toBe(false);
    const plain = EngineHarness.established();
    plain.conn.shutdown();
    plain.poll();
    plain.send(FIN(PEER + 1, ISS + 2));
    expect(plain.conn.timeWaitAcceptsSyn(toRepr(SYN(PEER + 100)))).toBe(true);
    expect(plain.conn.timeWaitAcceptsSyn(toRepr(SYN(PEER)))).toBe(false);
    expect(plain.conn.timeWaitAcceptsSyn(toRepr(ACK(PEER + 100, ISS + 2)))).toBe(false);
  });
});

describe('RST for a segment that reaches no connection (RFC 9293 §3.10.7.1)', () => {
  it('answers a segment with ACK by <SEQ=SEG.ACK><CTL=RST>', () => {
    expect(resetFor(toRepr(ACK(100, 200)))).toEqual({ seqNumber: 200, ackNumber: 0, flags: TCP_RST });
  });

  it('answers a SYN by <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, counting SYN and FIN', () => {
    expect(resetFor(toRepr(SYN(100, LINUX_SYN_OPTIONS())))).toEqual({ seqNumber: 0, ackNumber: 101, flags: TCP_RST | TCP_ACK });
    expect(resetFor(toRepr({ seq: 100, flags: TCP_FIN | TCP_SYN, payload: 10 }))).toEqual({ seqNumber: 0, ackNumber: 112, flags: TCP_RST | TCP_ACK });
  });

  it('never answers an RST', () => {
    expect(resetFor(toRepr({ seq: 1, flags: TCP_RST | TCP_ACK, ack: 2 }))).toBeUndefined();
  });

  it('wraps SEG.SEQ + SEG.LEN modulo 2^32', () => {
    expect(resetFor(toRepr({ seq: 0xffffffff, flags: TCP_SYN }))?.ackNumber).toBe(0);
  });
});

describe('API misuse', () => {
  it('refuses to export a connection that is still opening', () => {
    const h = EngineHarness.connect();
    h.poll();
    expect(() => h.conn.exportState()).toThrow(/SYN-SENT/);
  });

  it('is inert after export: no transmissions, input refused, application calls rejected', () => {
    const h = EngineHarness.established();
    h.conn.write(new Uint8Array(10));
    h.conn.exportState();
    h.poll();
    h.expectNothing(h.now + 100_000);
    expect(h.conn.nextDeadline()).toBe(Infinity);
    expect(h.send(ACK(PEER + 1, ISS + 1))).toBe('tcp-closed');
    expect(() => h.conn.write(new Uint8Array(1))).toThrow(/detached/);
  });

  it('handshake packets keep their state when the SYN is ignored', () => {
    const h = EngineHarness.accept(SYN(PEER, { mss: 1460 }));
    h.poll();
    h.expect({ flags: TCP_SYN | TCP_ACK });
    h.conn.write(new Uint8Array(5));
    h.send(ACK(PEER + 1, ISS + 1));
    h.expect({ flags: TCP_ACK | TCP_PSH, len: 5 });
  });
});
