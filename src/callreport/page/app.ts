/**
 * The call report's page: reads the embedded data (or, on the live page, the probe's JSON API) and
 * renders the call list, a call's SIP ladder with its media, and each stream's interval series on the
 * ladder's time axis. Bundled with uPlot into one script by `npm run build:page`.
 */
import uPlot from 'uplot';
import type { CallReportData, ReportCall, ReportStream } from '../model.js';
import { unpackCallReport, type PackedCallReport } from '../pack.js';

const PAGE_SIZE = 50;
/** The time axis's margins in the ladder and in the charts, px: a time is at the same x in all of them. */
const AXIS_LEFT = 130;
const AXIS_RIGHT = 20;
const LABEL_ROWS = 6;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

type CallColumn = 'callId' | 'parties' | 'start' | 'duration' | 'worstMos' | 'lossPct' | 'flags';

interface State {
  data: CallReportData;
  sort: { col: CallColumn; asc: boolean } | null;
  /** The find box's text, lower case: calls whose Call-ID, From or To contain it ('' = all). */
  filter: string;
  page: number;
  orphanPage: number;
  selected: string | null;
  /** The stream without a call shown in the detail (streamKey), null when a call is: kept across live refreshes. */
  orphan: string | null;
  plots: uPlot[];
}

declare global {
  interface Window {
    /** Set by the live page: where to fetch the data from and how often. */
    RTPPROBE_LIVE?: { url: string; refreshMs: number };
  }
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...kids: Array<Node | string>): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * A Date holds ±8.64e15 ms (year 275760); a capture's timestamps can lie beyond (pcapng's are 64-bit),
 * where toISOString() throws: such times are shown as seconds since the epoch.
 */
const DATE_LIMIT_MS = 8.64e15;
function dated(ms: number): boolean {
  return Math.abs(ms) <= DATE_LIMIT_MS;
}

