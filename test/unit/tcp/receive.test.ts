import { describe, expect, it } from 'vitest';
import { ACK, DATA, EngineHarness, sackOf, streamBytes, TCP_ACK } from '../../helpers/segments.js';

const ISS = 1000;
const PEER = 5000;
const SACK_PEER = { mss: 1460, sackPermitted: true };
const TS_SACK_PEER = { mss: 1460, sackPermitted: true, timestamps: { tsVal: 10, tsEcr: 0 } };

describe('delayed ACKs (RFC 9293 §3.8.6.3, RFC 5681 §4.2)', () => {
  it('acknowledges a single segment when the 40 ms delayed-ACK timer fires', () => {
    const h = EngineHarness.established();
    const t0 = h.now;
    h.send(DATA(PEER + 1, ISS + 1, 100));
    h.expectNothing(t0 + 39);
    h.runUntil(t0 + 40);
    h.expect({ flags: TCP_ACK, ack: PEER + 101 });
  });

  it('acknowledges at once after two full-sized segments', () => {
    const h = EngineHarness.established();
    h.send(DATA(PEER + 1, ISS + 1, 1460));
    h.expectNothing();
    h.send(DATA(PEER + 1461, ISS + 1, 1460));
    h.expect({ flags: TCP_ACK, ack: PEER + 2921 });
  });

  it('answers a batch of 40 in-order segments with one ACK on poll', () => {
    const h = EngineHarness.established();
    for (let i = 0; i < 40; i++) expect(h.send(DATA(PEER + 1 + i * 1460, ISS + 1, 1460), false)).toBeUndefined();
    expect(h.sent).toEqual([]);
    h.poll();
    h.expect({ flags: TCP_ACK, ack: PEER + 1 + 40 * 1460 });
    h.expectNothing(h.now + 1000);
  });

  it('piggybacks a pending ACK on data', () => {
    const h = EngineHarness.established();
    h.send(DATA(PEER + 1, ISS + 1, 100));
    h.conn.write(new Uint8Array(10));
    h.poll();
    h.expect({ ack: PEER + 101, len: 10 });
    h.expectNothing(h.now + 100);
  });
});

describe('out-of-order data and SACK generation (RFC 5681 §4.2, RFC 2018 §4)', () => {
  it('sends an immediate duplicate ACK with a SACK block from input, without waiting for poll', () => {
    const h = EngineHarness.established({ peerOptions: SACK_PEER });
    h.send(DATA(PEER + 1461, ISS + 1, 1460), false);
    const a = h.expect({ flags: TCP_ACK, ack: PEER + 1 });
    expect(sackOf(a)).toEqual([[PEER + 1461, PEER + 2921]]);
  });

  it('lists the block holding the most recent segment first, then the recently reported ones', () => {
    const h = EngineHarness.established({ peerOptions: SACK_PEER });
    h.send(DATA(PEER + 1001, ISS + 1, 100));
    h.send(DATA(PEER + 2001, ISS + 1, 100));
    h.send(DATA(PEER + 3001, ISS + 1, 100));
    h.sent.length = 0;
    h.send(DATA(PEER + 1101, ISS + 1, 100));
    expect(sackOf(h.expect())).toEqual([
      [PEER + 1001, PEER + 1201],
      [PEER + 3001, PEER + 3101],
      [PEER + 2001, PEER + 2101],
    ]);
  });

  it('reports at most 3 blocks beside timestamps and 4 without', () => {
    for (const [options, max] of [
      [TS_SACK_PEER, 3],
      [SACK_PEER, 4],
    ] as const) {
      const h = EngineHarness.established({ peerOptions: options });
      const ts = options === TS_SACK_PEER ? { options: { timestamps: { tsVal: 20, tsEcr: 0 } } } : {};
      for (let k = 1; k <= 6; k++) h.send(DATA(PEER + 1 + k * 1000, ISS + 1, 100, ts));
      const last = h.sent[h.sent.length - 1];
      expect(last === undefined ? 0 : sackOf(last).length).toBe(max);
    }
  });

  it('acknowledges the reassembled data at once when a segment fills the hole', () => {
    const h = EngineHarness.established({ peerOptions: SACK_PEER });
    h.send(DATA(PEER + 101, ISS + 1, 100));
    h.send(DATA(PEER + 201, ISS + 1, 100));
    h.sent.length = 0;
    h.send(DATA(PEER + 1, ISS + 1, 100));
    const a = h.expect({ flags: TCP_ACK, ack: PEER + 301 });
    expect(a.options.sackBlocks).toBeUndefined();
    expect(h.conn.readableLength).toBe(300);
  });

  it('delivers reassembled bytes in stream order', () => {
    const h = EngineHarness.established({ peerOptions: SACK_PEER });
    const data = streamBytes(0, 3000);
    h.send(DATA(PEER + 2001, ISS + 1, data.subarray(2000)));
    h.send(DATA(PEER + 1001, ISS + 1, data.subarray(1000, 2000)));
    expect(h.conn.readableLength).toBe(0);
    // A retransmission overlapping what is held already.
    h.send(DATA(PEER + 1, ISS + 1, data.subarray(0, 1500)));
    expect(h.conn.readableLength).toBe(3000);
    expect(h.readAll()).toEqual(data);
  });

  it('answers a duplicate segment at once with a D-SACK block (RFC 2883)', () => {
    const h = EngineHarness.established({ peerOptions: SACK_PEER });
    h.send(DATA(PEER + 1, ISS + 1, 1460));
    h.send(DATA(PEER + 1461, ISS + 1, 1460));
    h.sent.length = 0;
    expect(h.send(DATA(PEER + 1, ISS + 1, 1460))).toBe('tcp-outside-window');
    const a = h.expect({ flags: TCP_ACK, ack: PEER + 2921 });
    expect(sackOf(a)).toEqual([[PEER + 1, PEER + 1461]]);
  });

  it('drops out-of-order data beyond the reassembly limit and still acknowledges', () => {
    const h = EngineHarness.established({ peerOptions: SACK_PEER, config: { reassemblyLimitBytes: 3000 } });
    expect(h.send(DATA(PEER + 1001, ISS + 1, 1460))).toBeUndefined();
    expect(h.send(DATA(PEER + 2461, ISS + 1, 1460))).toBeUndefined();
    expect(h.send(DATA(PEER + 3921, ISS + 1, 1460))).toBe('tcp-reassembly-full');
    expect(h.conn.info().reorderQueueBytes).toBe(2920);
    expect(h.sent.length).toBe(3);
  });

  it('does not send SACK blocks when SACK was not negotiated', () => {
    const h = EngineHarness.established();
    h.send(DATA(PEER + 1001, ISS + 1, 100));
    expect(h.expect({ ack: PEER + 1 }).options.sackBlocks).toBeUndefined();
  });
});

