#!/usr/bin/env node
/**
 * The rtpprobe command. `buildCli()` builds the commander program without running it, so tests parse argv
 * in-process; `main()` runs when this file is the entry point.
 */
import { readFileSync, statSync, accessSync, constants as fsConstants, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { stringify } from 'yaml';
import {
  ConfigError,
  loadConfig,
  environmentVariables,
  type LoadConfigOptions,
  type ProbeConfig,
} from './ops/config.js';
import { ExitCode } from './ops/exit-codes.js';
import { Lifecycle, exitCodeFor } from './ops/lifecycle.js';
import { createLogger, type Logger } from './ops/log.js';
import type { ProbeMetrics } from './ops/metrics.js';
import type { MetricsServer } from './ops/http.js';
import { checkCaptureCapabilities } from './ops/privileges.js';
import { setOpsRuntime } from './ops/runtime.js';
import * as probe from './probe.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Ends the command with a code (process.exit outside tests). */
  exit(code: number): void;
  env: Record<string, string | undefined>;
  /** Whether standard error is a terminal (progress bar, pretty logs). */
  stderrIsTty: boolean;
  probe: Pick<typeof probe, 'runLive' | 'runReplay' | 'listInterfaces'> & Partial<Pick<typeof probe, 'checkConfig'>>;
  /** Replays of at least this many bytes get a progress bar when stderr is a terminal. */
  progressMinBytes: number;
}

function defaultIo(): CliIo {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    exit: (code) => process.exit(code),
    env: process.env,
    stderrIsTty: Boolean(process.stderr.isTTY),
    probe,
    progressMinBytes: 50 * 1024 * 1024,
  };
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Flags shared by run and replay, as written by commander (camelCase of the long flag). */
export interface SettingFlags {
  config?: string;
  interface?: string;
  filter?: string;
  /** Collector URIs; false with --no-hep (commander pairs --hep/--no-hep). */
  hep?: string[] | false;
  hepType?: string;
  jsonl?: string;
  metricsPort?: string;
  metricsListen?: string;
  logLevel?: string;
  logFormat?: string;
  user?: string;
  set?: string[];
  /** Alert rules as `name=...;when=...;interval_s=...`, replacing reports.rules. */
  rule?: string[];
}

const FLAG_PATHS: Array<[keyof SettingFlags, string, string]> = [
  ['interface', 'capture.interface', '--interface'],
  ['filter', 'capture.filter', '--filter'],
  ['hepType', 'reports.qos_hep_type', '--hep-type'],
  ['metricsPort', 'metrics.port', '--metrics-port'],
  ['metricsListen', 'metrics.listen', '--metrics-listen'],
  ['logLevel', 'log.level', '--log-level'],
  ['logFormat', 'log.format', '--log-format'],
  ['user', 'process.user', '--user'],
];

/** Turn command-line flags into loadConfig overrides (dotted YAML paths) and their origins. */
export function overridesFromFlags(flags: SettingFlags): { overrides: Record<string, unknown>; origins: Record<string, string>; problems: string[] } {
  const overrides: Record<string, unknown> = {};
  const origins: Record<string, string> = {};
  const problems: string[] = [];
  for (const s of flags.set ?? []) {
    const eq = s.indexOf('=');
    if (eq <= 0) {
      problems.push(`--set ${JSON.stringify(s)}: must be path=value, e.g. --set reports.interval_s=5`);
      continue;
    }
    const key = s.slice(0, eq).trim();
    overrides[key] = s.slice(eq + 1);
    origins[key] = `--set ${key}`;
  }
  for (const [flag, path, name] of FLAG_PATHS) {
    const v = flags[flag];
    if (typeof v === 'string') {
      overrides[path] = v;
      origins[path] = name;
    }
  }
  if (Array.isArray(flags.hep) && flags.hep.length) {
    overrides['hep.collectors'] = flags.hep;
    overrides['hep.enabled'] = 'true';
    origins['hep.collectors'] = '--hep';
  }
  if (flags.hep === false) {
    overrides['hep.enabled'] = 'false';
    origins['hep.enabled'] = '--no-hep';
  }
  if (flags.rule?.length) {
    overrides['reports.rules'] = flags.rule;
    origins['reports.rules'] = '--rule';
  }
  if (typeof flags.jsonl === 'string') {
    overrides['reports.jsonl.enabled'] = 'true';
    overrides['reports.jsonl.path'] = flags.jsonl;
    origins['reports.jsonl.path'] = '--jsonl';
  }
  return { overrides, origins, problems };
}

