/**
 * Intermediate drivers (reference §6.2–§6.5; seeds 000 "Reusing an
 * NDIS_MINIPORT_OFFLOAD_BLOCK_LIST Structure" and 002 "Referencing Offloaded State Through an
 * Intermediate Driver"). An `ImDriver` is a miniport edge above (MiniportEdge + chimneyProvider)
 * and a protocol edge below (BindableProtocol + chimneyClient), like gVisor's `nested` link
 * endpoint; each gap is bound with `bindProtocol`, so NDIS's mapping and its completions on a
 * later turn apply at every gap.
 *
 * Block-list reuse (seed 000, §6.2): the incoming NDIS_MINIPORT_OFFLOAD_BLOCK_LIST objects are
 * overlaid in place into the NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST passed down: every block gets an
 * `OffloadHandle` member, so one object serves both views (block-list.ts types both forms over
 * the same common members; the miniport-only members stay untouched, and the upper binding's
 * link in NdisReserved[0] survives because the lower binding never writes the protocol block's
 * NdisReserved). The copy NDIS makes happens in `binding.ts` (toMiniportTree), not here: the layer
 * below needs its own MiniportOffloadContext/NdisOffloadHandle members and NdisReserved link.
 *
 * ImReserved holds an **object reference** to the IM call entry, as the seed's pointer: the block
 * only ever comes back to this driver (the binding below works on its own copy and never copies
 * ImReserved back), and the completion checks that the reference is a live entry of this driver
 * for the same root, so a stale or foreign value is counted, never followed.
 *
 * The value the driver writes into the slot above is an **opaque integer** naming its IM offload
 * entry (OffloadContextValue, never reused), checked by a map lookup like the target's handles.
 */
import { blocksOf, roleOfMiniportBlock, setRemainingStatus } from '../ndis/block-list.js';
import type { NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST } from '../ndis/block-list.js';
import type { BindableProtocol, StateOperation } from '../ndis/binding.js';
import type {
  BytesConsumed,
  ChimneyCapabilitiesAnswer,
  MiniportChimneyHandlers,
  NdisChimneyCalls,
  NdisMChimneyCalls,
  ProtocolChimneyHandlers,
} from '../ndis/chimney-edges.js';
import type { BoundMiniportEdge, BoundProtocolEdge, LinkStateInfo, MiniportAttributes, MiniportEdge, NblOffloadInfo } from '../ndis/edges.js';
import { netBufferListsOf, type NET_BUFFER_LIST } from '../ndis/nbl.js';
import {
  NDIS_STATUS_FAILURE,
  NDIS_STATUS_INVALID_PARAMETER,
  NDIS_STATUS_NOT_SUPPORTED,
  NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED,
  NDIS_STATUS_PENDING,
  NDIS_STATUS_REQUEST_UPLOAD,
  NDIS_STATUS_RESOURCES,
  NDIS_STATUS_UPLOAD_REQUESTED,
  type NdisStatus,
} from '../ndis/status.js';
import { newOffloadHandle } from '../ndis/structures.js';
import type {
  INDICATE_OFFLOAD_EVENT,
  NDIS_HANDLE,
  NDIS_OFFLOAD_HANDLE,
  NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS,
  OffloadContextSlot,
  OffloadContextValue,
  TCP_OFFLOAD_EVENT_TYPE,
} from '../ndis/structures.js';

export type ImDriverKind = 'passthrough' | 'block' | 'fault';

/** Allocation-failure probabilities of a `fault` driver, per operation and per send call. */
export interface ImFaultSpec {
  readonly initiate: number;
  readonly update: number;
  readonly invalidate: number;
  readonly query: number;
  readonly send: number;
  readonly seed: number;
}

