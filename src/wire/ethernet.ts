/**
 * Ethernet II frames (IEEE 802.3 §3.2.6 with the EtherType interpretation of RFC 894), with an
 * optional 802.1Q tag parsed inline. The TAP device delivers frames without preamble or FCS,
 * so a frame here is destination, source, [tag], EtherType, payload.
 *
 * One 802.1Q tag is parsed into `vlan`, and `ethertype` is then the inner type. A second tag, or
 * an 802.1ad service tag (QinQ), is rejected as 'vlan-qinq': chimney configures VLAN ids per
 * interface (reference §4.10) and never stacks them, so a stacked frame is not ours to accept.
 *
 * Policy (is the frame for us, is the source sane) is the receiver's business, not the codec's:
 * the parser only checks structure.
 */
import { MAC_LEN, type MacAddress } from './addr.js';
import { ensureRoom, put16be, u16be } from './bytes.js';
import type { DropReason } from './drop-reason.js';
import { err, ok, type Result } from './result.js';
import { ETHERTYPE_QINQ, ETHERTYPE_VLAN, VLAN_TAG_LEN, isVlanTpid, readVlanTag, writeVlanTag, type VlanTag } from './vlan.js';

export { ETHERTYPE_QINQ, ETHERTYPE_VLAN, type VlanTag } from './vlan.js';

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
/** Values up to 1500 are an 802.3 length, not a type; from 0x0600 on they are EtherTypes (IEEE 802.3 §3.2.6). */
export const ETHERTYPE_MIN = 0x0600;

export const ETHERNET_HEADER_LEN = 14;
export const ETHERNET_VLAN_HEADER_LEN = ETHERNET_HEADER_LEN + VLAN_TAG_LEN;
/** The smallest frame on the wire without FCS (64 - 4); shorter frames are padded by the sender. */
export const ETHERNET_MIN_FRAME_LEN = 60;

const F_DST = 0;
const F_SRC = 6;
const F_ETHERTYPE = 12;
const F_TCI = 14;
const F_INNER_ETHERTYPE = 16;

export interface EthernetRepr {
  /** Copies: addresses outlive the frame in neighbor caches. */
  readonly dst: MacAddress;
  readonly src: MacAddress;
  /** The EtherType of the payload (the inner type when a tag is present). */
  readonly ethertype: number;
  readonly vlan?: VlanTag | undefined;
  /** A view of everything after the header, including any padding; IP trims to its own length. */
  readonly payload: Uint8Array;
}

/** What `emitEthernetHeader` needs: the repr without the payload. */
export type EthernetHeaderRepr = Omit<EthernetRepr, 'payload'>;

/** Zero-copy accessors over a frame whose header length `checkEthernet` has established. */
export class EthernetView {
  constructor(readonly bytes: Uint8Array) {}
  get dst(): Uint8Array {
    return this.bytes.subarray(F_DST, F_DST + MAC_LEN);
  }
  get src(): Uint8Array {
    return this.bytes.subarray(F_SRC, F_SRC + MAC_LEN);
  }
  /** The first EtherType field: the TPID when the frame is tagged. */
  get outerEthertype(): number {
    return u16be(this.bytes, F_ETHERTYPE);
  }
  get tagged(): boolean {
    return this.outerEthertype === ETHERTYPE_VLAN;
  }
  get vlan(): VlanTag | undefined {
    return this.tagged ? readVlanTag(this.bytes, F_TCI) : undefined;
  }
  get ethertype(): number {
    return this.tagged ? u16be(this.bytes, F_INNER_ETHERTYPE) : this.outerEthertype;
  }
  get headerLength(): number {
    return this.tagged ? ETHERNET_VLAN_HEADER_LEN : ETHERNET_HEADER_LEN;
  }
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLength);
  }
}

/** Establishes the bounds `EthernetView` relies on: a full header, and a full tag when tagged. */
export function checkEthernet(frame: Uint8Array): DropReason | undefined {
  if (frame.length < ETHERNET_HEADER_LEN) return 'eth-truncated';
  const outer = u16be(frame, F_ETHERTYPE);
  if (outer === ETHERTYPE_QINQ) return 'vlan-qinq';
  if (outer !== ETHERTYPE_VLAN) return undefined;
  if (frame.length < ETHERNET_VLAN_HEADER_LEN) return 'vlan-truncated';
  if (isVlanTpid(u16be(frame, F_INNER_ETHERTYPE))) return 'vlan-qinq';
  return undefined;
}

/** Parses one frame. Total: a short header or a stacked tag gives a drop reason. */
export function parseEthernet(frame: Uint8Array): Result<EthernetRepr, DropReason> {
  const bad = checkEthernet(frame);
  if (bad !== undefined) return err(bad);
  const view = new EthernetView(frame);
  const vlan = view.vlan;
  const base = { dst: frame.slice(F_DST, F_DST + MAC_LEN), src: frame.slice(F_SRC, F_SRC + MAC_LEN), ethertype: view.ethertype };
  return ok(vlan === undefined ? { ...base, payload: view.payload } : { ...base, vlan, payload: view.payload });
}

/** 14, or 18 with a tag. */
export function ethernetHeaderLength(repr: { readonly vlan?: VlanTag | undefined }): number {
  return repr.vlan === undefined ? ETHERNET_HEADER_LEN : ETHERNET_VLAN_HEADER_LEN;
}

/** Header plus payload (no padding to the 60-byte minimum: the TAP pads nothing and needs nothing). */
export function ethernetLength(repr: EthernetRepr): number {
  return ethernetHeaderLength(repr) + repr.payload.length;
}

/** Writes the header at out[off]; returns 14 or 18. Throws RangeError when the buffer is short. */
export function emitEthernetHeader(repr: EthernetHeaderRepr, out: Uint8Array, off: number): number {
  const len = ethernetHeaderLength(repr);
  ensureRoom(out, off, len, 'emitEthernetHeader');
  out.set(repr.dst.subarray(0, MAC_LEN), off + F_DST);
  out.set(repr.src.subarray(0, MAC_LEN), off + F_SRC);
  if (repr.vlan !== undefined) {
    writeVlanTag(repr.vlan, out, off + F_ETHERTYPE);
    put16be(out, off + F_INNER_ETHERTYPE, repr.ethertype);
  } else {
    put16be(out, off + F_ETHERTYPE, repr.ethertype);
  }
  return len;
}

/** Writes header and payload at out[off]; returns the frame length. */
export function emitEthernet(repr: EthernetRepr, out: Uint8Array, off: number): number {
  const total = ethernetLength(repr);
  ensureRoom(out, off, total, 'emitEthernet');
  const header = emitEthernetHeader(repr, out, off);
  out.set(repr.payload, off + header);
  return total;
}

/** A short name for known EtherTypes, `0x%04x` otherwise (as smoltcp's EtherType Display). */
export function formatEthertype(ethertype: number): string {
  switch (ethertype) {
    case ETHERTYPE_IPV4:
      return 'IPv4';
    case ETHERTYPE_ARP:
      return 'ARP';
    case ETHERTYPE_IPV6:
      return 'IPv6';
    case ETHERTYPE_VLAN:
      return '802.1Q';
    case ETHERTYPE_QINQ:
      return '802.1ad';
    default:
      return `0x${ethertype.toString(16).padStart(4, '0')}`;
  }
}
