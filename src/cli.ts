#!/usr/bin/env node
/**
 * The rtpprobe command. `buildCli()` builds the commander program without running it, so tests parse argv
 * in-process; `main()` runs when this file is the entry point.
 */
import { createWriteStream, readFileSync, realpathSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import {
  ConfigError,
  loadConfig,
  environmentVariables,
  reloadedConfig,
  type LoadConfigOptions,
  type ProbeConfig,
} from './ops/config.js';
import { ExitCode } from './ops/exit-codes.js';
import { Lifecycle, exitCodeFor } from './ops/lifecycle.js';
import { createLogger, type Logger } from './ops/log.js';
import type { ProbeMetrics } from './ops/metrics.js';
import type { MetricsServer } from './ops/http.js';
import { inputNamedBy, outputFileProblem, outputPathProblem, sameOutputFile, statOrUndefined } from './ops/output-file.js';
import { ReplacedFile } from './ops/replaced-file.js';
import { CAPTURE_NAME, notAnInterfaceName, usageErrorLine } from './ops/usage-error.js';
import { writeFully } from './ops/write-fully.js';
import { checkCaptureCapabilities } from './ops/privileges.js';
import { setOpsRuntime } from './ops/runtime.js';
import { yaml } from './ops/yaml.js';
import * as probe from './probe.js';
import { compileBpf, FilterError, inputProblem, regularFileSize, STDIN } from './capture/index.js';
import { TABLE_FORMATS, type StreamSelection, type TableFormat } from './pipeline/index.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /**
   * Writes and waits until the text is handed to the OS (large tables: a pipe takes 64 KiB at once, and
   * the process exits right after). Without it, out/err are used.
   */
  write?(to: 'out' | 'err', text: string): Promise<void>;
  /** Ends the command with a code (process.exit outside tests). */
  exit(code: number): void;
  env: Record<string, string | undefined>;
  /** Whether standard error is a terminal (progress bar, pretty logs). */
  stderrIsTty: boolean;
  probe: Pick<typeof probe, 'runLive' | 'runReplay' | 'listInterfaces'> & Partial<Pick<typeof probe, 'checkConfig' | 'liveFilterCheck'>>;
  /** Replays of at least this many bytes get a progress bar when stderr is a terminal. */
  progressMinBytes: number;
}

function defaultIo(): CliIo {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    write: (to, t) => writeFully(to === 'out' ? process.stdout : process.stderr, t),
    exit: (code) => process.exit(code),
    env: process.env,
    stderrIsTty: Boolean(process.stderr.isTTY),
    probe,
    progressMinBytes: 50 * 1024 * 1024,
  };
}

