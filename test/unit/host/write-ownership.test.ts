/**
 * Who owns a written buffer. node:net calls a write back once the bytes belong to the system
 * (libuv's write completes when the kernel has copied them), so a Node program may refill the
 * buffer in the callback; the stack must never send the new contents in place of the old,
 * neither in the first transmission nor in a retransmission.
 */
import { describe, expect, it } from 'vitest';
import { net } from './sim-net.js';

describe('host sockets: written buffers', () => {
  it('issue 9 defect 3: a buffer reused after its write callback never reaches the wire', async () => {
    // 10% loss both ways on A's side: many segments are retransmitted, after the callback.
    const n = net({ impair: { loss: 0.1, seed: 3 }, latencyMs: 1 });
    const parts: Buffer[] = [];
    let ended = false;
    n.b.createServer((s) => {
      s.on('data', (d: Buffer) => parts.push(Buffer.from(d)));
      s.on('end', () => {
        ended = true;
        s.end();
      });
    }).listen(30);
    const sock = n.a.connect({ host: '198.18.0.2', port: 30 });
    const buf = Buffer.alloc(64_000, 'A');
    let called = false;
    sock.on('connect', () => {
      sock.write(buf, () => {
        called = true;
        buf.fill('B');
      });
      sock.end();
    });
    await n.until(() => ended, 600_000);
    expect(called).toBe(true);
    const received = Buffer.concat(parts);
    expect(received.length).toBe(64_000);
    expect(received.filter((b) => b === 0x42).length).toBe(0);
    expect(received.equals(Buffer.alloc(64_000, 'A'))).toBe(true);
    expect(sock.info().totalRetransmits).toBeGreaterThan(0);
  });
});
