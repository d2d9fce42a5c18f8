/**
 * A TCP connection of the host stack as a `node:net`-style Duplex stream. Writes are copied
 * into the engine's send queue, so the write callback means what node:net's does (the stack
 * owns the bytes; the buffer may be reused) and comes as soon as the send buffer has room
 * (`sndBufSize`: beyond it the callback waits for acknowledgements, which is the
 * backpressure); reads pull from the engine's receive queue only while the stream wants
 * data, so an application that stops reading closes the TCP window.
 */
import { Duplex } from 'node:stream';
import { constants as osConstants } from 'node:os';
import type { TcpEvent, TcpErrorCode, TcpInfo } from '../tcp/types.js';
import type { TimerHandle } from '../wire/clock.js';
import { isStable } from '../tcp/stable-bytes.js';
import type { TcpServer } from './server.js';
import type { HostTcb, TcpLayer } from './tcp-layer.js';

export interface TcpSocketOptions {
  /** Keep the write side open after the peer's FIN (node:net allowHalfOpen). Default false. */
  readonly allowHalfOpen?: boolean | undefined;
  readonly noDelay?: boolean | undefined;
  readonly keepAlive?: boolean | undefined;
  readonly keepAliveInitialDelay?: number | undefined;
  readonly readableHighWaterMark?: number | undefined;
  readonly writableHighWaterMark?: number | undefined;
}

export interface AddressInfo {
  readonly address: string;
  readonly family: 'IPv4' | 'IPv6';
  readonly port: number;
}

const SYSCALL: Record<TcpErrorCode, string> = {
  ECONNRESET: 'read',
  ECONNREFUSED: 'connect',
  ETIMEDOUT: 'read',
  EHOSTUNREACH: 'connect',
  ENETUNREACH: 'connect',
  EPIPE: 'write',
};

/** The offload manager's notice that a connection moved to the target or back. */
export interface SocketMoveEvent {
  readonly type: 'moved';
  readonly to: 'offload' | 'upload';
  readonly reason: string;
}

export class TcpSocket extends Duplex {
  /** True until the handshake completes (node:net `connecting`). */
  connecting: boolean;
  /** The server that accepted this socket (node:net `server`; node:http overwrites it with its own). */
  server: unknown = undefined;
  /** The TcpServer that accepted this socket: told when the socket is destroyed. */
  acceptedBy: TcpServer | undefined = undefined;
  bytesRead = 0;
  private written = 0;
  private readonly tcb: HostTcb;
  private readonly layer: TcpLayer;
  private wantsData = false;
  private peerFin = false;
  private endPushed = false;
  private pendingWrite: ((error?: Error | null) => void) | undefined;
  private engineClosed = false;

  constructor(layer: TcpLayer, tcb: HostTcb, options: TcpSocketOptions) {
    super({
      allowHalfOpen: options.allowHalfOpen ?? false,
      readableHighWaterMark: options.readableHighWaterMark ?? 64 * 1024,
      writableHighWaterMark: options.writableHighWaterMark ?? 64 * 1024,
      decodeStrings: true,
      emitClose: true,
      autoDestroy: true,
    });
    this.layer = layer;
    this.tcb = tcb;
    // A passive socket exists only once the handshake is done; an active one waits for it.
    this.connecting = tcb.listener === undefined && tcb.socket === undefined;
    if (options.noDelay === true) this.setNoDelay(true);
    if (options.keepAlive === true) this.setKeepAlive(true, options.keepAliveInitialDelay);
  }

  // ---- node:net surface ----

  get remoteAddress(): string {
    return this.tcb.remoteAddress;
  }

  get remotePort(): number {
    return this.tcb.remotePort;
  }

  get remoteFamily(): 'IPv4' | 'IPv6' {
    return this.tcb.family === 4 ? 'IPv4' : 'IPv6';
  }

  get localAddress(): string {
    return this.tcb.localAddress;
  }

  get localPort(): number {
    return this.tcb.localPort;
  }

  /** Bytes handed to TCP (node:net counts bytes written to the socket, queued or not). */
  get bytesWritten(): number {
    return this.written;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.destroyed) return 'closed';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  address(): AddressInfo {
    return { address: this.localAddress, family: this.remoteFamily, port: this.localPort };
  }

  setNoDelay(noDelay = true): this {
    if (!this.tcb.gone) this.layer.withIo(this.tcb, (e) => e.setNoDelay(noDelay));
    return this;
  }

  setKeepAlive(enable = false, initialDelayMs?: number): this {
    if (!this.tcb.gone) this.layer.withIo(this.tcb, (e) => e.setKeepAlive(enable, initialDelayMs !== undefined && initialDelayMs > 0 ? initialDelayMs : undefined));
    return this;
  }