function writeAsync(io: CliIo, to: 'out' | 'err', text: string): Promise<void> {
  if (io.write) return io.write(to, text);
  (to === 'out' ? io.out : io.err)(text);
  return Promise.resolve();
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

/** Repeatable option: each use adds one value (never variadic, so options can precede the files). */
function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

function addSettingOptions(cmd: Command, live: boolean): Command {
  cmd
    .option('-c, --config <file>', 'configuration file (YAML or JSON); default $RTPPROBE_CONFIG, else built-in defaults')
    .option('--hep <uri>', 'HEP collector as [udp|tcp|tls://]host[:port], replacing hep.collectors (repeat for more)', collect)
    .option('--no-hep', 'do not send HEP (hep.enabled false)')
    .addOption(new Option('--hep-type <type>', 'HEP type of QoS reports (reports.qos_hep_type)').choices(['35', '34', '99']))
    .option('--jsonl <path>', "also write reports as JSON lines, appended to a file ('-' = stdout)")
    .option('--log-level <level>', 'trace, debug, info, warn, error, fatal, silent')
    .option('--log-format <format>', 'json, pretty or auto')
    .option('--set <path=value>', 'any setting by its YAML path, e.g. --set rtp.max_streams=80000 (repeatable)', collect)
    .option('--rule <rule>', "alert rule 'name=NAME;when=EXPR;interval_s=N' (repeat for more; replaces reports.rules)", collect)
    .option('-f, --filter <bpf>', live ? 'BPF filter (capture.filter)' : 'BPF filter applied to every packet read, as tcpdump -r (capture.filter)');
  if (live) {
    cmd
      .option('-i, --interface <name>', 'interface to sniff (capture.interface)')
      .option('--metrics-port <port>', 'metrics/health port (metrics.port)')
      .option('--metrics-listen <addr>', 'metrics/health address (metrics.listen)')
      .option('--user <name>', 'user to switch to once capture is open (process.user)');
  }
  return cmd;
}

/**
 * The configuration plus the checks other modules own (threshold expressions, wired in src/probe.ts):
 * a start and a reload are refused alike when any fails.
 */
function loadCheckedConfig(io: CliIo, options: LoadConfigOptions): ProbeConfig {
  return loadConfig({ ...options, check: (config, problems) => io.probe.checkConfig?.(config, problems) ?? [] });
}

/** What a reload applies of `next`; one warning names the changed settings that keep their running values. */
function reloadableConfig(lifecycle: Lifecycle, next: ProbeConfig): ProbeConfig {
  if (!lifecycle.config) return next;
  const { config, notApplied } = reloadedConfig(lifecycle.config, next);
  if (notApplied.length) lifecycle.log.warn({ settings: notApplied }, `configuration reload: ${notApplied.join(', ')} changed but only a restart applies ${notApplied.length > 1 ? 'them' : 'it'}: the running values stay`);
  return config;
}

/** The metrics endpoint could not listen: one line naming the setting and the fix. */
export function listenProblem(err: NodeJS.ErrnoException, listen: string, port: number): string {
  const where = `metrics endpoint: cannot listen on ${listen.includes(':') ? `[${listen}]` : listen}:${port}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return `${where}: the port is in use: set another with --metrics-port (metrics.port), or stop the other program`;
    case 'EADDRNOTAVAIL':
      return `${where}: the address is not on this host: set metrics.listen (--metrics-listen) to one of its addresses, 127.0.0.1 or 0.0.0.0`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${where}: the name does not resolve: set metrics.listen (--metrics-listen) to an address of this host, 127.0.0.1 or 0.0.0.0`;
    case 'EACCES':
      return `${where}: permission denied (ports below 1024 need privileges): set metrics.port (--metrics-port) to 1024 or above`;
    default:
      return `${where}: ${err.message}: check metrics.listen and metrics.port`;
  }
}

/** Set up logs, lifecycle, metrics; run `main` through the lifecycle (which exits). */
async function runWithOps(io: CliIo, config: ProbeConfig, options: LoadConfigOptions, main: (log: Logger) => Promise<number>): Promise<void> {
  const log = createLogger(config.log, { isTty: io.stderrIsTty });
  const lifecycle: Lifecycle = new Lifecycle({
    log,
    deadlineMs: config.process.shutdownDeadlineMs,
    config,
    reload: options.file !== undefined ? (): ProbeConfig => reloadableConfig(lifecycle, loadCheckedConfig(io, options)) : undefined,
    exit: io.exit,
    stepsFromMain: true,
  });
  // Signals are handled from here on: a Ctrl-C while the probe starts ends the start (exit 0).
  lifecycle.install();
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
      // A listen address that is not on this host, a port in use or refused: the configuration's to fix.
      log.debug({ err }, 'metrics endpoint listen failed');
      io.err(`rtpprobe: ${listenProblem(err as NodeJS.ErrnoException, config.metrics.listen, config.metrics.port)}\n`);
      lifecycle.uninstall();
      io.exit(ExitCode.USAGE);
      return;
    }
  }
  setOpsRuntime({ log, lifecycle, metrics, metricsServer: server });
  await lifecycle.run(() => main(log));
}

/** The io for a command: the process's, with the overrides (tests replacing out/err also replace write). */
function makeIo(overrides: Partial<CliIo>): CliIo {
  const io: CliIo = { ...defaultIo(), ...overrides };
  if ((overrides.out || overrides.err) && !overrides.write) io.write = undefined;
  return io;
}

