import type { QosReport } from '../report/index.js';
import { printable } from '../ops/terminal-text.js';

/** How the replay's closing table is written. */
export const TABLE_FORMATS = ['text', 'csv', 'json', 'none'] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

/**
 * Which streams get a row. A stream is kept when its Call-ID is one of `callIds` (when given) and, when a
 * threshold is given, it is worse than one of them: mean MOS below `mosBelow` or loss above `lossAbovePct`.
 */
export interface StreamSelection {
  callIds?: readonly string[];
  mosBelow?: number;
  lossAbovePct?: number;
}

/** Columns, in the order of `tshark -z rtp,streams` where tshark has them, then MOS and the Call-ID. */
const HEAD = ['Src', 'Dst', 'SSRC', 'Codec', 'Pkts', 'Lost', 'MaxDelta', 'MeanJit', 'MaxJit', 'MaxSkew', 'MOS', 'Call-ID'];
/** Text columns printed right-aligned (the numbers). */
const FIRST_NUMBER = 4;
const LAST_NUMBER = 10;
/** Field separator of a stored row: never in a cell (cells are sanitised). */
const SEP = '\u0000';
/** Rows written per chunk: a 1,000,000-row table is never one string. */
const CHUNK_ROWS = 2000;

/**
 * The replay's closing table, one row per stream from its FINAL/HANGUP report. A row is kept as one
 * string (about 150 bytes), not the report (a few KB), so a replay of a million streams holds ~150 MB,
 * and column widths are tracked as rows arrive so nothing needs the rows all at once.
 */
export class StreamTable {
  private readonly rows: string[] = [];
  private readonly widths = HEAD.map((h) => h.length);
  private readonly callIds: Set<string> | null;
  /** Streams offered, selected or not. */
  private offered = 0;

  constructor(private readonly select: StreamSelection = {}) {
    this.callIds = select.callIds?.length ? new Set(select.callIds) : null;
  }

  /** Streams in the table so far. */
  get size(): number {
    return this.rows.length;
  }

  /** Offers one FINAL/HANGUP report; kept when the selection takes it. */
  add(r: QosReport): void {
    this.offered++;
    if (!this.selected(r)) return;
    const cells = rowCells(r);
    const w = this.widths;
    for (let i = 0; i < cells.length; i++) if (cells[i].length > w[i]) w[i] = cells[i].length;
    this.rows.push(cells.join(SEP));
  }

  private selected(r: QosReport): boolean {
    if (this.callIds && !this.callIds.has(String(r.CORRELATION_ID))) return false;
    const { mosBelow, lossAbovePct } = this.select;
    if (mosBelow === undefined && lossAbovePct === undefined) return true;
    const mos = Number(r.MOS);
    if (mosBelow !== undefined && mos > 0 && mos < mosBelow) return true;
    return lossAbovePct !== undefined && lossPct(r) > lossAbovePct;
  }

  /**
   * Writes the table in `format` through `out`, chunk by chunk (each awaited: a pipe takes 64 KiB at
   * once). An empty table is a line saying so (text) or an empty document (CSV header, JSON []).
   */
  async write(format: TableFormat, out: (text: string) => void | Promise<void>): Promise<void> {
    for (const chunk of this.chunks(format)) await out(chunk);
  }

  /** The table in `format` as consecutive pieces of text. */
  *chunks(format: TableFormat): Generator<string, void, undefined> {
    if (format === 'none') return;
    if (format === 'text' && this.rows.length === 0) {
      yield this.offered === 0 ? 'no RTP streams found\n' : `no stream matches the selection (${this.offered} streams in all)\n`;
      return;
    }
    const line = format === 'text' ? (cells: string[]) => this.textLine(cells) : format === 'csv' ? csvLine : jsonLine;
    let chunk = format === 'json' ? '[' : line(HEAD);
    for (let i = 0; i < this.rows.length; i++) {
      if (format === 'json' && i > 0) chunk += ',';
      chunk += line(this.rows[i].split(SEP));
      if ((i + 1) % CHUNK_ROWS === 0) {
        yield chunk;
        chunk = '';
      }
    }
    if (format === 'json') chunk += this.rows.length ? '\n]\n' : ']\n';
    yield chunk;
  }

  private textLine(cells: string[]): string {
    const w = this.widths;
    let s = '';
    for (let i = 0; i < cells.length; i++) {
      if (i > 0) s += '  ';
      s += i >= FIRST_NUMBER && i <= LAST_NUMBER ? cells[i].padStart(w[i]) : cells[i].padEnd(w[i]);
    }
    return `${s.trimEnd()}\n`;
  }
}

/** The table of `finals` as text in one string (tests, small replays). */
export function formatStreamTable(finals: QosReport[]): string {
  const t = new StreamTable();
  for (const r of finals) t.add(r);
  return [...t.chunks('text')].join('');
}

function rowCells(r: QosReport): string[] {
  const expected = Number(r.EXPECTED_PK);
  const lost = Number(r.PACKET_LOSS);
  return [
    endpoint(String(r.SRC_IP), r.SRC_PORT),
    endpoint(String(r.DST_IP), r.DST_PORT),
    `0x${(Number(r.SSRC) >>> 0).toString(16).toUpperCase().padStart(8, '0')}`,
    printable(String(r.CODEC_NAME)),
    String(r.TOTAL_PK),
    `${lost} (${expected > 0 ? ((100 * lost) / expected).toFixed(1) : '0.0'}%)`,
    fix3(r.MAX_DELTA),
    fix3(r.MEAN_JITTER),
    fix3(r.MAX_JITTER),
    fix3(r.MAX_SKEW),
    Number(r.MOS) > 0 ? Number(r.MOS).toFixed(2) : '-',
    printable(String(r.CORRELATION_ID)),
  ];
}

function lossPct(r: QosReport): number {
  const expected = Number(r.EXPECTED_PK);
  return expected > 0 ? (100 * Number(r.PACKET_LOSS)) / expected : 0;
}

function endpoint(ip: string, port: unknown): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function fix3(v: unknown): string {
  return Number(v).toFixed(3);
}

/** Columns whose text comes from the wire (codec name, Call-ID). */
const WIRE_TEXT = [HEAD.indexOf('Codec'), HEAD.indexOf('Call-ID')];

/**
 * A CSV cell. Text from the wire that a spreadsheet would take for a formula (=, +, - or @ first: a
 * Call-ID `=HYPERLINK(...)` made by whoever can send SIP past the mirror) gets a leading ', as spreadsheets
 * read a cell that is text; the JSON table keeps such values as they came.
 */
function csvCell(c: string, i: number): string {
  const v = WIRE_TEXT.includes(i) && /^[=+\-@]/.test(c) ? `'${c}` : c;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function csvLine(cells: string[]): string {
  return `${cells.map(csvCell).join(',')}\n`;
}

/** JSON keeps the numbers as numbers and the loss as count and percent; one stream per line. */
function jsonLine(cells: string[]): string {
  const [src, dst, ssrc, codec, pkts, lost, maxDelta, meanJit, maxJit, maxSkew, mos, callId] = cells;
  const m = /^(\d+) \(([\d.]+)%\)$/.exec(lost);
  return `\n${JSON.stringify({
    src,
    dst,
    ssrc,
    codec,
    packets: Number(pkts),
    lost: m ? Number(m[1]) : 0,
    lossPct: m ? Number(m[2]) : 0,
    maxDeltaMs: Number(maxDelta),
    meanJitterMs: Number(meanJit),
    maxJitterMs: Number(maxJit),
    maxSkewMs: Number(maxSkew),
    mos: mos === '-' ? null : Number(mos),
    callId,
  })}`;
}
