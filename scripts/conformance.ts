/**
 * The conformance table: which rows of the reference's implementation checklist (section 8 of
 * chimney-reference.md) a test covers, and whether those tests pass. `npm run conformance`
 * runs the whole suite; `node dist/scripts/conformance.js --unit [vitest args...]` only the
 * unit project (any other argument, such as a test file filter, goes to vitest as it is).
 *
 * A test covers row N when one of its titles (a describe block's or the test's own) starts
 * with `row N:` or `row N (...)`, or lists the rows: `rows 49, 50: ...`. The title is the
 * only link between a test and a row, so the match is anchored to the start of a title: a
 * sentence that merely mentions "row 67" does not claim to test it.
 *
 * Options: `--spec PATH` (default: ../shared/spec/chimney-reference.md beside the repo, then
 * the committed copy docs/chimney-checklist.md so a clean clone works), `--json FILE` (also
 * write the table as JSON). The exit code is 1 when a covering test failed or a test file
 * could not run (its tests, and the rows they name, are then unknown); uncovered rows are
 * reported, not failed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One row of the checklist table. */
export interface ChecklistRow {
  readonly row: number;
  readonly area: string;
  readonly capability: string;
  readonly ref: string;
  readonly how: string;
}

/** The statuses vitest's JSON reporter gives a test (its assertionResults[].status). */
export type TestStatus = 'passed' | 'failed' | 'skipped' | 'pending' | 'todo' | 'disabled';

/** One test from the JSON report, reduced to what the table needs. */
export interface TestCase {
  /** Relative to the repo root. */
  readonly file: string;
  /** The describe blocks' titles, outermost first, then the test's own title. */
  readonly titles: readonly string[];
  readonly status: TestStatus;
}

export type RowStatus = 'pass' | 'FAIL' | 'skip' | '-';

export interface RowResult extends ChecklistRow {
  readonly status: RowStatus;
  readonly tests: readonly TestCase[];
}

/**
 * The rows of section 8's table in `markdown` (the full reference or the committed copy: both
 * have the `## 8.` heading). Throws when the section is missing, a row does not have the five
 * cells, or the numbers are not 1, 2, 3, ... in order: a table read wrong would silently
 * shift every row's coverage.
 */
export function parseChecklist(markdown: string): ChecklistRow[] {
  const lines = markdown.split(/\r?\n/);
  const start = lines.findIndex((l) => /^## 8\.\s/.test(l));
  if (start < 0) throw new Error("no '## 8.' section (Implementation checklist) in the spec");
  const rows: ChecklistRow[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^## /.test(line)) break;
    if (!/^\|\s*\d+\s*\|/.test(line)) continue;
    // No cell of the table contains a '|' (the ref's text has none), so a plain split is exact.
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells.length !== 5) throw new Error(`checklist row with ${cells.length} cells, not 5: ${line.slice(0, 60)}`);
    const [num, area, capability, ref, how] = cells as [string, string, string, string, string];
    const row = Number(num);
    if (row !== rows.length + 1) throw new Error(`checklist row ${num} follows row ${rows.length}`);
    rows.push({ row, area, capability, ref, how });
  }
  if (rows.length === 0) throw new Error('section 8 of the spec has no table rows');
  return rows;
}

