/**
 * The host stack: a complete userspace TCP/IP stack behind a protocol edge. It receives
 * frames on the normal receive path from the layer below (the offload target, possibly
 * through intermediate drivers), answers ARP, neighbor discovery and ICMP, runs TCP for
 * connections that are not offloaded, and sends frames down the normal send path.
 *
 * Every received frame ends either handled or dropped with a named reason (HostStats).
 */
import { randomBytes } from 'node:crypto';
import {
  BROADCAST_MAC,
  IPV6_ALL_NODES,
  formatIpv4Address,
  formatIpv6Address,
  ipv4InSubnet,
  ipv4SubnetBroadcast,
  ipv6Equals,
  ipv6InSubnet,
  ipv6MulticastMac,
  isIpv4Broadcast,
  isIpv4Loopback,
  isIpv4Multicast,
  isIpv6LinkLocal,
  isIpv6Loopback,
  isIpv6Multicast,
  isIpv6Unspecified,
  linkLocalFromMac,
  macEquals,
  solicitedNodeMulticast,
  type Ipv4Address,
  type Ipv6Address,
  type MacAddress,
} from '../wire/addr.js';
import type { DropReason } from '../wire/drop-reason.js';
import { ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_QINQ, ETHERTYPE_VLAN, emitEthernetHeader } from '../wire/ethernet.js';
import { ICMPV6_NEIGHBOR_SOLICITATION } from '../wire/icmpv6.js';
import { IP_PROTO_FRAGMENT, IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_NONE, IP_PROTO_TCP, IP_PROTO_UDP } from '../wire/ip-proto.js';
import { HOST_IPV4_ID_RANGE, HOST_IPV6_FRAGMENT_ID_RANGE, IdCounter } from '../wire/ip-id.js';
import { IPV4_HEADER_LEN, emitIpv4Header, ipv4PseudoHeaderSum, isIpv4Fragment, parseIpv4, type Ipv4Repr } from '../wire/ipv4.js';
import { Ipv4Reassembler } from '../wire/ipv4-reassembly.js';
import { IPV6_FRAGMENT_HEADER_LEN, IPV6_HEADER_LEN, emitIpv6FragmentHeader, emitIpv6Header, ipv6PseudoHeaderSum, parseIpv6, type Ipv6Repr } from '../wire/ipv6.js';
import { Ipv6Reassembler } from '../wire/ipv6-reassembly.js';
import { VNET_F_DATA_VALID, VNET_F_NEEDS_CSUM } from '../wire/vnet.js';
import { completeChecksum } from '../wire/gso.js';
import type { BoundMiniportEdge, LinkStateInfo, MiniportEdge, NblOffloadInfo } from '../ndis/edges.js';
import type { NdisChimneyCalls, ProtocolChimneyHandlers } from '../ndis/chimney-edges.js';
import type { BindableProtocol } from '../ndis/binding.js';
import type { NdisStatus } from '../ndis/status.js';
import { DEFAULT_TCP_CONFIG, type TcpConfig } from '../tcp/types.js';
import { handleArp, sendArpRequest, sendGratuitousArp } from './arp.js';
import type { HostInterfaceConfig, HostLogEvent, HostStackOptions } from './config.js';
import { Icmp4, Icmp6 } from './icmp.js';
import { NeighborCache } from './neighbor-cache.js';
import { Ndp } from './ndp.js';
import { PathCache } from './path-cache.js';
import { HostStats } from './stats.js';
import { TokenBucket } from './token-bucket.js';
import { TcpLayer, type ConnectOptions } from './tcp-layer.js';
import { TcpServer, type TcpServerOptions } from './server.js';
import type { TcpSocket } from './socket.js';
import { handleUdp4, handleUdp6 } from './udp.js';
import type { Scheduler } from '../wire/clock.js';
import type { Random } from '../wire/random.js';

/** Writes an upper-layer message at out[off]; `pseudoHeaderSum` serves its checksum. */
export type UpperWriter = (out: Uint8Array, off: number, pseudoHeaderSum: number) => void;

export interface SendOptions {
  readonly ttl?: number | undefined;
  readonly dontFragment?: boolean | undefined;
  /** Source address; defaults to the interface address (IPv6: link-local for link-local destinations). */
  readonly src?: Ipv4Address | Ipv6Address | undefined;
  readonly dscp?: number | undefined;
  /** Checksum/segmentation offload information for the frame (TCP fast path). */
  readonly info?: NblOffloadInfo | undefined;
}

