/**
 * The structures, enumerations and flags of the chimney contract (reference §2), with the
 * reference's names kept verbatim so code, spec and logs can be grepped against each other
 * (STYLE rule 7). Status codes are in `status.ts`, buffers in `nbl.ts`, block lists in
 * `block-list.ts`.
 *
 * Where the C declaration holds a pointer, this model says what it became:
 *
 * - `PVOID *MiniportOffloadContext` (a pointer to a cell the layer above owns) is an **object
 *   reference** to that layer's `NDIS_OFFLOAD_HANDLE`: the cell must be writable by the layer
 *   below, which only a reference gives; it is typed `OffloadContextSlot`, which exposes the cell
 *   and nothing else of the handle.
 * - The value a layer writes into the cell (`MiniportOffloadContext` of an `NDIS_OFFLOAD_HANDLE`)
 *   is an **opaque handle value**, an `OffloadContextValue`: the target's is slot plus generation
 *   in its context table, so a stale, forged or reused value is detected by a lookup and answered
 *   with a status; an object reference could not be checked that way and would keep a
 *   terminated context alive.
 * - `NDIS_HANDLE NdisOffloadHandle` is an **object reference** to the upper layer's
 *   `NDIS_OFFLOAD_HANDLE`, typed as the opaque `NDIS_HANDLE` so the layer below can store it and
 *   pass it back in indications but cannot read or write through it (reference §10: NDIS maps it
 *   back to the protocol's `OffloadContext`).
 * - `PNET_BUFFER_LIST` members are object references to `NET_BUFFER_LIST`s (the buffers are
 *   owned by whoever the contract says, and travel by reference, never by copy).
 */

/** OFFLOAD_STATE_TYPE (§2.3): the value of a block list's `Header.Type`. */
export const NeighborOffloadConstState = 0x01;
export const NeighborOffloadCachedState = 0x02;
export const NeighborOffloadDelegatedState = 0x03;
export const NeighborOffloadState = 0x04;
export const Ip4OffloadConstState = 0x05;
export const Ip4OffloadCachedState = 0x06;
export const Ip4OffloadDelegatedState = 0x07;
export const Ip4OffloadState = 0x08;
export const Ip6OffloadConstState = 0x09;
export const Ip6OffloadCachedState = 0x0a;
export const Ip6OffloadDelegatedState = 0x0b;
export const Ip6OffloadState = 0x0c;
export const TcpOffloadConstState = 0x0d;
export const TcpOffloadCachedState = 0x0e;
export const TcpOffloadDelegatedState = 0x0f;
export const TcpOffloadResourceState = 0x10;
export const TcpOffloadState = 0x11;
export const FilterReservedOffloadState = 0xfe;
export const MaximumOffloadState = 0xff;

export type OFFLOAD_STATE_TYPE = number;

/** The layer a state type belongs to (block lists link neighbor → path → TCP, §1.3). */
export type OffloadLayer = 'neighbor' | 'path' | 'tcp';

/** The layer of an OFFLOAD_STATE_TYPE, or undefined for the reserved and unknown values. */
export function layerOfStateType(type: OFFLOAD_STATE_TYPE): OffloadLayer | undefined {
  if (type >= NeighborOffloadConstState && type <= NeighborOffloadState) return 'neighbor';
  if (type >= Ip4OffloadConstState && type <= Ip6OffloadState) return 'path';
  if (type >= TcpOffloadConstState && type <= TcpOffloadState && type !== TcpOffloadResourceState) return 'tcp';
  return undefined;
}

/** The IP version of a path state type (§2.3: known from Ip4 vs Ip6). */
export function ipVersionOfStateType(type: OFFLOAD_STATE_TYPE): 4 | 6 | undefined {
  if (type >= Ip4OffloadConstState && type <= Ip4OffloadState) return 4;
  if (type >= Ip6OffloadConstState && type <= Ip6OffloadState) return 6;
  return undefined;
}

/** NDIS_OBJECT_HEADER (§2.2). */
export interface NDIS_OBJECT_HEADER {
  Type: number;
  Revision: number;
  Size: number;
}

/**
 * The opaque NDIS_HANDLE: a layer may store one and hand it back, nothing else. The brand makes
 * any read or write through it a type error outside `ndis/`.
 */
declare const ndisHandleBrand: unique symbol;
export interface NDIS_HANDLE {
  readonly [ndisHandleBrand]: true;
}

