/**
 * The host stack's TCP: demultiplexing by 4-tuple, listeners with a SYN backlog and SYN
 * cookies past it (RFC 4987 §3.6), RST for segments to closed ports (RFC 9293 §3.10.7.1),
 * one timer queue for every connection, and the glue between each TCP engine and its socket.
 *
 * Engines are polled once per received batch (and once per event-loop turn after
 * application writes), so a batch of in-order segments is answered by one ACK and
 * application writes made in one turn leave in as few segments as the windows allow.
 */
import { formatIpv4Address, formatIpv6Address, ipv6Equals, parseIpAddress, putIpv4, type Ipv4Address, type Ipv6Address, type MacAddress } from '../wire/addr.js';
import type { DropReason } from '../wire/drop-reason.js';
import { IP_PROTO_TCP } from '../wire/ip-proto.js';
import { IPV4_HEADER_LEN, ipv4PseudoHeaderSum, type Ipv4Repr } from '../wire/ipv4.js';
import { IPV6_HEADER_LEN, ipv6PseudoHeaderSum, type Ipv6Repr } from '../wire/ipv6.js';
import {
  TCP_ACK,
  TCP_FIN,
  TCP_HEADER_LEN,
  TCP_RST,
  TCP_SYN,
  emitTcpHeader,
  fillTcpChecksum,
  parseTcp,
  tcpHeaderLength,
  type TcpRepr,
} from '../wire/tcp.js';
import { TcpConnection, resetFor } from '../tcp/connection.js';
import { maxFrameLength, TcpFrameBuilder, type TcpFramePath } from '../tcp/frame-builder.js';
import { OffloadManager, type ConnectionIo, type OffloadedConnection, type OffloadHost, type OffloadOptions } from './offload.js';
import { IsnGenerator } from '../tcp/isn.js';
import { decodeSynCookie, encodeSynCookie, synCookieSynAck } from '../tcp/syn-cookie.js';
import { DEFAULT_PEER_MSS_IPV4, DEFAULT_PEER_MSS_IPV6 } from '../tcp/negotiation.js';
import type { TcpConfig, TcpEvent, TcpHooks, TcpSegmentOut } from '../tcp/types.js';
import { seq } from '../wire/seq.js';
import type { HostStack } from './stack.js';
import { ipv6Key } from './stack.js';
import { TimerQueue, type TimedItem } from '../tcp/timer-queue.js';
import { addTcpInfo, emptyTcpTotals, type TcpTotals } from './stats.js';
import { TcpSocket, type SocketMoveEvent } from './socket.js';
import type { TcpServer } from './server.js';

/** Linux net.ipv4.ip_local_port_range. */
const EPHEMERAL_LOW = 32768;
const EPHEMERAL_HIGH = 60999;
/** Half-open connections per listener before SYN cookies take over (Linux tcp_max_syn_backlog). */
const DEFAULT_SYN_BACKLOG = 1024;
/** How long after the last cookie was sent an unmatched ACK is checked as a cookie (Linux: 2 minutes). */
const COOKIE_WINDOW_MS = 120_000;

export interface TcpListener {
  readonly port: number;
  readonly server: TcpServer;
  /** Accept only this local address (undefined: any of ours, both families). */
  readonly address: { family: 4; address: Ipv4Address } | { family: 6; address: Ipv6Address } | undefined;
  readonly synBacklog: number;
  halfOpen: number;
  lastCookieAt: number;
}

/** The host's transmission control block around one engine: addresses, routing, socket. */
export class HostTcb implements TcpHooks, TimedItem, TcpFramePath {
  readonly clock: HostStack['scheduler'];
  engine!: TcpConnection;
  socket: TcpSocket | undefined;
  /** Set while the connection is half-open under a listener. */
  listener: TcpListener | undefined;
  queuedAt = Infinity;
  dirty = false;
  /** Send buffer bound (the socket's backpressure threshold), from the connection's configuration. */
  sndBufSize = 0;
  /** Removed from the table (closed); nothing may touch the engine again. */
  gone = false;
  /** Unfolded pseudo-header sum of the addresses and protocol (length added per segment). */
  readonly pseudoBase: number;
  /** IPv4 next hop (numbers) or IPv6 next hop. */
  readonly nextHop4: Ipv4Address;
  readonly nextHop6: Ipv6Address | undefined;
  /** Set while the connection is offloaded or moving (reference §1.4): the socket's I/O goes through it. */
  offload: OffloadedConnection | undefined = undefined;
  /** The neighbor cache writes the destination MAC when the frame leaves. */
  readonly dstMac = undefined;
  readonly tos = 0;
  readonly flowLabel = 0;

  constructor(
    readonly layer: TcpLayer,
    readonly family: 4 | 6,
    readonly key: string,
    readonly localPort: number,
    readonly remotePort: number,
    readonly local4: Ipv4Address,
    readonly remote4: Ipv4Address,
    readonly local6: Ipv6Address | undefined,
    readonly remote6: Ipv6Address | undefined,
  ) {
    this.clock = layer.stack.scheduler;
    if (family === 4) {
      this.pseudoBase = ipv4PseudoHeaderSum({ src: local4, dst: remote4, protocol: IP_PROTO_TCP }, 0);
      this.nextHop4 = layer.stack.nextHop4(remote4) ?? remote4;
      this.nextHop6 = undefined;
    } else {
      this.pseudoBase = ipv6PseudoHeaderSum({ src: local6 as Ipv6Address, dst: remote6 as Ipv6Address }, IP_PROTO_TCP, 0);
      this.nextHop4 = 0;
      this.nextHop6 = layer.stack.nextHop6(remote6 as Ipv6Address) ?? remote6;
    }
  }

