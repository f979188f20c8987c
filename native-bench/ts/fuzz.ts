/**
 * Mutation fuzzer for the whole pipeline (issue 9): capture files made by src/gen (SIP+SDP+RTP+RTCP calls,
 * tunnelled and fragmented packets), then damaged (bit flips, truncation, length fields set to extremes,
 * byte runs overwritten) at the file level or inside packets, read with readCaptureBuffer and fed to
 * Pipeline.processBatch. The contract checked on every input:
 *   - nothing escapes but CaptureFileError from the file reader;
 *   - the engine's and the call tracker's tables stay within the configured maxima;
 *   - every report built serialises to JSON that parses back.
 * The test (test/reliability/fuzz.test.ts) runs a bounded number of inputs; this script runs for a time:
 *   node native-bench/out/fuzz.js --seconds 600 [--seed 1]
 */
import { pathToFileURL } from 'node:url';
import { CaptureFileError, readCaptureBuffer } from '../../dist/capture/index.js';
import {
  classicPcap,
  erspan2,
  gre,
  generateScenario,
  ipv4Fragments,
  mpls,
  pcapng,
  rtcpBye,
  rtcpCompound,
  rtcpRr,
  rtcpSdes,
  rtcpSr,
  rtp,
  sdpBody,
  sipRequest,
  sipResponse,
  tcpFrame,
  text,
  udp,
  udpFrame,
  vxlan,
  ethernet,
  EtherType,
  ipv4,
} from '../../dist/gen/index.js';
import { SeededRandom } from '../../dist/gen/random.js';
import type { PcapRecord } from '../../dist/gen/index.js';
import { defaultConfig } from '../../dist/ops/config.js';
import type { ProbeConfig } from '../../dist/ops/config.js';
import { Pipeline, ReportSink } from '../../dist/pipeline/index.js';

/** Small tables so eviction paths run on every input. */
export function fuzzConfig(): ProbeConfig {
  const c = defaultConfig();
  c.rtp.maxStreams = 16;
  c.sip.maxCalls = 16;
  return c;
}

export interface FuzzOutcome {
  /** The file reader stopped with a CaptureFileError (after delivering what came before the damage). */
  fileError: boolean;
  packets: number;
  /** Sum of the decoder's malformed counters plus the engine's and RTCP parser's malformed counts. */
  malformed: number;
  reports: number;
  badJson: number;
  maxActiveStreams: number;
  maxActiveCalls: number;
}

/** Feeds one capture image through a fresh pipeline; throws only what the contract does not allow. */
export function runCapture(data: Uint8Array, config: ProbeConfig = fuzzConfig()): FuzzOutcome {
  const out: FuzzOutcome = { fileError: false, packets: 0, malformed: 0, reports: 0, badJson: 0, maxActiveStreams: 0, maxActiveCalls: 0 };
  const sink = new ReportSink([], { onReport: (r) => {
      out.reports++;
      const back = JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
      if (back.CORRELATION_ID === undefined || back.TYPE !== r.TYPE) out.badJson++;
    },
  });
  const p = new Pipeline(config, sink);
  try {
    for (const b of readCaptureBuffer(data, 'fuzz', 64)) {
      p.processBatch(b);
      if (p.engine.activeStreams > out.maxActiveStreams) out.maxActiveStreams = p.engine.activeStreams;
      if (p.calls.activeCalls > out.maxActiveCalls) out.maxActiveCalls = p.calls.activeCalls;
    }
  } catch (err) {
    if (!(err instanceof CaptureFileError)) throw err;
    out.fileError = true;
  }
  p.finish();
  out.packets = p.counts.packets;
  let m = 0;
  for (const v of p.decoder.malformed) m += v;
  out.malformed = m + p.engine.counters.malformed + p.rtcpStats.malformed;
  return out;
}

const T0 = 1_700_000_000n * 1_000_000_000n;

/** A few seconds of two generated calls (SIP, SDP, RTP both ways, RTCP SR+SDES). */
export function scenarioRecords(seed: number): PcapRecord[] {
  return [...generateScenario({ calls: 2, durationS: 3, callDurationS: 2, codec: 'PCMA', lossPct: 2, jitterMs: 3, rtcp: true, seed, startEpochS: 1_700_000_000 })].map((r) => ({
    tsNs: r.tsNs,
    data: Uint8Array.from(r.data),
  }));
}

