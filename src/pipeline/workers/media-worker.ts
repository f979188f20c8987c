/**
 * Media worker entry (worker_threads, run from dist/): opens the interface in the probe's PACKET_FANOUT
 * hash group, so the kernel keeps each 5-tuple on one worker, and runs decode + RTCP + the RTP engine +
 * QoS reports for its share. SIP goes to the signalling owner (main thread); bindings come back as
 * events into a BindingMirror; reports, counters and logs go to the main thread.
 */
import { receiveMessageOnPort, workerData, parentPort, type MessagePort } from 'node:worker_threads';
import { openLiveCapture, readableWithinMs } from '../../capture/live/index.js';
import type { LivePacketSource } from '../../capture/live/index.js';
import type { PacketBatch } from '../../capture/index.js';
import { CaptureLoop, liveCaptureOptions, type LoopLog } from '../capture-loop.js';
import { FINISH_PART_STREAMS, Pipeline, type RtcpFacts } from '../pipeline.js';
import { mediaFaultLimits } from '../media-faults.js';
import { ruleErrorReporter } from '../rule-errors.js';
import { rtcpMalformedReporter } from '../rtcp-malformed.js';
import type { ReportTarget } from '../report-sink.js';
import { BindingMirror } from './binding-mirror.js';
import { GroupStart } from './group-start.js';
import { GroupRejoin } from './group-rejoin.js';
import { SipInFlight } from './sip-in-flight.js';
import type { ForwardedReport, ForwardedSip, MainToWorker, MediaWorkerData, WorkerToMain } from './messages.js';
import type { UnmatchedRtcp } from './rtcp-asks.js';
import { HeldAsks, type RtcpAsk } from './held-asks.js';

/** Counters and touched calls go to the main thread this often (also checked per batch: timers starve under load). */
const STATS_MS = 1000;
/**
 * Parts of the final reports at the stop posted and not yet handled by the main thread. The main thread
 * handles all the messages that wait for it in one go: with every part of a large table queued, it would
 * neither send them nor see the shutdown deadline until it had handled them all.
 */
const PARTS_AHEAD = 2;
let partsInFlight = 0;
let partTaken: (() => void) | null = null;
/**
 * While the main thread holds SIP (SipOrder), how far this worker has read goes to it at most this often
 * (a busy worker reads hundreds of blocks a second; each message wakes the main thread), and an idle
 * capture looks at its ring this often.
 */
const PROGRESS_MS = 10;
/** A question about another worker's RTCP waits this long at most for this worker to read past its capture time (as an RTCP BYE does). */
const HELD_ASK_WALL_MS = 2000;

const data = workerData as MediaWorkerData & { control: MessagePort };
const { config, fanoutGroup, control, index } = data;
const c = config.capture;
const post = (m: WorkerToMain): void => parentPort!.postMessage(m);

const logAt =
  (level: 'error' | 'warn' | 'info') =>
  (obj: object, msg: string): void => {
    const o = obj as { err?: unknown };
    // Errors do not clone with their message as an own field: send the text.
    const safe = o.err instanceof Error ? { ...obj, err: { message: o.err.message, stack: o.err.stack } } : obj;
    post({ t: 'log', level, obj: safe, msg });
  };
const log: LoopLog = { error: logAt('error'), warn: logAt('warn'), info: logAt('info') };

let reports: ForwardedReport[] = [];
const sink: ReportTarget = {
  qos: (report, env, send, logIt) => reports.push({ k: 'qos', report, env, send, log: logIt, json: send || logIt ? JSON.stringify(report) : undefined }),
  rtcp: (json, env, callId, compound) => reports.push({ k: 'rtcp', json, env, callId, compound: Uint8Array.from(compound) }), // a copy: the capture buffer is reused
};
let ended: Array<[number, number]> = [];
let facts: RtcpFacts[] = [];
let unmatched: UnmatchedRtcp[] = [];
let mirror!: BindingMirror;
const pipeline = new Pipeline(
  config,
  sink,
  {
    streamEnded: (reason, mos) => ended.push([reason, mos]),
    rtcpFacts: (f) => facts.push(f),
    rtcpUnmatched: (json, env, lookup, compound) => unmatched.push({ json, env, lookup, compound }),
    ruleError: ruleErrorReporter(log),
    rtcpMalformed: rtcpMalformedReporter(log),
  },
  (hooks) => (mirror = new BindingMirror(config, hooks, new SipInFlight(data.sipInFlight))),
);
// SIP waits in the pool's SipOrder up to a readable buffer timeout and a second, then for the main thread.
pipeline.holdForLateBindings(readableWithinMs(c.bufferTimeoutMs) + 2000);

