/**
 * The rules judge a stream's last period (from its latest interval report to its end) as any interval:
 * a call whose audio went bad in its last seconds, often why it was hung up, pages. HEP to a real UDP
 * socket, every datagram decoded by the strict decoder.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureTimeline, DialogWriter } from '../../src/gen/index.js';
import { rtp, udpFrame } from '../../src/gen/packets.js';
import type { QosReport } from '../../src/report/index.js';
import { replayToUdp } from './hep-helpers.js';

const T0 = 1_700_000_000_000;
const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-alert-last-'));

/**
 * Two calls, 20 ms PCMA each way from T0 + 0.1 s, ended by BYE: 'tail@gen' for 25 s, its caller losing
 * every third packet in the last 4 s (after the report at 21 s); 'short@gen' for 21.1 s, its caller losing
 * one packet in the 0.2 s after its report at 21 s (9 % of that fragment, too short to judge alone).
 */
function capture(): string {
  const t = new CaptureTimeline();
  const sdp = (ip: string, port: number) => ({ ip, media: [{ port, formats: [8] }] });
  const call = (id: string, a: string, b: string, n: number, lost: (k: number) => boolean) => {
    const d = new DialogWriter(t, id, a, b);
    const inv = d.invite(T0, sdp(a, 40000));
    d.respond(T0 + 50, 200, inv, sdp(b, 50000));
    d.ack(T0 + 60, inv);
    for (let k = 0; k < n; k++) if (!lost(k)) t.add(T0 + 100 + k * 20, udpFrame(a, 40000, b, 50000, rtp({ pt: 8, seq: k + 1, ts: k * 160, ssrc: 0xaaaa })));
    t.rtp(T0 + 105, b, 50000, a, 40000, { ssrc: 0xbbbb, seq: 1, ts: 0, count: n });
    const bye = d.bye(T0 + 100 + n * 20 + 50);
    d.respond(T0 + 100 + n * 20 + 51, 200, bye, null, { method: 'BYE' });
  };
  call('tail@gen', '10.1.0.10', '10.2.0.20', 1250, (k) => k > 1050 && k % 3 === 0);
  call('short@gen', '10.1.0.11', '10.2.0.21', 1056, (k) => k === 1052);
  const file = join(dir, 'last-period.pcap');
  writeFileSync(file, t.pcap());
  return file;
}

describe('a rule on the last period of a stream', () => {
  let hep: QosReport[];
  const of = (callId: string, ssrc: number) => hep.filter((r) => r.CORRELATION_ID === callId && r.SSRC === ssrc).map((r) => `${r.TYPE}${r.ALERT_RULE ? ` ${r.ALERT_RULE}` : ''}${r.CLEAR_REASON ? ` ${r.CLEAR_REASON}` : ''}`);

  beforeAll(async () => {
    const got = await replayToUdp(capture(), (c) => {
      c.reports.intervalS = 10;
      c.reports.rules = [{ name: 'lossy', when: 'loss_pct > 2', intervalS: 10 }];
    });
    hep = got.filter((d) => d.protoType === 35).map((d) => JSON.parse(d.payload.toString('utf8')) as QosReport);
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fires on it: ALERT on that period, then its CLEARED (stream-ended), then the HANGUP', () => {
    expect(of('tail@gen', 0xaaaa)).toEqual(['PERIODIC', 'PERIODIC', 'ALERT lossy', 'CLEARED lossy stream-ended', 'HANGUP']);
    const alert = hep.find((r) => r.TYPE === 'ALERT')!;
    const last = hep.filter((r) => r.TYPE === 'PERIODIC' && r.CORRELATION_ID === 'tail@gen' && r.SSRC === 0xaaaa).at(-1)!;
    expect(alert.REPORT_START as number).toBeGreaterThanOrEqual(last.REPORT_END as number);
    expect(alert.PACKET_LOSS_PCT as number).toBeGreaterThan(30);
    expect(of('tail@gen', 0xbbbb)).toEqual(['PERIODIC', 'PERIODIC', 'HANGUP']);
  });

  it('a last period too short to be scored alone (under 0.5 s) is not judged: one packet lost in it is no alert', () => {
    expect(of('short@gen', 0xaaaa)).toEqual(['PERIODIC', 'PERIODIC', 'HANGUP']);
    const [last, end] = hep.filter((r) => r.CORRELATION_ID === 'short@gen' && r.SSRC === 0xaaaa).slice(-2);
    expect((end!.REPORT_END as number) - (last!.REPORT_END as number)).toBeLessThan(0.5);
    expect(end!.PACKET_LOSS).toBe(1);
  });
});
