/**
 * Frames the kernel merged before capture: a sender in one network namespace hands its veth UDP
 * segmentation offload datagrams (UDP_SEGMENT: 20 RTP packets in one send), which the veth carries whole to
 * its peer, where `rtpprobe run` captures. libpcap hands over one frame holding the 20 datagrams, as GRO or
 * LRO on a mirror NIC does; tshark on tcpdump of the same interface sees one RTP packet in each and the
 * rest as loss, and so does the probe (the stream starts with packets sent one by one: the probe takes
 * RTP only in sequence, so a stream of merged frames alone would not be measured at all). Longer than the interface's MTU allows, such frames are counted
 * (`rtpprobe_capture_frames_merged_total`) and named in a warning saying which offloads to turn off.
 * Needs root, tcpdump, tshark, python3, curl and a built dist/; skipped otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../wait.js';
import { canNetns, sh, startProbeIn } from './media-workers-helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const has = (cmd: string, arg = '--version') => spawnSync(cmd, [arg]).status === 0;
const canRun = canNetns && existsSync(cli) && has('tcpdump') && has('tshark') && has('curl') && has('python3');

/**
 * RTP of one SSRC (172 bytes a packet, sequence numbers running on): SINGLE packets one by one, then SENDS
 * UDP_SEGMENT datagrams of PER_SEND packets each, then SINGLE one by one again.
 */
const SINGLE = 10;
const SENDS = 10;
const PER_SEND = 20;

interface LogLine {
  msg: string;
  level: number;
  mergedFrames?: number;
}

