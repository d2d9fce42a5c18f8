/**
 * The NDIS broker between one protocol (above) and one miniport (below). For the normal data
 * path it forwards calls as they are, with no per-frame cost beyond one call. For the chimney
 * it does what NDIS does between a protocol and a miniport (reference §1.1, §2.6, §2.19, §3.1):
 *
 * - converts every NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST of a state operation into the
 *   NDIS_MINIPORT_OFFLOAD_BLOCK_LIST form (`MiniportOffloadContext` = the cell of the caller's
 *   `OffloadHandle`, `NdisOffloadHandle` = that `OffloadHandle`), and on completion copies each
 *   block's `Status`, its `NetBufferListChain` and its trailing state back;
 * - hands the miniport the slot (the caller's handle) for every data-path call;
 * - maps the `NdisOffloadHandle` of an indication back to the protocol's `OffloadContext`;
 * - delivers every completion on a later turn of the event loop, never by return value, even
 *   when the miniport completes inside its handler (reference §10 "Asynchrony": ordering bugs
 *   such as an indication racing its completion stay observable).
 *
 * Completions wait in one FIFO that is drained on the next turn. An indication (receive or event)
 * is a synchronous call that returns a value, so it cannot wait; it first drains the completions
 * queued before it, so the protocol sees every upcall in the order the miniport made it
 * (receive completions and indications stay serialised per connection, §4.4).
 *
 * Neither side ever holds a reference to the other (DESIGN.md): each sees only this binding.
 */
import { blocksOf } from './block-list.js';
import type { AnyOffloadBlockList, NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST } from './block-list.js';
import type {
  BytesConsumed,
  ChimneyCapabilitiesAnswer,
  MiniportChimneyHandlers,
  NdisChimneyCalls,
  NdisMChimneyCalls,
  ProtocolChimneyHandlers,
} from './chimney-edges.js';
import type { BoundMiniportEdge, BoundProtocolEdge, LinkStateInfo, MiniportAttributes, MiniportEdge, NblOffloadInfo, ProtocolEdge } from './edges.js';
import type { NET_BUFFER_LIST } from './nbl.js';
import type { NdisStatus } from './status.js';
import type {
  INDICATE_OFFLOAD_EVENT,
  NDIS_HANDLE,
  NDIS_OFFLOAD_HANDLE,
  NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS,
  OffloadContextSlot,
  TCP_OFFLOAD_EVENT_TYPE,
} from './structures.js';

/** The protocol side of a binding: the protocol receives its lower edge from NDIS. */
export interface BindableProtocol extends ProtocolEdge {
  bindLower(lower: BoundMiniportEdge): void;
}

/** A chimney call that breaks the contract (a bug in a layer, not bad input from outside). */
export class NdisContractError extends Error {
  override readonly name = 'NdisContractError';
}

/** The five state operations, by the name of their NDIS function. */
export type StateOperation = 'InitiateOffload' | 'TerminateOffload' | 'UpdateOffload' | 'InvalidateOffload' | 'QueryOffload';

export interface BindingOptions {
  /**
   * Runs `fn` on a later turn of the event loop. Defaults to `setImmediate`; unit tests with a
   * simulated clock pass their scheduler's equivalent.
   */
  readonly defer?: (fn: () => void) => void;
}

/**
 * Binds `protocol` on top of `miniport`. The returned binding is what each side sees of the
 * other: the protocol gets a BoundMiniportEdge that forwards down, the miniport a
 * BoundProtocolEdge that forwards up.
 */
export function bindProtocol(protocol: BindableProtocol, miniport: MiniportEdge, options: BindingOptions = {}): NdisBinding {
  const binding = new NdisBinding(protocol, miniport, options);
  miniport.bindUpper(binding.upward);
  protocol.bindLower(binding.downward);
  return binding;
}

/** Counters a test or `chimney ctl stats` can read. */
export interface NdisBindingStats {
  /** State operations passed down and not yet completed up. */
  operationsInFlight: number;
  /** Completions queued for a later turn. */
  completionsQueued: number;
}

export class NdisBinding {
  /** The miniport as the protocol sees it. */
  readonly downward: BoundMiniportEdge;
  /** The protocol as the miniport sees it. */
  readonly upward: BoundProtocolEdge;
  private readonly inFlight = new Map<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, StateOperation>();
  private readonly queue: Array<() => void> = [];
  private drainScheduled = false;
  private draining = false;
  private readonly defer: (fn: () => void) => void;

