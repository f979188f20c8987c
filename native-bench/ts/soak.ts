/**
 * Soak run (issue 9): the whole Pipeline (decode -> SIP -> RTCP -> RTP engine -> reports -> sink) fed for
 * many minutes with generated SIP calls that start and end, capture time advancing round after round.
 * Every 10 s of wall time it samples RSS and heapUsed (after a full GC when run with --expose-gc) plus the
 * engine's active streams and the tracker's active calls. After the warm-up those samples must stay within
 * a band (default 10 % of the minimum) and the tables must not grow: a leak shows as a rising series.
 *
 *   node --expose-gc native-bench/out/soak.js --minutes 10 [--calls 200] [--warmup 60] [--band 10]
 *
 * Exit code 0 when the run stays flat, 1 when it does not.
 */
import { allocateBatch, LinkType, type PacketBatch } from '../../dist/capture/index.js';
import { scenarioFrames, type ScenarioOptions } from '../../dist/gen/index.js';
import { defaultConfig } from '../../dist/ops/config.js';
import { Pipeline, ReportSink } from '../../dist/pipeline/index.js';
import type { QosReport } from '../../dist/report/index.js';
import { argNumber } from './args.js';

interface Sample {
  tS: number;
  rssMb: number;
  heapMb: number;
  /** V8 heap reserved (committed) and memory outside it (ArrayBuffers, native): where RSS growth comes from. */
  heapTotalMb: number;
  externalMb: number;
  streams: number;
  calls: number;
  packets: number;
}

const minutes = argNumber('minutes', 10);
const concurrent = argNumber('calls', 200);
const warmupS = argNumber('warmup', 60);
const bandPct = argNumber('band', 10);
const sampleS = argNumber('sample', 10);
/** Capture seconds per generated round; calls last 20 s so each round has calls starting and ending. */
const ROUND_S = 60;
const CALL_S = 20;

const gc = (globalThis as { gc?: () => void }).gc;
const config = defaultConfig();
let reports = 0;
let finals = 0;
let badJson = 0;
const sink = new ReportSink([], { onReport: (r: QosReport) => {
    reports++;
    if (r.TYPE === 'FINAL' || r.TYPE === 'HANGUP') finals++;
    // Every 64th report re-parsed: the reports stay valid JSON all along (cheap enough not to dominate).
    if ((reports & 63) === 0) {
      try {
        JSON.parse(JSON.stringify(r));
      } catch {
        badJson++;
      }
    }
  },
});
const pipeline = new Pipeline(config, sink);
const batch: PacketBatch = allocateBatch(1024, 1024 * 1600);

function feed(frameData: Uint8Array, tNs: number, epochS: number): void {
  let used = batch.count === 0 ? 0 : batch.offset[batch.count - 1] + batch.caplen[batch.count - 1];
  if (batch.count === batch.offset.length || used + frameData.length > batch.buf.length) {
    pipeline.processBatch(batch);
    batch.count = 0;
    used = 0;
  }
  const i = batch.count++;
  batch.buf.set(frameData, used);
  batch.offset[i] = used;
  batch.caplen[i] = frameData.length;
  batch.wirelen[i] = frameData.length;
  const sec = Math.floor(tNs / 1e9);
  batch.tsSec[i] = epochS + sec;
  batch.tsNsec[i] = tNs - sec * 1e9;
  batch.linkType[i] = LinkType.EN10MB;
}

const samples: Sample[] = [];
const started = Date.now();
const endAt = started + minutes * 60_000;
let nextSample = started;
let epochS = 1_700_000_000;
let round = 0;