/** A 16-byte address as a Map key with value equality. */
export function ipv6Key(a: Ipv6Address): string {
  return String.fromCharCode(
    ((a[0] as number) << 8) | (a[1] as number),
    ((a[2] as number) << 8) | (a[3] as number),
    ((a[4] as number) << 8) | (a[5] as number),
    ((a[6] as number) << 8) | (a[7] as number),
    ((a[8] as number) << 8) | (a[9] as number),
    ((a[10] as number) << 8) | (a[11] as number),
    ((a[12] as number) << 8) | (a[13] as number),
    ((a[14] as number) << 8) | (a[15] as number),
  );
}

/** An IPv6 address of ours and its duplicate-address-detection state (RFC 4862 §5.4). */
export interface Ipv6OwnAddress {
  readonly address: Ipv6Address;
  readonly prefixLength: number;
  state: 'tentative' | 'preferred' | 'duplicate';
}

/** True when an untagged IPv4 or IPv6 frame's (first) next protocol is TCP. */
function carriesTcp(frame: Uint8Array): boolean {
  const ethertype = ((frame[12] as number) << 8) | (frame[13] as number);
  if (ethertype === ETHERTYPE_IPV4) return frame[23] === IP_PROTO_TCP;
  if (ethertype === ETHERTYPE_IPV6) return frame[20] === IP_PROTO_TCP;
  return false;
}

/**
 * A source no remote host can have (Linux "martian source"): 0/8, "this host on this network",
 * only ever a source while a host learns its address, which we do not serve (RFC 1122
 * §3.2.1.3 (a), (b)); loopback 127/8 (g); multicast 224/4 (RFC 1112 §4, RFC 1122 §3.2.1.3);
 * the reserved class E 240/4 (RFC 1112 §4), which takes in the limited broadcast
 * 255.255.255.255 (§3.2.1.3 (c)).
 */
function isMartianIpv4Source(src: Ipv4Address): boolean {
  return src >>> 24 === 0 || isIpv4Loopback(src) || isIpv4Multicast(src) || src >>> 28 === 0xf;
}

/**
 * An IPv6 source no remote node can have: multicast (RFC 4291 §2.7), loopback (§2.5.3), and
 * the unspecified address (§2.5.2), except on the one message we take from a node that has no
 * address yet: a duplicate address detection probe, an unfragmented neighbor solicitation
 * (RFC 4862 §5.4.2; RFC 6980 forbids fragmented neighbor discovery), which ndp.ts checks further.
 */
function isMartianIpv6Source(ip: Ipv6Repr): boolean {
  const src = ip.src;
  if (isIpv6Multicast(src) || isIpv6Loopback(src)) return true;
  if (!isIpv6Unspecified(src)) return false;
  return !(ip.upperProtocol === IP_PROTO_ICMPV6 && ip.fragment === undefined && ip.upperPayload[0] === ICMPV6_NEIGHBOR_SOLICITATION);
}

/** Largest frame the stack ever builds: a 64 KiB TSO super-frame plus headers. */
const SCRATCH_SIZE = 65536 + 256;

export class HostStack implements BindableProtocol {
  readonly stats = new HostStats();
  readonly mac: MacAddress;
  readonly ipv4: HostInterfaceConfig['ipv4'];
  /** Our IPv6 addresses: the link-local one derived from the MAC, then the configured one. */
  readonly ipv6Addresses: Ipv6OwnAddress[] = [];
  readonly ipv6Gateway: Ipv6Address | undefined;
  readonly scheduler: Scheduler;
  readonly random: Random;
  readonly secret: Uint8Array;
  readonly tcpConfig: TcpConfig;
  /** The MSS set in the options, a cap on the one the interface MTU gives; undefined: the MTU alone decides. */
  readonly configuredMss: number | undefined;
  readonly ttl: number;
  readonly arpCache: NeighborCache<Ipv4Address, NblOffloadInfo>;
  readonly ndCache: NeighborCache<Ipv6Address, NblOffloadInfo>;
  readonly pathCache: PathCache;
  readonly icmp4: Icmp4;
  readonly icmp6: Icmp6;
  readonly ndp: Ndp;
  readonly tcp: TcpLayer;
  readonly icmpErrors: TokenBucket;
  readonly answerBroadcastEcho: boolean;
  readonly dadTransmits: number;
  /** Multicast MACs whose frames we accept (all-nodes, solicited-node groups of our addresses). */
  private readonly multicastMacs: MacAddress[] = [];
  private readonly reasm4: Ipv4Reassembler;
  private readonly reasm6: Ipv6Reassembler;
  private lower: MiniportEdge | undefined;
  private readonly scratch = new Uint8Array(SCRATCH_SIZE);
  /** One counter for every IPv4 datagram we send, TCP included, in the host's half of the ID space. */
  private readonly ipv4Ids: IdCounter;
  private readonly ipv6FragmentIds: IdCounter;
  private readonly log: (event: HostLogEvent) => void;
  private linkUp = true;
  private started = false;
  private reasmTimer: ReturnType<Scheduler['setTimer']> | undefined;

