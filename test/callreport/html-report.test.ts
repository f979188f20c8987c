/**
 * `rtpprobe replay FILE --html OUT` through the real CLI, opened in headless chromium: no console errors,
 * no network request, and the calls, SIP messages and streams the DOM shows are the ones tshark sees in
 * the capture (calls and messages) and the probe reported (streams, from its JSON lines of the same run).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { unpackCallReport, type PackedCallReport } from '../../src/callreport/index.js';
import { callLearnedAtReinvite, CaptureTimeline, classicPcap, DialogWriter, pcapng, rtp, sdpBody, sipRequest, sipResponse, udpFrame } from '../../src/gen/index.js';
import { chromiumInstalled, launch, openPage, screenshot, type OpenedPage } from './browser.js';

const CLI = new URL('../../dist/cli.js', import.meta.url).pathname;
const FIELD = new URL('../../../shared/captures/field/', import.meta.url).pathname;

/** SIP messages per Call-ID as tshark decodes them, and the Call-IDs that carried an INVITE. */
function tsharkSip(file: string): { perCall: Map<string, number>; invited: Set<string> } {
  const out = execFileSync('tshark', ['-r', file, '-Y', 'sip', '-T', 'fields', '-E', 'separator=|', '-e', 'sip.Call-ID', '-e', 'sip.Method', '-e', 'sip.CSeq.method'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const perCall = new Map<string, number>();
  const invited = new Set<string>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [ids, method] = line.split('|');
    // One frame can carry several messages (TCP): tshark joins their values with commas.
    for (const id of ids!.split(',')) perCall.set(id, (perCall.get(id) ?? 0) + 1);
    if (method?.split(',').includes('INVITE')) for (const id of ids!.split(',')) invited.add(id);
  }
  return { perCall, invited };
}

interface Replayed {
  html: string;
  /** FINAL/HANGUP reports per CORRELATION_ID (synthetic ids under 'none'). */
  streamsPerCall: Map<string, number>;
}

function replay(parent: string, file: string, extra: string[] = []): Replayed {
  const dir = mkdtempSync(join(parent, 'run-')); // JSON lines append: one folder per replay
  const html = join(dir, 'report.html');
  const jsonl = join(dir, 'reports.jsonl');
  execFileSync('node', [CLI, 'replay', file, '--html', html, '--jsonl', jsonl, '--no-hep', '--log-level', 'warn', ...extra], { stdio: ['ignore', 'ignore', 'inherit'] });
  const streamsPerCall = new Map<string, number>();
  for (const line of readFileSync(jsonl, 'utf8').split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line) as Record<string, string | number>;
    if (r.TYPE !== 'FINAL' && r.TYPE !== 'HANGUP') continue;
    const id = Number(r.SYNTHETIC_ID) ? 'none' : String(r.CORRELATION_ID);
    streamsPerCall.set(id, (streamsPerCall.get(id) ?? 0) + 1);
  }
  return { html, streamsPerCall };
}

interface Party {
  ip: string;
  port: number;
}

/** An answered PCMA call from a to b: INVITE, 200 OK and ACK from t0Ms; its dialog, to end it. */
function answered(t: CaptureTimeline, callId: string, a: Party, b: Party, t0Ms: number): DialogWriter {
  const d = new DialogWriter(t, callId, a.ip, b.ip);
  const audio = (p: Party) => ({ ip: p.ip, media: [{ port: p.port, formats: [8] }] });
  const c = d.invite(t0Ms, audio(a));
  d.respond(t0Ms + 50, 200, c, audio(b));
  d.ack(t0Ms + 60, c);
  return d;
}

/** `count` PCMA packets of `ms` ms of audio each, one every `ms` from `firstMs`. */
function paced(t: CaptureTimeline, from: Party, to: Party, ssrc: number, firstMs: number, ms: number, count: number): void {
  const payload = new Uint8Array(ms * 8).fill(0xd5);
  for (let i = 0; i < count; i++) t.add(firstMs + i * ms, udpFrame(from.ip, from.port, to.ip, to.port, rtp({ pt: 8, seq: i & 0xffff, ts: i * ms * 8, ssrc, payload })));
}

/** A stream's packets: the first `delayMs` after the call's INVITE, one every `ms`, `count` of them. */
interface Pace {
  delayMs: number;
  ms: number;
  count: number;
}

/** An answered PCMA call `callId` between 10.NET.0.1 and 10.NET.0.2, one stream each way, BYE `byeMs` after its INVITE. */
function pacedCall(callId: string, net: number, t0Ms: number, ab: Pace, ba: Pace, byeMs: number): { pcap: Buffer; callId: string } {
  const t = new CaptureTimeline();
  const a = { ip: `10.${net}.0.1`, port: 40000 };
  const b = { ip: `10.${net}.0.2`, port: 50000 };
  const d = answered(t, callId, a, b, t0Ms);
  paced(t, a, b, 0xa, t0Ms + ab.delayMs, ab.ms, ab.count);
  paced(t, b, a, 0xb, t0Ms + ba.delayMs, ba.ms, ba.count);
  d.bye(t0Ms + byeMs);
  return { pcap: classicPcap(t.records()), callId };
}

