/**
 * The probe's run modes: replay of capture files and live capture. Each wires a packet source into the
 * pipeline (src/pipeline), the pipeline into the outputs, and the ops runtime (metrics, signals) around
 * them. The CLI (src/cli.ts) calls these; tests and embedders may too (then without the ops runtime).
 */
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { CaptureFileError, InputTimeline, PacketFilter, STDIN, openCaptureFile, regularFileSize, undecodedLinkTypesText } from './capture/index.js';
import type { PacketBatch, PacketSource } from './capture/index.js';
import type { LivePacketSource } from './capture/live/index.js';
import { PacketDecoder, ProtocolCounter, malformedReasonNames } from './decode/index.js';
import type { ProbeConfig } from './ops/config.js';
import type { Problem } from './ops/schema.js';
import { ExitCode } from './ops/exit-codes.js';
import type { DeadlineLoss } from './ops/lifecycle.js';
import type { ProbeMetrics } from './ops/metrics.js';
import type { LiveRun } from './ops/live-run.js';
import { opsRuntime } from './ops/runtime.js';
import { writeFully } from './ops/write-fully.js';
import { callEvictionReporter, sipDropReporter, sipValueTooLongMessage, sipValueTooLongReporter } from './pipeline/call-evictions.js';
import { ruleErrorReporter, sumRuleErrors } from './pipeline/rule-errors.js';
import { rtcpMalformedReporter } from './pipeline/rtcp-malformed.js';
import { sipTcpLossWatch, warnSipTcpLosses } from './pipeline/sip-tcp-loss.js';
import { Pipeline, StreamTable, mediaFaultLimits, openOutputs, type StreamSelection, type TableFormat } from './pipeline/index.js';
import type { WorkerStats } from './pipeline/workers/messages.js';
import type { MediaWorkerPool } from './pipeline/workers/pool.js';
import type { Outputs } from './pipeline/index.js';
import { HtmlReportOutput, LiveCallPageOutput } from './outbound/index.js';
import { EMULATED_BUFFER_VARIABLES, RuleError, compileRule, type QosReport } from './report/index.js';
import { EndReason, endReasonName } from './rtp/index.js';

/**
 * The modules only live capture needs (the capture addon, the worker pool, privileges, the live run),
 * loaded when it starts: a replay's start-up is mostly module loading and does without them.
 */
async function liveModules() {
  const [capture, loop, fanout, pool, privileges, inlining, liveRun, link] = await Promise.all([
    import('./capture/live/index.js'),
    import('./pipeline/capture-loop.js'),
    import('./pipeline/workers/fanout-group.js'),
    import('./pipeline/workers/pool.js'),
    import('./ops/privileges.js'),
    import('./rtp/hot-path-inlining.js'),
    liveRunModules(),
    import('./ops/link-watch.js'),
  ]);
  return { ...capture, ...loop, ...fanout, ...pool, ...privileges, ...inlining, ...liveRun, ...link };
}
type LiveModules = Awaited<ReturnType<typeof liveModules>>;

/** The live run (status, call log, the live API): live capture, and a replay with --metrics. */
async function liveRunModules() {
  const [run, state] = await Promise.all([import('./ops/live-run.js'), import('./ops/live-state.js')]);
  return { LiveRun: run.LiveRun, trackerCalls: state.trackerCalls };
}

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
  /** Receives the closing per-stream table in pieces (default: standard output); a rejection is a table not written. */
  print?: (text: string) => void | Promise<void>;
  /** Called once the whole table is printed (a file takes its place); a rejection is a table not written. */
  printEnd?: () => Promise<void>;
  /** Where `print` writes, as the log names it (default standard output). */
  tableTo?: string;
  /** The table's format (default text) and which streams get a row (default all). */
  tableFormat?: TableFormat;
  select?: StreamSelection;
}

/** The replayed inputs as a call report's title names them: file names, '-' as standard input; many as first … last. */
function inputsName(files: string[]): string {
  const names = files.map((f) => (f === STDIN ? 'standard input' : basename(f)));
  return names.length <= 3 ? names.join(', ') : `${names[0]} … ${names.at(-1)} (${names.length} files)`;
}

/**
 * Replays capture files ('-' = standard input; gzip/zstd read transparently) through the pipeline, then
 * prints the stream table. capture.filter, when set, is applied to every record (BPF, as tcpdump -r).
 * A capture cut short or damaged part-way is reported in one line; the packets before the damage are
 * analysed and the run ends with INPUT_CUT_SHORT. A file that is no capture at all ends with INPUT_FILE.
 */
