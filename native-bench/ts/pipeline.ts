/**
 * The probe's own packet path, as the benches time it: a Pipeline (src/pipeline) built from the CLI's
 * configuration, fed either through Pipeline.processRecords (file replay: a capture cursor decodes each
 * record as it reads it) or through Pipeline.processBatch (live capture: the addon fills PacketBatch
 * arrays, the pipeline reads them). No copy of the loop: what is timed is what `rtpprobe replay` and
 * `rtpprobe run` call per packet. Also per-stream result extraction, shared by native.ts, scale.ts and
 * replay-vs-tshark.ts.
 */
import { readFileSync } from 'node:fs';
import { openCaptureFile, readCaptureBuffer, type PacketBatch } from '../../dist/capture/index.js';
import { CaptureCursor } from '../../dist/capture/file/index.js';
import { defaultConfig, type ProbeConfig } from '../../dist/ops/config.js';
import { writeScenarioPcap } from '../../dist/gen/scenario.js';
import { openOutputs, Pipeline, StreamTable } from '../../dist/pipeline/index.js';
import { type RtpEngine, createStreamSnapshot } from '../../dist/rtp/index.js';

/** The CLI's defaults with no report destination (as `rtpprobe replay FILE --no-hep`). */
export function benchConfig(maxStreams?: number): ProbeConfig {
  const c = defaultConfig();
  c.hep.enabled = false;
  c.reports.jsonl.enabled = false;
  if (maxStreams !== undefined) c.rtp.maxStreams = maxStreams;
  return c;
}

/**
 * native.ts's scenario (alloc.ts reads the same): `calls` concurrent G.711 calls of `callDurationS`, 1 %
 * bursty loss, `jitterMs` of network jitter, RTCP. Returns the generator's counts.
 */
export function writeBenchScenario(file: string, calls: number, callDurationS: number, jitterMs: number): ReturnType<typeof writeScenarioPcap> {
  return writeScenarioPcap(file, {
    calls, concurrentCalls: calls, durationS: 0, callDurationS, codec: 'PCMA', lossPct: 1, burstLossPct: 30, jitterMs, rtcp: true, seed: 42, startEpochS: 1_700_000_000,
  });
}

/**
 * A pipeline wired as `rtpprobe replay FILE --no-hep` wires it: its report sink from openOutputs, the
 * closing stream table taking each final report (so the final reports are built, as the C reference
 * builds its own).
 */
export function benchPipeline(config: ProbeConfig): Pipeline {
  const table = new StreamTable();
  return new Pipeline(config, openOutputs(config, { onFinalReport: (r) => table.add(r) }).sink);
}

/** Replay path over a capture in memory: one window, the whole capture. Returns packets processed. */
export function replayBuffer(p: Pipeline, data: Uint8Array): number {
  const before = p.counts.packets;
  const cur = new CaptureCursor(data, 'bench');
  keepAlive.push(cur); // as the file reader keeps its cursor for the whole replay (see keepAlive)
  p.processRecords(cur);
  return p.counts.packets - before;
}

/** Replay path over a file, through the file reader's windows (what runReplay does without --realtime). */
export async function replayFile(p: Pipeline, path: string): Promise<number> {
  const reader = openCaptureFile(path);
  try {
    for await (const cur of reader.records()) p.processRecords(cur);
  } finally {
    await reader.close();
  }
  return p.counts.packets;
}

/**
 * The capture as live capture's batches: `batchPackets` packets each (the addon's default 4096), arrays
 * filled beforehand, so only what JavaScript does with a batch is timed (the addon fills them in C).
 * The packets stay where they are in `data` (a batch's offsets may point anywhere in its buffer).
 */
export function liveBatches(data: Uint8Array, batchPackets = 4096): PacketBatch[] {
  const out: PacketBatch[] = [];
  for (const b of readCaptureBuffer(data, 'bench', batchPackets)) {
    const n = b.count;
    out.push({
      buf: b.buf, count: n, offset: b.offset.slice(0, n), caplen: b.caplen.slice(0, n), wirelen: b.wirelen.slice(0, n),
      tsSec: b.tsSec.slice(0, n), tsNsec: b.tsNsec.slice(0, n), linkType: b.linkType.slice(0, n),
    });
  }
  return out;
}