/**
 * The value a lower layer writes into an upper layer's `MiniportOffloadContext` cell: opaque to
 * everyone but the layer that minted it. Positive integers; 0 is never minted, and the cell's
 * empty value is `null` (the C NULL).
 */
declare const contextValueBrand: unique symbol;
export type OffloadContextValue = number & { readonly [contextValueBrand]: true };

/**
 * What `PVOID *MiniportOffloadContext` points at: the one cell of an NDIS_OFFLOAD_HANDLE the layer
 * below may read and write. Written once, when the initiate of its object succeeds (§6.1).
 */
export interface OffloadContextSlot {
  MiniportOffloadContext: OffloadContextValue | null;
}

/** NDIS_OFFLOAD_HANDLE (§2.7): a host's or IM's context for one offloaded object. */
export interface NDIS_OFFLOAD_HANDLE extends OffloadContextSlot {
  /** NDIS only. */
  readonly NdisReserved: [unknown];
}

/** A fresh NDIS_OFFLOAD_HANDLE with an empty cell, as a host TCB or an IM offload entry holds it. */
export function newOffloadHandle(): NDIS_OFFLOAD_HANDLE {
  return { NdisReserved: [null], MiniportOffloadContext: null };
}

// ---- Neighbor state (§2.8) ---------------------------------------------------------------------

/** NEIGHBOR_OFFLOAD_STATE_CONST. */
export interface NEIGHBOR_OFFLOAD_STATE_CONST {
  /** Optional source MAC (UCHAR[32]; the first 6 bytes for Ethernet); all zero = the interface's MAC. */
  DlSourceAddress: Uint8Array;
  /** 802.1Q VLAN id (12 bits); 0 = not significant. */
  VlanId: number;
}

/** NEIGHBOR_OFFLOAD_STATE_CACHED. */
export interface NEIGHBOR_OFFLOAD_STATE_CACHED {
  /** MAC of the next hop (UCHAR[32]; the first 6 bytes for Ethernet). */
  DlDestinationAddress: Uint8Array;
  /** Host time minus HRD = when the host last confirmed forward reachability (ticks). */
  HostReachabilityDelta: number;
}

/** NEIGHBOR_OFFLOAD_STATE_DELEGATED. */
export interface NEIGHBOR_OFFLOAD_STATE_DELEGATED {
  /** NIC time minus NRD = when the target last confirmed forward reachability (ticks). */
  NicReachabilityDelta: number;
}

// ---- Path state (§2.9) -------------------------------------------------------------------------

/** PATH_OFFLOAD_STATE_CONST: addresses in network byte order, 4 bytes (IPv4) or 16 (IPv6). */
export interface PATH_OFFLOAD_STATE_CONST {
  SourceAddress: Uint8Array;
  DestinationAddress: Uint8Array;
}

/** PATH_OFFLOAD_STATE_CACHED. */
export interface PATH_OFFLOAD_STATE_CACHED {
  PathMtu: number;
}

/** PATH_OFFLOAD_STATE_DELEGATED: a header only; there are no delegated path variables. */
export type PATH_OFFLOAD_STATE_DELEGATED = Record<string, never>;

// ---- TCP state (§2.10, §2.11) --------------------------------------------------------------------

/** TCP_OFFLOAD_CONNECTION_STATE (§2.11). */
export const TcpConnectionClosed = 0;
export const TcpConnectionListen = 1;
export const TcpConnectionSynSent = 2;
export const TcpConnectionSynRcvd = 3;
export const TcpConnectionEstablished = 4;
export const TcpConnectionFinWait1 = 5;
export const TcpConnectionFinWait2 = 6;
export const TcpConnectionCloseWait = 7;
export const TcpConnectionClosing = 8;
export const TcpConnectionLastAck = 9;
export const TcpConnectionTimeWait = 10;
export const TcpConnectionMaxState = 11;

export type TCP_OFFLOAD_CONNECTION_STATE = number;

/** The states the host may offload a connection in (§1.4). */
export function isOffloadableTcpState(state: TCP_OFFLOAD_CONNECTION_STATE): boolean {
  return state >= TcpConnectionEstablished && state <= TcpConnectionLastAck;
}

/** TCP_OFFLOAD_STATE_CONST Flags. */
export const TCP_FLAG_TIMESTAMP_ENABLED = 0x01;
export const TCP_FLAG_SACK_ENABLED = 0x02;
export const TCP_FLAG_WINDOW_SCALING_ENABLED = 0x04;