const open = (): Promise<LivePacketSource> =>
  openLiveCapture(
    liveCaptureOptions(c, {
      backend: 'pcap', // the cap fallback cannot run in worker threads
      fanoutGroup,
      onWarning: (m) => log.warn({}, m),
    }),
  );

/**
 * Waits until `n` workers have had their turn to open the capture (MediaWorkerData.openTurn): `index`
 * before this one opens, all of them before it reads. The workers boot meanwhile.
 */
function awaitTurns(turn: Int32Array, n: number): void {
  // Short waits: a pool that gives up terminates its workers, which takes effect between them.
  for (let t = Atomics.load(turn, 0); t < n; t = Atomics.load(turn, 0)) Atomics.wait(turn, 0, t, 100);
}

/** The next worker's turn, whether this one opened or failed (the pool then ends them all). */
function passOpenTurn(turn: Int32Array): void {
  Atomics.add(turn, 0, 1);
  Atomics.notify(turn, 0);
}

const turn = new Int32Array(data.openTurn);
const groupCompleteAt = new Float64Array(data.groupCompleteAt);
let source: LivePacketSource;
try {
  awaitTurns(turn, index);
  source = await open();
} catch (err) {
  passOpenTurn(turn);
  post({ t: 'open-failed', message: (err as Error).message, code: (err as { code?: string }).code });
  process.exit(0);
}
if (index === c.workers - 1) groupCompleteAt[0] = Date.now(); // published by passOpenTurn's atomic add
passOpenTurn(turn);
let loop: CaptureLoop | null = null;
let stopping = false;
const rejoin = new GroupRejoin(data.groupRejoin, groupCompleteAt, index, c.workers);
/** This worker closed its capture because another lost its own: the group is rebuilt in order. */
let leaving = false;
let finish!: () => void;
const finishing = new Promise<void>((resolve) => (finish = resolve));
let nextStatsMs = Date.now() + STATS_MS;

/** Binding events first (a binding may be waiting for this batch's streams), then the stop request. */
function drainControl(): void {
  for (let m = receiveMessageOnPort(control); m !== undefined; m = receiveMessageOnPort(control)) onControl(m.message as MainToWorker);
}

function onControl(m: MainToWorker): void {
  if (m.t === 'stop') {
    if (!stopping) {
      stopping = true;
      void loop?.stop();
    }
  } else if (m.t === 'finish') {
    finish();
  } else if (m.t === 'took') {
    partsInFlight--;
    partTaken?.();
    partTaken = null;
  } else if (m.t === 'progress') {
    wantProgress(m.on);
  } else if (m.t === 'rtcp') {
    for (const f of m.facts) pipeline.applyRtcpFacts(f);
  } else if (m.t === 'rtcp-ask') {
    answerAsks(m.asks);
  } else if (m.t === 'reload') {
    // Validated by the main thread already; a failure here keeps this worker's schedule and is reported.
    try {
      pipeline.reporter.scheduler.reconfigure({ baseIntervalS: m.intervalS, rules: m.rules });
      pipeline.faults.setLimits(mediaFaultLimits(m.faults));
      post({ t: 'reloaded', seq: m.seq });
    } catch (err) {
      post({ t: 'reloaded', seq: m.seq, error: (err as Error).message });
    }
  } else mirror.apply(m);
}

/** Raw capture time of the latest packet read, ms. */
let lastPacketMs = Number.NEGATIVE_INFINITY;
/** What the main thread was last told of how far this worker has read, and when (performance.now()). */
let toldThroughMs = Number.NEGATIVE_INFINITY;
let toldAtMs = 0;
/** Set while the main thread holds SIP: it waits for this worker's progress. */
let progressTimer: NodeJS.Timeout | null = null;
const readableMs = readableWithinMs(c.bufferTimeoutMs);

