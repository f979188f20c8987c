/**
 * The benchmark generator's output checked against tshark (the independent reference) and against its own
 * ground truth, then the probe's decoder + RTP engine checked against tshark over the same file. No timing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCaptureBuffer } from '../../src/capture/index.js';
import { DecodedPacket, PacketDecoder } from '../../src/decode/index.js';
import { callDurationForSize, classicPcap, generateScenario, writeScenarioPcap, emptyScenarioStats, type ScenarioOptions } from '../../src/gen/index.js';
import { RtpEngine, createStreamSnapshot, type StreamSnapshot } from '../../src/rtp/index.js';
import { looksLikeSip } from '../../src/sip/index.js';
import { parseTshark, streamKey, type TsharkRow } from '../rtp/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-perf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tsharkRows(file: string): TsharkRow[] {
  const out = execFileSync('tshark', ['-q', '-z', 'rtp,streams', '-r', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const txt = join(dir, 'tshark.txt');
  writeFileSync(txt, out);
  return parseTshark(txt);
}

function tsharkCount(file: string, filter: string): number {
  const out = execFileSync('tshark', ['-r', file, '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out.split('\n').filter((l) => l.trim() !== '').length;
}

/** Decoder + engine as the pipeline runs them: SIP is screened out by content, the rest goes to the engine. */
function runEngine(bytes: Uint8Array): { streams: Map<string, StreamSnapshot>; sip: number } {
  const streams = new Map<string, StreamSnapshot>();
  const engine: RtpEngine = new RtpEngine({ wiresharkCompatibleClock: true, maxStreams: 1024 }, {
    onStreamEnd: (slot) => {
      const s = createStreamSnapshot();
      engine.snapshot(slot, s);
      streams.set(streamKey(s.srcIp, s.srcPort, s.dstIp, s.dstPort, s.ssrc), s);
    },
  });
  const dec = new PacketDecoder();
  const pkt = new DecodedPacket();
  let sip = 0;
  for (const b of readCaptureBuffer(bytes)) {
    for (let i = 0; i < b.count; i++) {
      if (!dec.decode(b, i, pkt) || pkt.ipProto !== 17) continue;
      if (looksLikeSip(pkt.payloadBuf, pkt.payloadOffset, pkt.payloadLength)) {
        sip++;
        continue;
      }
      engine.onRtp(pkt, true, b.buf);
    }
  }
  engine.endAll(0);
  return { streams, sip };
}

const cases: Array<[string, ScenarioOptions]> = [
  ['PCMA, bursty loss, jitter, RTCP', { calls: 6, durationS: 20, callDurationS: 8, codec: 'PCMA', lossPct: 3, burstLossPct: 50, jitterMs: 12, rtcp: true, seed: 11, startEpochS: 1_700_000_000, collectStreams: true }],
  ['G.729 random loss, concurrent calls', { calls: 8, concurrentCalls: 4, durationS: 0, callDurationS: 6, codec: 'G729', lossPct: 1.5, jitterMs: 4, rtcp: false, seed: 3, startEpochS: 1_700_000_123, collectStreams: true }],
  ['PCMU without loss or jitter', { calls: 3, durationS: 7, callDurationS: 7, codec: 'PCMU', lossPct: 0, jitterMs: 0, rtcp: true, seed: 5, startEpochS: 1_600_000_000, collectStreams: true }],
];

