import { readFileSync } from 'node:fs';
import { DecodedPacket } from '../../src/decode/packet.js';
import { rtp } from '../../src/gen/index.js';
import { RtpEngine, createStreamSnapshot, PayloadKind, payloadKindOfEncoding, type RtpEngineOptions, type StreamSnapshot } from '../../src/rtp/index.js';
import { readCaptureBuffer } from '../../src/capture/index.js';
import { PacketDecoder } from '../../src/decode/index.js';

export const CAPTURES = new URL('../../../shared/captures/', import.meta.url).pathname;

export interface TsharkRow {
  src: string; srcPort: number; dst: string; dstPort: number; ssrc: number;
  packets: number; lost: number;
  minDelta: number; meanDelta: number; maxDelta: number; minJitter: number; meanJitter: number; maxJitter: number;
  problems: boolean;
}

/** A number as tshark prints it in the streams table (negative when capture time went back). */
const NUM = String.raw`-?\d+(?:\.\d+)?`;
/**
 * A row of the `-z rtp,streams` table: start and end time, source, destination, SSRC, payload (names may
 * hold spaces), packets, lost (its share in brackets), min/mean/max delta and jitter, a trailing X for problems.
 */
const STREAM_ROW = new RegExp(
  String.raw`^\s*${NUM}\s+${NUM}\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+0x([0-9A-Fa-f]+)\s+.*?\s(\d+)\s+(-?\d+) \(.*?\)` +
    String.raw`\s+(${NUM})\s+(${NUM})\s+(${NUM})\s+(${NUM})\s+(${NUM})\s+(${NUM})\s*(X?)\s*$`,
);

/** True for a line inside a `-z rtp,streams` table that must be a stream row (not blank, not the column header). */
export function isTsharkStreamsRow(line: string): boolean {
  return line.trim() !== '' && !/^\s*Start time\s/.test(line);
}

/** One row of tshark's `-z rtp,streams` table; throws naming the row (and `where` it is) when it cannot be read. */
export function parseTsharkRow(line: string, where: string): TsharkRow {
  const m = STREAM_ROW.exec(line);
  if (!m) throw new Error(`${where}: tshark rtp,streams row not read: ${JSON.stringify(line)}`);
  return {
    src: m[1], srcPort: +m[2], dst: m[3], dstPort: +m[4], ssrc: parseInt(m[5], 16), packets: +m[6], lost: +m[7],
    minDelta: +m[8], meanDelta: +m[9], maxDelta: +m[10], minJitter: +m[11], meanJitter: +m[12], maxJitter: +m[13],
    problems: m[14] === 'X',
  };
}

/**
 * Every row of the `-z rtp,streams` tables in tshark's output `text` (read from `where`). Throws when
 * there is no such table, or at a row it cannot read: a reference row left out would let a comparison
 * pass while the probe misses that stream.
 */
export function tsharkStreamRows(text: string, where: string): TsharkRow[] {
  const rows: TsharkRow[] = [];
  let tables = 0;
  let inTable = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('=====')) {
      inTable = !inTable && line.includes('RTP Streams');
      if (inTable) tables++;
      continue;
    }
    if (inTable && isTsharkStreamsRow(line)) rows.push(parseTsharkRow(line, where));
  }
  if (tables === 0) throw new Error(`${where}: no tshark rtp,streams table`);
  return rows;
}

/** Rows of `tshark -q -z rtp,streams` output in the file at `path`. */
export function parseTshark(path: string): TsharkRow[] {
  return tsharkStreamRows(readFileSync(path, 'utf8'), path);
}

export function streamKey(src: string, sp: number, dst: string, dp: number, ssrc: number): string {
  return `${src}:${sp}>${dst}:${dp}#${(ssrc >>> 0).toString(16)}`;
}

/** Per-packet Wireshark values, keyed like streamKey. */
export type PerPacket = Map<string, Array<{ d: number; j: number; sk: number }>>;

