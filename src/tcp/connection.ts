/**
 * One TCP connection as a pure state machine (RFC 9293), with the extensions a modern stack
 * needs: window scaling, timestamps and PAWS (RFC 7323), SACK (RFC 2018) with RFC 6675 loss
 * recovery, RACK-TLP loss detection (RFC 8985) and Proportional Rate Reduction (RFC 6937) on
 * SACK connections, NewReno (RFC 6582) or CUBIC (RFC 9438), RFC 6298 retransmission timing,
 * RFC 5961 blind-attack mitigations, delayed ACKs, Nagle, keepalive and zero-window probing.
 *
 * It does no I/O: segments come in through `input()`, go out through `hooks.transmit`, time is
 * read from `hooks.clock`, randomness from the injected `Random`. The host calls `poll()` after
 * every received batch and every application call, and `onTimer()` at `nextDeadline()`.
 *
 * The same engine runs in the host stack and in the emulated offload NIC: `exportState()`
 * produces the chimney's TCP_OFFLOAD_STATE_CONST/CACHED/DELEGATED plus the data that travels
 * with them (reference §2.10, §3.3.2), and `fromOffloadState()` resumes a connection from them
 * (§3.2.5), so a live connection can move between two engines without the peer noticing.
 */
import type { Clock } from '../wire/clock.js';
import type { DropReason } from '../wire/drop-reason.js';
import type { Random } from '../wire/random.js';
import { inWindow, seq, seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, u32Diff, u32Lt, type Seq } from '../wire/seq.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG, type TcpOptions, type TcpRepr, type TcpSackBlock } from '../wire/tcp.js';
import { createCongestionControl, type CongestionControl } from './congestion/index.js';
import { checkOffloadRecord } from './import-check.js';
import { chooseWindowScale, clampWindowScale, TIMESTAMPS_OPTION_LEN } from './negotiation.js';
import {
  TCP_FLAG_KEEP_ALIVE_ENABLED,
  TCP_FLAG_NAGLING_ENABLED,
  TCP_FLAG_SACK_ENABLED,
  TCP_FLAG_TIMESTAMP_ENABLED,
  TCP_FLAG_WINDOW_SCALING_ENABLED,
  TcpConnectionClosed,
  TcpConnectionCloseWait,
  TcpConnectionClosing,
  TcpConnectionEstablished,
  TcpConnectionFinWait1,
  TcpConnectionFinWait2,
  TcpConnectionLastAck,
  TcpConnectionListen,
  TcpConnectionSynRcvd,
  TcpConnectionSynSent,
  TcpConnectionTimeWait,
  TIMER_NOT_RUNNING,
  type TcpOffloadSnapshot,
} from './offload-state.js';
import { ReceiveQueue } from './receive-queue.js';
import { Reassembly } from './reassembly.js';
import { ProportionalRateReduction } from './congestion/prr.js';
import { Rack } from './rack.js';
import { RttEstimator } from './rtt.js';
import { EVER_RETRANS, SendMap, UNTIMED } from './send-map.js';
import { OutSegment, type MutableSackBlock, type MutableTimestamps } from './segment-out.js';
import { SendQueue } from './send-queue.js';
import type { TcpConfig, TcpErrorCode, TcpEvent, TcpHooks, TcpInfo, TcpInputVerdict, TcpState, TcpUploadRequestReason } from './types.js';

export interface TcpConnectionOptions {
  config: TcpConfig;
  hooks: TcpHooks;
  random: Random;
  localPort: number;
  remotePort: number;
}

/**
 * The retransmission-class timer. One discriminated union, as the chimney carries one
 * residue for all of them (`Retransmit.TimeoutDelta`, reference §7.5), and as Linux runs
 * them on one timer (icsk_pending): the kind is the one due first. While data is
 * outstanding three deadlines stand behind it: the RTO (RFC 6298), the tail loss probe
 * (RFC 8985 §7) and the RACK reordering timer (RFC 8985 §6.2 step 5); the persist,
 * FIN-WAIT-2 and TIME-WAIT timers run only when nothing is outstanding.
 */
type RetransmitTimerKind = 'idle' | 'retransmit' | 'loss-probe' | 'rack-reorder' | 'persist' | 'fin-wait-2' | 'time-wait';

/** Loss-recovery state, as Linux names it (`tcp_ca_state`) and TcpInfo reports it. */
type CaState = 'open' | 'disorder' | 'recovery' | 'loss';

/**
 * The acceptability verdict of RFC 9293 §3.10.7.4 (with RFC 5961 and RFC 7323 PAWS): what to
 * do with a segment before any of its fields is used (STYLE rule 5).
 */
type Verdict = 'accept' | 'drop' | 'drop-after-ack' | 'drop-after-challenge-ack' | 'drop-with-rst';

/** RFC 5681 §3.2 / RFC 6675 DupThresh. */
const DUP_THRESH = 3;
/** Ticks by which a TSval may lag TS.Recent and still pass PAWS (Linux TCP_PAWS_WINDOW). */
const PAWS_WINDOW = 1;
/** RFC 7323 §5.5: TS.Recent older than 24 days is invalid (the peer's clock may have wrapped). */
const PAWS_IDLE_LIMIT_MS = 24 * 24 * 3600 * 1000;
/** Smallest effective MSS we ever use (Linux TCP_MIN_MSS is 88 including options). */
const MIN_MSS = 64;
/** Largest SACK blocks per segment: 4 fit in 40 option bytes, 3 beside timestamps (RFC 2018 §3). */
const MAX_SACK_BLOCKS = 4;
/**
 * Added to 2 * SRTT in the probe timeout when more than one segment is in flight (Linux
 * TCP_TIMEOUT_MIN_US): the probe must not race the peer's ACK of the last flight.
 */
const PTO_EXTRA_MS = 2;
/** RFC 8985 §7.2: the PTO before any RTT sample. */
const PTO_INITIAL_MS = 1000;
/** Largest backoff exponent kept (the RTO is clamped to rtoMaxMs anyway). */
const MAX_BACKOFF = 30;
/** A 16-bit window field. */
const MAX_WINDOW_FIELD = 0xffff;

const EVENT_ESTABLISHED: TcpEvent = Object.freeze({ type: 'established' });
const EVENT_READABLE: TcpEvent = Object.freeze({ type: 'readable' });
const EVENT_PEER_FIN: TcpEvent = Object.freeze({ type: 'peer-fin' });
const EVENT_FIN_ACKED: TcpEvent = Object.freeze({ type: 'fin-acked' });
const EVENT_CLOSED: TcpEvent = Object.freeze({ type: 'closed' });

/** TCP_OFFLOAD_CONNECTION_STATE values by RFC state name (§2.11). */
/** TCP_OFFLOAD_CONNECTION_STATE of each engine state (reference §2.11). */
export const STATE_NUMBER: Readonly<Record<TcpState, number>> = {
  CLOSED: TcpConnectionClosed,
  LISTEN: TcpConnectionListen,
  'SYN-SENT': TcpConnectionSynSent,
  'SYN-RECEIVED': TcpConnectionSynRcvd,
  ESTABLISHED: TcpConnectionEstablished,
  'FIN-WAIT-1': TcpConnectionFinWait1,
  'FIN-WAIT-2': TcpConnectionFinWait2,
  'CLOSE-WAIT': TcpConnectionCloseWait,
  CLOSING: TcpConnectionClosing,
  'LAST-ACK': TcpConnectionLastAck,
  'TIME-WAIT': TcpConnectionTimeWait,
};

const STATE_BY_NUMBER: readonly TcpState[] = [
  'CLOSED',
  'LISTEN',
  'SYN-SENT',
  'SYN-RECEIVED',
  'ESTABLISHED',
  'FIN-WAIT-1',
  'FIN-WAIT-2',
  'CLOSE-WAIT',
  'CLOSING',
  'LAST-ACK',
  'TIME-WAIT',
];

/** What `sendNewData` did, so the transmit loop knows why it stopped. */
const SENT = 0;
const NOTHING_TO_SEND = 1;
const CWND_LIMITED = 2;
const WINDOW_LIMITED = 3;
const NAGLE_LIMITED = 4;

export class TcpConnection {
  readonly localPort: number;
  readonly remotePort: number;

  private readonly hooks: TcpHooks;
  private readonly clock: Clock;
  private readonly config: TcpConfig;
  private readonly out: OutSegment;
  private readonly outTimestamps: MutableTimestamps = { tsVal: 0, tsEcr: 0 };
  /** Preallocated SACK block arrays of length 1..4, reused for every segment. */
  private readonly sackArrays: MutableSackBlock[][];
  private readonly sackLefts: Seq[] = [];
  private readonly sackRights: Seq[] = [];

  private _state: TcpState = 'CLOSED';
  /** Set by exportState(): the connection now lives elsewhere and this instance is inert. */
  private detached = false;
  /** A target engine asked to be uploaded (config.role 'target'): frozen until exported. */
  private uploadPending = false;
  /** Opened by accept()/fromSynCookie(): an RST in SYN-RECEIVED returns silently (RFC 9293 §3.10.7.4). */
  private passive = false;
  /** close() was called: the FIN-WAIT-2 timeout applies, and new data is answered with RST (RFC 1122 §4.2.2.13). */
  private orphaned = false;
  /** fromSynCookie(): 'established' is announced on the first input or poll, after the host holds the object. */
  private announceEstablished = false;

  // Negotiated options and per-connection settings.
  private tsEnabled = false;
  private sackEnabled = false;
  /** Both SYNs carried the window scale option (RFC 7323 §2.2); the shifts may still be 0. */
  private wsEnabled = false;
  /** Shift applied to windows the peer advertises (RFC 7323 Snd.Wind.Shift). */
  private sndWindowScale = 0;
  /** Shift applied to windows we advertise (Rcv.Wind.Shift). */
  private rcvWindowScale = 0;
  private peerMss: number;
  /** Largest TCP segment (header without options plus data) the path carries; 0 when unknown. */
  private pathMssLimit = 0;
  /** Effective send MSS: payload bytes per segment (RFC 9293 §3.7.1, after options). */
  private mss: number;
  private rcvBufSize: number;
  private noDelay: boolean;
  private keepAliveEnabled: boolean;
  private keepAliveIdleMs: number;
  private keepAliveIntervalMs: number;
  private keepAliveProbeLimit: number;
  /** TSval = clock ticks + offset (RFC 7323 §5.4; the chimney's NicDelta, reference §7.6). */
  private tsOffset = 0;
  private tsRecent = 0;
  /** Clock time TS.Recent was taken (for TsRecentAge and the 24-day PAWS rule). */
  private tsRecentTime = 0;
  /** RCV.NXT as carried by the last ACK we sent (RFC 7323 Last.ACK.sent). */
  private lastAckSent = 0 as Seq;

  // Send sequence space (RFC 9293 §3.3.1).
  private iss = 0 as Seq;
  private sndUna = 0 as Seq;
  /** Highest sequence number sent plus one (the chimney's SndMax; RFC 9293 SND.NXT for new data). */
  private sndMax = 0 as Seq;
  private sndWnd = 0;
  private maxSndWnd = 0;
  private sndWl1 = 0 as Seq;
  private sndWl2 = 0 as Seq;
  /** Sequence number of the send queue's first byte. */
  private sndDataBase = 0 as Seq;
  private readonly sendQueue: SendQueue;
  /** End of the last segment shorter than the MSS that we sent (Minshall's Nagle variant, Linux snd_sml). */
  private sndSml = 0 as Seq;
  /** The application asked for a FIN after the queued data. */
  private finQueued = false;
  private finSent = false;
  /** SYN or SYN-ACK transmitted at least once. */
  private synSent = false;
  private synRetransmitted = false;

  // Receive sequence space.
  private irs = 0 as Seq;
  private rcvNxt = 0 as Seq;
  /** Right edge of the window last advertised: never moves left (RFC 9293 §3.8.6.2.2, RFC 7323 §2.4). */
  private rcvAdv = 0 as Seq;
  private readonly receiveQueue: ReceiveQueue;
  private readonly reassembly: Reassembly;
  private peerFinReceived = false;
  /** A FIN that arrived beyond a hole: it takes effect when RCV.NXT reaches it. */
  private pendingFin = false;
  private pendingFinSeq = 0 as Seq;
  /** Largest segment payload seen from the peer (the receiver's estimate of the peer's MSS). */
  private rcvMss: number;
  /** An ACK must go out on the next poll without delay (FIN, filled hole, window update, handshake). */
  private ackNow = false;
  /** A D-SACK block (RFC 2883) to report first in the next ACK. */
  private dsackPending = false;
  private dsackLeft = 0 as Seq;
  private dsackRight = 0 as Seq;

  // Loss recovery (RFC 6675, RFC 6582, RFC 5681, RFC 8985, RFC 6937).
  private caState: CaState = 'open';
  private dupAcks = 0;
  /** RFC 6675 RecoveryPoint / RFC 6582 recover: no new recovery until SND.UNA reaches it. */
  private recoveryPoint = 0 as Seq;
  /** Send the first lost segment regardless of cwnd (RFC 6675 §5 step 4.3, RFC 6582 steps 2 and 5). */
  private forceRetransmit = false;
  /**
   * Transmit time and SACKed/lost/retransmitted state of every range in [SND.UNA, SND.MAX):
   * the RFC 6675 scoreboard and the RFC 8985 per-segment transmit times in one structure.
   */
  private readonly sendMap = new SendMap();
  private readonly rack = new Rack();
  private readonly prr = new ProportionalRateReduction();
  /** RACK and TLP run on SACK connections when configured (RFC 8985 requires SACK, as Linux does). */
  private rackEnabled: boolean;
  private tlpEnabled: boolean;
  /**
   * RFC 8985 §7: TLP.end_seq of the probe whose outcome is still open (no new probe until it
   * is known), and where the probe started. Our probes are always retransmissions
   * (TLP.is_retrans; see sendLossProbe).
   */
  private tlpPending = false;
  private tlpEndSeq = 0 as Seq;
  private tlpStartSeq = 0 as Seq;
  // Per-ACK scratch for the SendMap callbacks (bound once: no allocation per ACK).
  private ackDelivered = 0;
  private ackClock = 0;
  private ackTsEcr = -1;
  private ackNewlyLost = 0;
  private readonly onDelivered = (i: number, from: Seq, to: Seq): void => this.delivered(i, from, to);
  private readonly onRackLost = (i: number): void => this.rackLost(i);
  private readonly cc: CongestionControl;
  /** The last transmit loop stopped because of cwnd (RFC 7661 / Linux tcp_is_cwnd_limited). */
  private cwndLimited = false;
  /** Clock time the last data or FIN segment went out (Linux lsndtime): idle time for the controller. */
  private lastSendTime = 0;

  // RTT and retransmission timing (RFC 6298).
  private readonly rtt: RttEstimator;
  private backoff = 0;
  /** Karn-rule timing of one segment when timestamps are off. */
  private rttTiming = false;
  private rttSeq = 0 as Seq;
  private rttStart = 0;
  /** Retransmissions of the current segment, or probes sent in the current persist round (chimney Retransmit.Count). */
  private retransmitCount = 0;
  /** Clock time of the first retransmission of the current segment (chimney TotalRT); -1 when none. */
  private totalRtStart = -1;
  /** TSval of our latest retransmission; outside the open state an older echo is ambiguous (see ackRttSample). */
  private lastRetransmitTs = 0;
  /** Persist round (chimney SndWndProbeCount, reference §7.5.4). */
  private persistRound = 0;

  // Timers: the retransmit-class union, and separate keepalive and delayed-ACK deadlines.
  private timerKind: RetransmitTimerKind = 'idle';
  private timerDeadline = Infinity;
  /** The deadlines behind the union while data is outstanding (Infinity when not armed). */
  private rtoDeadline = Infinity;
  private probeDeadline = Infinity;
  private reorderDeadline = Infinity;
  private keepAliveDeadline = Infinity;
  private keepAliveProbes = 0;
  private delayedAckDeadline = Infinity;
  /** Clock time of the last acceptable segment (keepalive idle time). */
  private lastReceiveTime = 0;

  // RFC 5961 §7 challenge-ACK rate limit.
  private challengeWindowStart = -Infinity;
  /** Set by classify() for every verdict but 'accept'. */
  private dropReason: DropReason = 'tcp-outside-window';
  private challengeCount = 0;
  /** The last ICMP soft error (RFC 1122 §4.2.3.9), reported instead of ETIMEDOUT as Linux does. */
  private softError: TcpErrorCode | undefined;

