import { describe, expect, it } from 'vitest';
import {
  BROADCAST_MAC,
  IPV6_ALL_NODES,
  IPV6_ALL_ROUTERS,
  IPV6_UNSPECIFIED,
  formatIpv4Address,
  formatIpv6Address,
  formatMac,
  ipv4InSubnet,
  ipv4MulticastMac,
  ipv4SubnetBroadcast,
  ipv6Equals,
  ipv6InSubnet,
  ipv6MulticastMac,
  isBroadcastMac,
  isIpv4Broadcast,
  isIpv4Multicast,
  isIpv6LinkLocal,
  isIpv6Multicast,
  isIpv6Unspecified,
  isMulticastMac,
  isSolicitedNodeMulticast,
  isUnicastMac,
  linkLocalFromMac,
  macEquals,
  parseCidr4,
  parseCidr6,
  parseIpAddress,
  parseIpv4Address,
  parseIpv6Address,
  parseMac,
  solicitedNodeMulticast,
} from '../../../src/wire/addr.js';
import { hex, toHex } from '../../helpers/hex.js';

function v6(s: string): Uint8Array {
  const a = parseIpv6Address(s);
  if (a === undefined) throw new Error(`bad fixture ${s}`);
  return a;
}

describe('MAC addresses', () => {
  it('parses colon and dash forms and formats lowercase with colons', () => {
    expect(toHex(parseMac('02:00:5E:10:00:01') as Uint8Array)).toBe('02 00 5e 10 00 01');
    expect(toHex(parseMac('02-00-5e-10-00-01') as Uint8Array)).toBe('02 00 5e 10 00 01');
    expect(formatMac(hex('02005e1000ff'))).toBe('02:00:5e:10:00:ff');
  });

  it('rejects malformed text', () => {
    for (const s of ['', '02:00:5e:10:00', '02:00:5e:10:00:01:02', '02:00-5e:10:00:01', '2:0:5e:10:0:1', '02:00:5e:10:00:0g', '020:05e:100:01'])
      expect(parseMac(s), s).toBeUndefined();
  });

  it('classifies group, broadcast and unicast addresses', () => {
    expect(isMulticastMac(BROADCAST_MAC)).toBe(true);
    expect(isBroadcastMac(BROADCAST_MAC)).toBe(true);
    expect(isMulticastMac(hex('333300000001'))).toBe(true);
    expect(isMulticastMac(hex('01005e000001'))).toBe(true);
    expect(isMulticastMac(hex('02005e100001'))).toBe(false);
    expect(isUnicastMac(hex('02005e100001'))).toBe(true);
    expect(isUnicastMac(hex('000000000000'))).toBe(false);
    expect(macEquals(hex('02005e100001'), hex('02005e100001'))).toBe(true);
    expect(macEquals(hex('02005e100001'), hex('02005e100002'))).toBe(false);
  });
});

