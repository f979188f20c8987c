import { compileRule } from './rules.js';
import type { CompiledRule, RuleConfig } from './rules.js';
import type { IntervalMetrics } from './metrics-scope.js';

export interface SchedulerConfig {
  baseIntervalS: number;
  rules?: RuleConfig[];
  /**
   * Which firing rule sets the interval: 'first' (default; the first rule in configuration order whose
   * expression is true, as config/rtpprobe.yaml documents; a rule may also lengthen the interval) or
   * 'shortest' (the shortest interval among all firing rules).
   */
  pick?: 'first' | 'shortest';
}

/** A rule's evaluation errors: how many, and the latest one's text. */
export interface RuleErrorCount {
  count: number;
  lastError: string;
}

/** At most 31 rules: a stream's firing set is one 32-bit mask. */
export const MAX_RULES = 31;

/** The expression of a rule a reload removed while it fired: false, so its CLEARED follows. */
const NEVER_FIRES = { evaluate: () => false } as unknown as CompiledRule['code'];
const NEVER_TRUE = () => false;

/**
 * Per-stream report timing. Each active slot has a due time (Float64Array, ms). At a stream's tick the
 * caller scores the interval, fills an IntervalMetrics and calls `evaluate`: while a rule fires the
 * next interval is that rule's intervalS (see `pick`), otherwise the base interval. A rule that
 * STARTS firing (false at the previous tick, true now) is returned in the "started" mask so the caller
 * sends one ALERT report; it is not repeated while the rule keeps firing.
 */
export class ReportScheduler {
  rules: readonly CompiledRule[];
  baseIntervalS: number;
  readonly maxStreams: number;
  pick: 'first' | 'shortest';
  /** Filled by due(): the first `n` entries are the due slots. */
  readonly dueSlots: Int32Array;
  private readonly dueMs: Float64Array;
  private readonly intervalMs: Float64Array;
  private readonly firing: Uint32Array;
  /**
   * Per slot, the firing rules whose ALERT the collectors (unsent) or the local outputs (unlogged) were
   * not given: the stream's reports were withheld from them then (reports.unknown_call_id, a stream
   * whose call is not known yet). Kept here as `firing` is, so a reload moves them with their rules.
   */
  readonly unsent: Uint32Array;
  readonly unlogged: Uint32Array;
  /**
   * Per slot, the firing rules whose ALERT went to the collectors (sentSynthetic) or the local outputs
   * (loggedSynthetic) under the stream's synthetic id: their CLEARED carries it too, after the call is learned.
   */
  readonly sentSynthetic: Uint32Array;
  readonly loggedSynthetic: Uint32Array;
  /** The per-slot rule masks a reload renumbers and a stream's start and end reset. */
  private readonly ruleMasks: readonly Uint32Array[];
  private readonly active: Uint8Array;
  /** No slot at or above this index is active: due() scans only below it (slots are mostly low). */
  private slotLimit = 0;
  /**
   * Evaluations that failed at run time, by rule name, since start (a rule a reload removes keeps its
   * count): a value compared that is no finite number (0 / 0, sqrt of a negative), or a function refusing
   * its arguments. The rule counts as not firing for that stream at that interval.
   */
  readonly errors = new Map<string, RuleErrorCount>();
  /** Told each failed evaluation (for a rate-limited log line). */
  onError: ((rule: string, error: string) => void) | null = null;
  /** Set by evaluate(): the rules that STOPPED firing for that slot (bit i = rules[i]). */
  lastCleared = 0;
  /** rules[0..configuredRules) are the configured ones; after them, rules a reload removed while firing. */
  private configuredRules: number;

