/**
 * UDP input (RFC 768). The host stack has no UDP sockets: every datagram that reaches it is
 * for a closed port, answered with ICMP port unreachable (RFC 1122 §4.1.3.1) unless it was
 * broadcast or multicast, and counted as 'udp-no-socket'.
 */
import type { DropReason } from '../wire/drop-reason.js';
import { emitIpv6Header, type Ipv6Repr } from '../wire/ipv6.js';
import type { Ipv4Repr } from '../wire/ipv4.js';
import { ipv4PseudoHeaderSum } from '../wire/ipv4.js';
import { ipv6PseudoHeaderSum } from '../wire/ipv6.js';
import { IP_PROTO_UDP } from '../wire/ip-proto.js';
import { parseUdp } from '../wire/udp.js';
import type { HostStack } from './stack.js';

export function handleUdp4(stack: HostStack, ip: Ipv4Repr, trusted: boolean, broadcast: boolean): DropReason | undefined {
  const pseudo = trusted ? undefined : ipv4PseudoHeaderSum(ip, ip.payload.length);
  const parsed = parseUdp(ip.payload, pseudo, 4);
  if (!parsed.ok) return parsed.reason;
  stack.stats.udpIn++;
  if (!broadcast) stack.icmp4.sendPortUnreachable(ip);
  return 'udp-no-socket';
}

export function handleUdp6(stack: HostStack, ip: Ipv6Repr, trusted: boolean, multicast: boolean): DropReason | undefined {
  const pseudo = trusted ? undefined : ipv6PseudoHeaderSum(ip, IP_PROTO_UDP, ip.upperPayload.length);
  const parsed = parseUdp(ip.upperPayload, pseudo, 6);
  if (!parsed.ok) return parsed.reason;
  stack.stats.udpIn++;
  if (!multicast) stack.icmp6.sendPortUnreachable(ip, quoteIpv6Packet(ip));
  return 'udp-no-socket';
}

/**
 * The packet an ICMPv6 error quotes, rebuilt from the repr: a fixed header naming the upper
 * protocol directly, then the upper-layer bytes (extension headers are not repeated; for a
 * reassembled packet there is no single original to quote).
 */
export function quoteIpv6Packet(ip: Ipv6Repr): Uint8Array {
  const out = new Uint8Array(40 + ip.upperPayload.length);
  emitIpv6Header(
    { src: ip.src, dst: ip.dst, nextHeader: ip.upperProtocol, hopLimit: ip.hopLimit, payloadLength: ip.upperPayload.length, trafficClass: ip.trafficClass, flowLabel: ip.flowLabel },
    out,
    0,
  );
  out.set(ip.upperPayload, 40);
  return out;
}
