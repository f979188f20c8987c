/**
 * `rtpprobe top`: a live terminal view of a running probe's calls and streams, worst MOS first, read
 * from its JSON API (/api/calls, /api/streams on the metrics endpoint). Redraws every interval; keys:
 * c = calls, s = streams, q or Ctrl-C = quit. Without a terminal (or with --once) it prints one
 * screen and exits, so it also serves scripts.
 */
import type { LiveCall, LiveStream } from './live-state.js';
import { printable } from './terminal-text.js';

export interface TopSummary {
  calls: number;
  streams: number;
  alertsFiring: number;
  worstMos: number;
  worstCallId: string | null;
  status?: string;
  uptime_s?: number;
  capture?: { state: string };
}

export interface TopData {
  summary: TopSummary;
  calls: LiveCall[];
  streams: LiveStream[];
}

export type TopView = 'calls' | 'streams';

/** Fetches both API answers from the probe at `base` (e.g. http://127.0.0.1:9470). */
export async function fetchTop(base: string, limit: number, timeoutMs = 3000): Promise<TopData> {
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${base}${path}?limit=${limit}`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${errorText(await res.text())}`);
    return (await res.json()) as T;
  };
  const [c, s] = await Promise.all([get<{ summary: TopSummary; calls: LiveCall[] }>('/api/calls'), get<{ summary: TopSummary; streams: LiveStream[] }>('/api/streams')]);
  return { summary: s.summary, calls: c.calls, streams: s.streams };
}

/** The probe's JSON error ({"error": "..."}) as its words; any other answer cut to 200 characters (control characters as text). */
function errorText(body: string): string {
  try {
    const error = (JSON.parse(body) as { error?: unknown }).error;
    if (typeof error === 'string') return printable(error);
  } catch {
    // not the probe's JSON: shown as it came
  }
  return printable(body.slice(0, 200));
}

const mosText = (m: number): string => (m > 0 ? m.toFixed(2) : '-');

/** A line cut to `width`, its control characters (from the wire, or from whatever answered) shown as text. */
function fit(line: string, width: number): string {
  const text = printable(line);
  return text.length > width ? `${text.slice(0, Math.max(0, width - 1))}~` : text;
}