  /** What the socket reads, writes and closes: the engine, or its offloaded stand-in. */
  get io(): ConnectionIo {
    return this.offload ?? this.engine;
  }

  /** The hooks a host engine of this connection is built with (itself). */
  get hooks(): TcpHooks {
    return this;
  }

  get srcMac(): MacAddress {
    return this.layer.stack.mac;
  }

  get ttl(): number {
    return this.layer.stack.ttl;
  }

  transmit(segment: TcpSegmentOut): void {
    this.layer.transmit(this, segment);
  }

  /** Receive-queue chunks are overwritten before they are read: skip the zero fill. */
  allocate(size: number): Uint8Array {
    return Buffer.allocUnsafeSlow(size);
  }

  event(event: TcpEvent): void {
    this.layer.onEvent(this, event);
  }

  get remoteAddress(): string {
    return this.family === 4 ? formatIpv4Address(this.remote4) : formatIpv6Address(this.remote6 as Ipv6Address);
  }

  get localAddress(): string {
    return this.family === 4 ? formatIpv4Address(this.local4) : formatIpv6Address(this.local6 as Ipv6Address);
  }
}

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly localPort?: number | undefined;
  readonly noDelay?: boolean | undefined;
  readonly keepAlive?: boolean | undefined;
  readonly keepAliveInitialDelay?: number | undefined;
  /** Per-connection TCP settings (congestion control, buffers, options). */
  readonly tcp?: Partial<TcpConfig> | undefined;
}

export class TcpLayer {
  private readonly table = new Map<string, HostTcb>();
  private readonly listeners = new Map<number, TcpListener[]>();
  private readonly isn: IsnGenerator;
  private readonly cookieSecret: Uint8Array;
  private readonly timers: TimerQueue<HostTcb>;
  private dirty: HostTcb[] = [];
  private flushQueued = false;
  /** Engine calls in progress; socket notifications wait until they return (no re-entry into an engine). */
  private depth = 0;
  private pending: { tcb: HostTcb; event: TcpEvent | SocketMoveEvent }[] = [];
  /** One-entry lookup cache: bulk transfers hit the same connection frame after frame. */
  private last: HostTcb | undefined;
  private readonly config4: TcpConfig;
  private readonly config6: TcpConfig;
  private txChecksumOffload = false;
  private frames: TcpFrameBuilder | undefined;
  private tso = false;
  private capsKnown = false;

  /** The offload manager: when connections go to the target and come back. */
  readonly offloads: OffloadManager;

  constructor(
    readonly stack: HostStack,
    offload: OffloadOptions = { policy: 'never' },
  ) {
    this.offloads = new OffloadManager(this.offloadHost(), offload);
    this.isn = new IsnGenerator(stack.secret.subarray(0, 16), stack.scheduler);
    this.cookieSecret = stack.secret.subarray(16, 32);
    this.timers = new TimerQueue(stack.scheduler, (tcb) => this.fire(tcb));
    this.config4 = { ...stack.tcpConfig, defaultPeerMss: DEFAULT_PEER_MSS_IPV4 };
    this.config6 = { ...stack.tcpConfig, defaultPeerMss: DEFAULT_PEER_MSS_IPV6 };
  }

  /** The per-family engine configuration: MSS from the interface MTU, TSO size from the miniport. */
  private configFor(family: 4 | 6, overrides?: Partial<TcpConfig>): TcpConfig {
    this.learnCaps();
    const base = family === 4 ? this.config4 : this.config6;
    const ipHeader = family === 4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN;
    // The MSS is what the MTU the miniport reports leaves after the fixed IP and TCP headers
    // (RFC 9293 §3.7.1; Linux advmss): 8960 on a 9000-byte IPv4 link. An MSS configured for
    // the stack or the connection may only lower it; a known path MTU lowers what we send
    // (applyPathMtu), not what we advertise.
    const mtuMss = this.stack.mtu - ipHeader - TCP_HEADER_LEN;
    const cap = overrides?.mss ?? this.stack.configuredMss;
    const mss = cap === undefined ? mtuMss : Math.min(cap, mtuMss);
    const lso = this.stack.lowerAttributes?.taskOffload;
    const lsoOk = lso !== undefined && (family === 4 ? lso.lsoV2Ipv4 : lso.lsoV2Ipv6);
    const tsoMaxBytes = lsoOk && base.tsoMaxBytes !== 0 ? Math.min(base.tsoMaxBytes, lso.lsoMaxOffloadSize) : lsoOk ? lso.lsoMaxOffloadSize : 0;
    return { ...base, ...(overrides ?? {}), mss, tsoMaxBytes: overrides?.tsoMaxBytes ?? tsoMaxBytes };
  }

  private learnCaps(): void {
    if (this.capsKnown) return;
    const attrs = this.stack.lowerAttributes;
    if (attrs === undefined) return;
    this.capsKnown = true;
    this.txChecksumOffload = attrs.taskOffload.txChecksum;
    this.tso = attrs.taskOffload.lsoV2Ipv4 || attrs.taskOffload.lsoV2Ipv6;
  }

  /** Counters summed over closed and live connections. */
  totals(): TcpTotals {
    const t = { ...this.stack.stats.tcpClosed };
    const live = emptyTcpTotals();
    for (const tcb of this.table.values()) addTcpInfo(live, tcb.io.info());
    for (const k of Object.keys(t) as (keyof TcpTotals)[]) t[k] += live[k];
    return t;
  }

