/**
 * Attack and fault suite against the real probe on lo (see harness.ts, cases.ts). CI runs the short
 * size of the cases that hold; `npm run attack` runs every case at the field report's rates and prints
 * the figures (RTPPROBE_ATTACK=short: every case at CI size). Needs root (capture on lo) and a built dist/; skipped otherwise.
 */
import { describe, expect, it } from 'vitest';
import { canRun } from './harness.js';
import { CASES, type Size } from './cases.js';

// RTPPROBE_ATTACK=full: every case at full size (npm run attack); =short: every case at CI size.
const mode = process.env.RTPPROBE_ATTACK ?? '';
const size: Size = mode === 'full' ? 'full' : 'ci';
const rows: string[] = [];

describe.skipIf(!canRun)(`attack suite (${size})`, () => {
  for (const c of CASES) {
    const run = mode !== '' || c.ci;
    it.skipIf(!run)(`${c.name}: ${c.what}`, async () => {
      const r = await c.run(size);
      const line = `${c.name.padEnd(20)} ${r.problems.length === 0 ? 'HELD  ' : 'FAILED'} ${Object.entries(r.figures).map(([k, v]) => `${k}=${v}`).join(' ')}`;
      rows.push(line);
      console.log(line + (r.problems.length ? `\n    ${r.problems.join('\n    ')}` : ''));
      expect(r.problems).toEqual([]);
    }, size === 'full' ? 300_000 : 90_000);
  }
});
