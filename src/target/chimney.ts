/**
 * The offload target's chimney: the provider handler set of reference §2.18 over context areas
 * for neighbor, path and TCP objects (seed 001). Each offloaded object lives in a context area
 * of the `ContextTable`; the value written into the host's MiniportOffloadContext cell names it;
 * the NdisOffloadHandle from the initiate block is kept in the area and passed in every
 * indication on the object.
 *
 * An offloaded TCP connection runs its own engine (config.role 'target'), built only from the
 * const, cached and delegated state and the data that crossed the edge (no object is shared
 * with the host's engine). Received frames are classified in O(1) by 4-tuple (`classify`):
 * an offloaded connection's segments go to its engine, everything else up the normal path, as
 * do the frames section 4.12 names (IPv4 options, fragments, anything the classifier cannot
 * judge).
 *
 * Engine events become indications after the engine call that raised them has returned, so the
 * host, which may call down from its handler, never re-enters an engine.
 */
import type { TcpFramePath } from '../tcp/frame-builder.js';
import { maxFrameLength, pathPseudoBase, TcpFrameBuilder } from '../tcp/frame-builder.js';
import { TcpConnection } from '../tcp/connection.js';
import type { TcpOffloadSnapshot } from '../tcp/offload-state.js';
import { TimerQueue, type TimedItem } from '../tcp/timer-queue.js';
import { DEFAULT_TCP_CONFIG, type TcpConfig, type TcpEvent, type TcpHooks, type TcpSegmentOut, type TcpUploadRequestReason } from '../tcp/types.js';
import type { Ipv4Address, Ipv6Address, MacAddress } from '../wire/addr.js';
import type { Random } from '../wire/random.js';
import type { Scheduler } from '../wire/clock.js';
import { IdCounter, OFFLOAD_IPV4_ID_RANGE } from '../wire/ip-id.js';
import { parseTcp, TCP_PSH } from '../wire/tcp.js';
import { ipv4PseudoHeaderSum, parseIpv4 } from '../wire/ipv4.js';
import { ipv6PseudoHeaderSum, parseIpv6 } from '../wire/ipv6.js';
import { IP_PROTO_TCP } from '../wire/ip-proto.js';
import { VNET_F_DATA_VALID, VNET_F_NEEDS_CSUM, type VnetHeader } from '../wire/vnet.js';
import type { NDIS_MINIPORT_OFFLOAD_BLOCK_LIST } from '../ndis/block-list.js';
import { blocksOf, layerOfBlock, roleOfMiniportBlock } from '../ndis/block-list.js';
import type { BytesConsumed, ChimneyCapabilitiesAnswer, MiniportChimneyHandlers, NdisMChimneyCalls } from '../ndis/chimney-edges.js';
import type { NET_BUFFER_LIST } from '../ndis/nbl.js';
import { copyFromNetBuffer, linkNetBufferLists, netBufferListDataLength, netBufferListsOf, newNetBufferList } from '../ndis/nbl.js';
import type { NdisStatus } from '../ndis/status.js';
import {
  NDIS_STATUS_FAILURE,
  NDIS_STATUS_INVALID_PARAMETER,
  NDIS_STATUS_OFFLOAD_HW_ADDRESS_ENTRIES,
  NDIS_STATUS_OFFLOAD_NEIGHBOR_ENTRIES,
  NDIS_STATUS_OFFLOAD_PATH_ENTRIES,
  NDIS_STATUS_OFFLOAD_PATH_MTU,
  NDIS_STATUS_OFFLOAD_TCP_ENTRIES,
  NDIS_STATUS_OFFLOAD_TCP_RCV_WINDOW,
  NDIS_STATUS_OFFLOAD_VLAN_MISMATCH,
  NDIS_STATUS_PENDING,
  NDIS_STATUS_REQUEST_ABORTED,
  NDIS_STATUS_SUCCESS,
  NDIS_STATUS_UPLOAD_IN_PROGRESS,
} from '../ndis/status.js';
import type { NDIS_HANDLE, NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS, OffloadContextSlot, OffloadContextValue, TCP_UPLOAD_REASON } from '../ndis/structures.js';
import {
  ipVersionOfStateType,
  NDIS_ENCAPSULATION_IEEE_802_3,
  NDIS_OFFLOAD_NOT_SUPPORTED,
  NDIS_OFFLOAD_SUPPORTED,
  ReceivedUrgentData,
  TCP_DISCONNECT_ABORTIVE_CLOSE,
  TCP_FLAG_SACK_ENABLED,
  TCP_FLAG_TIMESTAMP_ENABLED,
  TCP_FLAG_WINDOW_SCALING_ENABLED,
  TcpConnectionCloseWait,
  TcpConnectionClosing,
  TcpConnectionFinWait1,
  TcpConnectionFinWait2,
  TcpConnectionLastAck,
  TcpConnectionTimeWait,
  TcpIndicateAbort,
  TcpIndicateDisconnect,
  TcpIndicateRetrieve,
  TimeoutExpiration,
  UploadRequested,
} from '../ndis/structures.js';
import { ContextTable } from './context-table.js';
import { ReceiveDelivery, type DeliveryPort, type ReceiveSource } from './delivery.js';
import { walkInitiateTree, type OffloadOutcome } from './initiate-tree.js';
import { SendTracker } from './send-tracker.js';

/** What the emulated NIC can offload (reference §2.14, §7.2), configurable per run. */
export interface TargetCapabilities {
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  readonly sack: boolean;
  readonly timestamps: boolean;
  readonly windowScaling: boolean;
  /** TcpConnectionOffloadCapacity: TCP connections offloaded at once. */
  readonly tcpCapacity: number;
  readonly pathCapacity: number;
  readonly neighborCapacity: number;
  /** Largest InitialRcvWnd accepted (else OFFLOAD_TCP_RCV_WINDOW). */
  readonly maxInitialRcvWnd: number;
  /** Largest PathMtu accepted (else OFFLOAD_PATH_MTU). */
  readonly maxPathMtu: number;
}

export const DEFAULT_TARGET_CAPABILITIES: TargetCapabilities = Object.freeze({
  ipv4: true,
  ipv6: true,
  sack: true,
  timestamps: true,
  windowScaling: true,
  tcpCapacity: 65536,
  pathCapacity: 65536,
  neighborCapacity: 4096,
  maxInitialRcvWnd: 16 << 20,
  maxPathMtu: 65535,
});

