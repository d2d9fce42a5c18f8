/**
 * One million random and mutated frames through the whole receive path (SimLink, offload
 * target, ndis binding, host stack with a listening TCP server) in simulated time. No
 * exception may escape, and every frame must end either handled or counted under a named
 * drop reason: rxFrames = rxHandled + drops, with no 'internal-error'.
 *
 * The corpus starts from valid frames of every kind the stack understands (ARP, ICMP echo,
 * IPv4 options and fragments, IPv6 extension headers and fragments, neighbor discovery, UDP,
 * TCP handshakes and data to a listener) and mutates them: truncation, extension, bit flips,
 * random bytes, hostile length fields, overlapping fragment offsets, broken option lengths.
 * Half of the mutants get their checksums repaired so they reach the deeper layers.
 */
import { describe, expect, it } from 'vitest';
import { parseIpv4Address, parseIpv6Address } from '../../../src/wire/addr.js';
import { ARP_OP_REPLY, ARP_OP_REQUEST, emitArp } from '../../../src/wire/arp.js';
import { finishChecksum, pseudoHeaderSumV4, pseudoHeaderSumV6, sum16 } from '../../../src/wire/checksum.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { DROP_REASONS } from '../../../src/wire/drop-reason.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, emitEthernetHeader } from '../../../src/wire/ethernet.js';
import { emitIcmp } from '../../../src/wire/icmp.js';
import { emitIcmpv6 } from '../../../src/wire/icmpv6.js';
import { IP_PROTO_FRAGMENT, IP_PROTO_HOPOPTS, IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_TCP, IP_PROTO_UDP } from '../../../src/wire/ip-proto.js';
import { emitIpv4Header } from '../../../src/wire/ipv4.js';
import { emitIpv6Header } from '../../../src/wire/ipv6.js';
import { SeededRandom } from '../../../src/wire/random.js';
import { seq } from '../../../src/wire/seq.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, emitTcp } from '../../../src/wire/tcp.js';
import { emitUdp } from '../../../src/wire/udp.js';
import { SimLink } from '../../../src/link/sim-link.js';
import { OffloadTarget } from '../../../src/target/target.js';
import { bindProtocol } from '../../../src/ndis/binding.js';
import { HostStack } from '../../../src/host/stack.js';

const FRAMES = 1_000_000;
const OUR_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 2);
const PEER_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 1);
const OUR4 = parseIpv4Address('198.18.0.2') as number;
const PEER4 = parseIpv4Address('198.18.0.1') as number;
const OUR6 = parseIpv6Address('2001:2::2') as Uint8Array;
const PEER6 = parseIpv6Address('2001:2::1') as Uint8Array;
const SOLICITED6 = parseIpv6Address('ff02::1:ff00:2') as Uint8Array;

function frame(size: number, build: (b: Uint8Array) => number): Uint8Array {
  const b = new Uint8Array(size);
  return b.subarray(0, build(b));
}

function eth(b: Uint8Array, ethertype: number, dst = OUR_MAC): number {
  return emitEthernetHeader({ dst, src: PEER_MAC, ethertype }, b, 0);
}

function ipv4Frame(protocol: number, payloadLen: number, write: (b: Uint8Array, off: number, pseudo: number) => void, extra: Partial<Parameters<typeof emitIpv4Header>[0]> = {}): Uint8Array {
  return frame(14 + 60 + payloadLen, (b) => {
    eth(b, ETHERTYPE_IPV4);
    const h = emitIpv4Header({ src: PEER4, dst: OUR4, protocol, ttl: 64, payloadLength: payloadLen, identification: 7, ...extra }, b, 14);
    write(b, 14 + h, pseudoHeaderSumV4(PEER4, OUR4, protocol, payloadLen));
    return 14 + h + payloadLen;
  });
}

function ipv6Frame(nextHeader: number, payloadLen: number, write: (b: Uint8Array, off: number) => void, dst = OUR6, hopLimit = 64): Uint8Array {
  return frame(14 + 40 + payloadLen, (b) => {
    eth(b, ETHERTYPE_IPV6);
    emitIpv6Header({ src: PEER6, dst, nextHeader, hopLimit, payloadLength: payloadLen }, b, 14);
    write(b, 54);
    return 54 + payloadLen;
  });
}

