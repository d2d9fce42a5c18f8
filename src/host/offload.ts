/**
 * The host stack's offload manager (reference §1.4, §3.2.4, §3.3.1, §7.3): it decides when a
 * connection moves to the offload target and when it comes back, builds the block lists for
 * both, and stands in for the engine while the target runs the connection, so that a socket
 * behaves the same offloaded or not.
 *
 * A connection is offloaded in three steps: it is frozen (the host engine sends nothing, its
 * timers do not run, segments that arrive are held, application writes wait), its state is
 * read without changing it (`queryState`), and the block list goes down. On success the frozen
 * engine is detached and the held segments are forwarded (§4.8); on failure the engine simply
 * resumes, with the held segments and the waiting writes, as if nothing had happened.
 *
 * An upload is the same in reverse: writes wait and arriving segments are held while the
 * terminate is in flight; its completion brings the delegated state, the send data not yet
 * acknowledged (the host's own NBLs, in order), and the received data not yet delivered, and a
 * fresh host engine is built from them.
 *
 * Neighbor and path objects are shared by the connections that use them and reference-counted
 * (§1.4): the first connection to a next hop offloads the neighbor, later ones link to it.
 */
import type { NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST } from '../ndis/block-list.js';
import { blocksOf, newProtocolBlock } from '../ndis/block-list.js';
import type { BytesConsumed, NdisChimneyCalls, ProtocolChimneyHandlers } from '../ndis/chimney-edges.js';
import type { NET_BUFFER_LIST } from '../ndis/nbl.js';
import { copyFromNetBuffer, linkNetBufferLists, netBufferListDataLength, netBufferListsOf, newNetBufferList } from '../ndis/nbl.js';
import type { NdisStatus } from '../ndis/status.js';
import {
  NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED,
  NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED,
  NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS,
  NDIS_STATUS_SUCCESS,
  NDIS_STATUS_UPLOAD_IN_PROGRESS,
  NDIS_STATUS_REQUEST_UPLOAD,
  NDIS_STATUS_UPLOAD_REQUESTED,
  ndisStatusName,
} from '../ndis/status.js';
import type { NDIS_OFFLOAD_HANDLE, NDIS_TCP_CONNECTION_OFFLOAD, TCP_UPLOAD_REASON } from '../ndis/structures.js';
import {
  Ip4OffloadState,
  Ip6OffloadState,
  isOffloadableTcpState,
  NeighborOffloadState,
  newOffloadHandle,
  TCP_DISCONNECT_ABORTIVE_CLOSE,
  TCP_DISCONNECT_GRACEFUL_CLOSE,
  TCP_FLAG_SACK_ENABLED,
  TcpConnectionCloseWait,
  TcpConnectionClosing,
  TcpConnectionLastAck,
  TcpConnectionTimeWait,
  TcpIndicateAbort,
  TcpIndicateDisconnect,
  TcpIndicateRetrieve,
  TcpIndicateSendBacklogChange,
  TcpOffloadState,
} from '../ndis/structures.js';
import { STATE_NUMBER, TcpConnection } from '../tcp/connection.js';
import type { TcpOffloadSnapshot } from '../tcp/offload-state.js';
import type { TcpConfig, TcpEvent, TcpHooks, TcpInfo, TcpState } from '../tcp/types.js';
import type { Ipv4Address, Ipv6Address, MacAddress } from '../wire/addr.js';
import { formatIpv4Address, formatIpv6Address } from '../wire/addr.js';
import type { Random } from '../wire/random.js';
import type { Scheduler } from '../wire/clock.js';
import { emitTcpHeader, tcpHeaderLength, type TcpRepr } from '../wire/tcp.js';

/** When connections are offloaded (`chimney run --offload`). */
export type OffloadPolicy = 'never' | 'handshake' | 'manual' | { readonly afterBytes: number };

export interface OffloadOptions {
  readonly policy: OffloadPolicy;
  /** Upload and re-offload every offloaded connection at this interval (exercises transitions). */
  readonly cycleMs?: number | undefined;
  /** One record per operation call, completion and indication (`--log json`). */
  readonly log?: ((record: OffloadLogRecord) => void) | undefined;
}

export interface OffloadLogRecord {
  readonly event: 'chimney';
  readonly op: string;
  readonly connection?: string;
  readonly [key: string]: unknown;
}

/** Why a connection came back to the host. */
export type UploadReason = 'retrieve' | 'application' | 'abort' | 'closed' | 'cycle' | 'stop';

/** What the socket uses of a connection: the engine's API, or its offloaded stand-in. */
export interface ConnectionIo {
  readonly state: TcpState;
  readonly readableLength: number;
  readonly sendQueueLength: number;
  /** Queues `data`; `stable`: it lies in memory marked by `stableBuffer`, so no copy is needed. */
  write(data: Uint8Array, stable?: boolean): void;
  read(max?: number): Uint8Array | undefined;
  shutdown(): void;
  abort(): void;
  close(): void;
  setNoDelay(on: boolean): void;
  setKeepAlive(enabled: boolean, idleMs?: number): void;
  info(): TcpInfo;
}

/** What the manager needs of one host connection (the TCP layer's HostTcb). */
export interface OffloadableConnection {
  readonly family: 4 | 6;
  readonly local4: Ipv4Address;
  readonly remote4: Ipv4Address;
  readonly local6: Ipv6Address | undefined;
  readonly remote6: Ipv6Address | undefined;
  readonly localPort: number;
  readonly remotePort: number;
  readonly nextHop4: Ipv4Address;
  readonly nextHop6: Ipv6Address | undefined;
  readonly gone: boolean;
  engine: TcpConnection;
  offload: OffloadedConnection | undefined;
  /** The hooks a host engine of this connection is built with. */
  readonly hooks: TcpHooks;
}

