/**
 * Alerts of a stream whose call the probe learns mid-stream (a call running when the capture starts,
 * learned at its re-INVITE), under each reports.unknown_call_id policy: until then its reports go
 * nowhere ('drop'), to the local outputs only ('log') or everywhere under a synthetic id ('synthetic').
 * HOMER (a real UDP socket, every datagram decoded by the strict decoder) and the JSON-lines file each get
 * every rule's ALERT before its CLEARED, under the same id, and an alert still firing when the call is
 * learned reaches the destinations its ALERT did not reach then.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureTimeline, DialogWriter } from '../../src/gen/index.js';
import { rtp, udpFrame } from '../../src/gen/packets.js';
import type { QosReport } from '../../src/report/index.js';
import { replayToUdp } from './hep-helpers.js';

const T0 = 1_700_000_000_000;
const CALL_ID = 'running-before-capture@gen';
const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-alert-learned-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A call already up when the capture starts: 24 s of PCMA each way, the caller's stream losing every
 * 10th packet for its first 5 s; the re-INVITE that names both media addresses at 12 s; BYE at 24 s.
 */
function capture(): string {
  const t = new CaptureTimeline();
  const a = { ip: '10.1.0.17', port: 40050, ssrc: 0xcccc1111 };
  const b = { ip: '10.2.0.29', port: 50050, ssrc: 0x1111cccc };
  const n = 1200;
  for (let i = 0; i < n; i++) {
    if (i < 250 && i % 10 === 5) continue;
    t.add(T0 + i * 20, udpFrame(a.ip, a.port, b.ip, b.port, rtp({ pt: 8, seq: i + 1, ts: i * 160, ssrc: a.ssrc })));
  }
  t.rtp(T0 + 5, b.ip, b.port, a.ip, a.port, { ssrc: b.ssrc, seq: 1, ts: 0, count: n });
  const d = new DialogWriter(t, CALL_ID, a.ip, b.ip);
  const sdp = (ip: string, port: number) => ({ ip, media: [{ port, formats: [8] }] });
  const r = d.invite(T0 + 12_000, sdp(a.ip, a.port), { reinvite: true });
  d.respond(T0 + 12_010, 200, r, sdp(b.ip, b.port));
  d.ack(T0 + 12_011, r);
  const bye = d.bye(T0 + n * 20 + 40);
  d.respond(T0 + n * 20 + 41, 200, bye, null, { method: 'BYE' });
  const file = join(dir, 'learned.pcap');
  writeFileSync(file, t.pcap());
  return file;
}

const file = capture();
const key = (r: QosReport) => `${r.SRC_IP}:${r.SRC_PORT}>${r.DST_IP}:${r.DST_PORT}`;
const alertEvents = (reports: QosReport[]) => reports.filter((r) => r.TYPE === 'ALERT' || r.TYPE === 'CLEARED');

/** Each (stream, rule)'s ALERT/CLEARED in order, as 'A'/'C' letters: 'AC' per alert that began and ended. */
function pairing(reports: QosReport[]): Map<string, string> {
  const seq = new Map<string, string>();
  for (const r of alertEvents(reports)) {
    const k = `${key(r)} ${r.ALERT_RULE}`;
    seq.set(k, (seq.get(k) ?? '') + (r.TYPE === 'ALERT' ? 'A' : 'C'));
  }
  return seq;
}

async function run(policy: 'drop' | 'log' | 'synthetic'): Promise<{ hep: QosReport[]; local: QosReport[] }> {
  const jsonl = join(dir, `${policy}.jsonl`);
  const got = await replayToUdp(file, (c) => {
    c.reports.intervalS = 2;
    c.reports.unknownCallId = policy;
    c.reports.rules = [
      { name: 'lossy', when: 'lost > 0', intervalS: 2 },
      { name: 'flowing', when: 'packets > 0', intervalS: 2 },
    ];
    c.reports.jsonl = { enabled: true, path: jsonl };
  });
  const hep = got.filter((d) => d.protoType === 35).map((d) => JSON.parse(d.payload.toString('utf8')) as QosReport);
  const local = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as QosReport);
  return { hep, local };
}

describe.each(['drop', 'log', 'synthetic'] as const)('a call learned mid-stream, reports.unknown_call_id %s', (policy) => {
  let hep: QosReport[];
  let local: QosReport[];

  it('replays', async () => {
    ({ hep, local } = await run(policy));
    expect(hep.some((r) => r.TYPE === 'HANGUP')).toBe(true);
  }, 60_000);

  it('HOMER gets every ALERT before its CLEARED, and the flowing alert of each stream under the call', () => {
    for (const [k, s] of pairing(hep)) expect(s, k).toMatch(/^(AC)+$/);
    const flowing = hep.filter((r) => r.TYPE === 'ALERT' && r.ALERT_RULE === 'flowing');
    expect(flowing.map(key).sort()).toEqual(['10.1.0.17:40050>10.2.0.29:50050', '10.2.0.29:50050>10.1.0.17:40050']);
    if (policy !== 'synthetic') expect(flowing.every((r) => r.CORRELATION_ID === CALL_ID)).toBe(true);
  });

  it('the local outputs get every ALERT before its CLEARED', () => {
    for (const [k, s] of pairing(local)) expect(s, k).toMatch(/^(AC)+$/);
    expect(local.filter((r) => r.TYPE === 'ALERT' && r.ALERT_RULE === 'flowing').length).toBe(2);
    // The loss ended before the call was learned: its alert reached whoever took the stream's reports then.
    const lossy = hep.concat(local).filter((r) => r.ALERT_RULE === 'lossy');
    if (policy === 'drop') expect(lossy).toEqual([]);
    else expect(pairing(local).get('10.1.0.17:40050>10.2.0.29:50050 lossy')).toBe('AC');
    if (policy === 'log') expect(alertEvents(hep).filter((r) => r.ALERT_RULE === 'lossy')).toEqual([]);
  });

  it('each CLEARED carries the Call-ID (or synthetic id) its ALERT carried there, as a receiver pairing them by call expects', () => {
    for (const reports of [hep, local]) {
      const open = new Map<string, QosReport>();
      for (const r of alertEvents(reports)) {
        const k = `${key(r)} ${r.ALERT_RULE}`;
        if (r.TYPE === 'ALERT') open.set(k, r);
        else expect([k, r.CORRELATION_ID, r.SYNTHETIC_ID, r.X_CID]).toEqual([k, open.get(k)!.CORRELATION_ID, open.get(k)!.SYNTHETIC_ID, open.get(k)!.X_CID]);
      }
    }
    // The stream's reports after the re-INVITE go under the call, whatever its alerts carry.
    expect(hep.filter((r) => r.TYPE === 'HANGUP').map((r) => r.CORRELATION_ID)).toEqual([CALL_ID, CALL_ID]);
  });
});