export interface RunResult {
  streams: Map<string, StreamSnapshot>;
  perPacket: PerPacket;
  engine: RtpEngine;
  /** Wireshark packet time of each slot after its latest packet (per-packet deltas). */
  lastTime: Map<string, number>;
}

/** Payload kinds and clocks from the capture's own SDP (a=rtpmap lines found anywhere in the file). */
export function sdpPayloadMap(bytes: Uint8Array): Map<number, { clock: number; kind: number }> {
  const text = Buffer.from(bytes).toString('latin1');
  const map = new Map<number, { clock: number; kind: number }>();
  for (const m of text.matchAll(/a=rtpmap:(\d+) ([\w.-]+)\/(\d+)/g)) {
    const pt = +m[1];
    if (pt >= 96) map.set(pt, { clock: +m[3], kind: payloadKindOfEncoding(m[2]) });
  }
  return map;
}

function collector(opts: Partial<RtpEngineOptions>, sdp: Map<number, { clock: number; kind: number }>): RunResult {
  const streams = new Map<string, StreamSnapshot>();
  const perPacket: PerPacket = new Map();
  // The arithmetic is compared per packet from the first: signalled packets count at once here.
  const engine: RtpEngine = new RtpEngine({ signalledMinConsecutive: 1, ...opts }, {
    resolveClock: (_s, pt) => sdp.get(pt)?.clock ?? 0,
    resolvePayloadKind: (_s, pt) => sdp.get(pt)?.kind ?? -1,
    onStreamEnd: (slot) => {
      const snap = createStreamSnapshot();
      engine.snapshot(slot, snap);
      streams.set(streamKey(snap.srcIp, snap.srcPort, snap.dstIp, snap.dstPort, snap.ssrc), snap);
    },
  });
  return { streams, perPacket, engine, lastTime: new Map() };
}

function record(r: RunResult, slot: number): void {
  if (slot < 0) return;
  const e = r.engine;
  const key = `${slot}`;
  let list = r.perPacket.get(key);
  if (!list) r.perPacket.set(key, (list = []));
  // Wireshark's delta: the change of its packet time; a packet it does not analyse keeps the last one.
  const time = e.wiresharkTimeMs(slot);
  const prev = r.lastTime.get(key);
  const d = prev === undefined ? 0 : time !== prev ? time - prev : list[list.length - 1].d;
  r.lastTime.set(key, time);
  list.push({ d, j: e.wiresharkJitterMs(slot), sk: e.skewMs(slot) });
}

/** Rename per-packet lists from slot numbers to stream keys (slots are reused only after end). */
function finish(r: RunResult, slotKeys: Map<number, string>): RunResult {
  const renamed: PerPacket = new Map();
  for (const [slot, list] of r.perPacket) renamed.set(slotKeys.get(+slot)!, list);
  r.perPacket = renamed;
  return r;
}

/** Decode a capture file with the project's reader + decoder and run every UDP payload through the engine. */
export function runPcap(path: string, opts: Partial<RtpEngineOptions> = {}, signalled = true): RunResult {
  const bytes = new Uint8Array(readFileSync(path));
  const r = collector({ maxStreams: 64, ...opts }, sdpPayloadMap(bytes));
  const decoder = new PacketDecoder();
  const pkt = new DecodedPacket();
  const slotKeys = new Map<number, string>();
  for (const batch of readCaptureBuffer(bytes, path)) {
    for (let i = 0; i < batch.count; i++) {
      if (!decoder.decode(batch, i, pkt) || pkt.ipProto !== 17) continue;
      const slot = r.engine.onRtp(pkt, signalled, batch.buf);
      if (slot >= 0 && !slotKeys.has(slot)) {
        const s = createStreamSnapshot();
        r.engine.snapshot(slot, s);
        slotKeys.set(slot, streamKey(s.srcIp, s.srcPort, s.dstIp, s.dstPort, s.ssrc));
      }
      record(r, slot);
    }
  }
  r.engine.endAll(5);
  return finish(r, slotKeys);
}