/** What the manager needs of the TCP layer and the stack. */
export interface OffloadHost {
  readonly scheduler: Scheduler;
  readonly random: Random;
  /** The NDIS chimney functions, when the miniport below offers chimney offload. */
  chimney(): NdisChimneyCalls | undefined;
  /** The next hop's link-layer address, if resolved. */
  neighborMac(c: OffloadableConnection): MacAddress | undefined;
  /** The path MTU toward the connection's peer. */
  pathMtu(c: OffloadableConnection): number;
  configFor(c: OffloadableConnection): TcpConfig;
  /** Delivers an event to the connection's socket as if its engine had raised it. */
  emit(c: OffloadableConnection, event: TcpEvent): void;
  /** Tells the application the connection moved ('offload' or 'upload' on the socket). */
  moved(c: OffloadableConnection, to: 'offload' | 'upload', reason: string): void;
  /** Gives a segment to the connection's (host) engine, as from the wire. */
  input(c: OffloadableConnection, seg: TcpRepr): void;
  /** Polls the connection's host engine soon. */
  markDirty(c: OffloadableConnection): void;
  /** Every live connection. */
  connections(): OffloadableConnection[];
}

interface SharedObject {
  readonly handle: NDIS_OFFLOAD_HANDLE;
  refs: number;
  state: 'offloading' | 'offloaded' | 'terminating';
  /** Connections waiting for this object's initiate or terminate to finish. */
  readonly waiting: OffloadableConnection[];
}

export interface OffloadManagerStats {
  /** Milliseconds from NdisInitiateOffload to its completion, and from NdisTerminateOffload to its (the last 4096 of each). */
  readonly initiateMs: number[];
  readonly terminateMs: number[];
  offloads: number;
  offloadFailures: number;
  uploads: number;
  forwarded: number;
  held: number;
  indications: number;
  indicatedBytes: number;
  events: number;
}

/** How a transition of one connection ended, for observers (the control API). */
export interface TransitionOutcome {
  readonly op: 'offload' | 'upload';
  /** The TCP block's completion status name, e.g. NDIS_STATUS_SUCCESS. */
  readonly status: string;
  /** Why it moved: policy or application for an offload, the upload reason for an upload. */
  readonly reason: string;
}

export type TransitionObserver = (c: OffloadableConnection, outcome: TransitionOutcome) => void;

/** What QueryOffload answered for an offloaded connection's TCP block. */
export interface QueryOutcome {
  readonly status: string;
  readonly state: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST['TcpState'];
}

/** Undelivered received data the host keeps per offloaded connection before it refuses more. */
const RX_LIMIT = 1 << 20;

export class OffloadManager implements ProtocolChimneyHandlers {
  readonly stats: OffloadManagerStats = { initiateMs: [], terminateMs: [], offloads: 0, offloadFailures: 0, uploads: 0, forwarded: 0, held: 0, indications: 0, indicatedBytes: 0, events: 0 };
  private readonly neighbors = new Map<string, SharedObject>();
  private readonly paths = new Map<string, SharedObject>();
  private caps: NDIS_TCP_CONNECTION_OFFLOAD | undefined;
  private capsAsked = false;
  private cycleTimer: ReturnType<Scheduler['setTimer']> | undefined;
  private stopped = false;
  private readonly observers = new Set<TransitionObserver>();

  constructor(
    private readonly host: OffloadHost,
    readonly options: OffloadOptions,
  ) {}

  /** The chimney is there and the target reported TCP offload capability (§7.2). */
  get available(): boolean {
    if (this.options.policy === 'never' || this.stopped) return false;
    const chimney = this.host.chimney();
    if (chimney === undefined) return false;
    if (!this.capsAsked) {
      this.capsAsked = true;
      const answer = chimney.queryTcpConnectionOffloadCapabilities();
      this.caps = answer.Status === NDIS_STATUS_SUCCESS ? answer.Capabilities : undefined;
      this.log({ op: 'query-capabilities', status: ndisStatusName(answer.Status), capabilities: this.caps });
      if (this.caps !== undefined && this.options.cycleMs !== undefined && this.options.cycleMs > 0) this.armCycle();
    }
    return this.caps !== undefined;
  }

  /** A connection reached ESTABLISHED (policy `handshake`), or moved data (policy `afterBytes`). */
  consider(c: OffloadableConnection): void {
    const policy = this.options.policy;
    if (policy === 'never' || policy === 'manual' || c.offload !== undefined || c.gone) return;
    if (typeof policy === 'object') {
      const info = c.engine.info();
      if (info.bytesReceived + info.bytesAcked < policy.afterBytes) return;
    }
    // After the event that triggered it has been delivered (the socket exists then).
    this.host.scheduler.setTimer(() => this.offload(c), 0);
  }