export function buildCli(ioOverrides: Partial<CliIo> = {}): Command {
  const io = makeIo(ioOverrides);
  const program = new Command('rtpprobe');
  program
    .description('Edge RTP/RTCP quality probe: per-stream loss, jitter and MOS, correlated to SIP calls, reported to HOMER over HEP v3.')
    .version(packageVersion(), '-V, --version', 'print the version')
    // Commander's errors are printed by runCli, as one line naming the fix.
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s), outputError: () => undefined })
    .exitOverride()
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `
Examples:
  rtpprobe run -i eth1 -c /etc/rtpprobe/rtpprobe.yaml
  rtpprobe run -i eth1 --hep udp://homer.example.net:9060 --set reports.interval_s=5
  rtpprobe replay call.pcap --jsonl - | jq .
  rtpprobe replay day1.pcapng.gz day2.pcapng 'host 10.0.0.1' --realtime --hep tcp://10.0.0.5:9061
  rtpprobe interfaces
  rtpprobe check-config -c /etc/rtpprobe/rtpprobe.yaml

Settings come from the file, then environment variables RTPPROBE_<SECTION>_<KEY>
(e.g. RTPPROBE_CAPTURE_INTERFACE=eth1, RTPPROBE_REPORTS_INTERVAL_S=5,
RTPPROBE_HEP_COLLECTORS=udp://h1:9060,tls://h2:9061), then flags.
${environmentVariables().length} environment variables are recognised: see \`rtpprobe check-config --env\`.

Exit codes:
  0  ok (replay finished, or stopped by SIGTERM/SIGINT within the shutdown deadline)
  1  runtime error (or the shutdown deadline was exceeded)
  2  usage or configuration error (including a BPF filter that does not compile)
  3  capture could not be opened (permission/capability, interface missing, process.user switch; an interface down is waited for)
  4  input file missing, unreadable, not a capture (or cut inside its file header)
  5  replay finished but not every report was delivered (a collector down or too slow, the JSON-lines
     file not writable); the log names each destination with its sent/failed/dropped counts; or the
     stream table could not be written (a full disk)
  6  input capture cut short or damaged after its file header, or with bytes after its gzip data that
     are not gzip (results cover every packet before it)
  130 a second SIGINT/SIGTERM forced the exit
Exits 2, 3, 4 and 6 print one line naming the problem and its fix (stack traces with --log-level debug).
Signals: SIGTERM/SIGINT stop gracefully (final reports are flushed); SIGHUP reloads the configuration file.
`,
    );

  addSettingOptions(program.command('run').description('capture live from an interface and report'), true)
    .addHelpText('after', '\nExample:\n  rtpprobe run -i eth1 -c /etc/rtpprobe/rtpprobe.yaml\n')
    .action(async (flags: SettingFlags) => {
      const resolved = resolveConfig(io, flags);
      if (!resolved) return io.exit(ExitCode.USAGE);
      const { config, options } = resolved;
      if (!checkOutputFiles(io, resolved, {})) return io.exit(ExitCode.USAGE);
      if (config.capture.interface === '') {
        io.err('rtpprobe: capture.interface: nothing set: give -i IFACE, RTPPROBE_CAPTURE_INTERFACE or capture.interface in the file (see `rtpprobe interfaces`)\n');
        return io.exit(ExitCode.USAGE);
      }
      // A filter libpcap refuses is a configuration error (2), found before the capture opens.
      if (config.capture.filter && !checkFilter(io, config.capture.filter, true)) return io.exit(ExitCode.USAGE);
      const missing = await interfaceProblem(io, config.capture.interface);
      if (missing) {
        io.err(`rtpprobe: ${missing.problem}\n`);
        // A name no interface can have (a capture file, standard input) is a usage error: nothing could have opened.
        return io.exit(missing.usage ? ExitCode.USAGE : ExitCode.CAPTURE_OPEN);
      }
      await runWithOps(io, config, options, (log) => {
        checkCaptureCapabilities(log);
        return io.probe.runLive(config, log);
      });
    });

  addSettingOptions(
    program
      .command('replay')
      .description('analyse captures (pcap, pcapng; gzip or zstd compressed; - for standard input) and report')
      .argument('<inputs...>', 'capture files read in order (- = standard input), then optionally a BPF filter expression as tcpdump -r takes one'),
    false,
  )
    .option('--realtime', 'replay at the recorded speed instead of as fast as possible')
    .option('--metrics', 'serve the metrics endpoint during the replay (off by default)')
    .option('--html <file>', 'also write an HTML call report: calls, SIP ladder, per-interval charts (1 s intervals unless --set reports.interval_s=N)')
    .option('--call-id <id>', 'table: only the streams of this Call-ID (repeatable)', collect)
    .option('--mos-below <mos>', 'table: only streams whose MOS is below this (with --loss-above, also those losing more than that)')
    .option('--loss-above <percent>', 'table: only streams losing more than this percentage of packets (with --mos-below, also those whose MOS is below that)')
    .addOption(new Option('--table <format>', 'closing stream table: text, csv, json or none').choices([...TABLE_FORMATS]).default('text'))
    .option('--table-out <path>', "write the table to this file ('-' = stdout); default stdout, or stderr when --jsonl - puts reports on stdout")
    .addHelpText(
      'after',
      `
HEP is sent only with --hep (the configuration's collectors are not used by replay), alerts
to a webhook only with --set webhook.url=URL (the configuration's is not used either).

Examples:
  rtpprobe replay call.pcap
  rtpprobe replay call.pcap 'host 10.0.0.1 and udp'
  rtpprobe replay --mos-below 3.6 --table csv day.pcapng.gz > worst.csv
  rtpprobe replay call.pcap --jsonl - | jq .
  tcpdump -i eth1 -w - udp | rtpprobe replay -
  rtpprobe replay call.pcap --hep udp://127.0.0.1:9060
  rtpprobe replay call.pcap --html call.html

A capture cut short (a killed tcpdump) or damaged part-way is analysed up to that point: one warning
names the byte, the table covers the packets before it, and the exit code is 6.
`,
    )
    .action(async (inputs: string[], flags: ReplayFlags) => {
      const split = splitReplayInputs(inputs);
      if (split.filter && flags.filter) {
        io.err(`rtpprobe: two filters given (${JSON.stringify(split.filter)} and --filter ${JSON.stringify(flags.filter)}): give one\n`);
        return io.exit(ExitCode.USAGE);
      }
      if (split.files.filter((f) => f === STDIN).length > 1) {
        io.err('rtpprobe: standard input (-) can be read only once\n');
        return io.exit(ExitCode.USAGE);
      }
      const select = tableSelection(flags);
      if (typeof select === 'string') {
        io.err(`rtpprobe: ${select}\n`);
        return io.exit(ExitCode.USAGE);
      }
      for (const f of split.files) {
        const problem = inputProblem(f);
        if (problem) {
          io.err(`rtpprobe: ${problem}\n`);
          return io.exit(ExitCode.INPUT_FILE);
        }
      }
      // A file analysis sends HEP only when asked with --hep, and alerts only to a webhook named on the
      // command line (--set webhook.url=URL, which wins over this): old calls never reach a production
      // HOMER or page anyone from the configuration file's settings.
      const extra: Record<string, unknown> = Array.isArray(flags.hep) ? {} : { 'hep.enabled': 'false' };
      extra['webhook.url'] = '';
      if (!flags.metrics) extra['metrics.enabled'] = 'false';
      // The report's charts have one point per report interval: 1 s shows a call's course.
      if (flags.html) Object.assign(extra, { 'reports.html.path': flags.html, 'reports.interval_s': '1' });
      if (split.filter) extra['capture.filter'] = split.filter;
      const resolved = resolveConfig(io, flags, extra);
      if (!resolved) return io.exit(ExitCode.USAGE);
      const { config, options } = resolved;
      if (!checkOutputFiles(io, resolved, flags, split.files.filter((f) => f !== STDIN))) return io.exit(ExitCode.USAGE);
      if (config.capture.filter && !checkFilter(io, config.capture.filter)) return io.exit(ExitCode.USAGE);
      const sizes = split.files.map(regularFileSize);
      const total = sizes.every((n) => n !== undefined) ? sizes.reduce((a: number, b) => a + b!, 0) : 0;
      const table = await tableDestination(io, flags.tableOut, config.reports.jsonl.enabled && config.reports.jsonl.path === '-');
      if (typeof table === 'string') {
        io.err(`rtpprobe: ${table}\n`);
        return io.exit(ExitCode.USAGE);
      }
      const bar = io.stderrIsTty && total > 0 && total >= io.progressMinBytes ? progressBar(io) : undefined;
      await runWithOps(io, config, options, async (log) => {
        try {
          return await io.probe.runReplay(
            split.files,
            config,
            { realtime: Boolean(flags.realtime), progress: bar?.update, progressEnd: bar?.done, print: table.write, printEnd: table.end, tableTo: table.name, tableFormat: flags.table, select },
            log,
          );
        } finally {
          bar?.done();
          await table.close();
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
    .option('--url <url>', 'metrics endpoint of the probe as [http[s]://]host[:port]; default http://127.0.0.1:<metrics.port>')
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
      let url = flags.url === undefined ? undefined : probeUrl(flags.url);
      if (url === null) {
        io.err(`rtpprobe: --url ${JSON.stringify(flags.url)}: must be the probe's metrics endpoint as [http[s]://]host[:port], e.g. --url http://probe1:9470\n`);
        return io.exit(ExitCode.USAGE);
      }
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
        const res = await fetch(url, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
        io.out(`${url}: ${res.status} ${await res.text()}\n`);
        io.exit(res.ok ? ExitCode.OK : ExitCode.RUNTIME);
      } catch (err) {
        const { describeFetchError } = await import('./ops/top.js');
        io.err(`rtpprobe: ${url}: ${describeFetchError(err, HEALTH_TIMEOUT_MS)}\n`);
        io.exit(ExitCode.RUNTIME);
      }
    });

  program
    .command('interfaces')
    .description('list the interfaces live capture can open')
    .option('--json', 'print JSON')
    .option('--all', 'also list pseudo-devices (any, nflog, nfqueue, D-Bus, Bluetooth, USB monitors)')
    .action(async (flags: { json?: boolean; all?: boolean }) => {
      try {
        const all = await io.probe.listInterfaces();
        const list = flags.all ? all : all.filter((i) => !isPseudoDevice(i.name));
        if (flags.json) io.out(`${JSON.stringify(list, null, 2)}\n`);
        else io.out(formatInterfaces(list, all.length - list.length));
        io.exit(ExitCode.OK);
      } catch (err) {
        io.err(`rtpprobe: cannot list interfaces: ${(err as Error).message}\n`);
        io.exit(exitCodeFor(err) === ExitCode.RUNTIME ? ExitCode.CAPTURE_OPEN : exitCodeFor(err));
      }
    });

  // The flags of run: the configuration checked is the one `run` with the same flags would start with.
  addSettingOptions(
    program
      .command('check-config')
      .description('validate the configuration (file + environment + flags, as run takes them), compile its capture filter, check its interface and TLS files; exit 0 when valid, 2 when not'),
    true,
  )
    .option('--print', 'print the effective configuration (YAML) when valid')
    .option('--env', 'list the environment variables that set values')
    .addHelpText('after', '\nExamples:\n  rtpprobe check-config -c /etc/rtpprobe/rtpprobe.yaml --print\n  rtpprobe check-config -i eth1 --hep tls://homer:9061 --set hep.collectors.0.tls.ca=/etc/rtpprobe/ca.pem\n')
    .action(async (flags: SettingFlags & { print?: boolean; env?: boolean }) => {
      if (flags.env) {
        io.out(`${environmentVariables().join('\n')}\n`);
        return io.exit(ExitCode.OK);
      }
      const resolved = resolveConfig(io, flags);
      if (!resolved) return io.exit(ExitCode.USAGE);
      if (!checkOutputFiles(io, resolved, {})) return io.exit(ExitCode.USAGE);
      const { problems, notes } = await hostChecks(io, resolved.config);
      if (problems.length) {
        io.err(`rtpprobe: ${new ConfigError(problems.map((message) => ({ path: '', message })), resolved.options.file).message}\n`);
        return io.exit(ExitCode.USAGE);
      }
      for (const n of notes) io.err(`rtpprobe: note: ${n}\n`);
      const src = resolved.options.file ?? 'built-in defaults';
      if (flags.print) io.out(yaml().stringify(snakeKeys(resolved.config)));
      else io.out(`configuration OK (${src})\n`);
      io.exit(ExitCode.OK);
    });

  return program;
}

/** How long `rtpprobe health` waits for /healthz (the Docker HEALTHCHECK's timeout is longer). */
const HEALTH_TIMEOUT_MS = 4000;

/** libpcap's pseudo-devices: listed by pcap_findalldevs, but no mirror port. */
export function isPseudoDevice(name: string): boolean {
  return /^(any|nflog|nfqueue|dbus-.*|bluetooth.*|usbmon\d*)$/.test(name);
}

function formatInterfaces(list: Awaited<ReturnType<CliIo['probe']['listInterfaces']>>, hidden: number): string {
  const rows = [['NAME', 'STATE', 'ADDRESSES'], ...list.map((i) => [i.name, `${i.up ? 'up' : 'down'}${i.loopback ? ', loopback' : ''}`, i.addresses.join(' ')])];
  const w = [0, 1].map((c) => Math.max(...rows.map((r) => r[c].length)));
  const text = rows.map((r) => `${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2]}`.trimEnd()).join('\n');
  return `${text}\n${hidden ? `(${hidden} pseudo-devices such as any and nflog not shown: --all lists them)\n` : ''}`;
}

/**
 * What only this host can say about a configuration: the capture filter compiles (libpcap, for Ethernet,
 * then for the capture interface's link type), the capture interface exists and the TLS collectors' files
 * can be used (as `run` opens them). `notes` are checks that could not run.
 */
async function hostChecks(io: CliIo, config: ProbeConfig): Promise<{ problems: string[]; notes: string[] }> {
  const problems: string[] = [];
  const notes: string[] = [];
  const c = config.capture;
  let filterCompiles = false;
  if (c.filter) {
    try {
      compileBpf(c.filter);
      filterCompiles = true;
      const { filterCoverageNote } = await import('./capture/filter-coverage.js');
      const coverage = filterCoverageNote(c.filter);
      if (coverage) notes.push(coverage);
    } catch (err) {
      if (!(err instanceof FilterError)) throw err;
      if (err.unchecked) notes.push(`capture.filter not compiled: ${err.reason}`);
      else problems.push(`capture.filter: ${JSON.stringify(c.filter)} does not compile: ${err.reason} (see man pcap-filter)`);
    }
  }
  if (c.interface) {
    try {
      const missing = await interfaceProblem(io, c.interface, true);
      if (missing) problems.push(missing.problem);
      else if (filterCompiles && io.probe.liveFilterCheck) {
        const { problem, note } = await io.probe.liveFilterCheck(c.interface, c.filter, c.snapLength);
        if (problem) problems.push(problem);
        if (note) notes.push(note);
      }
    } catch (err) {
      notes.push(`capture.interface not checked: cannot list interfaces: ${(err as Error).message}`);
    }
  }
  if (config.hep.enabled && config.hep.collectors.some((h) => h.transport === 'tls')) {
    const { checkHepCollectors } = await import('./outbound/hep-output.js');
    try {
      checkHepCollectors(config);
    } catch (err) {
      if (exitCodeFor(err) !== ExitCode.USAGE) throw err;
      problems.push((err as Error).message);
    }
  }
  if (config.hep.enabled) notes.push(...(await unresolvedCollectors(config)));
  return { problems, notes };
}

/** How long check-config waits for a collector's name to resolve. */
const RESOLVE_TIMEOUT_MS = 3000;

/**
 * A note per HEP collector whose host name does not resolve here: no configuration error (run retries
 * it, and the probe's host may resolve it), but an operator checking the file wants to hear of it.
 */
async function unresolvedCollectors(config: ProbeConfig): Promise<string[]> {
  const names = config.hep.collectors.filter((c) => isIP(c.host) === 0);
  if (names.length === 0) return [];
  const { lookup } = await import('node:dns/promises');
  const notes = await Promise.all(
    names.map(async (c) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<string>((r) => (timer = setTimeout(() => r(`timed out after ${RESOLVE_TIMEOUT_MS / 1000} s`), RESOLVE_TIMEOUT_MS)));
      const why = await Promise.race([lookup(c.host).then(() => '', (err: NodeJS.ErrnoException) => err.code ?? err.message), timeout]);
      clearTimeout(timer);
      return why && `hep collector ${c.host}:${c.port}: the name does not resolve here (${why}): run counts that collector down until it does (retried with backoff, its queue keeps the newest reports)`;
    }),
  );
  return notes.filter((n) => n !== '');
}

/**
 * A one-line problem when `name` is not an interface of this host (undefined when it is, or unknown);
 * `usage`: no interface can have that name (see notAnInterfaceName).
 */
async function interfaceProblem(io: CliIo, name: string, rethrow = false): Promise<{ problem: string; usage: boolean } | undefined> {
  let names: string[];
  try {
    names = (await io.probe.listInterfaces()).map((i) => i.name);
  } catch (err) {
    if (rethrow) throw err;
    // The capture itself will say why it cannot open; a capture file named is still a usage error.
    const problem = notAnInterfaceName(name, []);
    return problem === undefined ? undefined : { problem, usage: true };
  }
  if (names.includes(name)) return undefined;
  const real = names.filter((n) => !isPseudoDevice(n));
  const odd = notAnInterfaceName(name, real);
  if (odd !== undefined) return { problem: odd, usage: true };
  return { problem: `capture.interface: ${JSON.stringify(name)} is not an interface of this host: use one of ${real.join(', ') || '(none found)'} (see \`rtpprobe interfaces\`)`, usage: false };
}

/** Where a probe with these metrics settings answers, seen from this host (a wildcard listen = loopback). */
function metricsBaseUrl(m: ProbeConfig['metrics']): string {
  const host = m.listen === '0.0.0.0' || m.listen === '::' ? '127.0.0.1' : m.listen.includes(':') ? `[${m.listen}]` : m.listen;
  return `http://${host}:${m.port}`;
}

/**
 * `top --url` as users type it: a URL, or host[:port] as --hep takes it (http assumed); null when it
 * names no HTTP endpoint.
 */
export function probeUrl(text: string): string | null {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  try {
    const u = new URL(withScheme);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' ? withScheme : null;
  } catch {
    return null;
  }
}

/** The typed configuration back in the file's snake_case form, for --print. */
function snakeKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snakeKeys);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeKeys(x)]));
}

