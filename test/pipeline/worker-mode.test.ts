/**
 * Worker mode's SIP split without threads: the signalling owner (one CallTracker) plus two pipelines on
 * binding mirrors, packets dealt to them by a symmetric 5-tuple hash as PACKET_FANOUT does, must report
 * every stream exactly as the single-thread pipeline does (same Call-ID, counts, loss, jitter, end kind).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCaptureBuffer, type PacketBatch } from '../../src/capture/index.js';
import { DecodedPacket, PacketDecoder } from '../../src/decode/index.js';
import { buildFieldScenario, CaptureTimeline, classicPcap, clockStepAtCallSetup, DialogWriter, rtcpBye, rtcpCompound, rtcpRr, rtcpSdes, rtcpSr, rtp, sdpBody, sipRequest, TcpFlags, tcpFrame, text, udpFrame } from '../../src/gen/index.js';
import { defaultConfig, type ProbeConfig } from '../../src/ops/config.js';
import { Pipeline, type PipelineEvents, type ReportTarget, type RtcpFacts } from '../../src/pipeline/index.js';
import { HeldAsks, type RtcpAsk } from '../../src/pipeline/workers/held-asks.js';
import { RtcpAsks } from '../../src/pipeline/workers/rtcp-asks.js';
import { BindingMirror } from '../../src/pipeline/workers/binding-mirror.js';
import { SipInFlight } from '../../src/pipeline/workers/sip-in-flight.js';
import type { ForwardedSip, MainToWorker } from '../../src/pipeline/workers/messages.js';
import { SignallingOwner } from '../../src/pipeline/workers/signalling.js';
import type { QosReport } from '../../src/report/index.js';
import { CAPTURES, pcapOf, words } from '../sip/helpers.js';
import { copyBatch, recordsBatch, scenarioBatch } from './batches.js';

/** SIP in flight to the owner, unbounded: these tests hand each message to the owner at once. */
const unboundedSip = () => new SipInFlight(SipInFlight.memory(), Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);

function scenarioOf(seed: number): PacketBatch {
  return scenarioBatch({ calls: 24, concurrentCalls: 12, durationS: 8, callDurationS: 3, codec: 'PCMA', lossPct: 2, burstLossPct: 30, jitterMs: 4, rtcp: true, seed, startEpochS: 1_700_000_000 });
}

/** An SDP media section offering payload type 77 (which only an SDP makes RTP: 72..95) as PCMA. */
const pt77Media = (port: number) => [{ port, formats: [77], rtpmap: [[77, 'PCMA/8000']] as Array<[number, string]> }];

/** `count` RTP packets of payload type 77, one every 20 ms from `first` on. */
function pt77Rtp(t: CaptureTimeline, first: number, src: string, srcPort: number, dst: string, dstPort: number, ssrc: number, count: number): void {
  for (let i = 0; i < count; i++) t.add(first + i * 20, udpFrame(src, srcPort, dst, dstPort, rtp({ pt: 77, seq: 1 + i, ts: i * 160, ssrc })));
}

/** QoS reports, and each RTCP compound sent as its Call-ID (null: uncorrelated) and bytes in hex. */
function collector(): { sink: ReportTarget; reports: QosReport[]; rtcp: string[] } {
  const reports: QosReport[] = [];
  const rtcp: string[] = [];
  return { reports, rtcp, sink: { qos: (r) => reports.push(r), rtcp: (_json, _env, callId, compound) => rtcp.push(`${callId} ${Buffer.from(compound).toString('hex')}`) } };
}

/** Reports that end a stream, keyed by stream, with the fields (times too) that must not depend on the split. */
function endings(reports: QosReport[]): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const r of reports) {
    if (r.TYPE !== 'FINAL' && r.TYPE !== 'HANGUP') continue;
    const key = `${r.SRC_IP}:${r.SRC_PORT}>${r.DST_IP}:${r.DST_PORT}/${r.SSRC}`;
    expect(out.has(key), `${key} ended twice`).toBe(false);
    out.set(key, { RTP_START: r.RTP_START, RTP_STOP: r.RTP_STOP, REPORT_TS: r.REPORT_TS, TYPE: r.TYPE, CORRELATION_ID: r.CORRELATION_ID, TOTAL_PK: r.TOTAL_PK, PACKET_LOSS: r.PACKET_LOSS, MAX_JITTER: r.MAX_JITTER, MAX_DELTA: r.MAX_DELTA, CODEC_NAME: r.CODEC_NAME, DIR: r.DIR, PARTY: r.PARTY, MOS: r.MOS, DELAY_SOURCE: r.DELAY_SOURCE, ONE_WAY_DELAY: r.ONE_WAY_DELAY });
  }
  return out;
}

/**
 * The same packets through one pipeline, and through a signalling owner + two mirrored pipelines that
 * `workerOf` deals them to, with every message delivered before the receiving worker's next packet.
 * `live`: once a second of capture time, as in a live run, each worker's wall-clock timer fires and the
 * owner gets what the pool gives it (each worker's touched calls and clock offset, then expiry at the wall
 * clock); capture time stands for the wall clock, and `timing.reference` (the same packets captured without
 * a host clock step) for the monotonic clock, else capture time too.
 * Timing (`timing`), as a live worker sees it: it reads its ring every capture.buffer_timeout_ms, so
 * - `inFlightMs`: the owner's messages reach the workers this long after the SIP that caused them was
 *   read (it crosses to the owner and its bindings back): media right behind its SDP starts first;
 * - `lagMs[w]`: worker w handles each packet this long after its capture, while messages from the owner
 *   and the other worker reach it as they are sent: another worker's RTCP can come before its own media
 *   captured earlier.
 */