  // Statistics for info().
  private statTotalRetransmits = 0;
  private statFastRetransmits = 0;
  private statTimeouts = 0;
  private statTlpProbes = 0;
  private statTlpRecoveries = 0;
  private statRackRetransmits = 0;
  private statLostRetransmits = 0;
  private statDsacks = 0;
  private statRescueRetransmits = 0;
  private statBytesAcked = 0;
  private statBytesReceived = 0;
  private statBytesSent = 0;
  private statBytesRetransmitted = 0;
  private statSegmentsIn = 0;
  private statSegmentsOut = 0;
  private statZeroWindowProbes = 0;
  private statKeepAliveProbes = 0;
  private statChallengeAcks = 0;

  private constructor(o: TcpConnectionOptions, state: TcpState) {
    this.config = o.config;
    this.hooks = o.hooks;
    this.clock = o.hooks.clock;
    // One allocator for both queues' chunks (the host's skips the zero fill).
    const allocate = o.hooks.allocate?.bind(o.hooks);
    this.receiveQueue = new ReceiveQueue(allocate);
    this.sendQueue = new SendQueue(allocate);
    this.localPort = o.localPort;
    this.remotePort = o.remotePort;
    // The initial state is set here, not through setState(): no 'state' event fires while the
    // host is still constructing the object (its event handler may not yet know it).
    this._state = state;
    const c = o.config;
    this.rcvBufSize = c.rcvBufSize;
    this.noDelay = c.noDelay;
    this.keepAliveEnabled = c.keepAlive.enabled;
    this.keepAliveIdleMs = c.keepAlive.idleMs;
    this.keepAliveIntervalMs = c.keepAlive.intervalMs;
    this.keepAliveProbeLimit = c.keepAlive.probes;
    this.peerMss = c.defaultPeerMss;
    this.mss = Math.max(MIN_MSS, Math.min(c.mss, c.defaultPeerMss));
    this.rcvMss = Math.min(c.mss, c.defaultPeerMss);
    this.reassembly = new Reassembly(c.reassemblyLimitBytes);
    this.rtt = new RttEstimator(c.rtoInitialMs, c.rtoMinMs, c.rtoMaxMs, 1000 / c.ticksPerSecond);
    this.rackEnabled = c.rack;
    this.tlpEnabled = c.tailLossProbe;
    this.cc = createCongestionControl(c.congestionControl, c.initialCwndSegments * this.mss);
    this.out = new OutSegment(o.localPort, o.remotePort, this.sendQueue);
    this.sackArrays = [];
    for (let n = 0; n <= MAX_SACK_BLOCKS; n++) {
      const arr: MutableSackBlock[] = [];
      for (let k = 0; k < n; k++) arr.push({ left: 0 as Seq, right: 0 as Seq });
      this.sackArrays.push(arr);
    }
    this.lastReceiveTime = this.clock.now();
  }

  // ---------------------------------------------------------------------------------------
  // Opening
  // ---------------------------------------------------------------------------------------

  /** Active open (RFC 9293 §3.10.1): the SYN goes out on the first poll(). */
  static connect(o: TcpConnectionOptions & { iss: Seq }): TcpConnection {
    const c = new TcpConnection(o, 'SYN-SENT');
    c.initSend(o.iss);
    c.tsOffset = o.random.nextU32();
    c.rcvWindowScale = o.config.windowScaling ? chooseWindowScale(c.rcvBufSize) : 0;
    return c;
  }

  /**
   * Passive open from a received SYN (RFC 9293 §3.10.7.2): the connection starts in
   * SYN-RECEIVED and sends its SYN-ACK on poll(). Data in the SYN is ignored, as Linux does
   * without TCP Fast Open; the peer retransmits it.
   */
  static accept(o: TcpConnectionOptions & { syn: TcpRepr; iss: Seq }): TcpConnection {
    const c = new TcpConnection(o, 'SYN-RECEIVED');
    c.passive = true;
    c.initSend(o.iss);
    c.tsOffset = o.random.nextU32();
    c.irs = o.syn.seqNumber;
    c.rcvNxt = seqAdd(c.irs, 1);
    c.lastAckSent = c.irs;
    c.negotiate(o.syn.options, c.clock.now());
    c.rcvAdv = seqAdd(c.rcvNxt, Math.min(c.rcvBufSize, MAX_WINDOW_FIELD));
    // RFC 7323 §2.2: the window of a SYN is never scaled.
    c.sndWnd = o.syn.windowLen;
    c.maxSndWnd = c.sndWnd;
    c.sndWl1 = o.syn.seqNumber;
    c.sndWl2 = c.iss;
    return c;
  }

  /**
   * A connection rebuilt from a validated SYN-cookie ACK (`decodeSynCookie`): ESTABLISHED at
   * once. The ACK itself is then passed to input() (it may carry data). Timestamps continue
   * from the cookie's clock (offset 0, see syn-cookie.ts), so our TSvals stay monotonic.
   */
  static fromSynCookie(
    o: TcpConnectionOptions & {
      ack: TcpRepr;
      iss: Seq;
      irs: Seq;
      peerMss: number;
      peerWindowScale?: number;
      sackPermitted: boolean;
      tsRecent?: number;
    },
  ): TcpConnection {
    const c = new TcpConnection(o, 'ESTABLISHED');
    const now = c.clock.now();
    c.passive = true;
    c.initSend(o.iss);
    c.sndUna = seqAdd(o.iss, 1);
    c.sndMax = c.sndUna;
    c.sndDataBase = c.sndUna;
    c.irs = o.irs;
    c.rcvNxt = seqAdd(o.irs, 1);
    c.lastAckSent = c.rcvNxt;
    c.peerMss = Math.max(MIN_MSS, o.peerMss);
    if (o.peerWindowScale !== undefined && o.config.windowScaling) {
      c.wsEnabled = true;
      c.sndWindowScale = clampWindowScale(o.peerWindowScale);
      c.rcvWindowScale = chooseWindowScale(c.rcvBufSize);
    }
    c.sackEnabled = o.sackPermitted && o.config.sack;
    if (o.tsRecent !== undefined && o.config.timestamps) {
      c.tsEnabled = true;
      c.tsRecent = o.tsRecent;
      c.tsRecentTime = now;
    }
    c.tsOffset = 0;
    c.updateMss();
    // The cookie's SYN-ACK advertised an unscaled window of min(buffer, 65535).
    c.rcvAdv = seqAdd(c.rcvNxt, Math.min(c.rcvBufSize, MAX_WINDOW_FIELD));
    // Let the ACK (seq = irs + 1) update the send window.
    c.sndWl1 = o.irs;
    c.sndWl2 = c.sndUna;
    c.synSent = true;
    c.cc.restore(c.initialWindow(), c.cc.ssthresh);
    c.recoveryPoint = c.sndUna;
    c.sendMap.reset(c.sndUna);
    c.rack.reset(c.sndUna);
    c.announceEstablished = true;
    c.armKeepAlive(now);
    return c;
  }

  /**
   * Resumes a connection from chimney state (reference §3.2.5 at offload, §3.3.2 at upload):
   * sequence space, windows, congestion state, RTT estimator, timestamps with TSval
   * continuity (NicDelta = TsTime - now, §7.6), timer residues, and the data that travels
   * with the state. Cached variables override the corresponding configuration.
   */
  /**
   * fromOffloadState() behind checkOffloadRecord(): a record that does not describe a live
   * connection the importer (config.role) may take gives its reason instead of an engine.
   */
  static importOffloadState(
    o: Omit<TcpConnectionOptions, 'localPort' | 'remotePort'> & { snapshot: TcpOffloadSnapshot },
  ): { readonly connection: TcpConnection; readonly reason?: undefined } | { readonly connection?: undefined; readonly reason: string } {
    const reason = checkOffloadRecord(o.snapshot, o.config.role);
    if (reason !== undefined) return { reason };
    return { connection: TcpConnection.fromOffloadState(o) };
  }

  static fromOffloadState(o: Omit<TcpConnectionOptions, 'localPort' | 'remotePort'> & { snapshot: TcpOffloadSnapshot }): TcpConnection {
    const s = o.snapshot;
    const k = s.const;
    const ca = s.cached;
    const d = s.delegated;
    const tps = o.config.ticksPerSecond;
    const ticksToMs = (t: number): number => (t * 1000) / tps;
    const config: TcpConfig = {
      ...o.config,
      rcvBufSize: ca.InitialRcvWnd > 0 ? ca.InitialRcvWnd : o.config.rcvBufSize,
      noDelay: (ca.Flags & TCP_FLAG_NAGLING_ENABLED) === 0,
      keepAlive: {
        enabled: (ca.Flags & TCP_FLAG_KEEP_ALIVE_ENABLED) !== 0,
        idleMs: ca.KaTimeout > 0 ? ticksToMs(ca.KaTimeout) : o.config.keepAlive.idleMs,
        intervalMs: ca.KaInterval > 0 ? ticksToMs(ca.KaInterval) : o.config.keepAlive.intervalMs,
        probes: ca.KaProbeCount > 0 ? ca.KaProbeCount : o.config.keepAlive.probes,
      },
    };
    const state = STATE_BY_NUMBER[d.State] ?? 'CLOSED';
    const c = new TcpConnection({ config, hooks: o.hooks, random: o.random, localPort: k.LocalPort, remotePort: k.RemotePort }, state);
    const now = c.clock.now();
    c.tsEnabled = (k.Flags & TCP_FLAG_TIMESTAMP_ENABLED) !== 0;
    c.sackEnabled = (k.Flags & TCP_FLAG_SACK_ENABLED) !== 0;
    if ((k.Flags & TCP_FLAG_WINDOW_SCALING_ENABLED) !== 0) {
      c.wsEnabled = true;
      c.sndWindowScale = clampWindowScale(k.SndWindScale);
      c.rcvWindowScale = clampWindowScale(k.RcvWindScale);
    }
    c.peerMss = Math.max(MIN_MSS, k.RemoteMss);
    c.updateMss();
    c.rcvMss = Math.max(MIN_MSS, config.mss - (c.tsEnabled ? TIMESTAMPS_OPTION_LEN : 0));
    c.synSent = true;

    // Send side: sendData starts at SndUna (§4.1.4). The FIN, when queued, follows the data;
    // in FIN-WAIT-2 and TIME-WAIT it has been acknowledged (SndUna counts it).
    c.iss = seqAdd(seq(d.SndUna), -1);
    c.sndUna = seq(d.SndUna);
    c.sndMax = seq(d.SndMax);
    c.sndDataBase = c.sndUna;
    c.sndSml = c.sndUna;
    for (const chunk of s.sendData) c.sendQueue.push(chunk);
    c.finQueued = s.finQueued;
    if (state === 'FIN-WAIT-2' || state === 'TIME-WAIT') {
      c.finQueued = true;
      c.finSent = true;
      c.sndDataBase = seqAdd(c.sndUna, -1);
    } else if (c.finQueued) {
      c.finSent = seqGt(c.sndMax, seqAdd(c.sndDataBase, c.sendQueue.length));
    }
    c.sndWnd = d.SndWnd;
    c.maxSndWnd = Math.max(d.MaxSndWnd, d.SndWnd);
    c.sndWl1 = seq(d.SendWL1);
    c.sndWl2 = c.sndUna;
    const sndNxt = seq(d.SndNxt);
    c.recoveryPoint = c.sndUna;
    // The chimney carries no per-segment transmit times (and SACKed-only data was dropped,
    // §3.3.2 step 2): everything outstanding is one range sent at an unknown time, before
    // anything this engine sends. RACK learns from what is sent from here on.
    c.sendMap.reset(c.sndUna);
    c.rack.reset(c.sndUna);
    if (c.sndMax !== c.sndUna) c.sendMap.append(c.sndUna, c.sndMax, now, UNTIMED);
    if (seqLt(sndNxt, c.sndMax) && seqGe(sndNxt, c.sndUna)) {
      // A rewound SndNxt means a go-back-N retransmission was in progress (after an RTO):
      // everything is lost, and [SND.UNA, SndNxt) has been resent.
      c.caState = 'loss';
      c.sendMap.markLostBelow(c.sndMax, false);
      if (sndNxt !== c.sndUna) c.sendMap.markRetransmitted(c.sendMap.first, sndNxt, now);
      c.recoveryPoint = c.sndMax;
    } else if (d.DupAckCount >= DUP_THRESH && c.sndMax !== c.sndUna) {
      // Fast recovery was in progress: stay in it without a second window reduction.
      c.caState = 'recovery';
      c.recoveryPoint = c.sndMax;
      c.prr.start(seqDiff(c.sndMax, c.sndUna));
    }
    c.dupAcks = d.DupAckCount;
    c.cc.restore(d.CWnd, d.SsThresh);
    c.rtt.restore(ticksToMs(d.SRtt / 8), ticksToMs(d.RttVar / 4));

    // Timestamps (§7.6): continue TSval from TsTime; TS.Recent with its age.
    if (c.tsEnabled) {
      c.tsOffset = (d.TsTime - c.tsClock(now)) >>> 0;
      c.tsRecent = d.TsRecent >>> 0;
      c.tsRecentTime = now - ticksToMs(d.TsRecentAge);
    }
    c.totalRtStart = d.TotalRT > 0 ? now - ticksToMs(d.TotalRT) : -1;

    // Receive side: RcvWnd fixes the right edge the peer knows (it must not move left).
    c.irs = seqAdd(seq(d.RcvNxt), -1);
    c.rcvNxt = seq(d.RcvNxt);
    c.rcvAdv = seqAdd(c.rcvNxt, d.RcvWnd);
    c.lastAckSent = c.rcvNxt;
    c.peerFinReceived = s.peerFinReceived;
    for (const chunk of s.bufferedData) c.receiveQueue.append(chunk, 0, chunk.length);

    // Timers from residues (§3.2.5): -1 = not running, otherwise ticks from now.
    c.retransmitCount = d.Retransmit.Count;
    const rt = d.Retransmit.TimeoutDelta;
    const rtDeadline = rt === TIMER_NOT_RUNNING ? Infinity : now + ticksToMs(rt);
    switch (state) {
      case 'TIME-WAIT':
        // The target does not run 2MSL itself (§7.5); whoever imports TIME-WAIT runs the rest of it.
        c.setTimer('time-wait', rt === TIMER_NOT_RUNNING ? now + config.timeWaitMs : rtDeadline);
        break;
      case 'FIN-WAIT-2':
        if (rt !== TIMER_NOT_RUNNING) {
          // Only orphaned connections run the FIN-WAIT-2 timer.
          c.orphaned = true;
          c.setTimer('fin-wait-2', rtDeadline);
        }
        break;
      case 'CLOSED':
        break;
      default:
        if (c.sndUna !== c.sndMax) {
          c.backoff = Math.min(c.retransmitCount, MAX_BACKOFF);
          const fresh = now + c.rtt.backedOff(c.backoff);
          if (rt !== TIMER_NOT_RUNNING && c.retransmitCount === 0 && c.caState === 'open' && c.tlpActive()) {
            // The residue is the earliest retransmit-class deadline, which may have been a
            // probe or RACK timer rather than the RTO (no RTO has fired: Count is 0). Resume
            // it as a tail loss probe, the cheapest of the three, and keep an RTO behind it.
            c.probeDeadline = rtDeadline;
            c.rtoDeadline = Math.max(rtDeadline, fresh);
            c.refreshTimer();
          } else {
            c.armRto(rt === TIMER_NOT_RUNNING ? fresh : rtDeadline);
          }
        } else if (rt !== TIMER_NOT_RUNNING) {
          // Nothing outstanding but a timer running: the persist timer (§7.5.4).
          c.persistRound = d.SndWndProbeCount;
          c.setTimer('persist', rtDeadline);
        }
    }
    c.keepAliveProbes = d.KeepAlive.ProbeCount;
    const ka = d.KeepAlive.TimeoutDelta;
    if (ka !== TIMER_NOT_RUNNING) {
      c.keepAliveDeadline = now + ticksToMs(ka);
      c.lastReceiveTime = c.keepAliveProbes > 0 ? now : c.keepAliveDeadline - c.keepAliveIdleMs;
    } else {
      c.armKeepAlive(now);
    }
    return c;
  }

  // ---------------------------------------------------------------------------------------
  // Public accessors and application calls
  // ---------------------------------------------------------------------------------------

  get state(): TcpState {
    return this._state;
  }

  /** Bytes not yet acknowledged by the peer: sent-but-unacknowledged plus unsent. */
  get sendQueueLength(): number {
    return this.sendQueue.length;
  }

