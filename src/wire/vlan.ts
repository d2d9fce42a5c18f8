/**
 * IEEE 802.1Q VLAN tags. A tag is 4 bytes between the source MAC and the EtherType: the TPID
 * (0x8100) and the TCI, which packs the priority code point (3 bits, 802.1p), the drop
 * eligible indicator (1 bit, formerly CFI) and the VLAN identifier (12 bits).
 *
 * The chimney reference §4.10 says what the target does with tags; this file only encodes them.
 */
import { put16be, u16be } from './bytes.js';

/** TPID of a customer VLAN tag (IEEE 802.1Q). */
export const ETHERTYPE_VLAN = 0x8100;
/** TPID of a service VLAN tag (IEEE 802.1ad, "QinQ"). */
export const ETHERTYPE_QINQ = 0x88a8;

export const VLAN_TAG_LEN = 4;
/** VID 0 marks a priority-tagged frame that belongs to no VLAN (802.1Q §9.6); 4095 is reserved. */
export const VLAN_VID_NONE = 0;
export const VLAN_VID_MAX = 4094;

const TCI_PCP_SHIFT = 13;
const TCI_DEI = 0x1000;
const TCI_VID_MASK = 0x0fff;

export interface VlanTag {
  /** Priority code point 0..7 (802.1p user priority). */
  readonly pcp: number;
  /** Drop eligible indicator (the former CFI bit; the chimney reference §4.10 sends it as 0). */
  readonly dei: boolean;
  /** VLAN identifier 0..4095. */
  readonly vid: number;
}

/** Splits a 16-bit TCI into its fields. */
export function vlanTagFromTci(tci: number): VlanTag {
  return { pcp: (tci >>> TCI_PCP_SHIFT) & 0x7, dei: (tci & TCI_DEI) !== 0, vid: tci & TCI_VID_MASK };
}

/** Packs a tag into its 16-bit TCI. Out-of-range fields are masked to their widths. */
export function vlanTci(tag: VlanTag): number {
  return ((tag.pcp & 0x7) << TCI_PCP_SHIFT) | (tag.dei ? TCI_DEI : 0) | (tag.vid & TCI_VID_MASK);
}

/** True for the TPIDs that introduce a tag (a frame with one of these is tagged). */
export function isVlanTpid(ethertype: number): boolean {
  return ethertype === ETHERTYPE_VLAN || ethertype === ETHERTYPE_QINQ;
}

/** Reads the TCI at b[off] (the two bytes after a TPID). The caller has checked the bounds. */
export function readVlanTag(b: Uint8Array, off: number): VlanTag {
  return vlanTagFromTci(u16be(b, off));
}

/** Writes TPID 0x8100 and the TCI of `tag` at out[off]; returns 4. The caller has checked the room. */
export function writeVlanTag(tag: VlanTag, out: Uint8Array, off: number): number {
  put16be(out, off, ETHERTYPE_VLAN);
  put16be(out, off + 2, vlanTci(tag));
  return VLAN_TAG_LEN;
}
