/**
 * Alerts still firing when their stream ends, as HOMER and the webhook receive them: a replay with HEP to
 * a real UDP socket (every datagram decoded by the strict decoder) and the webhook to a real HTTP
 * receiver on loopback. Each ALERT in the HEP feed is answered by one CLEARED of the same stream and rule,
 * before that stream's FINAL/HANGUP; the webhook's CLEARED events are the same ones.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureTimeline, DialogWriter } from '../../src/gen/index.js';
import type { WebhookPayload } from '../../src/outbound/webhook-output.js';
import type { QosReport } from '../../src/report/index.js';
import { replayToUdp } from './hep-helpers.js';

const T0 = 1_700_000_000_000;
const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-alert-end-'));

/**
 * Two calls: 'bye@gen' with two streams for 8 s, ended by BYE (HANGUP); 'stops@gen' whose caller stream
 * stops after 3 s while the call stays up (rule silence fires 5 s later, the stream times out at 10 s: FINAL).
 */
function capture(): string {
  const t = new CaptureTimeline();
  const sdp = (ip: string, port: number) => ({ ip, media: [{ port, formats: [8] }] });
  const a = new DialogWriter(t, 'bye@gen', '10.1.0.10', '10.2.0.20');
  const ai = a.invite(T0, sdp('10.1.0.10', 40000));
  a.respond(T0 + 50, 200, ai, sdp('10.2.0.20', 50000));
  a.ack(T0 + 60, ai);
  t.rtp(T0 + 100, '10.1.0.10', 40000, '10.2.0.20', 50000, { ssrc: 11, seq: 1, ts: 0, count: 400 });
  t.rtp(T0 + 105, '10.2.0.20', 50000, '10.1.0.10', 40000, { ssrc: 12, seq: 1, ts: 0, count: 400 });
  const bye = a.bye(T0 + 8_200);
  a.respond(T0 + 8_201, 200, bye, null, { method: 'BYE', toCaller: true });
  const b = new DialogWriter(t, 'stops@gen', '10.1.0.11', '10.2.0.21');
  const bi = b.invite(T0 + 500, sdp('10.1.0.11', 40010));
  b.respond(T0 + 550, 200, bi, sdp('10.2.0.21', 50010));
  b.ack(T0 + 560, bi);
  t.rtp(T0 + 600, '10.1.0.11', 40010, '10.2.0.21', 50010, { ssrc: 21, seq: 1, ts: 0, count: 150 });
  t.rtp(T0 + 605, '10.2.0.21', 50010, '10.1.0.11', 40010, { ssrc: 22, seq: 1, ts: 0, count: 1400 });
  const file = join(dir, 'alert-end.pcap');
  writeFileSync(file, t.pcap());
  return file;
}

const key = (r: QosReport) => `${r.SRC_IP}:${r.SRC_PORT}>${r.DST_IP}:${r.DST_PORT}`;

