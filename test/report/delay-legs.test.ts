import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureTimeline, DialogWriter, rtcpCompound, rtcpRr, rtcpSr, text, udpFrame } from '../../src/gen/index.js';
import { defaultConfig } from '../../src/ops/config.js';
import { DEFAULT_DELAY_ASSUMPTIONS, estimateOneWayDelay, estimatePathDelay, withBufferDelay } from '../../src/qos/index.js';
import { e2eConfig, replayReports } from '../e2e/helpers.js';
import type { E2eReport } from '../e2e/helpers.js';

// Network one-way delay = half the round trip of every leg the probe sees, each leg's round trip being
// the probe's round trip with its caller side plus the one with its callee side (qos/delay.ts).
describe('delay over the legs (qos/delay.ts)', () => {
  const a = { nominalOneWayDelayMs: 40, jitterBufferMs: 30 };

  it('one leg, both paths measured: half the end-to-end round trip', () => {
    // rtpengine measured 51.6 ms end to end; the probe sees 10.3 ms to the callee and 41.3 ms to the caller.
    const d = estimatePathDelay([10.3, 41.3], a);
    expect(d).toMatchObject({ source: 'rtcp', legs: 1, paths: 2, pathsMeasured: 2, bufferMs: 30, bufferSource: 'assumed' });
    expect(d.networkOneWayDelayMs).toBeCloseTo(25.8, 9);
    expect(d.oneWayDelayMs).toBeCloseTo(55.8, 9);
  });

  it('two legs (B2BUA): the sum of both halves; a missing path counts 0 and is reported unmeasured', () => {
    expect(estimatePathDelay([2, 8, 30, 2], a)).toMatchObject({ networkOneWayDelayMs: 21, legs: 2, paths: 4, pathsMeasured: 4 });
    expect(estimatePathDelay([2, Number.NaN, 30, -1], a)).toMatchObject({ networkOneWayDelayMs: 16, legs: 2, paths: 4, pathsMeasured: 2, source: 'rtcp' });
  });

  it('nothing measured: the nominal network delay; the buffer is added either way', () => {
    expect(estimatePathDelay([Number.NaN, Number.NaN, Number.NaN, Number.NaN], a)).toMatchObject({ networkOneWayDelayMs: 40, oneWayDelayMs: 70, source: 'nominal', pathsMeasured: 0, legs: 2 });
    expect(estimateOneWayDelay(null, a)).toMatchObject({ networkOneWayDelayMs: 40, oneWayDelayMs: 70, source: 'nominal', legs: 1, paths: 2, pathsMeasured: 0 });
    expect(estimateOneWayDelay(100, a)).toMatchObject({ networkOneWayDelayMs: 50, oneWayDelayMs: 80, source: 'rtcp', pathsMeasured: 1 });
  });

  it("an emulated buffer's delay replaces the assumed one", () => {
    const d = withBufferDelay(estimatePathDelay([10, 30], a), 65);
    expect(d).toMatchObject({ networkOneWayDelayMs: 20, bufferMs: 65, bufferSource: 'emulated', oneWayDelayMs: 85 });
  });

  it("the library's assumptions are the configuration's defaults", () => {
    const q = defaultConfig().qos;
    expect(DEFAULT_DELAY_ASSUMPTIONS).toEqual({ nominalOneWayDelayMs: q.nominalOneWayDelayMs, jitterBufferMs: q.jitterBufferMs });
  });
});

// A B2BUA call seen on both legs, with RTCP SR/RR on every stream: the probe's round trips are set per
// path by when each RR follows the SR it quotes (probe-to-receiver round trip + DLSR).
const T0 = 1_700_000_000_000;
const DLSR_S = 0.25;
const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-delay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Party { ip: string; port: number; ssrc: number }
const A: Party = { ip: '10.1.0.10', port: 40000, ssrc: 0xa1 };
const X: Party = { ip: '10.5.0.5', port: 30000, ssrc: 0xb1 };
const Y: Party = { ip: '10.5.0.5', port: 31000, ssrc: 0xb2 };
const B: Party = { ip: '10.2.0.20', port: 50000, ssrc: 0xc2 };
/** The probe's round trip with each party, ms. */
const RTT = new Map([[A, 8], [X, 2], [Y, 2], [B, 30]]);

