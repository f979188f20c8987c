/**
 * The README's quick start runs `node dist/cli.js demo`: generated calls replayed into a HEP collector the
 * demo starts. Run as written (the built CLI, another process): every stream of its closing table has
 * its final report among those the collector decoded, under its Call-ID; the clean calls score clean and
 * the impaired ones show their loss and page the demo's rule.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childEnv, root, tableRows } from './helpers.js';

describe('rtpprobe demo (the quick start)', () => {
  it('prints every report the collector decoded and the stream table; each stream has its final report', () => {
    const r = spawnSync(process.execPath, [join(root, 'dist/cli.js'), 'demo'], { encoding: 'utf8', env: childEnv(), timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const [reportsPart, tablePart] = r.stdout.split('Streams (final reports):\n');
    const head = /QoS reports the collector decoded \((\d+)\), plus (\d+) SIP messages \(type 1\) and (\d+) RTCP messages \(type 5\)/.exec(reportsPart);
    expect(head, r.stdout).not.toBeNull();
    const lines = reportsPart.split('\n').filter((l) => l.startsWith('  type 35 '));
    expect(lines).toHaveLength(Number(head![1]));
    expect(Number(head![2])).toBeGreaterThan(0);
    expect(Number(head![3])).toBeGreaterThan(0);
    const rows = tableRows(tablePart);
    expect(rows).toHaveLength(8);
    for (const [src, dst, , , , lost, , , , , mos, callId] of rows) {
      const finals = lines.filter((l) => / (HANGUP|FINAL) /.test(l) && l.includes(`${src} -> ${dst}`) && l.includes(`call ${callId} `));
      expect(finals, `${src} -> ${dst} ${callId}`).toHaveLength(1);
      if (callId.startsWith('scn1-')) {
        expect(lost).toBe('0 (0.0%)');
        expect(Number(mos)).toBeGreaterThan(4.3);
      } else {
        expect(parseInt(lost, 10)).toBeGreaterThan(0);
      }
    }
    const paged = lines.filter((l) => / ALERT .* rule poor-quality$/.test(l));
    expect(paged.length).toBeGreaterThan(0);
    expect(paged.every((l) => l.includes('call scn2-'))).toBe(true);
  });
});