  /** Offloads one connection; false when it cannot be offloaded now (and why is logged). */
  offload(c: OffloadableConnection): boolean {
    if (c.gone || c.offload !== undefined || !this.available) return false;
    const chimney = this.host.chimney() as NdisChimneyCalls;
    const engine = c.engine;
    const caps = this.caps as NDIS_TCP_CONNECTION_OFFLOAD;
    if (!isOffloadableTcpState(STATE_NUMBER[engine.state])) return false;
    if ((c.family === 4 && caps.SupportIPv4 === 0) || (c.family === 6 && caps.SupportIPv6 === 0)) return false;
    const mac = this.host.neighborMac(c);
    if (mac === undefined) return false;
    const q0 = engine.queryState();
    if ((q0.const.Flags & TCP_FLAG_SACK_ENABLED) !== 0 && caps.SupportSack === 0) return false;
    const nKey = c.family === 4 ? `4:${c.nextHop4}` : `6:${formatIpv6Address(c.nextHop6 as Ipv6Address)}`;
    const pKey = c.family === 4 ? `4:${c.remote4}` : `6:${formatIpv6Address(c.remote6 as Ipv6Address)}`;
    const neighbor = this.neighbors.get(nKey);
    const path = this.paths.get(pKey);
    if ((neighbor !== undefined && neighbor.state !== 'offloaded') || (path !== undefined && path.state !== 'offloaded')) {
      // Another connection's initiate or terminate of the shared object is in flight: try again after it.
      (path !== undefined && path.state !== 'offloaded' ? path : (neighbor as SharedObject)).waiting.push(c);
      return false;
    }
    // §3.2.4: the due ACK goes before the state is read; from now on the engine is frozen.
    engine.sendPendingAck();
    const q = engine.queryState();
    const off = new OffloadedConnection(this, c, q);
    c.offload = off;
    const tcpBlock = newProtocolBlock({
      type: TcpOffloadState,
      handle: off.handle,
      tcp: {
        Const: q.const,
        Cached: q.cached,
        Delegated: q.delegated,
        BufferedData: linkNetBufferLists(q.bufferedData.map((v) => newNetBufferList(v.slice()))),
      },
      netBufferListChain: off.adoptSendData(q.sendData),
    });
    const mtu = this.host.pathMtu(c);
    const pathShared: SharedObject = path ?? { handle: newOffloadHandle(), refs: 0, state: 'offloading', waiting: [] };
    const pathBlock = newProtocolBlock({
      type: c.family === 4 ? Ip4OffloadState : Ip6OffloadState,
      handle: pathShared.handle,
      path:
        path === undefined
          ? {
              Const: {
                SourceAddress: c.family === 4 ? ip4Bytes(c.local4) : (c.local6 as Ipv6Address).slice(),
                DestinationAddress: c.family === 4 ? ip4Bytes(c.remote4) : (c.remote6 as Ipv6Address).slice(),
              },
              Cached: { PathMtu: mtu },
            }
          : undefined,
      dependents: [tcpBlock],
    });
    const neighborShared: SharedObject = neighbor ?? { handle: newOffloadHandle(), refs: 0, state: 'offloading', waiting: [] };
    const dl = new Uint8Array(32);
    dl.set(mac);
    const root = newProtocolBlock({
      type: NeighborOffloadState,
      handle: neighborShared.handle,
      neighbor:
        neighbor === undefined
          ? { Const: { DlSourceAddress: new Uint8Array(32), VlanId: 0 }, Cached: { DlDestinationAddress: dl, HostReachabilityDelta: 0 } }
          : undefined,
      dependents: [pathBlock],
    });
    if (neighbor === undefined) this.neighbors.set(nKey, neighborShared);
    if (path === undefined) this.paths.set(pKey, pathShared);
    off.neighborKey = nKey;
    off.pathKey = pKey;
    off.newNeighbor = neighbor === undefined;
    off.newPath = path === undefined;
    root.ProtocolReserved[0] = this.host.scheduler.now();
    root.ProtocolReserved[1] = off;
    this.log({ op: 'NdisInitiateOffload', connection: off.name, blocks: describeBlocks(root) });
    chimney.NdisInitiateOffload(root);
    return true;
  }

  /** Brings a connection back to the host; false when it is not offloaded (or already coming back). */
  upload(c: OffloadableConnection, reason: UploadReason, reoffload = false): boolean {
    const off = c.offload;
    if (off === undefined || off.mode !== 'offloaded') {
      if (off !== undefined && reoffload) off.reoffload = false;
      return false;
    }
    const chimney = this.host.chimney();
    if (chimney === undefined) return false;
    off.mode = 'uploading';
    off.uploadReason = reason;
    off.reoffload = reoffload;
    const tcpBlock = newProtocolBlock({ type: TcpOffloadState, handle: off.handle, tcp: {} });
    let root = tcpBlock;
    // The last connection on a path takes the path (and the last on a neighbor the neighbor) with it.
    const path = this.paths.get(off.pathKey);
    const neighbor = this.neighbors.get(off.neighborKey);
    if (path !== undefined && path.refs === 1) {
      path.state = 'terminating';
      root = newProtocolBlock({ type: c.family === 4 ? Ip4OffloadState : Ip6OffloadState, handle: path.handle, path: {}, dependents: [tcpBlock] });
      if (neighbor !== undefined && neighbor.refs === 1) {
        neighbor.state = 'terminating';
        root = newProtocolBlock({ type: NeighborOffloadState, handle: neighbor.handle, neighbor: {}, dependents: [root] });
      }
    }
    root.ProtocolReserved[0] = this.host.scheduler.now();
    root.ProtocolReserved[1] = off;
    this.log({ op: 'NdisTerminateOffload', connection: off.name, reason, blocks: describeBlocks(root) });
    chimney.NdisTerminateOffload(root);
    return true;
  }

  /** Calls `fn` when an offload or upload of any connection completes; returns the unsubscribe. */
  onTransition(fn: TransitionObserver): () => void {
    this.observers.add(fn);
    return () => this.observers.delete(fn);
  }

  /** Reports a finished transition to the observers (no cost without one). */
  notifyTransition(c: OffloadableConnection, outcome: TransitionOutcome): void {
    for (const fn of this.observers) fn(c, outcome);
  }

