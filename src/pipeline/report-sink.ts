import type { QosReport } from '../report/index.js';
import type { Envelope } from '../outbound/index.js';

export type { Envelope } from '../outbound/index.js';
/** The pipeline's reports leave through the outbound wing's sink (src/outbound). */
export { OutboundSink as ReportSink } from '../outbound/index.js';

/** Where the pipeline hands its reports: the OutboundSink, or a media worker's link to the main thread. */
export interface ReportTarget {
  /** `json`: the report's JSON text when it is already made (a media worker makes it, off the main thread). */
  qos(report: QosReport, env: Envelope, send: boolean, log: boolean, json?: string): void;
  /** `compound`: the RTCP datagram's bytes (valid during the call only), what tells a copy from another compound. */
  rtcp(json: string, env: Envelope, callId: string | null, compound: Uint8Array): void;
  /** False when rtcp() would discard everything (no output takes RTCP): the JSON is not built. Absent = true. */
  wantsRtcp?(): boolean;
  /**
   * False when qos() would only count PERIODIC and ALERT reports (no output, no report callback): the
   * pipeline then scores intervals without building their reports and gives their number to
   * countUnbuilt(). Absent = true.
   */
  wantsIntervalReports?(): boolean;
  /**
   * False when qos() would only count the reports a stream's end makes (its FINAL or HANGUP, the CLEARED of
   * what still fires): the pipeline then scores the stream's last interval without building them and gives
   * their number to countUnbuilt(). Absent = true.
   */
  wantsStreamEndReports?(): boolean;
  countUnbuilt?(reports: number): void;
}
