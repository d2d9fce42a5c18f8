/** PcapngWriter when the disk refuses: the capture stops and says so once; the caller never sees an exception. */
import { describe, expect, it } from 'vitest';
import { PcapngWriter } from '../../../src/link/pcapng.js';

describe('PcapngWriter write failures', () => {
  it('turns a failing synchronous write (disk slower than the capture, then full) into onError, not an exception', async () => {
    const errors: Error[] = [];
    // /dev/full: every write fails with ENOSPC.
    const w = PcapngWriter.open('/dev/full', { bufferSize: 4096, flushIntervalMs: 0, onError: (e) => errors.push(e) });
    const id = w.addInterface('tap-test0');
    const frame = new Uint8Array(4000);
    // More chunks than may be in flight, all within one turn: the writer falls back to writeSync.
    expect(() => {
      for (let i = 0; i < 40; i++) w.writePacket(id, frame, 'in');
    }).not.toThrow();
    await expect(w.close()).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(errors).toHaveLength(1);
  });
});