/** Packets of every kind the decoder follows: tunnels, VLAN, MPLS, fragments, SIP over TCP, RTCP kinds. */
export function exoticRecords(): PcapRecord[] {
  const sdp = sdpBody({ ip: '10.0.0.1', media: [{ port: 4000, formats: [0, 8, 101], ptime: 20, rtpmap: [[101, 'telephone-event/8000']] }] });
  const invite = text(sipRequest('INVITE', 'sip:b@10.0.0.2', { callId: 'exotic-1', fromTag: 'f', cseq: 1, body: sdp, headers: [['User-Agent', 'fuzz']] }));
  const ok = text(sipResponse(200, { callId: 'exotic-1', fromTag: 'f', toTag: 't', cseq: 1, cseqMethod: 'INVITE', body: sdbOk() }));
  const r = (seq: number) => rtp({ pt: 0, seq, ts: seq * 160, ssrc: 0x1234 });
  const inner = udpFrame('10.0.0.2', 5000, '10.0.0.1', 4000, r(1));
  const frames: Uint8Array[] = [
    udpFrame('10.0.0.1', 5060, '10.0.0.2', 5060, invite),
    udpFrame('10.0.0.2', 5060, '10.0.0.1', 5060, ok),
    udpFrame('10.0.0.1', 4000, '10.0.0.2', 5000, r(1), { vlans: [100, 200] }),
    udpFrame('10.9.0.1', 4789, '10.9.0.2', 4789, vxlan(inner)),
    ethernet(ipv4('10.8.0.1', '10.8.0.2', 47, gre(0x88be, erspan2(inner), { seq: 1 })), EtherType.IPV4),
    ethernet(mpls([16, 17], inner.subarray(14)), EtherType.MPLS),
    ...ipv4Fragments('10.0.0.1', '10.0.0.2', 17, udp(5060, 5060, invite), 256).map((f) => ethernet(f, EtherType.IPV4)),
    tcpFrame('10.0.0.1', 5060, '10.0.0.2', 5060, 1000, invite),
    udpFrame('10.0.0.1', 4001, '10.0.0.2', 5001, rtcpCompound(rtcpSr({ ssrc: 0x1234, ntpSec: 1, ntpFrac: 2, rtpTs: 3, packets: 4, octets: 5 }), rtcpSdes([{ ssrc: 0x1234, items: [{ type: 1, value: 'x@y' }] }]))),
    udpFrame('10.0.0.2', 5001, '10.0.0.1', 4001, rtcpCompound(rtcpRr({ ssrc: 0x99, reports: [{ ssrc: 0x1234, fractionLost: 1, cumulativeLost: 2, extHighestSeq: 3, jitter: 4, lsr: 5, dlsr: 6 }] }), rtcpBye({ ssrcs: [0x1234], reason: 'bye' }))),
  ];
  return frames.map((data, i) => ({ tsNs: T0 + BigInt(i) * 20_000_000n, data }));

  function sdbOk(): string {
    return sdpBody({ ip: '10.0.0.2', media: [{ port: 5000, formats: [0], ptime: 20 }] });
  }
}

const EXTREMES = [0, 1, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 0x80000000, 65535, 65536, 262145];

/** Damage applied to a whole capture image (headers, record lengths and packet bytes alike). */
export function mutateFile(src: Uint8Array, rnd: SeededRandom): Uint8Array {
  const b = Uint8Array.from(src);
  const ops = rnd.int(1, 4);
  let out = b;
  for (let k = 0; k < ops; k++) {
    const op = rnd.int(0, 4);
    if (op === 0) {
      const flips = rnd.int(1, 32);
      for (let i = 0; i < flips; i++) out[rnd.int(0, out.length - 1)] ^= 1 << rnd.int(0, 7);
    } else if (op === 1) {
      out = out.subarray(0, rnd.int(0, out.length));
    } else if (op === 2 && out.length >= 4) {
      // A 32-bit field (a record length, a block length, a header length) set to an extreme value.
      const at = rnd.int(0, out.length - 4);
      const v = EXTREMES[rnd.int(0, EXTREMES.length - 1)];
      new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(at, v >>> 0, rnd.next() < 0.5);
    } else if (op === 3 && out.length > 0) {
      const at = rnd.int(0, out.length - 1);
      const n = Math.min(rnd.int(1, 64), out.length - at);
      for (let i = 0; i < n; i++) out[at + i] = rnd.int(0, 255);
    } else if (out.length > 0) {
      // Duplicate a run (record boundaries stop lining up).
      const at = rnd.int(0, out.length - 1);
      const n = Math.min(rnd.int(1, 200), out.length - at);
      const grown = new Uint8Array(out.length + n);
      grown.set(out.subarray(0, at + n), 0);
      grown.set(out.subarray(at, at + n), at + n);
      grown.set(out.subarray(at + n), at + 2 * n);
      out = grown;
    }
  }
  return out;
}

