/**
 * Collects what a replay's HTML call report shows: the SIP messages of each call and the QoS reports of
 * each stream. Works on the rare events only (SIP messages, reports), never per packet. Sizes are bounded
 * so that a capture with 100,000 streams still gives a file a browser opens: messages per call, and the
 * points of each stream's series (thinned to a budget shared by all streams, keeping the worst values).
 */
import { ipToString } from '../decode/index.js';
import { parseSdp } from '../sip/index.js';
import type { QosReport } from '../report/index.js';
import type { CallReportData, LadderMessage, ReportCall, ReportStream } from './model.js';
import { BoundedSeries, thinned } from './series.js';

/** A SIP message as the capture delivered it. */
export interface SipRecord {
  /**
   * Its Call-ID as the probe's SIP parser read it (the first Call-ID header, a folded value unfolded):
   * the id its streams report under, so a call's ladder and media are one call on the page.
   */
  callId: string;
  tsMs: number;
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  /** The message text (start line, headers, body). */
  text: string;
}

export interface CallReportLimits {
  /** SIP messages kept per call. */
  messagesPerCall: number;
  /** Series points kept over all streams; each stream keeps at least `minPointsPerStream`. */
  totalPoints: number;
  minPointsPerStream: number;
  maxPointsPerStream: number;
  /**
   * A long-running probe keeps only the most recently active dialogs and streams (the least recently
   * active are forgotten first); a replay keeps everything (Infinity).
   */
  retainDialogs: number;
  retainStreams: number;
  /**
   * Characters of SIP ladder kept over all dialogs (each message's texts plus MESSAGE_OVERHEAD); past it
   * the least recently active dialogs are forgotten first, as past retainDialogs.
   */
  ladderChars: number;
}

export const DEFAULT_CALL_REPORT_LIMITS: CallReportLimits = {
  messagesPerCall: 500,
  totalPoints: 1_000_000,
  minPointsPerStream: 8,
  maxPointsPerStream: 2000,
  retainDialogs: Infinity,
  retainStreams: Infinity,
  ladderChars: Infinity,
};

/**
 * What a long-running probe keeps (the live page, and the HTML report `run` writes at stop): the most
 * recently active dialogs and streams, so months of calls hold a bounded heap (27-33 MB measured for the
 * ladders: test/callreport/ladder-limits.test.ts).
 */
export const LIVE_CALL_REPORT_LIMITS: CallReportLimits = {
  ...DEFAULT_CALL_REPORT_LIMITS,
  retainDialogs: 2000,
  retainStreams: 4000,
  totalPoints: 400_000,
  maxPointsPerStream: 600,
  ladderChars: 16_000_000,
};

/**
 * What a ladder keeps of a message's texts, in characters: a real one fits (a reason phrase, a CSeq, a
 * From/To user@host, a media section with its codecs); a longer one is cut, so a flood of huge values
 * costs no more than ordinary messages.
 */
export const LADDER_TEXT_LIMITS = { label: 128, cseq: 64, address: 256, sdpLine: 256, sdpLines: 8 } as const;
/** What a kept message costs beside its texts, counted in ladderChars. */
const MESSAGE_OVERHEAD = 160;

interface CallAcc {
  callId: string;
  from: string;
  to: string;
  first: number;
  last: number;
  messages: LadderMessage[];
  omitted: number;
  /** An INVITE was seen: a call, not a registration, subscription or OPTIONS ping. */
  invite: boolean;
  /** ALERT reports of the call itself (no-media), which no stream carries. */
  alerts: number;
  /** Characters its ladder keeps (see CallReportLimits.ladderChars). */
  chars: number;
}

