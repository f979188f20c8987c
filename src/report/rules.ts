import { createRequire } from 'node:module';
import type { EvalFunction, MathNode } from 'mathjs';
import { METRIC_VARIABLES } from './fields.js';

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
  code: EvalFunction;
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
let mathParse: ((expr: string) => MathNode) | null = null;
function parse(expr: string): MathNode {
  mathParse ??= (createRequire(import.meta.url)('mathjs') as typeof import('mathjs')).parse;
  return mathParse(expr);
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

function typeOf(node: MathNode, rule: RuleConfig): Kind {
  const fail = (detail: string, sym?: string): never => {
    throw new RuleError(rule.name, sym ? symbolPosition(rule.when, sym) : null, detail, rule.when);
  };
  const n = node as MathNode & Record<string, any>;
  switch (n.type) {
    case 'ConstantNode':
      if (typeof n.value === 'boolean') return 'boolean';
      if (typeof n.value === 'number') return 'number';
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
  return { name: rule.name, when: rule.when, intervalS: rule.intervalS, code: node.compile() };
}