/** Reference §2.14 defaults (Windows): 1000 ticks/s, 2 segments per ACK, 200 ms delayed ACK, 500 ms push. */
export const DEFAULT_OFFLOAD_PARAMETERS: NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS = Object.freeze({
  TicksPerSecond: 1000,
  TcpAckFrequency: 2,
  TcpDelayedAckTicks: 200,
  TcpMaximumRetransmissions: 5,
  TcpDoubtReachabilityRetransmissions: 3,
  TcpSwsPreventionTicks: 1000,
  TcpDuplicateAckThreshold: 3,
  TcpPushTicks: 500,
  NceStaleTicks: 30_000,
  CongestionAlgorithm: 0,
  TcpFinWait2Ticks: 120_000,
});

export interface TargetChimneyOptions {
  readonly scheduler: Scheduler;
  readonly random: Random;
  readonly macAddress: MacAddress;
  readonly mtu: number;
  /** The device's task offloads, used for the target's own frames. */
  readonly txChecksum: boolean;
  readonly tso: boolean;
  readonly lsoMaxOffloadSize: number;
  /** Sends one frame on the wire (copied before it returns). */
  readonly send: (frame: Uint8Array, info: VnetHeader | undefined) => void;
  /** The device's transmit buffer the next frame may be built in (`Link.lendTx`), if it lends one. */
  readonly lend?: (length: number) => Uint8Array | undefined;
  /** Indicates one frame up the normal receive path (for held segments after an upload). */
  readonly indicateNormal: (frame: Uint8Array, info: VnetHeader | undefined) => void;
  /** The NDIS upcalls, once a chimney client is bound (undefined before). */
  readonly upcalls: () => NdisMChimneyCalls | undefined;
  readonly capabilities?: Partial<TargetCapabilities>;
}

export interface TargetChimneyStats {
  /** Frames that went to an offloaded connection's engine. */
  offloadedFramesIn: number;
  /** Frames sent by offloaded connections. */
  offloadedFramesOut: number;
  /** Segments held for the host (after a mandatory upload request, or during a terminate). */
  heldForHost: number;
  /** Data-path calls naming no live context (stale, forged or reused handle). */
  badHandles: number;
  /** Frames an invalidated connection did not send. */
  suppressedByInvalidate: number;
  initiates: number;
  terminates: number;
  /** Indicated receive NBLs the host holds (until receive return). */
  indicatedOutstanding: number;
}

interface NeighborCtx {
  readonly layer: 'neighbor';
  readonly handle: NDIS_HANDLE | null;
  readonly dlDestination: Uint8Array;
  readonly vlanId: number;
  hostReachabilityDelta: number;
  /** NIC time (ms) of the last forward progress (NRT). */
  nicReachabilityTime: number;
  readonly paths: Set<PathCtx>;
  invalid: boolean;
}

interface PathCtx {
  readonly layer: 'path';
  readonly handle: NDIS_HANDLE | null;
  readonly family: 4 | 6;
  readonly source: Uint8Array;
  readonly destination: Uint8Array;
  pathMtu: number;
  neighbor: NeighborCtx | undefined;
  readonly tcps: Set<TcpCtx>;
  invalid: boolean;
}

type ContextArea = NeighborCtx | PathCtx | TcpCtx;

const UPLOAD_REASONS: Record<TcpUploadRequestReason, TCP_UPLOAD_REASON> = {
  'retransmit-limit': TimeoutExpiration,
  'persist-limit': TimeoutExpiration,
  'keepalive-exhausted': TimeoutExpiration,
  'fin-wait-2-timeout': TimeoutExpiration,
  'time-wait': UploadRequested,
  'urgent-data': ReceivedUrgentData,
};

/** One offloaded TCP connection's context area. */
class TcpCtx implements TcpHooks, TimedItem, ReceiveSource, DeliveryPort {
  readonly layer = 'tcp' as const;
  engine!: TcpConnection;
  readonly tracker: SendTracker;
  delivery!: ReceiveDelivery;
  value!: OffloadContextValue;
  queuedAt = Infinity;
  dirty = false;
  /** The initiate that offloaded it has completed: indications may flow (§3.2.7). */
  active = false;
  terminating = false;
  aborted = false;
  disconnectIndicated = false;
  peerFin = false;
  uploadRequested = false;
  pushDeadline = Infinity;
  /** Bytes of the stream acknowledged since the offload (SendTracker positions). */
  ackedBytes = 0;
  pendingDisconnect: NET_BUFFER_LIST | undefined;
  /** Segments not processed (upload requested): copies, for the normal path after the terminate. */
  readonly held: Array<{ frame: Uint8Array; info: VnetHeader | undefined }> = [];
  readonly framePath: { -readonly [K in keyof TcpFramePath]: TcpFramePath[K] };
  readonly key: number | string;

  constructor(
    readonly chimney: TargetChimney,
    readonly handle: NDIS_HANDLE | null,
    readonly path: PathCtx,
    framePath: TcpFramePath,
    key: number | string,
  ) {
    this.framePath = { ...framePath };
    this.key = key;
    this.tracker = new SendTracker({ completeSends: (chain) => this.chimney.up()?.NdisTcpOffloadSendComplete(chain) });
  }

  get clock(): Scheduler {
    return this.chimney.scheduler;
  }

  transmit(segment: TcpSegmentOut): void {
    this.chimney.transmit(this, segment);
  }

  /** Receive and send chunks are overwritten before they are read: no zero fill (as the host's). */
  allocate(size: number): Uint8Array {
    return Buffer.allocUnsafeSlow(size);
  }

  event(event: TcpEvent): void {
    this.chimney.onEngineEvent(this, event);
  }

  // ReceiveSource over the engine's receive side.
  get length(): number {
    return this.engine.readableLength;
  }
  peek(dst: Uint8Array, dstOffset: number, offset: number, length: number): number {
    return this.engine.peekReceived(dst, dstOffset, offset, length);
  }
  consume(n: number): void {
    this.engine.consumeReceived(n);
    this.chimney.markDirty(this);
  }

  // DeliveryPort.
  completeReceives(chain: NET_BUFFER_LIST): void {
    this.chimney.up()?.NdisTcpOffloadReceiveComplete(chain);
  }
  indicate(nbl: NET_BUFFER_LIST, consumed: BytesConsumed): NdisStatus {
    const up = this.chimney.up();
    if (up === undefined || this.handle === null) return 0xc023100e; // NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED
    const status = up.NdisTcpOffloadReceiveHandler(this.handle, nbl, NDIS_STATUS_SUCCESS, consumed);
    if (status === NDIS_STATUS_SUCCESS) this.chimney.stats.indicatedOutstanding++;
    return status;
  }
  allocateIndication(length: number): NET_BUFFER_LIST {
    // Fresh memory per indication (filled before it is indicated, so no zero fill): a host that
    // accepts it may read straight out of it for as long as its application holds the bytes.
    return newNetBufferList(Buffer.allocUnsafeSlow(length));
  }
  startPushTimer(): void {
    this.pushDeadline = this.clock.now() + this.chimney.ticksToMs(this.chimney.parameters.TcpPushTicks);
    this.chimney.schedule(this);
  }
  stopPushTimer(): void {
    this.pushDeadline = Infinity;
  }
}

