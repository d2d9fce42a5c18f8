/**
 * Brings a whole emulator up on a real TAP: the device (created or attached), the kernel
 * side configured in a namespace (or in the current one), the link stack (capture,
 * impairment), the offload target, the host stack bound on top through ndis, and
 * duplicate address detection. `stop()` undoes all of it; `stopSync()` does what can be done
 * from an exit handler.
 */
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { formatIpv4Address, formatIpv6Address, formatMac, parseCidr4, parseCidr6, parseMac, type MacAddress } from '../wire/addr.js';
import { RealScheduler } from '../wire/clock.js';
import { SeededRandom } from '../wire/random.js';
import type { Link } from '../link/link.js';
import { TapLink } from '../link/tap-link.js';
import { PcapLink, installExitFlush } from '../link/pcapng.js';
import { ImpairLink, parseImpairSpec, ImpairSpecError, type ImpairConfig } from '../link/impair.js';
import { bindThroughDrivers, driversFromSpecs, type ImDriverInfo } from '../im/stack.js';
import { ImSpecError } from '../im/im-driver.js';
import type { NdisBinding } from '../ndis/binding.js';
import type { OffloadPolicy } from '../host/offload.js';
import { OffloadTarget } from '../target/target.js';
import { HostStack } from '../host/stack.js';
import type { HostLogEvent } from '../host/config.js';
import type { TcpConfig } from '../tcp/types.js';
import { UserError, describeSystemError } from './errors.js';
import type { Logger } from './log.js';
import { claimNetns, configurePeer, releaseNetns, releaseNetnsSync, type NetnsClaim } from './netns.js';

export interface EmulatorOptions {
  readonly tap: string;
  readonly ip: string;
  readonly ip6: string;
  readonly mtu: number;
  readonly netns: string | undefined;
  readonly peerIp: string;
  readonly peerIp6: string;
  readonly pcap: string | undefined;
  readonly impair: string | undefined;
  readonly mac: string | undefined;
  /** virtio-net header with checksum offload and TSO (the fast path). */
  readonly vnet: boolean;
  /** Duplicate address detection transmissions for our IPv6 addresses. */
  readonly dadTransmits: number;
  /** TCP engine settings for every connection of the host stack (congestion control, buffers, timers). */
  readonly tcp?: Partial<TcpConfig> | undefined;
  /** When the host offloads connections to the target (default never: a plain NIC). */
  readonly offload?: OffloadPolicy | undefined;
  /** Upload and re-offload every offloaded connection at this interval (ms). */
  readonly cycleMs?: number | undefined;
  /** Intermediate drivers between host and target, top first (`--im`; see src/im/). */
  readonly im?: readonly string[] | undefined;
}

export interface Emulator {
  readonly stack: HostStack;
  readonly target: OffloadTarget;
  readonly tap: TapLink;
  readonly link: Link;
  readonly mac: MacAddress;
  readonly netns: NetnsClaim | undefined;
  /** The NDIS binding of the host stack to the layer below it (its stats: operations in flight). */
  readonly binding: NdisBinding;
  readonly readyInfo: Record<string, unknown>;
  /** The intermediate drivers, top first, with their counters (`chimney ctl stats`). */
  readonly drivers: readonly ImDriverInfo[];
  stop(): Promise<void>;
  stopSync(): void;
}

export interface ParsedNetwork {
  readonly ipv4: { address: number; prefixLength: number };
  readonly ipv6: { address: Uint8Array; prefixLength: number };
  readonly peerIpv4: string;
  readonly peerIpv6: string;
}