function sample(): void {
  gc?.();
  const m = process.memoryUsage();
  const s: Sample = {
    tS: Math.round((Date.now() - started) / 1000),
    rssMb: m.rss / 2 ** 20,
    heapMb: m.heapUsed / 2 ** 20,
    heapTotalMb: m.heapTotal / 2 ** 20,
    externalMb: m.external / 2 ** 20,
    streams: pipeline.engine.activeStreams,
    calls: pipeline.calls.activeCalls,
    packets: pipeline.counts.packets,
  };
  // Private maps of the RTT tracker read for diagnosis only: keyed by SSRC, they are the one table here
  // that new SSRCs keep adding to (bounded by its maxSsrcs, except the latest-RTT map).
  const rtt = pipeline.rtt as unknown as Record<string, Map<number, unknown>>;
  samples.push(s);
  console.log(
    `t=${s.tS}s rss=${s.rssMb.toFixed(1)}MB heapUsed=${s.heapMb.toFixed(1)}MB heapTotal=${s.heapTotalMb.toFixed(1)}MB external=${s.externalMb.toFixed(1)}MB streams=${s.streams} calls=${s.calls} packets=${s.packets} reports=${reports} captureTime=${epochS - 1_700_000_000}s rttMaps=${rtt.srs?.size}/${rtt.rrtrs?.size}/${rtt.latest?.size}`,
  );
}

while (Date.now() < endAt) {
  const opts: ScenarioOptions = {
    calls: Math.round((ROUND_S * concurrent) / CALL_S),
    concurrentCalls: concurrent,
    durationS: ROUND_S,
    callDurationS: CALL_S,
    codec: round % 2 ? 'PCMU' : 'PCMA',
    lossPct: 1,
    burstLossPct: round % 3 === 0 ? 30 : undefined,
    jitterMs: 5,
    rtcp: true,
    // A new seed per round: new Call-IDs and SSRCs, the same address plan (ports get reused as in life).
    seed: 1000 + round,
    startEpochS: epochS,
  };
  let lastNs = 0;
  let n = 0;
  for (const [t, data] of scenarioFrames(opts)) {
    feed(data, t, epochS);
    lastNs = t;
    if ((++n & 4095) === 0 && Date.now() >= nextSample) {
      sample();
      nextSample += sampleS * 1000;
      if (Date.now() >= endAt) break;
    }
  }
  pipeline.processBatch(batch);
  batch.count = 0;
  epochS += Math.ceil(lastNs / 1e9) + 1;
  round++;
}
sample();

const wallS = (Date.now() - started) / 1000;
const steady = samples.filter((s) => s.tS >= warmupS);
const range = (k: 'rssMb' | 'heapMb' | 'streams' | 'calls') => {
  const v = steady.map((s) => s[k]);
  return { min: Math.min(...v), max: Math.max(...v) };
};
const rss = range('rssMb');
const heap = range('heapMb');
const streams = range('streams');
const calls = range('calls');
const spread = (r: { min: number; max: number }) => (100 * (r.max - r.min)) / r.min;
// Tables must not grow: the second half's peak no higher than the first half's peak (plus one round of jitter).
const half = Math.floor(steady.length / 2);
const peak = (a: Sample[], k: 'streams' | 'calls') => Math.max(...a.map((s) => s[k]));
const grows = (k: 'streams' | 'calls') => peak(steady.slice(half), k) > peak(steady.slice(0, half), k) * 1.05 + 2;
const ok = steady.length >= 2 && spread(rss) <= bandPct && spread(heap) <= bandPct && !grows('streams') && !grows('calls') && badJson === 0;

console.log('--- soak summary ---');
console.log(`wall ${wallS.toFixed(0)} s, rounds ${round}, packets ${pipeline.counts.packets} (${(pipeline.counts.packets / wallS).toFixed(0)} pkt/s), capture time ${epochS - 1_700_000_000} s`);
console.log(`streams started ${pipeline.engine.counters.streamsStarted}, ended ${pipeline.counts.streamsEnded}, evicted ${pipeline.engine.counters.evicted}; reports ${reports} (final ${finals}); bad JSON ${badJson}`);
console.log(`after ${warmupS} s warm-up (${steady.length} samples, gc before each: ${gc ? 'yes' : 'no'}):`);
console.log(`  RSS      min ${rss.min.toFixed(1)} MB  max ${rss.max.toFixed(1)} MB  spread ${spread(rss).toFixed(1)} %`);
console.log(`  heapUsed min ${heap.min.toFixed(1)} MB  max ${heap.max.toFixed(1)} MB  spread ${spread(heap).toFixed(1)} %`);
console.log(`  active streams min ${streams.min} max ${streams.max}; active calls min ${calls.min} max ${calls.max}`);
console.log(ok ? `PASS: within ${bandPct} %, tables flat` : `FAIL: band ${bandPct} % or table growth or bad JSON`);
process.exitCode = ok ? 0 : 1;
