/**
 * SIP call flows an operator's network has, generated and replayed through runReplay (the CLI's path),
 * each stream's packets per Call-ID checked against tshark's: which SDP (rtp.setup-frame) each RTP packet
 * belongs to, counted per stream and the Call-ID of that SDP.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureTimeline, DialogWriter, text, udpFrame } from '../../src/gen/index.js';
import type { SdpSpec } from '../../src/gen/index.js';
import { e2eConfig, finals, replayReports, reportKey } from '../e2e/helpers.js';
import type { E2eReport } from '../e2e/helpers.js';

const T0 = 1_700_000_000_000;
const A = { ip: '10.1.0.10', port: 40000, ssrc: 0x1111aaaa };
const B = { ip: '10.2.0.20', port: 50000, ssrc: 0x2222bbbb };
const audio = (ip: string, port: number, direction?: SdpSpec['direction']): SdpSpec => ({ ip, media: [{ port, formats: [8], direction }] });
const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-flows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Other traffic of the mirror port, a non-RTP datagram every 250 ms: replay's capture time keeps ticking through pauses. */
function background(t: CaptureTimeline, untilMs: number): void {
  for (let ms = T0; ms <= untilMs; ms += 250) t.add(ms, udpFrame('10.9.9.9', 9999, '10.9.9.8', 9999, text('keepalive')));
}

/** RTP packets per stream and Call-ID as tshark assigns them (the Call-ID of each packet's rtp.setup-frame). */
function tsharkPacketsPerCall(file: string): Map<string, number> {
  const out = execFileSync('tshark', ['-n', '-r', file, '-Y', 'rtp || sip', '-T', 'fields', '-e', 'frame.number', '-e', 'sip.Call-ID', '-e', 'ip.src', '-e', 'udp.srcport', '-e', 'ip.dst', '-e', 'udp.dstport', '-e', 'rtp.ssrc', '-e', 'rtp.setup-frame'], { encoding: 'utf8' });
  const callIds = new Map<string, string>();
  const counts = new Map<string, number>();
  for (const line of out.split('\n')) {
    const [frame, callId, src, srcPort, dst, dstPort, ssrc, setup] = line.split('\t');
    if (callId) callIds.set(frame, callId);
    if (!ssrc) continue;
    const key = `${reportKey({ SRC_IP: src, SRC_PORT: +srcPort, DST_IP: dst, DST_PORT: +dstPort, SSRC: parseInt(ssrc, 16) })} ${callIds.get(setup) ?? ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** The probe's packets per stream and Call-ID, from its final reports (a stream split in two rows is summed per Call-ID). */
function probePacketsPerCall(reports: E2eReport[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of finals(reports)) {
    const key = `${reportKey(r)} ${r.CORRELATION_ID}`;
    counts.set(key, (counts.get(key) ?? 0) + r.TOTAL_PK);
  }
  return counts;
}

async function replay(name: string, t: CaptureTimeline): Promise<{ file: string; reports: E2eReport[] }> {
  const file = join(dir, `${name}.pcap`);
  writeFileSync(file, t.pcap());
  return { file, reports: await replayReports(file, e2eConfig()) };
}

describe('a media server reusing its RTP port for the next call', () => {
  for (const ssrc of ['the same SSRC', 'a new SSRC'] as const) {
    it(`two calls on one 5-tuple 2.8 s apart (${ssrc}): each call's packets under its own Call-ID, as tshark assigns them`, async () => {
      const t = new CaptureTimeline();
      background(t, T0 + 14_000);
      for (const k of [0, 1]) {
        const at = T0 + k * 8000;
        const d = new DialogWriter(t, `reuse-${k}@gen`, A.ip, B.ip);
        const c = d.invite(at, audio(A.ip, A.port));
        d.respond(at + 50, 200, c, audio(B.ip, B.port));
        d.ack(at + 60, c);
        const next = ssrc === 'a new SSRC' ? k : 0;
        t.rtp(at + 100, A.ip, A.port, B.ip, B.port, { ssrc: A.ssrc + next, seq: 1 + k * 5000, ts: 0, count: 250 });
        t.rtp(at + 105, B.ip, B.port, A.ip, A.port, { ssrc: B.ssrc + next, seq: 1 + k * 5000, ts: 0, count: 250 });
        // BYE 100 ms after the last packet; the next call's INVITE comes 2.7 s later, within sip.media_linger_s.
        const bc = d.bye(at + 5200);
        d.respond(at + 5201, 200, bc, null, { method: 'BYE' });
      }
      const { file, reports } = await replay(`reuse-${ssrc.replace(/ /g, '-')}`, t);
      const tshark = tsharkPacketsPerCall(file);
      expect([...tshark.values()]).toEqual([250, 250, 250, 250]);
      expect(probePacketsPerCall(reports)).toEqual(tshark);
    });
  }
});

