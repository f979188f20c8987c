/**
 * config/README.md's table of settings is the schema's: every setting with its default, and no setting
 * the schema does not have. The README's pointers to it stay true too.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, probeSchema } from '../../src/ops/config.js';
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

describe("config/README.md's example of a refused configuration", () => {
  it('is what loadConfig says of the same settings (a list of allowed keys cut short with ...)', () => {
    const example = /```\n(rtpprobe: .*?)\n```/s.exec(reference)![1]!.split('\n');
    const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-config-example-'));
    const file = join(dir, 'rtpprobe.yaml');
    writeFileSync(file, 'capture:\n  intrface: eth1\n');
    let message = '';
    try {
      loadConfig({ file, env: { RTPPROBE_REPORTS_INTERVAL_S: '-5' } });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = `rtpprobe: ${(err as Error).message}`.replaceAll(file, '/etc/rtpprobe/rtpprobe.yaml');
    }
    const actual = message.split('\n');
    expect(actual).toHaveLength(example.length);
    example.forEach((line, i) => (line.endsWith('...)') ? expect(actual[i]!.startsWith(line.slice(0, -4)), actual[i]).toBe(true) : expect(actual[i]).toBe(line)));
  });
});