export class TargetChimney implements MiniportChimneyHandlers {
  readonly stats: TargetChimneyStats = {
    offloadedFramesIn: 0,
    offloadedFramesOut: 0,
    heldForHost: 0,
    badHandles: 0,
    suppressedByInvalidate: 0,
    initiates: 0,
    terminates: 0,
    indicatedOutstanding: 0,
  };
  readonly scheduler: Scheduler;
  readonly capabilities: TargetCapabilities;
  parameters: NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS = DEFAULT_OFFLOAD_PARAMETERS;
  private readonly table: ContextTable<ContextArea>;
  /** IPv4 demux: remote address → (remote port << 16 | local port) → connection. */
  private readonly demux4 = new Map<number, Map<number, TcpCtx>>();
  /** IPv6 demux, keyed by remote address and ports as text (IPv6 offload is the rarer path). */
  private readonly demux6 = new Map<string, TcpCtx>();
  private readonly timers: TimerQueue<TcpCtx>;
  private readonly frames: TcpFrameBuilder;
  private dirty: TcpCtx[] = [];
  private readonly pendingUp: Array<() => void> = [];
  private depth = 0;

  constructor(private readonly o: TargetChimneyOptions) {
    this.scheduler = o.scheduler;
    this.capabilities = { ...DEFAULT_TARGET_CAPABILITIES, ...(o.capabilities ?? {}) };
    const c = this.capabilities;
    this.table = new ContextTable<ContextArea>(Math.min(c.tcpCapacity + c.pathCapacity + c.neighborCapacity, 2 ** 24 - 1));
    this.timers = new TimerQueue(o.scheduler, (ctx) => this.fire(ctx));
    const ids = new IdCounter(OFFLOAD_IPV4_ID_RANGE, o.random);
    this.frames = new TcpFrameBuilder({ txChecksum: o.txChecksum, tso: o.tso }, (n) => ids.take(n));
  }

  /** Offloaded TCP connections now. */
  get tcpCount(): number {
    return this.table.count('tcp');
  }

  get tableStats(): ContextTable<ContextArea>['stats'] {
    return this.table.stats;
  }

  up(): NdisMChimneyCalls | undefined {
    return this.o.upcalls();
  }

  ticksToMs(ticks: number): number {
    return (ticks * 1000) / this.parameters.TicksPerSecond;
  }

  // ---- capabilities (§7.2) ----------------------------------------------------------------

  queryTcpConnectionOffloadCapabilities(): ChimneyCapabilitiesAnswer {
    const c = this.capabilities;
    return {
      Status: NDIS_STATUS_SUCCESS,
      Capabilities: {
        Encapsulation: NDIS_ENCAPSULATION_IEEE_802_3,
        SupportIPv4: c.ipv4 ? NDIS_OFFLOAD_SUPPORTED : NDIS_OFFLOAD_NOT_SUPPORTED,
        SupportIPv6: c.ipv6 ? NDIS_OFFLOAD_SUPPORTED : NDIS_OFFLOAD_NOT_SUPPORTED,
        SupportIPv6ExtensionHeaders: NDIS_OFFLOAD_NOT_SUPPORTED,
        SupportSack: c.sack ? NDIS_OFFLOAD_SUPPORTED : NDIS_OFFLOAD_NOT_SUPPORTED,
        CongestionAlgorithm: 0,
        TcpConnectionOffloadCapacity: c.tcpCapacity,
        Flags: 0,
      },
    };
  }

  setTcpConnectionOffloadParameters(params: NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS): NdisStatus {
    if (![10, 100, 1000].includes(params.TicksPerSecond) && !(Number.isInteger(params.TicksPerSecond) && params.TicksPerSecond > 0)) {
      return NDIS_STATUS_INVALID_PARAMETER;
    }
    this.parameters = { ...DEFAULT_OFFLOAD_PARAMETERS, ...params };
    return NDIS_STATUS_SUCCESS;
  }

  // ---- state operations (§3) --------------------------------------------------------------

  InitiateOffloadHandler(list: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): void {
    this.stats.initiates++;
    const offloaded: TcpCtx[] = [];
    walkInitiateTree<ContextArea>(list, {
      findExisting: (b) => {
        const layer = layerOfBlock(b);
        return layer === undefined ? undefined : this.table.lookup(b.MiniportOffloadContext?.MiniportOffloadContext, layer);
      },
      offloadNew: (b, parent) => {
        const outcome = this.offloadObject(b, parent);
        if (outcome.context?.layer === 'tcp') offloaded.push(outcome.context);
        return outcome;
      },
    });
    this.up()?.NdisMInitiateOffloadComplete(list);
    // The completion has been made (the binding delivers it before any indication): the
    // connections may indicate from now on (§3.2.7).
    for (const ctx of offloaded) {
      ctx.active = true;
      this.markDirty(ctx);
    }
    this.flush();
  }

  TerminateOffloadHandler(list: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): void {
    this.stats.terminates++;
    const released: TcpCtx[] = [];
    const freed: OffloadContextValue[] = [];
    for (const b of blocksOf(list)) {
      const value = b.MiniportOffloadContext?.MiniportOffloadContext;
      const layer = layerOfBlock(b);
      if (roleOfMiniportBlock(b) !== 'linker' || layer === undefined) {
        b.Status = roleOfMiniportBlock(b) === 'placeholder' ? NDIS_STATUS_SUCCESS : NDIS_STATUS_FAILURE;
        continue;
      }
      const ctx = this.table.lookup(value, layer);
      if (ctx === undefined) {
        b.Status = NDIS_STATUS_FAILURE;
        continue;
      }
      if (ctx.layer === 'tcp') {
        this.terminateTcp(ctx, b);
        released.push(ctx);
      } else if (ctx.layer === 'path') {
        b.PathState = { ...(b.PathState ?? {}), Delegated: {} };
        ctx.neighbor?.paths.delete(ctx);
      } else {
        b.NeighborState = {
          ...(b.NeighborState ?? {}),
          Delegated: { NicReachabilityDelta: this.nicReachabilityDelta(ctx) },
        };
      }
      b.Status = NDIS_STATUS_SUCCESS;
      freed.push(value as OffloadContextValue);
    }
    this.flushPendingUp();
    this.up()?.NdisMTerminateOffloadComplete(list);
    // The slots are dead from now on (§3.3.2 step 9); what the connections held goes to the
    // host on the normal path (step 2, §4.9 step 6).
    for (const value of freed) this.table.free(value);
    for (const ctx of released) {
      for (const h of ctx.held) this.o.indicateNormal(h.frame, h.info);
      ctx.held.length = 0;
    }
  }

