/**
 * Alert rules (and other lists of mappings) set without editing the file: `--rule`, indexed `--set`
 * and indexed environment variables, through the real CLI's flag handling and loadConfig.
 */
import { describe, expect, it } from 'vitest';
import { overridesFromFlags } from '../../src/cli.js';
import { ConfigError, environmentVariables, loadConfig } from '../../src/ops/config.js';

function load(flags: Parameters<typeof overridesFromFlags>[0], env: Record<string, string> = {}) {
  const { overrides, origins } = overridesFromFlags(flags);
  return loadConfig({ env, overrides, origins });
}

function problems(flags: Parameters<typeof overridesFromFlags>[0], env: Record<string, string> = {}): string[] {
  try {
    load(flags, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => p.message);
    throw err;
  }
  return [];
}

describe('alert rules from flags and environment', () => {
  it('--rule (repeatable) replaces reports.rules; fields default as in the file', () => {
    const c = load({ rule: ['name=poor;when=mos < 3.6;interval_s=2', 'name=jit; when = max_jitter_ms > 30'] });
    expect(c.reports.rules).toEqual([
      { name: 'poor', when: 'mos < 3.6', intervalS: 2 },
      { name: 'jit', when: 'max_jitter_ms > 30', intervalS: 5 },
    ]);
  });

  it('indexed variables set whole items or single fields, in index order whatever the environment order', () => {
    const c = load({}, { RTPPROBE_REPORTS_RULES_1_WHEN: 'loss_pct > 2', RTPPROBE_REPORTS_RULES_1_NAME: 'lossy', RTPPROBE_REPORTS_RULES_0: 'name=poor;when=mos < 3.6;interval_s=2' });
    expect(c.reports.rules).toEqual([
      { name: 'poor', when: 'mos < 3.6', intervalS: 2 },
      { name: 'lossy', when: 'loss_pct > 2', intervalS: 5 },
    ]);
    expect(environmentVariables()).toContain('RTPPROBE_REPORTS_RULES_<N>[_<FIELD>]');
  });

  it('indexed --set changes one field of an item from the environment (flags win), in both spellings', () => {
    const c = load({ set: ['reports.rules.0.interval_s=3', 'reports.rules[1]=name=b;when=mos < 2'] }, { RTPPROBE_REPORTS_RULES_0: 'name=a;when=mos < 3' });
    expect(c.reports.rules).toEqual([
      { name: 'a', when: 'mos < 3', intervalS: 3 },
      { name: 'b', when: 'mos < 2', intervalS: 5 },
    ]);
  });

  it('mistakes are refused naming the item, the field and where they came from', () => {
    expect(problems({ rule: ['name=x;wen=mos < 3'] })).toEqual(['reports.rules[0]: unknown field "wen"; did you mean when? (fields: name, when, interval_s) (set by --rule)']);
    expect(problems({ set: ['reports.rules.2.when=mos < 2'] })).toEqual(['reports.rules[2].when: index 2 is past the end: the list has 0 items (use 0..0) (set by --set reports.rules.2.when)']);
    expect(problems({}, { RTPPROBE_REPORTS_RULES_0: 'name=x;when=mos < 3;interval_s=fast' })).toEqual(['reports.rules[0].interval_s: "fast" is not allowed: must be a number from 1 to 86400 (set by RTPPROBE_REPORTS_RULES_0)']);
    expect(problems({ rule: ['name=x;when=mos<3;interval_s=0'] })[0]).toMatch(/^reports\.rules\[0\]\.interval_s: 0 is not allowed: must be a number from 1 to 86400 \(set by --rule\)$/);
    expect(problems({ rule: ['just text'] })[0]).toContain('is not key=value');
  });
});

describe('a TLS collector\'s files from flags and environment', () => {
  const tlsOf = (c: ReturnType<typeof load>) => c.hep.collectors.map((h) => ({ host: h.host, transport: h.transport, ...h.tls }));
  const tls = { ca: '', cert: '', key: '', servername: '', rejectUnauthorized: true };

  it('--set hep.collectors.0.tls.ca amends the collector --hep gives, before or after it on the command line', () => {
    const want = [{ ...tls, host: 'homer', transport: 'tls', ca: '/etc/ca.pem', cert: '/etc/c.pem', key: '/etc/k.pem' }];
    const set = ['hep.collectors.0.tls.ca=/etc/ca.pem', 'hep.collectors[0].tls.cert=/etc/c.pem', 'hep.collectors.0.tls.key=/etc/k.pem'];
    expect(tlsOf(load({ hep: ['tls://homer:9061'], set }))).toEqual(want);
    expect(tlsOf(load({ set, hep: ['tls://homer:9061'] }))).toEqual(want);
    expect(load({ hep: ['tls://homer'], set: ['hep.collectors.0.tls.reject_unauthorized=false'] }).hep.collectors[0]!.tls.rejectUnauthorized).toBe(false);
  });

  it('indexed variables name the nested field with underscores; a whole item takes dotted keys', () => {
    const env = { RTPPROBE_HEP_COLLECTORS: 'tls://homer:9061', RTPPROBE_HEP_COLLECTORS_0_TLS_CA: '/etc/ca.pem', RTPPROBE_HEP_COLLECTORS_0_TLS_REJECT_UNAUTHORIZED: 'no' };
    expect(tlsOf(load({}, env))).toEqual([{ ...tls, host: 'homer', transport: 'tls', ca: '/etc/ca.pem', rejectUnauthorized: false }]);
    expect(tlsOf(load({ set: ['hep.collectors.1=host=h2;transport=tls;tls.servername=homer.example.net'] }, env))[1]).toEqual({ ...tls, host: 'h2', transport: 'tls', servername: 'homer.example.net' });
  });

  it('mistakes name the field and list the nested ones', () => {
    expect(problems({ hep: ['tls://homer'], set: ['hep.collectors.0.tls.certs=/x'] })).toEqual([
      'hep.collectors[0].tls.certs: unknown field "tls.certs"; did you mean tls.cert? (fields: host, port, transport, tls.ca, tls.cert, tls.key, tls.servername, tls.reject_unauthorized, queue_size, stall_timeout_s, resolve_interval_s) (set by --set hep.collectors.0.tls.certs)',
    ]);
    expect(problems({ hep: ['udp://homer'], set: ['hep.collectors.0.tls.ca=/x'] })).toEqual([
      'hep.collectors[0].tls: TLS files are set but transport is "udp": set transport: tls or remove them (set by --hep)',
    ]);
  });
});
