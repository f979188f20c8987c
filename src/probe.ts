/**
 * The probe's run modes: replay of capture files and live capture. Each wires a packet source into the
 * pipeline (src/pipeline), the pipeline into the outputs, and the ops runtime (metrics, signals) around
 * them. The CLI (src/cli.ts) calls these; tests and embedders may too (then without the ops runtime).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { CaptureFileError, PacketFilter, openCaptureFile, regularFileSize } from './capture/index.js';
import type { PacketBatch, PacketSource } from './capture/index.js';
import { listInterfaces as listCaptureInterfaces, openLiveCapture } from './capture/live/index.js';
import type { LivePacketSource } from './capture/live/index.js';
import { malformedReasonNames } from './decode/index.js';
import type { ProbeConfig } from './ops/config.js';
import { ExitCode } from './ops/exit-codes.js';
import type { ProbeMetrics } from './ops/metrics.js';
import { dropPrivileges } from './ops/privileges.js';
import { opsRuntime } from './ops/runtime.js';
import { CaptureLoop, liveCaptureOptions } from './pipeline/capture-loop.js';
import { Pipeline, StreamTable, openOutputs, type StreamSelection, type TableFormat } from './pipeline/index.js';
import type { WorkerStats } from './pipeline/workers/messages.js';
import { explainFanoutError, fanoutGroupInUse, pickAutoFanoutGroup } from './pipeline/workers/fanout-group.js';
import { MediaWorkerPool, RELOAD_ACK_MS } from './pipeline/workers/pool.js';
import type { Outputs } from './pipeline/index.js';
import { RuleError, compileRule } from './report/index.js';
import { EndReason, endReasonName } from './rtp/index.js';
import { restoreDefaultInlining } from './rtp/hot-path-inlining.js';

export interface InterfaceInfo {
  name: string;
  description?: string;
  addresses: string[];
  loopback: boolean;
  up: boolean;
}

export interface ReplayOptions {
  realtime: boolean;
  progress?: (done: number, total: number) => void;
  /** Called once reading ends, before anything else is logged or printed (the progress bar ends its line). */
  progressEnd?: () => void;
  /** Receives the closing per-stream table in pieces (default: standard output). */
  print?: (text: string) => void | Promise<void>;
  /** The table's format (default text) and which streams get a row (default all). */
  tableFormat?: TableFormat;
  select?: StreamSelection;
}

/**
 * Replays capture files ('-' = standard input; gzip/zstd read transparently) through the pipeline, then
 * prints the stream table. capture.filter, when set, is applied to every record (BPF, as tcpdump -r).
 * A capture cut short or damaged part-way is reported in one line; the packets before the damage are
 * analysed and the run ends with INPUT_CUT_SHORT. A file that is no capture at all ends with INPUT_FILE.
 */
export async function runReplay(files: string[], config: ProbeConfig, opts: ReplayOptions, log: Logger): Promise<number> {
  // A replay is short: V8's own inlining limits cost less compiler time than the raised ones save (the
  // measurement is in src/rtp/hot-path-inlining.ts).
  restoreDefaultInlining();
  const filter = config.capture.filter ? new PacketFilter(config.capture.filter) : undefined;
  const table = new StreamTable(opts.select);
  const outputs = openOutputs(config, (r) => table.add(r));
  const rt = opsRuntime();
  const pipeline = new Pipeline(config, outputs.sink, metricsEvents(rt?.metrics));
  wireMetrics(rt?.metrics, pipelineView(pipeline), outputs);
  let stopping = false;
  let source: PacketSource | null = null;
  const stopped = new AbortController();
  rt?.lifecycle.onStop('replay input', async () => {
    stopping = true;
    stopped.abort();
    await source?.close();
  });
  rt?.metrics?.setCaptureState('running');

  // Progress only when every input has a size (regular files; not standard input or a pipe).
  const sizes = files.map(regularFileSize);
  const total = sizes.every((n) => n !== undefined) ? sizes.reduce((n: number, s) => n + s!, 0) : 0;
  const progress = total > 0 ? opts.progress : undefined;
  let before = 0; // bytes of the files already replayed
  let code: number = ExitCode.OK;
  let analysed = 0; // files whose packets (all or up to damage) went through the pipeline
  const started = Date.now();
  try {
    for (const file of files) {
      if (stopping) break;
      const reader = openCaptureFile(file, { filter });
      source = reader;
      log.info({ file, filter: filter?.expression }, 'replaying');
      try {
        if (opts.realtime) {
          const pacer = new RealtimePacer(stopped.signal);
          for await (const batch of reader.batches()) {
            if (!(await pacer.feed(batch, pipeline))) break;
            progress?.(before + reader.bytesRead, total);
            if (stopping) break;
          }
        } else {
          // As fast as possible: one pass over each window of the file, every record decoded as it is read.
          for await (const cur of reader.records()) {
            pipeline.processRecords(cur);
            progress?.(before + reader.bytesRead, total);
            if (stopping) break;
          }
        }
        analysed++;
      } catch (err) {
        if (!(err instanceof CaptureFileError)) throw err;
        code = Math.max(code, inputExitCode(err));
        if (err.partial) {
          analysed++;
          log.warn(`${err.message}: the capture was cut short or is damaged here; results cover the ${reader.stats().received} packets before it`);
        } else log.error(/not a pcap/.test(err.problem) ? `${err.message}: give a pcap or pcapng capture (as tcpdump -w or dumpcap write it)` : err.message);
      } finally {
        before += reader.bytesRead;
        await reader.close();
      }
    }
  } finally {
    opts.progressEnd?.();
    pipeline.finish();
    await outputs.close(config.process.shutdownDeadlineMs);
    rt?.metrics?.setCaptureState('stopped');
  }
  logRunSummary(log.child(filter ? { filteredOut: filter.rejected } : {}), pipelineView(pipeline), outputs, Date.now() - started);
  if (analysed > 0) await table.write(opts.tableFormat ?? 'text', opts.print ?? writeOut);
  return code;
}

