/**
 * Path MTU changes seen by the engine. A too-big report (ICMP fragmentation-needed, RFC 1191;
 * ICMPv6 packet-too-big, RFC 8201) can only lower the path limit: RFC 1191 §3 and RFC 8201
 * §4 forbid raising the estimate on such a message.
 */
import { describe, expect, it } from 'vitest';
import { EngineHarness } from '../../helpers/segments.js';

const ISS = 1000;

describe('path MTU (RFC 1191, RFC 8201)', () => {
  it('issue 9 defect 4: a too-big report larger than the current path MTU leaves the MSS alone', () => {
    const h = EngineHarness.established({ peerOptions: { mss: 1460 } });
    expect(h.conn.info().mss).toBe(1460);
    h.conn.lowerPathMtu(1280, 20);
    expect(h.conn.info().mss).toBe(1240);
    h.conn.lowerPathMtu(1400, 20);
    expect(h.conn.info().mss).toBe(1240);
    // The segments that go out afterwards are cut at 1240 too.
    h.conn.write(new Uint8Array(2000));
    h.poll();
    h.expect({ seq: ISS + 1, len: 1240 });
    h.expect({ seq: ISS + 1241, len: 760 });
  });

  it('a smaller report after a larger one still lowers the MSS', () => {
    const h = EngineHarness.established({ peerOptions: { mss: 1460 } });
    h.conn.lowerPathMtu(1400, 20);
    expect(h.conn.info().mss).toBe(1360);
    h.conn.lowerPathMtu(1280, 20);
    expect(h.conn.info().mss).toBe(1240);
  });
});