  UpdateOffloadHandler(list: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): void {
    for (const b of blocksOf(list)) {
      const ctx = this.blockContext(b);
      if (ctx === undefined) continue;
      b.Status = this.updateObject(ctx, b) ? NDIS_STATUS_SUCCESS : NDIS_STATUS_FAILURE;
    }
    this.up()?.NdisMUpdateOffloadComplete(list);
    this.flush();
  }

  InvalidateOffloadHandler(list: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): void {
    const affected = new Set<TcpCtx>();
    for (const b of blocksOf(list)) {
      const ctx = this.blockContext(b);
      if (ctx === undefined) continue;
      if (ctx.layer === 'tcp') affected.add(ctx);
      else if (ctx.layer === 'path') {
        ctx.invalid = true;
        for (const t of ctx.tcps) affected.add(t);
      } else {
        ctx.invalid = true;
        for (const p of ctx.paths) for (const t of p.tcps) affected.add(t);
      }
      b.Status = NDIS_STATUS_SUCCESS;
    }
    this.up()?.NdisMInvalidateOffloadComplete(list);
    // §3.5 (preferred behaviour, §11 item 12): stop sending at once, ask for the upload of
    // every dependent connection.
    for (const t of affected) {
      t.uploadRequested = true;
      this.indicateEvent(t, TcpIndicateRetrieve, 9 /* InvalidState */);
    }
    this.flushPendingUp();
  }

  QueryOffloadHandler(list: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): void {
    for (const b of blocksOf(list)) {
      const ctx = this.blockContext(b);
      if (ctx === undefined) continue;
      if (ctx.layer === 'tcp') {
        const q = ctx.engine.queryState();
        b.TcpState = { ...(b.TcpState ?? {}), Const: q.const, Cached: q.cached, Delegated: q.delegated };
      } else if (ctx.layer === 'path') {
        b.PathState = {
          Const: { SourceAddress: ctx.source, DestinationAddress: ctx.destination },
          Cached: { PathMtu: ctx.pathMtu },
          Delegated: {},
        };
      } else {
        b.NeighborState = {
          Const: { DlSourceAddress: new Uint8Array(32), VlanId: ctx.vlanId },
          Cached: { DlDestinationAddress: ctx.dlDestination, HostReachabilityDelta: ctx.hostReachabilityDelta },
          Delegated: { NicReachabilityDelta: this.nicReachabilityDelta(ctx) },
        };
      }
      b.Status = NDIS_STATUS_SUCCESS;
    }
    this.up()?.NdisMQueryOffloadStateComplete(list);
  }

  // ---- the offloaded data path (§4) ---------------------------------------------------------

  TcpOffloadSendHandler(slot: OffloadContextSlot, chain: NET_BUFFER_LIST): NdisStatus {
    const ctx = this.ioContext(slot, chain, (c) => this.up()?.NdisTcpOffloadSendComplete(c));
    if (ctx === undefined) return NDIS_STATUS_PENDING;
    this.engineCall(ctx, () => {
      for (const view of ctx.tracker.enqueue(chain)) ctx.engine.write(view);
    });
    return NDIS_STATUS_PENDING;
  }

  TcpOffloadReceiveHandler(slot: OffloadContextSlot, chain: NET_BUFFER_LIST): NdisStatus {
    const ctx = this.ioContext(slot, chain, (c) => this.up()?.NdisTcpOffloadReceiveComplete(c));
    if (ctx === undefined) return NDIS_STATUS_PENDING;
    ctx.delivery.post(chain);
    this.afterDelivery(ctx);
    return NDIS_STATUS_PENDING;
  }

  TcpOffloadDisconnectHandler(slot: OffloadContextSlot, nbl: NET_BUFFER_LIST, flags: number): NdisStatus {
    const ctx = this.ioContext(slot, nbl, (c) => this.up()?.NdisTcpOffloadDisconnectComplete(c));
    if (ctx === undefined) return NDIS_STATUS_PENDING;
    nbl.Next = null;
    if ((flags & TCP_DISCONNECT_ABORTIVE_CLOSE) !== 0) {
      // §4.7.2: the one RST the target originates; outstanding sends fail; nothing more is
      // processed or acknowledged.
      ctx.aborted = true;
      this.engineCall(ctx, () => ctx.engine.abort());
      ctx.tracker.failAll(NDIS_STATUS_REQUEST_ABORTED);
      ctx.delivery.abort();
      nbl.Status = NDIS_STATUS_SUCCESS;
      nbl.Info.TcpOffloadBytesTransferred = 0;
      this.up()?.NdisTcpOffloadDisconnectComplete(nbl);
      return NDIS_STATUS_PENDING;
    }
    // §4.7.1: final data (if any) after everything queued, then the FIN; the completion waits
    // for the peer's ACK of both.
    ctx.pendingDisconnect = nbl;
    const data = new Uint8Array(netBufferListDataLength(nbl));
    copyFromNetBuffer(nbl.FirstNetBuffer, 0, data, 0, data.length);
    this.engineCall(ctx, () => {
      if (data.length > 0) ctx.engine.write(data);
      ctx.engine.shutdown();
    });
    return NDIS_STATUS_PENDING;
  }

  TcpOffloadForwardHandler(slot: OffloadContextSlot, chain: NET_BUFFER_LIST): NdisStatus {
    const ctx = this.ioContext(slot, chain, (c) => this.up()?.NdisTcpOffloadForwardComplete(c));
    if (ctx === undefined) return NDIS_STATUS_PENDING;
    // §4.8: each NB is one TCP segment starting at its header; processed as if from the wire.
    const nbls = netBufferListsOf(chain);
    for (const nbl of nbls) {
      const bytes = new Uint8Array(netBufferListDataLength(nbl));
      copyFromNetBuffer(nbl.FirstNetBuffer, 0, bytes, 0, bytes.length);
      const parsed = parseTcp(bytes);
      nbl.Status = parsed.ok ? NDIS_STATUS_SUCCESS : NDIS_STATUS_FAILURE;
      if (parsed.ok) this.inputSegment(ctx, parsed.value, undefined);
    }
    linkNetBufferLists(nbls);
    this.up()?.NdisTcpOffloadForwardComplete(chain);
    this.flush();
    return NDIS_STATUS_PENDING;
  }

