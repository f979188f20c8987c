/**
 * Live capture queues SIP beyond its share of a batch behind the batch's media (Pipeline.enableSipBacklog).
 * Generated calls cut into capture-sized batches give the same reports whether their SIP is handled inline
 * or all of it after its batch (RTP of no known stream waits behind that SIP); a backlog too small for a
 * batch's SIP refuses the rest, counted. Packets waiting (SIP over TCP in the backlog, IP fragments) are
 * counted in one class each, also across a metrics tick.
 */
import { describe, expect, it } from 'vitest';
import { allocateBatch, LinkType, type PacketBatch } from '../../src/capture/index.js';
import { EtherType, ethernet, ipv4Fragments, rtp, sdpBody, sipRequest, sipResponse, tcpFrame, text, udp, udpFrame as udpFrameOf } from '../../src/gen/index.js';
import { defaultConfig } from '../../src/ops/config.js';
import { Pipeline, ReportSink } from '../../src/pipeline/index.js';
import type { QosReport } from '../../src/report/index.js';
import { recordsBatch, scenarioBatch } from './batches.js';
import { fixtureRecords, g711, sdpSetup } from '../field/fixtures.js';

/** The packets of `b` in batches of `n` (the live capture hands out what the ring holds). */
function split(b: PacketBatch, n: number): PacketBatch[] {
  const out: PacketBatch[] = [];
  for (let s = 0; s < b.count; s += n) {
    const k = Math.min(n, b.count - s);
    const c = { ...allocateBatch(k, 1), buf: b.buf }; // the frames stay where they are
    for (const f of ['offset', 'caplen', 'wirelen', 'tsSec', 'tsNsec', 'linkType'] as const) c[f].set(b[f].subarray(s, s + k));
    c.count = k;
    out.push(c);
  }
  return out;
}

const whole = scenarioBatch({ calls: 30, concurrentCalls: 10, durationS: 0, callDurationS: 6, codec: 'PCMA', lossPct: 2, jitterMs: 4, rtcp: true, seed: 11, startEpochS: 1_700_000_000 });

/** `b`'s frames, then `extra` at the capture time of its last. */
function withFrames(b: PacketBatch, extra: Uint8Array[]): PacketBatch {
  const n = b.count + extra.length;
  const c = allocateBatch(n, b.buf.length + extra.reduce((a, f) => a + f.length, 0));
  c.buf.set(b.buf);
  for (const f of ['offset', 'caplen', 'wirelen', 'tsSec', 'tsNsec', 'linkType'] as const) c[f].set(b[f].subarray(0, b.count));
  let off = b.buf.length;
  extra.forEach((f, k) => {
    const i = b.count + k;
    c.buf.set(f, off);
    c.offset[i] = off;
    c.caplen[i] = c.wirelen[i] = f.length;
    c.tsSec[i] = b.tsSec[b.count - 1];
    c.tsNsec[i] = b.tsNsec[b.count - 1];
    c.linkType[i] = LinkType.EN10MB;
    off += f.length;
  });
  c.count = n;
  return c;
}

/**
 * The scenario in batches of `batchSize`; with a backlog the event loop turns between batches until it is
 * empty (the capture idle between batches: the backlog drains in slices of at least 0.1 ms), unless
 * `busy` (batch after batch: only what each batch's slice handles, the rest at the end).
 */
function run(batchSize: number, backlog?: Parameters<Pipeline['enableSipBacklog']>[0], opts: { heuristic?: boolean; busy?: boolean } = {}) {
  return runBatches(split(whole, batchSize), backlog, opts);
}