export interface SynthScenario {
  desc: string;
  packets: Array<{ seq: number; ts: number; arr_us: number; m?: number; pt?: number; ssrc?: number; payload?: number }>;
}

export const SYNTH = { src: '10.0.0.1', srcPort: 4000, dst: '10.0.0.2', dstPort: 5000, ssrc: 0x11223344 };

/** Fill a DecodedPacket for 10.0.0.1:4000 -> 10.0.0.2:5000 (IPv4-mapped words). */
export function synthPacket(pkt: DecodedPacket, payload: Uint8Array, tUs: number, baseSec = 1_700_000_000): void {
  pkt.ipVersion = 4;
  pkt.ipProto = 17;
  pkt.src0 = 0; pkt.src1 = 0; pkt.src2 = 0xffff; pkt.src3 = 0x0a000001;
  pkt.dst0 = 0; pkt.dst1 = 0; pkt.dst2 = 0xffff; pkt.dst3 = 0x0a000002;
  pkt.srcPort = SYNTH.srcPort;
  pkt.dstPort = SYNTH.dstPort;
  pkt.payloadBuf = payload;
  pkt.payloadOffset = 0;
  pkt.payloadLength = payload.length;
  const us = Math.round(tUs);
  pkt.tsSec = baseSec + Math.floor(us / 1e6);
  pkt.tsNsec = (us % 1e6) * 1000;
}

/** Run a synth scenario's JSON description (no pcap involved). */
export function runScenario(sc: SynthScenario, opts: Partial<RtpEngineOptions> = {}): RunResult {
  const r = collector({ maxStreams: 8, ...opts }, new Map());
  const pkt = new DecodedPacket();
  const slotKeys = new Map<number, string>();
  for (const p of sc.packets) {
    const payload = rtp({
      pt: p.pt ?? 0, seq: p.seq, ts: p.ts, ssrc: p.ssrc ?? SYNTH.ssrc, marker: p.m === 1,
      payload: new Uint8Array(p.payload ?? 160).fill(0xff),
    });
    synthPacket(pkt, payload, p.arr_us);
    const slot = r.engine.onRtp(pkt, true);
    if (slot >= 0 && !slotKeys.has(slot)) slotKeys.set(slot, streamKey(SYNTH.src, SYNTH.srcPort, SYNTH.dst, SYNTH.dstPort, p.ssrc ?? SYNTH.ssrc));
    record(r, slot);
  }
  r.engine.endAll(5);
  return finish(r, slotKeys);
}

/** tshark prints 3 decimals: equal when |ours - printed| <= half a unit of the last digit. */
export function close3(ours: number, printed: number): boolean {
  return Math.abs(ours - printed) <= 0.0005 + 1e-9;
}

export function compareToTshark(snap: StreamSnapshot, row: TsharkRow): string[] {
  const c = snap.cumulative;
  const errs: string[] = [];
  if (c.packets !== row.packets) errs.push(`packets ${c.packets} != ${row.packets}`);
  if (snap.wiresharkLost !== row.lost) errs.push(`lost ${snap.wiresharkLost} != ${row.lost}`);
  const pairs: Array<[string, number, number]> = [
    ['minDelta', c.minDeltaMs, row.minDelta], ['meanDelta', c.meanDeltaMs, row.meanDelta], ['maxDelta', c.maxDeltaMs, row.maxDelta],
    ['minJitter', c.minJitterMs, row.minJitter], ['meanJitter', c.meanJitterMs, row.meanJitter], ['maxJitter', c.maxJitterMs, row.maxJitter],
  ];
  for (const [n, a, b] of pairs) if (!close3(a, b)) errs.push(`${n} ${a} != ${b}`);
  return errs;
}

export { PayloadKind };
