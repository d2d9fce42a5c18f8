/**
 * Host stack counters. Every received frame ends in exactly one of two places: it was
 * handled (`rxHandled`) or dropped with a named reason (`drops`), so
 * rxFrames = rxHandled + drops.total() at every moment between frames — the fuzz test checks
 * exactly that.
 */
import { DropCounters } from '../wire/drop-reason.js';
import type { TcpInfo } from '../tcp/types.js';

/** Per-connection counters summed over connections, like Linux `netstat -s` TcpExt lines. */
export interface TcpTotals {
  connections: number;
  retransmits: number;
  fastRetransmits: number;
  timeouts: number;
  zeroWindowProbes: number;
  keepAliveProbes: number;
  challengeAcks: number;
  /** RFC 8985: tail loss probes sent, retransmissions RACK's time-based detection triggered, lost retransmissions found. */
  tlpProbes: number;
  rackRetransmits: number;
  lostRetransmits: number;
  dsacksReceived: number;
  bytesAcked: number;
  bytesReceived: number;
}

export function emptyTcpTotals(): TcpTotals {
  return {
    connections: 0,
    retransmits: 0,
    fastRetransmits: 0,
    timeouts: 0,
    zeroWindowProbes: 0,
    keepAliveProbes: 0,
    challengeAcks: 0,
    tlpProbes: 0,
    rackRetransmits: 0,
    lostRetransmits: 0,
    dsacksReceived: 0,
    bytesAcked: 0,
    bytesReceived: 0,
  };
}

export function addTcpInfo(totals: TcpTotals, info: TcpInfo): void {
  totals.connections++;
  totals.retransmits += info.totalRetransmits;
  totals.fastRetransmits += info.fastRetransmits;
  totals.timeouts += info.timeouts;
  totals.zeroWindowProbes += info.zeroWindowProbes;
  totals.keepAliveProbes += info.keepAliveProbes;
  totals.challengeAcks += info.challengeAcks;
  totals.tlpProbes += info.tlpProbes;
  totals.rackRetransmits += info.rackRetransmits;
  totals.lostRetransmits += info.lostRetransmits;
  totals.dsacksReceived += info.dsacksReceived;
  totals.bytesAcked += info.bytesAcked;
  totals.bytesReceived += info.bytesReceived;
}

export class HostStats {
  rxFrames = 0;
  rxHandled = 0;
  txFrames = 0;
  arpRequestsIn = 0;
  arpRepliesIn = 0;
  arpRequestsOut = 0;
  arpRepliesOut = 0;
  ipv4In = 0;
  ipv4Out = 0;
  ipv4FragmentsIn = 0;
  ipv4Reassembled = 0;
  ipv4FragmentsOut = 0;
  ipv6In = 0;
  ipv6Out = 0;
  ipv6FragmentsIn = 0;
  ipv6Reassembled = 0;
  ipv6FragmentsOut = 0;
  icmpEchoRepliesOut = 0;
  icmpErrorsOut = 0;
  icmpErrorsIn = 0;
  icmpv6EchoRepliesOut = 0;
  icmpv6ErrorsOut = 0;
  icmpv6ErrorsIn = 0;
  ndSolicitationsIn = 0;
  ndSolicitationsOut = 0;
  ndAdvertisementsIn = 0;
  ndAdvertisementsOut = 0;
  udpIn = 0;
  tcpIn = 0;
  tcpOut = 0;
  tcpRstOut = 0;
  /**
   * Known TCP options skipped for a wrong length, in segments that were processed anyway
   * (Linux tcp_parse_options skips them). Not a drop: the segment was handled.
   */
  tcpBadOptionsIgnored = 0;
  tcpSynCookiesSent = 0;
  tcpSynCookiesAccepted = 0;
  /** Connections opened by connect() and accepted from listeners. */
  tcpActiveOpens = 0;
  tcpPassiveOpens = 0;
  /** Totals of connections that have closed (live ones are added by HostStack.tcpTotals()). */
  readonly tcpClosed: TcpTotals = emptyTcpTotals();
  readonly drops = new DropCounters();
  /**
   * Datagrams given up in reassembly (timeout). Their fragments were counted as handled when
   * they were taken in, so they are counted here and not in `drops`, which would break
   * rxFrames = rxHandled + drops.
   */
  readonly reassemblyDrops = new DropCounters();
  /** Frames the stack wanted to send but could not (no route, resolution failure, too big). */
  readonly txDrops = new DropCounters();

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this)) {
      out[k] = v instanceof DropCounters ? v.toJSON() : typeof v === 'object' && v !== null ? { ...v } : v;
    }
    return out;
  }
}