async function runBatches(batches: PacketBatch[], backlog?: Parameters<Pipeline['enableSipBacklog']>[0], { heuristic = true, busy = false } = {}) {
  const finals: string[] = [];
  const cfg = defaultConfig();
  cfg.rtp.heuristic.enabled = heuristic;
  const p = new Pipeline(cfg, new ReportSink([], { onFinalReport: (r: QosReport) => finals.push(JSON.stringify(r)) }));
  let dropped = 0;
  if (backlog) {
    (p as unknown as { events: { sipDropped(): void } }).events.sipDropped = () => dropped++;
    p.enableSipBacklog(backlog);
  }
  for (const b of batches) {
    p.processBatch(b);
    while (backlog && !busy && p.sipBacklogLength > 0) await new Promise((r) => setImmediate(r));
  }
  p.finish();
  return { finals: finals.sort(), counts: p.counts, dropped, calls: p.calls.stats.callsStarted, rtp: p.engine.counters.packets };
}

describe('SIP backlog (live capture)', () => {
  it('all SIP handled after its batch\'s media gives exactly the reports of inline SIP', async () => {
    for (const heuristic of [true, false]) {
      const inline = await run(32, undefined, { heuristic });
      expect(inline.calls).toBe(30);
      const deferred = await run(32, { sliceMs: 0 }, { heuristic });
      expect(deferred.counts.sipDeferred).toBe(inline.counts.sip);
      expect(deferred.counts.sip).toBe(inline.counts.sip);
      expect(deferred.counts.sipBacklogDropped).toBe(0);
      // The first packets of a call share a batch with its 200 OK: they waited behind it, in capture order.
      expect(deferred.counts.rtpHeldBehindSip).toBeGreaterThan(0);
      expect(deferred.counts.rtpMadeRoom).toBe(0);
      expect(deferred.counts.rtpHeldDropped).toBe(0);
      expect(deferred.finals).toEqual(inline.finals);
    }
  });

  it('RTP of payload type 72..95 that an SDP among the waiting SIP maps waits behind it: the reports of inline SIP', async () => {
    // INVITE and 200 OK mapping PT 77 (no rtcp-mux), then 300 packets of it, 10 of them in the 200 OK's
    // batch; every 50th from the 6th with the marker bit (second byte 205, an RTCP packet type).
    const media = g711(300, { pt: 77, ms0: -90 }).map((p, i) => ({ ...p, marker: i % 50 === 5 }));
    const records = fixtureRecords([...sdpSetup(77, 'PCMA/8000'), ...media]);
    const batches = [recordsBatch(records.slice(0, 12)), ...split(recordsBatch(records.slice(12)), 32)];
    for (const heuristic of [true, false]) {
      const inline = await runBatches(batches, undefined, { heuristic });
      expect(inline.rtp).toBe(300);
      const deferred = await runBatches(batches, { sliceMs: 0 }, { heuristic });
      expect(deferred.counts.sipDeferred).toBe(2);
      expect([deferred.rtp, deferred.counts.otherUdp]).toEqual([300, inline.counts.otherUdp]);
      expect(deferred.counts.rtpHeldBehindSip).toBe(10);
      expect(deferred.finals).toEqual(inline.finals);
    }
  });

  it('RTP beyond the backlog\'s media share: what waits is handled at once, in order, and the reports are still those of inline SIP', async () => {
    // 64 entries: 16 for media. Without the heuristic a packet of a call whose SDP waits is measured only
    // once that SDP is handled; no packet may overtake the packets of its stream still waiting.
    for (const heuristic of [true, false]) {
      const small = await run(32, { sliceMs: 0, messages: 64 }, { heuristic });
      expect(small.counts.rtpMadeRoom).toBeGreaterThan(0);
      expect(small.counts.rtpHeldDropped).toBe(0);
      expect(small.counts.sipBacklogDropped).toBe(0);
      expect(small.finals).toEqual((await run(32, undefined, { heuristic })).finals);
    }
  });

  it('a SIP flood while the capture is behind: SIP past its share is given up to make room for the media, never the media', async () => {
    // The scenario's batches of 32, each with 8 more INVITEs of calls nobody answers (one SIP message in 5
    // packets), batch after batch (each full: the capture is behind).
    const flood = (n: number) => udpFrameOf('10.9.0.1', 5060, '10.9.0.2', 5060, text(sipRequest('INVITE', 'sip:x@h', { callId: `flood-${n}`, fromTag: 'f', cseq: 1, body: sdpBody({ ip: '10.9.0.1', media: [{ port: 4000, formats: [8] }] }) })));
    let n = 0;
    const batches = split(whole, 32).map((b) => withFrames(b, Array.from({ length: 8 }, () => flood(n++))));
    const inline = await runBatches(batches);
    const flooded = await runBatches(batches, { sliceMs: 0, messages: 64 }, { busy: true });
    expect(flooded.counts.sipBacklogDropped).toBeGreaterThan(0);
    expect(flooded.counts.rtpHeldDropped).toBe(0);
    expect(flooded.rtp).toBe(inline.rtp); // every RTP packet measured
  });

  it('a backlog too small for a batch\'s SIP refuses the rest, counted and reported', async () => {
    const r = await run(4096, { sliceMs: 0, messages: 8 });
    expect(r.counts.sipBacklogDropped).toBeGreaterThan(0);
    expect(r.dropped).toBe(r.counts.sipBacklogDropped);
    expect(r.counts.sip).toBe(r.counts.sipDeferred); // SIP datagrams, refused or not, count as SIP packets
    expect(r.counts.sip).toBe((await run(4096)).counts.sip);
    const bytes = await run(4096, { sliceMs: 0, bytes: 4000 });
    expect(bytes.counts.sipBacklogDropped).toBeGreaterThan(0);
  });

  it('at shutdown queued SIP is handled for a bounded time, the rest dropped and counted', async () => {
    // The whole scenario as one batch: its SIP, and RTP behind it, still waits when the input ends (a
    // backlog whose media share holds every RTP packet: none makes room by handling SIP early).
    const messages = 4 * whole.count;
    const all = await run(whole.count, { sliceMs: 0, messages }, { busy: true });
    expect(all.counts.sipBacklogDropped).toBe(0);
    expect(all.counts.rtpMadeRoom).toBe(0);
    expect(all.counts.rtpHeldDropped).toBe(0);
    const cut = await run(whole.count, { sliceMs: 0, shutdownMs: 0, messages }, { busy: true });
    expect(cut.counts.sipBacklogDropped).toBeGreaterThan(0);
    expect(cut.dropped).toBe(cut.counts.sipBacklogDropped);
    expect(cut.calls).toBeLessThan(all.calls);
    // RTP waiting behind the cut SIP is not measured, counted (packets_not_used_total).
    expect(cut.counts.rtpHeldDropped).toBeGreaterThan(0);
  });

  it('SIP over TCP, split across segments, goes through the backlog in order', () => {
    const T0 = 1_700_000_000;
    const inv = text(sipRequest('INVITE', 'sip:b@h', { callId: 'tcp-backlog', fromTag: 'a', cseq: 1, body: sdpBody({ ip: '10.3.0.1', media: [{ port: 4000, formats: [8] }] }) }));
    const ok = text(sipResponse(200, { callId: 'tcp-backlog', fromTag: 'a', toTag: 'b', cseq: 1, cseqMethod: 'INVITE', body: sdpBody({ ip: '10.4.0.1', media: [{ port: 6000, formats: [8] }] }) }));
    const frames: Uint8Array[] = [
      tcpFrame('10.3.0.1', 40000, '10.4.0.1', 5060, 1, inv.subarray(0, 70)),
      tcpFrame('10.3.0.1', 40000, '10.4.0.1', 5060, 71, inv.subarray(70)),
      tcpFrame('10.4.0.1', 5060, '10.3.0.1', 40000, 1, ok),
    ];
    const one = (i: number, f: Uint8Array): PacketBatch => {
      const b = allocateBatch(1, f.length);
      b.buf.set(f);
      b.caplen[0] = b.wirelen[0] = f.length;
      b.tsSec[0] = T0 + Math.floor(i / 50);
      b.tsNsec[0] = (i % 50) * 20_000_000;
      b.linkType[0] = LinkType.EN10MB;
      b.count = 1;
      return b;
    };
    const finals: Array<Record<string, unknown>> = [];
    const p = new Pipeline(defaultConfig(), new ReportSink([], { onFinalReport: (r: QosReport) => finals.push(r as unknown as Record<string, unknown>) }));
    p.enableSipBacklog({ sliceMs: 0 });
    frames.forEach((f, i) => p.processBatch(one(i, f)));
    expect(p.counts.sipDeferred).toBe(3);
    for (let k = 0; k < 40; k++) p.processBatch(one(3 + k, rtpFrameFor(k)));
    p.finish();
    expect(p.calls.stats.sipTcp).toBe(2);
    expect(finals.map((r) => [r.CORRELATION_ID, r.TOTAL_PK])).toEqual([['tcp-backlog', 40]]);
  });
});

