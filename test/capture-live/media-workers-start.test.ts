/**
 * `rtpprobe run` with capture.workers = 2 started on a port that already carries media. The workers join
 * the PACKET_FANOUT group one after the other, and the kernel spreads the flows over the members there are:
 * until the last one has joined, the first holds every flow, half of which then move. Measured where they
 * were first read, they would be second, short streams of flows the other worker measures (two reports
 * for one SSRC). The CLI from dist/ in a child process on lo, RTP sent by this process from the moment
 * before the probe starts until after it stopped; needs root and a built dist/.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../wait.js';
import { startUdpFlows, testPort } from './helpers.js';
import { startProbe, streamEndings } from './media-workers-helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = process.getuid?.() === 0 && existsSync(cli);

const FLOWS = 16;
/** One packet per flow this often: the heuristic (4 in a row) takes a flow up within 20 ms of its first packet read. */
const GAP_MS = 5;

/** Packet k of RTP flow `flow` (PCMA, GAP_MS of audio, SSRC of the flow's own); one buffer, sent at once. */
const pkt = Buffer.alloc(12 + 8 * GAP_MS, 0xd5);
function rtp(flow: number, k: number): Buffer {
  pkt[0] = 0x80;
  pkt[1] = 8;
  pkt.writeUInt16BE(k & 0xffff, 2);
  pkt.writeUInt32BE((k * 8 * GAP_MS) >>> 0, 4);
  pkt.writeUInt32BE(0x5a000000 + flow, 8);
  return pkt;
}

describe.skipIf(!canRun)('rtpprobe run, capture.workers = 2, started while media flows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-start-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('each flow is one stream, ended once: none is measured by a worker the kernel moved it from as the workers joined', async () => {
    const port = testPort();
    const jsonl = join(dir, 'reports.jsonl');
    const flows = await startUdpFlows(port, FLOWS, GAP_MS, rtp);
    try {
      const probe = await startProbe(cli, ['-i', 'lo', '-f', `udp and dst port ${port}`, '--no-hep', '--jsonl', jsonl, '--set', 'capture.workers=2', '--set', 'reports.interval_s=3600']);
      let text = '';
      const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
      // A second of media measured after the start (50 packets of each flow at least).
      const measured = await until(async () => {
        text = await (await fetch(`http://127.0.0.1:${probe.metricsPort}/metrics`)).text();
        return metric('rtpprobe_packets_total{protocol="rtp"}') >= FLOWS * 50 * (20 / GAP_MS);
      });
      probe.child.kill('SIGTERM');
      expect(await probe.exit, probe.log()).toBe(0);
      expect(measured, text).toBe(true);
      const endings = streamEndings(jsonl);
      const counts = Object.fromEntries([...endings].map(([k, rs]) => [k, rs.map((r) => `${String(r.TYPE)} ${String(r.TOTAL_PK)} packets`)]));
      expect(endings.size, JSON.stringify(counts)).toBe(FLOWS);
      expect([...endings.values()].every((rs) => rs.length === 1), JSON.stringify(counts)).toBe(true);
    } finally {
      flows.stop();
    }
  });
});