  constructor(options: HostStackOptions) {
    this.scheduler = options.scheduler;
    this.random = options.random;
    this.mac = options.interface.mac.slice();
    this.ipv4 = options.interface.ipv4;
    this.secret = options.secret ?? new Uint8Array(randomBytes(32));
    this.tcpConfig = { ...DEFAULT_TCP_CONFIG, ...(options.tcp ?? {}) };
    this.configuredMss = options.tcp?.mss;
    this.ttl = options.ttl ?? 64;
    this.answerBroadcastEcho = options.answerBroadcastEcho ?? false;
    this.dadTransmits = options.dadTransmits ?? 1;
    this.log = options.log ?? (() => undefined);
    const perSecond = options.icmpErrorsPerSecond ?? 1000;
    this.icmpErrors = new TokenBucket(this.scheduler, perSecond, Math.max(1, Math.ceil(perSecond / 20)));
    const reasm = options.reassembly ?? { maxDatagrams: 256, maxBytes: 4 << 20, timeoutMs: 30_000 };
    this.reasm4 = new Ipv4Reassembler(reasm);
    this.reasm6 = new Ipv6Reassembler(reasm);
    this.ipv4Ids = new IdCounter(HOST_IPV4_ID_RANGE, this.random);
    this.ipv6FragmentIds = new IdCounter(HOST_IPV6_FRAGMENT_ID_RANGE, this.random);
    this.pathCache = new PathCache(this.scheduler);

    this.multicastMacs.push(ipv6MulticastMac(IPV6_ALL_NODES));
    const linkLocal = linkLocalFromMac(this.mac);
    this.addIpv6Address(linkLocal, 64);
    const v6 = options.interface.ipv6;
    if (v6 !== undefined && !ipv6Equals(v6.address, linkLocal)) this.addIpv6Address(v6.address, v6.prefixLength);
    this.ipv6Gateway = v6?.gateway;

    this.arpCache = new NeighborCache<Ipv4Address, NblOffloadInfo>(
      this.scheduler,
      this.random,
      {
        solicit: (address, unicastTo) => sendArpRequest(this, address, unicastTo),
        transmit: (frame, info) => this.transmitFrame(frame, info),
        dropped: (reason, frame) => this.neighborDropped(reason, frame),
      },
      (a) => a,
      options.neighbor,
    );
    this.ndCache = new NeighborCache<Ipv6Address, NblOffloadInfo>(
      this.scheduler,
      this.random,
      {
        solicit: (address, unicastTo) => this.ndp.sendSolicitation(address, unicastTo),
        transmit: (frame, info) => this.transmitFrame(frame, info),
        dropped: (reason, frame) => this.neighborDropped(reason, frame),
      },
      ipv6Key,
      options.neighbor,
    );
    this.icmp4 = new Icmp4(this);
    this.icmp6 = new Icmp6(this);
    this.ndp = new Ndp(this);
    this.tcp = new TcpLayer(this, options.offload);
  }

  // ---- binding (ndis) ----

  bindLower(lower: MiniportEdge | BoundMiniportEdge): void {
    if (this.lower !== undefined) throw new Error('HostStack: already bound to a miniport');
    this.lower = lower;
  }

  /** The chimney handlers this stack registers with NDIS (none when it never offloads). */
  get chimneyClient(): ProtocolChimneyHandlers | undefined {
    return this.tcp.offloads.options.policy === 'never' ? undefined : this.tcp.offloads;
  }

  /** The NDIS chimney functions of the binding below, when the miniport offers chimney offload. */
  get lowerChimney(): NdisChimneyCalls | undefined {
    const lower = this.lower as Partial<BoundMiniportEdge> | undefined;
    return lower?.chimney;
  }

  /** Offload capabilities of the layer below (checksum offload, TSO). */
  get lowerAttributes(): MiniportEdge['attributes'] | undefined {
    return this.lower?.attributes;
  }

