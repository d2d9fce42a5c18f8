/** connect() options against node:net semantics. */
import { describe, expect, it } from 'vitest';
import { net } from './review-net.js';

describe('host connect options', () => {
  it('treats localPort 0 as "any port", as node:net does', async () => {
    const n = net();
    n.b.createServer((s) => s.resume()).listen(7);
    const sock = n.a.connect({ host: '198.18.0.2', port: 7, localPort: 0 });
    let connected = false;
    sock.on('connect', () => (connected = true));
    sock.on('error', () => undefined);
    await n.run(100);
    expect(connected).toBe(true);
    expect(sock.localPort).toBeGreaterThan(0);
    sock.destroy();
  });

  it('rejects a localPort outside 0..65535 with ERR_SOCKET_BAD_PORT', () => {
    const n = net();
    for (const localPort of [-1, 65536, 1.5, Number.NaN]) {
      expect(() => n.a.connect({ host: '198.18.0.2', port: 7, localPort }), String(localPort)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_BAD_PORT' }));
    }
  });
});
