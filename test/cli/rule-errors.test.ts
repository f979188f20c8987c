/**
 * Alert rules that cannot be evaluated for a stream (a compared value that is NaN, infinite or complex):
 * check-config refuses what fails whatever the stream; at run time each failed evaluation is counted per
 * rule (run summary, /metrics) and logged once per rule per 10 s, and the rule does not fire there. The
 * counts are checked against the interval reports of the same run, where the value is computed again.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureTimeline } from '../../src/gen/index.js';
import type { QosReport } from '../../src/report/index.js';
import { until } from '../wait.js';
import { CAPTURES, childEnv, root, startCli } from './helpers.js';

const cli = join(root, 'dist/cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'rtpprobe-rule-errors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// 0 / 0 in every interval without loss; the square root of a negative number while the skew is under 1 ms.
const RULES = ['--rule', 'name=ratio;when=lost / (expected - packets) > 1;interval_s=1', '--rule', 'name=skew;when=sqrt(skew_ms - 1) > 1', '--rule', 'name=flowing;when=packets > 0;interval_s=1'];

const jsonLines = (text: string) => text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
const reportsOf = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as QosReport);
/** Interval reports whose values make each rule fail (computed from the report, as the rule does). */
const failing = (reports: QosReport[]) => {
  const periodic = reports.filter((r) => r.TYPE === 'PERIODIC');
  return {
    ratio: periodic.filter((r) => r.PACKET_LOSS === 0 && r.EXPECTED_PK === r.TOTAL_PK).length,
    skew: periodic.filter((r) => (r.SKEW as number) < 1).length,
  };
};

