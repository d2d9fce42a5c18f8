/**
 * One-line, tcpdump-like summaries of frames for traces, logs and test failure messages
 * (smoltcp's pretty_print). `formatFrame` never throws: every layer is parsed with the total
 * parsers, and what could not be parsed is named by its drop reason in brackets, e.g.
 * `IPv4 [ipv4-truncated]`. Checksums are checked and a bad one is flagged, not rejected, so a
 * trace still shows the segment (frames captured before a NIC fills checksums show as bad).
 */
import { formatIpv4Address, formatIpv6Address, formatMac, type Ipv6Address } from './addr.js';
import { parseArp, ARP_OP_REPLY, ARP_OP_REQUEST } from './arp.js';
import { fold16, pseudoHeaderSumV4, pseudoHeaderSumV6, sum16 } from './checksum.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_MIN, formatEthertype, parseEthernet } from './ethernet.js';
import { parseIcmp, type IcmpRepr } from './icmp.js';
import { parseIcmpv6, type Icmpv6Repr } from './icmpv6.js';
import { IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_TCP, IP_PROTO_UDP, formatIpProtocol } from './ip-proto.js';
import { isIpv4Fragment, parseIpv4 } from './ipv4.js';
import { parseIpv6 } from './ipv6.js';
import { TCP_ACK, formatTcpFlags, parseTcp, type TcpOptions } from './tcp.js';
import { parseUdp } from './udp.js';

/** A summary of one Ethernet frame. */
export function formatFrame(frame: Uint8Array): string {
  const eth = parseEthernet(frame);
  if (!eth.ok) return `Ethernet [${eth.reason}], length ${frame.length}`;
  const e = eth.value;
  let head = `${formatMac(e.src)} > ${formatMac(e.dst)}`;
  if (e.vlan !== undefined) head += `, vlan ${e.vlan.vid}, p ${e.vlan.pcp}${e.vlan.dei ? ', dei' : ''}`;
  return `${head}, ${formatEthernetPayload(e.ethertype, e.payload)}`;
}

function formatEthernetPayload(ethertype: number, payload: Uint8Array): string {
  switch (ethertype) {
    case ETHERTYPE_IPV4:
      return formatIpv4Datagram(payload);
    case ETHERTYPE_IPV6:
      return formatIpv6Packet(payload);
    case ETHERTYPE_ARP:
      return formatArp(payload);
    default:
      if (ethertype < ETHERTYPE_MIN) return `802.3 length ${ethertype}, length ${payload.length}`;
      return `ethertype ${formatEthertype(ethertype)}, length ${payload.length}`;
  }
}

function formatArp(bytes: Uint8Array): string {
  const r = parseArp(bytes);
  if (!r.ok) return `ARP [${r.reason}], length ${bytes.length}`;
  const a = r.value;
  if (a.operation === ARP_OP_REQUEST) return `ARP, Request who-has ${formatIpv4Address(a.targetProtocolAddr)} tell ${formatIpv4Address(a.senderProtocolAddr)}`;
  if (a.operation === ARP_OP_REPLY) return `ARP, Reply ${formatIpv4Address(a.senderProtocolAddr)} is-at ${formatMac(a.senderHardwareAddr)}`;
  return `ARP, operation ${a.operation}`;
}

/** A summary of one IPv4 datagram. */
export function formatIpv4Datagram(bytes: Uint8Array): string {
  let r = parseIpv4(bytes);
  let flag = '';
  if (!r.ok && r.reason === 'ipv4-bad-checksum') {
    r = parseIpv4(bytes, { verifyChecksum: false });
    flag = ' [bad ip cksum]';
  }
  if (!r.ok) return `IPv4 [${r.reason}], length ${bytes.length}`;
  const ip = r.value;
  const src = formatIpv4Address(ip.src);
  const dst = formatIpv4Address(ip.dst);
  const ttl = ip.ttl <= 1 ? `, ttl ${ip.ttl}` : '';
  if (isIpv4Fragment(ip) && ip.fragmentOffset !== 0) {
    return `IPv4 ${src} > ${dst}: ${formatIpProtocol(ip.protocol)} fragment, id ${ip.identification}, offset ${ip.fragmentOffset}${ip.moreFragments ? '+' : ''}, length ${ip.payload.length}${flag}${ttl}`;
  }
  const frag = ip.moreFragments ? ` (fragment, id ${ip.identification}, offset 0+)` : '';
  const pseudo = (protocol: number): number => pseudoHeaderSumV4(ip.src, ip.dst, protocol, ip.payload.length);
  return `IPv4 ${formatUpper(ip.protocol, src, dst, ip.payload, frag === '' ? pseudo : undefined, 4)}${frag}${flag}${ttl}`;
}

