import { describe, expect, it } from 'vitest';
import {
  VNET_F_DATA_VALID,
  VNET_F_NEEDS_CSUM,
  VNET_GSO_ECN,
  VNET_GSO_NONE,
  VNET_GSO_TCPV4,
  VNET_GSO_TCPV6,
  VNET_GSO_UDP,
  VNET_GSO_UDP_L4,
  VNET_HDR_LEN,
  VNET_HDR_LEN_MRG,
  VNET_NONE,
  emitVnet,
  parseVnet,
  type VnetHeader,
} from '../../../src/wire/vnet.js';
import { filled, hex, toHex } from '../../helpers/hex.js';

/** A TSO frame's header as the kernel writes it for a TCPv4 super-frame: little-endian fields (virtio spec §5.1.6). */
const TSO = hex(`
  01          # flags: NEEDS_CSUM
  01          # gso_type: TCPV4
  42 00       # hdr_len 66 (Ethernet 14 + IPv4 20 + TCP 32)
  a8 05       # gso_size 1448
  22 00       # csum_start 34
  10 00       # csum_offset 16 (TCP checksum)
`);
const TSO_HEADER: VnetHeader = { flags: VNET_F_NEEDS_CSUM, gsoType: VNET_GSO_TCPV4, hdrLen: 66, gsoSize: 1448, csumStart: 34, csumOffset: 16 };

describe('virtio-net header', () => {
  it('parses a 10-byte TSO header field by field, little-endian', () => {
    expect(parseVnet(TSO, 0, VNET_HDR_LEN, 66 + 2896)).toEqual({ ok: true, value: TSO_HEADER });
  });

  it('parses the 12-byte layout at an offset and ignores num_buffers', () => {
    const b = filled(16);
    b.set(TSO, 2);
    b[12] = 1;
    b[13] = 0;
    expect(parseVnet(b, 2, VNET_HDR_LEN_MRG, 100)).toEqual({ ok: true, value: TSO_HEADER });
  });

  it('accepts every GSO type the kernel uses, with or without the ECN bit', () => {
    for (const t of [VNET_GSO_NONE, VNET_GSO_TCPV4, VNET_GSO_UDP, VNET_GSO_TCPV6, VNET_GSO_UDP_L4]) {
      for (const ecn of [0, VNET_GSO_ECN]) {
        const b = TSO.slice();
        b[1] = t | ecn;
        const r = parseVnet(b, 0, VNET_HDR_LEN, 1000);
        expect(r.ok && r.value.gsoType, `type ${t | ecn}`).toBe(t | ecn);
      }
    }
  });

  it('names an unknown GSO type', () => {
    for (const t of [2, 6, 0x7f, 0x82]) {
      const b = TSO.slice();
      b[1] = t;
      expect(parseVnet(b, 0, VNET_HDR_LEN, 1000)).toEqual({ ok: false, reason: 'vnet-bad-gso-type' });
    }
  });

  it('names checksum offsets that point past the frame, only when NEEDS_CSUM is set', () => {
    expect(parseVnet(TSO, 0, VNET_HDR_LEN, 52)).toEqual({ ok: true, value: TSO_HEADER }); // 34 + 16 + 2 = 52 fits exactly
    expect(parseVnet(TSO, 0, VNET_HDR_LEN, 51)).toEqual({ ok: false, reason: 'vnet-bad-csum-offsets' });
    const valid = TSO.slice();
    valid[0] = VNET_F_DATA_VALID;
    expect(parseVnet(valid, 0, VNET_HDR_LEN, 10).ok).toBe(true);
  });

  it('rejects a header that does not fit or is shorter than 10 bytes', () => {
    for (let n = 0; n < VNET_HDR_LEN; n++) expect(parseVnet(TSO.slice(0, n), 0, VNET_HDR_LEN, 100)).toEqual({ ok: false, reason: 'vnet-truncated' });
    expect(parseVnet(TSO, 1, VNET_HDR_LEN, 100)).toEqual({ ok: false, reason: 'vnet-truncated' });
    expect(parseVnet(TSO, 0, 8, 100)).toEqual({ ok: false, reason: 'vnet-truncated' });
    expect(parseVnet(TSO, 0, VNET_HDR_LEN_MRG, 100)).toEqual({ ok: false, reason: 'vnet-truncated' });
  });

  it('emits both layouts into a 0xa5 buffer byte for byte', () => {
    const ten = filled(12);
    expect(emitVnet(TSO_HEADER, ten, 1, VNET_HDR_LEN)).toBe(10);
    expect(toHex(ten)).toBe(`a5 ${toHex(TSO)} a5`);
    const twelve = filled(13);
    expect(emitVnet(TSO_HEADER, twelve, 0, VNET_HDR_LEN_MRG)).toBe(12);
    expect(toHex(twelve)).toBe(`${toHex(TSO)} 00 00 a5`);
    const none = filled(10);
    emitVnet(VNET_NONE, none, 0, VNET_HDR_LEN);
    expect(toHex(none)).toBe('00 00 00 00 00 00 00 00 00 00');
  });

  it('round-trips headers with every field at its extremes', () => {
    for (const h of [TSO_HEADER, VNET_NONE, { flags: 0xff, gsoType: VNET_GSO_UDP_L4 | VNET_GSO_ECN, hdrLen: 0xffff, gsoSize: 0xffff, csumStart: 0, csumOffset: 0 }]) {
      const b = new Uint8Array(VNET_HDR_LEN);
      emitVnet(h, b, 0, VNET_HDR_LEN);
      expect(parseVnet(b, 0, VNET_HDR_LEN, 0x10000)).toEqual({ ok: true, value: h });
    }
  });

  it('throws RangeError on a short buffer or a header length below 10 (programmer errors)', () => {
    expect(() => emitVnet(TSO_HEADER, new Uint8Array(9), 0, VNET_HDR_LEN)).toThrow(RangeError);
    expect(() => emitVnet(TSO_HEADER, new Uint8Array(12), 1, VNET_HDR_LEN_MRG)).toThrow(RangeError);
    expect(() => emitVnet(TSO_HEADER, new Uint8Array(12), 0, 8)).toThrow(RangeError);
  });
});
