/**
 * Reading captures back with tshark, with every checksum check Wireshark has switched on, so a
 * test can assert that what chimney put on the wire is well-formed: no malformed frames, no
 * expert warnings or errors (bad checksums are errors), and the fields it expects.
 *
 * tshark is optional locally (tests that need it skip with one line saying why) and required in
 * CI (`CI=true`: a missing tshark fails, STYLE rule 12). Calls are few and bounded: each run
 * has a timeout, and callers read one small file per run.
 */
import { execFile, execFileSync } from 'node:child_process';

const TSHARK = process.env['TSHARK'] ?? 'tshark';
const RUN_TIMEOUT_MS = 300_000;
const MAX_OUTPUT = 64 * 1024 * 1024;

/** `_ws.expert.severity` values (epan/proto.h PI_WARN, PI_ERROR): warnings and errors, not notes or chats. */
const SEVERITY_WARNING = 0x00600000;

export interface TsharkInfo {
  readonly version: string;
  /** `-o` arguments that turn on every checksum validation this tshark offers. */
  readonly checksumPrefs: readonly string[];
  /** The field holding a packet's pcapng direction flag (epb_flags bits 0-1) in this version. */
  readonly directionField: string;
  /** The field holding packet comments in this version. */
  readonly commentField: string;
}

let cached: TsharkInfo | null | undefined;

/** What the installed tshark offers, or undefined when there is none. Probed once per process. */
export function tsharkInfo(): TsharkInfo | undefined {
  if (cached !== undefined) return cached ?? undefined;
  try {
    const version = execFileSync(TSHARK, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0] ?? '';
    const prefs = execFileSync(TSHARK, ['-G', 'defaultprefs'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: MAX_OUTPUT });
    const fieldList = execFileSync(TSHARK, ['-G', 'fields'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: MAX_OUTPUT });
    const fieldNames = new Set<string>();
    for (const line of fieldList.split('\n')) {
      const parts = line.split('\t');
      if (parts[0] === 'F' && parts[2] !== undefined) fieldNames.add(parts[2]);
    }
    // ip/tcp/udp have a check_checksum preference (off by default); ICMP and ICMPv6 checksums
    // are always verified in 4.0, and later versions may add preferences: use them if present.
    const checksumPrefs: string[] = [];
    for (const proto of ['ip', 'tcp', 'udp', 'icmp', 'icmpv6']) {
      if (new RegExp(`^#?${proto}\\.check_checksum:`, 'm').test(prefs)) checksumPrefs.push('-o', `${proto}.check_checksum:TRUE`);
    }
    const directionField = ['frame.packet_flags_direction', 'frame.packet_flags.direction', 'pcapng.epb.flags.direction'].find((f) => fieldNames.has(f));
    const commentField = ['frame.comment', 'pkt_comment'].find((f) => fieldNames.has(f)) ?? 'frame.comment';
    if (directionField === undefined) throw new Error('this tshark has no packet direction field');
    cached = { version, checksumPrefs, directionField, commentField };
  } catch {
    cached = null;
  }
  return cached ?? undefined;
}

/** Why tshark tests cannot run here, or undefined when they can. */
export function tsharkMissing(): string | undefined {
  return tsharkInfo() === undefined ? `tshark not found (set TSHARK or install it): capture checks skipped` : undefined;
}

function requireInfo(): TsharkInfo {
  const info = tsharkInfo();
  if (info === undefined) throw new Error('tshark is not installed');
  return info;
}

