/**
 * IP protocol numbers (IANA "Assigned Internet Protocol Numbers"), shared by the IPv4 protocol
 * field and the IPv6 next-header field. IPv6 extension headers are numbers in the same space
 * (RFC 8200 §4); Linux calls them IPPROTO_*, and so do we.
 */
export const IP_PROTO_HOPOPTS = 0;
export const IP_PROTO_ICMP = 1;
export const IP_PROTO_TCP = 6;
export const IP_PROTO_UDP = 17;
export const IP_PROTO_ROUTING = 43;
export const IP_PROTO_FRAGMENT = 44;
export const IP_PROTO_ESP = 50;
export const IP_PROTO_AH = 51;
export const IP_PROTO_ICMPV6 = 58;
export const IP_PROTO_NONE = 59;
export const IP_PROTO_DSTOPTS = 60;

/** A short name for traces: `tcp`, `udp`, ... or the number. */
export function formatIpProtocol(protocol: number): string {
  switch (protocol) {
    case IP_PROTO_HOPOPTS:
      return 'hopopts';
    case IP_PROTO_ICMP:
      return 'icmp';
    case IP_PROTO_TCP:
      return 'tcp';
    case IP_PROTO_UDP:
      return 'udp';
    case IP_PROTO_ROUTING:
      return 'routing';
    case IP_PROTO_FRAGMENT:
      return 'fragment';
    case IP_PROTO_ESP:
      return 'esp';
    case IP_PROTO_AH:
      return 'ah';
    case IP_PROTO_ICMPV6:
      return 'icmp6';
    case IP_PROTO_NONE:
      return 'none';
    case IP_PROTO_DSTOPTS:
      return 'dstopts';
    default:
      return `proto-${protocol}`;
  }
}
