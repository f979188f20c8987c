/**
 * Benchmark traffic generator: many SIP calls over UDP, each with two RTP directions and optional RTCP,
 * with random or Gilbert (bursty) loss and uniform jitter, reproducible from a seed.
 *
 * Records come out in capture-time order from a min-heap of per-source next-arrival times, and calls are
 * created only when they start, so memory follows the number of CONCURRENT calls, not the total: a
 * multi-GB capture streams to disk (writeScenarioPcap) in 4 MiB writes.
 *
 * Ground truth for tests is the generator's own bookkeeping (ScenarioStats): what was sent, what was
 * dropped. The first and last RTP packet of a direction are never dropped so that Wireshark's
 * "lost" (first/last sequence number based) equals the packets the generator dropped.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { rtp, text, udpFrame } from './packets.js';
import type { PcapRecord } from './pcap-writer.js';
import { SeededRandom } from './random.js';
import { rtcpCompound, rtcpSdes, rtcpSr } from './rtcp.js';
import { sdpBody, sipRequest, sipResponse } from './sip.js';

export type ScenarioCodec = 'PCMA' | 'PCMU' | 'G729';

export interface ScenarioOptions {
  calls: number;
  /** When set, calls start every callDurationS / concurrentCalls seconds (steady state of that many calls). */
  concurrentCalls?: number;
  /** Without concurrentCalls, call starts are spread evenly over [0, durationS - callDurationS]. */
  durationS: number;
  /** Media duration of each call (seconds of RTP after the 200 OK). */
  callDurationS: number;
  codec: ScenarioCodec;
  /** Packetization, ms (default 20). */
  ptimeMs?: number;
  /** Long-run fraction of RTP packets dropped, percent. */
  lossPct: number;
  /**
   * Gilbert model: P(loss | previous lost) in percent; the loss-after-received probability is derived so
   * the long-run loss stays lossPct. Undefined: independent (random) loss.
   */
  burstLossPct?: number;
  /** Each packet arrives uniformly 0..jitterMs after its send time (kept in order within a direction). */
  jitterMs: number;
  /** RTCP SR + SDES every ~5 s per direction on the RTP port + 1. */
  rtcp: boolean;
  seed: number;
  /** Capture time of the scenario's start, seconds since the epoch. */
  startEpochS: number;
  /** Collect per-stream ground truth in stats.streams (small scenarios: tests). */
  collectStreams?: boolean;
  /** Call-ID of call k (default `scn<seed>-<k>@rtpprobe.gen`). */
  callIdOf?: (k: number) => string;
  /** Extra SIP headers of every message of call k, e.g. [['X-CID', 'a-leg-id']]. */
  sipHeadersOf?: (k: number) => Array<[string, string]>;
}

/** Bytes a classic-pcap file spends per RTP packet: record header 16 + Ethernet 14 + IPv4 20 + UDP 8 + RTP 12. */
const RTP_RECORD_OVERHEAD = 70;

/**
 * Media seconds per call that make a scenario of `calls` two-way calls about `megabytes` large (RTP only;
 * SIP and RTCP add well under 1 %).
 */
export function callDurationForSize(megabytes: number, calls: number, codec: ScenarioCodec, ptimeMs = 20): number {
  const packetBytes = RTP_RECORD_OVERHEAD + ptimeMs * CODECS[codec].bytesPerMs;
  const packetsPerCallSecond = 2 * (1000 / ptimeMs);
  return Math.max(1, Math.round((megabytes * 1e6) / (calls * packetsPerCallSecond * packetBytes)));
}

export interface ScenarioStreamTruth {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  ssrc: number;
  payloadType: number;
  /** Packets written to the capture. */
  packets: number;
  /** Packets the loss model dropped. */
  lost: number;
}

export interface ScenarioStats {
  calls: number;
  rtpStreams: number;
  rtpPackets: number;
  rtpLost: number;
  sipMessages: number;
  rtcpPackets: number;
  records: number;
  /** Bytes of packet data (without pcap record headers). */
  bytes: number;
  /** Capture time of the last record, ns after the start. */
  lastNs: number;
  streams: ScenarioStreamTruth[];
}

export function emptyScenarioStats(): ScenarioStats {
  return { calls: 0, rtpStreams: 0, rtpPackets: 0, rtpLost: 0, sipMessages: 0, rtcpPackets: 0, records: 0, bytes: 0, lastNs: 0, streams: [] };
}

