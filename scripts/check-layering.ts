/**
 * The module table of DESIGN.md, enforced. Parses every import under src/ and reports each
 * edge the table does not allow. Run as a unit test (test/unit/layering.test.ts) and from the
 * command line: `node dist/scripts/check-layering.js`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Which src/ modules each module may import (DESIGN.md "Modules"). */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  wire: [],
  tcp: ['wire'],
  link: ['wire'],
  ndis: ['wire'],
  target: ['ndis', 'tcp', 'wire', 'link'],
  im: ['ndis'],
  host: ['ndis', 'tcp', 'wire'],
  cli: ['wire', 'tcp', 'link', 'ndis', 'target', 'im', 'host'],
  // src/index.ts is the public API: it re-exports from every module.
  '.': ['wire', 'tcp', 'link', 'ndis', 'target', 'im', 'host', 'cli'],
};

/** Modules that must stay free of I/O: no Node built-ins, no packages (STYLE "Module boundaries"). */
export const PURE = new Set(['wire', 'tcp', 'ndis', 'im']);

/** Packages (not Node built-ins) each module may import. */
export const PACKAGES: Readonly<Record<string, readonly string[]>> = {
  link: ['node-gyp-build'],
  cli: ['commander'],
};

export interface Violation {
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  readonly why: string;
}

const IMPORT_RE = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g;

function moduleOf(srcRoot: string, file: string): string {
  const rel = relative(srcRoot, file);
  const first = rel.split(sep)[0] ?? '.';
  return rel.includes(sep) ? first : '.';
}

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
}

export function checkLayering(srcRoot: string): Violation[] {
  const files: string[] = [];
  walk(srcRoot, files);
  const violations: Violation[] = [];
  for (const file of files) {
    const from = moduleOf(srcRoot, file);
    const allowed = ALLOWED[from];
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n');
    lines.forEach((lineText, index) => {
      if (/^\s*(\/\/|\*)/.test(lineText)) return;
      IMPORT_RE.lastIndex = 0;
      for (let m = IMPORT_RE.exec(lineText); m !== null; m = IMPORT_RE.exec(lineText)) {
        const specifier = m[1] ?? m[2] ?? m[3];
        if (specifier === undefined) continue;
        const at = { file: relative(srcRoot, file), line: index + 1, specifier };
        if (allowed === undefined) {
          violations.push({ ...at, why: `module '${from}' is not in the DESIGN.md table` });
          continue;
        }
        if (specifier.startsWith('.')) {
          const target = resolve(dirname(file), specifier);
          if (!target.startsWith(srcRoot + sep) && target !== srcRoot) {
            violations.push({ ...at, why: 'imports from outside src/' });
            continue;
          }
          const to = moduleOf(srcRoot, target);
          if (to !== from && !allowed.includes(to)) {
            violations.push({ ...at, why: `'${from}' may not import '${to}' (allowed: ${allowed.join(', ') || 'nothing'})` });
          }
        } else if (specifier.startsWith('node:')) {
          if (PURE.has(from)) violations.push({ ...at, why: `'${from}' is pure: no Node built-ins` });
        } else {
          const pkg = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? specifier);
          if (!(PACKAGES[from] ?? []).includes(pkg)) {
            violations.push({ ...at, why: `'${from}' may not import the package '${pkg}'` });
          }
        }
      }
    });
  }
  return violations;
}

const here = dirname(fileURLToPath(import.meta.url));
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // Compiled to dist/scripts/; the sources are two levels up.
  const srcRoot = resolve(here, '..', '..', 'src');
  const found = checkLayering(srcRoot);
  for (const v of found) console.log(`src/${v.file}:${v.line}: import '${v.specifier}': ${v.why}`);
  console.log(found.length === 0 ? 'layering: ok' : `layering: ${found.length} violation(s)`);
  process.exitCode = found.length === 0 ? 0 : 1;
}
