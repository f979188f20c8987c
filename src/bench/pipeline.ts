/**
 * The hot loop the performance benches time, in one place: capture batches -> PacketDecoder -> SIP
 * content screen (looksLikeSip on every UDP payload) -> RtpEngine.onRtp for the rest (as signalled
 * streams). This is the per-packet work of the probe's pipeline without the SIP parsing of the few
 * signalling packets, so the C reference (native-bench/rtpbench.c) can do exactly the same.
 * Also per-stream result extraction, shared by native.ts, scale.ts and replay-vs-tshark.ts.
 */
import { openCaptureFile, readCaptureBuffer, type PacketBatch } from '../capture/index.js';
import { CaptureCursor } from '../capture/file/index.js';
import { DecodedPacket, PacketDecoder } from '../decode/index.js';
import { RtpEngine, createStreamSnapshot } from '../rtp/index.js';
import { looksLikeSip } from '../sip/index.js';

export interface HotLoopCounts {
  packets: number;
  udp: number;
  sip: number;
  rtp: number;
}

/**
 * Engine options of the benches: a signalled stream counts from its first packet at once, as in the C
 * reference, instead of after the 2-packet admission (the per-packet path of established streams, which
 * the benches time, is the same; admission is tested in test/rtp/admission.test.ts).
 */
export const BENCH_ENGINE = { signalledMinConsecutive: 1 } as const;

export class HotLoop {
  readonly decoder = new PacketDecoder();
  readonly pkt = new DecodedPacket();
  readonly counts: HotLoopCounts = { packets: 0, udp: 0, sip: 0, rtp: 0 };
  /** The cursor of the last runBuffer (kept with the loop: see keepAlive). */
  cursor: CaptureCursor | null = null;
  constructor(readonly engine: RtpEngine) {}

  batch(b: PacketBatch): void {
    const dec = this.decoder;
    const pkt = this.pkt;
    const engine = this.engine;
    const buf = b.buf;
    const n = b.count;
    let udp = 0;
    let sip = 0;
    // RTP packets counted by the engine (a stream's first packet is held, then counted with its second).
    const rtp0 = engine.counters.packets;
    for (let i = 0; i < n; i++) {
      if (!dec.decode(b, i, pkt) || pkt.ipProto !== 17) continue;
      udp++;
      if (looksLikeSip(pkt.payloadBuf, pkt.payloadOffset, pkt.payloadLength)) {
        sip++;
        continue;
      }
      engine.onRtp(pkt, true, buf);
    }
    const c = this.counts;
    c.packets += n;
    c.udp += udp;
    c.sip += sip;
    c.rtp += engine.counters.packets - rtp0;
  }

  /**
   * Whole capture already in memory, one pass: each record is decoded as soon as its header is read
   * (CaptureCursor + decodeFrame), without filling and re-reading batch arrays. Same per-packet work
   * as batch() otherwise.
   */
  runBuffer(data: Uint8Array): HotLoopCounts {
    const cur = (this.cursor = new CaptureCursor(data, 'bench'));
    const dec = this.decoder;
    const pkt = this.pkt;
    const engine = this.engine;
    let n = 0;
    let udp = 0;
    let sip = 0;
    // RTP packets counted by the engine (a stream's first packet is held, then counted with its second).
    const rtp0 = engine.counters.packets;
    while (cur.next()) {
      n++;
      if (!dec.decodeFrame(data, cur.off, cur.caplen, cur.linkType, cur.tsSec, cur.tsNsec, pkt) || pkt.ipProto !== 17) continue;
      udp++;
      if (looksLikeSip(pkt.payloadBuf, pkt.payloadOffset, pkt.payloadLength)) {
        sip++;
        continue;
      }
      engine.onRtp(pkt, true, data);
    }
    const c = this.counts;
    c.packets += n;
    c.udp += udp;
    c.sip += sip;
    c.rtp += engine.counters.packets - rtp0;
    return c;
  }

  /** Whole capture already in memory, through PacketBatch (as the file and live sources deliver it). */
  runBufferBatches(data: Uint8Array): HotLoopCounts {
    for (const b of readCaptureBuffer(data, 'bench')) this.batch(b);
    return this.counts;
  }

  /** Capture file through the file source (async 4 MiB reads). */
  async runFile(path: string): Promise<HotLoopCounts> {
    for await (const b of openCaptureFile(path).batches()) this.batch(b);
    return this.counts;
  }
}

export interface StreamResult {
  key: string;
  packets: number;
  /** Wireshark's lost (expected from first/last sequence number minus packets). */
  lost: number;
  maxDeltaMs: number;
  maxJitterMs: number;
  meanJitterMs: number;
  meanDeltaMs: number;
}

export function streamKeyOf(src: string, srcPort: number, dst: string, dstPort: number, ssrc: number): string {
  return `${src}:${srcPort}>${dst}:${dstPort}#${ssrc >>> 0}`;
}

/** Cumulative per-stream results of every active stream (report time: allocates). */
export function streamResults(engine: RtpEngine): Map<string, StreamResult> {
  const out = new Map<string, StreamResult>();
  const snap = createStreamSnapshot();
  engine.forEachActive((slot) => {
    engine.snapshot(slot, snap);
    const key = streamKeyOf(snap.srcIp, snap.srcPort, snap.dstIp, snap.dstPort, snap.ssrc);
    const c = snap.cumulative;
    out.set(key, {
      key, packets: c.packets, lost: snap.wiresharkLost ?? 0, maxDeltaMs: c.maxDeltaMs, maxJitterMs: c.maxJitterMs,
      meanJitterMs: c.meanJitterMs, meanDeltaMs: c.meanDeltaMs,
    });
  });
  return out;
}

/** Names of the fields where `a` and `b` differ (counts exactly, times within `tol` ms). */
export function diffStream(a: StreamResult, b: StreamResult, tol = 1e-6): string[] {
  const bad: string[] = [];
  if (a.packets !== b.packets) bad.push(`packets ${a.packets} vs ${b.packets}`);
  if (a.lost !== b.lost) bad.push(`lost ${a.lost} vs ${b.lost}`);
  for (const f of ['maxDeltaMs', 'maxJitterMs', 'meanJitterMs', 'meanDeltaMs'] as const) {
    if (!(Math.abs(a[f] - b[f]) <= tol)) bad.push(`${f} ${a[f]} vs ${b[f]}`);
  }
  return bad;
}

/**
 * Objects of finished timed rounds, kept reachable until the bench ends. When every instance of a class
 * of the loop (cursor, parser, engine) has died, the next full GC collects their maps, which clears the
 * inline caches that named them and deoptimizes the compiled loop that embedded them: with gc() between
 * rounds, every round then started unoptimized and re-optimized mid-run (measured 93-116 ns/pkt instead of
 * 84-88 in the same window). A probe keeps these objects for its whole run, so that is not its cost.
 */
export const keepAlive: unknown[] = [];

export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export function elapsedMs(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