interface TableOutput {
  /** Where the table goes, as the log names it: standard output, standard error or the file. */
  name: string;
  write(text: string): Promise<void>;
  /** The whole table is written: a file takes its place (a rejection is a table not written). */
  end(): Promise<void>;
  close(): Promise<void>;
}

interface ReplayFlags extends SettingFlags {
  realtime?: boolean;
  metrics?: boolean;
  html?: string;
  callId?: string[];
  mosBelow?: string;
  lossAbove?: string;
  table: TableFormat;
  tableOut?: string;
}

/**
 * `replay`'s positional words, as tcpdump -r reads them: capture files first (a name that exists, '-', or
 * that looks like a capture), then the words of a BPF filter expression, joined with spaces.
 */
export function splitReplayInputs(words: string[]): { files: string[]; filter: string } {
  let i = 0;
  while (i < words.length && (CAPTURE_NAME.test(words[i]) || exists(words[i]))) i++;
  if (i === 0 && words.length) i = 1; // the first word is always an input: its problem is named as such
  return { files: words.slice(0, i), filter: words.slice(i).join(' ').trim() };
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The table options as a StreamSelection, or a one-line problem. */
function tableSelection(flags: ReplayFlags): StreamSelection | string {
  const select: StreamSelection = { callIds: flags.callId };
  if (flags.mosBelow !== undefined) {
    const v = Number(flags.mosBelow);
    if (!(v > 1 && v <= 5)) return `--mos-below ${JSON.stringify(flags.mosBelow)}: must be a MOS above 1 and at most 5, e.g. --mos-below 3.6`;
    select.mosBelow = v;
  }
  if (flags.lossAbove !== undefined) {
    const v = Number(flags.lossAbove.replace(/%$/, ''));
    if (flags.lossAbove.trim() === '' || !(v >= 0 && v < 100)) return `--loss-above ${JSON.stringify(flags.lossAbove)}: must be a percentage from 0 to below 100, e.g. --loss-above 1`;
    select.lossAbovePct = v;
  }
  return select;
}

/**
 * Compiles a BPF expression (libpcap); false after printing the one-line problem. `live`: without the
 * native addon the capture backend compiles the filter itself, so an unchecked expression passes.
 */
function checkFilter(io: CliIo, expression: string, live = false): boolean {
  try {
    compileBpf(expression);
    return true;
  } catch (err) {
    if (!(err instanceof FilterError)) throw err;
    if (live && err.unchecked) return true;
    io.err(`rtpprobe: ${err.message}: fix the expression (see man pcap-filter)\n`);
    return false;
  }
}

/**
 * False (the problem printed, naming the option or setting) when a JSON-lines or HTML report file of the
 * configuration (file, environment, --set, --jsonl, --html) cannot be written, a report file is one of
 * `inputs`, or two of them or --table-out name the same file.
 */
function checkOutputFiles(io: CliIo, resolved: { config: ProbeConfig; options: LoadConfigOptions }, flags: { html?: string; tableOut?: string }, inputs: string[] = []): boolean {
  const toFile = (path: string | undefined) => (path === '-' || path === 'stdout' || path === '' ? undefined : path);
  const { reports } = resolved.config;
  const origins = resolved.options.origins ?? {};
  const files: Array<[string, string | undefined]> = [
    [origins['reports.jsonl.path'] ?? 'reports.jsonl.path', reports.jsonl.enabled ? toFile(reports.jsonl.path) : undefined],
    [flags.html !== undefined ? '--html' : (origins['reports.html.path'] ?? 'reports.html.path'), toFile(reports.html.path)],
    ['--table-out', toFile(flags.tableOut)],
  ];
  for (const [option, path] of files) {
    if (path === undefined) continue;
    const input = inputNamedBy(path, inputs);
    // --table-out is checked for what it can be opened as when it is opened.
    const problem = input !== undefined ? `is ${input}, a capture this replay reads: name another file` : option === '--table-out' ? undefined : outputFileProblem(path);
    if (problem) {
      io.err(`rtpprobe: ${option} ${path}: ${problem}\n`);
      return false;
    }
  }
  const named = files.filter((f): f is [string, string] => f[1] !== undefined);
  for (const [i, [option, path]] of named.entries()) {
    const other = named.slice(i + 1).find((o) => sameOutputFile(path, o[1]));
    if (other) {
      io.err(`rtpprobe: ${option} ${path} and ${other[0]} ${other[1]} name the same file: each would overwrite the other: name two files\n`);
      return false;
    }
  }
  return true;
}

/**
 * Where the closing table goes: --table-out, else standard output, else (when stdout carries the JSON
 * lines) standard error, so `--jsonl - | jq` reads reports only.
 */
async function tableDestination(io: CliIo, out: string | undefined, jsonlOnStdout: boolean): Promise<TableOutput | string> {
  if (out === undefined || out === '-') {
    if (out === '-' && jsonlOnStdout) return '--table-out - and --jsonl - both want standard output: send the table or the reports to a file';
    const toStderr = jsonlOnStdout;
    return { name: toStderr ? 'standard error' : 'standard output', write: (t) => writeAsync(io, toStderr ? 'err' : 'out', t), end: async () => undefined, close: async () => undefined };
  }
  if (statOrUndefined(out)?.isFile() !== false) {
    // A regular file is replaced whole at the end, or left as it was (nothing analysed, a full disk).
    // A path that cannot be written is found now, not after the whole run.
    const problem = outputFileProblem(out, true);
    if (problem) return `--table-out ${out}: ${problem}`;
    const file = new ReplacedFile(out);
    return { name: out, write: (t) => file.write(t), end: () => file.commit(), close: async () => file.discard() };
  }
  // A FIFO or device (/dev/stdout) is written in place, opened before the replay starts.
  const file = createWriteStream(out);
  const problem = await new Promise<string | undefined>((resolve) => {
    file.once('open', () => resolve(undefined));
    file.once('error', (err: NodeJS.ErrnoException) => resolve(`--table-out ${out}: cannot write: ${outputPathProblem(err)}`));
  });
  if (problem) return problem;
  return {
    name: out,
    write: (t) => new Promise<void>((resolve, reject) => file.write(t, (err) => (err ? reject(err) : resolve()))),
    end: async () => undefined,
    close: () => new Promise<void>((resolve) => file.end(resolve)),
  };
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
      drawn = false;
    },
  };
}

