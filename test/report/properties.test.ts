import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntervalMetrics, METRIC_VARIABLES, ReportScheduler, RuleError, compileRule } from '../../src/report/index.js';

describe('properties', () => {
  it('any rule text is either compiled or refused with a RuleError naming the rule', () => {
    const tokens = fc.constantFrom(...METRIC_VARIABLES, 'mos', '<', '>', '<=', '==', 'and', 'or', 'not', '(', ')', '+', '*', '3.6', '2', 'abs(', ',', 'x', '"s"', '=', '[', ']', '?', ':', 'true', '.', 'f(x)=1');
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(tokens, { maxLength: 9 }).map((t) => t.join(' '))), (when) => {
        try {
          const r = compileRule({ name: 'p', when, intervalS: 1 });
          // Compiled rules evaluate to a boolean on any scope.
          const scope: Record<string, number> = {};
          for (const v of METRIC_VARIABLES) scope[v] = 1.5;
          expect(typeof r.code.evaluate(scope)).toBe('boolean');
        } catch (e) {
          expect(e).toBeInstanceOf(RuleError);
          expect((e as Error).message).toMatch(/^report rule 'p': /);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('ALERT only on rising edges; interval = first firing rule or base', () => {
    const rules = [
      { name: 'a', when: 'mos < 3', intervalS: 2 },
      { name: 'b', when: 'loss_pct > 5', intervalS: 7 },
    ];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: 1, max: 4.5, noNaN: true }), fc.double({ min: 0, max: 20, noNaN: true })), { maxLength: 30 }), (seq) => {
        const s = new ReportScheduler({ baseIntervalS: 30, rules }, 2);
        const m = new IntervalMetrics();
        s.start(0, 0);
        let prev = [false, false];
        let now = 0;
        for (const [mos, loss] of seq) {
          m.mos = mos;
          m.loss_pct = loss;
          now += 1000;
          const started = s.evaluate(0, m, now);
          const cur = [mos < 3, loss > 5];
          const expectStarted = (cur[0] && !prev[0] ? 1 : 0) | (cur[1] && !prev[1] ? 2 : 0);
          expect(started).toBe(expectStarted);
          expect(s.intervalS(0)).toBe(cur[0] ? 2 : cur[1] ? 7 : 30);
          expect(s.nextDueMs(0)).toBe(now + s.intervalS(0) * 1000);
          prev = cur;
        }
      }),
    );
  });
});
