import { describe, expect, it } from 'vitest';
import { CodecTable, estimateOneWayDelay } from '../../src/qos/index.js';
import { IntervalMetrics, METRIC_VARIABLES, ReportScheduler, RuleError, StreamQosState, compileRule } from '../../src/report/index.js';
import { counters, snapshot } from './snapshot-fixture.js';

const rules = [
  { name: 'bad_quality', when: 'mos < 3.6 or loss_pct > 2', intervalS: 5 },
  { name: 'jittery', when: 'max_jitter_ms > 30', intervalS: 10 },
];

describe('rule compilation', () => {
  it('accepts comparisons, logic, arithmetic and allowed functions over known variables', () => {
    for (const when of ['mos < 3.6 or loss_pct > 2', 'not (mos >= 4)', 'abs(skew_ms) > 40 and packets > 0', '1 < mos < 3', 'lost / max(expected, 1) * 100 > 2', 'true'])
      expect(() => compileRule({ name: 'r', when, intervalS: 1 })).not.toThrow();
  });

  it('refuses syntax errors with the position', () => {
    const e = (() => { try { compileRule({ name: 'broken', when: 'mos < 3.6 or (loss_pct > ', intervalS: 5 }); } catch (x) { return x; } })() as RuleError;
    expect(e).toBeInstanceOf(RuleError);
    expect(e.rule).toBe('broken');
    expect(e.position).toBe(26);
    expect(e.message).toMatch(/report rule 'broken': syntax error.*at position 26/);
  });

  it('refuses unknown variables, naming them and where they are', () => {
    const when = 'mos < 3.6 or packet_loss > 2';
    expect(() => compileRule({ name: 'typo', when, intervalS: 5 })).toThrow(/rule 'typo': unknown variable 'packet_loss'.*position 13/s);
    expect(() => compileRule({ name: 'fn', when: 'exp(mos) > 1', intervalS: 5 })).toThrow(/function 'exp' is not allowed/);
    expect(() => compileRule({ name: 'argc', when: 'abs( ) <= mos', intervalS: 5 })).toThrow(/abs\(\) takes 1 argument, got 0/);
    expect(() => compileRule({ name: 'argc', when: 'sqrt(mos, 2) > 1', intervalS: 5 })).toThrow(/sqrt\(\) takes 1 argument, got 2/);
    expect(compileRule({ name: 'ok', when: 'round(mos, 1) < 3 and max(jitter_ms, 1) > 0', intervalS: 5 }).code.evaluate({ mos: 2.9, jitter_ms: 0 })).toBe(true);
  });

  it('refuses non-boolean expressions and bad operands', () => {
    expect(() => compileRule({ name: 'n', when: 'mos + 1', intervalS: 5 })).toThrow(/not a condition/);
    expect(() => compileRule({ name: 'n', when: 'mos < 3 and 2', intervalS: 5 })).toThrow(/boolean operands/);
    expect(() => compileRule({ name: 'n', when: 'mos = 3', intervalS: 5 })).toThrow(/not allowed/);
    expect(() => compileRule({ name: 'n', when: '"a" == "a"', intervalS: 5 })).toThrow(/neither a number/);
    expect(() => compileRule({ name: 'n', when: 'mos < 3', intervalS: 0 })).toThrow(/intervalS/);
    expect(() => new ReportScheduler({ baseIntervalS: 30, rules: [rules[0], rules[0]] }, 4)).toThrow(/twice/);
  });

  it('refuses a part that is no finite number whatever the stream, and a round() with impossible decimals', () => {
    expect(() => compileRule({ name: 'inf', when: 'mos < 1 / 0', intervalS: 5 })).toThrow(/rule 'inf': 1 \/ 0 is Infinity, not a finite number/);
    expect(() => compileRule({ name: 'cx', when: 'mos + sqrt(-4) > 1', intervalS: 5 })).toThrow(/rule 'cx': sqrt\(-4\) is complex \(2i\), not a finite number/);
    expect(() => compileRule({ name: 'log', when: 'mos < 1 and log10(0) < mos', intervalS: 5 })).toThrow(/rule 'log': log10\(0\) is -Infinity/);
    expect(() => compileRule({ name: 'dec', when: 'round(mos, 1.5) < 3', intervalS: 5 })).toThrow(/rule 'dec': round\(\)'s decimals must be an integer from 0 to 15, got 1.5 at position 0/);
    // mathjs reads NaN and Infinity as constants, and a literal beyond the doubles as Infinity.
    expect(() => compileRule({ name: 'nan', when: 'loss_pct > NaN', intervalS: 5 })).toThrow(/rule 'nan': constant NaN is not a finite number at position 11/);
    expect(() => compileRule({ name: 'inf', when: 'mos < Infinity', intervalS: 5 })).toThrow(/rule 'inf': constant Infinity is not a finite number at position 6/);
    expect(() => compileRule({ name: 'big', when: 'jitter_ms < 1e999', intervalS: 5 })).toThrow(/rule 'big': constant 1e999 is not a finite number at position 12/);
    expect(() => compileRule({ name: 'neg', when: 'mos > -1e400 and -Infinity < mos', intervalS: 5 })).toThrow(/rule 'neg': constant 1e400 is not a finite number at position 7/);
    expect(compileRule({ name: 'tiny', when: 'mos > 1e-400', intervalS: 5 }).test({ mos: 1 })).toBe(true); // 0: finite
    // What fails for some values only is left to run time (counted there).
    for (const when of ['lost / expected > 0.1', 'sqrt(skew_ms) > 2', '0 < mos < 1 / lost', 'round(mos, 2) < 3.55 and 2 > 1']) expect(() => compileRule({ name: 'r', when, intervalS: 1 })).not.toThrow();
  });

  it('a compared value that is not a finite number fails the evaluation, naming it, instead of comparing false', () => {
    const errors: string[] = [];
    const s = new ReportScheduler({ baseIntervalS: 10, rules: [
      { name: 'ratio', when: 'lost / expected > 0.1', intervalS: 2 },
      { name: 'chained', when: '0 < mos < 1 / lost', intervalS: 2 },
      { name: 'skew', when: 'not (sqrt(skew_ms) > 2)', intervalS: 2 },
      { name: 'plain', when: 'packets > 0', intervalS: 2 },
    ] }, 4);
    s.onError = (rule, error) => errors.push(`${rule}: ${error}`);
    const m = new IntervalMetrics();
    Object.assign(m, { lost: 0, expected: 0, mos: 4, skew_ms: -9, packets: 3 });
    s.start(1, 0);
    // Only the rule that could be evaluated fires: NaN, Infinity and complex values would have compared false (or true under not).
    expect(s.evaluate(1, m, 10_000)).toBe(0b1000);
    expect(errors).toEqual([
      'ratio: lost / expected is NaN, not a finite number',
      'chained: 1 / lost is Infinity, not a finite number',
      'skew: sqrt(skew_ms) is complex (3i), not a finite number',
    ]);
    Object.assign(m, { lost: 2, expected: 10, skew_ms: 1 });
    expect(s.evaluate(1, m, 12_000)).toBe(0b0101); // evaluated again: ratio and skew start firing (4 < 1 / 2 is false)
    expect([...s.errors].map(([rule, e]) => [rule, e.count])).toEqual([['ratio', 1], ['chained', 1], ['skew', 1]]);
  });

  it('documents every variable the scope fills', () => {
    const m = new IntervalMetrics();
    expect(Object.keys(m).sort()).toEqual([...METRIC_VARIABLES].sort());
  });
});

describe('adaptive scheduling', () => {
  const codec = new CodecTable().resolve('PCMU', 0);
  function tick(s: ReportScheduler, q: StreamQosState, m: IntervalMetrics, lost: number, maxJitterMs: number, now: number): number {
    const iv = counters({ expected: 100, lost, packets: 100 - lost, maxJitterMs, startMs: now - 1000, endMs: now });
    const snap = snapshot({ slot: 1, interval: iv });
    q.assessInterval(1, iv, codec, estimateOneWayDelay(null));
    return s.evaluate(1, m.fill(snap, q), now);
  }

  it('shortens the interval while a rule fires, alerts only when it starts, returns to base on recovery', () => {
    const s = new ReportScheduler({ baseIntervalS: 30, rules, pick: 'shortest' }, 4);
    const q = new StreamQosState(4);
    const m = new IntervalMetrics();
    s.start(1, 0);
    expect(s.nextDueMs(1)).toBe(30_000);
    expect(s.due(29_999)).toBe(0);
    expect(s.due(30_000)).toBe(1);
    expect(s.dueSlots[0]).toBe(1);

    expect(tick(s, q, m, 0, 5, 30_000)).toBe(0);
    expect(s.intervalS(1)).toBe(30);
    // 5 % loss: G.711 PLC MOS 3.92 but loss_pct 5 > 2 -> bad_quality starts.
    expect(tick(s, q, m, 5, 5, 60_000)).toBe(0b01);
    expect(s.ruleName(0)).toBe('bad_quality');
    expect(s.intervalS(1)).toBe(5);
    expect(s.nextDueMs(1)).toBe(65_000);
    // Still firing: no new alert; jitter rule starts too, shortest interval wins.
    expect(tick(s, q, m, 5, 40, 65_000)).toBe(0b10);
    expect(s.firingMask(1)).toBe(0b11);
    expect(s.intervalS(1)).toBe(5);
    expect(tick(s, q, m, 0, 40, 70_000)).toBe(0);
    expect(s.intervalS(1)).toBe(10);
    // Recovered.
    expect(tick(s, q, m, 0, 1, 80_000)).toBe(0);
    expect(s.intervalS(1)).toBe(30);
    expect(s.nextDueMs(1)).toBe(110_000);
    // Fires again later: a new alert.
    expect(tick(s, q, m, 10, 1, 110_000)).toBe(0b01);
  });

  it("pick 'first' (default): the first firing rule in order sets the interval, even a longer one", () => {
    const s = new ReportScheduler({ baseIntervalS: 30, rules: [{ name: 'idle', when: 'packets < 10', intervalS: 120 }, ...rules] }, 4);
    const q = new StreamQosState(4);
    const m = new IntervalMetrics();
    s.start(1, 0);
    expect(tick(s, q, m, 5, 40, 30_000)).toBe(0b110);
    expect(s.intervalS(1)).toBe(5); // bad_quality comes before jittery
    const s2 = new ReportScheduler({ baseIntervalS: 30, rules: [rules[1], rules[0]] }, 4);
    s2.start(1, 0);
    expect(tick(s2, q, m, 5, 40, 30_000)).toBe(0b11);
    expect(s2.intervalS(1)).toBe(10);
    expect(() => new ReportScheduler({ baseIntervalS: 30, pick: 'x' as 'first' }, 1)).toThrow(/pick/);
  });

  /** Rules [jittery, lossy] with lossy firing for slot 1 (5 % loss at 30 s). */
  const lossyFiring = () => {
    const lossy = { name: 'lossy', when: 'loss_pct > 2', intervalS: 2 };
    const s = new ReportScheduler({ baseIntervalS: 30, rules: [rules[1], lossy] }, 4);
    const q = new StreamQosState(4);
    const m = new IntervalMetrics();
    s.start(1, 0);
    expect(tick(s, q, m, 5, 1, 30_000)).toBe(0b10);
    return { lossy, s, q, m };
  };

  it('a reload keeps each firing rule by name: no second ALERT while it fires, one CLEARED when it stops or is removed', () => {
    const { lossy, s, q, m } = lossyFiring();
    // The same rules in another order: lossy goes on firing under its new number, nothing starts.
    s.reconfigure({ baseIntervalS: 30, rules: [lossy, rules[1]] });
    expect(s.firingMask(1)).toBe(0b01);
    expect(tick(s, q, m, 5, 1, 32_000)).toBe(0);
    expect(s.lastCleared).toBe(0);
    expect(s.intervalS(1)).toBe(2);
    // A higher threshold under the same name: the 5 % loss no longer fires it, so it clears.
    s.reconfigure({ baseIntervalS: 30, rules: [{ ...lossy, when: 'loss_pct > 50' }, rules[1]] });
    expect(tick(s, q, m, 5, 1, 34_000)).toBe(0);
    expect(s.lastCleared).toBe(0b01);
    expect(s.ruleName(0)).toBe('lossy');
    expect(s.intervalS(1)).toBe(30);
    // Removed while firing: cleared at the stream's next report, then gone at the next reload.
    s.reconfigure({ baseIntervalS: 30, rules: [lossy] });
    expect(tick(s, q, m, 5, 1, 64_000)).toBe(0b1);
    s.reconfigure({ baseIntervalS: 30, rules: [rules[1]] });
    expect(s.rules.map((r) => r.name)).toEqual(['jittery', 'lossy']);
    expect(tick(s, q, m, 5, 1, 66_000)).toBe(0);
    expect(s.lastCleared).toBe(0b10);
    expect(s.ruleName(1)).toBe('lossy');
    expect(s.intervalS(1)).toBe(30);
    s.reconfigure({ baseIntervalS: 30, rules: [rules[1]] });
    expect(s.rules.map((r) => r.name)).toEqual(['jittery']);
  });

  it('a reload moves the firing rules whose ALERT an output was not given (unsent, unlogged) with their rules', () => {
    const { lossy, s, q, m } = lossyFiring();
    s.unsent[1] = 0b10; // as the reporter marks an ALERT withheld from the collectors
    s.unlogged[1] = 0b10;
    s.reconfigure({ baseIntervalS: 30, rules: [lossy, rules[1]] });
    expect([s.firingMask(1), s.unsent[1], s.unlogged[1]]).toEqual([0b01, 0b01, 0b01]);
    s.reconfigure({ baseIntervalS: 30, rules: [rules[1]] }); // removed while firing: kept, never firing again
    expect([s.firingMask(1), s.unsent[1], s.unlogged[1]]).toEqual([0b10, 0b10, 0b10]);
    s.stop(1);
    expect([s.unsent[1], s.unlogged[1]]).toEqual([0, 0]);
  });

  it("a reload gives each stream's interval in progress its new length, from the interval's start", () => {
    const lossy = { name: 'lossy', when: 'loss_pct > 2', intervalS: 4 };
    const s = new ReportScheduler({ baseIntervalS: 3600, rules: [lossy] }, 4);
    const q = new StreamQosState(4);
    const m = new IntervalMetrics();
    s.start(1, 1000);
    s.start(2, 1000);
    expect(tick(s, q, m, 5, 1, 3_601_000)).toBe(0b1); // slot 1 fires: due 4 s later
    s.reconfigure({ baseIntervalS: 10, rules: [{ ...lossy, intervalS: 2 }] });
    expect(s.nextDueMs(1)).toBe(3_603_000);
    expect(s.intervalS(1)).toBe(2);
    expect(s.nextDueMs(2)).toBe(11_000);
    expect(s.intervalS(2)).toBe(10);
    expect(s.due(3_601_000)).toBe(1);
    expect(s.dueSlots[0]).toBe(2);
  });

  it('due() lists only active slots past their time, without allocating per stream', () => {
    const s = new ReportScheduler({ baseIntervalS: 1 }, 1000);
    for (let i = 0; i < 1000; i += 2) s.start(i, i);
    s.stop(10);
    const n = s.due(1000 + 500);
    expect(n).toBe(250); // slots 0..500 even, minus 10 -> 251 - 1
    expect(Array.from(s.dueSlots.subarray(0, 3))).toEqual([0, 2, 4]);
    expect(s.dueSlots.subarray(0, n).includes(10)).toBe(false);
  });
});
