import { createRequire } from 'node:module';
import type { EvalFunction, MathJsInstance, MathNode } from 'mathjs';
import { METRIC_VARIABLES } from './fields.js';
import { ruleClosure, type RuleClosure } from './rule-closure.js';

/**
 * Adaptive-reporting rule expressions, compiled ONCE with mathjs and checked before use: syntax (with
 * mathjs's character position), unknown variables (walking the parsed tree), and type (the expression
 * must be boolean: comparisons joined by and/or/xor/not; arithmetic and a few numeric functions inside).
 */
export interface RuleConfig {
  name: string;
  when: string;
  intervalS: number;
}

export interface CompiledRule {
  name: string;
  when: string;
  intervalS: number;
  /** mathjs's evaluation of the expression (the reference: `test` answers as it does). */
  code: EvalFunction;
  /**
   * Whether the rule fires for these variable values: plain JavaScript closures (rule-closure.ts), mathjs's
   * evaluation where they cannot answer. Throws as mathjs does (a value compared that is no finite number).
   */
  test: (scope: Readonly<Record<string, number>>) => boolean;
}

export class RuleError extends Error {
  constructor(
    readonly rule: string,
    readonly position: number | null,
    detail: string,
    expression: string,
  ) {
    super(
      `report rule '${rule}': ${detail}${position !== null ? ` at position ${position}` : ''}\n  when: ${expression}` +
        (position !== null ? `\n        ${' '.repeat(Math.max(0, position))}^` : ''),
    );
    this.name = 'RuleError';
  }
}

/**
 * mathjs is loaded when the first rule is compiled, not at start-up: loading it costs about half a
 * second of CPU, and the default configuration has no rule.
 */
let mathjs: MathJsInstance | null = null;
function math(): MathJsInstance {
  if (mathjs === null) {
    const m = createRequire(import.meta.url)('mathjs') as typeof import('mathjs');
    // An instance of our own, with the operand check compiled rules call (see checkOperands).
    mathjs = m.create(m.all);
    mathjs.import({ [OPERAND_CHECK]: checkOperand });
  }
  return mathjs;
}
function parse(expr: string): MathNode {
  return math().parse(expr);
}

/** The function every compared value passes through (checkOperands): a name no rule can call (functions are whitelisted). */
const OPERAND_CHECK = 'rule_operand';

/**
 * Returns `value` when it is a finite real number; otherwise throws, naming the operand. mathjs computes
 * 0 / 0 as NaN, 1 / 0 as Infinity and sqrt(-1) as a complex number, and compares them without a word
 * (NaN < 3 is false): a rule would quietly not fire (or fire) for that stream.
 */
function checkOperand(text: string, value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw new Error(`${text} is ${describeValue(value)}, not a finite number`);
}

function describeValue(v: unknown): string {
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (v !== null && typeof v === 'object' && (v as { isComplex?: boolean }).isComplex) return `complex (${String(v)})`;
  return v === undefined ? 'undefined' : String(v);
}

const VARIABLES = new Set<string>(METRIC_VARIABLES);
/** Allowed functions and how many arguments each takes ([min, max]). */
const FUNCTIONS = new Map<string, [number, number]>([
  ['abs', [1, 1]], ['min', [1, 64]], ['max', [1, 64]], ['sqrt', [1, 1]], ['round', [1, 2]], ['floor', [1, 1]], ['ceil', [1, 1]], ['log10', [1, 1]],
]);
const RELATIONAL = new Set(['smaller', 'larger', 'smallerEq', 'largerEq', 'equal', 'unequal']);
const LOGICAL = new Set(['and', 'or', 'xor', 'not']);
const ARITHMETIC = new Set(['add', 'subtract', 'multiply', 'divide', 'pow', 'mod', 'unaryMinus', 'unaryPlus']);

type Kind = 'boolean' | 'number';

function symbolPosition(expr: string, name: string): number | null {
  const m = new RegExp(`(^|[^A-Za-z0-9_])${name.replace(/[^A-Za-z0-9_]/g, '\\$&')}(?![A-Za-z0-9_])`).exec(expr);
  return m ? m.index + m[1].length : null;
}

