/**
 * A report of 50,000 calls and 100,000 streams stays a file a browser opens: bounded series, packed data,
 * a paginated call list. The recorder is fed the SIP messages and reports a replay of such a capture gives
 * (`npm run gen -- big.pcap --calls 50000 --call-duration 0.2 --duration 100 --no-rtcp` makes the capture
 * itself; replaying it takes minutes, so this test feeds the events directly).
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CallReportRecorder, packCallReport, renderCallReportHtml, unpackCallReport } from '../../src/callreport/index.js';
import { chromiumInstalled, launch, openPage } from './browser.js';

const CALLS = 50_000;
/** Computation on 100,000 streams only (no waiting): about 20 s on an idle 2-core machine, several times that under load. */
const CPU_BOUND_MS = 180_000;
const T0 = 1_700_000_000_000;

function sip(callId: string, start: string, cseq: string, sdp: string): string {
  const body = sdp ? `v=0\r\no=- 1 1 IN IP4 10.1.0.1\r\ns=-\r\nc=IN IP4 ${sdp}\r\nt=0 0\r\nm=audio 16384 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n` : '';
  return `${start}\r\nCall-ID: ${callId}\r\nFrom: <sip:alice@a.example>;tag=1\r\nTo: <sip:bob@b.example>\r\nCSeq: ${cseq}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}

function qos(callId: string, i: number, dir: number, type: string, t: number, mos: number): Record<string, string | number> {
  return {
    TYPE: type, CORRELATION_ID: callId, SYNTHETIC_ID: 0, SSRC: i * 2 + dir, SRC_IP: `10.1.${(i >> 8) & 255}.${i & 255}`, SRC_PORT: 16384 + dir * 2,
    DST_IP: `10.128.${(i >> 8) & 255}.${i & 255}`, DST_PORT: 16386 - dir * 2, CODEC_NAME: 'pcma', RTP_START: (T0 + i * 2) / 1000, RTP_STOP: (t + 200) / 1000,
    REPORT_END: t / 1000, DELTA: 20, JITTER: 1.5, PACKET_LOSS_PCT: 0, MOS: mos, LAST_MOS: mos, MIN_MOS: mos, TOTAL_PK: 10, PACKET_LOSS: 0, MAX_JITTER: 2, MAX_DELTA: 21,
  };
}

function bigRecorder(): CallReportRecorder {
  const r = new CallReportRecorder();
  for (let i = 0; i < CALLS; i++) {
    const id = `scale-${i}@gen`;
    const t = T0 + i * 2;
    const a = { srcIp: '10.1.0.1', srcPort: 5060, dstIp: '10.128.0.1', dstPort: 5060 };
    const b = { srcIp: '10.128.0.1', srcPort: 5060, dstIp: '10.1.0.1', dstPort: 5060 };
    r.onSip({ ...a, callId: id, tsMs: t, text: sip(id, 'INVITE sip:bob@b.example SIP/2.0', '1 INVITE', '10.1.0.1') });
    r.onSip({ ...b, callId: id, tsMs: t + 1, text: sip(id, 'SIP/2.0 100 Trying', '1 INVITE', '') });
    r.onSip({ ...b, callId: id, tsMs: t + 2, text: sip(id, 'SIP/2.0 180 Ringing', '1 INVITE', '') });
    r.onSip({ ...b, callId: id, tsMs: t + 3, text: sip(id, 'SIP/2.0 200 OK', '1 INVITE', '10.128.0.1') });
    r.onSip({ ...a, callId: id, tsMs: t + 4, text: sip(id, 'ACK sip:bob@b.example SIP/2.0', '1 ACK', '') });
    r.onSip({ ...a, callId: id, tsMs: t + 205, text: sip(id, 'BYE sip:bob@b.example SIP/2.0', '2 BYE', '') });
    r.onSip({ ...b, callId: id, tsMs: t + 206, text: sip(id, 'SIP/2.0 200 OK', '2 BYE', '') });
    for (const dir of [0, 1]) {
      r.onQos(qos(id, i, dir, 'PERIODIC', t + 100, 4.2 - (i % 97) / 100));
      r.onQos(qos(id, i, dir, 'HANGUP', t + 205, 4.2 - (i % 97) / 100));
    }
  }
  return r;
}

describe('call report at 100,000 streams', () => {
  const data = bigRecorder().build('scale', 1, T0);

  it('keeps every call and stream, worst first, and packs them losslessly', () => {
    expect(data.calls).toHaveLength(CALLS);
    expect(data.streams).toHaveLength(2 * CALLS);
    expect(data.calls[0]!.worstMos).toBeLessThanOrEqual(data.calls[CALLS - 1]!.worstMos);
    expect(unpackCallReport(JSON.parse(JSON.stringify(packCallReport(data))))).toEqual(data);
  }, CPU_BOUND_MS);

  it.skipIf(!chromiumInstalled())('opens in chromium: 50 calls a page, pages turn, a call shows its ladder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-html-scale-'));
    const browser = await launch();
    try {
      const file = join(dir, 'scale.html');
      writeFileSync(file, renderCallReportHtml(data));
      expect(statSync(file).size).toBeLessThan(60 << 20);
      const { page, errors } = await openPage(browser, pathToFileURL(file).href, 'file:');
      await page.waitForSelector('body[data-ready]', { timeout: 120_000 });
      expect(await page.locator('#calls').getAttribute('data-total')).toBe(String(CALLS));
      expect(await page.locator('#calls tr.call').count()).toBe(50);
      const first = await page.locator('#calls tr.call').first().getAttribute('data-call-id');
      await page.locator('#calls-pager button').nth(1).click();
      await page.waitForFunction((id) => document.querySelector('#calls tr.call')?.getAttribute('data-call-id') !== id, first);
      expect(await page.locator('#calls-pager').textContent()).toContain(`page 2 of ${CALLS / 50}`);
      await page.locator('#calls tr.call').first().click();
      await page.waitForSelector('svg.ladder g.msg');
      expect(await page.locator('svg.ladder g.msg').count()).toBe(7);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, CPU_BOUND_MS + 120_000); // + the page's own 120 s limit
});
