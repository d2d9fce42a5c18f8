import { describe, expect, it } from 'vitest';
import { formatMac } from '../../../src/wire/addr.js';
import {
  ETHERNET_HEADER_LEN,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_QINQ,
  ETHERTYPE_VLAN,
  EthernetView,
  emitEthernet,
  emitEthernetHeader,
  ethernetHeaderLength,
  ethernetLength,
  formatEthertype,
  parseEthernet,
  type EthernetRepr,
} from '../../../src/wire/ethernet.js';
import { vlanTagFromTci, vlanTci } from '../../../src/wire/vlan.js';
import { ARP_REQUEST, ICMP_ECHO_REQUEST } from '../../fixtures/wire/kernel-frames.js';
import { filled, hex, toHex } from '../../helpers/hex.js';
import { expectTruncationsRejected, roundTrip, type Codec } from '../../helpers/roundtrip.js';

const codec: Codec<EthernetRepr> = { parse: parseEthernet, emit: emitEthernet, length: ethernetLength };

/** An 802.1Q-tagged IPv4 frame written by hand from the 802.1Q layout: PCP 5, DEI 1, VID 100. */
const TAGGED = hex(`
  02 00 5e 10 00 02   # destination
  02 00 5e 10 00 01   # source
  81 00               # TPID
  b0 64               # TCI: pcp 5, dei 1, vid 0x064
  08 00               # inner EtherType
  de ad be ef         # payload
`);

