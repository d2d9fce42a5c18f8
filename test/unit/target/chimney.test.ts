/**
 * The target's chimney end to end on a simulated wire: a peer engine (standing in for a Linux
 * peer) talks to our host engine; the connection is offloaded to the target through an
 * NdisBinding, carries data both ways while the target's own engine runs it (frames classified
 * by 4-tuple, receive indications, send completions on ACK), and is uploaded back into a fresh
 * host engine that carries on. Every byte arrives once, in order.
 */
import { describe, expect, it } from 'vitest';
import type { NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST } from '../../../src/ndis/block-list.js';
import { blocksOf, newProtocolBlock } from '../../../src/ndis/block-list.js';
import { bindProtocol, type BindableProtocol } from '../../../src/ndis/binding.js';
import type { BytesConsumed, ProtocolChimneyHandlers } from '../../../src/ndis/chimney-edges.js';
import type { BoundMiniportEdge, BoundProtocolEdge, MiniportAttributes, MiniportEdge } from '../../../src/ndis/edges.js';
import type { NET_BUFFER_LIST } from '../../../src/ndis/nbl.js';
import { copyFromNetBuffer, linkNetBufferLists, netBufferListDataLength, netBufferListsOf, newNetBufferList } from '../../../src/ndis/nbl.js';
import type { NdisStatus } from '../../../src/ndis/status.js';
import {
  NDIS_STATUS_INVALID_PARAMETER,
  NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED,
  NDIS_STATUS_OFFLOAD_TCP_ENTRIES,
  NDIS_STATUS_SUCCESS,
  ndisStatusName,
} from '../../../src/ndis/status.js';
import type { NDIS_OFFLOAD_HANDLE, OffloadContextValue } from '../../../src/ndis/structures.js';
import {
  Ip4OffloadState,
  NeighborOffloadState,
  newOffloadHandle,
  TcpIndicateAbort,
  TcpIndicateDisconnect,
  TcpOffloadState,
} from '../../../src/ndis/structures.js';
import { TargetChimney } from '../../../src/target/chimney.js';
import { TcpConnection } from '../../../src/tcp/connection.js';
import { pathPseudoBase, TcpFrameBuilder, type TcpFramePath } from '../../../src/tcp/frame-builder.js';
import type { TcpOffloadSnapshot } from '../../../src/tcp/offload-state.js';
import { DEFAULT_TCP_CONFIG, type TcpEvent, type TcpSegmentOut } from '../../../src/tcp/types.js';
import { parseIpv4Address, parseMac } from '../../../src/wire/addr.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { parseEthernet } from '../../../src/wire/ethernet.js';
import { parseIpv4 } from '../../../src/wire/ipv4.js';
import { SeededRandom } from '../../../src/wire/random.js';
import { seq } from '../../../src/wire/seq.js';
import { parseTcp, TCP_RST, type TcpRepr } from '../../../src/wire/tcp.js';
import { streamBytes } from '../../helpers/segments.js';

const US_MAC = parseMac('02:00:00:00:00:02') as Uint8Array;
const PEER_MAC = parseMac('02:00:00:00:00:01') as Uint8Array;
const US_IP = parseIpv4Address('198.18.0.2') as number;
const PEER_IP = parseIpv4Address('198.18.0.1') as number;
const US_PORT = 40000;
const PEER_PORT = 80;
const DELAY = 1;

