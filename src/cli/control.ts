/**
 * The control socket of `chimney run --control PATH` and its client, `chimney ctl`.
 *
 * A Unix domain socket (mode 0600) that speaks NDJSON: one request per line,
 * `{"id":1,"op":"list"}`, one response per line, `{"id":1,"ok":true,"result":...}` or
 * `{"id":1,"ok":false,"error":"unknown connection 42"}`. A malformed line gets an error reply
 * (id null when none could be read); nothing a client sends ends the emulator.
 *
 * The server reaches the emulator only through public methods: the host stack's TCP layer
 * (`connections()`), the offload manager (`offload`, `upload`, `query`, `onTransition`,
 * `stats`) and the target's and binding's `stats`.
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { formatIpv4Address, formatIpv6Address } from '../wire/addr.js';
import type { HostTcb } from '../host/tcp-layer.js';
import type { OffloadableConnection, TransitionOutcome } from '../host/offload.js';
import { UserError } from './errors.js';

export const CONTROL_OPS = ['list', 'show', 'offload', 'upload', 'query', 'stats'] as const;
export type ControlOp = (typeof CONTROL_OPS)[number];

export interface ControlRequest {
  readonly id: unknown;
  readonly op: ControlOp;
  /** The connection ID (show, offload, upload, query). */
  readonly conn?: number;
}

export type ControlResponse = { readonly id: unknown; readonly ok: true; readonly result: unknown } | { readonly id: unknown; readonly ok: false; readonly error: string };

const NEEDS_CONN: ReadonlySet<ControlOp> = new Set(['show', 'offload', 'upload', 'query']);
/** A request line longer than this is refused (and the client disconnected). */
export const MAX_LINE = 64 * 1024;

/** Parses one request line: the request, or the error response to send. Total: never throws. */
export function parseRequest(line: string): { request: ControlRequest } | { error: ControlResponse } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: { id: null, ok: false, error: 'malformed request: not JSON' } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: { id: null, ok: false, error: 'malformed request: expected a JSON object' } };
  }
  const o = value as Record<string, unknown>;
  const id = o['id'] ?? null;
  const op = o['op'];
  if (typeof op !== 'string') return { error: { id, ok: false, error: 'malformed request: "op" must be a string' } };
  if (!(CONTROL_OPS as readonly string[]).includes(op)) return { error: { id, ok: false, error: `unknown op '${op}' (expected ${CONTROL_OPS.join(', ')})` } };
  const cop = op as ControlOp;
  if (!NEEDS_CONN.has(cop)) return { request: { id, op: cop } };
  const conn = o['conn'];
  if (typeof conn !== 'number' || !Number.isSafeInteger(conn) || conn < 1) {
    return { error: { id, ok: false, error: `${cop}: "conn" must be a connection ID (a positive whole number)` } };
  }
  return { request: { id, op: cop, conn } };
}

