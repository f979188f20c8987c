/**
 * Per-slot records kept in typed arrays: a record's fields are declared once in a table of
 * [name, part, view, count] (part: the HOT record an in-order packet touches, or the COLD one elsewhere in
 * the buffer; view: the typed array the field is read through; count: elements). Offsets follow from the
 * table: in declaration order within each part, each field aligned to its element size, so the table
 * reads as the record does. The hot loops index with a const enum of the same numbers (tsc inlines it as
 * literals), which a test checks against layoutRecord() field by field.
 */

export type RecordView = 'f64' | 'f32' | 'i32' | 'u16' | 'u8';
export type RecordPart = 'hot' | 'cold';
export type RecordField = readonly [name: string, part: RecordPart, view: RecordView, count: number];

export interface FieldLayout {
  name: string;
  part: RecordPart;
  view: RecordView;
  /** In units of the view, from the start of the slot's part. */
  offset: number;
  count: number;
}

export const VIEW_BYTES: Readonly<Record<RecordView, number>> = { f64: 8, f32: 4, i32: 4, u16: 2, u8: 1 };

/** Offsets of `fields`, and each part's size in bytes (rounded up to 8: float64 records stay aligned). */
export function layoutRecord(fields: readonly RecordField[]): { fields: FieldLayout[]; hotBytes: number; coldBytes: number } {
  const bytes = { hot: 0, cold: 0 };
  const out: FieldLayout[] = [];
  for (const [name, part, view, count] of fields) {
    const size = VIEW_BYTES[view];
    const at = Math.ceil(bytes[part] / size) * size;
    out.push({ name, part, view, offset: at / size, count });
    bytes[part] = at + count * size;
  }
  const round8 = (n: number) => Math.ceil(n / 8) * 8;
  return { fields: out, hotBytes: round8(bytes.hot), coldBytes: round8(bytes.cold) };
}
