/**
 * TCP sequence numbers (RFC 9293 §3.4): 32-bit values compared modulo 2^32.
 * `Seq` is branded so a raw `<` between two sequence numbers does not type-check by accident;
 * every comparison goes through the helpers below, defined by `(a - b) | 0` arithmetic
 * (gVisor seqnum, smoltcp SeqNumber). The same helpers serve timestamps (RFC 7323 §5.3).
 */
export type Seq = number & { readonly __brand: 'Seq' };

export function seq(n: number): Seq {
  return (n >>> 0) as Seq;
}

/** a + n modulo 2^32 (n may be negative). */
export function seqAdd(a: Seq, n: number): Seq {
  return ((a + n) >>> 0) as Seq;
}

/** Signed distance a - b, in [-2^31, 2^31). */
export function seqDiff(a: Seq, b: Seq): number {
  return (a - b) | 0;
}

export function seqLt(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLe(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGt(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGe(a: Seq, b: Seq): boolean {
  return ((a - b) | 0) >= 0;
}

export function seqMax(a: Seq, b: Seq): Seq {
  return ((a - b) | 0) >= 0 ? a : b;
}

export function seqMin(a: Seq, b: Seq): Seq {
  return ((a - b) | 0) <= 0 ? a : b;
}

/** True when start <= s < start + len (modulo 2^32); an empty window holds nothing. */
export function inWindow(s: Seq, start: Seq, len: number): boolean {
  const d = (s - start) >>> 0;
  return d < len;
}

/** Unsigned 32-bit modular helpers for timestamps and tick counters (RFC 7323 §5.3 uses the same rule). */
export function u32Lt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function u32Diff(a: number, b: number): number {
  return (a - b) | 0;
}
