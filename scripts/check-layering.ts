/**
 * The module table of DESIGN.md, enforced. Parses every import under src/ and reports each
 * edge the table does not allow. Run as a unit test (test/unit/layering.test.ts) and from the
 * command line: `node dist/scripts/check-layering.js`.
 *
 * The files are parsed with the TypeScript compiler the project already builds with, not
 * matched line by line: an import whose specifier sits on a later line than `import {`, an
 * `export ... from`, a type-position `import('...')` and text that only looks like an import
 * (in a comment or a string) are all read as the compiler reads them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

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

/** A specifier the file imports and the line it is written on. */
interface ImportSite {
  readonly line: number;
  /** undefined for `import(expr)` / `require(expr)` with a computed argument. */
  readonly specifier: string | undefined;
}

/**
 * Every module a file names: `import` and `export ... from` declarations (with or without
 * `type`, bindings or none), `import x = require()`, `import()` and `require()` calls, and
 * `import('...')` in type positions.
 */
export function importsOf(fileName: string, text: string): ImportSite[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const sites: ImportSite[] = [];
  const add = (node: ts.Node | undefined, at: ts.Node): void => {
    const where = node ?? at;
    const line = source.getLineAndCharacterOfPosition(where.getStart(source)).line + 1;
    sites.push({ line, specifier: node !== undefined && ts.isStringLiteralLike(node) ? node.text : undefined });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node.moduleSpecifier, node);
    else if (ts.isExportDeclaration(node)) {
      if (node.moduleSpecifier !== undefined) add(node.moduleSpecifier, node);
    } else if (ts.isImportEqualsDeclaration(node)) {
      if (ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression, node);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) {
        add(node.arguments[0], node);
      }
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, node);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return sites;
}

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
    for (const site of importsOf(file, readFileSync(file, 'utf8'))) {
      const specifier = site.specifier;
      const at = { file: relative(srcRoot, file), line: site.line, specifier: specifier ?? '(computed)' };
      if (specifier === undefined) {
        violations.push({ ...at, why: 'a computed specifier cannot be checked against the table' });
        continue;
      }
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