/** Validates the address options before anything touches the system. */
export function parseNetworkOptions(options: Pick<EmulatorOptions, 'ip' | 'ip6' | 'peerIp' | 'peerIp6' | 'mtu' | 'tap'>): ParsedNetwork {
  const ipv4 = parseCidr4(options.ip);
  if (ipv4 === undefined) throw new UserError(`--ip: '${options.ip}' is not an IPv4 CIDR such as 198.18.0.2/24`);
  const ipv6 = parseCidr6(options.ip6);
  if (ipv6 === undefined) throw new UserError(`--ip6: '${options.ip6}' is not an IPv6 CIDR such as 2001:2::2/64`);
  const peer4 = parseCidr4(options.peerIp);
  if (peer4 === undefined) throw new UserError(`--peer-ip: '${options.peerIp}' is not an IPv4 CIDR such as 198.18.0.1/24`);
  const peer6 = parseCidr6(options.peerIp6);
  if (peer6 === undefined) throw new UserError(`--peer-ip6: '${options.peerIp6}' is not an IPv6 CIDR such as 2001:2::1/64`);
  if (peer4.address === ipv4.address) throw new UserError('--ip and --peer-ip must differ');
  if (!Number.isInteger(options.mtu) || options.mtu < 1280 || options.mtu > 65535) {
    throw new UserError(`--mtu: ${options.mtu} is outside 1280..65535 (IPv6 needs at least 1280)`);
  }
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(options.tap)) throw new UserError(`--tap: '${options.tap}' is not a valid interface name (1-15 of A-Z a-z 0-9 _ . -)`);
  return {
    ipv4,
    ipv6,
    peerIpv4: `${formatIpv4Address(peer4.address)}/${peer4.prefixLength}`,
    peerIpv6: `${formatIpv6Address(peer6.address)}/${peer6.prefixLength}`,
  };
}

/** A stable locally administered MAC for a TAP name, so peers' neighbor caches survive restarts. */
export function macForTap(name: string): MacAddress {
  const h = createHash('sha256').update(`chimney:${name}`).digest();
  const mac = new Uint8Array(h.subarray(0, 6));
  mac[0] = ((mac[0] as number) & 0xfe) | 0x02;
  return mac;
}

export function checkPrivileges(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new UserError('must run as root (creating TAP devices and network namespaces needs CAP_NET_ADMIN)', 1);
  }
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    throw new UserError('/dev/net/tun is missing or not accessible: load the tun module (modprobe tun)', 1);
  }
}

