/**
 * What a burst of reports costs on the path `rtpprobe run` takes: a Pipeline wired as the CLI wires it
 * (LiveRun's target in front of openOutputs' sink, a HEP collector over UDP to a socket of this process),
 * holding `--calls` signalled calls (two streams each) captured up to just before their BYEs. Timed, as CPU
 * time of this thread:
 *   - interval burst: one tick at which every stream is due (a PERIODIC each, rules evaluated);
 *   - final burst: a stop as `rtpprobe run` makes it: LiveRun.stopping, Pipeline.finish (every stream's FINAL
 *     at once, as also at a replay's end of file) and LiveRun.finish (the table of the streams at stop).
 * Reference in the same run: JSON.stringify of each report of the final burst (a cost every report pays).
 * `--rules N`: the first N of a list of typical alert rules (default 0, as the shipped configuration).
 * Run: node --expose-gc native-bench/out/report-burst.js [--calls 5000] [--rules 2] [--rounds 3]
 */
import { createSocket } from 'node:dgram';
import pino from 'pino';
import { classicPcap, generateScenario, type PcapRecord } from '../../dist/gen/index.js';
import { CaptureCursor } from '../../dist/capture/file/index.js';
import { loadConfig } from '../../dist/ops/config.js';
import { LiveRun } from '../../dist/ops/live-run.js';
import { openOutputs, Pipeline } from '../../dist/pipeline/index.js';
import type { QosReport } from '../../dist/report/index.js';
import { argNumber } from './args.js';
import { gc, threadCpuNs } from './pipeline.js';

const CALLS = argNumber('calls', 5000);
const RULES = argNumber('rules', 0);
const ROUNDS = argNumber('rounds', 3);
const START_S = 1_700_000_000;
/** Calls start within the first second and send 2.5 s of media; the capture is cut at 2.4 s (no BYE yet). */
const CUT_NS = BigInt(START_S) * 1_000_000_000n + 2_400_000_000n;
const INTERVAL_S = 5;
const RULE_LIST = [
  { name: 'degraded', when: 'mos < 3.6 or loss_pct > 2', interval_s: 2 },
  { name: 'jitter', when: 'max_jitter_ms > 30 and packets > 0', interval_s: 5 },
  { name: 'discards', when: 'mos_adapt < 3.5 or eff_loss_pct >= 3', interval_s: 2 },
  { name: 'delay', when: 'one_way_delay_ms > 150 or abs(skew_ms) > 80', interval_s: 5 },
];

function capture(): Buffer {
  const recs: PcapRecord[] = [];
  const gen = generateScenario({
    calls: CALLS, durationS: 3, callDurationS: 2.5, codec: 'PCMA', lossPct: 1, burstLossPct: 30, jitterMs: 5, rtcp: true, seed: 7, startEpochS: START_S,
  });
  for (const r of gen) {
    if (r.tsNs > CUT_NS) break;
    recs.push({ tsNs: r.tsNs, data: r.data.slice() });
  }
  return classicPcap(recs);
}

interface Round {
  intervalNs: number;
  intervalReports: number;
  finalNs: number;
  finalReports: number;
  referenceNs: number;
}

async function round(data: Buffer, port: number): Promise<Round> {
  const config = loadConfig({
    overrides: {
      'hep.collectors': `udp://127.0.0.1:${port}`,
      'reports.interval_s': String(INTERVAL_S),
      // Only the bursts: no silence alerts for the gap before the tick.
      'reports.faults.silence_s': '0',
      'reports.rules': RULE_LIST.slice(0, RULES),
    },
  });
  const outputs = openOutputs(config);
  const live = new LiveRun({ log: pino({ level: 'silent' }), config, logEvents: false });
  const finals: QosReport[] = [];
  const target = live.target(outputs.sink);
  let counting = false;
  const p = new Pipeline(config, {
    ...target,
    qos(report, env, send, log) {
      if (counting && (report.TYPE === 'FINAL' || report.TYPE === 'HANGUP')) finals.push(report);
      target.qos(report, env, send, log);
    },
  });
  p.processRecords(new CaptureCursor(data, 'bench'));
  const streams = p.engine.activeStreams;
  gc();
  const q0 = outputs.sink.counts.qosReports;
  let t0 = threadCpuNs();
  // Every stream started in the first second: all are due one interval later.
  p.tick(START_S * 1000 + (INTERVAL_S + 2) * 1000);
  const intervalNs = threadCpuNs() - t0;
  const q1 = outputs.sink.counts.qosReports;
  gc();
  counting = true;
  t0 = threadCpuNs();
  live.stopping();
  p.finish();
  if (live.finish() === '') throw new Error('no stop table');
  const finalNs = threadCpuNs() - t0;
  const q2 = outputs.sink.counts.qosReports;
  if (finals.length !== streams) throw new Error(`${streams} streams open, ${finals.length} final reports`);
  gc();
  t0 = threadCpuNs();
  let bytes = 0;
  for (const r of finals) bytes += JSON.stringify(r).length;
  const referenceNs = threadCpuNs() - t0;
  if (bytes === 0) throw new Error('no report');
  await outputs.close(100);
  return { intervalNs, intervalReports: q1 - q0, finalNs, finalReports: q2 - q1, referenceNs };
}

const rx = createSocket('udp4');
rx.on('message', () => {});
await new Promise<void>((resolve) => rx.bind(0, '127.0.0.1', resolve));
const data = capture();
console.log(`${CALLS} calls (${2 * CALLS} streams), ${RULES} rules, HEP over UDP to 127.0.0.1; CPU time of this thread; reference: JSON.stringify of each FINAL`);
for (let r = 0; r < ROUNDS; r++) {
  const x = await round(data, rx.address().port);
  const us = (ns: number, n: number) => (ns / n / 1000).toFixed(1);
  const ref = x.referenceNs / x.finalReports;
  console.log(
    `round ${r + 1}: interval ${x.intervalReports} reports ${us(x.intervalNs, x.intervalReports)} us each (${(x.intervalNs / x.intervalReports / ref).toFixed(2)}x ref), ` +
      `final ${x.finalReports} reports ${us(x.finalNs, x.finalReports)} us each (${(x.finalNs / x.finalReports / ref).toFixed(2)}x ref, ` +
      `${Math.round((1e9 * x.finalReports) / x.finalNs)}/s), reference ${(ref / 1000).toFixed(1)} us`,
  );
}
rx.close();