export async function runReplay(files: string[], config: ProbeConfig, opts: ReplayOptions, log: Logger): Promise<number> {
  const filter = config.capture.filter ? new PacketFilter(config.capture.filter) : undefined;
  const table = new StreamTable(opts.select);
  // Without a table (--table none) nothing here reads the final reports: unless an output takes them, they are not built.
  const onFinalReport = opts.tableFormat === 'none' ? undefined : (r: QosReport) => table.add(r);
  const outputs = openOutputs(config, { onFinalReport, log, source: inputsName(files) });
  const rt = opsRuntime();
  // With --metrics the replay serves the live API too (e.g. `rtpprobe top` on a --realtime replay).
  const liveRun = rt?.metrics ? await liveRunModules() : undefined;
  const live = liveRun && rt?.metrics ? new liveRun.LiveRun({ log, config, metrics: rt.metrics, logEvents: opts.realtime, reportTotals: () => reportTotals(outputs) }) : null;
  const pipeline = new Pipeline(config, live ? live.target(outputs.sink) : outputs.sink, { ...metricsEvents(rt?.metrics), callEvicted: callEvictionReporter(log, rt?.metrics), ruleError: ruleErrorReporter(log), rtcpMalformed: rtcpMalformedReporter(log) });
  if (live && liveRun) live.start(liveRun.trackerCalls(pipeline.calls));
  wireMetrics(rt?.metrics, pipelineView(pipeline), outputs);
  wireCallReports(pipelineView(pipeline), outputs);
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
  const timeline = new InputTimeline();
  const started = Date.now();
  try {
    for (const file of files) {
      if (stopping) break;
      const reader = openCaptureFile(file, { filter });
      source = reader;
      pipeline.nextCapture();
      const undecodedBefore = pipeline.decoder.counts[ProtocolCounter.UNKNOWN_LINK_TYPE];
      pipeline.decoder.unknownLinkTypes.clear();
      const snapCutBefore = pipeline.calls.stats.snapCut;
      const rtpSnapCutBefore = pipeline.engine.counters.snapCut;
      const tooLongBefore = pipeline.calls.stats.malformed['value-too-long'];
      const sipNotUsedBefore = { ...pipeline.calls.stats.malformed };
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
          // A file is read faster than any collector takes reports: wait for the queues, never overflow them,
          // between windows and inside one where a gap's catch-up pauses for them (Pipeline.outputsFull).
          pipeline.outputsFull = () => outputs.room() !== null;
          windows: for await (const cur of reader.records()) {
            for (;;) {
              const whole = pipeline.processRecords(cur);
              progress?.(before + reader.bytesRead, total);
              if (stopping) break windows;
              const room = outputs.room();
              if (room !== null) await room;
              if (whole) break;
            }
          }
        }
        analysed++;
      } catch (err) {
        if (!(err instanceof CaptureFileError)) throw err;
        code = Math.max(code, inputExitCode(err));
        if (err.partial) {
          analysed++;
          const where = err.kind === 'trailing-data' ? '' : ' the capture was cut short or is damaged here;';
          log.warn(`${err.message}:${where} results cover the ${reader.stats().received} packets before it`);
        } else log.error(/not a pcap/.test(err.problem) ? `${err.message}: give a pcap or pcapng capture (as tcpdump -w or dumpcap write it)` : err.message);
      } finally {
        before += reader.bytesRead;
        await reader.close();
        warnUndecodedLinkType(log, reader.name, pipeline.decoder, pipeline.decoder.counts[ProtocolCounter.UNKNOWN_LINK_TYPE] - undecodedBefore);
        warnSnapCutSip(log, reader.name, pipeline.calls.stats.snapCut - snapCutBefore);
        warnSnapCutRtp(log, reader.name, pipeline.engine.counters.snapCut - rtpSnapCutBefore);
        const tooLong = pipeline.calls.stats.malformed['value-too-long'] - tooLongBefore;
        if (tooLong > 0) log.warn(`${reader.name}: ${sipValueTooLongMessage(tooLong)}`);
        warnSipTcpLosses(log, reader.name, pipeline.calls.stats.malformed, sipNotUsedBefore);
        if (filter) warnFilterInapplicable(log, reader.name, filter);
        const outOfOrder = timeline.add(reader.name, reader.firstPacketMs, reader.lastPacketMs);
        if (outOfOrder) log.warn(outOfOrder);
      }
    }
  } finally {
    opts.progressEnd?.();
    live?.stopping();
    pipeline.finish();
    // The end of the input is no stop: deliver everything a collector that is up takes (the deadline
    // bounds only a stop by signal, or a collector that is down).
    if (!stopping) await outputs.settled(config.process.shutdownDeadlineMs);
    // No input was a capture: an empty page would stand for an analysis (and replace an earlier report).
    if (analysed === 0) for (const o of outputs.list) if (o instanceof HtmlReportOutput) o.discard();
    await outputs.close(config.process.shutdownDeadlineMs);
    rt?.metrics?.setCaptureState('stopped');
    live?.finish();
  }
  logRunSummary(log.child(filter ? { filteredOut: filter.rejected } : {}), pipelineView(pipeline), outputs, Date.now() - started);
  warnStreamsEvicted(log, pipeline, config.rtp.maxStreams);
  let tableLost = false;
  if (analysed > 0) {
    try {
      await table.write(opts.tableFormat ?? 'text', opts.print ?? writeOut);
      await opts.printEnd?.();
    } catch (err) {
      // A full disk under `> table.txt`: the run's result is lost, as a report that was not delivered.
      tableLost = true;
      log.error(`the stream table was not written to ${opts.tableTo ?? 'standard output'}: ${(err as Error).message}`);
    }
  }
  // Both are logged; an input's problem is the one the exit code names.
  const lost = undelivered(log, outputs) || tableLost;
  return code !== ExitCode.OK ? code : lost ? ExitCode.UNDELIVERED : ExitCode.OK;
}

/** Without it, a capture of a link type the decoder does not know ends in "no RTP streams found" and nothing says why. */
function warnUndecodedLinkType(log: Logger, file: string, decoder: PacketDecoder, records: number): void {
  if (records === 0) return;
  log.warn(`${file}: ${undecodedLinkTypesText(records, decoder.unknownLinkTypes)} not decoded: rtpprobe decodes ${PacketDecoder.decodedLinkTypes}`);
}

/**
 * Without it, the records of a link type the filter cannot be compiled for (a pcapng interface beside
 * the others) would be missing from the table with nothing saying why. Counts them once per file.
 */
function warnFilterInapplicable(log: Logger, file: string, filter: PacketFilter): void {
  const skipped = [...filter.inapplicable].filter(([, s]) => s.records > 0);
  if (skipped.length === 0) return;
  const byType = new Map(skipped.map(([linkType, s]) => [linkType, s.records]));
  const reasons = skipped.map(([linkType, s]) => (skipped.length === 1 ? s.reason : `${linkType}: ${s.reason}`));
  const records = skipped.reduce((n, [, s]) => n + s.records, 0);
  for (const [, s] of skipped) s.records = 0; // counted per file
  log.warn(`${file}: ${undecodedLinkTypesText(records, byType)} not analysed: the capture filter ${JSON.stringify(filter.expression)} cannot apply to them (libpcap: ${reasons.join('; ')})`);
}

