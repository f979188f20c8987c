import type { QosReport } from './build.js';

/**
 * What a reload sends for each rule firing when it changes where alerts go: an ALERT for a destination it
 * adds, a CLEARED (CLEAR_REASON reconfigured) for one it removes, so each knows what fires and none keeps
 * an alert nobody clears. No interval was measured for them: they carry the identity of the rule's ALERT
 * (call, stream, node) and no counters, as a no-media report does.
 */

/** The stream a report is about: an ALERT and its CLEARED share it. */
export function reportStreamKey(r: QosReport): string {
  return `${r.SRC_IP}|${r.SRC_PORT}|${r.DST_IP}|${r.DST_PORT}|${r.SSRC}`;
}

/** The fields of an ALERT that name its call, stream and probe (those its reload reports repeat). */
const IDENTITY_KEYS = ['CORRELATION_ID', 'RTP_SIP_CALL_ID', 'X_CID', 'SYNTHETIC_ID', 'NODE', 'SSRC', 'SRC_IP', 'SRC_PORT', 'DST_IP', 'DST_PORT', 'REPORT_NAME', 'CODEC_NAME'] as const;

/** The identity fields of an ALERT report (kept while its rule fires: a few fields, not the whole report). */
export function alertIdentity(r: QosReport): QosReport {
  const id: QosReport = {};
  for (const k of IDENTITY_KEYS) if (r[k] !== undefined) id[k] = r[k];
  return id;
}

/** The ALERT or CLEARED (CLEAR_REASON reconfigured) of rule `rule` a reload sends, with REPORT_TS `reportTs` (s). */
export function buildHandoverReport(kind: 'ALERT' | 'CLEARED', identity: QosReport, rule: string, reportTs: number): QosReport {
  const rep: QosReport = { ...identity, REPORT_TS: reportTs, TYPE: kind, ALERT_RULE: rule };
  if (kind === 'CLEARED') rep.CLEAR_REASON = 'reconfigured';
  return rep;
}
