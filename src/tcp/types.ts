/**
 * The public contract of the TCP engine: configuration, the hooks it calls, its events, and
 * the statistics it reports. The engine (`connection.ts`) is a pure state machine: segments
 * and application calls in, segments and events out through these hooks, time only from the
 * injected clock, randomness only from the injected source. The host stack drives it over the
 * link today; the offload target will drive its own instances from imported chimney state.
 */
import type { Clock } from '../wire/clock.js';
import type { DropReason } from '../wire/drop-reason.js';
import type { Seq } from '../wire/seq.js';
import type { TcpOptions } from '../wire/tcp.js';

/** RFC 9293 state names. Transitions go only through the engine's `setState()`. */
export type TcpState =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN-SENT'
  | 'SYN-RECEIVED'
  | 'ESTABLISHED'
  | 'FIN-WAIT-1'
  | 'FIN-WAIT-2'
  | 'CLOSE-WAIT'
  | 'CLOSING'
  | 'LAST-ACK'
  | 'TIME-WAIT';

export type CongestionControlName = 'newreno' | 'cubic';

export interface TcpKeepAliveConfig {
  readonly enabled: boolean;
  /** Idle time before the first probe (Linux tcp_keepalive_time, default 7200 s). */
  readonly idleMs: number;
  /** Time between unanswered probes (tcp_keepalive_intvl, default 75 s). */
  readonly intervalMs: number;
  /** Unanswered probes before the connection is declared dead (tcp_keepalive_probes, default 9). */
  readonly probes: number;
}

export interface TcpConfig {
  /** MSS we advertise and the most we send per segment before the peer's MSS is known (from the interface MTU). */
  readonly mss: number;
  /**
   * The peer's MSS when its SYN carries no MSS option (RFC 9293 §3.7.1 SHLD-5/MUST-15): 536 for
   * IPv4, 1220 for IPv6. The engine does not know the IP version; the host sets it per family.
   */
  readonly defaultPeerMss: number;
  /** Receive buffer in bytes: the largest window we advertise. */
  readonly rcvBufSize: number;
  /** Send buffer in bytes (the host applies backpressure against it; the engine reports it in info()). */
  readonly sndBufSize: number;
  readonly windowScaling: boolean;
  readonly timestamps: boolean;
  readonly sack: boolean;
  readonly congestionControl: CongestionControlName;
  /** Nagle off (TCP_NODELAY). */
  readonly noDelay: boolean;
  readonly keepAlive: TcpKeepAliveConfig;
  /** TIME-WAIT duration, 2 × MSL (RFC 9293 §3.4.2). */
  readonly timeWaitMs: number;
  /** RFC 6298 §2: initial RTO (1 s). */
  readonly rtoInitialMs: number;
  /** Lower bound of the RTO. RFC 6298 says 1 s; Linux uses 200 ms and so do we by default. */
  readonly rtoMinMs: number;
  /** Upper bound of the RTO (RFC 6298 §2.5 allows a maximum; Linux uses 120 s). */
  readonly rtoMaxMs: number;
  /** Retransmissions of one segment before ETIMEDOUT (Linux tcp_retries2 = 15). */
  readonly maxRetransmits: number;
  /** SYN (or SYN-ACK) retransmissions before giving up (Linux tcp_syn_retries = 6). */
  readonly synRetries: number;
  /** Delayed-ACK timer (RFC 9293 §3.8.6.3: under 0.5 s; Linux 40 ms). */
  readonly delayedAckMs: number;
  /** FIN-WAIT-2 timeout for orphaned connections (Linux tcp_fin_timeout = 60 s). */
  readonly finWait2TimeoutMs: number;
  /**
   * RACK time-based loss detection (RFC 8985 §6) on SACK connections, with Proportional Rate
   * Reduction (RFC 6937) in recovery. Off: RFC 6675's DupThresh rule marks losses and cwnd
   * drops to ssthresh at once (Linux net.ipv4.tcp_recovery = 0).
   */
  readonly rack: boolean;
  /** Tail loss probes (RFC 8985 §7) on SACK connections that run RACK (Linux net.ipv4.tcp_early_retrans = 3). */
  readonly tailLossProbe: boolean;
  /** Initial congestion window in segments (RFC 6928: 10). */
  readonly initialCwndSegments: number;
  /**
   * Largest segment the engine may hand to the host in one `transmit` when the link does
   * TSO (a multiple of the MSS, at most 65535 minus headers); 0 disables super-segments.
   */
  readonly tsoMaxBytes: number;
  /** Bytes of out-of-order data kept for reassembly at most (bounded memory, default the receive buffer). */
  readonly reassemblyLimitBytes: number;
  /** Clock granularity of exported chimney state (TicksPerSecond, reference §7.5; default 1000). */
  readonly ticksPerSecond: number;
  /** RFC 5961 challenge-ACK rate limit: at most this many per second per connection. */
  readonly challengeAckLimitPerSecond: number;
  /**
   * Who runs the engine (reference §1.1). A `host` engine ends a connection itself where TCP
   * says so. A `target` engine is the offload NIC's: where a host would act alone it asks for
   * an upload instead (§5.1.3: retransmission, persist and keepalive limits, the FIN-WAIT-2
   * timer, TIME-WAIT, urgent data), it runs the FIN-WAIT-2 timer whenever it is in FIN-WAIT-2
   * (§7.5.2), and it originates an RST only for an abortive disconnect (§4.7.2).
   */
  readonly role: TcpRole;
}