/** Without it, calls whose SDP a small snap length (tcpdump -s 200) cut off have streams without a Call-ID and nothing says why. */
function warnSnapCutSip(log: Logger, file: string, packets: number): void {
  if (packets === 0) return;
  log.warn(`${file}: ${packets} SIP packets were cut short by the capture's snap length: what they carried past the cut (their SDP) was not read, so streams of their calls may lack the Call-ID; capture SIP whole (tcpdump -s 0)`);
}

/** Without it, RTP a snap length cut inside its header (tcpdump -s 50; IPv6, VLAN or a tunnel under -s 64) starts no stream and nothing says why. */
function warnSnapCutRtp(log: Logger, file: string, packets: number): void {
  if (packets === 0) return;
  log.warn(`${file}: ${packets} RTP packets were cut short inside their RTP header by the capture's snap length: they were not measured (no stream counts them); capture more of each packet (tcpdump -s 0 keeps it whole)`);
}

/**
 * Live capture's counterpart of warnSnapCutSip and warnSnapCutRtp: a check for each tick that warns once
 * for each, at the first SIP packet and the first RTP packet capture.snap_length cut (the run summary,
 * rtpprobe_sip_snap_cut_total and rtpprobe_rtp_snap_cut_total count them all).
 */
function snapCutWatch(log: Logger, config: ProbeConfig, v: Pick<CounterView, 'sipSnapCut' | 'rtpSnapCut'>): () => void {
  let warnedSip = false;
  let warnedRtp = false;
  const c = config.capture;
  return () => {
    if (!warnedSip && v.sipSnapCut() > 0) {
      warnedSip = true;
      log.warn(`${c.interface}: SIP packets are cut short by the capture's snap length (capture.snap_length ${c.snapLength}): what they carry past the cut (their SDP) is not read, so streams of their calls may lack the Call-ID; raise capture.snap_length (the run summary and rtpprobe_sip_snap_cut_total count them)`);
    }
    if (!warnedRtp && v.rtpSnapCut() > 0) {
      warnedRtp = true;
      log.warn(`${c.interface}: RTP packets are cut short inside their RTP header by the capture's snap length (capture.snap_length ${c.snapLength}): they are not measured (no stream counts them); raise capture.snap_length (the run summary and rtpprobe_rtp_snap_cut_total count them)`);
    }
  };
}

/**
 * Without it, a capture with more streams at once than the stream table holds gives a table with a row per
 * piece of each stream cut by an eviction, and only the run summary's count hints at it.
 */
function warnStreamsEvicted(log: Logger, pipeline: Pipeline, maxStreams: number): void {
  const c = pipeline.engine.counters;
  const evicted = c.evicted - c.evictedUnconfirmed; // one-packet strays given up are no stream cut short
  if (evicted === 0) return;
  log.warn(`the stream table (rtp.max_streams ${maxStreams}) was full: ${evicted} streams were ended to make room, each counted again as a new stream if it went on sending; raise rtp.max_streams`);
}

/** A damaged input's exit code: no capture at all is INPUT_FILE; cut short or damaged part-way INPUT_CUT_SHORT. */
function inputExitCode(err: CaptureFileError): number {
  return err.partial ? ExitCode.INPUT_CUT_SHORT : ExitCode.INPUT_FILE;
}

/** True (and logged) when an output dropped or failed to deliver anything during the run. */
function undelivered(log: Logger, outputs: Outputs): boolean {
  const lost = outputs.destinations(true).filter((d) => d.dropped > 0 || d.failed > 0);
  for (const d of lost) log.error({ output: d.output, destination: d.name, sent: d.sent, failed: d.failed, dropped: d.dropped, errors: d.errors, lastError: d.lastError }, 'not every report was delivered');
  return lost.length > 0;
}

