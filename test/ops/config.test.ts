import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, DEFAULT_METRICS_PORT, defaultConfig, loadConfig, parseCollectorUri, probeSchema, RELOADED_SETTINGS, reloadedConfig, type ProbeConfig } from '../../src/ops/config.js';
import { writeScenarioPcap } from '../../src/gen/index.js';
import { replayReports } from '../e2e/helpers.js';
import { allSettings } from '../../src/ops/schema.js';

const shipped = fileURLToPath(new URL('../../config/rtpprobe.yaml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-config-'));
let n = 0;
function yamlFile(text: string): string {
  const f = join(dir, `c${n++}.yaml`);
  writeFileSync(f, text);
  return f;
}

/** Load and return the problem messages (fails the test when loading succeeds). */
function problems(opts: Parameters<typeof loadConfig>[0]): string[] {
  try {
    loadConfig(opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => p.message);
  }
  throw new Error('expected a ConfigError');
}

describe('defaults and the shipped file', () => {
  it('defaultConfig() holds the documented capacity defaults', () => {
    const c = defaultConfig();
    expect(c.rtp.maxStreams).toBe(40000);
    expect(c.sip.maxCalls).toBe(20000);
    expect(c.reports.qosHepType).toBe(35);
    expect(c.sip.correlationHeaders).toEqual(['X-CID']);
    expect(c.metrics).toEqual({ enabled: true, listen: '127.0.0.1', port: DEFAULT_METRICS_PORT, maxConnections: 64, idleTimeoutMs: 10000, livePage: false });
    expect(DEFAULT_METRICS_PORT).not.toBe(9090); // Prometheus's own port
    // "96-127" in the default is expanded.
    expect(c.rtp.heuristic.payloadTypes).toContain(96);
    expect(c.rtp.heuristic.payloadTypes).toContain(127);
    expect(c.rtp.heuristic.payloadTypes).not.toContain(13);
  });

  it('config/rtpprobe.yaml validates and states exactly the built-in defaults', () => {
    expect(loadConfig({ file: shipped })).toEqual(defaultConfig());
  });

  it('config/rtpprobe.yaml lists every setting of the schema, each with a comment', () => {
    const text = readFileSync(shipped, 'utf8');
    const raw = parse(text) as Record<string, unknown>;
    for (const { path } of allSettings(probeSchema)) {
      let cur: unknown = raw;
      for (const seg of path) cur = (cur as Record<string, unknown> | undefined)?.[seg];
      expect(cur, `setting ${path.join('.')} missing from config/rtpprobe.yaml`).not.toBeUndefined();
    }
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (!/^\s*(- )?[a-z_0-9]+:/.test(line)) return;
      let j = i - 1;
      while (j >= 0 && lines[j]!.trim() === '') j--;
      const commented = lines[j]?.trim().startsWith('#') || / #/.test(line);
      // A section header with only sub-keys below counts as documented by its sub-keys.
      const isSection = /:\s*$/.test(line);
      expect(commented || isSection, `line ${i + 1} "${line.trim()}" has no comment`).toBe(true);
    });
  });

  it('an empty file means defaults', () => {
    expect(loadConfig({ file: yamlFile('') })).toEqual(defaultConfig());
  });

  it('JSON files are read too', () => {
    const c = loadConfig({ file: yamlFile(JSON.stringify({ reports: { interval_s: 3 } })) });
    expect(c.reports.intervalS).toBe(3);
  });
});