export interface ImDriverStats {
  callEntriesLive: number;
  callEntriesCreated: number;
  callEntriesFreed: number;
  offloadEntriesLive: number;
  offloadEntriesCreated: number;
  offloadEntriesFreed: number;
  /** State operations failed by an injected allocation failure (NDIS_STATUS_RESOURCES / FAILURE). */
  faultedOperations: number;
  /** Send calls failed by an injected failure (REQUEST_UPLOAD on the first NBL, §6.4). */
  faultedSends: number;
  /** Sends completed UPLOAD_REQUESTED because an earlier one of the connection failed. */
  refusedSends: number;
  /** Capability queries answered NOT_SUPPORTED (a blocking driver, §6.5). */
  blockedCapabilityQueries: number;
  /** Calls naming no live entry (stale or forged slot or handle), answered with a status. */
  badHandles: number;
  /** Completions whose ImReserved named no live call entry of this driver (dropped, counted). */
  badCompletions: number;
}

/** IM call entry (§6.2): lives only while its operation is in flight. */
interface ImCallEntry {
  readonly op: StateOperation;
  readonly root: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST;
  /** Every block's ImReserved and SourceHandle as they came in, in traversal order. */
  readonly saved: { block: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST; imReserved: [unknown, unknown]; sourceHandle: unknown; created?: ImOffloadEntry }[];
}

/** IM offload entry (§6.3): lives from the initiate until the terminate of its object completes. */
interface ImOffloadEntry {
  readonly id: OffloadContextValue;
  /** The upper layer's NdisOffloadHandle (needed to indicate upward). */
  readonly upperHandle: NDIS_HANDLE;
  /** The driver's own NDIS_OFFLOAD_HANDLE, passed down; the layer below fills its cell. */
  readonly ownHandle: NDIS_OFFLOAD_HANDLE;
  /** A send of this object failed: every later one is refused until it is uploaded (§4.1.2). */
  uploadRequested: boolean;
}

/** Parses `passthrough`, `block` or `fault:initiate=0.5,send=0.01,seed=7` (see docs/ARCHITECTURE.md). */
export function parseImSpec(spec: string): { kind: ImDriverKind; fault?: ImFaultSpec } {
  if (spec === 'passthrough' || spec === 'block') return { kind: spec };
  if (spec === 'fault' || spec.startsWith('fault:')) {
    const fault = { initiate: 0, update: 0, invalidate: 0, query: 0, send: 0, seed: 1 };
    const body = spec.slice('fault:'.length);
    for (const part of spec === 'fault' ? [] : body.split(',')) {
      const [key, value, extra] = part.split('=');
      const n = Number(value);
      if (key === undefined || value === undefined || extra !== undefined || value === '' || !Number.isFinite(n)) {
        throw new ImSpecError(`'${part}' is not key=number`);
      }
      if (key === 'seed') {
        if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new ImSpecError(`seed=${value} is not a 32-bit unsigned integer`);
        fault.seed = n;
      } else if (key === 'initiate' || key === 'update' || key === 'invalidate' || key === 'query' || key === 'send') {
        if (n < 0 || n > 1) throw new ImSpecError(`${key}=${value} is not a probability in 0..1`);
        fault[key] = n;
      } else if (key === 'terminate') {
        throw new ImSpecError('terminate cannot be faulted: the host has no way to recover the state of a failed terminate (§3.3.2)');
      } else {
        throw new ImSpecError(`unknown key '${key}' (initiate, update, invalidate, query, send, seed)`);
      }
    }
    return { kind: 'fault', fault };
  }
  throw new ImSpecError(`'${spec}' is not passthrough, block or fault:SPEC`);
}

/** The most drivers an `--im` list may stack. */
export const MAX_IM_DRIVERS = 64;

/**
 * Parses an `--im` list, top first: `passthrough,passthrough,block`, or a list ending in
 * `fault:k=v,k=v` (the fault SPEC's own commas belong to it, so it must be last). Every entry
 * is checked by parseImSpec; 1 to MAX_IM_DRIVERS entries.
 */
export function parseImList(value: string): string[] {
  const parts = value.split(',');
  const at = parts.findIndex((p) => p === 'fault' || p.startsWith('fault:'));
  const head = at < 0 ? parts : parts.slice(0, at);
  const out: string[] = [];
  for (const p of head) {
    if (p === '') throw new ImSpecError(`empty entry in '${value}'`);
    out.push(p);
  }
  if (at >= 0) {
    const tail = parts.slice(at + 1);
    const kind = tail.find((p) => p !== '' && !p.includes('='));
    if (kind !== undefined) throw new ImSpecError(`'${kind}' follows fault:SPEC; a fault driver must be last (its SPEC's commas belong to it)`);
    out.push(parts.slice(at).join(','));
  }
  for (const s of out) parseImSpec(s);
  if (out.length > MAX_IM_DRIVERS) throw new ImSpecError(`${out.length} drivers; at most ${MAX_IM_DRIVERS}`);
  return out;
}