describe('receive queue and window', () => {
  it('hands out views that span many small segments', () => {
    const h = EngineHarness.established();
    const data = streamBytes(0, 60 * 1000);
    for (let i = 0; i < 60; i++) h.send(DATA(PEER + 1 + i * 1000, ISS + 1, data.subarray(i * 1000, (i + 1) * 1000)), false);
    const views: Uint8Array[] = [];
    for (let v = h.conn.read(); v !== undefined; v = h.conn.read()) views.push(v);
    // 60 segments in 4 growing chunks (4, 8, 16 and 32 KiB).
    expect(views.map((v) => v.length)).toEqual([4096, 8192, 16384, 60_000 - 28_672]);
    expect(Buffer.concat(views)).toEqual(Buffer.from(data));
  });

  it('read(max) returns at most max bytes', () => {
    const h = EngineHarness.established();
    h.send(DATA(PEER + 1, ISS + 1, 1000));
    expect(h.conn.read(300)?.length).toBe(300);
    expect(h.conn.readableLength).toBe(700);
  });

  it('raises readable only when the queue goes from empty to non-empty', () => {
    const h = EngineHarness.established();
    h.send(DATA(PEER + 1, ISS + 1, 10));
    h.send(DATA(PEER + 11, ISS + 1, 10));
    expect(h.eventTypes()).toEqual(['readable']);
    h.readAll();
    h.send(DATA(PEER + 21, ISS + 1, 10));
    expect(h.eventTypes()).toEqual(['readable', 'readable']);
  });

  it('closes the window as data queues unread, drops data beyond it, and reopens it when read', () => {
    const h = EngineHarness.established({ config: { rcvBufSize: 4096 } });
    h.send(DATA(PEER + 1, ISS + 1, 1460));
    h.send(DATA(PEER + 1461, ISS + 1, 1460));
    h.expect({ ack: PEER + 2921, window: 4096 - 2920 });
    h.send(DATA(PEER + 2921, ISS + 1, 1176));
    h.advance(40);
    h.expect({ ack: PEER + 4097, window: 0 });
    // A zero-window probe carrying one byte at RCV.NXT: the ACK is processed, the byte dropped.
    expect(h.send(DATA(PEER + 4097, ISS + 1, 1))).toBe('tcp-zero-window');
    h.expect({ ack: PEER + 4097, window: 0 });
    // Linux's probe form, SEG.SEQ = RCV.NXT - 1, also gets an ACK.
    expect(h.send(ACK(PEER + 4096, ISS + 1))).toBe('tcp-outside-window');
    h.expect({ ack: PEER + 4097, window: 0 });
    h.readAll();
    h.poll();
    h.expect({ flags: TCP_ACK, ack: PEER + 4097, window: 4096 });
  });

  it('keeps the right edge fixed until the window can grow by min(buffer/2, MSS) (receiver SWS avoidance)', () => {
    const h = EngineHarness.established({ config: { rcvBufSize: 4096 } });
    h.send(DATA(PEER + 1, ISS + 1, 1460));
    h.send(DATA(PEER + 1461, ISS + 1, 1460));
    h.send(DATA(PEER + 2921, ISS + 1, 1176));
    h.advance(40);
    h.expect({ window: 1176 });
    h.expect({ window: 0 });
    h.conn.read(1000);
    h.poll();
    h.expectNothing();
    // The next ACK still advertises the old right edge: 1000 bytes free is under MSS.
    h.send(ACK(PEER + 4096, ISS + 1));
    h.expect({ window: 0 });
    h.conn.read(500);
    h.poll();
    h.expect({ window: 1500 });
  });

  it('never moves the right edge left when data arrives into an advertised window', () => {
    const h = EngineHarness.established({ config: { rcvBufSize: 8192 } });
    h.send(DATA(PEER + 1, ISS + 1, 1000));
    h.advance(40);
    const a = h.expect();
    const edge = PEER + 1001 + a.windowLen;
    h.send(DATA(PEER + 1001, ISS + 1, 3000));
    h.advance(40);
    const b = h.expect();
    expect(PEER + 4001 + b.windowLen).toBeGreaterThanOrEqual(edge);
  });
});
