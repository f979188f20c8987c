/**
 * `rtpprobe run` with capture.workers = 2 when what one worker reads decides what another does, within
 * milliseconds, as on a busy port. Each worker reads its ring every capture.buffer_timeout_ms, so:
 * - a worker learns a 200 OK's addresses from the main thread a moment after RTP right behind it may have
 *   arrived: streams that start meanwhile must still end up in the call and on the side the SDP named;
 * - an RTCP BYE read on one worker can reach another before it has read the stream's last packets: they
 *   must count in the stream the BYE ends;
 * - at a stop, the workers read what the kernel captured before it: media of calls that ended moments
 *   before (lingering after their BYE) must stay in its streams, each ended once.
 * Results as one thread (and `rtpprobe replay`) gives them. Two network namespaces joined by a veth pair; a
 * pcap made by the project's generator is played by tcpreplay on one end, the probe captures on the other
 * and writes its reports as JSON lines. Needs root, tcpreplay and a built dist/; skipped otherwise.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureTimeline, DialogWriter, rtcpBye, rtcpCompound, rtcpRr, udpFrame } from '../../src/gen/index.js';
import { allCaptured, canNetns, replayIntoProbe, vethNamespaces } from './media-workers-helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = canNetns && existsSync(cli) && spawnSync('tcpreplay', ['--version']).status === 0 && spawnSync('curl', ['--version']).status === 0;

const PAIRS = 8;
const FIRST = 25;
const SECOND = 50;
const BYE_CALLS = 32;
const BYE_PACKETS = 100;
const STOP_CALLS = 16;

interface Expected {
  callId: string;
  packets: number;
  dir: number;
  party: number;
}

/** A call's parties and times (ms): INVITE at `at`, its 200 OK `answerMs` later, RTP from `mediaMs` after the answer. */
interface CallSpec {
  callId: string;
  a: string;
  pa: number;
  b: string;
  pb: number;
  ssrc: number;
  at: number;
  answerMs: number;
  mediaMs: number;
  packets: number;
}

/**
 * Writes the call (INVITE and 200 OK with SDP, ACK, `packets` RTP packets each way, a SIP BYE when `sipBye`)
 * and the endings its two streams must get; returns the time of the caller's last RTP packet.
 */
function writeCall(t: CaptureTimeline, expected: Map<string, Expected>, c: CallSpec, sipBye: boolean): number {
  const d = new DialogWriter(t, c.callId, c.a, c.b);
  const cseq = d.invite(c.at, { ip: c.a, media: [{ port: c.pa, formats: [8] }] });
  const answer = c.at + c.answerMs;
  d.respond(answer, 200, cseq, { ip: c.b, media: [{ port: c.pb, formats: [8] }] });
  d.ack(answer + 2, cseq);
  const first = answer + c.mediaMs;
  t.rtp(first, c.a, c.pa, c.b, c.pb, { ssrc: c.ssrc, seq: 1, ts: 0, count: c.packets });
  t.rtp(first + 1, c.b, c.pb, c.a, c.pa, { ssrc: c.ssrc + 1, seq: 1, ts: 0, count: c.packets });
  expected.set(`${c.a}:${c.pa}>${c.b}:${c.pb}`, { callId: c.callId, packets: c.packets, dir: 0, party: 1 });
  expected.set(`${c.b}:${c.pb}>${c.a}:${c.pa}`, { callId: c.callId, packets: c.packets, dir: 0, party: 0 });
  const last = first + (c.packets - 1) * 20;
  if (sipBye) d.respond(last + 11, 200, d.bye(last + 10), null, { method: 'BYE' });
  return last;
}

/**
 * PAIRS groups of three calls, 40 ms apart:
 * - x: a calls b (b's media on port 6000), FIRST packets each way, BYE;
 * - y: 150 ms after x's BYE (x's media still lingers, sip.media_linger_s), c calls b, whose 200 OK names
 *   port 6000 again; RTP both ways from 4 ms after that 200 OK;
 * - z: d calls e, answered 300 ms after the INVITE; RTP both ways from 4 ms after the 200 OK.
 * Returns the pcap and each stream's expected ending (`src:port>dst:port`).
 */
function lateBindings(tag: string): { pcap: Buffer; frames: number; expected: Map<string, Expected> } {
  const t = new CaptureTimeline();
  const expected = new Map<string, Expected>();
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < PAIRS; i++) {
    const [a, b, c, d, e] = [1, 2, 3, 4, 5].map((h) => `10.77.${i}.${h}`) as [string, string, string, string, string];
    const at = t0 + i * 40;
    const xLast = writeCall(t, expected, { callId: `late-${tag}-${i}-x`, a, pa: 4000, b, pb: 6000, ssrc: 0x1000 + 2 * i, at, answerMs: 10, mediaMs: 4, packets: FIRST }, true);
    writeCall(t, expected, { callId: `late-${tag}-${i}-y`, a: c, pa: 5000, b, pb: 6000, ssrc: 0x2000 + 2 * i, at: xLast + 160, answerMs: 10, mediaMs: 4, packets: SECOND }, true);
    writeCall(t, expected, { callId: `late-${tag}-${i}-z`, a: d, pa: 7000, b: e, pb: 8000, ssrc: 0x3000 + 2 * i, at, answerMs: 300, mediaMs: 4, packets: SECOND }, true);
  }
  return { pcap: t.pcap(), frames: t.records().length, expected };
}