/** Parse and run one command line with the given io; the code reaches io.exit. */
export async function runCli(argv: string[], ioOverrides: Partial<CliIo> = {}): Promise<void> {
  const io = makeIo(ioOverrides);
  const program = buildCli(io);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end with code 0; any other commander error is a usage error.
      if (err.exitCode !== 0 && err.code !== 'commander.help') {
        io.err(`rtpprobe: ${usageErrorLine(err.code, err.message, argv.slice(2), program.commands.map((c) => c.name()))}\n`);
      }
      io.exit(err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE);
      return;
    }
    // One line for the user; the stack only when asked for (--log-level debug or trace).
    const debug = /^(debug|trace)$/.test(argValue(argv, '--log-level') ?? io.env.RTPPROBE_LOG_LEVEL ?? '');
    const code = exitCodeFor(err);
    const text = debug ? ((err as Error).stack ?? String(err)) : ((err as Error).message ?? String(err));
    io.err(`rtpprobe: ${text}${code === ExitCode.RUNTIME && !debug ? ' (unexpected: run with --log-level debug for details and report it)' : ''}\n`);
    io.exit(code);
  }
}

/** The value of `--flag value` or `--flag=value` in argv, if present. */
function argValue(argv: string[], flag: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === flag) return argv[i + 1];
    if (argv[i].startsWith(`${flag}=`)) return argv[i].slice(flag.length + 1);
  }
  return undefined;
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