  constructor(config: SchedulerConfig, maxStreams: number) {
    const c = compileSchedule(config);
    this.rules = c.rules;
    this.configuredRules = c.rules.length;
    this.baseIntervalS = c.baseIntervalS;
    this.pick = c.pick;
    this.maxStreams = maxStreams;
    this.dueSlots = new Int32Array(maxStreams);
    this.dueMs = new Float64Array(maxStreams);
    this.intervalMs = new Float64Array(maxStreams);
    this.firing = new Uint32Array(maxStreams);
    this.unsent = new Uint32Array(maxStreams);
    this.unlogged = new Uint32Array(maxStreams);
    this.sentSynthetic = new Uint32Array(maxStreams);
    this.loggedSynthetic = new Uint32Array(maxStreams);
    this.ruleMasks = [this.firing, this.unsent, this.unlogged, this.sentSynthetic, this.loggedSynthetic];
    this.active = new Uint8Array(maxStreams);
  }

  /**
   * New rules and base interval (configuration reload) for every stream. Throws, changing nothing, when
   * the new schedule is invalid. Each stream's interval in progress takes the length the new schedule
   * gives it, counted from its start (a stream due in an hour under the old base interval reports at the
   * new one). A stream's firing rules follow their names, so an ALERT is answered by exactly one CLEARED
   * across reloads: a rule still firing is not alerted again, one that stops firing under its new
   * expression is cleared at the stream's next report, and one removed while firing stays (never firing
   * again, never setting the interval) until that report clears it.
   */
  reconfigure(config: SchedulerConfig): void {
    const c = compileSchedule(config);
    const configured = c.rules.length;
    const old = this.rules;
    let firingAnywhere = 0;
    for (let s = 0; s < this.slotLimit; s++) firingAnywhere |= this.firing[s];
    const to = old.map((r, i) => {
      const kept = c.rules.findIndex((n) => n.name === r.name);
      if (kept >= 0 || (firingAnywhere & (1 << i)) === 0) return kept;
      // Beyond the mask's 31 bits a removed rule is dropped and its alert ends with its stream.
      if (c.rules.length >= MAX_RULES) return -1;
      return c.rules.push({ ...r, code: NEVER_FIRES, test: NEVER_TRUE }) - 1;
    });
    const remap = (masks: Uint32Array, s: number): void => {
      let mask = 0;
      for (let i = 0; i < old.length; i++) if (masks[s] & (1 << i) && to[i] >= 0) mask |= 1 << to[i];
      masks[s] = mask >>> 0;
    };
    for (let s = 0; s < this.slotLimit; s++) for (const masks of this.ruleMasks) remap(masks, s);
    this.rules = c.rules;
    this.configuredRules = configured;
    this.baseIntervalS = c.baseIntervalS;
    this.pick = c.pick;
    for (let s = 0; s < this.slotLimit; s++) {
      if (this.active[s] !== 1) continue;
      const interval = this.intervalOf(this.firing[s]);
      this.dueMs[s] += interval - this.intervalMs[s];
      this.intervalMs[s] = interval;
    }
  }

  /** A stream appeared in `slot` at `nowMs`: first report after the base interval. */
  start(slot: number, nowMs: number): void {
    this.active[slot] = 1;
    if (slot >= this.slotLimit) this.slotLimit = slot + 1;
    for (const masks of this.ruleMasks) masks[slot] = 0;
    this.intervalMs[slot] = this.baseIntervalS * 1000;
    this.dueMs[slot] = nowMs + this.intervalMs[slot];
  }

  stop(slot: number): void {
    this.active[slot] = 0;
    for (const masks of this.ruleMasks) masks[slot] = 0;
  }

  isActive(slot: number): boolean {
    return this.active[slot] === 1;
  }

  nextDueMs(slot: number): number {
    return this.dueMs[slot];
  }

  intervalS(slot: number): number {
    return this.intervalMs[slot] / 1000;
  }

  /** Bitmask of the rules currently firing for the slot (bit i = rules[i]). */
  firingMask(slot: number): number {
    return this.firing[slot];
  }

