import { describe, expect, it } from 'vitest';
import { SimLink } from '../../../src/link/sim-link.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, VNET_NONE, type VnetHeader } from '../../../src/wire/vnet.js';
import { buildL4Frame, checkFrame, patternPayload } from '../../helpers/build-frames.js';
import { LinkRecorder } from '../../helpers/link-recorder.js';

function frame(id: number, length = 60): Uint8Array {
  const f = new Uint8Array(length).fill(id & 0xff);
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
}

describe('SimLink pair', () => {
  it('delivers a batch latencyMs after the end of the turn, not before', () => {
    const s = new SimScheduler();
    const [a, b] = SimLink.pair(s, { latencyMs: 10 });
    const rb = new LinkRecorder(() => s.now());
    b.setReceiver(rb);
    s.advance(3);
    a.send(frame(1));
    a.send(frame(2));
    s.advance(9.9);
    expect(rb.frames).toHaveLength(0);
    s.advance(0.1);
    expect(rb.frames.map((f) => f.at)).toEqual([13, 13]);
    expect(rb.batchSizes()).toEqual([2]);
  });

  it('splits a batch into reads of at most batchSize frames, each ending with onBatchEnd', () => {
    const s = new SimScheduler();
    const [a, b] = SimLink.pair(s, { batchSize: 3 });
    const rb = new LinkRecorder();
    b.setReceiver(rb);
    for (let i = 0; i < 7; i++) a.send(frame(i));
    s.advance(1);
    expect(rb.batchSizes()).toEqual([3, 3, 1]);
    expect(b.stats.rxBatches).toBe(3);
    expect(b.stats.rxFrames).toBe(7);
  });

  it('delivers frames flushed separately as separate batches', () => {
    const s = new SimScheduler();
    const [a, b] = SimLink.pair(s);
    const rb = new LinkRecorder();
    b.setReceiver(rb);
    a.send(frame(1));
    a.flush();
    a.send(frame(2));
    a.send(frame(3));
    s.advance(1);
    expect(rb.batchSizes()).toEqual([1, 2]);
  });

  it('overwrites a delivered view once onFrame returns, so a receiver that keeps views sees garbage', () => {
    const s = new SimScheduler();
    const [a, b] = SimLink.pair(s);
    const rb = new LinkRecorder();
    b.setReceiver(rb);
    a.send(frame(0x42));
    s.advance(1);
    expect(rb.frames[0]?.frame[20]).toBe(0x42);
    expect(rb.views[0]?.[20]).not.toBe(0x42);
  });

  it('drops and counts frames that arrive before a receiver is set', () => {
    const s = new SimScheduler();
    const [a, b] = SimLink.pair(s);
    a.send(frame(1));
    s.advance(1);
    expect(b.stats.rxDropped).toBe(1);
    expect(b.stats.rxFrames).toBe(0);
  });

  it('drops frames sent after close and frames in flight to a closed link, by reason', async () => {
    const s = new SimScheduler();
    const [a, b] = SimLink.pair(s, { latencyMs: 5 });
    const rb = new LinkRecorder();
    b.setReceiver(rb);
    a.send(frame(1));
    s.advance(1);
    await b.close();
    s.advance(10);
    expect(rb.frames).toHaveLength(0);
    await a.close();
    a.send(frame(2));
    expect(a.stats.txDropped).toBe(1);
    expect(a.drops.get('link-down')).toBe(1);
  });

  it('counts an oversized frame as link-frame-too-big', () => {
    const s = new SimScheduler();
    const [a] = SimLink.pair(s, { mtu: 1000 });
    expect(a.capabilities.maxFrameSize).toBe(1018);
    a.send(new Uint8Array(1019));
    a.send(new Uint8Array(1018));
    a.flush();
    expect(a.drops.get('link-frame-too-big')).toBe(1);
    expect(a.stats.txFrames).toBe(1);
  });

  it('drops and counts a virtio-net offload request on a link without vnet, as TapLink does', () => {
    const [a] = SimLink.pair(new SimScheduler());
    a.send(frame(1), { ...VNET_NONE, flags: VNET_F_NEEDS_CSUM });
    a.send(frame(2), VNET_NONE);
    a.flush();
    expect(a.drops.get('link-no-vnet')).toBe(1);
    expect([a.stats.txDropped, a.stats.txFrames]).toEqual([1, 1]);
  });

  it('passes virtio-net headers through unchanged on a vnet pair, and an empty header for plain sends', () => {
    const s = new SimScheduler();
    const [a, b] = SimLink.pair(s, { vnet: true });
    const rb = new LinkRecorder();
    b.setReceiver(rb);
    const built = buildL4Frame({ ipVersion: 4, payload: patternPayload(3000), checksum: 'partial' });
    const vnet: VnetHeader = { flags: VNET_F_NEEDS_CSUM, gsoType: VNET_GSO_TCPV4, hdrLen: 54, gsoSize: 1448, csumStart: built.l4, csumOffset: 16 };
    a.send(built.frame, vnet);
    a.send(frame(1));
    s.advance(1);
    expect(rb.frames.map((f) => f.frame.length)).toEqual([built.frame.length, 60]);
    expect(rb.frames.map((f) => f.vnet)).toEqual([vnet, VNET_NONE]);
  });

  it('cuts super-frames into wire frames in transit with segmentInTransit', () => {
    const s = new SimScheduler();
    const [a, b] = SimLink.pair(s, { vnet: true, segmentInTransit: true });
    const rb = new LinkRecorder();
    b.setReceiver(rb);
    const built = buildL4Frame({ ipVersion: 4, payload: patternPayload(3000), checksum: 'partial' });
    a.send(built.frame, { flags: VNET_F_NEEDS_CSUM, gsoType: VNET_GSO_TCPV4, hdrLen: 0, gsoSize: 1448, csumStart: built.l4, csumOffset: 16 });
    s.advance(1);
    expect(a.stats.txFrames).toBe(1);
    expect(rb.frames.map((f) => f.frame.length - built.payloadOffset)).toEqual([1448, 1448, 104]);
    expect(rb.frames.every((f) => f.vnet === VNET_NONE && checkFrame(f.frame).l4ChecksumOk)).toBe(true);
    expect(rb.batchSizes()).toEqual([3]);
  });
});