describe('an alert firing when its stream ends', () => {
  let hep: QosReport[];
  let hooks: WebhookPayload[];
  let server: ReturnType<typeof createServer>;

  beforeAll(async () => {
    hooks = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        hooks.push(JSON.parse(body) as WebhookPayload);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`;
    const got = await replayToUdp(capture(), (c) => {
      c.reports.intervalS = 2;
      c.reports.rules = [{ name: 'flowing', when: 'packets > 0', intervalS: 1 }];
      c.reports.faults.silenceS = 5;
      c.rtp.silenceTimeoutS = 10;
      c.webhook.url = url;
    });
    hep = got.filter((d) => d.protoType === 35).map((d) => JSON.parse(d.payload.toString('utf8')) as QosReport);
  }, 60_000);
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('every ALERT sent over HEP gets one CLEARED of its rule, before its stream\'s FINAL/HANGUP', () => {
    const alerts = hep.filter((r) => r.TYPE === 'ALERT');
    expect(alerts.map((r) => `${key(r)} ${r.ALERT_RULE}`).sort()).toEqual([
      '10.1.0.10:40000>10.2.0.20:50000 flowing',
      '10.1.0.11:40010>10.2.0.21:50010 flowing',
      '10.1.0.11:40010>10.2.0.21:50010 silence',
      '10.2.0.20:50000>10.1.0.10:40000 flowing',
      '10.2.0.21:50010>10.1.0.11:40010 flowing',
      '10.2.0.21:50010>10.1.0.11:40010 one-way-rtp', // its partner stopped: audio one way until the end of input
    ]);
    for (const a of alerts) {
      const from = hep.indexOf(a);
      const end = hep.findIndex((r, i) => i > from && key(r) === key(a) && (r.TYPE === 'FINAL' || r.TYPE === 'HANGUP'));
      expect(end, `${key(a)} ended`).toBeGreaterThan(from);
      const cleared = hep.filter((r, i) => i > from && i < end && key(r) === key(a) && r.TYPE === 'CLEARED' && r.ALERT_RULE === a.ALERT_RULE);
      expect(cleared.length, `${key(a)} ${a.ALERT_RULE}: one CLEARED before its end`).toBe(1);
      expect(cleared[0]).toMatchObject({ CLEAR_REASON: 'stream-ended', CORRELATION_ID: a.CORRELATION_ID, SSRC: a.SSRC });
    }
    expect(hep.filter((r) => r.TYPE === 'CLEARED').length).toBe(alerts.length);
    // The BYE ended call 'bye@gen' (HANGUP); the stream that stopped timed out (FINAL), its partner went on until the end of input.
    expect(hep.filter((r) => r.TYPE === 'HANGUP').map(key).sort()).toEqual(['10.1.0.10:40000>10.2.0.20:50000', '10.2.0.20:50000>10.1.0.10:40000']);
  });

  it('the CLEARED has the shape of one sent while the stream runs: the period since the last report, the interval, the rule', () => {
    for (const c of hep.filter((r) => r.TYPE === 'CLEARED')) {
      const alert = hep.find((r) => r.TYPE === 'ALERT' && key(r) === key(c) && r.ALERT_RULE === c.ALERT_RULE)!;
      const fin = hep.find((r) => key(r) === key(c) && (r.TYPE === 'FINAL' || r.TYPE === 'HANGUP'))!;
      const periodic = hep.filter((r) => r.TYPE === 'PERIODIC' && key(r) === key(c));
      expect(Object.keys(c).sort()).toEqual([...Object.keys(alert), 'CLEAR_REASON'].sort());
      expect(c.INTERVAL_S).toBeGreaterThan(0);
      // Interval counters, not the cumulative ones of the final report; they start after the last PERIODIC.
      expect(c.REPORT_START as number).toBeGreaterThanOrEqual(periodic.at(-1)!.REPORT_END as number);
      if (c.ALERT_RULE !== 'silence') expect(c.TOTAL_PK as number).toBeLessThan(fin.TOTAL_PK as number);
    }
    // The stream that stopped: its last period had no packet, so it runs from the latest packet to the
    // timeout, seen at the first once-a-second tick after it.
    const last = (T0 + 600 + 149 * 20) / 1000;
    const sil = hep.find((r) => r.TYPE === 'CLEARED' && r.ALERT_RULE === 'silence')!;
    expect(sil).toMatchObject({ TOTAL_PK: 0, REPORT_START: last });
    expect(sil.REPORT_END as number).toBeGreaterThanOrEqual(last + 10);
    expect(sil.REPORT_END as number).toBeLessThan(last + 11);
    expect(sil.CURRENT_SILENCE_MS).toBeCloseTo(((sil.REPORT_END as number) - last) * 1000, 0);
    expect(sil.PAUSE_WAS_LOSS).toBeUndefined(); // never resumed: neither a silence nor loss
  });

  it('the webhook posts the same CLEARED events (reason stream-ended), each after its ALERT', () => {
    const events = hooks.map((p) => `${p.event} ${p.stream.src}>${p.stream.dst} ${p.rule} ${p.reason}`);
    const fromHep = hep.filter((r) => r.TYPE === 'ALERT' || r.TYPE === 'CLEARED').map((r) => `${r.TYPE} ${key(r)} ${r.ALERT_RULE} ${r.TYPE === 'ALERT' ? null : r.CLEAR_REASON}`);
    expect(events).toEqual(fromHep);
    expect(hooks.filter((p) => p.event === 'CLEARED').every((p) => p.reason === 'stream-ended' && p.report?.TYPE === 'CLEARED')).toBe(true);
  });
});
