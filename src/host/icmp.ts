/**
 * ICMP (RFC 792, RFC 1122 §3.2.2) and ICMPv6 (RFC 4443): echo replies, error messages for
 * datagrams we cannot deliver, and errors from the network handed to TCP (path MTU from
 * fragmentation-needed and packet-too-big, hard and soft errors).
 *
 * Errors are never sent about ICMP errors, broadcast or multicast datagrams, non-initial
 * fragments, or datagrams from an address that does not identify a single host
 * (RFC 1122 §3.2.2, RFC 4443 §2.4(e)), and they are rate-limited (RFC 4443 §2.4(f)).
 */
import { formatIpv4Address, formatIpv6Address, isIpv4Broadcast, isIpv4Multicast, isIpv6Multicast, isIpv6Unspecified, type MacAddress } from '../wire/addr.js';
import type { DropReason } from '../wire/drop-reason.js';
import {
  ICMP_PARAMPROB_POINTER,
  ICMP_UNREACH_NEEDFRAG,
  ICMP_UNREACH_PORT,
  ICMP_UNREACH_PROTOCOL,
  ICMP_ERROR_MAX_DATAGRAM,
  emitIcmp,
  icmpLength,
  isIcmpError,
  parseIcmp,
  type IcmpRepr,
} from '../wire/icmp.js';
import {
  ICMPV6_PARAMPROB_NEXT_HEADER,
  ICMPV6_UNREACH_PORT,
  emitIcmpv6,
  icmpv6ErrorQuote,
  icmpv6Length,
  isIcmpv6Error,
  parseIcmpv6,
  type Icmpv6Repr,
} from '../wire/icmpv6.js';
import { IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_TCP } from '../wire/ip-proto.js';
import { IPV4_HEADER_LEN, IPV4_MIN_MTU, emitIpv4Header, ipv4EmitReprOf, ipv4HeaderLength, type Ipv4Repr } from '../wire/ipv4.js';
import { IPV6_HEADER_LEN, IPV6_MIN_MTU, type Ipv6Repr } from '../wire/ipv6.js';
import type { HostStack } from './stack.js';

export class Icmp4 {
  constructor(private readonly stack: HostStack) {}

  input(ip: Ipv4Repr, broadcast: boolean): DropReason | undefined {
    const parsed = parseIcmp(ip.payload);
    if (!parsed.ok) return parsed.reason;
    const msg = parsed.value;
    switch (msg.kind) {
      case 'echo-request':
        if (broadcast && !this.stack.answerBroadcastEcho) return 'icmp-echo-broadcast-ignored';
        this.send(ip.src, { kind: 'echo-reply', identifier: msg.identifier, sequence: msg.sequence, data: msg.data });
        this.stack.stats.icmpEchoRepliesOut++;
        return undefined;
      case 'echo-reply':
        return undefined;
      case 'dest-unreachable':
        this.stack.stats.icmpErrorsIn++;
        if (msg.code === ICMP_UNREACH_NEEDFRAG) return this.pathMtu(msg.invoking, msg.nextHopMtu);
        return this.stack.tcp.icmpError4(msg.invoking, msg.code === ICMP_UNREACH_PORT || msg.code === ICMP_UNREACH_PROTOCOL ? 'ECONNREFUSED' : 'EHOSTUNREACH');
      case 'time-exceeded':
      case 'parameter-problem':
        this.stack.stats.icmpErrorsIn++;
        // Soft errors (RFC 1122 §4.2.3.9): TCP records them and keeps retransmitting.
        return this.stack.tcp.icmpError4(msg.invoking, 'soft');
      case 'other':
        return 'icmp-unknown-type';
    }
  }

  /** RFC 1191: a router on the path needs smaller datagrams. */
  private pathMtu(invoking: Uint8Array, nextHopMtu: number): DropReason | undefined {
    if (invoking.length < IPV4_HEADER_LEN + 8) return 'icmp-truncated';
    // RFC 1191 §5: an old router reports 0; fall back to the plateau below the datagram size.
    const dst = ((invoking[16] as number) << 24 | (invoking[17] as number) << 16 | (invoking[18] as number) << 8 | (invoking[19] as number)) >>> 0;
    const totalLength = ((invoking[2] as number) << 8) | (invoking[3] as number);
    let mtu = nextHopMtu !== 0 ? nextHopMtu : plateauBelow(totalLength);
    if (mtu < IPV4_MIN_MTU) mtu = IPV4_MIN_MTU;
    if (mtu >= this.stack.mtu) return undefined;
    // About TCP: believed only when TCP accepts the quoted segment as one of ours in flight.
    if ((invoking[9] as number) === IP_PROTO_TCP) {
      const verdict = this.stack.tcp.pathMtuChanged4(invoking, mtu);
      if (verdict !== undefined) return verdict;
    }
    if (this.stack.pathCache.learn4(dst, mtu)) this.stack.logEvent({ event: 'pmtu', destination: formatIpv4Address(dst), mtu });
    return undefined;
  }

