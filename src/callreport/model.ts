/**
 * What the HTML call report shows, as plain data: the page's script reads exactly this (embedded as
 * JSON), so this file is the one place its fields are declared. Times are ms since the epoch.
 */

/** One SIP message of a call's ladder. */
export interface LadderMessage {
  t: number;
  /** Source and destination as "ip:port" (IPv6 in brackets). */
  src: string;
  dst: string;
  /** "INVITE", "200 OK", "488 Not Acceptable Here", ... (method, or status code and reason). */
  label: string;
  /** CSeq number and method, e.g. "2 INVITE". */
  cseq: string;
  /** One line per SDP media section ("audio 10.0.2.4:7078 PCMA/8000 sendrecv"), empty without SDP. */
  sdp: string[];
}

/** Per report interval of one stream that had packets (PERIODIC, or the ALERT/CLEARED of the last period), plus the closing one from FINAL/HANGUP. */
export interface StreamSeries {
  /** Interval end times. */
  t: number[];
  /** Mean delta, current jitter, loss % and MOS of each interval; null where the interval gave no value. */
  delta: Array<number | null>;
  jitter: Array<number | null>;
  loss: Array<number | null>;
  mos: Array<number | null>;
}

export interface ReportStream {
  /** Index in CallReportData.streams. */
  id: number;
  /** SIP Call-ID, or null when the stream belongs to no call the probe saw. */
  callId: string | null;
  ssrc: string;
  src: string;
  dst: string;
  codec: string;
  start: number;
  end: number;
  packets: number;
  lost: number;
  lossPct: number;
  maxJitter: number;
  maxDelta: number;
  /** The stream's final MOS (mean over its intervals) and its worst interval's. */
  mos: number;
  minMos: number;
  /** Rule names and times of the ALERT reports. */
  alerts: Array<{ t: number; rule: string }>;
  captureDrops: number;
  oneWay: boolean;
  /** True when the series was thinned to its size bound (every kept point is the worst of those it replaces). */
  thinned: boolean;
  series: StreamSeries;
}

export interface ReportCall {
  callId: string;
  /** From and To of the first request seen (user@host), '' when not seen. */
  from: string;
  to: string;
  start: number;
  end: number;
  /** Worst interval MOS over the call's streams (0 when no stream was scored). */
  worstMos: number;
  /** Loss over the call's streams: lost / expected, %. */
  lossPct: number;
  /** alerts: ALERT reports of the call's streams and of the call itself (no-media). */
  flags: { oneWay: boolean; captureDrops: boolean; alerts: number };
  messages: LadderMessage[];
  /** Messages seen beyond the per-call bound (not in `messages`). */
  messagesOmitted: number;
  streams: number[];
}

export interface CallReportData {
  title: string;
  generatedAt: number;
  /** Report interval the series were sampled at, s. */
  intervalS: number;
  calls: ReportCall[];
  streams: ReportStream[];
  /** SIP dialogs without an INVITE or media (REGISTER, SUBSCRIBE, OPTIONS...): counted, not listed. */
  otherDialogs: number;
  /** SIP dialogs and streams a long run forgot, the least recently active first, to stay within its limits. */
  forgotten: { dialogs: number; streams: number };
  /**
   * SIP messages the probe did not use, by reason, over the run (its rtpprobe_sip_malformed_total): a
   * call whose messages were all refused (a Call-ID past its bound) shows only as streams without a call.
   */
  sipNotUsed: Record<string, number>;
}