/** SR from `from` at `ms`, and the receiver's RR quoting it one round trip (probe-receiver) + DLSR later. */
function srRr(t: CaptureTimeline, ms: number, from: Party, to: Party, ssrc = (p: Party) => p.ssrc): void {
  const ntpSec = Math.floor(ms / 1000) + 2208988800;
  const ntpFrac = Math.round(((ms % 1000) / 1000) * 2 ** 32) >>> 0;
  const sr = rtcpSr({ ssrc: ssrc(from), ntpSec, ntpFrac, rtpTs: 0, packets: 100, octets: 16000 });
  t.add(ms, udpFrame(from.ip, from.port + 1, to.ip, to.port + 1, rtcpCompound(sr)));
  const lsr = (((ntpSec & 0xffff) << 16) | (ntpFrac >>> 16)) >>> 0;
  const rr = rtcpRr({ ssrc: ssrc(to), reports: [{ ssrc: ssrc(from), fractionLost: 0, cumulativeLost: 0, extHighestSeq: 100, jitter: 0, lsr, dlsr: DLSR_S * 65536 }] });
  t.add(ms + RTT.get(to)! + DLSR_S * 1000, udpFrame(to.ip, to.port + 1, from.ip, from.port + 1, rtcpCompound(rr)));
}

/**
 * `relay`: the B2BUA relays the media with the SSRCs unchanged (what rtpengine and most SBCs do without
 * transcoding), so each SSRC is on both legs: A's on A->X and Y->B, B's on B->Y and X->A.
 */
async function replayB2bua(o: { legs: 1 | 2; rtcp: boolean; relay?: boolean }): Promise<E2eReport[]> {
  const ssrc = (p: Party) => (o.relay && p === Y ? A.ssrc : o.relay && p === X ? B.ssrc : p.ssrc);
  const t = new CaptureTimeline();
  for (let ms = T0; ms <= T0 + 13_000; ms += 250) t.add(ms, udpFrame('10.9.9.9', 9999, '10.9.9.8', 9999, text('keepalive')));
  const sdp = (p: Party) => ({ ip: p.ip, media: [{ port: p.port, formats: [8] }] });
  const pairs: Array<[Party, Party, string]> = [[A, X, 'a-leg@gen']];
  if (o.legs === 2) pairs.push([Y, B, 'b-leg@gen']);
  for (const [caller, callee, callId] of pairs) {
    const d = new DialogWriter(t, callId, caller.ip, callee.ip, callId === 'b-leg@gen' ? [['X-CID', 'a-leg@gen']] : []);
    const c = d.invite(T0, sdp(caller));
    d.respond(T0 + 40, 200, c, sdp(callee));
    d.ack(T0 + 50, c);
    t.rtp(T0 + 100, caller.ip, caller.port, callee.ip, callee.port, { ssrc: ssrc(caller), seq: 1, ts: 0, count: 600 });
    t.rtp(T0 + 105, callee.ip, callee.port, caller.ip, caller.port, { ssrc: ssrc(callee), seq: 1, ts: 0, count: 600 });
    if (o.rtcp) {
      srRr(t, T0 + 2000, caller, callee, ssrc);
      srRr(t, T0 + 2500, callee, caller, ssrc);
    }
  }
  const file = join(dir, `b2bua-${o.legs}-${o.rtcp}-${o.relay === true}.pcap`);
  writeFileSync(file, t.pcap());
  return replayReports(file, e2eConfig((c) => void (c.reports.intervalS = 5)));
}