/** A damaged input's exit code: no capture at all is INPUT_FILE; cut short or damaged part-way INPUT_CUT_SHORT. */
function inputExitCode(err: CaptureFileError): number {
  return err.partial ? ExitCode.INPUT_CUT_SHORT : ExitCode.INPUT_FILE;
}

export async function runLive(config: ProbeConfig, log: Logger): Promise<number> {
  const c = config.capture;
  if (!c.interface) throw Object.assign(new Error('capture.interface is empty: name the interface to capture on (-i IFACE)'), { exitCode: ExitCode.USAGE });
  if (c.workers > 1) return runLiveWorkers(config, log);
  const rt = opsRuntime();
  if (c.fanoutGroup) checkExplicitFanoutGroup(log, c.interface, c.fanoutGroup);
  const open = () =>
    openLiveCapture(liveCaptureOptions(c, { backend: c.backend, fanoutGroup: c.fanoutGroup || undefined, onWarning: (m) => log.warn(m) })).catch((err: Error & { code?: string }) => {
      throw Object.assign(explainFanoutError(err, c.fanoutGroup, false), { name: 'CaptureOpenError' });
    });
  const source: LivePacketSource = await open();
  log.info({ interface: c.interface, backend: source.backend, linkType: source.linkType, hostTimestamps: source.hostTimestamps }, 'capture open');
  if (source.hostTimestamps) log.warn('timestamps come from the host clock (cap backend): jitter includes event-loop delay; reports carry HOST_TIMESTAMPS=1');
  if (config.process.user) dropPrivileges(config.process.user, log);

  const outputs = openOutputs(config);
  const pipeline = new Pipeline(config, outputs.sink, metricsEvents(rt?.metrics));
  pipeline.setHostTimestamps(source.hostTimestamps);
  wireMetrics(rt?.metrics, pipelineView(pipeline), outputs);
  const loop = new CaptureLoop(source, {
    interface: c.interface,
    open,
    onBatch: (batch) => pipeline.processBatch(batch),
    onState: (state) => rt?.metrics?.setCaptureState(state),
    log,
  });
  rt?.metrics?.addCaptureSource(c.interface, () => loop.totals());
  rt?.metrics?.setCaptureState('running');

  // Wall-clock tick: reports and timeouts keep flowing when traffic stops; drops are folded into reports.
  const drops = dropWatch(log, () => loop.totals());
  const timer = setInterval(() => {
    pipeline.captureDrops = drops();
    pipeline.tick(Date.now());
  }, 1000);
  timer.unref();

  rt?.lifecycle.onStop('capture', () => loop.stop(), 0);
  rt?.lifecycle.onStop('final reports', async () => {
    pipeline.finish();
    await outputs.close(config.process.shutdownDeadlineMs);
  }, 10);
  onReload(log, outputs, (next) => pipeline.reporter.scheduler.reconfigure({ baseIntervalS: next.reports.intervalS, rules: next.reports.rules }));
  await captureUntilStopped(loop.run(), timer);
  logRunSummary(log, pipelineView(pipeline), outputs, 0);
  return ExitCode.OK;
}