  /** In-order bytes waiting for read(). */
  get readableLength(): number {
    return this.receiveQueue.length;
  }

  /**
   * Appends a copy of `data` to the send queue: the caller may reuse its buffer as soon as this
   * returns. With `stable`, `data` lies in memory marked by `stableBuffer` and is queued by
   * reference instead.
   */
  write(data: Uint8Array, stable = false): void {
    this.checkAttached('write');
    if (this.finQueued || !this.canWrite()) {
      throw Object.assign(new Error(`write in state ${this._state}${this.finQueued ? ' after shutdown' : ''}`), { code: 'EPIPE' });
    }
    if (stable) this.sendQueue.pushStable(data);
    else this.sendQueue.push(data);
  }

  /**
   * Takes up to `max` bytes of in-order data. The receive window opens as data is read: the
   * right edge may move once the free space exceeds the advertised window by
   * min(RCV.BUFF / 2, MSS) (receiver SWS avoidance, RFC 9293 §3.8.6.2.2), and it moves with
   * the next segment we send. A separate window update goes out on the next poll() only when
   * the sender may be held back by our window: the open window is at most half the buffer
   * and the new one is at least twice it (Linux tcp_cleanup_rbuf), so a steady reader does
   * not double the ACK rate.
   */
  read(max = Infinity): Uint8Array | undefined {
    if (this.detached) return undefined;
    const view = this.receiveQueue.read(max);
    if (view !== undefined && this.isSynchronized() && !this.peerFinReceived) {
      const current = this.advertisedWindow();
      if (2 * current <= this.rcvBufSize) {
        const free = this.freeReceiveSpace();
        if (free - current >= this.receiverSwsThreshold() && free >= 2 * current) this.markAckNow(this.clock.now());
      }
    }
    return view;
  }

  /**
   * Copies up to `length` in-order received bytes, from `offset` past the front, into `dst`
   * without consuming them: the offload target's delivery algorithm looks before it knows how
   * much the host takes (reference §4.3.2 partial acceptance). Returns the bytes copied.
   */
  peekReceived(dst: Uint8Array, dstOffset: number, offset: number, length: number): number {
    let skip = offset;
    let done = 0;
    for (const view of this.receiveQueue.views()) {
      if (done === length) break;
      if (skip >= view.length) {
        skip -= view.length;
        continue;
      }
      const n = Math.min(view.length - skip, length - done);
      dst.set(view.subarray(skip, skip + n), dstOffset + done);
      done += n;
      skip = 0;
    }
    return done;
  }

  /**
   * Sends the ACK that is due now, if any (the delayed ACK included): before a hand-over the
   * owner flushes it so the record and the wire agree (reference §3.2.4, §3.3.2 step 3).
   */
  sendPendingAck(): void {
    if (this.detached || !this.isSynchronized()) return;
    if (this.ackNow || this.rcvNxt !== this.lastAckSent) this.sendAck();
    this.delayedAckDeadline = Infinity;
  }

  /** Drops `n` delivered bytes from the front; the window opens as for read(). */
  consumeReceived(n: number): void {
    let left = n;
    while (left > 0) {
      const view = this.read(left);
      if (view === undefined) break;
      left -= view.length;
    }
  }

  /** Half-close: a FIN follows the queued data (RFC 9293 §3.10.4 CLOSE for the send side). */
  shutdown(): void {
    this.checkAttached('shutdown');
    if (this.finQueued) return;
    switch (this._state) {
      case 'SYN-SENT':
      case 'SYN-RECEIVED':
        // RFC 9293 §3.10.4: queue the FIN until the connection is established.
        this.finQueued = true;
        return;
      case 'ESTABLISHED':
        this.finQueued = true;
        this.setState('FIN-WAIT-1');
        return;
      case 'CLOSE-WAIT':
        this.finQueued = true;
        this.setState('LAST-ACK');
        return;
      default:
        return;
    }
  }

  /**
   * Full close by the application: shutdown, and the connection is orphaned (the FIN-WAIT-2
   * timeout applies). With unread data queued the connection is reset instead (RFC 1122
   * §4.2.2.13, as Linux does), so the peer learns that data was lost.
   */
  close(): void {
    this.checkAttached('close');
    const now = this.clock.now();
    switch (this._state) {
      case 'CLOSED':
      case 'LISTEN':
        return;
      case 'SYN-SENT':
        this.terminate(undefined);
        return;
      default:
        break;
    }
    if (this.receiveQueue.length > 0 && this.isResettable()) {
      this.sendRst(this.sndMax, this.rcvNxt, true);
      this.terminate(undefined);
      return;
    }
    this.shutdown();
    this.orphaned = true;
    if (this._state === 'FIN-WAIT-2' && this.timerKind === 'idle') this.setTimer('fin-wait-2', now + this.config.finWait2TimeoutMs);
  }

  /** Abortive close: RST now when synchronized (RFC 9293 §3.10.5 ABORT), then CLOSED. No 'error' event. */
  abort(): void {
    if (this.detached || this._state === 'CLOSED') return;
    if (this.isResettable()) this.sendRst(this.sndMax, this.rcvNxt, true);
    this.terminate(undefined);
  }

  setNoDelay(on: boolean): void {
    this.noDelay = on;
  }

  /** Turns keepalive on or off (RFC 1122 §4.2.3.6); the idle period restarts from now. */
  setKeepAlive(enabled: boolean, idleMs?: number): void {
    this.keepAliveEnabled = enabled;
    if (idleMs !== undefined) this.keepAliveIdleMs = idleMs;
    this.keepAliveProbes = 0;
    if (!enabled) {
      this.keepAliveDeadline = Infinity;
      return;
    }
    const now = this.clock.now();
    this.lastReceiveTime = now;
    this.armKeepAlive(now);
  }

  /**
   * A too-big report (ICMP fragmentation-needed, RFC 1191; ICMPv6 packet-too-big, RFC 8201)
   * or the path cache's estimate for a new connection: the path limit only ever falls here.
   * A report above the current limit is ignored: RFC 1191 §3 and RFC 8201 §4 never raise the
   * estimate on such a message (only aging may, and that would be an operation of its own),
   * as Linux tcp_v4_mtu_reduced acts only when the MTU is below icsk_pmtu_cookie. Data in
   * flight that no longer fits is retransmitted at the new size, without a congestion
   * response (RFC 1191 §6.5, Linux tcp_simple_retransmit).
   */
  lowerPathMtu(mtu: number, ipHeaderLen: number): void {
    const limit = Math.max(MIN_MSS, mtu - ipHeaderLen - 20);
    if (this.pathMssLimit > 0 && limit >= this.pathMssLimit) return;
    this.pathMssLimit = limit;
    const old = this.mss;
    this.updateMss();
    if (this.mss < old && this.isSynchronized() && this.sndUna !== this.sndMax) {
      this.caState = 'loss';
      this.recoveryPoint = this.sndMax;
      this.sendMap.markLostBelow(this.sndMax, false);
      this.probeDeadline = Infinity;
      this.reorderDeadline = Infinity;
      this.refreshTimer();
      this.forceRetransmit = true;
      this.rttTiming = false;
    }
  }

  /**
   * Whether an ICMP error quoting sequence number `seq` can be about a segment this connection
   * sent: SND.UNA <= seq <= SND.NXT (RFC 5927 §4.1, Linux tcp_v4_err's between()). Anyone can
   * send an ICMP error naming our ports; only one quoting our sequence space is acted on.
   */
  icmpSequenceAcceptable(seq: Seq): boolean {
    return seqLe(this.sndUna, seq) && seqLe(seq, this.sndMax);
  }

  /**
   * An ICMP destination-unreachable for this connection. RFC 1122 §4.2.3.9: a soft error
   * while synchronized (recorded, and reported if the connection later times out); fatal while
   * the SYN is unanswered, as Linux treats it.
   */
  icmpUnreachable(code: 'ECONNREFUSED' | 'EHOSTUNREACH' | 'ENETUNREACH'): void {
    if (this.detached || this._state === 'CLOSED') return;
    if (this._state === 'SYN-SENT') {
      this.terminate(code);
      return;
    }
    this.softError = code;
  }

  /**
   * RFC 6191 / RFC 9293 §3.6.1: whether a SYN arriving for this connection in TIME-WAIT may
   * open a new incarnation (its timestamp, or without timestamps its sequence number, is
   * beyond the old connection's). The host then abort()s this connection (silent in
   * TIME-WAIT) and accept()s the SYN; otherwise it passes the SYN to input().
   */
  timeWaitAcceptsSyn(syn: TcpRepr): boolean {
    if (this._state !== 'TIME-WAIT' || (syn.flags & (TCP_SYN | TCP_ACK | TCP_RST)) !== TCP_SYN) return false;
    const ts = syn.options.timestamps;
    if (this.tsEnabled && ts !== undefined) return u32Lt(this.tsRecent, ts.tsVal);
    return seqGt(syn.seqNumber, this.rcvNxt);
  }

  // ---------------------------------------------------------------------------------------
  // Segment arrival (RFC 9293 §3.10.7)
  // ---------------------------------------------------------------------------------------

  /**
   * Processes one received segment. Its payload is only valid during the call. Returns
   * undefined when the segment was accepted, otherwise the drop reason ('tcp-zero-window'
   * when the ACK was used but the data did not fit). Only immediate replies are transmitted
   * from here: RSTs, challenge ACKs, the ACK owed to an unacceptable segment (RFC 9293
   * §3.10.7.4 first check) and duplicate ACKs for out-of-order or duplicate data (RFC 5681
   * §4.2). Cumulative ACKs and data wait for poll(), so a batch is answered by one ACK.
   */
  input(segment: TcpRepr): TcpInputVerdict {
    if (this.detached || this._state === 'CLOSED' || this._state === 'LISTEN') return 'tcp-closed';
    if (this.uploadPending) return 'tcp-upload-pending';
    this.statSegmentsIn++;
    const now = this.clock.now();
    if (this.announceEstablished) {
      this.announceEstablished = false;
      this.emit(EVENT_ESTABLISHED);
    }
    if (this._state === 'SYN-SENT') return this.inputSynSent(segment, now);
    const verdict = this.classify(segment, now);
    switch (verdict) {
      case 'accept':
        return this.processAccepted(segment, now);
      case 'drop':
        return this.dropReason;
      case 'drop-after-ack':
        if (segment.payload.length > 0 && seqLe(seqAdd(segment.seqNumber, segment.payload.length), this.rcvNxt)) {
          // A duplicate of data already received: report it with a D-SACK block (RFC 2883 §4).
          this.setDsack(segment.seqNumber, seqAdd(segment.seqNumber, segment.payload.length));
        }
        if (this._state === 'TIME-WAIT' && (segment.flags & TCP_FIN) !== 0) {
          // RFC 9293 §3.10.7.4 eighth step: a retransmitted FIN restarts the 2 MSL timeout.
          this.setTimer('time-wait', now + this.config.timeWaitMs);
        }
        this.sendAck();
        return this.dropReason;
      case 'drop-after-challenge-ack':
        this.sendChallengeAck(now);
        return this.dropReason;
      case 'drop-with-rst':
        // The offload target originates an RST only for an abortive disconnect (reference §4.7.2).
        if (this.config.role === 'host') this.sendRst(segment.ackNumber, 0 as Seq, false);
        return this.dropReason;
    }
  }

  /**
   * RFC 9293 §3.10.7.4 first to fifth checks, as one switch over (state, control, ack), with
   * RFC 5961 (§3.2 RST, §4.2 SYN, §5.2 ACK) and RFC 7323 §5.3 PAWS folded in. Decides before
   * any field of the segment is used.
   */
  private classify(seg: TcpRepr, now: number): Verdict {
    const flags = seg.flags;
    const control = (flags & TCP_RST) !== 0 ? 'rst' : (flags & TCP_SYN) !== 0 ? 'syn' : (flags & TCP_ACK) !== 0 ? 'ack' : 'none';
    const acceptable = this.sequenceAcceptable(seg);
    switch (this._state) {
      case 'SYN-RECEIVED':
        switch (control) {
          case 'rst':
            if (seg.seqNumber === this.rcvNxt) return 'accept';
            return this.reject(acceptable ? 'drop-after-challenge-ack' : 'drop', acceptable ? 'tcp-rst-challenged' : 'tcp-rst-outside-window');
          case 'syn':
            // A retransmitted SYN is answered with our SYN-ACK again (Linux tcp_check_req);
            // any other SYN gets a challenge ACK (RFC 5961 §4.2), which here is the SYN-ACK too.
            if (seg.seqNumber === this.irs && (flags & TCP_ACK) === 0) return this.reject('drop-after-ack', 'tcp-outside-window');
            return this.reject('drop-after-challenge-ack', 'tcp-syn-challenged');
          case 'none':
            return this.reject('drop', 'tcp-bad-flags');
          case 'ack':
            if (this.pawsRejects(seg, now)) return this.reject('drop-after-ack', 'tcp-paws-rejected');
            if (!acceptable) return this.reject('drop-after-ack', 'tcp-outside-window');
            // RFC 9293: SND.UNA < SEG.ACK =< SND.NXT, else <SEQ=SEG.ACK><CTL=RST>.
            if (!seqGt(seg.ackNumber, this.sndUna)) return this.reject('drop-with-rst', 'tcp-old-ack');
            if (seqGt(seg.ackNumber, this.sndMax)) return this.reject('drop-with-rst', 'tcp-future-ack');
            return 'accept';
        }
        break;
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
        switch (control) {
          case 'rst':
            // RFC 5961 §3.2: reset only on an exact match; in-window otherwise is challenged.
            if (!acceptable) return this.reject('drop', 'tcp-rst-outside-window');
            if (seg.seqNumber === this.rcvNxt) return 'accept';
            return this.reject('drop-after-challenge-ack', 'tcp-rst-challenged');
          case 'syn':
            // RFC 5961 §4.2: any SYN in a synchronized state is challenged; one outside the
            // window gets the ordinary (unthrottled) ACK of the first check.
            if (!acceptable) return this.reject('drop-after-ack', 'tcp-outside-window');
            return this.reject('drop-after-challenge-ack', 'tcp-syn-challenged');
          case 'none':
            if (!acceptable) return this.reject('drop-after-ack', 'tcp-outside-window');
            return this.reject('drop', 'tcp-bad-flags');
          case 'ack':
            if (this.pawsRejects(seg, now)) return this.reject('drop-after-ack', 'tcp-paws-rejected');
            if (!acceptable) return this.reject('drop-after-ack', 'tcp-outside-window');
            // RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT].
            if (seqGt(seg.ackNumber, this.sndMax)) return this.reject('drop-after-challenge-ack', 'tcp-future-ack');
            if (seqLt(seg.ackNumber, seqAdd(this.sndUna, -this.maxSndWnd))) return this.reject('drop-after-challenge-ack', 'tcp-old-ack');
            return 'accept';
        }
        break;
      case 'CLOSED':
      case 'LISTEN':
      case 'SYN-SENT':
        break;
    }
    return this.reject('drop', 'tcp-closed');
  }

  private reject(verdict: Verdict, reason: DropReason): Verdict {
    this.dropReason = reason;
    return verdict;
  }

  /** RFC 9293 §3.10.7.4, the four cases of segment acceptability. */
  private sequenceAcceptable(seg: TcpRepr): boolean {
    let len = seg.payload.length;
    if ((seg.flags & TCP_SYN) !== 0) len++;
    if ((seg.flags & TCP_FIN) !== 0) len++;
    const wnd = this.advertisedWindow();
    const s = seg.seqNumber;
    if (len === 0) return wnd === 0 ? s === this.rcvNxt : inWindow(s, this.rcvNxt, wnd);
    if (wnd === 0) {
      // Zero window: no data is acceptable, but "special allowance should be made to accept
      // valid ACKs, URGs, and RSTs": a segment at RCV.NXT is let through for its control
      // fields; its data is dropped (and ACKed) by the data step.
      return s === this.rcvNxt;
    }
    return inWindow(s, this.rcvNxt, wnd) || inWindow(seqAdd(s, len - 1), this.rcvNxt, wnd);
  }

