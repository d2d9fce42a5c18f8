/**
 * Hex fixtures for byte-exact codec tests (STYLE rule 11). Fixtures are written as annotated
 * hex dumps: whitespace and newlines are ignored, and `#` starts a comment that runs to the end
 * of the line, so a fixture can label every field it spells out.
 */

/** Bytes of a hex string such as `"45 00 00 3c # version, ihl, tos, total length"`. Throws on malformed fixtures (a test bug). */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (!/^[0-9a-fA-F]*$/.test(digits)) throw new Error(`hex fixture has a non-hex character: ${JSON.stringify(text)}`);
  if (digits.length % 2 !== 0) throw new Error(`hex fixture has an odd number of digits (${digits.length})`);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Lowercase hex of `bytes`, bytes separated by `separator` (a space by default), for failure messages and fixtures. */
export function toHex(bytes: Uint8Array, separator = ' '): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(separator);
}

/** Concatenates byte ranges into a new array (fixtures built from parts). */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A buffer of `length` bytes filled with 0xa5, so an emitter that skips a byte shows up in a comparison (smoltcp's test_construct). */
export function filled(length: number, value = 0xa5): Uint8Array {
  return new Uint8Array(length).fill(value);
}
