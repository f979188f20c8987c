/**
 * No container engine runs in CI, so this keeps the Dockerfile from drifting away from what is tested:
 * its build stage must run the same commands as `.ci/setup --runtime`, install build packages .ci/setup
 * installs, ship the runtime library the -dev package really depends on (asked of dpkg), run on the Node
 * version the suite is also run on, and agree with the configuration defaults (metrics port, config
 * path, environment variable names). The image's entry script and health check are run here for real.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
const listOf = (name: string) => new RegExp(`\\b${name}=\\(([^)]*)\\)`).exec(setup)![1]!.split(/\s+/).filter((p) => p !== '');
const runtimePackages = listOf('runtime_packages');
const setupPackages = [...runtimePackages, ...listOf('test_packages')];
/** The npm commands of `.ci/setup --runtime` (its runtime block). */
const runtimeBlock = /if \[ "\$mode" = runtime \]; then([\s\S]*?)\nfi/.exec(setup)![1]!;
const setupNpm = runtimeBlock
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => /^npm\s/.test(l));

/** The entry script the runtime stage writes with printf, as lines. */
function entryScript(): string {
  const run = runtime.instructions.find((i) => i.op === 'RUN' && i.args.includes('/usr/local/bin/rtpprobe'))!.args;
  const printf = /printf '%s\\n' (.*?) > \/usr\/local\/bin\/rtpprobe/.exec(run)![1]!;
  return [...printf.matchAll(/'([^']*)'/g)].map((m) => m[1]!).join('\n') + '\n';
}

/** The entry script with the image's paths pointed at this checkout and a config directory of the test's. */
function localEntry(configDir: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-entry-'));
  const script = entryScript().replaceAll('/etc/rtpprobe', configDir).replace('node /opt/rtpprobe/', `${process.execPath} ${root}`);
  writeFileSync(join(dir, 'rtpprobe'), script);
  chmodSync(join(dir, 'rtpprobe'), 0o755);
  return dir;
}