export async function runLive(config: ProbeConfig, log: Logger): Promise<number> {
  const c = config.capture;
  if (!c.interface) throw Object.assign(new Error('capture.interface is empty: name the interface to capture on (-i IFACE)'), { exitCode: ExitCode.USAGE });
  const m = await liveModules();
  // Before any packet code is optimized; process-wide, so media workers get it too (measurement in the file).
  m.raiseLiveInlining();
  if (c.workers > 1) return runLiveWorkers(m, config, log);
  const rt = opsRuntime();
  if (c.fanoutGroup) checkExplicitFanoutGroup(m, log, c.interface, c.fanoutGroup);
  const open = () =>
    m.openLiveCapture(m.liveCaptureOptions(c, { backend: c.backend, fanoutGroup: c.fanoutGroup || undefined, onWarning: (w) => log.warn(w) })).catch((err: Error & { code?: string }) => {
      throw Object.assign(m.explainFanoutError(err, c.fanoutGroup, false), { name: 'CaptureOpenError' });
    });
  const link = watchLink(m, c.interface, log);
  const source: LivePacketSource = await m.openWhenUp(open, link, log);
  log.info({ interface: c.interface, backend: source.backend, linkType: source.linkType, hostTimestamps: source.hostTimestamps }, 'capture open');
  if (source.hostTimestamps) log.warn('timestamps come from the host clock (cap backend): jitter includes event-loop delay; reports carry HOST_TIMESTAMPS=1');
  // Outputs open before privileges drop: the JSON-lines file may be writable only by the starting user.
  let outputs: Outputs;
  try {
    outputs = openOutputs(config, { log, source: c.interface, live: true });
  } catch (err) {
    await source.close();
    throw err;
  }
  if (config.process.user) m.dropPrivileges(config.process.user, log);

  const live = new m.LiveRun({ log, config, metrics: rt?.metrics, logEvents: true, reportTotals: () => reportTotals(outputs) });
  const pipeline = new Pipeline(config, live.target(outputs.sink), {
    ...metricsEvents(rt?.metrics),
    callEvicted: callEvictionReporter(log, rt?.metrics),
    sipDropped: sipDropReporter(log, rt?.metrics),
    sipValueTooLong: sipValueTooLongReporter(log),
    ruleError: ruleErrorReporter(log),
    rtcpMalformed: rtcpMalformedReporter(log),
  });
  pipeline.enableSipBacklog();
  rt?.metrics?.setSipBacklog(() => pipeline.sipBacklogLength);
  pipeline.setHostTimestamps(source.hostTimestamps);
  wireMetrics(rt?.metrics, pipelineView(pipeline), outputs);
  wireCallReports(pipelineView(pipeline), outputs);
  const loop = new m.CaptureLoop(source, {
    interface: c.interface,
    open,
    onBatch: (batch) => {
      pipeline.noteCaptureDrops(loop.drops(), Date.now()); // the drops before these packets are in the reports they end
      pipeline.processBatch(batch);
    },
    onState: (state) => rt?.metrics?.setCaptureState(state),
    log,
  });
  rt?.metrics?.addCaptureSource(c.interface, () => loop.totals());
  rt?.metrics?.setCaptureState('running');
  live.start(m.trackerCalls(pipeline.calls), () => loop.totals());

  // Wall-clock tick: reports and timeouts keep flowing when traffic stops; drops are folded into reports.
  const drops = dropWatch(log, () => loop.totals());
  const merged = mergedFrameWatch(log, c.interface, m.interfaceMtu, () => loop.totals());
  const snapCut = snapCutWatch(log, config, pipelineView(pipeline));
  const tcpLoss = sipTcpLossWatch(log, c.interface, () => pipeline.calls.stats.malformed);
  const timer = setInterval(() => {
    pipeline.noteCaptureDrops(drops(), Date.now());
    merged();
    pipeline.wallTick(Date.now());
    snapCut();
    tcpLoss();
    link.poll();
  }, 1000);
  timer.unref();

  rt?.lifecycle.onStop('capture', async () => {
    live.stopping();
    await loop.stop();
    await loop.close();
  }, 0);
  rt?.lifecycle.onStop('final reports', () => pipeline.finishInTurns(), 10);
  onReload(log, outputs, (next) => {
    pipeline.reporter.scheduler.reconfigure({ baseIntervalS: next.reports.intervalS, rules: next.reports.rules });
    pipeline.faults.setLimits(mediaFaultLimits(next.reports.faults));
    live.setRules(next);
  });
  summaryAtStop(config, () => logRunSummary(log, pipelineView(pipeline), outputs, 0));
  rt?.lifecycle.setDeadlineLoss(() => deadlineLoss(pipelineView(pipeline), outputs));
  rt?.lifecycle.onStop('stream table', () => printStopTable(log, live), 50);
  rt?.lifecycle.onStop('report delivery', () => outputs.close(config.process.shutdownDeadlineMs), STOP_DELIVERY);
  await captureUntilStopped(loop.run(), timer);
  return ExitCode.OK;
}


/**
 * Live capture on `capture.workers` media workers sharing the interface through PACKET_FANOUT (hash: a
 * 5-tuple stays on one worker). This thread owns SIP state, the outputs (one HEP sender) and metrics.
 */
async function runLiveWorkers(m: LiveModules, config: ProbeConfig, log: Logger): Promise<number> {
  const c = config.capture;
  const rt = opsRuntime();
  const outputs = openOutputs(config, { log, source: c.interface, live: true });
  const live = new m.LiveRun({ log, config, metrics: rt?.metrics, logEvents: true, reportTotals: () => reportTotals(outputs) });
  const events = metricsEvents(rt?.metrics);
  const fanoutGroup = await workersFanoutGroup(m, log, c.interface, c.fanoutGroup);
  const newPool = () =>
    new m.MediaWorkerPool(config, fanoutGroup, {
      sink: live.target(outputs.sink),
      log,
      streamsStarted: (n) => rt?.metrics?.streamStarted(n),
      streamEnded: events.streamEnded,
      captureState: (state) => rt?.metrics?.setCaptureState(state),
      sipDropped: sipDropReporter(log, rt?.metrics),
    });
  const link = watchLink(m, c.interface, log);
  let pool: MediaWorkerPool;
  let opened: Awaited<ReturnType<MediaWorkerPool['start']>>;
  try {
    // A pool whose start failed has ended its workers: a retry starts a new one.
    ({ pool, opened } = await m.openWhenUp(async () => {
      const p = newPool();
      return { pool: p, opened: await p.start() };
    }, link, log));
  } catch (err) {
    await outputs.close(0);
    throw Object.assign(m.explainFanoutError(err as Error, fanoutGroup, !c.fanoutGroup), { name: 'CaptureOpenError' });
  }
  for (const w of opened.warnings) log.warn(w);
  log.info({ interface: c.interface, backend: opened.backend, linkType: opened.linkType, workers: c.workers, fanoutGroup: pool.fanoutGroup }, 'capture open');
  if (config.process.user) m.dropPrivileges(config.process.user, log);

  const view = poolView(pool);
  wireMetrics(rt?.metrics, view, outputs);
  wireCallReports(view, outputs);
  rt?.metrics?.setSipBacklog(() => pool.sipWaiting);
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
  live.start(m.trackerCalls(pool.signalling.calls), () => pool.captureTotals());
  const drops = dropWatch(log, () => pool.captureTotals());
  const merged = mergedFrameWatch(log, c.interface, m.interfaceMtu, () => pool.captureTotals());
  const snapCut = snapCutWatch(log, config, view);
  const tcpLoss = sipTcpLossWatch(log, c.interface, () => pool.signalling.calls.stats.malformed);
  const timer = setInterval(() => {
    drops(); // each worker folds its own drops into its reports
    merged();
    pool.signalling.expire(Date.now(), performance.now());
    snapCut();
    tcpLoss();
    link.poll();
  }, 1000);
  timer.unref();

  rt?.lifecycle.onStop('capture and final reports (workers)', () => {
    live.stopping();
    return pool.stop();
  }, 0);
  onReload(log, outputs, async (next) => {
    live.setRules(next);
    const r = await pool.reload(next);
    for (const f of r.failed) log.warn({ worker: f.worker, reason: f.reason }, 'media worker: reloaded report rules not confirmed');
    return { workers: r.applied };
  });
  rt?.lifecycle.setDeadlineLoss(() => deadlineLoss(view, outputs));
  summaryAtStop(config, () => {
    // How the flow hash spread the load: packets and streams per worker.
    const perWorker = pool.workerStats().map((s) => ({ packets: s.packets, streams: s.streamsStarted, droppedKernel: s.capture.droppedKernel }));
    logRunSummary(log.child({ workers: perWorker }), view, outputs, 0);
  });
  rt?.lifecycle.onStop('stream table', () => printStopTable(log, live), 50);
  rt?.lifecycle.onStop('report delivery', () => outputs.close(config.process.shutdownDeadlineMs), STOP_DELIVERY);
  // Ends when every worker has flushed and exited after a stop; a worker dying on its own rejects it.
  await captureUntilStopped(pool.finished, timer);
  return ExitCode.OK;
}

