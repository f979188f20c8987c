import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ProbeConfig } from '../../ops/config.js';
import type { ReportTarget } from '../report-sink.js';
import type { MainToWorker, WorkerStats, WorkerToMain } from './messages.js';
import { SignallingOwner } from './signalling.js';
import { SipOrder } from './sip-order.js';
import { SipInFlight } from './sip-in-flight.js';
import { GroupRejoin } from './group-rejoin.js';
import { mediaFaultLimits } from '../media-faults.js';
import { nodeNameOf, RateLimitedLog } from '../../outbound/index.js';
import type { RtcpAsk } from './held-asks.js';
import { RtcpAsks, type UnmatchedRtcp } from './rtcp-asks.js';
import type { SipTarget } from '../sip-out.js';
import { sipValueTooLongReporter } from '../call-evictions.js';
import type { CaptureTotals } from '../capture-loop.js';

export interface MediaWorkerPoolHandlers {
  /** Where the workers' reports go (the main thread's one ReportSink: one HEP sender, one JSON-lines file). */
  sink: ReportTarget;
  log: Logger;
  streamsStarted?(n: number): void;
  streamEnded?(reason: number, finalMos: number): void;
  captureState?(state: 'running' | 'failed'): void;
  /** `n` more SIP packets a worker did not forward (SipInFlight's limit reached); log it rate-limited. */
  sipDropped?(n: number): void;
}

interface Member {
  index: number;
  worker: Worker;
  control: MessagePort;
  stats: WorkerStats | null;
  /** Date.now() of the latest counters: a worker stuck in a loop stops sending them. */
  statsAtMs: number;
  captureFailed: boolean;
  done: boolean;
  running: boolean;
  exited: Promise<number>;
  /** Settles once the worker has drained its capture after a stop (or exited). */
  drained: Promise<void>;
  setDrained: () => void;
}

/** One worker's state for /metrics (per-worker series) and logs. */
export interface WorkerHealth {
  index: number;
  /** Thread running, capture open, counters heard within STALE_MS. */
  up: boolean;
  stats: WorkerStats | null;
}

/** A worker silent for this long counts as down (it posts counters every second, also under load). */
const STALE_MS = 5000;
/**
 * How long a reload waits for every worker to confirm. A worker that misses it still applies the rules
 * when it reads the message; a loaded 2-core host can take several seconds to get there.
 */
export const RELOAD_ACK_MS = 10_000;
/** The workers stop sending their progress once no SIP has been held this long (on and off cost a message each). */
const PROGRESS_OFF_MS = 1000;
/**
 * RTCP compounds of streams without SIP waiting for the other workers' answers (RtcpAsks): each worker
 * answers as it reads its control messages, so only a flood of RTCP from unknown flows fills this.
 */
const RTCP_ASKS_MAX = 4096;

/**
 * N media workers on one PACKET_FANOUT group plus the signalling owner (this thread's CallTracker).
 * The main thread is the owner because SIP is rare and the thread is otherwise idle but for the
 * outputs: a separate signalling worker would add a hop for every binding and take no media load off.
 */
export class MediaWorkerPool {
  readonly signalling: SignallingOwner;
  /** The workers' SIP on its way to the signalling owner, in capture order. */
  private readonly sipOrder: SipOrder;
  /** The workers' SIP not handled yet (in this thread's message queue or in sipOrder): bounded. */
  private readonly sipInFlight: SipInFlight;
  private readonly sipInFlightMemory = SipInFlight.memory();
  private sipTimer: NodeJS.Timeout | null = null;
  /** performance.now() at which sipTimer fires. */
  private sipTimerAt = Number.POSITIVE_INFINITY;
  /** The workers send their progress (SipOrder holds SIP, or did within PROGRESS_OFF_MS). */
  private progressOn = false;
  private progressOffTimer: NodeJS.Timeout | null = null;
  private readonly members: Member[] = [];
  /** RTCP without SIP a worker read and holds no stream of: the other workers are asked for it. */
  private readonly rtcpAsks: RtcpAsks;
  private readonly rtcpAsksLog: RateLimitedLog;
  private readonly crash: (err: Error) => void;
  /** Whose turn it is to open the capture (see MediaWorkerData.openTurn). */
  private readonly openTurn = new SharedArrayBuffer(4);
  /** When the last worker had opened (see MediaWorkerData.groupCompleteAt). */
  private readonly groupCompleteAt = new SharedArrayBuffer(8);
  /** See MediaWorkerData.groupRejoin. */
  private readonly groupRejoin = GroupRejoin.memory();
  /** Settles when every worker has exited after its final reports; rejects when one dies unexpectedly. */
  readonly finished: Promise<void>;