const CODECS: Record<ScenarioCodec, { pt: number; bytesPerMs: number; fill: number }> = {
  PCMA: { pt: 8, bytesPerMs: 8, fill: 0xd5 },
  PCMU: { pt: 0, bytesPerMs: 8, fill: 0xff },
  G729: { pt: 18, bytesPerMs: 1, fill: 0x00 },
};

const MS = 1_000_000; // ns
const RING_NS = 1000 * MS;
const RTCP_INTERVAL_NS = 5000 * MS;
/** Seconds between 1900 (NTP era) and 1970. */
const NTP_UNIX_OFFSET = 2208988800;

/** One thing that emits records over time: a call's signalling, an RTP direction, an RTCP direction, or the call starter. */
interface Source {
  /** Next emission time, ns after the scenario start. */
  t: number;
  /** Tie-breaker so equal times come out in creation order (deterministic). */
  order: number;
  /** The record due at `t`, or null (the starter emits none). Then advances `t`; returns false when finished. */
  emit(g: Generator_): Uint8Array | null;
  done: boolean;
}

/** Min-heap of sources by (t, order). */
class SourceHeap {
  private readonly items: Source[] = [];
  get size(): number {
    return this.items.length;
  }
  push(s: Source): void {
    const a = this.items;
    a.push(s);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  peek(): Source {
    return this.items[0];
  }
  /** Re-establish order after the top's time changed (or remove it when done). */
  fixTop(): void {
    const a = this.items;
    if (a[0].done) {
      const last = a.pop()!;
      if (a.length === 0) return;
      a[0] = last;
    }
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && less(a[l], a[m])) m = l;
      if (r < n && less(a[r], a[m])) m = r;
      if (m === i) return;
      [a[i], a[m]] = [a[m], a[i]];
      i = m;
    }
  }
}

function less(a: Source, b: Source): boolean {
  return a.t < b.t || (a.t === b.t && a.order < b.order);
}

interface CallPlan {
  index: number;
  callId: string;
  aIp: string;
  bIp: string;
  aRtp: number;
  bRtp: number;
  startNs: number;
  answerNs: number;
  mediaEndNs: number;
}

/** State shared by all sources of one run. */
class Generator_ {
  readonly rnd: SeededRandom;
  readonly codec: { pt: number; bytesPerMs: number; fill: number };
  readonly ptimeNs: number;
  readonly samplesPerPacket: number;
  readonly payloadBytes: number;
  readonly lossP: number;
  readonly lossQ: number;
  readonly bursty: boolean;
  readonly lossRate: number;
  readonly jitterNs: number;
  private order = 0;

  constructor(readonly o: ScenarioOptions, readonly heap: SourceHeap, readonly stats: ScenarioStats) {
    this.rnd = new SeededRandom(o.seed);
    this.codec = CODECS[o.codec];
    const ptime = o.ptimeMs ?? 20;
    this.ptimeNs = ptime * MS;
    this.samplesPerPacket = ptime * 8; // every codec here is 8 kHz
    this.payloadBytes = ptime * this.codec.bytesPerMs;
    this.lossRate = Math.min(Math.max(o.lossPct, 0), 99) / 100;
    this.bursty = o.burstLossPct !== undefined;
    // Gilbert: stationary loss pi = p / (p + q) with q = 1 - P(loss | lost)  =>  p = pi q / (1 - pi).
    this.lossQ = this.bursty ? 1 - Math.min(Math.max(o.burstLossPct!, 0), 99) / 100 : 0;
    this.lossP = this.bursty ? Math.min(1, (this.lossRate * this.lossQ) / (1 - this.lossRate)) : this.lossRate;
    this.jitterNs = o.jitterMs * MS;
  }

  nextOrder(): number {
    return this.order++;
  }

  startCall(p: CallPlan): void {
    this.stats.calls++;
    this.add(new SignallingSource(this, p));
    this.add(new RtpSource(this, p, true));
    this.add(new RtpSource(this, p, false));
  }

  add(s: Source): void {
    s.order = this.nextOrder();
    this.heap.push(s);
  }

  /** Time a call starts, ns after the scenario start. */
  callStartNs(k: number): number {
    const o = this.o;
    // Whole microseconds, like every time the generator produces.
    if (o.concurrentCalls !== undefined && o.concurrentCalls > 0) return Math.round((k * o.callDurationS * 1e6) / o.concurrentCalls) * 1000;
    const span = Math.max(0, o.durationS - o.callDurationS) * 1e6;
    return o.calls <= 1 ? 0 : Math.round((k * span) / (o.calls - 1)) * 1000;
  }

