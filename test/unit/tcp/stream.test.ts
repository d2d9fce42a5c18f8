import { describe, expect, it } from 'vitest';
import { Wire } from '../../helpers/segments.js';

describe('two engines over a simulated path', () => {
  it('completes a handshake and moves 1 MiB each way byte-exactly on a clean path', () => {
    const w = new Wire({ seed: 1 });
    w.connect();
    w.transfer(1 << 20, 1 << 20);
    w.run(w.now + 60_000, () => w.done() && w.a.conn.state === 'TIME-WAIT');
    expect(w.a.received).toBe(1 << 20);
    expect(w.b.received).toBe(1 << 20);
    expect(w.a.rstSent + w.b.rstSent).toBe(0);
  });
});
