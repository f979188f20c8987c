/**
 * Prometheus metrics of the probe, in a registry of its own (not prom-client's global one, so tests and
 * several probes in one process do not collide). The pipeline calls the incrementers once per batch or per
 * event, never per packet; gauges and the capture counters are pulled at scrape time from providers the
 * pipeline registers.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CaptureStats } from '../capture/batch.js';
import type { LinkView } from './link-watch.js';
import type { LiveState } from './live-state.js';

/** A capture source's counters: a live capture's also count the frames merged before capture. */
type CaptureCounters = CaptureStats & { mergedFrames?: number };

/** MOS buckets 1..4.5, finer at the top where calls usually are. */
export const MOS_BUCKETS = [1, 1.5, 2, 2.5, 3, 3.5, 3.8, 4, 4.1, 4.2, 4.3, 4.4, 4.5];

export type CaptureState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** One media worker's state (worker mode), pulled at scrape time. Counters are cumulative. */
export interface WorkerSample {
  worker: number;
  /** Thread running, capture open, counters fresh. */
  up: boolean;
  received: number;
  droppedKernel: number;
  droppedInterface: number;
  activeStreams: number;
}

export interface ProbeMetricsOptions {
  /** Add Node's process metrics (CPU, memory, event-loop lag). Default true. */
  processMetrics?: boolean;
  prefix?: string;
}

export class ProbeMetrics {
  readonly registry = new Registry();
  private readonly captureSources = new Map<string, () => CaptureCounters>();
  /** Last value seen of each cumulative source (capture counters, per-worker counters), by series. */
  private readonly lastCumulative = new Map<string, number>();
  private workersFn: () => WorkerSample[] = () => [];
  private notUsedFn: () => Array<[string, number]> = () => [];
  private ruleErrorsFn: () => Array<[string, number]> = () => [];
  private activeStreamsFn: () => number = () => 0;
  private activeCallsFn: () => number = () => 0;
  private sipBacklogFn: () => number = () => 0;
  private sipSnapCutFn: () => number = () => 0;
  private rtpSnapCutFn: () => number = () => 0;
  private sipReleasedEarlyFn: () => number = () => 0;
  private sipMalformedFn: () => Array<[string, number]> = () => [];
  private streamTableFn: () => StreamTableCounts = () => ({ evictedUnconfirmed: 0, heldBack: 0 });
  private queueDepthFns = new Map<string, () => number>();
  private captureState: CaptureState = 'starting';
  private liveState: LiveState | null = null;
  private callPageData: (() => string | null) | null = null;
  private ruleNames: () => readonly string[] = () => [];
  private readonly startedAt = Date.now();
  private deliveryView: (() => { degraded: Array<{ destination: string; reason: string }> }) | undefined;
  private linkView: (() => LinkView) | undefined;

  private readonly captureReceived: Counter<'interface'>;
  private readonly captureDroppedKernel: Counter<'interface'>;
  private readonly captureDroppedInterface: Counter<'interface'>;
  private readonly decodeErrors: Counter<'reason'>;
  private readonly packets: Counter<'protocol'>;
  private readonly streamsStarted: Counter;
  private readonly streamsEnded: Counter<'reason'>;
  private readonly streamsEvicted: Counter;
  private readonly callsEvicted: Counter<'kind'>;
  private readonly sipDroppedC: Counter;
  private readonly reportsSentC: Counter<'collector'>;
  private readonly reportsFailedC: Counter<'collector'>;
  private readonly reportsDroppedC: Counter<'collector'>;
  private readonly outputErrorsC: Counter<'collector'>;
  private readonly mos: Histogram;