describe('packets waiting for their class across a metrics tick', () => {
  it('SIP over TCP waiting is in no class yet (packetsPending): a metrics tick meanwhile counts none of it as other', () => {
    const inv = text(sipRequest('INVITE', 'sip:b@h', { callId: 'tcp-pending', fromTag: 'a', cseq: 1, body: sdpBody({ ip: '10.3.0.1', media: [{ port: 4000, formats: [8] }] }) }));
    // Datagrams, then the message over TCP in two segments, as one full batch (the capture behind): the
    // backlog is handled down to a multiple of 16 entries, the segments among those left waiting.
    const frames = [
      ...Array.from({ length: 18 }, () => udpFrameOf('10.3.0.1', 5060, '10.4.0.1', 5060, inv)),
      tcpFrame('10.3.0.1', 40000, '10.4.0.1', 5060, 1, inv.subarray(0, 70)),
      tcpFrame('10.3.0.1', 40000, '10.4.0.1', 5060, 71, inv.subarray(70)),
    ];
    const p = new Pipeline(defaultConfig(), new ReportSink([]));
    p.enableSipBacklog({ sliceMs: 0 });
    p.processBatch(recordsBatch(frames.map((data) => ({ tsNs: 1_700_000_000_000_000_000n, data }))));
    expect(p.sipBacklogLength).toBe(16);
    // What wireMetrics counts as other at a tick, and after the backlog is handled (a counter only grows).
    const other = () => p.counts.packets - p.counts.sip - p.engine.counters.packets - p.counts.rtcp - p.packetsPending;
    const atTick = other();
    p.drainSip(Number.POSITIVE_INFINITY);
    expect(p.sipBacklogLength).toBe(0);
    expect(p.counts.sip).toBe(20);
    expect(other()).toBe(0);
    expect(atTick).toBe(0);
  });

  it('IP fragments waiting for the rest of their datagram: each frame in one class (the completing one SIP, the others other)', () => {
    const inv = text(sipRequest('INVITE', 'sip:b@h', { callId: 'fragmented', fromTag: 'a', cseq: 1, body: sdpBody({ ip: '10.3.0.1', media: [{ port: 4000, formats: [8] }] }) }));
    const frags = ipv4Fragments('10.3.0.1', '10.4.0.1', 17, udp(5060, 5060, inv), 128, { id: 9 }).map((f) => ethernet(f, EtherType.IPV4));
    expect(frags.length).toBeGreaterThan(2);
    const p = new Pipeline(defaultConfig(), new ReportSink([]));
    p.enableSipBacklog();
    const other = () => p.counts.packets - p.counts.sip - p.engine.counters.packets - p.counts.rtcp - p.packetsPending;
    const seen: number[] = [];
    for (const f of frags) {
      p.processBatch(recordsBatch([{ tsNs: 1_700_000_000_000_000_000n, data: f }]));
      seen.push(other());
    }
    // other never shrinks (a tick between any two fragments counts nothing twice) and ends at the fragments before the last.
    expect(seen).toEqual(frags.map((_, k) => Math.min(k + 1, frags.length - 1)));
    expect(p.counts.sip).toBe(1);
  });
});

/** RTP from the caller's SDP address to the callee's, packet k. */
function rtpFrameFor(k: number): Uint8Array {
  return udpFrameOf('10.3.0.1', 4000, '10.4.0.1', 6000, rtp({ pt: 8, seq: 100 + k, ts: 160 * k, ssrc: 0x7007 }));
}