  constructor(
    private readonly config: ProbeConfig,
    readonly fanoutGroup: number,
    private readonly h: MediaWorkerPoolHandlers,
  ) {
    // SIP is parsed here, on the main thread: it leaves through the sink from here too (HEP type 1).
    const sink = h.sink as Partial<SipTarget>;
    this.signalling = new SignallingOwner(
      config,
      (m) => this.broadcast(m),
      sink.sip && sink.wantsSip ? (sink as SipTarget) : undefined,
      { target: h.sink, nodeName: nodeNameOf(config) },
      sipValueTooLongReporter(h.log),
    );
    this.rtcpAsks = new RtcpAsks(h.sink, RTCP_ASKS_MAX);
    this.rtcpAsksLog = new RateLimitedLog(h.log);
    this.sipInFlight = new SipInFlight(this.sipInFlightMemory);
    this.sipOrder = new SipOrder(config.capture.workers, config.capture.bufferTimeoutMs, (s, worker) => {
      this.sipInFlight.give(s.bytes.length);
      this.signalling.onSip(s, worker);
    });
    let fail!: (err: Error) => void;
    const crashed = new Promise<never>((_, reject) => (fail = reject));
    crashed.catch(() => {}); // observed through `finished`
    this.crash = fail;
    this.finished = Promise.race([crashed, new Promise<void>((resolve) => (this.resolveAll = resolve))]);
  }

  private resolveAll: () => void = () => {};

  /** Starts the workers; resolves once each has its capture open (rejects with the first open error). */
  async start(): Promise<{ backend: string; linkType: number; warnings: string[] }> {
    const n = this.config.capture.workers;
    const ready: Promise<{ backend: string; linkType: number; warnings: string[] }>[] = [];
    for (let index = 0; index < n; index++) ready.push(this.spawn(index));
    try {
      const all = await Promise.all(ready);
      return all[0]!;
    } catch (err) {
      // The workers exiting now is no crash: the open error is what the caller reports (exit code 3).
      this.finished.catch(() => {});
      await Promise.all(this.members.map((m) => m.worker.terminate()));
      throw err;
    }
  }

  private spawn(index: number): Promise<{ backend: string; linkType: number; warnings: string[] }> {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(new URL('./media-worker.js', import.meta.url), {
      workerData: { index, config: this.config, fanoutGroup: this.fanoutGroup, openTurn: this.openTurn, groupCompleteAt: this.groupCompleteAt, groupRejoin: this.groupRejoin, sipInFlight: this.sipInFlightMemory, control: port2 },
      transferList: [port2],
    });
    let setDrained!: () => void;
    const drained = new Promise<void>(
      (r) =>
        (setDrained = () => {
          // Its SIP has all come: it holds no other worker's back.
          this.sipOrder.finish(index);
          this.releaseSip();
          r();
        }),
    );
    const member: Member = { index, worker, control: port1, stats: null, statsAtMs: 0, captureFailed: false, done: false, running: true, exited: new Promise((r) => worker.once('exit', r)), drained, setDrained };
    void member.exited.then(setDrained);
    this.members.push(member);
    return new Promise((resolve, reject) => {
      worker.on('message', (m: WorkerToMain) => {
        if (m.t === 'ready') resolve(m);
        else if (m.t === 'open-failed') reject(Object.assign(new Error(`media worker ${index}: ${m.message}`), { name: 'CaptureOpenError', code: m.code }));
        else this.onMessage(member, m);
      });
      worker.on('error', (err) => {
        this.h.log.fatal({ err, worker: index }, 'media worker crashed');
        reject(err);
      });
      void member.exited.then((code) => {
        member.running = false;
        this.rtcpAsks.workerGone(index);
        if (member.done) {
          if (this.members.every((x) => x.done)) this.resolveAll();
          return;
        }
        reject(new Error(`media worker ${index} exited before its capture opened (code ${code})`)); // no-op once ready
        this.crash(new Error(`media worker ${index} exited unexpectedly (code ${code}); the final reports of its streams are lost`));
      });
    });
  }

