import { RateLimitedLog, type OutputLog } from '../outbound/index.js';

/**
 * A rule that cannot be evaluated for a stream (a compared value that is no finite number, such as
 * lost / expected with nothing expected; report/scheduler.ts counts each) does not fire for it: one
 * warning per rule per 10 s at most names the rule and the error, with how many were left unsaid.
 */
export function ruleErrorReporter(log: OutputLog): (rule: string, error: string) => void {
  const limited = new RateLimitedLog(log);
  return (rule, error) => limited.warn(`rule ${rule}`, { rule, error }, `alert rule ${rule} could not be evaluated for a stream: it does not fire for it`);
}

/** Evaluation errors by rule since start, summed over pipelines (media workers). */
export function sumRuleErrors(parts: Iterable<Iterable<readonly [string, number]>>): Array<[string, number]> {
  const sum = new Map<string, number>();
  for (const part of parts) for (const [rule, n] of part) sum.set(rule, (sum.get(rule) ?? 0) + n);
  return [...sum];
}