export class CallReportRecorder {
  // Dialogs with an INVITE, and the others (REGISTER, OPTIONS pings...), each least recently active
  // first. A live recorder forgets the others first: a new Call-ID per OPTIONS ping must not push the
  // running calls out.
  private readonly calls = new Map<string, CallAcc>();
  private readonly others = new Map<string, CallAcc>();
  // Each stream's figures, and its series apart (the stream's `series` is filled when built).
  private readonly streams = new Map<string, { stream: ReportStream; series: BoundedSeries }>();
  /** Characters the ladders of `calls` and `others` keep. */
  private ladderChars = 0;
  /** Dialogs and streams forgotten to stay within the limits (the report says how many). */
  private readonly forgotten = { dialogs: 0, streams: 0 };

  constructor(private readonly limits: CallReportLimits = DEFAULT_CALL_REPORT_LIMITS) {}

  onSip(m: SipRecord): void {
    const head = parseSipHead(m.text);
    const callId = m.callId;
    if (!head || !callId) return;
    // Re-inserted last: the maps iterate least recently active first.
    let call = this.calls.get(callId);
    if (call) this.calls.delete(callId);
    else {
      call = this.others.get(callId);
      if (call) this.others.delete(callId);
      else {
        call = { callId, from: head.from, to: head.to, first: m.tsMs, last: m.tsMs, messages: [], omitted: 0, invite: false, alerts: 0, chars: 0 };
        call.chars = call.callId.length + call.from.length + call.to.length;
        this.ladderChars += call.chars;
      }
    }
    if (head.label === 'INVITE') call.invite = true;
    (call.invite ? this.calls : this.others).set(callId, call);
    if (m.tsMs < call.first) call.first = m.tsMs;
    if (m.tsMs > call.last) call.last = m.tsMs;
    if (call.messages.length >= this.limits.messagesPerCall) call.omitted++;
    else {
      const msg: LadderMessage = {
        t: m.tsMs,
        src: hostPort(m.srcIp, m.srcPort),
        dst: hostPort(m.dstIp, m.dstPort),
        label: head.label,
        cseq: head.cseq,
        sdp: head.body ? sdpSummary(head.body) : [],
      };
      call.messages.push(msg);
      let chars = MESSAGE_OVERHEAD + msg.src.length + msg.dst.length + msg.label.length + msg.cseq.length;
      for (const line of msg.sdp) chars += line.length;
      call.chars += chars;
      this.ladderChars += chars;
    }
    // The least recently active go first, the others before calls; a call is never forgotten for itself.
    while (this.calls.size + this.others.size > this.limits.retainDialogs || (this.ladderChars > this.limits.ladderChars && this.calls.size + this.others.size > 1)) {
      const oldest = this.others.size > 0 ? this.others : this.calls;
      const id = oldest.keys().next().value!;
      this.ladderChars -= oldest.get(id)!.chars;
      oldest.delete(id);
      this.forgotten.dialogs++;
    }
  }