function configSource(flags: SettingFlags, env: Record<string, string | undefined>): string | undefined {
  return flags.config ?? (env.RTPPROBE_CONFIG ? env.RTPPROBE_CONFIG : undefined);
}

/** Resolve the configuration for a command; reports problems and returns undefined on failure. */
function resolveConfig(io: CliIo, flags: SettingFlags, extra: Record<string, unknown> = {}): { config: ProbeConfig; options: LoadConfigOptions } | undefined {
  const { overrides, origins, problems } = overridesFromFlags(flags);
  if (problems.length) {
    io.err(`rtpprobe: ${problems.join('\n')}\n`);
    return undefined;
  }
  const options: LoadConfigOptions = { file: configSource(flags, io.env), env: io.env, overrides: { ...extra, ...overrides }, origins };
  try {
    return { config: loadCheckedConfig(io, options), options };
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`rtpprobe: ${err.message}\n`);
      return undefined;
    }
    throw err;
  }
}

function addSettingOptions(cmd: Command, live: boolean): Command {
  cmd
    .option('-c, --config <file>', 'configuration file (YAML or JSON); default $RTPPROBE_CONFIG, else built-in defaults')
    .option('--hep <uri...>', 'HEP collector(s) as [udp|tcp|tls://]host[:port], replacing hep.collectors')
    .option('--no-hep', 'do not send HEP (hep.enabled false)')
    .addOption(new Option('--hep-type <type>', 'HEP type of QoS reports (reports.qos_hep_type)').choices(['35', '34', '99']))
    .option('--jsonl <path>', "also write reports as JSON lines to a file ('-' = stdout)")
    .option('--log-level <level>', 'trace, debug, info, warn, error, fatal, silent')
    .option('--log-format <format>', 'json, pretty or auto')
    .option('--set <path=value...>', 'any setting by its YAML path, e.g. --set rtp.max_streams=80000', (v: string, prev: string[] = []) => [...prev, v])
    .option('--rule <rule>', "alert rule 'name=NAME;when=EXPR;interval_s=N' (repeat for more; replaces reports.rules)", (v: string, prev: string[] = []) => [...prev, v]);
  if (live) {
    cmd
      .option('-i, --interface <name>', 'interface to sniff (capture.interface)')
      .option('-f, --filter <bpf>', 'BPF filter (capture.filter)')
      .option('--metrics-port <port>', 'metrics/health port (metrics.port)')
      .option('--metrics-listen <addr>', 'metrics/health address (metrics.listen)')
      .option('--user <name>', 'user to switch to once capture is open (process.user)');
  }
  return cmd;
}

/** Set up logs, lifecycle, metrics; run `main` through the lifecycle (which exits). */
/**
 * The configuration plus the checks other modules own (threshold expressions, wired in src/probe.ts):
 * a start and a reload are refused alike when any fails.
 */
function loadCheckedConfig(io: CliIo, options: LoadConfigOptions): ProbeConfig {
  const config = loadConfig(options);
  const more = io.probe.checkConfig?.(config) ?? [];
  if (more.length) throw new ConfigError(more.map((message) => ({ path: '', message })), options.file);
  return config;
}

async function runWithOps(io: CliIo, config: ProbeConfig, options: LoadConfigOptions, main: (log: Logger) => Promise<number>): Promise<void> {
  const log = createLogger(config.log, { isTty: io.stderrIsTty });
  const lifecycle = new Lifecycle({
    log,
    deadlineMs: config.process.shutdownDeadlineMs,
    config,
    reload: options.file !== undefined ? () => loadCheckedConfig(io, options) : undefined,
    exit: io.exit,
  });
  let metrics: ProbeMetrics | undefined;
  let server: MetricsServer | undefined;
  if (config.metrics.enabled) {
    // prom-client is loaded only when metrics are on: ~45 ms of start-up a replay does not need by default.
    const [{ ProbeMetrics }, { startMetricsServer }] = await Promise.all([import('./ops/metrics.js'), import('./ops/http.js')]);
    metrics = new ProbeMetrics();
    try {
      server = await startMetricsServer(metrics, config.metrics);
      log.info({ listen: server.address, port: server.port }, 'metrics and health endpoint listening');
      const s = server;
      lifecycle.onStop('metrics endpoint', () => s.close(), 100);
    } catch (err) {
      log.error({ err }, `metrics endpoint: cannot listen on ${config.metrics.listen}:${config.metrics.port}`);
      io.exit(ExitCode.RUNTIME);
      return;
    }
  }
  setOpsRuntime({ log, lifecycle, metrics, metricsServer: server });
  lifecycle.install();
  await lifecycle.run(() => main(log));
}