  /** Collects the active slots whose due time is <= nowMs into dueSlots; returns how many. No allocation. */
  due(nowMs: number): number {
    let n = 0;
    const active = this.active;
    const dueMs = this.dueMs;
    const out = this.dueSlots;
    const limit = this.slotLimit;
    let last = -1;
    for (let s = 0; s < limit; s++) {
      if (active[s] !== 1) continue;
      last = s;
      if (dueMs[s] <= nowMs) out[n++] = s;
    }
    this.slotLimit = last + 1;
    return n;
  }

  /**
   * Evaluates the rules on the interval that just ended and schedules the slot's next report.
   * Returns the mask of rules that STARTED firing (0 most of the time); the rules that stopped firing
   * are in `lastCleared` until the next call.
   */
  evaluate(slot: number, metrics: IntervalMetrics, nowMs: number): number {
    let mask = 0;
    const rules = this.rules;
    const values = metrics as unknown as Record<string, number>;
    for (let i = 0; i < rules.length; i++) {
      let fired = false;
      try {
        fired = rules[i].test(values);
      } catch (e) {
        this.failed(rules[i].name, (e as Error).message);
      }
      if (fired) mask |= 1 << i;
    }
    return this.fire(slot, mask, nowMs);
  }

  /** evaluate() for a stream the rules do not judge (a repair stream: RTX, FEC): no rule fires. */
  evaluateNone(slot: number, nowMs: number): number {
    return this.fire(slot, 0, nowMs);
  }

  /** Rules in `mask` fire for `slot` from the interval just ended: the next report is scheduled by them. */
  private fire(slot: number, mask: number, nowMs: number): number {
    const interval = this.intervalOf(mask);
    const started = (mask & ~this.firing[slot]) >>> 0;
    this.lastCleared = (this.firing[slot] & ~mask) >>> 0;
    this.firing[slot] = mask >>> 0;
    this.intervalMs[slot] = interval;
    this.dueMs[slot] = nowMs + interval;
    return started;
  }

  private failed(rule: string, error: string): void {
    let c = this.errors.get(rule);
    if (c === undefined) this.errors.set(rule, (c = { count: 0, lastError: '' }));
    c.count++;
    c.lastError = error;
    this.onError?.(rule, error);
  }

  /** The interval (ms) of a stream firing `mask`: the picked firing rule's, else the base interval. */
  private intervalOf(mask: number): number {
    let interval = -1;
    for (let i = 0; i < this.configuredRules; i++) {
      if ((mask & (1 << i)) === 0) continue;
      const ms = this.rules[i].intervalS * 1000;
      if (interval < 0) {
        interval = ms;
        if (this.pick === 'first') break;
      } else if (ms < interval) interval = ms;
    }
    return interval < 0 ? this.baseIntervalS * 1000 : interval;
  }

  /** Schedules the slot's next tick one current interval from now without evaluating rules (idle interval). */
  postpone(slot: number, nowMs: number): void {
    this.dueMs[slot] = nowMs + this.intervalMs[slot];
  }

  /** Name of rule `i` (bit i of a mask). */
  ruleName(i: number): string {
    return this.rules[i].name;
  }
}

function compileSchedule(config: SchedulerConfig): { rules: CompiledRule[]; baseIntervalS: number; pick: 'first' | 'shortest' } {
  if (!(Number.isFinite(config.baseIntervalS) && config.baseIntervalS > 0)) {
    throw new Error(`report baseIntervalS must be a positive number, got ${config.baseIntervalS}`);
  }
  const rules = config.rules ?? [];
  if (rules.length > MAX_RULES) throw new Error(`at most ${MAX_RULES} report rules, got ${rules.length}`);
  const names = new Set<string>();
  for (const r of rules) {
    if (names.has(r.name)) throw new Error(`report rule '${r.name}' is defined twice`);
    names.add(r.name);
  }
  const pick = config.pick ?? 'first';
  if (pick !== 'first' && pick !== 'shortest') throw new Error(`report rule pick must be 'first' or 'shortest', got ${String(config.pick)}`);
  return { rules: rules.map(compileRule), baseIntervalS: config.baseIntervalS, pick };
}
