// Lint: a few type-aware rules that catch real bugs, not a style guide (the compiler's strict
// options and review cover style). `npm run lint`; `npm test` runs it.
import tseslint from 'typescript-eslint';

/**
 * True when `type` is, or (as a union) may be, the `Seq` brand of src/wire/seq.ts: the brand
 * is the property `__brand` of literal type 'Seq'.
 */
function isSeq(checker, type) {
  const parts = type.isUnion() ? type.types : [type];
  return parts.some((part) => {
    const brand = checker.getPropertyOfType(part, '__brand');
    if (brand === undefined) return false;
    const brandType = checker.getTypeOfSymbol(brand);
    return brandType.isStringLiteral() && brandType.value === 'Seq';
  });
}

const RELATIONAL = new Set(['<', '>', '<=', '>=']);
/** Operators that apply ToInt32/ToUint32 to their operands, so reduce them modulo 2^32. */
const BITWISE = new Set(['|', '&', '^', '<<', '>>', '>>>']);

/**
 * True when the value of `node` (a subtraction) only reaches a bitwise operator through `+`
 * and `-`: `(a - b) | 0`, `(a - b) >>> 0`, `(a - b - c) & mask`. That arithmetic is exact
 * modulo 2^32 (it is how seq.ts defines its helpers), so it is the modular distance, not a
 * raw one.
 */
function reducedModulo32(node) {
  const { parent } = chainTop(node);
  return parent.type === 'BinaryExpression' && BITWISE.has(parent.operator);
}

/** The outermost expression of the `+`/`-` chain that `node` is part of. */
function chainTop(node) {
  let n = node;
  while (n.parent.type === 'BinaryExpression' && (n.parent.operator === '+' || n.parent.operator === '-')) n = n.parent;
  return n;
}

/**
 * STYLE rule 4: sequence numbers are compared modulo 2^32 (RFC 9293 §3.4). `Seq` is a branded
 * number, so the compiler accepts `a < b` and `a - b` on two of them; this rule does not. A
 * raw comparison is right until the stream crosses 2^32 and wrong after, which no short test
 * sees. Use seqLt/seqLe/seqGt/seqGe/seqDiff/seqMax/seqMin/inWindow from src/wire/seq.ts; a
 * subtraction reduced at once by `| 0` or `>>> 0` is modular and allowed.
 */
const seqArithmetic = {
  meta: {
    type: 'problem',
    docs: { description: 'Disallow raw relational comparison and subtraction of Seq values' },
    messages: {
      compare: "Raw '{{op}}' on a Seq ignores wraparound; use seqLt/seqLe/seqGt/seqGe (src/wire/seq.ts).",
      subtract: "Raw '{{op}}' on a Seq ignores wraparound; use seqDiff (src/wire/seq.ts).",
    },
    schema: [],
  },
  create(context) {
    const services = context.sourceCode.parserServices;
    if (services?.program == null) throw new Error('chimney/seq-arithmetic needs type information (parserOptions.project)');
    const checker = services.program.getTypeChecker();
    const seqOperand = (...nodes) => nodes.some((n) => isSeq(checker, services.getTypeAtLocation(n)));
    // `a - n - b` is one raw distance: reported once, on the whole chain.
    const reportedChains = new WeakSet();
    return {
      BinaryExpression(node) {
        if (node.left.type === 'PrivateIdentifier') return;
        const op = node.operator;
        if (RELATIONAL.has(op) && seqOperand(node.left, node.right)) {
          context.report({ node, messageId: 'compare', data: { op } });
        } else if (op === '-' && !reducedModulo32(node) && seqOperand(node.left, node.right)) {
          const top = chainTop(node);
          if (reportedChains.has(top)) return;
          reportedChains.add(top);
          context.report({ node: top, messageId: 'subtract', data: { op } });
        }
      },
      AssignmentExpression(node) {
        if (node.operator === '-=' && seqOperand(node.left, node.right)) {
          context.report({ node, messageId: 'subtract', data: { op: '-=' } });
        }
      },
    };
  },
};

export default tseslint.config(
  {
    // test/fixtures/lint/ holds code written to break the rules; its test lints it on purpose.
    ignores: ['dist/**', 'build/**', 'node_modules/**', 'native/**', 'prebuilds/**', 'eslint.config.js', 'test/fixtures/lint/**'],
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      // One program for src/, scripts/ and test/ (tsconfig.test.json includes all three).
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: {
      '@typescript-eslint': tseslint.plugin,
      chimney: { rules: { 'seq-arithmetic': seqArithmetic } },
    },
    rules: {
      'chimney/seq-arithmetic': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      eqeqeq: 'error',
    },
  },
  {
    // The helpers themselves are defined by the raw arithmetic the rule forbids elsewhere.
    files: ['src/wire/seq.ts'],
    rules: { 'chimney/seq-arithmetic': 'off' },
  },
);
