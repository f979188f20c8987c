import type { HepSender } from '../hep/index.js';
import { HepProtoType } from '../hep/index.js';
import type { JsonLinesOutput, QosReport } from '../report/index.js';

export interface ReportSinkOptions {
  hep: HepSender | null;
  /** HEP protocol type of QoS reports: 99 (Kamailio/HOMER report_capture) or 34 (heplify-server metrics). */
  qosHepType: number;
  sendRtcp: boolean;
  jsonl: JsonLinesOutput | null;
  /** Every report object built, for tests (called before encoding). */
  onReport?: (report: QosReport) => void;
  /** Every FINAL and HANGUP report, for the replay's closing table (called before encoding). */
  onFinalReport?: (report: QosReport) => void;
}

/** Where a media packet came from and went to, for the HEP envelope (HOMER groups QoS rows by it). */
export interface Envelope {
  ipVersion: number;
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  tsMs: number;
}

/** Where the pipeline hands its reports: the ReportSink, or a media worker's link to the main thread. */
export interface ReportTarget {
  qos(report: QosReport, env: Envelope, send: boolean, log: boolean): void;
  rtcp(json: string, env: Envelope, callId: string | null): void;
  /** False when rtcp() would discard everything (no collector, or RTCP forwarding off): the JSON is not built. Absent = true. */
  wantsRtcp?(): boolean;
  /**
   * False when qos() would only count PERIODIC and ALERT reports (no collector, no JSON lines, no report
   * callback): the pipeline then scores intervals without building their reports and gives their number
   * to countUnbuilt(). Absent = true.
   */
  wantsIntervalReports?(): boolean;
  countUnbuilt?(reports: number): void;
}

/** Fans reports out to HEP collectors and the JSON-lines file; counts what went where. */
export class ReportSink implements ReportTarget {
  readonly counts = { qosReports: 0, qosSent: 0, rtcpSent: 0, rtcpUncorrelated: 0, hepRefused: 0 };

  constructor(private readonly o: ReportSinkOptions) {}

  /** Configuration reload: reports go to the new collectors from now on. */
  setHep(hep: HepSender | null): void {
    this.o.hep = hep;
  }

  qos(report: QosReport, env: Envelope, send: boolean, log: boolean): void {
    this.counts.qosReports++;
    this.o.onReport?.(report);
    if (this.o.onFinalReport && (report.TYPE === 'FINAL' || report.TYPE === 'HANGUP')) this.o.onFinalReport(report);
    const toHep = send && this.o.hep !== null;
    // One JSON text for both outputs when both take the report.
    const json = (log && this.o.jsonl) || toHep ? JSON.stringify(report) : '';
    if (log && this.o.jsonl) this.o.jsonl.writeLine(json);
    if (!toHep || !this.o.hep) return;
    const mos = typeof report.MOS === 'number' && report.MOS >= 1 ? report.MOS : undefined;
    const ok = this.o.hep.send({
      ...envelopeFields(env),
      protoType: this.o.qosHepType,
      correlationId: String(report.CORRELATION_ID),
      mos,
      payload: json,
    });
    if (ok) this.counts.qosSent++;
    else this.counts.hepRefused++;
  }

  wantsIntervalReports(): boolean {
    return this.o.hep !== null || this.o.jsonl !== null || this.o.onReport !== undefined;
  }

  countUnbuilt(reports: number): void {
    this.counts.qosReports += reports;
  }

  wantsRtcp(): boolean {
    return this.o.sendRtcp && this.o.hep !== null;
  }

  /** RTCP as HEP type 5 JSON; without a Call-ID HOMER drops it, so it is only counted. */
  rtcp(json: string, env: Envelope, callId: string | null): void {
    if (!this.o.sendRtcp || !this.o.hep) return;
    if (!callId) {
      this.counts.rtcpUncorrelated++;
      return;
    }
    if (this.o.hep.send({ ...envelopeFields(env), protoType: HepProtoType.RTCP_JSON, correlationId: callId, payload: json })) this.counts.rtcpSent++;
    else this.counts.hepRefused++;
  }
}

function envelopeFields(env: Envelope) {
  const sec = Math.floor(env.tsMs / 1000);
  return {
    ipFamily: (env.ipVersion === 6 ? 6 : 4) as 4 | 6,
    ipProto: 17,
    srcIp: env.srcIp,
    dstIp: env.dstIp,
    srcPort: env.srcPort,
    dstPort: env.dstPort,
    tsSec: sec,
    tsUsec: Math.max(0, Math.min(999_999, Math.round((env.tsMs - sec * 1000) * 1000))),
  };
}
