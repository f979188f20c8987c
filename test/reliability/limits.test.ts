/**
 * Limits (issue 9): more streams than rtp.max_streams, more calls than sip.max_calls, a SIP INVITE flood,
 * SSRC collisions, absurd and jumping timestamps. Nothing throws, tables stay within their maxima, evicted
 * streams get FINAL reports that are counted, and every report is valid JSON with finite numbers.
 * Expected counts come from the scenario's own construction (how many streams/calls were sent).
 */
import { describe, expect, it } from 'vitest';
import { readCaptureBuffer } from '../../src/capture/index.js';
import { classicPcap, rtp, sdpBody, sipRequest, sipResponse, text, udpFrame } from '../../src/gen/index.js';
import type { PcapRecord } from '../../src/gen/index.js';
import { defaultConfig } from '../../src/ops/config.js';
import type { ProbeConfig } from '../../src/ops/config.js';
import { Pipeline, ReportSink } from '../../src/pipeline/index.js';
import type { QosReport } from '../../src/report/index.js';
import { EndReason } from '../../src/rtp/index.js';

const SEC = 1_000_000_000n;

function smallConfig(): ProbeConfig {
  const c = defaultConfig();
  c.rtp.maxStreams = 16;
  c.sip.maxCalls = 16;
  return c;
}

interface Run {
  p: Pipeline;
  reports: QosReport[];
  ends: number[];
  maxStreams: number;
  maxCalls: number;
}

function run(records: PcapRecord[], config = smallConfig()): Run {
  const reports: QosReport[] = [];
  const ends: number[] = [];
  const sink = new ReportSink([], { onReport: (r) => reports.push(r) });
  const p = new Pipeline(config, sink, { streamEnded: (reason) => ends.push(reason) });
  const r: Run = { p, reports, ends, maxStreams: 0, maxCalls: 0 };
  for (const b of readCaptureBuffer(classicPcap(records), 'limits', 32)) {
    p.processBatch(b);
    r.maxStreams = Math.max(r.maxStreams, p.engine.activeStreams);
    r.maxCalls = Math.max(r.maxCalls, p.calls.activeCalls);
  }
  p.finish();
  return r;
}

/** Every report survives JSON and carries only finite numbers (NaN/Infinity would turn into null). */
function expectValidReports(reports: QosReport[]): void {
  for (const r of reports) {
    const back = JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
    for (const [k, v] of Object.entries(r)) {
      if (typeof v === 'number') expect(Number.isFinite(v), `${k}=${v}`).toBe(true);
      expect(back[k], k).toEqual(v);
    }
  }
}

/** n RTP streams from distinct sources, interleaved packet by packet, `packets` each at 20 ms. */
function manyStreams(n: number, packets: number, t0 = 1_700_000_000n * SEC): PcapRecord[] {
  const recs: PcapRecord[] = [];
  for (let k = 0; k < packets; k++) {
    for (let s = 0; s < n; s++) {
      const data = udpFrame(`10.1.${s >> 8}.${s & 255}`, 20000 + 2 * s, '10.2.0.1', 30000, rtp({ pt: 8, seq: k, ts: k * 160, ssrc: 0x1000 + s }));
      recs.push({ tsNs: t0 + BigInt(k) * 20_000_000n + BigInt(s) * 1000n, data });
    }
  }
  return recs;
}

function invite(callId: string, i: number, tsNs: bigint, port = 40000): PcapRecord {
  const body = sdpBody({ ip: `10.3.${i >> 8}.${i & 255}`, media: [{ port, formats: [8], ptime: 20 }] });
  const msg = sipRequest('INVITE', 'sip:b@10.4.0.1', { callId, fromTag: `f${i}`, cseq: 1, body });
  return { tsNs, data: udpFrame(`10.3.${i >> 8}.${i & 255}`, 5060, '10.4.0.1', 5060, text(msg)) };
}

