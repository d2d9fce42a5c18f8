import { describe, expect, it } from 'vitest';
import { ACK, DATA, EngineHarness, FIN, LINUX_SYN_OPTIONS, RST, RST_ACK, SYN, SYN_ACK, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../helpers/segments.js';

const ISS = 1000;
const PEER = 5000;

describe('active open (SYN-SENT)', () => {
  it('sends nothing until the first poll', () => {
    const h = EngineHarness.connect();
    h.expectNothing();
    expect(h.conn.state).toBe('SYN-SENT');
    expect(h.events).toEqual([]);
  });

  it('sends a SYN with MSS, SACK-permitted, timestamps and a window scale sized to the buffer', () => {
    const h = EngineHarness.connect();
    h.poll();
    const s = h.expect({ flags: TCP_SYN, seq: ISS, ack: 0, window: 65535, len: 0 });
    expect(s.options.mss).toBe(1460);
    expect(s.options.sackPermitted).toBe(true);
    expect(s.options.windowScale).toBe(5); // 1 MiB needs 2^5 units in a 16-bit field
    expect(s.options.timestamps?.tsEcr).toBe(0);
  });

  it('answers a SYN-ACK with a bare ACK on the next poll, not from input', () => {
    const h = EngineHarness.connect();
    h.poll();
    h.expect({ flags: TCP_SYN });
    expect(h.send(SYN_ACK(PEER, ISS + 1, { mss: 1460 }), false)).toBeUndefined();
    expect(h.sent).toEqual([]);
    expect(h.conn.state).toBe('ESTABLISHED');
    expect(h.eventTypes()).toEqual(['established']);
    h.poll();
    h.expect({ flags: TCP_ACK, seq: ISS + 1, ack: PEER + 1, len: 0 });
  });

  it('sends the handshake ACK after the delayed-ACK timer fires at once when no poll comes', () => {
    const h = EngineHarness.connect();
    h.poll();
    h.expect({ flags: TCP_SYN });
    h.send(SYN_ACK(PEER, ISS + 1, { mss: 1460 }), false);
    h.advance(0);
    h.expect({ flags: TCP_ACK, ack: PEER + 1 });
  });

  it('piggybacks the handshake ACK on data written before the poll', () => {
    const h = EngineHarness.connect();
    h.poll();
    h.expect({ flags: TCP_SYN });
    h.send(SYN_ACK(PEER, ISS + 1, { mss: 1460 }), false);
    h.conn.write(new Uint8Array(100));
    h.poll();
    h.expect({ flags: TCP_ACK | TCP_PSH, seq: ISS + 1, ack: PEER + 1, len: 100 });
    h.expectNothing();
  });

  it('resets a SYN-ACK whose ACK does not cover its SYN (SEG.ACK =< ISS)', () => {
    const h = EngineHarness.connect();
    h.poll();
    h.expect({ flags: TCP_SYN });
    expect(h.send(SYN_ACK(PEER, ISS))).toBe('tcp-old-ack');
    h.expect({ flags: TCP_RST, seq: ISS });
    expect(h.conn.state).toBe('SYN-SENT');
  });

  it('resets an ACK above SND.NXT', () => {
    const h = EngineHarness.connect();
    h.poll();
    h.expect({ flags: TCP_SYN });
    expect(h.send(ACK(PEER, ISS + 10))).toBe('tcp-future-ack');
    h.expect({ flags: TCP_RST, seq: ISS + 10 });
  });

  it('reports ECONNREFUSED for an RST with an acceptable ACK', () => {
    const h = EngineHarness.connect();
    h.poll();
    h.expect({ flags: TCP_SYN });
    expect(h.send(RST_ACK(0, ISS + 1))).toBeUndefined();
    expect(h.conn.state).toBe('CLOSED');
    expect(h.eventTypes()).toEqual(['error:ECONNREFUSED', 'closed']);
    h.expectNothing(h.now + 10_000);
  });

  it('ignores an RST without an ACK', () => {
    const h = EngineHarness.connect();
    h.poll();
    h.expect({ flags: TCP_SYN });
    expect(h.send(RST(0))).toBe('tcp-rst-outside-window');
    expect(h.conn.state).toBe('SYN-SENT');
    h.expectNothing();
  });

  it('ignores, without replying, an RST whose ACK is unacceptable', () => {
    const h = EngineHarness.connect();
    h.poll();
    h.expect({ flags: TCP_SYN });
    expect(h.send(RST_ACK(0, ISS + 5))).toBe('tcp-rst-outside-window');
    h.expectNothing();
    expect(h.conn.state).toBe('SYN-SENT');
  });

  it('drops an acceptable ACK that carries neither SYN nor RST', () => {
    const h = EngineHarness.connect();
    h.poll();
    h.expect({ flags: TCP_SYN });
    expect(h.send(ACK(PEER, ISS + 1))).toBe('tcp-bad-flags');
    h.expectNothing();
  });

  it('retransmits the SYN after 1, 2, 4, 8, 16 and 32 s, then fails with ETIMEDOUT', () => {
    const h = EngineHarness.connect();
    const t0 = h.now;
    h.poll();
    h.expect({ flags: TCP_SYN });
    const times: number[] = [];
    for (let i = 0; i < 6; i++) times.push(h.nextSegmentWithin(100_000).at - t0);
    expect(times).toEqual([1000, 3000, 7000, 15000, 31000, 63000]);
    h.runUntil(t0 + 126_999);
    expect(h.conn.state).toBe('SYN-SENT');
    h.runUntil(t0 + 127_000);
    expect(h.conn.state).toBe('CLOSED');
    expect(h.eventTypes()).toEqual(['error:ETIMEDOUT', 'closed']);
    h.expectNothing(t0 + 500_000);
  });

  it('starts with a one-segment window after its SYN was retransmitted (RFC 5681 §3.1)', () => {
    const h = EngineHarness.connect();
    h.poll();
    h.expect({ flags: TCP_SYN });
    h.nextSegmentWithin(1000);
    h.send(SYN_ACK(PEER, ISS + 1, { mss: 1460 }));
    h.expect({ flags: TCP_ACK });
    h.conn.write(new Uint8Array(10_000));
    h.poll();
    h.expect({ len: 1460 });
    h.expectNothing();
    expect(h.conn.info().cwnd).toBe(1460);
  });

  it('treats a SYN without ACK as a simultaneous open: SYN-ACK, then ESTABLISHED on the ACK', () => {
    const h = EngineHarness.connect();
    h.poll();
    h.expect({ flags: TCP_SYN, seq: ISS });
    expect(h.send(SYN(PEER, { mss: 1460 }))).toBeUndefined();
    expect(h.conn.state).toBe('SYN-RECEIVED');
    h.expect({ flags: TCP_SYN | TCP_ACK, seq: ISS, ack: PEER + 1 });
    h.send(ACK(PEER + 1, ISS + 1));
    expect(h.conn.state).toBe('ESTABLISHED');
    expect(h.states()).toEqual(['SYN-RECEIVED', 'ESTABLISHED']);
    h.expectNothing();
  });

  it('reports ECONNREFUSED for an exact RST in a simultaneous open', () => {
    const h = EngineHarness.connect();
    h.poll();
    h.expect({ flags: TCP_SYN });
    h.send(SYN(PEER, { mss: 1460 }));
    h.expect({ flags: TCP_SYN | TCP_ACK });
    h.send(RST(PEER + 1));
    expect(h.eventTypes()).toEqual(['error:ECONNREFUSED', 'closed']);
  });

  it('accepts data carried by the SYN-ACK', () => {
    const h = EngineHarness.connect();
    h.poll();
    h.expect({ flags: TCP_SYN });
    h.send({ ...SYN_ACK(PEER, ISS + 1, { mss: 1460 }), payload: 10 });
    expect(h.conn.readableLength).toBe(10);
    h.expect({ flags: TCP_ACK, ack: PEER + 11 });
  });

  it('queues a shutdown requested in SYN-SENT and sends the FIN once established', () => {
    const h = EngineHarness.connect();
    h.poll();
    h.expect({ flags: TCP_SYN });
    h.conn.shutdown();
    expect(h.conn.state).toBe('SYN-SENT');
    h.send(SYN_ACK(PEER, ISS + 1, { mss: 1460 }));
    expect(h.conn.state).toBe('FIN-WAIT-1');
    h.expect({ flags: TCP_FIN | TCP_ACK, seq: ISS + 1, ack: PEER + 1 });
  });

  it('forgets the connection without a segment when closed in SYN-SENT', () => {
    const h = EngineHarness.connect();
    h.poll();
    h.expect({ flags: TCP_SYN });
    h.conn.close();
    expect(h.conn.state).toBe('CLOSED');
    expect(h.eventTypes()).toEqual(['closed']);
    h.expectNothing(h.now + 10_000);
  });

  it('fails at once with the ICMP error while the SYN is unanswered', () => {
    const h = EngineHarness.connect();
    h.poll();
    h.expect({ flags: TCP_SYN });
    h.conn.icmpUnreachable('EHOSTUNREACH');
    expect(h.eventTypes()).toEqual(['error:EHOSTUNREACH', 'closed']);
  });
});

describe('passive open (SYN-RECEIVED)', () => {
  const accept = (options = LINUX_SYN_OPTIONS(), cfg = {}) => EngineHarness.accept(SYN(PEER, options), { config: cfg });

  it('answers on poll with a SYN-ACK carrying the options both sides support', () => {
    const h = accept();
    expect(h.conn.state).toBe('SYN-RECEIVED');
    h.expectNothing();
    h.poll();
    const s = h.expect({ flags: TCP_SYN | TCP_ACK, seq: ISS, ack: PEER + 1, window: 65535 });
    expect(s.options.mss).toBe(1460);
    expect(s.options.sackPermitted).toBe(true);
    expect(s.options.windowScale).toBe(5);
    expect(s.options.timestamps?.tsEcr).toBe(1000);
  });

  it('moves to ESTABLISHED on the ACK of its SYN and raises established', () => {
    const h = accept({ mss: 1460 });
    h.poll();
    h.expect({ flags: TCP_SYN | TCP_ACK });
    expect(h.send(ACK(PEER + 1, ISS + 1))).toBeUndefined();
    expect(h.conn.state).toBe('ESTABLISHED');
    expect(h.eventTypes()).toEqual(['established']);
    h.expectNothing();
  });

  it('resets an ACK that does not acknowledge its SYN', () => {
    const h = accept({ mss: 1460 });
    h.poll();
    h.expect({ flags: TCP_SYN | TCP_ACK });
    expect(h.send(ACK(PEER + 1, ISS + 7))).toBe('tcp-future-ack');
    h.expect({ flags: TCP_RST, seq: ISS + 7 });
    expect(h.send(ACK(PEER + 1, ISS))).toBe('tcp-old-ack');
    h.expect({ flags: TCP_RST, seq: ISS });
    expect(h.conn.state).toBe('SYN-RECEIVED');
  });

  it('answers a retransmitted SYN with its SYN-ACK again', () => {
    const h = accept({ mss: 1460 });
    h.poll();
    h.expect({ flags: TCP_SYN | TCP_ACK });
    expect(h.send(SYN(PEER, { mss: 1460 }))).toBe('tcp-outside-window');
    h.expect({ flags: TCP_SYN | TCP_ACK, seq: ISS, ack: PEER + 1 });
  });

  it('goes away silently on an exact RST (the listener never saw it)', () => {
    const h = accept({ mss: 1460 });
    h.poll();
    h.expect({ flags: TCP_SYN | TCP_ACK });
    h.send(RST(PEER + 1));
    expect(h.conn.state).toBe('CLOSED');
    expect(h.eventTypes()).toEqual(['closed']);
  });

  it('challenges an in-window RST that is not exact', () => {
    const h = accept({ mss: 1460 });
    h.poll();
    h.expect({ flags: TCP_SYN | TCP_ACK });
    expect(h.send(RST(PEER + 100))).toBe('tcp-rst-challenged');
    h.expect({ flags: TCP_SYN | TCP_ACK, ack: PEER + 1 });
    expect(h.conn.state).toBe('SYN-RECEIVED');
  });

  it('retransmits the SYN-ACK with backoff and gives up after synRetries', () => {
    const h = accept({ mss: 1460 }, { synRetries: 2 });
    const t0 = h.now;
    h.poll();
    h.expect({ flags: TCP_SYN | TCP_ACK });
    expect(h.nextSegmentWithin(5000).at - t0).toBe(1000);
    expect(h.nextSegmentWithin(5000).at - t0).toBe(3000);
    h.runUntil(t0 + 7000);
    expect(h.eventTypes()).toEqual(['error:ETIMEDOUT', 'closed']);
  });

  it('delivers data carried by the ACK that completes the handshake', () => {
    const h = accept({ mss: 1460 });
    h.poll();
    h.expect({ flags: TCP_SYN | TCP_ACK });
    h.send(DATA(PEER + 1, ISS + 1, 50));
    expect(h.conn.state).toBe('ESTABLISHED');
    expect(h.conn.readableLength).toBe(50);
    expect(h.eventTypes()).toEqual(['established', 'readable']);
  });

  it('moves to CLOSE-WAIT when the completing ACK carries a FIN', () => {
    const h = accept({ mss: 1460 });
    h.poll();
    h.expect({ flags: TCP_SYN | TCP_ACK });
    h.send(FIN(PEER + 1, ISS + 1));
    expect(h.conn.state).toBe('CLOSE-WAIT');
    h.expect({ flags: TCP_ACK, ack: PEER + 2 });
  });

  it('ignores data in the SYN (no TCP Fast Open): the ACK covers only the SYN', () => {
    const h = EngineHarness.accept({ ...SYN(PEER, { mss: 1460 }), payload: 20 });
    h.poll();
    h.expect({ flags: TCP_SYN | TCP_ACK, ack: PEER + 1 });
  });

  it('drops a segment without ACK after the SYN', () => {
    const h = accept({ mss: 1460 });
    h.poll();
    h.expect({ flags: TCP_SYN | TCP_ACK });
    expect(h.send({ seq: PEER + 1, flags: TCP_PSH, payload: 5 })).toBe('tcp-bad-flags');
    h.expectNothing();
  });
});
