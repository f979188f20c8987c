/**
 * No container engine runs in CI, so this keeps the Dockerfile from drifting away from what is tested:
 * its build stage must run the same commands as .ci/setup, install build packages .ci/setup installs,
 * ship the runtime library the -dev package really depends on (asked of dpkg), and agree with the
 * configuration defaults (metrics port, config path, environment variable names).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultConfig, loadConfig } from '../../src/ops/config.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const setup = readFileSync(join(root, '.ci/setup'), 'utf8');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string }; bin: Record<string, string> };

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string;
  instructions: Instruction[];
}

/** Instructions per stage, with line continuations joined and comments dropped. */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) && cur === '') continue;
    if (/^\s*#/.test(line)) continue; // comment inside a continuation
    if (line.endsWith('\\')) {
      cur += `${line.slice(0, -1)} `;
      continue;
    }
    cur += line;
    if (cur.trim() !== '') logical.push(cur.trim());
    cur = '';
  }
  const stages: Stage[] = [];
  for (const l of logical) {
    const m = /^(\w+)\s+([\s\S]*)$/.exec(l);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    const args = m[2]!.replace(/\s+/g, ' ').trim();
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args)!;
      stages.push({ from: f[1]!, name: f[2] ?? String(stages.length), instructions: [] });
    } else stages[stages.length - 1]!.instructions.push({ op, args });
  }
  return stages;
}

/** Shell commands of a stage's RUN steps, split on && and ;. */
function commands(stage: Stage): string[] {
  return stage.instructions
    .filter((i) => i.op === 'RUN')
    .flatMap((i) => i.args.split(/&&|;/))
    .map((c) => c.replace(/\s+/g, ' ').trim())
    .filter((c) => c !== '');
}

function aptInstalled(stage: Stage): string[] {
  return commands(stage)
    .filter((c) => /^apt-get install\b/.test(c))
    .flatMap((c) => c.split(' ').slice(2).filter((w) => !w.startsWith('-')));
}

const stages = parseDockerfile(dockerfile);
const buildStage = stages.find((s) => s.name === 'build')!;
const runtime = stages[stages.length - 1]!;
const setupPackages = /packages=\(([^)]*)\)/.exec(setup)![1]!.split(/\s+/).filter((p) => p !== '');
const setupNpm = setup
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => /^npm\s/.test(l));

describe('Dockerfile stays in step with .ci/setup and the configuration', () => {
  it('has a build stage and a slim runtime stage on the same Node major and Debian release', () => {
    expect(stages.length).toBe(2);
    expect(buildStage).toBeDefined();
    const major = /(\d+)/.exec(pkg.engines.node)![1];
    expect(buildStage.from).toBe(`node:${major}-bookworm`);
    // Same Debian release: the native addon is built against the libpcap the runtime installs.
    expect(runtime.from).toBe(`node:${major}-bookworm-slim`);
  });

  it('the build stage runs the npm commands of .ci/setup, in the same order, then prunes dev dependencies', () => {
    expect(setupNpm.length).toBeGreaterThanOrEqual(2);
    const cmds = commands(buildStage);
    const at = setupNpm.map((c) => cmds.indexOf(c));
    for (let i = 0; i < setupNpm.length; i++) expect(at[i], `"${setupNpm[i]}" missing from the build stage`).toBeGreaterThanOrEqual(0);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    const prune = cmds.findIndex((c) => c.startsWith('npm prune --omit=dev'));
    expect(prune).toBeGreaterThan(Math.max(...at));
  });

  it('the build stage installs only packages .ci/setup installs, including libpcap-dev and the node-gyp tools', () => {
    const apt = aptInstalled(buildStage);
    expect(apt).toEqual(expect.arrayContaining(['libpcap-dev', 'python3', 'make', 'g++']));
    for (const p of apt) expect(setupPackages, `${p} is installed by the Dockerfile but not by .ci/setup`).toContain(p);
  });

  it.runIf(spawnSync('dpkg-query', ['--version']).status === 0)('the runtime stage installs the library libpcap-dev depends on (per dpkg)', () => {
    // Follow libpcap-dev's dependencies to the non -dev libpcap package (libpcap-dev -> libpcap0.8-dev -> libpcap0.8).
    let name = 'libpcap-dev';
    for (let i = 0; i < 5 && name.endsWith('-dev'); i++) {
      const deps = spawnSync('dpkg-query', ['-W', '-f=${Depends}', name], { encoding: 'utf8' }).stdout;
      const next = deps
        .split(',')
        .map((d) => d.trim().split(/[\s(]/)[0]!)
        .find((d) => d.startsWith('libpcap'));
      expect(next, `no libpcap dependency of ${name}`).toBeDefined();
      name = next!;
    }
    expect(aptInstalled(runtime)).toContain(name);
  });

  it('runs as a non-root user with capabilities on the probe binary only', () => {
    const user = runtime.instructions.filter((i) => i.op === 'USER').pop();
    expect(user?.args).toBe('rtpprobe');
    const setcap = commands(runtime).find((c) => c.startsWith('setcap '));
    expect(setcap).toMatch(/cap_net_raw,cap_net_admin\+eip (\S+)/);
    const capped = /\+eip (\S+)/.exec(setcap!)![1]!;
    const entry = JSON.parse(runtime.instructions.find((i) => i.op === 'ENTRYPOINT')!.args) as string[];
    expect(entry[0]).toBe(capped);
    // The script run is the package's bin.
    expect(entry[1]).toBe(`/opt/rtpprobe/${pkg.bin.rtpprobe}`);
  });

  it('environment, exposed port, healthcheck and config path agree with the configuration', () => {
    const envArgs = runtime.instructions.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
    const env: Record<string, string> = {};
    for (const m of envArgs.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
    // Every RTPPROBE_ variable the image sets is a valid setting (a typo would fail here).
    const cfg = loadConfig({ env });
    expect(cfg.metrics.listen).toBe('0.0.0.0');
    const port = defaultConfig().metrics.port;
    expect(runtime.instructions.find((i) => i.op === 'EXPOSE')?.args).toBe(String(port));
    const health = runtime.instructions.find((i) => i.op === 'HEALTHCHECK')!.args;
    expect(health).toContain('/healthz');
    expect(health).toContain(String(port));
    const cmd = JSON.parse(runtime.instructions.find((i) => i.op === 'CMD')!.args) as string[];
    expect(cmd.slice(0, 1)).toEqual(['run']);
    expect(cmd[cmd.indexOf('-c') + 1]).toBe(env.RTPPROBE_CONFIG);
    const copyConfig = runtime.instructions.find((i) => i.op === 'COPY' && i.args.includes('config/rtpprobe.yaml'));
    expect(copyConfig?.args.split(' ').pop()).toBe(env.RTPPROBE_CONFIG);
  });

  it.runIf(existsSync(join(root, 'README.md')))('npm install/build commands in the README are the ones the Dockerfile runs', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const npmLines = blocks
      .flatMap((b) => b.split('\n'))
      .map((l) => l.replace(/^\$\s*/, '').trim())
      .filter((l) => /^npm (ci|install|run build)\b/.test(l) && !/^npm install\s+\S/.test(l));
    const cmds = commands(buildStage);
    for (const l of npmLines) {
      const verb = l.split(' ').slice(0, l.startsWith('npm run') ? 3 : 2).join(' ');
      expect(cmds.some((c) => c.startsWith(verb)), `README runs "${l}" but the Dockerfile does not`).toBe(true);
    }
  });
});