/**
 * Live capture on `capture.workers` media workers sharing the interface through PACKET_FANOUT (hash: a
 * 5-tuple stays on one worker). This thread owns SIP state, the outputs (one HEP sender) and metrics.
 */
async function runLiveWorkers(config: ProbeConfig, log: Logger): Promise<number> {
  const c = config.capture;
  const rt = opsRuntime();
  const outputs = openOutputs(config);
  const events = metricsEvents(rt?.metrics);
  const fanoutGroup = workersFanoutGroup(log, c.interface, c.fanoutGroup);
  const pool = new MediaWorkerPool(config, fanoutGroup, {
    sink: outputs.sink,
    log,
    streamsStarted: (n) => rt?.metrics?.streamStarted(n),
    streamEnded: events.streamEnded,
    captureState: (state) => rt?.metrics?.setCaptureState(state),
  });
  let opened: Awaited<ReturnType<MediaWorkerPool['start']>>;
  try {
    opened = await pool.start();
  } catch (err) {
    await outputs.close(0);
    throw Object.assign(explainFanoutError(err as Error, fanoutGroup, !c.fanoutGroup), { name: 'CaptureOpenError' });
  }
  for (const w of opened.warnings) log.warn(w);
  log.info({ interface: c.interface, backend: opened.backend, linkType: opened.linkType, workers: c.workers, fanoutGroup: pool.fanoutGroup }, 'capture open');
  if (config.process.user) dropPrivileges(config.process.user, log);

  const view = poolView(pool);
  wireMetrics(rt?.metrics, view, outputs);
  rt?.metrics?.setWorkers(() =>
    pool.workerHealth().map((w) => ({
      worker: w.index,
      up: w.up,
      received: w.stats?.capture.received ?? 0,
      droppedKernel: w.stats?.capture.droppedKernel ?? 0,
      droppedInterface: w.stats?.capture.droppedInterface ?? 0,
      activeStreams: w.stats?.activeStreams ?? 0,
    })),
  );
  rt?.metrics?.addCaptureSource(c.interface, () => pool.captureTotals());
  rt?.metrics?.setCaptureState('running');
  const drops = dropWatch(log, () => pool.captureTotals());
  const timer = setInterval(() => {
    drops(); // each worker folds its own drops into its reports
    pool.signalling.expire(Date.now());
  }, 1000);
  timer.unref();

  rt?.lifecycle.onStop('capture and final reports (workers)', () => pool.stop(), 0);
  rt?.lifecycle.onStop('final reports', () => outputs.close(config.process.shutdownDeadlineMs), 10);
  onReload(log, outputs, async (next) => {
    const r = await pool.reload(next);
    for (const f of r.failed) {
      // A worker that is late still applies the rules when it reads the message; only an error keeps the old ones.
      if (f.timedOut) log.warn({ worker: f.worker }, `media worker did not confirm the reloaded report rules within ${RELOAD_ACK_MS / 1000} s`);
      else log.error({ worker: f.worker, reason: f.reason }, 'media worker refused the reloaded report rules: it keeps its previous ones');
    }
    return { workers: r.applied };
  });
  // Ends when every worker has flushed and exited after a stop; a worker dying on its own rejects it.
  await captureUntilStopped(pool.finished, timer);
  // How the flow hash spread the load: packets and streams per worker.
  const perWorker = pool.workerStats().map((s) => ({ packets: s.packets, streams: s.streamsStarted, droppedKernel: s.capture.droppedKernel }));
  logRunSummary(log.child({ workers: perWorker }), view, outputs, 0);
  return ExitCode.OK;
}

/** Logs when the capture's drop counters grow; returns the current kernel + interface drops. */
function dropWatch(log: Logger, totals: () => { droppedKernel: number; droppedInterface: number }): () => number {
  let last = 0;
  return () => {
    const s = totals();
    const drops = s.droppedKernel + s.droppedInterface;
    if (drops > last) log.warn({ droppedKernel: s.droppedKernel, droppedInterface: s.droppedInterface }, 'capture drops: the probe missed packets (not network loss)');
    last = drops;
    return drops;
  };
}

/**
 * SIGHUP: thresholds and collectors change in place; streams, calls and capture settings stay as started.
 * `applyRules` returns what to add to the log line (worker mode: the workers that applied the rules).
 */
function onReload(log: Logger, outputs: Outputs, applyRules: (next: ProbeConfig) => void | Promise<object>): void {
  opsRuntime()?.lifecycle.onReload(async (next) => {
    const applied = await applyRules(next);
    await outputs.replaceCollectors(next, next.process.shutdownDeadlineMs);
    log.info(
      { intervalS: next.reports.intervalS, rules: next.reports.rules.length, collectors: next.hep.enabled ? next.hep.collectors.length : 0, ...applied },
      'report rules and collectors reloaded; capture and table sizes need a restart',
    );
  });
}