export async function startEmulator(options: EmulatorOptions, log: Logger): Promise<Emulator> {
  const net = parseNetworkOptions(options);
  let impair: ImpairConfig | undefined;
  if (options.impair !== undefined) {
    try {
      impair = parseImpairSpec(options.impair);
    } catch (error) {
      if (error instanceof ImpairSpecError) throw new UserError(`--impair: ${error.message}`);
      throw error;
    }
  }
  let mac = macForTap(options.tap);
  if (options.mac !== undefined) {
    const parsed = parseMac(options.mac);
    if (parsed === undefined || (parsed[0] as number) & 1) throw new UserError(`--mac: '${options.mac}' is not a unicast MAC address`);
    mac = parsed;
  }
  let drivers;
  try {
    drivers = driversFromSpecs(options.im ?? []);
  } catch (error) {
    if (error instanceof ImSpecError) throw new UserError(`--im: ${error.message}`);
    throw error;
  }
  checkPrivileges();

  const cleanups: (() => Promise<void>)[] = [];
  const syncCleanups: (() => void)[] = [];
  const unwind = async (): Promise<void> => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (error) {
        log.warn(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };
  try {
    const claim = options.netns === undefined ? undefined : await claimNetns(options.netns, options.tap);
    if (claim !== undefined) {
      cleanups.push(() => releaseNetns(claim));
      syncCleanups.push(() => releaseNetnsSync(claim));
      if (claim.note !== undefined) log.event('notice', { message: claim.note });
    }
    let tap: TapLink;
    try {
      tap = TapLink.open({ name: options.tap, vnet: options.vnet, mtu: options.mtu, up: true });
    } catch (error) {
      throw describeSystemError(error, `cannot open TAP ${options.tap}`) ?? error;
    }
    cleanups.push(() => tap.close());
    syncCleanups.push(() => void tap.close());
    await configurePeer({ dev: options.tap, netns: options.netns, mtu: options.mtu, ipv4: net.peerIpv4, ipv6: net.peerIpv6 });

    const scheduler = new RealScheduler();
    let link: Link = tap;
    let pcap: PcapLink | undefined;
    if (options.pcap !== undefined) {
      try {
        pcap = new PcapLink(tap, { path: options.pcap, interfaceName: options.tap });
      } catch (error) {
        throw describeSystemError(error, `cannot write --pcap ${options.pcap}`) ?? error;
      }
      link = pcap;
      const removeExitFlush = installExitFlush(pcap);
      syncCleanups.push(() => pcap?.flushSync());
      cleanups.push(async () => removeExitFlush());
    }
    if (impair !== undefined) link = new ImpairLink(link, scheduler, impair);
    const outer = link;
    // Closing the outermost link closes every wrapper and finally the TAP (idempotent).
    cleanups.push(() => outer.close());

    const offload = options.offload ?? 'never';
    const target = new OffloadTarget({
      link,
      macAddress: mac,
      chimney: offload === 'never' ? undefined : { scheduler, random: new SeededRandom(randomBytes(4).readUInt32LE(0)) },
    });
    const stack = new HostStack({
      interface: { mac, ipv4: net.ipv4, ipv6: net.ipv6 },
      scheduler,
      random: new SeededRandom(randomBytes(4).readUInt32LE(0)),
      dadTransmits: options.dadTransmits,
      tcp: options.tcp,
      offload: {
        policy: offload,
        cycleMs: options.cycleMs,
        // --log json: one line per chimney operation call, completion and indication.
        log:
          log.format === 'json'
            ? (record) => {
                const { event: _event, ...fields } = record;
                log.event('chimney', fields);
              }
            : undefined,
      },
      log: (event: HostLogEvent) => {
        if (event.event === 'dad-conflict' || event.event === 'arp-conflict' || event.event === 'nd-conflict') {
          log.warn(`address conflict on ${event.address} (${event.event}) with ${event.from}`, { address: event.address, from: event.from });
        } else {
          const { event: name, ...fields } = event;
          log.event(name, fields);
        }
      },
    });
    // Top first: [0] binds the host stack to the first driver (or to the target).
    const binding = bindThroughDrivers(stack, drivers, target)[0] as NdisBinding;
    cleanups.push(async () => {
      // Upload everything and wait for the terminates first (bounded): the drivers and the
      // target then hold nothing of this host when the link goes (issue 8's leak check).
      if (!(await stack.tcp.offloads.drain())) log.warn('stop: offloaded state still in flight after 2 s; tearing down anyway');
      stack.stop();
    });
    await stack.start();

    const readyInfo: Record<string, unknown> = {
      tap: options.tap,
      mac: formatMac(mac),
      kernelMac: formatMac(tap.kernelMac),
      ipv4: options.ip,
      ipv6: options.ip6,
      netns: options.netns,
      peerIpv4: net.peerIpv4,
      peerIpv6: net.peerIpv6,
      mtu: options.mtu,
      vnet: options.vnet,
      pcap: options.pcap,
      impair: options.impair,
      pid: process.pid,
      im: options.im,
    };
    let stopped = false;
    return {
      stack,
      target,
      tap,
      link,
      mac,
      netns: claim,
      binding,
      readyInfo,
      drivers,
      async stop() {
        if (stopped) return;
        stopped = true;
        await unwind();
      },
      stopSync() {
        if (stopped) return;
        stopped = true;
        for (const c of syncCleanups.reverse()) {
          try {
            c();
          } catch {
            // Exit path: keep going.
          }
        }
      },
    };
  } catch (error) {
    await unwind();
    throw error;
  }
}
