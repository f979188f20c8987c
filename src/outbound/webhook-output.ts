/**
 * Alerts to people: every ALERT (a threshold rule started firing for a stream) and its CLEARED (the rule
 * stopped firing, or the stream ended while it fired) as an HTTP POST of JSON to `webhook.url` (a chat
 * bridge, an incident tool, Alertmanager-style receivers behind a small adapter).
 *
 * Delivery: one request at a time in event order (a CLEARED never overtakes its ALERT); a failed attempt
 * (network error, timeout, HTTP 5xx or 429) is retried `webhook.retries` times with backoff (1 s, 2 s,
 * 4 s... at most 30 s; longer when the answer's Retry-After asks, up to 60 s); other HTTP errors are not
 * retried, and a redirect (3xx) is not followed: it fails.
 * Events wait in a queue of `webhook.queue_size`; when it is full the oldest is dropped. Counted per
 * destination (/metrics): each failed attempt as an error, an event given up after its attempts as
 * failed, an event evicted or abandoned at the shutdown deadline as dropped; logged at most once per
 * 10 s. At stop, what is queued is delivered within the shutdown deadline. A replay goes at the
 * receiver's pace (room()) and waits at the end of its input until everything is delivered
 * (settled()), unless the receiver is failing.
 *
 * A configuration reload keeps the URL's alerts with it: the same URL goes on with the rules firing (their
 * CLEARED follow, after what the replaced instance still delivers); another URL, or none, ends them at the
 * receiver that got their ALERT (CLEARED, reason 'reconfigured'), and another URL, or one set where there
 * was none (told by the sink's FiringAlerts), gets an ALERT (reason 'reconfigured') for each, so every
 * receiver knows what fires and none is left with an alert nobody clears nor gets a CLEARED without its ALERT.
 */
import type { ProbeConfig } from '../ops/config.js';
import { clearReasonOf, reportStreamKey } from '../report/index.js';
import type { ClearReason, QosReport } from '../report/index.js';
import type { EventKind, OutboundEvent } from './events.js';
import { reportEndS, type FiringAlerts } from './firing-alerts.js';
import { nodeNameOf } from './identity.js';
import type { OutputContext } from './registry.js';
import type { DestinationStats, Output, OutputLog } from './output.js';
import { RateLimitedLog } from './rate-limited-log.js';

/** The JSON body of one POST. */
export interface WebhookPayload {
  event: 'ALERT' | 'CLEARED';
  rule: string;
  /**
   * For CLEARED: the expression turned false ('rule'), the stream ended while it fired ('stream-ended'), or
   * a reload moved the webhook to another URL, or none ('reconfigured': no report carried it, report null).
   * For ALERT: null, or 'reconfigured' when a reload moved the webhook here while the rule fired (report
   * null, `time` when it started firing).
   */
  reason: ClearReason | 'reconfigured' | null;
  callId: string;
  node: string;
  /** Capture time of the report that carried the change (for an ALERT sent at a reload, its first), ISO 8601. */
  time: string;
  /** `codec`, `mos`, `lossPct` and `jitterMs` are null in a call-level alert (no-media: no stream, SSRC 0). */
  stream: { src: string; dst: string; ssrc: number; codec: string | null };
  mos: number | null;
  lossPct: number | null;
  jitterMs: number | null;
  /** The QoS report itself (RTPAgent fields); null with reason 'reconfigured'. */
  report: QosReport | null;
}

/**
 * A stream with rules firing: their names with the time of each one's ALERT, and the fields of its first
 * ALERT, which the events of a reload repeat (not its report: thousands of streams may fire at once).
 */
interface Firing {
  rules: Map<string, string>;
  alert: Pick<WebhookPayload, 'callId' | 'node' | 'stream' | 'mos' | 'lossPct' | 'jitterMs'>;
}

export interface WebhookOptions {
  url: string;
  timeoutMs: number;
  retries: number;
  queueSize: number;
  node: string;
  log: OutputLog;
  /** The rules firing (the sink's): a webhook a reload sets where there was none is told each at once. */
  firing?: FiringAlerts;
  /** Backoff before retry k (1-based), ms. Default 1 s, 2 s, 4 s... at most 30 s. */
  backoffMs?: (k: number) => number;
}

