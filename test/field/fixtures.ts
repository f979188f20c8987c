/**
 * Minimal packet sequences that show one stream-semantics behaviour, written as pcaps with the project's
 * generator, measured by tshark (run here, the independent reference) and by the probe.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classicPcap, rtp, sdpBody, sipRequest, sipResponse, text, udpFrame, type PcapRecord } from '../../src/gen/index.js';
import { parseTshark, streamKey, type TsharkRow } from '../rtp/helpers.js';
import type { E2eReport } from '../e2e/helpers.js';
import type { ProbeConfig } from '../../src/ops/config.js';
import { fieldConfig, replayFinals } from './helpers.js';

export interface FixturePacket {
  /** Arrival time, ms from the start of the capture. */
  ms: number;
  seq: number;
  ts: number;
  pt?: number;
  marker?: boolean;
  ssrc?: number;
  /** Payload bytes (default 160, G.711 silence). */
  payload?: Uint8Array;
  /** 5-tuple (default 10.1.0.1:40000 -> 10.1.0.2:50000). */
  src?: string;
  srcPort?: number;
  dst?: string;
  dstPort?: number;
  /** Raw UDP payload instead of an RTP packet (junk, RTCP, STUN...). */
  raw?: Uint8Array;
}

export const FIX = { src: '10.1.0.1', srcPort: 40000, dst: '10.1.0.2', dstPort: 50000, ssrc: 0x5eed0001 };
const T0_NS = 1_760_000_000_000_000_000n;

/** The fixture's packets as capture records (Ethernet frames with their capture times). */
export function fixtureRecords(packets: FixturePacket[]): PcapRecord[] {
  return packets.map((p) => {
    const body = p.raw ?? rtp({ pt: p.pt ?? 8, seq: p.seq & 0xffff, ts: p.ts >>> 0, ssrc: p.ssrc ?? FIX.ssrc, marker: p.marker, payload: p.payload });
    return {
      tsNs: T0_NS + BigInt(Math.round(p.ms * 1000)) * 1000n,
      data: udpFrame(p.src ?? FIX.src, p.srcPort ?? FIX.srcPort, p.dst ?? FIX.dst, p.dstPort ?? FIX.dstPort, body),
    };
  });
}

export function fixturePcap(packets: FixturePacket[]): Buffer {
  return classicPcap(fixtureRecords(packets), { nanoseconds: true });
}

export interface FixtureRun {
  tshark: Map<string, TsharkRow>;
  probe: Map<string, E2eReport>;
}

/**
 * tshark (heuristic RTP on, as for unsignalled traffic) and the probe (shipped defaults) on one fixture;
 * tshark reads `tsharkPackets` instead when given (e.g. the fixture plus an SDP that tells it the clock).
 */
export async function runFixture(packets: FixturePacket[], config?: ProbeConfig, tsharkPackets?: FixturePacket[]): Promise<FixtureRun> {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-fixture-'));
  try {
    const file = join(dir, 'fixture.pcap');
    writeFileSync(file, fixturePcap(packets));
    let tsharkFile = file;
    if (tsharkPackets) {
      tsharkFile = join(dir, 'fixture-for-tshark.pcap');
      writeFileSync(tsharkFile, fixturePcap(tsharkPackets));
    }
    const tshark = new Map<string, TsharkRow>();
    for (const r of tsharkStreams(tsharkFile, ['-o', 'rtp.heuristic_rtp:TRUE'])) tshark.set(streamKey(r.src, r.srcPort, r.dst, r.dstPort, r.ssrc), r);
    const probe = await replayFinals(file, config ?? fieldConfig());
    return { tshark, probe };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** tshark's `-z rtp,streams` rows for a capture file, with `args` before the statistics (its table beside the file). */
export function tsharkStreams(file: string, args: string[] = []): TsharkRow[] {
  const out = execFileSync('tshark', ['-n', '-r', file, ...args, '-q', '-z', 'rtp,streams'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const txt = `${file}.tshark.txt`;
  writeFileSync(txt, out);
  return parseTshark(txt);
}

/** A G.711 stream: n packets every 20 ms from seq0/ts0, arrival jittered by jitterMs(i). */
export function g711(n: number, o: { seq0?: number; ts0?: number; ms0?: number; pt?: number; jitterMs?: (i: number) => number } = {}): FixturePacket[] {
  const out: FixturePacket[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ ms: (o.ms0 ?? 0) + i * 20 + (o.jitterMs ? o.jitterMs(i) : 0), seq: (o.seq0 ?? 1000) + i, ts: (o.ts0 ?? 80000) + i * 160, pt: o.pt ?? 8 });
  }
  return out;
}

export const fixtureKey = (p: Partial<FixturePacket> = {}) =>
  streamKey(p.src ?? FIX.src, p.srcPort ?? FIX.srcPort, p.dst ?? FIX.dst, p.dstPort ?? FIX.dstPort, p.ssrc ?? FIX.ssrc);

/**
 * An INVITE and its 200 OK (SIP on 5060 between the fixture's two addresses) whose SDP maps `pt` to
 * `encoding` ("opus/48000/2"), and `more` payload types: what tells tshark a dynamic payload type's clock.
 * At ms -200 and -100.
 */
export function sdpSetup(pt: number, encoding: string, kind = 'audio', proto?: string, more: Array<[number, string]> = [], rtcpMux = false): FixturePacket[] {
  const rtpmap: Array<[number, string]> = [[pt, encoding], ...more];
  const formats = rtpmap.map(([p]) => p);
  const offer = sdpBody({ ip: FIX.src, media: [{ kind, port: FIX.srcPort, proto, formats, rtpmap, rtcpMux }] });
  const answer = sdpBody({ ip: FIX.dst, media: [{ kind, port: FIX.dstPort, proto, formats, rtpmap, rtcpMux }] });
  const sip = { callId: 'fixture-call@example.com', fromTag: 'a1', cseq: 1 };
  const invite = sipRequest('INVITE', `sip:bob@${FIX.dst}`, { ...sip, body: offer });
  const ok = sipResponse(200, { ...sip, toTag: 'b2', cseqMethod: 'INVITE', body: answer });
  return [
    { ms: -200, seq: 0, ts: 0, srcPort: 5060, dstPort: 5060, raw: text(invite) },
    { ms: -100, seq: 0, ts: 0, src: FIX.dst, srcPort: 5060, dst: FIX.src, dstPort: 5060, raw: text(ok) },
  ];
}

/** Seeded arrival jitter in [-amp, amp] ms (a linear congruential sequence: the same on every run). */
export function jitterOf(seed: number, amp: number): (i: number) => number {
  return (i: number) => ((((seed + i) * 2654435761) >>> 0) / 0xffffffff - 0.5) * 2 * amp;
}