describe('generated scenarios against tshark', () => {
  for (const [name, opts] of cases) {
    it(name, () => {
      const file = join(dir, 'scenario.pcap');
      const stats = writeScenarioPcap(file, opts);
      expect(stats.rtpStreams).toBe(2 * opts.calls);
      expect(stats.streams.length).toBe(2 * opts.calls);
      const rows = tsharkRows(file);
      // The capture holds exactly the streams, packets and losses the generator says it made.
      expect(rows.length).toBe(stats.rtpStreams);
      expect(rows.reduce((a, r) => a + r.packets, 0)).toBe(stats.rtpPackets);
      expect(rows.reduce((a, r) => a + r.lost, 0)).toBe(stats.rtpLost);
      const byKey = new Map(rows.map((r) => [streamKey(r.src, r.srcPort, r.dst, r.dstPort, r.ssrc), r]));
      for (const t of stats.streams) {
        const r = byKey.get(streamKey(t.src, t.srcPort, t.dst, t.dstPort, t.ssrc));
        expect(r, `${t.src}:${t.srcPort} ssrc ${t.ssrc}`).toBeDefined();
        expect(r!.packets).toBe(t.packets);
        expect(r!.lost).toBe(t.lost);
      }
      if (opts.lossPct > 0) expect(stats.rtpLost).toBeGreaterThan(0);
      expect(tsharkCount(file, 'sip')).toBe(stats.sipMessages);
      expect(stats.sipMessages).toBe(7 * opts.calls);
      expect(tsharkCount(file, 'rtcp.pt == 200')).toBe(stats.rtcpPackets);
      if (opts.rtcp) expect(stats.rtcpPackets).toBeGreaterThan(0);

      // The probe's decoder + engine over the same bytes agree with tshark stream by stream.
      const { streams, sip } = runEngine(readFileSync(file));
      expect(sip).toBe(stats.sipMessages);
      expect(streams.size).toBe(rows.length);
      for (const r of rows) {
        const s = streams.get(streamKey(r.src, r.srcPort, r.dst, r.dstPort, r.ssrc));
        expect(s, `${r.src}:${r.srcPort}`).toBeDefined();
        const c = s!.cumulative;
        expect(c.packets).toBe(r.packets);
        expect(s!.wiresharkLost).toBe(r.lost);
        expect(c.maxDeltaMs).toBeCloseTo(r.maxDelta, 3);
        expect(c.minDeltaMs).toBeCloseTo(r.minDelta, 3);
        expect(c.meanDeltaMs).toBeCloseTo(r.meanDelta, 3);
        expect(c.maxJitterMs).toBeCloseTo(r.maxJitter, 3);
        expect(c.meanJitterMs).toBeCloseTo(r.meanJitter, 3);
        expect(c.minJitterMs).toBeCloseTo(r.minJitter, 3);
      }
    });
  }

  it('is reproducible from the seed, time-ordered, and the in-memory records equal the streamed file', () => {
    const opts = cases[0][1];
    const stats = emptyScenarioStats();
    const records = [...generateScenario(opts, stats)].map((r) => ({ tsNs: r.tsNs, data: r.data }));
    for (let i = 1; i < records.length; i++) expect(records[i].tsNs >= records[i - 1].tsNs).toBe(true);
    const file = join(dir, 'again.pcap');
    writeScenarioPcap(file, opts);
    expect(Buffer.compare(readFileSync(file), classicPcap(records))).toBe(0);
    expect(stats.records).toBe(records.length);
    const other = writeScenarioPcap(join(dir, 'other.pcap'), { ...opts, seed: opts.seed + 1 });
    expect(other.rtpLost === stats.rtpLost && other.rtpPackets === stats.rtpPackets && Buffer.compare(readFileSync(join(dir, 'other.pcap')), readFileSync(file)) === 0).toBe(false);
  });

  it('--mb sizes the capture: within 5 % of the asked size for G.711 and G.729', () => {
    for (const codec of ['PCMA', 'G729'] as const) {
      const calls = 20;
      const callDurationS = callDurationForSize(4, calls, codec);
      const file = join(dir, `sized-${codec}.pcap`);
      writeScenarioPcap(file, { calls, concurrentCalls: calls, durationS: 0, callDurationS, codec, lossPct: 0, jitterMs: 0, rtcp: true, seed: 3, startEpochS: 1_700_000_000 });
      expect(Math.abs(statSync(file).size / 4e6 - 1), codec).toBeLessThan(0.05);
    }
  });
});