describe('validation messages name the field, the value and what is allowed', () => {
  it('number below its minimum', () => {
    expect(problems({ file: yamlFile('reports:\n  interval_s: -5\n') })).toEqual([
      'reports.interval_s: -5 is not allowed: must be a number from 1 to 86400',
    ]);
  });

  it('hep.collectors that is no list (a URI, as the environment and --hep take it): that one problem, not also an empty list', () => {
    expect(problems({ file: yamlFile('hep:\n  collectors: udp://homer:9060\n') })).toEqual(['hep.collectors: "udp://homer:9060" is not allowed: must be a list']);
  });

  it('a YAML syntax error: one line naming the place and quoting the line there, no dangling code frame', () => {
    const f = yamlFile('capture:\n  interface: eth0\n  snap_length: [1, 2\nhep:\n  enabled: false\n');
    expect(problems({ file: f })).toEqual([
      `(file): ${f}: Flow sequence in block collection must be sufficiently indented and end with a ] at line 4, column 1 ("hep:")`,
    ]);
  });

  it('non-integer where an integer is required', () => {
    expect(problems({ file: yamlFile('rtp:\n  max_streams: 12.5\n') })).toEqual([
      'rtp.max_streams: 12.5 is not allowed: must be an integer from 16 to 2000000',
    ]);
  });

  it('string where a boolean is required', () => {
    expect(problems({ file: yamlFile('capture:\n  promiscuous: "yes please"\n') })).toEqual([
      'capture.promiscuous: "yes please" is not allowed: must be true or false',
    ]);
  });

  it('value outside an enumeration', () => {
    expect(problems({ file: yamlFile('capture:\n  backend: pacp\n') })).toEqual([
      'capture.backend: "pacp" is not allowed: must be one of auto, pcap, cap',
    ]);
    expect(problems({ file: yamlFile('reports:\n  qos_hep_type: 36\n') })).toEqual([
      'reports.qos_hep_type: 36 is not allowed: must be one of 35, 34, 99',
    ]);
  });

  it('list items, ranges, nested lists of objects and named entries carry their index or name', () => {
    const msgs = problems({
      file: yamlFile(
        [
          'sip:',
          '  ports: [5060, 70000]',
          'rtp:',
          '  heuristic:',
          '    payload_types: [0, "127-96"]',
          'hep:',
          '  collectors:',
          '    - host: 10.0.0.1',
          '    - host: 10.0.0.2',
          '      port: 0',
          'qos:',
          '  codecs:',
          '    g729: { ie: -1 }',
        ].join('\n'),
      ),
    });
    expect(msgs).toEqual([
      'rtp.heuristic.payload_types[1]: "127-96" is not allowed: must be a range "a-b" with a <= b',
      'sip.ports[1]: 70000 is not allowed: must be an integer from 1 to 65535',
      'qos.codecs.g729.ie: -1 is not allowed: must be a number from 0 to 100',
      'hep.collectors[1].port: 0 is not allowed: must be an integer from 1 to 65535',
    ]);
  });

  it('a mapping where a scalar is expected, and a scalar where a list is expected', () => {
    expect(problems({ file: yamlFile('capture:\n  interface: { name: eth0 }\nsip:\n  ports: 5060\n') })).toEqual([
      'capture.interface: an object is not allowed: must be a string',
      'sip.ports: 5060 is not allowed: must be a list (each item an integer from 1 to 65535)',
    ]);
  });

  it('rules spanning fields', () => {
    const msgs = problems({
      file: yamlFile(
        [
          'capture: { backend: cap, workers: 4 }',
          'hep: { enabled: true, collectors: [] }',
          'reports:',
          '  rules:',
          '    - { name: bad, when: "mos < 3", interval_s: 2 }',
          '    - { name: bad, when: "loss_pct > 1", interval_s: 2 }',
        ].join('\n'),
      ),
    });
    expect(msgs).toHaveLength(3);
    expect(msgs[0]).toMatch(/^capture\.workers: 4 is not allowed with backend "cap"/);
    expect(msgs[1]).toMatch(/^reports\.rules\[1\]\.name: "bad" is used by an earlier rule/);
    expect(msgs[2]).toMatch(/^hep\.collectors: an empty list is not allowed while hep\.enabled is true/);
  });

  it('a field that must be given is named when missing (collector host, rule name and expression)', () => {
    const msgs = problems({
      file: yamlFile(['hep:', '  collectors:', '    - { port: 9061 }', 'reports:', '  rules:', '    - { when: "mos < 3" }', '    - { when: "mos < 2" }', '    - { name: w }'].join('\n')),
    });
    expect(msgs).toEqual([
      'reports.rules[0].name: not set: must be a non-empty string',
      'reports.rules[1].name: not set: must be a non-empty string',
      'reports.rules[2].when: not set: must be a non-empty string',
      'hep.collectors[0].host: not set: must be a non-empty string',
    ]);
  });

  it('a rule may not take the name of a built-in media fault alert (ALERT_RULE would not tell them apart)', () => {
    for (const name of ['no-media', 'one-way-rtp', 'silence']) {
      const msgs = problems({ overrides: { 'reports.rules': [`name=${name};when=mos < 3;interval_s=2`] } });
      expect(msgs).toEqual([
        `reports.rules[0].name: "${name}" is not allowed: it is the name of a media fault alert (reports.faults); give the rule another name (set by override reports.rules)`,
      ]);
    }
    expect(loadConfig({ overrides: { 'reports.rules': ['name=silent;when=mos < 3;interval_s=2'] } }).reports.rules[0]?.name).toBe('silent');
  });

  it('TLS files on a UDP collector, and a cert without a key', () => {
    const msgs = problems({ file: yamlFile('hep:\n  collectors:\n    - host: h\n      tls: { cert: /c.pem }\n') });
    expect(msgs).toEqual([
      'hep.collectors[0].tls: TLS files are set but transport is "udp": set transport: tls or remove them',
      'hep.collectors[0].tls: cert and key must be given together',
    ]);
  });

  it('unknown keys are refused with a suggestion, at the top and nested', () => {
    const msgs = problems({ file: yamlFile('captur:\n  interface: eth0\nrtp:\n  heuristic:\n    min_consecutve: 3\n') });
    expect(msgs[0]).toMatch(/^captur: unknown setting; did you mean capture\?/);
    expect(msgs[1]).toMatch(/^rtp\.heuristic\.min_consecutve: unknown setting; did you mean rtp\.heuristic\.min_consecutive\?/);
    expect(msgs[1]).toContain('allowed here: enabled, min_consecutive, require_even_port, payload_types');
  });

  it('an unknown key far from every known one gets no suggestion', () => {
    const [msg] = problems({ file: yamlFile('metrics:\n  zzzzzzzzzz: 1\n') });
    expect(msg).toMatch(/^metrics\.zzzzzzzzzz: unknown setting \(allowed here: enabled, listen, port, max_connections, idle_timeout_ms, live_page\)/);
  });

  it('all problems are listed together in the error message', () => {
    try {
      loadConfig({ file: yamlFile('reports: { interval_s: 0 }\nlog: { level: loud }\n') });
      throw new Error('no error');
    } catch (err) {
      const msg = (err as Error).message;
      expect(msg).toMatch(/^invalid configuration in .*c\d+\.yaml \(2 problems\):/);
      expect(msg).toContain('  - reports.interval_s: 0 is not allowed');
      expect(msg).toContain('  - log.level: "loud" is not allowed: must be one of trace, debug, info, warn, error, fatal, silent');
    }
  });

  it('YAML syntax errors and missing files are ConfigErrors naming the file', () => {
    const bad = yamlFile('capture:\n  interface: [eth0\n');
    expect(problems({ file: bad })[0]).toContain(bad);
    expect(problems({ file: join(dir, 'absent.yaml') })[0]).toMatch(/cannot read .*absent\.yaml: no such file/);
    expect(problems({ file: yamlFile('- a\n- b\n') })[0]).toMatch(/must hold a mapping of sections/);
  });
});

