import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ProbeConfig } from '../../ops/config.js';
import type { ReportTarget } from '../report-sink.js';
import type { MainToWorker, WorkerStats, WorkerToMain } from './messages.js';
import { SignallingOwner } from './signalling.js';

export interface MediaWorkerPoolHandlers {
  /** Where the workers' reports go (the main thread's one ReportSink: one HEP sender, one JSON-lines file). */
  sink: ReportTarget;
  log: Logger;
  streamsStarted?(n: number): void;
  streamEnded?(reason: number, finalMos: number): void;
  captureState?(state: 'running' | 'failed'): void;
}

interface Member {
  index: number;
  worker: Worker;
  control: MessagePort;
  stats: WorkerStats | null;
  captureFailed: boolean;
  done: boolean;
  exited: Promise<number>;
}

/**
 * N media workers on one PACKET_FANOUT group plus the signalling owner (this thread's CallTracker).
 * The main thread is the owner because SIP is rare and the thread is otherwise idle but for the
 * outputs: a separate signalling worker would add a hop for every binding and take no media load off.
 */
export class MediaWorkerPool {
  readonly signalling: SignallingOwner;
  private readonly members: Member[] = [];
  private readonly crash: (err: Error) => void;
  /** Settles when every worker has exited after its final reports; rejects when one dies unexpectedly. */
  readonly finished: Promise<void>;

  constructor(
    private readonly config: ProbeConfig,
    readonly fanoutGroup: number,
    private readonly h: MediaWorkerPoolHandlers,
  ) {
    this.signalling = new SignallingOwner(config, (m) => this.broadcast(m));
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
      await Promise.all(this.members.map((m) => m.worker.terminate()));
      throw err;
    }
  }

  private spawn(index: number): Promise<{ backend: string; linkType: number; warnings: string[] }> {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(new URL('./media-worker.js', import.meta.url), {
      workerData: { index, config: this.config, fanoutGroup: this.fanoutGroup, control: port2 },
      transferList: [port2],
    });
    const member: Member = { index, worker, control: port1, stats: null, captureFailed: false, done: false, exited: new Promise((r) => worker.once('exit', r)) };
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
        this.signalling.onSip(m.packets);
        break;
      case 'reports':
        for (const r of m.items) {
          if (r.k === 'qos') this.h.sink.qos(r.report, r.env, r.send, r.log);
          else this.h.sink.rtcp(r.json, r.env, r.callId);
        }
        break;
      case 'rtcp':
        for (const x of this.members) if (x !== member && !x.done) x.control.postMessage(m);
        break;
      case 'touch':
        this.signalling.touch(m.callIndex, m.callId, m.nowMs);
        break;
      case 'stats': {
        const before = member.stats?.streamsStarted ?? 0;
        member.stats = m.stats;
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
      case 'done':
        member.done = true;
        break;
    }
  }

  private broadcast(m: MainToWorker): void {
    for (const x of this.members) if (!x.done) x.control.postMessage(m);
  }

  /** Configuration reload: report intervals and rules change in every worker. */
  reload(next: ProbeConfig): void {
    this.broadcast({ t: 'reload', intervalS: next.reports.intervalS, rules: next.reports.rules });
  }

  /** Every worker stops capturing, sends each stream's final report, and exits; then the owner ends its calls. */
  async stop(): Promise<void> {
    this.broadcast({ t: 'stop' });
    await Promise.all(this.members.map((m) => m.exited));
    this.signalling.endAll();
  }

  /** Per-worker counters (latest of each): for /metrics and the run summary. */
  workerStats(): WorkerStats[] {
    return this.members.map((m) => m.stats).filter((s): s is WorkerStats => s !== null);
  }

  /** Workers' capture counters summed. */
  captureTotals(): { received: number; droppedKernel: number; droppedInterface: number } {
    const t = { received: 0, droppedKernel: 0, droppedInterface: 0 };
    for (const s of this.workerStats()) {
      t.received += s.capture.received;
      t.droppedKernel += s.capture.droppedKernel;
      t.droppedInterface += s.capture.droppedInterface;
    }
    return t;
  }
}

/**
 * A fanout group id when the configuration leaves it 0: from the process id, so two probes on one host
 * do not join each other's group (the kernel would split packets between them).
 */
export function autoFanoutGroup(pid = process.pid): number {
  return (pid % 65535) + 1;
}