/**
 * The stop step that drains the outputs comes after the stream table: a collector that is down holds it
 * until the shutdown deadline, and what was measured must be printed by then.
 */
const STOP_DELIVERY = 60;

/**
 * A live run's summary, logged once at the stop: after the final reports were delivered (STOP_DELIVERY),
 * so it counts them; or, when they are still being sent just before the shutdown deadline ends the
 * process, with what was sent by then.
 */
function summaryAtStop(config: ProbeConfig, logSummary: () => void): void {
  const lifecycle = opsRuntime()?.lifecycle;
  if (!lifecycle) return;
  let logged = false;
  const once = () => {
    if (logged) return;
    logged = true;
    logSummary();
  };
  // The deadline counts from the signal, which came just before the first step.
  lifecycle.onStop('run summary at the deadline', () => void setTimeout(once, Math.max(0, config.process.shutdownDeadlineMs - 50)).unref(), -1);
  lifecycle.onStop('run summary', once, STOP_DELIVERY + 1);
}

/**
 * What the shutdown deadline cuts off: the final reports of the streams still open (not built; in worker mode
 * as of each worker's latest reports), and per destination the messages built but not yet handed over
 * (queued, or written to a socket whose kernel has not taken them yet).
 */
function deadlineLoss(v: CounterView, outputs: Outputs): DeadlineLoss {
  const notBuilt = v.activeStreams();
  const notSent = outputs.destinations(true).map((d) => ({ destination: d.name, messages: d.notTaken ?? d.queued }));
  const sends = notSent.map((d) => `, ${d.messages} built but not sent to ${d.destination}`).join('');
  return { fields: { finalReportsNotBuilt: notBuilt, notSent }, text: `final reports lost: ${notBuilt} not built${sends}` };
}

/**
 * A stop step after the final reports: the table of the streams running at stop goes to standard error
 * (standard output may carry JSON lines).
 */
function printStopTable(log: Logger, live: LiveRun): void {
  const table = live.finish();
  if (table) process.stderr.write(table);
  else log.info('no streams were running at stop');
}

/** The capture interface's link, for the logs, /healthz and /metrics (polled at the run's 1 s tick). */
function watchLink(m: LiveModules, iface: string, log: Logger) {
  const link = new m.LinkWatch(iface, log, m.readLinkState);
  opsRuntime()?.metrics?.setLink(() => link.view());
  return link;
}

/** Messages the outputs delivered, dropped and failed to send, summed over their destinations (status line). */
function reportTotals(outputs: Outputs): { sent: number; dropped: number; failed: number } {
  let sent = 0;
  let dropped = 0;
  let failed = 0;
  for (const d of outputs.destinations()) {
    sent += d.sent;
    dropped += d.dropped;
    failed += d.failed;
  }
  return { sent, dropped, failed };
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

/** Least time between two warnings about frames merged before capture (they come with every burst). */
const MERGED_WARN_EVERY_MS = 60_000;

/**
 * Warns when the capture's merged-frame count grows: at once, then at most once a minute, with the count
 * so far. A merged frame is measured as one packet and the others in it as lost: the fix is the host's.
 */
function mergedFrameWatch(log: Logger, iface: string, mtu: (iface: string) => number, totals: () => { mergedFrames: number }): () => void {
  let last = 0;
  let warnedAt = -Infinity;
  return () => {
    const merged = totals().mergedFrames;
    if (merged <= last || Date.now() - warnedAt < MERGED_WARN_EVERY_MS) return;
    last = merged;
    warnedAt = Date.now();
    log.warn(
      { interface: iface, mergedFrames: merged, mtu: mtu(iface) },
      `capture interface ${iface} hands over frames longer than its MTU allows: the kernel merged packets before capture (GRO or LRO on the interface, or a local sender's segmentation offload), and each merged frame is measured as one packet, the others in it as lost (not network loss); turn the offloads off: ethtool -K ${iface} gro off lro off rx-gro-hw off`,
    );
  };
}

/**
 * SIGHUP: thresholds and collectors change in place; streams, calls and capture settings stay as started.
 * `applyRules` returns what to add to the log line (worker mode: the workers that applied the rules).
 */
function onReload(log: Logger, outputs: Outputs, applyRules: (next: ProbeConfig) => void | Promise<object>): void {
  opsRuntime()?.lifecycle.onReload(async (next) => {
    const applied = await applyRules(next);
    try {
      await outputs.reload(next, next.process.shutdownDeadlineMs);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'the reloaded outputs could not be opened: the running ones stay');
    }
    log.info(
      { intervalS: next.reports.intervalS, rules: next.reports.rules.length, outputs: outputs.list.map((o) => o.name), ...applied },
      'report rules and outputs reloaded',
    );
  });
}

