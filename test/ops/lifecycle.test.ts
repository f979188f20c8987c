import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../wait.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-lifecycle-'));
const child = join(dir, 'lifecycle-child.mjs');
const privChild = join(dir, 'privileges-child.mjs');

// The children run under plain node (a TS runner would install its own signal handlers): bundle them.
beforeAll(async () => {
  for (const [src, out] of [
    ['./fixtures/lifecycle-child.ts', child],
    ['./fixtures/privileges-child.ts', privChild],
  ] as const) {
    await build({
      entryPoints: [fileURLToPath(new URL(src, import.meta.url))],
      outfile: out,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'error',
      // pino and friends are CommonJS; give the bundle a require().
      banner: { js: "import { createRequire as bundleCreateRequire } from 'node:module'; const require = bundleCreateRequire(import.meta.url);" },
    });
  }
});

interface Run {
  proc: ChildProcess;
  events: Array<Record<string, unknown>>;
  stderr: () => string;
  next(event: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(file: string, stopDelayMs: number, deadlineMs: number, env: Record<string, string> = {}): Run {
  const proc = spawn(process.execPath, [child, file, String(stopDelayMs), String(deadlineMs)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const events: Array<Record<string, unknown>> = [];
  let err = '';
  let buf = '';
  const waiters: Array<() => void> = [];
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith('{')) events.push(JSON.parse(line) as Record<string, unknown>);
    }
    waiters.splice(0).forEach((w) => w());
  });
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    waiters.splice(0).forEach((w) => w());
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  let seen = 0;
  return {
    proc,
    events,
    stderr: () => err,
    exit,
    next(event, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no ${event} event; stderr: ${err}`)), timeoutMs);
        const check = () => {
          const i = events.findIndex((e, k) => k >= seen && e.event === event);
          if (i >= 0) {
            seen = i + 1;
            clearTimeout(t);
            resolve(events[i]!);
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}

describe('lifecycle in a real process with real signals', () => {
  it('SIGHUP with an invalid file keeps the running config; a valid one is applied; SIGTERM stops cleanly with 0', async () => {
    const file = join(dir, 'reload.yaml');
    writeFileSync(file, 'reports:\n  interval_s: 10\n');
    const run = start(file, 50, 5000);
    expect((await run.next('ready')).interval).toBe(10);

    writeFileSync(file, 'reports:\n  interval_s: -5\n  intervall: 3\n');
    run.proc.kill('SIGHUP');
    await waitFor(() => run.stderr().includes('configuration reload refused'), 30_000, 'reload refusal log');
    const refusal = run.stderr().split('\n').find((l) => l.includes('configuration reload refused'))!;
    const rec = JSON.parse(refusal) as { level: number; msg: string };
    expect(rec.level).toBe(50);
    expect(rec.msg).toContain('reports.interval_s: -5 is not allowed');
    expect(rec.msg).toContain('reports.intervall: unknown setting; did you mean reports.interval_s?');
    expect(run.events.filter((e) => e.event === 'reload')).toHaveLength(0);

    writeFileSync(file, 'reports:\n  interval_s: 4\n');
    run.proc.kill('SIGHUP');
    const reload = await run.next('reload');
    expect(reload).toMatchObject({ interval: 4, previous: 10 });

    run.proc.kill('SIGTERM');
    expect(await run.next('stop')).toMatchObject({ reason: 'SIGTERM' });
    await run.next('flushed');
    expect(await run.exit).toEqual({ code: 0, signal: null });
  });

  it('a second signal during a slow stop exits at once with 130', async () => {
    const file = join(dir, 'slow.yaml');
    writeFileSync(file, '');
    const run = start(file, 30_000, 60_000);
    await run.next('ready');
    run.proc.kill('SIGTERM');
    await run.next('stop');
    const t0 = Date.now();
    run.proc.kill('SIGINT');
    expect(await run.exit).toEqual({ code: 130, signal: null });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(run.events.some((e) => e.event === 'flushed')).toBe(false);
  });

  it('a stop that overruns the shutdown deadline exits with 1', async () => {
    const file = join(dir, 'deadline.yaml');
    writeFileSync(file, '');
    const run = start(file, 30_000, 300);
    await run.next('ready');
    run.proc.kill('SIGTERM');
    await run.next('stop');
    expect(await run.exit).toEqual({ code: 1, signal: null });
    expect(run.stderr()).toContain('shutdown deadline exceeded');
  });
});

describe('crash handling', () => {
  it('an uncaught exception still runs the stop steps (final reports) and exits 1', async () => {
    const file = join(dir, 'crash.yaml');
    writeFileSync(file, '');
    const run = start(file, 20, 5000, { CRASH: '1' });
    expect(await run.next('stop')).toMatchObject({ reason: 'crash' });
    await run.next('flushed');
    expect(await run.exit).toEqual({ code: 1, signal: null });
    expect(run.stderr()).toContain('bug in a timer');
  });
});

describe('privilege drop in a real process', () => {
  const runChild = (user: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const p = spawn(process.execPath, [privChild, user], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.on('exit', () => {
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line) as Record<string, unknown>);
        else reject(new Error(`no output: ${out}`));
      });
    });

  it.runIf(process.getuid?.() === 0)('root switches to nobody and loses CAP_NET_RAW', async () => {
    const r = await runChild('nobody');
    expect(r.uid).toBe(65534);
    expect(r.gid).toBe(65534);
    expect(r.caps).toMatchObject({ root: false, netRaw: false, netAdmin: false });
  });

  it('a user that does not exist is a clear PrivilegeError', async () => {
    const r = await runChild('no-such-user-rtpprobe');
    expect(r.name).toBe('PrivilegeError');
    expect(r.error).toMatch(/process\.user: "no-such-user-rtpprobe" does not exist on this host/);
  });
});
