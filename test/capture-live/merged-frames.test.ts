/**
 * Frames the kernel merged before capture: a sender in one network namespace hands its veth a UDP
 * segmentation offload datagram (UDP_SEGMENT: 20 RTP packets in one send), which the veth carries whole to
 * its peer, where `rtpprobe run` captures. libpcap hands over one frame holding the 20 datagrams, as GRO or
 * LRO on a mirror NIC does; tshark on tcpdump of the same interface sees one RTP packet in each and the
 * rest as loss, and so does the probe. Longer than the interface's MTU allows, such frames are counted
 * (`rtpprobe_capture_frames_merged_total`) and named in a warning saying which offloads to turn off.
 * Needs root, tcpdump, tshark, python3, curl and a built dist/; skipped otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../wait.js';
import { canNetns, sh } from './media-workers-helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const has = (cmd: string, arg = '--version') => spawnSync(cmd, [arg]).status === 0;
const canRun = canNetns && existsSync(cli) && has('tcpdump') && has('tshark') && has('curl') && has('python3');

/** Sends: each one UDP_SEGMENT datagram of PER_SEND RTP packets (172 bytes each, one SSRC, seq running on). */
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
    sh('ip', 'netns', 'exec', nsA, 'python3', '-c', `
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('192.0.2.1', 30000))
s.setsockopt(17, 103, 172)  # SOL_UDP, UDP_SEGMENT: the kernel keeps the datagrams in one buffer
for i in range(${SENDS}):
    rtp = [struct.pack('!BBHII', 0x80, 8, i * ${PER_SEND} + j, (i * ${PER_SEND} + j) * 160, 0x4d455247) + b'\\xd5' * 160 for j in range(${PER_SEND})]
    s.sendto(b''.join(rtp), ('192.0.2.2', 40000)); time.sleep(0.02)
`);
  }

  for (const workers of [1, 2]) {
    it(`capture.workers ${workers}: the probe measures what tshark sees, counts the merged frames and warns once how to stop them`, async () => {
      const ref = join(dir, `ref-${workers}.pcap`);
      const jsonl = join(dir, `reports-${workers}.jsonl`);
      const dump = spawn('ip', ['netns', 'exec', nsB, 'tcpdump', '-i', 'mrgb', '-n', '-U', '--immediate-mode', '-w', ref, 'udp port 40000'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let dumpErr = '';
      dump.stderr.on('data', (d) => (dumpErr += d));
      const dumpClosed = new Promise((r) => dump.on('close', r));
      const args = ['netns', 'exec', nsB, process.execPath, cli, 'run', '-i', 'mrgb', '--no-hep', '--jsonl', jsonl, '--metrics-port', '0', '--set', 'metrics.listen=127.0.0.1'];
      args.push('--set', `capture.workers=${workers}`, '--set', 'reports.interval_s=3600', '--log-format', 'json');
      const probe = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      probe.stderr.on('data', (d) => (log += d));
      const exited = new Promise<number | null>((r) => probe.on('exit', r));
      const lines = (): LogLine[] => log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
      try {
        expect(await until(() => (log.includes('"msg":"capture open"') && dumpErr.includes('listening on')) || probe.exitCode !== null), log + dumpErr).toBe(true);
        const port = lines().find((l) => l.msg.includes('metrics and health endpoint listening'))! as unknown as { port: number };
        sendMerged();
        const merged = (): number => {
          const m = spawnSync('ip', ['netns', 'exec', nsB, 'curl', '-sf', `http://127.0.0.1:${port.port}/metrics`], { encoding: 'utf8' });
          const line = m.stdout.split('\n').find((l) => l.startsWith('rtpprobe_capture_frames_merged_total{interface="mrgb"}'));
          return line === undefined ? -1 : Number(line.split(' ')[1]);
        };
        expect(await until(() => merged() >= SENDS, 30_000, 200), `${merged()}\n${log}`).toBe(true);
        expect(merged()).toBe(SENDS);
        expect(await until(() => lines().some((l) => l.msg.includes('longer than its MTU')), 10_000), log).toBe(true);
      } finally {
        probe.kill('SIGTERM');
        dump.kill('SIGINT');
      }
      expect(await exited, log).toBe(0);
      await dumpClosed;

      // tshark's view of the same interface: one frame per send, longer than the 1,500-byte MTU allows.
      const lens = sh('tshark', '-n', '-r', ref, '-T', 'fields', '-e', 'frame.len').trim().split('\n').map(Number);
      expect(lens).toEqual(Array(SENDS).fill(14 + 20 + 8 + PER_SEND * 172));
      // tshark (RTP found by its heuristic: no SDP) counts one packet per frame and the rest as lost.
      const table = sh('tshark', '-n', '-r', ref, '-o', 'rtp.heuristic_rtp:TRUE', '-q', '-z', 'rtp,streams');
      const rows = table.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f[6] === '0x4D455247');
      expect(rows.map((f) => [Number(f[8]), Number(f[9])]), table).toEqual([[SENDS, (SENDS - 1) * (PER_SEND - 1)]]);
      const finals = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>).filter((r) => r.SSRC === 0x4d455247);
      expect(finals.map((r) => [r.TOTAL_PK, r.PACKET_LOSS])).toEqual(rows.map((f) => [Number(f[8]), Number(f[9])]));

      const warned = lines().filter((l) => l.msg.includes('longer than its MTU'));
      expect(warned, log).toHaveLength(1);
      expect(warned[0]!.level).toBe(40);
      expect(warned[0]!.msg).toContain('ethtool -K mrgb gro off lro off rx-gro-hw off');
      expect(warned[0]!.mergedFrames).toBe(SENDS);
    });
  }
});