/** Converts a value to what JSON can carry: bigint → string, bytes → their length, no cycles. */
export function jsonSafe(value: unknown, depth = 0): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return { bytes: value.length };
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? undefined : value;
  if (depth > 8) return '[deep]';
  if (Array.isArray(value)) return value.map((v) => jsonSafe(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const s = jsonSafe(v, depth + 1);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

/** What the control server needs of a running emulator (a structural subset of Emulator). */
export interface ControlledEmulator {
  readonly stack: {
    readonly stats: { toJSON(): unknown };
    readonly tcp: {
      connections(): HostTcb[];
      readonly offloads: {
        readonly options: { readonly policy: unknown };
        readonly stats: unknown;
        offload(c: OffloadableConnection): boolean;
        upload(c: OffloadableConnection, reason: 'application'): boolean;
        query(c: OffloadableConnection, done: (o: { status: string; state: unknown }) => void): boolean;
        onTransition(fn: (c: OffloadableConnection, o: TransitionOutcome) => void): () => void;
      };
    };
  };
  readonly target: { readonly stats: unknown; readonly chimneyProvider?: { readonly stats: unknown } | undefined };
  readonly binding?: { readonly stats: unknown } | undefined;
  /** The intermediate drivers between host and target, top first, with their counters. */
  readonly drivers?: readonly { readonly name: string; readonly kind: string; readonly stats: unknown }[] | undefined;
}

interface Pending {
  readonly op: 'offload' | 'upload';
  readonly resolve: (outcome: TransitionOutcome) => void;
}

/** A transition that does not complete in this long is answered with a timeout error. */
const COMPLETION_TIMEOUT_MS = 10_000;

/** The request handling, without the socket: testable on its own. */
export class ControlService {
  private readonly ids = new WeakMap<HostTcb, number>();
  private readonly byId = new Map<number, WeakRef<HostTcb>>();
  private nextId = 1;
  private readonly last = new WeakMap<OffloadableConnection, { offload?: TransitionOutcome; upload?: TransitionOutcome }>();
  private readonly pending = new Map<OffloadableConnection, Pending[]>();
  private readonly unsubscribe: () => void;

  constructor(private readonly emulator: ControlledEmulator) {
    this.unsubscribe = emulator.stack.tcp.offloads.onTransition((c, outcome) => {
      const rec = this.last.get(c) ?? {};
      rec[outcome.op] = outcome;
      this.last.set(c, rec);
      const waiting = this.pending.get(c);
      if (waiting === undefined) return;
      const rest = waiting.filter((p) => {
        if (p.op !== outcome.op) return true;
        p.resolve(outcome);
        return false;
      });
      if (rest.length === 0) this.pending.delete(c);
      else this.pending.set(c, rest);
    });
  }

  close(): void {
    this.unsubscribe();
  }

  async handle(request: ControlRequest): Promise<ControlResponse> {
    const id = request.id;
    try {
      const result = await this.dispatch(request);
      return { id, ok: true, result };
    } catch (error) {
      return { id, ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }

  private idOf(c: HostTcb): number {
    let id = this.ids.get(c);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(c, id);
      this.byId.set(id, new WeakRef(c));
    }
    return id;
  }

  private live(): HostTcb[] {
    const all = this.emulator.stack.tcp.connections().filter((c) => !c.gone);
    for (const c of all) this.idOf(c);
    // Forget IDs of connections that are gone (IDs are never reused).
    for (const [id, ref] of this.byId) {
      const c = ref.deref();
      if (c === undefined || c.gone) this.byId.delete(id);
    }
    return all;
  }

  private find(id: number): HostTcb {
    this.live();
    const c = this.byId.get(id)?.deref();
    if (c === undefined || c.gone) throw new Error(`unknown connection ${id}`);
    return c;
  }

  private summary(c: HostTcb): Record<string, unknown> {
    const info = c.io.info();
    const local = c.family === 4 ? formatIpv4Address(c.local4) : `[${formatIpv6Address(c.local6 as Uint8Array)}]`;
    const remote = c.family === 4 ? formatIpv4Address(c.remote4) : `[${formatIpv6Address(c.remote6 as Uint8Array)}]`;
    return {
      id: this.idOf(c),
      local: `${local}:${c.localPort}`,
      remote: `${remote}:${c.remotePort}`,
      state: c.io.state,
      offloaded: c.offload?.mode === 'offloaded',
      transition: c.offload === undefined || c.offload.mode === 'offloaded' ? undefined : c.offload.mode,
      bytesIn: info.bytesReceived,
      bytesOut: info.bytesSent,
    };
  }

  private async dispatch(r: ControlRequest): Promise<unknown> {
    const offloads = this.emulator.stack.tcp.offloads;
    switch (r.op) {
      case 'list':
        return this.live().map((c) => this.summary(c));
      case 'stats':
        return jsonSafe({
          host: this.emulator.stack.stats.toJSON(),
          offload: offloads.stats,
          target: { ...(this.emulator.target.stats as object), chimney: this.emulator.target.chimneyProvider?.stats },
          binding: this.emulator.binding?.stats,
          drivers: this.emulator.drivers ?? [],
        });
      case 'show': {
        const c = this.find(r.conn as number);
        const off = c.offload;
        const last = this.last.get(c);
        return jsonSafe({
          ...this.summary(c),
          family: c.family,
          policy: offloads.options.policy,
          offload:
            off === undefined
              ? undefined
              : {
                  mode: off.mode,
                  name: off.name,
                  hostHandle: handleValues(off.handle),
                  neighbor: off.neighborKey,
                  path: off.pathKey,
                },
          lastOffload: last?.offload,
          lastUpload: last?.upload,
          tcp: c.io.info(),
        });
      }
      case 'offload': {
        const c = this.find(r.conn as number);
        if (c.offload !== undefined) throw new Error(`connection ${r.conn}: already ${c.offload.mode}`);
        const done = this.await(c, 'offload');
        if (!offloads.offload(c)) {
          this.cancel(c, 'offload');
          throw new Error(`connection ${r.conn}: cannot be offloaded now (state ${c.io.state}, policy ${JSON.stringify(offloads.options.policy)})`);
        }
        return jsonSafe(await done);
      }
      case 'upload': {
        const c = this.find(r.conn as number);
        if (c.offload?.mode !== 'offloaded') throw new Error(`connection ${r.conn}: not offloaded`);
        const done = this.await(c, 'upload');
        if (!offloads.upload(c, 'application')) {
          this.cancel(c, 'upload');
          throw new Error(`connection ${r.conn}: cannot be uploaded now`);
        }
        return jsonSafe(await done);
      }
      case 'query': {
        const c = this.find(r.conn as number);
        const answer = await new Promise<{ status: string; state: unknown } | undefined>((resolve) => {
          if (!offloads.query(c, resolve)) resolve(undefined);
        });
        if (answer === undefined) throw new Error(`connection ${r.conn}: not offloaded`);
        return jsonSafe(answer);
      }
    }
  }

  private await(c: HostTcb, op: 'offload' | 'upload'): Promise<TransitionOutcome> {
    return new Promise<TransitionOutcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.cancel(c, op);
        reject(new Error(`connection ${this.idOf(c)}: no ${op} completion after ${COMPLETION_TIMEOUT_MS} ms`));
      }, COMPLETION_TIMEOUT_MS);
      const list = this.pending.get(c) ?? [];
      list.push({
        op,
        resolve: (o) => {
          clearTimeout(timer);
          resolve(o);
        },
      });
      this.pending.set(c, list);
    });
  }

  private cancel(c: HostTcb, op: 'offload' | 'upload'): void {
    const list = this.pending.get(c);
    if (list === undefined) return;
    const rest = list.filter((p) => p.op !== op);
    if (rest.length === 0) this.pending.delete(c);
    else this.pending.set(c, rest);
  }
}

