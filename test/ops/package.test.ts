/**
 * What `npm pack` ships and what the install step does: the package carries the built JavaScript, the
 * native addon's sources (built at install), the configuration files and the licence, and nothing of the
 * development tree; the install step fails loudly when the addon cannot be built unless the cap fallback
 * is asked for.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  license: string;
  repository: { url: string };
  scripts: Record<string, string>;
  bin: Record<string, string>;
};

describe('npm package', () => {
  it('ships dist, the addon sources, config and LICENSE; no tests, TypeScript sources, benches or build output', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    for (const f of ['LICENSE', 'README.md', 'package.json', pkg.bin.rtpprobe, 'dist/probe.js', 'dist/gen/scenario-cli.js', 'src/capture/native/binding.gyp', 'src/capture/native/rtpprobe_pcap.c', 'config/rtpprobe.yaml', 'config/rtpprobe.service']) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('native-bench/') || f.startsWith('dist/bench/') || f.endsWith('.ts') || f.endsWith('.map') || f.includes('/build/'))).toEqual([]);
    // The product's own files (202 at the time of writing): a bound that catches a whole tree shipped by mistake.
    expect(files.length).toBeLessThan(300);
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    expect(pkg.repository.url).toMatch(/^git\+https:\/\/github\.com\//);
  });

  it('the install step builds the addon and fails with one line naming the fix when it cannot, unless RTPPROBE_ALLOW_CAP is set', () => {
    const install = pkg.scripts.install!;
    expect(install.startsWith('node-gyp rebuild --directory src/capture/native ||')).toBe(true);
    // The same script with a node-gyp that fails (no compiler, no libpcap headers).
    const failing = install.replace(/^node-gyp rebuild --directory src\/capture\/native/, 'false');
    const env = { ...process.env };
    delete env.RTPPROBE_ALLOW_CAP;
    const refused = spawnSync('sh', ['-c', failing], { encoding: 'utf8', env });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain('apt-get install g++ make python3 libpcap-dev');
    const allowed = spawnSync('sh', ['-c', failing], { encoding: 'utf8', env: { ...env, RTPPROBE_ALLOW_CAP: '1' } });
    expect(allowed.status).toBe(0);
    expect(pkg.scripts['build:native']).not.toContain('||'); // the build never hides a failed addon either
  });
});
