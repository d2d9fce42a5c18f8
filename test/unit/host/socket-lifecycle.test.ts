/**
 * Socket lifecycle edge cases of the host stack against node:net semantics: state of accepted
 * sockets, data that arrived before the connection closed, events after destroy(), and the
 * idle timeout after it has fired once.
 */
import { describe, expect, it } from 'vitest';
import type { TcpSocket } from '../../../src/host/socket.js';
import { net, pattern } from './review-net.js';

describe('host socket lifecycle', () => {
  it('an accepted socket is not connecting and its readyState is open', async () => {
    const n = net();
    let accepted: TcpSocket | undefined;
    n.b.createServer((s) => (accepted = s)).listen(7);
    const client = n.a.connect({ host: '198.18.0.2', port: 7 });
    await n.until(() => accepted !== undefined && !client.connecting);
    expect(accepted?.connecting).toBe(false);
    expect(accepted?.readyState).toBe('open');
    expect(client.readyState).toBe('open');
  });
});