/**
 * Worker mode's fanout group: the configured one, or an automatic id not in use on this host, claimed
 * for this process's lifetime (another probe starting meanwhile picks another).
 */
async function workersFanoutGroup(m: LiveModules, log: Logger, iface: string, configured: number): Promise<number> {
  if (configured) {
    checkExplicitFanoutGroup(m, log, iface, configured);
    return configured;
  }
  const { group, skipped } = await m.pickAutoFanoutGroup(iface);
  if (skipped.length) log.warn({ fanoutGroup: group, inUse: skipped }, 'automatic fanout group ids already in use on this host were skipped');
  return group;
}

/** An explicit group that already has sockets shares the traffic with them (or refuses to join): say so. */
function checkExplicitFanoutGroup(m: LiveModules, log: Logger, iface: string, group: number): void {
  if (m.fanoutGroupInUse(iface, group) === true) {
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
  const { listInterfaces: listCaptureInterfaces } = await import('./capture/live/index.js');
  return listCaptureInterfaces().map((i) => ({
    name: i.name,
    description: i.description || undefined,
    addresses: i.addresses.map((a) => a.address),
    loopback: i.loopback,
    up: i.up,
  }));
}

/**
 * check-config's check of capture.filter against the link type `run` compiles it for, the interface's own
 * (an Ethernet filter may not fit `any`): the capture is opened with the filter and closed at once, as
 * `tcpdump -i IF -d FILTER` opens it. A problem when libpcap refuses the filter; a note when the interface
 * could not be opened (no CAP_NET_RAW, down).
 */
export async function liveFilterCheck(iface: string, filter: string, snapLength: number): Promise<{ problem?: string; note?: string }> {
  const { openLiveCapture } = await import('./capture/live/index.js');
  try {
    const source = await openLiveCapture({ interface: iface, filter, snapLength, backend: 'pcap', bufferSizeMb: 1, promiscuous: false });
    await source.close();
    return {};
  } catch (err) {
    const e = err as Error & { code?: string };
    return e.code === 'EFILTER' ? { problem: e.message } : { note: `capture.filter not checked for the link type of ${JSON.stringify(iface)}: ${e.message}` };
  }
}

/**
 * Checks that need other modules: each threshold rule must compile (mathjs) against the report metrics.
 * A rule the schema already refused (`schemaProblems` under its path, or the list's) is not compiled too.
 */
export function checkConfig(config: ProbeConfig, schemaProblems: readonly Problem[] = []): string[] {
  const problems: string[] = [];
  const refused = (path: string) => schemaProblems.some((p) => p.path === path || p.path.startsWith(`${path}.`) || p.path.startsWith(`${path}[`));
  if (schemaProblems.some((p) => p.path === 'reports.rules')) return problems;
  config.reports.rules.forEach((rule, i) => {
    if (refused(`reports.rules[${i}]`)) return;
    try {
      compileRule(rule);
    } catch (err) {
      const msg = err instanceof RuleError ? err.message : String(err);
      problems.push(`reports.rules[${i}].when: ${JSON.stringify(rule.when)} is not allowed: ${msg}`);
      return;
    }
    // Without the emulation these are 0 for every stream: 'mos_adapt < 3.6' would page every stream.
    const unmeasured = config.qos.jitterBuffers.emulate ? undefined : EMULATED_BUFFER_VARIABLES.find((v) => new RegExp(`(?<![\\w.])${v}(?![\\w(])`).test(rule.when));
    if (unmeasured !== undefined) {
      problems.push(`reports.rules[${i}].when: ${JSON.stringify(rule.when)} names ${unmeasured}, which is 0 for every stream while qos.jitter_buffers.emulate is false: set it true, or use mos or mos_net`);
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

/** Standard output, waiting until the text is handed to the OS (src/ops/write-fully.ts). */
function writeOut(text: string): Promise<void> {
  return writeFully(process.stdout, text);
}

function metricsEvents(m: ProbeMetrics | undefined) {
  if (!m) return {};
  return {
    streamStarted: () => m.streamStarted(),
    // The MOS histogram is fed per interval by the live run (src/ops/live-run.ts), not at stream end.
    streamEnded: (reason: number) => {
      m.streamEnded(endReasonName(reason));
      if (reason === EndReason.evicted) m.streamEvicted();
    },
  };
}

/** The cumulative counters metrics and the run summary read: one pipeline's, or the media workers' summed. */
interface CounterView {
  /** rtp: packets counted in a stream; pending: packets held in no class yet (RTP candidates, queued media), classed later. */
  counts(): { packets: number; sip: number; rtp: number; rtcp: number; otherUdp: number; pending: number };
  malformed(): ArrayLike<number>;
  activeStreams(): number;
  activeCalls(): number;
  streamsStarted(): number;
  evicted(): number;
  /** Of evicted(), streams on their first packet; packets held back because the stream table was full of confirmed streams. */
  evictedUnconfirmed(): number;
  heldBack(): number;
  /** SIP packets refused by the full SIP backlog, or not forwarded by media workers (live capture). */
  sipDropped?(): number;
  /** Media workers: SIP handled before every worker had read past it (too much SIP held for capture order). */
  sipReleasedEarly?(): number;
  /** SIP packets the capture's snap length cut short. */
  sipSnapCut(): number;
  /** RTP packets the capture's snap length cut inside their RTP header (not measured). */
  rtpSnapCut(): number;
  /** SIP messages not used, by reason (the call tracker's counts). */
  sipMalformed(): Record<string, number>;
  /** Of those, the messages still handed to the outputs (CallTrackerStats.malformedPassedOn). */
  sipMalformedPassedOn(): number;
  /** Packets counted but not measured, by reason (rtpprobe_packets_not_used_total). */
  notUsed(): { rtpNotMeasured: number; srtcp: number; rtcpMalformed: number };
  /** Alert rule evaluation errors since start, by rule (rtpprobe_rule_errors_total). */
  ruleErrors(): Array<[string, number]>;
}

function pipelineView(p: Pipeline): CounterView {
  return {
    counts: () => ({ packets: p.counts.packets, sip: p.counts.sip, rtp: p.engine.counters.packets, rtcp: p.counts.rtcp, otherUdp: p.counts.otherUdp, pending: p.packetsPending }),
    malformed: () => p.decoder.malformed,
    activeStreams: () => p.engine.activeStreams,
    activeCalls: () => p.calls.activeCalls,
    streamsStarted: () => p.engine.counters.streamsStarted,
    evicted: () => p.engine.counters.evicted,
    evictedUnconfirmed: () => p.engine.counters.evictedUnconfirmed,
    heldBack: () => p.engine.counters.heldBack,
    sipDropped: () => p.counts.sipBacklogDropped,
    sipSnapCut: () => p.calls.stats.snapCut,
    rtpSnapCut: () => p.engine.counters.snapCut,
    sipMalformed: () => p.calls.stats.malformed,
    sipMalformedPassedOn: () => p.calls.stats.malformedPassedOn,
    notUsed: () => ({ rtpNotMeasured: p.engine.heldDiscarded + p.counts.rtpHeldDropped, srtcp: p.rtcpStats.srtcp, rtcpMalformed: p.rtcpStats.malformed }),
    ruleErrors: () => [...p.reporter.scheduler.errors].map(([rule, e]) => [rule, e.count]),
  };
}

function poolView(pool: MediaWorkerPool): CounterView {
  const sum = (f: (s: WorkerStats) => number) => pool.workerStats().reduce((n, s) => n + f(s), 0);
  return {
    counts: () => ({ packets: sum((s) => s.packets), sip: sum((s) => s.sip), rtp: sum((s) => s.rtp), rtcp: sum((s) => s.rtcp), otherUdp: sum((s) => s.otherUdp), pending: sum((s) => s.pending) }),
    malformed: () => {
      const out: number[] = [];
      for (const s of pool.workerStats()) s.malformed.forEach((n, i) => (out[i] = (out[i] ?? 0) + n));
      return out;
    },
    activeStreams: () => sum((s) => s.activeStreams),
    activeCalls: () => pool.signalling.calls.activeCalls,
    sipSnapCut: () => pool.signalling.calls.stats.snapCut,
    rtpSnapCut: () => sum((s) => s.rtpSnapCut),
    sipMalformed: () => pool.signalling.calls.stats.malformed,
    sipMalformedPassedOn: () => pool.signalling.calls.stats.malformedPassedOn,
    streamsStarted: () => sum((s) => s.streamsStarted),
    evicted: () => sum((s) => s.evicted),
    evictedUnconfirmed: () => sum((s) => s.evictedUnconfirmed),
    heldBack: () => sum((s) => s.heldBack),
    sipDropped: () => sum((s) => s.sipDropped),
    sipReleasedEarly: () => pool.sipReleasedEarly,
    notUsed: () => ({ rtpNotMeasured: sum((s) => s.rtpNotMeasured), srtcp: sum((s) => s.srtcp), rtcpMalformed: sum((s) => s.rtcpMalformed) }),
    ruleErrors: () => sumRuleErrors(pool.workerStats().map((s) => s.ruleErrors)),
  };
}

/** Gauges read at scrape time, and counters fed from the cumulative counters as deltas. */
function wireMetrics(m: ProbeMetrics | undefined, v: CounterView, outputs: Outputs): void {
  if (!m) return;
  // The live call page reads the live_page output open now (a reload opens a new one).
  if (outputs.list.some((o) => o instanceof LiveCallPageOutput))
    m.setCallPage(() => (outputs.list.find((o) => o instanceof LiveCallPageOutput) as LiveCallPageOutput | undefined)?.json() ?? null);
  m.setActiveStreams(() => v.activeStreams());
  m.setActiveCalls(() => v.activeCalls());
  m.setStreamTable(() => ({ evictedUnconfirmed: v.evictedUnconfirmed(), heldBack: v.heldBack() }));
  m.setSipSnapCut(() => v.sipSnapCut());
  m.setRtpSnapCut(() => v.rtpSnapCut());
  m.setSipReleasedEarly(() => v.sipReleasedEarly?.() ?? 0);
  m.setSipMalformed(() => sipMalformedCounts(v.sipMalformed()));
  m.setNotUsed(() => {
    const n = v.notUsed();
    return [['rtp_not_measured', n.rtpNotMeasured], ['srtcp', n.srtcp], ['rtcp_malformed', n.rtcpMalformed]];
  });
  m.setRuleErrors(() => v.ruleErrors());
  const prevMalformed: number[] = [];
  const prevDest = new Map<string, { sent: number; failed: number; dropped: number; errors: number }>();
  // Per destination, including those a reload adds.
  const depthKnown = new Set<string>();
  const watchQueues = () => {
    for (const d of outputs.destinations()) {
      if (depthKnown.has(d.name)) continue;
      depthKnown.add(d.name);
      m.setQueueDepth(d.name, () => outputs.destinations().find((x) => x.name === d.name)?.queued ?? 0);
    }
  };
  watchQueues();
  const delivery = deliveryHealth(outputs);
  m.setDeliveryHealth(() => delivery.view());
  // Packets by class; 'other' is the rest of every packet captured, so the classes sum to the total. Packets
  // held in no class yet (RTP candidates, media waiting for its SDP, queued SIP over TCP) are in none: a
  // counter only grows, and one counted as other now would be counted again when it gets its class.
  const prevPackets = { sip: 0, rtp: 0, rtcp: 0, other: 0 };
  const timer = setInterval(() => {
    watchQueues();
    const c = v.counts();
    const now = { sip: c.sip, rtp: c.rtp, rtcp: c.rtcp, other: c.packets - c.sip - c.rtp - c.rtcp - c.pending };
    for (const k of ['sip', 'rtp', 'rtcp', 'other'] as const) {
      // Counters only grow: a class below its last value adds nothing until it is above it again.
      const d = now[k] - prevPackets[k];
      if (d > 0) {
        m.addPackets(k, d);
        prevPackets[k] = now[k];
      }
    }
    const mal = v.malformed();
    for (let i = 0; i < mal.length; i++) {
      const prev = prevMalformed[i] ?? 0;
      if (mal[i] > prev) m.decodeError(malformedReasonNames[i] ?? String(i), mal[i] - prev);
      prevMalformed[i] = mal[i];
    }
    delivery.update();
    for (const c of outputs.destinations()) {
      const key = `${c.output} ${c.name}`;
      const prev = prevDest.get(key) ?? { sent: 0, failed: 0, dropped: 0, errors: 0 };
      if (c.sent > prev.sent) m.reportSent(c.name, c.sent - prev.sent);
      if (c.failed > prev.failed) m.reportFailed(c.name, c.failed - prev.failed);
      if (c.dropped > prev.dropped) m.reportDropped(c.name, c.dropped - prev.dropped);
      if (c.errors > prev.errors) m.outputError(c.name, c.errors - prev.errors);
      prevDest.set(key, { sent: Math.max(c.sent, prev.sent), failed: c.failed, dropped: c.dropped, errors: c.errors });
    }
  }, 1000);
  timer.unref();
}

/** How long a drop keeps /healthz degraded after it happened. */
const DROP_DEGRADES_MS = 60_000;

/**
 * /healthz's view of delivery: destinations down now, and those that dropped reports within the last
 * minute (a collector slower than the report rate is up but loses reports).
 */
function deliveryHealth(outputs: Outputs): { update(): void; view(): { degraded: Array<{ destination: string; reason: string }> } } {
  const lastLoss = new Map<string, { lost: number; at: number }>();
  const update = () => {
    const now = Date.now();
    for (const d of outputs.destinations()) {
      const lost = d.dropped + d.failed;
      const prev = lastLoss.get(d.name);
      if (prev === undefined) lastLoss.set(d.name, { lost, at: lost > 0 ? now : 0 });
      else if (lost > prev.lost) {
        prev.lost = lost;
        prev.at = now;
      }
    }
  };
  return {
    update,
    view() {
      update();
      const now = Date.now();
      const degraded: Array<{ destination: string; reason: string }> = [];
      for (const d of outputs.destinations()) {
        const at = lastLoss.get(d.name)?.at ?? 0;
        if (!d.up) degraded.push({ destination: d.name, reason: d.lastError ?? 'not connected' });
        else if (at > 0 && now - at < DROP_DEGRADES_MS) degraded.push({ destination: d.name, reason: `reports lost in the last minute (dropped ${d.dropped}, failed ${d.failed} in all)${d.lastError ? `: ${d.lastError}` : ''}` });
      }
      return { degraded };
    },
  };
}

/** The call reports show the run's SIP messages not used, by reason, as metrics and the run summary count them. */
function wireCallReports(v: CounterView, outputs: Outputs): void {
  outputs.setSipNotUsed(() => Object.fromEntries(sipMalformedCounts(v.sipMalformed())));
}

/** The reasons SIP messages were not used that occurred ('none' is no reason). */
function sipMalformedCounts(m: Record<string, number>): Array<[string, number]> {
  return Object.entries(m).filter(([reason, n]) => reason !== 'none' && n > 0);
}

function logRunSummary(log: Logger, v: CounterView, outputs: Outputs, elapsedMs: number): void {
  const malformed: Record<string, number> = {};
  Array.from(v.malformed()).forEach((n, i) => {
    if (n > 0) malformed[malformedReasonNames[i] ?? String(i)] = n;
  });
  const counts = v.counts();
  const ruleErrors = v.ruleErrors();
  const sipMalformed = sipMalformedCounts(v.sipMalformed());
  log.info(
    {
      packets: counts.packets,
      sip: counts.sip,
      rtcp: counts.rtcp,
      streams: v.streamsStarted(),
      evicted: v.evicted(),
      ...v.notUsed(),
      sipDropped: v.sipDropped?.() || undefined,
      sipReleasedEarly: v.sipReleasedEarly?.() || undefined,
      sipSnapCut: v.sipSnapCut() || undefined,
      rtpSnapCut: v.rtpSnapCut() || undefined,
      sipMalformed: sipMalformed.length > 0 ? Object.fromEntries(sipMalformed) : undefined,
      sipMalformedSent: v.sipMalformedPassedOn() || undefined,
      ruleErrors: ruleErrors.length > 0 ? Object.fromEntries(ruleErrors) : undefined,
      reports: outputs.sink.counts,
      outputs: outputs.destinations(true).map((d) => ({ output: d.output, destination: d.name, sent: d.sent, failed: d.failed, dropped: d.dropped, errors: d.errors })),
      malformed,
      elapsedMs: elapsedMs || undefined,
    },
    'run summary',
  );
}
