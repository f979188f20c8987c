/**
 * What leaves the probe. Every output (HEP, JSON lines, webhook...) receives these events and nothing
 * else; the pipeline and the SIP tracker make them, never an output's own format.
 */
import type { QosReport } from '../report/index.js';

/** Where a packet came from and went to (the RTP stream's for a QoS report: HOMER groups rows by it). */
export interface Envelope {
  ipVersion: number;
  /** IP protocol of the described flow: 17 UDP (default when absent), 6 TCP. */
  ipProto?: number;
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  /** Capture time, ms since the epoch (fractional: microseconds survive), made by captureTimeMs. */
  tsMs: number;
}

/**
 * A capture time (seconds + nanoseconds) in ms since the epoch, truncated to the microsecond: HEP carries
 * microseconds, and heplify truncates, so a packet at x.9999995 s stays in second x (rounded, it would go
 * to HOMER as x+1.000000). Truncated here, before the sum: a double near 1.7e12 ms resolves only ~0.24 us.
 */
export function captureTimeMs(tsSec: number, tsNsec: number): number {
  return tsSec * 1000 + Math.floor(tsNsec / 1000) / 1000;
}

/**
 * A QoS report of one RTP stream (PERIODIC, FINAL, HANGUP) or an alert: TYPE 'ALERT' when a threshold
 * rule started firing, 'CLEARED' when it stopped (ALERT_RULE names the rule). `json` is the report's JSON text, made once for every output.
 * `toCollectors` is false when the stream has no SIP Call-ID and reports.unknown_call_id keeps such
 * reports local; `toLocal` is false when it drops them altogether.
 */
export interface QosEvent {
  kind: 'qos' | 'alert';
  report: QosReport;
  json: string;
  env: Envelope;
  toCollectors: boolean;
  toLocal: boolean;
}

/** A captured RTCP compound as HOMER's JSON (sender_information, report_blocks...), under its call's Call-ID. */
export interface RtcpEvent {
  kind: 'rtcp';
  json: string;
  env: Envelope;
  callId: string;
}

/** One SIP message as captured (UDP datagram, or one message of a reassembled TCP stream). */
export interface SipEvent {
  kind: 'sip';
  /** The message bytes, start line to end of body. Only valid during write(): copy to keep. */
  bytes: Uint8Array;
  env: Envelope;
  callId: string;
  /** Request method, or the CSeq method of a response. */
  method: string;
  /** 0 for requests. */
  statusCode: number;
}

export type OutboundEvent = QosEvent | RtcpEvent | SipEvent;
export type EventKind = OutboundEvent['kind'];
export const EVENT_KINDS: readonly EventKind[] = ['qos', 'alert', 'rtcp', 'sip'];
