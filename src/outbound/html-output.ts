/**
 * The HTML call report (reports.html.path): collects the run's SIP messages and QoS reports and writes
 * one self-contained page when the output closes (end of a replay, or probe stop). A replay keeps every
 * call; a live run, which may go on for months, keeps the most recently active dialogs and streams (as
 * the live page does) and the page counts the others. A configuration reload that keeps the path carries
 * the recorder over, so the page written at stop covers the whole run; one that changes it writes the
 * page so far to the old path and starts another.
 */
import { closeSync, rmSync, writeFile as writeFileTo, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_CALL_REPORT_LIMITS, LIVE_CALL_REPORT_LIMITS, renderCallReportHtml, type CallReportLimits } from '../callreport/index.js';
import type { ProbeConfig } from '../ops/config.js';
import { FIFO_RETRY_MS, openFifoIfRead, outputFileProblem, renameOver, statOrUndefined, temporaryBeside } from '../ops/output-file.js';
import type { EventKind, OutboundEvent } from './events.js';
import type { DestinationStats, Output, OutputLog } from './output.js';
import type { OutputContext } from './registry.js';
import { CallReportFeed } from './call-report-feed.js';

export class HtmlReportOutput implements Output {
  readonly name = 'html';
  readonly scope = 'local' as const;
  private readonly feed: CallReportFeed;
  private readonly title: string;
  private failed = 0;
  private lastError: string | undefined;
  private discarded = false;
  /** A reload's instance for the same path took the recorder over: that one writes the page. */
  private handedOver = false;

  /**
   * `source`: what the run reads (capture files, interface), named in the page's title; `replaces`: the
   * instance a reload replaces; `limits`: what the report keeps (a replay: everything).
   */
  constructor(
    private readonly path: string,
    private readonly intervalS: number,
    private readonly log: OutputLog,
    source = '',
    replaces?: HtmlReportOutput,
    limits: CallReportLimits = DEFAULT_CALL_REPORT_LIMITS,
    private readonly sipNotUsed: () => Record<string, number> = () => ({}),
  ) {
    const same = replaces !== undefined && replaces.path === path;
    if (same) replaces.handedOver = true;
    this.feed = same ? replaces.feed : new CallReportFeed(limits);
    this.title = source ? `rtpprobe call report: ${source}` : 'rtpprobe call report';
  }

  wants(kind: EventKind): boolean {
    return kind === 'qos' || kind === 'alert' || kind === 'sip';
  }

  write(e: OutboundEvent): void {
    this.feed.write(e);
  }

  stats(): DestinationStats[] {
    // Handed over: the recorder's events are the next instance's to count.
    return [{ name: this.path, sent: this.failed || this.handedOver ? 0 : this.feed.events, failed: this.failed, errors: this.failed, dropped: 0, queued: 0, up: this.failed === 0, lastError: this.lastError }];
  }

  /** Writes no page at close (the run analysed nothing): a file already at the path stays as it is. */
  discard(): void {
    this.discarded = true;
  }

  /**
   * Writes the page: a file to a temporary name, then renamed, so a reader never sees half of it. A
   * FIFO or device (/dev/stdout) is written in place, as a rename would replace it with a regular file;
   * a FIFO once a program reads it, within `deadlineMs`.
   */
  async close(deadlineMs = 0): Promise<void> {
    if (this.handedOver) return;
    if (this.discarded) {
      this.log.info({ path: this.path }, 'HTML call report not written: no input was analysed');
      return;
    }
    const data = this.feed.recorder.build(this.title, this.intervalS, Date.now(), this.sipNotUsed());
    let tmp: string | undefined;
    try {
      const html = renderCallReportHtml(data);
      const existing = statOrUndefined(this.path);
      if (existing?.isFIFO()) await writeFifo(this.path, html, deadlineMs);
      else if (existing && !existing.isFile()) await writeFile(this.path, html);
      else {
        const beside = temporaryBeside(this.path);
        tmp = beside.tmp;
        writeFileSync(tmp, html);
        renameOver(beside);
      }
      this.log.info({ path: this.path, calls: data.calls.length, streams: data.streams.length, forgottenDialogs: data.forgotten.dialogs, forgottenStreams: data.forgotten.streams }, 'HTML call report written');
    } catch (err) {
      if (tmp) rmSync(tmp, { force: true });
      this.failed++;
      this.lastError = (err as Error).message;
      this.log.error({ path: this.path, err: this.lastError }, 'HTML call report not written');
    }
  }
}

/** Writes `text` to the FIFO `path` once a program reads it; throws when none does within `deadlineMs`. */
async function writeFifo(path: string, text: string, deadlineMs: number): Promise<void> {
  let fd = openFifoIfRead(path);
  for (const end = Date.now() + deadlineMs; fd === null && Date.now() < end; fd = openFifoIfRead(path)) await sleep(FIFO_RETRY_MS);
  if (fd === null) throw new Error(`no program read the FIFO within ${deadlineMs} ms (process.shutdown_deadline_ms): start its reader first`);
  try {
    await new Promise<void>((resolve, reject) => writeFileTo(fd, text, (err) => (err ? reject(err) : resolve())));
  } finally {
    closeSync(fd);
  }
}

/** The HTML report output of a configuration, or null when reports.html.path is empty. */
export function openHtmlOutput(config: ProbeConfig, log: OutputLog, running?: Output, context: OutputContext = {}): HtmlReportOutput | null {
  const path = config.reports.html.path;
  if (!path) return null;
  // The page is written at the end of the run: say now, not after the analysis, that it cannot be.
  const problem = outputFileProblem(path, true);
  if (problem) throw Object.assign(new Error(`cannot write the HTML report ${path}: ${problem}`), { exitCode: 2 });
  const limits = context.live ? LIVE_CALL_REPORT_LIMITS : DEFAULT_CALL_REPORT_LIMITS;
  return new HtmlReportOutput(path, config.reports.intervalS, log, context.source, running instanceof HtmlReportOutput ? running : undefined, limits, context.sipNotUsed);
}
