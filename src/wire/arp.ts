/**
 * ARP for IPv4 over Ethernet (RFC 826). Only hardware type 1 (Ethernet, 6-byte addresses) and
 * protocol type 0x0800 (IPv4, 4-byte addresses) are accepted; anything else is not ours to
 * resolve and is dropped by name. Only requests and replies are accepted: RARP (3, 4) and
 * InARP (8, 9) are different protocols that happen to share the format.
 *
 * Policy checks (is the target us, is the sender a unicast address, RFC 5227 probes with a
 * zero sender) belong to the neighbor cache.
 */
import { MAC_LEN, type Ipv4Address, type MacAddress } from './addr.js';
import { ensureRoom, put16be, put32be, u16be, u32be, u8 } from './bytes.js';
import type { DropReason } from './drop-reason.js';
import { ETHERTYPE_IPV4 } from './ethernet.js';
import { err, ok, type Result } from './result.js';

export const ARP_OP_REQUEST = 1;
export const ARP_OP_REPLY = 2;
export const ARP_HTYPE_ETHERNET = 1;
/** The packet length for Ethernet/IPv4: an 8-byte fixed part and two (MAC, IPv4) pairs. */
export const ARP_LEN = 28;
/** The fixed part: htype, ptype, hlen, plen, oper. */
export const ARP_FIXED_LEN = 8;

const F_HTYPE = 0;
const F_PTYPE = 2;
const F_HLEN = 4;
const F_PLEN = 5;
const F_OPER = 6;
const F_SHA = 8;
const F_SPA = 14;
const F_THA = 18;
const F_TPA = 24;

export interface ArpRepr {
  readonly operation: number;
  /** Copies: they go into the neighbor cache. */
  readonly senderHardwareAddr: MacAddress;
  readonly senderProtocolAddr: Ipv4Address;
  readonly targetHardwareAddr: MacAddress;
  readonly targetProtocolAddr: Ipv4Address;
}

/** Zero-copy accessors over an ARP packet whose bounds `checkArp` has established. */
export class ArpView {
  constructor(readonly bytes: Uint8Array) {}
  get hardwareType(): number {
    return u16be(this.bytes, F_HTYPE);
  }
  get protocolType(): number {
    return u16be(this.bytes, F_PTYPE);
  }
  get hardwareLength(): number {
    return u8(this.bytes, F_HLEN);
  }
  get protocolLength(): number {
    return u8(this.bytes, F_PLEN);
  }
  get operation(): number {
    return u16be(this.bytes, F_OPER);
  }
  get senderHardwareAddr(): Uint8Array {
    return this.bytes.subarray(F_SHA, F_SHA + MAC_LEN);
  }
  get senderProtocolAddr(): number {
    return u32be(this.bytes, F_SPA);
  }
  get targetHardwareAddr(): Uint8Array {
    return this.bytes.subarray(F_THA, F_THA + MAC_LEN);
  }
  get targetProtocolAddr(): number {
    return u32be(this.bytes, F_TPA);
  }
}

/**
 * Establishes the bounds `ArpView` relies on. The address types are checked before the full
 * length, so an ARP for another hardware or protocol is named as such even when it is short.
 */
export function checkArp(bytes: Uint8Array): DropReason | undefined {
  if (bytes.length < ARP_FIXED_LEN) return 'arp-truncated';
  if (u16be(bytes, F_HTYPE) !== ARP_HTYPE_ETHERNET || u8(bytes, F_HLEN) !== MAC_LEN) return 'arp-bad-hardware';
  if (u16be(bytes, F_PTYPE) !== ETHERTYPE_IPV4 || u8(bytes, F_PLEN) !== 4) return 'arp-bad-protocol';
  if (bytes.length < ARP_LEN) return 'arp-truncated';
  return undefined;
}

/** Parses an ARP packet (the Ethernet payload; trailing padding to the 60-byte minimum is ignored). */
export function parseArp(bytes: Uint8Array): Result<ArpRepr, DropReason> {
  const bad = checkArp(bytes);
  if (bad !== undefined) return err(bad);
  const operation = u16be(bytes, F_OPER);
  if (operation !== ARP_OP_REQUEST && operation !== ARP_OP_REPLY) return err('arp-bad-operation');
  return ok({
    operation,
    senderHardwareAddr: bytes.slice(F_SHA, F_SHA + MAC_LEN),
    senderProtocolAddr: u32be(bytes, F_SPA),
    targetHardwareAddr: bytes.slice(F_THA, F_THA + MAC_LEN),
    targetProtocolAddr: u32be(bytes, F_TPA),
  });
}

/** Always 28 for Ethernet/IPv4. */
export function arpLength(_repr?: ArpRepr): number {
  return ARP_LEN;
}

/** Writes the 28-byte packet at out[off]; returns 28. Throws RangeError when the buffer is short. */
export function emitArp(repr: ArpRepr, out: Uint8Array, off: number): number {
  ensureRoom(out, off, ARP_LEN, 'emitArp');
  put16be(out, off + F_HTYPE, ARP_HTYPE_ETHERNET);
  put16be(out, off + F_PTYPE, ETHERTYPE_IPV4);
  out[off + F_HLEN] = MAC_LEN;
  out[off + F_PLEN] = 4;
  put16be(out, off + F_OPER, repr.operation);
  out.set(repr.senderHardwareAddr.subarray(0, MAC_LEN), off + F_SHA);
  put32be(out, off + F_SPA, repr.senderProtocolAddr);
  out.set(repr.targetHardwareAddr.subarray(0, MAC_LEN), off + F_THA);
  put32be(out, off + F_TPA, repr.targetProtocolAddr);
  return ARP_LEN;
}
