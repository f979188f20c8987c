import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureTimeline, DialogWriter, text, udpFrame } from '../../src/gen/index.js';
import { CodecTable, estimateOneWayDelay } from '../../src/qos/index.js';
import {
  FIELD_FAMILIES, IntervalMetrics, METRIC_VARIABLES, REPORT_FIELDS, REPORT_KEYS, StreamQosState, StreamSilences, VARIABLE_KEYS, alertIdentity, buildHandoverReport, buildNoMediaReport, buildQosReport, renderFieldList, round3,
} from '../../src/report/index.js';
import type { QosReport, ReportField, ReportKind } from '../../src/report/index.js';
import { e2eConfig, replayReports } from '../e2e/helpers.js';
import { counters, snapshot } from './snapshot-fixture.js';

// One table (src/report/fields.ts) declares every report key, the rule variables and the README's field
// list: the keys real reports carry are exactly the table's, each variable reads what its key reports,
// and the README's list is the table rendered.
const README = new URL('../../README.md', import.meta.url);
const TABLE_KEYS = REPORT_KEYS;
const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-fields-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Reports of every kind the probe makes, from a generated capture through the CLI's replay path. */
async function replayedReports(): Promise<QosReport[]> {
  const T0 = 1_700_000_000_000;
  const t = new CaptureTimeline();
  for (let ms = T0; ms <= T0 + 40_000; ms += 250) t.add(ms, udpFrame('10.9.9.9', 9999, '10.9.9.8', 9999, text('keepalive')));
  const sdp = (ip: string, port: number) => ({ ip, media: [{ port, formats: [8] }] });
  // A B2BUA B leg (X-CID) whose media pauses, then flows one way; it ends by BYE (HANGUP).
  const d = new DialogWriter(t, 'b-leg@gen', '10.1.0.10', '10.2.0.20', [['X-CID', 'a-leg@gen']]);
  const c = d.invite(T0, sdp('10.1.0.10', 40000));
  d.respond(T0 + 50, 200, c, sdp('10.2.0.20', 50000));
  d.ack(T0 + 60, c);
  const a = t.rtp(T0 + 100, '10.1.0.10', 40000, '10.2.0.20', 50000, { ssrc: 1, seq: 1, ts: 0, count: 100 });
  t.rtp(T0 + 105, '10.2.0.20', 50000, '10.1.0.10', 40000, { ssrc: 2, seq: 1, ts: 0, count: 100 });
  t.rtp(T0 + 9100, '10.1.0.10', 40000, '10.2.0.20', 50000, { ssrc: 1, seq: a.seq, ts: a.ts + 350 * 160, count: 600 });
  const bye = d.bye(T0 + 21_200);
  d.respond(T0 + 21_201, 200, bye, null, { method: 'BYE', toCaller: true });
  // A call without media (call-level reports).
  const n = new DialogWriter(t, 'no-media@gen', '10.1.0.11', '10.2.0.21');
  const nc = n.invite(T0 + 1000, sdp('10.1.0.11', 40010));
  n.respond(T0 + 1050, 200, nc, sdp('10.2.0.21', 50010));
  n.bye(T0 + 9000);
  // An unsignalled stream that stops before the end (FINAL at the silence timeout, synthetic id).
  t.rtp(T0 + 200, '10.3.0.30', 30000, '10.4.0.40', 30002, { ssrc: 3, seq: 1, ts: 0, count: 50 });
  const file = join(dir, 'all-kinds.pcap');
  writeFileSync(file, t.pcap());
  return replayReports(file, e2eConfig((cfg) => {
    cfg.reports.intervalS = 2;
    cfg.reports.rules = [{ name: 'one-way', when: 'one_way_rtp > 0 and packets > 0', intervalS: 1 }];
    cfg.rtp.silenceTimeoutS = 10;
  }));
}

