/**
 * A TCP connection's state as the chimney contract carries it (reference §2.10, §2.11):
 * constant, cached and delegated variables, with the reference's member names kept verbatim
 * so code, spec and logs can be grepped against each other (STYLE rule 7). The engine exports
 * this at offload and builds itself from it at upload, so a connection can move between two
 * engine instances mid-stream without the peer noticing.
 *
 * `ndis/` declares the same shapes for the contract; TypeScript's structural typing lets the
 * target pass one where the other is expected without a conversion layer.
 */

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

/** A timer residue of -1 (0xFFFFFFFF) means "not running" (§2.10.3). */
export const TIMER_NOT_RUNNING = 0xffffffff;

/** TCP_OFFLOAD_STATE_CONST (§2.10.1). */
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

/** TCP_OFFLOAD_STATE_DELEGATED (§2.10.3), minus the NBL unions which travel beside it (see TcpOffloadSnapshot). */
export interface TCP_OFFLOAD_STATE_DELEGATED {
  State: number;
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
  /** Query only: SendBacklogSize / ReceiveBacklogSize arms of the unions (0xFFFFFFFF when unsupported). */
  SendBacklogSize?: number;
  ReceiveBacklogSize?: number;
  DWnd: number;
}

/**
 * Everything a connection hands over at offload or upload: the three structures plus the data
 * that travels with them. `sendData` is the send stream from SndUna on, in order (sent but
 * unacknowledged bytes first, then unsent bytes): the NetBufferListChain with SendDataHead and
 * SendDataTail. `bufferedData` is received data that was acknowledged but not yet delivered
 * (BufferedData). Data that was only SACKed is not carried (§3.3.2 step 2).
 */
export interface TcpOffloadSnapshot {
  const: TCP_OFFLOAD_STATE_CONST;
  cached: TCP_OFFLOAD_STATE_CACHED;
  delegated: TCP_OFFLOAD_STATE_DELEGATED;
  sendData: Uint8Array[];
  /** True when the host has already queued its FIN behind `sendData` (a shutdown in progress). */
  finQueued: boolean;
  bufferedData: Uint8Array[];
  /** True when the peer's FIN has been received (RcvNxt counts it). */
  peerFinReceived: boolean;
}