describe('SimLink single-ended', () => {
  it('records what it writes with the time of the flush, and calls onSend', () => {
    const s = new SimScheduler(100);
    const link = new SimLink(s, { name: 'h0' });
    const seen: number[] = [];
    link.onSend = (f) => seen.push(f[20] as number);
    const f = frame(7);
    link.send(f);
    f.fill(0);
    expect(link.sent).toHaveLength(0);
    s.advance(2);
    expect(link.sent.map((x) => [x.frame[20], x.at])).toEqual([[7, 100]]);
    expect(seen).toEqual([7]);
    expect(link.takeSent()).toHaveLength(1);
    expect(link.sent).toHaveLength(0);
  });

  it('delivers injected frames as one batch after the end of the turn', () => {
    const s = new SimScheduler();
    const link = new SimLink(s, { latencyMs: 2 });
    const r = new LinkRecorder(() => s.now());
    link.setReceiver(r);
    link.inject(frame(1));
    link.inject(frame(2));
    expect(r.frames).toHaveLength(0);
    s.advance(5);
    expect(r.batchSizes()).toEqual([2]);
    expect(r.frames.map((f) => f.at)).toEqual([2, 2]);
  });

  it('delivers synchronously with deliverNow', () => {
    const link = new SimLink(new SimScheduler(), { vnet: true });
    const r = new LinkRecorder();
    link.setReceiver(r);
    link.deliverNow([frame(1), { frame: frame(2), vnet: VNET_NONE }]);
    expect(r.batchSizes()).toEqual([2]);
    expect(r.frames.map((f) => f.vnet)).toEqual([VNET_NONE, VNET_NONE]);
  });
});
