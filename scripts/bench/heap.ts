/**
 * Heap accounting for the benchmark's idle-connection test.
 *
 * `forceGc` gets V8's `gc()` without restarting Node with --expose-gc (the flag is set at run
 * time and the function taken from a fresh context), and collects until the heap stops
 * shrinking.
 *
 * `diffSnapshots` compares two heap snapshots of the same process. V8 keeps an object's
 * snapshot id stable across snapshots, so the objects present in the second snapshot and
 * absent from the first are the ones the new connections brought. Those are split by
 * ownership: everything reachable from a new `TcpSocket` through new objects without passing
 * through the connection's `HostTcb`/`TcpConnection` is the Duplex stream's share (the
 * node:stream state, listeners, closures); everything reachable from a new `HostTcb` without
 * passing through its socket is the engine's and the host stack's share; the rest (table
 * growth, timer queues) is listed apart. ArrayBuffer backing stores appear as native nodes, so
 * they are counted too, unlike in `heapUsed`.
 */
import { readFileSync, statSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gcFn: (() => void) | undefined;

export function getGc(): () => void {
  if (gcFn !== undefined) return gcFn;
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') {
    gcFn = g;
    return g;
  }
  setFlagsFromString('--expose-gc');
  const fn = runInNewContext('gc') as unknown;
  if (typeof fn !== 'function') throw new Error('cannot obtain gc(): run node with --expose-gc');
  gcFn = fn as () => void;
  return gcFn;
}

/** Full collections (with turns of the event loop between, so finalizers and weak callbacks run) until the heap settles. */
export async function forceGc(): Promise<NodeJS.MemoryUsage> {
  const gc = getGc();
  let last = Infinity;
  let usage = process.memoryUsage();
  for (let i = 0; i < 6; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
    usage = process.memoryUsage();
    if (Math.abs(last - usage.heapUsed) < 16 * 1024) break;
    last = usage.heapUsed;
  }
  return usage;
}