/** Worker mode's fanout group: the configured one, or an automatic id not in use on this host. */
function workersFanoutGroup(log: Logger, iface: string, configured: number): number {
  if (configured) {
    checkExplicitFanoutGroup(log, iface, configured);
    return configured;
  }
  const { group, skipped } = pickAutoFanoutGroup(iface);
  if (skipped.length) log.warn({ fanoutGroup: group, inUse: skipped }, 'automatic fanout group ids already in use on this host were skipped');
  return group;
}

/** An explicit group that already has sockets shares the traffic with them (or refuses to join): say so. */
function checkExplicitFanoutGroup(log: Logger, iface: string, group: number): void {
  if (fanoutGroupInUse(iface, group) === true) {
    log.warn({ fanoutGroup: group }, 'capture.fanout_group is already in use on this host: this probe shares the packets with the sockets already in it (another probe on the same group), or the join fails if their settings differ');
  }
}

/** Waits for the capture to end (after a stop, or failing); /healthz follows. */
async function captureUntilStopped(capture: Promise<void>, timer: NodeJS.Timeout): Promise<void> {
  const m = opsRuntime()?.metrics;
  try {
    await capture;
  } catch (err) {
    m?.setCaptureState('failed');
    throw err;
  } finally {
    clearInterval(timer);
  }
  m?.setCaptureState('stopped');
}

export async function listInterfaces(): Promise<InterfaceInfo[]> {
  return listCaptureInterfaces().map((i) => ({
    name: i.name,
    description: i.description || undefined,
    addresses: i.addresses.map((a) => a.address),
    loopback: i.loopback,
    up: i.up,
  }));
}

/** Checks that need other modules: each threshold rule must compile (mathjs) against the report metrics. */
export function checkConfig(config: ProbeConfig): string[] {
  const problems: string[] = [];
  config.reports.rules.forEach((rule, i) => {
    try {
      compileRule(rule);
    } catch (err) {
      const msg = err instanceof RuleError ? err.message : String(err);
      problems.push(`reports.rules[${i}].when: ${JSON.stringify(rule.when)} is not allowed: ${msg}`);
    }
  });
  return problems;
}

/**
 * Plays a file back at its recorded pace: each packet is processed when its capture time comes. A stop
 * (signal) aborts the wait at once, however long the gap in the capture.
 */
class RealtimePacer {
  private firstCaptureMs = -1;
  private startWallMs = 0;

  constructor(private readonly stopped: AbortSignal) {}

  /** False when a stop interrupted the batch (packets after the stop are not processed). */
  async feed(batch: PacketBatch, pipeline: Pipeline): Promise<boolean> {
    for (let i = 0; i < batch.count; i++) {
      const t = batch.tsSec[i] * 1000 + batch.tsNsec[i] / 1e6;
      if (this.firstCaptureMs < 0) {
        this.firstCaptureMs = t;
        this.startWallMs = Date.now();
      }
      const wait = t - this.firstCaptureMs - (Date.now() - this.startWallMs);
      if (wait > 1) await sleep(wait, undefined, { signal: this.stopped }).catch(() => undefined);
      if (this.stopped.aborted) return false;
      pipeline.processPacket(batch, i);
    }
    pipeline.tick(pipeline.nowMs);
    return true;
  }
}

/**
 * Standard output, waiting until the text is handed to the OS: the process exits right after a replay, and
 * a pipe takes only 64 KiB at once (the rest of a larger stream table would be queued, then lost at exit).
 */
function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => {
    const out = process.stdout;
    // A reader that went away (EPIPE, e.g. `| head`) ends the output, not the run: as before, nothing is
    // reported. The failed write's 'error' event follows its callback, so the listener stays for it.
    const gone = (): void => resolve();
    out.once('error', gone);
    out.write(text, (err) => {
      if (!err) out.off('error', gone);
      resolve();
    });
  });
}

function metricsEvents(m: ProbeMetrics | undefined) {
  if (!m) return {};
  return {
    streamStarted: () => m.streamStarted(),
    streamEnded: (reason: number, mos: number) => {
      m.streamEnded(endReasonName(reason));
      if (reason === EndReason.evicted) m.streamEvicted();
      if (mos >= 1) m.observeMos(mos);
    },
  };
}