  /**
   * NdisQueryOffloadState of one offloaded connection's TCP block (§3.5); `done` gets the
   * target's answer. False when the connection is not offloaded now.
   */
  query(c: OffloadableConnection, done: (outcome: QueryOutcome) => void): boolean {
    const off = c.offload;
    const chimney = this.host.chimney();
    if (off === undefined || off.mode !== 'offloaded' || chimney === undefined) return false;
    const block = newProtocolBlock({ type: TcpOffloadState, handle: off.handle, tcp: {} });
    block.ProtocolReserved[1] = done;
    this.log({ op: 'NdisQueryOffloadState', connection: off.name, blocks: describeBlocks(block) });
    chimney.NdisQueryOffloadState(block);
    return true;
  }

  /** Uploads every connection and stops offloading (the stack stops). */
  stop(): void {
    this.stopped = true;
    if (this.cycleTimer !== undefined) this.host.scheduler.clearTimer(this.cycleTimer);
    this.cycleTimer = undefined;
    for (const c of this.host.connections()) this.upload(c, 'stop');
  }

  /**
   * Stops offloading and uploads every connection, then waits until the terminates (and any
   * initiate still in flight, whose connection is uploaded as soon as it lands) have completed
   * and no neighbor or path object is left offloaded: after it every layer below, intermediate
   * drivers included, holds no state of this host. True when that happened within `timeoutMs`.
   */
  async drain(timeoutMs = 2000): Promise<boolean> {
    this.stop();
    const deadline = this.host.scheduler.now() + timeoutMs;
    for (;;) {
      let busy = this.neighbors.size > 0 || this.paths.size > 0;
      for (const c of this.host.connections()) {
        if (c.offload === undefined) continue;
        busy = true;
        if (c.offload.mode === 'offloaded') this.upload(c, 'stop');
      }
      if (!busy) return true;
      if (this.host.scheduler.now() >= deadline) return false;
      await new Promise<void>((resolve) => this.host.scheduler.setTimer(resolve, 1));
    }
  }

  // ---- completions ------------------------------------------------------------------------

  InitiateOffloadCompleteHandler(list: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): void {
    const off = list.ProtocolReserved[1] as OffloadedConnection;
    record(this.stats.initiateMs, this.host.scheduler.now() - (list.ProtocolReserved[0] as number));
    const neighbor = list;
    const path = list.DependentBlockList as NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST;
    const tcp = path.DependentBlockList as NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST;
    this.log({ op: 'InitiateOffloadComplete', connection: off.name, statuses: blocksOf(list).map((b) => ndisStatusName(b.Status)) });
    const nShared = this.neighbors.get(off.neighborKey) as SharedObject;
    const pShared = this.paths.get(off.pathKey) as SharedObject;
    const ok = (s: NdisStatus): boolean => s === NDIS_STATUS_SUCCESS || s === NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS;
    const settle = (shared: SharedObject, status: NdisStatus, isNew: boolean, key: string, map: Map<string, SharedObject>): void => {
      if (isNew) {
        if (ok(status)) shared.state = 'offloaded';
        else map.delete(key);
      }
      for (const w of shared.waiting.splice(0)) this.host.scheduler.setTimer(() => this.offload(w), 0);
    };
    const tcpOk = tcp.Status === NDIS_STATUS_SUCCESS;
    if (tcpOk) {
      nShared.refs++;
      pShared.refs++;
    }
    settle(pShared, path.Status, off.newPath, off.pathKey, this.paths);
    settle(nShared, neighbor.Status, off.newNeighbor, off.neighborKey, this.neighbors);
    if (tcpOk) {
      this.stats.offloads++;
      off.becomeOffloaded();
    } else {
      this.stats.offloadFailures++;
      off.resumeInHost(ndisStatusName(tcp.Status));
    }
  }

  TerminateOffloadCompleteHandler(list: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): void {
    const off = list.ProtocolReserved[1] as OffloadedConnection;
    record(this.stats.terminateMs, this.host.scheduler.now() - (list.ProtocolReserved[0] as number));
    this.log({ op: 'TerminateOffloadComplete', connection: off.name, statuses: blocksOf(list).map((b) => ndisStatusName(b.Status)) });
    let tcp: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST | undefined;
    for (const b of blocksOf(list)) if (b.Header.Type === TcpOffloadState) tcp = b;
    const path = this.paths.get(off.pathKey);
    const neighbor = this.neighbors.get(off.neighborKey);
    if (path !== undefined) {
      path.refs--;
      if (path.state === 'terminating') {
        this.paths.delete(off.pathKey);
        for (const w of path.waiting.splice(0)) this.host.scheduler.setTimer(() => this.offload(w), 0);
      }
    }
    if (neighbor !== undefined) {
      neighbor.refs--;
      if (neighbor.state === 'terminating') {
        this.neighbors.delete(off.neighborKey);
        for (const w of neighbor.waiting.splice(0)) this.host.scheduler.setTimer(() => this.offload(w), 0);
      }
    }
    this.stats.uploads++;
    off.becomeHost(tcp);
  }

  UpdateOffloadCompleteHandler(): void {}
  InvalidateOffloadCompleteHandler(): void {}
  QueryOffloadCompleteHandler(list: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): void {
    const done = list.ProtocolReserved[1] as ((outcome: QueryOutcome) => void) | undefined;
    this.log({ op: 'QueryOffloadComplete', statuses: blocksOf(list).map((b) => ndisStatusName(b.Status)) });
    done?.({ status: ndisStatusName(list.Status), state: list.TcpState });
  }
  IndicateOffloadEventHandler(): void {}

  TcpOffloadSendCompleteHandler(chain: NET_BUFFER_LIST): void {
    for (const nbl of netBufferListsOf(chain)) (nbl.ProtocolReserved[1] as OffloadedConnection).sendCompleted(nbl);
  }