export function buildCli(ioOverrides: Partial<CliIo> = {}): Command {
  const io: CliIo = { ...defaultIo(), ...ioOverrides };
  const program = new Command('rtpprobe');
  program
    .description('Edge RTP/RTCP quality probe: per-stream loss, jitter and MOS, correlated to SIP calls, reported to HOMER over HEP v3.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride()
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `
Examples:
  rtpprobe run -i eth1 -c /etc/rtpprobe/rtpprobe.yaml
  rtpprobe run -i eth1 --hep udp://homer.example.net:9060 --set reports.interval_s=5
  rtpprobe replay call.pcap --jsonl -
  rtpprobe replay day1.pcapng day2.pcapng --realtime --hep tcp://10.0.0.5:9061
  rtpprobe interfaces
  rtpprobe check-config -c /etc/rtpprobe/rtpprobe.yaml

Settings come from the file, then environment variables RTPPROBE_<SECTION>_<KEY>
(e.g. RTPPROBE_CAPTURE_INTERFACE=eth1, RTPPROBE_REPORTS_INTERVAL_S=5,
RTPPROBE_HEP_COLLECTORS=udp://h1:9060,tls://h2:9061), then flags.
${environmentVariables().length} environment variables are recognised: see \`rtpprobe check-config --env\`.

Exit codes:
  0  ok (replay finished, or stopped by SIGTERM/SIGINT within the shutdown deadline)
  1  runtime error (or the shutdown deadline was exceeded)
  2  usage or configuration error
  3  capture could not be opened (permission/capability, interface, filter)
  4  input file missing, unreadable or corrupt
  5  replay finished but not every report was delivered (a collector down or too slow, the JSON-lines
     file not writable); the log names each destination with its sent/failed/dropped counts
  130 a second SIGINT/SIGTERM forced the exit
Signals: SIGTERM/SIGINT stop gracefully (final reports are flushed); SIGHUP reloads the configuration file.
`,
    );

  addSettingOptions(program.command('run').description('capture live from an interface and report'), true)
    .addHelpText('after', '\nExample:\n  rtpprobe run -i eth1 -c /etc/rtpprobe/rtpprobe.yaml\n')
    .action(async (flags: SettingFlags) => {
      const resolved = resolveConfig(io, flags);
      if (!resolved) return io.exit(ExitCode.USAGE);
      const { config, options } = resolved;
      if (config.capture.interface === '') {
        io.err('rtpprobe: capture.interface: nothing set: give -i IFACE, RTPPROBE_CAPTURE_INTERFACE or capture.interface in the file (see `rtpprobe interfaces`)\n');
        return io.exit(ExitCode.USAGE);
      }
      await runWithOps(io, config, options, (log) => {
        checkCaptureCapabilities(log);
        return io.probe.runLive(config, log);
      });
    });

  addSettingOptions(program.command('replay').description('analyse capture files (pcap, pcapng) and report').argument('<files...>', 'capture files, read in order'), false)
    .option('--realtime', 'replay at the recorded speed instead of as fast as possible')
    .option('--metrics', 'serve the metrics endpoint during the replay (off by default)')
    .option('--html <file>', 'also write an HTML call report: calls, SIP ladder, per-interval charts (1 s intervals unless --set reports.interval_s=N)')
    .addHelpText('after', '\nHEP is sent only with --hep (the configuration\'s collectors are not used by replay).\n\nExamples:\n  rtpprobe replay call.pcap --jsonl -\n  rtpprobe replay call.pcap --hep udp://127.0.0.1:9060\n  rtpprobe replay call.pcap --html call.html\n')
    .action(async (files: string[], flags: SettingFlags & { realtime?: boolean; metrics?: boolean; html?: string }) => {
      let total = 0;
      for (const f of files) {
        const problem = checkInputFile(f);
        if (problem) {
          io.err(`rtpprobe: ${problem}\n`);
          return io.exit(ExitCode.INPUT_FILE);
        }
        total += statSync(f).size;
      }
      // A file analysis sends HEP only when asked with --hep: old calls never reach a production HOMER by
      // default (not even from hep settings in the configuration file).
      const extra: Record<string, unknown> = Array.isArray(flags.hep) ? {} : { 'hep.enabled': 'false' };
      if (!flags.metrics) extra['metrics.enabled'] = 'false';
      // The report's charts have one point per report interval: 1 s shows a call's course.
      if (flags.html) Object.assign(extra, { 'reports.html.path': flags.html, 'reports.interval_s': '1' });
      const resolved = resolveConfig(io, flags, extra);
      if (!resolved) return io.exit(ExitCode.USAGE);
      const { config, options } = resolved;
      const bar = io.stderrIsTty && total >= io.progressMinBytes ? progressBar(io) : undefined;
      await runWithOps(io, config, options, async (log) => {
        try {
          return await io.probe.runReplay(files, config, { realtime: Boolean(flags.realtime), progress: bar?.update }, log);
        } finally {
          bar?.done();
        }
      });
    });

  program
    .command('demo')
    .description('replay two generated captures (clean and impaired calls) and send the reports to a local HEP collector it starts')
    .option('-c, --config <file>', 'configuration file; default built-in defaults')
    .option('--log-level <level>', 'log level', 'warn')
    .addHelpText('after', '\nExample (the README quick start):\n  rtpprobe demo\n')
    .action(async (flags: SettingFlags) => {
      const resolved = resolveConfig(io, flags, { 'metrics.enabled': 'false' });
      if (!resolved) return io.exit(ExitCode.USAGE);
      await runWithOps(io, resolved.config, resolved.options, async (log) => (await import('./ops/demo.js')).runDemo(resolved.config, log, io.out));
    });

  program
    .command('top')
    .description("live view of a running probe's calls and streams, worst MOS first (reads its /api/calls and /api/streams)")
    .option('-c, --config <file>', "the probe's configuration file, for its metrics address; default $RTPPROBE_CONFIG")
    .option('--url <url>', 'metrics endpoint of the probe; default http://127.0.0.1:<metrics.port>')
    .option('--interval <s>', 'seconds between refreshes', '1')
    .option('--streams', 'start with the stream list (default: calls)')
    .option('--once', 'print one screen and exit (also when standard output is not a terminal)')
    .addHelpText('after', '\nKeys: c calls, s streams, q quit.\nExample:\n  rtpprobe top\n  rtpprobe top --url http://probe1:9470 --streams\n')
    .action(async (flags: SettingFlags & { url?: string; interval: string; streams?: boolean; once?: boolean }) => {
      const interval = Number(flags.interval);
      if (!(interval >= 0.2 && interval <= 3600)) {
        io.err(`rtpprobe: --interval ${JSON.stringify(flags.interval)}: must be a number of seconds from 0.2 to 3600\n`);
        return io.exit(ExitCode.USAGE);
      }
      let url = flags.url;
      if (!url) {
        const resolved = resolveConfig(io, flags);
        if (!resolved) return io.exit(ExitCode.USAGE);
        url = metricsBaseUrl(resolved.config.metrics);
      }
      const { runTop } = await import('./ops/top.js');
      io.exit(await runTop({ url, intervalMs: interval * 1000, once: Boolean(flags.once), view: flags.streams ? 'streams' : 'calls', out: process.stdout, input: process.stdin }));
    });

  program
    .command('health')
    .description("ask a running probe's /healthz (metrics endpoint from the configuration); exit 0 when healthy, 1 when not")
    .option('-c, --config <file>', "the probe's configuration file; default $RTPPROBE_CONFIG")
    .addHelpText('after', '\nUsed by the Docker HEALTHCHECK. With metrics.enabled false there is nothing to ask: exit 0.\n')
    .action(async (flags: SettingFlags) => {
      const resolved = resolveConfig(io, flags);
      if (!resolved) return io.exit(ExitCode.USAGE);
      const m = resolved.config.metrics;
      if (!m.enabled) {
        io.out('metrics.enabled is false: no health endpoint to ask\n');
        return io.exit(ExitCode.OK);
      }
      const url = `${metricsBaseUrl(m)}/healthz`;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
        io.out(`${url}: ${res.status} ${await res.text()}\n`);
        io.exit(res.ok ? ExitCode.OK : ExitCode.RUNTIME);
      } catch (err) {
        io.err(`rtpprobe: ${url}: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}\n`);
        io.exit(ExitCode.RUNTIME);
      }
    });

  program
    .command('interfaces')
    .description('list the interfaces live capture can open')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      try {
        const list = await io.probe.listInterfaces();
        if (flags.json) io.out(`${JSON.stringify(list, null, 2)}\n`);
        else {
          for (const i of list) {
            const state = `${i.up ? 'up' : 'down'}${i.loopback ? ', loopback' : ''}`;
            io.out(`${i.name.padEnd(16)} ${state.padEnd(14)} ${i.addresses.join(' ')}${i.description ? `  (${i.description})` : ''}\n`);
          }
        }
        io.exit(ExitCode.OK);
      } catch (err) {
        io.err(`rtpprobe: cannot list interfaces: ${(err as Error).message}\n`);
        io.exit(exitCodeFor(err) === ExitCode.RUNTIME ? ExitCode.CAPTURE_OPEN : exitCodeFor(err));
      }
    });

  program
    .command('check-config')
    .description('validate the configuration (file + environment + flags) and exit 0 when valid, 2 when not')
    .option('-c, --config <file>', 'configuration file; default $RTPPROBE_CONFIG')
    .option('--set <path=value...>', 'override a setting, as for run', (v: string, prev: string[] = []) => [...prev, v])
    .option('--rule <rule>', 'alert rule, as for run', (v: string, prev: string[] = []) => [...prev, v])
    .option('--print', 'print the effective configuration (YAML) when valid')
    .option('--env', 'list the environment variables that set values')
    .addHelpText('after', '\nExample:\n  rtpprobe check-config -c /etc/rtpprobe/rtpprobe.yaml --print\n')
    .action((flags: SettingFlags & { print?: boolean; env?: boolean }) => {
      if (flags.env) {
        io.out(`${environmentVariables().join('\n')}\n`);
        return io.exit(ExitCode.OK);
      }
      const resolved = resolveConfig(io, flags);
      if (!resolved) return io.exit(ExitCode.USAGE);
      const src = resolved.options.file ?? 'built-in defaults';
      if (flags.print) io.out(stringify(snakeKeys(resolved.config)));
      else io.out(`configuration OK (${src})\n`);
      io.exit(ExitCode.OK);
    });

  return program;
}

