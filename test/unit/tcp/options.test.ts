import { describe, expect, it } from 'vitest';
import { ACK, DATA, EngineHarness, LINUX_SYN_OPTIONS, SYN, SYN_ACK, TCP_ACK, TCP_SYN } from '../../helpers/segments.js';

const ISS = 1000;
const PEER = 5000;

/** Active open against a peer SYN-ACK with `options`; returns the harness after our ACK. */
function negotiate(options: Parameters<typeof SYN_ACK>[2], config = {}, window = 65535) {
  return EngineHarness.established({ peerOptions: options, config, peerWindow: window });
}

describe('MSS (RFC 9293 §3.7.1, RFC 6691)', () => {
  it('sends segments of the peer MSS when it is smaller than ours', () => {
    const h = negotiate({ mss: 1000 });
    expect(h.conn.info().mss).toBe(1000);
    h.conn.write(new Uint8Array(2500));
    h.poll();
    h.expect({ len: 1000 });
    h.expect({ len: 1000 });
    h.expect({ len: 500 });
  });

  it('assumes 536 bytes when the peer sends no MSS option', () => {
    const h = negotiate({});
    expect(h.conn.info().peerMss).toBe(536);
    expect(h.conn.info().mss).toBe(536);
  });

  it('never exceeds its own MSS even if the peer offers more', () => {
    const h = negotiate({ mss: 9000 }, { mss: 1400 });
    expect(h.conn.info().mss).toBe(1400);
  });

  it('leaves room for the timestamps option: 1448 payload bytes for an MSS of 1460', () => {
    const h = negotiate({ mss: 1460, timestamps: { tsVal: 1, tsEcr: 0 } });
    expect(h.conn.info().timestamps).toBe(true);
    expect(h.conn.info().mss).toBe(1448);
  });

  it('lowers the MSS to the path MTU and retransmits in-flight data at the new size, segment by original segment', () => {
    const h = negotiate({ mss: 1460 });
    h.conn.write(new Uint8Array(2920));
    h.poll();
    h.expect({ seq: ISS + 1, len: 1460 });
    h.expect({ seq: ISS + 1461, len: 1460 });
    h.conn.lowerPathMtu(1280, 20);
    expect(h.conn.info().mss).toBe(1240);
    h.poll();
    // Each original segment is resent in pieces of the new size, never two originals in one
    // retransmission (as Linux fragments its queued segments, tcp_fragment).
    h.expect({ seq: ISS + 1, len: 1240 });
    h.expect({ seq: ISS + 1241, len: 220 });
    h.expect({ seq: ISS + 1461, len: 1240 });
    h.expect({ seq: ISS + 2701, len: 220 });
    // No congestion response to a PMTU change (RFC 1191 §6.5).
    expect(h.conn.info().cwnd).toBeGreaterThanOrEqual(10 * 1240);
  });
});

describe('window scaling (RFC 7323 §2)', () => {
  it('scales the windows both ways when both SYNs carry the option', () => {
    const h = negotiate({ mss: 1460, windowScale: 3 }, {}, 1000);
    // The SYN-ACK window is never scaled; the next window update is.
    expect(h.conn.info().sndWnd).toBe(1000);
    h.send(ACK(PEER + 1, ISS + 1, { window: 1000 }));
    expect(h.conn.info().sndWnd).toBe(8000);
    expect(h.conn.info().rcvWindowScale).toBe(5);
    h.send(DATA(PEER + 1, ISS + 1, 10));
    h.advance(40);
    const a = h.expect({ flags: TCP_ACK, ack: PEER + 11 });
    expect(a.windowLen).toBe(Math.ceil(((1 << 20) - 10) / 32));
  });

  it('clamps a shift count above 14 to 14', () => {
    const h = negotiate({ mss: 1460, windowScale: 20 });
    expect(h.conn.info().sndWindowScale).toBe(14);
    h.send(ACK(PEER + 1, ISS + 1, { window: 2 }));
    expect(h.conn.info().sndWnd).toBe(2 << 14);
  });

  it('does not scale when the peer omits the option, though it offered one', () => {
    const h = negotiate({ mss: 1460 });
    expect(h.conn.info().sndWindowScale).toBe(0);
    expect(h.conn.info().rcvWindowScale).toBe(0);
    h.send(DATA(PEER + 1, ISS + 1, 10));
    h.advance(40);
    expect(h.expect({ flags: TCP_ACK }).windowLen).toBe(65535);
  });

  it('does not offer the option when window scaling is off', () => {
    const h = EngineHarness.connect({ config: { windowScaling: false } });
    h.poll();
    expect(h.expect({ flags: TCP_SYN }).options.windowScale).toBeUndefined();
  });

  it('answers a SYN with window scale 0 for a buffer that fits 16 bits', () => {
    const h = EngineHarness.accept(SYN(PEER, { mss: 1460, windowScale: 7 }), { config: { rcvBufSize: 60_000 } });
    h.poll();
    const s = h.expect({ flags: TCP_SYN | TCP_ACK, window: 60_000 });
    expect(s.options.windowScale).toBe(0);
  });

  it('does not put a window scale in its SYN-ACK when the SYN had none', () => {
    const h = EngineHarness.accept(SYN(PEER, { mss: 1460 }));
    h.poll();
    expect(h.expect({ flags: TCP_SYN | TCP_ACK }).options.windowScale).toBeUndefined();
  });
});

