/**
 * Big-endian field accessors over a Uint8Array. Callers establish bounds once (a codec's
 * `check*` function) and then read through these helpers, so the code stays free of scattered
 * non-null assertions under `noUncheckedIndexedAccess` (STYLE rule 3).
 *
 * Reads outside the array return 0 rather than `undefined` (a typed array reads `undefined`
 * past its end); codecs never rely on that, because they check lengths first.
 */

export function u8(b: Uint8Array, off: number): number {
  return (b[off] as number) | 0;
}

export function u16be(b: Uint8Array, off: number): number {
  return (((b[off] as number) << 8) | (b[off + 1] as number)) & 0xffff;
}

export function u32be(b: Uint8Array, off: number): number {
  return (
    (((b[off] as number) << 24) | ((b[off + 1] as number) << 16) | ((b[off + 2] as number) << 8) | (b[off + 3] as number)) >>> 0
  );
}

export function put8(b: Uint8Array, off: number, v: number): void {
  b[off] = v;
}

export function put16be(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 8;
  b[off + 1] = v;
}

export function put32be(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = v >>> 16;
  b[off + 2] = v >>> 8;
  b[off + 3] = v;
}

/** Little-endian readers, used only by the virtio-net header (its fields are host order on x86). */
export function u16le(b: Uint8Array, off: number): number {
  return ((b[off] as number) | ((b[off + 1] as number) << 8)) & 0xffff;
}

export function put16le(b: Uint8Array, off: number, v: number): void {
  b[off] = v;
  b[off + 1] = v >>> 8;
}

/** Throws a RangeError when an emitter is handed a buffer that cannot hold `need` bytes at `off`. */
export function ensureRoom(out: Uint8Array, off: number, need: number, what: string): void {
  if (off < 0 || off + need > out.length) {
    throw new RangeError(`${what}: need ${need} bytes at offset ${off}, buffer holds ${out.length}`);
  }
}

/** Byte-wise equality of two ranges. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