/** Live path: each batch as the capture loop hands it over. Returns packets processed. */
export function liveRun(p: Pipeline, batches: PacketBatch[]): number {
  const before = p.counts.packets;
  for (let i = 0; i < batches.length; i++) p.processBatch(batches[i]);
  return p.counts.packets - before;
}

export interface StreamResult {
  key: string;
  packets: number;
  /** Wireshark's lost (expected from first/last sequence number minus packets). */
  lost: number;
  maxDeltaMs: number;
  maxJitterMs: number;
  meanJitterMs: number;
  meanDeltaMs: number;
  /** Jitter-buffer discards per buffer (F1, F2, ADAPT) when the emulation is on. */
  discards?: number[];
  /** Gilbert BurstR of each buffer's loss runs since the start (every number fed to them counts). */
  burstR?: number[];
}

export function streamKeyOf(src: string, srcPort: number, dst: string, dstPort: number, ssrc: number): string {
  return `${src}:${srcPort}>${dst}:${dstPort}#${ssrc >>> 0}`;
}

/** Cumulative per-stream results of every active stream (report time: allocates). */
export function streamResults(engine: RtpEngine, out = new Map<string, StreamResult>()): Map<string, StreamResult> {
  const snap = createStreamSnapshot();
  engine.forEachActive((slot) => addResult(engine, slot, snap, out));
  return out;
}

/**
 * Collects the results of every stream `p` ends from now on (calls end with BYE inside a capture), read
 * just before the pipeline's own end-of-stream work. For a verification run only: not timed.
 */
export function collectEnded(p: Pipeline): Map<string, StreamResult> {
  const out = new Map<string, StreamResult>();
  const snap = createStreamSnapshot();
  const hooks = p.engine.hooks;
  const onEnd = hooks.onStreamEnd;
  hooks.onStreamEnd = (slot, reason) => {
    addResult(p.engine, slot, snap, out);
    onEnd?.(slot, reason);
  };
  return out;
}

/** What a stream's final report says that native.ts checks against the C reference: its call, its MOS per buffer. */
export interface StreamFinal {
  callId: string;
  /** The final report's MOS through F1, F2 and ADAPT (unrounded: the reporter's means over the intervals). */
  mos: number[];
  /** Its SILENCES, SILENCE_MS and MAX_SILENCE_MS (report/silences.ts), and ONE_WAY_RTP. */
  silences: number[];
  oneWay: number;
}

/**
 * Collects, per stream, the Call-ID, final MOS per jitter buffer, silences and one-way state of every final report `p` builds from
 * now on (read right after the reporter scored the stream's last interval). For a verification run only.
 */
export function collectFinals(p: Pipeline): Map<string, StreamFinal> {
  const out = new Map<string, StreamFinal>();
  const r = p.reporter;
  const onStreamEnd = r.onStreamEnd.bind(r);
  r.onStreamEnd = (snap, input, kind, nowMs) => {
    const reports = onStreamEnd(snap, input, kind, nowMs);
    const key = streamKeyOf(snap.srcIp, snap.srcPort, snap.dstIp, snap.dstPort, snap.ssrc);
    const sil = r.silences;
    out.set(key, {
      callId: input.callId ?? '',
      mos: [0, 1, 2].map((b) => r.qos.meanMosB(snap.slot, b)),
      silences: [sil.count[snap.slot], sil.totalMs[snap.slot], sil.maxMs[snap.slot]],
      oneWay: r.oneWay[snap.slot],
    });
    return reports;
  };
  return out;
}

/** The rules of the media-fault reports, in the order rtpbench prints their counts (faults=). */
export const FAULT_RULES = ['silence', 'one-way-rtp', 'no-media'] as const;

/**
 * Counts the media-fault reports `p` makes from now on, per rule of FAULT_RULES: [ALERT, CLEARED] (a stream's
 * through the reporter's faultReport, a call's no-media through the fault monitor). For a verification run only.
 */
