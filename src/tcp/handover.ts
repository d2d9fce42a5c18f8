/**
 * What the hand-over does with every piece of engine state: the one list a reviewer reads to
 * know that an offload or upload carries the whole connection (issue "state record complete by
 * construction"). test/unit/tcp/handover.test.ts compares it with the fields of a live
 * `TcpConnection`: a field added to the engine and not classified here fails that test, so new
 * state cannot silently stay behind in the old engine.
 *
 * Dispositions:
 * - `carried`: travels in the chimney record (const, cached or delegated structure, or the data
 *   beside it), named in `via`;
 * - `path`: travels in the path object the connection depends on (PATH_OFFLOAD_STATE_CACHED);
 * - `derived`: recomputed on import from carried state (`via` says from what);
 * - `restarted`: deliberately not carried; the new owner starts it fresh, as the reference says
 *   (`via` cites why);
 * - `engine`: machinery of one engine instance (hooks, clock, scratch, preallocated buffers);
 * - `local`: statistics of one engine instance (each side reports its own).
 */
export type HandoverDisposition = 'carried' | 'path' | 'derived' | 'restarted' | 'engine' | 'local';

export interface HandoverEntry {
  readonly disposition: HandoverDisposition;
  readonly via: string;
}

const c = (via: string): HandoverEntry => ({ disposition: 'carried', via });
const d = (via: string): HandoverEntry => ({ disposition: 'derived', via });
const r = (via: string): HandoverEntry => ({ disposition: 'restarted', via });
const ENGINE: HandoverEntry = { disposition: 'engine', via: 'this engine instance' };
const LOCAL: HandoverEntry = { disposition: 'local', via: 'info() statistics of this engine' };

