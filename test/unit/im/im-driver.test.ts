/**
 * Intermediate drivers between the host stack and the target over the simulated link
 * (reference §6.2–§6.5, checklist rows 108–112; seeds 000 and 002).
 */
import { describe, expect, it } from 'vitest';
import type { TcpSocket } from '../../../src/host/socket.js';
import { ImDriver, parseImList, parseImSpec } from '../../../src/im/im-driver.js';
import { driversFromSpecs } from '../../../src/im/stack.js';
import { net, pattern, targets, type Net } from '../host/sim-net.js';
import type { NDIS_MINIPORT_OFFLOAD_BLOCK_LIST } from '../../../src/ndis/block-list.js';
import { blocksOf, type NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST } from '../../../src/ndis/block-list.js';
import type { BytesConsumed } from '../../../src/ndis/chimney-edges.js';
import { netBufferListDataLength, netBufferListsOf, type NET_BUFFER_LIST } from '../../../src/ndis/nbl.js';
import { ndisStatusName, type NdisStatus } from '../../../src/ndis/status.js';
import type { NDIS_OFFLOAD_HANDLE, OffloadContextSlot } from '../../../src/ndis/structures.js';

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

/** Lengths of an NBL chain's members (null for no chain). */
function chainLengths(chain: NET_BUFFER_LIST | null | undefined): number[] | null {
  return chain === null || chain === undefined ? null : [...netBufferListsOf(chain)].map(netBufferListDataLength);
}

/**
 * What the host is handed by each InitiateOffload and TerminateOffload completion, block by
 * block: type, status and, for a terminate, the state structures and the data chains that come
 * back. Normalized: the TCP timestamps (TsRecent, TsTime) follow the simulated clock, which
 * moves by a turn per gap a completion crosses, so they differ legitimately; handles are not
 * recorded at all (each layer mints its own).
 */
function recordCompletions(n: Net): unknown[] {
  const trace: unknown[] = [];
  const m = n.a.tcp.offloads;
  const initiate = m.InitiateOffloadCompleteHandler.bind(m);
  const terminate = m.TerminateOffloadCompleteHandler.bind(m);
  m.InitiateOffloadCompleteHandler = (l: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): void => {
    trace.push({ op: 'initiate', blocks: blocksOf(l).map((b) => ({ type: b.Header.Type, status: ndisStatusName(b.Status) })) });
    initiate(l);
  };
  m.TerminateOffloadCompleteHandler = (l: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): void => {
    trace.push({
      op: 'terminate',
      blocks: blocksOf(l).map((b) => {
        const tcp = b.TcpState;
        const delegated = tcp?.Delegated === undefined ? undefined : { ...tcp.Delegated, TsRecent: 'ts', TsTime: 'ts' };
        return {
          type: b.Header.Type,
          status: ndisStatusName(b.Status),
          neighbor: b.NeighborState === undefined ? undefined : { delegated: b.NeighborState.Delegated, cached: b.NeighborState.Cached },
          path: b.PathState === undefined ? undefined : { delegated: b.PathState.Delegated, cached: b.PathState.Cached },
          tcp: tcp === undefined ? undefined : { delegated, cached: tcp.Cached, sendData: chainLengths(tcp.SendDataHead), buffered: chainLengths(tcp.BufferedData) },
        };
      }),
    });
    terminate(l);
  };
  return trace;
}

/**
 * A scripted run with explicit transitions (policy manual), so the sequence of operations is
 * the same whatever the number of gaps: three rounds of offload, 100 kB each way offloaded,
 * then an upload and 20 kB more from the client in the host, and finally a graceful close.
 */