describe('report field table', () => {
  it('every key of every kind of report is in the table, and every table key occurs', async () => {
    const reports = await replayedReports();
    const kinds = new Set(reports.map((r) => r.TYPE as ReportKind));
    expect([...kinds].sort()).toEqual(['ALERT', 'CLEARED', 'FINAL', 'HANGUP', 'PERIODIC']);
    const seen = new Set<string>();
    for (const r of reports) for (const k of Object.keys(r)) seen.add(k);
    expect([...seen].filter((k) => !TABLE_KEYS.has(k)), 'keys reports carry that the table lacks').toEqual([]);
    expect([...TABLE_KEYS].filter((k) => !seen.has(k)), 'table keys no report carried').toEqual([]);
    // The rules see the new variables: the one-way rule fired on the flowing stream.
    expect(reports.some((r) => r.TYPE === 'ALERT' && r.ALERT_RULE === 'one-way' && r.ONE_WAY_RTP === 1)).toBe(true);
  });

  it('the builders emit no key outside the table (direct calls, every kind and option)', () => {
    const q = new StreamQosState(8);
    q.assessInterval(3, counters({ expected: 100, lost: 2, packets: 98 }), new CodecTable().resolve('PCMA', 8), estimateOneWayDelay(30));
    const ctx = { callId: 'c@x', xcid: 'a@x', codecName: 'PCMA', nodeName: 'n', dir: 0, party: 1, hostTimestamps: false, oneWayDelayMs: 55, delaySource: 'rtcp' as const };
    for (const kind of ['PERIODIC', 'ALERT', 'CLEARED', 'HANGUP', 'FINAL'] as const) {
      const rep = buildQosReport(snapshot(), ctx, kind, q, { intervalS: 5, alertRule: 'r' });
      for (const k of Object.keys(rep)) expect(TABLE_KEYS.has(k), `${kind} ${k}`).toBe(true);
    }
    const alert = buildQosReport(snapshot(), ctx, 'ALERT', q, { intervalS: 5, alertRule: 'r' });
    for (const kind of ['ALERT', 'CLEARED'] as const) {
      for (const k of Object.keys(buildHandoverReport(kind, alertIdentity(alert), 'r', 7))) expect(TABLE_KEYS.has(k), `${kind} at a reload: ${k}`).toBe(true);
    }
    const call = buildNoMediaReport('ALERT', { callId: 'c@x', xcid: 'a@x', nodeName: 'n', callerIp: '10.0.0.1', callerPort: 4000, calleeIp: '10.0.0.2', calleePort: 5000, dueFromMs: 1000 }, 'no-media', 7000);
    const callKeys = (REPORT_FIELDS as readonly ReportField[]).filter((f) => f.inCallReport || f.group === 'call').map((f) => f.key);
    expect(Object.keys(call).sort()).toEqual(callKeys.sort());
  });

  it('each rule variable equals the PERIODIC report field it names', () => {
    const q = new StreamQosState(8);
    const silences = new StreamSilences(8, 5000);
    const oneWay = new Uint8Array(8);
    const codec = new CodecTable().resolve('PCMA', 8);
    const snap = snapshot({ interval: counters({ packets: 90, bytes: 15480, expected: 97, lost: 7, seqErrors: 3, outOfOrder: 1, duplicates: 2, meanDeltaMs: 20.4, maxDeltaMs: 61.2, meanJitterMs: 2.5, maxJitterMs: 7.75, maxSkewMs: -12.5, burstR: 1.8, startMs: 1453461915000, endMs: 1453461920000 }), ssrcChanges: 2 });
    silences.pause(3, 1453461900000, 100, 100, 20);
    silences.resumed(3, 1453461907000, 101, 101);
    oneWay[3] = 1;
    const delay = estimateOneWayDelay(42);
    q.assessInterval(3, snap.interval, codec, delay);
    const m = new IntervalMetrics().fill(snap, q, { silences, oneWay });
    const ctx = { callId: 'c@x', xcid: null, codecName: 'PCMA', nodeName: 'n', dir: 0, party: 1, hostTimestamps: false, oneWayDelayMs: delay.oneWayDelayMs, delaySource: delay.source, reverseStreamSeen: false, silences: silences.count[3], silenceMs: silences.totalMs[3], maxSilenceMs: silences.maxMs[3] };
    const rep = buildQosReport(snap, ctx, 'PERIODIC', q, { intervalS: 5 });
    expect(Object.keys(m).sort()).toEqual([...METRIC_VARIABLES].sort());
    expect(new Set(METRIC_VARIABLES).size).toBe(METRIC_VARIABLES.length);
    for (const v of METRIC_VARIABLES) expect(m[v as keyof IntervalMetrics], v).not.toBeNaN();
    // The table's own variables each mirror one key (a family's are its own business: fill()).
    for (const [v, key] of VARIABLE_KEYS) {
      // interval_s is the interval just ended; INTERVAL_S the one that follows (equal here: no rule changed it).
      expect(round3(m[v]), `${v} vs ${key}`).toBe(rep[key]);
    }
    expect(m.silences).toBe(1);
    expect(m.one_way_rtp).toBe(1);
  });

  it('a family of fields renders as its own part of the list, with its rule variables', () => {
    const fam = { title: 'Jitter buffers', rows: [['MOS_F1', 'MOS through F1'], ['DISCARDS_F1', 'late packets']] as const, variables: ['mos_f1'], fill: () => {} };
    const text = renderFieldList([fam]);
    expect(text.startsWith(renderFieldList([]))).toBe(true);
    expect(text.slice(renderFieldList([]).length)).toBe('\nJitter buffers:\n\n| field | meaning |\n|---|---|\n| `MOS_F1` | MOS through F1 |\n| `DISCARDS_F1` | late packets |\n\nRule variables: `mos_f1`.\n');
  });

  it("README's field list is the table rendered", () => {
    const readme = readFileSync(README, 'utf8');
    const start = readme.indexOf('<!-- report-fields:start');
    const end = readme.indexOf('<!-- report-fields:end -->');
    expect(start).toBeGreaterThan(0);
    const head = readme.indexOf('-->', start) + 3;
    const want = `\n${renderFieldList()}`;
    if (process.env.RTPPROBE_WRITE_FIELDS === '1') writeFileSync(README, readme.slice(0, head) + want + readme.slice(end));
    else expect(readme.slice(head, end), 'regenerate: RTPPROBE_WRITE_FIELDS=1 npx vitest run --config test/vitest.config.ts test/report/fields.test.ts').toBe(want);
    for (const k of REPORT_KEYS) expect(readme).toContain(`| \`${k}\``);
    for (const fam of FIELD_FAMILIES) for (const v of fam.variables) expect(readme).toContain(`\`${v}\``);
  });
});