  get connectionCount(): number {
    return this.table.size;
  }

  /** Every connection (for introspection and the control API). */
  connections(): HostTcb[] {
    return [...this.table.values()];
  }

  // ---- input ----

  input4(ip: Ipv4Repr, trusted: boolean): DropReason | undefined {
    const parsed = parseTcp(ip.payload, { pseudoHeaderSum: trusted ? undefined : ipv4PseudoHeaderSum(ip, ip.payload.length) });
    if (!parsed.ok) return parsed.reason;
    const seg = parsed.value;
    this.stack.stats.tcpIn++;
    if (seg.options.ignoredBadOptions !== undefined) this.stack.stats.tcpBadOptionsIgnored += seg.options.ignoredBadOptions;
    let tcb = this.last;
    if (tcb === undefined || tcb.family !== 4 || tcb.remote4 !== ip.src || tcb.remotePort !== seg.srcPort || tcb.localPort !== seg.dstPort || tcb.gone) {
      tcb = this.table.get(key4(ip.src, seg.srcPort, seg.dstPort));
      if (tcb === undefined) return this.noConnection(4, ip.dst, ip.src, undefined, undefined, seg);
      this.last = tcb;
    }
    return this.deliver(tcb, seg);
  }

  input6(ip: Ipv6Repr, trusted: boolean): DropReason | undefined {
    const parsed = parseTcp(ip.upperPayload, { pseudoHeaderSum: trusted ? undefined : ipv6PseudoHeaderSum(ip, IP_PROTO_TCP, ip.upperPayload.length) });
    if (!parsed.ok) return parsed.reason;
    const seg = parsed.value;
    this.stack.stats.tcpIn++;
    if (seg.options.ignoredBadOptions !== undefined) this.stack.stats.tcpBadOptionsIgnored += seg.options.ignoredBadOptions;
    let tcb = this.last;
    if (
      tcb === undefined ||
      tcb.family !== 6 ||
      tcb.remotePort !== seg.srcPort ||
      tcb.localPort !== seg.dstPort ||
      tcb.gone ||
      !ipv6Equals(tcb.remote6 as Ipv6Address, ip.src) ||
      !ipv6Equals(tcb.local6 as Ipv6Address, ip.dst)
    ) {
      tcb = this.table.get(key6(ip.src, seg.srcPort, ip.dst, seg.dstPort));
      if (tcb === undefined) return this.noConnection(6, 0, 0, ip.dst, ip.src, seg);
      this.last = tcb;
    }
    return this.deliver(tcb, seg);
  }