  sendPortUnreachable(ip: Ipv4Repr): void {
    this.sendError(ip, { kind: 'dest-unreachable', code: ICMP_UNREACH_PORT, nextHopMtu: 0, invoking: new Uint8Array(0) });
  }

  sendProtocolUnreachable(ip: Ipv4Repr): void {
    this.sendError(ip, { kind: 'dest-unreachable', code: ICMP_UNREACH_PROTOCOL, nextHopMtu: 0, invoking: new Uint8Array(0) });
  }

  sendParameterProblem(ip: Ipv4Repr, pointer: number): void {
    this.sendError(ip, { kind: 'parameter-problem', code: ICMP_PARAMPROB_POINTER, pointer, invoking: new Uint8Array(0) });
  }

  /** Sends an error about `ip`, quoting it, unless a rule of RFC 1122 §3.2.2 forbids it. */
  private sendError(ip: Ipv4Repr, template: IcmpRepr): void {
    if (ip.fragmentOffset !== 0 || isIpv4Broadcast(ip.dst) || isIpv4Multicast(ip.dst) || isIpv4Multicast(ip.src) || ip.src === 0) return;
    if (ip.protocol === IP_PROTO_ICMP) {
      const inner = parseIcmp(ip.payload, { verifyChecksum: false });
      if (!inner.ok || isIcmpError(inner.value)) return;
    }
    if (!this.stack.icmpErrors.take()) {
      this.stack.stats.txDrops.count('icmp-rate-limited');
      return;
    }
    this.send(ip.src, { ...template, invoking: quoteIpv4Datagram(ip) } as IcmpRepr);
    this.stack.stats.icmpErrorsOut++;
  }

  private send(dst: number, msg: IcmpRepr): void {
    const length = icmpLength(msg);
    this.stack.sendIpv4(dst, IP_PROTO_ICMP, length, (out, off) => emitIcmp(msg, out, off), { dontFragment: false });
  }
}

export class Icmp6 {
  constructor(private readonly stack: HostStack) {}

  input(ip: Ipv6Repr, multicast: boolean, srcMac: MacAddress): DropReason | undefined {
    const parsed = parseIcmpv6(ip.upperPayload, ip.src, ip.dst);
    if (!parsed.ok) return parsed.reason;
    const msg = parsed.value;
    const own = this.stack.ownIpv6(ip.dst);
    if (own !== undefined && own.state !== 'preferred' && msg.kind !== 'neighbor-solicitation' && msg.kind !== 'neighbor-advertisement') {
      return 'ipv6-tentative-address';
    }
    switch (msg.kind) {
      case 'echo-request': {
        const reply: Icmpv6Repr = { kind: 'echo-reply', identifier: msg.identifier, sequence: msg.sequence, data: msg.data };
        // A reply to a multicast echo comes from one of our unicast addresses (RFC 4443 §4.2).
        this.send(ip.src, reply, multicast ? undefined : ip.dst);
        this.stack.stats.icmpv6EchoRepliesOut++;
        return undefined;
      }
      case 'echo-reply':
        return undefined;
      case 'neighbor-solicitation':
      case 'neighbor-advertisement':
      case 'router-solicitation':
      case 'router-advertisement':
        return this.stack.ndp.input(ip, msg, srcMac);
      case 'packet-too-big':
        this.stack.stats.icmpv6ErrorsIn++;
        return this.pathMtu(msg.invoking, msg.mtu);
      case 'dest-unreachable':
        this.stack.stats.icmpv6ErrorsIn++;
        return this.stack.tcp.icmpError6(msg.invoking, msg.code === ICMPV6_UNREACH_PORT ? 'ECONNREFUSED' : 'EHOSTUNREACH');
      case 'time-exceeded':
      case 'parameter-problem':
        this.stack.stats.icmpv6ErrorsIn++;
        return this.stack.tcp.icmpError6(msg.invoking, 'soft');
      case 'other':
        return 'icmpv6-unknown-type';
    }
  }