export class ImSpecError extends Error {
  override readonly name = 'ImSpecError';
}

/** Small seeded PRNG (xorshift32): `im/` may import only `ndis/`. */
class Xorshift {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 0x100000000;
  }
}

const FAULT_KEY: Record<StateOperation, keyof ImFaultSpec | undefined> = {
  InitiateOffload: 'initiate',
  TerminateOffload: undefined,
  UpdateOffload: 'update',
  InvalidateOffload: 'invalidate',
  QueryOffload: 'query',
};

export class ImDriver implements MiniportEdge, BindableProtocol {
  readonly stats: ImDriverStats = {
    callEntriesLive: 0,
    callEntriesCreated: 0,
    callEntriesFreed: 0,
    offloadEntriesLive: 0,
    offloadEntriesCreated: 0,
    offloadEntriesFreed: 0,
    faultedOperations: 0,
    faultedSends: 0,
    refusedSends: 0,
    blockedCapabilityQueries: 0,
    badHandles: 0,
    badCompletions: 0,
  };
  readonly chimneyProvider: MiniportChimneyHandlers;
  readonly chimneyClient: ProtocolChimneyHandlers;
  private upper: BoundProtocolEdge | undefined;
  private lower: BoundMiniportEdge | undefined;
  private readonly callEntries = new Set<ImCallEntry>();
  private readonly byId = new Map<number, ImOffloadEntry>();
  private readonly byOwnHandle = new Map<NDIS_OFFLOAD_HANDLE, ImOffloadEntry>();
  private nextId = 1;
  private readonly random: Xorshift | undefined;

  constructor(
    readonly name: string,
    readonly kind: ImDriverKind,
    private readonly fault?: ImFaultSpec,
  ) {
    this.random = fault === undefined ? undefined : new Xorshift(fault.seed);
    this.chimneyProvider = this.providerHandlers();
    this.chimneyClient = this.clientHandlers();
  }

  static fromSpec(spec: string, index = 0): ImDriver {
    const parsed = parseImSpec(spec);
    return new ImDriver(`im${index}:${parsed.kind}`, parsed.kind, parsed.fault);
  }

  // ---- normal path: one call each way ----

  get attributes(): MiniportAttributes {
    return (this.lower as BoundMiniportEdge).attributes;
  }
  bindUpper(upper: BoundProtocolEdge): void {
    this.upper = upper;
  }
  bindLower(lower: BoundMiniportEdge): void {
    this.lower = lower;
  }
  sendNetBufferLists(frame: Uint8Array, info: NblOffloadInfo | undefined): void {
    this.lower?.sendNetBufferLists(frame, info);
  }
  /** The normal path passes frames down untouched, so the device's buffer is lent through. */
  lendSendBuffer(length: number): Uint8Array | undefined {
    return this.lower?.lendSendBuffer?.(length);
  }
  receiveNetBufferLists(frame: Uint8Array, info: NblOffloadInfo | undefined): void {
    this.upper?.receiveNetBufferLists(frame, info);
  }
  receiveComplete(): void {
    this.upper?.receiveComplete();
  }
  statusIndication(status: NdisStatus, info?: LinkStateInfo): void {
    this.upper?.statusIndication(status, info);
  }

  /** Offload entries live now (for the leak check: equals the objects offloaded through the driver). */
  get offloadEntries(): number {
    return this.byId.size;
  }

  private down(): NdisChimneyCalls | undefined {
    return this.lower?.chimney;
  }
  private up(): NdisMChimneyCalls | undefined {
    return this.upper?.chimney;
  }

  private entryOfSlot(slot: OffloadContextSlot | null): ImOffloadEntry | undefined {
    const v = slot?.MiniportOffloadContext;
    return v === null || v === undefined ? undefined : this.byId.get(v);
  }

