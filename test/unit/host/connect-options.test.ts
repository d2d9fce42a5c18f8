/** connect() options against node:net semantics. */
import { describe, expect, it } from 'vitest';
import { net } from './sim-net.js';

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

  it('honours a per-connection MSS below the interface MTU (connect and createServer tcp options)', async () => {
    const n = net();
    let accepted: import('../../../src/host/socket.js').TcpSocket | undefined;
    n.b.createServer({ tcp: { mss: 1000 } }, (s) => (accepted = s)).listen(7);
    const sock = n.a.connect({ host: '198.18.0.2', port: 7, tcp: { mss: 536 } });
    sock.on('error', () => undefined);
    await n.until(() => accepted !== undefined && !sock.connecting, 1000);
    expect(accepted?.info().peerMss).toBe(536);
    expect(sock.info().peerMss).toBe(1000);
    sock.destroy();
  });
});