  /** The IP MTU of the interface. */
  get mtu(): number {
    return this.lower?.attributes.mtu ?? 1500;
  }

  /**
   * Announces the stack on the link: gratuitous ARP for the IPv4 address, duplicate address
   * detection for every IPv6 address. Resolves when every address is usable (or found
   * duplicate, which is logged).
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.ipv4 !== undefined) sendGratuitousArp(this);
    this.reasmTimer = this.scheduler.setTimer(() => this.expireReassembly(), 1000);
    await this.ndp.runDuplicateAddressDetection(this.dadTransmits);
  }

  /** Stops timers and closes every connection (RST to connected peers). */
  stop(): void {
    this.tcp.shutdown();
    this.arpCache.clear();
    this.ndCache.clear();
    if (this.reasmTimer !== undefined) this.scheduler.clearTimer(this.reasmTimer);
    this.reasmTimer = undefined;
  }

  /**
   * A frame that waited for address resolution is dropped. When resolution failed, the
   * transport hears of it as a destination unreachable, as RFC 4861 §7.2.2 requires (Linux
   * does the same for ARP): a connection attempt fails with EHOSTUNREACH instead of
   * retransmitting its SYN into the void until it times out. Reported on a microtask: the
   * drop may happen inside an engine's transmit (cache eviction), which must not be re-entered.
   */
  private neighborDropped(reason: 'neigh-queue-full' | 'neigh-resolution-failed', frame: Uint8Array): void {
    this.stats.txDrops.count(reason);
    if (reason !== 'neigh-resolution-failed' || !carriesTcp(frame)) return;
    const ethertype = ((frame[12] as number) << 8) | (frame[13] as number);
    const packet = frame.subarray(ETHERNET_HEADER_LEN);
    queueMicrotask(() => {
      if (ethertype === ETHERTYPE_IPV4) this.tcp.icmpError4(packet, 'EHOSTUNREACH');
      else this.tcp.icmpError6(packet, 'EHOSTUNREACH');
    });
  }

  private expireReassembly(): void {
    const now = this.scheduler.now();
    const expired4 = this.reasm4.expire(now);
    const expired6 = this.reasm6.expire(now);
    if (expired4 > 0) this.stats.reassemblyDrops.count('ipv4-frag-timeout', expired4);
    if (expired6 > 0) this.stats.reassemblyDrops.count('ipv6-frag-timeout', expired6);
    this.reasmTimer = this.scheduler.setTimer(() => this.expireReassembly(), 1000);
  }

  // ---- receive path (protocol edge) ----

  receiveNetBufferLists(frame: Uint8Array, info: NblOffloadInfo | undefined): void {
    this.stats.rxFrames++;
    let reason: DropReason | undefined;
    try {
      reason = this.receiveFrame(frame, info);
    } catch (error) {
      // A bug, not bad input: parsers are total, and application exceptions are rethrown on
      // their own turn by the TCP layer. Count the frame and keep the process alive; tests
      // assert that this counter stays at zero.
      this.noteInternalError(error);
      reason = 'internal-error';
    }
    if (reason === undefined) this.stats.rxHandled++;
    else this.stats.drops.count(reason);
  }

  /** Exceptions thrown by the stack's own code (each is a bug); the process survives them. */
  internalErrors = 0;
  lastInternalError: unknown;

  noteInternalError(error: unknown): void {
    this.internalErrors++;
    this.lastInternalError = error;
  }

  receiveComplete(): void {
    this.tcp.flush();
  }

  statusIndication(_status: NdisStatus, info?: LinkStateInfo): void {
    if (info !== undefined) this.linkUp = info.connected;
  }

  /**
   * Ethernet, read in place (the zero-copy view side of wire/ethernet.ts): this runs for every
   * frame, and a parsed repr with MAC copies would cost allocations the receive path cannot
   * afford at line rate.
   */
  private receiveFrame(frame: Uint8Array, info: NblOffloadInfo | undefined): DropReason | undefined {
    if (frame.length < ETHERNET_HEADER_LEN) return 'eth-truncated';
    if (!this.acceptsDestination(frame)) return 'eth-not-for-us';
    if (((frame[6] as number) & 1) !== 0) return 'eth-source-multicast';
    const ethertype = ((frame[12] as number) << 8) | (frame[13] as number);
    if (ethertype === ETHERTYPE_VLAN || ethertype === ETHERTYPE_QINQ) return 'vlan-not-configured';
    if (info !== undefined && (info.flags & VNET_F_NEEDS_CSUM) !== 0 && !carriesTcp(frame)) {
      // A partial checksum is fine for data we consume, but UDP and ICMP datagrams may be
      // quoted back in ICMP errors: finish the checksum so the quote is what a wire carried.
      completeChecksum(frame, info);
    }
    const payload = frame.subarray(ETHERNET_HEADER_LEN);
    switch (ethertype) {
      case ETHERTYPE_ARP:
        return handleArp(this, payload, frame.subarray(6, 12));
      case ETHERTYPE_IPV4:
        return this.receiveIpv4(payload, info);
      case ETHERTYPE_IPV6:
        return this.receiveIpv6(payload, info, frame.subarray(6, 12));
      default:
        return 'eth-unknown-ethertype';
    }
  }