  /**
   * RFC 7323 §5.3 R1: a non-RST segment whose TSval is older than TS.Recent is rejected.
   * Linux tolerates one tick (TCP_PAWS_WINDOW = 1), so segments of one flight reordered
   * across a clock tick are not lost; so do we.
   */
  private pawsRejects(seg: TcpRepr, now: number): boolean {
    if (!this.tsEnabled) return false;
    const ts = seg.options.timestamps;
    if (ts === undefined || u32Diff(this.tsRecent, ts.tsVal) <= PAWS_WINDOW) return false;
    // RFC 7323 §5.5: after 24 days of idleness TS.Recent is invalid and the segment passes.
    if (now - this.tsRecentTime > PAWS_IDLE_LIMIT_MS) return false;
    return true;
  }

  /** The sixth and later steps for an acceptable segment of a SYN-RECEIVED or synchronized connection. */
  private processAccepted(seg: TcpRepr, now: number): TcpInputVerdict {
    const flags = seg.flags;
    if ((flags & TCP_RST) !== 0) {
      this.onReset();
      return undefined;
    }
    if ((flags & TCP_URG) !== 0 && this.config.role === 'target') {
      // Reference §4.9: an acceptable segment with URG is neither processed nor acknowledged;
      // the owner keeps it, and everything after it, for the host.
      this.requestUpload('urgent-data');
      return 'tcp-upload-pending';
    }
    // RFC 7323 §4.3 (2): remember the TSval to echo, from the segment that starts at or before Last.ACK.sent.
    const ts = seg.options.timestamps;
    if (this.tsEnabled && ts !== undefined && seqLe(seg.seqNumber, this.lastAckSent) && !u32Lt(ts.tsVal, this.tsRecent)) {
      this.tsRecent = ts.tsVal;
      this.tsRecentTime = now;
    }
    this.lastReceiveTime = now;
    if (this.keepAliveProbes > 0) {
      this.keepAliveProbes = 0;
      this.armKeepAlive(now);
    }
    if (this.timerKind === 'fin-wait-2') {
      // Reference §7.5.2: any acceptable segment restarts the FIN-WAIT-2 timer.
      this.setTimer('fin-wait-2', now + this.config.finWait2TimeoutMs);
    }
    if (this._state === 'SYN-RECEIVED') this.completePassiveOpen(seg, now);
    this.processAck(seg, now);
    if (this.isClosed()) return undefined;
    let verdict: TcpInputVerdict;
    if (seg.payload.length > 0) {
      verdict = this.processData(seg, now);
      if (this.isClosed()) return verdict;
    }
    if ((flags & TCP_FIN) !== 0) this.processFin(seg, now);
    return verdict;
  }

  /** SYN-SENT (RFC 9293 §3.10.7.3): the first check is on the ACK, then RST, then SYN. */
  private inputSynSent(seg: TcpRepr, now: number): TcpInputVerdict {
    const flags = seg.flags;
    let ackAcceptable = false;
    if ((flags & TCP_ACK) !== 0) {
      if (seqLe(seg.ackNumber, this.iss) || seqGt(seg.ackNumber, this.sndMax)) {
        if ((flags & TCP_RST) !== 0) return 'tcp-rst-outside-window';
        this.sendRst(seg.ackNumber, 0 as Seq, false);
        return seqLe(seg.ackNumber, this.iss) ? 'tcp-old-ack' : 'tcp-future-ack';
      }
      ackAcceptable = true;
    }
    if ((flags & TCP_RST) !== 0) {
      if (!ackAcceptable) return 'tcp-rst-outside-window';
      this.terminate('ECONNREFUSED');
      return undefined;
    }
    if ((flags & TCP_SYN) === 0) return 'tcp-bad-flags';
    this.irs = seg.seqNumber;
    this.rcvNxt = seqAdd(this.irs, 1);
    this.lastAckSent = this.irs;
    this.negotiate(seg.options, now);
    this.lastReceiveTime = now;
    if (ackAcceptable) {
      // Our SYN is acknowledged: ESTABLISHED.
      this.sndUna = seg.ackNumber;
      this.sndDataBase = this.sndUna;
      this.sndWnd = seg.windowLen; // RFC 7323 §2.2: unscaled in a SYN
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = seg.seqNumber;
      this.sndWl2 = seg.ackNumber;
      this.rcvAdv = seqAdd(this.rcvNxt, Math.min(this.rcvBufSize, MAX_WINDOW_FIELD));
      this.handshakeRttSample(seg, now);
      this.clearTimer();
      this.enterEstablished(now);
      this.markAckNow(now);
      if (seg.payload.length > 0) {
        const verdict = this.processData(seg, now);
        if ((flags & TCP_FIN) !== 0 && this._state !== 'CLOSED') this.processFin(seg, now);
        return verdict;
      }
      if ((flags & TCP_FIN) !== 0) this.processFin(seg, now);
      return undefined;
    }
    // Simultaneous open (RFC 9293 §3.5, figure 7): SYN-RECEIVED, our SYN-ACK goes out on poll().
    this.rcvAdv = seqAdd(this.rcvNxt, Math.min(this.rcvBufSize, MAX_WINDOW_FIELD));
    this.sndWnd = seg.windowLen;
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = seg.seqNumber;
    this.sndWl2 = this.iss;
    this.setState('SYN-RECEIVED');
    this.synSent = false;
    return undefined;
  }

  /** Takes the peer's SYN options: MSS, window scale, SACK-permitted, timestamps (RFC 9293 §3.7.1, RFC 7323, RFC 2018). */
  private negotiate(o: TcpOptions, now: number): void {
    const c = this.config;
    this.peerMss = Math.max(MIN_MSS, o.mss ?? c.defaultPeerMss);
    this.wsEnabled = c.windowScaling && o.windowScale !== undefined;
    if (this.wsEnabled) {
      this.sndWindowScale = clampWindowScale(o.windowScale ?? 0);
      this.rcvWindowScale = chooseWindowScale(this.rcvBufSize);
    } else {
      this.sndWindowScale = 0;
      this.rcvWindowScale = 0;
    }
    this.sackEnabled = c.sack && o.sackPermitted === true;
    this.tsEnabled = c.timestamps && o.timestamps !== undefined;
    if (this.tsEnabled && o.timestamps !== undefined) {
      this.tsRecent = o.timestamps.tsVal;
      this.tsRecentTime = now;
    }
    this.updateMss();
    this.rcvMss = Math.max(MIN_MSS, Math.min(c.mss, c.defaultPeerMss));
  }

  /** SYN-RECEIVED and an acceptable ACK of our SYN (RFC 9293 §3.10.7.4 fifth check). */
  private completePassiveOpen(seg: TcpRepr, now: number): void {
    this.sndUna = seg.ackNumber;
    this.sndDataBase = this.sndUna;
    this.sndWnd = seg.windowLen << this.sndWindowScale;
    if (this.sndWnd > this.maxSndWnd) this.maxSndWnd = this.sndWnd;
    this.sndWl1 = seg.seqNumber;
    this.sndWl2 = seg.ackNumber;
    this.handshakeRttSample(seg, now);
    this.clearTimer();
    this.enterEstablished(now);
  }

  private enterEstablished(now: number): void {
    // RFC 5681 §3.1: after a lost SYN or SYN-ACK the initial window is one segment, and
    // RFC 6298 §5.7: without an RTT sample the RTO restarts at 3 s.
    if (this.synRetransmitted) this.rtt.resetForSynTimeout();
    this.backoff = 0;
    this.retransmitCount = 0;
    this.totalRtStart = -1;
    this.cc.restore(this.initialWindow(), this.cc.ssthresh);
    this.recoveryPoint = this.sndUna;
    this.sendMap.reset(this.sndUna);
    this.rack.reset(this.sndUna);
    this.setState('ESTABLISHED');
    this.emit(EVENT_ESTABLISHED);
    this.armKeepAlive(now);
    if (this.finQueued) this.setState('FIN-WAIT-1');
  }

  private handshakeRttSample(seg: TcpRepr, now: number): void {
    const ts = seg.options.timestamps;
    if (this.tsEnabled && ts !== undefined && ts.tsEcr !== 0) {
      this.rtt.sample(this.ticksToMs(u32DiffNonNeg(this.tsNow(now), ts.tsEcr)));
    } else if (this.rttTiming && !this.synRetransmitted) {
      this.rtt.sample(now - this.rttStart);
    }
    this.rttTiming = false;
  }

  private onReset(): void {
    switch (this._state) {
      case 'SYN-RECEIVED':
        // RFC 9293: a passive open returns to LISTEN (the host's listener never saw it); an
        // active one (simultaneous open) was refused.
        this.terminate(this.passive ? undefined : 'ECONNREFUSED');
        return;
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
        this.terminate('ECONNRESET');
        return;
      default:
        // CLOSING, LAST-ACK, TIME-WAIT: the application is done with the connection.
        this.terminate(undefined);
    }
  }

  // ---------------------------------------------------------------------------------------
  // ACK processing: send window, RTT, loss recovery (RFC 9293 fifth check, RFC 5681, 6675, 6582)
  // ---------------------------------------------------------------------------------------

  private processAck(seg: TcpRepr, now: number): void {
    const ack = seg.ackNumber;
    const oldUna = this.sndUna;
    const window = seg.windowLen << this.sndWindowScale;
    const blocks = this.sackEnabled ? seg.options.sackBlocks : undefined;
    const ts = seg.options.timestamps;
    const flightBefore = seqDiff(this.sndMax, oldUna);
    this.ackClock = now;
    this.ackTsEcr = this.tsEnabled && ts !== undefined && ts.tsEcr !== 0 ? ts.tsEcr : -1;
    this.ackDelivered = 0;
    this.ackNewlyLost = 0;
    this.rack.beginAck();
    let ackedBytes = 0;
    let finAcked = false;
    const unaAdvanced = seqGt(ack, oldUna);
    if (unaAdvanced) {
      let dataAcked = seqDiff(ack, this.sndDataBase);
      if (dataAcked > this.sendQueue.length) dataAcked = this.sendQueue.length;
      if (dataAcked < 0) dataAcked = 0;
      finAcked = this.finSent && seqGt(ack, seqAdd(this.sndDataBase, this.sendQueue.length));
      this.sendQueue.consume(dataAcked);
      this.sndDataBase = seqAdd(this.sndDataBase, dataAcked);
      this.sndUna = ack;
      ackedBytes = dataAcked;
      this.statBytesAcked += dataAcked;
      this.ackRttSample(seg, ack, now);
      this.retransmitCount = 0;
      this.totalRtStart = -1;
      this.dupAcks = 0;
      if (this.sendMap.advance(ack, this.onDelivered)) {
        // The peer acknowledged up to data it had SACKed: it reneged (RFC 2018 §8; a chimney
        // upload drops SACKed-only data, reference §3.3.2). Forget what it SACKed; during RTO
        // recovery, where everything unacknowledged counts as lost, that data does too.
        this.sendMap.unsackAll(this.caState === 'loss');
      }
    }
    // SACK blocks (RFC 2018), the first possibly a D-SACK (RFC 2883), against the new SND.UNA.
    let dsack = false;
    let tlpDsack = false;
    const sackedBefore = this.sendMap.sackedBytes;
    if (blocks !== undefined && blocks.length > 0) {
      const first = blocks[0] as TcpSackBlock;
      dsack = isDsack(blocks, ack);
      if (dsack) {
        this.statDsacks++;
        // RFC 8985 §7.4.2: a D-SACK for the probe says the original arrived too.
        tlpDsack = this.tlpPending && seqLt(first.left, this.tlpEndSeq) && seqGt(first.right, this.tlpStartSeq);
      }
      for (let b = dsack ? 1 : 0; b < blocks.length; b++) {
        const block = blocks[b] as TcpSackBlock;
        // Blocks outside [SND.UNA, SND.MAX] are stale or bogus (RFC 6675 §2, RFC 5961).
        if (!seqLt(block.left, block.right) || seqLe(block.right, this.sndUna) || seqGt(block.right, this.sndMax)) continue;
        this.sendMap.sack(block.left, block.right, this.onDelivered);
      }
    }
    const newlySacked = this.sendMap.sackedBytes - sackedBefore;
    const rackOn = this.rackActive();
    let rackAdvanced = false;
    if (rackOn) {
      this.rack.onAckDsack(dsack, this.sndUna, this.sndMax);
      rackAdvanced = this.rack.endAck(now);
    }
    if (this.tlpPending) this.processTlpAck(ack, unaAdvanced, newlySacked > 0, tlpDsack, now);
    // Newly delivered bytes (Linux "delivered"): a cumulative ACK that jumps over data SACKed
    // earlier delivers only the holes it fills, plus what this ACK newly SACKs. The FIN
    // occupies a sequence number but delivers no byte.
    let delivered = this.ackDelivered - (finAcked ? 1 : 0);
    if (delivered < 0) delivered = 0;
    if (unaAdvanced) {
      this.onNewAckRecovery(ack, ackedBytes, delivered, flightBefore, now);
    } else if (ack === oldUna && this.sndMax !== this.sndUna) {
      // RFC 5681 §2 duplicate ACK, or with SACK RFC 6675 §2 (new SACK information).
      const dup = this.sackEnabled
        ? newlySacked > 0
        : seg.payload.length === 0 && (seg.flags & (TCP_SYN | TCP_FIN)) === 0 && window === this.sndWnd;
      if (dup) this.onDupAck(now);
    }
    if (this.sackEnabled && this.sndMax !== this.sndUna) {
      if (rackOn) {
        // RFC 8985 §6.2 step 5, on every ACK that delivered something.
        if (rackAdvanced) this.rackDetectLoss(now);
      } else if (newlySacked > 0 && this.caState !== 'loss') {
        // RFC 6675 §4 IsLost (DupThresh) marks the holes below enough SACKed data; a lost
        // retransmission is left to the RTO, as RFC 6675 has it.
        this.sendMap.markLostBelow(this.sendMap.dupThreshBoundary(this.mss, DUP_THRESH), true);
      }
      if ((this.caState === 'open' || this.caState === 'disorder') && this.sendMap.lostBytes > 0 && seqGe(this.sndUna, this.recoveryPoint)) {
        this.enterRecovery(now);
      }
      if (this.caState === 'recovery' && rackOn && delivered > 0) this.prrUpdate(delivered, unaAdvanced && this.ackNewlyLost === 0);
    }
    // RFC 9293 §3.10.7.4 fifth check: update the send window from the most recent segment.
    if (seqGe(ack, this.sndUna) && (seqLt(this.sndWl1, seg.seqNumber) || (this.sndWl1 === seg.seqNumber && seqLe(this.sndWl2, ack)))) {
      this.updateSendWindow(window, seg, now);
    }
    this.rearmAfterAck(unaAdvanced, now);
    if (ackedBytes > 0) this.emit({ type: 'acked', bytes: ackedBytes });
    if (finAcked) this.onFinAcked(now);
  }

  /** A range the ACK newly delivered (SendMap callback): RACK_update and RACK_detect_reordering (RFC 8985 §6.2 steps 2-3). */
  private delivered(i: number, from: Seq, to: Seq): void {
    this.ackDelivered += seqDiff(to, from);
    if (!this.rackActive()) return;
    const t = this.sendMap.timeOf(i);
    const f = this.sendMap.flagsOf(i);
    const retransmitted = (f & EVER_RETRANS) !== 0;
    if ((f & UNTIMED) !== 0) {
      this.rack.detectReordering(to, retransmitted);
      return;
    }
    // §6.2 step 2: an echo older than the retransmission means the ACK was for the original.
    const echoFresh = !retransmitted || this.ackTsEcr < 0 || !u32Lt(this.ackTsEcr, this.tsNow(t));
    this.rack.delivered(t, to, retransmitted, echoFresh, this.ackClock);
  }

  /** RACK marked record `i` lost (SendMap callback). */
  private rackLost(i: number): void {
    this.ackNewlyLost++;
    if ((this.sendMap.flagsOf(i) & EVER_RETRANS) !== 0) this.statLostRetransmits++;
  }

  /**
   * RFC 8985 §6.2 step 5 (RACK_detect_loss_and_arm_timer): marks what is overdue, and arms
   * the reordering timer for what will be unless delivered first. While it is armed no loss
   * probe is scheduled (§7.2).
   */
  private rackDetectLoss(now: number): void {
    if (this.sendMap.inOrder) {
      this.reorderDeadline = Infinity;
      return;
    }
    const window = this.rack.rtt + this.reorderWindow();
    const timeout = this.sendMap.rackDetectLoss(this.rack.xmitTime, this.rack.endSeq, window, now, this.onRackLost);
    this.reorderDeadline = timeout > 0 ? now + timeout : Infinity;
    if (timeout > 0) this.probeDeadline = Infinity;
  }