export type TcpRole = 'host' | 'target';

/**
 * Why a target engine asks to be uploaded. Each is mandatory (reference §5.1.3, §11 item 1):
 * after it the engine transmits nothing and processes no segment until it is exported.
 */
export type TcpUploadRequestReason =
  /** TcpMaximumRetransmissions retransmissions of one segment (§7.5.1): TimeoutExpiration. */
  | 'retransmit-limit'
  /** Too many zero-window probes in one round (§7.5.4): TimeoutExpiration. */
  | 'persist-limit'
  /** Keepalive probes exhausted (§7.5.3): TimeoutExpiration. */
  | 'keepalive-exhausted'
  /** The FIN-WAIT-2 timer expired; the state is CLOSED (§7.5.2): TimeoutExpiration. */
  | 'fin-wait-2-timeout'
  /** The connection entered TIME-WAIT; the target does not run 2 MSL (§7.5): UploadRequested. */
  | 'time-wait'
  /** An acceptable segment with URG (§4.9): ReceivedUrgentData. */
  | 'urgent-data';

export const DEFAULT_TCP_CONFIG: TcpConfig = Object.freeze({
  mss: 1460,
  defaultPeerMss: 536,
  rcvBufSize: 1 << 20,
  sndBufSize: 1 << 20,
  windowScaling: true,
  timestamps: true,
  sack: true,
  congestionControl: 'cubic',
  noDelay: false,
  keepAlive: Object.freeze({ enabled: false, idleMs: 7_200_000, intervalMs: 75_000, probes: 9 }),
  timeWaitMs: 60_000,
  rtoInitialMs: 1000,
  rtoMinMs: 200,
  rtoMaxMs: 120_000,
  maxRetransmits: 15,
  synRetries: 6,
  delayedAckMs: 40,
  finWait2TimeoutMs: 60_000,
  rack: true,
  tailLossProbe: true,
  initialCwndSegments: 10,
  tsoMaxBytes: 0,
  reassemblyLimitBytes: 1 << 20,
  ticksPerSecond: 1000,
  challengeAckLimitPerSecond: 1000,
  role: 'host',
}) as TcpConfig;

/**
 * One outgoing segment, handed to `TcpHooks.transmit`. The object is reused by the engine and
 * is only valid during the call.
 */
export interface TcpSegmentOut {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seqNumber: Seq;
  readonly ackNumber: Seq;
  readonly flags: number;
  readonly windowLen: number;
  readonly urgentPointer: number;
  readonly options: TcpOptions;
  /** Payload bytes (SYN and FIN occupy sequence space but no payload bytes). */
  readonly payloadLength: number;
  /**
   * When non-zero the segment is a TSO super-segment: the device cuts the payload into
   * segments of `gsoSize` bytes. Zero for ordinary segments.
   */
  readonly gsoSize: number;
  /** Copies the `payloadLength` payload bytes into dst[dstOffset..]. */
  copyPayload(dst: Uint8Array, dstOffset: number): void;
}

export type TcpErrorCode = 'ECONNRESET' | 'ECONNREFUSED' | 'ETIMEDOUT' | 'EHOSTUNREACH' | 'ENETUNREACH' | 'EPIPE';

