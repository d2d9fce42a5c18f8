/**
 * The two edges every layer boundary is made of (DESIGN.md "The contract as two edges"):
 * a miniport edge, what a layer offers to the layer above, and a protocol edge, what a layer
 * offers to the layer below. The offload target implements a miniport edge, the host stack a
 * protocol edge, an intermediate driver both; `binding.ts` sits between a protocol and a
 * miniport and does what NDIS does there.
 *
 * This file holds the normal (non-offload) data path and the adapter attributes: everything
 * that crosses a boundary while no connection is offloaded. A layer that speaks the chimney
 * registers its handler sets (`chimney-edges.ts`) as `chimneyProvider` (miniport side) or
 * `chimneyClient` (protocol side); the binding then gives the other side the NDIS functions
 * that reach them, as `chimney` on the bound edge. A layer that registered none has no chimney:
 * the host above it never offloads (reference §7.1, checklist row 1).
 */
import type { MacAddress } from '../wire/addr.js';
import type { VnetHeader } from '../wire/vnet.js';
import type { MiniportChimneyHandlers, NdisChimneyCalls, NdisMChimneyCalls, ProtocolChimneyHandlers } from './chimney-edges.js';
import type { NdisStatus } from './status.js';

/**
 * Per-frame offload information that travels beside a frame on the normal path: the
 * checksum state (NET_BUFFER_LIST_INFO TcpIpChecksumNetBufferListInfo) and large-send
 * segmentation (TcpLargeSendNetBufferListInfo). The emulator uses the virtio-net header's
 * fields for both, because that is what the TAP device speaks; `undefined` means a plain
 * frame with complete checksums.
 */
export type NblOffloadInfo = VnetHeader;

/**
 * What a miniport reports at initialisation (NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES and
 * NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES, reduced to what the host stack acts on).
 */
export interface MiniportAttributes {
  /** The adapter's current MAC address. */
  readonly macAddress: MacAddress;
  /** IP MTU of the medium. */
  readonly mtu: number;
  /** Task offloads the host may use on the normal path. */
  readonly taskOffload: TaskOffloadCapabilities;
}

export interface TaskOffloadCapabilities {
  /** The miniport completes TCP/UDP checksums of sent frames marked as partial. */
  readonly txChecksum: boolean;
  /**
   * Received frames may carry a partial checksum or a "checksum verified" mark (the layer
   * above then trusts them instead of verifying in software).
   */
  readonly rxChecksum: boolean;
  /** Large send offload v2 for TCP (the miniport segments super-frames). */
  readonly lsoV2Ipv4: boolean;
  readonly lsoV2Ipv6: boolean;
  /** Largest TCP payload of one large-send frame. */
  readonly lsoMaxOffloadSize: number;
}

/** Link state carried by NDIS_STATUS_LINK_STATE indications. */
export interface LinkStateInfo {
  readonly connected: boolean;
}

/** What a layer offers to the layer above it (normal path). */
export interface MiniportEdge {
  /** Attributes, valid once the binding is made. */
  readonly attributes: MiniportAttributes;
  /**
   * NDIS binds the protocol above: the miniport indicates receives and statuses through
   * `upper` from now on. Called once.
   */
  bindUpper(upper: BoundProtocolEdge): void;
  /**
   * The normal send path (NdisSendNetBufferLists). The frame is copied or consumed before the
   * call returns; the caller may reuse its buffer.
   */
  sendNetBufferLists(frame: Uint8Array, info: NblOffloadInfo | undefined): void;
  /**
   * Not NDIS: the emulator's zero-copy transmit. A buffer of `length` bytes in the device's own
   * transmit queue (`Link.lendTx`), which the caller builds its next frame in and passes to
   * `sendNetBufferLists` as a view from the buffer's first byte; no layer below copies it again.
   * Valid until the next lend or send; a layer that keeps or rewrites frames returns undefined,
   * and so does a device with no room, so the caller builds in its own buffer as before.
   */
  lendSendBuffer?(length: number): Uint8Array | undefined;
  /** The chimney handlers this layer registered, if it offers chimney offload. */
  readonly chimneyProvider?: MiniportChimneyHandlers;
}

/** The miniport as a bound protocol sees it: the normal path, and the NDIS chimney functions. */
export interface BoundMiniportEdge extends MiniportEdge {
  /** Undefined when the miniport registered no chimney handlers (or the protocol none). */
  readonly chimney: NdisChimneyCalls | undefined;
}

/** What a layer offers to the layer below it (normal path). */
export interface ProtocolEdge {
  /**
   * The normal receive path (NdisMIndicateReceiveNetBufferLists). `frame` is valid only
   * during the call.
   */
  receiveNetBufferLists(frame: Uint8Array, info: NblOffloadInfo | undefined): void;
  /** End of a receive batch: flush coalesced work (ACKs, window updates, transmissions). */
  receiveComplete(): void;
  /** NdisMIndicateStatusEx: link state, offload pause/resume, upload-all. */
  statusIndication(status: NdisStatus, info?: LinkStateInfo): void;
  /** The chimney handlers this layer registered, if it offloads to the layer below. */
  readonly chimneyClient?: ProtocolChimneyHandlers;
}

/** The protocol as a bound miniport sees it: the normal path, and the NDIS chimney upcalls. */
export interface BoundProtocolEdge extends ProtocolEdge {
  /** Undefined when either side registered no chimney handlers. */
  readonly chimney: NdisMChimneyCalls | undefined;
}
