/**
 * The host's offload manager over a real target (reference §1.4, §3.2, §3.3): two stacks over
 * the simulated link; stack A offloads its connections to its target and uploads them again,
 * and its sockets behave as if nothing happened.
 */
import { describe, expect, it } from 'vitest';
import type { TcpSocket } from '../../../src/host/socket.js';
import { net, pattern, targets, type Net } from './sim-net.js';

function collect(socket: TcpSocket): { data: Buffer[]; ended: boolean; error: Error | undefined } {
  const state = { data: [] as Buffer[], ended: false, error: undefined as Error | undefined };
  socket.on('data', (d: Buffer) => state.data.push(d));
  socket.on('end', () => (state.ended = true));
  socket.on('error', (e: Error) => (state.error = e));
  return state;
}

async function connected(n: Net): Promise<{ client: TcpSocket; server: TcpSocket; moves: string[] }> {
  let server: TcpSocket | undefined;
  const srv = n.b.createServer((s) => (server = s));
  srv.listen(8080);
  const client = n.a.connect({ host: '198.18.0.2', port: 8080 });
  const moves: string[] = [];
  client.on('offload', (r: string) => moves.push(`offload ${r}`));
  client.on('upload', (r: string) => moves.push(`upload ${r}`));
  await n.until(() => server !== undefined && !client.connecting);
  return { client, server: server as TcpSocket, moves };
}

