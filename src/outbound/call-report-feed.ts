import { CallReportRecorder, type CallReportLimits } from '../callreport/index.js';
import type { OutboundEvent } from './events.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** The outbound events a call report shows, handed to its recorder (SPAN duplicates of SIP come once: the sink's). */
export class CallReportFeed {
  readonly recorder: CallReportRecorder;
  /** Events recorded. */
  events = 0;

  constructor(limits?: CallReportLimits) {
    this.recorder = new CallReportRecorder(limits);
  }

  write(e: OutboundEvent): void {
    if (e.kind === 'sip') {
      const env = e.env;
      this.recorder.onSip({ callId: e.callId, tsMs: env.tsMs, srcIp: env.srcIp, srcPort: env.srcPort, dstIp: env.dstIp, dstPort: env.dstPort, text: utf8.decode(e.bytes) });
    } else if (e.kind === 'qos' || e.kind === 'alert') {
      this.recorder.onQos(e.report);
    } else return;
    this.events++;
  }
}