/** Times are UTC everywhere on the page (a capture does not say its zone; the reader's may differ). */
function fmtTime(ms: number): string {
  if (!dated(ms)) return `${(ms / 1000).toFixed(3)} s since 1970`;
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/**
 * A ladder tick's label: the time of day (with ms only when ticks are less than a second apart), the date
 * before it at the first tick and where the day changes (a call over midnight, a gap of hours); seconds
 * since the epoch beyond a Date's range.
 */
function tickLabel(ms: number, stepMs: number, previousMs: number | null): string {
  if (!dated(ms)) return (ms / 1000).toFixed(3);
  const iso = new Date(ms).toISOString();
  const time = iso.slice(11, stepMs < 1000 ? 23 : 19);
  const sameDay = previousMs !== null && dated(previousMs) && new Date(previousMs).toISOString().slice(0, 10) === iso.slice(0, 10);
  return sameDay ? time : `${iso.slice(0, 10)} ${time}`;
}

/** uPlot's axis and legend dates in UTC, as the rest of the page (uPlot's default is the browser's zone). */
function utcDate(s: number): Date {
  return uPlot.tzDate(new Date(s * 1000), 'UTC');
}

function fmtDuration(ms: number): string {
  const tenths = Math.round(Math.max(0, ms) / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  // Rounded to whole seconds before splitting: 119.6 s is 2 min 0 s, not 1 min 60 s.
  const s = Math.round(ms / 1000);
  const m = Math.floor(s / 60);
  return `${m} min ${s - m * 60} s`;
}

function mosClass(mos: number): string {
  if (mos <= 0) return 'na';
  return mos < 3.1 ? 'bad' : mos < 3.6 ? 'poor' : mos < 4.0 ? 'fair' : 'good';
}

function flagText(c: ReportCall): string {
  const f: string[] = [];
  if (c.flags.oneWay) f.push('one-way audio');
  if (c.flags.captureDrops) f.push('capture drops');
  if (c.flags.alerts) f.push(`${c.flags.alerts} alert${c.flags.alerts > 1 ? 's' : ''}`);
  return f.join(', ');
}

function sortValue(c: ReportCall, col: CallColumn): string | number {
  switch (col) {
    case 'callId': return c.callId;
    case 'parties': return `${c.from} ${c.to}`;
    case 'start': return c.start;
    case 'duration': return c.end - c.start;
    case 'worstMos': return c.worstMos > 0 ? c.worstMos : 99;
    case 'lossPct': return c.lossPct;
    case 'flags': return (c.flags.oneWay ? 4 : 0) + (c.flags.captureDrops ? 2 : 0) + c.flags.alerts;
  }
}

function sortedCalls(st: State): ReportCall[] {
  const f = st.filter;
  const calls = f ? st.data.calls.filter((c) => [c.callId, c.from, c.to].some((v) => v.toLowerCase().includes(f))) : st.data.calls.slice();
  const s = st.sort;
  if (!s) return calls; // the data comes worst first
  calls.sort((a, b) => {
    const x = sortValue(a, s.col);
    const y = sortValue(b, s.col);
    const r = x < y ? -1 : x > y ? 1 : 0;
    return s.asc ? r : -r;
  });
  return calls;
}

function pageCount(total: number): number {
  return Math.max(1, Math.ceil(total / PAGE_SIZE));
}

/** `page` within a list of `total`: a live refresh that forgot older entries can leave it past the end. */
function clampedPage(page: number, total: number): number {
  return Math.min(page, pageCount(total) - 1);
}

function pager(total: number, page: number, onPage: (p: number) => void, id: string): HTMLElement {
  const pages = pageCount(total);
  const box = el('div', { class: 'pager', id });
  const prev = el('button', { type: 'button' }, '‹ previous');
  const next = el('button', { type: 'button' }, 'next ›');
  prev.disabled = page <= 0;
  next.disabled = page >= pages - 1;
  prev.onclick = () => onPage(page - 1);
  next.onclick = () => onPage(page + 1);
  box.append(prev, ` page ${page + 1} of ${pages} (${total}) `, next);
  return box;
}

/**
 * Where an empty list looked: what a long run kept once it forgot older ones (`forgotten` of that kind),
 * else on the live page what the probe has seen so far, in a report the whole capture.
 */
function scope(forgotten: number): string {
  if (forgotten) return 'kept (older ones forgotten)';
  return window.RTPPROBE_LIVE ? 'so far' : 'in this capture';
}

function renderCallList(st: State): void {
  const host = document.getElementById('calls')!;
  host.replaceChildren();
  host.dataset.total = String(st.data.calls.length);
  const calls = sortedCalls(st);
  st.page = clampedPage(st.page, calls.length);
  if (calls.length === 0) {
    host.append(el('p', { class: 'empty' }, st.data.calls.length ? 'No call matches.' : `No SIP call ${scope(st.data.forgotten.dialogs)}.`));
    return;
  }
  const cols: Array<[CallColumn, string]> = [
    ['callId', 'Call-ID'], ['parties', 'From → To'], ['start', 'Start (UTC)'], ['duration', 'Duration'],
    ['worstMos', 'Worst MOS'], ['lossPct', 'Loss %'], ['flags', 'Flags'],
  ];
  const head = el('tr');
  for (const [col, name] of cols) {
    const arrow = st.sort?.col === col ? (st.sort.asc ? ' ▲' : ' ▼') : '';
    const th = el('th', { 'data-col': col, title: 'sort' }, name + arrow);
    th.onclick = () => {
      st.sort = { col, asc: st.sort?.col === col ? !st.sort.asc : true };
      st.page = 0;
      renderCallList(st);
    };
    head.append(th);
  }
  const body = el('tbody');
  for (const c of calls.slice(st.page * PAGE_SIZE, (st.page + 1) * PAGE_SIZE)) {
    const tr = el('tr', { class: c.callId === st.selected ? 'call selected' : 'call', 'data-call-id': c.callId },
      el('td', { class: 'mono wire' }, c.callId),
      el('td', { class: 'wire' }, c.from || c.to ? `${c.from} → ${c.to}` : '—'),
      el('td', {}, fmtTime(c.start)),
      el('td', {}, fmtDuration(c.end - c.start)),
      el('td', { class: `mos ${mosClass(c.worstMos)}` }, c.worstMos > 0 ? c.worstMos.toFixed(2) : '—'),
      el('td', {}, c.lossPct.toFixed(2)),
      el('td', { class: 'flags' }, flagText(c)),
    );
    tr.onclick = () => selectCall(st, c.callId);
    body.append(tr);
  }
  host.append(el('table', { class: 'list' }, el('thead', {}, head), body));
  host.append(pager(calls.length, st.page, (p) => { st.page = p; renderCallList(st); }, 'calls-pager'));
}

function selectCall(st: State, callId: string): void {
  st.selected = callId;
  st.orphan = null;
  renderCallList(st);
  const call = st.data.calls.find((c) => c.callId === callId);
  if (call) renderDetail(st, call);
}

/** Time range shown for a call: its messages and media, with a small margin. */
function callRange(call: ReportCall, streams: ReportStream[]): [number, number] {
  let lo = call.start;
  let hi = call.end;
  for (const s of streams) {
    lo = Math.min(lo, s.start);
    hi = Math.max(hi, s.end);
  }
  const pad = Math.max(200, (hi - lo) * 0.02);
  return [lo - pad, hi + pad];
}

function hostOf(addr: string): string {
  const i = addr.lastIndexOf(':');
  const h = i > 0 ? addr.slice(0, i) : addr;
  return h.startsWith('[') ? h.slice(1, -1) : h;
}

/**
 * The ladder on a horizontal time axis shared with the charts: one lane per host, each SIP message an
 * arrow from its sender's lane to its receiver's at its capture time, each media stream a bar on its
 * sender's lane from first to last packet.
 */
function renderLadder(call: ReportCall, streams: ReportStream[], range: [number, number], width: number): SVGElement {
  const lanes: string[] = [];
  const lane = (h: string) => {
    let i = lanes.indexOf(h);
    if (i < 0) i = lanes.push(h) - 1;
    return i;
  };
  for (const m of call.messages) { lane(hostOf(m.src)); lane(hostOf(m.dst)); }
  for (const s of streams) { lane(hostOf(s.src)); lane(hostOf(s.dst)); }
  const left = AXIS_LEFT;
  const right = AXIS_RIGHT;
  const laneGap = 70;
  const top = 40;
  const height = top + Math.max(1, lanes.length - 1) * laneGap + 60;
  const x = (t: number) => left + ((t - range[0]) / (range[1] - range[0])) * (width - left - right);
  const y = (i: number) => top + i * laneGap;
  const root = svg('svg', { class: 'ladder', width, height, viewBox: `0 0 ${width} ${height}`, 'data-messages': call.messages.length });
  lanes.forEach((h, i) => {
    root.append(svg('line', { x1: left, x2: width - right, y1: y(i), y2: y(i), class: 'lane' }));
    root.append(svg('text', { x: 4, y: y(i) + 4, class: 'lane-name' }, h));
  });
  streams.forEach((s, k) => {
    const i = lane(hostOf(s.src));
    const g = svg('g', { class: 'media', 'data-stream': s.id });
    const off = 6 + (k % 3) * 6;
    g.append(svg('rect', { x: x(s.start), y: y(i) + off, width: Math.max(2, x(s.end) - x(s.start)), height: 5, fill: COLORS[k % COLORS.length]! }));
    const title = svg('title', {}, `RTP ${s.codec} ${s.ssrc} ${s.src} → ${s.dst}, ${s.packets} packets, ${fmtTime(s.start)} – ${fmtTime(s.end)}`);
    g.append(title);
    root.append(g);
  });
  // Labels go to the first of LABEL_ROWS rows below the arrow's top where they do not overlap the previous one.
  const rowEnds = new Array<number>(LABEL_ROWS).fill(-Infinity);
  call.messages.forEach((m) => {
    const a = lane(hostOf(m.src));
    const b = lane(hostOf(m.dst));
    const xm = x(m.t);
    const cls = /^\d/.test(m.label) ? (m.label[0] === '1' ? 'provisional' : m.label[0] === '2' ? 'success' : 'failure') : 'request';
    const g = svg('g', { class: `msg ${cls}` });
    const dir = b >= a ? 1 : -1;
    const y1 = y(a);
    const y2 = a === b ? y(a) + 20 : y(b) - dir * 4;
    g.append(svg('line', { x1: xm, x2: xm, y1, y2 }));
    g.append(svg('path', { d: `M${xm - 4},${y2 - dir * 6} L${xm},${y2} L${xm + 4},${y2 - dir * 6}`, class: 'head' }));
    const label = m.label.split(' ')[0]! + (m.sdp.length ? ' (SDP)' : ''); // method or status; the full line is in the tooltip
    let row = rowEnds.findIndex((end) => end < xm + 3);
    if (row < 0) row = rowEnds.indexOf(Math.min(...rowEnds));
    rowEnds[row] = xm + 3 + label.length * 6;
    g.append(svg('text', { x: xm + 3, y: Math.min(y1, y2) + 11 + row * 10, class: 'msg-label' }, label));
    g.append(svg('title', {}, `${fmtTime(m.t)}  ${m.src} → ${m.dst}\n${m.label}  [${m.cseq}]${m.sdp.length ? '\n' + m.sdp.join('\n') : ''}`));
    root.append(g);
  });
  // Time ticks along the bottom, on round times of the clock (UTC).
  const span = range[1] - range[0];
  const step = niceStep(span / 8);
  let previous: number | null = null;
  for (let t = Math.ceil(range[0] / step) * step; t <= range[1]; t += step) {
    root.append(svg('line', { x1: x(t), x2: x(t), y1: height - 30, y2: height - 24, class: 'tick' }));
    root.append(svg('text', { x: x(t) - 20, y: height - 10, class: 'tick-label' }, tickLabel(t, step, previous)));
    previous = t;
  }
  return root;
}

/** Tick steps up to a day, ms: round values of a clock (10 s, 15 min, 2 h...). */
const TICK_STEPS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 10e3, 15e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1_800e3, 3_600e3, 7_200e3, 10_800e3, 21_600e3, 43_200e3, 86_400e3];

/** The smallest tick step of at least `raw` ms; past a day, whole days (1, 2 or 5 times a power of ten). */
function niceStep(raw: number): number {
  const step = TICK_STEPS_MS.find((s) => s >= raw);
  if (step !== undefined) return step;
  const days = raw / 86_400e3;
  const p = 10 ** Math.floor(Math.log10(days));
  return ([1, 2, 5].find((m) => m * p >= days) ?? 10) * p * 86_400e3;
}

function messageTable(call: ReportCall): HTMLElement {
  const body = el('tbody');
  for (const m of call.messages) {
    body.append(el('tr', { class: 'message' },
      el('td', {}, `+${((m.t - call.start) / 1000).toFixed(3)} s`),
      el('td', { class: 'mono' }, m.src),
      el('td', { class: 'mono' }, m.dst),
      el('td', { class: 'wire' }, m.label),
      el('td', { class: 'wire' }, m.cseq),
      el('td', { class: 'sdp wire' }, ...m.sdp.flatMap((l, i) => (i ? [el('br'), l] : [l]))),
    ));
  }
  const t = el('table', { class: 'list', id: 'messages' },
    el('thead', {}, el('tr', {}, el('th', {}, 'Time'), el('th', {}, 'From'), el('th', {}, 'To'), el('th', {}, 'Message'), el('th', {}, 'CSeq'), el('th', {}, 'SDP'))),
    body);
  return t;
}

function streamTable(streams: ReportStream[], id: string, onClick?: (s: ReportStream) => void): HTMLElement {
  const body = el('tbody');
  streams.forEach((s, k) => {
    const tr = el('tr', { class: 'stream', 'data-stream': String(s.id) },
      el('td', {}, el('span', { class: 'swatch', style: `background:${COLORS[k % COLORS.length]}` })),
      el('td', { class: 'mono' }, `${s.src} → ${s.dst}`),
      el('td', { class: 'mono' }, s.ssrc),
      el('td', { class: 'wire' }, s.codec),
      el('td', {}, String(s.packets)),
      el('td', {}, `${s.lost} (${s.lossPct.toFixed(1)} %)`),
      el('td', {}, s.maxDelta.toFixed(1)),
      el('td', {}, s.maxJitter.toFixed(2)),
      el('td', { class: `mos ${mosClass(s.minMos)}` }, s.minMos > 0 ? s.minMos.toFixed(2) : '—'),
      el('td', { class: `mos ${mosClass(s.mos)}` }, s.mos > 0 ? s.mos.toFixed(2) : '—'),
      el('td', {}, s.alerts.map((a) => a.rule).join(', ')),
    );
    if (onClick) tr.onclick = () => onClick(s);
    body.append(tr);
  });
  const head = ['', 'Src → Dst', 'SSRC', 'Codec', 'Packets', 'Lost', 'Max delta ms', 'Max jitter ms', 'Worst MOS', 'MOS', 'Alerts'];
  return el('table', { class: 'list', id }, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))), body);
}