  private onMessage(member: Member, m: WorkerToMain): void {
    switch (m.t) {
      case 'sip':
        if (!this.sipOrder.add(member.index, m.packets, m.throughMs, performance.now())) for (const s of m.packets) this.sipInFlight.give(s.bytes.length);
        this.releaseSip();
        break;
      case 'reports':
        for (const r of m.items) {
          if (r.k === 'qos') this.h.sink.qos(r.report, r.env, r.send, r.log, r.json);
          else this.h.sink.rtcp(r.json, r.env, r.callId, r.compound);
        }
        if (member.stats) member.stats.activeStreams = m.activeStreams;
        if (m.part) member.control.postMessage({ t: 'took' } satisfies MainToWorker);
        break;
      case 'rtcp':
        for (const x of this.members) if (x !== member && !x.done) x.control.postMessage(m);
        break;
      case 'rtcp-unmatched':
        this.askRtcp(member, m.items);
        break;
      case 'rtcp-answer':
        for (const [seq, callId] of m.answers) this.rtcpAsks.answer(seq, member.index, callId);
        break;
      case 'touch':
        this.signalling.touch(m.callIndex, m.callId, m.mediaAtMs, m.nowMs);
        break;
      case 'stats': {
        const before = member.stats?.streamsStarted ?? 0;
        const droppedBefore = member.stats?.sipDropped ?? 0;
        member.stats = m.stats;
        if (m.stats.sipDropped > droppedBefore) this.h.sipDropped?.(m.stats.sipDropped - droppedBefore);
        member.statsAtMs = Date.now();
        this.signalling.workerClock(member.index, m.stats.clockOffsetMs, m.stats.clockSteps, m.stats.nowMs);
        if (m.stats.streamsStarted > before) this.h.streamsStarted?.(m.stats.streamsStarted - before);
        for (const [reason, mos] of m.ended) this.h.streamEnded?.(reason, mos);
        break;
      }
      case 'log':
        this.h.log[m.level]({ ...m.obj, worker: member.index }, m.msg);
        break;
      case 'state':
        // Healthy only while every worker captures: one lost interface handle is a hole in the traffic.
        member.captureFailed = m.state === 'failed';
        this.h.captureState?.(this.members.some((x) => x.captureFailed) ? 'failed' : 'running');
        break;
      case 'reloaded':
        this.reloadAcks.get(m.seq)?.(member.index, m.error);
        break;
      case 'drained':
        member.setDrained();
        break;
      case 'done':
        member.done = true;
        this.rtcpAsks.workerGone(member.index);
        break;
    }
  }

  /** Asks the reader's peers for the streams of RTCP compounds it holds none of (see RtcpAsks). */
  private askRtcp(reader: Member, items: UnmatchedRtcp[]): void {
    const peers = this.members.filter((x) => x !== reader && !x.done && x.running);
    const asks: RtcpAsk[] = [];
    const overflow = this.rtcpAsks.overflow;
    for (const r of items) {
      const seq = this.rtcpAsks.ask(r, peers.map((x) => x.index));
      if (seq >= 0) asks.push([seq, r.lookup, r.env.tsMs]);
    }
    if (this.rtcpAsks.overflow > overflow) {
      this.rtcpAsksLog.warn('rtcp-asks-full', { waiting: this.rtcpAsks.size, sentUncorrelated: this.rtcpAsks.overflow - overflow }, 'RTCP without SIP sent uncorrelated without asking the other media workers for its stream: too many wait for their answers (a flood of RTCP from unknown flows)');
    }
    if (asks.length > 0) for (const x of peers) x.control.postMessage({ t: 'rtcp-ask', asks } satisfies MainToWorker);
  }

  /** Applies the SIP that may go now; a timer comes back when held SIP may go without news from the workers. */
  private releaseSip(): void {
    const next = this.sipOrder.release(performance.now());
    const held = next !== Number.POSITIVE_INFINITY;
    this.wantProgress(held);
    if (held && next >= this.sipTimerAt) return; // the timer set comes first: it checks again then
    if (this.sipTimer) clearTimeout(this.sipTimer);
    this.sipTimer = null;
    this.sipTimerAt = next;
    if (!held) return;
    this.sipTimer = setTimeout(() => {
      this.sipTimer = null;
      this.sipTimerAt = Number.POSITIVE_INFINITY;
      this.releaseSip();
    }, Math.max(1, Math.ceil(next - performance.now())));
  }

