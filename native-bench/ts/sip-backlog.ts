/**
 * SIP beside media in the live path: how long one capture batch keeps the capture loop away from the ring
 * (Pipeline.processBatch, the SIP drained after it included), with SIP handled inline and with the SIP
 * backlog the live capture enables, while a share of each batch is hostile SIP (INVITEs with 20 m= lines
 * and new Call-IDs) beside 2,000 RTP streams. Reference in the same run: the same batches without SIP.
 * CPU time of the thread per batch (what the kernel ring waits on an unloaded core; a shared machine's
 * descheduled time is left out); plus SIP handled and refused. The capture is saturated here: no idle
 * time between batches, where the live loop drains the backlog further.
 * Run: node native-bench/out/sip-backlog.js [--batches 400] [--sip 0,16,64,256]
 */
import { allocateBatch, LinkType, type PacketBatch } from '../../dist/capture/index.js';
import { rtp, sdpBody, sipRequest, text, udpFrame } from '../../dist/gen/index.js';
import { defaultConfig } from '../../dist/ops/config.js';
import { Pipeline, ReportSink } from '../../dist/pipeline/index.js';
import { argNumber, argString } from './args.js';
import { threadCpuNs } from './pipeline.js';

const BATCH = 1024;
const STREAMS = 2000;
const batches = argNumber('batches', 400);
const sipCounts = argString('sip', '0,16,64,256').split(',').map(Number);

const hostile = (n: number) =>
  text(
    sipRequest('INVITE', 'sip:bob@h', {
      callId: `flood-${n}@hostile`,
      fromTag: 'a',
      cseq: 1,
      body: sdpBody({ ip: '10.9.0.1', media: Array.from({ length: 20 }, (_, i) => ({ port: 4000 + i * 2, formats: [96, 97, 98, 0, 8], rtpmap: [[96, 'opus/48000/2'], [97, 'AMR-WB/16000'], [98, 'H264/90000']] as Array<[number, string]> })) }),
    }),
  );

/** `count` batches of BATCH frames, `sip` of them hostile INVITEs spread through the batch, 10 us apart. */
function makeBatches(count: number, sip: number): PacketBatch[] {
  const out: PacketBatch[] = [];
  const seq = new Uint16Array(STREAMS);
  let t = 1_700_000_000_000_000; // us
  let flood = 0;
  let s = 0;
  for (let b = 0; b < count; b++) {
    const frames: Uint8Array[] = [];
    const every = sip > 0 ? Math.floor(BATCH / sip) : BATCH + 1;
    for (let i = 0; i < BATCH; i++) {
      if (i % every === 0) {
        frames.push(udpFrame('10.9.0.1', 5060, '10.9.0.2', 5060, hostile(flood++)));
        continue;
      }
      const k = s++ % STREAMS;
      const n = seq[k]++;
      frames.push(udpFrame(`10.1.${k >> 8}.${k & 255}`, 20000 + 2 * (k % 1000), '10.2.0.1', 30000, rtp({ pt: 8, seq: n, ts: n * 160, ssrc: 0x1000 + k, payload: new Uint8Array(160) })));
    }
    const batch = allocateBatch(BATCH, frames.reduce((a, f) => a + f.length, 0));
    let off = 0;
    frames.forEach((f, i) => {
      batch.buf.set(f, off);
      batch.offset[i] = off;
      batch.caplen[i] = batch.wirelen[i] = f.length;
      batch.tsSec[i] = Math.floor(t / 1e6);
      batch.tsNsec[i] = (t % 1e6) * 1000;
      batch.linkType[i] = LinkType.EN10MB;
      off += f.length;
      t += 10;
    });
    batch.count = BATCH;
    out.push(batch);
  }
  return out;
}

function run(input: PacketBatch[], backlog: boolean): { p99: number; max: number; mean: number; sip: number; refused: number; left: number; rtp: number; rtpMeasured: number } {
  const config = defaultConfig();
  config.rtp.maxStreams = 4 * STREAMS;
  const p = new Pipeline(config, new ReportSink([], {}));
  if (backlog) p.enableSipBacklog();
  const ms: number[] = [];
  for (const b of input) {
    const t0 = threadCpuNs();
    p.processBatch(b);
    ms.push((threadCpuNs() - t0) / 1e6);
  }
  const steady = ms.slice(Math.floor(ms.length / 4)).sort((a, b) => a - b); // after the warm-up
  const left = p.sipBacklogLength;
  return {
    p99: steady[Math.floor(steady.length * 0.99)],
    max: steady[steady.length - 1],
    mean: steady.reduce((a, b) => a + b, 0) / steady.length,
    sip: p.counts.sip - p.counts.sipBacklogDropped - left, // SIP datagrams count when queued
    refused: p.counts.sipBacklogDropped,
    left,
    rtp: input.length * BATCH - p.counts.sip, // every SIP datagram counts as SIP, handled or refused
    rtpMeasured: p.engine.counters.packets,
  };
}

console.log(`${batches} batches of ${BATCH} packets, ${STREAMS} RTP streams; ms of thread CPU per batch (steady state): mean / p99 / max`);
const media = run(makeBatches(batches, 0), false);
console.log(`${'no SIP (reference)'.padEnd(34)} ${media.mean.toFixed(2)} / ${media.p99.toFixed(2)} / ${media.max.toFixed(2)}   RTP measured ${media.rtpMeasured} of ${media.rtp}`);
for (const sip of sipCounts.filter((n) => n > 0)) {
  const input = makeBatches(batches, sip);
  for (const backlog of [false, true]) {
    const r = run(input, backlog);
    const label = `${sip} hostile SIP/batch, ${backlog ? 'backlog' : 'inline'}`;
    console.log(
      `${label.padEnd(34)} ${r.mean.toFixed(2)} / ${r.p99.toFixed(2)} / ${r.max.toFixed(2)}   p99 ${(r.p99 / media.p99).toFixed(1)}x media's; SIP handled ${r.sip}, refused ${r.refused}, waiting ${r.left}; RTP measured ${r.rtpMeasured} of ${r.rtp}`,
    );
  }
}