  plan(k: number): CallPlan {
    const startNs = this.callStartNs(k);
    const answerNs = startNs + RING_NS + 60 * MS;
    return {
      index: k,
      callId: this.o.callIdOf ? this.o.callIdOf(k) : `scn${this.o.seed}-${k}@rtpprobe.gen`,
      aIp: `10.${1 + ((k >> 16) & 63)}.${(k >> 8) & 255}.${k & 255}`,
      bIp: `10.${128 + ((k >> 16) & 63)}.${(k >> 8) & 255}.${k & 255}`,
      aRtp: 16384 + 2 * (k % 8192),
      bRtp: 32768 + 2 * (k % 8192),
      startNs,
      answerNs,
      mediaEndNs: answerNs + Math.round(this.o.callDurationS * 1e9),
    };
  }
}

/** Creates calls as their start time comes. */
class CallStarter implements Source {
  t: number;
  order = 0;
  done = false;
  private k = 0;
  constructor(private readonly g: Generator_) {
    this.t = g.callStartNs(0);
    this.done = g.o.calls <= 0;
  }
  emit(g: Generator_): Uint8Array | null {
    g.startCall(g.plan(this.k));
    this.k++;
    if (this.k >= g.o.calls) this.done = true;
    else this.t = g.callStartNs(this.k);
    this.order = g.nextOrder();
    return null;
  }
}

/** INVITE/100/180/200/ACK at the start, BYE/200 after the media; A is the caller. */
class SignallingSource implements Source {
  t: number;
  order = 0;
  done = false;
  private step = 0;
  private readonly steps: Array<{ at: number; fromA: boolean; msg: () => string }>;

  constructor(g: Generator_, private readonly p: CallPlan) {
    const fromTag = `a${p.index}`;
    const toTag = `b${p.index}`;
    const sdp = (ip: string, port: number) =>
      sdpBody({ ip, media: [{ port, formats: [g.codec.pt, 101], ptime: g.ptimeNs / MS, rtpmap: [[101, 'telephone-event/8000']] }] });
    const uri = `sip:bob@${p.bIp}`;
    const base = { callId: p.callId, fromTag, via: `${p.aIp}:5060`, headers: g.o.sipHeadersOf?.(p.index) };
    this.steps = [
      { at: p.startNs, fromA: true, msg: () => sipRequest('INVITE', uri, { ...base, cseq: 1, body: sdp(p.aIp, p.aRtp) }) },
      { at: p.startNs + 5 * MS, fromA: false, msg: () => sipResponse(100, { ...base, cseq: 1, cseqMethod: 'INVITE' }) },
      { at: p.startNs + 50 * MS, fromA: false, msg: () => sipResponse(180, { ...base, toTag, cseq: 1, cseqMethod: 'INVITE' }) },
      { at: p.answerNs - 10 * MS, fromA: false, msg: () => sipResponse(200, { ...base, toTag, cseq: 1, cseqMethod: 'INVITE', body: sdp(p.bIp, p.bRtp) }) },
      { at: p.answerNs - 5 * MS, fromA: true, msg: () => sipRequest('ACK', uri, { ...base, toTag, cseq: 1 }) },
      { at: p.mediaEndNs + 20 * MS, fromA: true, msg: () => sipRequest('BYE', uri, { ...base, toTag, cseq: 2 }) },
      { at: p.mediaEndNs + 30 * MS, fromA: false, msg: () => sipResponse(200, { ...base, toTag, cseq: 2, cseqMethod: 'BYE' }) },
    ];
    this.t = this.steps[0].at;
  }

  emit(g: Generator_): Uint8Array | null {
    const s = this.steps[this.step++];
    const p = this.p;
    const frame = s.fromA ? udpFrame(p.aIp, 5060, p.bIp, 5060, text(s.msg())) : udpFrame(p.bIp, 5060, p.aIp, 5060, text(s.msg()));
    g.stats.sipMessages++;
    if (this.step >= this.steps.length) this.done = true;
    else this.t = this.steps[this.step].at;
    return frame;
  }
}

/** Ethernet + IPv4 + UDP header bytes before the RTP header in the template frames. */
const RTP_AT = 14 + 20 + 8;

/** One RTP direction: a template frame patched per packet (seq, timestamp, marker). */
class RtpSource implements Source {
  t = 0;
  order = 0;
  done = false;
  private readonly template: Uint8Array;
  private readonly total: number;
  private i = 0;
  private readonly seq0: number;
  private readonly ts0: number;
  private readonly ssrc: number;
  private readonly sendStartNs: number;
  private lastArrival = -1;
  private prevLost = false;
  private sent = 0;
  private octets = 0;
  private readonly truth: ScenarioStreamTruth;
  readonly rtcp: RtcpSource | null;