describe('IPv4 addresses', () => {
  it('parses dotted decimal into a host-order uint32', () => {
    expect(parseIpv4Address('198.18.0.1')).toBe(0xc6120001);
    expect(parseIpv4Address('0.0.0.0')).toBe(0);
    expect(parseIpv4Address('255.255.255.255')).toBe(0xffffffff);
    expect(formatIpv4Address(0xc6120001)).toBe('198.18.0.1');
    expect(formatIpv4Address(0xffffffff)).toBe('255.255.255.255');
  });

  it('rejects malformed text, including leading zeros', () => {
    for (const s of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '1.2.3.-4', '01.2.3.4', '1..2.3', '1.2.3.4 ', '0x1.2.3.4', '1.2.3.1000'])
      expect(parseIpv4Address(s), s).toBeUndefined();
  });

  it('parses CIDR keeping the host bits', () => {
    expect(parseCidr4('198.18.0.1/24')).toEqual({ address: 0xc6120001, prefixLength: 24 });
    expect(parseCidr4('0.0.0.0/0')).toEqual({ address: 0, prefixLength: 0 });
    for (const s of ['198.18.0.1', '198.18.0.1/33', '198.18.0.1/', '198.18.0.1/024', '198.18.0.1/x']) expect(parseCidr4(s), s).toBeUndefined();
  });

  it('tests subnet membership at /0, /15, /24, /32', () => {
    const a = 0xc6130a0b; // 198.19.10.11
    expect(ipv4InSubnet(a, 0xc6120000, 15)).toBe(true);
    expect(ipv4InSubnet(a, 0xc6120000, 16)).toBe(false);
    expect(ipv4InSubnet(a, 0, 0)).toBe(true);
    expect(ipv4InSubnet(a, a, 32)).toBe(true);
    expect(ipv4InSubnet(a + 1, a, 32)).toBe(false);
    expect(ipv4InSubnet(0xc6120001, 0xc61200ff, 24)).toBe(true);
  });

  it('computes the directed broadcast of a subnet', () => {
    expect(formatIpv4Address(ipv4SubnetBroadcast(0xc6120001, 24))).toBe('198.18.0.255');
    expect(formatIpv4Address(ipv4SubnetBroadcast(0xc6120001, 15))).toBe('198.19.255.255');
    expect(formatIpv4Address(ipv4SubnetBroadcast(0xc6120001, 0))).toBe('255.255.255.255');
    expect(formatIpv4Address(ipv4SubnetBroadcast(0xc6120001, 32))).toBe('198.18.0.1');
  });

  it('classifies multicast and limited broadcast', () => {
    expect(isIpv4Multicast(0xe0000001)).toBe(true);
    expect(isIpv4Multicast(0xefffffff)).toBe(true);
    expect(isIpv4Multicast(0xf0000000)).toBe(false);
    expect(isIpv4Multicast(0xdfffffff)).toBe(false);
    expect(isIpv4Broadcast(0xffffffff)).toBe(true);
    expect(isIpv4Broadcast(0xc61200ff)).toBe(false);
    expect(toHex(ipv4MulticastMac(0xe0ff0001))).toBe('01 00 5e 7f 00 01');
  });
});

