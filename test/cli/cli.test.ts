import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCli, overridesFromFlags, runCli, splitReplayInputs, type CliIo } from '../../src/cli.js';
import { loadConfig, type ProbeConfig } from '../../src/ops/config.js';
import { opsRuntime } from '../../src/ops/runtime.js';
import { bundleCli } from './helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-cli-'));

interface Result {
  code: number | undefined;
  out: string;
  err: string;
}

/** Run the CLI in-process; `probe` stands in for the pipeline the lead wires (src/probe.ts). */
async function cli(args: string[], extra: Partial<CliIo> = {}): Promise<Result> {
  const r: Result = { code: undefined, out: '', err: '' };
  await runCli(['node', 'rtpprobe', ...args], {
    out: (t) => void (r.out += t),
    err: (t) => void (r.err += t),
    exit: (c) => void (r.code ??= c),
    env: {},
    stderrIsTty: false,
    ...extra,
  });
  return r;
}

function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe('rtpprobe CLI (in-process)', () => {
  it('--version prints the package version', async () => {
    const r = await cli(['--version']);
    expect(r.out.trim()).toBe(pkg.version);
    expect(r.code).toBe(0);
  });

  it('--help lists the commands, examples and exit codes', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['run', 'replay', 'interfaces', 'check-config']) expect(r.out).toContain(`  ${cmd}`);
    expect(r.out).toContain('Examples:');
    expect(r.out).toMatch(/Exit codes:[\s\S]*2 +usage or configuration error[\s\S]*3 +capture could not be opened[\s\S]*4 +input file/);
    const run = await cli(['run', '--help']);
    expect(run.out).toContain('--interface <name>');
    expect(run.out).toContain('--set <path=value>');
  });

  it('top --url that names no HTTP endpoint is a usage error (2), one line with the form', async () => {
    for (const url of ['ftp://probe1:9470', 'http://', ':9470']) {
      const r = await cli(['top', '--once', '--url', url]);
      expect(r.err).toBe(`rtpprobe: --url ${JSON.stringify(url)}: must be the probe's metrics endpoint as [http[s]://]host[:port], e.g. --url http://probe1:9470\n`);
      expect(r.code).toBe(2);
    }
  });

  it('an unknown command or option is a usage error (2) with a suggestion', async () => {
    const r = await cli(['chek-config']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('check-config');
    expect((await cli(['check-config', '--bogus'])).code).toBe(2);
  });

  it('check-config: 0 for the shipped file, 2 with every problem listed for a bad one', async () => {
    const ok = await cli(['check-config', '-c', join(root, 'config/rtpprobe.yaml')]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('configuration OK');
    const bad = await cli(['check-config', '-c', file('bad.yaml', 'reports:\n  interval_s: -5\ncaptur: {}\n')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('reports.interval_s: -5 is not allowed: must be a number from 1 to 86400');
    expect(bad.err).toContain('captur: unknown setting; did you mean capture?');
    const missing = await cli(['check-config', '-c', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/nope\.yaml: no such file/);
  });

  it('check-config takes every setting flag of run and checks the configuration run would start with', async () => {
    const longs = (name: string) => buildCli().commands.find((c) => c.name() === name)!.options.map((o) => o.long);
    expect(longs('check-config')).toEqual(expect.arrayContaining(longs('run')));
    const probe = { runLive: async () => 0, runReplay: async () => 0, listInterfaces: async () => [{ name: 'eth5', addresses: [], loopback: false, up: true }] };
    const r = await cli(['check-config', '--print', '-i', 'eth5', '--hep', 'tcp://10.9.9.9:9061', '--metrics-port', '9555', '--rule', 'name=poor;when=mos < 3'], { probe });
    expect(r.err).toBe('');
    const printed = loadConfig({ file: file('printed-flags.yaml', r.out) });
    expect(printed.capture.interface).toBe('eth5');
    expect(printed.hep.collectors.map((c) => [c.transport, c.host, c.port])).toEqual([['tcp', '10.9.9.9', 9061]]);
    expect(printed.metrics.port).toBe(9555);
    expect(printed.reports.rules.map((x) => x.name)).toEqual(['poor']);
    const wrong = await cli(['check-config', '-i', 'eth6'], { probe });
    expect(wrong.code).toBe(2);
    expect(wrong.err).toContain('capture.interface: "eth6" is not an interface of this host: use one of eth5');
    const jsonl = join(dir, 'no-such-dir', 'r.jsonl');
    const unwritable = await cli(['check-config', '--jsonl', jsonl], { probe });
    expect(unwritable.code).toBe(2);
    expect(unwritable.err).toBe(`rtpprobe: --jsonl ${jsonl}: the directory ${join(dir, 'no-such-dir')} does not exist: create it or name a file in an existing directory\n`);
  });

  it('check-config reads RTPPROBE_CONFIG and the environment, --set, and prints the effective configuration', async () => {
    const f = file('env.yaml', 'capture:\n  interface: eth5\n');
    const r = await cli(['check-config', '--print', '--set', 'rtp.max_streams=1000'], {
      env: { RTPPROBE_CONFIG: f, RTPPROBE_REPORTS_INTERVAL_S: '3' },
      probe: { runLive: async () => 0, runReplay: async () => 0, listInterfaces: async () => [{ name: 'eth5', addresses: [], loopback: false, up: true }] },
    });
    expect(r.code).toBe(0);
    expect(r.out).toContain('interface: eth5');
    expect(r.out).toContain('max_streams: 1000');
    expect(r.out).toContain('interval_s: 3');
    // What --print shows is itself a valid configuration file.
    expect(loadConfig({ file: file('printed.yaml', r.out) }).rtp.maxStreams).toBe(1000);
    const bad = await cli(['check-config', '--set', 'log.level=loud']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('(set by --set log.level)');
    expect((await cli(['check-config', '--set', 'nonsense'])).code).toBe(2);
  });

  it('--set reports.rules= empties the file\'s rules; --set reports.rules=TEXT is that one rule, as --rule', async () => {
    const f = file('rules.yaml', 'reports:\n  rules:\n    - { name: poor, when: "mos < 3.6" }\n    - { name: jittery, when: "max_jitter_ms > 30" }\n');
    const none = await cli(['check-config', '-c', f, '--print', '--set', 'reports.rules=']);
    expect(none.err).toBe('');
    expect(none.code).toBe(0);
    expect(loadConfig({ file: file('none.yaml', none.out) }).reports.rules).toEqual([]);
    const one = await cli(['check-config', '-c', f, '--print', '--set', 'reports.rules=name=lossy;when=loss_pct > 2;interval_s=2']);
    expect(one.code).toBe(0);
    expect(loadConfig({ file: file('one.yaml', one.out) }).reports.rules).toEqual([{ name: 'lossy', when: 'loss_pct > 2', intervalS: 2 }]);
    const bad = await cli(['check-config', '-c', f, '--set', 'reports.rules=lossy']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('reports.rules[0]: "lossy" is not key=value');
    expect(bad.err).toContain('(set by --set reports.rules)');
  });

  it('check-config also reports the checks src/probe.ts adds (threshold rules) and exits 2', async () => {
    const r = await cli(['check-config'], {
      probe: {
        runLive: async () => 0,
        runReplay: async () => 0,
        listInterfaces: async () => [],
        checkConfig: (c) => (c.reports.intervalS === 10 ? ['reports.rules[0].when: "mos <" is not allowed: must be a valid expression'] : []),
      },
    });
    expect(r.code).toBe(2);
    expect(r.err).toBe('rtpprobe: invalid configuration: reports.rules[0].when: "mos <" is not allowed: must be a valid expression\n');
  });

  it('check-config --env lists the variables', async () => {
    const r = await cli(['check-config', '--env']);
    expect(r.out.split('\n')).toContain('RTPPROBE_CAPTURE_INTERFACE');
    expect(r.out.split('\n')).toContain('RTPPROBE_RTP_HEURISTIC_MIN_CONSECUTIVE');
  });

  it('run without an interface is a usage error naming how to set one', async () => {
    const r = await cli(['run', '--no-hep']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('capture.interface: nothing set: give -i IFACE');
  });

  it('replay of a missing file exits 4 before the probe starts', async () => {
    let called = false;
    const r = await cli(['replay', join(dir, 'absent.pcap')], {
      probe: {
        runLive: async () => 0,
        listInterfaces: async () => [],
        runReplay: async () => {
          called = true;
          return 0;
        },
      },
    });
    expect(r.code).toBe(4);
    expect(r.err).toMatch(/absent\.pcap: no such file/);
    expect(called).toBe(false);
  });

  it('replay hands the files and the flag-derived configuration to the probe and exits with its code', async () => {
    const pcap = file('x.pcap', 'not really a pcap');
    let seen: { files: string[]; config: ProbeConfig; realtime: boolean } | undefined;
    const r = await cli(['replay', pcap, pcap, '--realtime', '--jsonl', '-', '--hep', 'tcp://10.9.9.9:9061', '--log-level', 'silent'], {
      probe: {
        runLive: async () => 0,
        listInterfaces: async () => [],
        runReplay: async (files, config, opts) => {
          seen = { files, config, realtime: opts.realtime };
          return 0;
        },
      },
    });
    expect(r.code).toBe(0);
    expect(seen!.files).toEqual([pcap, pcap]);
    expect(seen!.realtime).toBe(true);
    expect(seen!.config.reports.jsonl).toEqual({ enabled: true, path: '-' });
    expect(seen!.config.hep.collectors).toHaveLength(1);
    expect(seen!.config.hep.collectors[0]).toMatchObject({ host: '10.9.9.9', port: 9061, transport: 'tcp' });
    // Replay does not open the metrics port unless asked.
    expect(seen!.config.metrics.enabled).toBe(false);
  });

  it('options before the files take one value each: the files stay files', async () => {
    const pcap = file('o.pcap', 'x');
    let seen: { files: string[]; config: ProbeConfig } | undefined;
    const r = await cli(['replay', '--hep', 'tcp://10.9.9.9:9061', '--hep', 'udp://10.9.9.8', '--set', 'reports.interval_s=7', '--call-id', 'a@b', pcap, pcap], {
      probe: {
        runLive: async () => 0,
        listInterfaces: async () => [],
        runReplay: async (files, config) => {
          seen = { files, config };
          return 0;
        },
      },
    });
    expect(r.code).toBe(0);
    expect(seen!.files).toEqual([pcap, pcap]);
    expect(seen!.config.hep.collectors.map((c) => c.host)).toEqual(['10.9.9.9', '10.9.9.8']);
    expect(seen!.config.reports.intervalS).toBe(7);
  });

  it('replay sends HEP only with --hep: not by default, not from the configuration or environment', async () => {
    const pcap = file('y.pcap', 'not really a pcap');
    const configs: ProbeConfig[] = [];
    const probe = {
      runLive: async () => 0,
      listInterfaces: async () => [],
      runReplay: async (_files: string[], config: ProbeConfig) => {
        configs.push(config);
        return 0;
      },
    };
    const env = { RTPPROBE_HEP_COLLECTORS: 'udp://10.1.1.1:9060', RTPPROBE_HEP_ENABLED: 'true' };
    expect((await cli(['replay', pcap, '--log-level', 'silent'], { probe, env })).code).toBe(0);
    expect((await cli(['replay', pcap, '--log-level', 'silent', '--hep', 'udp://10.2.2.2:9060'], { probe, env })).code).toBe(0);
    expect(configs.map((c) => c.hep.enabled)).toEqual([false, true]);
    expect(configs[1]!.hep.collectors[0]).toMatchObject({ host: '10.2.2.2' });
  });

  it('a replay on a terminal draws a progress bar on stderr and ends the line', async () => {
    const pcap = file('z.pcap', 'x'.repeat(4096));
    const r = await cli(['replay', pcap, '--log-level', 'silent', '--no-hep'], {
      stderrIsTty: true,
      progressMinBytes: 1024,
      probe: {
        runLive: async () => 0,
        listInterfaces: async () => [],
        runReplay: async (_f, _c, opts) => {
          expect(opts.progress).toBeTypeOf('function');
          opts.progress!(1024, 4096);
          opts.progress!(4096, 4096);
          return 0;
        },
      },
    });
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/\r\[#{8}\.{22}\]  25\.0%/);
    expect(r.err).toMatch(/\r\[#{30}\] 100\.0%.*\n$/);
    // Not a terminal: no bar.
    const quiet = await cli(['replay', pcap, '--log-level', 'silent', '--no-hep'], {
      progressMinBytes: 1024,
      probe: { runLive: async () => 0, listInterfaces: async () => [], runReplay: async (_f, _c, opts) => (opts.progress ? 1 : 0) },
    });
    expect(quiet.code).toBe(0);
  });

  it('the progress bar ends its line before the probe logs or prints (progressEnd), once', async () => {
    const pcap = file('p.pcap', 'x'.repeat(4096));
    let afterEnd = '';
    const r = await cli(['replay', pcap, '--log-level', 'silent', '--no-hep'], {
      stderrIsTty: true,
      progressMinBytes: 1024,
      probe: {
        runLive: async () => 0,
        listInterfaces: async () => [],
        runReplay: async (_f, _c, opts) => {
          opts.progress!(2048, 4096);
          opts.progressEnd!();
          afterEnd = 'mark';
          return 0;
        },
      },
    });
    expect(r.code).toBe(0);
    expect(afterEnd).toBe('mark');
    expect(r.err).toMatch(/\r\[#{15}\.{15}\]  50\.0%.*\n$/);
    expect(r.err.match(/\n/g)).toHaveLength(1);
  });

  it('standard input and pipes get no progress bar, even on a terminal', async () => {
    let progress: unknown = 'unset';
    const r = await cli(['replay', '-', '--log-level', 'silent', '--no-hep'], {
      stderrIsTty: true,
      progressMinBytes: 0,
      probe: {
        runLive: async () => 0,
        listInterfaces: async () => [],
        runReplay: async (_f, _c, opts) => {
          progress = opts.progress;
          return 0;
        },
      },
    });
    expect(r.code).toBe(0);
    expect(progress).toBeUndefined();
  });

  it('replay words: capture files first, then the words of a BPF filter', () => {
    expect(splitReplayInputs([join(root, 'package.json'), 'host', '10.0.0.1'])).toEqual({ files: [join(root, 'package.json')], filter: 'host 10.0.0.1' });
    expect(splitReplayInputs(['-', 'missing.pcap.gz', 'udp port 5060'])).toEqual({ files: ['-', 'missing.pcap.gz'], filter: 'udp port 5060' });
    expect(splitReplayInputs(['typo'])).toEqual({ files: ['typo'], filter: '' });
  });

  it('check-config compiles capture.filter and checks capture.interface on this host', async () => {
    const probe = { runLive: async () => 0, runReplay: async () => 0, listInterfaces: async () => [{ name: 'eth1', addresses: [], loopback: false, up: true }, { name: 'any', addresses: [], loopback: false, up: true }] };
    const ok = await cli(['check-config', '--set', 'capture.interface=eth1', '--set', 'capture.filter=not port 22'], { probe });
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    const bad = await cli(['check-config', '--set', 'capture.interface=eth7', '--set', 'capture.filter=udp and hots'], { probe });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('  - capture.filter: "udp and hots" does not compile: syntax error in filter expression (see man pcap-filter)');
    expect(bad.err).toContain('  - capture.interface: "eth7" is not an interface of this host: use one of eth1 (see `rtpprobe interfaces`)');
  });

  it('run on an interface this host does not have: exit 3, one line', async () => {
    let started = false;
    const r = await cli(['run', '-i', 'eth7', '--no-hep'], {
      probe: {
        runReplay: async () => 0,
        listInterfaces: async () => [{ name: 'eth1', addresses: [], loopback: false, up: true }],
        runLive: async () => {
          started = true;
          return 0;
        },
      },
    });
    expect(r.code).toBe(3);
    expect(r.err).toBe('rtpprobe: capture.interface: "eth7" is not an interface of this host: use one of eth1 (see `rtpprobe interfaces`)\n');
    expect(started).toBe(false);
  });

  it('run with a BPF filter libpcap refuses: exit 2 before the capture opens, one line', async () => {
    const r = await cli(['run', '-i', 'eth1', '-f', 'udp and hots', '--no-hep'], {
      probe: { runReplay: async () => 0, listInterfaces: async () => [{ name: 'eth1', addresses: [], loopback: false, up: true }], runLive: async () => 0 },
    });
    expect(r.code).toBe(2);
    expect(r.err).toBe('rtpprobe: capture filter "udp and hots": syntax error in filter expression: fix the expression (see man pcap-filter)\n');
    // The README's exit-code table says the same.
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const rows = readme.split('\n').filter((l) => /^\| \d+ \|/.test(l) && /BPF filter/.test(l));
    expect(rows.map((l) => Number(l.split('|')[1]))).toEqual([r.code]);
  });

  it('an unexpected error is one line (the stack only with --log-level debug)', async () => {
    const boom = { runLive: async () => 0, listInterfaces: async () => { throw Object.assign(new TypeError('boom'), { exitCode: 1 }); }, runReplay: async () => 0 };
    // interfaces maps its own failures; check-config's host checks note them; a thrown error reaches runCli via the probe's checkConfig.
    const r = await cli(['check-config'], { probe: { ...boom, checkConfig: () => { throw new TypeError('boom'); } } });
    expect(r.code).toBe(1);
    expect(r.err).toBe('rtpprobe: boom (unexpected: run with --log-level debug for details and report it)\n');
    const d = await cli(['check-config'], { env: { RTPPROBE_LOG_LEVEL: 'debug' }, probe: { ...boom, checkConfig: () => { throw new TypeError('boom'); } } });
    expect(d.err).toMatch(/^rtpprobe: TypeError: boom\n +at /);
  });

  it('a probe error is mapped to its exit code (CaptureFileError -> 4)', async () => {
    const pcap = file('y.pcap', 'x');
    const r = await cli(['replay', pcap, '--log-level', 'silent', '--no-hep'], {
      probe: {
        runLive: async () => 0,
        listInterfaces: async () => [],
        runReplay: async () => {
          const e = new Error('truncated record');
          e.name = 'CaptureFileError';
          throw e;
        },
      },
    });
    expect(r.code).toBe(4);
  });

  it('interfaces prints a header, one line per interface, and hides pseudo-devices unless --all', async () => {
    const r = await cli(['interfaces'], {
      probe: {
        runLive: async () => 0,
        runReplay: async () => 0,
        listInterfaces: async () => [
          { name: 'eth1', addresses: ['10.0.0.2'], loopback: false, up: true },
          { name: 'lo', addresses: ['127.0.0.1'], loopback: true, up: true },
          { name: 'any', addresses: [], loopback: false, up: true },
          { name: 'nflog', addresses: [], loopback: false, up: false },
        ],
      },
    });
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^NAME +STATE +ADDRESSES$/);
    expect(lines[1]).toMatch(/^eth1 +up +10\.0\.0\.2$/);
    expect(lines[2]).toMatch(/^lo +up, loopback +127\.0\.0\.1$/);
    expect(lines[3]).toBe('(2 pseudo-devices such as any and nflog not shown: --all lists them)');
    expect(r.out).not.toMatch(/^(any|nflog) /m);
    const all = await cli(['interfaces', '--all'], { probe: { runLive: async () => 0, runReplay: async () => 0, listInterfaces: async () => [{ name: 'any', addresses: [], loopback: false, up: true }] } });
    expect(all.out).toMatch(/^any +up$/m);
  });
});

describe('run wires logs, lifecycle and metrics for the probe', () => {
  it('the probe finds the runtime, /healthz answers on the bound port, stop steps run, the probe code is the exit code', async () => {
    const steps: string[] = [];
    let health: { status: number; body: { capture: { running: boolean } } } | undefined;
    let port = 0;
    const r = await cli(['run', '-i', 'eth9', '--no-hep', '--metrics-port', '0', '--log-level', 'silent'], {
      probe: {
        runReplay: async () => 0,
        listInterfaces: async () => [{ name: 'eth9', addresses: [], loopback: false, up: true }],
        runLive: async (config) => {
          expect(config.capture.interface).toBe('eth9');
          const rt = opsRuntime()!;
          rt.lifecycle.onStop('capture', () => void steps.push('capture'));
          rt.metrics!.setCaptureState('running');
          port = rt.metricsServer!.port;
          const res = await fetch(`http://127.0.0.1:${port}/healthz`);
          health = { status: res.status, body: (await res.json()) as { capture: { running: boolean } } };
          return 3;
        },
      },
    });
    expect(r.code).toBe(3);
    expect(health).toEqual({ status: 200, body: expect.objectContaining({ capture: expect.objectContaining({ running: true }) }) });
    expect(steps).toEqual(['capture']);
    // The metrics endpoint was closed by the last stop step.
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });
});

describe('flags map onto configuration overrides', () => {
  it('each flag sets its documented path', () => {
    const { overrides, origins } = overridesFromFlags({
      interface: 'eth2',
      filter: 'udp',
      hepType: '34',
      metricsPort: '9191',
      metricsListen: '0.0.0.0',
      logLevel: 'debug',
      logFormat: 'json',
      user: 'rtpprobe',
      set: ['rtp.max_streams=5000'],
    });
    const c = loadConfig({ overrides, origins });
    expect(c.capture.interface).toBe('eth2');
    expect(c.capture.filter).toBe('udp');
    expect(c.reports.qosHepType).toBe(34);
    expect(c.metrics.port).toBe(9191);
    expect(c.metrics.listen).toBe('0.0.0.0');
    expect(c.log).toMatchObject({ level: 'debug', format: 'json' });
    expect(c.process.user).toBe('rtpprobe');
    expect(c.rtp.maxStreams).toBe(5000);
    expect(loadConfig(overridesFromFlags({ hep: false })).hep.enabled).toBe(false);
  });
});

describe('the real entry point (bundled, run with node)', () => {
  let bundle = '';
  beforeAll(async () => {
    ({ bundle } = await bundleCli());
  });

  const run = (...args: string[]) => spawnSync(process.execPath, [bundle, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });

  it('--version, check-config exit codes and a usage error from a real process', () => {
    const v = run('--version');
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
    expect(run('check-config', '-c', join(root, 'config/rtpprobe.yaml')).status).toBe(0);
    const bad = run('check-config', '-c', file('bad2.yaml', 'log: { level: loud }\n'));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('log.level: "loud" is not allowed');
    expect(run('frobnicate').status).toBe(2);
    expect(run('replay', join(dir, 'none.pcap')).status).toBe(4);
  });
});
