/**
 * Seeded fuzzing of every wire parser (STYLE rule 2: parsers are total). Random byte strings
 * and mutations of real kernel frames go through the whole receive chain and through each
 * parser on its own; nothing may throw, and every rejection must be a declared DropReason.
 * The seed is fixed, so a failure reproduces; the failing input is printed as hex.
 */
import { describe, expect, it } from 'vitest';
import { parseArp } from '../../../src/wire/arp.js';
import { pseudoHeaderSumV4, pseudoHeaderSumV6 } from '../../../src/wire/checksum.js';
import { DROP_REASONS } from '../../../src/wire/drop-reason.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, parseEthernet } from '../../../src/wire/ethernet.js';
import { parseIcmp } from '../../../src/wire/icmp.js';
import { parseIcmpv6 } from '../../../src/wire/icmpv6.js';
import { IP_PROTO_ICMP, IP_PROTO_ICMPV6, IP_PROTO_TCP, IP_PROTO_UDP } from '../../../src/wire/ip-proto.js';
import { fillIpv4Checksum, parseIpv4 } from '../../../src/wire/ipv4.js';
import { Ipv4Reassembler } from '../../../src/wire/ipv4-reassembly.js';
import { parseIpv6, walkIpv6Extensions } from '../../../src/wire/ipv6.js';
import { Ipv6Reassembler } from '../../../src/wire/ipv6-reassembly.js';
import { parseNdiscOptions } from '../../../src/wire/ndisc.js';
import { formatFrame } from '../../../src/wire/pretty.js';
import { SeededRandom } from '../../../src/wire/random.js';
import type { Result } from '../../../src/wire/result.js';
import { parseTcp, parseTcpOptions } from '../../../src/wire/tcp.js';
import { parseUdp } from '../../../src/wire/udp.js';
import { parseVnet } from '../../../src/wire/vnet.js';
import * as kernel from '../../fixtures/wire/kernel-frames.js';
import { concat, hex, toHex } from '../../helpers/hex.js';

const ITERATIONS = 210_000;
const KNOWN = new Set<string>(DROP_REASONS);

/** Extra seeds the kernel capture lacks: a tagged frame, a stacked tag, a Router Advertisement, IPv4 options, IPv6 extension headers. */
const EXTRA = [
  '02005e100002 02005e100001 8100 b064 0800 4500001c0000400040 01 0000 c6120001 c6120002 0800f7ff00000000',
  '02005e100002 02005e100001 88a8 0064 8100 00c8 0800 45',
  '333300000001 02005e1000fe 86dd 6000000000403aff fe800000000000000000000000000001 ff020000000000000000000000000001' +
    '8600da41 40400708 00000000 00000000 0101 02005e1000fe 0501 0000 000005dc 0304 40c0 00015180 00003840 00000000 20010002000000000000000000000000',
  '02005e100002 02005e100001 0800 4600002000004000 4002 0000 c6120001 c6120002 94040000 1100000000000000',
  '02005e100002 02005e100001 86dd 6000000000203c40 20010002000000000000000000000001 20010002000000000000000000000002' +
    '2b00010400000000 3b02040000000000 0000000000000000 0000000000000000',
];

const SEEDS: Uint8Array[] = [...Object.values(kernel).map((f) => hex(f)), ...EXTRA.map((f) => hex(f))];

interface Tally {
  inputs: number;
  accepted: Map<string, number>;
  violations: string[];
}

function check(t: Tally, name: string, input: Uint8Array, run: () => Result<unknown, string>): void {
  let r: Result<unknown, string>;
  try {
    r = run();
  } catch (e) {
    if (t.violations.length < 5) t.violations.push(`${name} threw ${String(e)} on ${toHex(input)}`);
    return;
  }
  if (r.ok) t.accepted.set(name, (t.accepted.get(name) ?? 0) + 1);
  else if (!KNOWN.has(r.reason) && t.violations.length < 5) t.violations.push(`${name} returned undeclared reason ${r.reason} on ${toHex(input)}`);
}