function singleAndSplit(config: ProbeConfig, batches: PacketBatch[], workerOf: (pkt: DecodedPacket) => number, live = false, timing: { inFlightMs?: number; lagMs?: [number, number]; lateBindingMs?: number; reference?: PacketBatch[] } = {}) {
  const inFlightMs = timing.inFlightMs ?? 0;
  const lagMs = timing.lagMs ?? [0, 0];
  const single = collector();
  const p = new Pipeline(config, single.sink);
  for (const b of batches) p.processBatch(b);
  p.finish();

  const split = collector();
  const pending: Array<Array<{ m: MainToWorker; dueMs: number }>> = [[], []];
  let sentMs = 0;
  const owner = new SignallingOwner(config, (m) => pending.forEach((q) => q.push({ m, dueMs: sentMs + inFlightMs })));
  const mirrors: BindingMirror[] = [];
  const workers: Pipeline<BindingMirror>[] = [];
  const asks = new RtcpAsks(split.sink, Number.POSITIVE_INFINITY);
  // Each worker answers as media-worker.ts does: none only once it has read past the compound (HeldAsks).
  const held = [new HeldAsks(Number.POSITIVE_INFINITY), new HeldAsks(Number.POSITIVE_INFINITY)];
  const readThrough = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  const answerAsks = (w: number, a: RtcpAsk[], drained = false) => {
    for (const [seq, callId] of held[w]!.answer(a, readThrough[w]!, 0, drained, (l) => workers[w]!.unsignalledRtcpId(l))) asks.answer(seq, w, callId);
  };
  for (const w of [0, 1]) {
    // RTCP facts go to the other worker, as the pool forwards them; so does RTCP without SIP this worker holds no stream of.
    const events: PipelineEvents = {
      rtcpFacts: (f) => pending[1 - w]!.push({ m: { t: 'rtcp', facts: [f] }, dueMs: sentMs }),
      rtcpUnmatched: (json, env, lookup, compound) => pending[1 - w]!.push({ m: { t: 'rtcp-ask', asks: [[asks.ask({ json, env, lookup, compound }, [1 - w]), lookup, env.tsMs]] }, dueMs: sentMs }),
    };
    workers.push(new Pipeline(config, split.sink, events, (hooks) => (mirrors[w] = new BindingMirror(config, hooks, unboundedSip()))));
    // As media-worker.ts: RTP of payload type 72..95 waits for its binding this long at most.
    if (timing.lateBindingMs !== undefined) workers[w]!.holdForLateBindings(timing.lateBindingMs);
  }
  /** Delivers the worker's messages due by time `nowMs`, in the order they were sent. */
  const deliver = (w: number, nowMs = Number.POSITIVE_INFINITY) => {
    const q = pending[w]!;
    let n = 0;
    while (n < q.length && q[n]!.dueMs <= nowMs) n++;
    for (const { m } of q.splice(0, n)) {
      if (m.t === 'rtcp') m.facts.forEach((f) => workers[w]!.applyRtcpFacts(f));
      else if (m.t === 'rtcp-ask') answerAsks(w, m.asks);
      else mirrors[w]!.apply(m);
    }
  };
  const dec = new PacketDecoder();
  const pkt = new DecodedPacket();
  const used = [0, 0];
  let nextTickMs = 0;
  /** Packets each worker has not handled yet, in capture order. */
  const queued: Array<Array<{ batch: PacketBatch; i: number; rawMs: number }>> = [[], []];
  /** Worker w handles its packets due by `nowMs` (captured lagMs[w] before it or earlier). */
  const run = (w: number, nowMs: number) => {
    const q = queued[w]!;
    while (q.length > 0 && q[0]!.rawMs + lagMs[w]! <= nowMs) {
      const { batch, i, rawMs } = q.shift()!;
      sentMs = rawMs + lagMs[w]!;
      deliver(w, sentMs); // the worker drains bindings before its batch
      workers[w]!.processPacket(batch, i);
      readThrough[w] = rawMs;
      answerAsks(w, []);
      const sip = mirrors[w]!.takeSip();
      for (const s of sip ?? []) owner.onSip(s, w);
    }
  };
  for (const [b, batch] of batches.entries()) {
    const mono = timing.reference?.[b] ?? batch;
    for (let i = 0; i < batch.count; i++) {
      const rawMs = batch.tsSec[i]! * 1000 + batch.tsNsec[i]! / 1e6;
      if (live && (rawMs >= nextTickMs || rawMs < nextTickMs - 2000)) {
        nextTickMs = rawMs + 1000;
        for (const x of [0, 1]) {
          workers[x]!.wallTick(rawMs);
          const touched = mirrors[x]!.takeTouched();
          if (touched) owner.touch(touched.callIndex, touched.callId, touched.mediaAtMs, workers[x]!.nowMs);
          owner.workerClock(x, workers[x]!.clockOffsetMs, workers[x]!.clockSteps, workers[x]!.nowMs);
        }
        owner.expire(rawMs, mono.tsSec[i]! * 1000 + mono.tsNsec[i]! / 1e6);
      }
      const w = dec.decode(batch, i, pkt) ? workerOf(pkt) : 0;
      used[w]++;
      queued[w]!.push({ batch, i, rawMs });
      for (const x of [0, 1]) run(x, rawMs);
    }
  }
  for (const x of [0, 1]) run(x, Number.POSITIVE_INFINITY);
  for (const x of [0, 1]) workers[x]!.drainedCapture(); // as media-worker.ts once its capture is drained at a stop
  for (const x of [0, 1]) answerAsks(x, [], true);
  owner.settle(); // as MediaWorkerPool.stop: lingering media of ended calls retires before the workers stop
  for (const w of [0, 1]) {
    deliver(w);
    workers[w]!.finish();
  }
  owner.endAll();
  // RTCP in capture order for one pipeline; the split run's may interleave differently between workers.
  return { want: endings(single.reports), got: endings(split.reports), used, rtcp: { want: single.rtcp, got: split.rtcp } };
}

