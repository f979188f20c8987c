import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsonLinesOutput } from '../../src/report/index.js';
import { openJsonlOutput } from '../../src/outbound/index.js';
import { defaultConfig } from '../../src/ops/config.js';
import { waitFor } from '../wait.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'rtpprobe-jsonl-'));

/** A tmpfs of `kb` KiB mounted for the test (root only); null when mounting is not allowed here. */
function smallFilesystem(kb: number): { dir: string; unmount(): void } | null {
  const dir = tmp();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kb}k`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return {
    dir,
    unmount() {
      execFileSync('umount', [dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
const fsAvailable = smallFilesystem(8);
fsAvailable?.unmount();

describe('JSON-lines output', () => {
  it('writes one JSON text per line to a file, buffered, everything there after close', async () => {
    const file = join(tmp(), 'reports.jsonl');
    const out = new JsonLinesOutput(file, { highWaterBytes: 1 << 20, flushIntervalMs: 0 });
    for (let i = 0; i < 500; i++) out.write({ TYPE: 'PERIODIC', N: i, TEXT: 'line\nbreak "quoted" \u2028' });
    // The file exists from the start (opened before privileges drop); nothing is written before the buffer fills or close().
    expect(readFileSync(file, 'utf8')).toBe('');
    await out.close();
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(500);
    expect(lines.map((l) => JSON.parse(l).N)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(out.lines).toBe(500);
    expect(out.writtenLines).toBe(500);
    expect(out.write({ late: true })).toBe(false);
  });

  it('writes out when the high-water mark is reached, in few large writes', async () => {
    const file = join(tmp(), 'r.jsonl');
    const out = new JsonLinesOutput(file, { highWaterBytes: 1000, flushIntervalMs: 0 });
    for (let i = 0; i < 100; i++) out.write({ i, pad: 'x'.repeat(80) });
    await waitFor(() => out.writtenLines >= 90);
    expect(readFileSync(file, 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(90);
    await out.close();
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(100);
  });

  it('an unwritable path is an error at open, naming the file and the reason', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'sub'));
    expect(() => new JsonLinesOutput(join(dir, 'missing', 'r.jsonl'))).toThrow(/cannot open the JSON-lines file .*missing.*ENOENT/);
    expect(() => new JsonLinesOutput(join(dir, 'sub'))).toThrow(/EISDIR/);
  });

  it('counts and logs write errors (ENOSPC on /dev/full) and drops nothing silently at close', async () => {
    const warnings: string[] = [];
    const errors: string[] = [];
    const log = { warn: (_o: object, m: string) => warnings.push(m), error: (_o: object, m: string) => errors.push(m), info: () => {} };
    const out = new JsonLinesOutput('/dev/full', { flushIntervalMs: 20, log });
    for (let i = 0; i < 10; i++) out.write({ i });
    await waitFor(() => out.errors >= 2);
    expect(out.writable).toBe(false);
    expect(out.lastError).toBe('ENOSPC');
    expect(warnings.length).toBe(1); // rate-limited: one line however many retries
    await out.close(100);
    expect(out.dropped).toBe(10);
    expect(out.pendingLines).toBe(0);
    expect(errors.join()).toMatch(/not written by the shutdown deadline/);
  });

  it.skipIf(fsAvailable === null)('on a full disk keeps the lines and resumes when space returns, leaving only whole lines', async () => {
    const fs = smallFilesystem(64)!;
    try {
      // Fill the filesystem but for a few KiB.
      const filler = join(fs.dir, 'filler');
      writeFileSync(filler, Buffer.alloc(58 * 1024));
      const file = join(fs.dir, 'reports.jsonl');
      const out = new JsonLinesOutput(file, { highWaterBytes: 4096, flushIntervalMs: 50 });
      const line = (i: number) => ({ i, pad: 'y'.repeat(200) });
      for (let i = 0; i < 200; i++) out.write(line(i)); // ~43 KB: cannot fit
      await waitFor(() => out.errors > 0);
      const partial = readFileSync(file, 'utf8');
      expect(partial.length).toBeGreaterThan(0);
      expect(out.writable).toBe(false);
      // Space returns: the rest is written, continuing the interrupted line.
      unlinkSync(filler);
      await waitFor(() => out.writable && out.pendingLines === 0);
      await out.close();
      const lines = readFileSync(file, 'utf8').split('\n');
      expect(lines.pop()).toBe('');
      expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expect(out.dropped).toBe(0);
      expect(statSync(file).size).toBe(out.bytes);
    } finally {
      fs.unmount();
    }
  });

  it("every FINAL of a full stream table at shutdown is written (the default output's buffer is sized from rtp.max_streams)", async () => {
    const file = join(tmp(), 'finals.jsonl');
    const config = defaultConfig();
    config.reports.jsonl = { enabled: true, path: file };
    const out = openJsonlOutput(config, { warn: () => {}, error: () => {}, info: () => {} })!;
    const line = JSON.stringify({ TYPE: 'FINAL', PAD: 'f'.repeat(1400) });
    const n = 20_000;
    for (let i = 0; i < n; i++) out.file.writeLine(line);
    await out.close(30_000);
    expect(out.file.dropped).toBe(0);
    expect(readFileSync(file, 'utf8').split('\n').length - 1).toBe(n);
  });

  it('a producer that awaits room() between bursts (a replay between windows) loses no line, however far it runs ahead', async () => {
    const file = join(tmp(), 'burst.jsonl');
    const out = new JsonLinesOutput(file, { highWaterBytes: 64 * 1024, maxBufferedBytes: 1 << 20, flushIntervalMs: 0 });
    const line = { TYPE: 'PERIODIC', pad: 'x'.repeat(1000) };
    let n = 0;
    for (let burst = 0; burst < 100; burst++) {
      // Each burst is a quarter of the bound: without waiting, four bursts ahead of the disk drop lines.
      for (let i = 0; i < 256; i++) expect(out.write({ ...line, n: n++ })).toBe(true);
      const room = out.room();
      if (room !== null) await room;
      await new Promise((r) => setImmediate(r));
    }
    await out.close();
    expect(out.dropped).toBe(0);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(n);
    expect(JSON.parse(lines[n - 1]!).n).toBe(n - 1);
  });

  it('writes everything buffered at each event-loop turn, not one chunk per turn', async () => {
    const file = join(tmp(), 'turns.jsonl');
    const out = new JsonLinesOutput(file, { highWaterBytes: 16 * 1024, flushIntervalMs: 0 });
    for (let i = 0; i < 1000; i++) out.write({ i, pad: 'x'.repeat(1000) }); // about 60 chunks of 16 KiB
    const flushed = out.flush();
    // Turns of the event loop with work between them (a replay's windows) until the queue is written: a
    // write issued at one turn completes during the work and the next is issued at the next turn.
    let turns = 0;
    while (out.writtenLines < 1000 && turns < 1000) {
      for (const end = performance.now() + 5; performance.now() < end; );
      await new Promise((r) => setImmediate(r));
      turns++;
    }
    expect(out.writtenLines).toBe(1000);
    expect(turns).toBeLessThan(30);
    await flushed;
    await out.close();
  });

  it('room() does not hold a producer while writes fail (a full disk): lines stay buffered up to the bound', async () => {
    const out = new JsonLinesOutput('/dev/full', { highWaterBytes: 1024, maxBufferedBytes: 8 * 1024, flushIntervalMs: 0 });
    for (let i = 0; i < 4; i++) out.write({ i, pad: 'x'.repeat(600) });
    await waitFor(() => !out.writable);
    for (let i = 0; i < 4; i++) out.write({ i, pad: 'x'.repeat(600) });
    expect(out.room()).toBeNull();
    await out.close(10);
  });

  it('drops whole lines beyond the buffer bound and counts them', async () => {
    const out = new JsonLinesOutput('/dev/full', { highWaterBytes: 1 << 20, maxBufferedBytes: 100, flushIntervalMs: 0 });
    out.write({ a: 'x'.repeat(50) });
    expect(out.write({ a: 'x'.repeat(50) })).toBe(false);
    expect(out.dropped).toBe(1);
    await out.close(10);
  });
});
