/**
 * The chimney half of the two edges (reference §2.18, §2.19; DESIGN.md "The contract as two
 * edges"). Each layer registers handler sets, as NDIS drivers do with NdisSetOptionalHandlers:
 *
 * - a layer that offers chimney offload to the layer above (the target, an IM's upper edge)
 *   registers `MiniportChimneyHandlers` (NDIS_PROVIDER_CHIMNEY_OFFLOAD_GENERIC_CHARACTERISTICS
 *   and NDIS_PROVIDER_CHIMNEY_OFFLOAD_TCP_CHARACTERISTICS);
 * - a layer that offloads to the layer below (the host, an IM's lower edge) registers
 *   `ProtocolChimneyHandlers` (the two NDIS_CLIENT_CHIMNEY_OFFLOAD_* sets).
 *
 * Between them the binding offers each side the NDIS functions it calls: `NdisChimneyCalls` to
 * the protocol (NdisInitiateOffload, NdisOffloadTcpSend, ...), `NdisMChimneyCalls` to the
 * miniport (NdisMInitiateOffloadComplete, NdisTcpOffloadReceiveHandler, ...; the latter group is
 * what NdisMGetOffloadHandlers returns in NDIS_TCP_OFFLOAD_EVENT_HANDLERS).
 *
 * Handler names are the reference's member names, verbatim.
 */
import type { NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST } from './block-list.js';
import type { NET_BUFFER_LIST } from './nbl.js';
import type { NdisStatus } from './status.js';
import type {
  INDICATE_OFFLOAD_EVENT,
  NDIS_HANDLE,
  NDIS_OFFLOAD_HANDLE,
  NDIS_TCP_CONNECTION_OFFLOAD,
  NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS,
  OffloadContextSlot,
  TCP_OFFLOAD_EVENT_TYPE,
} from './structures.js';

/** The out parameter `PULONG BytesConsumed` of a receive indication. */
export interface BytesConsumed {
  value: number;
}

/** The answer to a capability query (OID_TCP_CONNECTION_OFFLOAD_HARDWARE_CAPABILITIES). */
export interface ChimneyCapabilitiesAnswer {
  readonly Status: NdisStatus;
  /** Present when Status is NDIS_STATUS_SUCCESS. */
  readonly Capabilities?: NDIS_TCP_CONNECTION_OFFLOAD;
}

/**
 * What a chimney-capable miniport (or an IM's upper edge) registers. The five state handlers
 * return nothing: completion always comes later through the matching NdisM...Complete (§3.1).
 * The data-path handlers return NDIS_STATUS_PENDING and complete later; receive return
 * completes at once with NDIS_STATUS_SUCCESS (§2.19).
 */
export interface MiniportChimneyHandlers {
  InitiateOffloadHandler(list: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): void;
  TerminateOffloadHandler(list: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): void;
  UpdateOffloadHandler(list: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): void;
  InvalidateOffloadHandler(list: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): void;
  QueryOffloadHandler(list: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): void;
  /** `slot` is the MiniportOffloadContext parameter: the cell the miniport wrote at initiate. */
  TcpOffloadSendHandler(slot: OffloadContextSlot, chain: NET_BUFFER_LIST): NdisStatus;
  TcpOffloadReceiveHandler(slot: OffloadContextSlot, chain: NET_BUFFER_LIST): NdisStatus;
  TcpOffloadDisconnectHandler(slot: OffloadContextSlot, nbl: NET_BUFFER_LIST, flags: number): NdisStatus;
  TcpOffloadForwardHandler(slot: OffloadContextSlot, chain: NET_BUFFER_LIST): NdisStatus;
  TcpOffloadReceiveReturnHandler(chain: NET_BUFFER_LIST): NdisStatus;
  /** OID_TCP_CONNECTION_OFFLOAD_HARDWARE_CAPABILITIES: what the miniport can offload (§7.2). */
  queryTcpConnectionOffloadCapabilities(): ChimneyCapabilitiesAnswer;
  /** OID_TCP_CONNECTION_OFFLOAD_PARAMETERS set (§2.14): the host's operating parameters. */
  setTcpConnectionOffloadParameters(params: NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS): NdisStatus;
}

