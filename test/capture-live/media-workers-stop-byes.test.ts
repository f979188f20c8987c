/**
 * `rtpprobe run` with capture.workers = 2 stopped moments after a call that ends as endpoints end it: the
 * caller's SIP BYE, then its RTCP BYE. The RTCP flow (odd ports) and the RTP flow it ends are hashed to the
 * workers independently, so the BYE may be read by the worker that does not carry the stream and forwarded
 * to the one that does, which holds it until it has read past its capture time. A stop right after
 * (SIGTERM) must still end each stream as one thread and `rtpprobe replay` do: the caller's stream by its
 * RTCP BYE (FINAL), the callee's with its call (HANGUP); and so must the call's media retiring while the
 * BYE is held (a linger of 1 s), the probe running on. Two network
 * namespaces joined by a veth pair; tcpreplay plays the generated pcap on one end, the probe captures on the
 * other. Needs root, tcpreplay and a built dist/; skipped otherwise.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureTimeline, DialogWriter, rtcpBye, rtcpCompound, rtcpRr, udpFrame } from '../../src/gen/index.js';
import { canNetns, replayIntoProbe, sh, streamEndings, vethNamespaces } from './media-workers-helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = canNetns && existsSync(cli) && spawnSync('tcpreplay', ['--version']).status === 0 && spawnSync('curl', ['--version']).status === 0;

const PACKETS = 40;

/**
 * One call on media ports `pa` and `pb`: RTP both ways, the caller's SIP BYE, then its RTCP BYE 20 ms
 * later, the capture's last packet.
 */
function hangup(tag: string, pa: number, pb: number): Buffer {
  const t = new CaptureTimeline();
  const t0 = 1_700_000_000_000;
  const [a, b, ssrc] = ['10.81.0.1', '10.81.0.2', 0x500 + pa];
  const d = new DialogWriter(t, `stop-bye-${tag}-${pa}`, a, b);
  const c = d.invite(t0, { ip: a, media: [{ port: pa, formats: [8] }] });
  d.respond(t0 + 5, 200, c, { ip: b, media: [{ port: pb, formats: [8] }] });
  t.rtp(t0 + 20, a, pa, b, pb, { ssrc, seq: 1, ts: 0, count: PACKETS });
  t.rtp(t0 + 21, b, pb, a, pa, { ssrc: ssrc + 1, seq: 1, ts: 0, count: PACKETS });
  const last = t0 + 21 + (PACKETS - 1) * 20;
  d.respond(last + 3, 200, d.bye(last + 2), null, { method: 'BYE' });
  t.add(last + 20, udpFrame(a, pa + 1, b, pb + 1, rtcpCompound(rtcpRr({ ssrc }), rtcpBye({ ssrcs: [ssrc] }))));
  return t.pcap();
}

/** What must not depend on the workers, per stream: the reports that end it. */
const asCompared = (endings: Map<string, Array<Record<string, unknown>>>) =>
  Object.fromEntries([...endings].map(([k, rs]) => [k, rs.map((r) => ({ type: r.TYPE, callId: r.CORRELATION_ID, packets: r.TOTAL_PK, dir: r.DIR, party: r.PARTY }))]));

describe.skipIf(!canRun)('rtpprobe run, capture.workers = 2, stopped right after RTCP and SIP BYEs', () => {
  const nsA = `rsa${process.pid}`;
  const nsB = `rsb${process.pid}`;
  const net = vethNamespaces(nsA, nsB, 'sa', 'sb');
  let dir: string;
  beforeAll(() => {
    net.setup();
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-stop-byes-'));
  });
  afterAll(() => {
    net.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // The kernel's flow hash decides whether a call's RTCP flow and its RTP flow share a worker: three port
  // pairs, so that on most hosts one at least puts them on different workers.
  it.each([[4000, 6000], [4100, 6100], [4200, 6200]])('ports %i and %i: each stream ends once as `rtpprobe replay` ends it, the caller\'s by its RTCP BYE (FINAL), the callee\'s with its call (HANGUP)', async (pa, pb) => {
    const pcap = join(dir, `call-${pa}.pcap`);
    writeFileSync(pcap, hangup(String(process.pid), pa, pb));
    const replayed = join(dir, `replay-${pa}.jsonl`);
    sh(process.execPath, cli, 'replay', pcap, '--no-hep', '--jsonl', replayed, '--set', 'reports.interval_s=3600', '--log-level', 'warn');
    const want = asCompared(streamEndings(replayed));
    expect(Object.values(want).map((r) => r[0]!.type).sort()).toEqual(['FINAL', 'HANGUP']);
    // Stopped as soon as tcpreplay has sent every packet: well within the linger of the call's media, and
    // before the 2 s a worker holds another's RTCP BYE while it reads nothing.
    const got = await replayIntoProbe({ cli, link: { nsA, nsB, a: 'sa', b: 'sb' }, pcap, jsonl: join(dir, 'live.jsonl'), workers: 2, stopWhen: (_get, replayed) => replayed });
    expect(asCompared(got)).toEqual(want);
  });

  // Running on: the call's media retires after a linger of 1 s, before the 2 s a worker holds another's
  // RTCP BYE while it reads nothing; the retirement ends the stream the held BYE names first.
  it.each([[4300, 6300], [4400, 6400], [4500, 6500]])('ports %i and %i, sip.media_linger_s 1, not stopped until both streams ended: each ends as `rtpprobe replay` ends it', async (pa, pb) => {
    const pcap = join(dir, `linger-${pa}.pcap`);
    writeFileSync(pcap, hangup(String(process.pid), pa, pb));
    const linger = ['--set', 'sip.media_linger_s=1'];
    const replayed = join(dir, `linger-replay-${pa}.jsonl`);
    sh(process.execPath, cli, 'replay', pcap, '--no-hep', '--jsonl', replayed, '--set', 'reports.interval_s=3600', '--log-level', 'warn', ...linger);
    const want = asCompared(streamEndings(replayed));
    expect(Object.values(want).map((r) => r[0]!.type).sort()).toEqual(['FINAL', 'HANGUP']);
    const ended = (get: (path: string) => string) => [...get('/metrics').matchAll(/^rtpprobe_streams_ended_total\{[^}]*\} (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    const got = await replayIntoProbe({ cli, link: { nsA, nsB, a: 'sa', b: 'sb' }, pcap, jsonl: join(dir, 'linger-live.jsonl'), workers: 2, args: linger, stopWhen: (get, done) => done && ended(get) >= 2 });
    expect(asCompared(got)).toEqual(want);
  });
});