const defaultBackoff = (k: number): number => Math.min(30_000, 1000 * 2 ** (k - 1));

/**
 * Where to POST and with which headers. Credentials in the URL (https://user:password@host/...) go in an
 * HTTP Basic Authorization header: fetch refuses a URL that carries them (and its error would log them).
 */
function requestOf(url: string): { target: string; headers: Record<string, string> } {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'rtpprobe' };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { target: url, headers };
  }
  if (u.username === '' && u.password === '') return { target: url, headers };
  const user = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  u.username = '';
  u.password = '';
  return { target: u.href, headers };
}

/** The URL as it may appear in logs and metrics: no credentials, no query (tokens often ride there). */
export function publicUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return 'webhook';
  }
}

export class WebhookOutput implements Output {
  readonly name = 'webhook';
  readonly scope = 'collector' as const;
  private readonly queue: (WebhookPayload | undefined)[];
  private head = 0;
  private size = 0;
  /** Rules firing per stream, to send their CLEARED when the stream ends. */
  private readonly firing: Map<string, Firing>;
  /** The instance this one replaced at a reload, while it still delivers: its events go first. */
  private readonly before: Promise<void> | null;
  private readonly counters = { sent: 0, failed: 0, errors: 0, dropped: 0 };
  private up = true;
  private lastError: string | undefined;
  private pumping: Promise<void> | null = null;
  private closing = false;
  private readonly abort = new AbortController();
  private readonly limited: RateLimitedLog;
  private readonly label: string;
  private readonly request: { target: string; headers: Record<string, string> };
  private readonly backoff: (k: number) => number;
  /** The wait a failed attempt's Retry-After asked for (429, 5xx), ms; 0: none. */
  private retryAfterMs = 0;
  private roomWaiters: Array<() => void> = [];
  private settleWaiters: Array<() => void> = [];

  /**
   * `replaces`: the running instance a configuration reload replaces. Its firing rules carry over: their
   * CLEARED are this instance's to send. With the same URL, what it still delivers goes before this
   * instance's events; with another URL it ends them at its receiver (endFiring()) and this instance
   * starts with an ALERT for each, so its receiver knows what its CLEARED end.
   */
  constructor(
    private readonly o: WebhookOptions,
    replaces?: WebhookOutput,
  ) {
    const same = replaces !== undefined && replaces.o.url === o.url;
    if (replaces === undefined) this.firing = o.firing ? this.adopt(o.firing) : new Map();
    else this.firing = same ? replaces.firing : new Map(replaces.firing);
    if (replaces !== undefined && !same) replaces.endFiring();
    this.before = same ? replaces.pumping : null;
    this.queue = new Array(o.queueSize);
    this.limited = new RateLimitedLog(o.log);
    this.label = publicUrl(o.url);
    this.request = requestOf(o.url);
    this.backoff = o.backoffMs ?? defaultBackoff;
    if (!same) this.announceFiring();
  }

  /** ALERT and CLEARED; QoS reports only to see streams end (FINAL, HANGUP) while a rule fires. */
  wants(kind: EventKind): boolean {
    return kind === 'alert' || kind === 'qos';
  }

  write(e: OutboundEvent): void {
    if (e.kind !== 'alert' && e.kind !== 'qos') return;
    const r = e.report;
    const type = r.TYPE;
    if (type === 'PERIODIC') return;
    const key = reportStreamKey(r);
    const rule = String(r.ALERT_RULE ?? '');
    if (type === 'ALERT') {
      const p = this.payload('ALERT', rule, null, r);
      let f = this.firing.get(key);
      if (!f) {
        const { callId, node, stream, mos, lossPct, jitterMs } = p;
        this.firing.set(key, (f = { rules: new Map(), alert: { callId, node, stream, mos, lossPct, jitterMs } }));
      }
      f.rules.set(rule, p.time);
      this.enqueue(p);
    } else if (type === 'CLEARED') {
      const f = this.firing.get(key);
      if (!f?.rules.delete(rule)) return;
      if (f.rules.size === 0) this.firing.delete(key);
      this.enqueue(this.payload('CLEARED', rule, clearReasonOf(r), r));
    } else if (type === 'FINAL' || type === 'HANGUP') {
      // The probe clears what fires before the final report; this is for an alert it could not follow
      // (a rule a reload removed while it fired, beyond the 31 a stream tracks).
      const f = this.firing.get(key);
      if (!f) return;
      this.firing.delete(key);
      for (const ruleName of f.rules.keys()) this.enqueue(this.payload('CLEARED', ruleName, 'stream-ended', r));
    }
  }