/** What an offloading protocol (or an IM's lower edge) registers. */
export interface ProtocolChimneyHandlers {
  InitiateOffloadCompleteHandler(list: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): void;
  TerminateOffloadCompleteHandler(list: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): void;
  UpdateOffloadCompleteHandler(list: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): void;
  InvalidateOffloadCompleteHandler(list: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): void;
  QueryOffloadCompleteHandler(list: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): void;
  /** ProtocolIndicateOffloadEvent: neighbor reachability (§5.2). */
  IndicateOffloadEventHandler(list: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST | null, code: INDICATE_OFFLOAD_EVENT): void;
  TcpOffloadSendCompleteHandler(chain: NET_BUFFER_LIST): void;
  TcpOffloadReceiveCompleteHandler(chain: NET_BUFFER_LIST): void;
  TcpOffloadDisconnectCompleteHandler(nbl: NET_BUFFER_LIST): void;
  TcpOffloadForwardCompleteHandler(chain: NET_BUFFER_LIST): void;
  /** ProtocolTcpOffloadEvent: `offloadContext` is the protocol's own handle for the connection. */
  TcpOffloadEventHandler(offloadContext: NDIS_OFFLOAD_HANDLE, eventType: TCP_OFFLOAD_EVENT_TYPE, info: number): void;
  /**
   * ProtocolTcpOffloadReceiveIndicate: one NBL, `status` always NDIS_STATUS_SUCCESS. Returns
   * SUCCESS (all consumed; the NBL comes back through receive return),
   * NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED or NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED, with the
   * count in `bytesConsumed` (§4.3.2).
   */
  TcpOffloadReceiveIndicateHandler(
    offloadContext: NDIS_OFFLOAD_HANDLE,
    nbl: NET_BUFFER_LIST,
    status: NdisStatus,
    bytesConsumed: BytesConsumed,
  ): NdisStatus;
}

/** The NDIS functions a protocol calls downward (§2.19 "Downward"). */
export interface NdisChimneyCalls {
  NdisInitiateOffload(list: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): void;
  NdisTerminateOffload(list: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): void;
  NdisUpdateOffload(list: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): void;
  NdisInvalidateOffload(list: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): void;
  NdisQueryOffloadState(list: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): void;
  NdisOffloadTcpSend(handle: NDIS_OFFLOAD_HANDLE, chain: NET_BUFFER_LIST): NdisStatus;
  NdisOffloadTcpReceive(handle: NDIS_OFFLOAD_HANDLE, chain: NET_BUFFER_LIST): NdisStatus;
  NdisOffloadTcpDisconnect(handle: NDIS_OFFLOAD_HANDLE, nbl: NET_BUFFER_LIST, flags: number): NdisStatus;
  NdisOffloadTcpForward(handle: NDIS_OFFLOAD_HANDLE, chain: NET_BUFFER_LIST): NdisStatus;
  NdisOffloadTcpReceiveReturn(chain: NET_BUFFER_LIST): NdisStatus;
  queryTcpConnectionOffloadCapabilities(): ChimneyCapabilitiesAnswer;
  setTcpConnectionOffloadParameters(params: NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS): NdisStatus;
}

/** The NDIS functions a miniport calls upward (§2.19 "Upward"). */
export interface NdisMChimneyCalls {
  NdisMInitiateOffloadComplete(list: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): void;
  NdisMTerminateOffloadComplete(list: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): void;
  NdisMUpdateOffloadComplete(list: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): void;
  NdisMInvalidateOffloadComplete(list: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): void;
  NdisMQueryOffloadStateComplete(list: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): void;
  NdisMOffloadEventIndicate(list: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST | null, code: INDICATE_OFFLOAD_EVENT): void;
  /** `handle` is the NdisOffloadHandle stored from the object's initiate block. */
  NdisTcpOffloadEventHandler(handle: NDIS_HANDLE, eventType: TCP_OFFLOAD_EVENT_TYPE, info: number): void;
  NdisTcpOffloadReceiveHandler(
    handle: NDIS_HANDLE,
    nbl: NET_BUFFER_LIST,
    status: NdisStatus,
    bytesConsumed: BytesConsumed,
  ): NdisStatus;
  NdisTcpOffloadSendComplete(chain: NET_BUFFER_LIST): void;
  NdisTcpOffloadReceiveComplete(chain: NET_BUFFER_LIST): void;
  NdisTcpOffloadDisconnectComplete(nbl: NET_BUFFER_LIST): void;
  NdisTcpOffloadForwardComplete(chain: NET_BUFFER_LIST): void;
}