  constructor(protocol: ProtocolEdge, miniport: MiniportEdge, options: BindingOptions = {}) {
    this.defer = options.defer ?? defaultDefer;
    const provider = miniport.chimneyProvider;
    const client = protocol.chimneyClient;
    const chimneyDown = provider !== undefined && client !== undefined ? this.downcalls(provider) : undefined;
    const chimneyUp = provider !== undefined && client !== undefined ? this.upcalls(client) : undefined;
    this.downward = {
      get attributes(): MiniportAttributes {
        return miniport.attributes;
      },
      bindUpper(): void {
        throw new NdisContractError('NdisBinding: the protocol edge is bound by NDIS, not by the protocol');
      },
      sendNetBufferLists(frame: Uint8Array, info: NblOffloadInfo | undefined): void {
        miniport.sendNetBufferLists(frame, info);
      },
      lendSendBuffer(length: number): Uint8Array | undefined {
        return miniport.lendSendBuffer?.(length);
      },
      chimney: chimneyDown,
    };
    this.upward = {
      receiveNetBufferLists(frame: Uint8Array, info: NblOffloadInfo | undefined): void {
        protocol.receiveNetBufferLists(frame, info);
      },
      receiveComplete(): void {
        protocol.receiveComplete();
      },
      statusIndication(status: NdisStatus, info?: LinkStateInfo): void {
        protocol.statusIndication(status, info);
      },
      chimney: chimneyUp,
    };
  }

  get stats(): NdisBindingStats {
    return { operationsInFlight: this.inFlight.size, completionsQueued: this.queue.length };
  }

  private downcalls(provider: MiniportChimneyHandlers): NdisChimneyCalls {
    const start = (op: StateOperation, list: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST, handler: (m: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST) => void): void => {
      const root = toMiniportTree(list);
      this.inFlight.set(root, op);
      handler.call(provider, root);
    };
    return {
      NdisInitiateOffload: (list) => start('InitiateOffload', list, provider.InitiateOffloadHandler),
      NdisTerminateOffload: (list) => start('TerminateOffload', list, provider.TerminateOffloadHandler),
      NdisUpdateOffload: (list) => start('UpdateOffload', list, provider.UpdateOffloadHandler),
      NdisInvalidateOffload: (list) => start('InvalidateOffload', list, provider.InvalidateOffloadHandler),
      NdisQueryOffloadState: (list) => start('QueryOffload', list, provider.QueryOffloadHandler),
      // NDIS reads the caller's NDIS_OFFLOAD_HANDLE and passes the miniport the address of its
      // MiniportOffloadContext member: the same cell, here the same object seen as a slot.
      NdisOffloadTcpSend: (handle: NDIS_OFFLOAD_HANDLE, chain: NET_BUFFER_LIST): NdisStatus =>
        provider.TcpOffloadSendHandler(slotOf(handle), chain),
      NdisOffloadTcpReceive: (handle: NDIS_OFFLOAD_HANDLE, chain: NET_BUFFER_LIST): NdisStatus =>
        provider.TcpOffloadReceiveHandler(slotOf(handle), chain),
      NdisOffloadTcpDisconnect: (handle: NDIS_OFFLOAD_HANDLE, nbl: NET_BUFFER_LIST, flags: number): NdisStatus =>
        provider.TcpOffloadDisconnectHandler(slotOf(handle), nbl, flags),
      NdisOffloadTcpForward: (handle: NDIS_OFFLOAD_HANDLE, chain: NET_BUFFER_LIST): NdisStatus =>
        provider.TcpOffloadForwardHandler(slotOf(handle), chain),
      NdisOffloadTcpReceiveReturn: (chain: NET_BUFFER_LIST): NdisStatus => provider.TcpOffloadReceiveReturnHandler(chain),
      queryTcpConnectionOffloadCapabilities: (): ChimneyCapabilitiesAnswer => provider.queryTcpConnectionOffloadCapabilities(),
      setTcpConnectionOffloadParameters: (params: NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS): NdisStatus =>
        provider.setTcpConnectionOffloadParameters(params),
    };
  }