  TcpOffloadReceiveCompleteHandler(chain: NET_BUFFER_LIST): void {
    for (const nbl of netBufferListsOf(chain)) (nbl.ProtocolReserved[1] as OffloadedConnection).receiveCompleted(nbl);
  }

  TcpOffloadDisconnectCompleteHandler(nbl: NET_BUFFER_LIST): void {
    (nbl.ProtocolReserved[1] as OffloadedConnection).disconnectCompleted(nbl);
  }

  TcpOffloadForwardCompleteHandler(): void {}

  TcpOffloadEventHandler(offloadContext: NDIS_OFFLOAD_HANDLE, eventType: number, info: number): void {
    this.stats.events++;
    const off = (offloadContext as OwnedHandle).owner;
    if (off === undefined) return;
    off.event(eventType, info);
  }

  TcpOffloadReceiveIndicateHandler(offloadContext: NDIS_OFFLOAD_HANDLE, nbl: NET_BUFFER_LIST, _status: NdisStatus, consumed: BytesConsumed): NdisStatus {
    const off = (offloadContext as OwnedHandle).owner;
    if (off === undefined) {
      consumed.value = 0;
      return NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED;
    }
    this.stats.indications++;
    return off.indicated(nbl, consumed);
  }

  log(record: { readonly op: string; readonly connection?: string; readonly [key: string]: unknown }): void {
    this.options.log?.({ ...record, event: 'chimney' } as OffloadLogRecord);
  }

  get hostApi(): OffloadHost {
    return this.host;
  }

  private armCycle(): void {
    const every = this.options.cycleMs as number;
    this.cycleTimer = this.host.scheduler.setTimer(() => {
      this.cycleTimer = undefined;
      if (this.stopped) return;
      for (const c of this.host.connections()) if (c.offload?.mode === 'offloaded') this.upload(c, 'cycle', true);
      this.armCycle();
    }, every);
  }
}

interface OwnedHandle extends NDIS_OFFLOAD_HANDLE {
  owner: OffloadedConnection | undefined;
}

/** The host's side of one offloaded connection: the socket's stand-in for the engine. */
export class OffloadedConnection implements ConnectionIo {
  mode: 'offloading' | 'offloaded' | 'uploading' = 'offloading';
  readonly handle: OwnedHandle;
  neighborKey = '';
  pathKey = '';
  newNeighbor = false;
  newPath = false;
  reoffload = false;
  uploadReason: UploadReason = 'application';
  readonly name: string;
  /** Segments received while a transition is in flight (forwarded or given to the host engine after it). */
  private readonly held: TcpRepr[] = [];
  /** Application writes while a transition is in flight. */
  private readonly waitingWrites: Uint8Array[] = [];
  /** Send NBLs the target completed UPLOAD_IN_PROGRESS: the host sends them itself after the upload. */
  private readonly refusedSends: Uint8Array[] = [];
  /** Received bytes taken from indications and not yet read by the socket. */
  private readonly rx: Uint8Array[] = [];
  private rxBytes = 0;
  private rxHead = 0;
  private refused = false;
  private reenableQueued = false;
  private zeroPosted = false;
  /** Bytes sent to the target and not yet completed. */
  private outstanding = 0;
  private peerFin = false;
  private shutdownRequested = false;
  private disconnectIssued = false;
  private abortRequested = false;
  private aborted = false;
  private readonly snapshot: TcpOffloadSnapshot;

  constructor(
    private readonly manager: OffloadManager,
    private readonly c: OffloadableConnection,
    snapshot: TcpOffloadSnapshot,
  ) {
    this.snapshot = snapshot;
    this.handle = Object.assign(newOffloadHandle(), { owner: this }) as OwnedHandle;
    const addr = c.family === 4 ? formatIpv4Address(c.remote4) : `[${formatIpv6Address(c.remote6 as Ipv6Address)}]`;
    this.name = `${addr}:${c.remotePort}-${c.localPort}`;
  }

  // ---- ConnectionIo ----

  get state(): TcpState {
    return this.c.engine.state;
  }

  get readableLength(): number {
    return this.rxBytes;
  }

  get sendQueueLength(): number {
    let waiting = 0;
    for (const w of this.waitingWrites) waiting += w.length;
    return this.outstanding + waiting;
  }

  write(data: Uint8Array, stable = false): void {
    // A copy: the socket completes the write callback long before the target completes the
    // send. Stable memory never changes, so it is posted as it is.
    const copy = stable ? data : data.slice();
    if (this.mode !== 'offloaded' || this.abortRequested) {
      this.waitingWrites.push(copy);
      return;
    }
    this.send(copy);
  }

  read(max = Infinity): Uint8Array | undefined {
    if (this.rxHead >= this.rx.length) return undefined;
    const head = this.rx[this.rxHead] as Uint8Array;
    let out: Uint8Array;
    if (head.length <= max) {
      out = head;
      this.rx[this.rxHead++] = EMPTY;
      const nbl = this.rxNbls.get(head);
      if (nbl !== undefined) this.returnLater(head, nbl);
      if (this.rxHead > 64 && this.rxHead * 2 > this.rx.length) {
        this.rx.splice(0, this.rxHead);
        this.rxHead = 0;
      }
    } else {
      out = head.subarray(0, max);
      const rest = head.subarray(max);
      this.rx[this.rxHead] = rest;
      const nbl = this.rxNbls.get(head);
      if (nbl !== undefined) {
        this.rxNbls.delete(head);
        this.rxNbls.set(rest, nbl);
      }
    }
    this.rxBytes -= out.length;
    if (this.refused && this.rxBytes < RX_LIMIT / 2 && !this.reenableQueued) {
      // Not from inside read(): the zero-byte receive makes the target indicate at once, and
      // that data must reach the socket after the bytes this read returns, not before them.
      this.reenableQueued = true;
      queueMicrotask(() => {
        this.reenableQueued = false;
        this.reenableIndications();
      });
    }
    return out;
  }

