/**
 * Every reason a frame, packet or segment can be dropped, by layer (Linux `skb_drop_reason`
 * made into a string union). Parsers return one of these instead of throwing; every layer
 * counts its drops by reason. Add a member here rather than reusing a vague one: the counters
 * are how a user finds out what happened to a frame.
 */
export const DROP_REASONS = [
  // Ethernet and 802.1Q
  'eth-truncated',
  'eth-not-for-us',
  'eth-unknown-ethertype',
  'eth-source-multicast',
  'vlan-truncated',
  'vlan-not-configured',
  'vlan-qinq',
  // virtio-net header
  'vnet-truncated',
  'vnet-bad-gso-type',
  'vnet-bad-csum-offsets',
  'vnet-gso-unsupported',
  'vnet-gso-mismatch',
  'vnet-gso-bad-size',
  // ARP
  'arp-truncated',
  'arp-bad-hardware',
  'arp-bad-protocol',
  'arp-bad-operation',
  'arp-not-for-us',
  'arp-source-invalid',
  // IPv4
  'ipv4-truncated',
  'ipv4-bad-version',
  'ipv4-bad-header-length',
  'ipv4-bad-total-length',
  'ipv4-bad-checksum',
  'ipv4-bad-options',
  /**
   * A source no remote host can have (Linux "martian source"): 0/8, 127/8, multicast, class E
   * and the limited broadcast, our subnet's broadcast, our own address (RFC 1122 §3.2.1.3).
   */
  'ipv4-bad-source',
  'ipv4-not-for-us',
  'ipv4-unknown-protocol',
  'ipv4-ttl-expired',
  'ipv4-frag-too-big',
  'ipv4-frag-overlap',
  'ipv4-frag-duplicate',
  'ipv4-frag-bad-offset',
  'ipv4-frag-limit',
  'ipv4-frag-timeout',
  // IPv6
  'ipv6-truncated',
  'ipv6-bad-version',
  'ipv6-bad-payload-length',
  'ipv6-bad-extension-header',
  'ipv6-extension-chain-too-long',
  /** Multicast (RFC 4291 §2.7), loopback (§2.5.3), or :: (§2.5.2) on anything but a DAD neighbor solicitation. */
  'ipv6-bad-source',
  'ipv6-not-for-us',
  'ipv6-unknown-next-header',
  'ipv6-hop-limit-expired',
  'ipv6-frag-too-big',
  'ipv6-frag-overlap',
  'ipv6-frag-duplicate',
  'ipv6-frag-bad-offset',
  'ipv6-frag-limit',
  'ipv6-frag-timeout',
  // ICMPv4
  'icmp-truncated',
  'icmp-bad-checksum',
  'icmp-unknown-type',
  'icmp-bad-code',
  'icmp-rate-limited',
  'icmp-error-for-error',
  // ICMPv6 and neighbor discovery
  'icmpv6-truncated',
  'icmpv6-bad-checksum',
  'icmpv6-unknown-type',
  'icmpv6-bad-code',
  'icmpv6-rate-limited',
  'ndisc-bad-hop-limit',
  'ndisc-bad-option',
  'ndisc-bad-target',
  'ndisc-bad-address',
  'ndisc-not-for-us',
  'ndisc-dad-conflict',
  // UDP
  'udp-truncated',
  'udp-bad-length',
  'udp-bad-checksum',
  'udp-no-socket',
  // TCP header and options
  'tcp-truncated',
  'tcp-bad-data-offset',
  'tcp-bad-checksum',
  'tcp-bad-option',
  'tcp-bad-flags',
  'tcp-bad-port',
  // TCP processing (RFC 9293 §3.10.7 acceptability, RFC 5961, RFC 7323)
  'tcp-no-socket',
  'tcp-outside-window',
  'tcp-old-ack',
  'tcp-future-ack',
  'tcp-paws-rejected',
  'tcp-rst-outside-window',
  'tcp-rst-challenged',
  'tcp-syn-challenged',
  'tcp-ack-challenged',
  'tcp-syn-backlog-full',
  'tcp-bad-syn-cookie',
  'tcp-reassembly-full',
  /** Out-of-order data too fragmented to hold: its pieces' overhead or number is at the bound (Linux OFO pruning's cause). */
  'tcp-reassembly-fragmented',
  'tcp-listen-bad-segment',
  'tcp-closed',
  /** A target engine asked to be uploaded: it processes nothing more; the segment goes to the host after the upload. */
  'tcp-upload-pending',
  'tcp-zero-window',
  /** An ICMP error quoting a sequence number outside [SND.UNA, SND.NXT] (RFC 5927 §4.1; Linux OutOfWindowIcmps). */
  'tcp-icmp-outside-window',
  // Neighbor cache and routing
  'neigh-queue-full',
  'neigh-resolution-failed',
  'no-route',
  // Link and emulation
  'link-frame-too-big',
  'link-tx-queue-full',
  'link-down',
  /** A frame asked for checksum or segmentation offload on a link without a virtio-net header. */
  'link-no-vnet',
  'impair-loss',
  'impair-corrupt',
  'impair-rate-limit',
  // Host stack
  'icmp-echo-broadcast-ignored',
  'ipv6-tentative-address',
  /** The stack's own code threw while handling the frame: a bug, counted so the process survives. */
  'internal-error',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

/**
 * A counter of drops by reason. Kept as a plain record so it serialises directly into a
 * statistics report; `count` is on the hot path and does no allocation after the first drop
 * of each reason.
 */
export class DropCounters {
  private readonly counts = new Map<DropReason, number>();

  count(reason: DropReason, n = 1): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + n);
  }

  get(reason: DropReason): number {
    return this.counts.get(reason) ?? 0;
  }

  total(): number {
    let t = 0;
    for (const v of this.counts.values()) t += v;
    return t;
  }

  toJSON(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of [...this.counts].sort((a, b) => a[0].localeCompare(b[0]))) out[k] = v;
    return out;
  }

  reset(): void {
    this.counts.clear();
  }
}
