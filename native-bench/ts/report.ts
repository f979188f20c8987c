/**
 * Report/RTCP area benchmark. Reports and RTCP are per-interval and per-RTCP-packet costs (not per RTP
 * packet); this shows what one report tick and one RTCP compound cost, as ratios against a reference
 * measured in the same run: JSON.stringify of the finished report object (a cost every report pays).
 *   - QosReporter.onInterval: E-model on the interval + mathjs rules + building the report object
 *   - ReportScheduler.due over 100k slots (the timer scan)
 *   - parseRtcp of an SR+SDES compound, and rtcpToHomerJson of it
 * Run: node native-bench/out/report.js
 */
import { rtcpCompound, rtcpSdes, rtcpSr } from '../../dist/gen/index.js';
import { QosReporter } from '../../dist/report/index.js';
import type { StreamReportInput } from '../../dist/report/index.js';
import { parseRtcp, rtcpToHomerJson } from '../../dist/rtcp/index.js';
import type { StreamCounters, StreamSnapshot } from '../../dist/rtp/snapshot.js';
import { timePerOp } from './time-per-op.js';

const counters = (o: Partial<StreamCounters>): StreamCounters => ({
  packets: 500, bytes: 86000, expected: 500, lost: 0, seqErrors: 0, outOfOrder: 0, duplicates: 0, minDeltaMs: 19.1, meanDeltaMs: 20,
  maxDeltaMs: 25, minJitterMs: 0, meanJitterMs: 0.4, maxJitterMs: 1.2, maxSkewMs: -3, lossP: 0, lossQ: 1, burstR: 1,
  burstDensity: 0, gapDensity: 0, burstDurationMs: 0, gapDurationMs: 0, startMs: 1.7e12, endMs: 1.7e12 + 10_000, ...o,
});
const snap: StreamSnapshot = {
  slot: 0, ssrc: 0x12345678, ipVersion: 4, srcIp: '10.0.0.1', srcPort: 40000, dstIp: '10.0.0.2', dstPort: 50000, srcMac: '02-00-00-00-00-01',
  dstMac: '02-00-00-00-00-02', vlan: 0, payloadType: 8, clockRate: 8000, jitterMs: 0.3, skewMs: -1, clockDriftPpm: 0, ssrcChanges: 0,
  payloadTypeChanges: 0, markers: 1, comfortNoise: 0, telephoneEvents: 0, hostTimestamps: false, firstSeenMs: 1.7e12, lastSeenMs: 1.7e12 + 10_000,
  cumulative: counters({}), interval: counters({ lost: 3 }),
};
const input: StreamReportInput = { callId: 'bench@pbx', xcid: null, codecName: 'PCMA', nodeName: 'bench', dir: 0, party: 0, hostTimestamps: false, rttMs: null };
const SLOTS = 100_000;
const reporter = new QosReporter({
  maxStreams: SLOTS, unknownCallId: 'synthetic',
  schedule: { baseIntervalS: 10, rules: [{ name: 'bad', when: 'mos < 3.6 or loss_pct > 2', intervalS: 2 }, { name: 'jitter', when: 'max_jitter_ms > 30', intervalS: 5 }] },
});
for (let s = 0; s < SLOTS; s++) reporter.streamStarted(s, s % 10_000);

const report = reporter.onInterval(snap, input, 0)[0].report;
const N = 200_000;
const refNs = timePerOp('reference: JSON.stringify(report)', N, () => JSON.stringify(report).length);
const tickNs = timePerOp('QosReporter.onInterval (score+rules+build)', N, (i) => reporter.onInterval(snap, input, i).length);
const dueNs = timePerOp(`ReportScheduler.due over ${SLOTS} slots`, 2000, (i) => reporter.scheduler.due(i * 5));
const compound = rtcpCompound(
  rtcpSr({ ssrc: 1, ntpSec: 2, ntpFrac: 3, rtpTs: 4, packets: 5, octets: 6, reports: [{ ssrc: 7, fractionLost: 1, cumulativeLost: 2, extHighestSeq: 3, jitter: 4, lsr: 5, dlsr: 6 }] }),
  rtcpSdes([{ ssrc: 1, items: [{ type: 1, value: 'user@10.0.0.1' }] }]),
);
const parseNs = timePerOp('parseRtcp (SR + SDES)', N, () => parseRtcp(compound, 0, compound.length).packets.length);
const parsed = parseRtcp(compound, 0, compound.length);
const homerNs = timePerOp('rtcpToHomerJson', N, () => rtcpToHomerJson(parsed).length);
console.log('\nratios against the reference (JSON.stringify of one report):');
for (const [k, v] of [['onInterval', tickNs], ['due() scan per slot', dueNs / SLOTS], ['parseRtcp', parseNs], ['rtcpToHomerJson', homerNs]] as const) {
  console.log(`  ${k.padEnd(24)} ${(v / refNs).toPrecision(3)}x`);
}
