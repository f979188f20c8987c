/**
 * Pretty logs (`--log-format pretty`) write Call-IDs, which come off the wire, to the operator's terminal:
 * Unicode's invisible direction controls (a right-to-left override, isolates) and zero-width characters
 * must be shown as text, as `top` and the stream table show them, or the line displays reordered. JSON
 * logs keep the value as it came. A real probe (`replay --realtime --metrics`, the CLI from dist/) replays a
 * capture made with the project's generator and logs its call's start and end.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureTimeline, rtp, sdpBody, sipRequest, sipResponse, text, udpFrame } from '../../src/gen/index.js';
import { CLI as cli } from '../live-replay.js';

/** A right-to-left override, an isolate pair and a zero-width space, as a peer can send them. */
const CALL_ID = 'call-\u202eevil\u2066iso\u2069-zw\u200b@probe.test';
const INVISIBLE = /[\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

/** One answered call with that Call-ID, 3 s of PCMA each way. */
function capture(t0Ms: number): Buffer {
  const t = new CaptureTimeline();
  const a = { ip: '10.7.0.1', port: 40000 };
  const b = { ip: '10.7.0.2', port: 50000 };
  const sdp = (p: typeof a) => sdpBody({ ip: p.ip, media: [{ port: p.port, formats: [8] }] });
  t.add(t0Ms, udpFrame(a.ip, 5060, b.ip, 5060, text(sipRequest('INVITE', 'sip:bob@example.com', { callId: CALL_ID, fromTag: 'a', cseq: 1, body: sdp(a) }))));
  t.add(t0Ms + 50, udpFrame(b.ip, 5060, a.ip, 5060, text(sipResponse(200, { callId: CALL_ID, fromTag: 'a', toTag: 'b', cseq: 1, cseqMethod: 'INVITE', body: sdp(b) }))));
  for (let i = 0; i < 150; i++) {
    t.add(t0Ms + 100 + i * 20, udpFrame(a.ip, a.port, b.ip, b.port, rtp({ pt: 8, seq: i, ts: i * 160, ssrc: 0xa1 })));
    t.add(t0Ms + 100 + i * 20, udpFrame(b.ip, b.port, a.ip, a.port, rtp({ pt: 8, seq: i, ts: i * 160, ssrc: 0xb1 })));
  }
  return t.pcap();
}

describe.skipIf(!existsSync(cli))('pretty logs show Unicode direction controls from the wire as text', () => {
  let dir = '';
  let file = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-log-wire-text-'));
    file = join(dir, 'capture.pcap');
    writeFileSync(file, capture(1_750_000_000_000));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The probe's standard error for a real-time replay of the capture in `format`. */
  const replay = (format: 'pretty' | 'json'): string => {
    const r = spawnSync(process.execPath, [cli, 'replay', file, '--realtime', '--metrics', '--no-hep', '--log-format', format, '--set', 'metrics.port=0'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    return r.stderr;
  };

  it('pretty: the call lines carry the Call-ID escaped, no direction control reaches the terminal', () => {
    const err = replay('pretty');
    expect(err).toContain('call started');
    expect(err).toContain('call ended');
    expect(err).not.toMatch(INVISIBLE);
    const ids = err.split('\n').filter((l) => l.includes('callId:'));
    expect(ids).toHaveLength(2);
    for (const l of ids) expect(l).toContain('"call-\\u{202e}evil\\u{2066}iso\\u{2069}-zw\\u{200b}@probe.test"');
  }, 150_000);

  it('JSON: the call lines keep the Call-ID as it came', () => {
    const lines = replay('json')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; callId?: string });
    const calls = lines.filter((l) => l.msg === 'call started' || l.msg === 'call ended');
    expect(calls.map((l) => l.callId)).toEqual([CALL_ID, CALL_ID]);
  }, 150_000);
});
