/**
 * A probe replaying a capture in real time with its metrics endpoint on a free port (the CLI from dist/
 * in a child process), for tests that read its live API while it runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './wait.js';

export const CLI = join(new URL('../', import.meta.url).pathname, 'dist/cli.js');

export interface LiveReplay {
  child: ChildProcess;
  /** http://127.0.0.1:PORT of its metrics endpoint. */
  base: string;
  /** Its standard output and error so far. */
  out(): string;
  /** Ends it (SIGKILL) if still running and removes its capture. */
  kill(): void;
}

/** Writes `pcap` to a temporary folder, starts `replay --realtime --metrics --no-hep` on it with `settings` (--set) and waits for its endpoint. */
export async function startLiveReplay(pcap: Buffer, settings: string[] = []): Promise<LiveReplay> {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-live-replay-'));
  const file = join(dir, 'capture.pcap');
  writeFileSync(file, pcap);
  let out = '';
  const args = [CLI, 'replay', file, '--realtime', '--metrics', '--no-hep', '--log-format', 'json', '--set', 'metrics.port=0'];
  for (const s of settings) args.push('--set', s);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const kill = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const listening = () => out.split('\n').find((l) => l.includes('metrics and health endpoint listening'));
  if (!(await until(() => listening() !== undefined || child.exitCode !== null, 60_000)) || !listening()) {
    kill();
    throw new Error(`the probe did not open its metrics endpoint:\n${out}`);
  }
  const base = `http://127.0.0.1:${(JSON.parse(listening()!) as { port: number }).port}`;
  return { child, base, out: () => out, kill };
}
