/**
 * config/README.md's table of settings is the schema's: every setting with its default, and no setting
 * the schema does not have. The README's pointers to it stay true too.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { probeSchema } from '../../src/ops/config.js';
import { allSettings } from '../../src/ops/schema.js';
import { METRIC_VARIABLES } from '../../src/report/index.js';

const reference = readFileSync(new URL('../../config/README.md', import.meta.url), 'utf8');

describe('config/README.md', () => {
  const rows = new Map([...reference.matchAll(/^\| `([a-z0-9_.]+)` \| (.*?) \| .* \|$/gm)].map((m) => [m[1]!, m[2]!]));

  it('lists every setting of the schema with its default, and nothing else', () => {
    const paths = allSettings(probeSchema).map((l) => l.path.join('.'));
    expect([...rows.keys()].sort()).toEqual([...paths].sort());
    for (const l of allSettings(probeSchema)) {
      const d = l.node.defaultRaw();
      if (typeof d === 'number' || typeof d === 'boolean') expect(rows.get(l.path.join('.')), l.path.join('.')).toBe(`\`${d}\``);
    }
  });

  it('names every variable a rule may use', () => {
    for (const v of METRIC_VARIABLES) expect(reference, v).toContain(`\`${v}\``);
  });
});
