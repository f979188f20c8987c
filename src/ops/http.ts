/**
 * The metrics HTTP endpoint: GET /metrics (Prometheus text format), GET /healthz (200 with JSON while
 * healthy, 503 while the capture interface is down or once capture stopped unexpectedly), and the live
 * JSON API the `top` command reads: GET /api/streams and GET /api/calls (worst first; `?limit=N`).
 * node:http only; no framework.
 *
 * The endpoint cannot be exhausted by clients that connect and say nothing: connections are capped
 * (`metrics.max_connections`); a new connection beyond the cap closes the longest-idle one that has no
 * request in progress and is older than a short grace period (a health check's request may still be on the
 * wire when a burst of connections arrives behind it). Connections within their grace period may exceed the
 * cap by a bounded burst allowance and are trimmed once it passes; beyond that the oldest idle one is closed
 * at once, and a newcomer only when every connection is busy. A connection idle for
 * `metrics.idle_timeout_ms` is closed. A scrape or health check therefore gets a socket and is read before
 * it can be shed. Closes for being idle are decided after the event loop's poll for input, never in the
 * timer that asks for them: after a stall (a loaded host), the timers run before the input is read, and a
 * request waiting in the kernel would be taken for silence.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { hostname } from 'node:os';
import { LIVE_PAGE_REFRESH_MS, renderLivePageHtml } from '../callreport/index.js';
import type { ProbeMetrics } from './metrics.js';

export interface MetricsServer {
  readonly server: Server;
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  readonly address: string;
  /** Connections open now (bounded by maxConnections). */
  readonly connections: number;
  /** Connections closed to make room for new ones, and closed for idling. */
  readonly evicted: { full: number; idle: number };
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  listen: string;
  port: number;
  /** Open connections at most. Default 64. */
  maxConnections?: number;
  /** A connection without traffic for this long is closed. Default 10,000 ms. */
  idleTimeoutMs?: number;
  /** The live call page is configured (metrics.live_page): until the probe attaches it, it is starting. */
  livePage?: boolean;
}

/** Rows an API answer carries unless `?limit=` says otherwise, and the most it carries. */
const API_DEFAULT_LIMIT = 500;
const API_MAX_LIMIT = 100_000;

/** How long a new connection is safe from being shed: time for its client to send the request. */
const SHED_GRACE_MS = 250;
/** Connections younger than the grace period may exceed `maxConnections` by this many at most. */
const BURST_ALLOWANCE = 1024;

