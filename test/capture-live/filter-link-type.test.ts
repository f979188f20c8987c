/**
 * `rtpprobe run` with a capture filter that compiles for Ethernet (the check before start) but not for the
 * link type of the interface it opens: `any` is Linux cooked, which has no Ethernet addresses. libpcap
 * refuses it as it refuses a typo, so the exit code is the README's for a filter libpcap refuses (2, which
 * systemd does not restart), in one line naming the interface's link type and libpcap's reason as
 * `tcpdump -i any -d FILTER` gives it; in one thread and with media workers. `check-config` with the same
 * settings says so too (it compiles the filter for the interface's link type, as tcpdump -d does), instead
 * of passing a configuration `run` refuses.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isRoot } from './helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const FILTER = 'udp and ether host 02:00:00:00:00:01';

describe.skipIf(!isRoot || !existsSync(cli))('run with a capture filter that does not fit the interface link type', () => {
  for (const workers of [1, 2]) {
    it(`capture.workers ${workers}: exit 2, one line with the link type, libpcap's reason and the fix`, () => {
      const td = spawnSync('tcpdump', ['-i', 'any', '-d', FILTER], { encoding: 'utf8' });
      expect(td.status).not.toBe(0);
      const reason = td.stderr.trim().split('\n').at(-1)!.replace(/^tcpdump: /, '');

      const args = ['run', '-i', 'any', '-f', FILTER, '--no-hep', '--metrics-port', '0', '--set', `capture.workers=${workers}`, '--log-format', 'json'];
      const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(2);
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level >= 50);
      expect(errors.map((l) => l.msg)).toEqual([
        `${workers > 1 ? 'media worker 0: ' : ''}capture filter '${FILTER}' does not compile for 'any' (link type LINUX_SLL): ${reason}: fix the expression for this link type (see man pcap-filter)`,
      ]);
    }, 90_000);
  }

  it("check-config refuses it the same way (exit 2), and passes a filter that fits the interface's link type", () => {
    const refused = spawnSync(process.execPath, [cli, 'check-config', '-i', 'any', '-f', FILTER, '--no-hep'], { encoding: 'utf8', timeout: 60_000 });
    expect(refused.status, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`capture filter '${FILTER}' does not compile for 'any' (link type LINUX_SLL): `);
    const fits = spawnSync(process.execPath, [cli, 'check-config', '-i', 'any', '-f', 'not host 10.0.0.1', '--no-hep'], { encoding: 'utf8', timeout: 60_000 });
    expect(fits.stderr).toBe('');
    expect(fits.status).toBe(0);
  }, 90_000);
});