  onQos(r: QosReport): void {
    // A call-level fault report (no-media) has no stream to chart: its ALERT counts on the call.
    if (r.NO_MEDIA !== undefined) {
      const id = String(r.CORRELATION_ID);
      const call = this.calls.get(id) ?? this.others.get(id);
      if (call && r.TYPE === 'ALERT') call.alerts++;
      return;
    }
    const key = `${r.SRC_IP}|${r.SRC_PORT}|${r.DST_IP}|${r.DST_PORT}|${r.SSRC}|${r.RTP_START}`;
    let acc = this.streams.get(key);
    if (acc) this.streams.delete(key);
    else {
      const stream: ReportStream = {
        id: 0, // its index in the built report
        callId: Number(r.SYNTHETIC_ID) ? null : String(r.CORRELATION_ID),
        ssrc: `0x${(Number(r.SSRC) >>> 0).toString(16).toUpperCase().padStart(8, '0')}`,
        src: hostPort(String(r.SRC_IP), Number(r.SRC_PORT)),
        dst: hostPort(String(r.DST_IP), Number(r.DST_PORT)),
        codec: String(r.CODEC_NAME ?? ''),
        start: sec(r.RTP_START),
        end: sec(r.RTP_STOP),
        packets: 0,
        lost: 0,
        lossPct: 0,
        maxJitter: 0,
        maxDelta: 0,
        mos: 0,
        minMos: 0,
        alerts: [],
        captureDrops: 0,
        oneWay: false,
        thinned: false, // both set when built, from acc.series
        series: { t: [], delta: [], jitter: [], loss: [], mos: [] },
      };
      acc = { stream, series: new BoundedSeries(this.limits.maxPointsPerStream) };
    }
    const s = acc.stream;
    // A stream that ran before its call's SDP was seen (a call learned at a re-INVITE) reports under a
    // synthetic id first, then under the Call-ID and the SDP's codec name: the latest report says.
    if (!Number(r.SYNTHETIC_ID)) s.callId = String(r.CORRELATION_ID);
    if (r.CODEC_NAME) s.codec = String(r.CODEC_NAME);
    this.streams.set(key, acc);
    if (this.streams.size > this.limits.retainStreams) {
      this.streams.delete(this.streams.keys().next().value!);
      this.forgotten.streams++;
    }
    const t = sec(r.REPORT_END);
    const kind = r.TYPE;
    if (kind === 'ALERT') s.alerts.push({ t, rule: String(r.ALERT_RULE ?? '') });
    if (kind === 'PERIODIC' || kind === 'ALERT' || kind === 'CLEARED') {
      // A rule's ALERT or CLEARED comes with the PERIODIC of the same interval: its counters are counted once.
      if (kind === 'PERIODIC') addInterval(s, r);
      // One point per interval with packets. An ALERT or CLEARED repeats its interval's PERIODIC (the same
      // REPORT_END), except the last period of a stream whose alert still fires, which comes only as its
      // CLEARED (stream-ended); one without packets (a silence, a stream timed out) measured nothing, and
      // would chart the MOS of before the pause. No delta point where the interval counted none (comfort
      // noise only): its 0 is no packet spacing.
      if ((kind === 'PERIODIC' || num(r.TOTAL_PK) > 0) && t > acc.series.lastT) {
        acc.series.push(t, positive(r.MAX_DELTA) === null ? null : num(r.DELTA), num(r.JITTER), num(r.PACKET_LOSS_PCT), positive(r.MOS));
      }
      // Only FINAL/HANGUP close the stream: CLEARED carries an interval's counters, not the stream's.
      return;
    }
    // FINAL / HANGUP: cumulative counters; the closing point carries the last interval's MOS and the
    // jitter at the end (its interval delta and loss are not in a cumulative report).
    s.end = sec(r.RTP_STOP);
    s.packets = num(r.TOTAL_PK);
    s.lost = Math.max(0, num(r.PACKET_LOSS));
    s.lossPct = num(r.PACKET_LOSS_PCT);
    s.maxJitter = num(r.MAX_JITTER);
    s.maxDelta = num(r.MAX_DELTA);
    s.mos = num(r.MOS);
    s.minMos = num(r.MIN_MOS);
    // The drops while this stream was captured (CAPTURE_DROPS, the probe's total, would flag every later call).
    s.captureDrops = num(r.PERIOD_CAPTURE_DROPS);
    s.oneWay = num(r.ONE_WAY_RTP) === 1;
    if (t > acc.series.lastT) acc.series.push(t, null, num(r.JITTER), null, positive(r.LAST_MOS));
  }