  /** Unicast to our MAC, broadcast, or a multicast group we joined. */
  private acceptsDestination(frame: Uint8Array): boolean {
    const mac = this.mac;
    if (frame[0] === mac[0] && frame[1] === mac[1] && frame[2] === mac[2] && frame[3] === mac[3] && frame[4] === mac[4] && frame[5] === mac[5]) return true;
    if (((frame[0] as number) & 1) === 0) return false;
    const dst = frame.subarray(0, 6);
    if (macEquals(dst, BROADCAST_MAC)) return true;
    for (const m of this.multicastMacs) if (macEquals(dst, m)) return true;
    return false;
  }

  /** True when transport checksums of this frame need no software check (the device vouched for them). */
  static checksumTrusted(info: NblOffloadInfo | undefined): boolean {
    return info !== undefined && (info.flags & (VNET_F_NEEDS_CSUM | VNET_F_DATA_VALID)) !== 0;
  }

  private receiveIpv4(bytes: Uint8Array, info: NblOffloadInfo | undefined): DropReason | undefined {
    const parsed = parseIpv4(bytes);
    if (!parsed.ok) return parsed.reason;
    let ip: Ipv4Repr = parsed.value;
    this.stats.ipv4In++;
    const own = this.ipv4;
    let broadcast = false;
    if (own === undefined || ip.dst !== own.address) {
      if (own !== undefined && (isIpv4Broadcast(ip.dst) || ip.dst === ipv4SubnetBroadcast(own.address, own.prefixLength))) broadcast = true;
      else if (ip.dst === 0xe0000001) broadcast = true; // 224.0.0.1, all systems (RFC 1112)
      else return 'ipv4-not-for-us';
    }
    if (isMartianIpv4Source(ip.src) || (own !== undefined && ip.src === own.address)) return 'ipv4-bad-source';
    if (own !== undefined && ip.src === ipv4SubnetBroadcast(own.address, own.prefixLength) && own.prefixLength < 31) return 'ipv4-bad-source';
    let trusted = HostStack.checksumTrusted(info);
    if (isIpv4Fragment(ip)) {
      this.stats.ipv4FragmentsIn++;
      const r = this.reasm4.add(ip, this.scheduler.now());
      if (!r.ok) return r.reason;
      if (r.value === undefined) return undefined; // held for reassembly
      ip = r.value;
      trusted = false;
      this.stats.ipv4Reassembled++;
    }
    switch (ip.protocol) {
      case IP_PROTO_ICMP:
        return this.icmp4.input(ip, broadcast);
      case IP_PROTO_TCP:
        if (broadcast) return 'ipv4-not-for-us';
        return this.tcp.input4(ip, trusted);
      case IP_PROTO_UDP:
        return handleUdp4(this, ip, trusted, broadcast);
      default:
        if (!broadcast) this.icmp4.sendProtocolUnreachable(ip);
        return 'ipv4-unknown-protocol';
    }
  }