  shutdown(): void {
    if (this.shutdownRequested && this.disconnectIssued) return;
    this.shutdownRequested = true;
    if (this.mode !== 'offloaded') return;
    this.disconnectIssued = true;
    const chimney = this.manager.hostApi.chimney();
    const nbl = this.tag(newNetBufferList(new Uint8Array(0)));
    this.manager.log({ op: 'NdisOffloadTcpDisconnect', connection: this.name, flags: 'graceful' });
    chimney?.NdisOffloadTcpDisconnect(this.handle, nbl, TCP_DISCONNECT_GRACEFUL_CLOSE);
  }

  close(): void {
    this.shutdown();
  }

  abort(): void {
    if (this.abortRequested) return;
    this.abortRequested = true;
    if (this.mode !== 'offloaded') return;
    const chimney = this.manager.hostApi.chimney();
    const nbl = this.tag(newNetBufferList(new Uint8Array(0)));
    this.manager.log({ op: 'NdisOffloadTcpDisconnect', connection: this.name, flags: 'abortive' });
    chimney?.NdisOffloadTcpDisconnect(this.handle, nbl, TCP_DISCONNECT_ABORTIVE_CLOSE);
  }

  setNoDelay(): void {
    // Nagle is a cached variable (TCP_FLAG_NAGLING_ENABLED); the update operation is not
    // issued yet: the setting applies from the next upload on.
  }

  setKeepAlive(): void {
    // As setNoDelay: keepalive changes reach the target only through an update (not issued yet).
  }

  info(): TcpInfo {
    return this.c.engine.info();
  }

  // ---- the normal path while offloaded or moving ----

  /** A segment for this connection came up the normal path. */
  received(seg: TcpRepr): void {
    if (this.mode === 'offloaded') {
      // §4.8: options, fragments or anything the target handed up: forward it as a TCP segment.
      this.forward(seg);
      return;
    }
    this.held.push(cloneSegment(seg));
    this.manager.stats.held++;
  }

  // ---- transitions ----

  becomeOffloaded(): void {
    this.mode = 'offloaded';
    const c = this.c;
    // The frozen engine is detached: from now on the target owns the connection.
    c.engine.exportState();
    this.manager.log({ op: 'offloaded', connection: this.name });
    const why = this.manager.options.policy === 'manual' ? 'application' : 'policy';
    this.manager.hostApi.moved(c, 'offload', why);
    this.manager.notifyTransition(c, { op: 'offload', status: 'NDIS_STATUS_SUCCESS', reason: why });
    for (const seg of this.held.splice(0)) this.forward(seg);
    for (const w of this.waitingWrites.splice(0)) this.send(w);
    // Initiate-time buffered data waits for a post (§4.6): a zero-byte receive lets it be indicated.
    if (this.snapshot.bufferedData.length > 0) this.reenableIndications();
    if (this.abortRequested) {
      this.abortRequested = false;
      this.abort();
    } else if (this.shutdownRequested) {
      this.shutdown();
    }
  }

  /** The initiate failed: the frozen engine resumes as if nothing had happened. */
  resumeInHost(status: string): void {
    const c = this.c;
    c.offload = undefined;
    this.outstanding = 0;
    this.manager.log({ op: 'offload-failed', connection: this.name, status });
    this.manager.notifyTransition(c, { op: 'offload', status, reason: this.manager.options.policy === 'manual' ? 'application' : 'policy' });
    for (const seg of this.held.splice(0)) this.manager.hostApi.input(c, seg);
    for (const w of this.waitingWrites.splice(0)) c.engine.write(w);
    if (this.abortRequested) c.engine.abort();
    else if (this.shutdownRequested) c.engine.shutdown();
    this.manager.hostApi.markDirty(c);
  }