/** The cumulative counters metrics and the run summary read: one pipeline's, or the media workers' summed. */
interface CounterView {
  counts(): { packets: number; sip: number; rtcp: number; otherUdp: number };
  malformed(): ArrayLike<number>;
  activeStreams(): number;
  activeCalls(): number;
  streamsStarted(): number;
  evicted(): number;
}

function pipelineView(p: Pipeline): CounterView {
  return {
    counts: () => p.counts,
    malformed: () => p.decoder.malformed,
    activeStreams: () => p.engine.activeStreams,
    activeCalls: () => p.calls.activeCalls,
    streamsStarted: () => p.engine.counters.streamsStarted,
    evicted: () => p.engine.counters.evicted,
  };
}

function poolView(pool: MediaWorkerPool): CounterView {
  const sum = (f: (s: WorkerStats) => number) => pool.workerStats().reduce((n, s) => n + f(s), 0);
  return {
    counts: () => ({ packets: sum((s) => s.packets), sip: sum((s) => s.sip), rtcp: sum((s) => s.rtcp), otherUdp: sum((s) => s.otherUdp) }),
    malformed: () => {
      const out: number[] = [];
      for (const s of pool.workerStats()) s.malformed.forEach((n, i) => (out[i] = (out[i] ?? 0) + n));
      return out;
    },
    activeStreams: () => sum((s) => s.activeStreams),
    activeCalls: () => pool.signalling.calls.activeCalls,
    streamsStarted: () => sum((s) => s.streamsStarted),
    evicted: () => sum((s) => s.evicted),
  };
}

/** Gauges read at scrape time, and counters fed from the cumulative counters as deltas. */
function wireMetrics(m: ProbeMetrics | undefined, v: CounterView, outputs: Outputs): void {
  if (!m) return;
  m.setActiveStreams(() => v.activeStreams());
  m.setActiveCalls(() => v.activeCalls());
  const prevMalformed: number[] = [];
  const prevCollector = new Map<string, { sent: number; failed: number; dropped: number }>();
  // Per collector, including those a reload adds (outputs.hep changes then).
  const depthKnown = new Set<string>();
  const watchQueues = () => {
    for (const c of outputs.hep?.stats().collectors ?? []) {
      if (depthKnown.has(c.name)) continue;
      depthKnown.add(c.name);
      m.setQueueDepth(c.name, () => outputs.hep?.stats().collectors.find((x) => x.name === c.name)?.queued ?? 0);
    }
  };
  watchQueues();
  const prevPackets = { sip: 0, rtcp: 0, otherUdp: 0, packets: 0 };
  const timer = setInterval(() => {
    watchQueues();
    const counts = v.counts();
    for (const k of ['packets', 'sip', 'rtcp', 'otherUdp'] as const) {
      const d = counts[k] - prevPackets[k];
      if (d > 0) m.addPackets(k === 'packets' ? 'all' : k === 'otherUdp' ? 'other_udp' : k, d);
      prevPackets[k] = counts[k];
    }
    const mal = v.malformed();
    for (let i = 0; i < mal.length; i++) {
      const prev = prevMalformed[i] ?? 0;
      if (mal[i] > prev) m.decodeError(malformedReasonNames[i] ?? String(i), mal[i] - prev);
      prevMalformed[i] = mal[i];
    }
    for (const c of outputs.hep?.stats().collectors ?? []) {
      const prev = prevCollector.get(c.name) ?? { sent: 0, failed: 0, dropped: 0 };
      if (c.sent > prev.sent) m.reportSent(c.name, c.sent - prev.sent);
      if (c.failed > prev.failed) m.reportFailed(c.name, c.failed - prev.failed);
      if (c.dropped > prev.dropped) m.reportDropped(c.name, c.dropped - prev.dropped);
      prevCollector.set(c.name, { sent: Math.max(c.sent, prev.sent), failed: c.failed, dropped: c.dropped });
    }
  }, 1000);
  timer.unref();
}

function logRunSummary(log: Logger, v: CounterView, outputs: Outputs, elapsedMs: number): void {
  const malformed: Record<string, number> = {};
  Array.from(v.malformed()).forEach((n, i) => {
    if (n > 0) malformed[malformedReasonNames[i] ?? String(i)] = n;
  });
  const counts = v.counts();
  log.info(
    {
      packets: counts.packets,
      sip: counts.sip,
      rtcp: counts.rtcp,
      streams: v.streamsStarted(),
      evicted: v.evicted(),
      reports: outputs.sink.counts,
      hep: outputs.hep?.stats().collectors.map((c) => ({ collector: c.name, sent: c.sent, failed: c.failed, dropped: c.dropped })),
      malformed,
      elapsedMs: elapsedMs || undefined,
    },
    'run summary',
  );
}