describe.skipIf(!canRun)('frames merged by the kernel before capture are counted and named', () => {
  const nsA = `mfa${process.pid}`;
  const nsB = `mfb${process.pid}`;
  let dir = '';

  beforeAll(() => {
    sh('ip', 'netns', 'add', nsA);
    sh('ip', 'netns', 'add', nsB);
    sh('ip', '-n', nsB, 'link', 'set', 'lo', 'up');
    sh('ip', 'link', 'add', 'mrga', 'netns', nsA, 'type', 'veth', 'peer', 'name', 'mrgb', 'netns', nsB);
    sh('ip', '-n', nsA, 'addr', 'add', '192.0.2.1/24', 'dev', 'mrga');
    sh('ip', '-n', nsA, 'link', 'set', 'mrga', 'up');
    sh('ip', '-n', nsB, 'link', 'set', 'mrgb', 'up');
    sh('ip', '-n', nsA, 'neigh', 'add', '192.0.2.2', 'lladdr', '02:00:00:00:02:02', 'dev', 'mrga');
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-merged-'));
  });

  afterAll(() => {
    spawnSync('ip', ['netns', 'del', nsA]);
    spawnSync('ip', ['netns', 'del', nsB]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function sendMerged(): void {
    sh('ip', 'netns', 'exec', nsA, 'python3', '-c', String.raw`
import socket, struct, time
# The call's INVITE and 200 OK with SDP first: RTP whose sequence jumps 20 at a time is RTP only by its SDP.
sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sip.bind(('192.0.2.1', 5060))
def msg(first, ip, port):
    sdp = b'v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n' % (ip, ip, port)
    return (first + b'\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKmerged\r\nFrom: <sip:a@192.0.2.1>;tag=fa\r\nTo: <sip:b@192.0.2.2>' +
            (b';tag=tb' if first.startswith(b'SIP') else b'') + b'\r\nCall-ID: merged-frames@test\r\nCSeq: 1 INVITE\r\nContact: <sip:a@192.0.2.1>\r\n' +
            b'Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n' % len(sdp) + sdp)
sip.sendto(msg(b'INVITE sip:b@192.0.2.2 SIP/2.0', b'192.0.2.1', 30000), ('192.0.2.2', 5060))
sip.sendto(msg(b'SIP/2.0 200 OK', b'192.0.2.2', 40000), ('192.0.2.2', 5060))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('192.0.2.1', 30000))
s.setsockopt(17, 103, 172)  # SOL_UDP, UDP_SEGMENT: the kernel keeps the datagrams in one buffer
def rtp(seq):
    return struct.pack('!BBHII', 0x80, 8, seq, seq * 160, 0x4d455247) + b'\xd5' * 160
seq = 0
for i in range(${SINGLE} + ${SENDS} + ${SINGLE}):
    n = ${PER_SEND} if ${SINGLE} <= i < ${SINGLE} + ${SENDS} else 1  # one, or one send of PER_SEND (longer than the segment size)
    s.sendto(b''.join(rtp(seq + j) for j in range(n)), ('192.0.2.2', 40000)); seq += n; time.sleep(0.02)
`);
  }

  for (const workers of [1, 2]) {
    it(`capture.workers ${workers}: the probe measures what tshark sees, counts the merged frames and warns once how to stop them`, async () => {
      const ref = join(dir, `ref-${workers}.pcap`);
      const jsonl = join(dir, `reports-${workers}.jsonl`);
      const dump = spawn('ip', ['netns', 'exec', nsB, 'tcpdump', '-i', 'mrgb', '-n', '-U', '--immediate-mode', '-w', ref, 'udp port 40000 or udp port 5060'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let dumpErr = '';
      dump.stderr.on('data', (d) => (dumpErr += d));
      const dumpClosed = new Promise((r) => dump.on('close', r));
      const probe = await startProbeIn(nsB, cli, ['-i', 'mrgb', '--no-hep', '--jsonl', jsonl, '--set', `capture.workers=${workers}`, '--set', 'reports.interval_s=3600']);
      const merged = () => probe.metric('rtpprobe_capture_frames_merged_total{interface="mrgb"}');
      const warnings = () => probe.lines().filter((l) => l.msg.includes('longer than its MTU')) as unknown as LogLine[];
      try {
        expect(await until(() => dumpErr.includes('listening on') || dump.exitCode !== null), dumpErr).toBe(true);
        sendMerged();
        expect(await until(() => merged() >= SENDS, 30_000, 200), `${merged()}\n${probe.log()}`).toBe(true);
        expect(merged()).toBe(SENDS);
        expect(await until(() => warnings().length > 0, 10_000), probe.log()).toBe(true);
      } finally {
        probe.child.kill('SIGTERM');
        dump.kill('SIGINT');
      }
      expect(await probe.exit, probe.log()).toBe(0);
      await dumpClosed;

      // tshark's view of the same interface: one frame per merged send, longer than the 1,500-byte MTU allows.
      const lens = sh('tshark', '-n', '-r', ref, '-Y', 'udp.port == 40000', '-T', 'fields', '-e', 'frame.len').trim().split('\n').map(Number);
      expect(lens.filter((n) => n > 1500 + 14)).toEqual(Array(SENDS).fill(14 + 20 + 8 + PER_SEND * 172));
      // tshark counts one packet per frame and the rest as lost.
      const table = sh('tshark', '-n', '-r', ref, '-q', '-z', 'rtp,streams');
      const rows = table.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[6] === '0x4D455247');
      expect(rows.map((f) => [Number(f[8]), Number(f[9])]), table).toEqual([[2 * SINGLE + SENDS, SENDS * (PER_SEND - 1)]]);
      const finals = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>).filter((r) => r.SSRC === 0x4d455247);
      expect(finals.map((r) => [r.TOTAL_PK, r.PACKET_LOSS, r.RTP_SIP_CALL_ID])).toEqual(rows.map((f) => [Number(f[8]), Number(f[9]), 'merged-frames@test']));

      const warned = warnings();
      expect(warned, probe.log()).toHaveLength(1);
      expect(warned[0]!.level).toBe(40);
      expect(warned[0]!.msg).toContain('ethtool -K mrgb gro off lro off rx-gro-hw off');
      // The count when the warning came (the merged frames were still arriving), then once a minute at most.
      expect(warned[0]!.mergedFrames).toBeGreaterThan(0);
      expect(warned[0]!.mergedFrames).toBeLessThanOrEqual(SENDS);
    });
  }
});