/** Where a probe with these metrics settings answers, seen from this host (a wildcard listen = loopback). */
function metricsBaseUrl(m: ProbeConfig['metrics']): string {
  const host = m.listen === '0.0.0.0' || m.listen === '::' ? '127.0.0.1' : m.listen.includes(':') ? `[${m.listen}]` : m.listen;
  return `http://${host}:${m.port}`;
}

/** The typed configuration back in the file's snake_case form, for --print. */
function snakeKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snakeKeys);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeKeys(x)]));
}

function checkInputFile(f: string): string | undefined {
  try {
    const st = statSync(f);
    if (!st.isFile()) return `${f}: not a regular file`;
    accessSync(f, fsConstants.R_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return `${f}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`;
  }
}

/** A one-line progress bar on standard error, redrawn at most 10 times a second. */
function progressBar(io: CliIo): { update: (done: number, total: number) => void; done: () => void } {
  let last = 0;
  let drawn = false;
  const started = Date.now();
  const draw = (done: number, total: number) => {
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const width = 30;
    const fill = Math.round(frac * width);
    const secs = (Date.now() - started) / 1000;
    io.err(`\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(1).padStart(5)}%  ${secs.toFixed(0)} s `);
    drawn = true;
  };
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      draw(done, total);
    },
    done() {
      if (drawn) io.err('\n');
    },
  };
}

/** Parse and run one command line with the given io; the code reaches io.exit. */
export async function runCli(argv: string[], ioOverrides: Partial<CliIo> = {}): Promise<void> {
  const io: CliIo = { ...defaultIo(), ...ioOverrides };
  const program = buildCli(io);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end with code 0; any other commander error is a usage error.
      io.exit(err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE);
      return;
    }
    io.err(`rtpprobe: ${(err as Error).stack ?? String(err)}\n`);
    io.exit(exitCodeFor(err));
  }
}

/** Entry point: run process.argv; exit codes as documented in --help. */
export function main(argv: string[] = process.argv): Promise<void> {
  return runCli(argv);
}

function isEntryPoint(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) void main();