  /** RFC 8201 §4: never below the IPv6 minimum MTU. */
  private pathMtu(invoking: Uint8Array, reported: number): DropReason | undefined {
    if (invoking.length < IPV6_HEADER_LEN) return 'icmpv6-truncated';
    const dst = invoking.slice(24, 40);
    const mtu = Math.max(IPV6_MIN_MTU, reported);
    if (mtu >= this.stack.mtu) return undefined;
    if ((invoking[6] as number) === IP_PROTO_TCP) {
      const verdict = this.stack.tcp.pathMtuChanged6(invoking, mtu);
      if (verdict !== undefined) return verdict;
    }
    if (this.stack.pathCache.learn6(dst, mtu)) this.stack.logEvent({ event: 'pmtu', destination: formatIpv6Address(dst), mtu });
    return undefined;
  }

  sendPortUnreachable(ip: Ipv6Repr, packet: Uint8Array): void {
    this.sendError(ip, packet, { kind: 'dest-unreachable', code: ICMPV6_UNREACH_PORT, invoking: new Uint8Array(0) });
  }

  /** RFC 8200 §4: an unrecognised next header gets a parameter problem pointing at it. */
  sendUnrecognizedNextHeader(ip: Ipv6Repr, packet: Uint8Array): void {
    const last = ip.extensionHeaders[ip.extensionHeaders.length - 1];
    const pointer = last === undefined ? 6 : last.offset;
    this.sendError(ip, packet, { kind: 'parameter-problem', code: ICMPV6_PARAMPROB_NEXT_HEADER, pointer, invoking: new Uint8Array(0) });
  }

  private sendError(ip: Ipv6Repr, packet: Uint8Array, template: Icmpv6Repr): void {
    if (isIpv6Multicast(ip.dst) || isIpv6Multicast(ip.src) || isIpv6Unspecified(ip.src)) return;
    if (ip.fragment !== undefined && ip.fragment.offset !== 0) return;
    if (ip.upperProtocol === IP_PROTO_ICMPV6) {
      const inner = parseIcmpv6(ip.upperPayload, ip.src, ip.dst, { verifyChecksum: false });
      if (!inner.ok || isIcmpv6Error(inner.value)) return;
    }
    if (!this.stack.icmpErrors.take()) {
      this.stack.stats.txDrops.count('icmpv6-rate-limited');
      return;
    }
    this.send(ip.src, { ...template, invoking: icmpv6ErrorQuote(packet) } as Icmpv6Repr, ip.dst);
    this.stack.stats.icmpv6ErrorsOut++;
  }

  /** Sends `msg` to `dst` from `src` (default: the best source for `dst`). */
  send(dst: Uint8Array, msg: Icmpv6Repr, src?: Uint8Array, hopLimit?: number): void {
    const source = src ?? this.stack.ipv6SourceFor(dst);
    if (source === undefined) return;
    const length = icmpv6Length(msg);
    this.stack.sendIpv6(dst, IP_PROTO_ICMPV6, length, (out, off) => emitIcmpv6(msg, out, off, source, dst), { src: source, ttl: hopLimit });
  }
}


/**
 * The start of a received datagram as an ICMP error quotes it (RFC 1812 §4.3.2.3: as much as
 * fits in 576 bytes): its header rebuilt from the repr (so reassembled datagrams quote
 * correctly too) and the leading payload bytes.
 */
function quoteIpv4Datagram(ip: Ipv4Repr): Uint8Array {
  const header = ipv4HeaderLength(ip);
  const quoted = Math.min(ip.payload.length, ICMP_ERROR_MAX_DATAGRAM - IPV4_HEADER_LEN - 8 - header);
  const out = new Uint8Array(header + quoted);
  emitIpv4Header(ipv4EmitReprOf(ip), out, 0);
  out.set(ip.payload.subarray(0, quoted), header);
  return out;
}

/** RFC 1191 §7 plateau table: the largest plateau below a datagram that was too big. */
function plateauBelow(size: number): number {
  const plateaus = [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68];
  for (const p of plateaus) if (p < size) return p;
  return 68;
}