/**
 * A call of 10 s with two streams that report at different times: a->b at 20 ms packets, b->a at 40 ms
 * (so their delta lines lie apart), starting 300 ms later.
 */
function twoPaceCall(t0Ms: number): { pcap: Buffer; callId: string } {
  return pacedCall('two-pace@gen', 9, t0Ms, { delayMs: 100, ms: 20, count: 500 }, { delayMs: 400, ms: 40, count: 243 }, 10_200);
}

/** A call of `seconds` with one stream each way, a packet every 100 ms (few packets for many intervals). */
function longCall(t0Ms: number, seconds: number): { pcap: Buffer; callId: string } {
  const pace = (delayMs: number) => ({ delayMs, ms: 100, count: seconds * 10 });
  return pacedCall('long@gen', 8, t0Ms, pace(100), pace(130), 200 + seconds * 1000);
}

/** The report data embedded in a written page. */
function embedded(html: string): ReturnType<typeof unpackCallReport> {
  const json = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(readFileSync(html, 'utf8'))![1]!;
  return unpackCallReport(JSON.parse(json) as PackedCallReport);
}

/** Markup, quotes and line separators a SIP peer can put in any header or reason phrase. */
const HOSTILE = `</script><script>window.pwned=1</script><img src=x onerror="window.pwned=2">'"\u2028\u2029&amp;`;

/** An answered call whose Call-ID, User-Agent, From user, reason phrase and CSeq carry HOSTILE. */
function hostileCall(t0Ms: number): { pcap: Buffer; callId: string; from: string; ringing: string } {
  const t = new CaptureTimeline();
  const callId = `evil${HOSTILE}@host`;
  const from = `al<img/src=x/onerror=window.pwned=3//@example.com`;
  const headers: Array<[string, string]> = [['User-Agent', HOSTILE]];
  const withFrom = (m: string) => m.replace(/^From: .*$/m, `From: "${HOSTILE}" <sip:${from}>;tag=a`);
  const sdp = (ip: string, port: number) => sdpBody({ ip, media: [{ port, formats: [8] }] });
  const ringing = `180 ${HOSTILE}`;
  t.sip(t0Ms, '10.0.0.1', '10.0.0.2', withFrom(sipRequest('INVITE', 'sip:bob@example.com', { callId, fromTag: 'a', cseq: 1, body: sdp('10.0.0.1', 40000), headers })));
  t.sip(t0Ms + 50, '10.0.0.2', '10.0.0.1', sipResponse(180, { callId, fromTag: 'a', toTag: 'b', cseq: 1, cseqMethod: 'INVITE', headers }).replace('180 Ringing', ringing));
  t.sip(t0Ms + 100, '10.0.0.2', '10.0.0.1', sipResponse(200, { callId, fromTag: 'a', toTag: 'b', cseq: 1, cseqMethod: `INVITE${HOSTILE}`, body: sdp('10.0.0.2', 50000), headers }));
  t.sip(t0Ms + 120, '10.0.0.1', '10.0.0.2', sipRequest('ACK', 'sip:bob@example.com', { callId, fromTag: 'a', toTag: 'b', cseq: 1, headers }));
  t.rtp(t0Ms + 200, '10.0.0.1', 40000, '10.0.0.2', 50000, { ssrc: 0x1111, seq: 1, ts: 0, count: 150 });
  t.sip(t0Ms + 3300, '10.0.0.1', '10.0.0.2', sipRequest('BYE', 'sip:bob@example.com', { callId, fromTag: 'a', toTag: 'b', cseq: 2, headers }));
  return { pcap: classicPcap(t.records()), callId, from, ringing };
}

/** Share of the columns of a chart's plot area where a pixel has (about) the colour `css`. */
async function columnsWithColour(page: Page, metric: string, css: string): Promise<number> {
  return page.evaluate(([metric, css]) => {
    const [r, g, b] = css.match(/\d+/g)!.map(Number) as [number, number, number];
    const box = document.querySelector(`.chart[data-metric="${metric}"]`)!;
    const canvas = box.querySelector('canvas')!;
    const c = canvas.getBoundingClientRect();
    const over = box.querySelector('.u-over')!.getBoundingClientRect();
    const k = canvas.width / c.width;
    const x0 = Math.round((over.left - c.left) * k);
    const w = Math.round(over.width * k);
    const img = canvas.getContext('2d')!.getImageData(x0, 0, w, canvas.height).data;
    let hit = 0;
    for (let x = 0; x < w; x++) {
      for (let y = 0; y < canvas.height; y++) {
        const i = (y * w + x) * 4;
        if (Math.abs(img[i]! - r) + Math.abs(img[i + 1]! - g) + Math.abs(img[i + 2]! - b) < 60) {
          hit++;
          break;
        }
      }
    }
    return hit / w;
  }, [metric, css] as const);
}

