/**
 * Who owns a written buffer. node:net calls a write back once the bytes belong to the system
 * (libuv's write completes when the kernel has copied them), so a Node program may refill the
 * buffer in the callback; the stack must never send the new contents in place of the old,
 * neither in the first transmission nor in a retransmission.
 */
import { describe, expect, it } from 'vitest';
import { stableBuffer } from '../../../src/tcp/stable-bytes.js';
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

describe('host sockets: stable buffers', () => {
  it('a write of stable memory is queued by reference and arrives byte-exact under 10% loss', async () => {
    const n = net({ impair: { loss: 0.1, seed: 5 }, latencyMs: 1 });
    const parts: Buffer[] = [];
    let ended = false;
    n.b.createServer((s) => {
      s.on('data', (d: Buffer) => parts.push(Buffer.from(d)));
      s.on('end', () => {
        ended = true;
        s.end();
      });
    }).listen(31);
    const block = stableBuffer(Buffer.alloc(256 * 1024));
    const sock = n.a.connect({ host: '198.18.0.2', port: 31 });
    sock.on('connect', () => {
      for (let off = 0; off < block.length; off += 64 * 1024) sock.write(block.subarray(off, off + 64 * 1024));
      // Not a legal use (stable memory must not change): it shows there was no copy at write,
      // since a copy would have sent the zeros written above.
      for (let i = 0; i < block.length; i++) block[i] = (i * 7 + (i >>> 8)) & 0xff;
      sock.end();
    });
    await n.until(() => ended, 600_000);
    expect(Buffer.concat(parts).equals(block)).toBe(true);
    expect(sock.info().totalRetransmits).toBeGreaterThan(0);
  });
});
