/**
 * Shared codec checks (STYLE rule 11): parse∘emit is the identity on a repr, emitting at an
 * offset writes the same bytes and touches nothing around them, the emitter's return value
 * equals the codec's length function, and every truncated input is rejected by name.
 */
import { expect } from 'vitest';
import { DROP_REASONS, type DropReason } from '../../src/wire/drop-reason.js';
import type { Result } from '../../src/wire/result.js';
import { filled, toHex } from './hex.js';

/** The three functions of a codec, adapted to one signature so every codec runs the same checks. */
export interface Codec<R> {
  parse(bytes: Uint8Array): Result<R, DropReason>;
  emit(repr: R, out: Uint8Array, off: number): number;
  length(repr: R): number;
}

const OFFSET = 7;
const SLACK = 13;

/**
 * Emits `repr`, checks the length contract, parses the bytes back and expects the same repr
 * (deep equality), then emits again at an odd offset inside a 0xa5-filled buffer and expects
 * identical bytes with the surrounding filler untouched. When `expected` is given the emitted
 * bytes must equal it exactly. Returns the emitted bytes.
 */
export function roundTrip<R>(codec: Codec<R>, repr: R, expected?: Uint8Array): Uint8Array {
  const length = codec.length(repr);
  const bytes = filled(length);
  const written = codec.emit(repr, bytes, 0);
  expect(written, 'emit returns the length the codec announces').toBe(length);
  if (expected !== undefined) expect(toHex(bytes)).toBe(toHex(expected));

  const parsed = codec.parse(bytes);
  if (!parsed.ok) throw new Error(`parse of emitted bytes failed with ${parsed.reason}: ${toHex(bytes)}`);
  expect(parsed.value).toEqual(repr);

  const big = filled(OFFSET + length + SLACK);
  expect(codec.emit(repr, big, OFFSET)).toBe(length);
  expect(toHex(big.subarray(OFFSET, OFFSET + length))).toBe(toHex(bytes));
  expect(big.subarray(0, OFFSET).every((b) => b === 0xa5), 'bytes before the offset untouched').toBe(true);
  expect(big.subarray(OFFSET + length).every((b) => b === 0xa5), 'bytes after the end untouched').toBe(true);
  return bytes;
}

/** True when `reason` is a declared drop reason. */
export function isDropReason(reason: unknown): reason is DropReason {
  return (DROP_REASONS as readonly unknown[]).includes(reason);
}

/**
 * Feeds every prefix of `bytes` shorter than `validFrom` (default: the whole input) to `parse`
 * and expects a rejection with a declared drop reason, never a throw. When `reason` is given,
 * every rejection must be that reason. Prefixes from `validFrom` on must parse without throwing
 * (they may be accepted: e.g. an Ethernet frame has no length field).
 */
export function expectTruncationsRejected(
  parse: (bytes: Uint8Array) => Result<unknown, DropReason>,
  bytes: Uint8Array,
  options: { validFrom?: number; reason?: DropReason | readonly DropReason[] } = {},
): void {
  const validFrom = options.validFrom ?? bytes.length;
  const allowed = options.reason === undefined ? undefined : typeof options.reason === 'string' ? [options.reason] : options.reason;
  for (let n = 0; n <= bytes.length; n++) {
    // A copy, so a parser reading past the end of its view cannot see the rest of the fixture.
    const prefix = bytes.slice(0, n);
    const result = parse(prefix);
    if (n < validFrom) {
      expect(result.ok, `prefix of ${n} bytes must be rejected`).toBe(false);
      if (!result.ok) {
        expect(isDropReason(result.reason), `${String(result.reason)} is a DropReason`).toBe(true);
        if (allowed !== undefined) expect(allowed, `reason at ${n} bytes`).toContain(result.reason);
      }
    }
  }
}
