/**
 * The alert webhook against a real HTTP receiver on loopback: what it posts (ALERT, CLEARED when the rule
 * turns false or the stream ends), in order; retries on 5xx and refused connections, no retry on 4xx;
 * the bounded queue dropping the oldest; the shutdown deadline. Then end to end: the CLI replaying a
 * generated lossy capture with a rule and `--set webhook.url=...`, every alert and its end received.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/ops/config.js';
import type { QosEvent } from '../../src/outbound/index.js';
import { WebhookOutput, type WebhookPayload } from '../../src/outbound/webhook-output.js';
import { openOutputs } from '../../src/pipeline/index.js';
import { buildNoMediaReport, type QosReport } from '../../src/report/index.js';
import { heapAfterGc } from '../heap.js';
import { until } from '../wait.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');

interface Receiver {
  url: string;
  got: WebhookPayload[];
  /** The Authorization header of each request. */
  auth: Array<string | undefined>;
  hits: number;
  close(): Promise<void>;
}

/**
 * A receiver whose `answer(n)` decides the status of the n-th request (1-based); 'hang' never answers.
 * Each answer comes `delayMs` after the request (a receiver slower than the alerts).
 */
async function receiver(answer: (n: number) => number | 'hang' = () => 200, delayMs = 0): Promise<Receiver> {
  const r = { got: [] as WebhookPayload[], auth: [] as Array<string | undefined>, hits: 0 } as Receiver;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      r.hits++;
      r.auth.push(req.headers.authorization);
      const status = answer(r.hits);
      if (status === 'hang') return;
      setTimeout(() => {
        if (status >= 200 && status < 300) r.got.push(JSON.parse(body) as WebhookPayload);
        res.writeHead(status).end();
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/alerts?token=secret`;
  r.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return r;
}

/**
 * A receiver whose `answer` writes the response to each request (once its body has arrived), for answers
 * receiver() does not give: redirects, headers, endless bodies. Closed after each test. Returns its URL.
 */
async function answering(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  open.push({ url: '', got: [], auth: [], hits: 0, close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))) });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/alerts`;
}

function event(type: string, fields: Partial<QosReport> = {}): QosEvent {
  const report: QosReport = { TYPE: type, CORRELATION_ID: 'call-1@test', SRC_IP: '10.0.0.1', SRC_PORT: 4000, DST_IP: '10.0.0.2', DST_PORT: 5000, SSRC: 77, CODEC_NAME: 'pcma', MOS: 3.1, PACKET_LOSS_PCT: 6.5, JITTER: 12, REPORT_END: 1700000010.5, ...fields };
  return { kind: type === 'ALERT' || type === 'CLEARED' ? 'alert' : 'qos', report, json: JSON.stringify(report), env: { ipVersion: 4, srcIp: '10.0.0.1', srcPort: 4000, dstIp: '10.0.0.2', dstPort: 5000, tsMs: 0 }, toCollectors: true, toLocal: true };
}

const logs: Array<{ level: string; msg: string; obj: object }> = [];
const log = {
  warn: (obj: object, msg: string) => logs.push({ level: 'warn', msg, obj }),
  error: (obj: object, msg: string) => logs.push({ level: 'error', msg, obj }),
  info: (obj: object, msg: string) => logs.push({ level: 'info', msg, obj }),
};

let open: Receiver[] = [];
afterEach(async () => {
  await Promise.all(open.map((r) => r.close()));
  open = [];
  logs.length = 0;
});

/** The configured outputs with only the webhook, to `url`; `send` writes a report to them as the pipeline does. */
function webhookOutputs(url: string) {
  const config = defaultConfig();
  config.hep.enabled = false;
  config.webhook.url = url;
  const outputs = openOutputs(config, { log });
  const send = (type: string, fields: Partial<QosReport>) => {
    const e = event(type, fields);
    outputs.sink.qos(e.report, e.env, true, true);
  };
  /** The configuration with another webhook URL ('' = none), for a reload. */
  const withUrl = (next: string) => {
    const c = structuredClone(config);
    c.webhook.url = next;
    return c;
  };
  return { outputs, send, withUrl };
}

/** Each payload as 'event rule reason ssrc'. */
const eventsOf = (rx: Receiver) => rx.got.map((p) => `${p.event} ${p.rule} ${p.reason} ${p.stream.ssrc}`);

const output = (url: string, o: Partial<ConstructorParameters<typeof WebhookOutput>[0]> = {}) =>
  new WebhookOutput({ url, timeoutMs: 2000, retries: 3, queueSize: 100, node: 'probe-1', log, backoffMs: () => 20, ...o });

describe('webhook output', () => {
  it('keeps nothing per POST in its stop signal: 600 events delivered leave it as it was', async () => {
    const rx = await receiver();
    open.push(rx);
    const w = output(rx.url, { queueSize: 1000 });
    for (let i = 0; i < 300; i++) {
      w.write(event('ALERT', { ALERT_RULE: 'poor', SSRC: 1000 + i }));
      w.write(event('CLEARED', { ALERT_RULE: 'poor', SSRC: 1000 + i }));
    }
    expect(await until(() => rx.got.length === 600, 60_000)).toBe(true);
    heapAfterGc();
    // A signal made with AbortSignal.any() from the output's stop signal stays in that signal's dependants
    // (Node's internal kDependantSignals set: a WeakRef each), after collections too (nodejs/node#55351):
    // one per POST for as long as the probe runs. Read here because nothing public shows it.
    const stop = (w as unknown as { abort: AbortController }).abort.signal as unknown as Record<symbol, Set<unknown> | undefined>;
    const dependants = Object.getOwnPropertySymbols(stop).find((k) => k.description === 'kDependantSignals');
    expect(dependants === undefined ? 0 : (stop[dependants]?.size ?? 0)).toBeLessThan(10);
    await w.close(10_000);
  });

  it('posts ALERT and CLEARED (rule false, or stream ended while firing) in order; interval reports are not posted', async () => {
    const rx = await receiver();
    open.push(rx);
    const w = output(rx.url);
    w.write(event('PERIODIC'));
    w.write(event('ALERT', { ALERT_RULE: 'poor' }));
    w.write(event('CLEARED', { ALERT_RULE: 'poor', MOS: 4.2 }));
    w.write(event('CLEARED', { ALERT_RULE: 'poor' })); // not firing: nothing to clear
    w.write(event('ALERT', { ALERT_RULE: 'poor', SSRC: 78 }));
    w.write(event('ALERT', { ALERT_RULE: 'jitter', SSRC: 78 }));
    w.write(event('FINAL', { SSRC: 78 }));
    w.write(event('FINAL')); // its alert had cleared already
    await w.close(30_000);
    expect(eventsOf(rx)).toEqual([
      'ALERT poor null 77',
      'CLEARED poor rule 77',
      'ALERT poor null 78',
      'ALERT jitter null 78',
      'CLEARED poor stream-ended 78',
      'CLEARED jitter stream-ended 78',
    ]);
    expect(rx.got[0]).toMatchObject({ callId: 'call-1@test', node: 'probe-1', time: '2023-11-14T22:13:30.500Z', stream: { src: '10.0.0.1:4000', dst: '10.0.0.2:5000', codec: 'pcma' }, mos: 3.1, lossPct: 6.5, jitterMs: 12 });
    expect(rx.got[0]!.report?.TYPE).toBe('ALERT');
    expect(w.stats()).toEqual([{ name: rx.url.replace(/\?.*$/, ''), sent: 6, failed: 0, errors: 0, dropped: 0, queued: 0, up: true, lastError: undefined }]);
  });

  it("a call-level alert (no-media: no stream, no codec, no figures) posts null for what it has not, not 'undefined' or NaN", async () => {
    const rx = await receiver();
    open.push(rx);
    const w = output(rx.url);
    const call = { callId: 'silent@test', xcid: null, nodeName: 'probe-1', callerIp: '10.1.0.10', callerPort: 40000, calleeIp: '10.2.0.20', calleePort: 50000, dueFromMs: 1_700_000_000_000 };
    for (const kind of ['ALERT', 'CLEARED'] as const) {
      const report = buildNoMediaReport(kind, call, 'no-media', 1_700_000_006_000, 'stream-ended');
      w.write({ kind: 'alert', report, json: JSON.stringify(report), env: event(kind).env, toCollectors: true, toLocal: true });
    }
    await w.close(30_000);
    expect(rx.got.map((p) => [p.event, p.callId, p.stream, p.mos, p.lossPct, p.jitterMs])).toEqual([
      ['ALERT', 'silent@test', { src: '10.2.0.20:50000', dst: '10.1.0.10:40000', ssrc: 0, codec: null }, null, null, null],
      ['CLEARED', 'silent@test', { src: '10.2.0.20:50000', dst: '10.1.0.10:40000', ssrc: 0, codec: null }, null, null, null],
    ]);
  });

  it('retries 5xx and refused connections with backoff, does not retry 4xx, and counts each', async () => {
    const flaky = await receiver((n) => (n <= 2 ? 503 : 200));
    const refusing = await receiver(() => 400);
    open.push(flaky, refusing);
    const a = output(flaky.url);
    a.write(event('ALERT', { ALERT_RULE: 'poor' }));
    await a.close(30_000);
    expect(flaky.got.length).toBe(1);
    expect(a.stats()[0]).toMatchObject({ sent: 1, errors: 2, failed: 0, dropped: 0, up: true });
    const b = output(refusing.url);
    b.write(event('ALERT', { ALERT_RULE: 'poor' }));
    await b.close(30_000);
    expect(refusing.hits).toBe(1);
    expect(b.stats()[0]).toMatchObject({ sent: 0, errors: 1, failed: 1, dropped: 0, lastError: 'HTTP 400' });

    const gone = await receiver();
    await gone.close(); // nothing listens on its port any more
    const c = output(gone.url, { retries: 2 });
    c.write(event('ALERT', { ALERT_RULE: 'poor' }));
    await c.close(30_000);
    expect(c.stats()[0]).toMatchObject({ sent: 0, errors: 3, failed: 1, dropped: 0, up: false, lastError: 'ECONNREFUSED' });
    const gaveUp = logs.filter((l) => l.msg === 'webhook event not delivered after 2 retries: ECONNREFUSED');
    expect(gaveUp.length).toBe(1);
    expect(JSON.stringify(gaveUp.at(-1)!.obj)).not.toContain('secret'); // the URL's query (a token) stays out of logs
  });

  it("a 429 or 503 with Retry-After is retried no sooner than the receiver asked (a rate-limited chat bridge)", async () => {
    const times: number[] = [];
    const url = await answering((_req, res) => {
      times.push(Date.now());
      if (times.length === 1) res.writeHead(429, { 'retry-after': '2' }).end();
      else if (times.length === 2) res.writeHead(503, { 'retry-after': new Date(Date.now() + 2000).toUTCString() }).end();
      else res.writeHead(200).end();
    });
    const w = output(url); // backoff 20 ms
    w.write(event('ALERT', { ALERT_RULE: 'poor' }));
    await w.close(30_000);
    expect(w.stats()[0]).toMatchObject({ sent: 1, errors: 2, failed: 0 });
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1900);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(900); // an HTTP date has whole seconds
  });

  it("a failed POST is logged as 'retrying' only when another attempt follows; the give-up line says whether it was retried", async () => {
    const refusing = await receiver(() => 404);
    const failing = await receiver(() => 503);
    open.push(refusing, failing);
    const retrying = () => logs.filter((l) => l.msg === 'webhook POST failed: retrying').length;
    const gaveUp = () => logs.filter((l) => l.level === 'error').map((l) => l.msg);
    const a = output(refusing.url);
    a.write(event('ALERT', { ALERT_RULE: 'poor' }));
    await a.close(30_000);
    expect([refusing.hits, retrying()]).toEqual([1, 0]);
    expect(logs.map((l) => l.msg)).toEqual(['webhook event not delivered (not retried): HTTP 404']);
    const b = output(failing.url, { retries: 0 });
    b.write(event('ALERT', { ALERT_RULE: 'poor' }));
    await b.close(30_000);
    expect([failing.hits, retrying()]).toEqual([1, 0]);
    expect(gaveUp().at(-1)).toBe('webhook event not delivered (webhook.retries is 0): HTTP 503');
    const c = output(failing.url, { retries: 1 });
    c.write(event('ALERT', { ALERT_RULE: 'poor' }));
    await c.close(30_000);
    expect([failing.hits, retrying()]).toEqual([3, 1]);
    expect(gaveUp().at(-1)).toBe('webhook event not delivered after 1 retry: HTTP 503');
    // Retried, then refused: the line counts the retries made.
    const turning = await receiver((n) => (n === 1 ? 503 : 404));
    open.push(turning);
    const d = output(turning.url);
    d.write(event('ALERT', { ALERT_RULE: 'poor' }));
    await d.close(30_000);
    expect(turning.hits).toBe(2);
    expect(gaveUp().at(-1)).toBe('webhook event not delivered after 1 retry: HTTP 404');
  });

  it('a redirect is a failed POST, not followed: fetch would follow 301/302/303 with a GET and no body, counted as delivered', async () => {
    for (const status of [301, 302, 303, 307, 308]) {
      const requests: string[] = [];
      const url = await answering((req, res) => {
        requests.push(`${req.method} ${req.url}`);
        if (req.url!.startsWith('/hooks/')) res.writeHead(status, { location: '/moved' }).end();
        else res.writeHead(200).end();
      });
      const w = output(url);
      w.write(event('ALERT', { ALERT_RULE: 'poor' }));
      await w.close(30_000);
      expect(requests, `HTTP ${status}`).toEqual(['POST /hooks/alerts']);
      expect(w.stats()[0], `HTTP ${status}`).toMatchObject({ sent: 0, failed: 1, errors: 1, lastError: `HTTP ${status} (a redirect: not followed)` });
      expect(logs.at(-1)?.msg, `HTTP ${status}`).toBe(`webhook event not delivered (not retried): HTTP ${status} (a redirect: not followed)`);
    }
  });

  it('a receiver answering with a huge or endless body: the POST counts as delivered at once, the body is not kept', async () => {
    let closed = 0;
    const url = await answering((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(1 << 20, 120);
      const more = (): void => {
        while (res.write(chunk));
      };
      res.on('drain', more);
      res.on('close', () => closed++);
      more();
    });
    const w = output(url, { timeoutMs: 60_000 });
    w.write(event('ALERT', { ALERT_RULE: 'poor' }));
    w.write(event('CLEARED', { ALERT_RULE: 'poor' }));
    // The client closed each endless answer (read up to a bound) and went on; it did not wait for the timeout.
    expect(await until(() => w.stats()[0]!.sent === 2 && closed === 2, 30_000)).toBe(true);
    expect(w.stats()[0]).toMatchObject({ sent: 2, errors: 0, failed: 0 });
    await w.close(1000);
  });

  it('a receiver that does not answer: the queue stays bounded (oldest dropped), the deadline ends delivery (abandoned, not a failed attempt)', async () => {
    const stuck = await receiver(() => 'hang');
    open.push(stuck);
    const w = output(stuck.url, { queueSize: 3, timeoutMs: 60_000 });
    for (let i = 0; i < 10; i++) w.write(event('ALERT', { ALERT_RULE: 'poor', SSRC: 100 + i }));
    expect(await until(() => stuck.hits === 1, 30_000)).toBe(true);
    // One in flight, three queued (the newest), six dropped.
    expect(w.stats()[0]).toMatchObject({ queued: 3, dropped: 6, sent: 0 });
    expect(logs.filter((l) => l.msg.startsWith('webhook events dropped: the queue is full')).length).toBe(1); // rate-limited
    const t0 = Date.now();
    await w.close(300);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(w.stats()[0]).toMatchObject({ queued: 0, dropped: 10, sent: 0, errors: 0 });
    expect(logs.filter((l) => l.msg.startsWith('webhook POST failed'))).toEqual([]);
  });

  it('credentials in the URL (https://user:password@host/...) are sent as HTTP Basic authorization and never logged', async () => {
    const rx = await receiver((n) => (n === 1 ? 503 : 200));
    open.push(rx);
    const url = rx.url.replace('http://', 'http://alerts%40ops:s3cr%3At@');
    const w = output(url);
    w.write(event('ALERT', { ALERT_RULE: 'poor' }));
    await w.close(30_000);
    expect(rx.got.map((p) => p.event)).toEqual(['ALERT']);
    expect(rx.auth).toEqual(Array(2).fill(`Basic ${Buffer.from('alerts@ops:s3cr:t').toString('base64')}`));
    expect(w.stats()[0]).toMatchObject({ sent: 1, errors: 1, name: rx.url.replace(/\?.*$/, '') });
    expect(logs.length).toBeGreaterThan(0); // the 503 was logged
    expect(JSON.stringify(logs)).not.toMatch(/s3cr|alerts%40ops/);
  });

  it('room() holds a producer while the queue is half full, so a replay goes at the receiver\'s pace and drops nothing', async () => {
    const rx = await receiver(() => 200, 50);
    open.push(rx);
    const w = output(rx.url, { queueSize: 4 });
    for (let i = 0; i < 20; i++) {
      const room = w.room();
      if (room !== null) await room;
      expect(w.stats()[0]!.queued).toBeLessThan(2);
      w.write(event('ALERT', { ALERT_RULE: 'poor', SSRC: 200 + i }));
    }
    await w.settled();
    expect(rx.got.map((p) => p.stream.ssrc)).toEqual(Array.from({ length: 20 }, (_, i) => 200 + i));
    await w.close(1000);
    expect(w.stats()[0]).toMatchObject({ sent: 20, dropped: 0 });
  });

  it('a configuration reload (SIGHUP) keeps the rules firing: their CLEARED still follow, after the ALERT', async () => {
    // The first ALERT is answered 503: the replaced instance is still retrying it when the CLEARED comes.
    const rx = await receiver((n) => (n === 1 ? 503 : 200));
    open.push(rx);
    const { outputs, send, withUrl } = webhookOutputs(rx.url);
    send('ALERT', { ALERT_RULE: 'poor', SSRC: 1 });
    send('ALERT', { ALERT_RULE: 'jitter', SSRC: 2 });
    const reloaded = outputs.reload(withUrl(rx.url), 30_000);
    send('CLEARED', { ALERT_RULE: 'poor', SSRC: 1 });
    send('HANGUP', { SSRC: 2 });
    await reloaded;
    await outputs.close(30_000);
    expect(eventsOf(rx)).toEqual([
      'ALERT poor null 1',
      'ALERT jitter null 2',
      'CLEARED poor rule 1',
      'CLEARED jitter stream-ended 2',
    ]);
  });
  it('a reload to another URL: the old receiver gets a CLEARED (reason reconfigured) for each of its alerts, the new one an ALERT (reason reconfigured) for each, then their CLEARED', async () => {
    const before = await receiver();
    const after = await receiver();
    open.push(before, after);
    const { outputs, send, withUrl } = webhookOutputs(before.url);
    send('ALERT', { ALERT_RULE: 'poor', SSRC: 1 });
    send('ALERT', { ALERT_RULE: 'poor', SSRC: 2 });
    send('ALERT', { ALERT_RULE: 'jitter', SSRC: 2, REPORT_END: 1700000012.5 });
    await outputs.reload(withUrl(after.url), 30_000);
    send('CLEARED', { ALERT_RULE: 'poor', SSRC: 1 });
    send('HANGUP', { SSRC: 2 });
    send('ALERT', { ALERT_RULE: 'poor', SSRC: 3 });
    send('CLEARED', { ALERT_RULE: 'poor', SSRC: 3 });
    await outputs.close(30_000);
    expect(eventsOf(before)).toEqual([
      'ALERT poor null 1',
      'ALERT poor null 2',
      'ALERT jitter null 2',
      'CLEARED poor reconfigured 1',
      'CLEARED poor reconfigured 2',
      'CLEARED jitter reconfigured 2',
    ]);
    // The CLEARED names what its ALERT named; no report carried the change.
    expect(before.got[3]).toMatchObject({ callId: 'call-1@test', stream: { src: '10.0.0.1:4000', dst: '10.0.0.2:5000', ssrc: 1, codec: 'pcma' }, mos: 3.1, report: null });
    // The new receiver learns what fires at the switch (as of its ALERT: time the rule started firing),
    // so the CLEARED that follow end alerts it knows.
    expect(eventsOf(after)).toEqual([
      'ALERT poor reconfigured 1',
      'ALERT poor reconfigured 2',
      'ALERT jitter reconfigured 2',
      'CLEARED poor rule 1',
      'CLEARED poor stream-ended 2',
      'CLEARED jitter stream-ended 2',
      'ALERT poor null 3',
      'CLEARED poor rule 3',
    ]);
    expect(after.got[0]).toMatchObject({ callId: 'call-1@test', stream: { src: '10.0.0.1:4000', dst: '10.0.0.2:5000', ssrc: 1, codec: 'pcma' }, mos: 3.1, report: null, time: before.got[0].time });
    expect(after.got[2].time).toBe(new Date(1700000012_500).toISOString());
  });
  it('a reload that removes the URL: the receiver gets a CLEARED (reason reconfigured) for each of its alerts', async () => {
    const rx = await receiver();
    open.push(rx);
    const { outputs, send, withUrl } = webhookOutputs(rx.url);
    send('ALERT', { ALERT_RULE: 'poor', SSRC: 1 });
    await outputs.reload(withUrl(''), 30_000);
    await outputs.close(30_000);
    expect(eventsOf(rx)).toEqual(['ALERT poor null 1', 'CLEARED poor reconfigured 1']);
  });
  it('a reload that sets a URL where there was none: the receiver gets an ALERT (reason reconfigured) for each rule firing, then their CLEARED', async () => {
    const rx = await receiver();
    open.push(rx);
    const { outputs, send, withUrl } = webhookOutputs('');
    send('ALERT', { ALERT_RULE: 'poor', SSRC: 1 });
    send('ALERT', { ALERT_RULE: 'poor', SSRC: 2, MOS: 2.2 });
    send('ALERT', { ALERT_RULE: 'jitter', SSRC: 2, REPORT_END: 1700000012.5 });
    send('CLEARED', { ALERT_RULE: 'poor', SSRC: 1 }); // cleared before the reload: not told
    await outputs.reload(withUrl(rx.url), 30_000);
    send('HANGUP', { SSRC: 2 });
    send('ALERT', { ALERT_RULE: 'poor', SSRC: 3 });
    await outputs.close(30_000);
    expect(eventsOf(rx)).toEqual(['ALERT poor reconfigured 2', 'ALERT jitter reconfigured 2', 'CLEARED poor stream-ended 2', 'CLEARED jitter stream-ended 2', 'ALERT poor null 3']);
    // As a receiver a reload moves the webhook to is told: the fields of the stream's first ALERT, `time` when each rule started firing.
    expect(rx.got[0]).toMatchObject({ callId: 'call-1@test', stream: { src: '10.0.0.1:4000', dst: '10.0.0.2:5000', ssrc: 2, codec: 'pcma' }, mos: 2.2, lossPct: 6.5, jitterMs: 12, report: null, time: new Date(1700000010_500).toISOString() });
    expect(rx.got[1]).toMatchObject({ mos: 2.2, time: new Date(1700000012_500).toISOString() });
  });
});

describe.skipIf(!existsSync(cli))('webhook from a real replay', () => {
  /** Replays 3 lossy calls whose 6 streams all fire the rule, with the webhook to `rx`; the exit code and stderr. */
  async function replayLossy(rx: Receiver, extra: string[] = []): Promise<{ code: number | null; stderr: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-webhook-'));
    try {
      const gen = spawnSync(process.execPath, [join(root, 'dist/gen/scenario-cli.js'), join(dir, 'lossy.pcap'), '--calls', '3', '--concurrent', '3', '--call-duration', '12', '--loss', '8', '--burst', '40', '--seed', '5'], { encoding: 'utf8' });
      expect(gen.status, gen.stderr).toBe(0);
      // Asynchronously: the receiver runs in this process and must answer while the probe runs.
      const child = spawn(process.execPath, [cli, 'replay', join(dir, 'lossy.pcap'), '--no-hep', '--log-format', 'json', '--set', `webhook.url=${rx.url}`, '--set', 'reports.interval_s=2', '--rule', 'name=low-mos;when=mean_mos < 4.2;interval_s=1', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      return { code, stderr };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('every ALERT of the run reaches the receiver, each with its CLEARED', async () => {
    const rx = await receiver();
    open.push(rx);
    {
      const { code, stderr } = await replayLossy(rx);
      expect(code, stderr).toBe(0);
      const alerts = rx.got.filter((p) => p.event === 'ALERT');
      const cleared = rx.got.filter((p) => p.event === 'CLEARED');
      expect(alerts.length).toBe(6); // 3 calls x 2 directions, all below MOS 4.2 on average
      expect(new Set(alerts.map((p) => `${p.stream.src}>${p.stream.dst}`)).size).toBe(6);
      expect(cleared.map((p) => p.reason)).toEqual(Array(6).fill('stream-ended'));
      expect(alerts.every((p) => p.rule === 'low-mos' && /^scn5-\d@rtpprobe\.gen$/.test(p.callId) && p.mos! > 0)).toBe(true);
      // Each CLEARED comes after its ALERT.
      for (const c of cleared) expect(rx.got.indexOf(c)).toBeGreaterThan(rx.got.findIndex((p) => p.event === 'ALERT' && p.stream.src === c.stream.src));
    }
  }, 90_000);

  it("the configuration file's webhook is not used by replay: its rule fires, nothing is posted", async () => {
    const rx = await receiver();
    open.push(rx);
    const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-webhook-'));
    try {
      const gen = spawnSync(process.execPath, [join(root, 'dist/gen/scenario-cli.js'), join(dir, 'lossy.pcap'), '--calls', '1', '--call-duration', '6', '--loss', '8', '--burst', '40', '--seed', '5'], { encoding: 'utf8' });
      expect(gen.status, gen.stderr).toBe(0);
      const cfg = join(dir, 'probe.yaml');
      writeFileSync(cfg, `webhook:\n  url: ${rx.url}\nreports:\n  interval_s: 2\n  rules:\n    - name: low-mos\n      when: mean_mos < 4.2\n      interval_s: 1\n`);
      const out = join(dir, 'reports.jsonl');
      const r = spawnSync(process.execPath, [cli, 'replay', join(dir, 'lossy.pcap'), '-c', cfg, '--jsonl', out, '--table', 'none'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      // The file's rule applied (so the file was read): ALERT reports in the JSON lines.
      const types = readFileSync(out, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as QosReport).TYPE);
      expect(types).toContain('ALERT');
      expect(rx.hits).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('a receiver slower than the replay: the replay waits for the webhook at the end of its input, as for HEP, and loses nothing', async () => {
    // 12 events at 150 ms each take 1.8 s; the stop deadline (0.5 s) bounds only a stop, not the end of the input.
    const rx = await receiver(() => 200, 150);
    open.push(rx);
    const { code, stderr } = await replayLossy(rx, ['--set', 'process.shutdown_deadline_ms=500']);
    expect(code, stderr).toBe(0);
    expect(rx.got.filter((p) => p.event === 'ALERT')).toHaveLength(6);
    expect(rx.got.filter((p) => p.event === 'CLEARED')).toHaveLength(6);
  }, 90_000);
});
