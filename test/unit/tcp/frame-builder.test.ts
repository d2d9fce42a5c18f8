import { describe, expect, it } from 'vitest';
import { pathPseudoBase, TcpFrameBuilder, type TcpFramePath } from '../../../src/tcp/frame-builder.js';
import type { TcpSegmentOut } from '../../../src/tcp/types.js';
import { parseIpv4Address, parseIpv6Address, parseMac } from '../../../src/wire/addr.js';
import { parseEthernet } from '../../../src/wire/ethernet.js';
import { parseIpv4 } from '../../../src/wire/ipv4.js';
import { parseIpv6 } from '../../../src/wire/ipv6.js';
import { parseTcp, TCP_ACK, TCP_PSH } from '../../../src/wire/tcp.js';
import { seq } from '../../../src/wire/seq.js';

function segment(payload: Uint8Array, gsoSize = 0): TcpSegmentOut {
  return {
    srcPort: 40000,
    dstPort: 80,
    seqNumber: seq(1000),
    ackNumber: seq(2000),
    flags: TCP_ACK | TCP_PSH,
    windowLen: 512,
    urgentPointer: 0,
    options: {},
    payloadLength: payload.length,
    gsoSize,
    copyPayload: (out: Uint8Array, off: number) => out.set(payload, off),
  } as unknown as TcpSegmentOut;
}

function path(family: 4 | 6): TcpFramePath {
  const base = {
    family,
    srcMac: parseMac('02:00:00:00:00:01') as Uint8Array,
    dstMac: parseMac('02:00:00:00:00:02') as Uint8Array,
    local4: parseIpv4Address('198.18.0.2') as number,
    remote4: parseIpv4Address('198.18.0.1') as number,
    local6: parseIpv6Address('2001:2::2') as Uint8Array,
    remote6: parseIpv6Address('2001:2::1') as Uint8Array,
    ttl: 17,
    tos: 0xb9,
    flowLabel: 0x12345,
  } as Omit<TcpFramePath, 'pseudoBase'>;
  return { ...base, pseudoBase: pathPseudoBase(base) };
}

describe('TcpFrameBuilder', () => {
  it('builds a checksummed IPv4 frame with the path\'s TTL, TOS, DF and an ID from the sender\'s allocator', () => {
    const ids: number[] = [];
    const b = new TcpFrameBuilder({ txChecksum: false, tso: false }, (n) => {
      ids.push(n);
      return 0x8123;
    });
    const { frame, info } = b.build(segment(new Uint8Array([1, 2, 3])), path(4));
    expect(info).toBeUndefined();
    const eth = parseEthernet(frame);
    if (!eth.ok) throw new Error('ethernet');
    expect([...eth.value.dst]).toEqual([2, 0, 0, 0, 0, 2]);
    const ip = parseIpv4(eth.value.payload);
    if (!ip.ok) throw new Error(ip.reason);
    expect([ip.value.ttl, (ip.value.dscp << 2) | ip.value.ecn, ip.value.dontFragment, ip.value.identification]).toEqual([17, 0xb9, true, 0x8123]);
    expect(ids).toEqual([1]);
    const tcp = parseTcp(ip.value.payload, { pseudoHeaderSum: pathPseudoBase(path(4)) + ip.value.payload.length });
    if (!tcp.ok) throw new Error(tcp.reason);
    expect([...tcp.value.payload]).toEqual([1, 2, 3]);
  });

  it('builds an IPv6 frame with hop limit, traffic class and flow label; a TSO frame reserves one IPv4 ID per segment', () => {
    const b = new TcpFrameBuilder({ txChecksum: true, tso: true }, (n) => n);
    const six = b.build(segment(new Uint8Array(10)), path(6));
    const eth = parseEthernet(six.frame);
    if (!eth.ok) throw new Error('ethernet');
    const ip = parseIpv6(eth.value.payload);
    if (!ip.ok) throw new Error(ip.reason);
    expect([ip.value.hopLimit, ip.value.trafficClass, ip.value.flowLabel]).toEqual([17, 0xb9, 0x12345]);
    expect(six.info?.gsoSize).toBe(0);
    const big = b.build(segment(new Uint8Array(3000), 1000), path(4));
    expect(big.ipIds).toBe(3);
    expect(big.info?.gsoSize).toBe(1000);
  });
});