  /**
   * The report's data: calls worst first (lowest worst-interval MOS), then streams without a call.
   * `sipNotUsed`: the run's counts of SIP messages not used, by reason (the call tracker's, not the recorder's).
   */
  build(title: string, intervalS: number, generatedAt = Date.now(), sipNotUsed: Record<string, number> = {}): CallReportData {
    const perStream = Math.max(
      this.limits.minPointsPerStream,
      Math.min(this.limits.maxPointsPerStream, Math.floor(this.limits.totalPoints / Math.max(1, this.streams.size))),
    );
    // Copies: a live probe builds again and again from the same streams.
    const streams = [...this.streams.values()].map(({ stream, series }, id) => {
      const all = series.snapshot();
      return all.t.length > perStream ? { ...stream, id, series: thinned(all, perStream), thinned: true } : { ...stream, id, series: all, thinned: series.thinned };
    });

    // Calls are the INVITE dialogs and the Call-IDs media was correlated to; other dialogs are only counted.
    const calls = new Map<string, ReportCall>();
    for (const c of this.calls.values()) calls.set(c.callId, newCall(c));
    for (const s of streams) {
      if (s.callId === null) continue;
      let call = calls.get(s.callId);
      if (!call) {
        // Media correlated to a call whose SIP the capture does not hold (it started before).
        const seen = this.others.get(s.callId);
        call = newCall(seen ?? { callId: s.callId, from: '', to: '', first: s.start, last: s.end, messages: [], omitted: 0, invite: false, alerts: 0, chars: 0 });
        calls.set(s.callId, call);
      }
      call.streams.push(s.id);
    }
    for (const call of calls.values()) summarise(call, streams);
    const ordered = [...calls.values()].sort(worstFirst);
    const otherDialogs = this.others.size - [...this.others.keys()].filter((id) => calls.has(id)).length;
    return { title, generatedAt, intervalS, calls: ordered, streams, otherDialogs, forgotten: { ...this.forgotten }, sipNotUsed: { ...sipNotUsed } };
  }
}

function newCall(c: CallAcc): ReportCall {
  return {
    callId: c.callId,
    from: c.from,
    to: c.to,
    start: c.first,
    end: c.last,
    worstMos: 0,
    lossPct: 0,
    flags: { oneWay: false, captureDrops: false, alerts: c.alerts },
    messages: c.messages,
    messagesOmitted: c.omitted,
    streams: [],
  };
}

function summarise(call: ReportCall, streams: ReportStream[]): void {
  let worst = 0;
  let lost = 0;
  let expected = 0;
  for (const id of call.streams) {
    const s = streams[id]!;
    if (s.minMos > 0 && (worst === 0 || s.minMos < worst)) worst = s.minMos;
    lost += s.lost;
    expected += s.packets + s.lost;
    if (s.start < call.start) call.start = s.start;
    if (s.end > call.end) call.end = s.end;
    call.flags.oneWay ||= s.oneWay;
    call.flags.captureDrops ||= s.captureDrops > 0;
    call.flags.alerts += s.alerts.length;
  }
  call.worstMos = worst;
  call.lossPct = expected ? Math.round((lost / expected) * 100_000) / 1000 : 0;
}

/** Scored calls by worst MOS ascending; calls without media after them, by start time. */
function worstFirst(a: ReportCall, b: ReportCall): number {
  if ((a.worstMos > 0) !== (b.worstMos > 0)) return a.worstMos > 0 ? -1 : 1;
  if (a.worstMos !== b.worstMos) return a.worstMos - b.worstMos;
  return a.start - b.start;
}

/**
 * Running totals from an interval report, so that a stream still running (the live page) shows its
 * packets, loss and MOS so far; its FINAL/HANGUP report replaces them with the cumulative counters.
 */
function addInterval(s: ReportStream, r: QosReport): void {
  s.end = Math.max(s.end, sec(r.RTP_STOP));
  s.packets += num(r.TOTAL_PK);
  s.lost += Math.max(0, num(r.PACKET_LOSS));
  s.lossPct = s.packets + s.lost > 0 ? Math.round((s.lost / (s.packets + s.lost)) * 100_000) / 1000 : 0;
  s.maxJitter = Math.max(s.maxJitter, num(r.MAX_JITTER));
  s.maxDelta = Math.max(s.maxDelta, num(r.MAX_DELTA));
  if (num(r.MEAN_MOS) > 0) s.mos = num(r.MEAN_MOS);
  if (num(r.MIN_MOS) > 0) s.minMos = num(r.MIN_MOS);
  s.captureDrops += num(r.PERIOD_CAPTURE_DROPS);
  s.oneWay = num(r.ONE_WAY_RTP) === 1;
}