/**
 * A constant that is no finite number: mathjs reads NaN and Infinity as constants and a literal beyond
 * the doubles (1e999) as Infinity; any comparison with one fails for every stream. Named as written.
 */
function nonFiniteConstant(rule: RuleConfig): RuleError {
  for (const m of rule.when.matchAll(/(?<![\w.])(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?![\w.])/g)) {
    if (!Number.isFinite(Number(m[0]))) return new RuleError(rule.name, m.index, `constant ${m[0]} is not a finite number`, rule.when);
  }
  return new RuleError(rule.name, null, 'a constant is not a finite number', rule.when);
}

function typeOf(node: MathNode, rule: RuleConfig): Kind {
  const fail = (detail: string, sym?: string): never => {
    throw new RuleError(rule.name, sym ? symbolPosition(rule.when, sym) : null, detail, rule.when);
  };
  const n = node as MathNode & Record<string, any>;
  switch (n.type) {
    case 'ConstantNode':
      if (typeof n.value === 'boolean') return 'boolean';
      if (typeof n.value === 'number') {
        if (!Number.isFinite(n.value)) throw nonFiniteConstant(rule);
        return 'number';
      }
      return fail(`constant ${JSON.stringify(n.value)} is neither a number nor a boolean`);
    case 'SymbolNode':
      if (!VARIABLES.has(n.name)) return fail(`unknown variable '${n.name}' (known: ${METRIC_VARIABLES.join(', ')})`, n.name);
      return 'number';
    case 'ParenthesisNode':
      return typeOf(n.content, rule);
    case 'OperatorNode': {
      const args = n.args as MathNode[];
      if (RELATIONAL.has(n.fn)) {
        for (const a of args) if (typeOf(a, rule) !== 'number') fail(`'${n.op}' compares numbers, got a boolean operand`);
        return 'boolean';
      }
      if (LOGICAL.has(n.fn)) {
        for (const a of args) if (typeOf(a, rule) !== 'boolean') fail(`'${n.op}' needs boolean operands (comparisons), got a number`);
        return 'boolean';
      }
      if (ARITHMETIC.has(n.fn)) {
        for (const a of args) if (typeOf(a, rule) !== 'number') fail(`'${n.op}' needs numeric operands`);
        return 'number';
      }
      return fail(`operator '${n.op}' is not allowed`);
    }
    case 'RelationalNode': // chained comparison: a < b < c
      for (const a of n.params as MathNode[]) if (typeOf(a, rule) !== 'number') fail('chained comparison needs numeric operands');
      return 'boolean';
    case 'FunctionNode': {
      const fname = n.fn && n.fn.type === 'SymbolNode' ? (n.fn.name as string) : '';
      const arity = FUNCTIONS.get(fname);
      if (!arity) return fail(`function '${fname || '?'}' is not allowed (allowed: ${[...FUNCTIONS.keys()].join(', ')})`, fname || undefined);
      const argc = (n.args as MathNode[]).length;
      if (argc < arity[0] || argc > arity[1]) {
        fail(`${fname}() takes ${arity[0] === arity[1] ? arity[0] : `${arity[0]} to ${arity[1]}`} argument${arity[1] > 1 ? 's' : ''}, got ${argc}`, fname);
      }
      for (const a of n.args as MathNode[]) if (typeOf(a, rule) !== 'number') fail(`${fname}() needs numeric arguments`, fname);
      return 'number';
    }
    default:
      return fail(`${n.type} is not allowed in a rule`);
  }
}