  /**
   * The connection runs in the offload target now (reference §1.4). The socket behaves the
   * same either way; 'offload' and 'upload' events (with the reason) tell when it moves.
   */
  get offloaded(): boolean {
    return this.tcb.offload?.mode === 'offloaded';
  }

  /** A snapshot like Linux TCP_INFO. */
  info(): TcpInfo {
    return this.tcb.io.info();
  }

  /** Resets the connection at once (node:net resetAndDestroy). */
  resetAndDestroy(): this {
    if (!this.tcb.gone) this.layer.withIo(this.tcb, (e) => e.abort());
    return this.destroy();
  }

  /**
   * node:net `setTimeout`: emits 'timeout' after `ms` without activity (data read or written);
   * the connection stays open. 0 turns it off. node:http uses it for keep-alive timeouts.
   */
  setTimeout(ms: number, callback?: () => void): this {
    // node:net's validation (getTimerDuration): a NaN would re-arm a 1 ms timer forever.
    if (typeof ms !== 'number') {
      throw Object.assign(new TypeError(`The "msecs" argument must be of type number. Received type ${typeof ms}`), { code: 'ERR_INVALID_ARG_TYPE' });
    }
    if (!(ms >= 0) || !Number.isFinite(ms)) {
      throw Object.assign(new RangeError(`The value of "msecs" is out of range. It must be a non-negative finite number. Received ${ms}`), { code: 'ERR_OUT_OF_RANGE' });
    }
    if (callback !== undefined) {
      if (ms === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    this.idleTimeoutMs = ms;
    this.armIdleTimer();
    return this;
  }

  get timeout(): number | undefined {
    return this.idleTimeoutMs === 0 ? undefined : this.idleTimeoutMs;
  }

  private idleTimeoutMs = 0;
  private idleTimer: TimerHandle | undefined;
  private lastActivity = 0;

  private touch(): void {
    if (this.idleTimeoutMs === 0) return;
    // After a 'timeout' the timer is idle; node:net refreshes it on the next activity, so the
    // next idle period is reported too.
    if (this.idleTimer === undefined) this.armIdleTimer();
    else this.lastActivity = this.layer.stack.scheduler.now();
  }

  private armIdleTimer(): void {
    const scheduler = this.layer.stack.scheduler;
    if (this.idleTimer !== undefined) scheduler.clearTimer(this.idleTimer);
    this.idleTimer = undefined;
    if (this.idleTimeoutMs === 0 || this.destroyed) return;
    this.lastActivity = scheduler.now();
    const check = (): void => {
      this.idleTimer = undefined;
      if (this.idleTimeoutMs === 0 || this.destroyed) return;
      const idle = scheduler.now() - this.lastActivity;
      if (idle >= this.idleTimeoutMs) {
        this.emit('timeout');
        return;
      }
      this.idleTimer = scheduler.setTimer(check, this.idleTimeoutMs - idle);
    };
    this.idleTimer = scheduler.setTimer(check, this.idleTimeoutMs);
  }

  /** Present for node:net compatibility; the stack holds no event-loop handles of its own. */
  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  // ---- Duplex implementation ----

  /**
   * The engine copies `chunk` into its send queue (unless it lies in memory marked by
   * `stableBuffer`, which never changes and is queued by reference), so the callback may come before the bytes
   * are acknowledged and the application may then reuse the buffer, as with node:net (issue 9,
   * defect 3: a queue that kept the buffer retransmitted what the application wrote into it
   * later). Completing only on acknowledgement, as TcpOffloadSend does (chimney reference
   * §4.1.2), would allow one write per round trip, a Writable having one write outstanding at
   * a time. The offloaded path can keep these semantics: it posts the stack's copies, and
   * their send completions free them and make room in `sndBufSize`, as acknowledgements do here.
   */
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.tcb.gone || this.engineClosed) {
      callback(errnoError('EPIPE', this.tcb));
      return;
    }
    this.layer.withIo(this.tcb, (e) => e.write(chunk, isStable(chunk)));
    this.written += chunk.length;
    this.touch();
    this.admit(callback);
  }

  override _writev(chunks: { chunk: Buffer; encoding: BufferEncoding }[], callback: (error?: Error | null) => void): void {
    if (this.tcb.gone || this.engineClosed) {
      callback(errnoError('EPIPE', this.tcb));
      return;
    }
    this.layer.withIo(this.tcb, (e) => {
      for (const c of chunks) {
        e.write(c.chunk, isStable(c.chunk));
        this.written += c.chunk.length;
      }
    });
    this.touch();
    this.admit(callback);
  }

