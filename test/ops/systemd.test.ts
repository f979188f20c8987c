import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/ops/config.js';
import { ExitCode } from '../../src/ops/exit-codes.js';

const unitPath = fileURLToPath(new URL('../../config/rtpprobe.service', import.meta.url));
const unit = readFileSync(unitPath, 'utf8');
const values = (key: string) =>
  unit
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));

describe('config/rtpprobe.service', () => {
  it('grants capture capabilities without root and agrees with exit codes and the shutdown deadline', () => {
    expect(values('User')).toEqual(['rtpprobe']);
    expect(values('AmbientCapabilities')[0]!.split(' ')).toEqual(expect.arrayContaining(['CAP_NET_RAW', 'CAP_NET_ADMIN']));
    expect(values('RestartPreventExitStatus')[0]!.split(' ').map(Number)).toEqual([ExitCode.USAGE, ExitCode.CAPTURE_OPEN]);
    expect(Number(values('TimeoutStopSec')[0])).toBeGreaterThan(defaultConfig().process.shutdownDeadlineMs / 1000);
    expect(values('ExecReload')[0]).toContain('-HUP');
    expect(values('ExecStart')[0]).toMatch(/ run -c \/etc\/rtpprobe\/rtpprobe\.yaml$/);
  });

  it.runIf(spawnSync('systemd-analyze', ['--version']).status === 0)('passes systemd-analyze verify (apart from the binary not being installed here)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-unit-'));
    copyFileSync(unitPath, join(dir, 'rtpprobe.service'));
    const r = spawnSync('systemd-analyze', ['verify', join(dir, 'rtpprobe.service')], { encoding: 'utf8' });
    const complaints = `${r.stdout}${r.stderr}`
      .split('\n')
      .filter((l) => l.trim() !== '' && !/Command \/usr\/local\/bin\/rtpprobe is not executable/.test(l));
    expect(complaints).toEqual([]);
  });
});