describe('SACK-permitted (RFC 2018 §2)', () => {
  it('is on when both sides offer it', () => {
    expect(negotiate({ mss: 1460, sackPermitted: true }).conn.info().sack).toBe(true);
  });

  it('is off when the peer does not offer it', () => {
    expect(negotiate({ mss: 1460 }).conn.info().sack).toBe(false);
  });

  it('is off, and not offered, when disabled locally', () => {
    const h = EngineHarness.accept(SYN(PEER, LINUX_SYN_OPTIONS()), { config: { sack: false } });
    h.poll();
    expect(h.expect({ flags: TCP_SYN | TCP_ACK }).options.sackPermitted).toBeUndefined();
    expect(h.conn.info().sack).toBe(false);
  });
});

describe('timestamps (RFC 7323 §3)', () => {
  it('are on when both SYNs carry them, and then every segment carries TSopt echoing TS.Recent', () => {
    const h = negotiate({ mss: 1460, timestamps: { tsVal: 777, tsEcr: 0 } });
    h.conn.write(new Uint8Array(10));
    h.poll();
    const s = h.expect({ len: 10 });
    expect(s.options.timestamps?.tsEcr).toBe(777);
  });

  it('are off when the peer does not answer with them (asymmetric offer)', () => {
    const h = negotiate({ mss: 1460 });
    expect(h.conn.info().timestamps).toBe(false);
    h.conn.write(new Uint8Array(10));
    h.poll();
    expect(h.expect({ len: 10 }).options.timestamps).toBeUndefined();
  });

  it('are not offered when disabled, and ignored when the peer sends them anyway', () => {
    const h = EngineHarness.accept(SYN(PEER, LINUX_SYN_OPTIONS()), { config: { timestamps: false } });
    h.poll();
    expect(h.expect({ flags: TCP_SYN | TCP_ACK }).options.timestamps).toBeUndefined();
    h.send(ACK(PEER + 1, ISS + 1, { options: { timestamps: { tsVal: 5, tsEcr: 0 } } }));
    h.conn.write(new Uint8Array(1));
    h.poll();
    expect(h.expect({ len: 1 }).options.timestamps).toBeUndefined();
  });

  it('TSval follows the clock in milliseconds from a random per-connection offset', () => {
    const a = EngineHarness.connect({ seed: 1 });
    const b = EngineHarness.connect({ seed: 2 });
    a.poll();
    b.poll();
    const ta = a.expect().options.timestamps?.tsVal as number;
    const tb = b.expect().options.timestamps?.tsVal as number;
    expect(ta).not.toBe(tb);
    a.advance(1000);
    const again = a.expect().options.timestamps?.tsVal as number; // the SYN retransmission
    expect((again - ta) >>> 0).toBe(1000);
  });

  it('takes TS.Recent only from a segment at or before Last.ACK.sent (RFC 7323 §4.3)', () => {
    const h = negotiate({ mss: 1460, timestamps: { tsVal: 100, tsEcr: 0 } });
    // Two segments arrive before we ACK: the echo is the first one's TSval.
    h.send(DATA(PEER + 1, ISS + 1, 1000, { options: { timestamps: { tsVal: 200, tsEcr: 0 } } }), false);
    h.send(DATA(PEER + 1001, ISS + 1, 1000, { options: { timestamps: { tsVal: 300, tsEcr: 0 } } }), false);
    h.poll();
    expect(h.expect({ flags: TCP_ACK, ack: PEER + 2001 }).options.timestamps?.tsEcr).toBe(200);
  });
});