  /**
   * Completes a write now if the send buffer has room, or when acknowledgements make room.
   * Before the handshake completes it waits for 'connect' (as node:net does), so a connection
   * that fails calls it back with the error instead of success.
   */
  private admit(callback: (error?: Error | null) => void): void {
    if (!this.connecting && this.tcb.io.sendQueueLength < this.tcb.sndBufSize) callback();
    else this.pendingWrite = callback;
  }

  private releaseWrite(): void {
    const pending = this.pendingWrite;
    if (pending !== undefined && this.tcb.io.sendQueueLength < this.tcb.sndBufSize) {
      this.pendingWrite = undefined;
      pending();
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.connecting && !this.destroyed) {
      // node:net defers _final until connected: 'finish' never comes before 'connect', and a
      // connection that fails (destroyed with the error) never finishes.
      this.once('connect', () => this._final(callback));
      return;
    }
    if (!this.tcb.gone && !this.engineClosed) this.layer.withIo(this.tcb, (e) => e.shutdown());
    callback();
  }

  override _read(): void {
    this.wantsData = true;
    this.pull();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.idleTimer !== undefined) this.layer.stack.scheduler.clearTimer(this.idleTimer);
    this.idleTimer = undefined;
    if (!this.tcb.gone && !this.engineClosed) {
      // An error or an explicit destroy with the stream unfinished resets the connection; a
      // finished one closes gracefully (RST anyway when unread data remains, RFC 9293 §3.10.4).
      if (error !== null) this.layer.withIo(this.tcb, (e) => e.abort());
      else this.layer.withIo(this.tcb, (e) => e.close());
    }
    const pending = this.pendingWrite;
    this.pendingWrite = undefined;
    pending?.(error ?? errnoError('EPIPE', this.tcb));
    callback(error);
    this.acceptedBy?.connectionClosed(this);
  }

  /** Moves in-order data from the engine into the stream while the consumer wants it. */
  private pull(): void {
    // Also after the connection has closed (tcb.gone): what is still queued in the engine was
    // acknowledged to the peer, so the application must get it (reading a closed engine's
    // queue sends nothing).
    const engine = this.tcb.io;
    while (this.wantsData && !this.endPushed && !this.destroyed) {
      if (engine.readableLength === 0) break;
      const chunk = this.layer.withIo(this.tcb, (e) => e.read());
      if (chunk === undefined) break;
      this.bytesRead += chunk.length;
      this.touch();
      if (!this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length))) this.wantsData = false;
    }
    const queued = engine.readableLength;
    if (this.peerFin && queued === 0 && !this.endPushed) {
      this.endPushed = true;
      this.push(null);
    }
  }

  /** Engine events, delivered after the engine call that raised them has returned. */
  onEngineEvent(event: TcpEvent | SocketMoveEvent): void {
    if (event.type === 'moved') {
      this.emit(event.to, event.reason);
      return;
    }
    switch (event.type) {
      case 'established':
        this.connecting = false;
        this.emit('connect');
        this.emit('ready');
        this.releaseWrite();
        return;
      case 'readable':
        this.pull();
        return;
      case 'peer-fin':
        this.peerFin = true;
        this.pull();
        return;
      case 'acked':
        this.releaseWrite();
        return;
      case 'fin-acked':
      case 'state':
      case 'upload-request':
        return;
      case 'error':
        this.engineClosed = true;
        // node:net: a failed connect is no longer connecting when 'error' is emitted.
        this.connecting = false;
        this.destroy(errnoError(event.code, this.tcb));
        return;
      case 'closed':
        this.engineClosed = true;
        if (this.connecting) {
          // Aborted before the handshake completed, without an error (the stack stopped):
          // there is no stream to end gracefully; its deferred _final would wait forever.
          this.connecting = false;
          this.destroy();
          return;
        }
        // Data still queued in the engine was acknowledged to the peer: hand it over first.
        this.pull();
        if (!this.endPushed && this.peerFin) this.pull();
        if (this.pendingWrite !== undefined) {
          const pending = this.pendingWrite;
          this.pendingWrite = undefined;
          pending(errnoError('EPIPE', this.tcb));
        }
        if (!this.endPushed && !this.peerFin) {
          // Closed without the peer's FIN and without an error: our own abort. End the stream.
          this.endPushed = true;
          this.push(null);
        }
        return;
    }
  }
}

/** A Node-style system error (`code`, `errno`, `syscall`, address and port). */
export function errnoError(code: TcpErrorCode, tcb: HostTcb): Error {
  const syscall = SYSCALL[code];
  const error = new Error(`${syscall} ${code} ${tcb.remoteAddress}:${tcb.remotePort}`) as Error & Record<string, unknown>;
  error.code = code;
  error.errno = -((osConstants.errno as Record<string, number>)[code] ?? 0);
  error.syscall = syscall;
  error.address = tcb.remoteAddress;
  error.port = tcb.remotePort;
  return error;
}