describe('the offload manager', () => {
  it('policy handshake: the connection goes to the target, carries 2 MB each way byte-exact, and closes gracefully', async () => {
    const n = net({ chimneyA: { offload: { policy: 'handshake' } } });
    const { client, server, moves } = await connected(n);
    await n.until(() => client.offloaded);
    expect(targets.get(n.a)?.chimneyProvider?.tcpCount).toBe(1);
    const atServer = collect(server);
    const atClient = collect(client);
    const up = pattern(2_000_000, 3);
    const down = pattern(2_000_000, 4);
    client.write(up);
    server.write(down);
    await n.until(() => Buffer.concat(atServer.data).length >= up.length && Buffer.concat(atClient.data).length >= down.length, 60_000);
    expect(Buffer.concat(atServer.data).equals(up)).toBe(true);
    expect(Buffer.concat(atClient.data).equals(down)).toBe(true);
    expect(client.offloaded).toBe(true);
    client.end();
    await n.until(() => atServer.ended);
    server.end();
    await n.until(() => atClient.ended);
    await n.run(200);
    expect(atClient.error).toBeUndefined();
    expect(atServer.error).toBeUndefined();
    // Both FINs exchanged: the connection came back to the host and the target holds nothing.
    await n.until(() => targets.get(n.a)?.chimneyProvider?.tcpCount === 0, 5_000);
    // Offloaded by policy; back on the target's request when it entered TIME-WAIT (§7.5).
    expect(moves).toEqual(['offload policy', 'upload retrieve']);
  });

  it('--cycle: uploads and re-offloads every 5 ms of simulated time under a 4 MB bidirectional transfer, byte-exact', async () => {
    const n = net({ latencyMs: 2, chimneyA: { offload: { policy: 'handshake', cycleMs: 5 } } });
    const { client, server, moves } = await connected(n);
    const atServer = collect(server);
    const atClient = collect(client);
    const up = pattern(4_000_000, 5);
    const down = pattern(4_000_000, 6);
    client.write(up);
    server.write(down);
    await n.until(() => Buffer.concat(atServer.data).length >= up.length && Buffer.concat(atClient.data).length >= down.length, 120_000);
    expect(Buffer.concat(atServer.data).equals(up)).toBe(true);
    expect(Buffer.concat(atClient.data).equals(down)).toBe(true);
    const offloads = moves.filter((m) => m.startsWith('offload')).length;
    const uploads = moves.filter((m) => m === 'upload cycle').length;
    expect(uploads).toBeGreaterThan(3);
    expect(offloads).toBeGreaterThan(3);
    expect(atClient.error).toBeUndefined();
  });

  it('a peer reset reaches the application as ECONNRESET and the target lets the connection go', async () => {
    const n = net({ chimneyA: { offload: { policy: 'handshake' } } });
    const { client, server } = await connected(n);
    await n.until(() => client.offloaded);
    const atClient = collect(client);
    server.resetAndDestroy();
    await n.until(() => atClient.error !== undefined, 5_000);
    expect((atClient.error as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    await n.until(() => targets.get(n.a)?.chimneyProvider?.tcpCount === 0, 5_000);
  });

  it('past the capacity the connection stays in the host and works', async () => {
    const n = net({ chimneyA: { offload: { policy: 'handshake' }, capabilities: { tcpCapacity: 0 } } });
    const { client, server } = await connected(n);
    await n.run(50);
    expect(client.offloaded).toBe(false);
    const atServer = collect(server);
    client.write(pattern(100_000, 7));
    await n.until(() => Buffer.concat(atServer.data).length >= 100_000);
    expect(Buffer.concat(atServer.data).equals(pattern(100_000, 7))).toBe(true);
  });

  for (const seed of [1, 2, 3]) {
    it(`byte-exact both ways through loss, reordering and duplication on the link (seed ${seed})`, async () => {
      const n = net({ latencyMs: 1, impair: { loss: 0.02, reorder: 0.02, duplicate: 0.01, seed }, chimneyA: { offload: { policy: 'handshake' } } });
      const { client, server } = await connected(n);
      await n.until(() => client.offloaded);
      const atServer = collect(server);
      const atClient = collect(client);
      const up = pattern(1_000_000, 8);
      const down = pattern(1_000_000, 9);
      client.write(up);
      server.write(down);
      await n.until(() => Buffer.concat(atServer.data).length >= up.length && Buffer.concat(atClient.data).length >= down.length, 120_000);
      expect(Buffer.concat(atServer.data).equals(up)).toBe(true);
      expect(Buffer.concat(atClient.data).equals(down)).toBe(true);
    });
  }

  it('an echo server (socket.pipe(socket)) returns 8 MB byte-exact while offloaded, through loss, reordering and a reader that stalls', async () => {
    const n = net({ latencyMs: 1, impair: { loss: 0.01, reorder: 0.02, duplicate: 0.01, seed: 7 }, chimneyA: { offload: { policy: 'handshake' } } });
    n.a.createServer((s) => s.pipe(s)).listen(7);
    const client = n.b.connect({ host: '198.18.0.1', port: 7 });
    const got: Buffer[] = [];
    client.on('data', (d: Buffer) => got.push(d));
    // The client does not read at first: the echo's writes back up, it stops reading, and the
    // host refuses indications past its limit; reading again re-enables them (§4.3.3). The
    // re-enabled data must reach the socket after what was already read (a 64 KiB swap once).
    client.pause();
    const data = pattern(8_000_000, 10);
    client.write(data);
    await n.run(300);
    client.resume();
    await n.until(() => Buffer.concat(got).length >= data.length, 300_000);
    const back = Buffer.concat(got);
    let first = -1;
    for (let i = 0; i < data.length; i++) if (back[i] !== data[i]) { first = i; break; }
    expect(first).toBe(-1);
  });

  it('short connections: connect, a 100-byte echo, close, 50 times in parallel, each offloaded at the handshake', async () => {
    const n = net({ latencyMs: 0.5, chimneyA: { offload: { policy: 'handshake' } } });
    n.a.createServer((s) => s.pipe(s)).listen(7);
    let done = 0;
    const failures: string[] = [];
    for (let i = 0; i < 50; i++) {
      const c = n.b.connect({ host: '198.18.0.1', port: 7 });
      const got: Buffer[] = [];
      c.on('data', (d: Buffer) => {
        got.push(d);
        if (Buffer.concat(got).length >= 100) c.end();
      });
      c.on('error', (e) => failures.push(String(e)));
      c.on('close', () => done++);
      c.write(pattern(100, i));
    }
    await n.until(() => done === 50, 20_000);
    expect(failures).toEqual([]);
    await n.until(() => targets.get(n.a)?.chimneyProvider?.tcpCount === 0, 20_000);
  });
});