type Metric = 'delta' | 'jitter' | 'loss' | 'mos';
const METRICS: Array<[Metric, string]> = [['delta', 'Delta (ms, interval mean)'], ['jitter', 'Jitter (ms)'], ['loss', 'Loss (%)'], ['mos', 'MOS']];

/** What a point of a thinned series stands for (the report's meta line says one interval otherwise). */
function thinningNote(streams: ReportStream[]): string {
  const spans = streams.filter((s) => s.thinned && s.series.t.length > 1)
    .map((s) => (s.series.t[s.series.t.length - 1]! - s.series.t[0]!) / (s.series.t.length - 1) / 1000);
  if (!spans.length) return '';
  return `Long series thinned to fit the page: one point per about ${Math.round(Math.max(...spans))} s, the worst of the intervals it stands for.`;
}

/** One chart per metric, every stream a series, x = time in s (uPlot's unit), markers for alerts and SIP. */
function renderCharts(st: State, host: HTMLElement, streams: ReportStream[], range: [number, number], marks: Array<{ t: number; kind: 'alert' | 'sip' }>, width: number): void {
  const note = thinningNote(streams);
  if (note) host.append(el('p', { class: 'summary thinned' }, note));
  // uPlot wants one shared x array: the union of the streams' interval end times.
  const xs = [...new Set(streams.flatMap((s) => s.series.t))].sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  for (const [metric, title] of METRICS) {
    // x in s: dates; beyond a Date's range (uPlot's dates would throw there) seconds from the range's start.
    const timed = dated(range[0]) && dated(range[1]);
    const origin = timed ? 0 : range[0];
    const sx = (t: number) => (t - origin) / 1000;
    const data: Array<Array<number | null | undefined>> = [xs.map(sx)];
    for (const s of streams) {
      // uPlot breaks a line at null (an interval without a value) and spans undefined: the times at
      // which only other streams report.
      const col: Array<number | null | undefined> = new Array(xs.length).fill(undefined);
      s.series.t.forEach((t, i) => { col[index.get(t)!] = s.series[metric][i]!; });
      data.push(col);
    }
    const box = el('div', { class: 'chart', 'data-metric': metric });
    host.append(box);
    const opts: uPlot.Options = {
      title,
      width,
      height: 170,
      tzDate: utcDate,
      // The y axis fills the ladder's left margin: the plot area spans what the ladder's lanes span.
      padding: [null, AXIS_RIGHT, null, 0],
      axes: [timed ? {} : { label: `s from ${fmtTime(origin)}` }, { size: AXIS_LEFT }],
      scales: { x: { time: timed, min: sx(range[0]), max: sx(range[1]) }, y: { range: yRange(metric) } },
      series: [{}, ...streams.map((s, k) => ({ label: `${s.src}→${s.dst} ${s.ssrc}`, stroke: COLORS[k % COLORS.length]!, width: 1.5, spanGaps: metric === 'jitter' || metric === 'mos', points: { show: true, size: 4 } }))],
      legend: { show: metric === 'delta' },
      hooks: {
        draw: [
          (u: uPlot) => {
            const ctx = u.ctx;
            ctx.save();
            for (const m of marks) {
              const px = u.valToPos(sx(m.t), 'x', true);
              if (px < u.bbox.left || px > u.bbox.left + u.bbox.width) continue;
              ctx.strokeStyle = m.kind === 'alert' ? '#d00' : '#bbb';
              ctx.setLineDash(m.kind === 'alert' ? [6, 3] : [2, 3]);
              ctx.lineWidth = m.kind === 'alert' ? 2 : 1;
              ctx.beginPath();
              ctx.moveTo(px, u.bbox.top);
              ctx.lineTo(px, u.bbox.top + u.bbox.height);
              ctx.stroke();
            }
            ctx.restore();
          },
        ],
      },
    };
    st.plots.push(new uPlot(opts, data as uPlot.AlignedData, box));
  }
}