describe('limits', () => {
  it('more streams than rtp.max_streams: evicted with FINAL reports, counted, table bounded', () => {
    const n = 40;
    const r = run(manyStreams(n, 30));
    expect(r.maxStreams).toBeLessThanOrEqual(16);
    const started = r.p.engine.counters.streamsStarted;
    // Streams alive at once = 40 > 16 slots: each start beyond the 16th evicts one.
    expect(started).toBeGreaterThanOrEqual(n);
    const evicted = r.ends.filter((e) => e === EndReason.evicted).length;
    expect(evicted).toBe(r.p.engine.counters.evicted);
    expect(evicted).toBeGreaterThanOrEqual(started - 16);
    // One FINAL per stream that ended (evicted or at finish), none lost.
    expect(r.reports.filter((x) => x.TYPE === 'FINAL').length).toBe(started);
    expectValidReports(r.reports);
  });

  it('more calls than sip.max_calls and an INVITE flood: bounded, evictions counted', () => {
    const t0 = 1_700_000_000n * SEC;
    const recs: PcapRecord[] = [];
    for (let i = 0; i < 3000; i++) recs.push(invite(`flood-${i}@x`, i, t0 + BigInt(i) * 100_000n, 40000 + 2 * (i % 1000)));
    const r = run(recs);
    expect(r.maxCalls).toBeLessThanOrEqual(16);
    const st = r.p.calls.stats;
    expect(st.callsStarted).toBe(3000);
    expect(st.callsEvicted).toBeGreaterThanOrEqual(3000 - 16);
    expect(r.p.counts.sip).toBe(3000);
  });

  it('SSRC collisions: two senders, one SSRC, one signalled destination: separate streams, all packets counted', () => {
    const t0 = 1_700_000_000n * SEC;
    // The SDP announces 10.6.0.1:30000, so every packet counts from the first (no heuristic warm-up).
    const sdp = sdpBody({ ip: '10.6.0.1', media: [{ port: 30000, formats: [0], ptime: 20 }] });
    const recs: PcapRecord[] = [{ tsNs: t0 - SEC, data: udpFrame('10.6.0.1', 5060, '10.4.0.1', 5060, text(sipRequest('INVITE', 'sip:b@10.4.0.1', { callId: 'coll@x', fromTag: 'f', cseq: 1, body: sdp }))) }];
    for (let k = 0; k < 50; k++) {
      recs.push({ tsNs: t0 + BigInt(k) * 20_000_000n, data: udpFrame('10.5.0.1', 20000, '10.6.0.1', 30000, rtp({ pt: 0, seq: k, ts: k * 160, ssrc: 0xabcd })) });
      recs.push({ tsNs: t0 + BigInt(k) * 20_000_000n + 5000n, data: udpFrame('10.5.0.2', 20002, '10.6.0.1', 30000, rtp({ pt: 0, seq: 1000 + k, ts: 99999 + k * 160, ssrc: 0xabcd })) });
    }
    const r = run(recs);
    const finals = r.reports.filter((x) => x.TYPE === 'FINAL');
    expect(finals.length).toBe(2);
    for (const f of finals) {
      expect(f.TOTAL_PK).toBe(50);
      expect(f.PACKET_LOSS).toBe(0);
    }
    expectValidReports(r.reports);
  });

  it('absurd timestamps (0, year 2100, backwards) and clock jumps: no throw, bounded, valid reports', () => {
    const recs: PcapRecord[] = [];
    const times = [1_700_000_000n * SEC, 0n, 4_102_444_800n * SEC, 1_700_000_000n * SEC, 1_699_999_000n * SEC, 4_294_967_295n * SEC, 1n, 1_700_003_600n * SEC];
    let seq = 0;
    for (const base of times) {
      for (let k = 0; k < 20; k++, seq++) {
        const t = base + BigInt(k) * 20_000_000n;
        recs.push({ tsNs: t, data: udpFrame('10.7.0.1', 20000, '10.8.0.1', 30000, rtp({ pt: 8, seq: seq & 0xffff, ts: seq * 160, ssrc: 0x77 })) });
        recs.push({ tsNs: t, data: udpFrame(`10.7.1.${k}`, 22000, '10.8.0.1', 30002, rtp({ pt: 0, seq: k, ts: k * 160, ssrc: 0x88 + k })) });
      }
      // SIP at the absurd time too, with a call that later ends.
      recs.push(invite(`clock-${base}`, 1, base));
      recs.push({ tsNs: base + 1000n, data: udpFrame('10.4.0.1', 5060, '10.3.0.1', 5060, text(sipResponse(200, { callId: `clock-${base}`, fromTag: 'f1', toTag: 't', cseq: 1, cseqMethod: 'INVITE', body: sdpBody({ ip: '10.4.0.1', media: [{ port: 50000, formats: [8] }] }) }))) });
    }
    const r = run(recs);
    expect(r.maxStreams).toBeLessThanOrEqual(16);
    expect(r.maxCalls).toBeLessThanOrEqual(16);
    expect(r.p.counts.packets).toBe(recs.length);
    expect(r.reports.length).toBeGreaterThan(0);
    expectValidReports(r.reports);
    expect(r.p.engine.activeStreams).toBe(0);
  });
});