function tcpSegment(flags: number, payload: Uint8Array, srcPort: number, seqNumber: number, options = {}) {
  return { srcPort, dstPort: 80, seqNumber: seq(seqNumber), ackNumber: seq(1), flags, windowLen: 65535, urgentPointer: 0, options, payload };
}

function corpus(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const data = new Uint8Array(100).map((_, i) => i);
  out.push(
    frame(60, (b) => {
      eth(b, ETHERTYPE_ARP, new Uint8Array(6).fill(0xff));
      return 14 + emitArp({ operation: ARP_OP_REQUEST, senderHardwareAddr: PEER_MAC, senderProtocolAddr: PEER4, targetHardwareAddr: new Uint8Array(6), targetProtocolAddr: OUR4 }, b, 14);
    }),
    frame(60, (b) => {
      eth(b, ETHERTYPE_ARP);
      return 14 + emitArp({ operation: ARP_OP_REPLY, senderHardwareAddr: PEER_MAC, senderProtocolAddr: PEER4, targetHardwareAddr: OUR_MAC, targetProtocolAddr: OUR4 }, b, 14);
    }),
  );
  const echo = { kind: 'echo-request' as const, identifier: 1, sequence: 1, data };
  out.push(ipv4Frame(IP_PROTO_ICMP, 108, (b, off) => void emitIcmp(echo, b, off)));
  out.push(ipv4Frame(IP_PROTO_ICMP, 108, (b, off) => void emitIcmp(echo, b, off), { options: Uint8Array.of(1, 1, 1, 0) }));
  out.push(ipv4Frame(IP_PROTO_ICMP, 64, (b, off) => b.set(data.subarray(0, 64), off), { moreFragments: true, identification: 99 }));
  out.push(ipv4Frame(IP_PROTO_ICMP, 44, (b, off) => b.set(data.subarray(0, 44), off), { fragmentOffset: 64, identification: 99 }));
  out.push(ipv4Frame(IP_PROTO_UDP, 8 + 20, (b, off, p) => void emitUdp({ srcPort: 5000, dstPort: 9999, payload: data.subarray(0, 20) }, b, off, p)));
  for (const [flags, payload, port] of [
    [TCP_SYN, new Uint8Array(0), 40000],
    [TCP_ACK, new Uint8Array(0), 40000],
    [TCP_ACK | TCP_PSH, data, 40000],
    [TCP_FIN | TCP_ACK, new Uint8Array(0), 40000],
    [TCP_SYN, new Uint8Array(0), 40001],
  ] as const) {
    const opts = flags === TCP_SYN ? { mss: 1460, windowScale: 7, sackPermitted: true, timestamps: { tsVal: 1, tsEcr: 0 } } : { timestamps: { tsVal: 2, tsEcr: 1 } };
    const seg = tcpSegment(flags, payload, port, 1000, opts);
    const len = 20 + 20 + payload.length;
    out.push(ipv4Frame(IP_PROTO_TCP, len, (b, off, p) => void emitTcp(seg, b, off, { kind: 'full', pseudoHeaderSum: p })));
    out.push(
      ipv6Frame(IP_PROTO_TCP, len, (b, off) => void emitTcp(seg, b, off, { kind: 'full', pseudoHeaderSum: pseudoHeaderSumV6(PEER6, OUR6, IP_PROTO_TCP, len) })),
    );
  }
  out.push(ipv6Frame(IP_PROTO_ICMPV6, 108, (b, off) => void emitIcmpv6(echo, b, off, PEER6, OUR6)));
  out.push(
    ipv6Frame(
      IP_PROTO_ICMPV6,
      32,
      (b, off) => void emitIcmpv6({ kind: 'neighbor-solicitation', target: OUR6, sourceLinkAddr: PEER_MAC }, b, off, PEER6, SOLICITED6),
      SOLICITED6,
      255,
    ),
  );
  out.push(
    ipv6Frame(IP_PROTO_ICMPV6, 32, (b, off) => void emitIcmpv6({ kind: 'neighbor-advertisement', router: false, solicited: true, override: true, target: PEER6, targetLinkAddr: PEER_MAC }, b, off, PEER6, OUR6), OUR6, 255),
  );
  // Hop-by-hop options (PadN), then UDP.
  out.push(
    ipv6Frame(IP_PROTO_HOPOPTS, 8 + 8 + 10, (b, off) => {
      b.set([IP_PROTO_UDP, 0, 1, 4, 0, 0, 0, 0], off);
      emitUdp({ srcPort: 1, dstPort: 2, payload: data.subarray(0, 10) }, b, off + 8, pseudoHeaderSumV6(PEER6, OUR6, IP_PROTO_UDP, 18));
    }),
  );
  // A first fragment of an ICMPv6 echo.
  out.push(
    ipv6Frame(IP_PROTO_FRAGMENT, 8 + 64, (b, off) => {
      b.set([IP_PROTO_ICMPV6, 0, 0, 1, 0, 0, 0, 42], off);
      b.set(data.subarray(0, 64), off + 8);
    }),
  );
  return out;
}