/** MOS on its whole scale; the others from 0, with a little room above flat series. */
function yRange(metric: Metric): uPlot.Scale.Range {
  if (metric === 'mos') return [1, 4.6];
  return (_u: uPlot, _min: number, max: number) => [0, Math.max(metric === 'loss' ? 5 : 1, max * 1.1)];
}

function chartWidth(): number {
  return Math.max(600, Math.min(1400, document.documentElement.clientWidth - 60));
}

function clearPlots(st: State): void {
  for (const p of st.plots) p.destroy();
  st.plots = [];
}

function renderDetail(st: State, call: ReportCall): void {
  clearPlots(st);
  const host = document.getElementById('detail')!;
  host.replaceChildren();
  host.dataset.callId = call.callId;
  const streams = call.streams.map((i) => st.data.streams[i]!);
  const range = callRange(call, streams);
  const width = chartWidth();
  host.append(el('h2', {}, `Call ${call.callId}`));
  host.append(el('p', { class: 'summary wire' },
    `${call.from || '?'} → ${call.to || '?'} · ${fmtTime(call.start)} · ${fmtDuration(call.end - call.start)} · ` +
    `${call.messages.length} SIP messages${call.messagesOmitted ? ` (+${call.messagesOmitted} not kept)` : ''} · ${streams.length} streams`));
  host.append(el('h3', {}, 'SIP ladder and media'));
  host.append(renderLadder(call, streams, range, width));
  host.append(el('h3', {}, 'Streams'));
  host.append(streamTable(streams, 'call-streams'));
  if (streams.length) {
    host.append(el('h3', {}, 'Per interval'));
    const charts = el('div', { class: 'charts' });
    host.append(charts);
    const marks = [
      ...call.messages.map((m) => ({ t: m.t, kind: 'sip' as const })),
      ...streams.flatMap((s) => s.alerts.map((a) => ({ t: a.t, kind: 'alert' as const }))),
    ];
    renderCharts(st, charts, streams, range, marks, width);
  }
  host.append(el('h3', {}, 'Messages'));
  host.append(messageTable(call));
}

