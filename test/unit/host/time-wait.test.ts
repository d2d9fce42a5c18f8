/**
 * A SYN for a 4-tuple in TIME-WAIT starts a new incarnation only when a listener takes it
 * (RFC 6191 is about passive opens; Linux tcp_timewait_state_process falls back to an ACK from
 * TIME-WAIT when no listener exists). Without a listener the TIME-WAIT state stays.
 */
import { describe, expect, it } from 'vitest';
import { TCP_SYN } from '../../../src/wire/tcp.js';
import { buildL4Frame } from '../../helpers/build-frames.js';
import { net } from './sim-net.js';

describe('host TCP: SYN to a connection in TIME-WAIT', () => {
  it('keeps the TIME-WAIT of an active opener (no listener) and sends no RST', async () => {
    const n = net();
    n.b.createServer((s) => {
      s.resume();
      s.on('end', () => s.end());
    }).listen(7);
    const sock = n.a.connect({ host: '198.18.0.2', port: 7 });
    sock.resume();
    sock.end('bye');
    await n.until(() => n.a.tcp.connections()[0]?.engine.state === 'TIME-WAIT');
    const tcb = n.a.tcp.connections()[0];
    const rcvNxt = (tcb?.engine as unknown as { rcvNxt: number }).rcvNxt;
    const rstBefore = n.a.stats.tcpRstOut;
    const syn = buildL4Frame({ ipVersion: 4, reverse: true, srcPort: 7, dstPort: sock.localPort, seqNumber: (rcvNxt + 100_000) >>> 0, flags: TCP_SYN, windowLen: 65535, payload: new Uint8Array(0) });
    n.linkA.deliverNow([syn.frame]);
    // Right after the SYN (B's answer to whatever A sends has not arrived yet).
    expect(n.a.stats.tcpRstOut).toBe(rstBefore);
    expect(n.a.tcp.connections().map((t) => t.engine.state)).toEqual(['TIME-WAIT']);
  });
});