  private freeEntry(e: ImOffloadEntry): void {
    if (!this.byId.delete(e.id)) return;
    this.byOwnHandle.delete(e.ownHandle);
    this.stats.offloadEntriesLive--;
    this.stats.offloadEntriesFreed++;
  }

  // ---- state operations (§6.2, §6.3) ----

  private start(op: StateOperation, root: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): void {
    const upward = this.completeUp(op);
    const down = this.down();
    const key = FAULT_KEY[op];
    const faulted = this.kind === 'fault' && key !== undefined && (this.random as Xorshift).next() < (this.fault as ImFaultSpec)[key];
    if (down === undefined || this.kind === 'block' || faulted) {
      // The call entry could not be allocated (or there is nothing below): complete without
      // propagating. §3.1: RESOURCES is an initiate status; the others allow only FAILURE.
      if (faulted) this.stats.faultedOperations++;
      setRemainingStatus(root, op === 'InitiateOffload' && faulted ? NDIS_STATUS_RESOURCES : NDIS_STATUS_FAILURE);
      upward?.(root);
      return;
    }
    const entry: ImCallEntry = { op, root, saved: [] };
    let bad = false;
    for (const b of blocksOf(root)) {
      const saved: ImCallEntry['saved'][number] = { block: b, imReserved: [b.ImReserved[0], b.ImReserved[1]], sourceHandle: b.SourceHandle };
      entry.saved.push(saved);
      let handle: NDIS_OFFLOAD_HANDLE | null = null;
      const role = roleOfMiniportBlock(b);
      if (role === 'new' && op === 'InitiateOffload') {
        const e: ImOffloadEntry = {
          id: this.nextId++ as OffloadContextValue,
          upperHandle: b.NdisOffloadHandle as NDIS_HANDLE,
          ownHandle: newOffloadHandle(),
          uploadRequested: false,
        };
        this.byId.set(e.id, e);
        this.byOwnHandle.set(e.ownHandle, e);
        this.stats.offloadEntriesLive++;
        this.stats.offloadEntriesCreated++;
        saved.created = e;
        handle = e.ownHandle;
      } else if (role !== 'placeholder') {
        const e = this.entryOfSlot(b.MiniportOffloadContext);
        if (e === undefined) {
          bad = true;
          b.Status = NDIS_STATUS_INVALID_PARAMETER;
        } else handle = e.ownHandle;
      }
      // Seed 000: the reference to the call entry goes into ImReserved; the block becomes the
      // protocol block passed down (one object, both views).
      b.ImReserved = [entry, null];
      (b as unknown as NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST).OffloadHandle = handle;
    }
    this.callEntries.add(entry);
    this.stats.callEntriesLive++;
    this.stats.callEntriesCreated++;
    if (bad) {
      // A block names no live entry of this driver: nothing goes down; the stale blocks say
      // INVALID_PARAMETER, the rest FAILURE.
      this.stats.badHandles++;
      for (const b of blocksOf(root)) if (b.Status !== NDIS_STATUS_INVALID_PARAMETER) b.Status = NDIS_STATUS_FAILURE;
      this.finish(root as unknown as NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST, op);
      return;
    }
    const p = root as unknown as NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST;
    switch (op) {
      case 'InitiateOffload':
        return down.NdisInitiateOffload(p);
      case 'TerminateOffload':
        return down.NdisTerminateOffload(p);
      case 'UpdateOffload':
        return down.NdisUpdateOffload(p);
      case 'InvalidateOffload':
        return down.NdisInvalidateOffload(p);
      case 'QueryOffload':
        return down.NdisQueryOffloadState(p);
    }
  }

  private completeUp(op: StateOperation): ((m: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST) => void) | undefined {
    const up = this.up();
    if (up === undefined) return undefined;
    switch (op) {
      case 'InitiateOffload':
        return (m) => up.NdisMInitiateOffloadComplete(m);
      case 'TerminateOffload':
        return (m) => up.NdisMTerminateOffloadComplete(m);
      case 'UpdateOffload':
        return (m) => up.NdisMUpdateOffloadComplete(m);
      case 'InvalidateOffload':
        return (m) => up.NdisMInvalidateOffloadComplete(m);
      case 'QueryOffload':
        return (m) => up.NdisMQueryOffloadStateComplete(m);
    }
  }

