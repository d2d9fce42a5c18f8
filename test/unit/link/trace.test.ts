import { describe, expect, it } from 'vitest';
import { SimLink } from '../../../src/link/sim-link.js';
import { hexSummary, TraceLink, vnetSummary } from '../../../src/link/trace.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { VNET_F_NEEDS_CSUM, VNET_GSO_ECN, VNET_GSO_TCPV4, VNET_NONE } from '../../../src/wire/vnet.js';
import { hex } from '../../helpers/hex.js';
import { LinkRecorder } from '../../helpers/link-recorder.js';

const FRAME = hex(`
  02 00 00 00 00 02  02 00 00 00 00 01  08 00   # dst, src, IPv4
  45 00 00 14 00 00 40 00 40 06 00 00 c6 12 00 01 c6 12 00 02
`);

describe('TraceLink', () => {
  it('writes one line per frame and direction, with time, link name, length and the frame', () => {
    const s = new SimScheduler(1500);
    const [a, b] = SimLink.pair(s, { names: ['t0', 't1'] });
    const lines: string[] = [];
    const ta = new TraceLink(a, { sink: (l) => lines.push(l), clock: s });
    const ra = new LinkRecorder();
    ta.setReceiver(ra);
    b.setReceiver(new LinkRecorder());
    ta.send(FRAME);
    s.advance(1);
    b.send(FRAME);
    s.advance(1);
    expect(lines).toEqual([
      `1.500000 t0 tx 34B eth 02:00:00:00:00:01 > 02:00:00:00:00:02 0800 | 45 00 00 14 00 00 40 00 40 06 00 00 c6 12 00 01 c6 12 00 02`,
      `1.501000 t0 rx 34B eth 02:00:00:00:00:01 > 02:00:00:00:00:02 0800 | 45 00 00 14 00 00 40 00 40 06 00 00 c6 12 00 01 c6 12 00 02`,
    ]);
    expect(ra.frames).toHaveLength(1);
    expect(ra.batches).toBe(1);
  });

  it('marks a frame the wrapped link refused', () => {
    const [a] = SimLink.pair(new SimScheduler());
    const lines: string[] = [];
    const ta = new TraceLink(a, { sink: (l) => lines.push(l), format: () => 'x' });
    ta.send(new Uint8Array(a.capabilities.maxFrameSize + 1));
    expect(lines).toEqual([`sim0 tx ${a.capabilities.maxFrameSize + 1}B DROPPED x`]);
  });

  it('shows the virtio-net header and uses a custom format', () => {
    const [a] = SimLink.pair(new SimScheduler(), { vnet: true });
    const lines: string[] = [];
    const ta = new TraceLink(a, { sink: (l) => lines.push(l), format: (f, v) => `custom ${f.length} ${v === undefined}` });
    ta.send(FRAME, { flags: VNET_F_NEEDS_CSUM, gsoType: VNET_GSO_TCPV4 | VNET_GSO_ECN, hdrLen: 54, gsoSize: 1448, csumStart: 34, csumOffset: 16 });
    ta.send(FRAME, VNET_NONE);
    expect(lines).toEqual(['sim0 tx 34B vnet[csum 34+16 gso tcpv4+ecn 1448] custom 34 false', 'sim0 tx 34B custom 34 false']);
  });

  it('survives a formatter that throws', () => {
    const [a] = SimLink.pair(new SimScheduler());
    const lines: string[] = [];
    const ta = new TraceLink(a, {
      sink: (l) => lines.push(l),
      format: () => {
        throw new Error('boom');
      },
    });
    expect(() => ta.send(FRAME)).not.toThrow();
    expect(lines).toEqual(['sim0 tx 34B (format failed: boom)']);
  });
});

describe('hexSummary and vnetSummary', () => {
  it('cuts the dump at hexBytes and marks the cut', () => {
    expect(hexSummary(FRAME, 4)).toBe('eth 02:00:00:00:00:01 > 02:00:00:00:00:02 0800 | 45 00 00 14 ...');
  });

  it('never fails on a runt', () => {
    expect(hexSummary(Uint8Array.of(1, 2, 3))).toBe('runt | 01 02 03');
    expect(hexSummary(new Uint8Array(0))).toBe('runt | ');
  });

  it('says nothing for an empty header', () => {
    expect(vnetSummary(VNET_NONE)).toBe('');
  });
});