/** A summary of one IPv6 packet. */
export function formatIpv6Packet(bytes: Uint8Array): string {
  const r = parseIpv6(bytes);
  if (!r.ok) return `IPv6 [${r.reason}], length ${bytes.length}`;
  const ip = r.value;
  const src = formatIpv6Address(ip.src);
  const dst = formatIpv6Address(ip.dst);
  const ext = ip.extensionHeaders.length > 0 ? ` [${ip.extensionHeaders.map((h) => formatIpProtocol(h.type)).join(',')}]` : '';
  const hop = ip.hopLimit <= 1 ? `, hlim ${ip.hopLimit}` : '';
  if (ip.fragment !== undefined) {
    const f = ip.fragment;
    return `IPv6${ext} ${src} > ${dst}: ${formatIpProtocol(ip.upperProtocol)} fragment, id ${f.identification}, offset ${f.offset}${f.moreFragments ? '+' : ''}, length ${ip.upperPayload.length}${hop}`;
  }
  const pseudo = (protocol: number): number => pseudoHeaderSumV6(ip.src, ip.dst, protocol, ip.upperPayload.length);
  const upper = ip.upperProtocol === IP_PROTO_ICMPV6 ? `${src} > ${dst}: ${formatIcmpv6Message(ip.upperPayload, ip.src, ip.dst)}` : formatUpper(ip.upperProtocol, src, dst, ip.upperPayload, pseudo, 6);
  return `IPv6${ext} ${upper}${hop}`;
}

/** `src.port > dst.port: TCP ...`, or `src > dst: proto ...`; `pseudo` undefined means the payload is not a whole message. */
function formatUpper(protocol: number, src: string, dst: string, payload: Uint8Array, pseudo: ((protocol: number) => number) | undefined, family: 4 | 6): string {
  switch (protocol) {
    case IP_PROTO_TCP: {
      const t = parseTcp(payload);
      if (!t.ok) return `${src} > ${dst}: TCP [${t.reason}], length ${payload.length}`;
      const s = t.value;
      const bad = pseudo !== undefined && fold16(sum16(payload, 0, payload.length, pseudo(IP_PROTO_TCP))) !== 0xffff ? ' [bad tcp cksum]' : '';
      const len = s.payload.length;
      const seqText = len > 0 ? `${s.seqNumber}:${(s.seqNumber + len) >>> 0}` : `${s.seqNumber}`;
      const ack = s.flags & TCP_ACK ? `, ack ${s.ackNumber}` : '';
      const options = formatTcpOptions(s.options);
      return `${src}.${s.srcPort} > ${dst}.${s.dstPort}: TCP [${formatTcpFlags(s.flags)}], seq ${seqText}${ack}, win ${s.windowLen}${options}, length ${len}${bad}`;
    }
    case IP_PROTO_UDP: {
      const u = parseUdp(payload);
      if (!u.ok) return `${src} > ${dst}: UDP [${u.reason}], length ${payload.length}`;
      const d = u.value;
      let bad = '';
      if (pseudo !== undefined && (d.checksum !== 0 || family === 6) && fold16(sum16(payload, 0, d.length, pseudo(IP_PROTO_UDP))) !== 0xffff) bad = ' [bad udp cksum]';
      return `${src}.${d.srcPort} > ${dst}.${d.dstPort}: UDP, length ${d.payload.length}${bad}`;
    }
    case IP_PROTO_ICMP:
      return `${src} > ${dst}: ${formatIcmpMessage(payload, pseudo !== undefined)}`;
    default:
      return `${src} > ${dst}: ${formatIpProtocol(protocol)}, length ${payload.length}`;
  }
}

function formatTcpOptions(o: TcpOptions): string {
  const parts: string[] = [];
  if (o.mss !== undefined) parts.push(`mss ${o.mss}`);
  if (o.sackPermitted) parts.push('sackOK');
  if (o.timestamps !== undefined) parts.push(`TS val ${o.timestamps.tsVal} ecr ${o.timestamps.tsEcr}`);
  if (o.windowScale !== undefined) parts.push(`wscale ${o.windowScale}`);
  if (o.sackBlocks !== undefined) parts.push(`sack ${o.sackBlocks.length} ${o.sackBlocks.map((b) => `{${b.left}:${b.right}}`).join('')}`);
  if (o.unknown !== undefined) for (const u of o.unknown) parts.push(`opt-${u.kind}:${u.data.length}`);
  return parts.length > 0 ? `, options [${parts.join(',')}]` : '';
}