  constructor(private readonly g: Generator_, p: CallPlan, fromA: boolean) {
    const r = g.rnd;
    this.seq0 = r.int(0, 65535);
    this.ts0 = r.int(0, 0x7fffffff);
    this.ssrc = r.int(1, 0xfffffffe) >>> 0;
    const [src, sport, dst, dport] = fromA ? [p.aIp, p.aRtp, p.bIp, p.bRtp] : [p.bIp, p.bRtp, p.aIp, p.aRtp];
    const payload = new Uint8Array(g.payloadBytes).fill(g.codec.fill);
    this.template = udpFrame(src, sport, dst, dport, rtp({ pt: g.codec.pt, seq: 0, ts: 0, ssrc: this.ssrc, payload }));
    this.total = Math.max(1, Math.floor((p.mediaEndNs - p.answerNs) / g.ptimeNs));
    // The two directions start a few ms apart, like real endpoints.
    this.sendStartNs = p.answerNs + (fromA ? 0 : 3 * MS) + r.int(0, 999) * 1000;
    this.truth = { src, srcPort: sport, dst, dstPort: dport, ssrc: this.ssrc, payloadType: g.codec.pt, packets: 0, lost: 0 };
    g.stats.rtpStreams++;
    if (g.o.collectStreams) g.stats.streams.push(this.truth);
    this.rtcp = g.o.rtcp ? new RtcpSource(this, src, sport + 1, dst, dport + 1, this.ssrc, this.sendStartNs) : null;
    if (this.rtcp) g.add(this.rtcp);
    this.advanceToDelivered();
  }

  /** Skip dropped packets (counting them) and set t to the next delivered packet's arrival. */
  private advanceToDelivered(): void {
    const g = this.g;
    while (this.i < this.total) {
      const first = this.i === 0;
      const last = this.i === this.total - 1;
      let lost = false;
      if (!first && !last && g.lossRate > 0) {
        const pr = g.bursty && this.prevLost ? 1 - g.lossQ : g.lossP;
        lost = g.rnd.next() < pr;
      }
      this.prevLost = lost;
      if (!lost) {
        const send = this.sendStartNs + this.i * g.ptimeNs;
        // Whole microseconds: what a classic pcap keeps, so every reader sees the same times.
        let arrival = g.jitterNs > 0 ? send + Math.floor((g.rnd.next() * g.jitterNs) / 1000) * 1000 : send;
        if (arrival <= this.lastArrival) arrival = this.lastArrival + 1000; // no reordering within a direction
        this.t = arrival;
        this.lastArrival = arrival;
        return;
      }
      this.truth.lost++;
      g.stats.rtpLost++;
      this.sent++; // the sender sent it: RTCP counts it
      this.octets += g.payloadBytes;
      this.i++;
    }
    this.done = true;
    if (this.rtcp) this.rtcp.senderDone = true;
  }

  emit(g: Generator_): Uint8Array | null {
    const f = new Uint8Array(this.template);
    const seq = (this.seq0 + this.i) & 0xffff;
    const ts = (this.ts0 + this.i * g.samplesPerPacket) >>> 0;
    if (this.i === 0) f[RTP_AT + 1] |= 0x80; // marker on the talkspurt's first packet
    f[RTP_AT + 2] = seq >> 8;
    f[RTP_AT + 3] = seq & 0xff;
    f[RTP_AT + 4] = ts >>> 24;
    f[RTP_AT + 5] = (ts >>> 16) & 0xff;
    f[RTP_AT + 6] = (ts >>> 8) & 0xff;
    f[RTP_AT + 7] = ts & 0xff;
    this.truth.packets++;
    g.stats.rtpPackets++;
    this.sent++;
    this.octets += g.payloadBytes;
    this.i++;
    this.advanceToDelivered();
    return f;
  }

  /** Sender state at send time `ns` for an SR. */
  senderInfo(ns: number): { rtpTs: number; packets: number; octets: number } {
    const elapsed = Math.max(0, ns - this.sendStartNs);
    return { rtpTs: (this.ts0 + Math.floor((elapsed * 8) / 1e6)) >>> 0, packets: this.sent, octets: this.octets };
  }
}

/** SR + SDES from one RTP sender every ~5 s while it sends. */
class RtcpSource implements Source {
  t: number;
  order = 0;
  done = false;
  senderDone = false;

  constructor(
    private readonly sender: RtpSource,
    private readonly src: string,
    private readonly sport: number,
    private readonly dst: string,
    private readonly dport: number,
    private readonly ssrc: number,
    startNs: number,
  ) {
    this.t = startNs + RTCP_INTERVAL_NS;
  }