/**
 * Four calls on 10.`net`.i.x, media on even ports (4000 + 2i, 6000 + 2i), each ended by the caller's SIP BYE
 * and then its RTCP BYE (odd ports) after 40 packets each way. Returns the capture time of the last BYE.
 */
function callsEndingByRtcpBye(t: CaptureTimeline, net: number, tag: string, ssrcBase: number): number {
  const t0 = 1_700_000_000_000;
  let end = 0;
  for (let i = 0; i < 4; i++) {
    const [a, b, pa, pb, ssrc] = [`10.${net}.${i}.1`, `10.${net}.${i}.2`, 4000 + 2 * i, 6000 + 2 * i, ssrcBase + 2 * i];
    const d = new DialogWriter(t, `${tag}-${i}`, a, b);
    const c = d.invite(t0 + i * 10, { ip: a, media: [{ port: pa, formats: [8] }] });
    d.respond(t0 + i * 10 + 5, 200, c, { ip: b, media: [{ port: pb, formats: [8] }] });
    t.rtp(t0 + 100 + i, a, pa, b, pb, { ssrc, seq: 1, ts: 0, count: 40 });
    t.rtp(t0 + 101 + i, b, pb, a, pa, { ssrc: ssrc + 1, seq: 1, ts: 0, count: 40 });
    const last = t0 + 100 + i + 39 * 20;
    d.respond(last + 3, 200, d.bye(last + 2), null, { method: 'BYE' });
    t.add(last + 20, udpFrame(a, pa + 1, b, pb + 1, rtcpCompound(rtcpRr({ ssrc }), rtcpBye({ ssrcs: [ssrc] }))));
    end = Math.max(end, last + 20);
  }
  return end;
}

/**
 * An INVITE (Call-ID held-`net`) with an SDP at 10.0.`net`.1:4000 as a worker forwards it: captured at raw
 * time `rawMs`, its pipeline having removed `steps` host clock steps summing to `offsetMs`.
 */
function forwardedInvite(net: number, rawMs: number, offsetMs: number, steps: number): ForwardedSip {
  const bytes = text(sipRequest('INVITE', 'sip:b@h', { callId: `held-${net}`, fromTag: 'a', cseq: 1, body: sdpBody({ ip: `10.0.${net}.1`, media: [{ port: 4000 }] }) }));
  const addr = Int32Array.from([...words(`10.0.${net}.1`), ...words('10.0.0.99')]);
  return { bytes, ipVersion: 4, ipProto: 17, addr, srcPort: 5060, dstPort: 5060, tcpSeq: 0, tcpFlags: 0, wireLength: bytes.length, tsSec: Math.floor(rawMs / 1000), tsNsec: (rawMs % 1000) * 1e6, clockOffsetMs: offsetMs, clockSteps: steps };
}