  TcpOffloadReceiveReturnHandler(chain: NET_BUFFER_LIST): NdisStatus {
    // §4.3.5: always succeeds; indication NBLs are plain memory here and are simply dropped.
    this.stats.indicatedOutstanding = Math.max(0, this.stats.indicatedOutstanding - netBufferListsOf(chain).length);
    return NDIS_STATUS_SUCCESS;
  }

  // ---- the wire ---------------------------------------------------------------------------

  /**
   * Classifies one received frame: true when it belongs to an offloaded connection (and was
   * processed or held), false when it goes up the normal path. O(1): a few header reads and one
   * or two map lookups; frames of connections that are not offloaded pay nothing more.
   */
  classify(frame: Uint8Array, info: VnetHeader | undefined): boolean {
    if (this.table.count('tcp') === 0 || frame.length < 14 + 20 + 20) return false;
    const etherType = (frame[12]! << 8) | frame[13]!;
    let ctx: TcpCtx | undefined;
    if (etherType === 0x0800) {
      // §4.12: IPv4 options and fragments go to the host.
      if (frame[14] !== 0x45 || frame[23] !== IP_PROTO_TCP || ((frame[20]! & 0x3f) | frame[21]!) !== 0) return false;
      const remote = ((frame[26]! << 24) | (frame[27]! << 16) | (frame[28]! << 8) | frame[29]!) >>> 0;
      const ports = (((frame[34]! << 8) | frame[35]!) * 65536 + ((frame[36]! << 8) | frame[37]!)) >>> 0;
      ctx = this.demux4.get(remote)?.get(ports);
    } else if (etherType === 0x86dd) {
      if (this.demux6.size === 0 || frame.length < 14 + 40 + 20 || frame[20] !== IP_PROTO_TCP) return false;
      ctx = this.demux6.get(key6(frame.subarray(22, 38), (frame[54]! << 8) | frame[55]!, (frame[56]! << 8) | frame[57]!));
    } else {
      return false;
    }
    if (ctx === undefined) return false;
    if (ctx.terminating) return false; // §3.3.2 step 2: the host takes it
    if (ctx.uploadRequested || ctx.aborted) {
      // Not processed: kept for the host, which gets it after the terminate.
      ctx.held.push({ frame: frame.slice(), info });
      this.stats.heldForHost++;
      return true;
    }
    const trusted = info !== undefined && (info.flags & (VNET_F_DATA_VALID | VNET_F_NEEDS_CSUM)) !== 0;
    const payload = frame.subarray(14);
    let tcpBytes: Uint8Array;
    let pseudo: number | undefined;
    if (etherType === 0x0800) {
      const ip = parseIpv4(payload, { verifyChecksum: !trusted });
      if (!ip.ok) return false; // the host judges (and counts) a bad header
      tcpBytes = ip.value.payload;
      pseudo = trusted ? undefined : ipv4PseudoHeaderSum(ip.value, tcpBytes.length);
    } else {
      const ip = parseIpv6(payload);
      if (!ip.ok || ip.value.nextHeader !== IP_PROTO_TCP) return false;
      tcpBytes = ip.value.upperPayload;
      pseudo = trusted ? undefined : ipv6PseudoHeaderSum(ip.value, IP_PROTO_TCP, tcpBytes.length);
    }
    const seg = parseTcp(tcpBytes, { pseudoHeaderSum: pseudo });
    if (!seg.ok) return false; // §4.12 recommended mode: indicate, do not count
    this.stats.offloadedFramesIn++;
    // Forward progress on the neighbor (§5.2): the peer answered.
    if (ctx.path.neighbor !== undefined) ctx.path.neighbor.nicReachabilityTime = this.scheduler.now();
    this.inputSegment(ctx, seg.value, { frame, info });
    return true;
  }

  /** End of a receive batch: poll the connections the batch touched. */
  batchEnd(): void {
    this.flush();
  }

  // ---- internals --------------------------------------------------------------------------

  transmit(ctx: TcpCtx, seg: TcpSegmentOut): void {
    if (ctx.path.invalid || ctx.path.neighbor?.invalid === true || (ctx.uploadRequested && !ctx.terminating)) {
      // §3.5: an invalidated connection sends nothing; the due ACK of a terminate still goes.
      this.stats.suppressedByInvalidate++;
      return;
    }
    const { frame, info } = this.frames.build(seg, ctx.framePath, this.o.lend?.(maxFrameLength(seg)));
    this.stats.offloadedFramesOut++;
    this.o.send(frame, info);
  }

  onEngineEvent(ctx: TcpCtx, event: TcpEvent): void {
    switch (event.type) {
      case 'acked':
        ctx.ackedBytes += event.bytes;
        ctx.tracker.acked(ctx.ackedBytes);
        return;
      case 'peer-fin':
        ctx.peerFin = true;
        return;
      case 'fin-acked': {
        const nbl = ctx.pendingDisconnect;
        if (nbl === undefined) return;
        ctx.pendingDisconnect = undefined;
        ctx.tracker.flush();
        const bytes = netBufferListDataLength(nbl);
        nbl.Status = NDIS_STATUS_SUCCESS;
        nbl.Info.TcpOffloadBytesTransferred = bytes;
        this.queueUp(() => this.up()?.NdisTcpOffloadDisconnectComplete(nbl));
        return;
      }
      case 'error':
        if (event.code === 'ECONNRESET' && !ctx.aborted) {
          // §5.1.2: an acceptable RST. Everything outstanding fails; resources stay until the terminate.
          ctx.aborted = true;
          this.queueUp(() => {
            ctx.tracker.failAll(NDIS_STATUS_REQUEST_ABORTED);
            ctx.delivery.abort();
            const d = ctx.pendingDisconnect;
            ctx.pendingDisconnect = undefined;
            if (d !== undefined) {
              d.Status = NDIS_STATUS_REQUEST_ABORTED;
              this.up()?.NdisTcpOffloadDisconnectComplete(d);
            }
          });
          this.indicateEvent(ctx, TcpIndicateAbort, 0);
        }
        return;
      case 'upload-request':
        ctx.uploadRequested = true;
        this.indicateEvent(ctx, TcpIndicateRetrieve, UPLOAD_REASONS[event.reason]);
        return;
      case 'closed':
        // LAST-ACK acknowledged (or CLOSING resolved without TIME-WAIT): nothing is left to run.
        // The target never frees a connection on its own (§1.4); it asks for the upload, the
        // natural choice of reason being UploadRequested (§5.1.3). An abort has its own event.
        if (!ctx.aborted && !ctx.uploadRequested && !ctx.terminating) {
          ctx.uploadRequested = true;
          this.indicateEvent(ctx, TcpIndicateRetrieve, UploadRequested);
        }
        return;
      default:
        return;
    }
  }