export type TcpEvent =
  /** The handshake completed (SYN-SENT or SYN-RECEIVED to ESTABLISHED). */
  | { readonly type: 'established' }
  /** In-order data is waiting in the receive queue (raised when the queue goes from empty to non-empty). */
  | { readonly type: 'readable' }
  /** The peer's FIN was accepted: after the queued data, the stream ends. */
  | { readonly type: 'peer-fin' }
  /** `bytes` of our data were newly acknowledged; send-buffer space was freed. */
  | { readonly type: 'acked'; readonly bytes: number }
  /** Our FIN was acknowledged (the write side is completely done). */
  | { readonly type: 'fin-acked' }
  /** The connection failed: RST from the peer, retransmission or keepalive timeout, or an ICMP hard error. */
  | { readonly type: 'error'; readonly code: TcpErrorCode }
  /** The connection reached CLOSED; the host may forget it (after TIME-WAIT, LAST-ACK, an abort, or a reset). */
  | { readonly type: 'closed' }
  /** Every state change, for tracing. */
  | { readonly type: 'state'; readonly from: TcpState; readonly to: TcpState }
  /**
   * A target engine asks to be uploaded (config.role 'target'). From now on it is frozen: it
   * sends nothing, runs no timer, and answers every input with 'tcp-upload-pending' (the owner
   * keeps those segments and hands them to the host after the upload, §4.9 step 6).
   */
  | { readonly type: 'upload-request'; readonly reason: TcpUploadRequestReason };

export interface TcpHooks {
  readonly clock: Clock;
  /**
   * Optional: allocates receive-queue chunks whose contents will be overwritten, so they need
   * not be zeroed (the host passes Node's Buffer.allocUnsafeSlow). Without it the engine uses
   * zeroed Uint8Arrays; the engine itself stays free of any runtime-specific API.
   */
  allocate?(size: number): Uint8Array;
  /** Send one segment. The host adds IP and link headers and computes (or offloads) the checksum. */
  transmit(segment: TcpSegmentOut): void;
  /**
   * Called synchronously from inside input(), poll(), onTimer() and the application calls.
   * The handler may call write(), read(), shutdown() and close(); it should leave poll() and
   * input() to the host's loop (call them after the current call returns).
   */
  event(event: TcpEvent): void;
}

/** What `input` did with a segment: `undefined` when it was accepted, otherwise why it was dropped. */
export type TcpInputVerdict = DropReason | undefined;

/** A snapshot like Linux `struct tcp_info` (values in milliseconds and bytes). */
export interface TcpInfo {
  readonly state: TcpState;
  /** The sequence space (not in Linux TCP_INFO; here for debugging and tools that quote segments). */
  readonly sndUna: number;
  /** Highest sequence number sent (chimney SndMax). */
  readonly sndMax: number;
  readonly rcvNxt: number;
  readonly congestionControl: CongestionControlName;
  readonly caState: 'open' | 'disorder' | 'recovery' | 'loss';
  readonly mss: number;
  readonly peerMss: number;
  readonly cwnd: number;
  readonly ssthresh: number;
  readonly srttMs: number;
  readonly rttvarMs: number;
  readonly rtoMs: number;
  readonly sndWnd: number;
  readonly rcvWnd: number;
  readonly sndWindowScale: number;
  readonly rcvWindowScale: number;
  readonly timestamps: boolean;
  readonly sack: boolean;
  readonly retransmits: number;
  readonly totalRetransmits: number;
  /** Fast recovery episodes entered (DupThresh, SACK or RACK evidence), not the segments resent in them. */
  readonly fastRetransmits: number;
  /** Retransmission timeouts (a RACK- or TLP-triggered retransmission is not one). */
  readonly timeouts: number;
  /** Tail loss probes sent (RFC 8985 §7.3), and those found to have repaired a loss (§7.4). */
  readonly tlpProbes: number;
  readonly tlpRecoveries: number;
  /** Retransmissions of data that RACK (or DupThresh) deemed lost, outside RTO recovery. */
  readonly rackRetransmits: number;
  /** Retransmissions that RACK found lost again (RFC 8985 §6.2 step 5). */
  readonly lostRetransmits: number;
  /** RFC 6675 rescue retransmissions (NextSeg rule (4)). */
  readonly rescueRetransmits: number;
  /** ACKs that carried a D-SACK block (RFC 2883). */
  readonly dsacksReceived: number;
  /** RACK.reordering_seen and the current reordering window RACK.reo_wnd (RFC 8985 §6.2). */
  readonly reorderingSeen: boolean;
  readonly reorderWindowMs: number;
  readonly bytesAcked: number;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly bytesRetransmitted: number;
  readonly segmentsIn: number;
  readonly segmentsOut: number;
  readonly unacked: number;
  readonly sacked: number;
  readonly reorderQueueBytes: number;
  readonly sendQueueBytes: number;
  readonly receiveQueueBytes: number;
  readonly zeroWindowProbes: number;
  readonly keepAliveProbes: number;
  readonly challengeAcks: number;
}
