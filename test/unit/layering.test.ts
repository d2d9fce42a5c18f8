import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLayering } from '../../scripts/check-layering.js';

describe('layering (DESIGN.md module table)', () => {
  it('src/ has no import that crosses a forbidden boundary', () => {
    const violations = checkLayering(resolve(__dirname, '../../src'));
    expect(violations.map((v) => `${v.file}:${v.line} ${v.specifier}: ${v.why}`)).toEqual([]);
  });

  it('reports a host -> target import, a node: import in wire/ and an unknown package', () => {
    const root = mkdtempSync(join(tmpdir(), 'chimney-layering-'));
    try {
      for (const d of ['host', 'target', 'wire']) mkdirSync(join(root, d));
      writeFileSync(join(root, 'target', 't.ts'), 'export const t = 1;\n');
      writeFileSync(join(root, 'host', 'h.ts'), "import { t } from '../target/t.js';\nexport const h = t;\n");
      writeFileSync(join(root, 'wire', 'w.ts'), "import { readFileSync } from 'node:fs';\nimport x from 'left-pad';\nexport { readFileSync, x };\n");
      const found = checkLayering(root);
      expect(found.map((v) => `${v.file}:${v.line}`).sort()).toEqual(['host/h.ts:1', 'wire/w.ts:1', 'wire/w.ts:2']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('reads every import form: multi-line, export-from, import type, dynamic, side-effect, type-position import()', () => {
    const root = mkdtempSync(join(tmpdir(), 'chimney-layering-'));
    try {
      for (const d of ['host', 'target']) mkdirSync(join(root, d));
      writeFileSync(join(root, 'target', 't.ts'), 'export const a = 1;\nexport const b = 2;\nexport type T = number;\n');
      writeFileSync(
        join(root, 'host', 'h.ts'),
        [
          'import {',
          '  a,',
          '  b,',
          "} from '../target/t.js';", // reported on the specifier's line, 4
          "export * from '../target/t.js';",
          'export {',
          '  a as c,',
          "} from '../target/t.js';",
          "import type { T } from '../target/t.js';",
          "import '../target/t.js';",
          "export const lazy = () => import('../target/t.js');",
          "export type U = typeof import('../target/t.js').a;",
          'export const load = (name: string) => import(name); // cannot be checked, so reported',
          "export const sum: T = a + b; // import '../target/t.js' in a comment is not an import",
          "/* import { a } from '../target/t.js'; */",
          "export const text = \"import { a } from '../target/t.js'\";",
          '',
        ].join('\n'),
      );
      const found = checkLayering(root);
      expect(found.map((v) => `${v.file}:${v.line} ${v.specifier}`)).toEqual([
        ...[4, 5, 8, 9, 10, 11, 12].map((line) => `host/h.ts:${line} ../target/t.js`),
        'host/h.ts:13 (computed)',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
