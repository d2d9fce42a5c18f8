import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  conformance,
  formatTable,
  parseArgs,
  parseChecklist,
  rowStatus,
  rowsInTitle,
  rowsOfTest,
  testsOfReport,
  type TestCase,
  type TestStatus,
} from '../../../scripts/conformance.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe('rowsInTitle', () => {
  it.each([
    ['row 41: x', [41]],
    ['rows 49, 50: x', [49, 50]],
    ['rows 49 50 (send): x', [49, 50]],
    ['rows 50, 49, 50: x', [50, 49]],
    ['row 9 (statuses): x', [9]],
    ['row 113: x', [113]],
    // %j quotes the title, so these tests' own names do not start with 'row N:' and claim a row.
  ])('%j names %j', (title, rows) => {
    expect(rowsInTitle(title, 113)).toEqual(rows);
  });

  it.each([
    ['arrow 5: x'],
    ['row 200: x'],
    ['row 0: x'],
    ['row 5 x'],
    ['row 5(x): y'],
    ['Row 5: x'],
    ['the same as row 5: x'],
    ['rows: 5'],
  ])('%j names no row', (title) => {
    expect(rowsInTitle(title, 113)).toEqual([]);
  });

  it('keeps the in-range rows of a list that has an out-of-range one', () => {
    expect(rowsInTitle('rows 112, 113, 114: x', 113)).toEqual([112, 113]);
  });
});

const test = (titles: string[], status: TestStatus = 'passed', file = 'test/unit/x.test.ts'): TestCase => ({ file, titles, status });

it('a test covers the rows its describe titles and its own title name', () => {
  expect(rowsOfTest(test(['row 3 (ticks): the converter', 'rows 3, 73: delayed ACK']), 113)).toEqual([3, 73]);
  expect(rowsOfTest(test(['ContextTable', 'mints values']), 113)).toEqual([]);
});

const fixture = `# Reference

## 7. Before
| 1 | Not | the checklist | 7 | x |

## 8. Implementation checklist

Some prose with a | pipe.

| # | Area | Capability / behaviour the emulator must implement | Ref | Testable how |
|---|---|---|---|---|
| 1 | Init | Register handler sets (\`NdisMGetOffloadHandlers\`) | 2.18, 7.1 | Unit test: host refuses |
| 2 | Caps | Report capabilities | 2.14 | Query the caps OIDs |
| 3 | Caps | Accept parameters | 2.14, 7.5 | Run the same transfer |

---

## 9. After
| 4 | Not | the checklist either | 9 | x |
`;

describe('parseChecklist', () => {
  it('reads only section 8 table rows, cells trimmed', () => {
    expect(parseChecklist(fixture)).toEqual([
      { row: 1, area: 'Init', capability: 'Register handler sets (`NdisMGetOffloadHandlers`)', ref: '2.18, 7.1', how: 'Unit test: host refuses' },
      { row: 2, area: 'Caps', capability: 'Report capabilities', ref: '2.14', how: 'Query the caps OIDs' },
      { row: 3, area: 'Caps', capability: 'Accept parameters', ref: '2.14, 7.5', how: 'Run the same transfer' },
    ]);
  });

  it('refuses a table it would read wrong', () => {
    expect(() => parseChecklist('## 7. x\n| 1 | a | b | c | d |\n')).toThrow(/no '## 8\.'/);
    expect(() => parseChecklist(fixture.replace('| 2 | Caps', '| 5 | Caps'))).toThrow(/row 5 follows row 1/);
    expect(() => parseChecklist(fixture.replace('| 2.14 | Query', '| 2.14 | Query | extra'))).toThrow(/6 cells/);
  });

  it('reads the 113 rows of the committed copy', () => {
    const rows = parseChecklist(readFileSync(resolve(root, 'docs', 'chimney-checklist.md'), 'utf8'));
    expect(rows).toHaveLength(113);
    expect(rows[112]).toMatchObject({ row: 113, area: 'Power', ref: '7.10' });
  });
});

describe('rowStatus', () => {
  it.each<[TestStatus[], string]>([
    [[], '-'],
    [['passed'], 'pass'],
    [['passed', 'passed'], 'pass'],
    [['passed', 'failed'], 'FAIL'],
    [['skipped', 'failed'], 'FAIL'],
    [['skipped'], 'skip'],
    [['todo', 'pending'], 'skip'],
    // What ran passed; the skipped one (an integration test without root) is listed beside it.
    [['passed', 'skipped'], 'pass'],
  ])('%j gives %s', (statuses, expected) => {
    expect(rowStatus(statuses.map((s) => test(['row 1: x'], s)))).toBe(expected);
  });
});

it('conformance gives every row its covering tests and status; formatTable prints each row once plus continuation lines', () => {
  const rows = parseChecklist(fixture);
  const a = test(['row 1: a'], 'passed', 'test/unit/a.test.ts');
  const b = test(['suite', 'rows 1, 3: b'], 'failed', 'test/unit/b.test.ts');
  const results = conformance(rows, [a, b, test(['row 9: out of range'])]);
  expect(results.map((r) => [r.row, r.status, r.tests])).toEqual([
    [1, 'FAIL', [a, b]],
    [2, '-', []],
    [3, 'FAIL', [b]],
  ]);
  const lines = formatTable(results);
  expect(lines).toHaveLength(4);
  expect(lines[0]).toMatch(/^ {2}1 {2}Init .* FAIL {2}unit\/a\.test\.ts: row 1: a$/);
  expect(lines[1]).toMatch(/^ +unit\/b\.test\.ts: rows 1, 3: b \[failed\]$/);
  expect(lines[2]).toMatch(/^ {2}2 {2}Caps {2}Report capabilities +-$/);
});

it('testsOfReport reads vitest JSON and names the files that failed before running a test', () => {
  const report = {
    testResults: [
      {
        name: `${root}/test/unit/a.test.ts`,
        status: 'passed',
        assertionResults: [{ ancestorTitles: ['outer'], title: 'row 4: x', status: 'passed' as const }],
      },
      { name: `${root}/test/unit/broken.test.ts`, status: 'failed', message: 'SyntaxError', assertionResults: [] },
    ],
  };
  expect(testsOfReport(report, root)).toEqual({
    tests: [{ file: 'test/unit/a.test.ts', titles: ['outer', 'row 4: x'], status: 'passed' }],
    brokenFiles: ['test/unit/broken.test.ts'],
  });
});

it('parseArgs keeps its own options and hands the rest to vitest', () => {
  expect(parseArgs(['--unit', 'test/unit/ndis', '--spec', 's.md', '--json', 'o.json', '-t', 'row'])).toEqual({
    unit: true,
    spec: 's.md',
    json: 'o.json',
    vitestArgs: ['test/unit/ndis', '-t', 'row'],
  });
  expect(() => parseArgs(['--json'])).toThrow(/needs a value/);
});
