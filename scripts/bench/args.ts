/** Command-line number parsing shared by the benchmark scripts. */

/** `raw` as an integer in [min, max], or an error naming the option `--name`. */
export function intArg(name: string, raw: string | undefined, min: number, max: number): number {
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`--${name} must be an integer in [${min}, ${max}], got ${String(raw)}`);
  return v;
}