/** Recomputes IPv4 header and transport checksums where the frame's own lengths allow it. */
function repairChecksums(b: Uint8Array): void {
  if (b.length < 14) return;
  const ethertype = ((b[12] as number) << 8) | (b[13] as number);
  if (ethertype === ETHERTYPE_IPV4 && b.length >= 34) {
    const ihl = ((b[14] as number) & 0x0f) * 4;
    if (ihl < 20 || 14 + ihl > b.length) return;
    b[24] = 0;
    b[25] = 0;
    const c = finishChecksum(sum16(b, 14, ihl));
    b[24] = c >> 8;
    b[25] = c & 0xff;
    const total = Math.min(((b[16] as number) << 8) | (b[17] as number), b.length - 14);
    const l4 = 14 + ihl;
    const l4len = total - ihl;
    const proto = b[23] as number;
    const src = ((b[26]! << 24) | (b[27]! << 16) | (b[28]! << 8) | b[29]!) >>> 0;
    const dst = ((b[30]! << 24) | (b[31]! << 16) | (b[32]! << 8) | b[33]!) >>> 0;
    fixL4(b, l4, l4len, proto, proto === IP_PROTO_ICMP ? 0 : pseudoHeaderSumV4(src, dst, proto, Math.max(0, l4len)));
  } else if (ethertype === ETHERTYPE_IPV6 && b.length >= 54) {
    const plen = Math.min(((b[18] as number) << 8) | (b[19] as number), b.length - 54);
    const proto = b[20] as number;
    fixL4(b, 54, plen, proto, pseudoHeaderSumV6(b.subarray(22, 38), b.subarray(38, 54), proto, Math.max(0, plen)));
  }
}

function fixL4(b: Uint8Array, off: number, len: number, proto: number, pseudo: number): void {
  const at = proto === IP_PROTO_TCP ? 16 : proto === IP_PROTO_UDP ? 6 : proto === IP_PROTO_ICMP || proto === IP_PROTO_ICMPV6 ? 2 : -1;
  if (at < 0 || len < at + 2 || off + len > b.length) return;
  b[off + at] = 0;
  b[off + at + 1] = 0;
  const c = finishChecksum(sum16(b, off, len, pseudo));
  b[off + at] = c >> 8;
  b[off + at + 1] = c & 0xff;
}

