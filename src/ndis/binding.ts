/**
 * The NDIS broker between one protocol (above) and one miniport (below). For the normal
 * data path it forwards calls as they are, with no per-frame cost beyond one call; it exists
 * so that the chimney state operations, which NDIS converts and completes asynchronously,
 * have one place to live, and so that neither side ever holds a reference to the other
 * (DESIGN.md: the host stack never holds a reference to a target object).
 */
import type { LinkStateInfo, MiniportAttributes, MiniportEdge, NblOffloadInfo, ProtocolEdge } from './edges.js';
import type { NdisStatus } from './status.js';

/** The protocol side of a binding: the protocol receives its lower edge from NDIS. */
export interface BindableProtocol extends ProtocolEdge {
  bindLower(lower: MiniportEdge): void;
}

/**
 * Binds `protocol` on top of `miniport`. The returned binding is what each side sees of the
 * other: the protocol gets a MiniportEdge that forwards down, the miniport a ProtocolEdge that
 * forwards up.
 */
export function bindProtocol(protocol: BindableProtocol, miniport: MiniportEdge): NdisBinding {
  const binding = new NdisBinding(protocol, miniport);
  miniport.bindUpper(binding.upward);
  protocol.bindLower(binding.downward);
  return binding;
}

export class NdisBinding {
  /** The miniport as the protocol sees it. */
  readonly downward: MiniportEdge;
  /** The protocol as the miniport sees it. */
  readonly upward: ProtocolEdge;

  constructor(protocol: ProtocolEdge, miniport: MiniportEdge) {
    this.downward = {
      get attributes(): MiniportAttributes {
        return miniport.attributes;
      },
      bindUpper(): void {
        throw new Error('NdisBinding: the protocol edge is bound by NDIS, not by the protocol');
      },
      sendNetBufferLists(frame: Uint8Array, info: NblOffloadInfo | undefined): void {
        miniport.sendNetBufferLists(frame, info);
      },
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
    };
  }
}