/** Every parser on the raw bytes, then the whole receive chain from Ethernet down. */
function runAll(t: Tally, bytes: Uint8Array, rng: SeededRandom, r4: Ipv4Reassembler, r6: Ipv6Reassembler, now: number): void {
  t.inputs++;
  const a = new Uint8Array(16).map(() => rng.nextU32() & 0xff);
  const b = new Uint8Array(16).map(() => rng.nextU32() & 0xff);
  check(t, 'ethernet', bytes, () => parseEthernet(bytes));
  check(t, 'arp', bytes, () => parseArp(bytes));
  check(t, 'ipv4', bytes, () => parseIpv4(bytes));
  check(t, 'ipv4-nocsum', bytes, () => parseIpv4(bytes, { verifyChecksum: false }));
  check(t, 'ipv6', bytes, () => parseIpv6(bytes));
  check(t, 'udp', bytes, () => parseUdp(bytes, 0x1234, 6));
  check(t, 'udp-nocsum', bytes, () => parseUdp(bytes));
  check(t, 'tcp', bytes, () => parseTcp(bytes));
  check(t, 'icmp', bytes, () => parseIcmp(bytes, { verifyChecksum: false }));
  check(t, 'icmpv6', bytes, () => parseIcmpv6(bytes, a, b, { verifyChecksum: false, hopLimit: 255 }));
  check(t, 'vnet', bytes, () => parseVnet(bytes, 0, rng.nextU32() & 1 ? 10 : 12, rng.nextU32() & 0xffff));
  check(t, 'tcp-options', bytes, () => ({ ok: true, value: parseTcpOptions(bytes, 0, Math.min(bytes.length, 40)) }));
  check(t, 'ndisc-options', bytes, () => ({ ok: true, value: parseNdiscOptions(bytes, 0, bytes.length) }));
  check(t, 'ipv6-walk', bytes, () => walkIpv6Extensions(bytes, 0, bytes.length, rng.nextU32() & 0xff));
  check(t, 'pretty', bytes, () => ({ ok: true, value: formatFrame(bytes) }));

  const eth = parseEthernet(bytes);
  if (!eth.ok) return;
  const payload = eth.value.payload;
  switch (eth.value.ethertype) {
    case ETHERTYPE_ARP:
      check(t, 'chain-arp', bytes, () => parseArp(payload));
      return;
    case ETHERTYPE_IPV4: {
      const ip = parseIpv4(payload, { verifyChecksum: false });
      if (!ip.ok) return;
      const v = ip.value;
      check(t, 'reassembly-v4', bytes, () => r4.add(v, now));
      const pseudo = (p: number): number => pseudoHeaderSumV4(v.src, v.dst, p, v.payload.length);
      if (v.protocol === IP_PROTO_TCP) check(t, 'chain-tcp4', bytes, () => parseTcp(v.payload, { pseudoHeaderSum: pseudo(IP_PROTO_TCP) }));
      if (v.protocol === IP_PROTO_UDP) check(t, 'chain-udp4', bytes, () => parseUdp(v.payload, pseudo(IP_PROTO_UDP)));
      if (v.protocol === IP_PROTO_ICMP) check(t, 'chain-icmp', bytes, () => parseIcmp(v.payload));
      return;
    }
    case ETHERTYPE_IPV6: {
      const ip = parseIpv6(payload);
      if (!ip.ok) return;
      const v = ip.value;
      check(t, 'reassembly-v6', bytes, () => r6.add(v, now));
      const pseudo = (p: number): number => pseudoHeaderSumV6(v.src, v.dst, p, v.upperPayload.length);
      if (v.fragment !== undefined) return;
      if (v.upperProtocol === IP_PROTO_TCP) check(t, 'chain-tcp6', bytes, () => parseTcp(v.upperPayload, { pseudoHeaderSum: pseudo(IP_PROTO_TCP) }));
      if (v.upperProtocol === IP_PROTO_UDP) check(t, 'chain-udp6', bytes, () => parseUdp(v.upperPayload, pseudo(IP_PROTO_UDP), 6));
      if (v.upperProtocol === IP_PROTO_ICMPV6) {
        check(t, 'chain-icmpv6', bytes, () => parseIcmpv6(v.upperPayload, v.src, v.dst, { hopLimit: v.hopLimit }));
        check(t, 'chain-icmpv6-nocsum', bytes, () => parseIcmpv6(v.upperPayload, v.src, v.dst, { hopLimit: v.hopLimit, verifyChecksum: false }));
      }
      return;
    }
  }
}

function pick<T>(rng: SeededRandom, items: readonly T[]): T {
  return items[rng.nextU32() % items.length] as T;
}