  /** The terminate completed: a host engine is built from what came back. */
  becomeHost(tcp: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST | undefined): void {
    const c = this.c;
    const api = this.manager.hostApi;
    const d = tcp?.TcpState?.Delegated;
    const chimney = api.chimney();
    if (tcp === undefined || tcp.Status !== NDIS_STATUS_SUCCESS || d === undefined) {
      // §3.3.2 step 8: the state was lost; the host can only abort the connection.
      c.offload = undefined;
      this.manager.log({ op: 'upload-failed', connection: this.name });
      this.manager.notifyTransition(c, { op: 'upload', status: tcp === undefined ? 'NDIS_STATUS_FAILURE' : ndisStatusName(tcp.Status), reason: this.uploadReason });
      api.emit(c, { type: 'error', code: 'ECONNRESET' });
      return;
    }
    const sendData: Uint8Array[] = [];
    for (const nbl of netBufferListsOf(tcp.NetBufferListChain)) sendData.push(nblBytes(nbl));
    for (const r of this.refusedSends.splice(0)) sendData.push(r);
    const bufferedData: Uint8Array[] = [];
    for (let i = this.rxHead; i < this.rx.length; i++) bufferedData.push(this.rx[i] as Uint8Array);
    const back = tcp.TcpState?.BufferedData ?? null;
    for (const nbl of netBufferListsOf(back)) bufferedData.push(nblBytes(nbl));
    if (back !== null) chimney?.NdisOffloadTcpReceiveReturn(back);
    const st = d.State;
    const snapshot: TcpOffloadSnapshot = {
      const: this.snapshot.const,
      cached: this.snapshot.cached,
      delegated: d,
      sendData,
      finQueued: this.shutdownRequested,
      bufferedData,
      peerFinReceived: st === TcpConnectionCloseWait || st === TcpConnectionClosing || st === TcpConnectionLastAck || st === TcpConnectionTimeWait,
    };
    const imported = TcpConnection.importOffloadState({ config: api.configFor(c), hooks: c.hooks, random: api.random, snapshot });
    c.offload = undefined;
    if (imported.connection === undefined) {
      this.manager.log({ op: 'upload-import-failed', connection: this.name, reason: imported.reason });
      this.manager.notifyTransition(c, { op: 'upload', status: 'NDIS_STATUS_FAILURE', reason: this.uploadReason });
      api.emit(c, { type: 'error', code: 'ECONNRESET' });
      return;
    }
    c.engine = imported.connection;
    // The engine copied what the socket had not read yet: the indicated NBLs go back.
    for (const [chunk, nbl] of [...this.rxNbls]) this.returnLater(chunk, nbl);
    this.manager.log({ op: 'uploaded', connection: this.name, reason: this.uploadReason, state: c.engine.state });
    api.moved(c, 'upload', this.uploadReason);
    this.manager.notifyTransition(c, { op: 'upload', status: 'NDIS_STATUS_SUCCESS', reason: this.uploadReason });
    for (const w of this.waitingWrites.splice(0)) c.engine.write(w);
    if (this.abortRequested && !this.aborted) c.engine.abort();
    for (const seg of this.held.splice(0)) api.input(c, seg);
    api.markDirty(c);
    if (this.rxBytes > 0 || c.engine.readableLength > 0) api.emit(c, { type: 'readable' });
    if (c.engine.state === 'CLOSED') api.emit(c, { type: 'closed' });
    else if (this.reoffload) this.manager.hostApi.scheduler.setTimer(() => this.manager.offload(c), 0);
  }

  // ---- completions and indications ----

  sendCompleted(nbl: NET_BUFFER_LIST): void {
    const length = nbl.ProtocolReserved[0] as number;
    this.outstanding -= length;
    if (nbl.Status === NDIS_STATUS_SUCCESS) {
      this.manager.hostApi.emit(this.c, { type: 'acked', bytes: length });
      return;
    }
    if (nbl.Status === NDIS_STATUS_UPLOAD_IN_PROGRESS || nbl.Status === NDIS_STATUS_REQUEST_UPLOAD || nbl.Status === NDIS_STATUS_UPLOAD_REQUESTED) {
      // Not (all) acknowledged and not returned: the host sends it itself after the upload.
      const acked = nbl.Info.TcpOffloadBytesTransferred;
      this.refusedSends.push(nblBytes(nbl).subarray(0, length - acked));
      // §6.4, §4.1.2: an intermediate driver could not forward the send: upload and send it here.
      if (nbl.Status === NDIS_STATUS_REQUEST_UPLOAD) this.manager.upload(this.c, 'retrieve');
      return;
    }
    // REQUEST_ABORTED: the connection was reset; the data is discarded.
  }

  receiveCompleted(nbl: NET_BUFFER_LIST): void {
    if (nbl === this.zeroNbl) this.zeroPosted = false;
  }

  disconnectCompleted(nbl: NET_BUFFER_LIST): void {
    this.manager.log({ op: 'TcpOffloadDisconnectComplete', connection: this.name, status: ndisStatusName(nbl.Status) });
    if (nbl.Status !== NDIS_STATUS_SUCCESS) return;
    if (this.abortRequested) {
      // The RST went out: nothing is left to run; take the connection back to close it.
      this.aborted = true;
      this.manager.upload(this.c, 'abort');
      return;
    }
    this.manager.hostApi.emit(this.c, { type: 'fin-acked' });
    if (this.peerFin) this.manager.upload(this.c, 'closed');
  }

  event(type: number, info: number): void {
    this.manager.log({ op: 'TcpOffloadEvent', connection: this.name, type: EVENT_NAMES[type] ?? type, info: type === TcpIndicateRetrieve ? (REASON_NAMES[info] ?? info) : info });
    const api = this.manager.hostApi;
    switch (type) {
      case TcpIndicateDisconnect:
        this.peerFin = true;
        api.emit(this.c, { type: 'peer-fin' });
        return;
      case TcpIndicateAbort:
        this.aborted = true;
        api.emit(this.c, { type: 'error', code: 'ECONNRESET' });
        this.manager.upload(this.c, 'abort');
        return;
      case TcpIndicateRetrieve:
        this.manager.upload(this.c, 'retrieve');
        return;
      case TcpIndicateSendBacklogChange:
        return;
      default:
        return;
    }
  }

  indicated(nbl: NET_BUFFER_LIST, consumed: BytesConsumed): NdisStatus {
    const length = netBufferListDataLength(nbl);
    const room = Math.max(0, RX_LIMIT - this.rxBytes);
    const take = Math.min(length, room);
    if (take > 0) {
      const nb = nbl.FirstNetBuffer;
      const mdl = nb.MdlChain[0] as Uint8Array;
      let bytes: Uint8Array;
      if (take === length && nb.Next === null && nb.MdlChain.length === 1) {
        // Accepted whole: the host keeps the NBL (§4.3.2) and reads straight out of it; it goes
        // back through receive return once the socket has read it.
        bytes = mdl.subarray(nb.DataOffset, nb.DataOffset + length);
        this.rxNbls.set(bytes, nbl);
      } else {
        // A prefix: the target owns the NBL again when this returns, so the bytes are copied.
        bytes = new Uint8Array(take);
        copyFromNetBuffer(nb, 0, bytes, 0, take);
      }
      const wasEmpty = this.rxBytes === 0;
      this.rx.push(bytes);
      this.rxBytes += take;
      this.manager.stats.indicatedBytes += take;
      if (wasEmpty) this.manager.hostApi.emit(this.c, { type: 'readable' });
    }
    consumed.value = take;
    if (take === length) return NDIS_STATUS_SUCCESS;
    this.refused = true;
    return take === 0 ? NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED : NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED;
  }

