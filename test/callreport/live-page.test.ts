/**
 * The live call page (metrics.live_page) of a probe replaying a generated capture in real time, opened in
 * headless chromium: the page refreshes from /api/callreport and shows the calls, their SIP messages and
 * streams as the probe sees them; off by default. Before capture opens (an interface not up yet) the page
 * says the probe is starting, not that it is unreachable.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumInstalled, launch, openPage, screenshot, type OpenedPage } from './browser.js';
import { CaptureTimeline, DialogWriter } from '../../src/gen/index.js';
import { until } from '../wait.js';
import { liveApi } from '../live-api.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const CALLS = 3;

function startProbe(pcap: string, livePage: boolean): { out: () => string; child: ReturnType<typeof spawn> } {
  let out = '';
  const child = spawn(
    process.execPath,
    [cli, 'replay', pcap, '--realtime', '--metrics', '--no-hep', '--log-format', 'json', '--set', 'metrics.port=0', '--set', 'reports.interval_s=1', '--set', `metrics.live_page=${livePage}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { out: () => out, child };
}

async function metricsBase(p: { out: () => string; child: ReturnType<typeof spawn> }): Promise<string> {
  const listening = () => p.out().split('\n').find((l) => l.includes('metrics and health endpoint listening'));
  expect(await until(() => listening() !== undefined || p.child.exitCode !== null, 30_000), p.out()).toBe(true);
  return `http://127.0.0.1:${(JSON.parse(listening()!) as { port: number }).port}`;
}

describe.skipIf(!chromiumInstalled() || !existsSync(cli))('live call page', () => {
  let dir: string;
  let browser: Browser;
  const probes: Array<ReturnType<typeof spawn>> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-livepage-'));
    // Calls of 30 s starting 1 s apart: the page is opened while every call is up.
    const gen = spawnSync(process.execPath, [join(root, 'dist/gen/scenario-cli.js'), join(dir, 'calls.pcap'), '--calls', String(CALLS), '--concurrent', '30', '--call-duration', '30', '--seed', '3'], { encoding: 'utf8' });
    expect(gen.status, gen.stderr).toBe(0);
    // One call and one stream without SIP, 30 s each from the start.
    const t = new CaptureTimeline();
    const t0 = Date.UTC(2025, 0, 1);
    const d = new DialogWriter(t, 'with-orphan@gen', '10.7.0.1', '10.7.0.2');
    const c = d.invite(t0, { ip: '10.7.0.1', media: [{ port: 4000, formats: [8] }] });
    d.respond(t0 + 20, 200, c, { ip: '10.7.0.2', media: [{ port: 6000, formats: [8] }] });
    t.rtp(t0 + 40, '10.7.0.1', 4000, '10.7.0.2', 6000, { ssrc: 0x1001, seq: 1, ts: 0, count: 1500 });
    t.rtp(t0 + 45, '10.7.0.2', 6000, '10.7.0.1', 4000, { ssrc: 0x1002, seq: 1, ts: 0, count: 1500 });
    t.rtp(t0 + 50, '10.7.9.1', 30000, '10.7.9.2', 30002, { ssrc: 0x1003, seq: 1, ts: 0, count: 1500 });
    writeFileSync(join(dir, 'orphan.pcap'), t.pcap());
    browser = await launch();
  }, 60_000);

  afterAll(async () => {
    for (const c of probes) if (c.exitCode === null) c.kill('SIGKILL');
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is off by default', async () => {
    const p = startProbe(join(dir, 'calls.pcap'), false);
    probes.push(p.child);
    const base = await metricsBase(p);
    expect((await fetch(`${base}/calls`)).status).toBe(404);
    expect((await fetch(`${base}/api/callreport`)).status).toBe(404);
    p.child.kill('SIGTERM');
  }, 60_000);

  it('shows the running calls, their messages and streams, refreshed, with no console error', async () => {
    const p = startProbe(join(dir, 'calls.pcap'), true);
    probes.push(p.child);
    const base = await metricsBase(p);
    // Every call answered and both its streams reported at least once.
    const ready = async () => {
      const d = await liveApi<{ calls: unknown[]; streams: Array<[number]> }>(`${base}/api/callreport`);
      return d !== null && d.calls.length === CALLS && d.streams.length === 2 * CALLS;
    };
    expect(await until(ready, 30_000), p.out()).toBe(true);
    const { page, errors, requests } = await openPage(browser, `${base}/calls`, base);
    await page.waitForSelector('body[data-ready]');
    expect(await page.locator('#calls').getAttribute('data-total')).toBe(String(CALLS));
    expect(await page.locator('#calls tr.call').count()).toBe(CALLS);
    // The generator's call: INVITE, 100, 180, 200, ACK so far (BYE comes at the end).
    expect(await page.locator('svg.ladder g.msg').count()).toBeGreaterThanOrEqual(5);
    expect(await page.locator('#call-streams tbody tr').count()).toBe(2);
    // Running streams show what their interval reports said so far: packets and a MOS; so do their calls.
    for (const packets of await page.locator('#call-streams tbody tr td:nth-child(5)').allTextContents()) expect(Number(packets)).toBeGreaterThan(0);
    for (const mos of await page.locator('#call-streams tbody tr td:nth-child(10)').allTextContents()) expect(Number(mos)).toBeGreaterThan(1);
    for (const mos of await page.locator('#calls tr.call td:nth-child(5)').allTextContents()) expect(Number(mos)).toBeGreaterThan(1);
    // Refreshed: the page re-renders with newer data.
    const first = Number(await page.locator('body').getAttribute('data-ready'));
    expect(await until(async () => Number(await page.locator('body').getAttribute('data-ready')) > first, 30_000)).toBe(true);
    await screenshot(page, 'callreport-live-page.png');
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    p.child.kill('SIGTERM');
  }, 90_000);

  it('a stream without a call, clicked, stays shown across refreshes', async () => {
    const p = startProbe(join(dir, 'orphan.pcap'), true);
    probes.push(p.child);
    const base = await metricsBase(p);
    const ready = async () => {
      const d = await liveApi<{ calls: unknown[]; streams: Array<[number]> }>(`${base}/api/callreport`);
      return d !== null && d.calls.length === 1 && d.streams.length === 3 && d.streams.some((s) => s[0] === -1);
    };
    expect(await until(ready, 30_000), p.out()).toBe(true);
    const { page, errors } = await openPage(browser, `${base}/calls`, base);
    await page.waitForSelector('body[data-ready]');
    await page.locator('#orphan-streams tr.stream').first().click();
    const heading = () => page.locator('#detail h2').first().textContent();
    expect(await heading()).toMatch(/^Stream 10\.7\.9\.1:30000 → 10\.7\.9\.2:30002 .*\(no call\)$/);
    // Two refreshes later (one every 3 s) it is still the one shown.
    const clicked = Number(await page.locator('body').getAttribute('data-ready'));
    let refreshes = 0;
    let last = clicked;
    expect(await until(async () => {
      const now = Number(await page.locator('body').getAttribute('data-ready'));
      if (now > last) [refreshes, last] = [refreshes + 1, now];
      return refreshes >= 2;
    }, 30_000)).toBe(true);
    expect(await heading()).toMatch(/^Stream 10\.7\.9\.1:30000 .*\(no call\)$/);
    expect(await page.locator('#detail .chart .uplot').count()).toBe(4);
    expect(errors).toEqual([]);
    p.child.kill('SIGTERM');
  }, 90_000);

  /** The live page of a real-time replay of `file`, once it shows the capture's one stream (without a call). */
  async function pageOfOneOrphan(file: string): Promise<OpenedPage & { child: ReturnType<typeof spawn> }> {
    const p = startProbe(file, true);
    probes.push(p.child);
    const base = await metricsBase(p);
    const ready = async () => ((await liveApi<{ streams: unknown[] }>(`${base}/api/callreport`))?.streams.length ?? 0) === 1;
    expect(await until(ready, 30_000), p.out()).toBe(true);
    const opened = await openPage(browser, `${base}/calls`, base);
    await opened.page.waitForSelector('#orphan-streams tr.stream');
    return { ...opened, child: p.child };
  }

  it('with RTP and no SIP: says no SIP call so far, and lists the stream under no call', async () => {
    const t = new CaptureTimeline();
    t.rtp(Date.UTC(2025, 0, 1), '10.8.1.1', 30000, '10.8.1.2', 30002, { ssrc: 0x2101, seq: 1, ts: 0, count: 1500 });
    writeFileSync(join(dir, 'rtp-only.pcap'), t.pcap());
    const { page, errors, child } = await pageOfOneOrphan(join(dir, 'rtp-only.pcap'));
    expect(await page.locator('#calls p.empty').textContent()).toBe('No SIP call so far.');
    expect(await page.locator('#meta').textContent()).not.toContain('not used');
    expect(errors).toEqual([]);
    child.kill('SIGTERM');
  }, 90_000);

  it("a call whose SIP the probe refused (a Call-ID past 256 bytes): the header figures count the messages not used, as tshark finds them", async () => {
    const t = new CaptureTimeline();
    const t0 = Date.UTC(2025, 0, 1);
    const d = new DialogWriter(t, `${'y'.repeat(300)}@gen`, '10.8.2.1', '10.8.2.2');
    const c = d.invite(t0, { ip: '10.8.2.1', media: [{ port: 4000, formats: [8] }] });
    d.respond(t0 + 20, 200, c, { ip: '10.8.2.2', media: [{ port: 6000, formats: [8] }] });
    t.rtp(t0 + 40, '10.8.2.1', 4000, '10.8.2.2', 6000, { ssrc: 0x2201, seq: 1, ts: 0, count: 1500 });
    const file = join(dir, 'refused.pcap');
    writeFileSync(file, t.pcap());
    const refused = spawnSync('tshark', ['-r', file, '-Y', 'len(sip.Call-ID) > 256'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length;
    expect(refused).toBe(2);
    const { page, errors, child } = await pageOfOneOrphan(file);
    expect(await page.locator('#calls p.empty').textContent()).toBe('No SIP call so far.');
    expect(await page.locator('#meta').textContent()).toContain(`SIP messages not used: ${refused} value-too-long`);
    expect(errors).toEqual([]);
    child.kill('SIGTERM');
  }, 90_000);

  it('a call list that shrinks as older dialogs are forgotten keeps its page within the list, and the selected call', async () => {
    // 2,000 calls (the live page keeps as many dialogs), then 1,750 more 15 s later: the first 1,750 are
    // forgotten, and the 40 pages of calls found by "old-" become 5. A stream keeps the replay running.
    const t = new CaptureTimeline();
    const t0 = Date.UTC(2025, 0, 1);
    for (let i = 0; i < 2000; i++) new DialogWriter(t, `old-${i}@gen`, '10.9.0.1', '10.9.0.2').invite(t0 + i * 0.01, null);
    for (let i = 0; i < 1750; i++) new DialogWriter(t, `new-${i}@gen`, '10.9.0.1', '10.9.0.2').invite(t0 + 15_000 + i * 0.01, null);
    t.rtp(t0, '10.9.1.1', 30000, '10.9.1.2', 30002, { ssrc: 0x3001, seq: 1, ts: 0, count: 2500 });
    writeFileSync(join(dir, 'shrinking.pcap'), t.pcap());
    const p = startProbe(join(dir, 'shrinking.pcap'), true);
    probes.push(p.child);
    const base = await metricsBase(p);
    const ready = async () => ((await liveApi<{ calls: unknown[] }>(`${base}/api/callreport`))?.calls.length ?? 0) === 2000;
    expect(await until(ready, 30_000), p.out()).toBe(true);
    const { page, errors } = await openPage(browser, `${base}/calls`, base);
    await page.waitForSelector('#calls tr.call');
    await page.locator('#call-filter').fill('old-');
    await page.waitForSelector('#calls-pager:has-text("page 1 of 40 (2000)")');
    for (let i = 1; i < 40; i++) await page.locator('#calls-pager button', { hasText: 'next' }).click();
    await page.waitForSelector('#calls-pager:has-text("page 40 of 40")');
    await page.locator('#calls tr.call[data-call-id="old-1990@gen"]').click();
    await page.waitForSelector('#detail[data-call-id="old-1990@gen"]');
    // Forgotten: the last page is the 5th, showing the last 50 kept, the selected one among them.
    await page.waitForSelector('#calls-pager:has-text("(250)")', { timeout: 45_000 });
    expect(await page.locator('#calls-pager').textContent()).toContain('page 5 of 5 (250)');
    expect(await page.locator('#calls tr.call').count()).toBe(50);
    expect(await page.locator('#calls tr.call.selected').getAttribute('data-call-id')).toBe('old-1990@gen');
    expect(await page.locator('#detail').getAttribute('data-call-id')).toBe('old-1990@gen');
    expect(errors).toEqual([]);
    p.child.kill('SIGTERM');
  }, 120_000);

  it('asks for new data only once the last answer came: over a link slower than the refresh interval, one request at a time', async () => {
    // One stream of 60 s without SIP: the probe runs the whole test.
    const t = new CaptureTimeline();
    t.rtp(Date.UTC(2025, 0, 1), '10.8.0.1', 30000, '10.8.0.2', 30002, { ssrc: 0x2001, seq: 1, ts: 0, count: 3000 });
    writeFileSync(join(dir, 'slow-link.pcap'), t.pcap());
    const p = startProbe(join(dir, 'slow-link.pcap'), true);
    probes.push(p.child);
    const base = await metricsBase(p);
    const { page, errors } = await openPage(browser, `${base}/calls`, base);
    await page.waitForSelector('body[data-ready]');
    // Each answer takes 4 s to come, the page refreshes every 3 s.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 4000, downloadThroughput: -1, uploadThroughput: -1 });
    let inFlight = 0;
    let most = 0;
    let answered = 0;
    const isData = (url: string) => url.endsWith('/api/callreport');
    page.on('request', (r) => {
      if (isData(r.url())) most = Math.max(most, ++inFlight);
    });
    const ended = (r: { url(): string }) => {
      if (!isData(r.url())) return;
      inFlight--;
      answered++;
    };
    page.on('requestfinished', ended);
    page.on('requestfailed', ended);
    expect(await until(() => answered >= 3, 45_000)).toBe(true);
    expect(most, 'requests in flight at once').toBe(1);
    expect(errors).toEqual([]);
    p.child.kill('SIGTERM');
  }, 90_000);

  it.skipIf(process.getuid?.() !== 0)('before capture opens (the interface not up yet): the page says the probe is starting, then shows the calls it has (none yet)', async () => {
    // A veth pair, down until the page has said so (root: the test makes and removes it).
    const iface = `rtpw${process.pid % 100000}`;
    expect(spawnSync('ip', ['link', 'add', iface, 'type', 'veth', 'peer', 'name', `${iface}p`]).status).toBe(0);
    try {
      writeFileSync(join(dir, 'probe.yaml'), `metrics: { live_page: true, port: 0 }\n`);
      const child = spawn(process.execPath, [cli, 'run', '-i', iface, '-c', join(dir, 'probe.yaml'), '--no-hep', '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      probes.push(child);
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const base = await metricsBase({ out: () => out, child });
      expect((await fetch(`${base}/api/callreport`)).status).toBe(503);
      const { page } = await openPage(browser, `${base}/calls`, base);
      const error = () => page.locator('#error').textContent();
      expect(await until(async () => (await error()) !== '', 30_000)).toBe(true);
      expect(await error()).toBe('the probe is starting: capture is not open yet');
      for (const end of [iface, `${iface}p`]) expect(spawnSync('ip', ['link', 'set', end, 'up']).status).toBe(0);
      await page.waitForSelector('body[data-ready]', { timeout: 30_000 });
      expect(await error()).toBe('');
      child.kill('SIGTERM');
    } finally {
      spawnSync('ip', ['link', 'del', iface]);
    }
  }, 90_000);
});
