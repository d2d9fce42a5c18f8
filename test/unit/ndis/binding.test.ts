import { describe, expect, it } from 'vitest';
import type { NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST } from '../../../src/ndis/block-list.js';
import { blocksOf, newProtocolBlock } from '../../../src/ndis/block-list.js';
import { bindProtocol, NdisContractError } from '../../../src/ndis/binding.js';
import type { BindableProtocol } from '../../../src/ndis/binding.js';
import type { BytesConsumed, MiniportChimneyHandlers, NdisMChimneyCalls, ProtocolChimneyHandlers } from '../../../src/ndis/chimney-edges.js';
import type { BoundMiniportEdge, BoundProtocolEdge, MiniportAttributes, MiniportEdge } from '../../../src/ndis/edges.js';
import type { NET_BUFFER_LIST } from '../../../src/ndis/nbl.js';
import { newNetBufferList } from '../../../src/ndis/nbl.js';
import {
  NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED,
  NDIS_STATUS_OFFLOAD_TCP_ENTRIES,
  NDIS_STATUS_PENDING,
  NDIS_STATUS_SUCCESS,
} from '../../../src/ndis/status.js';
import type { NDIS_HANDLE, NDIS_OFFLOAD_HANDLE, OffloadContextSlot, OffloadContextValue } from '../../../src/ndis/structures.js';
import { NDIS_ENCAPSULATION_IEEE_802_3, newOffloadHandle, TcpIndicateDisconnect, TcpOffloadState } from '../../../src/ndis/structures.js';
import { exampleTree } from './chimney-tree.js';

const attributes: MiniportAttributes = {
  macAddress: '02:00:00:00:00:01' as unknown as MiniportAttributes['macAddress'],
  mtu: 1500,
  taskOffload: { txChecksum: false, rxChecksum: false, lsoV2Ipv4: false, lsoV2Ipv6: false, lsoMaxOffloadSize: 0 },
};

/** A miniport that records what reaches it and lets the test complete by hand. */
class RecordingMiniport implements MiniportEdge {
  readonly attributes = attributes;
  upper: BoundProtocolEdge | undefined;
  readonly initiates: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST[] = [];
  readonly sends: Array<[OffloadContextSlot, NET_BUFFER_LIST]> = [];
  readonly chimneyProvider: MiniportChimneyHandlers | undefined;
  constructor(withChimney = true, completeInsideHandler = false) {
    const self = this;
    this.chimneyProvider = withChimney
      ? {
          InitiateOffloadHandler(list) {
            self.initiates.push(list);
            if (completeInsideHandler) {
              for (const b of blocksOf(list)) b.Status = NDIS_STATUS_OFFLOAD_TCP_ENTRIES;
              self.up.NdisMInitiateOffloadComplete(list);
            }
          },
          TerminateOffloadHandler(list) {
            self.up.NdisMTerminateOffloadComplete(list);
          },
          UpdateOffloadHandler() {},
          InvalidateOffloadHandler() {},
          QueryOffloadHandler() {},
          TcpOffloadSendHandler(slot, chain) {
            self.sends.push([slot, chain]);
            return NDIS_STATUS_PENDING;
          },
          TcpOffloadReceiveHandler: () => NDIS_STATUS_PENDING,
          TcpOffloadDisconnectHandler: () => NDIS_STATUS_PENDING,
          TcpOffloadForwardHandler: () => NDIS_STATUS_PENDING,
          TcpOffloadReceiveReturnHandler: () => NDIS_STATUS_SUCCESS,
          queryTcpConnectionOffloadCapabilities: () => ({
            Status: NDIS_STATUS_SUCCESS,
            Capabilities: {
              Encapsulation: NDIS_ENCAPSULATION_IEEE_802_3,
              SupportIPv4: 1,
              SupportIPv6: 1,
              SupportIPv6ExtensionHeaders: 0,
              SupportSack: 1,
              CongestionAlgorithm: 0,
              TcpConnectionOffloadCapacity: 10,
              Flags: 0,
            },
          }),
          setTcpConnectionOffloadParameters: () => NDIS_STATUS_SUCCESS,
        }
      : undefined;
  }
  get up(): NdisMChimneyCalls {
    const c = this.upper?.chimney;
    if (c === undefined) throw new Error('no chimney upcalls');
    return c;
  }
  bindUpper(upper: BoundProtocolEdge): void {
    this.upper = upper;
  }
  sendNetBufferLists(): void {}
}

