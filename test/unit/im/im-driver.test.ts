/**
 * Intermediate drivers between the host stack and the target over the simulated link
 * (reference §6.2–§6.5, checklist rows 108–112; seeds 000 and 002).
 */
import { describe, expect, it } from 'vitest';
import type { TcpSocket } from '../../../src/host/socket.js';
import { ImDriver, parseImSpec } from '../../../src/im/im-driver.js';
import { net, pattern, targets, type Net } from '../host/sim-net.js';
import type { NDIS_MINIPORT_OFFLOAD_BLOCK_LIST } from '../../../src/ndis/block-list.js';
import { blocksOf } from '../../../src/ndis/block-list.js';
import type { NET_BUFFER_LIST } from '../../../src/ndis/nbl.js';
import type { OffloadContextSlot } from '../../../src/ndis/structures.js';

function collect(socket: TcpSocket): { data: Buffer[]; ended: boolean } {
  const state = { data: [] as Buffer[], ended: false };
  socket.on('data', (d: Buffer) => state.data.push(d));
  socket.on('end', () => (state.ended = true));
  return state;
}

async function connected(n: Net): Promise<{ client: TcpSocket; server: TcpSocket; moves: string[] }> {
  let server: TcpSocket | undefined;
  n.b.createServer((s) => (server = s)).listen(8080);
  const client = n.a.connect({ host: '198.18.0.2', port: 8080 });
  const moves: string[] = [];
  client.on('offload', (r: string) => moves.push(`offload ${r}`));
  client.on('upload', (r: string) => moves.push(`upload ${r}`));
  await n.until(() => server !== undefined && !client.connecting);
  return { client, server: server as TcpSocket, moves };
}

/** A scripted transfer: offload, 300 kB each way, two cycles, graceful close. */
async function transfer(drivers: ImDriver[]): Promise<{ up: boolean; down: boolean; moves: string[]; initiates: string[]; uploadStates: string[] }> {
  const n = net({ chimneyA: { offload: { policy: 'handshake', cycleMs: 20 }, drivers } });
  const { client, server, moves } = await connected(n);
  await n.until(() => client.offloaded);
  const atServer = collect(server);
  const atClient = collect(client);
  const up = pattern(300_000, 11);
  const down = pattern(300_000, 12);
  client.write(up);
  server.write(down);
  await n.until(() => Buffer.concat(atServer.data).length >= up.length && Buffer.concat(atClient.data).length >= down.length, 60_000);
  const target = targets.get(n.a)?.chimneyProvider;
  const stats = target?.stats as unknown as Record<string, number>;
  return {
    up: Buffer.concat(atServer.data).equals(up),
    down: Buffer.concat(atClient.data).equals(down),
    moves: moves.slice(0, 4),
    initiates: [String(stats['initiates'] ?? -1)],
    uploadStates: [client.offloaded ? 'offloaded' : 'host'],
  };
}

