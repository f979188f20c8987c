/**
 * Capture time to HOMER from a nanosecond capture: the HEP timestamp (seconds + microseconds) is the
 * capture time truncated to the microsecond, as heplify does, so a packet at x.9999995 s or later stays in
 * second x instead of moving to x+1.000000. The QoS reports' period times (ms precision) truncate too.
 * Replayed through runReplay (the CLI's path) to a real UDP socket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HepDecoded } from '../../src/hep/index.js';
import { generateScenario, sipRequest, text, udpFrame, writePcapFile, type PcapRecord } from '../../src/gen/index.js';
import { replayToUdp } from './hep-helpers.js';

const UDP_PAYLOAD = 42; // Ethernet + IPv4 (20 bytes) + UDP: the generator's frames
const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const isSip = (d: Uint8Array) => u16(d, 34) === 5060 || u16(d, 36) === 5060;
const isRtcp = (d: Uint8Array) => u16(d, 34) % 2 === 1 && d[UDP_PAYLOAD + 1]! >= 200 && d[UDP_PAYLOAD + 1]! <= 204;
/** "sec.usec" of a capture time in ns, truncated to the microsecond. */
const truncated = (ns: bigint) => `${ns / 1_000_000_000n}.${String((ns % 1_000_000_000n) / 1000n).padStart(6, '0')}`;
const hepTime = (m: HepDecoded) => `${m.tsSec}.${String(m.tsUsec).padStart(6, '0')}`;

describe('capture time to HOMER from a nanosecond capture', () => {
  let dir: string;
  let records: PcapRecord[];
  let lastRtpNs: bigint;
  let hep: HepDecoded[];
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtpprobe-capture-time-'));
    // Every packet 1 ns before the generator's microsecond: its last 3 digits 999 ns. The capture is
    // shifted so that the last RTP packet of a stream lands at x.999999999 (its RTP_STOP).
    const gen = [...generateScenario({ calls: 1, durationS: 0, callDurationS: 12, codec: 'PCMA', lossPct: 0, jitterMs: 0, rtcp: true, seed: 3, startEpochS: 1_760_000_000 })];
    const lastRtp = gen.filter((r) => !isSip(r.data) && !isRtcp(r.data)).at(-1)!.tsNs;
    const shift = (1_000_000_000n - (lastRtp % 1_000_000_000n)) % 1_000_000_000n;
    records = gen.map((r) => ({ tsNs: r.tsNs + shift - 1n, data: r.data }));
    lastRtpNs = lastRtp + shift - 1n;
    // And an OPTIONS (no call) at x.999999999, the second after the first packet's.
    const options = udpFrame('10.9.0.1', 5060, '10.9.0.2', 5060, text(sipRequest('OPTIONS', 'sip:probe@example.com', { callId: 'ping@probe', fromTag: 'p1', cseq: 1 })));
    records.push({ tsNs: (records[0]!.tsNs / 1_000_000_000n + 2n) * 1_000_000_000n - 1n, data: options });
    records.sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
    const file = path.join(dir, 'ns.pcap');
    writePcapFile(file, records, { nanoseconds: true });
    hep = await replayToUdp(file, (c) => (c.reports.intervalS = 5));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('SIP: each message at its capture time truncated to the microsecond, none in the next second', () => {
    const sip = records.filter((r) => isSip(r.data));
    const sent = hep.filter((m) => m.protoType === 1);
    expect(sent.length).toBe(sip.length);
    expect(sip.filter((r) => r.tsNs % 1_000_000_000n === 999_999_999n).length, 'a message at x.999999999').toBeGreaterThan(0);
    for (const r of sip) {
      const text = Buffer.from(r.data.subarray(UDP_PAYLOAD)).toString('latin1');
      const m = sent.find((s) => s.payload.toString('latin1') === text)!;
      expect(hepTime(m)).toBe(truncated(r.tsNs));
    }
  });

  it('RTCP: each compound at its capture time truncated', () => {
    const rtcpTimes = records.filter((r) => isRtcp(r.data)).map((r) => truncated(r.tsNs));
    const sent = hep.filter((m) => m.protoType === 5);
    expect(sent.length).toBe(rtcpTimes.length);
    expect(sent.map(hepTime).sort()).toEqual(rtcpTimes.sort());
  });

  it('QoS reports: sent at a packet\'s truncated capture time; period times truncated to the ms', () => {
    const times = new Set(records.map((r) => truncated(r.tsNs)));
    const ms = new Set(records.map((r) => Number(r.tsNs / 1_000_000n)));
    const qos = hep.filter((m) => m.protoType !== 1 && m.protoType !== 5);
    expect(qos.length).toBeGreaterThan(2);
    expect(lastRtpNs % 1_000_000_000n).toBe(999_999_999n);
    const stops = qos.map((m) => JSON.parse(m.payload.toString()) as Record<string, number | string>).filter((r) => r.TYPE === 'FINAL' || r.TYPE === 'HANGUP');
    expect(stops.map((r) => r.RTP_STOP), 'a stream whose last packet is at x.999999999').toContain(Number(lastRtpNs / 1_000_000n) / 1000);
    for (const m of qos) {
      expect(times.has(hepTime(m)), hepTime(m)).toBe(true);
      const rep = JSON.parse(m.payload.toString()) as Record<string, number>;
      for (const k of ['REPORT_START', 'REPORT_END', 'RTP_START', 'RTP_STOP']) {
        expect(ms.has(Math.round(rep[k]! * 1000)), `${k} ${rep[k]}`).toBe(true);
      }
    }
  });
});
