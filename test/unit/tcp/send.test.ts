import { describe, expect, it } from 'vitest';
import { ACK, EngineHarness, streamBytes, TCP_ACK, TCP_FIN, TCP_PSH } from '../../helpers/segments.js';

const ISS = 1000;
const PEER = 5000;

describe('sending', () => {
  it('sends up to the initial window of 10 segments (RFC 6928), then waits for ACKs', () => {
    const h = EngineHarness.established();
    h.conn.write(new Uint8Array(20 * 1460));
    h.poll();
    for (let i = 0; i < 10; i++) h.expect({ seq: ISS + 1 + i * 1460, len: 1460 });
    h.expectNothing();
    h.send(ACK(PEER + 1, ISS + 1 + 2 * 1460));
    // Slow start: two segments acknowledged, the window grows by two: four go out.
    expect(h.sent.length).toBe(4);
  });

  it('copies the written bytes exactly, across application buffer boundaries', () => {
    const h = EngineHarness.established();
    const data = streamBytes(0, 5000);
    for (const [a, b] of [
      [0, 7],
      [7, 1500],
      [1500, 1501],
      [1501, 5000],
    ] as const) {
      h.conn.write(data.subarray(a, b));
    }
    h.poll();
    const got = h.sent.map((s) => s.payload);
    expect(got.map((p) => p.length)).toEqual([1460, 1460, 1460, 620]);
    expect(Buffer.concat(got)).toEqual(Buffer.from(data));
  });

  it("reports acknowledged bytes with 'acked' events and shrinks sendQueueLength", () => {
    const h = EngineHarness.established();
    h.conn.write(new Uint8Array(3000));
    h.poll();
    expect(h.conn.sendQueueLength).toBe(3000);
    h.send(ACK(PEER + 1, ISS + 1 + 1460));
    h.send(ACK(PEER + 1, ISS + 3001));
    expect(h.events.filter((e) => e.type === 'acked')).toEqual([
      { type: 'acked', bytes: 1460 },
      { type: 'acked', bytes: 1540 },
    ]);
    expect(h.conn.sendQueueLength).toBe(0);
  });

  it('holds a second partial segment while the first is unacknowledged (Nagle, Minshall variant)', () => {
    const h = EngineHarness.established();
    h.conn.write(new Uint8Array(100));
    h.poll();
    h.expect({ len: 100 });
    h.conn.write(new Uint8Array(100));
    h.poll();
    h.expectNothing();
    h.conn.write(new Uint8Array(1400));
    h.poll();
    // A full segment goes; the 40-byte tail waits.
    h.expect({ seq: ISS + 101, len: 1460 });
    h.expectNothing();
    h.send(ACK(PEER + 1, ISS + 101));
    h.expect({ seq: ISS + 1561, len: 40 });
  });

  it('sends partial segments at once with noDelay', () => {
    const h = EngineHarness.established();
    h.conn.setNoDelay(true);
    h.conn.write(new Uint8Array(100));
    h.poll();
    h.conn.write(new Uint8Array(100));
    h.poll();
    h.expect({ len: 100 });
    h.expect({ len: 100 });
  });

  it("respects the peer's window, and resumes on a window update", () => {
    const h = EngineHarness.established({ peerWindow: 3000 });
    h.conn.write(new Uint8Array(10_000));
    h.poll();
    h.expect({ len: 1460 });
    h.expect({ len: 1460 });
    // 80 bytes of window left: less than half the largest window, so SWS avoidance waits.
    h.expectNothing();
    h.send(ACK(PEER + 1, ISS + 2921, { window: 3000 }));
    h.expect({ seq: ISS + 2921, len: 1460 });
    h.expect({ seq: ISS + 4381, len: 1460 });
  });

  it('sends a window-limited segment when it is at least half the largest window (RFC 9293 §3.8.6.2.1)', () => {
    const h = EngineHarness.established({ peerWindow: 2000 });
    h.conn.write(new Uint8Array(10_000));
    h.poll();
    h.expect({ len: 1460 });
    // 540 bytes of window: under half of 2000, so it waits.
    h.expectNothing();
    h.send(ACK(PEER + 1, ISS + 1461, { window: 1000 }));
    // 1000 bytes: half of the largest window seen, so a 1000-byte segment goes.
    h.expect({ seq: ISS + 1461, len: 1000 });
  });

  it('piggybacks the FIN on the last data segment', () => {
    const h = EngineHarness.established();
    h.conn.write(new Uint8Array(100));
    h.conn.shutdown();
    h.poll();
    h.expect({ flags: TCP_ACK | TCP_PSH | TCP_FIN, seq: ISS + 1, len: 100 });
  });

  it('refuses writes after shutdown with EPIPE', () => {
    const h = EngineHarness.established();
    h.conn.shutdown();
    expect(() => h.conn.write(new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'EPIPE' }));
  });

  it('emits TSO super-segments of whole MSS multiples with gsoSize set', () => {
    const h = EngineHarness.established({ config: { tsoMaxBytes: 65_000 }, peerOptions: { mss: 1460, windowScale: 7 } });
    h.send(ACK(PEER + 1, ISS + 1, { window: 10_000 }));
    h.conn.write(new Uint8Array(20_000));
    h.poll();
    // The initial window (14600) is ten segments: one super-segment of 10 MSS.
    h.expect({ seq: ISS + 1, len: 14600, gso: 1460 });
    h.expectNothing();
    h.send(ACK(PEER + 1, ISS + 14601));
    h.expect({ seq: ISS + 14601, len: 3 * 1460, gso: 1460 });
    h.expect({ seq: ISS + 14601 + 3 * 1460, len: 20_000 - 14600 - 3 * 1460, gso: 0 });
  });

  it('caps super-segments at tsoMaxBytes', () => {
    const h = EngineHarness.established({ config: { tsoMaxBytes: 4 * 1460 + 100, initialCwndSegments: 40 } });
    h.conn.write(new Uint8Array(10 * 1460));
    h.poll();
    h.expect({ len: 4 * 1460, gso: 1460 });
    h.expect({ len: 4 * 1460, gso: 1460 });
    h.expect({ len: 2 * 1460, gso: 1460 });
  });

  it('PSH marks the segment that empties the send queue', () => {
    const h = EngineHarness.established();
    h.conn.write(new Uint8Array(2000));
    h.poll();
    h.expect({ flags: TCP_ACK, len: 1460 });
    h.expect({ flags: TCP_ACK | TCP_PSH, len: 540 });
  });
});
