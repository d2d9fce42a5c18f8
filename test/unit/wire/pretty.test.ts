import { describe, expect, it } from 'vitest';
import { formatFrame, formatIpv4Datagram, formatIpv6Packet } from '../../../src/wire/pretty.js';
import * as kernel from '../../fixtures/wire/kernel-frames.js';
import { concat, hex } from '../../helpers/hex.js';

const f = (frame: string): string => formatFrame(hex(frame));
const A = '02:00:5e:10:00:01';
const B = '02:00:5e:10:00:02';

describe('formatFrame', () => {
  it('summarises ARP', () => {
    expect(f(kernel.ARP_REQUEST)).toBe(`${A} > ff:ff:ff:ff:ff:ff, ARP, Request who-has 198.18.0.2 tell 198.18.0.1`);
    expect(f(kernel.ARP_REPLY)).toBe(`${B} > ${A}, ARP, Reply 198.18.0.2 is-at ${B}`);
  });

  it('summarises TCP with flags, sequence range, ack and options', () => {
    expect(f(kernel.TCP_SYN)).toBe(
      `${B} > ${A}, IPv4 198.18.0.2.49412 > 198.18.0.1.8080: TCP [S], seq 3861128560, win 64480, options [mss 1240,sackOK,TS val 3651314286 ecr 0,wscale 10], length 0`,
    );
    expect(f(kernel.TCP_PSH_ACK_DATA)).toBe(
      `${B} > ${A}, IPv4 198.18.0.2.57550 > 198.18.0.1.8081: TCP [P.], seq 1962121323:1962121327, ack 2996727281, win 63, options [TS val 968659095 ecr 1221034048], length 4`,
    );
    expect(f(kernel.TCP_RST_ACK)).toBe(`${A} > ${B}, IPv4 198.18.0.1.8080 > 198.18.0.2.49412: TCP [R.], seq 0, ack 3861128561, win 0, length 0`);
  });

  it('summarises UDP and ICMP over both families', () => {
    expect(f(kernel.UDP4)).toBe(`${B} > ${A}, IPv4 198.18.0.2.60696 > 198.18.0.1.9999: UDP, length 13`);
    expect(f(kernel.UDP6)).toBe(`${B} > ${A}, IPv6 2001:2::2.37870 > 2001:2::1.9999: UDP, length 8`);
    expect(f(kernel.ICMP_ECHO_REQUEST)).toBe(`${A} > ${B}, IPv4 198.18.0.1 > 198.18.0.2: ICMP echo request, id 7384, seq 1, length 16`);
    expect(f(kernel.ICMP_PORT_UNREACHABLE)).toBe(`${A} > ${B}, IPv4 198.18.0.1 > 198.18.0.2: ICMP unreachable, code 3, length 41`);
    expect(f(kernel.ICMPV6_PORT_UNREACHABLE)).toBe(`${A} > ${B}, IPv6 2001:2::1 > 2001:2::2: ICMP6 unreachable, code 4, length 56`);
  });

  it('summarises neighbor discovery', () => {
    expect(f(kernel.NEIGHBOR_SOLICITATION)).toBe(`${A} > 33:33:ff:00:00:02, IPv6 2001:2::1 > ff02::1:ff00:2: ICMP6 neighbor solicitation, who has 2001:2::2, source lladdr ${A}`);
    expect(f(kernel.NEIGHBOR_ADVERTISEMENT)).toBe(`${B} > ${A}, IPv6 2001:2::2 > 2001:2::1: ICMP6 neighbor advertisement, tgt is 2001:2::2 [SO], target lladdr ${B}`);
    expect(f(kernel.MLDV2_REPORT)).toBe(`${A} > 33:33:00:00:00:16, IPv6 [hopopts] fe80::5eff:fe10:1 > ff02::16: ICMP6 type 143, code 0, length 48, hlim 1`);
  });

  it('summarises fragments', () => {
    expect(f(kernel.IPV4_FRAGMENT_FIRST)).toBe(`${A} > ${B}, IPv4 198.18.0.1 > 198.18.0.2: ICMP echo request, id 7385, seq 1, length 1472 (fragment, id 14653, offset 0+)`);
    expect(f(kernel.IPV4_FRAGMENT_LAST)).toBe(`${A} > ${B}, IPv4 198.18.0.1 > 198.18.0.2: icmp fragment, id 14653, offset 1480, length 528`);
    expect(f(kernel.IPV6_FRAGMENT_LAST)).toBe(`${A} > ${B}, IPv6 [fragment] 2001:2::1 > 2001:2::2: icmp6 fragment, id 3308812490, offset 1232, length 776`);
  });

  it('shows a VLAN tag and unknown EtherTypes', () => {
    expect(formatFrame(hex('02005e100002 02005e100001 8100 b064 88cc 0000'))).toBe(`${A} > ${B}, vlan 100, p 5, dei, ethertype 0x88cc, length 2`);
    expect(formatFrame(hex('02005e100002 02005e100001 0026 4242'))).toBe(`${A} > ${B}, 802.3 length 38, length 2`);
  });

  it('names what it could not parse', () => {
    expect(formatFrame(hex('02005e1000'))).toBe('Ethernet [eth-truncated], length 5');
    expect(formatFrame(hex('02005e100002 02005e100001 88a8 0064 8100 0001 0800'))).toBe('Ethernet [vlan-qinq], length 22');
    expect(formatFrame(hex(kernel.TCP_SYN).subarray(0, 30))).toBe(`${B} > ${A}, IPv4 [ipv4-truncated], length 16`);
    expect(formatIpv6Packet(hex('60'))).toBe('IPv6 [ipv6-truncated], length 1');
    const badTcp = hex(kernel.TCP_SYN).slice(14);
    badTcp[32] = 0x30; // data offset 3
    expect(formatIpv4Datagram(badTcp)).toBe('IPv4 198.18.0.2 > 198.18.0.1: TCP [tcp-bad-data-offset], length 40');
  });

  it('flags bad checksums instead of hiding the packet', () => {
    const ip = hex(kernel.UDP4).slice(14);
    ip[8] = 1; // TTL 1, IP checksum now wrong
    ip[27] = (ip[27] as number) ^ 0xff; // UDP payload changed, UDP checksum now wrong
    expect(formatIpv4Datagram(ip)).toBe('IPv4 198.18.0.2.60696 > 198.18.0.1.9999: UDP, length 13 [bad udp cksum] [bad ip cksum], ttl 1');
    const syn = hex(kernel.TCP_SYN).slice(14);
    syn[34] = 0; // window changed
    expect(formatIpv4Datagram(syn)).toContain('[bad tcp cksum]');
  });

  it('never throws on any prefix of any kernel frame', () => {
    for (const frame of Object.values(kernel)) {
      const bytes = hex(frame);
      for (let n = 0; n <= bytes.length; n++) expect(typeof formatFrame(bytes.slice(0, n))).toBe('string');
    }
    expect(formatFrame(concat(new Uint8Array(0)))).toBe('Ethernet [eth-truncated], length 0');
  });
});
