/**
 * In-process CPU profiling for the benchmark: the V8 sampling profiler through `node:inspector`
 * around one measured phase (so the profile holds that phase only, unlike `node --cpu-prof`),
 * and a summary of where the time went: self time per function (mapped back to the TypeScript
 * source through the compiler's source maps), inclusive time per function, and self time per
 * source module (src/link, src/host, src/tcp, ...). Native work, including the kernel work a
 * TAP write does in our thread, is billed to the JS function that made the call into the addon,
 * or to "(program)".
 */
import { Session } from 'node:inspector/promises';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';

export interface CallFrame {
  readonly functionName: string;
  readonly scriptId: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

export interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly hitCount?: number;
  readonly children?: number[];
}

export interface CpuProfile {
  readonly nodes: ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: number[];
  readonly timeDeltas?: number[];
}

export interface FunctionCost {
  /** `file:line function` with the file relative to the repository and the line in the .ts source when a map exists. */
  readonly where: string;
  readonly selfMs: number;
  readonly selfPct: number;
  readonly totalMs: number;
  readonly totalPct: number;
}

export interface ProfileSummary {
  readonly durationMs: number;
  readonly samples: number;
  /** Top functions by self time. */
  readonly topSelf: FunctionCost[];
  /** Top functions by inclusive time (a function counted once per stack, recursion included). */
  readonly topTotal: FunctionCost[];
  /** Self time per module (src/tcp, src/host, node internals, native/GC/idle). */
  readonly byModule: { module: string; selfMs: number; selfPct: number }[];
}

/** A node of V8's sampling heap profile (HeapProfiler.stopSampling). */
export interface AllocNode {
  readonly callFrame: CallFrame;
  readonly selfSize: number;
  readonly children: AllocNode[];
}

export interface AllocProfile {
  readonly head: AllocNode;
}

export interface AllocSummary {
  readonly durationMs: number;
  /** Sampled bytes allocated on the V8 heap during the phase (collected objects included). ArrayBuffer backing stores are outside the V8 heap and not in here. */
  readonly totalBytes: number;
  readonly top: { where: string; bytes: number; mbPerSec: number; pct: number }[];
}

/**
 * Both profilers around one phase: CPU samples, and (optionally) allocation samples that also
 * keep objects the GC has already collected, so the churn that drives GC time is visible.
 */
export class PhaseProfiler {
  private readonly session = new Session();
  private running = false;
  private alloc = false;
  private startedAt = 0;

  async start(intervalUs: number, allocSampling: boolean): Promise<void> {
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: intervalUs });
    if (allocSampling) {
      await this.session.post('HeapProfiler.enable');
      await this.session.post('HeapProfiler.startSampling', { samplingInterval: 32768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
      this.alloc = true;
    }
    await this.session.post('Profiler.start');
    this.startedAt = performance.now();
    this.running = true;
  }

  async stop(): Promise<{ cpu: CpuProfile; alloc: AllocProfile | undefined; durationMs: number }> {
    if (!this.running) throw new Error('profiler not running');
    this.running = false;
    const { profile } = (await this.session.post('Profiler.stop')) as { profile: CpuProfile };
    const durationMs = performance.now() - this.startedAt;
    let alloc: AllocProfile | undefined;
    if (this.alloc) {
      alloc = ((await this.session.post('HeapProfiler.stopSampling')) as { profile: AllocProfile }).profile;
      await this.session.post('HeapProfiler.disable');
    }
    await this.session.post('Profiler.disable');
    this.session.disconnect();
    return { cpu: profile, alloc, durationMs };
  }
}

export function summarizeAlloc(profile: AllocProfile, durationMs: number, repoRoot: string, top = 15): AllocSummary {
  const bytes = new Map<string, number>();
  let total = 0;
  const walk = (n: AllocNode, parentKey: string): void => {
    let k = locate(n.callFrame, repoRoot);
    if (n.callFrame.url === '' && !n.callFrame.functionName.startsWith('(')) k = `(native ${n.callFrame.functionName || 'anonymous'}) called from ${parentKey}`;
    bytes.set(k, (bytes.get(k) ?? 0) + n.selfSize);
    total += n.selfSize;
    for (const c of n.children) walk(c, k);
  };
  walk(profile.head, '(root)');
  return {
    durationMs,
    totalBytes: total,
    top: [...bytes.entries()]
      .filter(([, b]) => b > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, b]) => ({ where, bytes: b, mbPerSec: b / 1e6 / (durationMs / 1000), pct: total > 0 ? (100 * b) / total : 0 })),
  };
}