  private upcalls(client: ProtocolChimneyHandlers): NdisMChimneyCalls {
    const complete = (op: StateOperation, root: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, handler: (p: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST) => void): void => {
      const pending = this.inFlight.get(root);
      if (pending === undefined) {
        throw new NdisContractError(`NdisM${op}Complete: the block list is not an operation in flight (completed twice, or never started)`);
      }
      if (pending !== op) {
        throw new NdisContractError(`NdisM${op}Complete: the block list belongs to ${pending}`);
      }
      this.inFlight.delete(root);
      // The protocol's tree changes only when its completion handler is called.
      this.enqueue(() => handler.call(client, fromMiniportTree(root)));
    };
    return {
      NdisMInitiateOffloadComplete: (list) => complete('InitiateOffload', list, client.InitiateOffloadCompleteHandler),
      NdisMTerminateOffloadComplete: (list) => complete('TerminateOffload', list, client.TerminateOffloadCompleteHandler),
      NdisMUpdateOffloadComplete: (list) => complete('UpdateOffload', list, client.UpdateOffloadCompleteHandler),
      NdisMInvalidateOffloadComplete: (list) => complete('InvalidateOffload', list, client.InvalidateOffloadCompleteHandler),
      NdisMQueryOffloadStateComplete: (list) => complete('QueryOffload', list, client.QueryOffloadCompleteHandler),
      NdisMOffloadEventIndicate: (list: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST | null, code: INDICATE_OFFLOAD_EVENT): void => {
        this.drain();
        client.IndicateOffloadEventHandler(list === null ? null : indicationToProtocol(list), code);
      },
      NdisTcpOffloadEventHandler: (handle: NDIS_HANDLE, eventType: TCP_OFFLOAD_EVENT_TYPE, info: number): void => {
        this.drain();
        client.TcpOffloadEventHandler(offloadContextOf(handle), eventType, info);
      },
      NdisTcpOffloadReceiveHandler: (handle: NDIS_HANDLE, nbl: NET_BUFFER_LIST, status: NdisStatus, consumed: BytesConsumed): NdisStatus => {
        this.drain();
        return client.TcpOffloadReceiveIndicateHandler(offloadContextOf(handle), nbl, status, consumed);
      },
      NdisTcpOffloadSendComplete: (chain: NET_BUFFER_LIST): void => this.enqueue(() => client.TcpOffloadSendCompleteHandler(chain)),
      NdisTcpOffloadReceiveComplete: (chain: NET_BUFFER_LIST): void => this.enqueue(() => client.TcpOffloadReceiveCompleteHandler(chain)),
      NdisTcpOffloadDisconnectComplete: (nbl: NET_BUFFER_LIST): void => this.enqueue(() => client.TcpOffloadDisconnectCompleteHandler(nbl)),
      NdisTcpOffloadForwardComplete: (chain: NET_BUFFER_LIST): void => this.enqueue(() => client.TcpOffloadForwardCompleteHandler(chain)),
    };
  }