function renderOrphans(st: State): void {
  const host = document.getElementById('orphans')!;
  host.replaceChildren();
  const orphans = st.data.streams.filter((s) => s.callId === null);
  host.dataset.total = String(orphans.length);
  st.orphanPage = clampedPage(st.orphanPage, orphans.length);
  if (!orphans.length) {
    host.append(el('p', { class: 'empty' }, st.data.streams.length ? 'Every stream belongs to a call.' : `No RTP stream ${scope(st.data.forgotten.streams)}.`));
    return;
  }
  const page = orphans.slice(st.orphanPage * PAGE_SIZE, (st.orphanPage + 1) * PAGE_SIZE);
  host.append(streamTable(page, 'orphan-streams', (s) => showOrphan(st, s)));
  host.append(pager(orphans.length, st.orphanPage, (p) => { st.orphanPage = p; renderOrphans(st); }, 'orphans-pager'));
}

/** A stream's identity across refreshes of the live page (its id is its index in one build). */
function streamKey(s: ReportStream): string {
  return `${s.src}|${s.dst}|${s.ssrc}|${s.start}`;
}

function showOrphan(st: State, s: ReportStream): void {
  st.orphan = streamKey(s);
  if (st.selected !== null) {
    st.selected = null;
    renderCallList(st);
  }
  clearPlots(st);
  const host = document.getElementById('detail')!;
  host.replaceChildren(el('h2', {}, `Stream ${s.src} → ${s.dst} ${s.ssrc} (no call)`));
  delete host.dataset.callId;
  const charts = el('div', { class: 'charts' });
  host.append(charts);
  const pad = Math.max(200, (s.end - s.start) * 0.02);
  renderCharts(st, charts, [s], [s.start - pad, s.end + pad], s.alerts.map((a) => ({ t: a.t, kind: 'alert' as const })), chartWidth());
}