/** Batches of a file reader share buffers: keep a copy of each. */
describe('worker mode: signalling owner + binding mirrors', () => {
  it('two mirrored pipelines fed by a flow hash report every stream as the single pipeline does', () => {
    const config = defaultConfig();
    config.reports.intervalS = 3600;
    const batch = scenarioOf(7);
    const { want, got, used } = singleAndSplit(config, [batch], (pkt) => Math.imul((pkt.src3 ^ pkt.dst3) + (pkt.srcPort ^ pkt.dstPort) * 65537 + pkt.srcPort + pkt.dstPort, 0x9e3779b1) >>> 31);
    expect(used[0]).toBeGreaterThan(batch.count / 5);
    expect(used[1]).toBeGreaterThan(batch.count / 5);
    expect(want.size).toBeGreaterThanOrEqual(48);
    expect([...want.values()].filter((r) => r.TYPE === 'HANGUP').length).toBeGreaterThan(0);
    expect([...want.values()].every((r) => !String(r.CORRELATION_ID).startsWith('synthetic'))).toBe(true);
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
  });

  it('RTCP on another worker than its RTP streams: round trips (delay, MOS) reach them as in one pipeline', () => {
    const config = defaultConfig();
    config.reports.intervalS = 5;
    const batches: PacketBatch[] = [];
    for (const b of readCaptureBuffer(new Uint8Array(readFileSync(join(CAPTURES, 'SIP_CALL_RTP_G711.pcap'))))) batches.push(copyBatch(b));
    // Even ports (RTP, SIP 5060) on worker 0, odd ones (RTCP on RTP + 1) on worker 1: symmetric, like a flow hash.
    const { want, got, used } = singleAndSplit(config, batches, (pkt) => Math.min(pkt.srcPort, pkt.dstPort) & 1);
    expect(used[1]).toBeGreaterThan(0);
    expect(want.size).toBe(5);
    // The measured path serves both streams of the SIP leg and the relayed stream with the same SSRC.
    expect([...want.values()].filter((r) => r.DELAY_SOURCE === 'rtcp').length).toBe(3);
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
  });

  it('RTCP of streams without SIP on another worker than their RTP: sent under their synthetic ids as in one pipeline', () => {
    const config = defaultConfig();
    config.reports.intervalS = 3600;
    config.reports.unknownCallId = 'synthetic';
    const t = new CaptureTimeline();
    const t0 = 1_700_000_000_000;
    const sr = (ssrc: number, n: number) => rtcpCompound(rtcpSr({ ssrc, ntpSec: 3_900_000_000 + n, ntpFrac: 0, rtpTs: n * 8000, packets: 50 * n, octets: 8000 * n }), rtcpSdes([{ ssrc, items: [{ type: 1, value: `s${ssrc}` }] }]));
    // Two streams, RTCP from RTP port + 1; a third whose RTCP leaves a port of its own (44011) to the receiver's RTP port + 1.
    t.rtp(t0, '10.80.0.1', 4000, '10.80.0.2', 6000, { ssrc: 0xa1, seq: 1, ts: 0, count: 100 }); // its last packet at t0 + 1980
    t.rtp(t0 + 3, '10.80.0.2', 6000, '10.80.0.1', 4000, { ssrc: 0xb2, seq: 1, ts: 0, count: 150 });
    t.rtp(t0 + 7, '10.80.1.1', 5000, '10.80.1.2', 7000, { ssrc: 0xc3, seq: 1, ts: 0, count: 150 });
    for (const n of [1, 2]) {
      // Stream a1's last compound ends it by a BYE: its id is looked up first, as in one pipeline.
      t.add(t0 + n * 1000 + 5, udpFrame('10.80.0.1', 4001, '10.80.0.2', 6001, n === 2 ? rtcpCompound(sr(0xa1, n), rtcpBye({ ssrcs: [0xa1] })) : sr(0xa1, n)));
      t.add(t0 + n * 1000 + 9, udpFrame('10.80.0.2', 6001, '10.80.0.1', 4001, sr(0xb2, n)));
      t.add(t0 + n * 1000 + 11, udpFrame('10.80.1.1', 44011, '10.80.1.2', 7001, sr(0xc3, n)));
    }
    // A stream whose first SR comes 65 ms after its first RTP (its fourth packet, which confirms it).
    t.rtp(t0 + 20, '10.80.2.1', 8000, '10.80.2.2', 9000, { ssrc: 0xd4, seq: 1, ts: 0, count: 50 });
    t.add(t0 + 85, udpFrame('10.80.2.1', 8001, '10.80.2.2', 9001, sr(0xd4, 1)));
    // RTCP of no stream (an SSRC never seen, from and to ports of no stream): uncorrelated in both runs.
    t.add(t0 + 2500, udpFrame('10.80.9.9', 9001, '10.80.0.2', 6001, sr(0xdead, 1)));
    // Even ports on worker 0, odd ones (the RTCP) on worker 1, as the kernel's flow hash may deal them.
    const { want, got, used, rtcp } = singleAndSplit(config, [recordsBatch(t.records())], (pkt) => Math.min(pkt.srcPort, pkt.dstPort) & 1);
    expect(used[1]).toBe(8);
    expect(rtcp.want.filter((r) => r.startsWith('rtpprobe-')).length).toBe(7);
    expect(rtcp.want.filter((r) => r.startsWith('null ')).length).toBe(1);
    expect(rtcp.got.slice().sort()).toEqual(rtcp.want.slice().sort());
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
    // The RTCP worker 50 ms behind: a1's BYE reaches worker 0 past its capture time and ends a1 at once,
    // after worker 0 has been asked for a1's id.
    const behind = singleAndSplit(config, [recordsBatch(t.records())], (pkt) => Math.min(pkt.srcPort, pkt.dstPort) & 1, false, { lagMs: [0, 50] });
    expect(behind.rtcp.got.slice().sort()).toEqual(rtcp.want.slice().sort());
    expect(Object.fromEntries(behind.got)).toEqual(Object.fromEntries(want));
    // The RTP worker 50 ms behind: d4's first SR is asked about before worker 0 has read d4's first packets.
    const rtpBehind = singleAndSplit(config, [recordsBatch(t.records())], (pkt) => Math.min(pkt.srcPort, pkt.dstPort) & 1, false, { lagMs: [50, 0] });
    expect(rtpBehind.rtcp.got.slice().sort()).toEqual(rtcp.want.slice().sort());
    expect(Object.fromEntries(rtpBehind.got)).toEqual(Object.fromEntries(want));
  });

  it('bindings in flight 100 ms behind their SDP: streams starting meanwhile join the call and side the SDP named, as in one pipeline', () => {
    const config = defaultConfig();
    config.reports.intervalS = 3600;
    // sip-rtp-dvi4: the second call's 200 OK names 10.0.2.20:6000 again 0.12 s after the first call's BYE
    // (its media still lingers there), and its RTP follows 18 ms later. SIP_CALL_RTP_G711: the caller's RTP
    // starts 51 ms after the 200 OK, its INVITE's binding (the caller's side) long known.
    for (const file of ['sip-rtp-dvi4.pcap', 'SIP_CALL_RTP_G711.pcap']) {
      const batches: PacketBatch[] = [];
      for (const b of readCaptureBuffer(new Uint8Array(readFileSync(join(CAPTURES, file))))) batches.push(copyBatch(b));
      // Even ports (RTP, SIP 5060) on worker 0, odd ones (RTCP) on worker 1, as in the RTCP case above.
      const { want, got } = singleAndSplit(config, batches, (pkt) => Math.min(pkt.srcPort, pkt.dstPort) & 1, false, { inFlightMs: 100 });
      expect(Object.fromEntries(got), file).toEqual(Object.fromEntries(want));
    }
  });

  it('a call reusing the addresses of one that ended moments before, its binding 1.4 s late behind 1,500 new streams: its streams still get its Call-ID', () => {
    const config = defaultConfig();
    config.reports.intervalS = 3600;
    const t = new CaptureTimeline();
    const t0 = 1_700_000_000_000;
    const [a, b, pa, pb] = ['10.67.0.1', '10.67.0.2', 4000, 6000];
    const first = new DialogWriter(t, 'reuse-first', a, b);
    let c = first.invite(t0, { ip: a, media: [{ port: pa, formats: [8] }] });
    first.respond(t0 + 20, 200, c, { ip: b, media: [{ port: pb, formats: [8] }] });
    t.rtp(t0 + 40, a, pa, b, pb, { ssrc: 0x100, seq: 1, ts: 0, count: 50 });
    first.bye(t0 + 1100);
    // The second call on the same addresses 200 ms later, while the first one's media lingers there.
    const second = new DialogWriter(t, 'reuse-second', a, b);
    c = second.invite(t0 + 1300, { ip: a, media: [{ port: pa, formats: [8] }] });
    second.respond(t0 + 1320, 200, c, { ip: b, media: [{ port: pb, formats: [8] }] });
    t.rtp(t0 + 1340, a, pa, b, pb, { ssrc: 0x200, seq: 1, ts: 0, count: 100 });
    // Meanwhile, from 10 ms after, 1,500 new streams (4 packets in sequence each) on unsignalled ports of other hosts.
    for (let k = 0; k < 1500; k++) t.rtp(t0 + 1350 + k * 0.5, `10.68.${k >> 8}.${k & 255}`, 7000, '10.69.0.1', 8000 + 2 * k, { ssrc: 0x10000 + k, seq: 1, ts: 0, count: 4 });
    // Everything on worker 0, whose bindings arrive 1.4 s after their SDP (an overloaded main thread).
    const { want, got } = singleAndSplit(config, [recordsBatch(t.records())], () => 0, false, { inFlightMs: 1400 });
    expect(want.get('10.67.0.1:4000>10.67.0.2:6000/512')?.CORRELATION_ID).toBe('reuse-second');
    expect(got.get('10.67.0.1:4000>10.67.0.2:6000/512')?.CORRELATION_ID).toBe('reuse-second');
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
  });

  it('RTP of payload type 77 held for its binding, the answer\'s binding later: the stream keeps the side it started on, as in one pipeline', () => {
    const config = defaultConfig();
    config.reports.intervalS = 3600;
    // The caller sends PT 77 (its SDP maps it) 5 ms after its INVITE, before the 200 OK (30 ms): one
    // pipeline matches the stream by its source, the caller's SDP address (DIR 1, PARTY 0), and the
    // answer's binding moves no stream that started before the answer. A worker holds the packets until
    // the INVITE's binding arrives (100 ms), then the answer's: the held stream started before the answer.
    const t = new CaptureTimeline();
    const t0 = 1_700_000_000_000;
    const [a, b, pa, pb] = ['10.72.0.1', '10.72.0.2', 4000, 6000];
    const d = new DialogWriter(t, 'held-pt77', a, b);
    const c = d.invite(t0, { ip: a, media: pt77Media(pa) });
    pt77Rtp(t, t0 + 5, a, pa, b, pb, 0x77, 100);
    d.respond(t0 + 30, 200, c, { ip: b, media: pt77Media(pb) });
    d.ack(t0 + 40, c);
    d.bye(t0 + 2500);
    const { want, got } = singleAndSplit(config, [recordsBatch(t.records())], () => 0, false, { inFlightMs: 100, lateBindingMs: 2000 });
    expect(want.get('10.72.0.1:4000>10.72.0.2:6000/119')).toMatchObject({ CORRELATION_ID: 'held-pt77', TOTAL_PK: 100, DIR: 1, PARTY: 0 });
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
  });

  it('a stream held for its binding starts at its first packet, behind a stream started since: that one still moves to the side its answer names', () => {
    const config = defaultConfig();
    config.reports.intervalS = 3600;
    // Call 1's callee sends PT 77 from 25 ms; call 2's caller sends PCMA from 125 ms, 5 ms after its 200
    // OK. Bindings 400 ms in flight: call 1's packets wait for their binding and start their stream at
    // 25 ms once it comes, after call 2's stream started (unattached, by the heuristic); call 2's answer
    // must still find that stream among those started since it and move it to the callee's side.
    const t = new CaptureTimeline();
    const t0 = 1_700_000_000_000;
    const one = new DialogWriter(t, 'held-first', '10.75.0.1', '10.75.0.2');
    let c = one.invite(t0, { ip: '10.75.0.1', media: pt77Media(4000) });
    one.respond(t0 + 20, 200, c, { ip: '10.75.0.2', media: pt77Media(6000) });
    one.ack(t0 + 30, c);
    pt77Rtp(t, t0 + 25, '10.75.0.2', 6000, '10.75.0.1', 4000, 0x300, 50);
    one.bye(t0 + 1200);
    const two = new DialogWriter(t, 'started-since', '10.75.1.1', '10.75.1.2');
    c = two.invite(t0 + 100, { ip: '10.75.1.1', media: [{ port: 4002, formats: [8] }] });
    two.respond(t0 + 120, 200, c, { ip: '10.75.1.2', media: [{ port: 6002, formats: [8] }] });
    two.ack(t0 + 130, c);
    t.rtp(t0 + 125, '10.75.1.1', 4002, '10.75.1.2', 6002, { ssrc: 0x301, seq: 1, ts: 0, count: 50 });
    two.bye(t0 + 1300);
    const { want, got } = singleAndSplit(config, [recordsBatch(t.records())], () => 0, true, { inFlightMs: 400, lateBindingMs: 2000 });
    expect(want.get('10.75.0.2:6000>10.75.0.1:4000/768')).toMatchObject({ CORRELATION_ID: 'held-first', TOTAL_PK: 50 });
    expect(want.get('10.75.1.1:4002>10.75.1.2:6002/769')).toMatchObject({ CORRELATION_ID: 'started-since', DIR: 0, PARTY: 1 });
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
  });

  it('RTP of payload type 77 on a port an ended call (its SDP without 77) still lingers on, the new call\'s binding 400 ms in flight: every packet measured, as in one pipeline', () => {
    const config = defaultConfig();
    config.reports.intervalS = 3600;
    // A phone's port pool comes round: the second call takes the first one's addresses 300 ms after its BYE
    // (its bindings linger there, sip.media_linger_s), with PT 77 where the first had PCMA. One pipeline
    // has the second call's SDP at once; a worker has the first call's bindings, which do not map 77,
    // until the second call's arrive 400 ms (20 packets) later.
    const t = new CaptureTimeline();
    const t0 = 1_700_000_000_000;
    const [a, b, pa, pb] = ['10.74.0.1', '10.74.0.2', 4000, 6000];
    const first = new DialogWriter(t, 'reuse-pcma', a, b);
    let c = first.invite(t0, { ip: a, media: [{ port: pa, formats: [8] }] });
    first.respond(t0 + 20, 200, c, { ip: b, media: [{ port: pb, formats: [8] }] });
    first.ack(t0 + 30, c);
    t.rtp(t0 + 40, a, pa, b, pb, { ssrc: 0x100, seq: 1, ts: 0, count: 50 });
    t.rtp(t0 + 45, b, pb, a, pa, { ssrc: 0x101, seq: 1, ts: 0, count: 50 });
    first.bye(t0 + 1100);
    const second = new DialogWriter(t, 'reuse-pt77', a, b);
    c = second.invite(t0 + 1400, { ip: a, media: pt77Media(pa) });
    second.respond(t0 + 1420, 200, c, { ip: b, media: pt77Media(pb) });
    second.ack(t0 + 1430, c);
    pt77Rtp(t, t0 + 1425, b, pb, a, pa, 0x200, 100);
    pt77Rtp(t, t0 + 1440, a, pa, b, pb, 0x201, 100);
    second.bye(t0 + 3500);
    const { want, got } = singleAndSplit(config, [recordsBatch(t.records())], () => 0, true, { inFlightMs: 400, lateBindingMs: 2000 });
    expect(want.get('10.74.0.2:6000>10.74.0.1:4000/512')).toMatchObject({ CORRELATION_ID: 'reuse-pt77', TOTAL_PK: 100 });
    expect(want.get('10.74.0.1:4000>10.74.0.2:6000/513')).toMatchObject({ CORRELATION_ID: 'reuse-pt77', TOTAL_PK: 100 });
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
  });

  it('an RTCP BYE read on one worker while the other has yet to read its stream\'s last packets: the stream ends after them, once', () => {
    const config = defaultConfig();
    config.reports.intervalS = 3600;
    // Calls whose caller sends an RTCP BYE 25 ms after its last RTP packet, as endpoints do at hang-up; the
    // last one's SDP puts its RTCP on another host (a=rtcp:PORT IN IP4 OTHER-IP), where its BYE comes from.
    const t = new CaptureTimeline();
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 5; i++) {
      const [a, b, pa, pb] = [`10.66.${i}.1`, `10.66.${i}.2`, 4000 + 2 * i, 6000 + 2 * i];
      const rtcp = i === 4 ? { ip: '10.66.9.1', port: 4501 } : { ip: a, port: pa + 1 };
      const d = new DialogWriter(t, `rtcp-bye-${i}`, a, b);
      const c = d.invite(t0 + i * 50, { ip: a, media: [{ port: pa, formats: [8], rtcp: i === 4 ? rtcp : undefined }] });
      d.respond(t0 + i * 50 + 20, 200, c, { ip: b, media: [{ port: pb, formats: [8] }] });
      t.rtp(t0 + i * 50 + 40, a, pa, b, pb, { ssrc: 0x100 + i, seq: 1, ts: 0, count: 150 });
      t.rtp(t0 + i * 50 + 45, b, pb, a, pa, { ssrc: 0x200 + i, seq: 1, ts: 0, count: 150 });
      t.add(t0 + i * 50 + 40 + 149 * 20 + 25, udpFrame(rtcp.ip, rtcp.port, b, pb + 1, rtcpCompound(rtcpRr({ ssrc: 0x100 + i }), rtcpBye({ ssrcs: [0x100 + i] }))));
      if (i === 4) d.bye(t0 + i * 50 + 40 + 149 * 20 + 500); // what the RTCP BYE did not end, the SIP BYE ends (HANGUP)
    }
    // RTP and SIP (even ports) on worker 0, which reads them 100 ms after capture; RTCP (odd) on worker 1 at once.
    const { want, got } = singleAndSplit(config, [recordsBatch(t.records())], (pkt) => Math.min(pkt.srcPort, pkt.dstPort) & 1, false, { lagMs: [100, 0] });
    expect([...want.values()].filter((r) => r.TOTAL_PK === 150).length).toBe(10);
    expect(want.get('10.66.4.1:4008>10.66.4.2:6008/260')?.TYPE).toBe('FINAL');
    expect(want.get('10.66.4.2:6008>10.66.4.1:4008/516')?.TYPE).toBe('HANGUP');
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
  });

  it('calls ending by RTCP BYE then SIP BYE at the end of the capture, each RTCP flow on the other worker than its RTP: the caller\'s stream ends by its BYE (FINAL), as in one pipeline', () => {
    const config = defaultConfig();
    config.reports.intervalS = 3600;
    // A stop right after: the worker carrying the RTP reads nothing after the RTCP BYE the other worker
    // forwarded, which waits for it; then the owner retires the ended calls' lingering media (HANGUP).
    const t = new CaptureTimeline();
    callsEndingByRtcpBye(t, 82, 'drained-bye', 0x600);
    // RTP and SIP (even ports) on worker 0, RTCP (odd) on worker 1.
    const { want, got } = singleAndSplit(config, [recordsBatch(t.records())], (pkt) => Math.min(pkt.srcPort, pkt.dstPort) & 1, true);
    expect([...want.values()].map((r) => r.TYPE).sort()).toEqual([...Array(4).fill('FINAL'), ...Array(4).fill('HANGUP')]);
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
  });

  it('a linger shorter than a held RTCP BYE waits: the call\'s retirement ends the streams its held BYEs name first (FINAL), as in one pipeline', () => {
    const config = defaultConfig();
    config.reports.intervalS = 3600;
    config.sip.mediaLingerS = 1; // retirement 1 s after the SIP BYE, before the 2 s a held BYE waits at most
    // The worker carrying the RTP reads its next packet only after the retirement reached it: the RTCP
    // BYE the other worker forwarded still waits for it then.
    const t = new CaptureTimeline();
    const end = callsEndingByRtcpBye(t, 83, 'held-bye', 0x700);
    // Other traffic: on worker 1 (odd ports) through the linger and past it; on worker 0 only after it.
    t.rtp(end + 20, '10.83.9.1', 7001, '10.83.9.2', 7003, { ssrc: 0x7f1, seq: 1, ts: 0, count: 150 });
    t.rtp(end + 2500, '10.83.9.3', 7000, '10.83.9.4', 7002, { ssrc: 0x7f2, seq: 1, ts: 0, count: 20 });
    const { want, got } = singleAndSplit(config, [recordsBatch(t.records())], (pkt) => Math.min(pkt.srcPort, pkt.dstPort) & 1, true);
    const ofCalls = (m: typeof want) => [...m.values()].filter((r) => String(r.CORRELATION_ID).startsWith('held-bye-')).map((r) => r.TYPE).sort();
    expect(ofCalls(want)).toEqual([...Array(4).fill('FINAL'), ...Array(4).fill('HANGUP')]);
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
  });

  it('a host clock step of 700 s (past the call idle timeout) in a live run: calls kept, every stream as in one pipeline', () => {
    const config = defaultConfig();
    // The first generated call whose capture clock steps forward past sip.call_idle_timeout_s (600 s).
    let s = buildFieldScenario({ kind: 'clock-step', seed: 1, wrap: 'none', ipv6: false, slot: 1, startNs: 0 });
    const bigStep = () => Math.max(...s.frames.slice(1).map((f, i) => f.tNs - s.frames[i]!.tNs)) > 650_000 * 1e6;
    for (let seed = 2; !bigStep(); seed++) s = buildFieldScenario({ kind: 'clock-step', seed, wrap: 'none', ipv6: false, slot: 1, startNs: 0 });
    const batches: PacketBatch[] = [];
    for (const b of readCaptureBuffer(classicPcap(s.frames.map((f) => ({ tsNs: 1_700_000_000_000_000_000n + BigInt(f.tNs), data: f.data }))))) batches.push(copyBatch(b));
    // Even ports (RTP, SIP 5060) on worker 0, odd ones (RTCP, if the call has any) on worker 1, which sees no step.
    const { want, got } = singleAndSplit(config, batches, (pkt) => Math.min(pkt.srcPort, pkt.dstPort) & 1, true);
    expect(want.size).toBe(2);
    expect([...want.values()].every((r) => String(r.CORRELATION_ID).startsWith('clock-step-'))).toBe(true);
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
  });

  it('a host clock step first seen by SIP and RTCP (held until RTP measures it), a call answered in it: every stream as in one pipeline', () => {
    const config = defaultConfig();
    for (const stepMs of [5 * 3600_000, 2500, -90_000]) {
      const s = clockStepAtCallSetup({ t0Ms: 1_700_000_000_000, packets: 300, stepMs });
      // Even ports (RTP, SIP 5060) on worker 0, odd ones (the running call's RTCP) on worker 1.
      for (const live of [false, true]) {
        const { want, got, used } = singleAndSplit(config, [recordsBatch(s.records)], (pkt) => Math.min(pkt.srcPort, pkt.dstPort) & 1, live, { reference: [recordsBatch(s.reference)] });
        expect(used[1]).toBe(1);
        expect([...want.values()].map((r) => [r.TYPE, r.CORRELATION_ID, r.TOTAL_PK, r.MAX_DELTA]).sort()).toEqual([
          ['HANGUP', s.running.callId, 300, 20],
          ['HANGUP', s.running.callId, 300, 20],
          ['HANGUP', s.setUp.callId, 300, 20],
          ['HANGUP', s.setUp.callId, 300, 20],
        ]);
        expect(Object.fromEntries(got), `step ${stepMs} ms, live ${live}`).toEqual(Object.fromEntries(want));
      }
    }
  });

  it('a host clock step forward, the answer held until RTP measures it and its binding 100 ms in flight: the caller stream moves to the side the answer names, as in one pipeline', () => {
    const config = defaultConfig();
    // The answer's binding reaches the worker after the caller's first RTP packet (20 ms behind it), which
    // starts on the offer's side; the binding's SIP time picks the streams started since to match again.
    for (const stepMs of [10_000, 5 * 3600_000]) {
      const s = clockStepAtCallSetup({ t0Ms: 1_700_000_000_000, packets: 300, stepMs });
      for (const live of [false, true]) {
        const { want, got } = singleAndSplit(config, [recordsBatch(s.records)], (pkt) => Math.min(pkt.srcPort, pkt.dstPort) & 1, live, { inFlightMs: 100, reference: [recordsBatch(s.reference)] });
        const callerStream = `${s.setUp.a.ip}:${s.setUp.a.port}>${s.setUp.b.ip}:${s.setUp.b.port}/${s.setUp.a.ssrc}`;
        expect(want.get(callerStream), callerStream).toMatchObject({ CORRELATION_ID: s.setUp.callId, DIR: 0, PARTY: 1 });
        expect(Object.fromEntries(got), `step ${stepMs} ms, live ${live}`).toEqual(Object.fromEntries(want));
      }
    }
  });

  it('SIP a worker sent before it measured a step, applied after its stats brought the step (held for capture order): the owner keeps the step', () => {
    const T = 1_700_000_000_000;
    const STEP = 5 * 3600_000;
    const binds: Array<Extract<MainToWorker, { t: 'bind' }>> = [];
    const owner = new SignallingOwner(defaultConfig(), (m) => m.t === 'bind' && binds.push(m));
    owner.expire(T, T);
    // Worker 0 measures a step forward 1 s after T; its stats bring it before its SIP captured at T + 10 ms
    // (held in SipOrder for worker 1's progress) is applied.
    owner.expire(T + STEP + 1000, T + 1000);
    owner.workerClock(0, STEP, 1, T + 1000);
    owner.onSip(forwardedInvite(1, T + 10, 0, 0), 0);
    // Worker 1 (no stream to measure the step) forwards an INVITE captured after it.
    owner.onSip(forwardedInvite(2, T + STEP + 1100, 0, 0), 1);
    const sipMs = (net: number) => binds.find((b) => b.binding.callId === `held-${net}`)!.sipMs;
    expect(sipMs(1)).toBeCloseTo(T + 10, 3); // dated as its worker handled it
    expect(sipMs(2)).toBeCloseTo(T + 1100, 3);
    expect(owner.nowMs).toBeCloseTo(T + 1100, 3);
  });

  it('stats bringing a step forward before the owner saw a time past it: a call set up after the step keeps its time, none ends idle for the step', () => {
    const T = 1_700_000_000_000;
    const STEP = 700_000; // past sip.call_idle_timeout_s (600 s)
    const owner = new SignallingOwner(defaultConfig(), () => {});
    owner.expire(T, T);
    // The host clock steps at T + 600 ms; worker 0 measures it (its time then T + 700 ms) and its stats
    // come before the owner's next expiry; then an INVITE past the step.
    owner.workerClock(0, STEP, 1, T + 700);
    expect(owner.nowMs).toBeCloseTo(T + 700, 3);
    owner.onSip(forwardedInvite(1, T + STEP + 800, STEP, 1), 0);
    for (let s = 1; s <= 10; s++) owner.expire(T + STEP + s * 1000, T + s * 1000);
    expect(owner.nowMs).toBeCloseTo(T + 10_000, 3);
    expect(owner.calls.call(0)).toMatchObject({ callId: 'held-1', state: 'early', lastMs: T + 800 });
  });

  it('after every call ended by BYE the mirror holds no binding, like the owner', () => {
    const config = defaultConfig();
    const batch = scenarioOf(11);
    const split = collector();
    const pending: MainToWorker[] = [];
    const owner = new SignallingOwner(config, (m) => pending.push(m));
    let mirror!: BindingMirror;
    const w = new Pipeline(config, split.sink, {}, (hooks) => (mirror = new BindingMirror(config, hooks, unboundedSip())));
    for (let i = 0; i < batch.count; i++) {
      for (const m of pending.splice(0)) mirror.apply(m);
      w.processPacket(batch, i);
      const sip = mirror.takeSip();
      for (const s of sip ?? []) owner.onSip(s, 0);
    }
    owner.settle(); // media of ended calls lingers (sip.media_linger_s) until capture time passes it or input ends
    for (const m of pending.splice(0)) mirror.apply(m);
    // Every call of the scenario ended by BYE: no binding is left in the mirror, as in the owner.
    expect(owner.calls.activeBindings).toBe(0);
    expect(mirror.activeCalls).toBe(0);
  });

  it('SIP over TCP on a non-SIP port: segments after the first that looked like SIP are forwarded too, other TCP is not', () => {
    const config = defaultConfig();
    // Three INVITEs as one TCP byte stream to port 5080 (not in sip.ports), cut so that segments start mid-message.
    const msgs = [1, 2, 3].map((n) => text(sipRequest('INVITE', 'sip:b@h', { callId: `tcp${n}`, fromTag: 'a', cseq: 1, body: sdpBody({ ip: '10.0.0.1', media: [{ port: 4000 + n * 2 }] }) })));
    const stream = Uint8Array.from(msgs.flatMap((m) => [...m]));
    const cuts = [0, 60, msgs[0]!.length + 40, msgs[0]!.length + msgs[1]!.length + 3, stream.length - 7, stream.length];
    const frames: Array<[number, Uint8Array]> = [[1_700_000_000_000, tcpFrame('10.0.0.9', 1234, '10.0.0.8', 80, 1, text('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))]];
    for (let i = 0; i + 1 < cuts.length; i++) frames.push([1_700_000_000_001 + i, tcpFrame('10.0.0.1', 40000, '192.0.2.20', 5080, 7000 + cuts[i]!, stream.subarray(cuts[i], cuts[i + 1]))]);
    frames.push([1_700_000_000_100, tcpFrame('10.0.0.1', 40000, '192.0.2.20', 5080, 7000 + stream.length, new Uint8Array(0), TcpFlags.FIN | TcpFlags.ACK)]);

    const pending: MainToWorker[] = [];
    const owner = new SignallingOwner(config, (m) => pending.push(m));
    let mirror!: BindingMirror;
    const w = new Pipeline(config, collector().sink, {}, (hooks) => (mirror = new BindingMirror(config, hooks, unboundedSip())));
    let forwarded = 0;
    for (const batch of readCaptureBuffer(pcapOf(frames))) {
      for (let i = 0; i < batch.count; i++) {
        w.processPacket(batch, i);
        const sip = mirror.takeSip();
        if (sip) {
          forwarded += sip.length;
          for (const s of sip) owner.onSip(s, 0);
        }
      }
    }
    for (const m of pending.splice(0)) mirror.apply(m);
    expect(forwarded).toBe(cuts.length); // every segment of the SIP connection and its FIN, not the HTTP one
    for (const n of [1, 2, 3]) {
      const id = mirror.findBinding(...words('10.0.0.1'), 4000 + n * 2);
      expect(mirror.binding(id)?.callId).toBe(`tcp${n}`);
    }
  });
});