interface SnapshotJson {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** The largest snapshot file parsed (a JS string holds at most ~512 MiB). */
const MAX_SNAPSHOT_BYTES = 400 * 1024 * 1024;

function loadSnapshot(path: string): SnapshotJson {
  const size = statSync(path).size;
  if (size > MAX_SNAPSHOT_BYTES) throw new Error(`heap snapshot ${path} is ${(size / 2 ** 20).toFixed(0)} MiB, too big to parse; use fewer connections`);
  return JSON.parse(readFileSync(path, 'utf8')) as SnapshotJson;
}

export function snapshotIds(path: string): Set<number> {
  const s = loadSnapshot(path);
  const nf = s.snapshot.meta.node_fields;
  const stride = nf.length;
  const idOff = nf.indexOf('id');
  const ids = new Set<number>();
  for (let i = 0; i < s.nodes.length; i += stride) ids.add(s.nodes[i + idOff] as number);
  return ids;
}

export interface ClassCost {
  readonly name: string;
  readonly count: number;
  readonly bytes: number;
}

export interface HeapSplit {
  /** New objects in the second snapshot (count, bytes). */
  readonly newObjects: number;
  readonly newBytes: number;
  /** How many new TcpSocket / HostTcb objects were found (should both equal the connection count). */
  readonly sockets: number;
  readonly tcbs: number;
  readonly socketBytes: number;
  readonly engineBytes: number;
  readonly otherBytes: number;
  readonly socketClasses: ClassCost[];
  readonly engineClasses: ClassCost[];
  readonly otherClasses: ClassCost[];
}

const SOCKET_CLASS = 'TcpSocket';
const ENGINE_ROOT_CLASS = 'HostTcb';
const ENGINE_CLASSES = new Set(['HostTcb', 'TcpConnection']);

export function diffSnapshots(beforeIds: Set<number>, afterPath: string): HeapSplit {
  const s = loadSnapshot(afterPath);
  const nf = s.snapshot.meta.node_fields;
  const ef = s.snapshot.meta.edge_fields;
  const nodeTypes = s.snapshot.meta.node_types[0];
  const edgeTypes = s.snapshot.meta.edge_types[0];
  const stride = nf.length;
  const estride = ef.length;
  const tOff = nf.indexOf('type');
  const nOff = nf.indexOf('name');
  const idOff = nf.indexOf('id');
  const sizeOff = nf.indexOf('self_size');
  const ecOff = nf.indexOf('edge_count');
  const etOff = ef.indexOf('type');
  const toOff = ef.indexOf('to_node');
  const weak = edgeTypes.indexOf('weak');
  const shortcut = edgeTypes.indexOf('shortcut');
  const count = s.nodes.length / stride;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    firstEdge[i] = e;
    e += (s.nodes[i * stride + ecOff] as number) * estride;
    firstEdge[i + 1] = e;
  }
  const isNew = new Uint8Array(count);
  let newObjects = 0;
  let newBytes = 0;
  for (let i = 0; i < count; i++) {
    if (!beforeIds.has(s.nodes[i * stride + idOff] as number)) {
      isNew[i] = 1;
      newObjects++;
      newBytes += s.nodes[i * stride + sizeOff] as number;
    }
  }
  const typeName = (i: number): string => nodeTypes[s.nodes[i * stride + tOff] as number] ?? '?';
  const name = (i: number): string => s.strings[s.nodes[i * stride + nOff] as number] ?? '?';
  const label = (i: number): string => {
    const t = typeName(i);
    if (t === 'object' || t === 'closure' || t === 'native' || t === 'hidden' || t === 'array' || t === 'code' || t === 'synthetic') return `${name(i)} (${t})`;
    return `(${t})`; // strings, numbers, concatenated strings: content is not a class
  };
  // 0 = unclaimed, 1 = socket side, 2 = engine side
  const owner = new Uint8Array(count);
  const claim = (roots: number[], tag: 1 | 2, stopAt: (i: number) => boolean): void => {
    const stack = [...roots];
    for (const r of roots) owner[r] = tag;
    while (stack.length > 0) {
      const i = stack.pop() as number;
      for (let e = firstEdge[i] as number; e < (firstEdge[i + 1] as number); e += estride) {
        const et = s.edges[e + etOff] as number;
        if (et === weak || et === shortcut) continue;
        const to = (s.edges[e + toOff] as number) / stride;
        if (isNew[to] === 0 || owner[to] !== 0 || stopAt(to)) continue;
        owner[to] = tag;
        stack.push(to);
      }
    }
  };
  const sockets: number[] = [];
  const tcbs: number[] = [];
  for (let i = 0; i < count; i++) {
    if (isNew[i] === 0 || typeName(i) !== 'object') continue;
    const n = name(i);
    if (n === SOCKET_CLASS) sockets.push(i);
    else if (n === ENGINE_ROOT_CLASS) tcbs.push(i);
  }
  claim(sockets, 1, (i) => typeName(i) === 'object' && ENGINE_CLASSES.has(name(i)));
  claim(tcbs, 2, (i) => typeName(i) === 'object' && name(i) === SOCKET_CLASS);
  const groups: Map<string, ClassCost>[] = [new Map(), new Map(), new Map()];
  const bytes = [0, 0, 0];
  for (let i = 0; i < count; i++) {
    if (isNew[i] === 0) continue;
    const o = owner[i] as number;
    const sz = s.nodes[i * stride + sizeOff] as number;
    bytes[o] = (bytes[o] as number) + sz;
    const g = groups[o] as Map<string, ClassCost>;
    const l = label(i);
    const c = g.get(l);
    g.set(l, { name: l, count: (c?.count ?? 0) + 1, bytes: (c?.bytes ?? 0) + sz });
  }
  const top = (g: Map<string, ClassCost>): ClassCost[] => [...g.values()].sort((a, b) => b.bytes - a.bytes).slice(0, 20);
  return {
    newObjects,
    newBytes,
    sockets: sockets.length,
    tcbs: tcbs.length,
    socketBytes: bytes[1] as number,
    engineBytes: bytes[2] as number,
    otherBytes: bytes[0] as number,
    socketClasses: top(groups[1] as Map<string, ClassCost>),
    engineClasses: top(groups[2] as Map<string, ClassCost>),
    otherClasses: top(groups[0] as Map<string, ClassCost>),
  };
}