/**
 * BYE_CALLS calls, 30 ms apart, BYE_PACKETS RTP packets each way; the caller ends its stream with an RTCP
 * BYE (RTCP port to RTCP port) 2 ms after its last RTP packet, and no SIP BYE follows.
 */
function rtcpByes(tag: string): { pcap: Buffer; frames: number; expected: Map<string, Expected> } {
  const t = new CaptureTimeline();
  const expected = new Map<string, Expected>();
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < BYE_CALLS; i++) {
    const c = { callId: `bye-${tag}-${i}`, a: `10.78.${i}.1`, pa: 4000, b: `10.78.${i}.2`, pb: 6000, ssrc: 0x100 + 2 * i, at: t0 + i * 30, answerMs: 20, mediaMs: 20, packets: BYE_PACKETS };
    const last = writeCall(t, expected, c, false);
    t.add(last + 2, udpFrame(c.a, c.pa + 1, c.b, c.pb + 1, rtcpCompound(rtcpRr({ ssrc: c.ssrc }), rtcpBye({ ssrcs: [c.ssrc] }))));
  }
  return { pcap: t.pcap(), frames: t.records().length, expected };
}

/**
 * STOP_CALLS calls whose caller sends BYE 2 s into the call while both parties go on sending RTP (10 s
 * of it), as a party does until the BYE reaches it.
 */
function mediaAfterBye(tag: string): { pcap: Buffer; callIds: string[] } {
  const t = new CaptureTimeline();
  const t0 = 1_700_000_000_000;
  const callIds: string[] = [];
  for (let i = 0; i < STOP_CALLS; i++) {
    const c = { callId: `stop-${tag}-${i}`, a: `10.79.${i}.1`, pa: 4000, b: `10.79.${i}.2`, pb: 6000, ssrc: 0x100 + 2 * i, at: t0 + i * 10, answerMs: 20, mediaMs: 20, packets: 500 };
    writeCall(t, new Map(), c, false);
    const d = new DialogWriter(t, c.callId, c.a, c.b);
    d.respond(c.at + 2001, 200, d.bye(c.at + 2000), null, { method: 'BYE' });
    callIds.push(c.callId);
  }
  return { pcap: t.pcap(), callIds };
}

describe.skipIf(!canRun)('rtpprobe run, capture.workers = 2: what one worker reads before another', () => {
  const nsA = `rla${process.pid}`;
  const nsB = `rlb${process.pid}`;
  const net = vethNamespaces(nsA, nsB, 'la', 'lb');
  let dir: string;
  beforeAll(() => {
    net.setup();
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-late-'));
  });
  afterAll(() => {
    net.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Plays `pcap` into `rtpprobe run` with two workers (`args` added) and stops it with SIGTERM once
   * `stopWhen` holds for GETs of its metrics endpoint; the reports ending each stream, by `src:port>dst:port`.
   */
  function endingsOf(pcap: Buffer, stopWhen: (get: (path: string) => string) => boolean, args: string[] = []): Promise<Map<string, Array<Record<string, unknown>>>> {
    writeFileSync(join(dir, 'calls.pcap'), pcap);
    return replayIntoProbe({ cli, link: { nsA, nsB, a: 'la', b: 'lb' }, pcap: join(dir, 'calls.pcap'), jsonl: join(dir, 'reports.jsonl'), workers: 2, args, stopWhen });
  }

  const asExpected = (endings: Map<string, Array<Record<string, unknown>>>) =>
    Object.fromEntries([...endings].map(([k, rs]) => [k, rs.map((r) => ({ callId: String(r.CORRELATION_ID), packets: Number(r.TOTAL_PK), dir: Number(r.DIR), party: Number(r.PARTY) }))]));
  const wanted = (expected: Map<string, Expected>) => Object.fromEntries([...expected].map(([k, e]) => [k, [e]]));

  it('media right behind its SDP: every stream ends once, in the call and on the side its SDP named, with all its packets', async () => {
    const s = lateBindings(String(process.pid));
    expect(asExpected(await endingsOf(s.pcap, allCaptured('lb', s.frames)))).toEqual(wanted(s.expected));
  });

  it('an RTCP BYE 2 ms after the last RTP packet: every stream ends once, with all its packets', async () => {
    const s = rtcpByes(String(process.pid));
    expect(asExpected(await endingsOf(s.pcap, allCaptured('lb', s.frames)))).toEqual(wanted(s.expected));
  });

  it('SIGTERM while calls that ended by BYE still send media (lingering): each stream ends once, with its HANGUP', async () => {
    const s = mediaAfterBye(String(process.pid));
    // Stopped once every call has ended (its BYE handled) while their media still flows, well within the linger.
    const ended = (get: (path: string) => string) => {
      const calls = (JSON.parse(get('/api/calls?limit=100')) as { calls: Array<{ callId: string; state: string }> }).calls;
      return s.callIds.every((id) => calls.some((c) => c.callId === id && c.state === 'ended'));
    };
    const endings = await endingsOf(s.pcap, ended, ['--set', 'sip.media_linger_s=30']);
    expect(endings.size).toBe(2 * STOP_CALLS);
    // With the packets of each ending: a flow measured on two workers shows as two endings that share them.
    const types = Object.fromEntries([...endings].map(([k, rs]) => [k, rs.map((r) => `${String(r.TYPE)} ${String(r.CORRELATION_ID)} ${String(r.TOTAL_PK)} packets`)]));
    expect(Object.values(types).every((t) => t.length === 1 && t[0]!.startsWith('HANGUP stop-')), JSON.stringify(types)).toBe(true);
  });
});