export async function startMetricsServer(metrics: ProbeMetrics, opts: MetricsServerOptions): Promise<MetricsServer> {
  const maxConnections = opts.maxConnections ?? 64;
  const idleMs = opts.idleTimeoutMs ?? 10_000;
  const loopbackOnly = isLoopbackAddress(opts.listen);
  const server = createServer(
    {
      // A client sending its headers slowly is cut off too (checked every second, not every 30 s).
      headersTimeout: idleMs,
      requestTimeout: idleMs,
      connectionsCheckingInterval: Math.min(1000, idleMs),
    },
    (req, res) => {
      if (loopbackOnly && !loopbackHost(req.headers.host)) {
        // DNS rebinding: a web page the operator opens resolves its own name to 127.0.0.1 and reads the
        // calls (Call-IDs, From / To) through the browser. A loopback endpoint answers loopback names only.
        json(res, 421, { error: `this endpoint listens on ${opts.listen} and answers requests for a loopback host only, not ${JSON.stringify(req.headers.host)}: use http://127.0.0.1:PORT (or set metrics.listen to expose it)` }, req.method === 'HEAD');
        return;
      }
      handle(metrics, opts.livePage === true, req, res);
    },
  );
  server.keepAliveTimeout = Math.min(5000, idleMs);

  // Connections in arrival order with their accept time (a Map iterates in insertion order: the first
  // idle one is the oldest).
  const open = new Map<Socket, number>();
  const busy = new WeakSet<Socket>();
  const evicted = { full: 0, idle: 0 };
  let trimTimer: NodeJS.Timeout | null = null;
  /**
   * Close up to `n` idle connections, oldest first, that are older than the grace period. A connection
   * younger than that may have its request on the wire, not read yet: shedding it at once would let a
   * flood of new connections shed every health check before the server reads it.
   */
  const shed = (n: number, now: number, graceMs: number): void => {
    for (const [s, at] of open) {
      if (n <= 0 || now - at < graceMs) return; // the rest are younger still
      if (busy.has(s)) continue;
      open.delete(s);
      s.destroy();
      evicted.full++;
      n--;
    }
  };
  /** Sheds down to the cap once this turn's input is read (setImmediate runs right after the poll). */
  let trimSoon = false;
  const trimAfterPoll = (): void => {
    if (trimSoon) return;
    trimSoon = true;
    setImmediate(() => {
      trimSoon = false;
      shed(open.size - maxConnections, Date.now(), SHED_GRACE_MS);
      if (open.size > maxConnections) trimLater();
    });
  };
  const trimLater = (): void => {
    if (trimTimer) return;
    trimTimer = setTimeout(() => {
      trimTimer = null;
      trimAfterPoll();
    }, SHED_GRACE_MS);
    trimTimer.unref();
  };
  /** A connection silent for idleMs, closed unless its input arrived meanwhile (read in the next poll). */
  const closeIfIdle = (sock: Socket): void => {
    const read = sock.bytesRead;
    setImmediate(() => {
      if (sock.destroyed) return;
      if (busy.has(sock) || sock.bytesRead !== read) {
        sock.setTimeout(idleMs, () => closeIfIdle(sock));
        return;
      }
      evicted.idle++;
      sock.destroy();
    });
  };
  server.on('connection', (sock: Socket) => {
    const now = Date.now();
    // A burst beyond the allowance: the oldest idle goes even within its grace period (a flood this fast
    // would otherwise lock every newcomer out), and when every connection is busy the newcomer waits for none.
    if (open.size >= maxConnections + BURST_ALLOWANCE) {
      shed(1, now, 0);
      if (open.size >= maxConnections + BURST_ALLOWANCE) {
        evicted.full++;
        sock.destroy();
        return;
      }
    }
    open.set(sock, now);
    if (open.size > maxConnections) trimAfterPoll();
    sock.once('close', () => open.delete(sock));
    sock.setTimeout(idleMs, () => closeIfIdle(sock));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const sock = req.socket;
    busy.add(sock);
    res.once('close', () => busy.delete(sock));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.listen, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    server,
    port: addr.port,
    address: addr.address,
    get connections() {
      return open.size;
    },
    evicted,
    close: () =>
      new Promise<void>((resolve) => {
        if (trimTimer) clearTimeout(trimTimer);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function handle(metrics: ProbeMetrics, livePage: boolean, req: IncomingMessage, res: ServerResponse): void {
  const [path, query = ''] = (req.url ?? '/').split('?');
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (path === '/metrics') {
    metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(head ? undefined : text);
      },
      (err: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`metrics collection failed: ${err.message}\n`);
      },
    );
    return;
  }
  if (path === '/healthz') {
    const { healthy, body } = metrics.health();
    json(res, healthy ? 200 : 503, body, head);
    return;
  }
  if (path === '/calls' || path === '/api/callreport') {
    const data = metrics.callPage;
    if (!data && !livePage) {
      json(res, 404, { error: 'the live call page is off: set metrics.live_page: true' }, head);
      return;
    }
    if (path === '/api/callreport') {
      // Null while the probe is starting (the endpoint listens before capture opens) or stopping (its
      // outputs closed). The page shows the error as it is.
      const text = data?.() ?? null;
      if (text === null) json(res, 503, { error: metrics.capture === 'starting' ? 'the probe is starting: capture is not open yet' : 'the probe is stopping' }, head);
      else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(head ? undefined : text);
      }
    } else {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(head ? undefined : renderLivePageHtml('rtpprobe live calls', '/api/callreport', LIVE_PAGE_REFRESH_MS));
    }
    return;
  }
  if (path === '/api/streams' || path === '/api/calls') {
    const live = metrics.live;
    if (!live) {
      // The endpoint listens before capture opens (an interface down at start is waited for): say why it waits.
      const { healthy, body } = metrics.health();
      json(res, 503, { error: `the probe is starting: capture is not open yet${healthy ? '' : ` (${body.status})`}` }, head);
      return;
    }
    const limit = limitOf(query);
    if (limit === null) {
      json(res, 400, { error: 'limit must be an integer from 1 to 100000' }, head);
      return;
    }
    const summary = { ...live.summary(), ...metrics.health().body };
    const body = path === '/api/streams' ? { summary, streams: live.streams(limit) } : { summary, calls: live.callList(limit) };
    json(res, 200, body, head);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end(head ? undefined : 'not found: try /metrics, /healthz, /api/streams or /api/calls\n');
}

/** True for 127.0.0.0/8, ::1 and localhost: only this host can connect. */
function isLoopbackAddress(address: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(address) || address === '::1' || address === 'localhost';
}

/**
 * True when a request's Host header (absent in HTTP/1.0) names this host by a loopback name or address, or
 * by its own host name (Debian maps it to 127.0.1.1).
 */
function loopbackHost(header: string | undefined): boolean {
  if (header === undefined) return true;
  const name = (header.startsWith('[') ? header.slice(1, header.indexOf(']')) : header.replace(/:\d+$/, '')).toLowerCase();
  return isLoopbackAddress(name) || name === 'localhost.localdomain' || name.endsWith('.localhost') || name === hostname().toLowerCase();
}

function json(res: ServerResponse, status: number, body: unknown, head: boolean): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(head ? undefined : JSON.stringify(body));
}

/** `limit=N` from a query string; the default when absent, null when invalid. */
function limitOf(query: string): number | null {
  const v = new URLSearchParams(query).get('limit');
  if (v === null) return API_DEFAULT_LIMIT;
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 && n <= API_MAX_LIMIT ? n : null;
}