  private receiveIpv6(bytes: Uint8Array, info: NblOffloadInfo | undefined, srcMac: MacAddress): DropReason | undefined {
    const parsed = parseIpv6(bytes);
    if (!parsed.ok) return parsed.reason;
    let ip: Ipv6Repr = parsed.value;
    this.stats.ipv6In++;
    let multicast = false;
    if (isIpv6Multicast(ip.dst)) {
      if (!this.acceptsIpv6Multicast(ip.dst)) return 'ipv6-not-for-us';
      multicast = true;
    } else {
      const mine = this.ownIpv6(ip.dst);
      if (mine === undefined) return 'ipv6-not-for-us';
      // A tentative address accepts nothing but the neighbor discovery that decides it (RFC 4862 §5.4).
      if (mine.state !== 'preferred' && ip.upperProtocol !== IP_PROTO_ICMPV6) return 'ipv6-not-for-us';
    }
    if (isMartianIpv6Source(ip)) return 'ipv6-bad-source';
    let trusted = HostStack.checksumTrusted(info);
    if (ip.fragment !== undefined) {
      this.stats.ipv6FragmentsIn++;
      const r = this.reasm6.add(ip, this.scheduler.now());
      if (!r.ok) return r.reason;
      if (r.value === undefined) return undefined;
      ip = r.value;
      trusted = false;
      this.stats.ipv6Reassembled++;
    }
    switch (ip.upperProtocol) {
      case IP_PROTO_ICMPV6:
        return this.icmp6.input(ip, multicast, srcMac);
      case IP_PROTO_TCP:
        if (multicast) return 'ipv6-not-for-us';
        return this.tcp.input6(ip, trusted);
      case IP_PROTO_UDP:
        return handleUdp6(this, ip, trusted, multicast);
      case IP_PROTO_NONE:
        return undefined;
      default:
        if (!multicast) this.icmp6.sendUnrecognizedNextHeader(ip, bytes);
        return 'ipv6-unknown-next-header';
    }
  }

  // ---- addresses ----

  private addIpv6Address(address: Ipv6Address, prefixLength: number): void {
    this.ipv6Addresses.push({ address: address.slice(), prefixLength, state: this.dadTransmits > 0 ? 'tentative' : 'preferred' });
    const mac = ipv6MulticastMac(solicitedNodeMulticast(address));
    if (!this.multicastMacs.some((m) => macEquals(m, mac))) this.multicastMacs.push(mac);
  }

  /** Our IPv6 address equal to `a`, in any DAD state. */
  ownIpv6(a: Ipv6Address): Ipv6OwnAddress | undefined {
    for (const own of this.ipv6Addresses) if (ipv6Equals(own.address, a)) return own;
    return undefined;
  }

  isOwnIpv4(a: Ipv4Address): boolean {
    return this.ipv4 !== undefined && this.ipv4.address === a;
  }

  private acceptsIpv6Multicast(dst: Ipv6Address): boolean {
    if (ipv6Equals(dst, IPV6_ALL_NODES)) return true;
    for (const own of this.ipv6Addresses) if (ipv6Equals(dst, solicitedNodeMulticast(own.address))) return true;
    return false;
  }

  /** Source address for a destination (RFC 6724, reduced to scope matching on one interface). */
  ipv6SourceFor(dst: Ipv6Address): Ipv6Address | undefined {
    const wantLinkLocal = isIpv6LinkLocal(dst) || (isIpv6Multicast(dst) && ((dst[1] as number) & 0x0f) <= 2);
    let fallback: Ipv6Address | undefined;
    for (const own of this.ipv6Addresses) {
      if (own.state !== 'preferred') continue;
      if (isIpv6LinkLocal(own.address) === wantLinkLocal) return own.address;
      fallback ??= own.address;
    }
    return fallback;
  }

  /** Next hop for an IPv4 destination, or undefined when it is unreachable. */
  nextHop4(dst: Ipv4Address): Ipv4Address | undefined {
    const own = this.ipv4;
    if (own === undefined) return undefined;
    if (ipv4InSubnet(dst, own.address, own.prefixLength)) return dst;
    return own.gateway;
  }

  nextHop6(dst: Ipv6Address): Ipv6Address | undefined {
    if (isIpv6LinkLocal(dst)) return dst;
    for (const own of this.ipv6Addresses) if (!isIpv6LinkLocal(own.address) && ipv6InSubnet(dst, own.address, own.prefixLength)) return dst;
    return this.ipv6Gateway;
  }

  logEvent(event: HostLogEvent): void {
    this.log(event);
  }

  // ---- send path ----

  /** Hands a complete frame to the layer below. */
  transmitFrame(frame: Uint8Array, info: NblOffloadInfo | undefined): void {
    const lower = this.lower;
    if (lower === undefined || !this.linkUp) {
      this.stats.txDrops.count('link-down');
      return;
    }
    this.stats.txFrames++;
    lower.sendNetBufferLists(frame, info);
  }

  /**
   * The device's transmit buffer for the next frame of up to `length` bytes, when every layer
   * below passes frames through untouched (`MiniportEdge.lendSendBuffer`); undefined otherwise.
   */
  lendFrame(length: number): Uint8Array | undefined {
    return this.linkUp ? this.lower?.lendSendBuffer?.(length) : undefined;
  }

