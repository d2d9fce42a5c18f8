/**
 * The services `chimney run --serve KIND:PORT` offers on the host stack:
 *
 * - `echo` (RFC 862), `discard` (RFC 863), `chargen` (RFC 864, endless);
 * - `http`: Node's own HTTP/1.1 server running over the emulated sockets (keep-alive,
 *   Content-Length and chunked bodies come from node:http, not from a hand-written parser):
 *   GET /bytes/N returns N deterministic bytes, POST /sha256 returns the hex SHA-256 of the
 *   body, GET / a short status page.
 *
 * The deterministic byte stream is the chargen pattern, so a client can check any download
 * by computing the same bytes (`patternBytes`).
 */
import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HostStack } from '../host/stack.js';
import type { TcpServer } from '../host/server.js';
import type { TcpSocket } from '../host/socket.js';
import { UserError } from './errors.js';
import { stableBuffer } from '../tcp/stable-bytes.js';

export type ServiceKind = 'echo' | 'discard' | 'chargen' | 'http';
export const SERVICE_KINDS: readonly ServiceKind[] = ['echo', 'discard', 'chargen', 'http'];

export interface ServiceSpec {
  readonly kind: ServiceKind;
  readonly port: number;
}

export function parseServiceSpec(spec: string): ServiceSpec {
  const m = /^([a-z]+):(\d{1,5})$/.exec(spec);
  const kind = m?.[1] as ServiceKind | undefined;
  const port = Number(m?.[2]);
  if (m === null || kind === undefined || !SERVICE_KINDS.includes(kind)) {
    throw new UserError(`--serve: '${spec}' is not KIND:PORT with KIND one of ${SERVICE_KINDS.join(', ')}`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UserError(`--serve: port ${m[2]} is outside 1..65535`);
  return { kind, port };
}

// ---- the deterministic stream (RFC 864 character generator lines) ----

const LINE = 72;
const PRINTABLE = 95;
/** One full cycle: 95 lines of 72 characters plus CRLF. */
const CYCLE = buildCycle();

function buildCycle(): Buffer {
  const out = Buffer.alloc(PRINTABLE * (LINE + 2));
  let o = 0;
  for (let line = 0; line < PRINTABLE; line++) {
    for (let i = 0; i < LINE; i++) out[o++] = 32 + ((line + i) % PRINTABLE);
    out[o++] = 13;
    out[o++] = 10;
  }
  return out;
}

/**
 * A block of several cycles, so large writes need few copies. It never changes, so it is
 * marked stable: the stack queues views of it by reference, as a file server's sendfile(2)
 * sends the page cache.
 */
const BLOCK = stableBuffer(Buffer.concat(Array.from({ length: Math.ceil((256 * 1024) / CYCLE.length) }, () => CYCLE)));

/** Bytes [offset, offset + length) of the endless pattern. */
export function patternBytes(offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let o = 0;
  let pos = offset % CYCLE.length;
  while (o < length) {
    const n = Math.min(length - o, BLOCK.length - pos);
    BLOCK.copy(out, o, pos, pos + n);
    o += n;
    pos = 0;
  }
  return out;
}

/** A view of the pattern starting at `offset` of up to `max` bytes (no copy: a slice of the shared block). */
function patternView(offset: number, max: number): Buffer {
  const pos = offset % CYCLE.length;
  return BLOCK.subarray(pos, pos + Math.min(max, BLOCK.length - pos));
}

/** Writes `total` pattern bytes (Infinity: forever) to `out`, honouring backpressure. */
function streamPattern(out: Duplex | ServerResponse, total: number, done: () => void): void {
  let sent = 0;
  const pump = (): void => {
    while (sent < total) {
      const chunk = patternView(sent, Math.min(total - sent, 64 * 1024));
      sent += chunk.length;
      if (!out.write(chunk)) {
        out.once('drain', pump);
        return;
      }
    }
    done();
  };
  pump();
}

// ---- services ----

export interface RunningService {
  readonly spec: ServiceSpec;
  readonly server: TcpServer;
  close(): Promise<void>;
}

export function startService(stack: HostStack, spec: ServiceSpec, onError: (error: Error) => void): RunningService {
  let handler: (socket: TcpSocket) => void;
  const sockets = new Set<TcpSocket>();
  let httpServer: ReturnType<typeof createHttpServer> | undefined;
  switch (spec.kind) {
    case 'echo':
      handler = (socket) => socket.pipe(socket);
      break;
    case 'discard':
      handler = (socket) => {
        socket.on('data', () => undefined);
        socket.on('end', () => socket.end());
      };
      break;
    case 'chargen':
      handler = (socket) => {
        socket.on('data', () => undefined);
        socket.on('end', () => socket.destroy());
        streamPattern(socket, Infinity, () => undefined);
      };
      break;
    case 'http': {
      const started = Date.now();
      const server = createHttpServer({ keepAliveTimeout: 5000 }, (req, res) => handleHttp(stack, started, req, res));
      httpServer = server;
      handler = (socket) => server.emit('connection', socket);
      break;
    }
  }
  const server = stack.createServer({ allowHalfOpen: spec.kind === 'echo' }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined); // a peer reset is normal for these services
    socket.on('close', () => sockets.delete(socket));
    handler(socket);
  });
  server.on('error', onError);
  server.listen(spec.port);
  return {
    spec,
    server,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      httpServer?.close();
    },
  };
}

function handleHttp(stack: HostStack, started: number, req: IncomingMessage, res: ServerResponse): void {
  // The request-target is the peer's text: node:http passes on forms URL rejects ('http://[').
  // Throwing here would be an uncaught exception that stops the whole emulator (RFC 9112 §3.2: 400).
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://chimney');
  } catch {
    req.resume();
    const body = 'bad request-target\n';
    res.writeHead(400, { 'Content-Type': 'text/plain', 'Content-Length': String(body.length), Connection: 'close' });
    res.end(body);
    return;
  }
  const bytes = /^\/bytes\/(\d{1,15})$/.exec(url.pathname);
  if (req.method === 'GET' && bytes !== null) {
    const n = Number(bytes[1]);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(n) });
    req.resume();
    streamPattern(res, n, () => res.end());
    return;
  }
  if (req.method === 'POST' && url.pathname === '/sha256') {
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      length += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      const body = `${hash.digest('hex')}\n`;
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(body)), 'X-Body-Length': String(length) });
      res.end(body);
    });
    return;
  }
  if (req.method === 'GET' && url.pathname === '/') {
    req.resume();
    const s = stack.stats;
    const body =
      `chimney host stack\n` +
      `uptime_s ${((Date.now() - started) / 1000).toFixed(1)}\n` +
      `tcp_connections ${stack.tcp.connectionCount}\n` +
      `rx_frames ${s.rxFrames}\ntx_frames ${s.txFrames}\nrx_dropped ${s.drops.total()}\n` +
      `endpoints GET /bytes/N, POST /sha256\n`;
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(body)) });
    res.end(body);
    return;
  }
  req.resume();
  const body = 'not found\n';
  res.writeHead(req.method === 'GET' || req.method === 'POST' ? 404 : 405, { 'Content-Type': 'text/plain', 'Content-Length': String(body.length) });
  res.end(body);
}