function render(st: State): void {
  const d = st.data;
  document.title = d.title;
  document.getElementById('title')!.textContent = d.title;
  const f = d.forgotten;
  // A long run keeps the most recently active dialogs and streams: say how many older ones are not here.
  const notKept = f.dialogs + f.streams > 0 ? ` · not kept (least recently active): ${f.dialogs} SIP dialogs, ${f.streams} streams` : '';
  // SIP the probe refused is in no call: a call whose every message was refused shows only as streams.
  const refused = Object.entries(d.sipNotUsed).map(([reason, n]) => `${n} ${reason}`).join(', ');
  const notUsed = refused ? ` · SIP messages not used: ${refused}` : '';
  document.getElementById('meta')!.textContent =
    `${d.calls.length} calls · ${d.streams.length} streams · ${d.otherDialogs} other SIP dialogs (REGISTER, OPTIONS...)${notKept}${notUsed} · one point per ${d.intervalS} s report interval · times in UTC · generated ${fmtTime(d.generatedAt)}`;
  renderCallList(st);
  renderOrphans(st);
  const orphan = st.orphan === null ? undefined : d.streams.find((s) => s.callId === null && streamKey(s) === st.orphan);
  const first = st.selected && d.calls.some((c) => c.callId === st.selected) ? st.selected : d.calls[0]?.callId;
  if (orphan) showOrphan(st, orphan);
  else if (first) selectCall(st, first);
  else if (d.streams[0]) showOrphan(st, d.streams[0]);
  document.body.dataset.ready = String(Date.now());
}