  /**
   * A reload moved the webhook to another URL, or none: every rule firing is cleared at this receiver
   * (delivered by close() within the reload's drain deadline), as the stream's end will not be told here.
   */
  endFiring(): void {
    const time = new Date().toISOString(); // the reload's: a live run's capture clock is the wall clock
    for (const f of this.firing.values()) {
      for (const rule of f.rules.keys()) this.enqueue({ event: 'CLEARED', rule, reason: 'reconfigured', time, ...f.alert, report: null });
    }
    this.firing.clear();
  }

  /** The sink's rules firing, kept as this output keeps those it posted (each stream's first ALERT's fields). */
  private adopt(sink: FiringAlerts): Map<string, Firing> {
    const firing = new Map<string, Firing>();
    for (const f of sink.values()) {
      const { callId, node, stream, mos, lossPct, jitterMs } = this.payload('ALERT', '', null, { ...f.identity, ...f.figures });
      const rules = new Map<string, string>();
      for (const [rule, alert] of f.rules) rules.set(rule, isoTime(alert.timeS));
      firing.set(reportStreamKey(f.identity), { rules, alert: { callId, node, stream, mos, lossPct, jitterMs } });
    }
    return firing;
  }

  /** A reload moved the webhook here (or set it): every rule firing is told to this receiver, as of its ALERT. */
  private announceFiring(): void {
    for (const f of this.firing.values()) {
      for (const [rule, time] of f.rules) this.enqueue({ event: 'ALERT', rule, reason: 'reconfigured', time, ...f.alert, report: null });
    }
  }

  private payload(event: 'ALERT' | 'CLEARED', rule: string, reason: WebhookPayload['reason'], r: QosReport): WebhookPayload {
    const ip = (a: unknown, p: unknown) => (String(a).includes(':') ? `[${a}]:${p}` : `${a}:${p}`);
    return {
      event,
      rule,
      reason,
      callId: String(r.CORRELATION_ID),
      node: this.o.node,
      time: isoTime(reportEndS(r)),
      stream: { src: ip(r.SRC_IP, r.SRC_PORT), dst: ip(r.DST_IP, r.DST_PORT), ssrc: Number(r.SSRC), codec: r.CODEC_NAME === undefined ? null : String(r.CODEC_NAME) },
      mos: figure(r.MOS),
      lossPct: figure(r.PACKET_LOSS_PCT),
      jitterMs: figure(r.JITTER),
      report: r,
    };
  }

  private enqueue(p: WebhookPayload): void {
    if (this.closing) {
      this.counters.dropped++;
      return;
    }
    const cap = this.queue.length;
    if (this.size === cap) {
      // Full: the oldest goes (the newest says most about now).
      this.queue[this.head] = undefined;
      this.head = (this.head + 1) % cap;
      this.size--;
      this.counters.dropped++;
      this.limited.error('webhook queue full', { webhook: this.label, queueSize: cap }, 'webhook events dropped: the queue is full (the receiver is down or slower than the alerts)');
    }
    this.queue[(this.head + this.size) % cap] = p;
    this.size++;
    this.pumping ??= this.pump().finally(() => {
      this.pumping = null;
      this.wake();
    });
  }