/** One mutation of a seed frame: bit flips, byte stores, truncation, extension, splices, field-boundary values. */
function mutate(rng: SeededRandom, seed: Uint8Array): Uint8Array {
  let b: Uint8Array = seed.slice();
  const rounds = 1 + (rng.nextU32() % 4);
  for (let k = 0; k < rounds; k++) {
    const at = b.length === 0 ? 0 : rng.nextU32() % b.length;
    switch (rng.nextU32() % 8) {
      case 0:
        if (b.length > 0) b[at] = (b[at] as number) ^ (1 << (rng.nextU32() % 8));
        break;
      case 1:
        if (b.length > 0) b[at] = rng.nextU32() & 0xff;
        break;
      case 2:
        if (b.length > 0) b[at] = pick(rng, [0x00, 0x01, 0x7f, 0x80, 0xff, 0x05, 0x0f, 0x3a, 0x2c, 0x06, 0x11]);
        break;
      case 3:
        b = b.slice(0, rng.nextU32() % (b.length + 1));
        break;
      case 4:
        b = concat(b, new Uint8Array(rng.nextU32() % 64).map(() => rng.nextU32() & 0xff));
        break;
      case 5: {
        const other = pick(rng, SEEDS);
        const from = rng.nextU32() % (other.length + 1);
        b = concat(b.subarray(0, at), other.subarray(from, from + (rng.nextU32() % 48)), b.subarray(at));
        break;
      }
      case 6:
        b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + (rng.nextU32() % 16))));
        break;
      default:
        // A 16-bit field set to a boundary value (lengths, offsets, ports).
        if (b.length > 1) {
          const v = pick(rng, [0, 1, 7, 8, 20, 40, 0x0fff, 0x8000, 0xfffe, 0xffff, b.length, b.length - 14]);
          b[at] = (v >>> 8) & 0xff;
          if (at + 1 < b.length) b[at + 1] = v & 0xff;
        }
    }
  }
  // Half the time, repair the IPv4 header checksum so the mutation reaches the layers below it.
  if (rng.nextU32() & 1 && b.length >= 34 && b[12] === 0x08 && b[13] === 0x00 && ((b[14] as number) >> 4) === 4) {
    const ihl = ((b[14] as number) & 0x0f) * 4;
    if (ihl >= 20 && 14 + ihl <= b.length) fillIpv4Checksum(b.subarray(14), 0);
  }
  return b;
}

describe('wire parsers under fuzzing', () => {
  it(`never throw and only return declared drop reasons over ${ITERATIONS} seeded inputs`, () => {
    const rng = new SeededRandom(0xc41e);
    const t: Tally = { inputs: 0, accepted: new Map(), violations: [] };
    const limits = { maxDatagrams: 8, maxBytes: 16 * 1024, timeoutMs: 500 };
    const r4 = new Ipv4Reassembler(limits);
    const r6 = new Ipv6Reassembler(limits);
    let now = 0;
    for (let i = 0; i < ITERATIONS && t.violations.length === 0; i++) {
      now += 1;
      if ((i & 1023) === 0) {
        r4.expire(now);
        r6.expire(now);
      }
      const mode = rng.nextU32() % 10;
      let input: Uint8Array;
      if (mode < 2) {
        input = new Uint8Array(rng.nextU32() % 160).map(() => rng.nextU32() & 0xff);
      } else if (mode < 3) {
        // Random bytes behind a valid Ethernet header, so the IP and ARP parsers see random input.
        const ethertype = pick(rng, [ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_ARP]);
        const body = new Uint8Array(rng.nextU32() % 120).map(() => rng.nextU32() & 0xff);
        if (body.length > 0) body[0] = ethertype === ETHERTYPE_IPV4 ? 0x40 | (body[0] as number & 0x0f) : ethertype === ETHERTYPE_IPV6 ? 0x60 : (body[0] as number);
        input = concat(hex('02005e100002 02005e100001'), new Uint8Array([ethertype >>> 8, ethertype & 0xff]), body);
      } else {
        input = mutate(rng, pick(rng, SEEDS));
      }
      runAll(t, input, rng, r4, r6, now);
      const s4 = r4.stats;
      const s6 = r6.stats;
      if (s4.bytesHeld > limits.maxBytes || s6.bytesHeld > limits.maxBytes || s4.datagramsInProgress > limits.maxDatagrams || s6.datagramsInProgress > limits.maxDatagrams) {
        t.violations.push(`reassembly limits exceeded: ${JSON.stringify([s4, s6])}`);
      }
    }
    expect(t.violations).toEqual([]);
    expect(t.inputs).toBe(ITERATIONS);
    // The corpus reaches deep: every chain parser accepted some inputs, so the test exercises more than header checks.
    for (const name of ['ethernet', 'arp', 'ipv4', 'ipv6', 'chain-tcp4', 'chain-udp4', 'chain-icmp', 'chain-udp6', 'chain-icmpv6', 'reassembly-v4', 'reassembly-v6'])
      expect(t.accepted.get(name) ?? 0, name).toBeGreaterThan(0);
  });
});
