/**
 * Live capture queues SIP beyond its share of a batch behind the batch's media (Pipeline.enableSipBacklog).
 * Generated calls cut into capture-sized batches give the same reports whether their SIP is handled inline
 * or all of it after its batch (RTP of no known stream waits behind that SIP); a backlog too small for a
 * batch's SIP refuses the rest, counted.
 */
import { describe, expect, it } from 'vitest';
import { allocateBatch, LinkType, type PacketBatch } from '../../src/capture/index.js';
import { rtp, sdpBody, sipRequest, sipResponse, tcpFrame, text, udpFrame as udpFrameOf } from '../../src/gen/index.js';
import { defaultConfig } from '../../src/ops/config.js';
import { Pipeline, ReportSink } from '../../src/pipeline/index.js';
import type { QosReport } from '../../src/report/index.js';
import { scenarioBatch } from './batches.js';

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

/**
 * The scenario in batches of `batchSize`; with a backlog the event loop turns between batches until it is
 * empty (the capture idle between batches: the backlog drains in slices of at least 0.1 ms), unless
 * `busy` (batch after batch: only what each batch's slice handles, the rest at the end).
 */
async function run(batchSize: number, backlog?: Parameters<Pipeline['enableSipBacklog']>[0], { heuristic = true, busy = false } = {}) {
  const finals: string[] = [];
  const cfg = defaultConfig();
  cfg.rtp.heuristic.enabled = heuristic;
  const p = new Pipeline(cfg, new ReportSink([], { onFinalReport: (r: QosReport) => finals.push(JSON.stringify(r)) }));
  let dropped = 0;
  if (backlog) {
    (p as unknown as { events: { sipDropped(): void } }).events.sipDropped = () => dropped++;
    p.enableSipBacklog(backlog);
  }
  for (const b of split(whole, batchSize)) {
    p.processBatch(b);
    while (backlog && !busy && p.sipBacklogLength > 0) await new Promise((r) => setImmediate(r));
  }
  p.finish();
  return { finals: finals.sort(), counts: p.counts, dropped, calls: p.calls.stats.callsStarted };
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
      expect(deferred.counts.rtpNotHeld).toBe(0);
      expect(deferred.counts.rtpHeldDropped).toBe(0);
      expect(deferred.finals).toEqual(inline.finals);
    }
  });

  it('RTP beyond the backlog\'s media share: handled at once as without the backlog, or dropped behind its stream\'s waiting packets, counted', async () => {
    // 8 entries: 2 for media. Without heuristic such packets of a call whose SDP waits are not measured.
    const r = await run(32, { sliceMs: 0, messages: 8 }, { heuristic: false });
    expect(r.counts.rtpNotHeld).toBeGreaterThan(0);
    // Packets of a stream with packets waiting are dropped (never reordered past them), counted.
    expect(r.counts.rtpHeldDropped).toBeGreaterThan(0);
    const inline = await run(32, undefined, { heuristic: false });
    const sum = (fs: string[], k: string) => fs.reduce((n, f) => n + (JSON.parse(f) as Record<string, number>)[k], 0);
    expect(sum(r.finals, 'TOTAL_PK')).toBeLessThan(sum(inline.finals, 'TOTAL_PK'));
    expect(sum(r.finals, 'OUT_ORDER')).toBe(sum(inline.finals, 'OUT_ORDER'));
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
    // The whole scenario as one batch: its SIP, and RTP behind it, still waits when the input ends.
    const all = await run(whole.count, { sliceMs: 0 }, { busy: true });
    expect(all.counts.sipBacklogDropped).toBe(0);
    const cut = await run(whole.count, { sliceMs: 0, shutdownMs: 0 }, { busy: true });
    expect(cut.counts.sipBacklogDropped).toBeGreaterThan(0);
    expect(cut.dropped).toBe(cut.counts.sipBacklogDropped);
    expect(cut.calls).toBeLessThan(all.calls);
    // RTP waiting behind the cut SIP is not measured, counted (packets_not_used_total), beyond what the
    // full media share dropped in both runs.
    expect(cut.counts.rtpHeldDropped).toBeGreaterThan(all.counts.rtpHeldDropped);
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

/** RTP from the caller's SDP address to the callee's, packet k. */
function rtpFrameFor(k: number): Uint8Array {
  return udpFrameOf('10.3.0.1', 4000, '10.4.0.1', 6000, rtp({ pt: 8, seq: 100 + k, ts: 160 * k, ssrc: 0x7007 }));
}

