/**
 * Waiting in tests: for a condition, never for a fixed time. Under load (CI's two cores, other suites
 * running) anything can take many times longer than usual, so deadlines are generous and a wait ends as
 * soon as its condition holds.
 */

/** Polls `cond` every `stepMs` until it holds or `ms` pass; returns its last value. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 30_000, stepMs = 50): Promise<boolean> {
  for (const end = Date.now() + ms; !(await cond()) && Date.now() < end; ) await new Promise((r) => setTimeout(r, stepMs));
  return cond();
}

/** until(), throwing an error that names `what` when `cond` does not hold within `ms`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 30_000, what = 'condition', stepMs = 10): Promise<void> {
  if (!(await until(cond, ms, stepMs))) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}