  /** A buffer frames may be built in; it is reused by the next send. */
  get frameScratch(): Uint8Array {
    return this.scratch;
  }

  /**
   * Sends an Ethernet frame built in `frame` (destination MAC still blank) to the IPv4 next
   * hop `nextHop`, resolving it first if needed.
   */
  sendToNeighbor4(nextHop: Ipv4Address, frame: Uint8Array, info: NblOffloadInfo | undefined): void {
    this.arpCache.send(nextHop, frame, info);
  }

  sendToNeighbor6(nextHop: Ipv6Address, frame: Uint8Array, info: NblOffloadInfo | undefined): void {
    if (isIpv6Multicast(nextHop)) {
      frame.set(ipv6MulticastMac(nextHop), 0);
      this.transmitFrame(frame, info);
      return;
    }
    this.ndCache.send(nextHop, frame, info);
  }

  /**
   * Sends an IPv4 datagram whose upper-layer message (`length` bytes) `write` produces.
   * Fragments when the datagram exceeds the path MTU and DF is not set (RFC 791 §3.2).
   */
  sendIpv4(dst: Ipv4Address, protocol: number, length: number, write: UpperWriter, options: SendOptions = {}): DropReason | undefined {
    const own = this.ipv4;
    if (own === undefined) return this.txDrop('no-route');
    const nextHop = this.nextHop4(dst);
    if (nextHop === undefined) return this.txDrop('no-route');
    const src = (options.src as Ipv4Address | undefined) ?? own.address;
    const mtu = Math.min(this.mtu, this.pathCache.mtu4(dst) ?? this.mtu);
    const pseudo = ipv4PseudoHeaderSum({ src, dst, protocol }, length);
    const ttl = options.ttl ?? this.ttl;
    const out = this.scratch;
    const ipOff = ETHERNET_HEADER_LEN;
    if (IPV4_HEADER_LEN + length <= mtu) {
      write(out, ipOff + IPV4_HEADER_LEN, pseudo);
      emitIpv4Header(
        { src, dst, protocol, ttl, payloadLength: length, identification: this.nextIpv4Id(), dontFragment: options.dontFragment ?? true, dscp: options.dscp },
        out,
        ipOff,
      );
      emitEthernetHeader({ dst: BROADCAST_MAC, src: this.mac, ethertype: ETHERTYPE_IPV4 }, out, 0);
      this.stats.ipv4Out++;
      this.sendToNeighbor4(nextHop, out.subarray(0, ipOff + IPV4_HEADER_LEN + length), options.info);
      return undefined;
    }
    if (options.dontFragment === true) return this.txDrop('link-frame-too-big');
    // Build the whole message once, then cut it at multiples of 8 bytes (RFC 791 §3.2).
    const message = new Uint8Array(length);
    write(message, 0, pseudo);
    const chunk = Math.floor((mtu - IPV4_HEADER_LEN) / 8) * 8;
    const identification = this.nextIpv4Id();
    for (let offset = 0; offset < length; offset += chunk) {
      const n = Math.min(chunk, length - offset);
      const frame = new Uint8Array(ipOff + IPV4_HEADER_LEN + n);
      frame.set(message.subarray(offset, offset + n), ipOff + IPV4_HEADER_LEN);
      emitIpv4Header(
        { src, dst, protocol, ttl, payloadLength: n, identification, moreFragments: offset + n < length, fragmentOffset: offset, dscp: options.dscp },
        frame,
        ipOff,
      );
      emitEthernetHeader({ dst: BROADCAST_MAC, src: this.mac, ethertype: ETHERTYPE_IPV4 }, frame, 0);
      this.stats.ipv4FragmentsOut++;
      this.stats.ipv4Out++;
      this.arpCache.send(nextHop, frame, undefined);
    }
    return undefined;
  }

