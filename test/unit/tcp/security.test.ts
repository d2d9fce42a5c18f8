import { describe, expect, it } from 'vitest';
import { ACK, DATA, EngineHarness, RST, SYN, TCP_ACK } from '../../helpers/segments.js';

const ISS = 1000;
const PEER = 5000;
const TS = (tsVal: number) => ({ options: { timestamps: { tsVal, tsEcr: 0 } } });

describe('RFC 5961 blind-attack mitigation', () => {
  it('challenges a blind in-window RST with an ACK and keeps the connection', () => {
    const h = EngineHarness.established();
    expect(h.send(RST(PEER + 3000))).toBe('tcp-rst-challenged');
    h.expect({ flags: TCP_ACK, seq: ISS + 1, ack: PEER + 1 });
    expect(h.conn.state).toBe('ESTABLISHED');
    expect(h.conn.info().challengeAcks).toBe(1);
  });

  it('accepts the RST the peer sends in reply to a challenge (exact RCV.NXT)', () => {
    const h = EngineHarness.established();
    h.send(RST(PEER + 3000));
    const challenge = h.expect({ flags: TCP_ACK });
    h.send(RST(challenge.ackNumber));
    expect(h.eventTypes()).toEqual(['error:ECONNRESET', 'closed']);
  });

  it('challenges a SYN in ESTABLISHED instead of resetting', () => {
    const h = EngineHarness.established();
    expect(h.send(SYN(PEER + 10))).toBe('tcp-syn-challenged');
    h.expect({ flags: TCP_ACK, ack: PEER + 1 });
    expect(h.conn.state).toBe('ESTABLISHED');
  });

  it('challenges ACKs too new or too old, and does not act on them', () => {
    const h = EngineHarness.established();
    h.conn.write(new Uint8Array(100));
    h.poll();
    h.sent.length = 0;
    expect(h.send(ACK(PEER + 1, ISS + 5000))).toBe('tcp-future-ack');
    h.expect({ flags: TCP_ACK });
    expect(h.send(ACK(PEER + 1, ISS - 100_000))).toBe('tcp-old-ack');
    h.expect({ flags: TCP_ACK });
    expect(h.conn.sendQueueLength).toBe(100);
  });

  it('drops the data of a segment whose ACK is unacceptable', () => {
    const h = EngineHarness.established();
    expect(h.send(DATA(PEER + 1, ISS + 5000, 10))).toBe('tcp-future-ack');
    expect(h.conn.readableLength).toBe(0);
  });

  it('sends at most challengeAckLimitPerSecond challenge ACKs per second', () => {
    const h = EngineHarness.established({ config: { challengeAckLimitPerSecond: 3 } });
    for (let i = 0; i < 10; i++) expect(h.send(RST(PEER + 100 + i))).toBe('tcp-rst-challenged');
    expect(h.sent.length).toBe(3);
    h.sent.length = 0;
    h.advance(999);
    h.send(RST(PEER + 200));
    expect(h.sent.length).toBe(0);
    h.advance(1);
    h.send(RST(PEER + 200));
    expect(h.sent.length).toBe(1);
    expect(h.conn.info().challengeAcks).toBe(4);
  });

  it('answers out-of-window segments without the challenge limit (RFC 9293 first check)', () => {
    const h = EngineHarness.established({ config: { challengeAckLimitPerSecond: 1 } });
    for (let i = 0; i < 5; i++) h.send(ACK(PEER - 100_000, ISS + 1));
    expect(h.sent.length).toBe(5);
  });
});

describe('PAWS (RFC 7323 §5)', () => {
  function withTimestamps() {
    const h = EngineHarness.established({ peerOptions: { mss: 1460, timestamps: { tsVal: 1000, tsEcr: 0 } } });
    h.send(DATA(PEER + 1, ISS + 1, 100, TS(2000)));
    h.advance(40);
    h.sent.length = 0;
    return h;
  }

  it('drops a segment whose TSval is older than TS.Recent and answers with an ACK', () => {
    const h = withTimestamps();
    expect(h.send(DATA(PEER + 101, ISS + 1, 100, TS(1500)))).toBe('tcp-paws-rejected');
    const a = h.expect({ flags: TCP_ACK, ack: PEER + 101 });
    expect(a.options.timestamps?.tsEcr).toBe(2000);
    expect(h.conn.readableLength).toBe(100);
  });

  it('tolerates a TSval one tick behind TS.Recent, as Linux does', () => {
    const h = withTimestamps();
    expect(h.send(DATA(PEER + 101, ISS + 1, 100, TS(1999)))).toBeUndefined();
  });

  it('does not apply PAWS to an RST', () => {
    const h = withTimestamps();
    expect(h.send({ ...RST(PEER + 101), ...TS(5) })).toBeUndefined();
    expect(h.conn.state).toBe('CLOSED');
  });

  it('treats TS.Recent as invalid after 24 days of idleness (RFC 7323 §5.5)', () => {
    const h = withTimestamps();
    h.clock.advance(25 * 24 * 3600 * 1000);
    expect(h.send(DATA(PEER + 101, ISS + 1, 100, TS(1500)))).toBeUndefined();
    expect(h.conn.readableLength).toBe(200);
  });

  it('compares timestamps modulo 2^32', () => {
    const h = EngineHarness.established({ peerOptions: { mss: 1460, timestamps: { tsVal: 0xfffffff0, tsEcr: 0 } } });
    expect(h.send(DATA(PEER + 1, ISS + 1, 100, TS(0x10)))).toBeUndefined();
    expect(h.send(DATA(PEER + 101, ISS + 1, 100, TS(0xffffff00)))).toBe('tcp-paws-rejected');
  });
});
