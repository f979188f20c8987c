import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openInput } from '../../src/capture/file/input.js';

/** Bytes that differ at every offset within a read's length, so a read at the wrong offset shows. */
const pattern = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => ((from + i) * 7 + ((from + i) >> 8)) & 0xff);

/**
 * A regular file is read with several positioned reads in flight, each asked where the one before it
 * would end. Whatever order the thread pool runs them in, the bytes delivered must be the file's, in
 * order and without a gap: also when a read comes back short (the end of the file) and the file then
 * grows, as a capture still being written does.
 */
describe('regular-file reads asked ahead', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-readahead-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Reads `input` to its current end with `ahead` reads in flight; the bytes delivered, in order. */
  async function drain(input: Awaited<ReturnType<typeof openInput>>, len: number, ahead: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    const inFlight: Array<{ buf: Uint8Array; got: Promise<number> }> = [];
    const ask = () => {
      const buf = new Uint8Array(len);
      inFlight.push({ buf, got: input.read(buf, 0, len) });
    };
    for (let i = 0; i < ahead; i++) ask();
    for (;;) {
      const r = inFlight.shift()!;
      const got = await r.got;
      if (got === 0) break;
      parts.push(r.buf.subarray(0, got));
      ask();
    }
    for (const r of inFlight) await r.got;
    return Uint8Array.from(parts.flatMap((p) => [...p]));
  }

  it('delivers a file whose size is no multiple of the read length, in order', async () => {
    const file = join(dir, 'plain.bin');
    const data = pattern(0, 10_000 * 3 + 1234);
    writeFileSync(file, data);
    const input = await openInput(file);
    expect(input.readAhead).toBeGreaterThan(1);
    const got = await drain(input, 10_000, input.readAhead);
    await input.close();
    expect(got.length).toBe(data.length);
    expect(Buffer.compare(Buffer.from(got), Buffer.from(data))).toBe(0);
    expect(input.bytesRead).toBe(data.length);
  });

  it('continues where the file ended when it grows after a short read', async () => {
    const file = join(dir, 'growing.bin');
    const len = 4096;
    writeFileSync(file, pattern(0, len + 100));
    const input = await openInput(file);
    // Three reads asked at once: the second is short, the third was asked past the end.
    const first = [0, 1, 2].map(() => new Uint8Array(len));
    expect(await Promise.all(first.map((b) => input.read(b, 0, len)))).toEqual([len, 100, 0]);
    // The file grows, as a capture still being written does: the next reads start at byte len + 100.
    appendFileSync(file, pattern(len + 100, 3 * len));
    const rest = await drain(input, len, input.readAhead);
    await input.close();
    const got = Buffer.concat([first[0], first[1].subarray(0, 100), rest]);
    expect(Buffer.compare(got, readFileSync(file))).toBe(0);
  });
});

describe('a regular file refused at its first bytes leaves no descriptor open', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-refused-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** This process's open descriptors that refer to `target` (as /proc/self/fd names it). */
  const fdsOn = (target: string) =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === target;
      } catch {
        return false; // the directory's own descriptor, gone once listed
      }
    });

  // A descriptor left to the garbage collector is closed whenever it runs, with a warning on standard
  // error ("Closing file descriptor N on garbage collection") that lands beside the command's one error line.
  it('a read that fails (EIO): rejects with the read error', async () => {
    // /proc/self/mem is a regular file of the reading process whose read at offset 0 (never mapped) fails with EIO.
    const target = `/proc/${process.pid}/mem`;
    expect(fdsOn(target)).toEqual([]);
    await expect(openInput('/proc/self/mem')).rejects.toMatchObject({ code: 'EIO', syscall: 'read' });
    expect(fdsOn(target)).toEqual([]);
  });

  it.each(['xz', 'bzip2'])('a %s-compressed file: rejects naming the compression', async (tool) => {
    const file = join(dir, `data.${tool}`);
    const r = spawnSync(tool, ['-c'], { input: pattern(0, 1000) });
    expect(r.status, String(r.stderr)).toBe(0);
    writeFileSync(file, r.stdout);
    await expect(openInput(file)).rejects.toMatchObject({ problem: expect.stringMatching(new RegExp(`^${tool}-compressed: run `)) });
    expect(fdsOn(file)).toEqual([]);
  });
});