  private deliver(tcb: HostTcb, seg: TcpRepr): DropReason | undefined {
    if (tcb.offload !== undefined) {
      // Offloaded or moving: held and forwarded, never answered here (and never with a RST).
      tcb.offload.received(seg);
      return undefined;
    }
    // RFC 9293 §3.10.7.4 with RFC 6191: a SYN that is clearly newer than a connection in
    // TIME-WAIT starts a new incarnation; the old one ends silently and a listener takes it.
    // With no listener the SYN goes to the TIME-WAIT connection, which keeps its state (Linux
    // answers it from TIME-WAIT too, tcp_timewait_state_process).
    if (
      (seg.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN &&
      tcb.engine.state === 'TIME-WAIT' &&
      tcb.engine.timeWaitAcceptsSyn(seg) &&
      this.findListener(tcb.family, tcb.localPort, tcb.local4, tcb.local6) !== undefined
    ) {
      this.withEngine(tcb, (e) => e.abort());
      this.forget(tcb);
      return tcb.family === 4
        ? this.noConnection(4, tcb.local4, tcb.remote4, undefined, undefined, seg)
        : this.noConnection(6, 0, 0, tcb.local6, tcb.remote6, seg);
    }
    this.depth++;
    let verdict: DropReason | undefined;
    try {
      verdict = tcb.engine.input(seg);
    } finally {
      this.depth--;
    }
    this.markDirty(tcb);
    if (this.depth === 0 && this.pending.length > 0) this.drainEvents();
    return verdict;
  }

  /** A segment that matches no connection: a listener's SYN or cookie ACK, else RST (RFC 9293 §3.10.7.1). */
  private noConnection(
    family: 4 | 6,
    local4: Ipv4Address,
    remote4: Ipv4Address,
    local6: Ipv6Address | undefined,
    remote6: Ipv6Address | undefined,
    seg: TcpRepr,
  ): DropReason | undefined {
    if (seg.flags & TCP_RST) return 'tcp-no-socket';
    const listener = this.findListener(family, seg.dstPort, local4, local6);
    if (listener !== undefined) {
      const control = seg.flags & (TCP_SYN | TCP_ACK | TCP_FIN);
      if (control === TCP_SYN) return this.acceptSyn(listener, family, local4, remote4, local6, remote6, seg);
      if ((seg.flags & (TCP_SYN | TCP_ACK)) === TCP_ACK && this.stack.scheduler.now() - listener.lastCookieAt < COOKIE_WINDOW_MS) {
        const verdict = this.acceptCookie(listener, family, local4, remote4, local6, remote6, seg);
        if (verdict !== 'tcp-bad-syn-cookie') return verdict;
      }
    }
    this.sendReset(family, local4, remote4, local6, remote6, seg);
    return listener !== undefined ? 'tcp-listen-bad-segment' : 'tcp-no-socket';
  }

  private findListener(family: 4 | 6, port: number, local4: Ipv4Address, local6: Ipv6Address | undefined): TcpListener | undefined {
    const list = this.listeners.get(port);
    if (list === undefined) return undefined;
    for (const l of list) {
      if (l.address === undefined) return l;
      if (l.address.family === 4 && family === 4 && l.address.address === local4) return l;
      if (l.address.family === 6 && family === 6 && local6 !== undefined && ipv6Equals(l.address.address, local6)) return l;
    }
    return undefined;
  }

  private acceptSyn(
    listener: TcpListener,
    family: 4 | 6,
    local4: Ipv4Address,
    remote4: Ipv4Address,
    local6: Ipv6Address | undefined,
    remote6: Ipv6Address | undefined,
    syn: TcpRepr,
  ): DropReason | undefined {
    const config = this.configFor(family, listener.server.tcpOptions);
    if (listener.halfOpen >= listener.synBacklog) {
      // RFC 4987 §3.6: no state for this SYN; everything we must remember goes in the ISN.
      const tuple = this.cookieTuple(family, local4, remote4, local6, remote6, syn.dstPort, syn.srcPort);
      const cookie = encodeSynCookie(this.cookieSecret, this.stack.scheduler.now(), tuple, syn, config);
      const reply = synCookieSynAck(config, syn, cookie);
      listener.lastCookieAt = this.stack.scheduler.now();
      this.sendStateless(family, local4, remote4, local6, remote6, {
        srcPort: syn.dstPort,
        dstPort: syn.srcPort,
        seqNumber: reply.seqNumber,
        ackNumber: reply.ackNumber,
        flags: reply.flags,
        windowLen: reply.windowLen,
        urgentPointer: 0,
        options: reply.options,
      });
      this.stack.stats.tcpSynCookiesSent++;
      return undefined;
    }
    const tcb = this.createTcb(family, syn.dstPort, syn.srcPort, local4, remote4, local6, remote6);
    tcb.listener = listener;
    listener.halfOpen++;
    const iss = this.issFor(tcb);
    this.depth++;
    try {
      tcb.sndBufSize = config.sndBufSize;
      tcb.engine = TcpConnection.accept({ config, hooks: tcb, random: this.stack.random, localPort: tcb.localPort, remotePort: tcb.remotePort, syn, iss });
    } finally {
      this.depth--;
    }
    this.applyPathMtu(tcb);
    this.insert(tcb);
    this.markDirty(tcb);
    if (this.depth === 0 && this.pending.length > 0) this.drainEvents();
    return undefined;
  }

  private acceptCookie(
    listener: TcpListener,
    family: 4 | 6,
    local4: Ipv4Address,
    remote4: Ipv4Address,
    local6: Ipv6Address | undefined,
    remote6: Ipv6Address | undefined,
    ack: TcpRepr,
  ): DropReason | undefined {
    const config = this.configFor(family, listener.server.tcpOptions);
    const tuple = this.cookieTuple(family, local4, remote4, local6, remote6, ack.dstPort, ack.srcPort);
    const decoded = decodeSynCookie(this.cookieSecret, this.stack.scheduler.now(), tuple, ack, config);
    if (decoded === undefined) return 'tcp-bad-syn-cookie';
    const tcb = this.createTcb(family, ack.dstPort, ack.srcPort, local4, remote4, local6, remote6);
    tcb.listener = listener;
    listener.halfOpen++;
    this.depth++;
    try {
      tcb.sndBufSize = config.sndBufSize;
      tcb.engine = TcpConnection.fromSynCookie({
        config,
        hooks: tcb,
        random: this.stack.random,
        localPort: tcb.localPort,
        remotePort: tcb.remotePort,
        ack,
        iss: decoded.iss,
        irs: decoded.irs,
        peerMss: decoded.peerMss,
        peerWindowScale: decoded.peerWindowScale,
        sackPermitted: decoded.sackPermitted,
        tsRecent: decoded.tsRecent,
      });
    } finally {
      this.depth--;
    }
    this.stack.stats.tcpSynCookiesAccepted++;
    this.applyPathMtu(tcb);
    this.insert(tcb);
    return this.deliver(tcb, ack);
  }

  private cookieTuple(family: 4 | 6, local4: Ipv4Address, remote4: Ipv4Address, local6: Ipv6Address | undefined, remote6: Ipv6Address | undefined, localPort: number, remotePort: number) {
    return family === 4
      ? { localAddr: v4Bytes(local4), localPort, remoteAddr: v4Bytes(remote4), remotePort }
      : { localAddr: local6 as Ipv6Address, localPort, remoteAddr: remote6 as Ipv6Address, remotePort };
  }

  private createTcb(
    family: 4 | 6,
    localPort: number,
    remotePort: number,
    local4: Ipv4Address,
    remote4: Ipv4Address,
    local6: Ipv6Address | undefined,
    remote6: Ipv6Address | undefined,
  ): HostTcb {
    const key = family === 4 ? key4(remote4, remotePort, localPort) : key6(remote6 as Ipv6Address, remotePort, local6 as Ipv6Address, localPort);
    return new HostTcb(this, family, key, localPort, remotePort, local4, remote4, local6?.slice(), remote6?.slice());
  }

  private issFor(tcb: HostTcb) {
    return tcb.family === 4
      ? this.isn.isn(v4Bytes(tcb.local4), tcb.localPort, v4Bytes(tcb.remote4), tcb.remotePort)
      : this.isn.isn(tcb.local6 as Ipv6Address, tcb.localPort, tcb.remote6 as Ipv6Address, tcb.remotePort);
  }

  private insert(tcb: HostTcb): void {
    this.table.set(tcb.key, tcb);
  }

  private forget(tcb: HostTcb): void {
    if (tcb.gone) return;
    tcb.gone = true;
    if (tcb.engine !== undefined) addTcpInfo(this.stack.stats.tcpClosed, tcb.engine.info());
    if (this.table.get(tcb.key) === tcb) this.table.delete(tcb.key);
    if (this.last === tcb) this.last = undefined;
    this.timers.cancel(tcb);
    if (tcb.listener !== undefined) {
      tcb.listener.halfOpen--;
      tcb.listener = undefined;
    }
  }

  private applyPathMtu(tcb: HostTcb): void {
    const mtu = tcb.family === 4 ? this.stack.pathCache.mtu4(tcb.remote4) : this.stack.pathCache.mtu6(tcb.remote6 as Ipv6Address);
    if (mtu !== undefined) tcb.engine.lowerPathMtu(mtu, tcb.family === 4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN);
  }

  // ---- output ----

  /** The hot path: one engine segment into one frame (or one TSO super-frame). */
  transmit(tcb: HostTcb, seg: TcpSegmentOut): void {
    const stack = this.stack;
    // Built straight into the device's transmit queue when it lends one (no copy below).
    const { frame, info } = this.frameBuilder().build(seg, tcb, stack.lendFrame(maxFrameLength(seg)));
    stack.stats.tcpOut++;
    if (seg.flags & TCP_RST) stack.stats.tcpRstOut++;
    if (tcb.family === 4) {
      stack.stats.ipv4Out++;
      stack.sendToNeighbor4(tcb.nextHop4, frame, info);
    } else {
      stack.stats.ipv6Out++;
      stack.sendToNeighbor6(tcb.nextHop6 as Ipv6Address, frame, info);
    }
  }

  /** The frame builder, once the miniport's task offloads are known. */
  private frameBuilder(): TcpFrameBuilder {
    if (this.frames !== undefined) return this.frames;
    this.learnCaps();
    const frames = new TcpFrameBuilder({ txChecksum: this.txChecksumOffload, tso: this.tso }, (n) => this.stack.nextIpv4Id(n));
    if (this.capsKnown) this.frames = frames;
    return frames;
  }

  /** A segment that belongs to no engine (RST, cookie SYN-ACK), with a full software checksum. */
  private sendStateless(
    family: 4 | 6,
    local4: Ipv4Address,
    remote4: Ipv4Address,
    local6: Ipv6Address | undefined,
    remote6: Ipv6Address | undefined,
    repr: Omit<TcpRepr, 'payload'>,
  ): void {
    const length = tcpHeaderLength(repr);
    const write = (out: Uint8Array, off: number, pseudo: number): void => {
      emitTcpHeader(repr, out, off);
      fillTcpChecksum(out, off, length, { kind: 'full', pseudoHeaderSum: pseudo });
    };
    if (repr.flags & TCP_RST) this.stack.stats.tcpRstOut++;
    this.stack.stats.tcpOut++;
    if (family === 4) this.stack.sendIpv4(remote4, IP_PROTO_TCP, length, write, { src: local4, dontFragment: true });
    else this.stack.sendIpv6(remote6 as Ipv6Address, IP_PROTO_TCP, length, write, { src: local6 });
  }

  private sendReset(family: 4 | 6, local4: Ipv4Address, remote4: Ipv4Address, local6: Ipv6Address | undefined, remote6: Ipv6Address | undefined, seg: TcpRepr): void {
    const rst = resetFor(seg);
    if (rst === undefined) return;
    this.sendStateless(family, local4, remote4, local6, remote6, {
      srcPort: seg.dstPort,
      dstPort: seg.srcPort,
      seqNumber: rst.seqNumber,
      ackNumber: rst.ackNumber,
      flags: rst.flags,
      windowLen: 0,
      urgentPointer: 0,
      options: {},
    });
  }

  // ---- polling and timers ----

  markDirty(tcb: HostTcb): void {
    if (!tcb.dirty) {
      tcb.dirty = true;
      this.dirty.push(tcb);
    }
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Polls every connection touched since the last flush: ACKs, window updates, new data. */
  flush(): void {
    this.flushQueued = false;
    while (this.dirty.length > 0) {
      const list = this.dirty;
      this.dirty = [];
      this.depth++;
      try {
        for (const tcb of list) {
          tcb.dirty = false;
          // An offloaded (or moving) connection's host engine is frozen or detached.
          if (tcb.gone || tcb.offload !== undefined) continue;
          try {
            tcb.engine.poll();
            this.schedule(tcb);
          } catch (error) {
            // A bug in the engine: count it and keep serving every other connection.
            this.stack.noteInternalError(error);
          }
        }
      } finally {
        this.depth--;
      }
      if (this.depth === 0 && this.pending.length > 0) this.drainEvents();
    }
  }

  schedule(tcb: HostTcb): void {
    if (tcb.gone || tcb.offload !== undefined) return;
    const at = tcb.engine.nextDeadline();
    if (at !== Infinity) this.timers.schedule(tcb, at);
  }

  private fire(tcb: HostTcb): void {
    if (tcb.gone || tcb.offload !== undefined) return;
    this.depth++;
    try {
      tcb.engine.onTimer();
    } finally {
      this.depth--;
    }
    this.markDirty(tcb);
    if (this.depth === 0 && this.pending.length > 0) this.drainEvents();
  }

  // ---- engine events to sockets ----

  onEvent(tcb: HostTcb, event: TcpEvent): void {
    if (event.type === 'state') return;
    if (event.type === 'closed') this.forget(tcb);
    if (event.type === 'acked') {
      // Forward progress confirms the neighbor (RFC 4861 §7.3.1).
      if (tcb.family === 4) this.stack.arpCache.confirm(tcb.nextHop4);
      else this.stack.ndCache.confirm(tcb.nextHop6 as Ipv6Address);
    }
    this.pending.push({ tcb, event });
    if (this.depth === 0) this.drainEvents();
  }

  /**
   * Delivers queued engine events to sockets and servers, that is, to application code. An
   * exception from the application is not the stack's: it must neither lose the other events
   * of the batch nor be counted as a dropped frame. It is rethrown on its own turn, where Node
   * reports it as an uncaught exception exactly as it would from a node:net handler.
   */
  private drainEvents(): void {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      for (const { tcb, event } of batch) {
        try {
          this.dispatch(tcb, event);
        } catch (error) {
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    }
  }

  private dispatch(tcb: HostTcb, event: TcpEvent | SocketMoveEvent): void {
    if (event.type === 'established' && tcb.listener !== undefined) {
      const listener = tcb.listener;
      listener.halfOpen--;
      // Built while tcb.listener is still set: that is how the socket knows it is passive
      // (connecting false, node:net's state of an accepted socket).
      const socket = new TcpSocket(this, tcb, listener.server.socketOptions);
      tcb.listener = undefined;
      tcb.socket = socket;
      this.stack.stats.tcpPassiveOpens++;
      listener.server.acceptConnection(socket);
      return;
    }
    tcb.socket?.onEngineEvent(event);
    if (event.type === 'established' || event.type === 'readable' || event.type === 'acked') this.offloads.consider(tcb);
  }

  /** Runs `fn` against the connection's I/O (engine or offloaded stand-in) on behalf of a socket. */
  withIo<T>(tcb: HostTcb, fn: (io: ConnectionIo) => T): T {
    if (tcb.offload === undefined) return this.withEngine(tcb, fn);
    const result = fn(tcb.offload);
    if (this.depth === 0 && this.pending.length > 0) this.drainEvents();
    return result;
  }

  /** The narrow view of the layer and the stack the offload manager works with. */
  private offloadHost(): OffloadHost {
    const stack = this.stack;
    const asTcb = (c: unknown): HostTcb => c as HostTcb;
    return {
      scheduler: stack.scheduler,
      random: stack.random,
      chimney: () => stack.lowerChimney,
      neighborMac: (c) => (c.family === 4 ? stack.arpCache.lookup(c.nextHop4) : stack.ndCache.lookup(c.nextHop6 as Ipv6Address)),
      pathMtu: (c) => {
        const known = c.family === 4 ? stack.pathCache.mtu4(c.remote4) : stack.pathCache.mtu6(c.remote6 as Ipv6Address);
        return Math.min(known ?? stack.mtu, stack.mtu);
      },
      configFor: (c) => this.configFor(c.family),
      emit: (c, event) => this.onEvent(asTcb(c), event),
      moved: (c, to, reason) => {
        const socket = asTcb(c).socket;
        if (socket !== undefined) this.pending.push({ tcb: asTcb(c), event: { type: 'moved', to, reason } });
        if (this.depth === 0) this.drainEvents();
      },
      input: (c, seg) => {
        const tcb = asTcb(c);
        if (!tcb.gone) this.deliver(tcb, seg);
      },
      markDirty: (c) => this.markDirty(asTcb(c)),
      connections: () => this.connections(),
    };
  }

  /** Runs `fn` against an engine on behalf of a socket, then delivers what it raised. */
  withEngine<T>(tcb: HostTcb, fn: (engine: TcpConnection) => T): T {
    this.depth++;
    let result: T;
    try {
      result = fn(tcb.engine);
    } finally {
      this.depth--;
    }
    if (!tcb.gone) this.markDirty(tcb);
    if (this.depth === 0 && this.pending.length > 0) this.drainEvents();
    return result;
  }

  // ---- ICMP errors and path MTU ----

  icmpError4(invoking: Uint8Array, code: 'ECONNREFUSED' | 'EHOSTUNREACH' | 'soft'): DropReason | undefined {
    const tcb = this.fromInvoking4(invoking);
    if (tcb === undefined) return 'tcp-no-socket';
    // fromInvoking4 checked that the quote holds the first 8 TCP bytes (ports and sequence number).
    const ihl = ((invoking[0] as number) & 0x0f) * 4;
    if (!tcb.engine.icmpSequenceAcceptable(seq(u32(invoking, ihl + 4)))) return 'tcp-icmp-outside-window';
    if (code !== 'soft') this.withEngine(tcb, (e) => e.icmpUnreachable(code));
    return undefined;
  }

  icmpError6(invoking: Uint8Array, code: 'ECONNREFUSED' | 'EHOSTUNREACH' | 'soft'): DropReason | undefined {
    const tcb = this.fromInvoking6(invoking);
    if (tcb === undefined) return 'tcp-no-socket';
    if (!tcb.engine.icmpSequenceAcceptable(seq(u32(invoking, 44)))) return 'tcp-icmp-outside-window';
    if (code !== 'soft') this.withEngine(tcb, (e) => e.icmpUnreachable(code));
    return undefined;
  }

  /**
   * A fragmentation-needed quoting one of our segments. Acted on (and learned by the caller
   * into the path cache) only when the quoted sequence number is one we have sent and not
   * seen acknowledged (RFC 5927 §4.1, as Linux tcp_v4_err): a forged message could otherwise
   * shrink the MSS of any connection whose ports it can guess. The connection takes the
   * lower of the report and the path cache's estimate for the destination, which a report
   * never raises (RFC 1191 §3), as Linux tcp_v4_mtu_reduced takes dst_mtu() after updating
   * the route: a report of 1400 after another connection learned 1280 gives 1280.
   */
  pathMtuChanged4(invoking: Uint8Array, mtu: number): DropReason | undefined {
    const tcb = this.fromInvoking4(invoking);
    if (tcb === undefined) return 'tcp-no-socket';
    const ihl = ((invoking[0] as number) & 0x0f) * 4;
    if (!tcb.engine.icmpSequenceAcceptable(seq(u32(invoking, ihl + 4)))) return 'tcp-icmp-outside-window';
    const known = this.stack.pathCache.mtu4(tcb.remote4);
    const pathMtu = known !== undefined && known < mtu ? known : mtu;
    this.withEngine(tcb, (e) => e.lowerPathMtu(pathMtu, IPV4_HEADER_LEN));
    return undefined;
  }

  /** The same for ICMPv6 packet-too-big (RFC 8201 §5.2 asks the same validation). */
  pathMtuChanged6(invoking: Uint8Array, mtu: number): DropReason | undefined {
    const tcb = this.fromInvoking6(invoking);
    if (tcb === undefined) return 'tcp-no-socket';
    if (!tcb.engine.icmpSequenceAcceptable(seq(u32(invoking, 44)))) return 'tcp-icmp-outside-window';
    const known = this.stack.pathCache.mtu6(tcb.remote6 as Ipv6Address);
    const pathMtu = known !== undefined && known < mtu ? known : mtu;
    this.withEngine(tcb, (e) => e.lowerPathMtu(pathMtu, IPV6_HEADER_LEN));
    return undefined;
  }

  /** The connection an ICMP error quotes: its IP header plus the first 8 TCP bytes (ports, sequence). */
  private fromInvoking4(invoking: Uint8Array): HostTcb | undefined {
    if (invoking.length < 28 || (invoking[0] as number) >> 4 !== 4) return undefined;
    const ihl = ((invoking[0] as number) & 0x0f) * 4;
    if ((invoking[9] as number) !== IP_PROTO_TCP || invoking.length < ihl + 8) return undefined;
    const dst = u32(invoking, 16);
    const srcPort = ((invoking[ihl] as number) << 8) | (invoking[ihl + 1] as number);
    const dstPort = ((invoking[ihl + 2] as number) << 8) | (invoking[ihl + 3] as number);
    return this.table.get(key4(dst, dstPort, srcPort));
  }

  private fromInvoking6(invoking: Uint8Array): HostTcb | undefined {
    if (invoking.length < 48 || (invoking[0] as number) >> 4 !== 6 || (invoking[6] as number) !== IP_PROTO_TCP) return undefined;
    const src = invoking.subarray(8, 24);
    const dst = invoking.subarray(24, 40);
    const srcPort = ((invoking[40] as number) << 8) | (invoking[41] as number);
    const dstPort = ((invoking[42] as number) << 8) | (invoking[43] as number);
    return this.table.get(key6(dst, dstPort, src, srcPort));
  }

  // ---- active open and listening ----

  connect(options: ConnectOptions): TcpSocket {
    const target = parseIpAddress(options.host);
    if (target === undefined) throw invalidArg(`host must be an IPv4 or IPv6 address literal, got '${options.host}'`);
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw invalidArg(`port must be 1..65535, got ${options.port}`);
    const family = target.family;
    let local4 = 0;
    let local6: Ipv6Address | undefined;
    if (family === 4) {
      if (this.stack.ipv4 === undefined) throw unreachable(`no IPv4 address configured to reach ${options.host}`);
      if (this.stack.nextHop4(target.address) === undefined) throw unreachable(`no route to ${options.host}`);
      local4 = this.stack.ipv4.address;
    } else {
      local6 = this.stack.ipv6SourceFor(target.address);
      if (local6 === undefined || this.stack.nextHop6(target.address) === undefined) throw unreachable(`no route to ${options.host}`);
    }
    const remote4 = family === 4 ? (target.address as number) : 0;
    const remote6 = family === 6 ? (target.address as Ipv6Address) : undefined;
    const requested = options.localPort;
    if (requested !== undefined && (!Number.isInteger(requested) || requested < 0 || requested > 65535)) {
      throw Object.assign(new RangeError(`options.localPort should be >= 0 and < 65536. Received ${String(requested)}.`), { code: 'ERR_SOCKET_BAD_PORT' });
    }
    // node:net: localPort 0 (or none) means any free port; port 0 itself never goes on the wire.
    const localPort = requested !== undefined && requested !== 0 ? requested : this.ephemeralPort(family, remote4, remote6, local6, options.port);
    const tcb = this.createTcb(family, localPort, options.port, local4, remote4, local6, remote6);
    if (this.table.has(tcb.key)) throw Object.assign(new Error(`connect: ${tcb.localAddress}:${localPort} -> ${options.host}:${options.port} is in use`), { code: 'EADDRINUSE' });
    const config = this.configFor(family, options.tcp);
    const socket = new TcpSocket(this, tcb, {});
    tcb.socket = socket;
    const iss = this.issFor(tcb);
    this.depth++;
    try {
      tcb.sndBufSize = config.sndBufSize;
      tcb.engine = TcpConnection.connect({ config, hooks: tcb, random: this.stack.random, localPort, remotePort: options.port, iss });
    } finally {
      this.depth--;
    }
    this.applyPathMtu(tcb);
    this.stack.stats.tcpActiveOpens++;
    if (options.noDelay === true) tcb.engine.setNoDelay(true);
    if (options.keepAlive === true) tcb.engine.setKeepAlive(true, options.keepAliveInitialDelay);
    this.insert(tcb);
    this.markDirty(tcb);
    return socket;
  }

  /** RFC 6056 §3.3.1-style: a random start in the ephemeral range, then the first free port for this remote. */
  private ephemeralPort(family: 4 | 6, remote4: Ipv4Address, remote6: Ipv6Address | undefined, local6: Ipv6Address | undefined, remotePort: number): number {
    const span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
    const start = this.stack.random.nextU32() % span;
    for (let i = 0; i < span; i++) {
      const port = EPHEMERAL_LOW + ((start + i) % span);
      if (this.listeners.has(port)) continue;
      const key = family === 4 ? key4(remote4, remotePort, port) : key6(remote6 as Ipv6Address, remotePort, local6 as Ipv6Address, port);
      if (!this.table.has(key)) return port;
    }
    throw Object.assign(new Error('connect: no free ephemeral port'), { code: 'EADDRNOTAVAIL' });
  }

  listen(server: TcpServer, port: number, host: string | undefined, synBacklog?: number): number {
    let address: TcpListener['address'];
    if (host !== undefined && host !== '' && host !== '::' && host !== '0.0.0.0') {
      const parsed = parseIpAddress(host);
      if (parsed === undefined) throw invalidArg(`listen: host must be an address literal, got '${host}'`);
      const ours = parsed.family === 4 ? this.stack.isOwnIpv4(parsed.address) : this.stack.ownIpv6(parsed.address) !== undefined;
      if (!ours) throw Object.assign(new Error(`listen: ${host} is not an address of this stack`), { code: 'EADDRNOTAVAIL' });
      address = parsed.family === 4 ? { family: 4, address: parsed.address } : { family: 6, address: parsed.address.slice() };
    } else if (host === '0.0.0.0' && this.stack.ipv4 !== undefined) {
      address = { family: 4, address: this.stack.ipv4.address };
    }
    if (port === 0) port = this.freeListenPort();
    const list = this.listeners.get(port) ?? [];
    if (list.some((l) => l.address === undefined || address === undefined || (l.address.family === address.family && sameAddress(l.address, address)))) {
      throw Object.assign(new Error(`listen EADDRINUSE: port ${port} is already in use`), { code: 'EADDRINUSE', port });
    }
    list.push({ port, server, address, synBacklog: synBacklog ?? DEFAULT_SYN_BACKLOG, halfOpen: 0, lastCookieAt: -Infinity });
    this.listeners.set(port, list);
    return port;
  }

  unlisten(server: TcpServer, port: number): void {
    const list = this.listeners.get(port);
    if (list === undefined) return;
    const rest = list.filter((l) => l.server !== server);
    if (rest.length === 0) this.listeners.delete(port);
    else this.listeners.set(port, rest);
    // Half-open connections of this listener are reset (Linux does the same on close(listenfd)).
    for (const tcb of [...this.table.values()]) {
      if (tcb.listener?.server === server && tcb.localPort === port) {
        this.withEngine(tcb, (e) => e.abort());
        this.forget(tcb);
      }
    }
  }

  private freeListenPort(): number {
    for (let i = 0; i < 1000; i++) {
      const port = EPHEMERAL_LOW + (this.stack.random.nextU32() % (EPHEMERAL_HIGH - EPHEMERAL_LOW + 1));
      if (!this.listeners.has(port)) return port;
    }
    throw Object.assign(new Error('listen: no free port'), { code: 'EADDRINUSE' });
  }

  /** Aborts every connection (stack shutdown): peers get a RST, sockets an ECONNRESET-free close. */
  shutdown(): void {
    this.offloads.stop();
    for (const tcb of [...this.table.values()]) {
      // An offloaded connection is reset by the target (abortive disconnect, §4.7.2).
      this.withIo(tcb, (e) => e.abort());
      this.forget(tcb);
    }
    this.listeners.clear();
    this.timers.clear();
  }
}

function key4(remote: Ipv4Address, remotePort: number, localPort: number): string {
  return `${remote}:${remotePort}:${localPort}`;
}

function key6(remote: Ipv6Address, remotePort: number, local: Ipv6Address, localPort: number): string {
  return `${ipv6Key(remote)}${ipv6Key(local)}:${remotePort}:${localPort}`;
}

function v4Bytes(a: Ipv4Address): Uint8Array {
  const b = new Uint8Array(4);
  putIpv4(b, 0, a);
  return b;
}

function u32(b: Uint8Array, off: number): number {
  return (((b[off] as number) << 24) | ((b[off + 1] as number) << 16) | ((b[off + 2] as number) << 8) | (b[off + 3] as number)) >>> 0;
}

function sameAddress(a: NonNullable<TcpListener['address']>, b: NonNullable<TcpListener['address']>): boolean {
  if (a.family === 4 && b.family === 4) return a.address === b.address;
  if (a.family === 6 && b.family === 6) return ipv6Equals(a.address, b.address);
  return false;
}

function invalidArg(message: string): Error {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_ARG_VALUE' });
}

function unreachable(message: string): Error {
  return Object.assign(new Error(message), { code: 'ENETUNREACH' });
}