describe.skipIf(!existsSync(cli))('alert rules that fail to evaluate', () => {
  it('check-config refuses a part that is no finite number whatever the stream, naming the rule and the part', () => {
    const r = spawnSync(process.execPath, [cli, 'check-config', '--rule', 'name=never;when=mos < 1/0', '--rule', 'name=decimals;when=round(mos, 1.5) < 3'], { encoding: 'utf8', env: childEnv() });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("report rule 'never': 1 / 0 is Infinity, not a finite number");
    expect(r.stderr).toContain("report rule 'decimals': round()'s decimals must be an integer from 0 to 15, got 1.5");
    const ok = spawnSync(process.execPath, [cli, 'check-config', ...RULES], { encoding: 'utf8', env: childEnv() });
    expect(ok.status, ok.stderr).toBe(0); // these fail for some streams only
  });

  it("a rule naming an emulated jitter buffer's variable is refused while qos.jitter_buffers.emulate is false (it would be 0 for every stream)", () => {
    const off = ['--set', 'qos.jitter_buffers.emulate=false'];
    const r = spawnSync(process.execPath, [cli, 'check-config', ...off, '--rule', 'name=late;when=mos > 3 and mos_adapt < 3.6', '--rule', 'name=net;when=mos_net < 3.6'], { encoding: 'utf8', env: childEnv() });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('reports.rules[0].when: "mos > 3 and mos_adapt < 3.6" names mos_adapt, which is 0 for every stream while qos.jitter_buffers.emulate is false');
    expect(r.stderr).not.toContain('reports.rules[1]'); // mos_net is measured without the buffers
    const replay = spawnSync(process.execPath, [cli, 'replay', join(CAPTURES, 'SIP_CALL_RTP_G711.pcap'), '--table', 'none', ...off, '--rule', 'name=late;when=discards_f1 == 0'], { encoding: 'utf8', env: childEnv() });
    expect(replay.status).toBe(2);
    expect(replay.stderr).toContain('names discards_f1');
    const on = spawnSync(process.execPath, [cli, 'check-config', '--rule', 'name=late;when=mos_adapt < 3.6'], { encoding: 'utf8', env: childEnv() });
    expect(on.status, on.stderr).toBe(0);
  });

  it('replay: each failed evaluation is counted per rule in the run summary and logged once, and does not stop the other rules', () => {
    const out = join(tmp, 'g711.jsonl');
    const r = spawnSync(process.execPath, [cli, 'replay', join(CAPTURES, 'SIP_CALL_RTP_G711.pcap'), '--jsonl', out, '--table', 'none', '--log-format', 'json', ...RULES], { encoding: 'utf8', env: childEnv() });
    expect(r.status, r.stderr).toBe(0);
    const reports = reportsOf(out);
    const want = failing(reports);
    expect(want.ratio).toBeGreaterThan(0);
    expect(want.skew).toBeGreaterThan(0);
    const logs = jsonLines(r.stderr);
    expect(logs.find((l) => l.msg === 'run summary')!.ruleErrors).toEqual(want);
    const warned = logs.filter((l) => /^alert rule \S+ could not be evaluated for a stream/.test(l.msg));
    expect(warned.map((l) => [l.rule, l.error])).toEqual([
      ['ratio', 'lost / (expected - packets) is NaN, not a finite number'],
      ['skew', expect.stringMatching(/^sqrt\(skew_ms - 1\) is complex \(.+i\), not a finite number$/)],
    ]);
    // The rule that fails wherever it is evaluated never fired; the rule beside it fired for every stream.
    const alerts = reports.filter((x) => x.TYPE === 'ALERT');
    expect(alerts.filter((x) => x.ALERT_RULE === 'ratio')).toEqual([]);
    expect(alerts.filter((x) => x.ALERT_RULE === 'flowing').length).toBe(reports.filter((x) => x.TYPE === 'FINAL' || x.TYPE === 'HANGUP').length);
  });

  it('/metrics counts them per rule (rtpprobe_rule_errors_total), as the reports of the run say', async () => {
    // Six seconds of RTP without loss, then a packet an hour later: the realtime replay waits in the gap.
    const T0 = 1_700_000_000_000;
    const t = new CaptureTimeline();
    t.rtp(T0, '10.5.0.1', 40000, '10.5.0.2', 50000, { ssrc: 5, seq: 1, ts: 0, count: 300 });
    t.rtp(T0 + 3_600_000, '10.5.0.1', 40000, '10.5.0.2', 50000, { ssrc: 5, seq: 301, ts: 300 * 160, count: 1 });
    const gap = join(tmp, 'gap.pcap');
    writeFileSync(gap, t.pcap());
    const out = join(tmp, 'gap.jsonl');
    const p = startCli(cli, ['replay', gap, '--realtime', '--no-hep', '--jsonl', out, '--metrics', '--set', 'metrics.port=0', '--set', 'reports.interval_s=1', '--log-format', 'json', ...RULES]);
    try {
      let port = 0;
      expect(await until(() => ((port = Number(/"port":(\d+)[^\n]*metrics and health endpoint listening/.exec(p.out.stderr)?.[1] ?? 0)), port > 0), 30_000)).toBe(true);
      // At least four intervals end before the gap (the six seconds' last one ends after it).
      let scraped = { ratio: -1, skew: -1 };
      const poll = async () => {
        const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
        const value = (rule: string) => Number(new RegExp(`^rtpprobe_rule_errors_total\\{rule="${rule}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? -1);
        if (text !== '') scraped = { ratio: value('ratio'), skew: value('skew') }; // polls in flight at the stop fail
        return scraped.ratio >= 4;
      };
      let done = false;
      expect(await until(() => (void poll().then((d) => (done = d)), done), 30_000), JSON.stringify(scraped)).toBe(true);
      expect(scraped.skew).toBeGreaterThanOrEqual(0); // every configured rule has its series
      p.child.kill('SIGTERM');
      expect((await p.exited).code).toBe(0);
      const want = failing(reportsOf(out));
      expect(scraped).toEqual(want);
      expect(jsonLines(p.out.stderr).find((l) => l.msg === 'run summary')!.ruleErrors).toEqual(Object.fromEntries(Object.entries(want).filter(([, n]) => n > 0)));
    } finally {
      p.child.kill('SIGKILL');
    }
  }, 60_000);
});