describe('interval delta of comfort noise, against tshark', () => {
  /**
   * ndpi-fax-call-t38.pcap: the fax machine's stream turns to comfort noise (PT 13, one packet every
   * 150 ms) for 24 s. Wireshark's RTP analysis leaves comfort noise, and the packet after it, out of its
   * min/mean/max delta: a 1 s interval of comfort noise only has no delta to report (0 in the report) and
   * the page draws no delta point for it, where 0 would read as packets arriving back to back.
   */
  it("each interval's MAX_DELTA is the largest delta tshark counts among its packets; an interval of comfort noise only has none, and no chart point", () => {
    const file = join(FIELD, 'ndpi-fax-call-t38.pcap');
    const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-cn-delta-'));
    try {
      const run = replay(dir, file);
      // Per packet of the stream, from tshark: arrival (ms), payload type, marker, RTP timestamp.
      const packets = execFileSync('tshark', ['-n', '-o', 'rtp.heuristic_rtp:FALSE', '-r', file, '-Y', 'rtp.ssrc == 0x17d90134', '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'rtp.p_type', '-e', 'rtp.marker', '-e', 'rtp.timestamp'], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map((l) => l.split('\t'))
        .map(([t, pt, m, ts]) => ({ ms: Number(t) * 1000, pt: Number(pt), marker: m === '1' || m === 'True', ts: Number(ts) }));
      // Wireshark's rule (REFERENCE.md 4): not the first, no marker, not comfort noise nor right after it.
      // Compared up to the sender's timestamp reset near the end (tshark leaves those packets out too).
      const reset = packets.findIndex((p) => p.ts < packets[0]!.ts);
      const counted = packets.slice(0, reset).map((p, i, a) => ({ ms: p.ms, delta: i > 0 && !p.marker && p.pt !== 13 && a[i - 1]!.pt !== 13 ? p.ms - a[i - 1]!.ms : null }));
      const reports = readFileSync(join(dirname(run.html), 'reports.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, number | string>)
        .filter((r) => r.TYPE === 'PERIODIC' && r.SSRC === 0x17d90134 && Number(r.REPORT_END) * 1000 < packets[reset]!.ms);
      const stream = unpackCallReport(JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(readFileSync(run.html, 'utf8'))![1]!) as PackedCallReport).streams.find((x) => x.ssrc === '0x17D90134')!;
      let comfortNoiseOnly = 0;
      for (const r of reports) {
        // REPORT_START/END are truncated to the ms: a packet of the period lies in [START, END + 1 ms).
        const inside = counted.filter((p) => p.ms >= Number(r.REPORT_START) * 1000 - 1e-6 && p.ms < Number(r.REPORT_END) * 1000 + 1);
        expect(inside.length).toBe(r.TOTAL_PK);
        const deltas = inside.flatMap((p) => (p.delta === null ? [] : [p.delta]));
        expect(Number(r.MAX_DELTA)).toBeCloseTo(deltas.length ? Math.max(...deltas) : 0, 2);
        const points = stream.series.t.flatMap((t, i) => (t === Math.round(Number(r.REPORT_END) * 1000) ? [stream.series.delta[i]] : []));
        expect(points.length).toBeGreaterThan(0);
        if (deltas.length === 0) {
          comfortNoiseOnly++;
          expect(points.every((d) => d === null)).toBe(true);
        } else for (const d of points) expect(d).toBeCloseTo(Number(r.DELTA), 3);
      }
      expect(comfortNoiseOnly).toBeGreaterThanOrEqual(20);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a stream's chart points against the JSON reports of the same replay", () => {
  /**
   * A call whose b->a stream stops after 3 s while a->b goes on for 20 s: b->a's silence ALERT comes 6 s
   * later with no packet, a->b's one-way-rtp ALERT with the PERIODIC of its interval, and a->b's last
   * period (one-way-rtp still firing) as a CLEARED (stream-ended) with no PERIODIC.
   */
  it('one point per interval that had packets, with its values, the last period of a stream whose alert still fires included; none for a silence', () => {
    const call = pacedCall('one-way@gen', 3, 1_750_000_000_000, { delayMs: 100, ms: 20, count: 1000 }, { delayMs: 110, ms: 20, count: 150 }, 20_200);
    const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-points-'));
    try {
      const file = join(dir, 'one-way.pcap');
      writeFileSync(file, call.pcap);
      const run = replay(dir, file);
      const reports = readFileSync(join(dirname(run.html), 'reports.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, string | number>);
      const streams = embedded(run.html).streams;
      expect(streams).toHaveLength(2);
      let lastPeriods = 0;
      for (const s of streams) {
        const own = reports.filter((r) => Number(r.SSRC) === parseInt(s.ssrc, 16) && r.TYPE !== 'FINAL' && r.TYPE !== 'HANGUP');
        // The intervals the reports measured, in order: one per REPORT_END (an ALERT repeats its PERIODIC's).
        const measured = new Map<number, Record<string, string | number>>();
        for (const r of own) if (Number(r.TOTAL_PK) > 0 && !measured.has(Number(r.REPORT_END))) measured.set(Number(r.REPORT_END), r);
        if (own.some((r) => r.TYPE === 'CLEARED' && r.CLEAR_REASON === 'stream-ended' && Number(r.TOTAL_PK) > 0)) lastPeriods++;
        const expected = [...measured.values()].map((r) => [Math.round(Number(r.REPORT_END) * 1000), Number(r.DELTA), Number(r.JITTER), Number(r.PACKET_LOSS_PCT), Number(r.MOS)]);
        const shown = s.series.t.map((t, i) => [t, s.series.delta[i], s.series.jitter[i], s.series.loss[i], s.series.mos[i]]);
        expect(shown, s.ssrc).toEqual(expected);
        // Nothing after the stream's last packet: a pause measured no loss, jitter or MOS.
        expect(Math.max(...s.series.t), s.ssrc).toBe(s.end);
      }
      expect(lastPeriods).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!chromiumInstalled())('HTML call report in chromium', () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    browser = await launch();
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-html-'));
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `pcap` written as NAME.pcap in the test's folder and replayed to --html. */
  function replayed(name: string, pcap: Buffer): Replayed & { file: string } {
    const file = join(dir, `${name}.pcap`);
    writeFileSync(file, pcap);
    return { ...replay(dir, file), file };
  }

  /** twoPaceCall's page, its call's charts drawn. */
  async function twoPacePage(name: string): Promise<OpenedPage> {
    const call = twoPaceCall(1_750_000_000_000);
    const o = await opened(replayed(name, call.pcap));
    await o.page.waitForSelector(`#detail[data-call-id="${call.callId}"] .chart[data-metric="mos"] canvas`);
    return o;
  }

  /** The run's page in chromium (in `timezoneId`, else the machine's zone), rendered. */
  async function opened(run: Replayed, timezoneId?: string): Promise<OpenedPage> {
    const o = await openPage(browser, pathToFileURL(run.html).href, 'file:', timezoneId);
    await o.page.waitForSelector('body[data-ready]');
    return o;
  }

  it('isa-real-call: every call, message and stream rendered; ladder shows the re-INVITEs and the media moves', async () => {
    const file = join(FIELD, 'isa-real-call.pcap');
    const { perCall, invited } = tsharkSip(file);
    const run = replay(dir, file);
    const { page, errors, requests } = await openPage(browser, pathToFileURL(run.html).href, 'file:');
    await page.waitForSelector('body[data-ready]');
    // The page names the capture it was made from (a browser tab, a file attached to a ticket).
    expect(await page.title()).toBe('rtpprobe call report: isa-real-call.pcap');
    expect(await page.locator('#title').textContent()).toBe('rtpprobe call report: isa-real-call.pcap');

    expect(await page.locator('#calls').getAttribute('data-total')).toBe(String(invited.size));
    const rows = page.locator('#calls tr.call');
    expect(await rows.count()).toBe(invited.size);
    for (let i = 0; i < invited.size; i++) {
      const row = rows.nth(i);
      const callId = (await row.getAttribute('data-call-id'))!;
      expect(invited.has(callId)).toBe(true);
      await row.click();
      await page.waitForSelector(`#detail[data-call-id="${callId}"]`);
      expect(await page.locator('#messages tbody tr').count()).toBe(perCall.get(callId));
      expect(await page.locator('svg.ladder g.msg').count()).toBe(perCall.get(callId));
      const streams = run.streamsPerCall.get(callId) ?? 0;
      expect(await page.locator('#call-streams tbody tr').count()).toBe(streams);
      expect(await page.locator('svg.ladder g.media').count()).toBe(streams);
      // One chart per metric when the call has media.
      expect(await page.locator('#detail .chart .uplot').count()).toBe(streams ? 4 : 0);
    }
    // The call with the re-INVITEs: four INVITE transactions, their SDP moving the media between the
    // Asterisk (10.0.2.15) and the phones' direct 7078 <-> 7078 path.
    const reinvited = [...invited].sort((a, b) => perCall.get(b)! - perCall.get(a)!)[0]!;
    await page.locator(`#calls tr.call[data-call-id="${reinvited}"]`).click();
    await page.waitForSelector(`#detail[data-call-id="${reinvited}"]`);
    const sdps = await page.locator('#messages td.sdp').allTextContents();
    expect(sdps.filter((t) => t.includes('10.0.2.15:')).length).toBeGreaterThan(0);
    expect(sdps.filter((t) => /10\.0\.2\.[45]:7078/.test(t)).length).toBeGreaterThan(0);
    expect((await page.locator('#messages tbody tr td:nth-child(4)').allTextContents()).filter((t) => t === 'INVITE').length).toBeGreaterThanOrEqual(4);
    const shot = await screenshot(page, 'callreport-isa-real-call.png');
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
  });

  it('a call running before the capture, learned at its re-INVITE: its streams and their SDP codecs are listed under it, as their final reports say', async () => {
    const s = callLearnedAtReinvite({ t0Ms: 1_750_000_000_000, before: 150, after: 150 });
    const file = join(dir, 'learned-at-reinvite.pcap');
    writeFileSync(file, classicPcap(s.records));
    const run = replay(dir, file);
    expect([...run.streamsPerCall]).toEqual([[s.callId, 2]]);
    const { page, errors } = await openPage(browser, pathToFileURL(run.html).href, 'file:');
    await page.waitForSelector('body[data-ready]');
    await page.waitForSelector(`#detail[data-call-id="${s.callId}"]`);
    expect(await page.locator('#call-streams tbody tr').count()).toBe(2);
    expect(await page.locator('#orphans').getAttribute('data-total')).toBe('0');
    expect((await page.locator('#call-streams tbody tr td:nth-child(4)').allTextContents()).sort()).toEqual(['opus', 'pcma']);
    expect(errors).toEqual([]);
  });

  it('sngrep-aaa: registrations and other dialogs are counted, not listed; the call list is paginated', async () => {
    const file = join(FIELD, 'sngrep-aaa.pcap');
    const { perCall, invited } = tsharkSip(file);
    const run = replay(dir, file);
    const { page, errors } = await openPage(browser, pathToFileURL(run.html).href, 'file:');
    await page.waitForSelector('body[data-ready]');
    const listed = Number(await page.locator('#calls').getAttribute('data-total'));
    const withMedia = [...run.streamsPerCall.keys()].filter((id) => id !== 'none' && !invited.has(id)).length;
    expect(listed).toBe(invited.size + withMedia);
    expect(await page.locator('#meta').textContent()).toContain(`${perCall.size - listed} other SIP dialogs`);
    // Paginated: at most 50 rows a page.
    expect(await page.locator('#calls tr.call').count()).toBe(Math.min(50, listed));
    expect(errors).toEqual([]);
  });

  it("a stream's delta and loss are lines from interval to interval, not broken where another stream of the call reports", async () => {
    const { page, errors } = await twoPacePage('two-pace');
    const colours = await page.locator('#call-streams .swatch').evaluateAll((es) => es.map((e) => getComputedStyle(e).backgroundColor));
    expect(colours).toHaveLength(2);
    // Each stream's points span about 80 % of the plot's width: a line covers that, points alone (4 px
    // a second) a few per cent. The delta lines lie apart; the loss lines (0 %) on each other, the one
    // drawn last on top.
    for (const colour of colours) expect(await columnsWithColour(page, 'delta', colour)).toBeGreaterThan(0.6);
    expect(await columnsWithColour(page, 'loss', colours[1]!)).toBeGreaterThan(0.6);
    expect(errors).toEqual([]);
  });

  it('shows every time in UTC, the charts too, whatever time zone the browser is in', async () => {
    const call = twoPaceCall(Date.UTC(2025, 5, 15, 23, 59, 55)); // crosses midnight UTC
    const run = replayed('two-pace-midnight', call.pcap);
    const shots: Buffer[] = [];
    for (const zone of ['UTC', 'America/New_York', 'Asia/Kolkata']) {
      const { page, errors } = await opened(run, zone);
      await page.waitForSelector(`#detail[data-call-id="${call.callId}"] .chart[data-metric="mos"] canvas`);
      expect(await page.locator('#calls th[data-col="start"]').textContent()).toContain('UTC');
      expect(await page.locator('#calls tr.call td:nth-child(3)').textContent()).toBe('2025-06-15 23:59:55.000');
      shots.push(await page.locator('#detail').screenshot());
      expect(errors).toEqual([]);
      await page.close();
    }
    // The charts' time axes (drawn on canvas) and the ladder's read the same in every zone.
    expect(shots[1]!.equals(shots[0]!)).toBe(true);
    expect(shots[2]!.equals(shots[0]!)).toBe(true);
  });

  it('text from the wire (markup, quotes, U+2028) shows as text, runs nothing, and loses no message', async () => {
    const call = hostileCall(1_750_000_000_000);
    const run = replayed('hostile', call.pcap);
    const { perCall } = tsharkSip(run.file);
    const { page, errors, requests } = await opened(run);
    await page.waitForSelector('#detail[data-call-id] #messages');
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('#calls tr.call td:nth-child(1)').textContent()).toBe(call.callId);
    expect(await page.locator('#calls tr.call td:nth-child(2)').textContent()).toBe(`${call.from} → bob@example.com`);
    expect(await page.locator('#messages tbody tr').count()).toBe(perCall.get(call.callId));
    expect(await page.locator('#messages tbody tr td:nth-child(4)').allTextContents()).toContain(call.ringing);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
  });

  it('values from the wire as long as the probe keeps them (Call-ID, From, reason phrase) wrap: the page is no wider than the window, every column in view', async () => {
    const t = new CaptureTimeline();
    const t0 = 1_750_000_000_000;
    // A Call-ID just within SIP_VALUE_LIMITS.callIdBytes, and a From user and reason phrase past their
    // ladder bounds (cut with an ellipsis), none with a space to break a line at.
    const callId = `${'c'.repeat(250)}@long`;
    const audio = (ip: string, port: number) => sdpBody({ ip, media: [{ port, formats: [8] }] });
    const invite = sipRequest('INVITE', 'sip:bob@example.com', { callId, fromTag: 'a', cseq: 1, body: audio('10.4.0.1', 40000) });
    t.sip(t0, '10.4.0.1', '10.4.0.2', invite.replace('From: <sip:alice@', `From: <sip:${'u'.repeat(300)}@`));
    t.sip(t0 + 20, '10.4.0.2', '10.4.0.1', sipResponse(180, { callId, fromTag: 'a', toTag: 'b', cseq: 1, cseqMethod: 'INVITE' }).replace('180 Ringing', `180 ${'R'.repeat(2000)}`));
    t.sip(t0 + 50, '10.4.0.2', '10.4.0.1', sipResponse(200, { callId, fromTag: 'a', toTag: 'b', cseq: 1, cseqMethod: 'INVITE', body: audio('10.4.0.2', 50000) }));
    t.rtp(t0 + 100, '10.4.0.1', 40000, '10.4.0.2', 50000, { ssrc: 0x4001, seq: 1, ts: 0, count: 100 });
    t.sip(t0 + 2200, '10.4.0.1', '10.4.0.2', sipRequest('BYE', 'sip:bob@example.com', { callId, fromTag: 'a', toTag: 'b', cseq: 2 }));
    const pcap = t.pcap();
    const run = replayed('long-values', pcap);
    const { page, errors } = await opened(run);
    await page.waitForSelector(`#detail[data-call-id="${callId}"] #messages`);
    // Shown whole (the Call-ID) or cut with a mark (From, reason phrase), never silently.
    expect(await page.locator('#calls tr.call td:nth-child(1)').textContent()).toBe(callId);
    expect(await page.locator('#calls tr.call td:nth-child(2)').textContent()).toMatch(/^u{255}… → bob@example\.com$/);
    expect(await page.locator('#messages tbody tr td:nth-child(4)').allTextContents()).toContain(`180 ${'R'.repeat(123)}…`);
    const view = await page.evaluate(() => ({ width: document.documentElement.clientWidth, scroll: document.documentElement.scrollWidth }));
    expect(view.scroll, 'page width').toBeLessThanOrEqual(view.width);
    for (const table of ['#calls', '#call-streams', '#messages']) {
      const box = (await page.locator(`${table} th`).last().boundingBox())!;
      expect(box.x + box.width, `${table}: last column`).toBeLessThanOrEqual(view.width);
    }
    expect(errors).toEqual([]);
  });

  it("a call at a capture time past a JavaScript Date's range (pcapng's 64-bit timestamps) is shown, its times as seconds since 1970", async () => {
    // Year 318857 for tshark; a Date holds 8.64e15 ms at most, and toISOString() throws past it.
    const far = 1e16;
    const t = new CaptureTimeline();
    answered(t, 'far@gen', { ip: '10.6.0.1', port: 40000 }, { ip: '10.6.0.2', port: 50000 }, far).bye(far + 3000);
    paced(t, { ip: '10.6.0.1', port: 40000 }, { ip: '10.6.0.2', port: 50000 }, 0x6001, far + 100, 20, 100);
    const file = join(dir, 'far.pcapng');
    writeFileSync(file, pcapng(t.records()));
    const { page, errors } = await opened(replay(dir, file));
    expect(await page.locator('#calls tr.call[data-call-id="far@gen"] td:nth-child(3)').textContent()).toBe('10000000000000.000 s since 1970');
    await page.waitForSelector('#detail[data-call-id="far@gen"] .chart[data-metric="mos"] canvas');
    expect(await page.locator('svg.ladder g.msg').count()).toBe(4);
    expect(await page.locator('#messages tbody tr').count()).toBe(4);
    expect(errors).toEqual([]);
  });

  it("a call over midnight with a 10-hour gap: the ladder's time axis ticks whole hours and names the day at the first tick and where it changes", async () => {
    const t0 = Date.UTC(2025, 0, 1, 21, 40);
    const t = new CaptureTimeline();
    const d = answered(t, 'overnight@gen', { ip: '10.7.0.1', port: 40000 }, { ip: '10.7.0.2', port: 50000 }, t0);
    paced(t, { ip: '10.7.0.1', port: 40000 }, { ip: '10.7.0.2', port: 50000 }, 0x7001, t0 + 100, 20, 100);
    // Ten hours without a message or a packet, then the BYE (08:10 the next day).
    d.bye(t0 + 10.5 * 3_600_000);
    const { page, errors } = await opened(replayed('overnight', t.pcap()));
    await page.waitForSelector('#detail[data-call-id="overnight@gen"] svg.ladder');
    const labels = await page.locator('svg.ladder .tick-label').allTextContents();
    expect(labels.length).toBeGreaterThan(3);
    expect(labels[0]).toMatch(/^2025-01-01 2[12]:00:00$/);
    expect(labels).toContain('2025-01-02 00:00:00');
    for (const l of labels) expect(l).toMatch(/^(2025-01-0[12] )?\d\d:00:00$/);
    expect(labels.filter((l) => l.includes(' '))).toHaveLength(2);
    expect(errors).toEqual([]);
  });

  it("a Call-ID header folded over two lines or given twice: the call's ladder is under the Call-ID its streams are reported under", async () => {
    // RFC 3261 7.3.1 lets a header value continue on a line starting with whitespace; tshark reads 'folded@gen'.
    // Of two Call-ID headers the probe takes the first (tshark lists both): its streams report under it.
    const t = new CaptureTimeline();
    const t0 = 1_750_000_000_000;
    const cases: Array<{ callId: string; header: string }> = [
      { callId: 'folded@gen', header: 'Call-ID:\r\n   folded@gen' },
      { callId: 'first@gen', header: 'Call-ID: first@gen\r\nCall-ID: second@gen' },
    ];
    cases.forEach(({ callId, header }, k) => {
      const a = { ip: `10.4.${k}.1`, port: 40000 };
      const b = { ip: `10.4.${k}.2`, port: 50000 };
      const sdp = (p: Party) => sdpBody({ ip: p.ip, media: [{ port: p.port, formats: [8] }] });
      // The From header folded too: its user@host is what the call list shows.
      const rewrite = (m: string) => m.replace(`Call-ID: ${callId}`, header).replace(/^From: /m, 'From:\r\n\t');
      t.sip(t0 + k * 100, a.ip, b.ip, rewrite(sipRequest('INVITE', 'sip:bob@example.com', { callId, fromTag: 'a', cseq: 1, body: sdp(a) })));
      t.sip(t0 + k * 100 + 50, b.ip, a.ip, rewrite(sipResponse(200, { callId, fromTag: 'a', toTag: 'b', cseq: 1, cseqMethod: 'INVITE', body: sdp(b) })));
      t.sip(t0 + k * 100 + 60, a.ip, b.ip, rewrite(sipRequest('ACK', 'sip:bob@example.com', { callId, fromTag: 'a', toTag: 'b', cseq: 1 })));
      paced(t, a, b, 0x10 + k, t0 + k * 100 + 100, 20, 150);
      paced(t, b, a, 0x20 + k, t0 + k * 100 + 100, 20, 150);
    });
    const run = replayed('folded-call-id', t.pcap());
    const { perCall } = tsharkSip(run.file);
    expect(perCall.get('folded@gen')).toBe(3);
    expect([...run.streamsPerCall]).toEqual([['folded@gen', 2], ['first@gen', 2]].sort());
    const { page, errors } = await opened(run);
    const listed = await page.locator('#calls tr.call').evaluateAll((rs) => rs.map((r) => (r as HTMLElement).dataset.callId));
    expect(listed.sort()).toEqual(['first@gen', 'folded@gen']);
    for (const { callId } of cases) {
      await page.locator(`#calls tr.call[data-call-id="${callId}"]`).click();
      await page.waitForSelector(`#detail[data-call-id="${callId}"]`);
      expect(await page.locator('#messages tbody tr').count(), callId).toBe(3);
      expect(await page.locator('#call-streams tbody tr').count(), callId).toBe(2);
      expect(await page.locator(`#calls tr.call[data-call-id="${callId}"] td:nth-child(2)`).textContent()).toBe('alice@example.com → bob@example.com');
    }
    expect(errors).toEqual([]);
  });

  it('a call of 75 min is charted at one resolution from its start to its end, and the page says it is thinned', async () => {
    const call = longCall(1_750_000_000_000, 4500);
    const run = replayed('long', call.pcap);
    const streams = embedded(run.html).streams;
    expect(streams).toHaveLength(2);
    for (const s of streams) {
      expect(s.thinned).toBe(true);
      // Over its bound of 2,000 points, 4,500 intervals: every point stands for the same run of them
      // (the last for what remains).
      const gaps = s.series.t.slice(1, -1).map((t, i) => t - s.series.t[i]!);
      expect(Math.max(...gaps) - Math.min(...gaps)).toBeLessThan(100);
      expect(s.series.t.length).toBeGreaterThan(1000);
    }
    const { page, errors } = await opened(run);
    await page.waitForSelector(`#detail[data-call-id="${call.callId}"] .chart[data-metric="mos"] canvas`);
    expect(await page.locator('#detail p.thinned').textContent()).toMatch(/one point per about [24] s/);
    expect(errors).toEqual([]);
  });

  it('a duration that rounds up to a whole minute reads as that minute', async () => {
    const t = new CaptureTimeline();
    const t0 = 1_750_000_000_000;
    const durations: Array<[string, number, string]> = [['short@gen', 59_970, '1 min 0 s'], ['two@gen', 119_600, '2 min 0 s'], ['odd@gen', 61_400, '1 min 1 s']];
    for (const [callId, ms] of durations) {
      const d = new DialogWriter(t, callId, '10.6.0.1', '10.6.0.2');
      const c = d.invite(t0, null);
      d.respond(t0 + 10, 200, c, null);
      d.bye(t0 + ms);
    }
    const run = replayed('durations', t.pcap());
    const { page, errors } = await opened(run);
    for (const [callId, , shown] of durations) expect(await page.locator(`#calls tr.call[data-call-id="${callId}"] td:nth-child(4)`).textContent()).toBe(shown);
    expect(errors).toEqual([]);
  });

  it('among many calls, one is found by part of its Call-ID, From or To', async () => {
    const t = new CaptureTimeline();
    const t0 = 1_750_000_000_000;
    for (let i = 0; i < 160; i++) {
      const d = new DialogWriter(t, `many-${i}@gen`, '10.5.0.1', '10.5.0.2');
      const c = d.invite(t0 + i * 10, null);
      d.respond(t0 + i * 10 + 5, 486, c, null);
    }
    const run = replayed('many', t.pcap());
    const { page, errors } = await opened(run);
    expect(await page.locator('#calls tr.call').count()).toBe(50);
    const filter = page.locator('#call-filter');
    expect(await filter.count()).toBe(1);
    await filter.fill('MANY-137@');
    await page.waitForSelector('#calls-pager:has-text("(1)")');
    expect(await page.locator('#calls tr.call').evaluateAll((rs) => rs.map((r) => (r as HTMLElement).dataset.callId))).toEqual(['many-137@gen']);
    await page.locator('#calls tr.call').click();
    await page.waitForSelector('#detail[data-call-id="many-137@gen"]');
    await filter.fill('bob@example');
    await page.waitForSelector('#calls-pager:has-text("(160)")');
    await filter.fill('no such call');
    await page.waitForSelector('#calls p.empty');
    expect(await page.locator('#calls').getAttribute('data-total')).toBe('160');
    expect(errors).toEqual([]);
  });

  it('an empty capture says it has no call and no stream; one with RTP only lists its streams under no call', async () => {
    const empty = await opened(replayed('empty', new CaptureTimeline().pcap()));
    expect(await empty.page.locator('#calls p.empty').textContent()).toBe('No SIP call in this capture.');
    expect(await empty.page.locator('#orphans p.empty').textContent()).toBe('No RTP stream in this capture.');
    expect(empty.errors).toEqual([]);
    const t = new CaptureTimeline();
    t.rtp(1_750_000_000_000, '10.4.0.1', 30000, '10.4.0.2', 30002, { ssrc: 0x4001, seq: 1, ts: 0, count: 100 });
    const rtpOnly = await opened(replayed('rtp-only', t.pcap()));
    expect(await rtpOnly.page.locator('#calls p.empty').textContent()).toBe('No SIP call in this capture.');
    expect(await rtpOnly.page.locator('#orphans p.empty').count()).toBe(0);
    expect(await rtpOnly.page.locator('#orphan-streams tr.stream').count()).toBe(1);
    expect(rtpOnly.errors).toEqual([]);
  });

  it('a call whose SIP the probe refused (a Call-ID past 256 bytes): the header figures count the messages not used, by reason, as tshark finds them', async () => {
    const t = new CaptureTimeline();
    const t0 = 1_750_000_000_000;
    const longId = `${'x'.repeat(300)}@gen`;
    const d = answered(t, longId, { ip: '10.4.1.1', port: 4000 }, { ip: '10.4.1.2', port: 6000 }, t0);
    d.bye(t0 + 3000);
    answered(t, 'kept@gen', { ip: '10.4.2.1', port: 4000 }, { ip: '10.4.2.2', port: 6000 }, t0);
    paced(t, { ip: '10.4.1.1', port: 4000 }, { ip: '10.4.1.2', port: 6000 }, 0x4101, t0 + 100, 20, 100);
    const run = replayed('refused-sip', t.pcap());
    const refused = [...tsharkSip(run.file).perCall].filter(([id]) => id.length > 256).reduce((n, [, k]) => n + k, 0);
    expect(refused).toBe(4); // INVITE, 200, ACK, BYE
    const { page, errors } = await opened(run);
    expect(await page.locator('#calls tr.call').count()).toBe(1);
    expect(await page.locator('#orphan-streams tr.stream').count()).toBe(1);
    expect(await page.locator('#meta').textContent()).toContain(`SIP messages not used: ${refused} value-too-long`);
    expect(errors).toEqual([]);
    // A capture whose SIP was all used says nothing of it.
    const { page: clean } = await opened(replayed('clean-sip', (() => {
      const c = new CaptureTimeline();
      answered(c, 'fine@gen', { ip: '10.4.3.1', port: 4000 }, { ip: '10.4.3.2', port: 6000 }, t0);
      return c.pcap();
    })()));
    expect(await clean.locator('#meta').textContent()).not.toContain('not used');
  });

  it("the charts share the ladder's time axis: a time is at the same x in the ladder and in every chart", async () => {
    const { page, errors } = await twoPacePage('two-pace-axis');
    // The lanes span the ladder's time range; each chart's plot area spans the same range.
    const lane = await page.locator('svg.ladder line.lane').first().evaluate((l) => {
      const left = l.closest('svg')!.getBoundingClientRect().left;
      return [left + Number(l.getAttribute('x1')), left + Number(l.getAttribute('x2'))] as const;
    });
    for (const metric of ['delta', 'jitter', 'loss', 'mos']) {
      const plot = (await page.locator(`.chart[data-metric="${metric}"] .u-over`).boundingBox())!;
      expect(Math.abs(plot.x - lane[0]), `${metric}: left edge`).toBeLessThan(1.5);
      expect(Math.abs(plot.x + plot.width - lane[1]), `${metric}: right edge`).toBeLessThan(1.5);
    }
    expect(errors).toEqual([]);
  });
});
