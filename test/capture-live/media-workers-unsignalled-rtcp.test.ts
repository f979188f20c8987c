/**
 * `rtpprobe run` with capture.workers = 2 and reports.unknown_call_id synthetic: streams without SIP whose
 * RTCP (RTP port + 1) the kernel's flow hash may put on the other worker than their RTP. Every RTCP compound
 * must reach a real UDP HEP receiver under the synthetic id of its stream, as `rtpprobe replay` (one
 * pipeline) sends it, and RTCP of no stream must arrive under none. Two network namespaces joined by a veth
 * pair; tcpreplay plays the generated pcap on one end, the probe captures on the other. Needs root,
 * tcpreplay and a built dist/ (RTPPROBE_CLI: another build's cli.js); skipped otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHep3Strict } from '../../src/hep/index.js';
import { CaptureTimeline, rtcpCompound, rtcpSdes, rtcpSr, udpFrame } from '../../src/gen/index.js';
import { until } from '../wait.js';
import { allCaptured, canNetns, replayIntoProbe, sh, vethNamespaces } from './media-workers-helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = process.env.RTPPROBE_CLI ?? join(root, 'dist/cli.js');
const canRun = canNetns && existsSync(cli) && spawnSync('tcpreplay', ['--version']).status === 0 && spawnSync('curl', ['--version']).status === 0;

/** Streams without SIP, each flow's RTCP from and to the RTP ports + 1: with 16, some hash apart from their RTP on any host. */
const STREAMS = 16;

/** The capture: STREAMS streams of 60 packets, each with 2 sender reports, and 1 SR of no stream. Returns it and its frame count. */
function unsignalled(): { pcap: Buffer; frames: number } {
  const t = new CaptureTimeline();
  const t0 = 1_700_000_000_000;
  const sr = (ssrc: number, n: number) => rtcpCompound(rtcpSr({ ssrc, ntpSec: 3_900_000_000 + n, ntpFrac: 0, rtpTs: n * 4000, packets: 25 * n, octets: 4000 * n }), rtcpSdes([{ ssrc, items: [{ type: 1, value: `s${ssrc}` }] }]));
  let frames = 0;
  for (let i = 0; i < STREAMS; i++) {
    const [a, b, pa, pb, ssrc] = [`10.82.${i}.1`, `10.82.${i}.2`, 20000 + 2 * i, 30000 + 2 * i, 0x7000 + i];
    t.rtp(t0 + i * 3, a, pa, b, pb, { ssrc, seq: 1, ts: 0, count: 60 });
    t.add(t0 + i * 3 + 500, udpFrame(a, pa + 1, b, pb + 1, sr(ssrc, 1)));
    t.add(t0 + i * 3 + 1000, udpFrame(a, pa + 1, b, pb + 1, sr(ssrc, 2)));
    frames += 62;
  }
  t.add(t0 + 700, udpFrame('10.82.99.1', 9001, '10.82.99.2', 9003, sr(0xdead, 1)));
  return { pcap: t.pcap(), frames: frames + 1 };
}

/** A UDP receiver in namespace `ns` on 127.0.0.1 writing each datagram as a hex line to `file`; resolves with its port. */
async function hepReceiverIn(ns: string, file: string): Promise<{ port: number; child: ChildProcess }> {
  const py = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20); s.bind(('127.0.0.1', 0))
print(s.getsockname()[1], flush=True)
with open(sys.argv[1], 'w') as f:
    while True:
        f.write(s.recv(65535).hex() + '\\n'); f.flush()
`;
  const child = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', py, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  if (!(await until(() => out.includes('\n')))) throw new Error('HEP receiver did not start');
  return { port: Number(out.trim()), child };
}

/** RTCP (HEP type 5) that arrived in `file`: correlation id and RTCP JSON per compound, sorted; waits until the count holds still. */
async function arrivedRtcp(file: string, atLeast: number): Promise<string[]> {
  const read = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0) : []);
  let n = -1;
  await until(() => read().length >= atLeast);
  await until(() => {
    const before = n;
    n = read().length;
    return n === before;
  }, 5_000, 300);
  return read()
    .map((l) => decodeHep3Strict(Buffer.from(l, 'hex')))
    .filter((d) => d.protoType === 5)
    .map((d) => `${d.correlationId} ${d.payload.toString('utf8')}`)
    .sort();
}

describe.skipIf(!canRun)('rtpprobe run, capture.workers = 2: RTCP of streams without SIP', () => {
  const nsA = `ura${process.pid}`;
  const nsB = `urb${process.pid}`;
  const net = vethNamespaces(nsA, nsB, 'ua', 'ub');
  let dir: string;
  const receivers: ChildProcess[] = [];
  beforeAll(() => {
    net.setup();
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-unsignalled-rtcp-'));
  });
  afterAll(() => {
    for (const r of receivers) r.kill();
    net.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every compound reaches HOMER under its stream\'s synthetic id, as `rtpprobe replay` sends it', async () => {
    const { pcap, frames } = unsignalled();
    const file = join(dir, 'unsignalled.pcap');
    writeFileSync(file, pcap);
    const synthetic = ['--set', 'reports.unknown_call_id=synthetic'];

    const one = await hepReceiverIn(nsB, join(dir, 'replay.hex'));
    receivers.push(one.child);
    sh('ip', 'netns', 'exec', nsB, process.execPath, cli, 'replay', file, '--hep', `udp://127.0.0.1:${one.port}`, '--set', 'reports.interval_s=3600', ...synthetic, '--log-level', 'warn');
    const want = await arrivedRtcp(join(dir, 'replay.hex'), 2 * STREAMS);
    expect(want.length).toBe(2 * STREAMS); // the SR of no stream is not sent
    expect(want.every((r) => r.startsWith('rtpprobe-10.82.'))).toBe(true);

    const two = await hepReceiverIn(nsB, join(dir, 'live.hex'));
    receivers.push(two.child);
    await replayIntoProbe({ cli, link: { nsA, nsB, a: 'ua', b: 'ub' }, pcap: file, jsonl: join(dir, 'live.jsonl'), workers: 2, hep: `udp://127.0.0.1:${two.port}`, args: synthetic, stopWhen: allCaptured('ub', frames) });
    expect(await arrivedRtcp(join(dir, 'live.hex'), 2 * STREAMS)).toEqual(want);
  });
});