function formatIcmpMessage(bytes: Uint8Array, whole: boolean): string {
  let r = parseIcmp(bytes);
  let flag = '';
  if (!r.ok && r.reason === 'icmp-bad-checksum') {
    r = parseIcmp(bytes, { verifyChecksum: false });
    if (whole) flag = ' [bad icmp cksum]';
  }
  if (!r.ok) return `ICMP [${r.reason}], length ${bytes.length}`;
  return `ICMP ${describeIcmp(r.value)}${flag}`;
}

function describeIcmp(m: IcmpRepr): string {
  switch (m.kind) {
    case 'echo-request':
    case 'echo-reply':
      return `echo ${m.kind === 'echo-request' ? 'request' : 'reply'}, id ${m.identifier}, seq ${m.sequence}, length ${m.data.length}`;
    case 'dest-unreachable':
      return `unreachable, code ${m.code}${m.code === 4 ? `, mtu ${m.nextHopMtu}` : ''}, length ${m.invoking.length}`;
    case 'time-exceeded':
      return `time exceeded, code ${m.code}, length ${m.invoking.length}`;
    case 'parameter-problem':
      return `parameter problem, code ${m.code}, pointer ${m.pointer}`;
    case 'other':
      return `type ${m.type}, code ${m.code}, length ${m.rest.length + 4}`;
  }
}

function formatIcmpv6Message(bytes: Uint8Array, src: Ipv6Address, dst: Ipv6Address): string {
  let r = parseIcmpv6(bytes, src, dst);
  let flag = '';
  if (!r.ok && r.reason === 'icmpv6-bad-checksum') {
    r = parseIcmpv6(bytes, src, dst, { verifyChecksum: false });
    flag = ' [bad icmp6 cksum]';
  }
  if (!r.ok) return `ICMP6 [${r.reason}], length ${bytes.length}`;
  return `ICMP6 ${describeIcmpv6(r.value)}${flag}`;
}

function describeIcmpv6(m: Icmpv6Repr): string {
  const lladdr = (label: string, mac: Uint8Array | undefined): string => (mac === undefined ? '' : `, ${label} ${formatMac(mac)}`);
  switch (m.kind) {
    case 'echo-request':
    case 'echo-reply':
      return `echo ${m.kind === 'echo-request' ? 'request' : 'reply'}, id ${m.identifier}, seq ${m.sequence}, length ${m.data.length}`;
    case 'dest-unreachable':
      return `unreachable, code ${m.code}, length ${m.invoking.length}`;
    case 'packet-too-big':
      return `packet too big, mtu ${m.mtu}, length ${m.invoking.length}`;
    case 'time-exceeded':
      return `time exceeded, code ${m.code}, length ${m.invoking.length}`;
    case 'parameter-problem':
      return `parameter problem, code ${m.code}, pointer ${m.pointer}`;
    case 'router-solicitation':
      return `router solicitation${lladdr('source lladdr', m.sourceLinkAddr)}`;
    case 'router-advertisement': {
      const flags = `${m.managed ? 'M' : ''}${m.other ? 'O' : ''}`;
      const prefixes = m.prefixes.map((p) => `, prefix ${formatIpv6Address(p.prefix)}/${p.prefixLength}`).join('');
      return `router advertisement, hop limit ${m.curHopLimit}${flags ? `, flags [${flags}]` : ''}, lifetime ${m.routerLifetime}s${m.mtu !== undefined ? `, mtu ${m.mtu}` : ''}${prefixes}${lladdr('source lladdr', m.sourceLinkAddr)}`;
    }
    case 'neighbor-solicitation':
      return `neighbor solicitation, who has ${formatIpv6Address(m.target)}${lladdr('source lladdr', m.sourceLinkAddr)}`;
    case 'neighbor-advertisement': {
      const flags = `${m.router ? 'R' : ''}${m.solicited ? 'S' : ''}${m.override ? 'O' : ''}`;
      return `neighbor advertisement, tgt is ${formatIpv6Address(m.target)}${flags ? ` [${flags}]` : ''}${lladdr('target lladdr', m.targetLinkAddr)}`;
    }
    case 'other':
      return `type ${m.type}, code ${m.code}, length ${m.rest.length + 4}`;
  }
}
