import { describe, expect, it } from 'vitest';
import { formatIpv4Address, formatMac } from '../../../src/wire/addr.js';
import { ARP_LEN, ARP_OP_REPLY, ARP_OP_REQUEST, ArpView, arpLength, emitArp, parseArp, type ArpRepr } from '../../../src/wire/arp.js';
import { ARP_REPLY, ARP_REQUEST } from '../../fixtures/wire/kernel-frames.js';
import { filled, hex, toHex } from '../../helpers/hex.js';
import { expectTruncationsRejected, roundTrip, type Codec } from '../../helpers/roundtrip.js';

const codec: Codec<ArpRepr> = { parse: parseArp, emit: emitArp, length: arpLength };
const payload = (frame: string): Uint8Array => hex(frame).subarray(14);

describe('ARP', () => {
  it('parses the kernel request field by field', () => {
    const r = parseArp(payload(ARP_REQUEST));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.operation).toBe(ARP_OP_REQUEST);
    expect(formatMac(r.value.senderHardwareAddr)).toBe('02:00:5e:10:00:01');
    expect(formatIpv4Address(r.value.senderProtocolAddr)).toBe('198.18.0.1');
    expect(formatMac(r.value.targetHardwareAddr)).toBe('00:00:00:00:00:00');
    expect(formatIpv4Address(r.value.targetProtocolAddr)).toBe('198.18.0.2');
  });

  it('parses the kernel reply through the view', () => {
    const v = new ArpView(payload(ARP_REPLY));
    expect(v.hardwareType).toBe(1);
    expect(v.protocolType).toBe(0x0800);
    expect(v.hardwareLength).toBe(6);
    expect(v.protocolLength).toBe(4);
    expect(v.operation).toBe(ARP_OP_REPLY);
    expect(formatMac(v.senderHardwareAddr)).toBe('02:00:5e:10:00:02');
    expect(formatIpv4Address(v.senderProtocolAddr)).toBe('198.18.0.2');
    expect(formatMac(v.targetHardwareAddr)).toBe('02:00:5e:10:00:01');
    expect(formatIpv4Address(v.targetProtocolAddr)).toBe('198.18.0.1');
  });

  it('ignores Ethernet padding after the 28 bytes', () => {
    const padded = new Uint8Array(46);
    padded.set(payload(ARP_REPLY));
    expect(parseArp(padded).ok).toBe(true);
  });

  it('emits into a 0xa5 buffer exactly the kernel bytes', () => {
    const out = filled(30);
    const repr: ArpRepr = {
      operation: ARP_OP_REPLY,
      senderHardwareAddr: hex('02005e100002'),
      senderProtocolAddr: 0xc6120002,
      targetHardwareAddr: hex('02005e100001'),
      targetProtocolAddr: 0xc6120001,
    };
    expect(emitArp(repr, out, 1)).toBe(ARP_LEN);
    expect(toHex(out)).toBe(`a5 ${toHex(payload(ARP_REPLY))} a5`);
  });

  it('round-trips requests and replies', () => {
    const k = parseArp(payload(ARP_REQUEST));
    if (!k.ok) throw new Error(k.reason);
    roundTrip(codec, k.value, payload(ARP_REQUEST));
    roundTrip(codec, { operation: ARP_OP_REPLY, senderHardwareAddr: hex('ffffffffffff'), senderProtocolAddr: 0xffffffff, targetHardwareAddr: hex('000000000001'), targetProtocolAddr: 0 });
  });

  it('names other hardware, other protocols and other operations', () => {
    const p = payload(ARP_REQUEST);
    const mutate = (at: number, v: number): Uint8Array => {
      const c = p.slice();
      c[at] = v;
      return c;
    };
    expect(parseArp(mutate(1, 6))).toEqual({ ok: false, reason: 'arp-bad-hardware' }); // IEEE 802 htype
    expect(parseArp(mutate(4, 8))).toEqual({ ok: false, reason: 'arp-bad-hardware' }); // EUI-64 hlen
    expect(parseArp(mutate(2, 0x86))).toEqual({ ok: false, reason: 'arp-bad-protocol' });
    expect(parseArp(mutate(5, 16))).toEqual({ ok: false, reason: 'arp-bad-protocol' });
    for (const op of [0, 3, 4, 8, 9, 255]) expect(parseArp(mutate(7, op))).toEqual({ ok: false, reason: 'arp-bad-operation' });
    // A 1-byte protocol length with IPv4 type is still wrong, and names the protocol even when short.
    expect(parseArp(mutate(5, 1).subarray(0, 9))).toEqual({ ok: false, reason: 'arp-bad-protocol' });
  });

  it('rejects every truncation with arp-truncated', () => {
    expectTruncationsRejected(parseArp, payload(ARP_REQUEST), { reason: 'arp-truncated' });
  });
});