/** A protocol that logs every chimney upcall it receives. */
class RecordingProtocol implements BindableProtocol {
  lower: BoundMiniportEdge | undefined;
  readonly log: string[] = [];
  readonly completed: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST[] = [];
  readonly events: Array<[NDIS_OFFLOAD_HANDLE, number, number]> = [];
  readonly chimneyClient: ProtocolChimneyHandlers = {
    InitiateOffloadCompleteHandler: (list) => {
      this.log.push('initiate-complete');
      this.completed.push(list);
    },
    TerminateOffloadCompleteHandler: (list) => {
      this.log.push('terminate-complete');
      this.completed.push(list);
    },
    UpdateOffloadCompleteHandler: () => {},
    InvalidateOffloadCompleteHandler: () => {},
    QueryOffloadCompleteHandler: () => {},
    IndicateOffloadEventHandler: () => {},
    TcpOffloadSendCompleteHandler: () => this.log.push('send-complete'),
    TcpOffloadReceiveCompleteHandler: () => this.log.push('receive-complete'),
    TcpOffloadDisconnectCompleteHandler: () => this.log.push('disconnect-complete'),
    TcpOffloadForwardCompleteHandler: () => this.log.push('forward-complete'),
    TcpOffloadEventHandler: (h, type, info) => {
      this.log.push('event');
      this.events.push([h, type, info]);
    },
    TcpOffloadReceiveIndicateHandler: (_h, _nbl, _status, consumed: BytesConsumed) => {
      this.log.push('receive-indicate');
      consumed.value = 3;
      return NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED;
    },
  };
  bindLower(lower: BoundMiniportEdge): void {
    this.lower = lower;
  }
  receiveNetBufferLists(): void {}
  receiveComplete(): void {}
  statusIndication(): void {}
}

/** A deferral the test drains by hand: "a later turn of the event loop", made visible. */
function manualDefer(): { defer: (fn: () => void) => void; turn: () => void; pending: () => number } {
  const q: Array<() => void> = [];
  return {
    defer: (fn) => q.push(fn),
    turn: () => {
      for (const fn of q.splice(0)) fn();
    },
    pending: () => q.length,
  };
}