  /** RACK.reo_wnd for the current state (RFC 8985 §6.2 step 4). */
  private reorderWindow(): number {
    const segmentsSacked = Math.ceil(this.sendMap.sackedBytes / this.mss);
    const srtt = this.rack.srtt > 0 ? this.rack.srtt : this.rtt.srtt;
    return this.rack.reoWnd(this.caState === 'recovery' || this.caState === 'loss', segmentsSacked, DUP_THRESH, srtt);
  }

  /** RFC 6937: cwnd = pipe + sndcnt for this ACK (never below one segment). */
  private prrUpdate(delivered: number, unaAdvanced: boolean): void {
    const cwnd = this.prr.onAck(delivered, this.pipe(), this.cc.ssthresh, this.mss, unaAdvanced);
    this.cc.cwnd = cwnd > this.mss ? cwnd : this.mss;
  }

  /**
   * RFC 8985 §7.4: what the ACK says about the outstanding loss probe. A probe that the peer
   * reports as a duplicate (D-SACK), or that a pure duplicate ACK answers, repaired nothing.
   * An ACK beyond the probe without such a report means the probe repaired a tail loss: the
   * congestion response of a fast recovery, done at once (Linux tcp_process_tlp_ack).
   */
  private processTlpAck(ack: Seq, unaAdvanced: boolean, sacked: boolean, tlpDsack: boolean, now: number): void {
    if (seqLt(ack, this.tlpEndSeq)) return;
    if (tlpDsack) {
      this.tlpPending = false;
      return;
    }
    if (seqGt(ack, this.tlpEndSeq)) {
      this.tlpPending = false;
      this.statTlpRecoveries++;
      if (this.caState === 'open' || this.caState === 'disorder') {
        this.cc.onCongestionEvent(Math.floor(this.cc.cwnd), this.mss, now);
        this.cc.cwnd = this.cc.ssthresh;
      }
      return;
    }
    if (!unaAdvanced && !sacked) this.tlpPending = false;
  }

  /**
   * After an ACK: RFC 6298 §5.2-5.3 for the RTO, and RFC 8985 §7.2 for the probe timer (armed
   * again by an ACK of new data; during recovery by any ACK that delivered data, see
   * schedulePto).
   */
  private rearmAfterAck(unaAdvanced: boolean, now: number): void {
    if (this.sndUna === this.sndMax) {
      this.rtoDeadline = Infinity;
      this.probeDeadline = Infinity;
      this.reorderDeadline = Infinity;
    } else {
      if (unaAdvanced && this.rtoDeadline !== Infinity) this.rtoDeadline = now + this.rtt.backedOff(this.backoff);
      if (unaAdvanced || (this.inRecovery() && this.ackDelivered > 0)) this.schedulePto(now);
      else if (this.reorderDeadline !== Infinity) this.probeDeadline = Infinity;
    }
    this.refreshTimer();
  }

  /**
   * RFC 8985 §7.2: arms the probe timer at PTO = 2 * SRTT (plus the worst-case delayed ACK
   * when one segment is in flight, Linux tcp_schedule_loss_probe), never after the RTO, and
   * not while the RACK timer is armed. Outside recovery at most one probe is outstanding
   * (TLP.end_seq).
   *
   * Deviation: the timer also runs during fast and RTO recovery, where RFC 8985 leaves tail
   * losses to the RTO. There a lost retransmission, or a lost burst at the tail, leaves RACK
   * with nothing sent later to be delivered, and the connection stalls for a whole RTO
   * (200 ms at least against sub-millisecond round trips). When no ACK has delivered
   * anything for a PTO, a rescue probe resends the highest unSACKed segment (RFC 6675 NextSeg
   * rule (4), rescue retransmission, driven by time instead of cwnd room): its ACK lets RACK
   * mark everything sent before it. One probe per silent PTO; the RTO stays armed behind it.
   */
  private schedulePto(now: number): void {
    const recovering = this.inRecovery();
    if (!this.tlpActive() || (!recovering && this.tlpPending) || this.reorderDeadline !== Infinity || this.sndUna === this.sndMax) {
      this.probeDeadline = Infinity;
      return;
    }
    let pto = PTO_INITIAL_MS;
    if (this.rtt.hasSample) {
      const flight = seqDiff(this.sndMax, this.sndUna);
      pto = 2 * this.rtt.srtt + (flight <= this.mss + 1 ? this.config.rtoMinMs : PTO_EXTRA_MS);
    }
    const deadline = now + pto;
    this.probeDeadline = deadline < this.rtoDeadline ? deadline : this.rtoDeadline;
  }

  private updateSendWindow(window: number, seg: TcpRepr, now: number): void {
    this.sndWnd = window;
    this.sndWl1 = seg.seqNumber;
    this.sndWl2 = seg.ackNumber;
    if (window > this.maxSndWnd) this.maxSndWnd = window;
    if (this.timerKind !== 'persist') return;
    if (window === 0) {
      // Reference §7.5.4 step 4: an ACK (a reply to our probe) still advertising a zero
      // window starts the next round: longer wait, probe count from zero. Segments with data
      // are not probe replies and leave the round alone.
      if (seg.payload.length === 0) {
        this.persistRound = Math.min(this.persistRound + 1, MAX_BACKOFF);
        this.retransmitCount = 0;
        this.setTimer('persist', now + this.rtt.backedOff(this.persistRound));
      }
    } else {
      // Step 5: a non-zero window ends the algorithm; poll() resumes sending.
      this.clearTimer();
      this.persistRound = 0;
      this.retransmitCount = 0;
    }
  }

  private onNewAckRecovery(ack: Seq, dataAcked: number, delivered: number, flightBefore: number, now: number): void {
    const mss = this.mss;
    switch (this.caState) {
      case 'open':
      case 'disorder': {
        // SACKed data above SND.UNA keeps the connection in disorder (Linux TCP_CA_Disorder).
        this.caState = this.sendMap.sackedBytes > 0 ? 'disorder' : 'open';
        // Markers behind SND.UNA move with it: modular comparisons are only meaningful within
        // 2^31 (RFC 9293 §3.4), and a stream can run far longer than that without a loss.
        if (seqGt(ack, this.recoveryPoint)) this.recoveryPoint = ack;
        if (seqGt(ack, this.sndSml)) this.sndSml = ack;
        // Slow start may grow while cwnd < 2 * flight (Linux tcp_is_cwnd_limited).
        const limited = this.cwndLimited || (this.cc.cwnd < this.cc.ssthresh && this.cc.cwnd < 2 * flightBefore);
        this.cc.onAck(delivered, mss, now, this.rtt.srtt, limited);
        return;
      }
      case 'recovery':
        if (seqGe(ack, this.recoveryPoint)) {
          this.exitRecovery(now);
          return;
        }
        if (!this.sackEnabled) {
          // RFC 6582 §3.2 step 5, partial ACK: retransmit the first unacknowledged segment
          // and deflate cwnd by the amount acknowledged, adding back one SMSS.
          this.cc.cwnd = Math.max(this.cc.cwnd - dataAcked + (dataAcked >= mss ? mss : 0), mss);
          this.sendMap.markLostBelow(seqAdd(ack, mss), false);
          this.forceRetransmit = true;
        }
        return;
      case 'loss':
        if (seqGe(ack, this.recoveryPoint)) {
          this.caState = 'open';
          this.rack.onRecoveryExit();
        }
        // After an RTO the window regrows by slow start (RFC 5681 §3.1).
        this.cc.onAck(delivered, mss, now, this.rtt.srtt, true);
        return;
    }
  }

  private onDupAck(now: number): void {
    if (this.dupAcks < 255) this.dupAcks++;
    switch (this.caState) {
      case 'open':
      case 'disorder':
        if (this.sackEnabled) {
          // With SACK, recovery starts once something is deemed lost (processAck). RFC 6675
          // §5: DupThresh duplicate ACKs make SND.UNA's segment lost; RACK's own rule makes
          // its reordering window zero at DupThresh SACKed segments (RFC 8985 §6.2 step 4).
          this.caState = 'disorder';
          if (!this.rackActive() && this.dupAcks >= DUP_THRESH) this.sendMap.markLostBelow(seqAdd(this.sndUna, this.mss), true);
          return;
        }
        // RFC 6582 §3.2 step 2: not again until SND.UNA passes the last recovery point.
        if (this.dupAcks >= DUP_THRESH && seqGe(this.sndUna, this.recoveryPoint)) this.enterRecovery(now);
        else this.caState = 'disorder';
        return;
      case 'recovery':
        // RFC 6582 §3.2 step 4: each further duplicate ACK inflates cwnd by one SMSS.
        if (!this.sackEnabled) this.cc.cwnd += this.mss;
        return;
      case 'loss':
        return;
    }
  }

  /**
   * Fast retransmit and fast recovery (RFC 5681 §3.2, RFC 6582 §3.2, RFC 6675 §5), with PRR
   * (RFC 6937) setting the pace on SACK connections that run RACK.
   */
  private enterRecovery(now: number): void {
    this.caState = 'recovery';
    this.recoveryPoint = this.sndMax;
    const flight = seqDiff(this.sndMax, this.sndUna);
    this.cc.onCongestionEvent(flight, this.mss, now);
    if (!this.sackEnabled) {
      // RFC 6582 step 3: cwnd = ssthresh + 3 * SMSS, inflated for the segments that left;
      // the first unacknowledged segment is the one to resend.
      this.cc.cwnd = this.cc.ssthresh + DUP_THRESH * this.mss;
      this.sendMap.markLostBelow(seqAdd(this.sndUna, this.mss), false);
    } else if (this.rackActive()) {
      this.prr.start(flight);
    }
    this.probeDeadline = Infinity;
    this.forceRetransmit = true;
    this.rttTiming = false;
    this.statFastRetransmits++;
  }

  private exitRecovery(now: number): void {
    this.caState = 'open';
    this.cc.onRecoveryExit(seqDiff(this.sndMax, this.sndUna), this.mss, now);
    this.rack.onRecoveryExit();
    this.dupAcks = 0;
  }

  private ackRttSample(seg: TcpRepr, ack: Seq, now: number): void {
    const ts = seg.options.timestamps;
    if (this.tsEnabled && ts !== undefined && ts.tsEcr !== 0) {
      // RFC 7323 §4.1: RTTM from the echoed timestamp of an ACK that advances SND.UNA; valid
      // across a hand-over (reference §7.6 merged sample). During loss recovery an echo older
      // than our latest retransmission may come from a receiver that already held the data
      // (our retransmission was a duplicate to it, its earlier ACKs were lost): it echoes the
      // TSval of its last in-order segment, so the sample measures the stall, not the path.
      // As in Karn's rule the sample is ambiguous and skipped; fed back, such samples inflate
      // the RTO without bound under heavy ACK loss.
      if (this.caState !== 'open' && u32Lt(ts.tsEcr, this.lastRetransmitTs)) return;
      const ticks = u32DiffNonNeg(this.tsNow(now), ts.tsEcr);
      this.rtt.sample(this.ticksToMs(ticks));
      this.backoff = 0;
    } else if (this.rttTiming && seqGt(ack, this.rttSeq)) {
      // Karn: the timed segment was never retransmitted (timing stops on any retransmission).
      this.rttTiming = false;
      this.rtt.sample(now - this.rttStart);
      this.backoff = 0;
    }
  }