export function formatAllocSummary(title: string, s: AllocSummary): string {
  const lines = [
    `### ${title}: ${(s.totalBytes / 1e6).toFixed(0)} MB allocated on the V8 heap in ${s.durationMs.toFixed(0)} ms (${(s.totalBytes / 1e6 / (s.durationMs / 1000)).toFixed(0)} MB/s, sampled)`,
    '',
    '| % | MB/s | allocating function (source) |',
    '|---:|---:|---|',
  ];
  for (const t of s.top) lines.push(`| ${t.pct.toFixed(1)} | ${t.mbPerSec.toFixed(1)} | ${t.where} |`);
  return lines.join('\n');
}

// ---- source maps (only what is needed: generated line/column -> original line) -------------------

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

/** Per generated line: sorted [generatedColumn, sourceIndex, originalLine] triples. */
interface DecodedMap {
  readonly sources: string[];
  readonly lines: [number, number, number][][];
}

function decodeVlq(segment: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of segment) {
    const digit = B64_INDEX.get(ch);
    if (digit === undefined) return out;
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

function decodeMap(raw: { sources: string[]; mappings: string }): DecodedMap {
  const lines: [number, number, number][][] = [];
  let source = 0;
  let origLine = 0;
  let origCol = 0;
  for (const lineText of raw.mappings.split(';')) {
    const segs: [number, number, number][] = [];
    let genCol = 0;
    if (lineText.length > 0) {
      for (const seg of lineText.split(',')) {
        const f = decodeVlq(seg);
        if (f.length === 0) continue;
        genCol += f[0] as number;
        if (f.length >= 4) {
          source += f[1] as number;
          origLine += f[2] as number;
          origCol += f[3] as number;
          segs.push([genCol, source, origLine]);
        }
      }
    }
    lines.push(segs);
  }
  return { sources: raw.sources, lines };
}

const mapCache = new Map<string, DecodedMap | null>();

/** The original `file:line` (1-based line) for a generated position, or undefined. */
function originalPosition(jsPath: string, line0: number, col0: number, repoRoot: string): string | undefined {
  let map = mapCache.get(jsPath);
  if (map === undefined) {
    const mapPath = `${jsPath}.map`;
    map = null;
    if (existsSync(mapPath)) {
      try {
        map = decodeMap(JSON.parse(readFileSync(mapPath, 'utf8')) as { sources: string[]; mappings: string });
      } catch {
        map = null;
      }
    }
    mapCache.set(jsPath, map);
  }
  if (map === null) return undefined;
  const segs = map.lines[line0];
  if (segs === undefined || segs.length === 0) return undefined;
  let best = segs[0] as [number, number, number];
  for (const s of segs) {
    if (s[0] <= col0) best = s;
    else break;
  }
  const src = map.sources[best[1]];
  if (src === undefined) return undefined;
  const abs = new URL(src, `file://${jsPath}`);
  return `${relative(repoRoot, fileURLToPath(abs))}:${best[2] + 1}`;
}

// ---- summary ------------------------------------------------------------------------------------

function moduleOf(url: string, fn: string, repoRoot: string): string {
  if (url === '') {
    if (fn.startsWith('(')) return fn; // (program), (garbage collector), (idle), (root)
    return '(native)';
  }
  if (url.startsWith('node:')) return 'node internals';
  if (url.startsWith('file://')) {
    const rel = relative(repoRoot, fileURLToPath(url));
    const m = /^dist\/(src\/[^/]+|scripts)\//.exec(rel);
    if (m !== null) return m[1] as string;
    if (rel.startsWith('node_modules/')) return 'node_modules';
    return rel;
  }
  return url;
}

function locate(frame: CallFrame, repoRoot: string): string {
  const fn = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return fn;
  if (frame.url.startsWith('file://')) {
    const path = fileURLToPath(frame.url);
    const orig = originalPosition(path, frame.lineNumber, frame.columnNumber, repoRoot);
    return `${orig ?? `${relative(repoRoot, path)}:${frame.lineNumber + 1}`} ${fn}`;
  }
  return `${frame.url}:${frame.lineNumber + 1} ${fn}`;
}

export function summarizeProfile(profile: CpuProfile, repoRoot: string, top = 25): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  // Self time per node from the samples and their time deltas (sample i lasts until sample i+1).
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const next = deltas[i + 1];
    const d = next !== undefined ? next : 0;
    const id = samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + d);
  }
  const durationUs = profile.endTime - profile.startTime;
  const keyOf = new Map<number, string>();
  const key = (n: ProfileNode, parentKey: string): string => {
    let k = keyOf.get(n.id);
    if (k === undefined) {
      k = locate(n.callFrame, repoRoot);
      // A native function (the addon's calls, Node bindings) has no script: name it by its caller.
      if (n.callFrame.url === '' && !n.callFrame.functionName.startsWith('(')) k = `(native ${n.callFrame.functionName || 'anonymous'}) called from ${parentKey}`;
      keyOf.set(n.id, k);
    }
    return k;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const modules = new Map<string, number>();
  // Children point down from the root; walk with an explicit stack counting active keys.
  const childIds = new Set<number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) childIds.add(c);
  const roots = profile.nodes.filter((n) => !childIds.has(n.id));
  const active = new Map<string, number>();
  // Inclusive time per node first (post-order), then credit each distinct key on the path once.
  const inclusive = new Map<number, number>();
  const incl = (n: ProfileNode): number => {
    let t = selfUs.get(n.id) ?? 0;
    for (const c of n.children ?? []) {
      const child = byId.get(c);
      if (child !== undefined) t += incl(child);
    }
    inclusive.set(n.id, t);
    return t;
  };
  for (const r of roots) incl(r);
  const walk = (n: ProfileNode, parentKey: string): void => {
    const k = key(n, parentKey);
    const s = selfUs.get(n.id) ?? 0;
    self.set(k, (self.get(k) ?? 0) + s);
    const mod = moduleOf(n.callFrame.url, n.callFrame.functionName, repoRoot);
    modules.set(mod, (modules.get(mod) ?? 0) + s);
    const depth = active.get(k) ?? 0;
    if (depth === 0) total.set(k, (total.get(k) ?? 0) + (inclusive.get(n.id) ?? 0));
    active.set(k, depth + 1);
    for (const c of n.children ?? []) {
      const child = byId.get(c);
      if (child !== undefined) walk(child, k);
    }
    active.set(k, depth);
  };
  for (const r of roots) walk(r, '(root)');
  const pct = (us: number): number => (durationUs > 0 ? (100 * us) / durationUs : 0);
  const cost = (k: string): FunctionCost => {
    const s = self.get(k) ?? 0;
    const t = total.get(k) ?? 0;
    return { where: k, selfMs: s / 1000, selfPct: pct(s), totalMs: t / 1000, totalPct: pct(t) };
  };
  const notRoot = (k: string): boolean => k !== '(root)';
  return {
    durationMs: durationUs / 1000,
    samples: samples.length,
    topSelf: [...self.entries()]
      .filter(([k]) => notRoot(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k]) => cost(k)),
    topTotal: [...total.entries()]
      .filter(([k]) => notRoot(k) && k !== '(program)' && k !== '(idle)' && k !== '(garbage collector)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k]) => cost(k)),
    byModule: [...modules.entries()]
      .filter(([m]) => m !== '(root)')
      .sort((a, b) => b[1] - a[1])
      .map(([module, us]) => ({ module, selfMs: us / 1000, selfPct: pct(us) })),
  };
}

export function formatProfileSummary(title: string, s: ProfileSummary): string {
  const lines = [`### ${title}: ${s.durationMs.toFixed(0)} ms profiled, ${s.samples} samples`, '', '| self % | self ms | total % | function (source) |', '|---:|---:|---:|---|'];
  for (const f of s.topSelf) lines.push(`| ${f.selfPct.toFixed(1)} | ${f.selfMs.toFixed(0)} | ${f.totalPct.toFixed(1)} | ${f.where} |`);
  lines.push('', '| total % | total ms | function (inclusive) |', '|---:|---:|---|');
  for (const f of s.topTotal.slice(0, 15)) lines.push(`| ${f.totalPct.toFixed(1)} | ${f.totalMs.toFixed(0)} | ${f.where} |`);
  lines.push('', '| module | self % | self ms |', '|---|---:|---:|');
  for (const m of s.byModule) lines.push(`| ${m.module} | ${m.selfPct.toFixed(1)} | ${m.selfMs.toFixed(0)} |`);
  return lines.join('\n');
}