/** TCP_OFFLOAD_STATE_CACHED Flags. */
export const TCP_FLAG_KEEP_ALIVE_ENABLED = 0x01;
export const TCP_FLAG_NAGLING_ENABLED = 0x02;
export const TCP_FLAG_KEEP_ALIVE_RESTART = 0x04;
export const TCP_FLAG_MAX_RT_RESTART = 0x08;
export const TCP_FLAG_UPDATE_RCV_WND = 0x10;

/** A timer residue of -1 (0xFFFFFFFF) means "not running" (§2.10.3); so does SendBacklogSize "unsupported". */
export const TIMER_NOT_RUNNING = 0xffffffff;

/**
 * TCP_OFFLOAD_STATE_CONST (§2.10.1). `tcp/offload-state.ts` declares the same shape for the
 * engine, which may not import `ndis/` (DESIGN.md module table); test/unit/ndis checks at compile
 * time that the two stay assignable both ways.
 */
export interface TCP_OFFLOAD_STATE_CONST {
  Flags: number;
  RemotePort: number;
  LocalPort: number;
  SndWindScale: number;
  RcvWindScale: number;
  RemoteMss: number;
  HashValue: number;
}

/** TCP_OFFLOAD_STATE_CACHED (§2.10.2). Tick-valued members are in host ticks (TicksPerSecond). */
export interface TCP_OFFLOAD_STATE_CACHED {
  Flags: number;
  InitialRcvWnd: number;
  RcvIndicationSize: number;
  KaProbeCount: number;
  KaTimeout: number;
  KaInterval: number;
  MaxRT: number;
  FlowLabel: number;
  TtlOrHopLimit: number;
  TosOrTrafficClass: number;
  UserPriority: number;
}

/**
 * TCP_OFFLOAD_STATE_DELEGATED (§2.10.3). The two unions are separate optional members: which arm
 * is meaningful depends on the operation (pointers at initiate and terminate, sizes at query).
 * `SendDataHead`/`SendDataTail` and `BufferedData` are declared by the block list that carries
 * the structure (they are buffers, `nbl.ts`), so this declaration stays free of them.
 */
export interface TCP_OFFLOAD_STATE_DELEGATED {
  State: TCP_OFFLOAD_CONNECTION_STATE;
  Flags: number;
  RcvNxt: number;
  RcvWnd: number;
  SndUna: number;
  SndNxt: number;
  SndMax: number;
  SndWnd: number;
  MaxSndWnd: number;
  SendWL1: number;
  CWnd: number;
  SsThresh: number;
  /** Smoothed RTT in ticks, carried as 8 × SRTT. */
  SRtt: number;
  /** RTT variation in ticks, carried as 4 × RTTVAR. */
  RttVar: number;
  TsRecent: number;
  TsRecentAge: number;
  TsTime: number;
  TotalRT: number;
  DupAckCount: number;
  SndWndProbeCount: number;
  KeepAlive: { ProbeCount: number; TimeoutDelta: number };
  Retransmit: { Count: number; TimeoutDelta: number };
  /** Query only (union arm): bytes the host should keep outstanding; 0xFFFFFFFF when unsupported. */
  SendBacklogSize?: number;
  /** Query only (union arm): bytes of received data buffered in the target; 0xFFFFFFFF when unsupported. */
  ReceiveBacklogSize?: number;
  DWnd: number;
}

// ---- Events, reasons, flags (§2.12) ------------------------------------------------------------

/** TCP_OFFLOAD_EVENT_TYPE: `EventType` of NdisTcpOffloadEventHandler. */
export const TcpIndicateSendBacklogChange = 1;
export const TcpIndicateDisconnect = 2;
export const TcpIndicateRetrieve = 3;
export const TcpIndicateAbort = 4;
export type TCP_OFFLOAD_EVENT_TYPE = number;

/** TCP_UPLOAD_REASON: `EventSpecificInformation` with TcpIndicateRetrieve. */
export const LowActivity = 1;
export const HighDropRate = 2;
export const SmallIO = 3;
export const NoBufferPreposting = 4;
/** Legacy spelling of NoBufferPreposting (§2.12). */
export const NoBufferProposting = NoBufferPreposting;
export const ReceivedUrgentData = 5;
export const HighFragmentation = 6;
export const HighOutOfOrderPackets = 7;
export const TimeoutExpiration = 8;
export const InvalidState = 9;
export const UploadRequested = 10;
export const HardwareFailure = 11;
export const MaxUploadReason = 12;
export type TCP_UPLOAD_REASON = number;