interface SipHead {
  label: string;
  cseq: string;
  from: string;
  to: string;
  body: string;
}

/**
 * Start line, CSeq, From/To addresses and body of a SIP message; null when it is not one. (Its Call-ID
 * is the SIP parser's: SipRecord.callId.)
 */
export function parseSipHead(text: string): SipHead | null {
  const end = headerEnd(text);
  const head = end < 0 ? text : text.slice(0, end);
  // A line starting with whitespace continues the header above it (RFC 3261 7.3.1).
  const lines = head.split(/\r?\n(?![ \t])/).map((l) => l.replace(/\r?\n[ \t]+/g, ' '));
  const start = lines[0] ?? '';
  let label: string;
  // A reason phrase is any UTF-8 text: `.` must match U+2028, U+2029 and a lone CR too (flag s).
  const status = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/s.exec(start);
  if (status) label = cut(`${status[1]} ${status[2]}`.trim(), LADDER_TEXT_LIMITS.label);
  else {
    const req = /^([A-Z]+)\s+\S+\s+SIP\/2\.0$/.exec(start.trim());
    if (!req) return null;
    label = cut(req[1]!, LADDER_TEXT_LIMITS.label);
  }
  const h: SipHead = { label, cseq: '', from: '', to: '', body: end < 0 ? '' : text.slice(end).replace(/^\r?\n\r?\n/, '') };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'cseq') h.cseq = cut(value, LADDER_TEXT_LIMITS.cseq);
    else if ((name === 'from' || name === 'f') && !h.from) h.from = cut(sipAddress(value), LADDER_TEXT_LIMITS.address);
    else if ((name === 't' || name === 'to') && !h.to) h.to = cut(sipAddress(value), LADDER_TEXT_LIMITS.address);
  }
  return h;
}

function headerEnd(text: string): number {
  const crlf = text.indexOf('\r\n\r\n');
  const lf = text.indexOf('\n\n');
  if (crlf < 0) return lf;
  if (lf < 0) return crlf;
  return Math.min(crlf, lf);
}

/** "user@host" of a From/To value ("Alice" <sip:alice@example.com>;tag=1 -> alice@example.com). */
function sipAddress(value: string): string {
  const m = /<?(?:sips?|tel):([^>;\s]+)/i.exec(value);
  return m ? m[1]! : value;
}

/**
 * One line per m= section: kind, address:port, codecs, direction; past LADDER_TEXT_LIMITS.sdpLines, one
 * more line saying how many sections are not shown.
 */
export function sdpSummary(body: string): string[] {
  const sdp = parseSdp(body, LADDER_TEXT_LIMITS.sdpLines);
  if (!sdp) return [];
  const lines = sdp.media.map((m) => {
    const codecs = m.formats.map((pt) => {
      const p = m.payloads.get(pt);
      return p ? `${p.name}/${p.clockRate}` : String(pt);
    });
    const addr = m.hasIp ? ipToString(m.ip[0]!, m.ip[1]!, m.ip[2]!, m.ip[3]!) : '?';
    return cut(`${m.kind} ${hostPort(addr, m.port)} ${codecs.join(' ')} ${m.direction}`.trim(), LADDER_TEXT_LIMITS.sdpLine);
  });
  const more = sdp.mediaLines - lines.length;
  if (more > 0) lines.push(`… ${more} more media section${more > 1 ? 's' : ''}`);
  return lines;
}

/**
 * `s`, or its first `max` - 1 characters and '…'. The cut is copied out: a slice would keep the whole
 * message text it was taken from alive.
 */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  return Buffer.from(s.slice(0, max - 1) + '…', 'utf8').toString('utf8');
}

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function sec(v: string | number | undefined): number {
  return Math.round(Number(v ?? 0) * 1000);
}

function num(v: string | number | undefined): number {
  const x = Number(v ?? 0);
  return Number.isFinite(x) ? x : 0;
}

function positive(v: string | number | undefined): number | null {
  const x = num(v);
  return x > 0 ? x : null;
}