  constructor(opts: ProbeMetricsOptions = {}) {
    const p = opts.prefix ?? 'rtpprobe_';
    const registers = [this.registry];
    // Capture counters are cumulative in the source; at scrape time the difference since the last scrape
    // is added, so they stay real counters (a restarted source, whose numbers went down, adds its new total).
    const self = this;
    /** A counter fed at scrape time from cumulative sources: `pull` gives [label value, cumulative count]. */
    const cumulativeCounter = <L extends string>(name: string, help: string, label: L, pull: () => Array<[string, number]>) =>
      new Counter<L>({
        name: `${p}${name}`,
        help,
        labelNames: [label],
        registers,
        collect() {
          for (const [value, n] of pull()) self.addCumulative(this as Counter<L>, `${name}:${value}`, { [label]: value } as Partial<Record<L, string>>, n);
        },
      });
    const captureCounter = (name: string, help: string, field: keyof CaptureCounters) =>
      cumulativeCounter(name, help, 'interface', () => [...self.captureSources].map(([iface, stats]) => [iface, stats()[field] ?? 0]));
    this.captureReceived = captureCounter('capture_packets_received_total', 'Packets delivered by the capture source.', 'received');
    this.captureDroppedKernel = captureCounter('capture_packets_dropped_kernel_total', 'Packets dropped by the kernel because the probe was too slow (ring full).', 'droppedKernel');
    this.captureDroppedInterface = captureCounter('capture_packets_dropped_interface_total', 'Packets dropped by the interface or driver.', 'droppedInterface');
    captureCounter('capture_frames_merged_total', 'Frames longer than the interface receives from the wire: packets the kernel merged before capture (GRO, LRO, a local sender\'s segmentation offload), each measured as one.', 'mergedFrames');
    this.decodeErrors = new Counter({ name: `${p}decode_errors_total`, help: 'Malformed or undecodable packets, by reason.', labelNames: ['reason'] as const, registers });
    this.packets = new Counter({ name: `${p}packets_total`, help: 'Packets by class: sip, rtp (counted in a stream), rtcp, other (everything else: other UDP, RTP not yet accepted, non-IP, malformed); the classes sum to every packet captured.', labelNames: ['protocol'] as const, registers });
    new Gauge({
      name: `${p}streams_active`,
      help: 'RTP streams currently tracked.',
      registers,
      collect() {
        this.set(self.activeStreamsFn());
      },
    });
    new Gauge({
      name: `${p}calls_active`,
      help: 'SIP calls currently tracked.',
      registers,
      collect() {
        this.set(self.activeCallsFn());
      },
    });
    this.streamsStarted = new Counter({ name: `${p}streams_started_total`, help: 'RTP streams started.', registers });
    this.streamsEnded = new Counter({ name: `${p}streams_ended_total`, help: 'RTP streams ended, by reason (bye, timeout, eviction, shutdown).', labelNames: ['reason'] as const, registers });
    this.streamsEvicted = new Counter({ name: `${p}streams_evicted_total`, help: 'Streams ended early because the stream table was full.', registers });
    const streamTableCounter = (name: string, help: string, field: keyof StreamTableCounts) =>
      new Counter({
        name: `${p}${name}`,
        help,
        registers,
        collect() {
          self.addCumulative(this as Counter<string>, name, {}, self.streamTableFn()[field]);
        },
      });
    streamTableCounter(
      'streams_evicted_unconfirmed_total',
      'Of streams_evicted_total, the streams still on their first packet when the full table gave up their slot (a flood of one-packet SSRCs goes first).',
      'evictedUnconfirmed',
    );
    streamTableCounter(
      'rtp_packets_held_back_total',
      'Packets of new one-packet streams kept out of the full stream table (held until a second packet confirms the stream), so that confirmed streams keep their slots.',
      'heldBack',
    );
    this.callsEvicted = new Counter({
      name: `${p}sip_calls_evicted_total`,
      help: 'SIP calls dropped because the call table was full, by what they were (ended, unanswered, answered, media); refused: new dialogs not tracked because every tracked call had recent media.',
      labelNames: ['kind'] as const,
      registers,
    });
    new Counter({
      name: `${p}sip_snap_cut_total`,
      help: "SIP packets the capture's snap length cut short: what they carried past the cut (their SDP) was not read.",
      registers,
      collect() {
        self.addCumulative(this as Counter<string>, 'sip_snap_cut_total', {}, self.sipSnapCutFn());
      },
    });
    new Counter({
      name: `${p}rtp_snap_cut_total`,
      help: "RTP packets the capture's snap length cut inside their RTP header: not measured.",
      registers,
      collect() {
        self.addCumulative(this as Counter<string>, 'rtp_snap_cut_total', {}, self.rtpSnapCutFn());
      },
    });
    this.sipDroppedC = new Counter({
      name: `${p}sip_messages_dropped_total`,
      help: 'SIP packets not handled because the SIP backlog was full (media workers: the SIP forwarded to the main thread and not yet handled there), or given up past their share to make room for the RTP waiting behind them (more SIP than the probe parses while keeping up with the media; live capture).',
      registers,
    });
    new Counter({
      name: `${p}sip_released_early_total`,
      help: 'Media workers: SIP handled before every worker had read past its capture time, because the SIP held for capture order reached its bound (a SIP flood).',
      registers,
      collect() {
        self.addCumulative(this as Counter<string>, 'sip_released_early_total', {}, self.sipReleasedEarlyFn());
      },
    });
    new Gauge({
      name: `${p}sip_backlog`,
      help: 'SIP packets waiting to be handled: behind the media (live capture, one thread), or forwarded by the media workers to the main thread.',
      registers,
      collect() {
        this.set(self.sipBacklogFn());
      },
    });
    this.reportsSentC = new Counter({ name: `${p}reports_sent_total`, help: 'Reports sent, per collector (HEP over TCP/TLS: acknowledged by the collector\'s TCP, read from the kernel about once a second).', labelNames: ['collector'] as const, registers });
    this.reportsFailedC = new Counter({ name: `${p}reports_failed_total`, help: 'Reports whose send failed, per collector.', labelNames: ['collector'] as const, registers });
    this.reportsDroppedC = new Counter({ name: `${p}reports_dropped_total`, help: 'Reports dropped because the collector queue was full, per collector.', labelNames: ['collector'] as const, registers });
    this.outputErrorsC = new Counter({ name: `${p}output_errors_total`, help: 'Delivery problems per destination: collector connect, name resolution and TLS failures, lost connections (a stalled one dropped to reconnect included); file write errors (retried).', labelNames: ['collector'] as const, registers });
    new Gauge({
      name: `${p}hep_queue_depth`,
      help: 'Messages waiting in each collector queue, or written and not yet acknowledged (HEP over TCP/TLS) or confirmed.',
      labelNames: ['collector'] as const,
      registers,
      collect() {
        for (const [collector, fn] of self.queueDepthFns) this.set({ collector }, fn());
      },
    });
    cumulativeCounter(
      'packets_not_used_total',
      'Packets counted but not measured, by reason: rtp_not_measured (RTP-looking packets held for a stream that never started: a stray SSRC, junk on a bound port), srtcp (RTCP to an address whose SDP names a secure profile), rtcp_malformed (RTCP that does not parse to its last byte, SRTCP elsewhere).',
      'reason',
      () => self.notUsedFn(),
    );
    this.mos = new Histogram({ name: `${p}stream_mos`, help: "MOS of each stream's interval, observed at each interval report (1..4.5).", buckets: MOS_BUCKETS, registers });
    // Alert rules: one series per configured rule (0 until it fires), fed from the live state.
    new Gauge({
      name: `${p}alerts_firing`,
      help: 'Streams for which each alert rule fires now.',
      labelNames: ['rule'] as const,
      registers,
      collect() {
        this.reset(); // a rule removed by a reload disappears
        const firing = self.liveState?.firing() ?? new Map<string, number>();
        for (const rule of self.ruleNames()) this.set({ rule }, firing.get(rule) ?? 0);
        for (const [rule, n] of firing) this.set({ rule }, n);
      },
    });
    cumulativeCounter('alerts_fired_total', 'Times each alert rule started firing for a stream.', 'rule', () => {
      const fired = self.liveState?.fired() ?? new Map<string, number>();
      const out: Array<[string, number]> = self.ruleNames().map((r) => [r, fired.get(r) ?? 0]);
      for (const [r, n] of fired) if (!self.ruleNames().includes(r)) out.push([r, n]);
      return out;
    });
    cumulativeCounter('sip_malformed_total', 'SIP messages not used, by reason (bad-start-line, missing-call-id, body-truncated, bad-sdp, value-too-long: a Call-ID, X-CID or tag past its bound, tcp-too-long: a message over TCP longer than 64 KiB, tcp-gap: bytes of a TCP stream not captured, tcp-desync, other-dialog: a BYE or CANCEL, or a message of an answered call, whose tags name neither side of its call\'s dialog, ...).', 'reason', () => self.sipMalformedFn());
    cumulativeCounter('rule_errors_total', 'Times each alert rule could not be evaluated for a stream (a compared value that is no finite number, e.g. 0 / 0): it does not fire then.', 'rule', () => {
      const errors = self.ruleErrorsFn();
      const out: Array<[string, number]> = self.ruleNames().map((r) => [r, errors.find(([e]) => e === r)?.[1] ?? 0]);
      for (const [r, n] of errors) if (!self.ruleNames().includes(r)) out.push([r, n]);
      return out;
    });
    new Gauge({
      name: `${p}capture_running`,
      help: '1 while the capture source is running.',
      registers,
      collect() {
        this.set(self.captureState === 'running' ? 1 : 0);
      },
    });
    new Gauge({
      name: `${p}capture_interface_up`,
      help: '1 while the capture interface is up with a link, 0 while it is down (administratively or no carrier); absent where its link cannot be read (no sysfs, the "any" pseudo-interface).',
      labelNames: ['interface'] as const,
      registers,
      collect() {
        this.reset();
        const l = self.linkView?.();
        // Absent from sysfs: a pseudo-interface, or one deleted (capture_running and /healthz say that).
        if (l && l.state !== 'unknown' && l.state !== 'absent') this.set({ interface: l.interface }, l.state === 'up' ? 1 : 0);
      },
    });
    // Worker mode: one series per media worker, so a stalled worker or one dropping packets stands out
    // (the totals above sum them).
    const perWorker = (name: string, help: string, field: 'received' | 'droppedKernel' | 'droppedInterface') =>
      cumulativeCounter(name, help, 'worker', () => self.workersFn().map((w) => [String(w.worker), w[field]]));
    perWorker('worker_capture_packets_received_total', 'Packets delivered to each media worker by its capture (worker mode).', 'received');
    perWorker('worker_capture_packets_dropped_kernel_total', "Packets the kernel dropped from each media worker's ring (worker mode).", 'droppedKernel');
    perWorker('worker_capture_packets_dropped_interface_total', "Interface/driver drops seen by each media worker's capture (worker mode).", 'droppedInterface');
    new Gauge({
      name: `${p}worker_up`,
      help: '1 while the media worker runs, its capture is open and its counters arrive (worker mode).',
      labelNames: ['worker'] as const,
      registers,
      collect() {
        for (const w of self.workersFn()) this.set({ worker: String(w.worker) }, w.up ? 1 : 0);
      },
    });
    new Gauge({
      name: `${p}worker_streams_active`,
      help: 'RTP streams tracked by each media worker (worker mode): how the flow hash spreads them.',
      labelNames: ['worker'] as const,
      registers,
      collect() {
        for (const w of self.workersFn()) this.set({ worker: String(w.worker) }, w.activeStreams);
      },
    });
    // Event loop delay sampled every 100 ms, not prom-client's 10: each sample wakes the loop, and at 10 ms
    // those wake-ups are a third of an idle probe's CPU (native-bench/README.md).
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: p, eventLoopMonitoringPrecision: 100 });
  }

  /** Adds what a cumulative source gained since the last scrape (a source that restarted adds its new total). */
  private addCumulative<L extends string>(counter: Counter<L>, key: string, labels: Partial<Record<L, string>>, now: number): void {
    const before = this.lastCumulative.get(key) ?? 0;
    counter.inc(labels, now >= before ? now - before : now); // inc by 0 still shows the series
    this.lastCumulative.set(key, now);
  }

  // --- providers (pulled at scrape time) ---------------------------------------------------------

  /** Register a capture source's cumulative counters under its interface (or file) name. */
  addCaptureSource(name: string, stats: () => CaptureCounters): void {
    this.captureSources.set(name, stats);
  }
  removeCaptureSource(name: string): void {
    this.captureSources.delete(name);
  }
  /** Worker mode: each media worker's state and counters. */
  setWorkers(fn: () => WorkerSample[]): void {
    this.workersFn = fn;
  }
  setActiveStreams(fn: () => number): void {
    this.activeStreamsFn = fn;
  }
  /** Cumulative counts of packets not used, by reason (see packets_not_used_total). */
  setNotUsed(fn: () => Array<[string, number]>): void {
    this.notUsedFn = fn;
  }
  setRuleErrors(fn: () => Array<[string, number]>): void {
    this.ruleErrorsFn = fn;
  }
  setActiveCalls(fn: () => number): void {
    this.activeCallsFn = fn;
  }
  /** SIP messages not used so far, by reason (cumulative; reasons never seen are left out). */
  setSipMalformed(fn: () => Array<[string, number]>): void {
    this.sipMalformedFn = fn;
  }
  /** SIP packets cut short by the snap length so far (cumulative). */
  setSipSnapCut(fn: () => number): void {
    this.sipSnapCutFn = fn;
  }
  /** RTP packets cut inside their RTP header by the snap length so far (cumulative). */
  setRtpSnapCut(fn: () => number): void {
    this.rtpSnapCutFn = fn;
  }
  /** SIP handled early for its bound (media workers; cumulative). */
  setSipReleasedEarly(fn: () => number): void {
    this.sipReleasedEarlyFn = fn;
  }
  setSipBacklog(fn: () => number): void {
    this.sipBacklogFn = fn;
  }
  /** The stream table's cumulative eviction and hold-back counts (one pipeline, or the media workers summed). */
  setStreamTable(fn: () => StreamTableCounts): void {
    this.streamTableFn = fn;
  }
  setQueueDepth(collector: string, fn: () => number): void {
    this.queueDepthFns.set(collector, fn);
  }
  /** The running probe's streams, calls and alerts (per-rule series, /api/*); `rules` names the configured rules. */
  setLive(state: LiveState, rules: () => readonly string[]): void {
    this.liveState = state;
    this.ruleNames = rules;
  }
  get live(): LiveState | null {
    return this.liveState;
  }
  /** The live call page's data as JSON text (metrics.live_page; null while starting or stopping); null while the page is off. */
  setCallPage(data: () => string | null): void {
    this.callPageData = data;
  }
  get callPage(): (() => string | null) | null {
    return this.callPageData;
  }

  // --- events ------------------------------------------------------------------------------------

  decodeError(reason: string, n = 1): void {
    this.decodeErrors.inc({ reason }, n);
  }
  /** Add a count of packets of one protocol ('sip', 'rtp', 'rtcp', 'other'). */
  addPackets(protocol: string, n: number): void {
    if (n > 0) this.packets.inc({ protocol }, n);
  }
  streamStarted(n = 1): void {
    this.streamsStarted.inc(n);
  }
  streamEnded(reason: string, n = 1): void {
    this.streamsEnded.inc({ reason }, n);
  }
  streamEvicted(n = 1): void {
    this.streamsEvicted.inc(n);
  }
  sipDropped(n = 1): void {
    this.sipDroppedC.inc(n);
  }
  callEvicted(kind: string): void {
    this.callsEvicted.inc({ kind });
  }
  reportSent(collector: string, n = 1): void {
    this.reportsSentC.inc({ collector }, n);
  }
  reportFailed(collector: string, n = 1): void {
    this.reportsFailedC.inc({ collector }, n);
  }
  reportDropped(collector: string, n = 1): void {
    this.reportsDroppedC.inc({ collector }, n);
  }
  outputError(collector: string, n = 1): void {
    this.outputErrorsC.inc({ collector }, n);
  }
  /** One interval's MOS of one stream. */
  observeMos(mos: number): void {
    if (mos >= 1 && mos <= 5) this.mos.observe(mos);
  }

  // --- health --------------------------------------------------------------------------------------

  setCaptureState(state: CaptureState): void {
    this.captureState = state;
  }
  /** The capture's state, as /healthz reports it. */
  get capture(): CaptureState {
    return this.captureState;
  }
  /** The capture interface's link: /healthz is 503 while it is down. */
  setLink(view: () => LinkView): void {
    this.linkView = view;
  }
  /** Outputs whose destinations are down or lost reports recently make /healthz say 'degraded' (still 200). */
  setDeliveryHealth(view: () => { degraded: Array<{ destination: string; reason: string }> }): void {
    this.deliveryView = view;
  }
  health(): { healthy: boolean; body: HealthBody } {
    const link = this.linkView?.();
    const linkDown = link?.down === true;
    const healthy = this.captureState !== 'failed' && !linkDown;
    const degraded = this.deliveryView?.().degraded ?? [];
    const body: HealthBody = {
      status: this.captureState === 'failed' ? 'capture stopped' : linkDown ? 'capture interface down' : degraded.length > 0 ? 'degraded' : 'ok',
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      capture: { state: this.captureState, running: this.captureState === 'running' },
    };
    if (link) body.capture.interface = { name: link.interface, link: link.state, down_s: link.downS };
    if (degraded.length > 0) body.delivery = { degraded };
    return { healthy, body };
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** Cumulative counts of the RTP engine's stream table (RtpCounters). */
export interface StreamTableCounts {
  evictedUnconfirmed: number;
  heldBack: number;
}

export interface HealthBody {
  /** degraded: capture runs but a report destination is down or lost reports in the last minute. */
  status: 'ok' | 'degraded' | 'capture interface down' | 'capture stopped';
  delivery?: { degraded: Array<{ destination: string; reason: string }> };
  uptime_s: number;
  /** `interface`: live capture's link (see LinkState), and how long it has been down, s. */
  capture: { state: CaptureState; running: boolean; interface?: { name: string; link: string; down_s: number } };
}
