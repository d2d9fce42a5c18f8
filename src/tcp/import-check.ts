/**
 * Validation of a chimney TCP record before an engine is built from it (reference §2.10,
 * §3.2.5, §4.1.4). Whoever imports (the target at InitiateOffload, the host at upload) gets a
 * named reason instead of an engine that would misbehave on the wire; the target answers the
 * block with a status (§3.2.1 rule 8), the host keeps what it has.
 *
 * The checks are what a record must satisfy to describe one live connection: an offloadable
 * state, ports, window-scale shifts of at most 14 (RFC 7323 §2.3), SND.UNA ≤ SND.NXT ≤ SND.MAX
 * within half the sequence space, send data that covers every sent byte, windows within the
 * largest scaled window (2^30), counters within their C widths, timer residues that are either
 * "not running" or a time in range.
 */
import { TIMER_NOT_RUNNING, type TcpOffloadSnapshot } from './offload-state.js';
import {
  TCP_FLAG_WINDOW_SCALING_ENABLED,
  TcpConnectionCloseWait,
  TcpConnectionClosed,
  TcpConnectionClosing,
  TcpConnectionEstablished,
  TcpConnectionFinWait1,
  TcpConnectionFinWait2,
  TcpConnectionLastAck,
  TcpConnectionTimeWait,
} from './offload-state.js';

/** Who imports: the target takes offloadable states only (§1.4); the host also takes back CLOSED and TIME-WAIT (§4.11, §7.5). */
export type ImportRole = 'target' | 'host';

/** The largest window a scaled 16-bit field can express (65535 << 14). */
const MAX_WINDOW = 65535 * 2 ** 14;
/** Residues above this are not a time but garbage (2^31 ticks is 24 days at 1000 ticks/s). */
const MAX_RESIDUE = 0x7fffffff;

const TARGET_STATES = new Set([
  TcpConnectionEstablished,
  TcpConnectionFinWait1,
  TcpConnectionFinWait2,
  TcpConnectionCloseWait,
  TcpConnectionClosing,
  TcpConnectionLastAck,
]);
const HOST_STATES = new Set([...TARGET_STATES, TcpConnectionClosed, TcpConnectionTimeWait]);
/** States in which our FIN has been sent: it occupies the last sequence number before SND.MAX. */
const FIN_SENT_STATES = new Set([TcpConnectionFinWait2, TcpConnectionClosing, TcpConnectionLastAck, TcpConnectionTimeWait]);

/** Why the record cannot be imported, or undefined when it can. */
export function checkOffloadRecord(s: TcpOffloadSnapshot, role: ImportRole): string | undefined {
  const k = s.const;
  const ca = s.cached;
  const d = s.delegated;
  const states = role === 'target' ? TARGET_STATES : HOST_STATES;
  if (!states.has(d.State)) return `State ${d.State} cannot be imported by the ${role} (reference §1.4)`;
  for (const [name, port] of [
    ['LocalPort', k.LocalPort],
    ['RemotePort', k.RemotePort],
  ] as const) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) return `${name} ${port} is not a port`;
  }
  if ((k.Flags & TCP_FLAG_WINDOW_SCALING_ENABLED) !== 0) {
    if (!isUint(k.SndWindScale, 14) || !isUint(k.RcvWindScale, 14)) {
      return `window scale ${k.SndWindScale}/${k.RcvWindScale} above 14 (RFC 7323 §2.3)`;
    }
  }
  if (!isUint(k.RemoteMss, 65535) || k.RemoteMss < 1) return `RemoteMss ${k.RemoteMss} is not a segment size`;
  for (const [name, v] of [
    ['RcvNxt', d.RcvNxt],
    ['SndUna', d.SndUna],
    ['SndNxt', d.SndNxt],
    ['SndMax', d.SndMax],
    ['SendWL1', d.SendWL1],
    ['TsRecent', d.TsRecent],
    ['TsTime', d.TsTime],
  ] as const) {
    if (!isUint(v, 0xffffffff)) return `${name} ${v} is not a 32-bit value`;
  }
  const nxt = u32Diff(d.SndNxt, d.SndUna);
  const max = u32Diff(d.SndMax, d.SndUna);
  if (max > 0x7fffffff || nxt > max) return `SndUna ${d.SndUna} <= SndNxt ${d.SndNxt} <= SndMax ${d.SndMax} does not hold (§3.2.5)`;
  const finInSpace = FIN_SENT_STATES.has(d.State) || (d.State === TcpConnectionFinWait1 && s.finQueued && max > 0);
  let sendBytes = 0;
  for (const chunk of s.sendData) sendBytes += chunk.length;
  const sentData = finInSpace && max > 0 ? max - 1 : max;
  if (sendBytes < sentData) return `the send data holds ${sendBytes} bytes, fewer than the ${sentData} already sent (§4.1.4)`;
  for (const [name, v] of [
    ['RcvWnd', d.RcvWnd],
    ['SndWnd', d.SndWnd],
    ['MaxSndWnd', d.MaxSndWnd],
    ['InitialRcvWnd', ca.InitialRcvWnd],
  ] as const) {
    if (!isUint(v, MAX_WINDOW)) return `${name} ${v} is larger than any scaled window`;
  }
  if (!isUint(d.CWnd, 0xffffffff) || d.CWnd === 0) return `CWnd ${d.CWnd} is not a congestion window`;
  if (!isUint(d.SsThresh, 0xffffffff) || d.SsThresh === 0) return `SsThresh ${d.SsThresh} is not a threshold`;
  if (!isUint(d.SRtt, 0xffff) || !isUint(d.RttVar, 0xffff)) return `SRtt ${d.SRtt} / RttVar ${d.RttVar} exceed USHORT`;
  for (const [name, v] of [
    ['DupAckCount', d.DupAckCount],
    ['SndWndProbeCount', d.SndWndProbeCount],
    ['KeepAlive.ProbeCount', d.KeepAlive.ProbeCount],
    ['Retransmit.Count', d.Retransmit.Count],
    ['KaProbeCount', ca.KaProbeCount],
  ] as const) {
    if (!isUint(v, 255)) return `${name} ${v} exceeds UCHAR`;
  }
  for (const [name, v] of [
    ['Retransmit.TimeoutDelta', d.Retransmit.TimeoutDelta],
    ['KeepAlive.TimeoutDelta', d.KeepAlive.TimeoutDelta],
  ] as const) {
    if (v !== TIMER_NOT_RUNNING && !isUint(v, MAX_RESIDUE)) return `${name} ${v} is neither -1 nor a time`;
  }
  for (const [name, v] of [
    ['TsRecentAge', d.TsRecentAge],
    ['TotalRT', d.TotalRT],
    ['KaTimeout', ca.KaTimeout],
    ['KaInterval', ca.KaInterval],
  ] as const) {
    if (!isUint(v, 0xffffffff)) return `${name} ${v} is not a tick count`;
  }
  return undefined;
}

function isUint(v: number, max: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= max;
}

function u32Diff(a: number, b: number): number {
  return (a - b) >>> 0;
}