async function start(): Promise<void> {
  const st: State = { data: { title: '', generatedAt: 0, intervalS: 0, calls: [], streams: [], otherDialogs: 0, forgotten: { dialogs: 0, streams: 0 }, sipNotUsed: {} }, sort: null, filter: '', page: 0, orphanPage: 0, selected: null, orphan: null, plots: [] };
  // In the page's static part, not re-rendered: typing is not interrupted by a live refresh.
  const find = document.getElementById('call-filter') as HTMLInputElement;
  find.oninput = () => {
    st.filter = find.value.trim().toLowerCase();
    st.page = 0;
    renderCallList(st);
  };
  const live = window.RTPPROBE_LIVE;
  if (!live) {
    st.data = unpackCallReport(JSON.parse(document.getElementById('report-data')!.textContent!) as PackedCallReport);
    render(st);
    return;
  }
  const refresh = async () => {
    try {
      const res = await fetch(live.url, { cache: 'no-store' });
      if (!res.ok) {
        // The probe answered: what it says (starting, stopping), not that it is unreachable.
        const body = (await res.json().catch(() => ({}))) as { error?: string };
        document.getElementById('error')!.textContent = body.error ?? `the probe answered ${res.status} ${res.statusText}`;
        return;
      }
      st.data = unpackCallReport((await res.json()) as PackedCallReport);
      document.getElementById('error')!.textContent = '';
      render(st);
    } catch (err) {
      document.getElementById('error')!.textContent = `probe not reachable: ${(err as Error).message}`;
    }
  };
  // The next request once this answer came, not on a fixed beat: over a link slower than the interval the
  // requests would pile up, each a whole report, and a late answer could replace a newer one.
  const loop = async () => {
    await refresh();
    setTimeout(() => void loop(), live.refreshMs);
  };
  await loop();
}

void start();
