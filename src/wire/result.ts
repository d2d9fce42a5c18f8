/**
 * The outcome of a total parser: a value, or the named reason the bytes were rejected.
 * Parsers never throw on wire input (STYLE rule 2); `throw` is for programmer errors only.
 */
export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: E };

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

export function err<E>(reason: E): { readonly ok: false; readonly reason: E } {
  return { ok: false, reason };
}