/** A table: header plus rows, columns padded (numbers right-aligned), each line cut to `width`. */
function table(head: string[], raw: string[][], right: Set<number>, width: number): string[] {
  // Escaped before the columns are measured: an escaped value is wider than the raw one.
  const rows = raw.map((r) => r.map(printable));
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => fit(cells.map((c, i) => (right.has(i) ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd(), width);
  return [line(head), ...rows.map(line)];
}

/** One screen of the view, `width` x `height` characters at most. */
export function renderTop(d: TopData, view: TopView, width: number, height: number, source: string, error?: string): string {
  const s = d.summary;
  const lines: string[] = [];
  lines.push(
    fit(
      `rtpprobe top  ${source}  capture ${s.capture?.state ?? '?'}  calls ${s.calls}  streams ${s.streams}  worst MOS ${mosText(s.worstMos)}  alerts ${s.alertsFiring}`,
      width,
    ),
  );
  lines.push(fit(error ? `! ${error}` : `view: ${view} (c calls, s streams, q quit); worst MOS first; numbers as of each stream's latest report`, width));
  lines.push('');
  const room = Math.max(1, height - lines.length - 1);
  if (view === 'calls') {
    const rows = d.calls.slice(0, room).map((c) => [mosText(c.worstMos), c.state, String(c.durationS), String(c.streams), c.lossPct.toFixed(1), c.maxJitterMs.toFixed(1), c.alerts.join(',') || '-', c.callId]);
    lines.push(...table(['MOS', 'State', 'Dur s', 'Streams', 'Loss%', 'MaxJit', 'Alerts', 'Call-ID'], rows, new Set([0, 2, 3, 4, 5]), width));
    if (d.calls.length === 0) lines.push('(no calls yet)');
  } else {
    const rows = d.streams
      .slice(0, room)
      .map((x) => [mosText(x.mos), mosText(x.minMos), x.src, x.dst, x.ssrc, x.codec, String(x.packets), x.lossPct.toFixed(1), x.jitterMs.toFixed(1), x.alerts.join(',') || '-', x.callId]);
    lines.push(...table(['MOS', 'Min', 'Src', 'Dst', 'SSRC', 'Codec', 'Pkts', 'Loss%', 'Jit', 'Alerts', 'Call-ID'], rows, new Set([0, 1, 6, 7, 8]), width));
    if (d.streams.length === 0) lines.push('(no stream reported yet: a stream appears with its first interval report)');
  }
  return lines.slice(0, height).join('\n') + '\n';
}

export interface TopOptions {
  url: string;
  intervalMs: number;
  once: boolean;
  view: TopView;
  out: NodeJS.WriteStream;
  input: NodeJS.ReadStream;
}

const EMPTY: TopData = { summary: { calls: 0, streams: 0, alertsFiring: 0, worstMos: 0, worstCallId: null }, calls: [], streams: [] };

/** Runs the view until q / Ctrl-C (or once). Resolves with the exit code. */
export async function runTop(o: TopOptions): Promise<number> {
  const base = o.url.replace(/\/+$/, '');
  const tty = Boolean(o.out.isTTY) && !o.once;
  const size = () => ({ width: tty ? o.out.columns || 120 : 200, height: tty ? o.out.rows || 40 : 1000 });
  if (!tty) {
    try {
      const d = await fetchTop(base, 1000);
      o.out.write(renderTop(d, o.view, size().width, size().height, base));
      return 0;
    } catch (err) {
      process.stderr.write(`rtpprobe top: cannot read ${base}/api/calls: ${describeFetchError(err)}\n`);
      return 1;
    }
  }
  let view = o.view;
  let last = EMPTY;
  let error: string | undefined;
  let done!: (code: number) => void;
  const finished = new Promise<number>((r) => (done = r));
  const draw = () => {
    const { width, height } = size();
    o.out.write(`\x1b[H\x1b[2J${renderTop(last, view, width, height, base, error)}`);
  };
  const refresh = async () => {
    try {
      last = await fetchTop(base, size().height);
      error = undefined;
    } catch (err) {
      error = `cannot read ${base}/api/calls: ${describeFetchError(err)}`;
    }
    draw();
  };
  o.input.setRawMode?.(true);
  o.input.resume();
  const onKey = (buf: Buffer) => {
    const k = buf.toString();
    if (k === 'q' || k === '\u0003') done(0);
    else if (k === 'c' || k === 's') {
      view = k === 'c' ? 'calls' : 'streams';
      draw();
    }
  };
  o.input.on('data', onKey);
  o.out.write('\x1b[?1049h\x1b[?25l'); // alternate screen, cursor hidden
  const onResize = () => draw();
  o.out.on('resize', onResize);
  await refresh();
  const timer = setInterval(() => void refresh(), o.intervalMs);
  const code = await finished;
  clearInterval(timer);
  o.out.off('resize', onResize);
  o.input.off('data', onKey);
  o.input.setRawMode?.(false);
  o.input.pause();
  o.out.write('\x1b[?25h\x1b[?1049l');
  return code;
}

/** Why a request to the probe's metrics endpoint failed, naming what to check (top, health). */
export function describeFetchError(err: unknown, timeoutMs = 3000): string {
  const e = err as { cause?: { code?: string }; message?: string; name?: string };
  if (e?.cause?.code === 'ECONNREFUSED') return 'connection refused (is the probe running, with metrics.enabled and this port?)';
  if (e?.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  if (e?.cause?.code === 'ENOTFOUND' || e?.cause?.code === 'EAI_AGAIN') return 'the host name does not resolve';
  return e?.cause?.code ?? e?.message ?? String(err);
}