export function collectFaultReports(p: Pipeline): number[][] {
  const counts = FAULT_RULES.map(() => [0, 0]);
  const count = (rule: string, kind: 'ALERT' | 'CLEARED') => {
    const r = (FAULT_RULES as readonly string[]).indexOf(rule);
    if (r < 0) throw new Error(`fault report of unknown rule ${rule}`);
    counts[r][kind === 'ALERT' ? 0 : 1]++;
  };
  const r = p.reporter;
  const faultReport = r.faultReport.bind(r);
  r.faultReport = (snap, input, kind, rule, nowMs) => {
    const out = faultReport(snap, input, kind, rule, nowMs);
    if (out !== null) count(rule, kind);
    return out;
  };
  const f = p.faults;
  const started = f.started.bind(f);
  const cleared = f.cleared.bind(f);
  f.started = (call, fault, dir, nowMs) => {
    if (fault === 'no-media') count(fault, 'ALERT');
    started(call, fault, dir, nowMs);
  };
  f.cleared = (call, fault, dir, nowMs, reason) => {
    if (fault === 'no-media') count(fault, 'CLEARED');
    cleared(call, fault, dir, nowMs, reason);
  };
  return counts;
}

function addResult(engine: RtpEngine, slot: number, snap: ReturnType<typeof createStreamSnapshot>, out: Map<string, StreamResult>): void {
  engine.snapshot(slot, snap);
  const key = streamKeyOf(snap.srcIp, snap.srcPort, snap.dstIp, snap.dstPort, snap.ssrc);
  if (out.has(key)) throw new Error(`stream ${key} ended twice`);
  const c = snap.cumulative;
  out.set(key, {
    key, packets: c.packets, lost: snap.wiresharkLost ?? 0, maxDeltaMs: c.maxDeltaMs, maxJitterMs: c.maxJitterMs,
    meanJitterMs: c.meanJitterMs, meanDeltaMs: c.meanDeltaMs,
    ...(snap.jitterBuffers === true && snap.jb !== undefined ? { discards: [...snap.jb.cumulative.discards], burstR: [...snap.jb.cumulative.burstR] } : {}),
  });
}

/** Names of the fields where `a` and `b` differ (counts exactly, times within `tol` ms). */
export function diffStream(a: StreamResult, b: StreamResult, tol = 1e-6): string[] {
  const bad: string[] = [];
  if (a.packets !== b.packets) bad.push(`packets ${a.packets} vs ${b.packets}`);
  if (a.lost !== b.lost) bad.push(`lost ${a.lost} vs ${b.lost}`);
  for (const f of ['maxDeltaMs', 'maxJitterMs', 'meanJitterMs', 'meanDeltaMs'] as const) {
    if (!(Math.abs(a[f] - b[f]) <= tol)) bad.push(`${f} ${a[f]} vs ${b[f]}`);
  }
  if (a.discards !== undefined && b.discards !== undefined && a.discards.join() !== b.discards.join()) bad.push(`discards ${a.discards.join('/')} vs ${b.discards.join('/')}`);
  if (a.burstR !== undefined && b.burstR !== undefined && a.burstR.some((r, i) => !(Math.abs(r - b.burstR![i]) <= tol))) bad.push(`jitter-buffer BurstR ${a.burstR.join('/')} vs ${b.burstR.join('/')}`);
  return bad;
}

/**
 * Objects of finished timed rounds, kept reachable until the bench ends. When every instance of a class
 * of the loop (cursor, parser, engine) has died, the next full GC collects their maps, which clears the
 * inline caches that named them and deoptimizes the compiled loop that embedded them: with gc() between
 * rounds, every round then started unoptimized and re-optimized mid-run (measured 93-116 ns/pkt instead of
 * 84-88 in the same window). A probe keeps these objects for its whole run, so that is not its cost.
 */
export const keepAlive: unknown[] = [];

export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * CPU time of this thread so far, ns (/proc/thread-self/schedstat): on a machine shared with other jobs,
 * time spent descheduled is not the loop's. The C reference times itself with CLOCK_THREAD_CPUTIME_ID.
 */
export function threadCpuNs(): number {
  return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);
}

export function elapsedMs(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