const ONE_ROW = /^row (\d+)(?::| \()/;
const ROW_LIST = /^rows (\d+(?:[ ,]+\d+)*)(?::| \()/;

/**
 * The rows one title names, in the order written, each once. Numbers outside 1..`rowCount`
 * are dropped: they name no row of this checklist.
 */
export function rowsInTitle(title: string, rowCount: number): number[] {
  const one = ONE_ROW.exec(title);
  const list = one === null ? ROW_LIST.exec(title) : null;
  const text = one?.[1] ?? list?.[1];
  if (text === undefined) return [];
  const found = new Set<number>();
  for (const n of text.split(/[ ,]+/).map(Number)) {
    if (Number.isInteger(n) && n >= 1 && n <= rowCount) found.add(n);
  }
  return [...found];
}

/** The rows a test covers: the union over its describe titles and its own. */
export function rowsOfTest(test: TestCase, rowCount: number): number[] {
  return [...new Set(test.titles.flatMap((t) => rowsInTitle(t, rowCount)))];
}

/**
 * A row's status from its covering tests. A failure anywhere is FAIL. A row with a passing
 * test and skipped ones is pass: what ran passed, and the skipped ones (an integration test
 * without root, say) are listed beside it. Only skipped/todo tests make skip; none make '-'.
 */
export function rowStatus(tests: readonly TestCase[]): RowStatus {
  if (tests.length === 0) return '-';
  if (tests.some((t) => t.status === 'failed')) return 'FAIL';
  return tests.some((t) => t.status === 'passed') ? 'pass' : 'skip';
}

/** Every checklist row with its covering tests and status. */
export function conformance(rows: readonly ChecklistRow[], tests: readonly TestCase[]): RowResult[] {
  const byRow = new Map<number, TestCase[]>();
  for (const test of tests) {
    for (const n of rowsOfTest(test, rows.length)) {
      const list = byRow.get(n);
      if (list === undefined) byRow.set(n, [test]);
      else list.push(test);
    }
  }
  return rows.map((r) => {
    const covering = byRow.get(r.row) ?? [];
    return { ...r, status: rowStatus(covering), tests: covering };
  });
}

/** The shape of vitest's JSON report this script reads. */
interface VitestReport {
  readonly testResults: readonly {
    readonly name: string;
    readonly status: string;
    readonly message?: string;
    readonly assertionResults: readonly {
      readonly ancestorTitles?: readonly string[];
      readonly title: string;
      readonly status: TestStatus;
    }[];
  }[];
}

/** The tests of a vitest JSON report, and the files that failed without running a test. */
export function testsOfReport(report: VitestReport, root: string): { tests: TestCase[]; brokenFiles: string[] } {
  const tests: TestCase[] = [];
  const brokenFiles: string[] = [];
  for (const file of report.testResults) {
    const name = relative(root, file.name);
    if (file.status === 'failed' && file.assertionResults.length === 0) brokenFiles.push(name);
    for (const a of file.assertionResults) {
      tests.push({ file: name, titles: [...(a.ancestorTitles ?? []), a.title], status: a.status });
    }
  }
  return { tests, brokenFiles };
}

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

const MARK: Readonly<Record<TestStatus, string>> = {
  passed: '',
  failed: ' [failed]',
  skipped: ' [skipped]',
  pending: ' [skipped]',
  todo: ' [todo]',
  disabled: ' [skipped]',
};

/** The table as text lines: one per row, and one more per covering test beyond the first. */
export function formatTable(results: readonly RowResult[]): string[] {
  const areaWidth = Math.max(...results.map((r) => r.area.length));
  const out: string[] = [];
  for (const r of results) {
    const head = `${String(r.row).padStart(3)}  ${r.area.padEnd(areaWidth)}  ${clip(r.capability, 60).padEnd(60)}  ${r.status.padEnd(4)}`;
    const tests = r.tests.map((t) => {
      // test/unit/ndis/x.test.ts -> unit/ndis/x.test.ts: every test file is under test/.
      const file = t.file.replace(/^test\//, '');
      return `${file}: ${clip(t.titles[t.titles.length - 1] ?? '', 70)}${MARK[t.status]}`;
    });
    out.push(tests.length === 0 ? head.trimEnd() : `${head}  ${tests[0]}`);
    for (const more of tests.slice(1)) out.push(`${' '.repeat(head.length)}  ${more}`);
  }
  return out;
}

interface Options {
  readonly spec: string | undefined;
  readonly json: string | undefined;
  readonly unit: boolean;
  readonly vitestArgs: readonly string[];
}

/** `--unit`, `--spec PATH`, `--json FILE`; everything else is vitest's. */
export function parseArgs(argv: readonly string[]): Options {
  let spec: string | undefined;
  let json: string | undefined;
  let unit = false;
  const vitestArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--unit') unit = true;
    else if (arg === '--spec' || arg === '--json') {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      if (arg === '--spec') spec = value;
      else json = value;
    } else vitestArgs.push(arg);
  }
  return { spec, json, unit, vitestArgs };
}

/** The checklist file to read: `--spec`, the shared reference, then the committed copy. */
function locateSpec(root: string, spec: string | undefined): string {
  if (spec !== undefined) return resolve(spec);
  const candidates = [resolve(root, '..', 'shared', 'spec', 'chimney-reference.md'), join(root, 'docs', 'chimney-checklist.md')];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`no spec: tried ${candidates.join(', ')}; pass --spec PATH`);
  return found;
}

function main(root: string, argv: readonly string[]): number {
  const opts = parseArgs(argv);
  const specPath = locateSpec(root, opts.spec);
  const rows = parseChecklist(readFileSync(specPath, 'utf8'));
  // The committed copy is what a clean clone reads: say so when it has drifted from the reference.
  const copy = join(root, 'docs', 'chimney-checklist.md');
  if (specPath !== copy && existsSync(copy) && JSON.stringify(parseChecklist(readFileSync(copy, 'utf8'))) !== JSON.stringify(rows)) {
    console.warn(`conformance: docs/chimney-checklist.md differs from ${specPath}; refresh the copy`);
  }

  const dir = mkdtempSync(join(tmpdir(), 'chimney-conformance-'));
  try {
    const outputFile = join(dir, 'vitest.json');
    const args = ['vitest', 'run', '--reporter=json', `--outputFile=${outputFile}`, ...(opts.unit ? ['--project', 'unit'] : []), ...opts.vitestArgs];
    // vitest exits 1 when a test fails; that is in the report, so its exit code is not read.
    const run = spawnSync('npx', args, { cwd: root, stdio: 'inherit' });
    if (run.error !== undefined) throw run.error;
    if (!existsSync(outputFile)) throw new Error(`vitest wrote no report (exit ${run.status ?? run.signal})`);
    const report = JSON.parse(readFileSync(outputFile, 'utf8')) as VitestReport;
    const { tests, brokenFiles } = testsOfReport(report, root);
    const results = conformance(rows, tests);

    console.log(`\nconformance against ${relative(root, specPath) || specPath} (${opts.unit ? 'unit project only' : 'all projects'})`);
    for (const line of formatTable(results)) console.log(line);
    for (const file of brokenFiles) console.log(`conformance: ${file} failed to run; the rows it covers are unknown`);
    const covered = results.filter((r) => r.status !== '-').length;
    const passed = results.filter((r) => r.status === 'pass').length;
    const failed = results.filter((r) => r.status === 'FAIL');
    if (failed.length > 0) console.log(`failing rows: ${failed.map((r) => r.row).join(', ')}`);
    console.log(`covered ${covered}/${rows.length}, passed ${passed}/${rows.length}`);

    if (opts.json !== undefined) {
      const table = results.map((r) => ({
        row: r.row,
        area: r.area,
        capability: r.capability,
        ref: r.ref,
        status: r.status,
        tests: r.tests.map((t) => ({ file: t.file, name: t.titles.join(' > '), status: t.status })),
      }));
      const body = { spec: specPath, projects: opts.unit ? 'unit' : 'all', covered, passed, total: rows.length, brokenFiles, rows: table };
      writeFileSync(opts.json, `${JSON.stringify(body, null, 2)}\n`);
    }
    return failed.length > 0 || brokenFiles.length > 0 ? 1 : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // Compiled to dist/scripts/; the repo root is two levels up.
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  try {
    process.exitCode = main(root, process.argv.slice(2));
  } catch (err) {
    console.error(`conformance: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;
  }
}
