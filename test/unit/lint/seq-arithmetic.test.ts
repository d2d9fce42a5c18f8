import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../../..');
const fixture = resolve(root, 'test/fixtures/lint/seq-raw.ts');

describe('lint rule chimney/seq-arithmetic (eslint.config.js)', () => {
  it('reports every raw comparison and unreduced subtraction of a Seq, and nothing modular', async () => {
    // The fixture's own small program, so the test does not type-check the whole project.
    const eslint = new ESLint({
      cwd: root,
      ignore: false,
      overrideConfig: { languageOptions: { parserOptions: { project: 'test/fixtures/lint/tsconfig.json' } } },
    });
    const [result] = await eslint.lintFiles([fixture]);
    const marked = readFileSync(fixture, 'utf8')
      .split('\n')
      .flatMap((line, i) => (line.endsWith('// raw') ? [i + 1] : []));
    expect(result?.messages.filter((m) => m.ruleId !== 'chimney/seq-arithmetic')).toEqual([]);
    expect(result?.messages.map((m) => m.line)).toEqual(marked);
    expect(marked.length).toBe(9);
  });
});
