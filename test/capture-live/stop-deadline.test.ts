/**
 * A stop the shutdown deadline cuts: the probe holds more open streams than it can close within the
 * deadline. The final reports built before the deadline must reach the collector (a real TCP HEP receiver,
 * frames decoded by the strict decoder), and the deadline's log line must count exactly the reports the
 * receiver did not get. `rtpprobe run -i lo` as a child process; needs root and a built dist/.
 */
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeHep3Strict } from '../../src/hep/index.js';
import { startStreamSink, type StreamSink } from '../hep/helpers.js';
import { until } from '../wait.js';
import { takePorts } from '../port-blocks.js';
import { startProbe, type RunningProbe } from './media-workers-helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = process.getuid?.() === 0 && existsSync(cli);

/**
 * More streams than a 0.8 s stop closes: after reading the capture's last packets (about 0.25 s) a stop
 * sends 3,300 to 9,800 final reports a second on the project's 2-vCPU machines under load (README), and
 * 21,000 with 2 workers on Node 24 on a quiet one (all 30,000 within 1.5 s): at most about 12,000 of these
 * in 0.8 s. A host loaded enough delivers none within it (a whole-suite run with CPU burners beside: 100
 * built, none sent): the stop is tried again with twice the deadline, and with half of it where one
 * closed every stream in time, until one delivers a part and cuts a part.
 */
const STREAMS = 30_000;
const SSRC0 = 0x6d000000;
const DEADLINE_MS = 800;
/** Stops tried at most, each with a probe of its own. */
const STOPS = 4;
/** How late the deadline's line may come on a loaded machine (timers, the last message being handled). */
const DEADLINE_LATE_MS = 1500;

/** Four packets of each stream (the heuristic's min_consecutive), one SSRC per stream, from one socket. */
async function sendStreams(from: number, to: number): Promise<void> {
  const tx = createSocket('udp4');
  await new Promise<void>((resolve) => tx.bind(from, '127.0.0.1', resolve));
  const pkt = Buffer.alloc(12 + 160, 0xd5);
  pkt.writeUInt8(0x80, 0);
  pkt.writeUInt8(8, 1);
  for (let i = 0; i < STREAMS; i++) {
    for (let k = 0; k < 4; k++) {
      pkt.writeUInt16BE(k, 2);
      pkt.writeUInt32BE(k * 160, 4);
      pkt.writeUInt32BE(SSRC0 + i, 8);
      await new Promise<void>((resolve, reject) => tx.send(pkt, to, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    }
  }
  tx.close();
}

describe.skipIf(!canRun)('rtpprobe run: a stop cut by the shutdown deadline', () => {
  let probe: RunningProbe | undefined;
  let sink: StreamSink | undefined;
  afterAll(async () => {
    if (probe && probe.child.exitCode === null) probe.child.kill('SIGKILL');
    await sink?.close();
  });

  /**
   * A probe holding the 30,000 streams stopped with `deadlineMs`: the streams whose final reports reached
   * the collector. Checks what holds however many that is: every frame a FINAL report in the JSON text
   * the worker made; a cut stop exits 1 when its deadline comes, its line counting exactly the reports the
   * receiver did not get.
   */
  async function stop(workers: number, base: number, deadlineMs: number): Promise<Set<number>> {
    sink = await startStreamSink();
    probe = await startProbe(
      cli,
      [
        '-i', 'lo', '-f', `udp and src port ${base} and dst port ${base + 2}`, '--hep', `tcp://127.0.0.1:${sink.port}`,
        '--set', `capture.workers=${workers}`, '--set', `process.shutdown_deadline_ms=${deadlineMs}`,
        // Only the final reports go to the collector: no interval reports, no silence alerts.
        '--set', 'reports.interval_s=3600', '--set', 'reports.faults.silence_s=0', '--set', 'capture.buffer_size_mb=256',
        // No stream times out while the rest are sent: on a loaded host sending them took over the default
        // 30 s, and the first streams ended before the last started (never 30,000 open at once).
        '--set', 'rtp.silence_timeout_s=3600',
      ],
      120_000,
    );
    await sendStreams(base, base + 2);
    const metrics = `http://127.0.0.1:${probe.metricsPort}/metrics`;
    let text = '';
    expect(
      await until(async () => {
        text = await fetch(metrics).then((r) => r.text(), () => '');
        return new RegExp(`^rtpprobe_streams_active ${STREAMS}$`, 'm').test(text);
      }, 120_000, 200),
      text.split('\n').filter((l) => /streams_|capture_packets/.test(l)).join('\n'),
    ).toBe(true);
    probe.child.kill('SIGTERM');
    const code = await probe.exit;
    const log = probe.log();
    // Whatever the probe handed to the kernel before it exited still arrives: wait for the connection to end.
    expect(await until(() => sink!.sockets.length > 0 && sink!.sockets.every((s) => s.destroyed || s.readableEnded), 30_000), log).toBe(true);
    const finals = new Set<number>();
    for (const f of sink.frames) {
      const m = decodeHep3Strict(f);
      const text = m.payload.toString();
      const r = JSON.parse(text) as { TYPE: string; SSRC: number };
      expect(r.TYPE).toBe('FINAL');
      // The JSON.stringify text of the report (a worker makes it before posting the report): not re-encoded.
      if (text !== JSON.stringify(r)) expect(text).toBe(JSON.stringify(r));
      finals.add(r.SSRC - SSRC0);
    }
    expect(sink.deframeErrors).toEqual([]);
    const lines = log
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; time: string; finalReportsNotBuilt?: number; notSent?: Array<{ destination: string; messages: number }> });
    const line = lines.find((l) => l.msg.startsWith('shutdown deadline exceeded: exiting'));
    if (code === 0) {
      // The stop closed every stream before its deadline.
      expect(line, log).toBeUndefined();
      expect(finals.size, log).toBe(STREAMS);
    } else {
      expect(code, log).toBe(1);
      expect(line, log).toBeDefined();
      // The deadline ends the stop when it comes (by the probe's own clock: its log lines' times), however
      // many reports are still on their way from the workers; the margin is for a loaded machine's timers.
      const stopping = lines.find((l) => l.msg.startsWith('stopping: flushing final reports'))!;
      expect(Date.parse(line!.time) - Date.parse(stopping.time), log).toBeLessThan(deadlineMs + DEADLINE_LATE_MS);
      const notSent = line!.notSent!.find((d) => d.destination === `tcp://127.0.0.1:${sink!.port}`)!.messages;
      // The line counts exactly the reports the receiver did not get.
      expect(line!.finalReportsNotBuilt! + notSent, JSON.stringify({ line, received: finals.size, frames: sink.frames.length })).toBe(STREAMS - finals.size);
    }
    await sink.close();
    sink = undefined;
    return finals;
  }

  it.each([1, 2])('capture.workers=%i: sends the final reports built before the deadline and logs how many were lost', async (workers) => {
    const base = await takePorts(3); // of this test only: other suites' sockets take ephemeral ports meanwhile
    const tried: string[] = [];
    let deadlineMs = DEADLINE_MS;
    for (let n = 0; n < STOPS; n++) {
      const delivered = (await stop(workers, base, deadlineMs)).size;
      tried.push(`${delivered} of ${STREAMS} delivered within ${deadlineMs} ms`);
      // A part was delivered and a part was cut.
      if (delivered > 0 && delivered < STREAMS) return;
      deadlineMs = delivered === 0 ? deadlineMs * 2 : deadlineMs / 2;
    }
    expect.fail(`no stop delivered a part and cut a part: ${tried.join('; ')}`);
  }, 900_000);
});