  markDirty(ctx: TcpCtx): void {
    if (ctx.dirty) return;
    ctx.dirty = true;
    this.dirty.push(ctx);
  }

  schedule(ctx: TcpCtx): void {
    if (ctx.terminating) return;
    const at = Math.min(ctx.engine.nextDeadline(), ctx.pushDeadline);
    if (at !== Infinity) this.timers.schedule(ctx, at);
  }

  private fire(ctx: TcpCtx): void {
    if (ctx.terminating) return;
    const now = this.scheduler.now();
    if (ctx.pushDeadline <= now) {
      ctx.pushDeadline = Infinity;
      if (ctx.active) ctx.delivery.pushTimerExpired();
    }
    this.engineCall(ctx, () => ctx.engine.onTimer());
  }

  private inputSegment(ctx: TcpCtx, seg: Parameters<TcpConnection['input']>[0], raw: { frame: Uint8Array; info: VnetHeader | undefined } | undefined): void {
    const before = ctx.engine.readableLength;
    let verdict: ReturnType<TcpConnection['input']>;
    this.depth++;
    try {
      verdict = ctx.engine.input(seg);
    } finally {
      this.depth--;
    }
    if (verdict === 'tcp-upload-pending' && raw !== undefined) {
      ctx.held.push({ frame: raw.frame.slice(), info: raw.info });
      this.stats.heldForHost++;
    }
    this.markDirty(ctx);
    if (ctx.active && ctx.engine.readableLength > before) {
      ctx.delivery.dataArrived((seg.flags & TCP_PSH) !== 0);
    }
    this.afterDelivery(ctx);
  }

  /** Runs an engine call, then polls and flushes what it produced. */
  private engineCall(ctx: TcpCtx, fn: () => void): void {
    this.depth++;
    try {
      fn();
    } finally {
      this.depth--;
    }
    this.markDirty(ctx);
    this.flush();
  }

  /** §5.1.1: the disconnect indication once the peer's FIN came and every byte before it was taken. */
  private afterDelivery(ctx: TcpCtx): void {
    if (!ctx.active || !ctx.peerFin || ctx.disconnectIndicated || ctx.aborted) return;
    if (ctx.delivery.postedCount > 0) ctx.delivery.pushNow();
    if (!ctx.delivery.drained) return;
    ctx.disconnectIndicated = true;
    ctx.delivery.markDisconnectIndicated();
    this.indicateEvent(ctx, TcpIndicateDisconnect, 0);
  }

  private flush(): void {
    if (this.depth > 0) return;
    while (this.dirty.length > 0) {
      const list = this.dirty;
      this.dirty = [];
      for (const ctx of list) {
        ctx.dirty = false;
        if (ctx.terminating) continue;
        this.depth++;
        try {
          ctx.engine.poll();
        } finally {
          this.depth--;
        }
        ctx.tracker.flush();
        this.schedule(ctx);
        this.afterDelivery(ctx);
      }
    }
    this.flushPendingUp();
  }

  private queueUp(fn: () => void): void {
    this.pendingUp.push(fn);
    if (this.depth === 0) this.flushPendingUp();
  }

  private indicateEvent(ctx: TcpCtx, type: number, info: number): void {
    const handle = ctx.handle;
    if (handle === null) return;
    this.queueUp(() => this.up()?.NdisTcpOffloadEventHandler(handle, type, info));
  }

  private flushPendingUp(): void {
    if (this.depth > 0) return;
    while (this.pendingUp.length > 0) {
      const fn = this.pendingUp.shift() as () => void;
      fn();
    }
  }

  /**
   * The existing object a query, update or invalidate block names. Otherwise the block's status
   * is written (SUCCESS for a placeholder, FAILURE for a value naming nothing live) and the
   * answer is undefined.
   */
  private blockContext(b: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): ContextArea | undefined {
    const layer = layerOfBlock(b);
    const ctx = layer === undefined ? undefined : this.table.lookup(b.MiniportOffloadContext?.MiniportOffloadContext, layer);
    if (ctx === undefined) b.Status = roleOfMiniportBlock(b) === 'placeholder' ? NDIS_STATUS_SUCCESS : NDIS_STATUS_FAILURE;
    return ctx;
  }

  private tcpOf(slot: OffloadContextSlot): TcpCtx | undefined {
    const ctx = this.table.lookup(slot.MiniportOffloadContext, 'tcp');
    if (ctx === undefined) this.stats.badHandles++;
    return ctx as TcpCtx | undefined;
  }

  /**
   * The connection a data-path call names, or undefined after completing `chain` at once: with
   * INVALID_PARAMETER for a handle that names no live connection, else with the reason the
   * connection takes no new I/O.
   */
  private ioContext(slot: OffloadContextSlot, chain: NET_BUFFER_LIST, complete: (c: NET_BUFFER_LIST) => void): TcpCtx | undefined {
    const ctx = this.tcpOf(slot);
    const refusal = ctx === undefined ? NDIS_STATUS_INVALID_PARAMETER : this.ioRefusal(ctx);
    if (ctx !== undefined && refusal === undefined) return ctx;
    this.failChain(chain, refusal ?? NDIS_STATUS_INVALID_PARAMETER, complete);
    return undefined;
  }

  /** Why new I/O on a connection completes at once (§3.2.8, §3.3.2 step 1, §5.1.2), or undefined. */
  private ioRefusal(ctx: TcpCtx): NdisStatus | undefined {
    if (ctx.terminating || ctx.uploadRequested) return NDIS_STATUS_UPLOAD_IN_PROGRESS;
    if (ctx.aborted) return NDIS_STATUS_REQUEST_ABORTED;
    return undefined;
  }

  private failChain(chain: NET_BUFFER_LIST, status: NdisStatus, complete: (c: NET_BUFFER_LIST) => void): void {
    for (const nbl of netBufferListsOf(chain)) {
      nbl.Status = status;
      nbl.Info.TcpOffloadBytesTransferred = 0;
    }
    complete(chain);
  }

