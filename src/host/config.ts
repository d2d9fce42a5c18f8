/**
 * Host stack configuration: the interface's addresses and the protocol parameters a user
 * may tune. Defaults follow Linux where the RFCs leave a choice, and say so.
 */
import type { Ipv4Address, Ipv6Address, MacAddress } from '../wire/addr.js';
import type { Random } from '../wire/random.js';
import type { Scheduler } from '../wire/clock.js';
import type { TcpConfig } from '../tcp/types.js';
import type { NeighborParams } from './neighbor-cache.js';
import type { OffloadOptions } from './offload.js';

export interface Ipv4InterfaceAddress {
  readonly address: Ipv4Address;
  readonly prefixLength: number;
  /** Default gateway for destinations off the subnet; without one they are unreachable. */
  readonly gateway?: Ipv4Address | undefined;
}

export interface Ipv6InterfaceAddress {
  readonly address: Ipv6Address;
  readonly prefixLength: number;
  readonly gateway?: Ipv6Address | undefined;
}

export interface HostInterfaceConfig {
  readonly mac: MacAddress;
  readonly ipv4?: Ipv4InterfaceAddress | undefined;
  readonly ipv6?: Ipv6InterfaceAddress | undefined;
}

export interface HostStackOptions {
  readonly interface: HostInterfaceConfig;
  readonly scheduler: Scheduler;
  readonly random: Random;
  /**
   * 32 bytes of secret for RFC 6528 initial sequence numbers and SYN cookies. The host stack
   * draws them from node:crypto when absent; tests pass fixed bytes for reproducible runs.
   */
  readonly secret?: Uint8Array | undefined;
  readonly tcp?: Partial<TcpConfig> | undefined;
  readonly neighbor?: Partial<NeighborParams> | undefined;
  /** Duplicate address detection transmissions per IPv6 address (RFC 4862 DupAddrDetectTransmits, default 1; 0 skips DAD). */
  readonly dadTransmits?: number | undefined;
  /** ICMP error messages per second at most, with a burst of a twentieth of that (Linux icmp_msgs_per_sec 1000, burst 50). */
  readonly icmpErrorsPerSecond?: number | undefined;
  /** Answer ICMP echo requests sent to a broadcast address (Linux icmp_echo_ignore_broadcasts = 1, so off by default). */
  readonly answerBroadcastEcho?: boolean | undefined;
  /** IP reassembly limits (Linux ipfrag_high_thresh 4 MiB, ipfrag_time 30 s). */
  readonly reassembly?: { readonly maxDatagrams: number; readonly maxBytes: number; readonly timeoutMs: number } | undefined;
  /** Default TTL / hop limit of packets the stack sends (Linux ip_default_ttl 64). */
  readonly ttl?: number | undefined;
  /** When connections are offloaded to the chimney below (default: never). */
  readonly offload?: OffloadOptions | undefined;
  /** Structured log sink for notable events (address conflicts, resolution failures). */
  readonly log?: ((event: HostLogEvent) => void) | undefined;
}

export type HostLogEvent =
  | { readonly event: 'dad-conflict'; readonly address: string; readonly from: string }
  | { readonly event: 'address-ready'; readonly address: string }
  | { readonly event: 'arp-conflict'; readonly address: string; readonly from: string }
  /** A neighbor advertisement for one of our addresses in use, from another node (RFC 4862 §5.4.4). */
  | { readonly event: 'nd-conflict'; readonly address: string; readonly from: string }
  | { readonly event: 'pmtu'; readonly destination: string; readonly mtu: number };
