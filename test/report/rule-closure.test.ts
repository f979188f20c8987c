import { all, create } from 'mathjs';
import { describe, expect, it } from 'vitest';
import { METRIC_VARIABLES, compileRule } from '../../src/report/index.js';
import { ruleClosure } from '../../src/report/rule-closure.js';
import { SeededRandom } from '../../src/gen/index.js';

// A rule's closures must answer as mathjs's evaluation of the rule (compileRule's `code`, the reference):
// the same boolean, or, where mathjs throws, a hand-back to it.

const EXPRESSIONS = [
  'mos < 3.6 or loss_pct > 2',
  'mos <= 3.6 and not (jitter_ms >= 30)',
  'mos == 3.6 or mos != mean_mos',
  'mos > mean_mos xor loss_pct < 1',
  '1 < mos < 3.6',
  '0 <= loss_pct <= 2 < jitter_ms',
  'packets > 0 and lost / packets > 0.02',
  'expected == 0 or lost / expected > 0.01',
  'lost / expected > 0.01 or packets < 10',
  '-mos + +jitter_ms * 2 - max_delta_ms / 4 > 3',
  'jitter_ms ^ 2 > 100 or mos ^ 0.5 < 1.9',
  'jitter_ms % 7 > 3 and -lost % 3 < 2',
  'abs(skew_ms) > 40 and sqrt(jitter_ms) > 2',
  'round(mos, 1) <= 3.5 or round(loss_pct) >= 2',
  'floor(mos) < 3 or ceil(loss_pct) > 1',
  'log10(packets) > 2 and min(mos, mean_mos, min_mos) < 3',
  'max(jitter_ms, max_jitter_ms) > 20',
  'sqrt(skew_ms) > 1',
  'log10(skew_ms) < 1 or true',
  'false or mos < 4',
  '2 mos > 7',
  'mos * 10 == 36',
];

/** Values a stream's variables take, with the awkward ones: zeros, negatives, near-equal, huge, fractions. */
function value(rnd: SeededRandom, near: number): number {
  switch (rnd.int(0, 9)) {
    case 0:
      return 0;
    case 1:
      return -rnd.int(1, 1000) / 8;
    case 2:
      return near * (1 + (rnd.next() - 0.5) * 1e-12); // within mathjs's relative tolerance
    case 3:
      return near + rnd.int(-2, 2) * 1e-15;
    case 4:
      return rnd.int(0, 5) + 0.5 + (rnd.next() - 0.5) * 1e-13; // at rounding ties
    case 5:
      return 10 ** rnd.int(-8, 15) * rnd.next();
    default:
      return Math.round(rnd.next() * 100000) / 1000;
  }
}

describe('rule closures', () => {
  const math = create(all);

  it('answer every rule as mathjs does, and answer themselves where mathjs answers', () => {
    const rnd = new SeededRandom(7);
    let answered = 0;
    let total = 0;
    for (const when of EXPRESSIONS) {
      const rule = compileRule({ name: 'r', when, intervalS: 1 });
      const closure = ruleClosure(math.parse(when), math);
      const shown = (scope: Record<string, number>) => `${when} ${JSON.stringify(METRIC_VARIABLES.filter((v) => when.includes(v)).map((v) => [v, scope[v]]))}`;
      expect(closure, when).not.toBeNull();
      for (let k = 0; k < 3000; k++) {
        const scope: Record<string, number> = {};
        const near = [3.6, 2, 36 / 10, 0, 7][k % 5];
        for (const v of METRIC_VARIABLES) scope[v] = value(rnd, near);
        let reference: boolean | string;
        try {
          reference = rule.code.evaluate({ ...scope }) === true;
        } catch (e) {
          reference = (e as Error).message;
        }
        let own: boolean | null = null;
        try {
          own = closure!(scope);
        } catch {
          own = null; // handed back to mathjs
        }
        total++;
        if (own !== null) {
          answered++;
          if (own !== reference) expect(own, shown(scope)).toBe(reference);
        }
        let viaTest: boolean | string;
        try {
          viaTest = rule.test(scope);
        } catch (e) {
          viaTest = (e as Error).message;
        }
        if (viaTest !== reference) expect(viaTest, shown(scope)).toBe(reference);
      }
    }
    // The closures answer nearly everything themselves: mathjs is only asked for what it throws on.
    expect(answered / total).toBeGreaterThan(0.6);
  });

  it('take the shortcut of and / or as mathjs does: the side not evaluated cannot throw', () => {
    const rule = compileRule({ name: 'r', when: 'packets == 0 or lost / packets > 0.1', intervalS: 1 });
    const closure = ruleClosure(math.parse(rule.when), math)!;
    const scope = Object.fromEntries(METRIC_VARIABLES.map((v) => [v, 0]));
    expect(closure(scope)).toBe(true);
    expect(rule.test(scope)).toBe(true);
    scope.packets = 5;
    scope.lost = 0;
    expect(closure(scope)).toBe(false);
    const both = compileRule({ name: 'r', when: 'packets == 0 xor lost / packets > 0.1', intervalS: 1 });
    scope.packets = 0;
    expect(() => both.test(scope)).toThrow(/lost \/ packets is NaN, not a finite number/);
  });
});