  /** Null while the queue is below half full (or the receiver fails: waiting would not help); else resolves once it is. */
  room(): Promise<void> | null {
    if (this.hasRoom()) return null;
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Null once every event was delivered (or the receiver fails); else resolves then. A replay awaits it at the end of its input. */
  settled(): Promise<void> | null {
    if (this.isSettled()) return null;
    return new Promise((resolve) => this.settleWaiters.push(resolve));
  }

  private hasRoom(): boolean {
    return this.size < this.queue.length / 2 || !this.up || this.closing;
  }

  private isSettled(): boolean {
    return (this.size === 0 && this.pumping === null) || !this.up || this.closing;
  }

  private wake(): void {
    if (this.roomWaiters.length > 0 && this.hasRoom()) for (const f of this.roomWaiters.splice(0)) f();
    if (this.settleWaiters.length > 0 && this.isSettled()) for (const f of this.settleWaiters.splice(0)) f();
  }

  private take(): WebhookPayload | undefined {
    if (this.size === 0) return undefined;
    const p = this.queue[this.head];
    this.queue[this.head] = undefined;
    this.head = (this.head + 1) % this.queue.length;
    this.size--;
    return p;
  }

  /** Delivers queued events one at a time until the queue is empty. */
  private async pump(): Promise<void> {
    if (this.before !== null) await this.before;
    for (let p = this.take(); p !== undefined; p = this.take()) {
      const body = JSON.stringify(p);
      let delivered = false;
      let refused = false;
      let retried = 0;
      for (let attempt = 0; attempt <= this.o.retries && !this.abort.signal.aborted; attempt++) {
        if (attempt > 0 && !(await this.sleep(Math.max(this.backoff(attempt), this.retryAfterMs)))) break;
        this.retryAfterMs = 0;
        retried = attempt;
        const outcome = await this.post(body);
        if (outcome === 'ok') {
          delivered = true;
          break;
        }
        if (outcome === 'final') {
          refused = true;
          break;
        }
        if (attempt < this.o.retries && !this.abort.signal.aborted) {
          this.limited.warn('webhook failed', { webhook: this.label, reason: this.lastError }, 'webhook POST failed: retrying');
        }
      }
      if (delivered) {
        this.counters.sent++;
        if (!this.up) this.o.log.info({ webhook: this.label }, 'webhook reachable again');
        this.up = true;
      } else if (this.abort.signal.aborted) {
        this.counters.dropped++; // abandoned at the shutdown deadline
      } else {
        this.counters.failed++;
        this.limited.error('webhook gave up', { webhook: this.label, reason: this.lastError, event: p.event, rule: p.rule }, `${notDelivered(retried, refused)}: ${this.lastError}`);
      }
      this.wake();
    }
  }

  /** One attempt: 'ok', 'retry' (worth another attempt) or 'final' (the receiver refused it). */
  private async post(body: string): Promise<'ok' | 'retry' | 'final'> {
    // The attempt's own signal, ended by its timeout or the stop. Not AbortSignal.any() with the output's
    // stop signal: Node keeps a WeakRef per combined signal in that long-lived signal, after collections
    // too (nodejs/node#55351), one per POST for as long as the probe runs.
    const attempt = new AbortController();
    const timer = setTimeout(() => attempt.abort(new DOMException(`no answer within ${this.o.timeoutMs} ms`, 'TimeoutError')), this.o.timeoutMs);
    timer.unref(); // as AbortSignal.timeout's: the request's socket is what keeps the process up
    const onStop = (): void => attempt.abort(this.abort.signal.reason);
    if (this.abort.signal.aborted) onStop();
    else this.abort.signal.addEventListener('abort', onStop, { once: true });
    try {
      // A redirect is not followed: fetch follows 301, 302 and 303 with a GET without the body, which the
      // receiver would answer 200, and a redirect to another host would take the alerts there.
      const res = await fetch(this.request.target, { method: 'POST', headers: this.request.headers, body, signal: attempt.signal, redirect: 'manual' });
      await discardAnswer(res);
      if (res.ok) return 'ok';
      if (res.status >= 300 && res.status < 400) {
        this.failedAttempt(`HTTP ${res.status} (a redirect: not followed)`);
        return 'final';
      }
      this.failedAttempt(`HTTP ${res.status}`);
      if (res.status < 500 && res.status !== 429) return 'final';
      this.retryAfterMs = retryAfterMs(res.headers.get('retry-after'));
      return 'retry';
    } catch (err) {
      // Abandoned at the stop deadline (counted as dropped by pump()): no failure of the receiver's.
      if (this.abort.signal.aborted) return 'final';
      const e = err as { name?: string; cause?: { code?: string }; message?: string };
      this.failedAttempt(e.name === 'TimeoutError' ? `no answer within ${this.o.timeoutMs} ms` : (e.cause?.code ?? e.message ?? String(err)));
      return 'retry';
    } finally {
      clearTimeout(timer);
      this.abort.signal.removeEventListener('abort', onStop);
    }
  }

  private failedAttempt(reason: string): void {
    this.counters.errors++;
    this.lastError = reason;
    this.up = false;
    this.wake();
  }

  /** Waits `ms`; false when the output was aborted meanwhile. */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const signal = this.abort.signal;
      const onAbort = () => {
        clearTimeout(t);
        resolve(false);
      };
      const t = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  stats(): DestinationStats[] {
    const c = this.counters;
    return [{ name: this.label, sent: c.sent, failed: c.failed, errors: c.errors, dropped: c.dropped, queued: this.size, up: this.up, lastError: this.lastError }];
  }

  async close(deadlineMs: number): Promise<void> {
    this.closing = true;
    this.wake();
    if (this.pumping) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)));
      await Promise.race([this.pumping, late]);
      clearTimeout(timer);
    }
    // Past the deadline: the request in flight is abandoned, the queue counted as dropped.
    this.abort.abort();
    this.counters.dropped += this.size;
    while (this.take() !== undefined);
    await this.pumping?.catch(() => undefined);
  }
}