/**
 * Upload reasons after which the target stops processing the connection and waits for the
 * terminate (reference §11 item 1); for the others it keeps serving until the host decides.
 */
export function isMandatoryUploadReason(reason: TCP_UPLOAD_REASON): boolean {
  return (
    reason === HardwareFailure ||
    reason === InvalidState ||
    reason === ReceivedUrgentData ||
    reason === TimeoutExpiration ||
    reason === UploadRequested
  );
}

/** INDICATE_OFFLOAD_EVENT: `IndicationCode` of NdisMOffloadEventIndicate. */
export const NeighborReachabilityInDoubt = 0x0001;
export const NeighborReachabilityQuery = 0x0002;
export const MaxOffloadEvent = 0x0003;
export type INDICATE_OFFLOAD_EVENT = number;

/** `Flags` of a disconnect call. */
export const TCP_DISCONNECT_GRACEFUL_CLOSE = 0x01;
export const TCP_DISCONNECT_ABORTIVE_CLOSE = 0x02;

/** NDIS_CHIMNEY_OFFLOAD_TYPE. */
export const NdisTcpChimneyOffload = 1;
export const NdisIpsecChimneyOffload = 2;
export const NdisRdmaChimneyOffload = 3;
export const NdisMaxChimneyOffload = 4;

// ---- Capabilities and parameters (§2.14) -------------------------------------------------------

export const NDIS_OFFLOAD_NOT_SUPPORTED = 0;
export const NDIS_OFFLOAD_SUPPORTED = 1;

export const NDIS_ENCAPSULATION_NOT_SUPPORTED = 0x00;
export const NDIS_ENCAPSULATION_NULL = 0x01;
export const NDIS_ENCAPSULATION_IEEE_802_3 = 0x02;
export const NDIS_ENCAPSULATION_IEEE_802_3_P_AND_Q = 0x04;
export const NDIS_ENCAPSULATION_IEEE_802_3_P_AND_Q_IN_OOB = 0x08;
export const NDIS_ENCAPSULATION_IEEE_LLC_SNAP_ROUTED = 0x10;

/** NDIS_TCP_CONNECTION_OFFLOAD: what a chimney-capable miniport reports (§2.14, §7.2). */
export interface NDIS_TCP_CONNECTION_OFFLOAD {
  Encapsulation: number;
  SupportIPv4: number;
  SupportIPv6: number;
  SupportIPv6ExtensionHeaders: number;
  SupportSack: number;
  CongestionAlgorithm: number;
  TcpConnectionOffloadCapacity: number;
  Flags: number;
}

/** NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS: what the host sets (§2.14). Tick values in host ticks. */
export interface NDIS_TCP_CONNECTION_OFFLOAD_PARAMETERS {
  TicksPerSecond: number;
  TcpAckFrequency: number;
  TcpDelayedAckTicks: number;
  TcpMaximumRetransmissions: number;
  TcpDoubtReachabilityRetransmissions: number;
  TcpSwsPreventionTicks: number;
  TcpDuplicateAckThreshold: number;
  TcpPushTicks: number;
  NceStaleTicks: number;
  CongestionAlgorithm: number;
  /** The legacy NDIS 5 member the reference keeps as an optional extra (§2.14, §7.5.2; default 120 s). */
  TcpFinWait2Ticks?: number;
}

// ---- Statistics (§2.13) ------------------------------------------------------------------------

/** TCP_OFFLOAD_STATS: offloaded connections only, one set per IP version; counters wrap. */
export interface TCP_OFFLOAD_STATS {
  InSegments: bigint;
  OutSegments: bigint;
  CurrentlyEstablished: number;
  ResetEstablished: number;
  RetransmittedSegments: number;
  InErrors: number;
  OutResets: number;
}

/** IP_OFFLOAD_STATS: datagrams of offloaded connections only, one set per IP version; counters wrap. */
export interface IP_OFFLOAD_STATS {
  InReceives: bigint;
  InOctets: bigint;
  InDelivers: bigint;
  OutRequests: bigint;
  OutOctets: bigint;
  InHeaderErrors: number;
  InTruncatedPackets: number;
  InDiscards: number;
  OutDiscards: number;
  OutNoRoutes: number;
}