  private nicReachabilityDelta(n: NeighborCtx): number {
    const ticks = Math.floor(((this.scheduler.now() - n.nicReachabilityTime) * this.parameters.TicksPerSecond) / 1000);
    return Math.max(0, ticks) >>> 0;
  }

  private offloadObject(b: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, parent: ContextArea | undefined): OffloadOutcome<ContextArea> {
    const layer = layerOfBlock(b);
    const handle = b.NdisOffloadHandle;
    if (layer === 'neighbor') {
      const s = b.NeighborState;
      if (s?.Const === undefined || s.Cached === undefined) return { status: NDIS_STATUS_FAILURE };
      if (s.Const.DlSourceAddress.some((x) => x !== 0)) return { status: NDIS_STATUS_OFFLOAD_HW_ADDRESS_ENTRIES };
      // No interface VLANs are configured (and this kernel has no 802.1Q): only VlanId 0.
      if (s.Const.VlanId !== 0) return { status: NDIS_STATUS_OFFLOAD_VLAN_MISMATCH };
      if (this.table.count('neighbor') >= this.capabilities.neighborCapacity) return { status: NDIS_STATUS_OFFLOAD_NEIGHBOR_ENTRIES };
      const ctx: NeighborCtx = {
        layer: 'neighbor',
        handle,
        dlDestination: s.Cached.DlDestinationAddress.slice(0, 6),
        vlanId: 0,
        hostReachabilityDelta: s.Cached.HostReachabilityDelta,
        nicReachabilityTime: this.scheduler.now() - this.ticksToMs(s.Cached.HostReachabilityDelta),
        paths: new Set(),
        invalid: false,
      };
      return this.mint(ctx, NDIS_STATUS_OFFLOAD_NEIGHBOR_ENTRIES);
    }
    if (layer === 'path') {
      const s = b.PathState;
      const family = ipVersionOfStateType(b.Header.Type);
      if (s?.Const === undefined || s.Cached === undefined || family === undefined) return { status: NDIS_STATUS_FAILURE };
      if ((family === 4 && !this.capabilities.ipv4) || (family === 6 && !this.capabilities.ipv6)) return { status: NDIS_STATUS_FAILURE };
      const len = family === 4 ? 4 : 16;
      if (s.Const.SourceAddress.length !== len || s.Const.DestinationAddress.length !== len) return { status: NDIS_STATUS_FAILURE };
      if (s.Cached.PathMtu > this.capabilities.maxPathMtu) return { status: NDIS_STATUS_OFFLOAD_PATH_MTU };
      if (s.Cached.PathMtu < (family === 4 ? 68 : 1280)) return { status: NDIS_STATUS_FAILURE };
      if (this.table.count('path') >= this.capabilities.pathCapacity) return { status: NDIS_STATUS_OFFLOAD_PATH_ENTRIES };
      const neighbor = parent?.layer === 'neighbor' ? parent : undefined;
      const ctx: PathCtx = {
        layer: 'path',
        handle,
        family,
        source: s.Const.SourceAddress.slice(),
        destination: s.Const.DestinationAddress.slice(),
        pathMtu: s.Cached.PathMtu,
        neighbor,
        tcps: new Set(),
        invalid: false,
      };
      const outcome = this.mint(ctx, NDIS_STATUS_OFFLOAD_PATH_ENTRIES);
      if (outcome.status === NDIS_STATUS_SUCCESS) neighbor?.paths.add(ctx);
      return outcome;
    }
    if (layer === 'tcp') return this.offloadTcp(b, parent?.layer === 'path' ? parent : undefined);
    return { status: NDIS_STATUS_FAILURE };
  }

  private mint(ctx: NeighborCtx | PathCtx | TcpCtx, full: NdisStatus): OffloadOutcome<ContextArea> {
    const value = this.table.mint(ctx.layer, ctx);
    return value === undefined ? { status: full } : { status: NDIS_STATUS_SUCCESS, value, context: ctx };
  }

  private offloadTcp(b: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, path: PathCtx | undefined): OffloadOutcome<ContextArea> {
    const s = b.TcpState;
    if (path === undefined || path.neighbor === undefined) return { status: NDIS_STATUS_FAILURE };
    if (s?.Const === undefined || s.Cached === undefined || s.Delegated === undefined) return { status: NDIS_STATUS_FAILURE };
    if (this.table.count('tcp') >= this.capabilities.tcpCapacity) return { status: NDIS_STATUS_OFFLOAD_TCP_ENTRIES };
    if (s.Cached.InitialRcvWnd > this.capabilities.maxInitialRcvWnd) return { status: NDIS_STATUS_OFFLOAD_TCP_RCV_WINDOW };
    const k = s.Const;
    const caps = this.capabilities;
    if (
      ((k.Flags & TCP_FLAG_SACK_ENABLED) !== 0 && !caps.sack) ||
      ((k.Flags & TCP_FLAG_TIMESTAMP_ENABLED) !== 0 && !caps.timestamps) ||
      ((k.Flags & TCP_FLAG_WINDOW_SCALING_ENABLED) !== 0 && !caps.windowScaling)
    ) {
      return { status: NDIS_STATUS_FAILURE };
    }
    // The send data is read, not taken, until the block is known to succeed (§3.2.3: a failed
    // block leaves its NBLs untouched).
    const sendViews: Uint8Array[] = [];
    for (const nbl of netBufferListsOf(b.NetBufferListChain)) {
      const copy = new Uint8Array(netBufferListDataLength(nbl));
      copyFromNetBuffer(nbl.FirstNetBuffer, 0, copy, 0, copy.length);
      sendViews.push(copy);
    }
    // Buffered receive data is copied into target memory before the completion (§3.2.1 rule 5).
    const buffered: Uint8Array[] = [];
    for (const nbl of netBufferListsOf(s.BufferedData ?? null)) {
      const copy = new Uint8Array(netBufferListDataLength(nbl));
      copyFromNetBuffer(nbl.FirstNetBuffer, 0, copy, 0, copy.length);
      buffered.push(copy);
    }
    const st = s.Delegated.State;
    const snapshot: TcpOffloadSnapshot = {
      const: k,
      cached: s.Cached,
      delegated: s.Delegated,
      sendData: sendViews,
      finQueued: st === TcpConnectionFinWait1 || st === TcpConnectionFinWait2 || st === TcpConnectionClosing || st === TcpConnectionLastAck || st === TcpConnectionTimeWait,
      bufferedData: buffered,
      peerFinReceived: st === TcpConnectionCloseWait || st === TcpConnectionClosing || st === TcpConnectionLastAck || st === TcpConnectionTimeWait,
    };
    const family = path.family;
    const neighbor = path.neighbor;
    const framePathBase = {
      family,
      srcMac: this.o.macAddress,
      dstMac: neighbor.dlDestination,
      local4: family === 4 ? u32(path.source) : 0,
      remote4: family === 4 ? u32(path.destination) : 0,
      local6: family === 6 ? (path.source as Ipv6Address) : undefined,
      remote6: family === 6 ? (path.destination as Ipv6Address) : undefined,
      ttl: s.Cached.TtlOrHopLimit || 64,
      tos: s.Cached.TosOrTrafficClass,
      flowLabel: s.Cached.FlowLabel,
    };
    const framePath: TcpFramePath = { ...framePathBase, pseudoBase: pathPseudoBase(framePathBase) };
    const key = family === 4 ? ((k.RemotePort * 65536 + k.LocalPort) >>> 0) : key6(path.destination, k.RemotePort, k.LocalPort);
    const ctx = new TcpCtx(this, b.NdisOffloadHandle, path, framePath, key);
    const imported = TcpConnection.importOffloadState({ config: this.engineConfig(path, s.Cached.InitialRcvWnd), hooks: ctx, random: this.o.random, snapshot });
    if (imported.connection === undefined) return { status: NDIS_STATUS_FAILURE };
    ctx.engine = imported.connection;
    ctx.delivery = new ReceiveDelivery(ctx, ctx, s.Cached.RcvIndicationSize, 65536, buffered.length > 0);
    const outcome = this.mint(ctx, NDIS_STATUS_OFFLOAD_TCP_ENTRIES);
    if (outcome.status !== NDIS_STATUS_SUCCESS) return outcome;
    ctx.value = outcome.value as OffloadContextValue;
    // Success: the NBLs are the target's now, completed when acknowledged (§3.2.1 rule 6).
    if (b.NetBufferListChain !== null) ctx.tracker.enqueue(b.NetBufferListChain);
    path.tcps.add(ctx);
    if (family === 4) {
      let byPorts = this.demux4.get(framePath.remote4);
      if (byPorts === undefined) this.demux4.set(framePath.remote4, (byPorts = new Map()));
      byPorts.set(key as number, ctx);
    } else {
      this.demux6.set(key as string, ctx);
    }
    return outcome;
  }

