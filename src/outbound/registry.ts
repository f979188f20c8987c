/**
 * The outputs the probe knows, by name. Adding one: write src/outbound/<name>-output.ts implementing
 * Output, add its settings to the configuration schema (src/ops/config.ts), and one line here. Each
 * opener reads its own settings and returns null when the output is not enabled.
 */
import type { ProbeConfig } from '../ops/config.js';
import { openHepOutput } from './hep-output.js';
import { openHtmlOutput } from './html-output.js';
import { openLivePageOutput } from './live-page-output.js';
import { openJsonlOutput } from './jsonl-output.js';
import type { FiringAlerts } from './firing-alerts.js';
import type { Output, OutputLog } from './output.js';
import { openWebhookOutput } from './webhook-output.js';

/** What an output is opened for, beside its configuration. */
export interface OutputContext {
  /** What the run reads (capture files, interface), for a call report's title; '' or absent when not said. */
  source?: string;
  /** The alert rules firing (the sink's), which an output added by a reload is told. */
  firing?: FiringAlerts;
  /** A live capture (`run`), which may go on for months: what an output keeps is bounded by recency. */
  live?: boolean;
  /** The run's counts of SIP messages not used, by reason (only those that occurred), for a call report. */
  sipNotUsed?: () => Record<string, number>;
}

/** `running`: at a reload, the instance of this output that runs now (state that must outlive a reload). */
export type OutputOpener = (config: ProbeConfig, log: OutputLog, running?: Output, context?: OutputContext) => Output | null;

export const OUTPUTS: ReadonlyArray<{ name: string; open: OutputOpener }> = [
  { name: 'hep', open: openHepOutput },
  { name: 'jsonl', open: openJsonlOutput },
  { name: 'html', open: openHtmlOutput },
  { name: 'live_page', open: openLivePageOutput },
  { name: 'webhook', open: openWebhookOutput },
];

/**
 * Opens the outputs of a reloaded configuration. An output that fails to open (a JSON-lines file no longer
 * writable after privileges were dropped) keeps its running instance, named in `kept`, so one bad setting
 * does not stop the others from changing.
 */
export function reopenOutputs(config: ProbeConfig, log: OutputLog, running: readonly Output[], context: OutputContext = {}): { opened: Output[]; kept: Output[]; errors: Array<{ output: string; error: string }> } {
  const opened: Output[] = [];
  const kept: Output[] = [];
  const errors: Array<{ output: string; error: string }> = [];
  for (const o of OUTPUTS) {
    const old = running.find((r) => r.name === o.name);
    try {
      const out = o.open(config, log, old, context);
      if (out !== null) opened.push(out);
    } catch (err) {
      errors.push({ output: o.name, error: (err as Error).message });
      if (old !== undefined) kept.push(old);
    }
  }
  return { opened, kept, errors };
}

/** Opens every enabled output. If one fails to open, those already opened are closed and the error rethrown. */
export function openConfiguredOutputs(config: ProbeConfig, log: OutputLog, context: OutputContext = {}): Output[] {
  const opened: Output[] = [];
  try {
    for (const o of OUTPUTS) {
      const out = o.open(config, log, undefined, context);
      if (out !== null) opened.push(out);
    }
  } catch (err) {
    for (const o of opened) void o.close(0);
    throw err;
  }
  return opened;
}