  emit(g: Generator_): Uint8Array | null {
    if (this.senderDone) {
      this.done = true; // no SR after the sender's last packet
      return null;
    }
    const abs = g.o.startEpochS + this.t / 1e9;
    const sec = Math.floor(abs);
    const info = this.sender.senderInfo(this.t);
    const sr = rtcpSr({
      ssrc: this.ssrc,
      ntpSec: (sec + NTP_UNIX_OFFSET) >>> 0,
      ntpFrac: Math.floor((abs - sec) * 4294967296) >>> 0,
      rtpTs: info.rtpTs,
      packets: info.packets,
      octets: info.octets,
    });
    const frame = udpFrame(this.src, this.sport, this.dst, this.dport, rtcpCompound(sr, rtcpSdes([{ ssrc: this.ssrc, items: [{ type: 1, value: `u${this.ssrc}@gen` }] }])));
    g.stats.rtcpPackets++;
    // RFC 3550 randomizes the interval by 0.5..1.5; a gentler +-10 % keeps ~5 s.
    this.t += Math.round(RTCP_INTERVAL_NS * (0.9 + 0.2 * g.rnd.next()) / 1000) * 1000;
    return frame;
  }
}

/**
 * Records of the scenario in capture-time order. `stats` (optional) is filled as records are produced;
 * it is complete once the iterator is exhausted.
 */
export function* generateScenario(opts: ScenarioOptions, stats: ScenarioStats = emptyScenarioStats()): Generator<PcapRecord, ScenarioStats, undefined> {
  const startNs = BigInt(Math.round(opts.startEpochS)) * 1_000_000_000n;
  for (const [t, data] of scenarioFrames(opts, stats)) yield { tsNs: startNs + BigInt(t), data };
  return stats;
}

/** Frames with their capture time in ns after the start (no bigint per record: for the file writer). */
export function* scenarioFrames(opts: ScenarioOptions, stats: ScenarioStats = emptyScenarioStats()): Generator<[number, Uint8Array], ScenarioStats, undefined> {
  if (!Number.isInteger(opts.startEpochS)) throw new Error('startEpochS must be whole seconds');
  const heap = new SourceHeap();
  const g = new Generator_(opts, heap, stats);
  const starter = new CallStarter(g);
  if (!starter.done) g.add(starter);
  const pair: [number, Uint8Array] = [0, EMPTY];
  while (heap.size > 0) {
    const s = heap.peek();
    const t = s.t;
    const data = s.emit(g);
    heap.fixTop();
    if (data === null) continue;
    stats.records++;
    stats.bytes += data.length;
    stats.lastNs = t;
    pair[0] = t;
    pair[1] = data;
    yield pair;
  }
  return stats;
}

const EMPTY = new Uint8Array(0);

/**
 * Write the scenario as a classic pcap (microsecond, little-endian, Ethernet) through a reused 4 MiB
 * buffer: memory stays flat whatever the file size. Returns the ground truth.
 */
export function writeScenarioPcap(path: string, opts: ScenarioOptions, onProgress?: (s: ScenarioStats) => void): ScenarioStats {
  const stats = emptyScenarioStats();
  const fd = openSync(path, 'w');
  const chunk = Buffer.allocUnsafe(4 * 1024 * 1024);
  let n = 0;
  const flush = () => {
    let o = 0;
    while (o < n) o += writeSync(fd, chunk, o, n - o);
    n = 0;
  };
  try {
    chunk.writeUInt32LE(0xa1b2c3d4, 0);
    chunk.writeUInt16LE(2, 4);
    chunk.writeUInt16LE(4, 6);
    chunk.writeInt32LE(0, 8);
    chunk.writeUInt32LE(0, 12);
    chunk.writeUInt32LE(262144, 16);
    chunk.writeUInt32LE(1, 20);
    n = 24;
    let progressAt = 0;
    for (const [t, data] of scenarioFrames(opts, stats)) {
      if (n + 16 + data.length > chunk.length) flush();
      const us = Math.floor(t / 1000);
      chunk.writeUInt32LE(opts.startEpochS + Math.floor(us / 1e6), n);
      chunk.writeUInt32LE(us % 1e6, n + 4);
      chunk.writeUInt32LE(data.length, n + 8);
      chunk.writeUInt32LE(data.length, n + 12);
      chunk.set(data, n + 16);
      n += 16 + data.length;
      if (onProgress !== undefined && stats.records >= progressAt) {
        onProgress(stats);
        progressAt = stats.records + 1_000_000;
      }
    }
    flush();
  } finally {
    closeSync(fd);
  }
  return stats;
}
