import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, rateLimitedWarn } from '../../src/ops/log.js';
import { until } from '../wait.js';

function sink() {
  const lines: string[] = [];
  return { lines, stream: { write: (s: string) => void lines.push(...s.split('\n').filter((l) => l !== '')) } };
}

describe('createLogger', () => {
  it('writes JSON lines at or above the configured level', () => {
    const s = sink();
    const log = createLogger({ level: 'warn', format: 'json' }, { destination: s.stream, isTty: false });
    log.info('hidden');
    log.warn({ iface: 'eth1' }, 'shown');
    expect(s.lines).toHaveLength(1);
    const rec = JSON.parse(s.lines[0]!) as Record<string, unknown>;
    expect(rec).toMatchObject({ level: 40, msg: 'shown', iface: 'eth1', name: 'rtpprobe' });
    expect(typeof rec.time).toBe('string');
  });

  it('auto is JSON without a terminal and pretty with one', async () => {
    const a = sink();
    createLogger({ level: 'info', format: 'auto' }, { destination: a.stream, isTty: false }).info('x');
    expect(() => JSON.parse(a.lines[0]!)).not.toThrow();
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    createLogger({ level: 'info', format: 'auto' }, { destination: out, isTty: true }).info('hello pretty');
    // pino-pretty hands its output to the destination stream asynchronously.
    expect(await until(() => text.includes('hello pretty')), text).toBe(true);
    expect(text).toContain('INFO');
    expect(() => JSON.parse(text)).toThrow();
  });
});

describe('pretty logs escape text for the terminal', () => {
  it('messages and fields show control and direction characters as text; a stack keeps its lines', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const log = createLogger({ level: 'info', format: 'pretty' }, { destination: out, isTty: false });
    log.info({ ua: 'phone\u202e1.0', nested: { id: 'a\u2066b' } }, 'from \u001b[2Jpeer\nforged line');
    const err = new Error('boom');
    log.error({ err }, 'failed');
    expect(await until(() => text.includes('failed') && text.includes('at ')), text).toBe(true);
    expect(text).toContain('from \\x1b[2Jpeer\\x0aforged line');
    expect(text).toContain('phone\\u{202e}1.0');
    expect(text).toContain('a\\u{2066}b');
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069]/);
    // Every frame of the stack on a line of its own.
    expect(text.split('\n').filter((l) => /^\s+at /.test(l)).length).toBe(err.stack!.split('\n').length - 1);
  });
});

describe('rateLimitedWarn', () => {
  it('writes at most one line per key per interval and reports the suppressed count', () => {
    const s = sink();
    const log = createLogger({ level: 'info', format: 'json' }, { destination: s.stream, isTty: false });
    let t = 0;
    const now = () => t;
    const warn = rateLimitedWarn(log, 'kernel-drops', 1000, now);
    for (let i = 0; i < 500; i++) {
      warn('kernel dropped packets', { dropped: i });
      t += 5; // 500 calls over 2.5 s of clock
    }
    const recs = s.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    // Lines at t = 0, 1000, 2000.
    expect(recs).toHaveLength(3);
    expect(recs[0]).toMatchObject({ key: 'kernel-drops', dropped: 0 });
    expect(recs[0]!.suppressed).toBeUndefined();
    expect(recs[1]).toMatchObject({ dropped: 200, suppressed: 199 });
    expect(recs[2]).toMatchObject({ dropped: 400, suppressed: 199 });
    expect(warn.suppressed).toBe(99);
    warn.flush();
    expect(JSON.parse(s.lines[3]!)).toMatchObject({ suppressed: 99, msg: 'kernel dropped packets (repeated)' });
    expect(warn.suppressed).toBe(0);
  });

  it('keys are independent, and the same key shares one budget', () => {
    const s = sink();
    const log = createLogger({ level: 'info', format: 'json' }, { destination: s.stream, isTty: false });
    const now = () => 0;
    const a1 = rateLimitedWarn(log, 'a', 1000, now);
    const a2 = rateLimitedWarn(log, 'a', 1000, now);
    const b = rateLimitedWarn(log, 'b', 1000, now);
    a1('one');
    a2('two');
    b('three');
    expect(s.lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['one', 'three']);
  });
});