export const HANDOVER: Readonly<Record<string, HandoverEntry>> = {
  localPort: c('const.LocalPort'),
  remotePort: c('const.RemotePort'),
  hooks: ENGINE,
  clock: ENGINE,
  config: ENGINE,
  out: ENGINE,
  outTimestamps: ENGINE,
  sackArrays: ENGINE,
  sackLefts: ENGINE,
  sackRights: ENGINE,
  _state: c('delegated.State'),
  detached: ENGINE,
  uploadPending: r('the request is the reason of the upload; the new owner runs the connection normally'),
  passive: r('only meaningful in SYN-RECEIVED, which is never handed over (§1.4)'),
  orphaned: c('delegated.Retransmit.TimeoutDelta in FIN-WAIT-2 (only an orphaned connection runs that timer)'),
  announceEstablished: r('only meaningful before ESTABLISHED (§1.4)'),

  tsEnabled: c('const.Flags TCP_FLAG_TIMESTAMP_ENABLED'),
  sackEnabled: c('const.Flags TCP_FLAG_SACK_ENABLED'),
  wsEnabled: c('const.Flags TCP_FLAG_WINDOW_SCALING_ENABLED'),
  sndWindowScale: c('const.SndWindScale'),
  rcvWindowScale: c('const.RcvWindScale'),
  peerMss: c('const.RemoteMss'),
  pathMssLimit: { disposition: 'path', via: 'path cached PathMtu' },
  mss: d('const.RemoteMss, the path MTU and the timestamp option'),
  rcvBufSize: c('cached.InitialRcvWnd'),
  noDelay: c('cached.Flags TCP_FLAG_NAGLING_ENABLED'),
  keepAliveEnabled: c('cached.Flags TCP_FLAG_KEEP_ALIVE_ENABLED'),
  keepAliveIdleMs: c('cached.KaTimeout'),
  keepAliveIntervalMs: c('cached.KaInterval'),
  keepAliveProbeLimit: c('cached.KaProbeCount'),
  tsOffset: c('delegated.TsTime (NicDelta = TsTime - NicTime, §7.6)'),
  tsRecent: c('delegated.TsRecent'),
  tsRecentTime: c('delegated.TsRecentAge'),
  lastAckSent: d('delegated.RcvNxt: the due ACK is sent before the hand-over (§3.3.2 step 3)'),

  iss: d('delegated.SndUna (the handshake is long over; only ordering against SND.UNA matters)'),
  sndUna: c('delegated.SndUna'),
  sndMax: c('delegated.SndMax'),
  sndWnd: c('delegated.SndWnd'),
  maxSndWnd: c('delegated.MaxSndWnd'),
  sndWl1: c('delegated.SendWL1'),
  sndWl2: d('delegated.SndUna'),
  sndDataBase: d('delegated.SndUna: the send data starts there (§4.1.4)'),
  sendQueue: c('NetBufferListChain with SendDataHead/SendDataTail (§4.1.4)'),
  sndSml: d('delegated.SndUna (Nagle restarts from the first unacknowledged byte)'),
  finQueued: c('the disconnect request that travels with the send data'),
  finSent: d('delegated.State and SndMax'),
  synSent: d('delegated.State: past the handshake'),
  synRetransmitted: r('handshake only (§1.4)'),

  irs: d('delegated.RcvNxt'),
  rcvNxt: c('delegated.RcvNxt'),
  rcvAdv: c('delegated.RcvWnd (the right edge the peer knows)'),
  receiveQueue: c('delegated BufferedData'),
  reassembly: r('out-of-order data is dropped at the hand-over; the peer retransmits it (§3.3.2 step 2)'),
  peerFinReceived: c('delegated.State (CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT)'),
  pendingFin: r('a FIN beyond a hole is out-of-order data (§3.3.2 step 2)'),
  pendingFinSeq: r('a FIN beyond a hole is out-of-order data (§3.3.2 step 2)'),
  rcvMss: d('the configured MSS and the timestamp option'),
  ackNow: r('the due ACK is sent before the hand-over (§3.3.2 step 3)'),
  dsackPending: r('a D-SACK report belongs to the ACK sent before the hand-over'),
  dsackLeft: r('a D-SACK report belongs to the ACK sent before the hand-over'),
  dsackRight: r('a D-SACK report belongs to the ACK sent before the hand-over'),

  caState: d('delegated.DupAckCount and SndNxt < SndMax (§3.2.5)'),
  dupAcks: c('delegated.DupAckCount'),
  recoveryPoint: d('delegated.SndMax when recovery is under way'),
  forceRetransmit: d('loss state from SndNxt < SndMax'),
  sendMap: d('[SndUna, SndMax) as one untimed range; SACK state is dropped (§3.3.2 step 2)'),
  rack: r('RACK learns from segments the new owner sends (no per-segment times in the record)'),
  prr: d('delegated.DupAckCount (recovery restarts PRR on the outstanding data)'),
  rackEnabled: ENGINE,
  tlpEnabled: ENGINE,
  tlpPending: r('a probe in flight is ordinary outstanding data for the new owner'),
  tlpEndSeq: r('a probe in flight is ordinary outstanding data for the new owner'),
  tlpStartSeq: r('a probe in flight is ordinary outstanding data for the new owner'),
  ackDelivered: ENGINE,
  ackClock: ENGINE,
  ackTsEcr: ENGINE,
  ackNewlyLost: ENGINE,
  onDelivered: ENGINE,
  onRackLost: ENGINE,
  cc: c('delegated.CWnd and SsThresh'),
  cwndLimited: r('recomputed by the next transmit loop'),
  lastSendTime: r('idle restart counts from the hand-over'),

  rtt: c('delegated.SRtt (8 x SRTT) and RttVar (4 x RTTVAR)'),
  backoff: d('delegated.Retransmit.Count'),
  rttTiming: r('Karn: a segment timed by the old owner is not timed by the new one'),
  rttSeq: r('Karn: a segment timed by the old owner is not timed by the new one'),
  rttStart: r('Karn: a segment timed by the old owner is not timed by the new one'),
  retransmitCount: c('delegated.Retransmit.Count'),
  totalRtStart: c('delegated.TotalRT'),
  lastRetransmitTs: r('ambiguity window of the old owner\'s own retransmissions'),
  persistRound: c('delegated.SndWndProbeCount'),

  timerKind: c('delegated.Retransmit.TimeoutDelta (retransmit, persist or FIN-WAIT-2, by state)'),
  timerDeadline: c('delegated.Retransmit.TimeoutDelta'),
  rtoDeadline: d('delegated.Retransmit.TimeoutDelta'),
  probeDeadline: r('the tail-loss probe is re-armed by the new owner\'s first transmission'),
  reorderDeadline: r('RACK reordering timer belongs to RACK state, restarted'),
  keepAliveDeadline: c('delegated.KeepAlive.TimeoutDelta'),
  keepAliveProbes: c('delegated.KeepAlive.ProbeCount'),
  delayedAckDeadline: r('delayed ACK is flushed before the hand-over (§3.3.3)'),
  lastReceiveTime: d('delegated.KeepAlive.TimeoutDelta'),

  challengeWindowStart: r('RFC 5961 rate limit per engine; the reference\'s 4.11 periods restart'),
  dropReason: ENGINE,
  challengeCount: r('RFC 5961 rate limit per engine; the reference\'s 4.11 periods restart'),
  softError: r('a soft error is reported only by the engine that met it'),

  statTotalRetransmits: LOCAL,
  statFastRetransmits: LOCAL,
  statTimeouts: LOCAL,
  statTlpProbes: LOCAL,
  statTlpRecoveries: LOCAL,
  statRackRetransmits: LOCAL,
  statLostRetransmits: LOCAL,
  statDsacks: LOCAL,
  statRescueRetransmits: LOCAL,
  statBytesAcked: LOCAL,
  statBytesReceived: LOCAL,
  statBytesSent: LOCAL,
  statBytesRetransmitted: LOCAL,
  statSegmentsIn: LOCAL,
  statSegmentsOut: LOCAL,
  statZeroWindowProbes: LOCAL,
  statKeepAliveProbes: LOCAL,
  statChallengeAcks: LOCAL,
};