/** Runs tshark and returns its standard output; rejects with stderr on a non-zero exit. */
export function runTshark(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(TSHARK, args, { encoding: 'utf8', timeout: RUN_TIMEOUT_MS, maxBuffer: MAX_OUTPUT }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`tshark ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * The common arguments: read `file`, no name resolution, every checksum check on, and every
 * TCP and UDP payload decoded as plain data. The captures carry random and patterned test
 * payloads on arbitrary ports; application dissectors (port-based and heuristic, e.g. Thrift
 * on random bytes, HTTP reassembling 100 MB bodies) would report their own confusion as
 * malformed frames and take minutes. What is checked is Ethernet, IP and TCP/UDP.
 */
function readArgs(file: string, extra: readonly string[] = []): string[] {
  return ['-r', file, '-n', ...requireInfo().checksumPrefs, '-d', 'tcp.port==1-65535,data', '-d', 'udp.port==1-65535,data', ...extra];
}

/**
 * Frames that are malformed or carry an expert warning or error (bad checksum, bad length,
 * TCP analysis warnings), one line each: frame number, protocol, info column and expert
 * messages. An empty array is a clean capture.
 */
export async function problems(file: string, options: { readonly extraPrefs?: readonly string[] } = {}): Promise<string[]> {
  const prefs = (options.extraPrefs ?? []).flatMap((p) => ['-o', p]);
  const out = await runTshark([
    ...readArgs(file, prefs),
    '-Y',
    `_ws.malformed || _ws.expert.severity >= ${SEVERITY_WARNING}`,
    '-T',
    'fields',
    '-E',
    'separator=|',
    '-E',
    'occurrence=a',
    '-E',
    'aggregator=;',
    '-e',
    'frame.number',
    '-e',
    '_ws.col.Protocol',
    '-e',
    '_ws.col.Info',
    '-e',
    '_ws.expert.message',
  ]);
  return out.split('\n').filter((l) => l.length > 0);
}

export interface ExpertProblem {
  readonly frame: number;
  readonly protocol: string;
  readonly info: string;
  /** The frame's expert messages of warning severity or above (notes and chats left out). */
  readonly messages: readonly string[];
}

/**
 * Like `problems`, but structured, and each frame keeps only its expert messages of warning
 * severity or above: a FIN's "Connection finish" chat on the same frame as a real warning is
 * not part of the finding.
 */
export async function expertProblems(file: string): Promise<ExpertProblem[]> {
  const out = await runTshark([
    ...readArgs(file),
    '-Y',
    `_ws.malformed || _ws.expert.severity >= ${SEVERITY_WARNING}`,
    '-T',
    'fields',
    '-E',
    'separator=\t',
    '-E',
    'occurrence=a',
    '-E',
    'aggregator=\x1f',
    '-e',
    'frame.number',
    '-e',
    '_ws.col.Protocol',
    '-e',
    '_ws.col.Info',
    '-e',
    '_ws.expert.message',
    '-e',
    '_ws.expert.severity',
    '-e',
    '_ws.malformed',
  ]);
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const [frame = '', protocol = '', info = '', messages = '', severities = '', malformed = ''] = line.split('\t');
      const texts = messages.split('\x1f');
      const levels = severities.split('\x1f').map(Number);
      const kept = texts.filter((_, i) => (levels[i] ?? 0) >= SEVERITY_WARNING);
      if (malformed !== '') kept.push('Malformed packet');
      return { frame: Number(frame), protocol, info, messages: kept };
    });
}

/**
 * Extracts `names` from every frame (or those matching the display `filter`): one array of
 * strings per frame, in the order of `names`. A field present several times in a frame is
 * joined with ','; an absent one is ''.
 */
export async function fields(file: string, names: readonly string[], filter?: string): Promise<string[][]> {
  const args = [...readArgs(file), '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const n of names) args.push('-e', n);
  if (filter !== undefined) args.push('-Y', filter);
  const out = await runTshark(args);
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const parts = l.split('\t');
      return names.map((_, i) => parts[i] ?? '');
    });
}

export type CapturedDirection = 'in' | 'out' | undefined;

/** The direction of every frame as tshark reads it from epb_flags (0x1 inbound, 0x2 outbound). */
export async function directions(file: string): Promise<CapturedDirection[]> {
  const rows = await fields(file, [requireInfo().directionField]);
  return rows.map(([v]) => {
    const n = v === undefined || v === '' ? 0 : Number(v);
    return n === 1 ? 'in' : n === 2 ? 'out' : undefined;
  });
}

/** The comments of every frame ('' when a frame has none; several joined with ','). */
export async function comments(file: string): Promise<string[]> {
  const rows = await fields(file, [requireInfo().commentField]);
  return rows.map(([v]) => v ?? '');
}
