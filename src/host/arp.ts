/**
 * ARP (RFC 826) for the interface's IPv4 address: answer requests for it, learn senders, and
 * resolve next hops through the shared neighbor cache. Gratuitous ARP (RFC 5227 §3
 * announcement form: a request with sender = target = our address) at start-up.
 */
import { BROADCAST_MAC, ZERO_MAC, formatIpv4Address, formatMac, ipv4InSubnet, isMulticastMac, macEquals, type Ipv4Address, type MacAddress } from '../wire/addr.js';
import { ARP_LEN, ARP_OP_REPLY, ARP_OP_REQUEST, emitArp, parseArp } from '../wire/arp.js';
import type { DropReason } from '../wire/drop-reason.js';
import { ETHERNET_HEADER_LEN, ETHERNET_MIN_FRAME_LEN, ETHERTYPE_ARP, emitEthernetHeader } from '../wire/ethernet.js';
import type { HostStack } from './stack.js';

export function handleArp(stack: HostStack, payload: Uint8Array, frameSrc: MacAddress): DropReason | undefined {
  const parsed = parseArp(payload);
  if (!parsed.ok) return parsed.reason;
  const arp = parsed.value;
  const own = stack.ipv4;
  if (isMulticastMac(arp.senderHardwareAddr) || arp.senderProtocolAddr === 0xffffffff) return 'arp-source-invalid';
  if (own === undefined) return 'arp-not-for-us';
  if (arp.operation === ARP_OP_REQUEST) stack.stats.arpRequestsIn++;
  else if (arp.operation === ARP_OP_REPLY) stack.stats.arpRepliesIn++;
  else return 'arp-bad-operation';

  // Someone else claims our address (RFC 5227 §2.4): log it, never learn it.
  if (arp.senderProtocolAddr === own.address) {
    if (!macEquals(arp.senderHardwareAddr, stack.mac)) {
      stack.logEvent({ event: 'arp-conflict', address: formatIpv4Address(own.address), from: formatMac(arp.senderHardwareAddr) });
    }
    return arp.targetProtocolAddr === own.address && arp.operation === ARP_OP_REQUEST ? 'arp-source-invalid' : undefined;
  }
  const forUs = arp.targetProtocolAddr === own.address;
  // RFC 826 merge: update a sender we already know; add it when the packet is for us.
  // ARP probes (sender 0.0.0.0) teach nothing.
  if (arp.senderProtocolAddr !== 0 && ipv4InSubnet(arp.senderProtocolAddr, own.address, own.prefixLength)) {
    stack.arpCache.update(arp.senderProtocolAddr, arp.senderHardwareAddr, {
      solicited: forUs && arp.operation === ARP_OP_REPLY && macEquals(frameSrc, arp.senderHardwareAddr),
      override: true,
      create: forUs,
    });
  }
  if (!forUs) return arp.operation === ARP_OP_REPLY ? undefined : 'arp-not-for-us';
  if (arp.operation === ARP_OP_REQUEST) sendArp(stack, ARP_OP_REPLY, arp.senderHardwareAddr, arp.senderProtocolAddr, arp.senderHardwareAddr);
  return undefined;
}

/** Resolution request: broadcast, or unicast to the cached address when probing reachability. */
export function sendArpRequest(stack: HostStack, target: Ipv4Address, unicastTo: MacAddress | undefined): void {
  sendArp(stack, ARP_OP_REQUEST, unicastTo ?? BROADCAST_MAC, target, ZERO_MAC);
}

/** Announces our address so peers refresh stale caches (RFC 5227 §3). */
export function sendGratuitousArp(stack: HostStack): void {
  const own = stack.ipv4;
  if (own === undefined) return;
  sendArp(stack, ARP_OP_REQUEST, BROADCAST_MAC, own.address, ZERO_MAC);
}

function sendArp(stack: HostStack, operation: number, ethDst: MacAddress, targetIp: Ipv4Address, targetMac: MacAddress): void {
  const own = stack.ipv4;
  if (own === undefined) return;
  // Pad to the 60-byte Ethernet minimum as a NIC would.
  const frame = new Uint8Array(ETHERNET_MIN_FRAME_LEN);
  emitEthernetHeader({ dst: ethDst, src: stack.mac, ethertype: ETHERTYPE_ARP }, frame, 0);
  emitArp(
    {
      operation,
      senderHardwareAddr: stack.mac,
      senderProtocolAddr: own.address,
      targetHardwareAddr: targetMac,
      targetProtocolAddr: targetIp,
    },
    frame,
    ETHERNET_HEADER_LEN,
  );
  if (operation === ARP_OP_REQUEST) stack.stats.arpRequestsOut++;
  else stack.stats.arpRepliesOut++;
  stack.transmitFrame(frame.subarray(0, Math.max(ETHERNET_MIN_FRAME_LEN, ETHERNET_HEADER_LEN + ARP_LEN)), undefined);
}
