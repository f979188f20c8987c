/**
 * The E-model's codec for an interval is the stream's audio codec: a stream's telephone events (RFC 4733)
 * and comfort noise (RFC 3389) share its SSRC, so the packet that happens to end an interval may be one of
 * them. Generated G.729 calls replayed through runReplay (the CLI's path), read back as JSON lines.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureTimeline, DialogWriter, rtp, udpFrame } from '../../src/gen/index.js';
import type { SdpSpec } from '../../src/gen/index.js';
import { R_DEFAULT, mosFromR } from '../../src/qos/index.js';
import { round3 } from '../../src/report/index.js';
import { e2eConfig, replayReports } from '../e2e/helpers.js';

const T0 = 1_700_000_000_000;
const A = { ip: '10.1.0.10', port: 40000, ssrc: 0x1111aaaa };
const B = { ip: '10.2.0.20', port: 50000, ssrc: 0x2222bbbb };
const g729 = (ip: string, port: number): SdpSpec => ({
  ip,
  media: [{ port, formats: [18, 13, 101], rtpmap: [[18, 'G729/8000'], [13, 'CN/8000'], [101, 'telephone-event/8000']] }],
});
const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-codec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What packet i of a 20 ms G.729 stream is (audio, an event, comfort noise), null when none is sent. */
type Frame = (i: number) => { pt: number; ts: number; marker?: boolean; payload: Uint8Array } | null;

describe('E-model codec of an interval', () => {
  it('stays G.729 when the interval ends in a telephone event or in comfort noise', async () => {
    const t = new CaptureTimeline();
    const d = new DialogWriter(t, 'g729@gen', A.ip, B.ip);
    const c = d.invite(T0, g729(A.ip, A.port));
    d.respond(T0 + 50, 200, c, g729(B.ip, B.port));
    d.ack(T0 + 60, c);
    // A -> B: a key held from 9.5 s to 11.5 s of the stream (events every 20 ms, timestamps of its start),
    // across the end of the first 10 s interval.
    const dtmf: Frame = (i) =>
      i >= 475 && i < 575
        ? { pt: 101, ts: 160 * 475, marker: i === 475, payload: Uint8Array.from([5, i === 574 ? 0x80 : 0, ((i - 474) * 160) >> 8, ((i - 474) * 160) & 0xff]) }
        : { pt: 18, ts: 160 * i, payload: new Uint8Array(20) };
    // B -> A: silence from 9 s to 13 s, one comfort-noise packet every 100 ms (RFC 3389 DTX).
    const cn: Frame = (i) => (i >= 450 && i < 650 ? (i % 5 === 0 ? { pt: 13, ts: 160 * i, payload: Uint8Array.of(40) } : null) : { pt: 18, ts: 160 * i, payload: new Uint8Array(20) });
    for (const [from, to, frame, offsetMs] of [[A, B, dtmf, 0], [B, A, cn, 5]] as const) {
      let seq = 0;
      for (let i = 0; i < 1500; i++) {
        const f = frame(i);
        if (f === null) continue;
        t.add(T0 + 100 + offsetMs + i * 20, udpFrame(from.ip, from.port, to.ip, to.port, rtp({ seq: seq++, ssrc: from.ssrc, ...f })));
      }
    }
    const bc = d.bye(T0 + 30_200);
    d.respond(T0 + 30_201, 200, bc, null, { method: 'BYE', toCaller: true });
    const file = join(dir, 'g729.pcap');
    writeFileSync(file, t.pcap());

    const reports = await replayReports(file, e2eConfig());
    // No loss, no jitter: every interval scores G.729A's Ie 11 (R 82.2, MOS 4.105), and so does the call.
    const clean = round3(mosFromR(R_DEFAULT - 11));
    for (const ssrc of [A.ssrc, B.ssrc]) {
      const own = reports.filter((r) => r.SSRC === ssrc);
      const periodic = own.filter((r) => r.TYPE === 'PERIODIC');
      expect(periodic.length).toBeGreaterThanOrEqual(2);
      expect(periodic.map((r) => [r.IE_EFF, r.MOS]), `SSRC ${ssrc.toString(16)}`).toEqual(periodic.map(() => [11, clean]));
      expect(own.find((r) => r.TYPE === 'HANGUP')).toMatchObject({ MOS: clean, MIN_MOS: clean, IE_EFF: 11 });
      expect(new Set(own.map((r) => r.CODEC_NAME))).toEqual(new Set(['g729']));
    }
    // The first interval of each stream did end in the event or the comfort noise.
    expect(reports.filter((r) => r.TYPE === 'PERIODIC' && r.CODEC_PT !== 18).map((r) => r.CODEC_PT).sort()).toEqual([101, 13]);
  });
});