describe('intermediate drivers', () => {
  it('row 108: ImReserved and SourceHandle of every block come back bit-exact after initiate and terminate through two drivers', async () => {
    const drivers = [ImDriver.fromSpec('passthrough', 0), ImDriver.fromSpec('passthrough', 1)];
    const top = drivers[0] as ImDriver;
    const seen: { op: string; before: unknown[]; after: unknown[] }[] = [];
    // Wrap the top driver's provider handlers: mark each incoming block, and check it on the way up.
    const provider = top.chimneyProvider as unknown as Record<string, (l: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST) => void>;
    const marks = new Map<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, [unknown, unknown, unknown]>();
    for (const op of ['InitiateOffloadHandler', 'TerminateOffloadHandler']) {
      const inner = provider[op] as (l: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST) => void;
      provider[op] = (l) => {
        for (const b of blocksOf(l)) {
          const mark: [unknown, unknown, unknown] = [{ im: op }, 0xdeadbeef, { source: op }];
          b.ImReserved = [mark[0], mark[1]];
          b.SourceHandle = mark[2];
          marks.set(b, mark);
        }
        inner(l);
      };
    }
    // --cycle 50: the connection is uploaded (terminate) and offloaded again 50 ms later.
    const n = net({ chimneyA: { offload: { policy: 'handshake', cycleMs: 50 }, drivers } });
    const { client } = await connected(n);
    // Record at completion time: the binding above calls back with the same miniport blocks.
    const check = (): void => {
      for (const [b, mark] of marks) {
        if (b.ImReserved[0] === mark[0]) continue;
        seen.push({ op: 'mismatch', before: mark, after: [b.ImReserved[0], b.ImReserved[1], b.SourceHandle] });
      }
    };
    await n.until(() => client.offloaded);
    check();
    expect(marks.size).toBe(3);
    for (const [b, mark] of marks) {
      expect(b.ImReserved[0]).toBe(mark[0]);
      expect(b.ImReserved[1]).toBe(mark[1]);
      expect(b.SourceHandle).toBe(mark[2]);
      expect('OffloadHandle' in b).toBe(false);
    }
    marks.clear();
    await n.until(() => top.stats.callEntriesFreed >= 2, 10_000);
    expect(marks.size).toBeGreaterThan(0);
    for (const [b, mark] of marks) {
      expect([b.ImReserved[0], b.ImReserved[1], b.SourceHandle]).toEqual(mark);
    }
    expect(seen).toEqual([]);
    for (const d of drivers) expect(d.stats.callEntriesLive).toBe(0);
  });

  it('row 109: the slot chain host → driver → target: the host cell names the driver entry, the driver cell the target context', async () => {
    const d = ImDriver.fromSpec('passthrough');
    const n = net({ chimneyA: { offload: { policy: 'handshake' }, drivers: [d] } });
    const { client } = await connected(n);
    await n.until(() => client.offloaded);
    // Neighbor, path and TCP: three offload entries, three target contexts.
    expect(d.stats.offloadEntriesLive).toBe(3);
    expect(d.offloadEntries).toBe(3);
    expect(targets.get(n.a)?.chimneyProvider?.tcpCount).toBe(1);
  });

  it('row 110: a partial accept through a driver behaves as without one (bytes delivered once, in order)', async () => {
    for (const drivers of [[], [ImDriver.fromSpec('passthrough')]]) {
      const n = net({ chimneyA: { offload: { policy: 'handshake' }, drivers } });
      const { client, server } = await connected(n);
      await n.until(() => client.offloaded);
      client.pause();
      const down = pattern(3_000_000, 9);
      server.write(down);
      await n.run(2000);
      const at = collect(client);
      client.resume();
      await n.until(() => Buffer.concat(at.data).length >= down.length, 60_000);
      expect(Buffer.concat(at.data).equals(down)).toBe(true);
    }
  });

  it('row 110: one NBL identity preserved end to end: the NBLs the host sends reach the target through two drivers as the same objects', async () => {
    const drivers = [ImDriver.fromSpec('passthrough', 0), ImDriver.fromSpec('passthrough', 1)];
    const top = drivers[0] as ImDriver;
    const fromHost: NET_BUFFER_LIST[] = [];
    const atTarget = new Set<NET_BUFFER_LIST>();
    const p = top.chimneyProvider as { TcpOffloadSendHandler: (s: OffloadContextSlot, c: NET_BUFFER_LIST) => number };
    const innerTop = p.TcpOffloadSendHandler;
    p.TcpOffloadSendHandler = (slot, chain) => {
      fromHost.push(chain);
      return innerTop(slot, chain);
    };
    const n = net({ chimneyA: { offload: { policy: 'handshake' }, drivers } });
    const target = targets.get(n.a)?.chimneyProvider as unknown as { TcpOffloadSendHandler: (s: OffloadContextSlot, c: NET_BUFFER_LIST) => number };
    const innerTarget = target.TcpOffloadSendHandler.bind(target);
    target.TcpOffloadSendHandler = (slot, chain) => {
      atTarget.add(chain);
      return innerTarget(slot, chain);
    };
    const { client, server } = await connected(n);
    await n.until(() => client.offloaded);
    const at = collect(server);
    client.write(pattern(10_000, 4));
    await n.until(() => Buffer.concat(at.data).length >= 10_000);
    expect(fromHost.length).toBeGreaterThan(0);
    for (const nbl of fromHost) expect(atTarget.has(nbl)).toBe(true);
  });

  it('row 111: a failed send propagation (fault:send=1) ends in an upload and the peer receives every byte once', async () => {
    const d = ImDriver.fromSpec('fault:send=1,seed=3');
    const n = net({ chimneyA: { offload: { policy: 'handshake' }, drivers: [d] } });
    const { client, server, moves } = await connected(n);
    await n.until(() => client.offloaded);
    const at = collect(server);
    const up = pattern(200_000, 5);
    client.write(up.subarray(0, 1000));
    client.write(up.subarray(1000));
    await n.until(() => Buffer.concat(at.data).length >= up.length, 60_000);
    await n.run(100);
    expect(Buffer.concat(at.data).length).toBe(up.length);
    expect(Buffer.concat(at.data).equals(up)).toBe(true);
    expect(d.stats.faultedSends).toBe(1);
    expect(moves).toContain('upload retrieve');
    expect(moves.slice(0, 2)).toEqual(['offload policy', 'upload retrieve']);
    expect(d.stats.offloadEntriesCreated - d.stats.offloadEntriesFreed).toBe(d.offloadEntries);
    expect(d.stats.callEntriesLive).toBe(0);
  });

  it('row 112: a blocking driver stops offload (NOT_SUPPORTED) and the connection works in the host; an allowing one offloads', async () => {
    const block = ImDriver.fromSpec('block');
    const n = net({ chimneyA: { offload: { policy: 'handshake' }, drivers: [ImDriver.fromSpec('passthrough'), block] } });
    const { client, server } = await connected(n);
    const at = collect(server);
    client.write(pattern(50_000, 2));
    await n.until(() => Buffer.concat(at.data).length >= 50_000);
    expect(client.offloaded).toBe(false);
    expect(block.stats.blockedCapabilityQueries).toBe(1);
    expect(targets.get(n.a)?.chimneyProvider?.tcpCount).toBe(0);
    const pass = ImDriver.fromSpec('passthrough');
    const m = net({ chimneyA: { offload: { policy: 'handshake' }, drivers: [pass] } });
    const c2 = await connected(m);
    await m.until(() => c2.client.offloaded);
    expect(pass.stats.blockedCapabilityQueries).toBe(0);
  });

  it('differential: the same scripted transfer with 0, 1 and 2 drivers gives the same bytes and moves; no entry leaks', async () => {
    const one = [ImDriver.fromSpec('passthrough')];
    const two = [ImDriver.fromSpec('passthrough', 0), ImDriver.fromSpec('passthrough', 1)];
    const r0 = await transfer([]);
    const r1 = await transfer(one);
    const r2 = await transfer(two);
    expect(r0.up && r0.down).toBe(true);
    expect(r1).toEqual(r0);
    expect(r2).toEqual(r0);
    for (const d of [...one, ...two]) {
      expect(d.stats.callEntriesLive).toBe(0);
      expect(d.stats.callEntriesCreated).toBe(d.stats.callEntriesFreed);
      // One connection offloaded at the end: its neighbor, path and TCP entries (or none mid-cycle).
      expect([0, 3]).toContain(d.offloadEntries);
      expect(d.stats.offloadEntriesCreated - d.stats.offloadEntriesFreed).toBe(d.offloadEntries);
    }
  });

  it('fault SPEC grammar: keys, ranges and the terminate refusal', () => {
    expect(parseImSpec('fault:initiate=0.5,send=0.01,seed=7')).toEqual({ kind: 'fault', fault: { initiate: 0.5, update: 0, invalidate: 0, query: 0, send: 0.01, seed: 7 } });
    expect(() => parseImSpec('fault:terminate=0.1')).toThrow(/terminate/);
    expect(() => parseImSpec('fault:send=2')).toThrow(/probability/);
    expect(() => parseImSpec('nope')).toThrow();
  });

  it('fault:initiate=1 answers every initiate block NDIS_STATUS_RESOURCES and the connection stays in the host', async () => {
    const d = ImDriver.fromSpec('fault:initiate=1');
    const n = net({ chimneyA: { offload: { policy: 'handshake' }, drivers: [d] } });
    const { client, server } = await connected(n);
    const at = collect(server);
    client.write(pattern(20_000, 1));
    await n.until(() => Buffer.concat(at.data).length >= 20_000);
    expect(client.offloaded).toBe(false);
    expect(d.stats.faultedOperations).toBeGreaterThan(0);
    expect(d.stats.offloadEntriesLive).toBe(0);
  });
});
