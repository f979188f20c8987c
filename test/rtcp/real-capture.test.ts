import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RtcpReader, RttTracker, isRtcp, parseRtcp } from '../../src/rtcp/index.js';
import { ourFields } from './tshark-fields.js';

// Real RTCP from public captures, checked against tshark 4.0's dissector and its own round-trip figure.
const dir = new URL('../../../shared/captures/', import.meta.url);

interface UdpRecord { frame: number; tMs: number; src: string; dst: string; payload: Uint8Array }

/** Minimal classic-pcap (LE, microseconds), Ethernet/IPv4/UDP reader: enough for these two captures. */
function udpRecords(file: string): Map<number, UdpRecord> {
  const b = readFileSync(new URL(file, dir));
  expect(b.readUInt32LE(0)).toBe(0xa1b2c3d4);
  expect(b.readUInt32LE(20)).toBe(1);
  const out = new Map<number, UdpRecord>();
  let o = 24;
  for (let frame = 1; o + 16 <= b.length; frame++) {
    const tMs = b.readUInt32LE(o) * 1000 + b.readUInt32LE(o + 4) / 1000;
    const cap = b.readUInt32LE(o + 8);
    const d = b.subarray(o + 16, o + 16 + cap);
    o += 16 + cap;
    if (d.readUInt16BE(12) !== 0x0800 || d[23] !== 17) continue;
    const ihl = (d[14] & 0x0f) * 4;
    const u = 14 + ihl;
    const ip = (x: number) => `${d[x]}.${d[x + 1]}.${d[x + 2]}.${d[x + 3]}`;
    const len = d.readUInt16BE(u + 4) - 8;
    out.set(frame, { frame, tMs, src: `${ip(26)}:${d.readUInt16BE(u)}`, dst: `${ip(30)}:${d.readUInt16BE(u + 2)}`, payload: d.subarray(u + 8, u + 8 + len) });
  }
  return out;
}

const FIELDS = [
  'rtcp.pt', 'rtcp.senderssrc', 'rtcp.timestamp.ntp.msw', 'rtcp.timestamp.ntp.lsw', 'rtcp.timestamp.rtp', 'rtcp.sender.packetcount',
  'rtcp.sender.octetcount', 'rtcp.ssrc.identifier', 'rtcp.ssrc.fraction', 'rtcp.ssrc.cum_nr', 'rtcp.ssrc.ext_high', 'rtcp.ssrc.jitter',
  'rtcp.ssrc.lsr', 'rtcp.ssrc.dlsr', 'rtcp.sdes.text',
];

for (const file of ['SIP_CALL_RTP_G711.pcap', 'rtp_example.pcap']) {
  describe(`real RTCP in ${file}`, () => {
    const path = new URL(file, dir).pathname;
    const rows = execFileSync(
      'tshark',
      ['-r', path, '-o', 'rtcp.show_roundtrip_calculation:TRUE', '-o', 'rtcp.roundtrip_min_threshhold:0', '-Y', 'rtcp', '-T', 'fields', '-E', 'aggregator=|', '-E', 'occurrence=a',
        '-e', 'frame.number', '-e', 'rtcp.roundtrip-delay', '-e', 'rtcp.lsr-frame', ...FIELDS.flatMap((f) => ['-e', f])],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    ).replace(/\n$/, '').split('\n').map((r) => r.split('\t'));
    const records = udpRecords(file);

    it('every field of every RTCP packet matches tshark', () => {
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        const rec = records.get(Number(row[0]))!;
        expect(isRtcp(rec.payload, 0, rec.payload.length)).toBe(true);
        const res = parseRtcp(rec.payload, 0, rec.payload.length);
        expect(res.malformed, `frame ${row[0]}: ${res.error}`).toBe(false);
        const ours = ourFields(res.packets);
        FIELDS.forEach((name, k) => {
          const cell = row[k + 3] ?? '';
          const theirs = cell === '' ? [] : cell.split('|').map((v) => (/^-?\d+$|^0x[0-9a-f]+$/i.test(v) ? String(Number(v)) : v));
          expect(ours[name] ?? [], `frame ${row[0]} ${name}`).toEqual(theirs);
        });
      }
    });

    it('passive round trips match Wireshark\'s roundtrip-delay', () => {
      const t = new RttTracker();
      const reader = new RtcpReader();
      let compared = 0;
      for (const row of rows) {
        const rec = records.get(Number(row[0]))!;
        expect(reader.read(rec.payload, 0, rec.payload.length)).toBe(true);
        const n = t.observe(reader, rec.tMs, rec.src, rec.dst);
        if (row[1] === '') continue;
        expect(n, `frame ${row[0]}`).toBeGreaterThan(0);
        const samples = t.samples;
        // Same SR as Wireshark's per-conversation match (the capture holds each SR twice, both relay legs).
        expect(samples[0].refTimeMs, `frame ${row[0]}`).toBe(records.get(Number(row[2]))!.tMs);
        // Wireshark truncates the gap and DLSR to whole milliseconds separately: up to 2 ms apart.
        expect(Math.abs(samples[0].rttMs - Number(row[1])), `frame ${row[0]}: ${samples[0].rttMs} vs ${row[1]}`).toBeLessThanOrEqual(2);
        compared++;
      }
      if (file === 'SIP_CALL_RTP_G711.pcap') expect(compared).toBeGreaterThanOrEqual(6);
    });
  });
}