  private zeroNbl: NET_BUFFER_LIST | undefined;
  /** Indicated NBLs the host keeps, by the rx chunk that views them. */
  private readonly rxNbls = new Map<Uint8Array, NET_BUFFER_LIST>();
  private returning: NET_BUFFER_LIST[] = [];

  /**
   * Receive return (§4.3.5) of an NBL whose bytes the socket has taken, batched per turn.
   * The socket may still hold the view (a Buffer pushed into the stream), so the target must
   * not reuse the memory: it allocates fresh indication buffers (see TargetChimney).
   */
  private returnLater(chunk: Uint8Array, nbl: NET_BUFFER_LIST): void {
    this.rxNbls.delete(chunk);
    this.returning.push(nbl);
    if (this.returning.length > 1) return;
    queueMicrotask(() => {
      const chain = linkNetBufferLists(this.returning);
      this.returning = [];
      if (chain !== null) this.manager.hostApi.chimney()?.NdisOffloadTcpReceiveReturn(chain);
    });
  }

  private reenableIndications(): void {
    this.refused = false;
    if (this.mode !== 'offloaded' || this.zeroPosted) return;
    const nbl = this.tag(newNetBufferList(new Uint8Array(0)));
    this.zeroNbl = nbl;
    this.zeroPosted = true;
    this.manager.hostApi.chimney()?.NdisOffloadTcpReceive(this.handle, nbl);
  }

  /**
   * The engine's unacknowledged and unsent bytes as the host's send NBLs for the initiate
   * (§4.1.4): the target completes them like sends once offloaded; if the initiate fails it
   * leaves them untouched and the frozen engine still holds the same bytes.
   */
  adoptSendData(views: Uint8Array[]): NET_BUFFER_LIST | null {
    const nbls = views.map((v) => {
      const nbl = this.tag(newNetBufferList(v.slice()));
      nbl.ProtocolReserved[0] = v.length;
      this.outstanding += v.length;
      return nbl;
    });
    return linkNetBufferLists(nbls);
  }

  private send(data: Uint8Array): void {
    const nbl = this.tag(newNetBufferList(data));
    nbl.ProtocolReserved[0] = data.length;
    this.outstanding += data.length;
    this.manager.hostApi.chimney()?.NdisOffloadTcpSend(this.handle, nbl);
  }

  private forward(seg: TcpRepr): void {
    const length = tcpHeaderLength(seg) + seg.payload.length;
    const bytes = new Uint8Array(length);
    const off = emitTcpHeader(seg, bytes, 0);
    bytes.set(seg.payload, off);
    const nbl = this.tag(newNetBufferList(bytes));
    this.manager.stats.forwarded++;
    this.manager.hostApi.chimney()?.NdisOffloadTcpForward(this.handle, nbl);
  }

  private tag(nbl: NET_BUFFER_LIST): NET_BUFFER_LIST {
    nbl.ProtocolReserved[1] = this;
    return nbl;
  }
}

const EMPTY = new Uint8Array(0);

/** Keeps the last 4096 samples. */
function record(samples: number[], ms: number): void {
  if (samples.length >= 4096) samples.shift();
  samples.push(ms);
}

const EVENT_NAMES: Record<number, string> = {
  [TcpIndicateSendBacklogChange]: 'TcpIndicateSendBacklogChange',
  [TcpIndicateDisconnect]: 'TcpIndicateDisconnect',
  [TcpIndicateRetrieve]: 'TcpIndicateRetrieve',
  [TcpIndicateAbort]: 'TcpIndicateAbort',
};

const REASON_NAMES: Record<TCP_UPLOAD_REASON, string> = {
  1: 'LowActivity',
  2: 'HighDropRate',
  3: 'SmallIO',
  4: 'NoBufferPreposting',
  5: 'ReceivedUrgentData',
  6: 'HighFragmentation',
  7: 'HighOutOfOrderPackets',
  8: 'TimeoutExpiration',
  9: 'InvalidState',
  10: 'UploadRequested',
  11: 'HardwareFailure',
};

function ip4Bytes(a: Ipv4Address): Uint8Array {
  return new Uint8Array([a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff]);
}

function nblBytes(nbl: NET_BUFFER_LIST): Uint8Array {
  const b = new Uint8Array(netBufferListDataLength(nbl));
  copyFromNetBuffer(nbl.FirstNetBuffer, 0, b, 0, b.length);
  return b;
}

function cloneSegment(seg: TcpRepr): TcpRepr {
  return { ...seg, options: structuredClone(seg.options), payload: seg.payload.slice() };
}

function describeBlocks(root: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): string[] {
  return blocksOf(root).map((b) => {
    const kind = b.Header.Type === TcpOffloadState ? 'tcp' : b.Header.Type === NeighborOffloadState ? 'neighbor' : 'path';
    const role = b.OffloadHandle === null ? 'placeholder' : b.OffloadHandle.MiniportOffloadContext === null ? 'new' : `linker:${b.OffloadHandle.MiniportOffloadContext}`;
    return `${kind}(${role})`;
  });
}

