import type { ReportTarget } from '../../src/pipeline/report-sink.js';
import type { QosReport } from '../../src/report/index.js';

/** A report target keeping every report but the periodic ones (ALERT, CLEARED, HANGUP, FINAL), RTCP not forwarded. */
export function nonPeriodicReports(): { target: ReportTarget; reports: QosReport[] } {
  const reports: QosReport[] = [];
  const target: ReportTarget = {
    qos: (r) => {
      if (r.TYPE !== 'PERIODIC') reports.push(r);
    },
    rtcp: () => {},
    wantsRtcp: () => false,
  };
  return { target, reports };
}
