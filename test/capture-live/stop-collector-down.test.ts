/**
 * `rtpprobe run -i lo` stopped while its HEP collector is down: the reports cannot be delivered within the
 * shutdown deadline (exit 1, as the README's exit codes say), but what the probe measured locally, the table
 * of the streams running at stop, is still printed on standard error. Needs root (capture on lo) and a
 * built dist/; skipped otherwise.
 */
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startProbe, type RunningProbe } from './media-workers-helpers.js';
import { until } from '../wait.js';
import { takePorts } from '../port-blocks.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = process.getuid?.() === 0 && existsSync(cli);

const PACKETS = 50;
const SSRC = 0x5eed0001;

describe.skipIf(!canRun)('rtpprobe run stopped while its collector is down', () => {
  let probe: RunningProbe | undefined;

  afterAll(() => {
    if (probe && probe.child.exitCode === null) probe.child.kill('SIGKILL');
  });

  it.each([1, 2])('capture.workers=%i: SIGTERM still prints the streams running at stop', async (workers) => {
    // Ports of this test only: other suites' sockets take ephemeral ports meanwhile.
    const base = await takePorts(3);
    probe = await startProbe(
      cli,
      ['-i', 'lo', '-f', `udp and src port ${base} and dst port ${base + 2}`, '--hep', 'tcp://127.0.0.1:1', '--set', `capture.workers=${workers}`, '--set', 'process.shutdown_deadline_ms=1000'],
      120_000,
    );
    const tx = createSocket('udp4');
    await new Promise<void>((resolve) => tx.bind(base, '127.0.0.1', resolve));
    for (let k = 0; k < PACKETS; k++) {
      const rtp = Buffer.alloc(12 + 160, 0xd5);
      rtp.writeUInt8(0x80, 0);
      rtp.writeUInt8(8, 1);
      rtp.writeUInt16BE(k, 2);
      rtp.writeUInt32BE(k * 160, 4);
      rtp.writeUInt32BE(SSRC, 8);
      await new Promise<void>((resolve, reject) => tx.send(rtp, base + 2, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    }
    tx.close();
    const metrics = `http://127.0.0.1:${probe.metricsPort}/metrics`;
    let text = '';
    expect(
      await until(async () => {
        text = await fetch(metrics).then((r) => r.text(), () => '');
        return /^rtpprobe_streams_started_total 1$/m.test(text);
      }, 60_000),
      text,
    ).toBe(true);
    probe.child.kill('SIGTERM');
    const code = await probe.exit;
    const log = probe.log();
    expect(log).toContain('"msg":"HEP collector unreachable');
    const at = log.indexOf('streams at stop (1, worst MOS first):');
    expect(at, log).toBeGreaterThanOrEqual(0);
    const row = log.slice(at).split('\n')[2];
    expect(row).toContain(`127.0.0.1:${base}`);
    expect(row).toContain('0x5EED0001');
    // The report the collector never took is lost: the stop overran its deadline.
    expect(code).toBe(1);
  }, 240_000);
});