  /**
   * Sends an IPv6 packet with upper-layer message `write` of `length` bytes. Source-fragments
   * when it exceeds the path MTU (RFC 8200 §4.5).
   */
  sendIpv6(dst: Ipv6Address, nextHeader: number, length: number, write: UpperWriter, options: SendOptions = {}): DropReason | undefined {
    const nextHop = isIpv6Multicast(dst) ? dst : this.nextHop6(dst);
    if (nextHop === undefined) return this.txDrop('no-route');
    const src = (options.src as Ipv6Address | undefined) ?? this.ipv6SourceFor(dst);
    if (src === undefined) return this.txDrop('no-route');
    const mtu = Math.min(this.mtu, this.pathCache.mtu6(dst) ?? this.mtu);
    const pseudo = ipv6PseudoHeaderSum({ src, dst }, nextHeader, length);
    const hopLimit = options.ttl ?? this.ttl;
    const out = this.scratch;
    const ipOff = ETHERNET_HEADER_LEN;
    if (IPV6_HEADER_LEN + length <= mtu) {
      write(out, ipOff + IPV6_HEADER_LEN, pseudo);
      emitIpv6Header({ src, dst, nextHeader, hopLimit, payloadLength: length, trafficClass: (options.dscp ?? 0) << 2 }, out, ipOff);
      emitEthernetHeader({ dst: BROADCAST_MAC, src: this.mac, ethertype: ETHERTYPE_IPV6 }, out, 0);
      this.stats.ipv6Out++;
      this.sendToNeighbor6(nextHop, out.subarray(0, ipOff + IPV6_HEADER_LEN + length), options.info);
      return undefined;
    }
    const message = new Uint8Array(length);
    write(message, 0, pseudo);
    const chunk = Math.floor((mtu - IPV6_HEADER_LEN - IPV6_FRAGMENT_HEADER_LEN) / 8) * 8;
    const identification = this.nextIpv6FragmentId();
    for (let offset = 0; offset < length; offset += chunk) {
      const n = Math.min(chunk, length - offset);
      const frame = new Uint8Array(ipOff + IPV6_HEADER_LEN + IPV6_FRAGMENT_HEADER_LEN + n);
      emitIpv6Header({ src, dst, nextHeader: IP_PROTO_FRAGMENT, hopLimit, payloadLength: IPV6_FRAGMENT_HEADER_LEN + n }, frame, ipOff);
      emitIpv6FragmentHeader(
        { nextHeader, offset, moreFragments: offset + n < length, identification },
        frame,
        ipOff + IPV6_HEADER_LEN,
      );
      frame.set(message.subarray(offset, offset + n), ipOff + IPV6_HEADER_LEN + IPV6_FRAGMENT_HEADER_LEN);
      emitEthernetHeader({ dst: BROADCAST_MAC, src: this.mac, ethertype: ETHERTYPE_IPV6 }, frame, 0);
      this.stats.ipv6FragmentsOut++;
      this.stats.ipv6Out++;
      this.sendToNeighbor6(nextHop, frame, undefined);
    }
    return undefined;
  }

  private txDrop(reason: DropReason): DropReason {
    this.stats.txDrops.count(reason);
    return reason;
  }

  /**
   * The IPv4 Identification for the next datagram, or the first of `count` consecutive ones
   * (a TSO super-frame's segments). Always below 0x8000: the upper half is the offload
   * target's (reference §4.1.1).
   */
  nextIpv4Id(count = 1): number {
    return this.ipv4Ids.take(count);
  }

  private nextIpv6FragmentId(): number {
    return this.ipv6FragmentIds.take();
  }

  // ---- sockets (node:net shaped) ----

  /** createServer([options], [connectionListener]), like net.createServer. */
  createServer(options?: TcpServerOptions | ((socket: TcpSocket) => void), connectionListener?: (socket: TcpSocket) => void): TcpServer {
    if (typeof options === 'function') return new TcpServer(this.tcp, {}, options);
    return new TcpServer(this.tcp, options ?? {}, connectionListener);
  }

  /** connect({ host, port }, [connectListener]), like net.connect. Address literals only: the stack has no resolver. */
  connect(options: ConnectOptions, connectListener?: () => void): TcpSocket {
    const socket = this.tcp.connect(options);
    if (connectListener !== undefined) socket.once('connect', connectListener);
    return socket;
  }

  // ---- introspection ----

  /** Neighbor tables in `ip neigh` form, for the CLI and tests. */
  neighbors(): { address: string; mac: string | undefined; state: string }[] {
    const fmtMac = (m: MacAddress | undefined): string | undefined =>
      m === undefined ? undefined : [...m].map((b) => b.toString(16).padStart(2, '0')).join(':');
    return [
      ...this.arpCache.list().map((e) => ({ address: formatIpv4Address(e.address), mac: fmtMac(e.mac), state: e.state })),
      ...this.ndCache.list().map((e) => ({ address: formatIpv6Address(e.address), mac: fmtMac(e.mac), state: e.state })),
    ];
  }
}

export { IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_TCP, IP_PROTO_UDP };