/** Damage inside packets only: the file stays readable, the decoders and parsers see the corruption. */
export function mutateRecords(records: PcapRecord[], rnd: SeededRandom, rate = 0.3): PcapRecord[] {
  return records.map((r) => {
    if (rnd.next() >= rate || r.data.length === 0) return r;
    const d = Uint8Array.from(r.data);
    const op = rnd.int(0, 3);
    if (op === 0) {
      for (let i = rnd.int(1, 8); i > 0; i--) d[rnd.int(0, d.length - 1)] ^= 1 << rnd.int(0, 7);
      return { ...r, data: d };
    }
    if (op === 1) return { ...r, data: d.subarray(0, rnd.int(0, d.length - 1)) };
    if (op === 2 && d.length >= 2) {
      // Length fields live in the first 60 bytes (IP total length, UDP length, IHL, RTP CC/X bits).
      const at = rnd.int(0, Math.min(60, d.length - 2));
      const v = EXTREMES[rnd.int(0, EXTREMES.length - 1)] & 0xffff;
      d[at] = v >> 8;
      d[at + 1] = v & 255;
      return { ...r, data: d };
    }
    const at = rnd.int(0, d.length - 1);
    for (let i = at; i < Math.min(d.length, at + rnd.int(1, 32)); i++) d[i] = rnd.int(0, 255);
    return { ...r, data: d };
  });
}

/** One fuzz input from a seed: base traffic, a container format, and damage at the file or packet level. */
export function fuzzInput(seed: number): { data: Uint8Array; level: 'file' | 'packet' } {
  const rnd = new SeededRandom(seed);
  const base = rnd.next() < 0.5 ? scenarioRecords(seed) : [...exoticRecords(), ...scenarioRecords(seed).slice(0, 200)];
  const ng = rnd.next() < 0.4;
  if (rnd.next() < 0.5) {
    const recs = mutateRecords(base, rnd);
    return { data: ng ? pcapng(recs) : classicPcap(recs), level: 'packet' };
  }
  return { data: mutateFile(ng ? pcapng(base) : classicPcap(base), rnd), level: 'file' };
}

/** Checks one outcome against the contract; returns the violations (empty when fine). */
export function violations(o: FuzzOutcome, config: ProbeConfig): string[] {
  const v: string[] = [];
  if (o.maxActiveStreams > config.rtp.maxStreams) v.push(`streams ${o.maxActiveStreams} > ${config.rtp.maxStreams}`);
  if (o.maxActiveCalls > config.sip.maxCalls) v.push(`calls ${o.maxActiveCalls} > ${config.sip.maxCalls}`);
  if (o.badJson > 0) v.push(`${o.badJson} reports did not round-trip through JSON`);
  return v;
}

async function main(): Promise<void> {
  const argv = process.argv;
  const num = (name: string, def: number) => (argv.includes(`--${name}`) ? Number(argv[argv.indexOf(`--${name}`) + 1]) : def);
  const seconds = num('seconds', 60);
  let seed = num('seed', 1);
  const config = fuzzConfig();
  const endAt = Date.now() + seconds * 1000;
  const totals = { inputs: 0, fileErrors: 0, packets: 0, malformed: 0, reports: 0, failures: 0, slowestMs: 0 };
  while (Date.now() < endAt) {
    const { data } = fuzzInput(seed);
    const t = Date.now();
    let o: FuzzOutcome;
    try {
      o = runCapture(data, config);
    } catch (err) {
      totals.failures++;
      console.log(`seed ${seed}: exception escaped: ${(err as Error).stack}`);
      seed++;
      continue;
    }
    totals.slowestMs = Math.max(totals.slowestMs, Date.now() - t);
    const v = violations(o, config);
    if (v.length) {
      totals.failures++;
      console.log(`seed ${seed}: ${v.join('; ')}`);
    }
    totals.inputs++;
    totals.fileErrors += o.fileError ? 1 : 0;
    totals.packets += o.packets;
    totals.malformed += o.malformed;
    totals.reports += o.reports;
    seed++;
  }
  console.log(JSON.stringify({ seconds, lastSeed: seed - 1, ...totals }));
  process.exitCode = totals.failures ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
