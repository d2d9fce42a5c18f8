/** The CLI's service specs and the deterministic byte stream that chargen and /bytes/N serve. */
import { describe, expect, it } from 'vitest';
import { parseServiceSpec, patternBytes } from '../../../src/cli/services.js';
import { UserError } from '../../../src/cli/errors.js';

describe('--serve KIND:PORT', () => {
  it('parses every kind', () => {
    for (const kind of ['echo', 'discard', 'chargen', 'http'] as const) expect(parseServiceSpec(`${kind}:7`)).toEqual({ kind, port: 7 });
  });

  it('rejects unknown kinds, missing or out-of-range ports with a user error naming the option', () => {
    for (const bad of ['gopher:70', 'http', 'http:', 'http:0', 'http:65536', ':80', 'HTTP:80', 'http:80:1']) {
      expect(() => parseServiceSpec(bad), bad).toThrow(UserError);
      expect(() => parseServiceSpec(bad), bad).toThrow(/--serve/);
    }
  });
});

describe('the deterministic stream', () => {
  it('is lines of 72 printable characters, each starting one character later (RFC 864 style)', () => {
    const text = Buffer.from(patternBytes(0, 74 * 3)).toString('latin1');
    const lines = text.split('\r\n');
    expect(lines.slice(0, 3).map((l) => l.length)).toEqual([72, 72, 72]);
    expect(lines[0]?.slice(1)).toBe(lines[1]?.slice(0, 71));
    expect(/^[ -~]+$/.test(lines.join(''))).toBe(true);
  });

  it('gives the same bytes for a range whatever slices it is read in', () => {
    const whole = patternBytes(0, 1_000_000);
    for (const [off, len] of [
      [0, 1],
      [73, 2],
      [7029, 10],
      [262_143, 70_000],
      [999_000, 1000],
    ] as const) {
      expect(Buffer.compare(patternBytes(off, len), whole.subarray(off, off + len)), `${off}+${len}`).toBe(0);
    }
  });
});
