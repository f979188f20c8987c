/**
 * A replay waits for HOMER between windows of the file, and also inside one where a packet-less gap's
 * catch-up reports every stream several times over (silence, interval, end): with a queue smaller than
 * those reports, every one of them still reaches a real UDP socket (each datagram decoded by the strict
 * decoder), none dropped.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureTimeline, DialogWriter, text, udpFrame } from '../../src/gen/index.js';
import type { QosReport } from '../../src/report/index.js';
import { replayToUdp } from './hep-helpers.js';

const T0 = 1_700_000_000_000;
const CALLS = 100;
const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-gap-burst-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** CALLS answered calls whose media (2 s each way) stops at once; a minute with no packets; then other traffic. */
function capture(): string {
  const t = new CaptureTimeline();
  const sdp = (ip: string, port: number) => ({ ip, media: [{ port, formats: [8] }] });
  for (let i = 0; i < CALLS; i++) {
    const a = `10.1.0.${i + 1}`;
    const b = `10.2.0.${i + 1}`;
    const d = new DialogWriter(t, `burst-${i}@gen`, a, b);
    const c = d.invite(T0 + i, sdp(a, 40000));
    d.respond(T0 + i + 50, 200, c, sdp(b, 50000));
    d.ack(T0 + i + 60, c);
    t.rtp(T0 + 100, a, 40000, b, 50000, { ssrc: 0x1000 + i, seq: 1, ts: 0, count: 100 });
    t.rtp(T0 + 105, b, 50000, a, 40000, { ssrc: 0x2000 + i, seq: 1, ts: 0, count: 100 });
  }
  for (let k = 0; k < 20; k++) t.add(T0 + 62_000 + k * 200, udpFrame('10.9.9.9', 9999, '10.9.9.8', 9999, text('after the gap')));
  const file = join(dir, 'gap-burst.pcap');
  writeFileSync(file, t.pcap());
  return file;
}

describe('a gap whose catch-up reports more than the HEP queue holds', () => {
  it('every report and SIP message reaches the collector: the replay waited instead of dropping', async () => {
    // 300 SIP messages, then 200 streams x (ALERT, PERIODIC, CLEARED, FINAL) in the catch-up: 1,100
    // messages through a queue of 800 (UDP is paced: the queue fills while the replay runs).
    const messages = await replayToUdp(capture(), (c) => {
      c.hep.collectors = [{ ...c.hep.collectors[0]!, queueSize: 800 }];
    });
    const qos = messages.filter((m) => m.protoType !== 1).map((m) => JSON.parse(m.payload.toString('utf8')) as QosReport);
    expect(messages.length - qos.length, 'SIP messages').toBe(3 * CALLS);
    const count = (type: string) => qos.filter((r) => r.TYPE === type).length;
    expect([count('ALERT'), count('PERIODIC'), count('CLEARED'), count('FINAL')]).toEqual([2 * CALLS, 2 * CALLS, 2 * CALLS, 2 * CALLS]);
  });
});
