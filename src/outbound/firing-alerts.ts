/**
 * The alert rules firing, per stream, as the collector outputs (HEP, webhook) are told them: kept by the
 * sink whichever outputs are open, so an output a reload adds (HEP turned on, a webhook set) can be told
 * the ALERT of each before any CLEARED reaches it.
 */
import { alertIdentity, reportStreamKey, type QosReport } from '../report/index.js';
import type { Envelope } from './events.js';

/** When a rule's ALERT was: capture time (ms), its REPORT_TS (s) and the end of the interval that fired it (s). */
interface FiringRule {
  tsMs: number;
  reportTs: number;
  timeS: number;
}

/** The figures of a stream's first ALERT that a webhook receiver told of it at a reload is given. */
const FIGURE_KEYS = ['MOS', 'PACKET_LOSS_PCT', 'JITTER'] as const;

/** A stream with rules firing: its first ALERT's identity, figures and envelope, and each rule's ALERT time. */
export interface FiringStream {
  identity: QosReport;
  figures: QosReport;
  env: Envelope;
  rules: Map<string, FiringRule>;
}

/** The end of the interval a report is about, s (REPORT_TS for a report without one). */
export function reportEndS(r: QosReport): number {
  const s = Number(r.REPORT_END) || Number(r.REPORT_TS);
  return Number.isFinite(s) ? s : 0;
}

export class FiringAlerts {
  private readonly streams = new Map<string, FiringStream>();

  /** An ALERT adds its rule, its CLEARED removes it, the stream's end (FINAL, HANGUP) all of its. */
  follow(r: QosReport, env: Envelope): void {
    const type = r.TYPE;
    if (type === 'ALERT') {
      const key = reportStreamKey(r);
      let f = this.streams.get(key);
      if (f === undefined) {
        const figures: QosReport = {};
        for (const k of FIGURE_KEYS) figures[k] = r[k];
        this.streams.set(key, (f = { identity: alertIdentity(r), figures, env: { ...env }, rules: new Map() }));
      }
      f.rules.set(String(r.ALERT_RULE ?? ''), { tsMs: env.tsMs, reportTs: Number(r.REPORT_TS), timeS: reportEndS(r) });
    } else if (this.streams.size === 0) {
      return;
    } else if (type === 'CLEARED') {
      const key = reportStreamKey(r);
      const f = this.streams.get(key);
      if (f?.rules.delete(String(r.ALERT_RULE ?? '')) && f.rules.size === 0) this.streams.delete(key);
    } else if (type === 'FINAL' || type === 'HANGUP') {
      this.streams.delete(reportStreamKey(r));
    }
  }

  /** Streams with rules firing. */
  get size(): number {
    return this.streams.size;
  }

  values(): IterableIterator<FiringStream> {
    return this.streams.values();
  }
}
