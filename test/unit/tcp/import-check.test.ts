import { describe, expect, it } from 'vitest';
import { checkOffloadRecord } from '../../../src/tcp/import-check.js';
import {
  TCP_FLAG_WINDOW_SCALING_ENABLED,
  TcpConnectionClosed,
  TcpConnectionEstablished,
  TcpConnectionFinWait2,
  TcpConnectionSynRcvd,
  TcpConnectionTimeWait,
  TIMER_NOT_RUNNING,
  type TcpOffloadSnapshot,
} from '../../../src/tcp/offload-state.js';

/** A record of an ESTABLISHED connection with 100 bytes in flight and 50 unsent. */
function record(): TcpOffloadSnapshot {
  return {
    const: { Flags: TCP_FLAG_WINDOW_SCALING_ENABLED, RemotePort: 80, LocalPort: 40000, SndWindScale: 7, RcvWindScale: 7, RemoteMss: 1460, HashValue: 0 },
    cached: {
      Flags: 0,
      InitialRcvWnd: 65536,
      RcvIndicationSize: 0,
      KaProbeCount: 9,
      KaTimeout: 7_200_000,
      KaInterval: 75_000,
      MaxRT: 0,
      FlowLabel: 0,
      TtlOrHopLimit: 64,
      TosOrTrafficClass: 0,
      UserPriority: 0,
    },
    delegated: {
      State: TcpConnectionEstablished,
      Flags: 0,
      RcvNxt: 5000,
      RcvWnd: 65536,
      SndUna: 0xffffffc0,
      SndNxt: 0x24,
      SndMax: 0x24,
      SndWnd: 1 << 20,
      MaxSndWnd: 1 << 20,
      SendWL1: 4999,
      CWnd: 14600,
      SsThresh: 0xffffffff,
      SRtt: 80,
      RttVar: 40,
      TsRecent: 0,
      TsRecentAge: 0,
      TsTime: 0,
      TotalRT: 0,
      DupAckCount: 0,
      SndWndProbeCount: 0,
      KeepAlive: { ProbeCount: 0, TimeoutDelta: TIMER_NOT_RUNNING },
      Retransmit: { Count: 0, TimeoutDelta: 200 },
      DWnd: 0,
    },
    sendData: [new Uint8Array(100), new Uint8Array(50)],
    finQueued: false,
    bufferedData: [],
    peerFinReceived: false,
  };
}

describe('checkOffloadRecord: an import validates what it is given', () => {
  it('accepts a consistent record across the 32-bit wrap', () => {
    expect(checkOffloadRecord(record(), 'target')).toBeUndefined();
  });

  it('refuses states the importer may not take: the target no CLOSED or TIME-WAIT, nobody SYN-RECEIVED', () => {
    for (const [state, role, ok] of [
      [TcpConnectionClosed, 'target', false],
      [TcpConnectionTimeWait, 'target', false],
      [TcpConnectionClosed, 'host', true],
      [TcpConnectionTimeWait, 'host', true],
      [TcpConnectionSynRcvd, 'host', false],
    ] as const) {
      const r = record();
      r.delegated.State = state;
      r.sendData = [];
      r.delegated.SndUna = r.delegated.SndMax;
      r.delegated.SndNxt = r.delegated.SndMax;
      if (state === TcpConnectionTimeWait) r.delegated.SndUna = (r.delegated.SndMax - 1) >>> 0;
      if (state === TcpConnectionTimeWait) r.delegated.SndNxt = r.delegated.SndMax;
      expect([state, role, checkOffloadRecord(r, role) === undefined]).toEqual([state, role, ok]);
    }
  });

  it('names what is wrong with a broken record', () => {
    const cases: Array<[string, (r: TcpOffloadSnapshot) => void]> = [
      ['is not a port', (r) => (r.const.LocalPort = 0)],
      ['above 14', (r) => (r.const.SndWindScale = 15)],
      ['RemoteMss', (r) => (r.const.RemoteMss = 0)],
      ['does not hold', (r) => (r.delegated.SndNxt = (r.delegated.SndUna - 1) >>> 0)],
      ['does not hold', (r) => (r.delegated.SndMax = (r.delegated.SndUna + 0x80000000) >>> 0)],
      ['fewer than the 100 already sent', (r) => (r.sendData = [new Uint8Array(99)])],
      ['larger than any scaled window', (r) => (r.delegated.RcvWnd = 2 ** 31)],
      ['not a congestion window', (r) => (r.delegated.CWnd = 0)],
      ['exceed USHORT', (r) => (r.delegated.SRtt = 70000)],
      ['exceeds UCHAR', (r) => (r.delegated.Retransmit.Count = 256)],
      ['neither -1 nor a time', (r) => (r.delegated.Retransmit.TimeoutDelta = 0x80000000)],
      ['not a 32-bit value', (r) => (r.delegated.RcvNxt = -1)],
      ['not a tick count', (r) => (r.delegated.TotalRT = 1.5)],
    ];
    for (const [want, mutate] of cases) {
      const r = record();
      mutate(r);
      expect(checkOffloadRecord(r, 'target')).toContain(want);
    }
  });

  it('counts the FIN in the sequence space once it has been sent', () => {
    const r = record();
    r.delegated.State = TcpConnectionFinWait2;
    r.sendData = [];
    r.finQueued = true;
    r.delegated.SndUna = r.delegated.SndMax;
    r.delegated.SndNxt = r.delegated.SndMax;
    expect(checkOffloadRecord(r, 'target')).toBeUndefined();
  });
});
