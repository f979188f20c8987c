/**
 * Configuration files are files: the real command in a child process, given a FIFO (nobody writing:
 * it must not block), /dev/zero (it must not grow), an oversized file and a YAML alias bomb, each refused
 * with exit 2 and one line naming the problem; an invalid or foreign listen address likewise.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, MAX_CONFIG_BYTES } from '../../src/ops/config.js';
import { MAX_RULES } from '../../src/report/scheduler.js';
import { bundleCli, root, runCliSync } from '../cli/helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'rtpprobe-configfiles-'));
let bundle = '';
const distCli = join(root, 'dist/cli.js');

beforeAll(async () => {
  ({ bundle } = await bundleCli());
});

/** Lines the command printed on stderr. */
const lines = (s: string) => s.trim().split('\n');

describe('configuration files are regular files of bounded size', () => {
  it('a FIFO with no writer: refused at once, exit 2, one line', () => {
    const fifo = join(tmp, 'config.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const t0 = Date.now();
    const r = runCliSync(bundle, ['check-config', '-c', fifo]);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toEqual([`rtpprobe: invalid configuration in ${fifo}: not a regular file (a FIFO): give the path of a YAML or JSON file`]);
  });

  it('/dev/zero: refused, nothing read', () => {
    const r = runCliSync(bundle, ['check-config', '-c', '/dev/zero']);
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toEqual(['rtpprobe: invalid configuration in /dev/zero: not a regular file (a character device): give the path of a YAML or JSON file']);
  });

  it('a file over the size cap: refused', () => {
    const big = join(tmp, 'big.yaml');
    writeFileSync(big, `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    const r = runCliSync(bundle, ['check-config', '-c', big]);
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain(`bytes is more than the ${MAX_CONFIG_BYTES} a configuration file may have`);
  });

  it('a YAML alias bomb: refused in one line, not expanded', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) levels.push(`${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${Array(9).fill(`*${'abcdefghi'[i - 1]}`).join(',')}]`);
    const bomb = join(tmp, 'bomb.yaml');
    writeFileSync(bomb, `${levels.join('\n')}\n`);
    const r = runCliSync(bundle, ['check-config', '-c', bomb]);
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toEqual([`rtpprobe: invalid configuration in ${bomb}: YAML aliases expand too far (more than 100 uses): write the values out`]);
  });

  it('a few aliases for shared values still work', () => {
    const ok = join(tmp, 'aliases.yaml');
    writeFileSync(ok, 'hep:\n  collectors:\n    - &c { host: 10.0.0.5, port: 9060 }\n    - *c\n');
    expect(loadConfig({ file: ok }).hep.collectors).toHaveLength(2);
  });

  it('SIGHUP re-reads through the same checks (the reload refuses a FIFO without blocking)', () => {
    // The reload uses loadConfig: shown here in-process, the file swapped for a FIFO after start.
    const f = join(tmp, 'swapped.yaml');
    expect(spawnSync('mkfifo', [f]).status).toBe(0);
    expect(() => loadConfig({ file: f })).toThrow(/not a regular file \(a FIFO\)/);
  });
});

describe('a collector without a host', () => {
  it('run refuses it with exit 2 and one line before capture opens', () => {
    const f = join(tmp, 'no-host.yaml');
    writeFileSync(f, 'hep:\n  collectors:\n    - { port: 9061 }\n');
    const r = runCliSync(bundle, ['run', '-i', 'lo', '-c', f, '--metrics-port', '0']);
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toEqual([`rtpprobe: invalid configuration in ${f}: hep.collectors[0].host: not set: must be a non-empty string`]);
  });
});

describe('listen addresses', () => {
  it('not an address: exit 2 at validation, one line', () => {
    const r = runCliSync(bundle, ['run', '-i', 'lo', '--no-hep', '--metrics-listen', '300.1.1.1']);
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toEqual(['rtpprobe: invalid configuration: metrics.listen: "300.1.1.1" is not allowed: must be an IP address (four numbers 0-255) or a host name (set by --metrics-listen)']);
  });

  it('an address of another host: exit 2 when listening fails, one line with the fix', () => {
    const r = runCliSync(bundle, ['replay', '-', '--metrics', '--set', 'metrics.listen=192.0.2.254', '--set', 'metrics.port=0', '--no-hep', '--log-level', 'warn'], { input: Buffer.alloc(0) });
    expect(r.status).toBe(2);
    expect(lines(r.stderr)).toEqual(['rtpprobe: metrics endpoint: cannot listen on 192.0.2.254:0: the address is not on this host: set metrics.listen (--metrics-listen) to one of its addresses, 127.0.0.1 or 0.0.0.0']);
  });
});

describe.skipIf(!existsSync(distCli))('report rules beyond what a stream can track', () => {
  // A stream's firing rules are one 32-bit mask (MAX_RULES): one rule more must be refused before
  // anything starts, by check-config as by replay, not fail inside the pipeline. dist/cli.js, which
  // loads mathjs from node_modules (the test bundle lives where it cannot).
  const rulesFile = (n: number) => {
    const f = join(tmp, `rules-${n}.yaml`);
    const rules = Array.from({ length: n }, (_, i) => `    - { name: r${i}, when: "mos < ${1 + i / 10}", interval_s: 2 }`);
    writeFileSync(f, `reports:\n  rules:\n${rules.join('\n')}\n`);
    return f;
  };

  it(`${MAX_RULES} rules are accepted`, () => {
    const r = runCliSync(distCli, ['check-config', '-c', rulesFile(MAX_RULES)]);
    expect(r.status, r.stderr).toBe(0);
  });

  it(`${MAX_RULES + 1} rules: check-config and replay refuse them with exit 2, one line`, () => {
    const f = rulesFile(MAX_RULES + 1);
    const want = [`rtpprobe: invalid configuration in ${f}: reports.rules: a list of ${MAX_RULES + 1} items is not allowed: must be a list with at most ${MAX_RULES} items`];
    const check = runCliSync(distCli, ['check-config', '-c', f]);
    expect(check.status).toBe(2);
    expect(lines(check.stderr)).toEqual(want);
    const replay = runCliSync(distCli, ['replay', '-', '-c', f, '--no-hep'], { input: Buffer.alloc(0) });
    expect(replay.status).toBe(2);
    expect(lines(replay.stderr)).toEqual(want);
  });
});

describe('check-config and the HEP collectors’ host names', () => {
  // A collector's name that does not resolve here is no configuration error (run retries it, and DNS may
  // differ where the probe runs), but an operator checking the file wants to hear of it. `.invalid`
  // never resolves (RFC 6761).
  it('a name that does not resolve: exit 0, one note naming the collector and what run does', () => {
    const r = runCliSync(bundle, ['check-config', '--hep', 'udp://no-such-homer.invalid:9060']);
    expect(r.status, r.stderr).toBe(0);
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(/^rtpprobe: note: hep collector no-such-homer\.invalid:9060: the name does not resolve here \((ENOTFOUND|EAI_AGAIN|timed out after 3 s)\): run counts that collector down until it does \(retried with backoff, its queue keeps the newest reports\)$/),
    ]);
  });

  it('a name that resolves and an address: no note', () => {
    const r = runCliSync(bundle, ['check-config', '--hep', 'udp://localhost:9060', '--hep', 'udp://127.0.0.1:9061']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  });
});