function mutate(rng: SeededRandom, base: Uint8Array): Uint8Array {
  let b = base.slice();
  const rounds = 1 + (rng.nextU32() % 4);
  for (let r = 0; r < rounds; r++) {
    const pick = rng.nextU32() % 9;
    const at = b.length === 0 ? 0 : rng.nextU32() % b.length;
    switch (pick) {
      case 0: // truncate
        b = b.subarray(0, rng.nextU32() % (b.length + 1));
        break;
      case 1: {
        // extend with random bytes
        const extra = new Uint8Array(rng.nextU32() % 64);
        for (let i = 0; i < extra.length; i++) extra[i] = rng.nextU32() & 0xff;
        const n = new Uint8Array(b.length + extra.length);
        n.set(b);
        n.set(extra, b.length);
        b = n;
        break;
      }
      case 2: // bit flip
        if (b.length > 0) b[at] = (b[at] as number) ^ (1 << (rng.nextU32() % 8));
        break;
      case 3: // random byte
        if (b.length > 0) b[at] = rng.nextU32() & 0xff;
        break;
      case 4: // hostile IP length fields (IPv4 total length, IPv6 payload length)
        if (b.length > 19) {
          const v = rng.nextU32() & 0xffff;
          b[16] = v >> 8;
          b[17] = v & 0xff;
          if (rng.nextU32() % 2 === 0) {
            b[18] = v & 0xff;
            b[19] = v >> 8;
          }
        }
        break;
      case 5: // fragment fields: offsets that overlap or run past 64 KiB
        if (b.length > 21) {
          b[20] = rng.nextU32() & 0x3f;
          b[21] = rng.nextU32() & 0xff;
        }
        break;
      case 6: // header length / data offset nibbles
        if (b.length > 14) b[14] = ((b[14] as number) & 0xf0) | (rng.nextU32() & 0x0f);
        if (b.length > 46) b[46] = (rng.nextU32() & 0xf0) | ((b[46] as number) & 0x0f);
        break;
      case 7: // option lengths (TCP options start at 54 over IPv4 without options, 74 over IPv6)
        for (const o of [55, 56, 57, 75, 76, 77]) if (b.length > o && rng.nextU32() % 2 === 0) b[o] = rng.nextU32() & 0xff;
        break;
      case 8: // a different ethertype or destination MAC
        if (b.length > 13 && rng.nextU32() % 2 === 0) b[12 + (rng.nextU32() % 2)] = rng.nextU32() & 0xff;
        else if (b.length > 5) b[rng.nextU32() % 6] = rng.nextU32() & 0xff;
        break;
    }
  }
  if (rng.nextU32() % 2 === 0) repairChecksums(b);
  return b;
}

describe('host receive path under hostile input', () => {
  it(`survives ${FRAMES.toLocaleString('en')} random and mutated frames, counting every one as handled or dropped by name`, () => {
    const scheduler = new SimScheduler();
    const link = new SimLink(scheduler, { name: 'fuzz0', batchSize: 64 });
    const target = new OffloadTarget({ link, macAddress: OUR_MAC });
    const stack = new HostStack({
      interface: { mac: OUR_MAC, ipv4: { address: OUR4, prefixLength: 24 }, ipv6: { address: OUR6, prefixLength: 64 } },
      scheduler,
      random: new SeededRandom(1),
      secret: new Uint8Array(32).fill(7),
      dadTransmits: 0,
      tcp: { synRetries: 1, maxRetransmits: 2 },
    });
    bindProtocol(stack, target);
    void stack.start();
    const server = stack.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
    });
    server.listen(80);

    const rng = new SeededRandom(20261122);
    const seeds = corpus();
    const batch: Uint8Array[] = [];
    for (let i = 0; i < FRAMES; i++) {
      let f: Uint8Array;
      const kind = rng.nextU32() % 10;
      if (kind < 2) {
        f = new Uint8Array(rng.nextU32() % 1600);
        for (let k = 0; k < f.length; k++) f[k] = rng.nextU32() & 0xff;
        if (kind === 1 && f.length >= 14) f.set(OUR_MAC, 0);
      } else if (kind === 2) {
        f = (seeds[rng.nextU32() % seeds.length] as Uint8Array).slice();
      } else {
        f = mutate(rng, seeds[rng.nextU32() % seeds.length] as Uint8Array);
      }
      batch.push(f);
      if (batch.length === 64) {
        link.deliverNow(batch);
        batch.length = 0;
        scheduler.advance(1);
        link.takeSent();
      }
    }
    link.deliverNow(batch);
    scheduler.advance(1000);
    link.takeSent();

    const s = stack.stats;
    expect(stack.lastInternalError).toBeUndefined();
    expect(stack.internalErrors).toBe(0);
    expect(target.stats.indicatedFrames).toBe(FRAMES);
    expect(s.rxFrames).toBe(FRAMES);
    expect(s.rxHandled + s.drops.total()).toBe(FRAMES);
    const known = new Set<string>(DROP_REASONS);
    for (const reason of Object.keys(s.drops.toJSON())) expect(known.has(reason), reason).toBe(true);
    // The corpus reaches the deep layers, not only the parsers.
    expect(s.icmpEchoRepliesOut).toBeGreaterThan(1000);
    expect(s.icmpv6EchoRepliesOut).toBeGreaterThan(1000);
    expect(s.tcpIn).toBeGreaterThan(10_000);
    expect(s.arpRequestsIn).toBeGreaterThan(1000);
    stack.stop();
  }, 300_000);
});
