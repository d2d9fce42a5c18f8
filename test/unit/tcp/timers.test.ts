import { describe, expect, it } from 'vitest';
import { ACK, DATA, EngineHarness, TCP_ACK, TCP_RST } from '../../helpers/segments.js';

const ISS = 1000;
const PEER = 5000;

describe('zero-window probing (persist timer, reference §7.5.4)', () => {
  /** A sender whose peer has acknowledged everything sent and closed its window; RTO is 200 ms. */
  function blocked(config = {}) {
    const h = EngineHarness.established({ peerWindow: 2920, config });
    h.conn.write(new Uint8Array(5000));
    h.poll();
    h.expect({ len: 1460 });
    h.expect({ len: 1460 });
    h.send(ACK(PEER + 1, ISS + 2921, { window: 0 }));
    h.expectNothing();
    h.events.length = 0;
    return h;
  }

  it('probes with <SEQ=SND.UNA-1> after one RTO, then backs off RTO << Count', () => {
    const h = blocked();
    const t0 = h.now;
    expect(h.conn.nextDeadline()).toBe(t0 + 200);
    const at: number[] = [];
    for (let i = 0; i < 4; i++) {
      const p = h.nextSegmentWithin(5000);
      expect(p.seqNumber).toBe(ISS + 2920);
      expect(p.payload.length).toBe(0);
      expect(p.flags).toBe(TCP_ACK);
      at.push(p.at - t0);
    }
    expect(at).toEqual([200, 400, 800, 1600]);
    expect(h.conn.info().zeroWindowProbes).toBe(4);
  });

  it('starts the next round with RTO << SndWndProbeCount when a probe is answered with a zero window', () => {
    const h = blocked();
    const t0 = h.now;
    h.nextSegmentWithin(1000);
    h.advance(10);
    h.send(ACK(PEER + 1, ISS + 2921, { window: 0 }));
    // Round 1: wait 2 RTO, then probes every RTO << Count (200, 400, ...).
    const at: number[] = [];
    for (let i = 0; i < 3; i++) at.push(h.nextSegmentWithin(5000).at - t0);
    expect(at).toEqual([210 + 400, 210 + 400 + 200, 210 + 400 + 200 + 400]);
  });

  it('resumes sending as soon as the window opens', () => {
    const h = blocked();
    h.nextSegmentWithin(1000);
    h.send(ACK(PEER + 1, ISS + 2921, { window: 5000 }));
    h.expect({ seq: ISS + 2921, len: 1460 });
    h.expect({ seq: ISS + 4381, len: 620 });
    expect(h.conn.info().zeroWindowProbes).toBe(1);
  });

  it('fails with ETIMEDOUT when the probes of one round exceed maxRetransmits', () => {
    const h = blocked({ maxRetransmits: 2 });
    h.advance(200 + 200 + 400 + 800 + 1);
    expect(h.eventTypes()).toEqual(['error:ETIMEDOUT', 'closed']);
  });

  it('sends what a small window admits when the persist timer fires (SWS override)', () => {
    const h = blocked();
    // A 100-byte window: too small to send under SWS avoidance (under half of 2920).
    h.send(ACK(PEER + 1, ISS + 2921, { window: 100 }));
    h.expectNothing();
    const p = h.nextSegmentWithin(1000);
    expect(p.seqNumber).toBe(ISS + 2921);
    expect(p.payload.length).toBe(100);
  });
});

describe('keepalive (RFC 1122 §4.2.3.6)', () => {
  const KA = { keepAlive: { enabled: true, idleMs: 10_000, intervalMs: 1000, probes: 3 } };

  it('probes after the idle time, every interval, and gives up with RST and ETIMEDOUT', () => {
    const h = EngineHarness.established({ config: KA });
    const t0 = h.now;
    const at: number[] = [];
    for (let i = 0; i < 3; i++) {
      const p = h.nextSegmentWithin(20_000);
      expect(p.seqNumber).toBe(ISS);
      expect(p.payload.length).toBe(0);
      at.push(p.at - t0);
    }
    expect(at).toEqual([10_000, 11_000, 12_000]);
    h.runUntil(t0 + 13_000);
    h.expect({ flags: TCP_RST | TCP_ACK, seq: ISS + 1 });
    expect(h.eventTypes()).toEqual(['error:ETIMEDOUT', 'closed']);
    expect(h.conn.info().keepAliveProbes).toBe(3);
  });

  it('starts a fresh idle period when a probe is answered', () => {
    const h = EngineHarness.established({ config: KA });
    const t0 = h.now;
    h.nextSegmentWithin(20_000);
    h.advance(50);
    h.send(ACK(PEER + 1, ISS + 1));
    expect(h.nextSegmentWithin(20_000).at - t0).toBe(10_050 + 10_000);
  });

  it('counts any received segment as activity', () => {
    const h = EngineHarness.established({ config: KA });
    const t0 = h.now;
    h.advance(9000);
    h.send(DATA(PEER + 1, ISS + 1, 10));
    h.advance(40);
    h.expect({ ack: PEER + 11 });
    h.expectNothing(t0 + 18_999);
    expect(h.nextSegmentWithin(1000).at - t0).toBe(19_000);
  });

  it('sends no probes while data is outstanding', () => {
    const h = EngineHarness.established({ config: { ...KA, maxRetransmits: 100, rtoMaxMs: 60_000 } });
    h.conn.write(new Uint8Array(10));
    h.poll();
    h.sent.length = 0;
    h.advance(15_000);
    expect(h.sent.every((s) => s.payload.length === 10)).toBe(true);
    expect(h.conn.info().keepAliveProbes).toBe(0);
  });

  it('is off by default and can be switched on with setKeepAlive', () => {
    const h = EngineHarness.established();
    const t0 = h.now;
    h.expectNothing(t0 + 7_300_000);
    h.conn.setKeepAlive(true, 5000);
    expect(h.nextSegmentWithin(10_000).at - t0).toBe(7_305_000);
    h.conn.setKeepAlive(false);
    h.expectNothing(h.now + 8_000_000);
  });
});