describe('environment variables', () => {
  it('set scalars, booleans, lists and nested settings, typed from text', () => {
    const c = loadConfig({
      env: {
        RTPPROBE_CAPTURE_INTERFACE: 'eth7',
        RTPPROBE_REPORTS_INTERVAL_S: '5',
        RTPPROBE_CAPTURE_PROMISCUOUS: 'false',
        RTPPROBE_SIP_PORTS: '5060, 5080',
        RTPPROBE_RTP_HEURISTIC_MIN_CONSECUTIVE: '6',
        RTPPROBE_RTP_HEURISTIC_PAYLOAD_TYPES: '0,8,100-101',
        RTPPROBE_REPORTS_QOS_HEP_TYPE: '34',
        HOME: '/root',
      },
    });
    expect(c.capture.interface).toBe('eth7');
    expect(c.reports.intervalS).toBe(5);
    expect(c.capture.promiscuous).toBe(false);
    expect(c.sip.ports).toEqual([5060, 5080]);
    expect(c.rtp.heuristic.minConsecutive).toBe(6);
    expect(c.rtp.heuristic.payloadTypes).toEqual([0, 8, 100, 101]);
    expect(c.reports.qosHepType).toBe(34);
  });

  it('override the file, and name themselves in messages', () => {
    const file = yamlFile('reports:\n  interval_s: 20\n');
    expect(loadConfig({ file, env: { RTPPROBE_REPORTS_INTERVAL_S: '7' } }).reports.intervalS).toBe(7);
    expect(problems({ file, env: { RTPPROBE_REPORTS_INTERVAL_S: '-5' } })).toEqual([
      'reports.interval_s: -5 is not allowed: must be a number from 1 to 86400 (set by RTPPROBE_REPORTS_INTERVAL_S)',
    ]);
    expect(problems({ env: { RTPPROBE_METRICS_PORT: 'ninety' } })).toEqual([
      'metrics.port: "ninety" is not allowed: must be an integer from 0 to 65535 (set by RTPPROBE_METRICS_PORT)',
    ]);
  });

  it('collectors from a list of URIs', () => {
    const c = loadConfig({ env: { RTPPROBE_HEP_COLLECTORS: 'udp://10.1.1.1:9060, tls://[2001:db8::5]:9061,homer' } });
    expect(c.hep.collectors.map((x) => [x.transport, x.host, x.port])).toEqual([
      ['udp', '10.1.1.1', 9060],
      ['tls', '2001:db8::5', 9061],
      ['udp', 'homer', 9060],
    ]);
    expect(problems({ env: { RTPPROBE_HEP_COLLECTORS: 'sctp://x:1' } })[0]).toMatch(/^hep\.collectors: "sctp:\/\/x:1" is not allowed/);
  });

  it('a misspelt setting variable is refused with a suggestion; unrelated RTPPROBE_ variables are ignored', () => {
    expect(problems({ env: { RTPPROBE_CAPTURE_INTRFACE: 'eth0' } })).toEqual([
      'RTPPROBE_CAPTURE_INTRFACE: unknown environment setting; did you mean RTPPROBE_CAPTURE_INTERFACE?',
    ]);
    expect(() => loadConfig({ env: { RTPPROBE_LIVE_TESTS: '1', RTPPROBE_CONFIG: '/x' } })).not.toThrow();
  });
});

