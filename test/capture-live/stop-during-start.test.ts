/**
 * `rtpprobe run` stopped while it starts (Ctrl-C, `systemctl stop` right after a start): with two capture
 * workers compiling a rule the start takes seconds. Nothing has been measured, so the stop ends the start
 * with exit 0 at once, as the README's exit codes say for a stop within the deadline, instead of waiting
 * for the start and then failing the shutdown deadline. Needs root (capture on lo) and a built dist/.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../wait.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = process.getuid?.() === 0 && existsSync(cli);

describe.skipIf(!canRun)('rtpprobe run stopped during its start-up', () => {
  let child: ReturnType<typeof spawn> | undefined;

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('SIGTERM before the capture is open: exit 0, no deadline overrun', async () => {
    child = spawn(
      process.execPath,
      [cli, 'run', '-i', 'lo', '-f', 'udp port 9', '--no-hep', '--set', 'capture.workers=2', '--rule', 'name=poor;when=mos < 3.6', '--log-format', 'json'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RTPPROBE_METRICS_PORT: '0', RTPPROBE_METRICS_LISTEN: '127.0.0.1' } },
    );
    let log = '';
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const exit = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    // The metrics endpoint listens before the probe starts; the workers then load and compile the rule.
    expect(await until(() => log.includes('metrics and health endpoint listening') || child!.exitCode !== null, 60_000), log).toBe(true);
    child.kill('SIGTERM');
    const code = await exit;
    // What this test is about: the signal came before the capture was open.
    expect(log.indexOf('capture open'), log).toBe(-1);
    expect(log).not.toContain('deadline exceeded');
    expect(log).toContain('"msg":"stopped during start-up: nothing was measured yet"');
    expect(code).toBe(0);
  }, 120_000);
});