/**
 * Raw capture time up to which this worker has read every packet: its latest packet's, or, when the ring
 * was last found empty later than that, the time every packet captured before then was readable; never
 * past the first packet its pipeline holds at a jump in capture time (SIP among them is not forwarded yet).
 */
function readThroughMs(): number {
  const empty = loop === null ? 0 : loop.emptyAtMs;
  return Math.min(empty > 0 ? Math.max(lastPacketMs, empty - readableMs) : lastPacketMs, pipeline.heldSinceRawMs);
}

function postSip(packets: ForwardedSip[]): void {
  const throughMs = readThroughMs();
  post({ t: 'sip', packets, throughMs });
  toldThroughMs = throughMs;
  toldAtMs = performance.now();
}

/** While wanted, how far this worker has read goes to the main thread when it moved, at most every PROGRESS_MS. */
function postProgress(): void {
  if (progressTimer === null || performance.now() < toldAtMs + PROGRESS_MS || readThroughMs() === toldThroughMs) return;
  postSip([]);
}

/** The main thread holds SIP (on) or holds none (off). While on, an idle capture looks at its ring every PROGRESS_MS. */
function wantProgress(on: boolean): void {
  if (on && progressTimer === null) {
    progressTimer = setInterval(() => {
      loop?.poke();
      postProgress();
    }, PROGRESS_MS);
    postProgress();
  } else if (!on && progressTimer !== null) {
    clearInterval(progressTimer);
    progressTimer = null;
  }
}

/** Questions about RTCP other workers read that this one has not read far enough to answer (see HeldAsks). */
const heldAsks = new HeldAsks(HELD_ASK_WALL_MS);
let captureDrained = false;

/** Answers the questions `asks` and the held ones this worker can answer now. */
function answerAsks(asks: RtcpAsk[]): void {
  if (asks.length === 0 && heldAsks.length === 0) return;
  const answers = heldAsks.answer(asks, readThroughMs(), Date.now(), captureDrained, (l) => pipeline.unsignalledRtcpId(l));
  if (answers.length > 0) post({ t: 'rtcp-answer', answers });
}

/** Posts what was made since the last flush; `part`: reports of the stop's final parts (see PARTS_AHEAD). */
function flush(part = false): void {
  const sip = mirror.takeSip();
  if (sip) postSip(sip);
  else postProgress();
  if (reports.length > 0) {
    post({ t: 'reports', items: reports, activeStreams: pipeline.engine.activeStreams, part });
    reports = [];
    if (part) partsInFlight++;
  }
  // Before the facts: another worker looks these compounds' streams up before their BYEs end them there.
  if (unmatched.length > 0) {
    post({ t: 'rtcp-unmatched', items: unmatched });
    unmatched = [];
  }
  if (facts.length > 0) {
    post({ t: 'rtcp', facts });
    facts = [];
  }
  answerAsks([]);
}

function sendStats(): void {
  nextStatsMs = Date.now() + STATS_MS;
  const touched = mirror.takeTouched();
  if (touched) post({ t: 'touch', ...touched, nowMs: pipeline.nowMs });
  const p = pipeline;
  post({
    t: 'stats',
    stats: {
      packets: p.counts.packets,
      sip: p.counts.sip,
      rtp: p.engine.counters.packets,
      rtcp: p.counts.rtcp,
      otherUdp: p.counts.otherUdp,
      pending: p.packetsPending,
      malformed: Array.from(p.decoder.malformed),
      activeStreams: p.engine.activeStreams,
      streamsStarted: p.engine.counters.streamsStarted,
      evicted: p.engine.counters.evicted,
      evictedUnconfirmed: p.engine.counters.evictedUnconfirmed,
      heldBack: p.engine.counters.heldBack,
      rtpNotMeasured: p.engine.heldDiscarded,
      rtpSnapCut: p.engine.counters.snapCut,
      srtcp: p.rtcpStats.srtcp,
      rtcpMalformed: p.rtcpStats.malformed,
      sipDropped: mirror.sipDropped,
      ruleErrors: [...p.reporter.scheduler.errors].map(([rule, e]) => [rule, e.count]),
      clockOffsetMs: p.clockOffsetMs,
      clockSteps: p.clockSteps,
      nowMs: p.nowMs,
      capture: loop ? loop.totals() : { received: 0, droppedKernel: 0, droppedInterface: 0, mergedFrames: 0 },
    },
    ended,
  });
  ended = [];
}

