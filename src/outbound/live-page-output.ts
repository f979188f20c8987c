/**
 * The live call page's data (metrics.live_page): the same recorder as the HTML report, bounded for a
 * probe that runs for months (the most recently active dialogs and streams), read by the metrics server.
 * A configuration reload carries the recorder over: the page goes on showing the calls it showed.
 */
import { LIVE_CALL_REPORT_LIMITS, LIVE_PAGE_REFRESH_MS, packCallReport, type PackedCallReport } from '../callreport/index.js';
import type { ProbeConfig } from '../ops/config.js';
import { CallReportFeed } from './call-report-feed.js';
import type { EventKind, OutboundEvent } from './events.js';
import type { DestinationStats, Output, OutputLog } from './output.js';
import type { OutputContext } from './registry.js';

export class LiveCallPageOutput implements Output {
  readonly name = 'live_page';
  readonly scope = 'local' as const;
  private readonly feed: CallReportFeed;
  private readonly title: string;
  /** The latest json() answer and when it was built (performance.now()). */
  private built: { atMs: number; text: string } | null = null;

  /** `source`: what the probe captures, named in the title; `replaces`: the instance a reload replaces. */
  constructor(
    private readonly intervalS: number,
    source: string,
    replaces?: LiveCallPageOutput,
    private readonly sipNotUsed: () => Record<string, number> = () => ({}),
  ) {
    this.feed = replaces?.feed ?? new CallReportFeed(LIVE_CALL_REPORT_LIMITS);
    this.title = source ? `rtpprobe live calls: ${source}` : 'rtpprobe live calls';
  }

  wants(kind: EventKind): boolean {
    return kind === 'qos' || kind === 'alert' || kind === 'sip';
  }

  write(e: OutboundEvent): void {
    this.feed.write(e);
  }

  /** The page's data now (packed, as the HTML report embeds it). */
  snapshot(): PackedCallReport {
    return packCallReport(this.feed.recorder.build(this.title, this.intervalS, Date.now(), this.sipNotUsed()));
  }

  /**
   * The page's data as JSON text, built at most once per refresh interval of the page. At the live limits
   * a build is about 15 MiB and most of a second of the main thread (capture's, in one thread): every
   * open page and every client of /api/callreport asking in a loop share it, instead of each costing one.
   */
  json(now = performance.now()): string {
    if (this.built && now - this.built.atMs < LIVE_PAGE_REFRESH_MS) return this.built.text;
    this.built = { atMs: now, text: JSON.stringify(this.snapshot()) };
    return this.built.text;
  }

  /** Not a destination: nothing to deliver, nothing to report in /healthz. */
  stats(): DestinationStats[] {
    return [];
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The live page's recorder when metrics.live_page is on (and metrics serve it), else null; a reload's carries the running one's over. */
export function openLivePageOutput(config: ProbeConfig, _log: OutputLog, running?: Output, context: OutputContext = {}): LiveCallPageOutput | null {
  if (!config.metrics.enabled || !config.metrics.livePage) return null;
  return new LiveCallPageOutput(config.reports.intervalS, context.source ?? '', running instanceof LiveCallPageOutput ? running : undefined, context.sipNotUsed);
}