  /** ProtocolXxxOffloadComplete: find the call entry through ImReserved, restore, complete up. */
  private finish(list: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST, op: StateOperation): void {
    const entry = list.ImReserved[0] as ImCallEntry;
    if (!this.callEntries.has(entry) || entry.op !== op || (entry.root as unknown) !== list) {
      this.stats.badCompletions++;
      return;
    }
    this.callEntries.delete(entry);
    this.stats.callEntriesLive--;
    this.stats.callEntriesFreed++;
    for (const s of entry.saved) {
      const b = s.block;
      const own = s.created;
      if (op === 'InitiateOffload' && own !== undefined) {
        // §6.3: write the entry into the slot above only for an object the layer below took.
        // The layer below writes its cell only for an object it took (§6.1), so the cell says it.
        if (own.ownHandle.MiniportOffloadContext !== null && b.MiniportOffloadContext !== null) b.MiniportOffloadContext.MiniportOffloadContext = own.id;
        else this.freeEntry(own);
      } else if (op === 'TerminateOffload' && roleOfMiniportBlock(b) !== 'placeholder') {
        const e = this.entryOfSlot(b.MiniportOffloadContext);
        if (e !== undefined) this.freeEntry(e);
      }
      // Seed 000: restore exactly what came in, and the block is the miniport form again.
      b.ImReserved = s.imReserved;
      b.SourceHandle = s.sourceHandle;
      delete (b as unknown as Partial<NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST>).OffloadHandle;
    }
    this.completeUp(op)?.(entry.root);
  }

  private providerHandlers(): MiniportChimneyHandlers {
    const io = (slot: OffloadContextSlot, call: (down: NdisChimneyCalls, h: NDIS_OFFLOAD_HANDLE) => NdisStatus): NdisStatus => {
      const e = this.entryOfSlot(slot);
      const down = this.down();
      if (e === undefined || down === undefined) {
        this.stats.badHandles++;
        return NDIS_STATUS_INVALID_PARAMETER;
      }
      return call(down, e.ownHandle);
    };
    return {
      InitiateOffloadHandler: (l) => this.start('InitiateOffload', l),
      TerminateOffloadHandler: (l) => this.start('TerminateOffload', l),
      UpdateOffloadHandler: (l) => this.start('UpdateOffload', l),
      InvalidateOffloadHandler: (l) => this.start('InvalidateOffload', l),
      QueryOffloadHandler: (l) => this.start('QueryOffload', l),
      TcpOffloadSendHandler: (slot, chain) => {
        const e = this.entryOfSlot(slot);
        if (e !== undefined && this.kind === 'fault' && !e.uploadRequested && (this.random as Xorshift).next() < (this.fault as ImFaultSpec).send) {
          this.stats.faultedSends++;
          e.uploadRequested = true;
          return this.refuseSend(chain, true);
        }
        if (e?.uploadRequested === true) return this.refuseSend(chain, false);
        return io(slot, (d, h) => d.NdisOffloadTcpSend(h, chain));
      },
      TcpOffloadReceiveHandler: (slot, chain) => io(slot, (d, h) => d.NdisOffloadTcpReceive(h, chain)),
      TcpOffloadDisconnectHandler: (slot, nbl, flags) => io(slot, (d, h) => d.NdisOffloadTcpDisconnect(h, nbl, flags)),
      TcpOffloadForwardHandler: (slot, chain) => io(slot, (d, h) => d.NdisOffloadTcpForward(h, chain)),
      TcpOffloadReceiveReturnHandler: (chain) => this.down()?.NdisOffloadTcpReceiveReturn(chain) ?? NDIS_STATUS_INVALID_PARAMETER,
      queryTcpConnectionOffloadCapabilities: (): ChimneyCapabilitiesAnswer => {
        const down = this.down();
        if (this.kind === 'block' || down === undefined) {
          // §6.5: a driver that allows no chimney answers NOT_SUPPORTED; the lower one is never asked.
          this.stats.blockedCapabilityQueries++;
          return { Status: NDIS_STATUS_NOT_SUPPORTED };
        }
        return down.queryTcpConnectionOffloadCapabilities();
      },
      setTcpConnectionOffloadParameters: (params: NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS) =>
        this.down()?.setTcpConnectionOffloadParameters(params) ?? NDIS_STATUS_NOT_SUPPORTED,
    };
  }