  private onFinAcked(now: number): void {
    this.emit(EVENT_FIN_ACKED);
    switch (this._state) {
      case 'FIN-WAIT-1':
        this.setState('FIN-WAIT-2');
        // A host runs the timer for orphans only (Linux tcp_fin_timeout); the target always (§7.5.2).
        if (this.orphaned || this.config.role === 'target') this.setTimer('fin-wait-2', now + this.config.finWait2TimeoutMs);
        return;
      case 'CLOSING':
        this.enterTimeWait(now);
        return;
      case 'LAST-ACK':
        this.terminate(undefined);
        return;
      default:
        return;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Data and FIN (RFC 9293 §3.10.7.4 seventh and eighth steps)
  // ---------------------------------------------------------------------------------------

  private processData(seg: TcpRepr, now: number): TcpInputVerdict {
    const st = this._state;
    if (st !== 'ESTABLISHED' && st !== 'FIN-WAIT-1' && st !== 'FIN-WAIT-2') return undefined;
    const payload = seg.payload;
    const len = payload.length;
    let start = seg.seqNumber;
    if ((seg.flags & TCP_SYN) !== 0) start = seqAdd(start, 1);
    const end = seqAdd(start, len);
    if (this.orphaned && this.config.role === 'host' && seqGt(end, this.rcvNxt)) {
      // RFC 1122 §4.2.2.13 (Linux LINUX_MIB_TCPABORTONDATA): new data after close() is lost;
      // tell the peer with a RST.
      this.sendRst(this.sndMax, this.rcvNxt, true);
      this.terminate(undefined);
      return 'tcp-closed';
    }
    let off = 0;
    let s = start;
    if (seqLt(s, this.rcvNxt)) {
      off = seqDiff(this.rcvNxt, s);
      if (off >= len) {
        // Wholly old: a duplicate. RFC 5681 §4.2: ACK at once, with a D-SACK block (RFC 2883).
        this.setDsack(start, end);
        this.sendAck();
        return undefined;
      }
      s = this.rcvNxt;
    }
    let n = len - off;
    const room = seqDiff(this.rcvAdv, s);
    if (n > room) n = room;
    if (n <= 0) {
      // Nothing inside the window (zero window): ACK with the current window.
      this.sendAck();
      return 'tcp-zero-window';
    }
    // The receiver's estimate of the peer's MSS (Linux rcv_mss). A host that merges segments
    // (GRO) hands over more than one MSS at once; the estimate never exceeds our own MSS.
    if (len > this.rcvMss) this.rcvMss = Math.min(len, this.config.mss);
    if (s === this.rcvNxt) {
      const wasEmpty = this.receiveQueue.length === 0;
      this.receiveQueue.append(payload, off, n);
      this.rcvNxt = seqAdd(this.rcvNxt, n);
      this.statBytesReceived += n;
      if (!this.reassembly.isEmpty) {
        this.drainReassembly();
        // RFC 5681 §4.2: a segment that fills (part of) a gap is ACKed at once.
        this.markAckNow(now);
      } else if (this.delayedAckDeadline === Infinity) {
        this.delayedAckDeadline = now + this.config.delayedAckMs;
      }
      if (wasEmpty) this.emit(EVENT_READABLE);
      // A FIN that arrived ahead of this data is processed once RCV.NXT reaches it, whether
      // or not out-of-order data lay in between (a bare FIN leaves the reassembly queue empty).
      if (this.pendingFin && this.pendingFinSeq === this.rcvNxt) this.acceptFin(now);
      return undefined;
    }
    // Out of order: hold it and send an immediate duplicate ACK (RFC 5681 §4.2) with SACK.
    const result = this.reassembly.insert(s, payload, off, n);
    if (result === 'duplicate') this.setDsack(s, seqAdd(s, n));
    this.sendAck();
    return result === 'full' ? 'tcp-reassembly-full' : result === 'fragmented' ? 'tcp-reassembly-fragmented' : undefined;
  }

  private drainReassembly(): void {
    for (;;) {
      const piece = this.reassembly.take(this.rcvNxt);
      if (piece === undefined) break;
      this.receiveQueue.append(piece, 0, piece.length);
      this.rcvNxt = seqAdd(this.rcvNxt, piece.length);
      this.statBytesReceived += piece.length;
    }
  }

  private processFin(seg: TcpRepr, now: number): void {
    const st = this._state;
    if (st === 'CLOSED' || st === 'LISTEN' || st === 'SYN-SENT') return;
    if (this.peerFinReceived) return;
    let finSeq = seqAdd(seg.seqNumber, seg.payload.length);
    if ((seg.flags & TCP_SYN) !== 0) finSeq = seqAdd(finSeq, 1);
    if (finSeq === this.rcvNxt) {
      this.acceptFin(now);
    } else if (seqGt(finSeq, this.rcvNxt) && seqLt(finSeq, this.rcvAdv)) {
      this.pendingFin = true;
      this.pendingFinSeq = finSeq;
    }
  }

  private acceptFin(now: number): void {
    if (this.peerFinReceived) return;
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.peerFinReceived = true;
    this.pendingFin = false;
    this.markAckNow(now);
    this.emit(EVENT_PEER_FIN);
    switch (this._state) {
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
        this.setState('CLOSE-WAIT');
        return;
      case 'FIN-WAIT-1':
        this.setState('CLOSING');
        return;
      case 'FIN-WAIT-2':
        this.enterTimeWait(now);
        return;
      default:
        return;
    }
  }

  private enterTimeWait(now: number): void {
    this.setState('TIME-WAIT');
    this.keepAliveDeadline = Infinity;
    if (this.config.role === 'target') {
      // Reference §7.5: the target does not run 2 MSL; the host finishes TIME-WAIT.
      this.requestUpload('time-wait');
      return;
    }
    this.setTimer('time-wait', now + this.config.timeWaitMs);
  }

  // ---------------------------------------------------------------------------------------
  // Transmission
  // ---------------------------------------------------------------------------------------

  /**
   * Transmits everything due now: the SYN or SYN-ACK, retransmissions decided by ACK
   * processing, new data and the FIN as the windows, Nagle and SWS avoidance allow, and a
   * pending ACK or window update. Called by the host after each received batch and after
   * application calls.
   */
  poll(): void {
    if (this.detached || this.uploadPending) return;
    const now = this.clock.now();
    if (this.announceEstablished) {
      this.announceEstablished = false;
      this.emit(EVENT_ESTABLISHED);
    }
    switch (this._state) {
      case 'SYN-SENT':
        if (!this.synSent) this.sendSyn(now);
        return;
      case 'SYN-RECEIVED':
        if (!this.synSent) this.sendSynAck(now);
        return;
      case 'ESTABLISHED':
      case 'CLOSE-WAIT':
      case 'FIN-WAIT-1':
      case 'CLOSING':
      case 'LAST-ACK':
        this.transmitData(now);
        break;
      case 'FIN-WAIT-2':
      case 'TIME-WAIT':
        break;
      case 'CLOSED':
      case 'LISTEN':
        return;
    }
    this.maybeSendAck(now);
  }

  /** ACK policy: at once when flagged or after two full-sized segments (RFC 5681 §4.2), else the delayed-ACK timer. */
  private maybeSendAck(now: number): void {
    if (this.ackNow || seqDiff(this.rcvNxt, this.lastAckSent) >= 2 * this.rcvMss) {
      this.sendAck();
    } else if (this.rcvNxt !== this.lastAckSent && this.delayedAckDeadline === Infinity) {
      this.delayedAckDeadline = now + this.config.delayedAckMs;
    }
  }

  private transmitData(now: number): void {
    const segMss = this.segmentPayloadLimit();
    const map = this.sendMap;
    // Where the search for lost ranges resumes (a sequence number: record indices move when
    // new data is appended).
    let cursor = this.sndUna;
    let newData = false;
    let sentAny = false;
    for (;;) {
      const pipe = this.pipe();
      const cwnd = Math.floor(this.cc.cwnd);
      if (map.lostBytes > 0) {
        // RFC 6675 NextSeg rule (1): the first lost range with no retransmission in flight;
        // after an RTO this is go-back-N over the unSACKed data.
        const i = map.nextLost(map.find(cursor));
        if (i >= 0) {
          if (this.forceRetransmit || cwnd - pipe >= this.mss) {
            this.forceRetransmit = false;
            const end = this.retransmitRecord(i, segMss, now);
            if (end !== undefined) {
              cursor = end;
              sentAny = true;
              continue;
            }
          } else {
            this.cwndLimited = true;
            break;
          }
        }
      }
      this.forceRetransmit = false;
      const r = this.sendNewData(now, pipe, cwnd, segMss);
      if (r === SENT) {
        newData = true;
        continue;
      }
      if (r === CWND_LIMITED) {
        this.cwndLimited = true;
        break;
      }
      this.cwndLimited = false;
      if (r === WINDOW_LIMITED && this.sndMax === this.sndUna && this.timerKind === 'idle') {
        // Nothing in flight and the window forbids sending: the persist timer (reference
        // §7.5.4 step 1; RFC 9293 §3.8.6.1).
        this.persistRound = 0;
        this.retransmitCount = 0;
        this.setTimer('persist', now + this.rtt.backedOff(0));
      }
      if (this.caState === 'recovery' && this.sackEnabled && !this.rackActive() && r !== NAGLE_LIMITED && cwnd - pipe >= this.mss) {
        // RFC 6675 NextSeg rule (3): no lost data and no new data; retransmit an unSACKed
        // segment below the highest SACKed octet that is not yet deemed lost. With RACK the
        // reordering timer decides about those instead (Linux has no rule (3) either).
        const high = map.highestSacked();
        const i = high === undefined ? -1 : map.nextUnsackedBelow(map.first, high);
        if (i >= 0 && this.retransmitRecord(i, segMss, now) !== undefined) continue;
      }
      break;
    }
    if (newData || (sentAny && this.inRecovery())) {
      // RFC 8985 §7.2: new data (not a probe) went out: the probe timer starts again; during
      // recovery any transmission restarts the rescue probe's silence period.
      this.schedulePto(now);
      this.refreshTimer();
    }
  }

  /**
   * The bytes the network holds for us (RFC 6675 §4 SetPipe): unSACKed data not deemed lost,
   * plus retransmissions in flight. Without SACK in fast recovery it is the FlightSize of
   * RFC 6582, against the inflated cwnd.
   */
  private pipe(): number {
    const flight = seqDiff(this.sndMax, this.sndUna);
    if (this.caState === 'recovery' && !this.sackEnabled) return flight;
    const map = this.sendMap;
    return flight - map.sackedBytes - map.lostBytes + map.retransBytes;
  }

  /**
   * Retransmits the start of record `i` (at most one segment, with the FIN when the record
   * holds it) and records the retransmission. Returns the sequence number after what was
   * sent, or undefined when nothing could be sent.
   */
  private retransmitRecord(i: number, segMss: number, now: number): Seq | undefined {
    const map = this.sendMap;
    const s = map.startOf(i);
    // Linux tcp_retransmit_skb: nothing beyond the peer's window except the head.
    if (s !== this.sndUna && !seqLt(s, seqAdd(this.sndUna, this.sndWnd))) return undefined;
    const recordEnd = map.endOf(i);
    const dataEnd = seqAdd(this.sndDataBase, this.sendQueue.length);
    // One original segment at most: a capture can then credit the resent bytes (see SendMap).
    let len = Math.min(segMss, seqDiff(map.boundaryAfter(i, s), s));
    const dataLeft = seqDiff(dataEnd, s);
    if (len > dataLeft) len = dataLeft > 0 ? dataLeft : 0;
    const fin = this.finSent && seqAdd(s, len) === dataEnd && seqLt(dataEnd, recordEnd);
    if (len === 0 && !fin) return undefined;
    this.sendSegment(s, len, fin, 0, dataEnd, now);
    const end = seqAdd(s, len + (fin ? 1 : 0));
    map.markRetransmitted(i, end, now);
    this.countRetransmission(len, now);
    if (this.caState !== 'loss') this.statRackRetransmits++;
    return end;
  }

  private countRetransmission(len: number, now: number): void {
    this.statTotalRetransmits++;
    this.statBytesRetransmitted += len;
    // Karn: a retransmission makes the timed segment ambiguous.
    this.rttTiming = false;
    this.lastRetransmitTs = this.tsNow(now);
  }

  /**
   * RFC 8985 §7.3: the tail loss probe, the highest-sequence segment sent so far, regardless
   * of cwnd (so at most one segment beyond it). Its outcome is judged by processTlpAck.
   *
   * Deviation: RFC 8985 says a previously unsent segment SHOULD be the probe when one
   * exists. But a probe fires after 2 SRTT without an ACK, and when the peer holds the whole
   * flight (only its ACKs were lost, or its last ACK is delayed) it answers one new in-order
   * segment only when its delayed-ACK timer expires (40 ms on Linux; hundreds of round trips
   * on a LAN), while a duplicate is acknowledged at once (RFC 5681 §4.2), with a D-SACK that
   * tells us nothing was lost. When the tail was lost instead, the resent last segment
   * repairs it or is SACKed, and RACK marks the rest. Measured between two host stacks at
   * 0.1 ms RTT and 0.5% loss per hop: 809 ms for 20 MB with new-data probes (645 ms of it
   * waiting for delayed ACKs), 62 ms with these.
   */
  private sendLossProbe(now: number): void {
    const s = this.retransmitTail(this.sendMap.lastUnsacked(), this.segmentPayloadLimit(), now);
    if (s === undefined) return;
    this.tlpStartSeq = s;
    this.tlpPending = true;
    this.tlpEndSeq = this.sndMax;
    this.statTlpProbes++;
  }

  /** The rescue probe during recovery (see schedulePto): the highest unSACKed segment again. */
  private sendRescueProbe(now: number): void {
    if (this.retransmitTail(this.sendMap.lastUnsacked(), this.segmentPayloadLimit(), now) !== undefined) this.statRescueRetransmits++;
  }

  /**
   * Resends the last segment of record `i` (with the FIN when the record holds it), whatever
   * cwnd says. Returns where the resent segment starts, or undefined when nothing was sent.
   */
  private retransmitTail(i: number, segMss: number, now: number): Seq | undefined {
    if (i < 0) return undefined;
    const map = this.sendMap;
    const recordStart = map.startOf(i);
    const recordEnd = map.endOf(i);
    const dataEnd = seqAdd(this.sndDataBase, this.sendQueue.length);
    // The data part ends at the record's end, or one before it when the record holds the FIN.
    const fin = this.finSent && seqGt(recordEnd, dataEnd);
    const top = fin ? dataEnd : recordEnd;
    // The last segment as it was sent (or its last MSS when the MSS has shrunk since).
    let s = seqAdd(top, -segMss);
    const lastOriginal = map.boundaryAtOrBelow(i, seqAdd(top, -1));
    if (seqLt(s, lastOriginal)) s = lastOriginal;
    if (seqLt(s, recordStart)) s = recordStart;
    const len = seqDiff(top, s);
    if (len <= 0 && !fin) return undefined;
    this.sendSegment(s, len, fin, 0, dataEnd, now);
    map.markRangeRetransmitted(s, recordEnd, now);
    this.countRetransmission(len, now);
    return s;
  }

  /** Sends the next new data (and/or the FIN) if the windows, Nagle and SWS avoidance allow. */
  private sendNewData(now: number, pipe: number, cwnd: number, segMss: number): number {
    if (this.finSent) return NOTHING_TO_SEND;
    const dataEnd = seqAdd(this.sndDataBase, this.sendQueue.length);
    const unsent = seqDiff(dataEnd, this.sndMax);
    const wndAvail = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndMax);
    // RFC 3042 limited transmit: one extra segment per early duplicate ACK, new data only.
    const allowance = this.caState === 'disorder' ? Math.min(this.dupAcks, 2) * this.mss : 0;
    if (unsent <= 0) {
      if (!this.finQueued) return NOTHING_TO_SEND;
      // The FIN alone occupies one sequence number the window must admit.
      if (wndAvail < 1) return WINDOW_LIMITED;
      if (pipe >= cwnd + allowance && pipe > 0) return CWND_LIMITED;
      this.sendSegment(this.sndMax, 0, true, 0, dataEnd, now);
      return SENT;
    }
    let len = unsent < segMss ? unsent : segMss;
    if (wndAvail < len) {
      // RFC 9293 §3.8.6.2.1 sender SWS avoidance: a window-limited segment shorter than the
      // data waiting goes only if it is at least half the largest window the peer offered.
      if (wndAvail <= 0 || wndAvail < this.maxSndWnd >>> 1) return WINDOW_LIMITED;
      len = wndAvail;
    } else if (len < segMss && !this.noDelay && seqGt(this.sndSml, this.sndUna) && !this.finQueued) {
      // Nagle (RFC 1122 §4.2.3.4) in Minshall's variant (RFC 9293 §3.7.4 allows it; Linux
      // uses it): a partial segment waits while an earlier partial segment is unacknowledged.
      return NAGLE_LIMITED;
    }
    if (pipe + len > cwnd + allowance) return CWND_LIMITED;
    let gso = 0;
    const tsoMax = this.config.tsoMaxBytes;
    if (tsoMax > 0 && len === segMss) {
      const room = Math.min(unsent, wndAvail, cwnd + allowance - pipe, tsoMax);
      const k = Math.floor(room / segMss);
      if (k >= 2) {
        len = k * segMss;
        gso = segMss;
      }
    }
    const fin = gso === 0 && this.finQueued && len === unsent && wndAvail > len;
    this.sendSegment(this.sndMax, len, fin, gso, dataEnd, now);
    return SENT;
  }

  /** Emits a data and/or FIN segment for [s, s + len) of the send stream. */
  private sendSegment(s: Seq, len: number, fin: boolean, gso: number, dataEnd: Seq, now: number): void {
    // Transmission starts again after the pipe emptied (Linux tcp_event_data_sent raising
    // CA_EVENT_TX_START): the controller learns how long the sender was idle.
    if (this.sndMax === this.sndUna) this.cc.onTransmitStart(now - this.lastSendTime, now);
    this.lastSendTime = now;
    let flags = TCP_ACK;
    if (fin) flags |= TCP_FIN;
    if (len > 0 && seqAdd(s, len) === dataEnd) flags |= TCP_PSH;
    this.out.payloadOffset = seqDiff(s, this.sndDataBase);
    this.emitSegment(s, flags, len, gso, now);
    const end = seqAdd(s, len + (fin ? 1 : 0));
    if (seqGt(end, this.sndMax)) {
      const newBytes = seqDiff(end, this.sndMax) - (fin ? 1 : 0);
      if (newBytes > 0) this.statBytesSent += newBytes;
      if (!this.rttTiming && !this.tsEnabled && seqGe(s, this.sndMax)) {
        this.rttTiming = true;
        this.rttSeq = s;
        this.rttStart = now;
      }
      // New data starts at SND.MAX (retransmissions end at or below it).
      this.sendMap.append(this.sndMax, end, now, 0, gso > 0 ? gso : len);
      this.sndMax = end;
    }
    if (fin) this.finSent = true;
    if (len < this.mss && seqGt(end, this.sndSml)) this.sndSml = end;
    if (this.caState === 'recovery') this.prr.onSend(seqDiff(end, s));
    if (this.rtoDeadline === Infinity) this.armRto(now + this.rtt.backedOff(this.backoff));
  }

  private sendSyn(now: number): void {
    const o = this.out.options;
    o.mss = this.config.mss;
    o.windowScale = this.config.windowScaling ? this.rcvWindowScale : undefined;
    o.sackPermitted = this.config.sack ? true : undefined;
    o.timestamps = undefined;
    if (this.config.timestamps) {
      this.outTimestamps.tsVal = this.tsNow(now);
      this.outTimestamps.tsEcr = 0;
      o.timestamps = this.outTimestamps;
    }
    o.sackBlocks = undefined;
    this.transmitSyn(TCP_SYN, 0 as Seq, now);
  }

  private sendSynAck(now: number): void {
    const o = this.out.options;
    o.mss = this.config.mss;
    o.windowScale = this.wsEnabled ? this.rcvWindowScale : undefined;
    o.sackPermitted = this.sackEnabled ? true : undefined;
    o.timestamps = undefined;
    if (this.tsEnabled) {
      this.outTimestamps.tsVal = this.tsNow(now);
      this.outTimestamps.tsEcr = this.tsRecent;
      o.timestamps = this.outTimestamps;
    }
    o.sackBlocks = undefined;
    this.transmitSyn(TCP_SYN | TCP_ACK, this.rcvNxt, now);
    this.lastAckSent = this.rcvNxt;
    this.rcvAdv = seqAdd(this.rcvNxt, Math.min(this.rcvBufSize, MAX_WINDOW_FIELD));
  }

  private transmitSyn(flags: number, ack: Seq, now: number): void {
    const out = this.out;
    out.seqNumber = this.iss;
    out.ackNumber = ack;
    out.flags = flags;
    // RFC 7323 §2.2: the window in a SYN or SYN-ACK is not scaled.
    out.windowLen = Math.min(this.rcvBufSize, MAX_WINDOW_FIELD);
    out.payloadLength = 0;
    out.gsoSize = 0;
    out.payloadOffset = 0;
    this.hooks.transmit(out);
    this.statSegmentsOut++;
    if (!this.synSent) {
      this.synSent = true;
      this.sndMax = seqAdd(this.iss, 1);
      this.rttTiming = true;
      this.rttSeq = this.iss;
      this.rttStart = now;
    }
    if (this.rtoDeadline === Infinity) this.armRto(now + this.rtt.backedOff(this.backoff));
  }

  /** A pure ACK now (<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>); in SYN-RECEIVED our SYN-ACK again. */
  private sendAck(): void {
    const now = this.clock.now();
    if (this._state === 'SYN-RECEIVED') {
      this.sendSynAck(now);
      return;
    }
    if (!this.isSynchronized() && this._state !== 'TIME-WAIT') return;
    this.out.payloadOffset = 0;
    this.emitSegment(this.sndMax, TCP_ACK, 0, 0, now);
  }

  /** RFC 5961 §7: challenge ACKs are rate-limited per connection. */
  private sendChallengeAck(now: number): void {
    if (now - this.challengeWindowStart >= 1000) {
      this.challengeWindowStart = now;
      this.challengeCount = 0;
    }
    if (this.challengeCount >= this.config.challengeAckLimitPerSecond) return;
    this.challengeCount++;
    this.statChallengeAcks++;
    this.sendAck();
  }

  /** A probe that elicits an ACK without occupying sequence space: <SEQ=SND.UNA-1><CTL=ACK>, as Linux sends (tcp_xmit_probe_skb). */
  private sendProbe(now: number): void {
    this.out.payloadOffset = 0;
    this.emitSegment(seqAdd(this.sndUna, -1), TCP_ACK, 0, 0, now);
  }

  /** An RST: <SEQ=seq><CTL=RST>, or with `withAck` <SEQ=seq><ACK=ack><CTL=RST,ACK>. Carries no options. */
  private sendRst(seqNumber: Seq, ack: Seq, withAck: boolean): void {
    const out = this.out;
    const o = out.options;
    o.mss = undefined;
    o.windowScale = undefined;
    o.sackPermitted = undefined;
    o.sackBlocks = undefined;
    o.timestamps = undefined;
    out.seqNumber = seqNumber;
    out.ackNumber = withAck ? ack : (0 as Seq);
    out.flags = withAck ? TCP_RST | TCP_ACK : TCP_RST;
    out.windowLen = 0;
    out.payloadLength = 0;
    out.gsoSize = 0;
    out.payloadOffset = 0;
    this.hooks.transmit(out);
    this.statSegmentsOut++;
  }

  /** Fills the reused segment for a non-SYN segment and hands it to the host. */
  private emitSegment(s: Seq, flags: number, len: number, gso: number, now: number): void {
    const out = this.out;
    const o = out.options;
    o.mss = undefined;
    o.windowScale = undefined;
    o.sackPermitted = undefined;
    if (this.tsEnabled) {
      this.outTimestamps.tsVal = this.tsNow(now);
      this.outTimestamps.tsEcr = this.tsRecent;
      o.timestamps = this.outTimestamps;
    } else {
      o.timestamps = undefined;
    }
    o.sackBlocks = this.sackEnabled && (this.dsackPending || !this.reassembly.isEmpty) ? this.fillSackBlocks() : undefined;
    out.seqNumber = s;
    out.ackNumber = this.rcvNxt;
    out.flags = flags;
    out.windowLen = this.selectWindow();
    out.payloadLength = len;
    out.gsoSize = gso;
    this.hooks.transmit(out);
    this.statSegmentsOut++;
    this.lastAckSent = this.rcvNxt;
    this.ackNow = false;
    this.delayedAckDeadline = Infinity;
    this.dsackPending = false;
  }

  /** The SACK blocks of the next segment: a D-SACK block first (RFC 2883), then RFC 2018 §4 order. */
  private fillSackBlocks(): readonly MutableSackBlock[] | undefined {
    const max = this.tsEnabled ? 3 : 4;
    const lefts = this.sackLefts;
    const rights = this.sackRights;
    let n = 0;
    if (this.dsackPending) {
      lefts[0] = this.dsackLeft;
      rights[0] = this.dsackRight;
      n = 1;
    }
    n += this.reassembly.sackBlocks(lefts, rights, n, max - n);
    if (n === 0) return undefined;
    const arr = this.sackArrays[n] as MutableSackBlock[];
    for (let k = 0; k < n; k++) {
      const b = arr[k] as MutableSackBlock;
      b.left = lefts[k] as Seq;
      b.right = rights[k] as Seq;
    }
    return arr;
  }

  /** Payload bytes per segment after the SACK option this segment will carry. */
  private segmentPayloadLimit(): number {
    if (!this.sackEnabled || (!this.dsackPending && this.reassembly.isEmpty)) return this.mss;
    const max = this.tsEnabled ? 3 : 4;
    const blocks = Math.min(max, this.reassembly.rangeCount + (this.dsackPending ? 1 : 0));
    return Math.max(MIN_MSS, this.mss - (blocks > 0 ? 4 + 8 * blocks : 0));
  }

  /**
   * The window field to advertise now (RFC 9293 §3.8.6.2.2 receiver SWS avoidance; RFC 7323
   * §2.3 scaling). The right edge never moves left; it moves right only when the free space
   * exceeds the current window by min(RCV.BUFF / 2, MSS). Rounding is upward, so a scaled
   * window never shrinks the edge either (Linux tcp_select_window does the same).
   */
  private selectWindow(): number {
    const shift = this.rcvWindowScale;
    const current = this.advertisedWindow();
    const free = this.freeReceiveSpace();
    let win = current;
    if (free - current >= this.receiverSwsThreshold()) win = free;
    let field = win >>> shift;
    if (field << shift < current) field = Math.ceil(current / 2 ** shift);
    if (field > MAX_WINDOW_FIELD) field = MAX_WINDOW_FIELD;
    this.rcvAdv = seqAdd(this.rcvNxt, field << shift);
    return field;
  }

  /** RCV.WND: the part of the advertised window still open. */
  private advertisedWindow(): number {
    const w = seqDiff(this.rcvAdv, this.rcvNxt);
    return w > 0 ? w : 0;
  }

  private freeReceiveSpace(): number {
    const f = this.rcvBufSize - this.receiveQueue.length - this.reassembly.bytes;
    return f > 0 ? f : 0;
  }

  private receiverSwsThreshold(): number {
    return Math.min(this.rcvBufSize >>> 1, this.rcvMss);
  }

  private markAckNow(now: number): void {
    this.ackNow = true;
    // If no poll() follows, the delayed-ACK timer sends it at once.
    this.delayedAckDeadline = now;
  }

  private setDsack(left: Seq, right: Seq): void {
    if (!this.sackEnabled) return;
    this.dsackPending = true;
    this.dsackLeft = left;
    this.dsackRight = right;
  }

  // ---------------------------------------------------------------------------------------
  // Timers
  // ---------------------------------------------------------------------------------------

  /** Clock time (ms) of the earliest armed timer; Infinity when none. */
  nextDeadline(): number {
    if (this.detached || this.uploadPending || this._state === 'CLOSED') return Infinity;
    let d = this.timerDeadline;
    if (this.keepAliveDeadline < d) d = this.keepAliveDeadline;
    if (this.delayedAckDeadline < d) d = this.delayedAckDeadline;
    return d;
  }

  /** Handles every timer due at clock.now(); may transmit. */
  onTimer(): void {
    if (this.detached || this.uploadPending || this._state === 'CLOSED') return;
    const now = this.clock.now();
    if (this.delayedAckDeadline <= now) {
      this.delayedAckDeadline = Infinity;
      if (this.ackNow || this.rcvNxt !== this.lastAckSent) this.sendAck();
    }
    // Several retransmit-class deadlines may be due at once (a probe clamped to the RTO):
    // the earliest first, each handler re-arming what follows it.
    for (let round = 0; round < 4 && this.timerDeadline <= now; round++) {
      switch (this.timerKind) {
        case 'retransmit':
          this.rtoDeadline = Infinity;
          this.refreshTimer();
          this.onRetransmitTimeout(now);
          break;
        case 'loss-probe':
          this.probeDeadline = Infinity;
          this.refreshTimer();
          this.onProbeTimeout(now);
          break;
        case 'rack-reorder':
          this.reorderDeadline = Infinity;
          this.refreshTimer();
          this.onReorderTimeout(now);
          break;
        case 'persist':
          this.clearTimer();
          this.onPersistTimeout(now);
          break;
        case 'fin-wait-2':
          this.clearTimer();
          if (this.config.role === 'target') {
            // Reference §7.5.2: upload with TimeoutExpiration, the state CLOSED.
            this.setState('CLOSED');
            this.requestUpload('fin-wait-2-timeout');
            return;
          }
          // Linux tcp_fin_timeout: the orphan is forgotten.
          this.terminate(undefined);
          return;
        case 'time-wait':
          this.clearTimer();
          this.terminate(undefined);
          return;
        case 'idle':
          break;
      }
      if (this.isClosed()) return;
    }
    if (!this.isClosed() && this.keepAliveDeadline <= now) this.onKeepAliveTimer(now);
  }

  private onRetransmitTimeout(now: number): void {
    const st = this._state;
    if (st === 'SYN-SENT' || st === 'SYN-RECEIVED') {
      if (this.retransmitCount >= this.config.synRetries) {
        this.terminate(this.softError ?? 'ETIMEDOUT');
        return;
      }
      this.retransmitCount++;
      this.synRetransmitted = true;
      this.statTimeouts++;
      this.statTotalRetransmits++;
      this.backoff = Math.min(this.backoff + 1, MAX_BACKOFF);
      this.rttTiming = false;
      this.armRto(now + this.rtt.backedOff(this.backoff));
      if (st === 'SYN-SENT') this.sendSyn(now);
      else this.sendSynAck(now);
      return;
    }
    if (this.sndUna === this.sndMax) return;
    if (this.retransmitCount >= this.config.maxRetransmits) {
      if (this.config.role === 'target') this.requestUpload('retransmit-limit');
      else this.terminate(this.softError ?? 'ETIMEDOUT');
      return;
    }
    // RFC 5681 §3.1 / RFC 6298 §5.4-5.6: ssthresh on the first timeout only, cwnd = 1 SMSS,
    // back off, retransmit the earliest unacknowledged segment, then go-back-N.
    // A timeout during fast recovery keeps the ssthresh that recovery already lowered (as
    // Linux tcp_enter_loss does); the flight excludes SACKed data, which has left the network.
    const first = this.retransmitCount === 0 && (this.caState === 'open' || this.caState === 'disorder');
    this.retransmitCount++;
    if (this.totalRtStart < 0) this.totalRtStart = now;
    this.statTimeouts++;
    const map = this.sendMap;
    this.cc.onRetransmitTimeout(seqDiff(this.sndMax, this.sndUna) - map.sackedBytes, this.mss, now, first);
    this.caState = 'loss';
    this.recoveryPoint = this.sndMax;
    this.dupAcks = 0;
    if (this.rackActive()) {
      // RFC 8985 §6.3: the first segment is lost, and every other one that RACK finds overdue;
      // the rest may still arrive. Every retransmission in flight is presumed lost too.
      const head = map.first;
      const window = this.rack.rtt + this.reorderWindow();
      map.onRetransmitTimeout((i) => i === head || map.timeOf(i) + window - now <= 0);
    } else {
      map.onRetransmitTimeout(() => true);
    }
    this.backoff = Math.min(this.backoff + 1, MAX_BACKOFF);
    this.rttTiming = false;
    this.forceRetransmit = true;
    this.tlpPending = false;
    this.probeDeadline = Infinity;
    this.reorderDeadline = Infinity;
    this.armRto(now + this.rtt.backedOff(this.backoff));
    this.transmitData(now);
  }

  /**
   * RFC 8985 §7.3: the probe timer expired. A probe goes out when none is outstanding and
   * the connection is still open; then, sent or not, the RTO is armed, not the PTO.
   */
  private onProbeTimeout(now: number): void {
    if (!this.isSendingState() || this.sndUna === this.sndMax || !this.tlpActive()) return;
    if (this.inRecovery()) this.sendRescueProbe(now);
    else if (!this.tlpPending) this.sendLossProbe(now);
    this.armRto(now + this.rtt.backedOff(this.backoff));
  }

  /**
   * RFC 8985 §6.2 step 5: the reordering timer expired. Whatever is now overdue is lost;
   * recovery starts if it has not (Linux tcp_rack_reo_timeout), and the losses are resent.
   */
  private onReorderTimeout(now: number): void {
    if (!this.isSendingState() || this.sndUna === this.sndMax || !this.rackActive()) return;
    this.ackNewlyLost = 0;
    this.rackDetectLoss(now);
    if ((this.caState === 'open' || this.caState === 'disorder') && this.sendMap.lostBytes > 0 && seqGe(this.sndUna, this.recoveryPoint)) {
      this.enterRecovery(now);
      this.prrUpdate(0, false);
    }
    this.refreshTimer();
    this.transmitData(now);
  }

  /** Reference §7.5.4 steps 2, 3 and 6. */
  private onPersistTimeout(now: number): void {
    if (this.retransmitCount > this.config.maxRetransmits) {
      if (this.config.role === 'target') this.requestUpload('persist-limit');
      else this.terminate(this.softError ?? 'ETIMEDOUT');
      return;
    }
    this.statZeroWindowProbes++;
    const dataEnd = seqAdd(this.sndDataBase, this.sendQueue.length);
    const wndAvail = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndMax);
    const unsent = seqDiff(dataEnd, this.sndMax);
    if (wndAvail > 0 && (unsent > 0 || (this.finQueued && !this.finSent))) {
      // RFC 9293 §3.8.6.2.1 (d): the override timeout sends what the small window admits.
      const len = Math.min(unsent > 0 ? unsent : 0, wndAvail, this.mss);
      const fin = this.finQueued && len === unsent && wndAvail > len;
      this.persistRound = 0;
      this.retransmitCount = 0;
      this.sendSegment(this.sndMax, len, fin, 0, dataEnd, now);
      return;
    }
    this.sendProbe(now);
    this.setTimer('persist', now + this.rtt.backedOff(Math.min(this.retransmitCount, MAX_BACKOFF)));
    this.retransmitCount++;
  }