describe('mouth-to-ear delay over B2BUA legs, from a generated capture replayed through the CLI path', () => {
  it('each stream of a two-leg call: half the round trip of both legs (8 + 2 + 2 + 30) / 2 = 21 ms, every path measured', async () => {
    const reports = await replayB2bua({ legs: 2, rtcp: true });
    // The second PERIODIC of each stream (10 s) comes after every RR (at most 2.5 s + 30 ms + 250 ms).
    const late = reports.filter((r) => r.TYPE === 'PERIODIC' && (r.REPORT_END as number) > T0 / 1000 + 9);
    expect(late).toHaveLength(4);
    for (const r of late) {
      expect(r).toMatchObject({ DELAY_SOURCE: 'rtcp', DELAY_LEGS: 2, DELAY_PATHS: 4, DELAY_PATHS_MEASURED: 4, BUFFER_DELAY: 0, BUFFER_DELAY_SOURCE: 'assumed' });
      expect(Math.abs((r.NETWORK_DELAY as number) - 21)).toBeLessThan(0.01);
      expect(r.ONE_WAY_DELAY).toBe(r.NETWORK_DELAY);
      expect(Math.abs((r.ID as number) - 0.024 * 21)).toBeLessThan(0.001);
    }
  });

  it('a relay keeping the SSRCs on both legs: each path keeps its own round trip (tshark: 2, 30, 2, 8 ms), 21 ms as with distinct SSRCs', async () => {
    const reports = await replayB2bua({ legs: 2, rtcp: true, relay: true });
    // Wireshark's round trip of each RR, per conversation: the same SSRC, four paths.
    const tshark = spawnSync('tshark', ['-n', '-r', join(dir, 'b2bua-2-true-true.pcap'), '-o', 'rtcp.show_roundtrip_calculation:TRUE', '-o', 'rtcp.roundtrip_min_threshhold:0',
      '-Y', 'rtcp.roundtrip-delay', '-T', 'fields', '-e', 'rtcp.ssrc.identifier', '-e', 'rtcp.roundtrip-delay'], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(tshark).toEqual([`0x000000a1\t${RTT.get(X)}`, `0x000000a1\t${RTT.get(B)}`, `0x000000c2\t${RTT.get(Y)}`, `0x000000c2\t${RTT.get(A)}`]);
    const late = reports.filter((r) => r.TYPE === 'PERIODIC' && (r.REPORT_END as number) > T0 / 1000 + 9);
    expect(late).toHaveLength(4);
    for (const r of late) {
      expect(r).toMatchObject({ DELAY_SOURCE: 'rtcp', DELAY_LEGS: 2, DELAY_PATHS: 4, DELAY_PATHS_MEASURED: 4 });
      expect(Math.abs((r.NETWORK_DELAY as number) - 21), `${r.SRC_IP}:${r.SRC_PORT} NETWORK_DELAY ${r.NETWORK_DELAY}`).toBeLessThan(0.01);
      expect(Math.abs((r.XR_RTD as number) - 42), `${r.SRC_IP}:${r.SRC_PORT} XR_RTD ${r.XR_RTD}`).toBeLessThan(0.01);
    }
  });

  it('one leg: its two paths (8 + 2) / 2 = 5 ms, not half the receiver path alone', async () => {
    const reports = await replayB2bua({ legs: 1, rtcp: true });
    const late = reports.filter((r) => r.TYPE === 'PERIODIC' && (r.REPORT_END as number) > T0 / 1000 + 9);
    expect(late).toHaveLength(2);
    for (const r of late) {
      expect(r).toMatchObject({ DELAY_LEGS: 1, DELAY_PATHS: 2, DELAY_PATHS_MEASURED: 2 });
      expect(Math.abs((r.NETWORK_DELAY as number) - 5)).toBeLessThan(0.01);
    }
  });

  it('without RTCP: nominal, nothing measured, both legs still counted', async () => {
    const reports = await replayB2bua({ legs: 2, rtcp: false });
    const periodic = reports.filter((r) => r.TYPE === 'PERIODIC');
    expect(periodic.length).toBeGreaterThan(0);
    for (const r of periodic) expect(r).toMatchObject({ DELAY_SOURCE: 'nominal', NETWORK_DELAY: 0, DELAY_LEGS: 2, DELAY_PATHS_MEASURED: 0 });
  });
});
