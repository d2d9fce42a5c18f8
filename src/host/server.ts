/**
 * A listening TCP server of the host stack, shaped like `node:net.Server`: `listen`,
 * `close`, `address`, and a 'connection' event per accepted socket (emitted when the
 * handshake completes).
 */
import { EventEmitter } from 'node:events';
import type { TcpConfig } from '../tcp/types.js';
import type { AddressInfo, TcpSocket, TcpSocketOptions } from './socket.js';
import type { TcpLayer } from './tcp-layer.js';

export interface TcpServerOptions extends TcpSocketOptions {
  /** Engine settings for this server's connections (congestion control, buffers, options). */
  readonly tcp?: Partial<TcpConfig> | undefined;
  /** Half-open connections before SYN cookies are used (Linux tcp_max_syn_backlog). */
  readonly synBacklog?: number | undefined;
}

export interface ListenOptions {
  readonly port?: number | undefined;
  readonly host?: string | undefined;
  readonly backlog?: number | undefined;
}

export class TcpServer extends EventEmitter {
  readonly tcpOptions: Partial<TcpConfig> | undefined;
  readonly socketOptions: TcpSocketOptions;
  private readonly synBacklog: number | undefined;
  private port: number | undefined;
  private host: string | undefined;
  private readonly open = new Set<TcpSocket>();
  private closing = false;

  constructor(
    private readonly layer: TcpLayer,
    options: TcpServerOptions = {},
    connectionListener?: (socket: TcpSocket) => void,
  ) {
    super();
    this.tcpOptions = options.tcp;
    this.synBacklog = options.synBacklog;
    this.socketOptions = options;
    if (connectionListener !== undefined) this.on('connection', connectionListener);
  }

  get listening(): boolean {
    return this.port !== undefined;
  }

  /** listen(port, [host], [backlog], [callback]) or listen({ port, host, backlog }, [callback]). */
  listen(...args: unknown[]): this {
    let options: ListenOptions;
    let callback: (() => void) | undefined;
    const last = args[args.length - 1];
    if (typeof last === 'function') callback = args.pop() as () => void;
    if (typeof args[0] === 'object' && args[0] !== null) options = args[0] as ListenOptions;
    else options = { port: args[0] as number | undefined, host: typeof args[1] === 'string' ? args[1] : undefined, backlog: args.find((a, i) => i > 0 && typeof a === 'number') as number | undefined };
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw Object.assign(new RangeError(`options.port should be >= 0 and < 65536. Received ${String(port)}.`), { code: 'ERR_SOCKET_BAD_PORT' });
    }
    if (this.port !== undefined) throw Object.assign(new Error('Listen method has been called more than once without closing.'), { code: 'ERR_SERVER_ALREADY_LISTEN' });
    if (callback !== undefined) this.once('listening', callback);
    try {
      this.port = this.layer.listen(this, port, options.host, this.synBacklog ?? options.backlog);
      this.host = options.host;
      this.closing = false;
      process.nextTick(() => this.emit('listening'));
    } catch (error) {
      process.nextTick(() => this.emit('error', error));
    }
    return this;
  }

  address(): AddressInfo | null {
    if (this.port === undefined) return null;
    const host = this.host ?? '::';
    return { address: host, family: host.includes(':') ? 'IPv6' : 'IPv4', port: this.port };
  }

  /** Stops accepting; 'close' follows once every accepted connection has closed (node:net semantics). */
  close(callback?: (error?: Error) => void): this {
    if (this.port === undefined) {
      if (callback !== undefined) process.nextTick(() => callback(Object.assign(new Error('Server is not running.'), { code: 'ERR_SERVER_NOT_RUNNING' })));
      return this;
    }
    if (callback !== undefined) this.once('close', () => callback());
    this.layer.unlisten(this, this.port);
    this.port = undefined;
    this.closing = true;
    this.maybeClosed();
    return this;
  }

  getConnections(callback: (error: Error | null, count: number) => void): this {
    process.nextTick(() => callback(null, this.open.size));
    return this;
  }

  /** Called by the TCP layer when a handshake completes. */
  acceptConnection(socket: TcpSocket): void {
    this.open.add(socket);
    // The socket reports its own end (connectionClosed, from its _destroy, as node:net's
    // Socket does with its _server): a 'close' listener per socket would cost a closure
    // and a once wrapper on every idle connection.
    socket.server = this;
    socket.acceptedBy = this;
    this.emit('connection', socket);
  }

  /** Called by an accepted socket when it is destroyed. */
  connectionClosed(socket: TcpSocket): void {
    if (this.open.delete(socket)) this.maybeClosed();
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  private maybeClosed(): void {
    if (this.closing && this.open.size === 0) {
      this.closing = false;
      process.nextTick(() => this.emit('close'));
    }
  }
}
