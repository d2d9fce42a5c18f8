/**
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012) in pure
 * TypeScript with 32-bit operations: every 64-bit lane is a (high, low) pair of uint32 words.
 * It is the keyed PRF behind RFC 6528 initial sequence numbers and SYN cookies, as in Linux
 * (`secure_tcp_seq`, `cookie_hash`). No `node:crypto`: the engine stays free of Node-only
 * modules. Called once per connection, so clarity wins over speed here.
 */

/** A 128-bit SipHash key as little-endian 32-bit words: k0 = (k0hi:k0lo), k1 = (k1hi:k1lo). */
export interface SipKey {
  readonly k0lo: number;
  readonly k0hi: number;
  readonly k1lo: number;
  readonly k1hi: number;
}

/** Reads a 16-byte key (bytes 0..7 are k0, 8..15 are k1, both little-endian, as the reference does). */
export function sipKey(key: Uint8Array): SipKey {
  if (key.length !== 16) throw new RangeError(`SipHash key must be 16 bytes, got ${key.length}`);
  return { k0lo: le32(key, 0), k0hi: le32(key, 4), k1lo: le32(key, 8), k1hi: le32(key, 12) };
}

function le32(b: Uint8Array, off: number): number {
  return ((b[off] as number) | ((b[off + 1] as number) << 8) | ((b[off + 2] as number) << 16) | ((b[off + 3] as number) << 24)) >>> 0;
}

// Lane layout in the state array: v0 = [0]:[1] (high:low), v1 = [2]:[3], v2 = [4]:[5], v3 = [6]:[7].
const V0H = 0;
const V0L = 1;
const V1H = 2;
const V1L = 3;
const V2H = 4;
const V2L = 5;
const V3H = 6;
const V3L = 7;

/** a += b on two 64-bit lanes of `v`. */
function add(v: Uint32Array, ah: number, bh: number): void {
  const lo = (v[ah + 1] as number) + (v[bh + 1] as number);
  v[ah] = (v[ah] as number) + (v[bh] as number) + (lo > 0xffffffff ? 1 : 0);
  v[ah + 1] = lo;
}

/** Rotates the lane at `h` left by `n` bits, 0 < n < 32. */
function rotl(v: Uint32Array, h: number, n: number): void {
  const hi = v[h] as number;
  const lo = v[h + 1] as number;
  v[h] = (hi << n) | (lo >>> (32 - n));
  v[h + 1] = (lo << n) | (hi >>> (32 - n));
}

/** Rotates the lane at `h` by 32 bits: swaps its halves. */
function swap(v: Uint32Array, h: number): void {
  const hi = v[h] as number;
  v[h] = v[h + 1] as number;
  v[h + 1] = hi;
}

/** a ^= b on two lanes. */
function xor(v: Uint32Array, ah: number, bh: number): void {
  v[ah] = (v[ah] as number) ^ (v[bh] as number);
  v[ah + 1] = (v[ah + 1] as number) ^ (v[bh + 1] as number);
}

function sipRound(v: Uint32Array): void {
  add(v, V0H, V1H);
  rotl(v, V1H, 13);
  xor(v, V1H, V0H);
  swap(v, V0H);
  add(v, V2H, V3H);
  rotl(v, V3H, 16);
  xor(v, V3H, V2H);
  add(v, V0H, V3H);
  rotl(v, V3H, 21);
  xor(v, V3H, V0H);
  add(v, V2H, V1H);
  rotl(v, V1H, 17);
  xor(v, V1H, V2H);
  swap(v, V2H);
}

function compress(v: Uint32Array, mh: number, ml: number): void {
  v[V3H] = (v[V3H] as number) ^ mh;
  v[V3L] = (v[V3L] as number) ^ ml;
  sipRound(v);
  sipRound(v);
  v[V0H] = (v[V0H] as number) ^ mh;
  v[V0L] = (v[V0L] as number) ^ ml;
}

/**
 * SipHash-2-4 of `msg` under `key`. Writes the 64-bit result into `out` as [low, high]; the
 * reference implementation's eight output bytes are its little-endian encoding.
 */
export function sipHash24(key: SipKey, msg: Uint8Array, out: Uint32Array): void {
  const v = new Uint32Array(8);
  // "somepseudorandomlygeneratedbytes"
  v[V0H] = key.k0hi ^ 0x736f6d65;
  v[V0L] = key.k0lo ^ 0x70736575;
  v[V1H] = key.k1hi ^ 0x646f7261;
  v[V1L] = key.k1lo ^ 0x6e646f6d;
  v[V2H] = key.k0hi ^ 0x6c796765;
  v[V2L] = key.k0lo ^ 0x6e657261;
  v[V3H] = key.k1hi ^ 0x74656462;
  v[V3L] = key.k1lo ^ 0x79746573;
  const len = msg.length;
  const fullEnd = len - (len & 7);
  for (let i = 0; i < fullEnd; i += 8) compress(v, le32(msg, i + 4), le32(msg, i));
  // The last block: the remaining 0..7 bytes, with the length (mod 256) in the top byte.
  let ml = 0;
  let mh = (len & 0xff) << 24;
  for (let j = 0; j < (len & 7); j++) {
    const byte = msg[fullEnd + j] as number;
    if (j < 4) ml |= byte << (8 * j);
    else mh |= byte << (8 * (j - 4));
  }
  compress(v, mh >>> 0, ml >>> 0);
  v[V2L] = (v[V2L] as number) ^ 0xff;
  for (let r = 0; r < 4; r++) sipRound(v);
  out[0] = (v[V0L] as number) ^ (v[V1L] as number) ^ (v[V2L] as number) ^ (v[V3L] as number);
  out[1] = (v[V0H] as number) ^ (v[V1H] as number) ^ (v[V2H] as number) ^ (v[V3H] as number);
}