export function compileRule(rule: RuleConfig): CompiledRule {
  if (!rule || typeof rule.name !== 'string' || rule.name === '') throw new RuleError(String(rule?.name ?? '?'), null, 'rule needs a name', String(rule?.when ?? ''));
  if (typeof rule.when !== 'string' || rule.when.trim() === '') throw new RuleError(rule.name, null, "rule needs a 'when' expression", String(rule.when ?? ''));
  if (!(Number.isFinite(rule.intervalS) && rule.intervalS > 0)) throw new RuleError(rule.name, null, `intervalS must be a positive number, got ${rule.intervalS}`, rule.when);
  let node: MathNode;
  try {
    node = parse(rule.when);
  } catch (e) {
    const err = e as Error & { char?: number };
    const pos = typeof err.char === 'number' ? err.char : Number(/\(char (\d+)\)/.exec(err.message)?.[1] ?? Number.NaN);
    throw new RuleError(rule.name, Number.isFinite(pos) ? pos : null, `syntax error: ${err.message.replace(/\s*\(char \d+\)$/, '')}`, rule.when);
  }
  if (typeOf(node, rule) !== 'boolean') {
    throw new RuleError(rule.name, null, 'expression is a number, not a condition (use a comparison such as mos < 3.6)', rule.when);
  }
  checkConstants(node, rule);
  const code = checkOperands(node).compile();
  return { name: rule.name, when: rule.when, intervalS: rule.intervalS, code, test: ruleTest(code, ruleClosure(node, math())) };
}

/** The closure, with mathjs's evaluation (on a plain copy of the scope, as mathjs takes) where it hands back. */
function ruleTest(code: EvalFunction, closure: RuleClosure | null): CompiledRule['test'] {
  const evaluate = (scope: Readonly<Record<string, number>>) => code.evaluate({ ...scope }) === true;
  if (closure === null) return evaluate;
  return (scope) => {
    try {
      return closure(scope);
    } catch {
      return evaluate(scope);
    }
  };
}

const hasVariable = (n: MathNode): boolean => n.filter((x) => x.type === 'SymbolNode' && VARIABLES.has((x as MathNode & { name: string }).name)).length > 0;

/**
 * What fails whatever the stream, found at compile time: a part without variables that is not a finite
 * number (1 / 0, sqrt(-1), log10(0)), and a function refusing its constant arguments (round(mos, 1.5)).
 */
function checkConstants(root: MathNode, rule: RuleConfig): void {
  root.traverse((node, _path, parent) => {
    if (node.type === 'SymbolNode' || node.type === 'ConstantNode' || hasVariable(node)) return;
    if (parent !== null && !hasVariable(parent)) return; // inside a larger constant part
    let value: unknown;
    try {
      value = node.compile().evaluate({});
    } catch (e) {
      throw new RuleError(rule.name, null, `${node.toString()} cannot be computed: ${(e as Error).message}`, rule.when);
    }
    if (typeof value !== 'boolean' && !(typeof value === 'number' && Number.isFinite(value))) {
      throw new RuleError(rule.name, null, `${node.toString()} is ${describeValue(value)}, not a finite number`, rule.when);
    }
  });
  root.traverse((node) => {
    const n = node as MathNode & { fn?: { name?: string }; args?: MathNode[] };
    if (n.type !== 'FunctionNode' || n.fn?.name !== 'round' || n.args!.length !== 2 || hasVariable(n.args![1])) return;
    const decimals = n.args![1].compile().evaluate({}) as unknown;
    if (!(typeof decimals === 'number' && Number.isInteger(decimals) && decimals >= 0 && decimals <= 15)) {
      throw new RuleError(rule.name, symbolPosition(rule.when, 'round'), `round()'s decimals must be an integer from 0 to 15, got ${n.args![1].toString()}`, rule.when);
    }
  });
}

/** The tree with every compared value passed through OPERAND_CHECK (checkOperand) with its text. */
function checkOperands(root: MathNode): MathNode {
  const m = math();
  const wrap = (a: MathNode): MathNode => new m.FunctionNode(new m.SymbolNode(OPERAND_CHECK), [new m.ConstantNode(a.toString()), a]);
  return root.transform((node) => {
    const n = node as MathNode & Record<string, any>;
    if (n.type === 'OperatorNode' && RELATIONAL.has(n.fn)) return new m.OperatorNode(n.op, n.fn, (n.args as MathNode[]).map(wrap));
    if (n.type === 'RelationalNode') return new m.RelationalNode(n.conditionals as string[], (n.params as MathNode[]).map(wrap));
    return node;
  });
}