describe('Ethernet', () => {
  it('parses a kernel ARP request field by field', () => {
    const r = parseEthernet(hex(ARP_REQUEST));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(formatMac(r.value.dst)).toBe('ff:ff:ff:ff:ff:ff');
    expect(formatMac(r.value.src)).toBe('02:00:5e:10:00:01');
    expect(r.value.ethertype).toBe(ETHERTYPE_ARP);
    expect(r.value.vlan).toBeUndefined();
    expect(r.value.payload.length).toBe(28);
  });

  it('reads the same fields through the view', () => {
    const v = new EthernetView(hex(ICMP_ECHO_REQUEST));
    expect(formatMac(v.dst)).toBe('02:00:5e:10:00:02');
    expect(formatMac(v.src)).toBe('02:00:5e:10:00:01');
    expect(v.ethertype).toBe(ETHERTYPE_IPV4);
    expect(v.tagged).toBe(false);
    expect(v.headerLength).toBe(14);
  });

  it('parses an 802.1Q tag inline and reports the inner EtherType', () => {
    const r = parseEthernet(TAGGED);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.vlan).toEqual({ pcp: 5, dei: true, vid: 100 });
    expect(r.value.ethertype).toBe(ETHERTYPE_IPV4);
    expect(toHex(r.value.payload)).toBe('de ad be ef');
    const v = new EthernetView(TAGGED);
    expect(v.outerEthertype).toBe(ETHERTYPE_VLAN);
    expect(v.headerLength).toBe(18);
  });

  it('keeps a priority tag (VID 0) as a tag', () => {
    const f = TAGGED.slice();
    f[14] = 0x60;
    f[15] = 0x00;
    const r = parseEthernet(f);
    expect(r.ok && r.value.vlan).toEqual({ pcp: 3, dei: false, vid: 0 });
  });

  it('rejects stacked tags and 802.1ad service tags as vlan-qinq', () => {
    const stacked = hex('02005e100002 02005e100001 8100 0064 8100 00c8 0800 00');
    expect(parseEthernet(stacked)).toEqual({ ok: false, reason: 'vlan-qinq' });
    const service = hex('02005e100002 02005e100001 88a8 0064 8100 00c8 0800 00');
    expect(parseEthernet(service)).toEqual({ ok: false, reason: 'vlan-qinq' });
    const sInner = hex('02005e100002 02005e100001 8100 0064 88a8 00c8 0800 00');
    expect(parseEthernet(sInner)).toEqual({ ok: false, reason: 'vlan-qinq' });
  });

  it('rejects every truncation of the header: eth-truncated below 14, vlan-truncated below 18', () => {
    expectTruncationsRejected(parseEthernet, hex(ARP_REQUEST), { validFrom: ETHERNET_HEADER_LEN, reason: 'eth-truncated' });
    expectTruncationsRejected(parseEthernet, TAGGED, { validFrom: 18, reason: ['eth-truncated', 'vlan-truncated'] });
    expect(parseEthernet(TAGGED.slice(0, 17))).toEqual({ ok: false, reason: 'vlan-truncated' });
  });

  it('accepts a header-only frame with an empty payload', () => {
    const r = parseEthernet(hex(ARP_REQUEST).slice(0, 14));
    expect(r.ok && r.value.payload.length).toBe(0);
  });

  it('copies the addresses out of the frame', () => {
    const f = hex(ARP_REQUEST);
    const r = parseEthernet(f);
    f.fill(0);
    expect(r.ok && formatMac(r.value.src)).toBe('02:00:5e:10:00:01');
  });

  it('emits an untagged header into a 0xa5 buffer byte for byte', () => {
    const out = filled(16);
    const n = emitEthernetHeader({ dst: hex('ffffffffffff'), src: hex('02005e100001'), ethertype: ETHERTYPE_ARP }, out, 1);
    expect(n).toBe(14);
    expect(toHex(out)).toBe('a5 ff ff ff ff ff ff 02 00 5e 10 00 01 08 06 a5');
  });

  it('emits a tagged header byte for byte', () => {
    const out = filled(18);
    const repr = { dst: hex('02005e100002'), src: hex('02005e100001'), ethertype: ETHERTYPE_IPV4, vlan: { pcp: 5, dei: true, vid: 100 } };
    expect(ethernetHeaderLength(repr)).toBe(18);
    expect(emitEthernetHeader(repr, out, 0)).toBe(18);
    expect(toHex(out)).toBe(toHex(TAGGED.subarray(0, 18)));
  });

  it('round-trips untagged and tagged frames, and the kernel frame exactly', () => {
    const kernel = hex(ICMP_ECHO_REQUEST);
    const parsed = parseEthernet(kernel);
    if (!parsed.ok) throw new Error(parsed.reason);
    roundTrip(codec, parsed.value, kernel);
    roundTrip(codec, { dst: hex('333300000001'), src: hex('02005e100001'), ethertype: ETHERTYPE_IPV6, payload: hex('60') });
    roundTrip(codec, { dst: hex('02005e100002'), src: hex('02005e100001'), ethertype: ETHERTYPE_IPV4, vlan: { pcp: 5, dei: true, vid: 100 }, payload: hex('deadbeef') }, TAGGED);
    roundTrip(codec, { dst: hex('02005e100002'), src: hex('02005e100001'), ethertype: 0x88cc, vlan: { pcp: 0, dei: false, vid: 4095 }, payload: new Uint8Array(0) });
  });

  it('throws a RangeError when the output buffer is short (a programmer error)', () => {
    expect(() => emitEthernetHeader({ dst: hex('ffffffffffff'), src: hex('02005e100001'), ethertype: ETHERTYPE_ARP }, new Uint8Array(13), 0)).toThrow(RangeError);
  });

  it('names EtherTypes', () => {
    expect(formatEthertype(ETHERTYPE_IPV4)).toBe('IPv4');
    expect(formatEthertype(ETHERTYPE_QINQ)).toBe('802.1ad');
    expect(formatEthertype(0x88cc)).toBe('0x88cc');
  });
});

describe('802.1Q TCI', () => {
  it('packs and unpacks every field at its extremes', () => {
    expect(vlanTagFromTci(0xffff)).toEqual({ pcp: 7, dei: true, vid: 4095 });
    expect(vlanTagFromTci(0x0001)).toEqual({ pcp: 0, dei: false, vid: 1 });
    expect(vlanTci({ pcp: 7, dei: false, vid: 4094 })).toBe(0xeffe);
    for (const tci of [0, 1, 0x0fff, 0x1000, 0xe000, 0xb064, 0xffff]) expect(vlanTci(vlanTagFromTci(tci))).toBe(tci);
  });
});
