/**
 * The stream record's layout (src/rtp/stream-store.ts): the const enum the engine indexes with is the
 * field table's derived layout, no two fields share a byte, and each fits its part.
 */
import { describe, expect, it } from 'vitest';
import { L, STREAM_FIELDS, streamLayout } from '../../src/rtp/stream-store.js';
import { layoutRecord, VIEW_BYTES, type FieldLayout } from '../../src/rtp/record-layout.js';
import { JB_FIELDS, jbLayout } from '../../src/rtp/jitter-buffer.js';
import { Loss } from '../../src/rtp/loss-model.js';

// @ts-expect-error the const enum as an object: tsc erases it, vitest's esbuild emits it as a plain enum
const lit = L as unknown as Record<string, number>;
const PREFIX = { hot: { f64: 'D_', i32: 'W_', u16: 'H_', u8: 'B_' }, cold: { f64: 'CD_', i32: 'CW_', u16: 'CH_', u8: 'CB_' } } as const;

function byteRanges(fields: FieldLayout[], part: 'hot' | 'cold') {
  return fields
    .filter((f) => f.part === part)
    .map((f) => ({ name: f.name, from: f.offset * VIEW_BYTES[f.view], to: (f.offset + f.count) * VIEW_BYTES[f.view] }))
    .sort((a, b) => a.from - b.from);
}

describe('stream record layout', () => {
  const layout = streamLayout();

  it('the enum holds every field of the table at its derived offset, and no other field', () => {
    for (const f of layout.fields) expect(lit[f.name], f.name).toBe(f.offset);
    const names = new Set<string>(STREAM_FIELDS.map((f) => f[0]));
    expect(names.size).toBe(STREAM_FIELDS.length);
    const enumFields = Object.keys(lit).filter((k) => Number.isNaN(Number(k)) && /^(C?[DWHB])_/.test(k));
    expect(enumFields.filter((k) => !names.has(k))).toEqual([]);
  });

  it('names say the view and the part (D_ W_ H_ B_ hot, CD_ CW_ CH_ CB_ cold)', () => {
    for (const f of layout.fields) expect(f.name.startsWith(PREFIX[f.part][f.view as keyof (typeof PREFIX)['hot']]), f.name).toBe(true);
  });

  it('no two fields overlap and each fits its part; the parts are the sizes the store allocates (hot: whole cache lines)', () => {
    expect(layout.hotBytes).toBe(L.HOT_BYTES);
    expect(layout.coldBytes).toBe(L.COLD_BYTES);
    expect(L.HOT_BYTES % 64).toBe(0);
    for (const part of ['hot', 'cold'] as const) {
      const ranges = byteRanges(layout.fields, part);
      expect(ranges[0].from).toBeGreaterThanOrEqual(0);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i].from, `${ranges[i - 1].name} / ${ranges[i].name}`).toBeGreaterThanOrEqual(ranges[i - 1].to);
      expect(ranges.at(-1)!.to).toBeLessThanOrEqual(part === 'hot' ? L.HOT_BYTES : L.COLD_BYTES);
    }
  });

  it('the loss model\'s counters and their baseline hold Loss.COUNT words each', () => {
    for (const name of ['CW_LOSS', 'CW_LOSS_BASE']) expect(layout.fields.find((f) => f.name === name)?.count, name).toBe(Loss.COUNT);
  });

  it('the key is the record\'s first 10 words (stream-index.ts compares it in place)', () => {
    expect(layout.fields[0]).toEqual({ name: 'W_KEY', part: 'hot', view: 'i32', offset: 0, count: 10 });
  });

  it('lays out the jitter buffer\'s record by the same rule, JB_FIELDS declared so that nothing is padded', () => {
    const jb = jbLayout();
    expect(jb).toEqual(layoutRecord(JB_FIELDS));
    for (const part of ['hot', 'cold'] as const) {
      const fields = jb.fields.filter((f) => f.part === part);
      const packed = fields.reduce((n, f) => n + f.count * VIEW_BYTES[f.view], 0);
      const end = Math.max(...fields.map((f) => (f.offset + f.count) * VIEW_BYTES[f.view]));
      expect(end, part).toBe(packed);
    }
  });

  it('aligns a field declared after a wider one to its own size', () => {
    const l = layoutRecord([['B_X', 'hot', 'u8', 3], ['D_Y', 'hot', 'f64', 1], ['H_Z', 'hot', 'u16', 1]]);
    expect(l.fields.map((f) => f.offset * VIEW_BYTES[f.view])).toEqual([0, 8, 16]);
    expect(l.hotBytes).toBe(24);
  });
});
