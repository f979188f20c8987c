/**
 * The compact form of CallReportData embedded in the page: objects become tuples in a fixed field order,
 * repeated strings (addresses, codecs, SIP labels, SDP lines) become indexes into one string table, and
 * times become offsets from their call's or stream's start. A capture with 100,000 streams gives a third
 * of the JSON text the object form would. Used by the report writer (pack) and the page (unpack).
 */
import type { CallReportData, LadderMessage, ReportCall, ReportStream } from './model.js';

export interface PackedCallReport {
  format: 1;
  title: string;
  generatedAt: number;
  intervalS: number;
  otherDialogs: number;
  forgotten: { dialogs: number; streams: number };
  sipNotUsed: Record<string, number>;
  strings: string[];
  calls: PackedCall[];
  streams: PackedStream[];
}

/** [callId, from, to, start, end-start, worstMos, lossPct, oneWay, captureDrops, alerts, messages, messagesOmitted, streams] */
type PackedCall = [number, number, number, number, number, number, number, 0 | 1, 0 | 1, number, PackedMessage[], number, number[]];
/** [t-callStart, src, dst, label, cseq, sdp lines joined by \n or -1] */
type PackedMessage = [number, number, number, number, number, number];
/**
 * [callId or -1, ssrc, src, dst, codec, start, end-start, packets, lost, lossPct, maxJitter, maxDelta, mos, minMos,
 *  alerts [t-start, rule][], captureDrops, oneWay, thinned, t-start[], delta[], jitter[], loss[], mos[]]
 */
type PackedStream = [
  number, number, number, number, number, number, number, number, number, number, number, number, number, number,
  Array<[number, number]>, number, 0 | 1, 0 | 1, number[], Array<number | null>, Array<number | null>, Array<number | null>, Array<number | null>,
];

class StringTable {
  readonly list: string[] = [];
  private readonly index = new Map<string, number>();
  id(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.list.push(s) - 1;
      this.index.set(s, i);
    }
    return i;
  }
}

export function packCallReport(d: CallReportData): PackedCallReport {
  const st = new StringTable();
  const calls = d.calls.map((c): PackedCall => [
    st.id(c.callId), st.id(c.from), st.id(c.to), c.start, c.end - c.start, c.worstMos, c.lossPct,
    c.flags.oneWay ? 1 : 0, c.flags.captureDrops ? 1 : 0, c.flags.alerts,
    c.messages.map((m): PackedMessage => [m.t - c.start, st.id(m.src), st.id(m.dst), st.id(m.label), st.id(m.cseq), m.sdp.length ? st.id(m.sdp.join('\n')) : -1]),
    c.messagesOmitted, c.streams,
  ]);
  const streams = d.streams.map((s): PackedStream => [
    s.callId === null ? -1 : st.id(s.callId), st.id(s.ssrc), st.id(s.src), st.id(s.dst), st.id(s.codec),
    s.start, s.end - s.start, s.packets, s.lost, s.lossPct, s.maxJitter, s.maxDelta, s.mos, s.minMos,
    s.alerts.map((a): [number, number] => [a.t - s.start, st.id(a.rule)]), s.captureDrops, s.oneWay ? 1 : 0, s.thinned ? 1 : 0,
    s.series.t.map((t) => t - s.start), s.series.delta, s.series.jitter, s.series.loss, s.series.mos,
  ]);
  return { format: 1, title: d.title, generatedAt: d.generatedAt, intervalS: d.intervalS, otherDialogs: d.otherDialogs, forgotten: d.forgotten, sipNotUsed: d.sipNotUsed, strings: st.list, calls, streams };
}

export function unpackCallReport(p: PackedCallReport): CallReportData {
  const s = p.strings;
  const calls = p.calls.map((c): ReportCall => {
    const start = c[3];
    return {
      callId: s[c[0]]!, from: s[c[1]]!, to: s[c[2]]!, start, end: start + c[4], worstMos: c[5], lossPct: c[6],
      flags: { oneWay: c[7] === 1, captureDrops: c[8] === 1, alerts: c[9] },
      messages: c[10].map((m): LadderMessage => ({ t: start + m[0], src: s[m[1]]!, dst: s[m[2]]!, label: s[m[3]]!, cseq: s[m[4]]!, sdp: m[5] < 0 ? [] : s[m[5]]!.split('\n') })),
      messagesOmitted: c[11],
      streams: c[12],
    };
  });
  const streams = p.streams.map((x, id): ReportStream => {
    const start = x[5];
    return {
      id, callId: x[0] < 0 ? null : s[x[0]]!, ssrc: s[x[1]]!, src: s[x[2]]!, dst: s[x[3]]!, codec: s[x[4]]!,
      start, end: start + x[6], packets: x[7], lost: x[8], lossPct: x[9], maxJitter: x[10], maxDelta: x[11], mos: x[12], minMos: x[13],
      alerts: x[14].map(([t, r]) => ({ t: start + t, rule: s[r]! })), captureDrops: x[15], oneWay: x[16] === 1, thinned: x[17] === 1,
      series: { t: x[18].map((t) => start + t), delta: x[19], jitter: x[20], loss: x[21], mos: x[22] },
    };
  });
  return { title: p.title, generatedAt: p.generatedAt, intervalS: p.intervalS, otherDialogs: p.otherDialogs, forgotten: p.forgotten, sipNotUsed: p.sipNotUsed, calls, streams };
}