function handleValues(h: { readonly MiniportOffloadContext: unknown }): Record<string, unknown> {
  return { MiniportOffloadContext: h.MiniportOffloadContext === null ? null : String(h.MiniportOffloadContext) };
}

export interface ControlServer {
  readonly path: string;
  close(): Promise<void>;
  /** Removes the socket file (exit handler). */
  closeSync(): void;
}

/** Whether something accepts connections on the Unix socket at `path`. */
function listening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Listens on `path` (mode 0600 from the start) and serves NDJSON requests until closed. */
export async function startControlServer(path: string, emulator: ControlledEmulator, warn: (message: string) => void): Promise<ControlServer> {
  let exists = false;
  try {
    const st = lstatSync(path);
    if (!st.isSocket()) throw new UserError(`--control: ${path} exists and is not a socket`, 1);
    exists = true;
  } catch (error) {
    if (error instanceof UserError) throw error;
  }
  if (exists) {
    if (await listening(path)) throw new UserError(`--control: another process is listening on ${path}`, 1);
    unlinkSync(path);
  }
  const service = new ControlService(emulator);
  const clients = new Set<Socket>();
  const server: Server = createServer((socket) => {
    clients.add(socket);
    socket.on('close', () => clients.delete(socket));
    socket.on('error', () => undefined);
    socket.setEncoding('utf8');
    let buffer = '';
    // Responses go out in request order, even when an earlier one waits for a completion.
    let chain: Promise<void> = Promise.resolve();
    const reply = (r: ControlResponse): void => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(r)}\n`);
    };
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line === '') continue;
        const parsed = parseRequest(line);
        chain = chain.then(async () => reply('error' in parsed ? parsed.error : await service.handle(parsed.request)));
      }
      if (buffer.length > MAX_LINE) {
        reply({ id: null, ok: false, error: `malformed request: line longer than ${MAX_LINE} bytes` });
        socket.end();
        buffer = '';
      }
    });
  });
  server.on('error', (error) => warn(`--control ${path}: ${error.message}`));
  // No window in which the socket exists with a wider mode: the umask covers bind().
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    service.close();
    throw new UserError(`--control: cannot listen on ${path}: ${error instanceof Error ? error.message : String(error)}`, 1);
  } finally {
    process.umask(oldMask);
  }
  chmodSync(path, 0o600);
  let closed = false;
  const removeFile = (): void => {
    try {
      unlinkSync(path);
    } catch {
      // Already gone.
    }
  };
  return {
    path,
    async close() {
      if (closed) return;
      closed = true;
      service.close();
      for (const c of clients) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      removeFile();
    },
    closeSync() {
      if (closed) return;
      closed = true;
      removeFile();
    },
  };
}

/** The default control socket: $XDG_RUNTIME_DIR/chimney.sock, else /run/chimney.sock for root, else /tmp/chimney-UID.sock. */
export function defaultControlPath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_RUNTIME_DIR'];
  if (xdg !== undefined && xdg !== '') return `${xdg.replace(/\/+$/, '')}/chimney.sock`;
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return uid === 0 ? '/run/chimney.sock' : `/tmp/chimney-${uid}.sock`;
}

/** Sends one request to the control socket and resolves with its response. */
export function controlRequest(path: string, request: Record<string, unknown>, timeoutMs = 15_000): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.setEncoding('utf8');
    let buffer = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new UserError(`ctl: no answer from ${path} after ${timeoutMs} ms`, 1));
    }, timeoutMs);
    s.once('connect', () => s.write(`${JSON.stringify(request)}\n`));
    s.on('data', (d: string) => {
      buffer += d;
      const nl = buffer.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      s.destroy();
      try {
        resolve(JSON.parse(buffer.slice(0, nl)) as ControlResponse);
      } catch {
        reject(new UserError(`ctl: ${path} answered something that is not JSON`, 1));
      }
    });
    s.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const code = error.code ?? 'error';
      if (code === 'ENOENT' || code === 'ECONNREFUSED') reject(new UserError(`ctl: no emulator listening on ${path} (${code})`, 1));
      else reject(new UserError(`ctl: cannot talk to ${path} (${code}: ${error.message})`, 1));
    });
    s.once('end', () => {
      clearTimeout(timer);
      if (buffer.indexOf('\n') < 0) reject(new UserError(`ctl: ${path} closed the connection without an answer`, 1));
    });
  });
}
