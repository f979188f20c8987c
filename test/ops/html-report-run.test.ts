/**
 * The HTML call report of `rtpprobe run` (reports.html.path, written at stop) over a long run: it keeps
 * the most recently active SIP dialogs and streams, as the live page does, so a week of calls cannot grow
 * the heap without limit; the page says how many it did not keep. A replay keeps every call. Real outputs,
 * real files: the page written at close is read back.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { unpackCallReport, type PackedCallReport } from '../../src/callreport/index.js';
import { sdpBody, sipRequest } from '../../src/gen/index.js';
import { defaultConfig } from '../../src/ops/config.js';
import { openOutputs } from '../../src/pipeline/index.js';
import type { QosReport } from '../../src/report/index.js';
import { chromiumInstalled, launch, openPage } from '../callreport/browser.js';
import { heapAfterGc } from '../heap.js';

const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-html-run-'));
const enc = new TextEncoder();

/** Outputs with only the HTML report, at `path`; `live`: as `run` opens them. */
function htmlOutputs(path: string, live: boolean) {
  const config = defaultConfig();
  config.hep.enabled = false;
  config.reports.html.path = path;
  const outputs = openOutputs(config, { source: live ? 'eth1' : 'day.pcap', live });
  /** Call `c`: its INVITE (with SDP) and the FINAL report of its one stream. */
  const call = (c: number) => {
    const callId = `call-${c}@test`;
    const tsMs = 1_700_000_000_000 + c * 1000;
    const env = { ipVersion: 4 as const, srcIp: '10.0.0.1', srcPort: 5060, dstIp: '10.0.0.2', dstPort: 5060, tsMs };
    const invite = sipRequest('INVITE', 'sip:b@x', { callId, fromTag: 'a', cseq: 1, body: sdpBody({ ip: '10.0.0.1', media: [{ port: 4000, formats: [8] }] }) });
    outputs.sink.sip(enc.encode(invite), env, callId, 'INVITE', 0);
    const report: QosReport = {
      CORRELATION_ID: callId, TYPE: 'FINAL', SSRC: c, SRC_IP: '10.0.0.1', SRC_PORT: 4000, DST_IP: '10.0.0.2', DST_PORT: 5000, CODEC_NAME: 'pcma',
      RTP_START: tsMs / 1000, RTP_STOP: tsMs / 1000 + 30, REPORT_TS: tsMs / 1000 + 30, REPORT_END: tsMs / 1000 + 30, TOTAL_PK: 1500, PACKET_LOSS: 0, MOS: 4.4, MIN_MOS: 4.4, SYNTHETIC_ID: 0,
    };
    outputs.sink.qos(report, { ...env, srcPort: 4000, dstPort: 5000, tsMs: tsMs + 30_000 }, true, true);
  };
  return { outputs, call };
}

/** The report data embedded in a written page. */
function embedded(path: string) {
  const json = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(readFileSync(path, 'utf8'))![1]!;
  return unpackCallReport(JSON.parse(json) as PackedCallReport);
}

describe('the HTML call report of a long run', () => {
  it('run: the most recently active 2,000 dialogs and 4,000 streams are kept, the heap stays flat, the page counts the others', async () => {
    const path = join(dir, 'run.html');
    const { outputs, call } = htmlOutputs(path, true);
    let c = 0;
    for (; c < 6000; c++) call(c);
    const before = heapAfterGc();
    for (; c < 26_000; c++) call(c);
    const grown = heapAfterGc() - before;
    expect(grown, `heap grew ${(grown / 2 ** 20).toFixed(1)} MiB over 20,000 more calls`).toBeLessThan(8 * 2 ** 20);
    await outputs.close(10_000);
    const d = embedded(path);
    expect(d.forgotten).toEqual({ dialogs: 24_000, streams: 22_000 });
    expect(d.streams).toHaveLength(4000);
    const ids = new Set(d.calls.map((x) => x.callId));
    expect(ids.has('call-25999@test')).toBe(true);
    expect(ids.has('call-0@test')).toBe(false);
    // The newest calls keep their ladder; those whose dialog went first are shown from their stream.
    expect(d.calls.find((x) => x.callId === 'call-25999@test')!.messages.map((m) => m.label)).toEqual(['INVITE']);
    expect(d.calls.filter((x) => x.messages.length > 0)).toHaveLength(2000);
    if (!chromiumInstalled()) return;
    // The page says it: in the line above the call list.
    const browser = await launch();
    try {
      const { page, errors } = await openPage(browser, pathToFileURL(path).href, 'file:');
      await page.waitForSelector('body[data-ready]');
      expect(await page.locator('#meta').textContent()).toContain('not kept (least recently active): 24000 SIP dialogs, 22000 streams');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('replay: every call is kept, nothing is counted as forgotten', async () => {
    const path = join(dir, 'replay.html');
    const { outputs, call } = htmlOutputs(path, false);
    for (let c = 0; c < 6000; c++) call(c);
    await outputs.close(10_000);
    const d = embedded(path);
    expect(d.forgotten).toEqual({ dialogs: 0, streams: 0 });
    expect(d.calls).toHaveLength(6000);
    expect(d.streams).toHaveLength(6000);
    if (!chromiumInstalled()) return;
    const browser = await launch();
    try {
      const { page } = await openPage(browser, pathToFileURL(path).href, 'file:');
      await page.waitForSelector('body[data-ready]');
      expect(await page.locator('#meta').textContent()).not.toContain('not kept');
    } finally {
      await browser.close();
    }
  });
});
