import type { MathJsInstance, MathNode } from 'mathjs';

/**
 * A checked rule expression (rules.ts) as plain JavaScript closures, evaluated at every report interval
 * of every stream: mathjs's own evaluation walks its tree through typed-function dispatch and compiles
 * both sides of `and` / `or` again at each evaluation (they are lazy), tens of microseconds a rule.
 *
 * The closures give mathjs's answer: comparisons as mathjs compares numbers (equal within its relative
 * and absolute tolerances), + - * / as JavaScript (as mathjs does for numbers), `and` / `or` and chained
 * comparisons lazy in mathjs's order, and every function, ^ and % through the mathjs instance's own
 * function. Whatever is not a plain finite number where a number is compared, or any error, is handed
 * back (FALLBACK): the caller then evaluates the expression with mathjs, which answers or throws as it
 * always did.
 */
export type RuleClosure = (scope: Readonly<Record<string, number>>) => boolean;

type Num = (scope: Readonly<Record<string, number>>) => number;
type Bool = (scope: Readonly<Record<string, number>>) => boolean;

/** Thrown by a closure that cannot give mathjs's answer itself. */
export const FALLBACK = new Error('rule closure: evaluate with mathjs');

/** The closure of a checked boolean expression (rules.ts typeOf said so), or null for a node it does not translate. */
export function ruleClosure(root: MathNode, math: MathJsInstance): RuleClosure | null {
  const { relTol, absTol } = (math as unknown as { config(): { relTol: number; absTol: number } }).config();
  try {
    return bool(root);
  } catch (e) {
    if (e === UNSUPPORTED) return null;
    throw e;
  }

  function bool(node: MathNode): Bool {
    const n = node as MathNode & Record<string, any>;
    switch (n.type) {
      case 'ConstantNode': {
        if (typeof n.value !== 'boolean') throw UNSUPPORTED;
        const v: boolean = n.value;
        return () => v;
      }
      case 'ParenthesisNode':
        return bool(n.content);
      case 'RelationalNode': {
        const params = (n.params as MathNode[]).map(num);
        const tests = (n.conditionals as string[]).map(comparison);
        return (s) => {
          let rhs = operand(params[0](s));
          for (let i = 0; i < tests.length; i++) {
            const lhs = rhs;
            rhs = operand(params[i + 1](s));
            if (!tests[i](lhs, rhs)) return false;
          }
          return true;
        };
      }
      case 'OperatorNode': {
        const args = n.args as MathNode[];
        if (n.fn === 'not') {
          const a = bool(args[0]);
          return (s) => !a(s);
        }
        if (n.fn === 'and' || n.fn === 'or' || n.fn === 'xor') {
          const a = bool(args[0]);
          const b = bool(args[1]);
          if (n.fn === 'and') return (s) => a(s) && b(s);
          if (n.fn === 'or') return (s) => a(s) || b(s);
          return (s) => a(s) !== b(s);
        }
        const test = comparison(n.fn);
        const a = num(args[0]);
        const b = num(args[1]);
        return (s) => {
          const x = operand(a(s));
          return test(x, operand(b(s)));
        };
      }
      default:
        throw UNSUPPORTED;
    }
  }

  function num(node: MathNode): Num {
    const n = node as MathNode & Record<string, any>;
    switch (n.type) {
      case 'ConstantNode': {
        if (typeof n.value !== 'number') throw UNSUPPORTED;
        const v: number = n.value;
        return () => v;
      }
      case 'SymbolNode': {
        const name: string = n.name;
        return (s) => s[name];
      }
      case 'ParenthesisNode':
        return num(n.content);
      case 'OperatorNode': {
        const args = (n.args as MathNode[]).map(num);
        const [a, b] = args;
        switch (args.length === 1 ? `${n.fn}/1` : n.fn) {
          case 'unaryMinus/1':
            return (s) => -a(s);
          case 'unaryPlus/1':
            return a;
          case 'add':
            return (s) => a(s) + b(s);
          case 'subtract':
            return (s) => a(s) - b(s);
          case 'multiply':
            return (s) => a(s) * b(s);
          case 'divide':
            return (s) => a(s) / b(s);
          case 'pow':
          case 'mod':
            return viaMath(n.fn, args);
          default:
            throw UNSUPPORTED;
        }
      }
      case 'FunctionNode':
        if (n.fn?.type !== 'SymbolNode') throw UNSUPPORTED;
        return viaMath(n.fn.name as string, (n.args as MathNode[]).map(num));
      default:
        throw UNSUPPORTED;
    }
  }

  /** The mathjs function itself on the arguments (left to right); anything but a number falls back. */
  function viaMath(name: string, args: Num[]): Num {
    const fn = (math as unknown as Record<string, (...a: number[]) => unknown>)[name];
    if (typeof fn !== 'function') throw UNSUPPORTED;
    const real = (v: unknown): number => {
      if (typeof v !== 'number') throw FALLBACK; // complex (sqrt(-1)), ...
      return v;
    };
    if (args.length === 1) {
      const [a] = args;
      return (s) => real(fn(a(s)));
    }
    if (args.length === 2) {
      const [a, b] = args;
      return (s) => {
        const x = a(s);
        return real(fn(x, b(s)));
      };
    }
    return (s) => real(fn(...args.map((a) => a(s))));
  }

  /** mathjs's number comparison `fn` (smaller, larger, ...: its relational functions for two numbers). */
  function comparison(fn: string): (x: number, y: number) => boolean {
    const near = (x: number, y: number) => x === y || Math.abs(x - y) <= Math.max(relTol * Math.max(Math.abs(x), Math.abs(y)), absTol);
    switch (fn) {
      case 'smaller':
        return (x, y) => x < y && !near(x, y);
      case 'larger':
        return (x, y) => x > y && !near(x, y);
      case 'smallerEq':
        return (x, y) => x <= y || near(x, y);
      case 'largerEq':
        return (x, y) => x >= y || near(x, y);
      case 'equal':
        return near;
      case 'unequal':
        return (x, y) => !near(x, y);
      default:
        throw UNSUPPORTED;
    }
  }
}

/** A compared value: finite numbers only (mathjs's evaluation reports the others, see rules.ts checkOperand). */
function operand(v: number): number {
  if (v - v !== 0) throw FALLBACK; // NaN or an infinity
  return v;
}

const UNSUPPORTED = new Error('rule closure: node not translated');
