import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diffSnapshots, snapshotIds } from '../../../scripts/bench/heap.js';
import { summarizeAlloc, summarizeProfile, type CpuProfile } from '../../../scripts/bench/profile.js';

const dir = mkdtempSync(join(tmpdir(), 'chimney-bench-helpers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, scriptId: '0', url, lineNumber, columnNumber: 0 });

describe('summarizeProfile', () => {
  // (root) -> a -> b, a -> (native write); samples: a, b, b, native, native, native (1 ms each).
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2] },
      { id: 2, callFrame: frame('a', 'node:internal/a', 9), children: [3, 4] },
      { id: 3, callFrame: frame('b', 'node:internal/b', 19) },
      { id: 4, callFrame: frame('write') },
    ],
    startTime: 0,
    endTime: 6000,
    samples: [2, 3, 3, 4, 4, 4],
    timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000],
  };

  it('gives self and inclusive time per function and names native frames by their caller', () => {
    const s = summarizeProfile(profile, '/nonexistent');
    const byWhere = new Map(s.topSelf.map((f) => [f.where, f]));
    expect(byWhere.get('(native write) called from node:internal/a:10 a')?.selfMs).toBe(3);
    expect(byWhere.get('node:internal/b:20 b')?.selfMs).toBe(2);
    expect(byWhere.get('node:internal/a:10 a')?.selfMs).toBe(1);
    expect(s.topTotal.find((f) => f.where === 'node:internal/a:10 a')?.totalPct).toBeCloseTo(100);
    expect(s.byModule.find((m) => m.module === 'node internals')?.selfMs).toBe(3);
    expect(s.byModule.find((m) => m.module === '(native)')?.selfMs).toBe(3);
  });

  it('counts a recursive function once per stack in its inclusive time', () => {
    const rec: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)'), children: [2] },
        { id: 2, callFrame: frame('f', 'node:x', 0), children: [3] },
        { id: 3, callFrame: frame('f', 'node:x', 0) },
      ],
      startTime: 0,
      endTime: 2000,
      samples: [2, 3],
      timeDeltas: [0, 1000, 1000],
    };
    const f = summarizeProfile(rec, '/nonexistent').topTotal.find((x) => x.where === 'node:x:1 f');
    expect(f?.totalMs).toBe(2);
  });
});

describe('summarizeAlloc', () => {
  it('sums sampled bytes per allocating function', () => {
    const s = summarizeAlloc(
      {
        head: {
          callFrame: frame('(root)'),
          selfSize: 0,
          children: [{ callFrame: frame('p', 'node:p', 0), selfSize: 300, children: [{ callFrame: frame('slice'), selfSize: 100, children: [] }] }],
        },
      },
      1000,
      '/nonexistent',
    );
    expect(s.totalBytes).toBe(400);
    expect(s.top[0]).toMatchObject({ where: 'node:p:1 p', bytes: 300, pct: 75 });
    expect(s.top[1]?.where).toBe('(native slice) called from node:p:1 p');
  });
});

/** A minimal V8 heap snapshot: nodes [type, name, id, self_size, edge_count], edges [type, name_or_index, to_node]. */
function snapshot(nodes: [string, string, number, number, [string, number][]][]): string {
  const nodeTypes = ['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic'];
  const edgeTypes = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'];
  const strings: string[] = [];
  const str = (s: string): number => {
    const i = strings.indexOf(s);
    if (i >= 0) return i;
    strings.push(s);
    return strings.length - 1;
  };
  const flatNodes: number[] = [];
  const flatEdges: number[] = [];
  for (const [type, name, id, size, edges] of nodes) {
    flatNodes.push(nodeTypes.indexOf(type), str(name), id, size, edges.length);
    for (const [et, to] of edges) flatEdges.push(edgeTypes.indexOf(et), str('e'), to * 5);
  }
  return JSON.stringify({
    snapshot: { meta: { node_fields: ['type', 'name', 'id', 'self_size', 'edge_count'], node_types: [nodeTypes], edge_fields: ['type', 'name_or_index', 'to_node'], edge_types: [edgeTypes] } },
    nodes: flatNodes,
    edges: flatEdges,
    strings,
  });
}

describe('diffSnapshots', () => {
  it('splits the new objects into the Duplex stream side, the engine side and the rest', () => {
    const before = join(dir, 'before.heapsnapshot');
    const after = join(dir, 'after.heapsnapshot');
    // 0 root (old), 1 server (old)
    writeFileSync(before, snapshot([
      ['synthetic', '(root)', 1, 0, [['element', 1]]],
      ['object', 'TcpServer', 3, 50, []],
    ]));
    // New: 2 TcpSocket -> 3 ReadableState, 2 -> 4 HostTcb (stop); 4 HostTcb -> 5 TcpConnection -> 6 array, 4 -> 2 (socket, stop);
    // 7 a table backing array reachable only from the old server; 8 weakly reachable from the socket.
    writeFileSync(after, snapshot([
      ['synthetic', '(root)', 1, 0, [['element', 1]]],
      ['object', 'TcpServer', 3, 50, [['property', 2], ['internal', 7]]],
      ['object', 'TcpSocket', 101, 168, [['property', 3], ['property', 4], ['weak', 8]]],
      ['object', 'ReadableState', 103, 96, []],
      ['object', 'HostTcb', 105, 184, [['property', 5], ['property', 2]]],
      ['object', 'TcpConnection', 107, 824, [['internal', 6]]],
      ['array', '(object elements)', 109, 100, []],
      ['array', '', 111, 70, []],
      ['object', 'Weakling', 113, 10, []],
    ]));
    const split = diffSnapshots(snapshotIds(before), after);
    expect(split.sockets).toBe(1);
    expect(split.tcbs).toBe(1);
    expect(split.socketBytes).toBe(168 + 96);
    expect(split.engineBytes).toBe(184 + 824 + 100);
    expect(split.otherBytes).toBe(70 + 10);
    expect(split.newBytes).toBe(168 + 96 + 184 + 824 + 100 + 70 + 10);
    expect(split.engineClasses.map((c) => c.name)).toContain('TcpConnection (object)');
  });
});
