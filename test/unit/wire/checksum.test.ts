import { describe, expect, it } from 'vitest';
import {
  CHECKSUM_ALL,
  finishChecksum,
  fold16,
  internetChecksum,
  pseudoHeaderSumV4,
  pseudoHeaderSumV6,
  sum16,
  swapLanes,
  updateChecksum16,
  updateChecksum32,
} from '../../../src/wire/checksum.js';
import { IP_PROTO_TCP, IP_PROTO_UDP } from '../../../src/wire/ip-proto.js';
import { parseIpv4 } from '../../../src/wire/ipv4.js';
import { parseIpv6 } from '../../../src/wire/ipv6.js';
import { SeededRandom } from '../../../src/wire/random.js';
import { TCP_SYN, UDP6 } from '../../fixtures/wire/kernel-frames.js';
import { hex } from '../../helpers/hex.js';

/** A deliberately naive RFC 1071 implementation to compare against: 32-bit accumulate, fold at the end. */
function reference(b: Uint8Array, off: number, len: number): number {
  let sum = 0;
  for (let i = 0; i < len; i += 2) {
    const hi = b[off + i] as number;
    const lo = i + 1 < len ? (b[off + i + 1] as number) : 0;
    sum += (hi << 8) | lo;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

function randomBytes(rng: SeededRandom, n: number): Uint8Array {
  return new Uint8Array(n).map(() => rng.nextU32() & 0xff);
}

describe('Internet checksum (RFC 1071)', () => {
  it('computes the RFC 1071 §3 numerical example', () => {
    // 0001 + f203 + f4f5 + f6f7 = 2ddf0, folded ddf2, complemented 220d.
    const b = hex('00 01 f2 03 f4 f5 f6 f7');
    expect(sum16(b, 0, 8)).toBe(0x2ddf0);
    expect(fold16(0x2ddf0)).toBe(0xddf2);
    expect(internetChecksum(b, 0, 8)).toBe(0x220d);
  });

  it('pads an odd trailing byte with zero', () => {
    expect(sum16(hex('01 02 03'), 0, 3)).toBe(0x0102 + 0x0300);
    expect(internetChecksum(hex('01 02 03'), 0, 3)).toBe(0xfbfd);
    expect(internetChecksum(hex('ff'), 0, 1)).toBe(0x00ff);
    expect(internetChecksum(new Uint8Array(0), 0, 0)).toBe(0xffff);
  });

  it('matches the naive reference for every length 0..67 at every offset 0..3, through the unrolled path', () => {
    const rng = new SeededRandom(1071);
    const b = randomBytes(rng, 80);
    for (let off = 0; off < 4; off++) for (let len = 0; len <= 67; len++) expect(internetChecksum(b, off, len), `off ${off} len ${len}`).toBe(reference(b, off, len));
  });

  it('matches the reference on all-0xff data, where end-around carries pile up', () => {
    const b = new Uint8Array(65535).fill(0xff);
    expect(internetChecksum(b, 0, b.length)).toBe(reference(b, 0, b.length));
    expect(fold16(sum16(b, 0, 65534))).toBe(0xffff);
  });

  it('chains ranges through the initial sum when the split is at an even offset', () => {
    const b = randomBytes(new SeededRandom(7), 101);
    expect(fold16(sum16(b, 40, 61, sum16(b, 0, 40)))).toBe(fold16(sum16(b, 0, 101)));
  });

  it('combines a range that starts at an odd offset by swapping its lanes (RFC 1071 §2(B))', () => {
    const b = randomBytes(new SeededRandom(9), 57);
    for (const split of [1, 3, 17, 55]) {
      const head = sum16(b, 0, split);
      const tail = swapLanes(fold16(sum16(b, split, b.length - split)));
      expect(fold16(head + tail), `split ${split}`).toBe(fold16(sum16(b, 0, b.length)));
    }
    expect(swapLanes(0x1234)).toBe(0x3412);
  });

  it('folds sums beyond 32 bits', () => {
    expect(fold16(0x1_0000_0000)).toBe(0x0001);
    expect(fold16(0xff_ffff_ffff)).toBe(0x00ff); // words 00ff + ffff + ffff = 200fd, folded 00ff
    expect(finishChecksum(0)).toBe(0xffff);
  });

  it('verifies the kernel TCP segment with the IPv4 pseudo-header (RFC 9293 §3.1)', () => {
    const ip = parseIpv4(hex(TCP_SYN).slice(14));
    if (!ip.ok) throw new Error(ip.reason);
    const seg = ip.value.payload;
    const sum = pseudoHeaderSumV4(ip.value.src, ip.value.dst, IP_PROTO_TCP, seg.length);
    expect(fold16(sum16(seg, 0, seg.length, sum))).toBe(0xffff);
  });

  it('verifies the kernel UDP datagram with the IPv6 pseudo-header (RFC 8200 §8.1)', () => {
    const ip = parseIpv6(hex(UDP6).slice(14));
    if (!ip.ok) throw new Error(ip.reason);
    const d = ip.value.upperPayload;
    expect(fold16(sum16(d, 0, d.length, pseudoHeaderSumV6(ip.value.src, ip.value.dst, IP_PROTO_UDP, d.length)))).toBe(0xffff);
    // The 32-bit length field: a jumbo length contributes both halves.
    expect(pseudoHeaderSumV6(new Uint8Array(16), new Uint8Array(16), 17, 0x12345)).toBe(0x1 + 0x2345 + 17);
  });

  it('offers an all-on checksum capability set', () => {
    for (const p of [CHECKSUM_ALL.ipv4, CHECKSUM_ALL.tcp, CHECKSUM_ALL.udp, CHECKSUM_ALL.icmp]) expect(p).toEqual({ verify: true, compute: true });
  });
});

describe('Incremental checksum update (RFC 1624)', () => {
  it('gets the RFC 1624 §4 example right where RFC 1141 produced -0', () => {
    // Other header words sum to 0xcd7a; m = 0x5555 changes to m' = 0x3285.
    const hc = ~fold16(0xcd7a + 0x5555) & 0xffff;
    expect(hc).toBe(0xdd2f);
    expect(updateChecksum16(0xdd2f, 0x5555, 0x3285)).toBe(0x0000);
    expect(~fold16(0xcd7a + 0x3285) & 0xffff).toBe(0x0000); // full recomputation agrees
    // RFC 1141's HC' = HC + m + ~m' (ones' complement) gives 0xffff, the -0 the RFC warns about.
    expect(fold16(0xdd2f + 0x5555 + (~0x3285 & 0xffff))).toBe(0xffff);
  });

  it('matches full recomputation after rewriting 16- and 32-bit fields of random headers', () => {
    const rng = new SeededRandom(1624);
    for (let k = 0; k < 2000; k++) {
      const h = randomBytes(rng, 20);
      h[10] = 0;
      h[11] = 0;
      const before = internetChecksum(h, 0, 20);
      // TTL/protocol word
      const oldWord = ((h[8] as number) << 8) | (h[9] as number);
      const newWord = rng.nextU32() & 0xffff;
      h[8] = newWord >>> 8;
      h[9] = newWord & 0xff;
      const after16 = internetChecksum(h, 0, 20);
      expect(updateChecksum16(before, oldWord, newWord)).toBe(after16);
      // Source address
      const oldAddr = (((h[12] as number) << 24) | ((h[13] as number) << 16) | ((h[14] as number) << 8) | (h[15] as number)) >>> 0;
      const newAddr = rng.nextU32();
      h[12] = newAddr >>> 24;
      h[13] = (newAddr >>> 16) & 0xff;
      h[14] = (newAddr >>> 8) & 0xff;
      h[15] = newAddr & 0xff;
      expect(updateChecksum32(after16, oldAddr, newAddr)).toBe(internetChecksum(h, 0, 20));
    }
  });

  it('leaves the checksum unchanged when the field does not change', () => {
    expect(updateChecksum16(0x1234, 0xabcd, 0xabcd)).toBe(0x1234);
    expect(updateChecksum32(0x1234, 0xc6120001, 0xc6120001)).toBe(0x1234);
  });
});

describe('sum16 word path', () => {
  it('agrees with the byte loop at every alignment and length, including odd tails', async () => {
    const { sum16, fold16 } = await import('../../../src/wire/checksum.js');
    const reference = (b: Uint8Array, off: number, len: number, init: number): number => {
      let s = init;
      for (let i = 0; i + 1 < len; i += 2) s += ((b[off + i] as number) << 8) | (b[off + i + 1] as number);
      if (len & 1) s += (b[off + len - 1] as number) << 8;
      return fold16(s);
    };
    const backing = new Uint8Array(5000);
    for (let i = 0; i < backing.length; i++) backing[i] = (i * 131 + 7) & 0xff;
    for (const viewStart of [0, 1, 2, 3]) {
      const view = backing.subarray(viewStart);
      for (const off of [0, 1, 2, 3, 6, 54]) {
        for (const len of [0, 1, 63, 64, 65, 66, 67, 1460, 1461, 4000]) {
          expect(fold16(sum16(view, off, len, 12345)), `view+${viewStart} off ${off} len ${len}`).toBe(reference(view, off, len, 12345));
        }
      }
    }
  });

  it('gives the same sum over a buffer it has seen before (the cached word view) and a new one', async () => {
    const { sum16, fold16 } = await import('../../../src/wire/checksum.js');
    const a = new Uint8Array(256).fill(0xab);
    const b = new Uint8Array(512).fill(0xab);
    expect(fold16(sum16(a, 0, 256))).toBe(fold16(sum16(b, 256, 256)));
    expect(fold16(sum16(a, 0, 256))).toBe(fold16(sum16(a, 0, 256)));
  });
});