  private engineConfig(path: PathCtx, initialRcvWnd: number): TcpConfig {
    const p = this.parameters;
    const ipHeader = path.family === 4 ? 20 : 40;
    const mss = Math.max(88, Math.min(path.pathMtu, this.o.mtu) - ipHeader - 20);
    return {
      ...DEFAULT_TCP_CONFIG,
      role: 'target',
      mss,
      rcvBufSize: initialRcvWnd > 0 ? initialRcvWnd : DEFAULT_TCP_CONFIG.rcvBufSize,
      windowScaling: this.capabilities.windowScaling,
      timestamps: this.capabilities.timestamps,
      sack: this.capabilities.sack,
      maxRetransmits: p.TcpMaximumRetransmissions,
      delayedAckMs: this.ticksToMs(p.TcpDelayedAckTicks),
      finWait2TimeoutMs: this.ticksToMs(p.TcpFinWait2Ticks ?? 120_000),
      ticksPerSecond: p.TicksPerSecond,
      tsoMaxBytes: this.o.tso ? this.o.lsoMaxOffloadSize : 0,
    };
  }

  private updateObject(ctx: ContextArea, b: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): boolean {
    if (ctx.layer === 'neighbor') {
      const cached = b.NeighborState?.Cached;
      if (cached === undefined) return true;
      ctx.dlDestination.set(cached.DlDestinationAddress.subarray(0, 6));
      ctx.hostReachabilityDelta = cached.HostReachabilityDelta;
      return true;
    }
    if (ctx.layer === 'path') {
      const cached = b.PathState?.Cached;
      if (cached === undefined) return true;
      if (cached.PathMtu > this.capabilities.maxPathMtu) return false;
      ctx.pathMtu = cached.PathMtu;
      for (const t of ctx.tcps) t.engine.lowerPathMtu(cached.PathMtu, ctx.family === 4 ? 20 : 40);
      return true;
    }
    const cached = b.TcpState?.Cached;
    if (cached === undefined) return true;
    ctx.framePath.ttl = cached.TtlOrHopLimit || 64;
    ctx.framePath.tos = cached.TosOrTrafficClass;
    ctx.framePath.flowLabel = cached.FlowLabel;
    ctx.delivery.setIndicationSize(cached.RcvIndicationSize);
    return true;
  }

  private terminateTcp(ctx: TcpCtx, b: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): void {
    // §3.3.2: stop taking work; deliver what fits, complete every posted receive; return the
    // send NBLs in order; send the due ACK; hand back the delegated state and what is undelivered.
    ctx.terminating = true;
    this.timers.cancel(ctx);
    ctx.delivery.flushForUpload();
    const returned = ctx.tracker.takeForUpload();
    this.depth++;
    let snap: TcpOffloadSnapshot;
    try {
      snap = ctx.engine.exportState();
    } finally {
      this.depth--;
    }
    const bufferedNbls = snap.bufferedData.map((view) => newNetBufferList(view));
    b.TcpState = {
      ...(b.TcpState ?? {}),
      Delegated: snap.delegated,
      SendDataHead: returned?.SendDataHead ?? null,
      SendDataTail: returned?.SendDataTail ?? null,
      BufferedData: linkNetBufferLists(bufferedNbls),
    };
    b.NetBufferListChain = returned?.NetBufferListChain ?? null;
    this.stats.indicatedOutstanding += bufferedNbls.length;
    const d = ctx.pendingDisconnect;
    ctx.pendingDisconnect = undefined;
    if (d !== undefined) {
      d.Status = NDIS_STATUS_UPLOAD_IN_PROGRESS;
      this.up()?.NdisTcpOffloadDisconnectComplete(d);
    }
    ctx.path.tcps.delete(ctx);
    if (ctx.path.family === 4) {
      const byPorts = this.demux4.get(ctx.framePath.remote4);
      byPorts?.delete(ctx.key as number);
      if (byPorts?.size === 0) this.demux4.delete(ctx.framePath.remote4);
    } else {
      this.demux6.delete(ctx.key as string);
    }
  }
}

function u32(b: Uint8Array): Ipv4Address {
  return (((b[0] as number) << 24) | ((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number)) >>> 0;
}

function key6(remote: Uint8Array, remotePort: number, localPort: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += String.fromCharCode(remote[i] as number);
  return `${s}:${remotePort}:${localPort}`;
}