describe('NdisBinding: the chimney between a protocol and a miniport', () => {
  it('no chimney for the protocol when the miniport registered no chimney handlers', () => {
    const protocol = new RecordingProtocol();
    const miniport = new RecordingMiniport(false);
    bindProtocol(protocol, miniport);
    expect(protocol.lower?.chimney).toBeUndefined();
    expect(miniport.upper?.chimney).toBeUndefined();
  });

  it('maps every protocol block onto a miniport block: slot = the handle\'s cell, NdisOffloadHandle = the handle', () => {
    const protocol = new RecordingProtocol();
    const miniport = new RecordingMiniport();
    bindProtocol(protocol, miniport);
    const tree = exampleTree();
    tree.root.ImReserved = ['im0', 'im1'];
    tree.root.SourceHandle = 'source';
    protocol.lower?.chimney?.NdisInitiateOffload(tree.root);
    const m = miniport.initiates[0] as NDIS_MINIPORT_OFFLOAD_BLOCK_LIST;
    const mBlocks = blocksOf(m);
    const pBlocks = blocksOf(tree.root);
    expect(mBlocks).toHaveLength(10);
    for (let i = 0; i < 10; i++) {
      const p = pBlocks[i] as NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST;
      const mb = mBlocks[i] as NDIS_MINIPORT_OFFLOAD_BLOCK_LIST;
      expect(mb).not.toBe(p);
      expect(mb.Header.Type).toBe(p.Header.Type);
      expect(mb.MiniportOffloadContext).toBe(p.OffloadHandle);
      expect(mb.NdisOffloadHandle as unknown).toBe(p.OffloadHandle);
    }
    expect(m.ImReserved).toEqual(['im0', 'im1']);
    expect(m.SourceHandle).toBe('source');
  });

  it('row 6: the handler returns before any completion; the completion arrives on a later turn, with the block statuses copied back', () => {
    const protocol = new RecordingProtocol();
    const miniport = new RecordingMiniport(true, true);
    const turns = manualDefer();
    bindProtocol(protocol, miniport, { defer: turns.defer });
    const handle = newOffloadHandle();
    const block = newProtocolBlock({ type: TcpOffloadState, handle });
    block.Status = NDIS_STATUS_PENDING;
    protocol.lower?.chimney?.NdisInitiateOffload(block);
    // The miniport completed inside its handler; the protocol has not heard of it yet.
    expect(miniport.initiates).toHaveLength(1);
    expect(protocol.completed).toEqual([]);
    expect(block.Status).toBe(NDIS_STATUS_PENDING);
    expect(turns.pending()).toBe(1);
    turns.turn();
    expect(protocol.completed).toEqual([block]);
    expect(block.Status).toBe(NDIS_STATUS_OFFLOAD_TCP_ENTRIES);
  });

  it('a completion of a block list that is not in flight, or of another operation, is a contract error', () => {
    const protocol = new RecordingProtocol();
    const miniport = new RecordingMiniport();
    const turns = manualDefer();
    const binding = bindProtocol(protocol, miniport, { defer: turns.defer });
    protocol.lower?.chimney?.NdisInitiateOffload(newProtocolBlock({ type: TcpOffloadState, handle: newOffloadHandle() }));
    const m = miniport.initiates[0] as NDIS_MINIPORT_OFFLOAD_BLOCK_LIST;
    expect(binding.stats.operationsInFlight).toBe(1);
    expect(() => miniport.up.NdisMTerminateOffloadComplete(m)).toThrow(NdisContractError);
    miniport.up.NdisMInitiateOffloadComplete(m);
    expect(() => miniport.up.NdisMInitiateOffloadComplete(m)).toThrow(/not an operation in flight/);
    expect(binding.stats.operationsInFlight).toBe(0);
  });

  it('data-path calls reach the miniport with the caller\'s cell as MiniportOffloadContext; indications come back to the caller\'s handle', () => {
    const protocol = new RecordingProtocol();
    const miniport = new RecordingMiniport();
    bindProtocol(protocol, miniport);
    const handle = newOffloadHandle();
    handle.MiniportOffloadContext = 77 as OffloadContextValue;
    const nbl = newNetBufferList(new Uint8Array(10));
    expect(protocol.lower?.chimney?.NdisOffloadTcpSend(handle, nbl)).toBe(NDIS_STATUS_PENDING);
    const [slot, chain] = miniport.sends[0] as [OffloadContextSlot, NET_BUFFER_LIST];
    expect(slot.MiniportOffloadContext).toBe(77);
    expect(chain).toBe(nbl);
    const stored = handle as unknown as NDIS_HANDLE; // what the target stored from the block
    miniport.up.NdisTcpOffloadEventHandler(stored, TcpIndicateDisconnect, 0);
    expect(protocol.events).toEqual([[handle, TcpIndicateDisconnect, 0]]);
    const consumed = { value: 0 };
    expect(miniport.up.NdisTcpOffloadReceiveHandler(stored, nbl, NDIS_STATUS_SUCCESS, consumed)).toBe(
      NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED,
    );
    expect(consumed.value).toBe(3);
  });

  it('queued completions reach the protocol before a later indication, in the order the miniport made them', () => {
    const protocol = new RecordingProtocol();
    const miniport = new RecordingMiniport();
    const turns = manualDefer();
    bindProtocol(protocol, miniport, { defer: turns.defer });
    const stored = newOffloadHandle() as unknown as NDIS_HANDLE;
    const nbl = newNetBufferList(new Uint8Array(4));
    miniport.up.NdisTcpOffloadReceiveComplete(nbl);
    miniport.up.NdisTcpOffloadSendComplete(nbl);
    expect(protocol.log).toEqual([]);
    miniport.up.NdisTcpOffloadReceiveHandler(stored, nbl, NDIS_STATUS_SUCCESS, { value: 0 });
    miniport.up.NdisTcpOffloadForwardComplete(nbl);
    turns.turn();
    expect(protocol.log).toEqual(['receive-complete', 'send-complete', 'receive-indicate', 'forward-complete']);
  });

  it('a completion handler that throws loses none of the completions queued behind it', () => {
    const protocol = new RecordingProtocol();
    const miniport = new RecordingMiniport();
    const turns = manualDefer();
    bindProtocol(protocol, miniport, { defer: turns.defer });
    let first = true;
    protocol.chimneyClient.TcpOffloadSendCompleteHandler = () => {
      protocol.log.push('send-complete');
      if (first) {
        first = false;
        throw new Error('application bug');
      }
    };
    const nbl = newNetBufferList(new Uint8Array(1));
    miniport.up.NdisTcpOffloadSendComplete(nbl);
    miniport.up.NdisTcpOffloadDisconnectComplete(nbl);
    expect(() => turns.turn()).toThrow('application bug');
    turns.turn();
    expect(protocol.log).toEqual(['send-complete', 'disconnect-complete']);
  });

  it('with the default deferral, a completion arrives after setImmediate, not in the same turn', async () => {
    const protocol = new RecordingProtocol();
    const miniport = new RecordingMiniport(true, true);
    bindProtocol(protocol, miniport);
    protocol.lower?.chimney?.NdisInitiateOffload(newProtocolBlock({ type: TcpOffloadState, handle: newOffloadHandle() }));
    await Promise.resolve();
    expect(protocol.completed).toHaveLength(0);
    await new Promise((r) => setImmediate(r));
    expect(protocol.completed).toHaveLength(1);
  });
});