describe('overrides (command-line flags)', () => {
  it('win over environment and file', () => {
    const file = yamlFile('capture:\n  interface: eth1\n');
    const c = loadConfig({
      file,
      env: { RTPPROBE_CAPTURE_INTERFACE: 'eth2' },
      overrides: { 'capture.interface': 'eth3', 'rtp.max_streams': '80000', 'hep.collectors': ['tcp://h:1'] },
    });
    expect(c.capture.interface).toBe('eth3');
    expect(c.rtp.maxStreams).toBe(80000);
    expect(c.hep.collectors).toHaveLength(1);
    expect(c.hep.collectors[0]).toMatchObject({ host: 'h', port: 1, transport: 'tcp', queueSize: 0 });
  });

  it('unknown override paths get a suggestion; bad values name the flag', () => {
    expect(problems({ overrides: { 'rtp.max_stream': '5' } })[0]).toMatch(/^rtp\.max_stream: unknown setting; did you mean rtp\.max_streams\?/);
    expect(problems({ overrides: { 'log.level': 'loud' }, origins: { 'log.level': '--log-level' } })).toEqual([
      'log.level: "loud" is not allowed: must be one of trace, debug, info, warn, error, fatal, silent (set by --log-level)',
    ]);
  });
});

describe('parseCollectorUri', () => {
  it('reads transport, host (IPv6 in brackets) and port', () => {
    expect(parseCollectorUri('tcp://homer:9061')).toEqual({ transport: 'tcp', host: 'homer', port: 9061 });
    expect(parseCollectorUri('[::1]:9060')).toEqual({ host: '::1', port: 9060 });
    expect(parseCollectorUri('h')).toEqual({ host: 'h' });
    expect(typeof parseCollectorUri('udp://')).toBe('string');
  });
});

