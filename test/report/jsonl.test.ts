import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { JsonLinesOutput } from '../../src/report/index.js';

describe('JSON-lines output', () => {
  it('writes one JSON text per line to a file, buffered, everything there after close', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rtpprobe-jsonl-')), 'reports.jsonl');
    const out = new JsonLinesOutput(file, { highWaterBytes: 1 << 20, flushIntervalMs: 0 });
    for (let i = 0; i < 500; i++) out.write({ TYPE: 'PERIODIC', N: i, TEXT: 'line\nbreak "quoted" \u2028' });
    // Nothing is written before the buffer fills or close().
    expect(existsSync(file) ? readFileSync(file, 'utf8') : '').toBe('');
    await out.close();
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(500);
    expect(lines.map((l) => JSON.parse(l).N)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(out.lines).toBe(500);
    expect(out.write({ late: true })).toBe(false);
  });

  it('writes out when the high-water mark is reached, in few large writes', async () => {
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const out = new JsonLinesOutput(sink, { highWaterBytes: 1000, flushIntervalMs: 0 });
    for (let i = 0; i < 100; i++) out.write({ i, pad: 'x'.repeat(80) });
    await out.flush();
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text.trim().split('\n')).toHaveLength(100);
    expect(chunks.length).toBeLessThan(20);
    await out.close();
  });

  it('drops and counts lines beyond the buffer bound', () => {
    const sink = new PassThrough({ highWaterMark: 1 });
    const out = new JsonLinesOutput(sink, { highWaterBytes: 1 << 20, maxBufferedBytes: 100, flushIntervalMs: 0 });
    out.write({ a: 'x'.repeat(50) });
    expect(out.write({ a: 'x'.repeat(50) })).toBe(false);
    expect(out.dropped).toBe(1);
  });
});