  private onKeepAliveTimer(now: number): void {
    const st = this._state;
    if (!this.keepAliveEnabled || (st !== 'ESTABLISHED' && st !== 'CLOSE-WAIT' && st !== 'FIN-WAIT-2')) {
      this.keepAliveDeadline = Infinity;
      return;
    }
    if (this.keepAliveProbes === 0) {
      const idleUntil = this.lastReceiveTime + this.keepAliveIdleMs;
      if (now < idleUntil) {
        this.keepAliveDeadline = idleUntil;
        return;
      }
    }
    if (this.sndMax !== this.sndUna || this.sendQueue.length > 0) {
      // Linux tcp_keepalive_timer: data in flight or queued means the retransmission
      // machinery watches the peer; look again after another idle period.
      this.keepAliveProbes = 0;
      this.keepAliveDeadline = now + this.keepAliveIdleMs;
      return;
    }
    if (this.keepAliveProbes >= this.keepAliveProbeLimit) {
      if (this.config.role === 'target') {
        // Reference §7.5.3: the target asks for the upload; the host decides (and resets).
        this.requestUpload('keepalive-exhausted');
        return;
      }
      // RFC 1122 §4.2.3.6 / Linux: the peer is dead; reset and report.
      this.sendRst(this.sndMax, this.rcvNxt, true);
      this.terminate(this.softError ?? 'ETIMEDOUT');
      return;
    }
    this.sendProbe(now);
    this.keepAliveProbes++;
    this.statKeepAliveProbes++;
    this.keepAliveDeadline = now + this.keepAliveIntervalMs;
  }

  private armKeepAlive(now: number): void {
    if (!this.keepAliveEnabled) {
      this.keepAliveDeadline = Infinity;
      return;
    }
    this.keepAliveDeadline = now + this.keepAliveIdleMs;
  }

  /** Arms a timer that runs only when nothing is outstanding (persist, FIN-WAIT-2, TIME-WAIT). */
  private setTimer(kind: 'persist' | 'fin-wait-2' | 'time-wait', deadline: number): void {
    this.rtoDeadline = Infinity;
    this.probeDeadline = Infinity;
    this.reorderDeadline = Infinity;
    this.timerKind = kind;
    this.timerDeadline = deadline;
  }

  private clearTimer(): void {
    this.rtoDeadline = Infinity;
    this.probeDeadline = Infinity;
    this.reorderDeadline = Infinity;
    this.timerKind = 'idle';
    this.timerDeadline = Infinity;
  }

  /** (Re)arms the RTO (RFC 6298); it replaces a persist timer, as data is now outstanding. */
  private armRto(deadline: number): void {
    this.rtoDeadline = deadline;
    this.refreshTimer();
  }