/** Set once every worker has opened, before the first read; again each time they rejoin the group. */
let groupStart!: GroupStart;

/** Another worker lost its capture: this one leaves the group too, so that all rejoin in their order. */
function leaveWhenCalled(): void {
  if (leaving || stopping || !rejoin.called) return;
  leaving = true;
  log.info({ interface: c.interface }, 'capture closed to rejoin the fanout group in order: another media worker lost its capture');
  void loop!.reopen();
}

/** A batch that may hold packets captured before the group had every worker: measured from that moment on. */
function measureFromGroupStart(batch: PacketBatch): void {
  const from = groupStart.firstToMeasure(batch, loop!.emptyAtMs);
  if (groupStart.done && groupStart.skipped > 0) log.info({ packets: groupStart.skipped }, 'packets captured before every media worker had joined the fanout group: not measured');
  if (from === 0) pipeline.processBatch(batch);
  else for (let i = from; i < batch.count; i++) pipeline.processPacket(batch, i);
}

loop = new CaptureLoop(source, {
  interface: c.interface,
  open: async () => {
    const rejoined = await rejoin.rejoin(open, () => stopping);
    groupStart = new GroupStart(rejoined.completeAtMs, readableMs);
    return rejoined.source;
  },
  onClosed: () => {
    leaving = false;
    rejoin.left();
  },
  onBatch: (batch) => {
    drainControl();
    pipeline.noteCaptureDrops(loop!.drops(), Date.now()); // the drops before these packets are in the reports they end
    if (groupStart.done) pipeline.processBatch(batch);
    else measureFromGroupStart(batch);
    const last = batch.count - 1;
    if (last >= 0) lastPacketMs = batch.tsSec[last]! * 1000 + batch.tsNsec[last]! / 1e6;
    flush();
    if (Date.now() >= nextStatsMs) sendStats();
    leaveWhenCalled();
  },
  onState: (state) => post({ t: 'state', state }),
  log,
});
control.on('message', (m: MainToWorker) => onControl(m));
post({ t: 'ready', backend: source.backend, linkType: source.linkType, warnings: [...source.warnings] });
sendStats(); // the main thread shows this worker up from now, not a second later

// Wall-clock tick: reports and timeouts keep flowing when traffic stops; this worker's drops go in its reports.
const timer = setInterval(() => {
  drainControl();
  const s = loop!.totals();
  pipeline.noteCaptureDrops(s.droppedKernel + s.droppedInterface, Date.now());
  pipeline.wallTick(Date.now());
  flush();
  sendStats();
  leaveWhenCalled();
}, 1000);

awaitTurns(turn, c.workers);
groupStart = new GroupStart(groupCompleteAt[0]!, readableMs);
try {
  await loop.run();
} finally {
  clearInterval(timer);
}
// Stopped and drained: the SIP of the last blocks goes to the owner, which ends its calls (their media
// lingering after a BYE) only once every worker is here: packets captured before the stop, read after the
// owner's retirements, would start second streams. The capture closes only then too: the kernel hands a
// leaving member's flows to the others, and one still reading would start second streams of them. Then
// bindings still apply, and every stream's final report is posted a part at a time so the main thread
// sends them as they come; each part's stats say how many streams are still open.
pipeline.drainedCapture(); // before the owner's retirements of ended calls: RTCP BYEs held for this worker's packets end theirs
captureDrained = true; // held questions about RTCP are answered now: no packet of theirs comes any more
flush();
wantProgress(false); // its SIP is all sent: the main thread waits for it no more
post({ t: 'drained' });
await finishing;
await loop.close();
drainControl();
for (let done = false; !done; ) {
  done = pipeline.finishSome(FINISH_PART_STREAMS);
  flush(true);
  sendStats();
  while (partsInFlight >= PARTS_AHEAD) await new Promise<void>((resolve) => (partTaken = resolve));
}
post({ t: 'done' });
control.close();
