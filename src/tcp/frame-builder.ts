/**
 * One engine segment into one frame: Ethernet, IPv4 or IPv6, TCP header and payload, written
 * once into a scratch buffer, with either a software checksum or the pseudo-header sum left for
 * the device (virtio-net NEEDS_CSUM), and, for a segment larger than the MSS, the large-send
 * metadata that makes the device cut it (TSO). The host stack and the offload target both send
 * TCP this way: the host for its own connections, the target for offloaded ones (reference
 * §4.1.1: addresses from the path, MACs from the neighbor, TTL/hop limit, TOS/traffic class and
 * flow label from the connection's cached state, IPv4 ID from the sender's half of the space).
 *
 * The destination MAC is written by the caller (`dstMac` may be left undefined when the
 * neighbor layer fills it at send time, as the host's does).
 */
import type { Ipv4Address, Ipv6Address, MacAddress } from '../wire/addr.js';
import { finishChecksum, sum16 } from '../wire/checksum.js';
import { ETHERNET_HEADER_LEN, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../wire/ethernet.js';
import { IP_PROTO_TCP } from '../wire/ip-proto.js';
import { IPV4_HEADER_LEN, emitIpv4Header, ipv4PseudoHeaderSum } from '../wire/ipv4.js';
import { IPV6_HEADER_LEN, emitIpv6Header, ipv6PseudoHeaderSum } from '../wire/ipv6.js';
import { TCP_CHECKSUM_OFFSET, TCP_MAX_HEADER_LEN, emitTcpHeader, fillTcpChecksum } from '../wire/tcp.js';
import { VNET_F_NEEDS_CSUM, VNET_GSO_NONE, VNET_GSO_TCPV4, VNET_GSO_TCPV6, type VnetHeader } from '../wire/vnet.js';
import type { TcpSegmentOut } from './types.js';

/** Where one connection's frames go: its path and neighbor, as the sender knows them. */
export interface TcpFramePath {
  readonly family: 4 | 6;
  readonly srcMac: MacAddress;
  /** Undefined: the caller's neighbor layer writes the destination MAC. */
  readonly dstMac: MacAddress | undefined;
  readonly local4: Ipv4Address;
  readonly remote4: Ipv4Address;
  readonly local6: Ipv6Address | undefined;
  readonly remote6: Ipv6Address | undefined;
  /** IPv4 TTL / IPv6 hop limit. */
  readonly ttl: number;
  /** IPv4 TOS / IPv6 traffic class (DSCP and ECN bits). */
  readonly tos: number;
  /** IPv6 flow label (20 bits). */
  readonly flowLabel: number;
  /** The pseudo-header sum without the length (`pathPseudoBase`). */
  readonly pseudoBase: number;
}

/** The pseudo-header checksum of a path, length excluded (it is added per segment). */
export function pathPseudoBase(path: Omit<TcpFramePath, 'pseudoBase'>): number {
  return path.family === 4
    ? ipv4PseudoHeaderSum({ src: path.local4, dst: path.remote4, protocol: IP_PROTO_TCP }, 0)
    : ipv6PseudoHeaderSum({ src: path.local6 as Ipv6Address, dst: path.remote6 as Ipv6Address }, IP_PROTO_TCP, 0);
}

/** What the sending device can do (the miniport's task offloads). */
export interface FrameBuilderCapabilities {
  /** The device completes partial TCP checksums. */
  readonly txChecksum: boolean;
  /** The device segments TCP super-frames (large send offload). */
  readonly tso: boolean;
}

/** The built frame: a view into the builder's scratch buffer, valid until the next build. */
export interface BuiltFrame {
  readonly frame: Uint8Array;
  readonly info: VnetHeader | undefined;
  /** IPv4 Identifications the frame uses (one per segment the device cuts). */
  readonly ipIds: number;
}

/** The most bytes the frame for `seg` can take: Ethernet, the larger IP header, a full TCP header, the payload. */
export function maxFrameLength(seg: TcpSegmentOut): number {
  return ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + TCP_MAX_HEADER_LEN + seg.payloadLength;
}

export class TcpFrameBuilder {
  private readonly scratch: Uint8Array;
  private readonly csumInfo4: VnetHeader = csumOnly(ETHERNET_HEADER_LEN + IPV4_HEADER_LEN);
  private readonly csumInfo6: VnetHeader = csumOnly(ETHERNET_HEADER_LEN + IPV6_HEADER_LEN);

  constructor(
    private readonly caps: FrameBuilderCapabilities,
    /** Allocates `count` consecutive IPv4 Identifications and returns the first. */
    private readonly nextIpv4Id: (count: number) => number,
    scratchBytes = 65536 + 256,
  ) {
    this.scratch = new Uint8Array(scratchBytes);
  }

  /**
   * Builds the frame for `seg` on `path`, in `into` when given (a device's lent transmit buffer
   * of at least `maxFrameLength(seg)` bytes, so the frame is written once), else in scratch.
   */
  build(seg: TcpSegmentOut, path: TcpFramePath, into?: Uint8Array): BuiltFrame {
    const out = into ?? this.scratch;
    const family = path.family;
    const tcpOff = ETHERNET_HEADER_LEN + (family === 4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN);
    const headerLen = emitTcpHeader(seg, out, tcpOff);
    if (seg.payloadLength > 0) seg.copyPayload(out, tcpOff + headerLen);
    const tcpLen = headerLen + seg.payloadLength;
    const pseudo = path.pseudoBase + tcpLen;
    const gso = seg.gsoSize > 0 && seg.payloadLength > seg.gsoSize && this.caps.tso;
    let info: VnetHeader | undefined;
    if (this.caps.txChecksum) {
      fillTcpChecksum(out, tcpOff, tcpLen, { kind: 'partial', pseudoHeaderSum: pseudo });
      info = gso
        ? {
            flags: VNET_F_NEEDS_CSUM,
            gsoType: family === 4 ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6,
            hdrLen: tcpOff + headerLen,
            gsoSize: seg.gsoSize,
            csumStart: tcpOff,
            csumOffset: TCP_CHECKSUM_OFFSET,
          }
        : family === 4
          ? this.csumInfo4
          : this.csumInfo6;
    } else {
      out[tcpOff + TCP_CHECKSUM_OFFSET] = 0;
      out[tcpOff + TCP_CHECKSUM_OFFSET + 1] = 0;
      const c = finishChecksum(sum16(out, tcpOff, tcpLen, pseudo));
      out[tcpOff + TCP_CHECKSUM_OFFSET] = c >>> 8;
      out[tcpOff + TCP_CHECKSUM_OFFSET + 1] = c & 0xff;
    }
    let ipIds = 0;
    if (family === 4) {
      // A TSO super-frame becomes one datagram per segment, each with the next ID (Linux
      // inet_gso_segment): reserve them all.
      ipIds = gso ? Math.ceil(seg.payloadLength / seg.gsoSize) : 1;
      emitIpv4Header(
        {
          src: path.local4,
          dst: path.remote4,
          protocol: IP_PROTO_TCP,
          ttl: path.ttl,
          payloadLength: tcpLen,
          identification: this.nextIpv4Id(ipIds),
          dontFragment: true,
          dscp: path.tos >>> 2,
          ecn: path.tos & 0x03,
        },
        out,
        ETHERNET_HEADER_LEN,
      );
    } else {
      emitIpv6Header(
        {
          src: path.local6 as Ipv6Address,
          dst: path.remote6 as Ipv6Address,
          nextHeader: IP_PROTO_TCP,
          hopLimit: path.ttl,
          payloadLength: tcpLen,
          trafficClass: path.tos,
          flowLabel: path.flowLabel,
        },
        out,
        ETHERNET_HEADER_LEN,
      );
    }
    writeEthernet(out, path.dstMac, path.srcMac, family === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6);
    return { frame: out.subarray(0, tcpOff + tcpLen), info, ipIds };
  }
}

function csumOnly(csumStart: number): VnetHeader {
  return { flags: VNET_F_NEEDS_CSUM, gsoType: VNET_GSO_NONE, hdrLen: 0, gsoSize: 0, csumStart, csumOffset: TCP_CHECKSUM_OFFSET };
}

function writeEthernet(out: Uint8Array, dst: MacAddress | undefined, src: MacAddress, etherType: number): void {
  if (dst !== undefined) out.set(dst, 0);
  out.set(src, 6);
  out[12] = etherType >>> 8;
  out[13] = etherType & 0xff;
}