async function scripted(drivers: ImDriver[]): Promise<{ bytes: boolean[]; moves: string[]; completions: unknown[] }> {
  const n = net({ chimneyA: { offload: { policy: 'manual' }, drivers } });
  const completions = recordCompletions(n);
  const { client, server, moves } = await connected(n);
  const c = n.a.tcp.connections()[0] as Parameters<typeof n.a.tcp.offloads.offload>[0];
  const atServer = collect(server);
  const atClient = collect(client);
  const up: Buffer[] = [];
  const down: Buffer[] = [];
  const settled = (): boolean => Buffer.concat(atServer.data).length === Buffer.concat(up).length && Buffer.concat(atClient.data).length === Buffer.concat(down).length;
  for (let round = 0; round < 3; round++) {
    expect(n.a.tcp.offloads.offload(c)).toBe(true);
    await n.until(() => client.offloaded);
    up.push(pattern(100_000, 20 + round));
    down.push(pattern(100_000, 30 + round));
    client.write(up.at(-1));
    server.write(down.at(-1));
    await n.until(settled);
    await n.run(5);
    expect(n.a.tcp.offloads.upload(c, 'application')).toBe(true);
    await n.until(() => c.offload === undefined);
    up.push(pattern(20_000, 40 + round));
    client.write(up.at(-1));
    await n.until(settled);
  }
  client.end();
  server.end();
  await n.until(() => atServer.ended && atClient.ended);
  await n.run(50);
  for (const d of drivers) {
    expect(d.stats.callEntriesLive).toBe(0);
    expect(d.stats.offloadEntriesLive).toBe(0);
    expect(d.stats.offloadEntriesCreated).toBe(d.stats.offloadEntriesFreed);
  }
  return { bytes: [Buffer.concat(atServer.data).equals(Buffer.concat(up)), Buffer.concat(atClient.data).equals(Buffer.concat(down))], moves, completions };
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

  it('row 110: a partial accept through a driver behaves as without one: the same indications, return values and BytesConsumed, passed through call by call', async () => {
    type Indication = [length: number, status: string, consumed: number];
    const wrap = (handlers: { TcpOffloadReceiveIndicateHandler: (h: NDIS_OFFLOAD_HANDLE, nbl: NET_BUFFER_LIST, st: NdisStatus, c: BytesConsumed) => NdisStatus }, into: Indication[]): void => {
      const inner = handlers.TcpOffloadReceiveIndicateHandler.bind(handlers);
      handlers.TcpOffloadReceiveIndicateHandler = (h, nbl, st, c) => {
        const length = netBufferListDataLength(nbl);
        const status = inner(h, nbl, st, c);
        into.push([length, ndisStatusName(status), c.value]);
        return status;
      };
    };
    const run = async (drivers: ImDriver[]): Promise<{ host: Indication[]; atDriver: Indication[] }> => {
      const host: Indication[] = [];
      const atDriver: Indication[] = [];
      const n = net({ chimneyA: { offload: { policy: 'handshake' }, drivers } });
      wrap(n.a.tcp.offloads, host);
      // What the driver hands back to the binding below it: the host's answer, unchanged.
      if (drivers[0] !== undefined) wrap(drivers[0].chimneyClient, atDriver);
      const { client, server } = await connected(n);
      await n.until(() => client.offloaded);
      // The paused reader lets the host's buffer fill: at 1 MiB it accepts part of an
      // indication; the target keeps the rest and indicates it again once re-enabled.
      client.pause();
      const down = pattern(3_000_000, 9);
      server.write(down);
      await n.run(2000);
      const at = collect(client);
      client.resume();
      await n.until(() => Buffer.concat(at.data).length >= down.length, 60_000);
      await n.run(50);
      expect(Buffer.concat(at.data).equals(down)).toBe(true);
      expect(client.offloaded).toBe(true);
      return { host, atDriver };
    };
    const without = await run([]);
    const through = await run([ImDriver.fromSpec('passthrough')]);
    const partial = without.host.filter(([length, status, consumed]) => status === 'NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED' && consumed > 0 && consumed < length);
    expect(partial.length).toBeGreaterThan(0);
    // Every byte consumed exactly once: what was refused came back in a later indication.
    expect(without.host.reduce((sum, [, , consumed]) => sum + consumed, 0)).toBe(3_000_000);
    expect(through.atDriver).toEqual(through.host);
    expect(through.host).toEqual(without.host);
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

  it('differential: scripted offloads and uploads with 0, 1 and 2 drivers hand the host the same block statuses and the same returned state', async () => {
    const r0 = await scripted([]);
    const r1 = await scripted(driversFromSpecs(['passthrough']));
    const r2 = await scripted(driversFromSpecs(['passthrough', 'passthrough']));
    expect(r0.bytes).toEqual([true, true]);
    expect(r0.moves).toEqual(['offload application', 'upload application', 'offload application', 'upload application', 'offload application', 'upload application']);
    // Three initiates (neighbor, path, TCP each) and three terminates carrying state back.
    expect(r0.completions).toHaveLength(6);
    const tcpBack = (r: typeof r0): unknown[] =>
      r.completions.flatMap((c) => (c as { blocks: { tcp?: { delegated?: { SndUna: number } } }[] }).blocks.map((b) => b.tcp?.delegated?.SndUna).filter((v) => v !== undefined));
    expect(new Set(tcpBack(r0)).size).toBe(3);
    expect(r1).toEqual(r0);
    expect(r2).toEqual(r0);
  });

  it('a chain of 8 passthrough drivers: the transfer is byte-exact both ways and no entry is left after the close', async () => {
    const drivers = driversFromSpecs(parseImList(Array(8).fill('passthrough').join(',')));
    const r8 = await scripted(drivers);
    expect(r8.bytes).toEqual([true, true]);
    expect(r8.moves).toHaveLength(6);
    expect(r8.completions).toEqual((await scripted([])).completions);
    for (const d of drivers) {
      expect(d.stats.callEntriesCreated).toBe(6);
      expect(d.stats.callEntriesFreed).toBe(6);
      expect(d.stats.offloadEntriesCreated).toBe(9);
      expect(d.stats.badHandles + d.stats.badCompletions).toBe(0);
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