function ip4(n: number): Uint8Array {
  return new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

function framePath(from: 'peer' | 'us'): TcpFramePath {
  const base = {
    family: 4 as const,
    srcMac: from === 'peer' ? PEER_MAC : US_MAC,
    dstMac: from === 'peer' ? US_MAC : PEER_MAC,
    local4: from === 'peer' ? PEER_IP : US_IP,
    remote4: from === 'peer' ? US_IP : PEER_IP,
    local6: undefined,
    remote6: undefined,
    ttl: 64,
    tos: 0,
    flowLabel: 0,
  };
  return { ...base, pseudoBase: pathPseudoBase(base) };
}

function toRepr(seg: TcpSegmentOut): TcpRepr {
  const payload = new Uint8Array(seg.payloadLength);
  seg.copyPayload(payload, 0);
  return {
    srcPort: seg.srcPort,
    dstPort: seg.dstPort,
    seqNumber: seg.seqNumber,
    ackNumber: seg.ackNumber,
    flags: seg.flags,
    windowLen: seg.windowLen,
    urgentPointer: seg.urgentPointer,
    options: structuredClone(seg.options),
    payload,
  } as TcpRepr;
}

/** The host side of the test: a protocol with chimney handlers that records what comes up. */
class TestHost implements BindableProtocol {
  lower!: BoundMiniportEdge;
  readonly log: string[] = [];
  readonly received: number[] = [];
  readonly completedSends: NET_BUFFER_LIST[] = [];
  readonly completed: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST[] = [];
  readonly events: Array<[NDIS_OFFLOAD_HANDLE, number, number]> = [];
  /** Bytes of each indication the host takes ('all' or a number). */
  accept: 'all' | number = 'all';
  readonly normal: Uint8Array[] = [];
  readonly chimneyClient: ProtocolChimneyHandlers = {
    InitiateOffloadCompleteHandler: (l) => this.completed.push(l),
    TerminateOffloadCompleteHandler: (l) => this.completed.push(l),
    UpdateOffloadCompleteHandler: (l) => this.completed.push(l),
    InvalidateOffloadCompleteHandler: (l) => this.completed.push(l),
    QueryOffloadCompleteHandler: (l) => this.completed.push(l),
    IndicateOffloadEventHandler: () => {},
    TcpOffloadSendCompleteHandler: (chain) => {
      for (const n of netBufferListsOf(chain)) this.completedSends.push(n);
    },
    TcpOffloadReceiveCompleteHandler: (chain) => {
      for (const n of netBufferListsOf(chain)) this.log.push(`receive-complete ${n.Info.TcpOffloadBytesTransferred}`);
    },
    TcpOffloadDisconnectCompleteHandler: (nbl) => this.log.push(`disconnect-complete ${ndisStatusName(nbl.Status)}`),
    TcpOffloadForwardCompleteHandler: () => {},
    TcpOffloadEventHandler: (h, type, info) => this.events.push([h, type, info]),
    TcpOffloadReceiveIndicateHandler: (_h, nbl, _s, consumed: BytesConsumed): NdisStatus => {
      const n = netBufferListDataLength(nbl);
      const take = this.accept === 'all' ? n : Math.min(n, this.accept);
      const bytes = new Uint8Array(take);
      copyFromNetBuffer(nbl.FirstNetBuffer, 0, bytes, 0, take);
      for (const b of bytes) this.received.push(b);
      consumed.value = take;
      return take === n ? NDIS_STATUS_SUCCESS : NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED;
    },
  };
  bindLower(lower: BoundMiniportEdge): void {
    this.lower = lower;
  }
  receiveNetBufferLists(frame: Uint8Array): void {
    this.normal.push(frame.slice());
  }
  receiveComplete(): void {}
  statusIndication(): void {}
}

/** A miniport edge around the TargetChimney, as OffloadTarget wires it. */
class TestTarget implements MiniportEdge {
  readonly attributes: MiniportAttributes = {
    macAddress: US_MAC,
    mtu: 1500,
    taskOffload: { txChecksum: false, rxChecksum: false, lsoV2Ipv4: false, lsoV2Ipv6: false, lsoMaxOffloadSize: 0 },
  };
  upper: BoundProtocolEdge | undefined;
  readonly chimney: TargetChimney;
  get chimneyProvider(): TargetChimney {
    return this.chimney;
  }
  constructor(
    clock: SimScheduler,
    toPeer: (frame: Uint8Array) => void,
    capacity = 100,
  ) {
    this.chimney = new TargetChimney({
      scheduler: clock,
      random: new SeededRandom(9),
      macAddress: US_MAC,
      mtu: 1500,
      txChecksum: false,
      tso: false,
      lsoMaxOffloadSize: 0,
      send: (frame) => toPeer(frame.slice()),
      indicateNormal: (frame, info) => this.upper?.receiveNetBufferLists(frame, info),
      upcalls: () => this.upper?.chimney,
      capabilities: { tcpCapacity: capacity },
    });
  }
  bindUpper(upper: BoundProtocolEdge): void {
    this.upper = upper;
  }
  sendNetBufferLists(): void {}
}

function setup(capacity = 100) {
  const clock = new SimScheduler(1_000_000);
  const peerEvents: TcpEvent[] = [];
  const hostEvents: TcpEvent[] = [];
  const peerFrames = new TcpFrameBuilder({ txChecksum: false, tso: false }, () => 1);
  const peerReceived: number[] = [];
  let host: TcpConnection | undefined;
  let peer: TcpConnection | undefined;
  const wireLog: string[] = [];
  /** Frames our side sends (host engine frames are built by the test, target ones by the target). */
  const toPeer = (frame: Uint8Array): void => {
    clock.setTimer(() => {
      const eth = parseEthernet(frame);
      if (!eth.ok) throw new Error('bad frame from us');
      const ipr = parseIpv4(eth.value.payload);
      if (!ipr.ok) throw new Error(ipr.reason);
      const tcp = parseTcp(ipr.value.payload);
      if (!tcp.ok) throw new Error(tcp.reason);
      if ((tcp.value.flags & TCP_RST) !== 0) wireLog.push('RST to peer');
      if (peer === undefined) {
        peer = makePeer(tcp.value);
        peer.poll();
        return;
      }
      peer.input(tcp.value);
      peer.poll();
      for (;;) {
        const v = peer.read();
        if (v === undefined) break;
        for (const b of v) peerReceived.push(b);
      }
    }, DELAY);
  };
  const target = new TestTarget(clock, toPeer, capacity);
  const proto = new TestHost();
  const binding = bindProtocol(proto, target, { defer: (fn) => clock.setTimer(fn, 0) });
  const hostFrames = new TcpFrameBuilder({ txChecksum: false, tso: false }, () => 2);
  const usPath = framePath('us');
  const hostHooks = (events: TcpEvent[]) => ({
    clock,
    transmit: (s: TcpSegmentOut) => toPeer(hostFrames.build(s, usPath).frame.slice()),
    event: (e: TcpEvent) => events.push(e),
  });
  const peerPath = framePath('peer');
  const makePeer = (syn: TcpRepr): TcpConnection =>
    TcpConnection.accept({
    config: DEFAULT_TCP_CONFIG,
    hooks: {
      clock,
      transmit: (s) => {
        const frame = peerFrames.build(s, peerPath).frame.slice();
        clock.setTimer(() => {
          // Our NIC: the target classifies first; what it does not take goes to the host engine.
          if (target.chimney.classify(frame, undefined)) {
            target.chimney.batchEnd();
            return;
          }
          const eth = parseEthernet(frame);
          if (!eth.ok) return;
          const ipr = parseIpv4(eth.value.payload);
          if (!ipr.ok) return;
          const tcp = parseTcp(ipr.value.payload);
          if (!tcp.ok) return;
          if (host !== undefined) {
            host.input(tcp.value);
            host.poll();
          } else {
            wireLog.push('segment with no engine');
          }
        }, DELAY);
      },
      event: (e) => peerEvents.push(e),
    },
    random: new SeededRandom(5),
    localPort: PEER_PORT,
    remotePort: US_PORT,
    iss: seq(900_000),
    syn,
  });
  // Our host engine: the active opener that sent that SYN.
  host = TcpConnection.connect({ config: DEFAULT_TCP_CONFIG, hooks: hostHooks(hostEvents), random: new SeededRandom(6), localPort: US_PORT, remotePort: PEER_PORT, iss: seq(100) });
  /** Runs simulated time in 1 ms steps, firing the two test engines' timers as they fall due. */
  const run = (ms: number): void => {
    const until = clock.now() + ms;
    for (;;) {
      clock.runUntil(Math.min(until, clock.now() + 1));
      for (const e of [peer, host]) {
        if (e === undefined) continue;
        if (e.nextDeadline() <= clock.now()) e.onTimer();
        e.poll();
      }
      if (clock.now() >= until) break;
    }
    clock.runUntil(until);
  };
  return {
    clock,
    get peer() {
      return peer as TcpConnection;
    },
    get host() {
      return host as TcpConnection;
    },
    setHost(h: TcpConnection | undefined) {
      host = h;
    },
    hostHooks,
    hostEvents,
    peerReceived,
    target,
    proto,
    binding,
    run,
    wireLog,
  };
}

/** The offload tree for one connection: neighbor, path, TCP, built from the host engine's export. */
function offloadTree(snap: TcpOffloadSnapshot, handles: { n: NDIS_OFFLOAD_HANDLE; p: NDIS_OFFLOAD_HANDLE; t: NDIS_OFFLOAD_HANDLE }) {
  const sendNbls = snap.sendData.map((v) => newNetBufferList(v.slice()));
  const bufNbls = snap.bufferedData.map((v) => newNetBufferList(v.slice()));
  const tcp = newProtocolBlock({
    type: TcpOffloadState,
    handle: handles.t,
    tcp: { Const: snap.const, Cached: snap.cached, Delegated: snap.delegated, BufferedData: linkNetBufferLists(bufNbls) },
    netBufferListChain: linkNetBufferLists(sendNbls),
  });
  const path = newProtocolBlock({
    type: Ip4OffloadState,
    handle: handles.p,
    path: { Const: { SourceAddress: ip4(US_IP), DestinationAddress: ip4(PEER_IP) }, Cached: { PathMtu: 1500 } },
    dependents: [tcp],
  });
  const neighbor = newProtocolBlock({
    type: NeighborOffloadState,
    handle: handles.n,
    neighbor: { Const: { DlSourceAddress: new Uint8Array(32), VlanId: 0 }, Cached: { DlDestinationAddress: PEER_MAC, HostReachabilityDelta: 0 } },
    dependents: [path],
  });
  return { root: neighbor, tcp, sendNbls };
}

function readPeer(s: ReturnType<typeof setup>, length: number): void {
  expect(s.peerReceived.length).toBe(length);
  const want = streamBytes(0, length);
  for (let i = 0; i < length; i++) if (s.peerReceived[i] !== want[i]) throw new Error(`peer byte ${i} wrong`);
}

describe('TargetChimney: a live connection offloaded, run by the target, and uploaded', () => {
  it('moves a connection to the target and back mid-stream; every byte once, in order, both ways; no RST', () => {
    const s = setup();
    s.host.poll();
    s.run(50);
    expect(s.host.state).toBe('ESTABLISHED');
    // Some traffic in the host, with unacknowledged data in flight at the offload.
    s.host.write(streamBytes(0, 5000));
    s.host.poll();
    s.peer.write(streamBytes(0, 3000));
    s.peer.poll();
    s.run(DELAY); // our data left; the peer's is on the wire toward us
    const hostRead: number[] = [];
    const drainHost = (): void => {
      for (;;) {
        const v = s.host.read();
        if (v === undefined) break;
        for (const b of v) hostRead.push(b);
      }
    };
    drainHost();
    // Offload: freeze-and-detach the host engine, hand the record down.
    const handles = { n: newOffloadHandle(), p: newOffloadHandle(), t: newOffloadHandle() };
    const snap = s.host.exportState();
    s.setHost(undefined);
    const tree = offloadTree(snap, handles);
    s.proto.lower.chimney?.NdisInitiateOffload(tree.root);
    s.run(0);
    expect(blocksOf(tree.root).map((b) => ndisStatusName(b.Status))).toEqual(['NDIS_STATUS_SUCCESS', 'NDIS_STATUS_SUCCESS', 'NDIS_STATUS_SUCCESS']);
    for (const h of [handles.n, handles.p, handles.t]) expect(h.MiniportOffloadContext).not.toBeNull();
    expect(s.target.chimney.tcpCount).toBe(1);
    // The host posts nothing: the target indicates (the host takes everything).
    s.run(200);
    // Data the host owes the peer: through the target, completed when acknowledged.
    const more = newNetBufferList(streamBytes(5000, 20_000));
    expect(s.proto.lower.chimney?.NdisOffloadTcpSend(handles.t, more)).toBe(0x103);
    s.peer.write(streamBytes(3000, 40_000));
    s.peer.poll();
    s.run(500);
    readPeer(s, 25_000);
    expect(s.proto.completedSends).toContain(more);
    expect(more.Status).toBe(NDIS_STATUS_SUCCESS);
    expect(more.Info.TcpOffloadBytesTransferred).toBe(20_000);
    // The offload-time send data came back completed too.
    for (const n of tree.sendNbls) expect(s.proto.completedSends).toContain(n);
    const got = [...hostRead, ...s.proto.received];
    expect(got.length).toBe(43_000);
    const want = streamBytes(0, 43_000);
    for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) throw new Error(`host byte ${i} wrong`);
    // Upload: the target hands the delegated state back; a fresh host engine carries on.
    const term = newProtocolBlock({ type: TcpOffloadState, handle: handles.t, tcp: {} });
    s.peer.write(streamBytes(43_000, 1000));
    s.peer.poll();
    s.proto.lower.chimney?.NdisTerminateOffload(term);
    s.run(0);
    expect(ndisStatusName(term.Status)).toBe('NDIS_STATUS_SUCCESS');
    const d = term.TcpState?.Delegated;
    if (d === undefined) throw new Error('no delegated state');
    const buffered: Uint8Array[] = netBufferListsOf(term.TcpState?.BufferedData ?? null).map((n) => {
      const b = new Uint8Array(netBufferListDataLength(n));
      copyFromNetBuffer(n.FirstNetBuffer, 0, b, 0, b.length);
      return b;
    });
    const back: TcpOffloadSnapshot = {
      const: snap.const,
      cached: snap.cached,
      delegated: d,
      sendData: [],
      finQueued: false,
      bufferedData: buffered,
      peerFinReceived: false,
    };
    const events: TcpEvent[] = [];
    const again = TcpConnection.importOffloadState({ config: DEFAULT_TCP_CONFIG, hooks: s.hostHooks(events), random: new SeededRandom(8), snapshot: back });
    if (again.connection === undefined) throw new Error(again.reason);
    s.setHost(again.connection);
    // The target's slot is dead: a send on the old handle is refused with a status.
    const stale = newNetBufferList(new Uint8Array(1));
    s.proto.lower.chimney?.NdisOffloadTcpSend(handles.t, stale);
    s.run(0);
    expect(stale.Status).toBe(NDIS_STATUS_INVALID_PARAMETER);
    // The frames the target held or that arrived during the upload reach the host engine.
    s.host.write(streamBytes(25_000, 3000));
    s.host.poll();
    s.run(2000);
    readPeer(s, 28_000);
    const after: number[] = [];
    for (;;) {
      const v = s.host.read();
      if (v === undefined) break;
      for (const b of v) after.push(b);
    }
    const all = [...got, ...after];
    expect(all.length).toBe(44_000);
    const want2 = streamBytes(0, 44_000);
    for (let i = 0; i < all.length; i++) if (all[i] !== want2[i]) throw new Error(`host byte ${i} wrong after upload`);
    expect(s.wireLog.filter((l) => l.startsWith('RST'))).toEqual([]);
  });

  it('a peer FIN becomes TcpIndicateDisconnect only after every earlier byte was taken; a peer RST becomes TcpIndicateAbort', () => {
    const s = setup();
    s.host.poll();
    s.run(50);
    const handles = { n: newOffloadHandle(), p: newOffloadHandle(), t: newOffloadHandle() };
    const snap = s.host.exportState();
    s.setHost(undefined);
    s.proto.lower.chimney?.NdisInitiateOffload(offloadTree(snap, handles).root);
    s.run(0);
    s.proto.accept = 0; // the application reads nothing yet
    s.peer.write(streamBytes(0, 1000));
    s.peer.shutdown();
    s.peer.poll();
    s.run(100);
    expect(s.proto.events).toEqual([]);
    s.proto.accept = 'all';
    // A posted buffer takes the data; the FIN is indicated after it.
    const buf = newNetBufferList(new Uint8Array(4096));
    s.proto.lower.chimney?.NdisOffloadTcpReceive(handles.t, buf);
    s.run(1);
    expect(buf.Info.TcpOffloadBytesTransferred).toBe(1000);
    expect(s.proto.events.map((e) => e[1])).toEqual([TcpIndicateDisconnect]);
    expect(s.proto.events[0]?.[0]).toBe(handles.t);
    s.peer.abort();
    s.run(100);
    expect(s.proto.events.map((e) => e[1])).toEqual([TcpIndicateDisconnect, TcpIndicateAbort]);
  });

  it('past the capacity the TCP block gets OFFLOAD_TCP_ENTRIES, its slot stays empty, and its send NBLs are untouched', () => {
    const s = setup(0);
    s.host.poll();
    s.run(50);
    s.host.write(streamBytes(0, 100));
    s.host.poll();
    const handles = { n: newOffloadHandle(), p: newOffloadHandle(), t: newOffloadHandle() };
    const snap = s.host.queryState();
    const tree = offloadTree(snap, handles);
    const before = tree.sendNbls.map((n) => [n.Status, n.FirstNetBuffer.DataOffset]);
    s.proto.lower.chimney?.NdisInitiateOffload(tree.root);
    s.run(0);
    expect(ndisStatusName(tree.tcp.Status)).toBe(ndisStatusName(NDIS_STATUS_OFFLOAD_TCP_ENTRIES));
    // The path lost its only dependent (PARTIAL); the neighbor's immediate dependent, the path, is offloaded.
    expect(ndisStatusName(tree.root.DependentBlockList?.Status ?? 0)).toBe('NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS');
    expect(ndisStatusName(tree.root.Status)).toBe('NDIS_STATUS_SUCCESS');
    expect(handles.t.MiniportOffloadContext).toBeNull();
    expect(tree.sendNbls.map((n) => [n.Status, n.FirstNetBuffer.DataOffset])).toEqual(before);
    expect(s.proto.completedSends).toEqual([]);
    // The connection keeps working in the host (queryState left it running).
    s.run(100);
    readPeer(s, 100);
  });

  it('stale, forged and wrong-layer handles on every data-path call complete with a status, never an exception', () => {
    const s = setup();
    const forged = newOffloadHandle();
    forged.MiniportOffloadContext = 123456789 as OffloadContextValue;
    const empty = newOffloadHandle();
    const c = s.proto.lower.chimney;
    if (c === undefined) throw new Error('no chimney');
    for (const h of [forged, empty]) {
      const nbls = [newNetBufferList(new Uint8Array(1)), newNetBufferList(new Uint8Array(1)), newNetBufferList(new Uint8Array(1)), newNetBufferList(new Uint8Array(1))];
      expect(c.NdisOffloadTcpSend(h, nbls[0]!)).toBe(0x103);
      expect(c.NdisOffloadTcpReceive(h, nbls[1]!)).toBe(0x103);
      expect(c.NdisOffloadTcpDisconnect(h, nbls[2]!, 1)).toBe(0x103);
      expect(c.NdisOffloadTcpForward(h, nbls[3]!)).toBe(0x103);
      for (const n of nbls) expect(n.Status).toBe(NDIS_STATUS_INVALID_PARAMETER);
    }
    expect(s.target.chimney.stats.badHandles).toBe(8);
  });
});
