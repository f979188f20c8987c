/**
 * Call table memory as the README states it: bytes per call with the table full (each call with an
 * audio offer and answer: two bindings, User-Agent, tags), bytes per stream slot, and the whole pipeline
 * with every table full at the default capacity (sip.max_calls 20,000, rtp.max_streams 40,000: the
 * 10,000-concurrent-call design point) well under 1 GB. Heap is measured after full collections.
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { readCaptureBuffer } from '../../src/capture/index.js';
import { classicPcap, rtp, sdpBody, sipRequest, sipResponse, text, udpFrame, type PcapRecord } from '../../src/gen/index.js';
import { defaultConfig } from '../../src/ops/config.js';
import { Pipeline } from '../../src/pipeline/index.js';
import type { ReportTarget } from '../../src/pipeline/report-sink.js';

v8.setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;
const heap = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

const sdp = (ip: string, port: number) =>
  sdpBody({ ip, media: [{ port, formats: [8, 0, 18, 101], rtpmap: [[8, 'PCMA/8000'], [0, 'PCMU/8000'], [18, 'G729/8000'], [101, 'telephone-event/8000']], ptime: 20 }] });
const callerIp = (i: number) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`;
const calleeIp = (i: number) => `172.16.${(i >> 8) & 255}.${i & 255}`;

/** INVITE + 200 OK of `calls` calls with realistic Call-IDs, then one RTP packet each way per call. */
function fillRecords(calls: number, withMedia: boolean): PcapRecord[] {
  const recs: PcapRecord[] = [];
  let ns = 1_750_000_000_000_000_000n;
  const add = (data: Uint8Array) => recs.push({ tsNs: (ns += 1000n), data });
  for (let i = 0; i < calls; i++) {
    const id = `${(0x10000000 + i).toString(16)}-4c1e9b2f3a7d@pbx-${i % 97}.example.com`;
    const tags = { callId: id, fromTag: `f${i}x7a9`, cseq: 1 };
    add(udpFrame('192.0.2.1', 5060, '192.0.2.2', 5060, text(sipRequest('INVITE', 'sip:bob@h', { ...tags, headers: [['User-Agent', 'Softphone 7.2.1 (Linux)']], body: sdp(callerIp(i), 16384) }))));
    add(udpFrame('192.0.2.2', 5060, '192.0.2.1', 5060, text(sipResponse(200, { ...tags, toTag: `t${i}q1`, cseqMethod: 'INVITE', headers: [['Server', 'PBX 18.1']], body: sdp(calleeIp(i), 30000) }))));
  }
  if (withMedia) {
    for (let i = 0; i < calls; i++) {
      add(udpFrame(callerIp(i), 16384, calleeIp(i), 30000, rtp({ pt: 8, seq: 1, ts: 0, ssrc: 0x100000 + i })));
      add(udpFrame(calleeIp(i), 30000, callerIp(i), 16384, rtp({ pt: 8, seq: 1, ts: 0, ssrc: 0x200000 + i })));
    }
  }
  return recs;
}

const sink: ReportTarget = { qos: () => {}, rtcp: () => {}, wantsRtcp: () => false, wantsIntervalReports: () => false, countUnbuilt: () => {} };

/** Lets vitest's worker talk to its parent between chunks of synchronous work (a loaded machine is slow). */
const breathe = () => new Promise<void>((r) => setImmediate(r));

async function measure(maxCalls: number, maxStreams: number, calls: number, withMedia: boolean) {
  const config = defaultConfig();
  config.sip.maxCalls = maxCalls;
  config.rtp.maxStreams = maxStreams;
  const data = classicPcap(fillRecords(calls, withMedia));
  // Modules loaded and compiled before the baseline: only the pipeline's own state is measured.
  const warm = new Pipeline(defaultConfig(), sink);
  for (const batch of readCaptureBuffer(classicPcap(fillRecords(50, true)))) warm.processBatch(batch);
  const h0 = heap();
  const p = new Pipeline(config, sink);
  const h1 = heap();
  for (const batch of readCaptureBuffer(data)) {
    p.processBatch(batch);
    await breathe();
  }
  const h2 = heap();
  return { pipeline: p, empty: h1 - h0, full: h2 - h0, filled: h2 - h1 };
}

describe('call table memory', { timeout: 240_000 }, () => {
  it('a full call table costs under 4 KB per call (two bindings each), tables included', async () => {
    const calls = 8192;
    const m = await measure(calls, 16, calls, false);
    expect(m.pipeline.calls.activeCalls).toBe(calls);
    expect(m.pipeline.calls.activeBindings).toBe(2 * calls);
    // The stream tables (16 slots) are a constant next to 20,000 calls.
    const perCall = m.full / calls;
    console.log(`call table: ${Math.round(perCall)} B per call full (${Math.round(m.empty / calls)} B preallocated per slot + ${Math.round(m.filled / calls)} B per tracked call)`);
    expect(perCall).toBeLessThan(4096);
  });

  it('every table full at the defaults (20,000 calls, 40,000 streams) stays well under 1 GB', async () => {
    const config = defaultConfig();
    const calls = config.sip.maxCalls;
    const m = await measure(calls, config.rtp.maxStreams, calls, true);
    expect(m.pipeline.calls.activeCalls).toBe(calls);
    expect(m.pipeline.engine.activeStreams).toBe(config.rtp.maxStreams);
    const streams = await measure(16, config.rtp.maxStreams, 0, false);
    console.log(
      `all tables full: ${(m.full / 2 ** 20).toFixed(0)} MiB (${calls} calls, ${config.rtp.maxStreams} streams); stream slot ${Math.round(streams.empty / config.rtp.maxStreams)} B preallocated`,
    );
    expect(m.full).toBeLessThan(512 * 2 ** 20);
  });
});