describe('what a reload applies', () => {
  it('names only settings of the schema', () => {
    const paths = allSettings(probeSchema).map((l) => l.path.join('.'));
    for (const r of RELOADED_SETTINGS) expect(paths.some((p) => p === r || p.startsWith(`${r}.`)), r).toBe(true);
  });

  it('takes the reloaded settings, keeps the running value of the others and names those that changed', () => {
    const running = loadConfig({ overrides: { 'hep.node_name': 'probe-a' } });
    const next = loadConfig({
      overrides: { 'hep.node_name': 'probe-b', 'qos.jitter_buffer_ms': '150', 'reports.interval_s': '2', 'hep.collectors': 'udp://10.0.0.9:9060', 'webhook.url': 'http://10.0.0.9/alerts', 'log.level': 'debug' },
    });
    const { config, notApplied } = reloadedConfig(running, next);
    expect(notApplied).toEqual(['qos.jitter_buffer_ms', 'hep.node_name']);
    expect([config.hep.nodeName, config.qos.jitterBufferMs]).toEqual(['probe-a', 0]);
    expect([config.reports.intervalS, config.hep.collectors[0]?.host, config.webhook.url, config.log.level]).toEqual([2, '10.0.0.9', 'http://10.0.0.9/alerts', 'debug']);
    expect(next.hep.nodeName).toBe('probe-b');
    expect(reloadedConfig(running, running).notApplied).toEqual([]);
  });
});

describe('qos.codecs', () => {
  const partial = () => yamlFile('qos:\n  codecs:\n    g729: { ie: 11 }\n    G723: { bpl: 20 }\n    amr: { ie: 5 }\n');

  it('an entry giving one field of a built-in codec keeps the built-in value of the other', () => {
    const codecs = loadConfig({ file: partial() }).qos.codecs;
    expect(codecs.g729).toEqual({ ie: 11, bpl: 19 });
    expect(codecs.g723).toEqual({ ie: 15, bpl: 20 });
    expect(codecs.amr).toEqual({ ie: 5, bpl: 4.3 });
  });

  it('restating the built-in Ie of G.729 scores a lossy G.729 call as the defaults do', async () => {
    const pcap = join(mkdtempSync(join(tmpdir(), 'rtpprobe-codecs-')), 'g729.pcap');
    writeScenarioPcap(pcap, { calls: 1, durationS: 12, callDurationS: 10, codec: 'G729', lossPct: 3, jitterMs: 0, rtcp: false, seed: 1, startEpochS: 1_700_000_000 });
    const mos = async (c: ProbeConfig) => (await replayReports(pcap, { ...c, hep: { ...c.hep, enabled: false } })).filter((r) => r.TYPE === 'HANGUP').map((r) => r.MOS);
    const defaults = await mos(defaultConfig());
    expect(defaults).toHaveLength(2);
    expect(defaults.every((m) => m > 3.4 && m < 3.8)).toBe(true);
    expect(await mos(loadConfig({ file: partial() }))).toEqual(defaults);
  });
});

describe('qos.codecs entries from flags and environment', () => {
  it('--set qos.codecs.NAME.FIELD and RTPPROBE_QOS_CODECS_NAME_FIELD set one field of one entry (flags win)', () => {
    const c = loadConfig({
      file: yamlFile('qos:\n  codecs:\n    G729: { ie: 12 }\n'),
      env: { RTPPROBE_QOS_CODECS_G729_BPL: '18', RTPPROBE_QOS_CODECS_AMR_WB_IE: '7' },
      overrides: { 'qos.codecs.g729.ie': '13', 'qos.codecs.ilbc.bpl': '30' },
    });
    expect(c.qos.codecs.g729).toEqual({ ie: 13, bpl: 18 });
    expect(c.qos.codecs.amr_wb).toEqual({ ie: 7, bpl: 4.3 });
    expect(c.qos.codecs.ilbc).toEqual({ ie: 0, bpl: 30 });
    expect(c.qos.codecs.pcma).toEqual({ ie: 0, bpl: 25.1 });
  });

  it('a bad value names the entry, the field and where it came from', () => {
    expect(problems({ overrides: { 'qos.codecs.g729.ie': '-1' }, origins: { 'qos.codecs.g729.ie': '--set qos.codecs.g729.ie' } })).toEqual([
      'qos.codecs.g729.ie: -1 is not allowed: must be a number from 0 to 100 (set by --set qos.codecs.g729.ie)',
    ]);
    expect(problems({ env: { RTPPROBE_QOS_CODECS_G729_BPL: 'high' } })).toEqual(['qos.codecs.g729.bpl: "high" is not allowed: must be a number from 1 to 100 (set by RTPPROBE_QOS_CODECS_G729_BPL)']);
    expect(problems({ overrides: { 'qos.codecs.g729.lost': '1' } })[0]).toMatch(/^qos\.codecs\.g729\.lost: unknown setting/);
  });
});
