/**
 * Where a call's streams end and which Call-ID they carry, on generated dialogs, against tshark:
 * media after BYE and after a re-INVITE that moved it, a refused T.38 re-offer, a cancelled re-INVITE, B2BUA legs naming the
 * same media addresses, a call whose BYE was missed and a later one on its addresses, calls that end before a gap in the capture, captures hours apart merged into one file, early media of a rejected call. Each capture is replayed through the CLI's
 * path (runReplay) and compared with `tshark -z rtp,streams` (packets per stream) and rtp.setup-frame
 * (Call-ID of each stream's first packet).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { b2buaSharedMedia, callWithTrailingMedia, cancelledReinvite, capturesMergedMidStream, classicPcap, failoverToSecondGateway, forkedCallOneBranchBusy, hangupsBeforeGap, missedByeThenPortReuse, rejectedCallEarlyMedia, rejectedT38Reinvite, type PcapRecord } from '../../src/gen/index.js';
import type { ProbeConfig } from '../../src/ops/config.js';
import { e2eConfig, finals, replayReports, reportKey, type E2eReport } from '../e2e/helpers.js';
import { parseTshark, streamKey } from '../rtp/helpers.js';
import { tsharkTruth } from './truth.js';

const T0 = 1_750_000_000_000;
const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-lifetime-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Compared {
  reports: E2eReport[];
  /** tshark's packets per stream (5-tuple + SSRC). */
  tsharkPackets: Map<string, number>;
  /** tshark's Call-ID per 5-tuple ("src:port>dst:port"), '' when no SIP set it up. */
  tsharkCallId: Map<string, string>;
}