  /** Progress is asked for while SIP is held, and stays asked for PROGRESS_OFF_MS after (SIP keeps coming). */
  private wantProgress(held: boolean): void {
    if (held) {
      if (this.progressOffTimer) clearTimeout(this.progressOffTimer);
      this.progressOffTimer = null;
      if (!this.progressOn) this.broadcast({ t: 'progress', on: (this.progressOn = true) });
    } else if (this.progressOn && this.progressOffTimer === null) {
      this.progressOffTimer = setTimeout(() => {
        this.progressOffTimer = null;
        this.broadcast({ t: 'progress', on: (this.progressOn = false) });
      }, PROGRESS_OFF_MS);
    }
  }

  private broadcast(m: MainToWorker): void {
    for (const x of this.members) if (!x.done) x.control.postMessage(m);
  }

  private reloadSeq = 0;
  private readonly reloadAcks = new Map<number, (worker: number, error?: string) => void>();

  /**
   * Configuration reload: report intervals and rules change in every worker. Resolves when each running
   * worker confirmed (or after RELOAD_ACK_MS) with the workers that applied it and those that did not.
   */
  reload(next: ProbeConfig): Promise<{ applied: number[]; failed: Array<{ worker: number; reason: string }> }> {
    const seq = ++this.reloadSeq;
    const waiting = new Set(this.members.filter((x) => !x.done && x.running).map((x) => x.index));
    const result = { applied: [] as number[], failed: [] as Array<{ worker: number; reason: string }> };
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.reloadAcks.delete(seq);
        for (const worker of waiting) result.failed.push({ worker, reason: `did not confirm within ${RELOAD_ACK_MS / 1000} s (it applies the rules once it reads the reload)` });
        result.applied.sort((a, b) => a - b);
        resolve(result);
      };
      const timer = setTimeout(finish, RELOAD_ACK_MS);
      this.reloadAcks.set(seq, (worker, error) => {
        if (!waiting.delete(worker)) return;
        if (error === undefined) result.applied.push(worker);
        else result.failed.push({ worker, reason: error });
        if (waiting.size === 0) finish();
      });
      this.broadcast({ t: 'reload', seq, intervalS: next.reports.intervalS, rules: next.reports.rules, faults: next.reports.faults });
      this.signalling.setFaultLimits(mediaFaultLimits(next.reports.faults));
      if (waiting.size === 0) finish();
    });
  }

  /**
   * Every worker stops capturing and reads what was captured before the stop; then the owner, which has
   * the SIP of it, retires the media of ended calls (HANGUP, as one thread at its stop), and every worker
   * sends each stream's final report and exits; then the owner ends its calls.
   */
  async stop(): Promise<void> {
    this.broadcast({ t: 'stop' });
    await Promise.all(this.members.map((m) => m.drained));
    this.signalling.settle(); // its retirements reach the workers before 'finish'
    this.broadcast({ t: 'finish' });
    await Promise.all(this.members.map((m) => m.exited));
    if (this.progressOffTimer) clearTimeout(this.progressOffTimer); // nobody left to tell
    this.signalling.endAll();
  }

  /** SIP the workers forwarded that waits to be handled here (rtpprobe_sip_backlog). */
  get sipWaiting(): number {
    return this.sipInFlight.messages;
  }

  /** SIP handled before every worker had read past it, because SipOrder held its limit. */
  get sipReleasedEarly(): number {
    return this.sipOrder.releasedEarly;
  }

  /** Per-worker counters (latest of each): for /metrics and the run summary. */
  workerStats(): WorkerStats[] {
    return this.members.map((m) => m.stats).filter((s): s is WorkerStats => s !== null);
  }

  /** Each worker's state, by index, including workers that have not reported yet. */
  workerHealth(nowMs = Date.now()): WorkerHealth[] {
    return this.members.map((m) => ({
      index: m.index,
      up: m.running && !m.done && !m.captureFailed && m.stats !== null && nowMs - m.statsAtMs <= STALE_MS,
      stats: m.stats,
    }));
  }

  /** Workers' capture counters summed. */
  captureTotals(): CaptureTotals {
    const t = { received: 0, droppedKernel: 0, droppedInterface: 0, mergedFrames: 0 };
    for (const s of this.workerStats()) {
      t.received += s.capture.received;
      t.droppedKernel += s.capture.droppedKernel;
      t.droppedInterface += s.capture.droppedInterface;
      t.mergedFrames += s.capture.mergedFrames;
    }
    return t;
  }
}