  private enqueue(deliver: () => void): void {
    this.queue.push(deliver);
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    this.defer(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  /**
   * Delivers the queued completions in order. Not re-entrant: a completion handler that makes
   * the miniport complete again appends to the queue, and this loop delivers it in turn.
   */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    let delivered = 0;
    try {
      while (delivered < this.queue.length) {
        const deliver = this.queue[delivered] as () => void;
        delivered++;
        deliver();
      }
    } finally {
      // A handler that threw has had its completion; the ones behind it are kept for the next
      // turn, never dropped.
      this.queue.splice(0, delivered);
      this.draining = false;
      if (this.queue.length > 0 && !this.drainScheduled) {
        this.drainScheduled = true;
        this.defer(() => {
          this.drainScheduled = false;
          this.drain();
        });
      }
    }
  }
}

function defaultDefer(fn: () => void): void {
  setImmediate(fn);
}

/**
 * The cell NDIS passes as `MiniportOffloadContext`: the caller's handle seen only as its cell
 * (the layer below must not reach the rest of the handle).
 */
function slotOf(handle: NDIS_OFFLOAD_HANDLE): OffloadContextSlot {
  return handle;
}

/** NdisOffloadHandle is the protocol's NDIS_OFFLOAD_HANDLE, opaque to the miniport (§2.6, §10). */
function asNdisHandle(handle: NDIS_OFFLOAD_HANDLE): NDIS_HANDLE {
  return handle as unknown as NDIS_HANDLE;
}

function offloadContextOf(handle: NDIS_HANDLE): NDIS_OFFLOAD_HANDLE {
  return handle as unknown as NDIS_OFFLOAD_HANDLE;
}

/** Members both block-list forms carry, copied member for member (§6.2 "overlay"). */
function copyCommon(from: AnyOffloadBlockList, to: AnyOffloadBlockList): void {
  to.Status = from.Status;
  to.ProtocolReserved = [from.ProtocolReserved[0], from.ProtocolReserved[1]];
  to.MiniportReserved = [from.MiniportReserved[0], from.MiniportReserved[1]];
  to.ImReserved = [from.ImReserved[0], from.ImReserved[1]];
  to.Scratch = [from.Scratch[0], from.Scratch[1]];
  to.SourceHandle = from.SourceHandle;
  to.PortNumber = from.PortNumber;
  to.NetBufferListChain = from.NetBufferListChain;
  if (from.NeighborState !== undefined) to.NeighborState = from.NeighborState;
  if (from.PathState !== undefined) to.PathState = from.PathState;
  if (from.TcpState !== undefined) to.TcpState = from.TcpState;
}

/**
 * The miniport form of a protocol tree. Each miniport block keeps its protocol block in
 * NdisReserved[0], which is how the completion finds its way back. The trailing state
 * structures are shared, not copied: what the miniport writes into them (query, terminate) is
 * what the protocol reads.
 */
function toMiniportTree(root: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): NDIS_MINIPORT_OFFLOAD_BLOCK_LIST {
  const convert = (p: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): NDIS_MINIPORT_OFFLOAD_BLOCK_LIST => {
    const handle = p.OffloadHandle;
    const m: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST = {
      Header: { Type: p.Header.Type, Revision: p.Header.Revision, Size: p.Header.Size },
      NextBlock: null,
      DependentBlockList: null,
      Status: p.Status,
      NdisReserved: [p, null],
      ProtocolReserved: [null, null],
      MiniportReserved: [null, null],
      ImReserved: [null, null],
      Scratch: [null, null],
      SourceHandle: null,
      PortNumber: 0,
      NetBufferListChain: null,
      MiniportOffloadContext: handle === null ? null : slotOf(handle),
      NdisOffloadHandle: handle === null ? null : asNdisHandle(handle),
    };
    copyCommon(p, m);
    return m;
  };
  const walk = (first: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): NDIS_MINIPORT_OFFLOAD_BLOCK_LIST => {
    let head: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST | null = null;
    let prev: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST | null = null;
    for (let p: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST | null = first; p !== null; p = p.NextBlock) {
      const m = convert(p);
      if (p.DependentBlockList !== null) m.DependentBlockList = walk(p.DependentBlockList);
      if (prev === null) head = m;
      else prev.NextBlock = m;
      prev = m;
    }
    return head as NDIS_MINIPORT_OFFLOAD_BLOCK_LIST;
  };
  return walk(root);
}

/** Copies every miniport block's results into its protocol block; returns the protocol root. */
function fromMiniportTree(root: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST {
  for (const m of blocksOf(root)) {
    const p = m.NdisReserved[0] as NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST;
    p.Status = m.Status;
    p.NetBufferListChain = m.NetBufferListChain;
    if (m.NeighborState !== undefined) p.NeighborState = m.NeighborState;
    if (m.PathState !== undefined) p.PathState = m.PathState;
    if (m.TcpState !== undefined) p.TcpState = m.TcpState;
  }
  return root.NdisReserved[0] as NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST;
}

/**
 * A block the miniport built for NdisMOffloadEventIndicate, in the protocol's form: its
 * NdisOffloadHandle becomes the protocol's OffloadHandle again.
 */
function indicationToProtocol(m: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST {
  const p: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST = {
    Header: { Type: m.Header.Type, Revision: m.Header.Revision, Size: m.Header.Size },
    NextBlock: null,
    DependentBlockList: null,
    Status: m.Status,
    NdisReserved: [null, null, null],
    ProtocolReserved: [null, null],
    MiniportReserved: [null, null],
    ImReserved: [null, null],
    Scratch: [null, null],
    SourceHandle: null,
    PortNumber: 0,
    NetBufferListChain: null,
    OffloadHandle: m.NdisOffloadHandle === null ? null : offloadContextOf(m.NdisOffloadHandle),
  };
  copyCommon(m, p);
  return p;
}