/** The most of a receiver's answer read (and thrown away): a short one is read whole so its connection is reused. */
const ANSWER_READ_LIMIT = 64 * 1024;

/**
 * Reads and drops the body of a receiver's answer, at most ANSWER_READ_LIMIT bytes: past that it is
 * cancelled (its connection closed). Only the status is used; reading a huge or endless answer whole kept
 * it all in memory (1 GB of RSS for four POSTs) and held each POST until the timeout.
 */
async function discardAnswer(res: Response): Promise<void> {
  if (res.body === null) return;
  const reader = res.body.getReader();
  try {
    for (let n = 0; n <= ANSWER_READ_LIMIT; ) {
      const { done, value } = await reader.read();
      if (done) return;
      n += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // The answer broke off or the attempt timed out: the status is known already.
  }
}

/**
 * The give-up line's cause: how many retries were made, or why none: the receiver refused the event (an
 * HTTP error not worth retrying, a redirect) or webhook.retries is 0.
 */
function notDelivered(retried: number, refused: boolean): string {
  if (retried > 0) return `webhook event not delivered after ${retried} ${retried === 1 ? 'retry' : 'retries'}`;
  return refused ? 'webhook event not delivered (not retried)' : 'webhook event not delivered (webhook.retries is 0)';
}

/** The longest Retry-After honoured: a receiver asking for more is retried after a minute. */
const MAX_RETRY_AFTER_MS = 60_000;

/** A Retry-After header (seconds, or an HTTP date) as ms from now, within 0..MAX_RETRY_AFTER_MS; 0 when absent or unreadable. */
function retryAfterMs(header: string | null): number {
  if (header === null) return 0;
  const ms = /^\s*\d+\s*$/.test(header) ? Number(header) * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(ms) ? Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms)) : 0;
}

/** A report's figure, null where the report has none (a call-level no-media report). */
const figure = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Seconds since the epoch as ISO 8601. */
const isoTime = (s: number): string => new Date(s * 1000).toISOString();

export function openWebhookOutput(config: ProbeConfig, log: OutputLog, running?: Output, context: OutputContext = {}): WebhookOutput | null {
  const w = config.webhook;
  const replaces = running instanceof WebhookOutput ? running : undefined;
  if (w.url === '') {
    replaces?.endFiring(); // a reload turned the webhook off
    return null;
  }
  return new WebhookOutput({ url: w.url, timeoutMs: w.timeoutMs, retries: w.retries, queueSize: w.queueSize, node: nodeNameOf(config), log, firing: context.firing }, replaces);
}
