/**
 * `rtpprobe top` prints Call-IDs and codec names, which come off the wire, to the operator's terminal: a
 * hostile peer's control characters (an ESC sequence that clears the screen, sets the window title or
 * recolours the text, a vertical tab that moves the cursor) must be shown as text, as the stream table does.
 * A real probe (`replay --realtime --metrics`, the CLI from dist/) replays a capture made with the
 * project's generator, and `rtpprobe top --once` (calls and streams) reads it in another process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureTimeline, rtp, sdpBody, sipRequest, sipResponse, text, udpFrame } from '../../src/gen/index.js';
import { liveApi } from '../live-api.js';
import { CLI as cli, startLiveReplay, type LiveReplay } from '../live-replay.js';
import { until } from '../wait.js';

/** ESC sequences (clear screen, window title, colour), BEL, a C1 CSI and a vertical tab, as a peer can send them. */
const CALL_ID = 'evil-\u001b[2J\u001b]0;pwned\u0007-\u001b[31mred\u001b[0m-\u009b1m-x\u000bx@probe.test';
const CODEC = 'PC\u001b[2JMA';

/** One answered call whose Call-ID and rtpmap codec name carry control characters, `seconds` of PCMA each way. */
function hostileCapture(t0Ms: number, seconds: number): Buffer {
  const t = new CaptureTimeline();
  const a = { ip: '10.7.0.1', port: 40000 };
  const b = { ip: '10.7.0.2', port: 50000 };
  const sdp = (p: typeof a) => sdpBody({ ip: p.ip, media: [{ port: p.port, formats: [96], rtpmap: [[96, `${CODEC}/8000`]] }] });
  t.add(t0Ms, udpFrame(a.ip, 5060, b.ip, 5060, text(sipRequest('INVITE', 'sip:bob@example.com', { callId: CALL_ID, fromTag: 'a', cseq: 1, body: sdp(a) }))));
  t.add(t0Ms + 50, udpFrame(b.ip, 5060, a.ip, 5060, text(sipResponse(200, { callId: CALL_ID, fromTag: 'a', toTag: 'b', cseq: 1, cseqMethod: 'INVITE', body: sdp(b) }))));
  for (let i = 0; i < seconds * 50; i++) {
    t.add(t0Ms + 100 + i * 20, udpFrame(a.ip, a.port, b.ip, b.port, rtp({ pt: 96, seq: i, ts: i * 160, ssrc: 0xa1 })));
    t.add(t0Ms + 100 + i * 20, udpFrame(b.ip, b.port, a.ip, a.port, rtp({ pt: 96, seq: i, ts: i * 160, ssrc: 0xb1 })));
  }
  return t.pcap();
}

/** Any control character but the newline that ends each line. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe.skipIf(!existsSync(cli))('rtpprobe top shows control characters from the wire as text', () => {
  let probe: LiveReplay | undefined;
  let base = '';

  beforeAll(async () => {
    // Long enough to be still running while top reads it on a loaded machine; killed after the test.
    probe = await startLiveReplay(hostileCapture(1_750_000_000_000, 120), ['reports.interval_s=1']);
    base = probe.base;
    // Both streams reported once: top has a row for each.
    expect(await until(async () => ((await liveApi<{ streams: unknown[] }>(`${base}/api/streams`))?.streams.length ?? 0) === 2, 60_000), probe.out()).toBe(true);
  }, 120_000);

  afterAll(() => {
    probe?.kill();
  });

  it('the API keeps the values as they came; top --once prints them escaped, in the calls and the streams view', async () => {
    const api = (await liveApi<{ streams: Array<{ callId: string; codec: string }> }>(`${base}/api/streams`))!;
    expect(api.streams.map((s) => s.callId)).toEqual([CALL_ID, CALL_ID]);
    expect(api.streams.map((s) => s.codec)).toEqual([CODEC.toLowerCase(), CODEC.toLowerCase()]);

    const calls = spawnSync(process.execPath, [cli, 'top', '--url', base, '--once'], { encoding: 'utf8' });
    expect(calls.status, calls.stderr).toBe(0);
    expect(calls.stdout).not.toMatch(CONTROL);
    expect(calls.stdout).toContain('evil-\\x1b[2J\\x1b]0;pwned\\x07-\\x1b[31mred\\x1b[0m-\\x9b1m-x\\x0bx@probe.test');

    const streams = spawnSync(process.execPath, [cli, 'top', '--url', base, '--once', '--streams'], { encoding: 'utf8' });
    expect(streams.status, streams.stderr).toBe(0);
    expect(streams.stdout).not.toMatch(CONTROL);
    const rows = streams.stdout.split('\n').filter((l) => l.includes('evil-'));
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toContain('pc\\x1b[2jma');
  }, 60_000);
});