  /**
   * Sets the union to the earliest retransmit-class deadline (the RACK timer first on a tie,
   * then the probe, then the RTO), or leaves a persist, FIN-WAIT-2 or TIME-WAIT timer alone
   * when no data deadline is armed.
   */
  private refreshTimer(): void {
    let kind: RetransmitTimerKind = 'idle';
    let deadline = Infinity;
    if (this.reorderDeadline < deadline) {
      kind = 'rack-reorder';
      deadline = this.reorderDeadline;
    }
    if (this.probeDeadline < deadline) {
      kind = 'loss-probe';
      deadline = this.probeDeadline;
    }
    if (this.rtoDeadline < deadline) {
      kind = 'retransmit';
      deadline = this.rtoDeadline;
    }
    if (kind === 'idle') {
      const k = this.timerKind;
      if (k === 'persist' || k === 'fin-wait-2' || k === 'time-wait') return;
    }
    this.timerKind = kind;
    this.timerDeadline = deadline;
  }

  // ---------------------------------------------------------------------------------------
  // Chimney export
  // ---------------------------------------------------------------------------------------

  /**
   * The complete state for a hand-over (reference §3.3.2 steps 3-6): first the due delayed
   * ACK is sent (§3.2.4); SACKed-only data is dropped (step 2); timers become residues in
   * ticks (-1 not running, 0 due now). Afterwards this instance is detached: it transmits
   * nothing, and input() answers 'tcp-closed'. A failed offload must not come here: it uses
   * queryState(), which leaves the connection running.
   */
  exportState(): TcpOffloadSnapshot {
    this.checkAttached('exportState');
    const st = this._state;
    if (st === 'SYN-SENT' || st === 'SYN-RECEIVED' || st === 'LISTEN') {
      throw new Error(`exportState: a connection in ${st} cannot be handed over (reference §3.2.6)`);
    }
    if (st !== 'CLOSED' && (this.ackNow || this.rcvNxt !== this.lastAckSent)) this.sendAck();
    const snapshot = this.snapshot();
    this.detached = true;
    this.clearTimer();
    this.keepAliveDeadline = Infinity;
    this.delayedAckDeadline = Infinity;
    return snapshot;
  }

  /**
   * The live values of every structure, for QueryOffload (reference §3.6): nothing is sent and
   * nothing changes, so the connection runs on exactly as before. The delegated union arms are
   * the query's: SendBacklogSize (bytes the owner should keep queued here: the peer's window,
   * at least a congestion window, §4.1.3) and ReceiveBacklogSize (received, undelivered bytes).
   * The data arrays are views of the queues at this moment.
   */
  queryState(): TcpOffloadSnapshot {
    this.checkAttached('queryState');
    const snapshot = this.snapshot();
    snapshot.delegated.SendBacklogSize = Math.min(0xfffffffe, Math.max(this.sndWnd, Math.floor(this.cc.cwnd)));
    snapshot.delegated.ReceiveBacklogSize = this.receiveQueue.length;
    return snapshot;
  }

  private snapshot(): TcpOffloadSnapshot {
    const st = this._state;
    const now = this.clock.now();
    const tps = this.config.ticksPerSecond;
    const msToTicks = (ms: number): number => (ms * tps) / 1000;
    const residue = (deadline: number): number =>
      deadline === Infinity ? TIMER_NOT_RUNNING : Math.min(0xfffffffe, Math.max(0, Math.ceil(msToTicks(deadline - now))));
    const flags =
      (this.tsEnabled ? TCP_FLAG_TIMESTAMP_ENABLED : 0) |
      (this.sackEnabled ? TCP_FLAG_SACK_ENABLED : 0) |
      (this.wsEnabled ? TCP_FLAG_WINDOW_SCALING_ENABLED : 0);
    let keepAliveDelta = TIMER_NOT_RUNNING;
    if (this.keepAliveDeadline !== Infinity && st !== 'CLOSED') {
      const effective =
        this.keepAliveProbes > 0 ? this.keepAliveDeadline : Math.max(this.keepAliveDeadline, this.lastReceiveTime + this.keepAliveIdleMs);
      keepAliveDelta = residue(effective);
    }
    const snapshot: TcpOffloadSnapshot = {
      const: {
        Flags: flags,
        RemotePort: this.remotePort,
        LocalPort: this.localPort,
        SndWindScale: this.sndWindowScale,
        RcvWindScale: this.rcvWindowScale,
        RemoteMss: this.peerMss,
        HashValue: 0,
      },
      cached: {
        Flags: (this.keepAliveEnabled ? TCP_FLAG_KEEP_ALIVE_ENABLED : 0) | (this.noDelay ? 0 : TCP_FLAG_NAGLING_ENABLED),
        InitialRcvWnd: this.rcvBufSize,
        RcvIndicationSize: 0,
        KaProbeCount: this.keepAliveProbeLimit,
        KaTimeout: Math.round(msToTicks(this.keepAliveIdleMs)),
        KaInterval: Math.round(msToTicks(this.keepAliveIntervalMs)),
        MaxRT: 0,
        FlowLabel: 0,
        TtlOrHopLimit: 64,
        TosOrTrafficClass: 0,
        UserPriority: 0,
      },
      delegated: {
        State: STATE_NUMBER[st],
        Flags: 0,
        RcvNxt: this.rcvNxt,
        RcvWnd: this.advertisedWindow(),
        SndUna: this.sndUna,
        SndNxt: this.caState === 'loss' ? this.goBackNext() : this.sndMax,
        SndMax: this.sndMax,
        SndWnd: this.sndWnd,
        MaxSndWnd: this.maxSndWnd,
        SendWL1: this.sndWl1,
        CWnd: Math.floor(this.cc.cwnd),
        SsThresh: Math.min(Math.floor(this.cc.ssthresh), 0xffffffff),
        SRtt: this.rtt.hasSample ? Math.min(0xffff, Math.round(msToTicks(this.rtt.srtt) * 8)) : 0,
        RttVar: this.rtt.hasSample ? Math.min(0xffff, Math.round(msToTicks(this.rtt.rttvar) * 4)) : 0,
        TsRecent: this.tsEnabled ? this.tsRecent : 0,
        TsRecentAge: this.tsEnabled ? Math.max(0, Math.floor(msToTicks(now - this.tsRecentTime))) >>> 0 : 0,
        TsTime: this.tsEnabled ? this.tsNow(now) : 0,
        TotalRT: this.totalRtStart >= 0 ? Math.floor(msToTicks(now - this.totalRtStart)) : 0,
        // Recovery entered on RACK or SACK evidence may have seen fewer duplicate ACKs: report
        // DupThresh, which tells the importer that fast recovery is under way (§3.2.5).
        DupAckCount: this.caState === 'recovery' ? Math.min(Math.max(this.dupAcks, DUP_THRESH), 255) : Math.min(this.dupAcks, 255),
        SndWndProbeCount: this.timerKind === 'persist' ? this.persistRound : 0,
        KeepAlive: { ProbeCount: this.keepAliveProbes, TimeoutDelta: keepAliveDelta },
        Retransmit: { Count: Math.min(this.retransmitCount, 255), TimeoutDelta: residue(this.timerDeadline) },
        DWnd: 0,
      },
      sendData: this.sendQueue.views(),
      finQueued: this.finQueued,
      bufferedData: this.receiveQueue.views(),
      peerFinReceived: this.peerFinReceived,
    };
    return snapshot;
  }

  // ---------------------------------------------------------------------------------------
  // Diagnostics
  // ---------------------------------------------------------------------------------------

  info(): TcpInfo {
    return {
      state: this._state,
      sndUna: this.sndUna,
      sndMax: this.sndMax,
      rcvNxt: this.rcvNxt,
      congestionControl: this.cc.name,
      caState: this.caState,
      mss: this.mss,
      peerMss: this.peerMss,
      cwnd: Math.floor(this.cc.cwnd),
      ssthresh: Math.floor(this.cc.ssthresh),
      srttMs: this.rtt.srtt,
      rttvarMs: this.rtt.rttvar,
      rtoMs: this.rtt.backedOff(this.backoff),
      sndWnd: this.sndWnd,
      rcvWnd: this.advertisedWindow(),
      sndWindowScale: this.sndWindowScale,
      rcvWindowScale: this.rcvWindowScale,
      timestamps: this.tsEnabled,
      sack: this.sackEnabled,
      retransmits: this.retransmitCount,
      totalRetransmits: this.statTotalRetransmits,
      fastRetransmits: this.statFastRetransmits,
      timeouts: this.statTimeouts,
      tlpProbes: this.statTlpProbes,
      tlpRecoveries: this.statTlpRecoveries,
      rackRetransmits: this.statRackRetransmits,
      lostRetransmits: this.statLostRetransmits,
      rescueRetransmits: this.statRescueRetransmits,
      dsacksReceived: this.statDsacks,
      reorderingSeen: this.rack.reorderingSeen,
      reorderWindowMs: this.rackActive() ? this.reorderWindow() : 0,
      bytesAcked: this.statBytesAcked,
      bytesReceived: this.statBytesReceived,
      bytesSent: this.statBytesSent,
      bytesRetransmitted: this.statBytesRetransmitted,
      segmentsIn: this.statSegmentsIn,
      segmentsOut: this.statSegmentsOut,
      unacked: seqDiff(this.sndMax, this.sndUna),
      sacked: this.sendMap.sackedBytes,
      reorderQueueBytes: this.reassembly.bytes,
      sendQueueBytes: this.sendQueue.length,
      receiveQueueBytes: this.receiveQueue.length,
      zeroWindowProbes: this.statZeroWindowProbes,
      keepAliveProbes: this.statKeepAliveProbes,
      challengeAcks: this.statChallengeAcks,
    };
  }

  // ---------------------------------------------------------------------------------------
  // Helpers
  // ---------------------------------------------------------------------------------------

  /** The only transition path: every change raises a 'state' event. */
  private setState(to: TcpState): void {
    const from = this._state;
    if (from === to) return;
    this._state = to;
    this.emit({ type: 'state', from, to });
  }

  /** CLOSED, with 'error' first when there is one, then 'closed'. */
  /**
   * A target engine's mandatory upload request (reference §5.1.3, §11 item 1): no more ACKs,
   * retransmissions, timers or deliveries; the state stays as it is for the export.
   */
  private requestUpload(reason: TcpUploadRequestReason): void {
    if (this.uploadPending) return;
    this.uploadPending = true;
    this.delayedAckDeadline = Infinity;
    this.emit({ type: 'upload-request', reason });
  }

  private terminate(error: TcpErrorCode | undefined): void {
    if (this._state === 'CLOSED') return;
    this.clearTimer();
    this.keepAliveDeadline = Infinity;
    this.delayedAckDeadline = Infinity;
    if (error !== undefined) this.emit({ type: 'error', code: error });
    this.setState('CLOSED');
    this.emit(EVENT_CLOSED);
  }

  private emit(event: TcpEvent): void {
    this.hooks.event(event);
  }

  private initSend(iss: Seq): void {
    this.iss = iss;
    this.sndSml = iss;
    this.sndUna = iss;
    this.sndMax = iss;
    this.sndDataBase = seqAdd(iss, 1);
    this.recoveryPoint = iss;
    this.sendMap.reset(iss);
    this.rack.reset(iss);
  }

  /** RFC 6928 initial window, or one segment after a lost SYN (RFC 5681 §3.1). */
  private initialWindow(): number {
    return this.synRetransmitted ? this.mss : this.config.initialCwndSegments * this.mss;
  }

  /**
   * Effective send MSS (RFC 9293 §3.7.1, RFC 6691): the smallest of the peer's MSS, our own
   * and the path's, minus the timestamps option every segment carries. Linux gives 1448
   * bytes of payload for a 1460 MSS with timestamps, and so do we.
   */
  private updateMss(): void {
    let m = Math.min(this.peerMss, this.config.mss);
    if (this.pathMssLimit > 0 && this.pathMssLimit < m) m = this.pathMssLimit;
    if (this.tsEnabled) m -= TIMESTAMPS_OPTION_LEN;
    this.mss = Math.max(MIN_MSS, m);
  }

  /** The TSval clock: ticks of ticksPerSecond (reference §7.6 "NicTime"). */
  private tsClock(now: number): number {
    return Math.floor((now * this.config.ticksPerSecond) / 1000) % 0x100000000;
  }

  private tsNow(now: number): number {
    return (this.tsClock(now) + this.tsOffset) >>> 0;
  }

  private ticksToMs(ticks: number): number {
    return (ticks * 1000) / this.config.ticksPerSecond;
  }

  /** RACK runs on SACK connections only (RFC 8985 relies on SACK; so does Linux). */
  private rackActive(): boolean {
    return this.rackEnabled && this.sackEnabled;
  }

  /**
   * Tail loss probes need SACK (Linux tcp_schedule_loss_probe), and RACK: what a probe
   * elicits is turned into loss marks by RACK (RFC 8985 §7.4), the DupThresh rule would
   * not see a single lost tail segment.
   */
  private tlpActive(): boolean {
    return this.tlpEnabled && this.rackEnabled && this.sackEnabled;
  }

  /** Fast recovery or RTO recovery. */
  private inRecovery(): boolean {
    return this.caState === 'recovery' || this.caState === 'loss';
  }

  /** States in which transmitData() runs. */
  private isSendingState(): boolean {
    const st = this._state;
    return st === 'ESTABLISHED' || st === 'CLOSE-WAIT' || st === 'FIN-WAIT-1' || st === 'CLOSING' || st === 'LAST-ACK';
  }

  /** Where a go-back-N retransmission after an RTO continues: the first lost range not yet resent (the exported SndNxt). */
  private goBackNext(): Seq {
    const i = this.sendMap.nextLost(this.sendMap.first);
    return i >= 0 ? this.sendMap.startOf(i) : this.sndMax;
  }

  /** A method, not an inline comparison: TypeScript would keep a narrowing of `_state` across calls that change it. */
  private isClosed(): boolean {
    return this._state === 'CLOSED';
  }

  private isSynchronized(): boolean {
    const st = this._state;
    return st === 'ESTABLISHED' || st === 'FIN-WAIT-1' || st === 'FIN-WAIT-2' || st === 'CLOSE-WAIT' || st === 'CLOSING' || st === 'LAST-ACK';
  }

  /** States in which ABORT sends a RST (RFC 9293 §3.10.5). */
  private isResettable(): boolean {
    const st = this._state;
    return st === 'SYN-RECEIVED' || st === 'ESTABLISHED' || st === 'FIN-WAIT-1' || st === 'FIN-WAIT-2' || st === 'CLOSE-WAIT';
  }

  private canWrite(): boolean {
    const st = this._state;
    return st === 'SYN-SENT' || st === 'SYN-RECEIVED' || st === 'ESTABLISHED' || st === 'CLOSE-WAIT';
  }

  private checkAttached(what: string): void {
    if (this.detached) throw new Error(`${what}: this connection was exported and is detached`);
  }
}

/** Unsigned distance a - b of two 32-bit timestamps, clamped at zero (a TSecr from the future gives 0). */
function u32DiffNonNeg(a: number, b: number): number {
  const d = (a - b) | 0;
  return d > 0 ? d : 0;
}

/**
 * The RST for a segment that reached no connection (RFC 9293 §3.10.7.1): with ACK,
 * <SEQ=SEG.ACK><CTL=RST>; without, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. Undefined for
 * an incoming RST, which is never answered.
 */
export function resetFor(segment: TcpRepr): { seqNumber: Seq; ackNumber: Seq; flags: number } | undefined {
  const f = segment.flags;
  if ((f & TCP_RST) !== 0) return undefined;
  if ((f & TCP_ACK) !== 0) return { seqNumber: segment.ackNumber, ackNumber: 0 as Seq, flags: TCP_RST };
  let len = segment.payload.length;
  if ((f & TCP_SYN) !== 0) len++;
  if ((f & TCP_FIN) !== 0) len++;
  return { seqNumber: 0 as Seq, ackNumber: seqAdd(segment.seqNumber, len), flags: TCP_RST | TCP_ACK };
}

/**
 * RFC 2883 §4 as Linux tcp_check_dsack reads it: the first SACK block reports a duplicate
 * when it lies below the cumulative ACK, or inside the second block.
 */
function isDsack(blocks: readonly TcpSackBlock[], ack: Seq): boolean {
  const b0 = blocks[0] as TcpSackBlock;
  if (seqLt(b0.left, ack)) return true;
  const b1 = blocks[1];
  return b1 !== undefined && seqGe(b0.left, b1.left) && seqLe(b0.right, b1.right);
}