describe('IPv6 addresses', () => {
  it('parses full, compressed and IPv4-tailed forms', () => {
    expect(toHex(v6('2001:2:0:0:0:0:0:1'), '')).toBe('20010002000000000000000000000001');
    expect(toHex(v6('2001:2::1'), '')).toBe('20010002000000000000000000000001');
    expect(toHex(v6('::'), '')).toBe('00000000000000000000000000000000');
    expect(toHex(v6('::1'), '')).toBe('00000000000000000000000000000001');
    expect(toHex(v6('fe80::'), '')).toBe('fe800000000000000000000000000000');
    expect(toHex(v6('::ffff:198.18.0.1'), '')).toBe('00000000000000000000ffffc6120001');
    expect(toHex(v6('64:ff9b::198.18.0.1'), '')).toBe('0064ff9b0000000000000000c6120001');
    expect(toHex(v6('1:2:3:4:5:6:1.2.3.4'), '')).toBe('00010002000300040005000601020304');
    expect(toHex(v6('FE80::ABCD'), '')).toBe('fe80000000000000000000000000abcd');
  });

  it('rejects malformed text', () => {
    for (const s of [
      '',
      ':',
      ':::',
      '1::2::3',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '1::2:3:4:5:6:7:8',
      '12345::',
      'g::',
      ':1::',
      '1::2:',
      '::1.2.3.4:5',
      '1:2:3:4:5:6:7:1.2.3.4',
      'fe80::1%eth0',
      '::256.1.1.1',
      '1:2:3:4:5:6:7:8:',
    ])
      expect(parseIpv6Address(s), s).toBeUndefined();
  });

  it('formats canonically per RFC 5952', () => {
    const cases: [string, string][] = [
      ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'], // §4.2.1 longest run
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2 a single 0 is not compressed
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // §4.2.3 the longest run wins
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3 ties: the first run
      ['2001:DB8::0001', '2001:db8::1'], // §4.1, §4.3 lowercase, no leading zeros
      ['0:0:0:0:0:0:0:0', '::'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['1:0:0:0:0:0:0:0', '1::'],
      ['::ffff:c612:1', '::ffff:198.18.0.1'], // §5 IPv4-mapped
      ['fe80::200:5eff:fe10:1', 'fe80::200:5eff:fe10:1'],
    ];
    for (const [input, canonical] of cases) expect(formatIpv6Address(v6(input)), input).toBe(canonical);
  });

  it('parses CIDR and tests subnet membership on and off byte boundaries', () => {
    const net = parseCidr6('2001:2::/48');
    expect(net).toBeDefined();
    if (net === undefined) return;
    expect(net.prefixLength).toBe(48);
    expect(ipv6InSubnet(v6('2001:2:0:ffff::1'), net.address, 48)).toBe(true);
    expect(ipv6InSubnet(v6('2001:2:1::1'), net.address, 48)).toBe(false);
    expect(ipv6InSubnet(v6('fe80::1'), v6('fe80::'), 10)).toBe(true);
    expect(ipv6InSubnet(v6('febf::1'), v6('fe80::'), 10)).toBe(true);
    expect(ipv6InSubnet(v6('fec0::1'), v6('fe80::'), 10)).toBe(false);
    expect(ipv6InSubnet(v6('1::'), v6('::'), 0)).toBe(true);
    expect(ipv6InSubnet(v6('::1'), v6('::1'), 128)).toBe(true);
    expect(ipv6InSubnet(v6('::2'), v6('::1'), 128)).toBe(false);
    for (const s of ['2001:2::', '2001:2::/129', '2001:2::/-1', '::/']) expect(parseCidr6(s), s).toBeUndefined();
  });

  it('classifies multicast, link-local and unspecified', () => {
    expect(isIpv6Multicast(IPV6_ALL_NODES)).toBe(true);
    expect(isIpv6Multicast(v6('fe80::1'))).toBe(false);
    expect(isIpv6LinkLocal(v6('fe80::1'))).toBe(true);
    expect(isIpv6LinkLocal(v6('febf::1'))).toBe(true);
    expect(isIpv6LinkLocal(v6('fec0::1'))).toBe(false);
    expect(isIpv6Unspecified(IPV6_UNSPECIFIED)).toBe(true);
    expect(isIpv6Unspecified(v6('::1'))).toBe(false);
    expect(formatIpv6Address(IPV6_ALL_NODES)).toBe('ff02::1');
    expect(formatIpv6Address(IPV6_ALL_ROUTERS)).toBe('ff02::2');
    expect(ipv6Equals(v6('2001:2::1'), v6('2001:2:0::1'))).toBe(true);
  });

  it('derives the solicited-node group and its multicast MAC (RFC 4291 §2.7.1, RFC 2464 §7)', () => {
    const sn = solicitedNodeMulticast(v6('2001:2::abcd:1234:5678'));
    expect(formatIpv6Address(sn)).toBe('ff02::1:ff34:5678');
    expect(isSolicitedNodeMulticast(sn)).toBe(true);
    expect(isSolicitedNodeMulticast(IPV6_ALL_NODES)).toBe(false);
    expect(formatMac(ipv6MulticastMac(sn))).toBe('33:33:ff:34:56:78');
    expect(formatMac(ipv6MulticastMac(IPV6_ALL_NODES))).toBe('33:33:00:00:00:01');
  });

  it('builds the EUI-64 link-local address from a MAC (RFC 4291 Appendix A)', () => {
    // Appendix A's example: 34-56-78-9A-BC-DE becomes interface id 3656:78ff:fe9a:bcde.
    expect(formatIpv6Address(linkLocalFromMac(hex('3456789abcde')))).toBe('fe80::3656:78ff:fe9a:bcde');
    expect(formatIpv6Address(linkLocalFromMac(hex('02005e100001')))).toBe('fe80::5eff:fe10:1');
  });

  it('parses either family', () => {
    expect(parseIpAddress('198.18.0.1')).toEqual({ family: 4, address: 0xc6120001 });
    expect(parseIpAddress('2001:2::1')).toEqual({ family: 6, address: v6('2001:2::1') });
    expect(parseIpAddress('2001:2::1::')).toBeUndefined();
    expect(parseIpAddress('198.18.0')).toBeUndefined();
  });
});