  /**
   * §6.4 / §4.1.2: a send the driver cannot forward completes without going down, the first NBL
   * REQUEST_UPLOAD (when this call is the one that failed) and the others UPLOAD_REQUESTED; the
   * host then uploads and sends the data itself.
   */
  private refuseSend(chain: NET_BUFFER_LIST, first: boolean): NdisStatus {
    let i = 0;
    for (const nbl of netBufferListsOf(chain)) {
      nbl.Status = first && i === 0 ? NDIS_STATUS_REQUEST_UPLOAD : NDIS_STATUS_UPLOAD_REQUESTED;
      nbl.Info.TcpOffloadBytesTransferred = 0;
      if (!(first && i === 0)) this.stats.refusedSends++;
      i++;
    }
    this.up()?.NdisTcpOffloadSendComplete(chain);
    return NDIS_STATUS_PENDING;
  }

  private clientHandlers(): ProtocolChimneyHandlers {
    return {
      InitiateOffloadCompleteHandler: (l) => this.finish(l, 'InitiateOffload'),
      TerminateOffloadCompleteHandler: (l) => this.finish(l, 'TerminateOffload'),
      UpdateOffloadCompleteHandler: (l) => this.finish(l, 'UpdateOffload'),
      InvalidateOffloadCompleteHandler: (l) => this.finish(l, 'InvalidateOffload'),
      QueryOffloadCompleteHandler: (l) => this.finish(l, 'QueryOffload'),
      IndicateOffloadEventHandler: (list: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST | null, code: INDICATE_OFFLOAD_EVENT) => {
        if (list === null) return this.up()?.NdisMOffloadEventIndicate(null, code);
        const e = list.OffloadHandle === null ? undefined : this.byOwnHandle.get(list.OffloadHandle);
        if (e === undefined) {
          this.stats.badHandles++;
          return;
        }
        // Re-issued upward in the miniport form with the stored handle of the layer above.
        const m = list as unknown as NDIS_MINIPORT_OFFLOAD_BLOCK_LIST;
        m.NdisOffloadHandle = e.upperHandle;
        m.MiniportOffloadContext = e.upperHandle as unknown as OffloadContextSlot;
        this.up()?.NdisMOffloadEventIndicate(m, code);
      },
      TcpOffloadSendCompleteHandler: (chain) => this.up()?.NdisTcpOffloadSendComplete(chain),
      TcpOffloadReceiveCompleteHandler: (chain) => this.up()?.NdisTcpOffloadReceiveComplete(chain),
      TcpOffloadDisconnectCompleteHandler: (nbl) => this.up()?.NdisTcpOffloadDisconnectComplete(nbl),
      TcpOffloadForwardCompleteHandler: (chain) => this.up()?.NdisTcpOffloadForwardComplete(chain),
      TcpOffloadEventHandler: (ctx: NDIS_OFFLOAD_HANDLE, type: TCP_OFFLOAD_EVENT_TYPE, info: number) => {
        const e = this.byOwnHandle.get(ctx);
        if (e === undefined) {
          this.stats.badHandles++;
          return;
        }
        this.up()?.NdisTcpOffloadEventHandler(e.upperHandle, type, info);
      },
      TcpOffloadReceiveIndicateHandler: (ctx: NDIS_OFFLOAD_HANDLE, nbl: NET_BUFFER_LIST, status: NdisStatus, consumed: BytesConsumed) => {
        const e = this.byOwnHandle.get(ctx);
        const up = this.up();
        if (e === undefined || up === undefined) {
          this.stats.badHandles++;
          consumed.value = 0;
          return NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED;
        }
        // The upper layer's return value and BytesConsumed pass through unchanged (§6.4).
        return up.NdisTcpOffloadReceiveHandler(e.upperHandle, nbl, status, consumed);
      },
    };
  }
}