async function compare(name: string, records: PcapRecord[], edit?: (c: ProbeConfig) => void): Promise<Compared> {
  const file = join(dir, `${name}.pcap`);
  writeFileSync(file, classicPcap(records));
  const text = execFileSync('tshark', ['-n', '-r', file, '-q', '-z', 'rtp,streams'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const streamsFile = join(dir, `${name}.streams.txt`);
  writeFileSync(streamsFile, text);
  const tsharkPackets = new Map(parseTshark(streamsFile).map((r) => [streamKey(r.src, r.srcPort, r.dst, r.dstPort, r.ssrc), r.packets]));
  const tsharkCallId = new Map(tsharkTruth(file).map((e) => [`${e.src}:${e.sport}>${e.dst}:${e.dport}`, e.callId]));
  const reports = finals(await replayReports(file, e2eConfig(edit)));
  return { reports, tsharkPackets, tsharkCallId };
}

/** Every final report equals tshark's stream (packets) and Call-ID; one report per tshark stream. */
function expectSameAsTshark(c: Compared): void {
  const keys = c.reports.map(reportKey);
  expect(new Set(keys).size, 'one final report per stream').toBe(keys.length);
  expect([...keys].sort()).toEqual([...c.tsharkPackets.keys()].sort());
  for (const r of c.reports) {
    const key = reportKey(r);
    expect(r.TOTAL_PK, key).toBe(c.tsharkPackets.get(key));
    expect(r.CORRELATION_ID, key).toBe(c.tsharkCallId.get(`${r.SRC_IP}:${r.SRC_PORT}>${r.DST_IP}:${r.DST_PORT}`));
  }
}

/** One HANGUP each way under `callId`, `packets` each. */
function expectHangups(c: Compared, callId: string, packets: number): void {
  expect(c.reports.map((r) => [r.CORRELATION_ID, r.TYPE, r.TOTAL_PK])).toEqual([
    [callId, 'HANGUP', packets],
    [callId, 'HANGUP', packets],
  ]);
}

const byKey = (reports: E2eReport[], src: string, srcPort: number): E2eReport[] => reports.filter((r) => r.SRC_IP === src && r.SRC_PORT === srcPort);

describe('media after the end of a call', () => {
  it('RTP and RTCP 0.2-18 ms after BYE join their streams: one HANGUP each, as tshark counts them', async () => {
    const s = callWithTrailingMedia({ t0Ms: T0, media: 100, trailing: 3 });
    const c = await compare('after-bye', s.records);
    expectSameAsTshark(c);
    expect(c.reports.length).toBe(2);
    for (const r of c.reports) {
      expect(r.TYPE).toBe('HANGUP');
      expect(r.TOTAL_PK).toBe(103);
    }
  });

  it('without the linger (sip.media_linger_s 0) the trailing packets are lost or split off: the fixture shows the bug', async () => {
    const s = callWithTrailingMedia({ t0Ms: T0, media: 100, trailing: 3 });
    const c = await compare('after-bye-nolinger', s.records, (cfg) => (cfg.sip.mediaLingerS = 0));
    const a = byKey(c.reports, s.a.ip, s.a.port);
    expect(a.length === 1 && a[0].TOTAL_PK === 103).toBe(false);
  });

  it('RTP to the old port after a re-INVITE moved the media stays in the old stream', async () => {
    const s = callWithTrailingMedia({ t0Ms: T0, media: 100, trailing: 2, moveAfter: 40 });
    const c = await compare('after-move', s.records);
    expectSameAsTshark(c);
    const toOld = c.reports.filter((r) => r.DST_PORT === s.a.port);
    expect(toOld.map((r) => r.TOTAL_PK)).toEqual([41]); // 40 before the move + 1 in flight
    expect(c.reports.every((r) => r.CORRELATION_ID === s.callId)).toBe(true);
  });
});

describe('a refused re-offer moves nothing', () => {
  it('T.38 re-INVITE answered 488: the audio carries on as one stream each way', async () => {
    const s = rejectedT38Reinvite({ t0Ms: T0, before: 50, after: 50 });
    const c = await compare('t38-488', s.records);
    expect(c.reports.length).toBe(2);
    for (const r of c.reports) {
      expect(r.TOTAL_PK).toBe(100);
      expect(r.CORRELATION_ID).toBe(s.callId);
      expect(r.TYPE).toBe('HANGUP');
    }
    // tshark decodes the audio to the offerer as RTP throughout too (its own counts, same streams).
    expectSameAsTshark(c);
  });
});

describe('a cancelled re-INVITE ends nothing', () => {
  it('CANCEL of a hold re-INVITE, 487: the call and its audio carry on as one stream each way to the BYE', async () => {
    const s = cancelledReinvite({ t0Ms: T0, before: 50, after: 250 });
    const c = await compare('cancelled-reinvite', s.records);
    expectSameAsTshark(c);
    expectHangups(c, s.callId, 300);
  });
});

describe('a forked call', () => {
  // 1 s: the 2xx comes while the offer's binding still lingers; 5 s: after it retired.
  for (const ringMs of [1000, 5000]) {
    it(`one branch busy (486), the other answers ${ringMs / 1000} s later: the call and its audio carry on to the BYE`, async () => {
      const s = forkedCallOneBranchBusy({ t0Ms: T0, ringMs, packets: 100 });
      const c = await compare(`forked-busy-${ringMs}`, s.records);
      expectSameAsTshark(c);
      expectHangups(c, s.callId, 100);
    });
  }

  it('both branches ring, one answers, the proxy CANCELs the other (487): the call and its audio carry on to the BYE', async () => {
    const s = forkedCallOneBranchBusy({ t0Ms: T0, ringMs: 3000, packets: 250, firstRings: true });
    const c = await compare('forked-cancelled', s.records);
    expectSameAsTshark(c);
    expectHangups(c, s.callId, 250);
  });

  it('one branch busy (486), the other plays ringback after a 183 for 4 s, then answers: every stream under the call', async () => {
    const s = forkedCallOneBranchBusy({ t0Ms: T0, ringMs: 5000, packets: 100, earlyMedia: 200 });
    const c = await compare('forked-busy-early-media', s.records);
    expectSameAsTshark(c);
    expect(c.reports.map((r) => [r.CORRELATION_ID, r.TOTAL_PK]).sort()).toEqual([[s.callId, 100], [s.callId, 100], [s.callId, 200]]);
  });

  it('serial forking: the first gateway answers 503, the proxy sends the INVITE on to a second that answers', async () => {
    const s = failoverToSecondGateway({ t0Ms: T0, packets: 100 });
    const c = await compare('failover-503', s.records);
    expectSameAsTshark(c);
    expectHangups(c, s.callId, 100);
  });

  it('serial forking with early media: the second gateway plays ringback after a 183 for 5 s, then answers', async () => {
    const s = failoverToSecondGateway({ t0Ms: T0, packets: 100, earlyMedia: 250 });
    const c = await compare('failover-503-early-media', s.records);
    expectSameAsTshark(c);
    expect(c.reports.map((r) => [r.CORRELATION_ID, r.TOTAL_PK]).sort()).toEqual([[s.callId, 100], [s.callId, 100], [s.callId, 250]]);
  });
});

describe('B2BUA legs naming the same media addresses', () => {
  for (const lastLeg of [1, 2] as const) {
    it(`both directions under the leg whose offer/answer completed last (leg ${lastLeg}), the other leg in X_CID`, async () => {
      const s = b2buaSharedMedia({ t0Ms: T0, packets: 60, lastLeg });
      const c = await compare(`b2bua-${lastLeg}`, s.records);
      expectSameAsTshark(c);
      const other = lastLeg === 1 ? s.leg2 : s.leg1;
      expect(c.reports.length).toBe(2);
      for (const r of c.reports) {
        expect(r.CORRELATION_ID).toBe(s.callId);
        expect(r.X_CID).toBe(other);
      }
    });
  }
});

describe('a report interval longer than the call idle timeout', () => {
  it('a call with media and no mid-call SIP keeps its streams to its BYE, as tshark counts them', async () => {
    const s = callWithTrailingMedia({ t0Ms: T0, media: 1500, trailing: 0 }); // 30 s
    const c = await compare('interval-past-idle', s.records, (cfg) => {
      cfg.reports.intervalS = 60;
      cfg.sip.callIdleTimeoutS = 10;
    });
    expectSameAsTshark(c);
    expectHangups(c, s.callId, 1500);
  });
});

describe('calls that end before a packet-less gap in the capture', () => {
  it('each stream ends as it would have without the gap: with its call (HANGUP), or by silence timeout when that came first', async () => {
    const s = hangupsBeforeGap({ t0Ms: T0, packets: 100, gapMs: 15 * 60_000 });
    const c = await compare('gap-after-hangups', s.records);
    expectSameAsTshark(c);
    const types = (callId: string): unknown[] => c.reports.filter((r) => r.CORRELATION_ID === callId).map((r) => r.TYPE);
    expect(types(s.hungUp.callId)).toEqual(['HANGUP', 'HANGUP']);
    expect(types(s.timedOut.callId)).toEqual(['FINAL', 'FINAL']);
    expect(types(s.after.callId)).toEqual(['HANGUP', 'HANGUP']);
  });
});

describe('captures of different times merged into one file, the earlier cut while its call sends', () => {
  // Capture time holds at the gap (a host clock step would look the same until an RTP packet of the
  // earlier call tells), and the later call's SIP comes first: past sip.call_max_age_s (4 h) it must still
  // be dated after the gap, not ended at once as too old.
  for (const hours of [1, 3, 5]) {
    it(`${hours} h apart: every stream as tshark counts it, under its own Call-ID`, async () => {
      const s = capturesMergedMidStream({ t0Ms: T0, packets: 100, gapMs: hours * 3600_000 });
      const c = await compare(`merged-${hours}h`, s.records);
      expectSameAsTshark(c);
      const of = (callId: string): unknown[] => c.reports.filter((r) => r.CORRELATION_ID === callId).map((r) => [r.TYPE, r.TOTAL_PK]);
      expect(of(s.earlier.callId)).toEqual([['FINAL', 100], ['FINAL', 100]]);
      expect(of(s.later.callId)).toEqual([['HANGUP', 100], ['HANGUP', 100]]);
    });
  }
});

describe('a missed BYE, then a new call on the same media addresses', () => {
  /** Each stream's Call-ID and X_CID by SSRC, after checking packets per stream against tshark. */
  async function callsBySsrc(name: string, gapMs: number): Promise<{ s: ReturnType<typeof missedByeThenPortReuse>; ids: Map<number, [string, string]> }> {
    const s = missedByeThenPortReuse({ t0Ms: T0, packets: 100, gapMs });
    const c = await compare(name, s.records);
    const keys = c.reports.map(reportKey);
    expect([...keys].sort()).toEqual([...c.tsharkPackets.keys()].sort());
    for (const r of c.reports) expect(r.TOTAL_PK, reportKey(r)).toBe(c.tsharkPackets.get(reportKey(r)));
    return { s, ids: new Map(c.reports.map((r) => [Number(r.SSRC), [String(r.CORRELATION_ID), String(r.X_CID ?? '')]])) };
  }

  it('minutes later: the new call is no leg of the old one (no X_CID naming it)', async () => {
    const { s, ids } = await callsBySsrc('missed-bye-reuse-later', 150_000);
    expect(ids.get(s.a.ssrc)).toEqual([s.callId, '']);
    expect(ids.get(s.b.ssrc)).toEqual([s.callId, '']);
    expect(ids.get(0x1234)).toEqual([s.firstCallId, '']);
    expect(ids.get(0x4321)).toEqual([s.firstCallId, '']);
  });

  it('seconds later: as another leg of the old call set up with it (B2BUA timing), X_CID names the old call', async () => {
    const { s, ids } = await callsBySsrc('missed-bye-reuse-soon', 1_000);
    expect(ids.get(s.a.ssrc)).toEqual([s.callId, s.firstCallId]);
    expect(ids.get(s.b.ssrc)).toEqual([s.callId, s.firstCallId]);
  });
});

describe('early media of a rejected call', () => {
  it('183 with SDP, the announcement, then 480: reported under the call, all packets', async () => {
    const s = rejectedCallEarlyMedia({ t0Ms: T0, packets: 9, rejectAfterMs: 40, mediaDelayMs: 1000 });
    const c = await compare('early-480', s.records);
    expectSameAsTshark(c);
    expect(c.reports.map((r) => [r.CORRELATION_ID, r.TOTAL_PK])).toEqual([[s.callId, 9]]);
  });

  it('the announcement already playing when the 480 arrives ends with the call after the linger', async () => {
    const s = rejectedCallEarlyMedia({ t0Ms: T0, packets: 50, rejectAfterMs: 500, mediaDelayMs: 20 });
    const c = await compare('early-480-playing', s.records);
    expectSameAsTshark(c);
    expect(c.reports.map((r) => [r.CORRELATION_ID, r.TOTAL_PK])).toEqual([[s.callId, 50]]);
  });
});