describe('Dockerfile stays in step with .ci/setup and the configuration', () => {
  it('has a build stage and a slim runtime stage on one pinned Node LTS (>= 24), the one .ci/setup tests with', () => {
    expect(stages.length).toBe(2);
    expect(buildStage).toBeDefined();
    const m = /^node:(\d+)\.(\d+)\.(\d+)-bookworm$/.exec(buildStage.from);
    expect(m, buildStage.from).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(24);
    expect(Number(m![1]) % 2).toBe(0); // even majors are the LTS lines
    const version = `${m![1]}.${m![2]}.${m![3]}`;
    // Same Debian release: the native addon is built against the libpcap the runtime installs.
    expect(runtime.from).toBe(`node:${version}-bookworm-slim`);
    expect(/NODE24_VERSION=(\S+)/.exec(setup)?.[1]).toBe(version);
    expect(Number(m![1])).toBeGreaterThanOrEqual(Number(/(\d+)/.exec(pkg.engines.node)![1]));
  });

  it('the build stage runs the npm commands of .ci/setup --runtime, in the same order; npm ci sees the addon sources', () => {
    expect(setupNpm).toEqual(['npm ci --no-audit --no-fund', 'npm run build', 'npm prune --omit=dev --no-audit --no-fund']);
    const cmds = commands(buildStage);
    const at = setupNpm.map((c) => cmds.indexOf(c));
    for (let i = 0; i < setupNpm.length; i++) expect(at[i], `"${setupNpm[i]}" missing from the build stage`).toBeGreaterThanOrEqual(0);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    // package.json's install step builds the native addon during npm ci: its sources are copied first.
    const order = buildStage.instructions.map((i) => `${i.op} ${i.args}`);
    const copyNative = order.findIndex((l) => l.startsWith('COPY src/capture/native'));
    const npmCi = order.findIndex((l) => l.startsWith('RUN npm ci'));
    expect(copyNative).toBeGreaterThanOrEqual(0);
    expect(copyNative).toBeLessThan(npmCi);
  });

  it('the build stage installs only packages .ci/setup --runtime installs, including libpcap-dev and the node-gyp tools', () => {
    const apt = aptInstalled(buildStage);
    expect(apt).toEqual(expect.arrayContaining(['libpcap-dev', 'python3', 'make', 'g++']));
    for (const p of apt) expect(runtimePackages, `${p} is installed by the Dockerfile but not by .ci/setup --runtime`).toContain(p);
    for (const p of ['tshark', 'kamailio', 'gstreamer1.0-tools']) expect(runtimePackages).not.toContain(p);
    expect(setupPackages).toContain('tshark');
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

  it('one node binary without file capabilities; run switches to user rtpprobe after opening the capture', () => {
    const all = [...commands(buildStage), ...commands(runtime)];
    expect(all.some((c) => c.startsWith('setcap') || /\bcp\b.*\bnode\b/.test(c))).toBe(false);
    expect(commands(runtime).some((c) => c.startsWith('useradd') && c.endsWith(' rtpprobe'))).toBe(true);
    const entry = JSON.parse(runtime.instructions.find((i) => i.op === 'ENTRYPOINT')!.args) as string[];
    expect(entry).toEqual(['/usr/local/bin/rtpprobe']);
    expect(entryScript()).toContain(`exec node /opt/rtpprobe/${pkg.bin.rtpprobe} "$@"`);
    const envArgs = runtime.instructions.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
    expect(envArgs).toContain('RTPPROBE_PROCESS_USER=rtpprobe');
    expect(runtime.instructions.some((i) => i.op === 'USER')).toBe(false); // starts as root, drops after the capture opens
    expect(runtime.instructions.some((i) => i.op === 'VOLUME')).toBe(false); // an anonymous volume would hide a bind mount's emptiness
  });

  it('the entry script uses /etc/rtpprobe/rtpprobe.yaml when the mounted directory has it, the defaults when it is empty', () => {
    const conf = mkdtempSync(join(tmpdir(), 'rtpprobe-etc-'));
    const bin = localEntry(conf);
    const env = { ...process.env, RTPPROBE_CONFIG: '' };
    delete (env as Record<string, string | undefined>).RTPPROBE_CONFIG;
    const empty = spawnSync('sh', [join(bin, 'rtpprobe'), 'check-config'], { encoding: 'utf8', env });
    expect(empty.status, empty.stderr).toBe(0);
    expect(empty.stdout).toBe('configuration OK (built-in defaults)\n');
    writeFileSync(join(conf, 'rtpprobe.yaml'), 'reports:\n  interval_s: 7\n');
    const withFile = spawnSync('sh', [join(bin, 'rtpprobe'), 'check-config', '--print'], { encoding: 'utf8', env });
    expect(withFile.status, withFile.stderr).toBe(0);
    expect(withFile.stdout).toContain('interval_s: 7');
  });

  it('the health check asks /healthz only when the container runs `run` (replay has no metrics endpoint)', () => {
    const health = JSON.parse(runtime.instructions.find((i) => i.op === 'HEALTHCHECK')!.args.replace(/^.*?CMD /, '')) as string[];
    expect(health.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    const bin = localEntry(mkdtempSync(join(tmpdir(), 'rtpprobe-etc-')));
    const check = (cmdline: string[], env: Record<string, string>) => {
      const f = join(mkdtempSync(join(tmpdir(), 'rtpprobe-proc-')), 'cmdline');
      writeFileSync(f, `${cmdline.join('\0')}\0`);
      return spawnSync('/bin/sh', ['-c', health[2]!.replaceAll('/proc/1/cmdline', f)], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...env } });
    };
    const closedPort = { RTPPROBE_METRICS_PORT: '1', RTPPROBE_METRICS_LISTEN: '127.0.0.1' };
    expect(check(['node', '/opt/rtpprobe/dist/cli.js', 'replay', '/data/x.pcap'], closedPort).status).toBe(0);
    expect(check(['node', '/opt/rtpprobe/dist/cli.js', 'run'], closedPort).status).toBe(1); // nothing answers
    expect(check(['node', '/opt/rtpprobe/dist/cli.js', 'run'], { ...closedPort, RTPPROBE_METRICS_ENABLED: 'false' }).status).toBe(0);
  });

  it('environment and exposed port agree with the configuration; .dockerignore keeps builds clean', () => {
    const envArgs = runtime.instructions.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
    const env: Record<string, string> = {};
    for (const m of envArgs.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
    // Every RTPPROBE_ variable the image sets is a valid setting (a typo would fail here).
    const cfg = loadConfig({ env });
    expect(cfg.metrics.listen).toBe('0.0.0.0');
    expect(cfg.process.user).toBe('rtpprobe');
    expect(runtime.instructions.find((i) => i.op === 'EXPOSE')?.args).toBe(String(defaultConfig().metrics.port));
    const cmd = JSON.parse(runtime.instructions.find((i) => i.op === 'CMD')!.args) as string[];
    expect(cmd).toEqual(['run']);
    const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const p of ['node_modules', 'dist', '.git', 'src/capture/native/build']) expect(ignore).toContain(p);
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
