/**
 * `npm test` type-checks the tests and the benchmarks before running them (vitest and node strip types
 * without checking them): the script runs the check first, and test/tsconfig.json covers every test and
 * bench file with the product's strict settings.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const tsc = join(root, 'node_modules/typescript/bin/tsc');

function tsFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

describe('type check of the tests', () => {
  it('npm test runs it before the suite', () => {
    const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.test).toMatch(/^npm run typecheck:test && vitest run /);
    expect(scripts['typecheck:test']).toBe('tsc -p test/tsconfig.json');
  });

  it('covers every test and bench file, strict, emitting nothing', () => {
    const listed = spawnSync(process.execPath, [tsc, '-p', 'test/tsconfig.json', '--listFilesOnly'], { cwd: root, encoding: 'utf8' });
    expect(listed.status, listed.stdout + listed.stderr).toBe(0);
    const checked = new Set(listed.stdout.split('\n').filter((l) => l !== '').map((l) => relative(root, l)));
    const expected = [...tsFiles('test'), ...tsFiles('native-bench/ts')];
    expect(expected.length).toBeGreaterThan(150);
    expect(expected.filter((f) => !checked.has(f))).toEqual([]);
    const shown = spawnSync(process.execPath, [tsc, '-p', 'test/tsconfig.json', '--showConfig'], { cwd: root, encoding: 'utf8' });
    expect(shown.status, shown.stderr).toBe(0);
    const options = (JSON.parse(shown.stdout) as { compilerOptions: Record<string, unknown> }).compilerOptions;
    expect(options).toMatchObject({ strict: true, noEmit: true, noImplicitOverride: true, noFallthroughCasesInSwitch: true });
  });
});
