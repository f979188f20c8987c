/**
 * `rtpprobe replay FILE --html OUT` of forked calls (one branch busy or the first gateway 503, another
 * answers): the report's call is the whole call, as tshark sees it (every SIP message of the Call-ID, from
 * the INVITE to the BYE's 200 OK), with every stream the probe reported for it, and no stream without a call.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unpackCallReport, type CallReportData, type PackedCallReport } from '../../src/callreport/index.js';
import { classicPcap, failoverToSecondGateway, forkedCallOneBranchBusy, type SipScenario } from '../../src/gen/index.js';

const CLI = new URL('../../dist/cli.js', import.meta.url).pathname;
const T0 = 1_750_000_000_000;
const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-forked-html-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The report data of the HTML page, and the FINAL/HANGUP reports of the same replay. */
function replay(name: string, s: SipScenario): { data: CallReportData; ends: Array<{ CORRELATION_ID: string; SSRC: number }>; file: string } {
  const file = join(dir, `${name}.pcap`);
  writeFileSync(file, classicPcap(s.records));
  const html = join(dir, `${name}.html`);
  const jsonl = join(dir, `${name}.jsonl`);
  execFileSync('node', [CLI, 'replay', file, '--html', html, '--jsonl', jsonl, '--no-hep', '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const packed = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(readFileSync(html, 'utf8'))![1]!;
  const data = unpackCallReport(JSON.parse(packed) as PackedCallReport);
  const ends = readFileSync(jsonl, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { TYPE: string; CORRELATION_ID: string; SSRC: number })
    .filter((r) => r.TYPE === 'FINAL' || r.TYPE === 'HANGUP');
  return { data, ends, file };
}

/** Capture times (ms) of the SIP messages of `callId`, as tshark decodes them. */
function tsharkSipTimes(file: string, callId: string): number[] {
  const out = execFileSync('tshark', ['-r', file, '-Y', `sip.Call-ID == "${callId}"`, '-T', 'fields', '-e', 'frame.time_epoch'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => Math.round(Number(l) * 1000));
}

describe('HTML call report of a forked call', () => {
  const cases: Array<[string, SipScenario]> = [
    ['one branch busy (486), the other answers 5 s later', forkedCallOneBranchBusy({ t0Ms: T0, ringMs: 5000, packets: 100 })],
    ['one branch busy, the other plays ringback after a 183, then answers', forkedCallOneBranchBusy({ t0Ms: T0, ringMs: 5000, packets: 100, earlyMedia: 200 })],
    ['the first gateway answers 503, the second answers', failoverToSecondGateway({ t0Ms: T0, packets: 100 })],
  ];
  for (const [i, [what, s]] of cases.entries()) {
    it(`${what}: one call from the INVITE to the BYE's 200 OK, every message and stream of it`, () => {
      const { data, ends, file } = replay(`case-${i}`, s);
      const sip = tsharkSipTimes(file, s.callId);
      expect(data.calls.map((c) => c.callId)).toEqual([s.callId]);
      const call = data.calls[0]!;
      expect(call.messages.length).toBe(sip.length);
      expect([call.start, call.end]).toEqual([Math.min(...sip), Math.max(...sip)]);
      expect(ends.length, 'both directions, and the ringback when played').toBe(what.includes('183') ? 3 : 2);
      expect(ends.map((r) => r.CORRELATION_ID)).toEqual(ends.map(() => s.callId));
      expect(call.streams.map((i) => data.streams[i]!.callId)).toEqual(ends.map(() => s.callId));
      expect(data.streams.filter((st) => st.callId === null)).toEqual([]);
    });
  }
});
