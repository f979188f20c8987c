import type dgram from 'node:dgram';
import { createRequire } from 'node:module';
import net from 'node:net';
import type tls from 'node:tls';
import { BoundedPacketQueue, backoffDelayMs } from './queue.js';
import { ackPoller, tcpLineKey, TcpTables, unackedBytesBound, type AckWatcher, type TcpLineKey } from './tx-queue.js';
import { WriteLedger } from './write-ledger.js';

/**
 * Node.js modules only a collector of their kind uses, loaded when it first does: a replay without HEP
 * never loads TLS (and the crypto behind it), UDP sockets or the resolver (about 6 ms of start-up).
 */
const nodeRequire = createRequire(import.meta.url);
const tlsModule = (): typeof tls => nodeRequire('node:tls') as typeof tls;
const dgramModule = (): typeof dgram => nodeRequire('node:dgram') as typeof dgram;
const dnsModule = (): typeof import('node:dns/promises') => nodeRequire('node:dns/promises') as typeof import('node:dns/promises');

export type HepTransport = 'udp' | 'tcp' | 'tls';

/**
 * A TLS collector's CA, certificate and key as the context its connections use; a RangeError naming the
 * collector when they cannot be used. Node ignores CA text that holds no certificate (every connection
 * would then fail to verify), so a CA is checked to be PEM certificates here.
 */
export function tlsContext(name: string, t: HepTlsOptions): tls.SecureContext {
  try {
    for (const ca of t.ca === undefined ? [] : Array.isArray(t.ca) ? t.ca : [t.ca]) checkCaCertificates(ca);
    return tlsModule().createSecureContext({ ca: t.ca, cert: t.cert, key: t.key });
  } catch (err) {
    throw new RangeError(`${name}: the TLS certificate, key or CA cannot be used (${(err as Error).message})`);
  }
}

function checkCaCertificates(ca: string | Buffer): void {
  const blocks = ca.toString().match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g);
  if (!blocks) throw new Error('CA: no PEM certificate in it');
  const { X509Certificate } = nodeRequire('node:crypto') as typeof import('node:crypto');
  for (const pem of blocks) new X509Certificate(pem);
}

export interface HepTlsOptions {
  ca?: string | Buffer | (string | Buffer)[];
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Default true: a HOMER collector presents a certificate we can verify. */
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface HepCollectorConfig {
  host: string;
  port: number;
  transport: HepTransport;
  tls?: HepTlsOptions;
  /** Packets kept while the collector is slow or down (drop-oldest beyond). Default 1000. */
  queueSize?: number;
  /** Bytes those packets may take at most (drop-oldest beyond). Default: no bound but queueSize. */
  queueBytes?: number;
  /** Label in stats/logs; default `transport://host:port`. */
  name?: string;
  /**
   * TCP/TLS: a connection that takes nothing for this long while messages wait is dropped and made anew
   * (with the backoff). Default DEFAULT_STALL_TIMEOUT_MS; 0 = keep it until the kernel gives up on it.
   */
  stallTimeoutMs?: number;
  /**
   * UDP to a name: how often the name is resolved again, so a collector that moves (a container restarted,
   * a failover) is followed; TCP/TLS resolve at each connect. Default DEFAULT_UDP_RESOLVE_INTERVAL_MS; 0 = never.
   */
  resolveIntervalMs?: number;
  /** Name to address; default dns.lookup (the system resolver, as every connect uses). */
  lookup?: (host: string) => Promise<string>;
}

/**
 * UDP sends succeed whatever listens at the address: only resolving the name again notices that it now
 * names another host.
 */
export const DEFAULT_UDP_RESOLVE_INTERVAL_MS = 30_000;

const systemLookup = async (host: string): Promise<string> => (await dnsModule().lookup(host)).address;

/**
 * A peer that vanished without a word (a firewall that drops the connection, a host that died) leaves the
 * kernel retransmitting for about 15 minutes before the socket errs; a new connection works at once.
 */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;

/** True when two collector settings make the same collector (a reload that keeps it keeps its connection and queue). */
export function sameCollectorConfig(a: HepCollectorConfig, b: HepCollectorConfig): boolean {
  if (a.host !== b.host || a.port !== b.port || a.transport !== b.transport || a.queueSize !== b.queueSize || a.queueBytes !== b.queueBytes || a.name !== b.name || a.stallTimeoutMs !== b.stallTimeoutMs || a.resolveIntervalMs !== b.resolveIntervalMs || a.lookup !== b.lookup) return false;
  const ta = a.tls;
  const tb = b.tls;
  if (ta === undefined || tb === undefined) return ta === tb;
  return ta.servername === tb.servername && ta.rejectUnauthorized === tb.rejectUnauthorized && samePem(ta.ca, tb.ca) && samePem(ta.cert, tb.cert) && samePem(ta.key, tb.key);
}

function samePem(a: HepTlsOptions['ca'], b: HepTlsOptions['ca']): boolean {
  const bytes = (v: HepTlsOptions['ca']): Buffer => Buffer.concat((v === undefined ? [] : Array.isArray(v) ? v : [v]).map((x) => Buffer.from(x)));
  return (a === undefined) === (b === undefined) && bytes(a).equals(bytes(b));
}

export interface HepTransportTuning {
  /** First reconnect delay (before jitter). Default 250 ms. */
  backoffInitialMs?: number;
  /** Reconnect delay cap. Default 30 s. */
  backoffMaxMs?: number;
  /** TCP/TLS connect attempts that take longer are abandoned. Default 5 s. */
  connectTimeoutMs?: number;
  /** UDP datagrams handed to libuv but not yet confirmed. Default 64. */
  udpMaxInFlight?: number;
  /**
   * UDP datagrams per second at most (token bucket, bursts of udpMaxInFlight). A UDP receiver gives no
   * back pressure: past its socket buffer it drops silently, so a burst is spread out instead. Default
   * 10,000/s; 0 = unpaced.
   */
  udpMaxRate?: number;
  /**
   * A connected collector that takes nothing for this long while messages wait for it is stalled (it
   * accepted the connection but does not read): reported ('stalled', not up in stats), room() stops
   * waiting for it, and its queue drops the oldest once full, until it takes something again (or its
   * collector's stallTimeoutMs drops the connection). Default 5 s.
   */
  stallMs?: number;
  /** Delivery problems and recoveries, for logs (the caller rate-limits). */
  onEvent?: (e: HepCollectorEvent) => void;
}

/**
 * down: cannot connect / resolve / TLS handshake failed, or the connection broke (reason says which);
 * stalled: connected, but it has taken nothing for stallMs while messages wait (it does not read);
 * up: connected again after being down, or taking data again after a stall; failed: a send or write
 * failed; dropped: the queue was full and the oldest message was evicted (the collector is down or
 * slower than the report rate); notice: how delivery is watched here (once per process); moved: a UDP
 * collector's name resolves to another address, sent to from now on; unresolved: it no longer resolves,
 * its last address is kept.
 */
export interface HepCollectorEvent {
  collector: string;
  kind: 'down' | 'stalled' | 'up' | 'failed' | 'dropped' | 'notice' | 'moved' | 'unresolved';
  reason: string;
}

export interface HepCollectorStats {
  name: string;
  transport: HepTransport;
  /**
   * TCP/TLS: acknowledged by the collector's TCP (the kernel's unacknowledged byte count, see
   * tx-queue.ts; where it cannot be read: taken by the kernel). UDP: send callback without error, minus
   * datagrams later reported unreachable by ICMP, which move to `failed`. Invariant per collector:
   * enqueued = sent + failed + dropped + queued + inFlight.
   */
  sent: number;
  /** Send errors (UDP): ICMP unreachable, EMSGSIZE... TCP/TLS messages a lost connection held go again instead. */
  failed: number;
  /**
   * Evicted from the full queue (oldest first; messages a lost connection held, put back ahead of the
   * queue, included), sent after close(), or abandoned at close's deadline.
   */
  dropped: number;
  queued: number;
  /** Handed to the socket and not yet acknowledged (TCP/TLS) or confirmed (UDP). */
  inFlight: number;
  /**
   * Of queued + inFlight, the messages the kernel has not taken whole: what the process ending now would
   * lose. TCP: in-flight messages whose bytes all reached the kernel are delivered even though their write
   * callback has not run (one writev can carry thousands); TLS and UDP: every in-flight message counts.
   */
  notTaken: number;
  connected: boolean;
  /** Connected, but nothing taken for stallMs while messages wait: the collector does not read. */
  stalled: boolean;
  /** Reconnect attempts scheduled after a failure or a lost connection. */
  reconnects: number;
  lastError: string | undefined;
  /** Connect/resolve/TLS failures and lost connections so far (a UDP name's failed re-resolutions included). */
  connectFailures: number;
}

/**
 * One collector: a bounded queue drained into one socket. enqueue() is O(1) and never touches the socket;
 * a flush scheduled with setImmediate writes while the socket accepts data (TCP/TLS: until write() returns
 * false, then waits for 'drain'; UDP: up to udpMaxInFlight unconfirmed datagrams).
 */
export abstract class HepCollector {
  readonly name: string;
  protected readonly queue: BoundedPacketQueue;
  protected connected = false;
  protected inFlight = 0;
  protected sent = 0;
  protected failed = 0;
  protected dropped = 0;
  protected reconnects = 0;
  protected attempt = 0;
  protected lastError: string | undefined;
  protected closing = false;
  /** After close()'s deadline: late errors of abandoned packets count as dropped, not failed. */
  protected abandoned = false;
  private flushScheduled = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private drainWaiter: (() => void) | undefined;
  protected readonly backoffInitialMs: number;
  protected readonly backoffMaxMs: number;
  protected connectFailures = 0;
  /** True once a connection was lost or never made: the next successful connect reports 'up'. */
  private wasDown = false;
  private roomWaiters: Array<() => void> = [];
  private readonly stallMs: number;
  /** Quiet time after which a stalled connection is dropped and made anew; 0 = never. */
  private readonly stallTimeoutMs: number;
  /** performance.now() of the last packet handed over, or of the moment messages began to wait. */
  private progressAt = 0;
  private stalled = false;
  private stallTimer: NodeJS.Timeout | undefined;
  private settleWaiters: Array<() => void> = [];
  protected readonly onEvent: (e: HepCollectorEvent) => void;
  private readonly flushBound = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  constructor(
    readonly config: HepCollectorConfig,
    tuning: HepTransportTuning,
  ) {
    if (!Number.isInteger(config.port) || config.port < 1 || config.port > 65535) {
      throw new RangeError(`collector port must be 1..65535, got ${config.port}`);
    }
    this.name = config.name ?? `${config.transport}://${config.host}:${config.port}`;
    this.queue = new BoundedPacketQueue(config.queueSize ?? 1000, config.queueBytes);
    this.backoffInitialMs = tuning.backoffInitialMs ?? 250;
    this.backoffMaxMs = tuning.backoffMaxMs ?? 30_000;
    this.onEvent = tuning.onEvent ?? (() => {});
    this.stallMs = tuning.stallMs ?? 5000;
    this.stallTimeoutMs = config.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  }

  /** The address to connect to: `host` itself when it is an IP, else resolved now (asynchronously, never throws). */
  protected async resolve(): Promise<string | undefined> {
    const host = this.config.host;
    if (net.isIP(host) !== 0) return host;
    try {
      return await this.lookupHost();
    } catch (err) {
      this.onConnectFailed((err as Error).message);
      return undefined;
    }
  }

  /** The collector's name resolved now (config.lookup, else the system resolver); rejects with 'cannot resolve HOST: CODE'. */
  protected async lookupHost(): Promise<string> {
    const host = this.config.host;
    try {
      return await (this.config.lookup ?? systemLookup)(host);
    } catch (err) {
      throw new Error(`cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  /** Connect, resolve or TLS failure before a connection was up: counted, logged, retried with backoff. */
  protected onConnectFailed(reason: string): void {
    this.connectFailures++;
    this.wasDown = true;
    this.onEvent({ collector: this.name, kind: 'down', reason });
    this.onDisconnected(reason);
  }

  /** Resolves once the queue is below half its capacity, or the collector is down or stalled (immediately: null). */
  room(): Promise<void> | null {
    // A collector that is down or stalled takes nothing however long one waits: its queue drops the oldest instead.
    if (this.queue.size < this.queue.capacity / 2 || this.abandoned || !this.connected || this.stalled) return null;
    this.watchProgress();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /**
   * While messages wait on a connection, a timer checks that the collector takes them: one that takes
   * nothing for stallMs is stalled, and after stallTimeoutMs its connection is dropped and made anew. It
   * runs once per step, only while there is something to take.
   */
  private watchProgress(): void {
    if (this.stallTimer !== undefined || this.stalled || !this.connected || this.abandoned) return;
    this.progressAt = performance.now();
    this.armStallTimer(this.nextStallStep()!);
  }

  /** The quiet time at which the next step is due (reported stalled, then dropped); undefined: none. */
  private nextStallStep(): number | undefined {
    if (this.stalled) return this.stallTimeoutMs > 0 ? this.stallTimeoutMs : undefined;
    return this.stallTimeoutMs > 0 ? Math.min(this.stallMs, this.stallTimeoutMs) : this.stallMs;
  }

  private watchingNeeded(): boolean {
    return this.connected && !this.abandoned && (this.queue.size > 0 || this.inFlight > 0);
  }

  private armStallTimer(ms: number): void {
    this.stallTimer = setTimeout(() => {
      const step = this.nextStallStep();
      const quiet = performance.now() - this.progressAt;
      if (!this.watchingNeeded() || step === undefined) this.stallTimer = undefined;
      else if (quiet < step) this.armStallTimer(step - quiet);
      // A timer late behind a busy event loop runs before the write callbacks that came meanwhile: judge
      // once they have run (setImmediate follows the I/O callbacks of this loop turn). The timer counts as
      // armed until then, so an enqueue meanwhile does not start another.
      else setImmediate(() => this.judgeStall());
    }, Math.max(1, Math.ceil(ms)));
    this.stallTimer.unref();
  }

  private judgeStall(): void {
    this.stallTimer = undefined;
    this.refreshProgress();
    if (!this.watchingNeeded()) return;
    const quiet = performance.now() - this.progressAt;
    if (!this.stalled && quiet >= this.stallMs) {
      this.stalled = true;
      this.lastError = `connected, but the collector has taken nothing for ${Math.round(quiet / 1000)} s (it does not read)`;
      this.onEvent({ collector: this.name, kind: 'stalled', reason: this.lastError });
      this.wakeRoomWaiters();
    }
    if (this.stallTimeoutMs > 0 && quiet >= this.stallTimeoutMs) {
      // What the dropped connection holds is handled as a lost connection's is (TCP/TLS: it goes again).
      return this.dropConnection(`the collector has taken nothing for ${Math.round(quiet / 1000)} s: connection dropped to reconnect`);
    }
    const step = this.nextStallStep();
    if (step !== undefined) this.armStallTimer(step - quiet);
  }

  /** Ends a connection that takes nothing: lost as one the collector broke, then reconnected. */
  protected dropConnection(reason: string): void {
    this.destroySocket();
    this.onConnectionLost(reason);
  }

  /**
   * Resolves once everything queued has been handed over, or at once while the collector is down (nothing
   * would move). A replay awaits it at the end of its input, so the shutdown deadline only bounds a stop.
   */
  settled(): Promise<void> | null {
    if ((this.queue.size === 0 && this.inFlight === 0) || !this.connected || this.abandoned) return null;
    const p = new Promise<void>((resolve) => this.settleWaiters.push(resolve));
    this.hurryAcks();
    return p;
  }

  /** Something waits for queue and in-flight messages to end (settled(), close()). */
  protected awaitsEnd(): boolean {
    return this.settleWaiters.length > 0 || this.drainWaiter !== undefined;
  }

  /** Acknowledgements are awaited (awaitsEnd()): look for them soon. */
  protected hurryAcks(): void {}

  /** Before a stall is judged: take in the latest word on what the collector took. */
  protected refreshProgress(): void {}

  private wakeSettleWaiters(): void {
    if (this.settleWaiters.length === 0 || (this.connected && (this.queue.size > 0 || this.inFlight > 0))) return;
    const w = this.settleWaiters;
    this.settleWaiters = [];
    for (const f of w) f();
  }

  private wakeRoomWaiters(): void {
    if (this.roomWaiters.length === 0 || (this.connected && !this.stalled && this.queue.size >= this.queue.capacity / 2)) return;
    const w = this.roomWaiters;
    this.roomWaiters = [];
    for (const f of w) f();
  }

  /** O(1), synchronous, never throws, never waits for the socket. After close() began: counted as dropped. */
  enqueue(packet: Buffer): void {
    if (this.closing) {
      this.dropped++;
      return;
    }
    const evicted = this.queue.push(packet);
    if (evicted > 0) {
      this.dropped += evicted;
      this.onEvent({ collector: this.name, kind: 'dropped', reason: this.connected ? 'queue full: the collector takes reports slower than they are made' : `queue full while the collector is down (${this.lastError ?? 'not connected'})` });
    }
    this.scheduleFlush();
    this.watchProgress();
  }

  stats(): HepCollectorStats {
    return {
      name: this.name,
      transport: this.config.transport,
      sent: this.sent,
      failed: this.failed,
      dropped: this.dropped,
      queued: this.queue.size,
      inFlight: this.inFlight,
      notTaken: this.queue.size + this.inFlightNotTaken(),
      connected: this.connected,
      stalled: this.stalled,
      reconnects: this.reconnects,
      lastError: this.lastError,
      connectFailures: this.connectFailures,
    };
  }

  private resolving = false;

  /** Resolves the collector's name (never blocking, never throwing), then opens the socket. */
  start(): void {
    if (this.hasSocket() || this.abandoned || this.resolving) return;
    this.resolving = true;
    void this.resolve().then((address) => {
      this.resolving = false;
      if (address !== undefined && !this.abandoned) this.connect(address);
    });
  }

  /** In-flight messages the kernel has not taken whole (see HepCollectorStats.notTaken). */
  protected inFlightNotTaken(): number {
    return this.inFlight;
  }

  protected abstract hasSocket(): boolean;
  protected abstract connect(address: string): void;
  protected abstract flush(): void;
  /** Ends the socket gracefully once drained (TCP FIN after the last byte). */
  protected abstract endGracefully(): Promise<void>;
  protected abstract destroySocket(): void;

  protected scheduleFlush(): void {
    if (this.flushScheduled || !this.connected) return;
    this.flushScheduled = true;
    setImmediate(this.flushBound);
  }

  protected onPacketDone(err: Error | null | undefined): void {
    if (!err) return this.onTaken(1);
    this.inFlight--;
    this.progressAt = performance.now();
    if (this.abandoned) this.dropped++;
    else {
      this.failed++;
      this.onEvent({ collector: this.name, kind: 'failed', reason: err.message });
    }
    this.lastError = err.message;
    this.afterInFlightEnded();
  }

  /** `n` in-flight messages were taken (TCP/TLS: acknowledged): sent. */
  protected onTaken(n: number): void {
    if (n === 0) return;
    this.inFlight -= n;
    this.sent += n;
    this.markProgress();
    this.afterInFlightEnded();
  }

  /** The collector took something: the stall clock starts over, and a stall ends. */
  protected markProgress(): void {
    this.progressAt = performance.now();
    // Only a message taken ends a stall: a dropped connection hands its messages back on the way down.
    if (this.stalled) {
      this.stalled = false;
      this.onEvent({ collector: this.name, kind: 'up', reason: 'taking data again' });
    }
  }

  /**
   * In-flight messages (oldest first) of a connection that is gone, not acknowledged: put back ahead of
   * the queue, to go first on the next connection, as far as the queue's bounds allow (the oldest beyond
   * them count dropped); after close() gave up on them, dropped.
   */
  protected handBack(messages: readonly Buffer[]): void {
    if (messages.length === 0) return;
    this.inFlight -= messages.length;
    const lost = this.abandoned ? messages.length : this.queue.requeue(messages);
    if (lost > 0) {
      this.dropped += lost;
      if (!this.abandoned) this.onEvent({ collector: this.name, kind: 'dropped', reason: `queue full: ${lost} unacknowledged messages of a lost connection not sent again` });
    }
    this.afterInFlightEnded();
  }

  private afterInFlightEnded(): void {
    this.afterWritten();
    this.wakeSettleWaiters();
    this.checkDrained();
  }

  /** The kernel took a message (acknowledged or not): room for more. */
  protected afterWritten(): void {
    if (this.queue.size > 0) this.scheduleFlush();
    this.wakeRoomWaiters();
  }

  protected onConnected(): void {
    this.connected = true;
    this.stalled = false;
    this.scheduleFlush();
    if (this.queue.size > 0) this.watchProgress();
    if (!this.confirmsLater()) this.confirmUp();
  }

  /** True when a connection is believed only later: UDP after a refusal once data went through, TCP/TLS once it has held. */
  protected confirmsLater(): boolean {
    return false;
  }

  /** The collector takes data: the backoff starts over, and the end of an outage is reported. */
  protected confirmUp(): void {
    this.attempt = 0;
    if (this.wasDown) this.onEvent({ collector: this.name, kind: 'up', reason: 'connected' });
    this.wasDown = false;
  }

  /** An established connection broke. */
  protected onConnectionLost(reason: string): void {
    this.wasDown = true;
    this.connectFailures++;
    this.onEvent({ collector: this.name, kind: 'down', reason });
    this.onDisconnected(reason);
  }

  protected onDisconnected(err: string | undefined): void {
    this.connected = false;
    this.stalled = false;
    if (err !== undefined) this.lastError = err;
    this.wakeRoomWaiters();
    this.wakeSettleWaiters();
    if (this.abandoned) return;
    this.reconnects++;
    const delay = backoffDelayMs(this.attempt++, this.backoffInitialMs, this.backoffMaxMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.abandoned) this.start();
    }, delay);
    // The probe's sockets and timers keep the process alive, not a retry loop towards a dead collector.
    this.reconnectTimer.unref();
  }

  protected checkDrained(): void {
    if (this.drainWaiter !== undefined && this.queue.size === 0 && this.inFlight === 0) {
      const w = this.drainWaiter;
      this.drainWaiter = undefined;
      w();
    }
  }

  /** Drains within `deadlineMs`; what is still queued then is counted as dropped and the socket destroyed. */
  async close(deadlineMs: number): Promise<void> {
    this.closing = true;
    // A collector waiting out its backoff (up to backoffMaxMs) may be back by now: try it at once, so what
    // queued during an outage is not dropped at a stop only because the next attempt was due later.
    if (this.reconnectTimer !== undefined) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
      this.start();
    }
    const drained = new Promise<void>((resolve) => {
      this.drainWaiter = resolve;
      this.checkDrained();
    });
    this.hurryAcks();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), Math.max(0, deadlineMs));
    });
    const first = await Promise.race([drained.then(() => 'drained' as const), deadline]);
    if (first === 'drained') {
      const ended = await Promise.race([this.endGracefully().then(() => 'ended' as const), deadline]);
      if (ended === 'ended') {
        clearTimeout(timer);
        this.finish();
        return;
      }
    }
    clearTimeout(timer);
    this.abandoned = true;
    this.dropped += this.queue.clear();
    this.finish();
  }

  private finish(): void {
    this.abandoned = true;
    this.drainWaiter = undefined;
    const w = [...this.roomWaiters, ...this.settleWaiters];
    this.roomWaiters = [];
    this.settleWaiters = [];
    for (const f of w) f();
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.stallTimer !== undefined) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    this.destroySocket();
    this.connected = false;
  }
}

/**
 * How long a TLS 1.3 connection waits for the server's first session ticket (its word that it accepted the
 * client) before it is taken as accepted: a server refuses within a round trip, and one that sends no
 * ticket only delays its first write by this much.
 */
const TLS13_ACCEPT_WAIT_MS = 1000;

/**
 * A TCP/TLS connection is believed (the backoff starts over, the end of an outage is told) once it has held
 * this long: a collector that resets every connection it accepts (a balancer without backends) is not
 * reachable, and retrying it at the initial backoff would connect and log 'up' several times a second.
 */
const CONNECTION_HOLDS_MS = 1000;

/** The process has said once that acknowledgements cannot be watched here. */
let toldNoAcks = false;

/**
 * HEP over TCP or TLS: packets written back to back, framed by their own total-length field.
 *
 * A message counts sent once the collector's TCP acknowledged it: HEP has no acknowledgements of its own,
 * and a collector gone without a word (a blackhole: no reset, no FIN) would otherwise have the kernel take
 * every report into its send buffer, each one counted sent and lost, until the buffer is full (minutes at
 * a low report rate). The kernel's unacknowledged byte count (tx_queue, read for all connections at once
 * about once a second while some wait: tx-queue.ts) says which messages were acknowledged, and a connection
 * whose acknowledgements do not advance for stallMs is stalled at any rate. The messages a lost connection
 * (stall timeout, reset, error) had not seen acknowledged go again on the next one, ahead of newer ones
 * (at least once: a receiver that got them before the loss gets them twice; HOMER stores each copy), as
 * far as the queue's bounds allow: counting them failed would lose reports a new connection delivers at
 * once. Where the counts cannot be read (not Linux, /proc hidden) a message counts sent once the kernel
 * takes it, as a write callback says, and that is said once in the log.
 */
export class HepStreamCollector extends HepCollector implements AckWatcher {
  private socket: net.Socket | undefined;
  private waitingDrain = false;
  private readonly connectTimeoutMs: number;
  /**
   * TLS: CA, certificate and key made into a context once, here: files Node cannot use throw from the
   * constructor (the output is not opened), not from a connect later, where nothing could catch it.
   */
  private readonly secureContext: tls.SecureContext | undefined;
  /** The socket close() is ending: its closing is the probe's doing. */
  private endedSocket: net.Socket | undefined;
  /** The current socket's messages written and not yet acknowledged, in write order (set by connect). */
  private ledger = new WriteLedger();
  /** The current socket's write callback (set by connect, with `ledger`). */
  private onWriteDone!: (err: Error | null | undefined) => void;
  /** The current connection's line in /proc/net/tcp(6); undefined: acknowledgements are not watched (write callbacks count). */
  private lineKey: TcpLineKey | undefined;
  /** In ackPoller's set (the connection has messages the kernel took and the peer has not acknowledged). */
  private ackWatched = false;
  /** At the last reading: TCP, the stream bytes acknowledged; TLS, plaintext taken and tx_queue. */
  private ackedBytes = 0;
  private tlsTaken = 0;
  private tlsTxQueue = 0;
  /**
   * At beforeTcpTables: the ledger then, and what the kernel had certainly taken (TCP: stream bytes
   * written less those libuv and the stream held; TLS: plaintext called back). A reading finished later
   * is judged against these: bytes written meanwhile are in its tx_queue or not, so counting them would
   * take unacknowledged messages for acknowledged ones.
   */
  private snapLedger: WriteLedger | undefined;
  private snapTaken = 0;
  private readonly unackedBound = unackedBytesBound();

  constructor(config: HepCollectorConfig, tuning: HepTransportTuning) {
    super(config, tuning);
    this.connectTimeoutMs = tuning.connectTimeoutMs ?? 5000;
    if (config.transport === 'tls') this.secureContext = tlsContext(this.name, config.tls ?? {});
  }

  protected hasSocket(): boolean {
    return this.socket !== undefined;
  }

  /** A connection is believed once it has held CONNECTION_HOLDS_MS (see connect). */
  protected override confirmsLater(): boolean {
    return true;
  }

  protected connect(address: string): void {
    const c = this.config;
    let s: net.Socket;
    const readyEvent = c.transport === 'tls' ? 'secureConnect' : 'connect';
    if (c.transport === 'tls') {
      const t = c.tls ?? {};
      const opts: tls.ConnectionOptions = {
        host: address,
        port: c.port,
        rejectUnauthorized: t.rejectUnauthorized ?? true,
        secureContext: this.secureContext,
      };
      // The certificate is checked against the configured name, not the address it resolved to. SNI must
      // not be an IP address (RFC 6066); leave it unset then.
      const sni = t.servername ?? (net.isIP(c.host) === 0 ? c.host : undefined);
      if (sni !== undefined) opts.servername = sni;
      else opts.checkServerIdentity = (_name, cert) => tlsModule().checkServerIdentity(c.host, cert);
      s = tlsModule().connect(opts);
    } else {
      s = net.connect({ host: address, port: c.port });
    }
    this.socket = s;
    this.waitingDrain = false;
    // Callbacks come in write order per socket; a lost socket's late callbacks never touch the next one's.
    const ledger = new WriteLedger();
    this.ledger = ledger;
    this.lineKey = undefined;
    this.stopAckWatch();
    this.onWriteDone = (err) => {
      if (ledger.closed) return;
      ledger.calledBack();
      // An error ends the socket: its close hands back what was not acknowledged.
      if (err) return;
      if (this.lineKey === undefined) return this.onTaken(ledger.ackCalledBack());
      if (!this.ackWatched) {
        this.ackWatched = true;
        ackPoller.watch(this);
      }
      // Followed by more than a connection holds unacknowledged: acknowledged. At a high rate the messages
      // kept stay a few MB, without reading /proc/net/tcp (a walk of the kernel's whole table) more often.
      const surely = ledger.ackThrough(ledger.calledBackBytes - this.unackedBound);
      if (surely > 0) this.onTaken(surely);
      else this.afterWritten();
    };
    let errMsg: string | undefined;
    let up = false;
    const connectTimer = setTimeout(() => s.destroy(new Error(`connect timeout after ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
    let acceptWait: NodeJS.Timeout | undefined;
    let holds: NodeJS.Timeout | undefined;
    const ready = (): void => {
      if (up || s.destroyed) return;
      clearTimeout(connectTimer);
      clearTimeout(acceptWait);
      up = true;
      this.watchAcks(s);
      this.onConnected();
      holds = setTimeout(() => {
        if (this.socket === s && this.connected) this.confirmUp();
      }, CONNECTION_HOLDS_MS);
      holds.unref();
    };
    s.once(readyEvent, () => {
      s.setNoDelay(true);
      s.setKeepAlive(true, 10_000);
      if (c.transport === 'tls' && (s as tls.TLSSocket).getProtocol() === 'TLSv1.3') {
        // TLS 1.3 ends the client's side of the handshake before the server has checked it: a server that
        // refuses the client (no certificate, or one it does not trust) says so in an alert after this, and
        // what was written meanwhile is lost though the kernel took it. Its first session ticket says it
        // accepted the client; a server that sends none is taken as accepting after TLS13_ACCEPT_WAIT_MS.
        s.once('session', ready);
        acceptWait = setTimeout(ready, TLS13_ACCEPT_WAIT_MS);
        return;
      }
      ready();
    });
    s.on('drain', () => {
      this.waitingDrain = false;
      this.scheduleFlush();
    });
    // HEP receivers do not answer; read and discard so the socket never stalls on its read side.
    s.on('data', () => {});
    s.on('error', (e: NodeJS.ErrnoException) => {
      const message = e.message.trim();
      errMsg = e.code && !message.includes(e.code) ? `${e.code}: ${message}` : message;
    });
    s.on('close', () => {
      clearTimeout(connectTimer);
      clearTimeout(acceptWait);
      clearTimeout(holds);
      this.handBackLedger(ledger);
      if (this.socket === s) this.socket = undefined;
      this.waitingDrain = false;
      // Closed by close() (abandoned), or the end of the graceful end close() began: not an outage.
      if (this.abandoned || this.endedSocket === s) return;
      const reason = errMsg ?? 'connection closed by the collector';
      if (up) this.onConnectionLost(reason);
      else this.onConnectFailed(c.transport === 'tls' && errMsg !== undefined ? `TLS: ${reason}` : reason);
    });
  }

  protected flush(): void {
    const s = this.socket;
    // A socket dropped as stalled stays current until its close: what is queued waits for the next one.
    if (s === undefined || !this.connected || s.destroyed) return;
    while (!this.waitingDrain && this.queue.size > 0) {
      const b = this.queue.shift()!;
      this.inFlight++;
      this.ledger.push(b);
      if (!s.write(b, this.onWriteDone)) this.waitingDrain = true;
    }
  }

  /**
   * Plain TCP: the bytes the kernel has not taken are libuv's unwritten rest of the current write plus what
   * the stream still buffers; the messages they belong to are the newest ones. TLS encrypts in between (the
   * byte counts do not compare): every message not called back counts there.
   */
  protected override inFlightNotTaken(): number {
    const s = this.socket;
    const pending = s === undefined || this.config.transport === 'tls' ? undefined : socketPendingBytes(s);
    return pending === undefined ? this.ledger.notCalledBack : this.ledger.newestCovering(pending);
  }

  /** A connection just up: its line in the kernel's table, or (unreadable, not listed) write callbacks count. */
  private watchAcks(s: net.Socket): void {
    const key = tcpLineKey(s);
    const txq = key === undefined ? undefined : new TcpTables().txQueue(key);
    if (typeof txq !== 'number') return this.ackWatchUnavailable(txq instanceof Error ? txq.message : 'the connection is not listed in /proc/net/tcp');
    this.lineKey = key;
    this.ackedBytes = 0;
    this.tlsTaken = 0;
    this.tlsTxQueue = txq;
  }

  private ackWatchUnavailable(why: string): void {
    this.lineKey = undefined;
    this.stopAckWatch();
    this.onTaken(this.ledger.ackCalledBack());
    if (toldNoAcks) return;
    toldNoAcks = true;
    this.onEvent({
      collector: this.name,
      kind: 'notice',
      reason: `the kernel's unacknowledged byte counts cannot be read (${why}): a HEP TCP/TLS message counts sent once the kernel takes it, and a collector gone without a word is noticed only once the send buffer is full`,
    });
  }

  private stopAckWatch(): void {
    if (!this.ackWatched) return;
    this.ackWatched = false;
    ackPoller.unwatch(this);
  }

  awaitsAcks(): boolean {
    return this.awaitsEnd();
  }

  protected override hurryAcks(): void {
    if (this.ackWatched) ackPoller.watch(this);
  }

  protected override refreshProgress(): void {
    // Also with nothing called back: a large write the kernel takes slowly still shows acknowledgements.
    if (this.beforeTcpTables() !== undefined) this.onTcpTables(new TcpTables());
  }

  beforeTcpTables(): TcpLineKey | undefined {
    const s = this.socket;
    const ledger = this.ledger;
    if (s === undefined || this.lineKey === undefined || ledger.closed) return undefined;
    this.snapLedger = ledger;
    this.snapTaken = this.config.transport === 'tls' ? ledger.calledBackBytes : ledger.written - (socketPendingBytes(s) ?? ledger.written - ledger.calledBackBytes);
    return this.lineKey;
  }

  /**
   * A reading of tx_queue, begun at beforeTcpTables. TCP: the stream bytes acknowledged are those the
   * kernel had taken then less tx_queue. TLS: the kernel counts ciphertext, which is never shorter than its
   * plaintext, so more plaintext taken since the last reading than tx_queue grew means something was
   * acknowledged (progress); which messages is known when tx_queue is 0 (all those taken), or by
   * unackedBytesBound (on a busy connection whose tx_queue never reaches 0).
   */
  onTcpTables(tables: TcpTables): void {
    const s = this.socket;
    const key = this.lineKey;
    const ledger = this.ledger;
    if (s === undefined || key === undefined || ledger.closed) return this.stopAckWatch();
    if (this.snapLedger !== ledger) return; // read for a connection since gone
    const txq = tables.txQueue(key);
    if (typeof txq !== 'number') return this.ackWatchUnavailable(txq instanceof Error ? txq.message : 'the connection is no longer listed in /proc/net/tcp');

    let acked: number;
    const taken = this.snapTaken;
    if (this.config.transport === 'tls') {
      if (txq === 0 || taken - this.tlsTaken > txq - this.tlsTxQueue) this.markProgress();
      this.tlsTaken = taken;
      this.tlsTxQueue = txq;
      acked = txq === 0 ? ledger.ackThrough(taken) : 0;
    } else {
      const bytes = taken - txq;
      if (bytes > this.ackedBytes) {
        this.ackedBytes = bytes;
        this.markProgress();
      }
      acked = ledger.ackThrough(bytes);
    }
    this.onTaken(acked);
    if (ledger.calledBackUnacked === 0) this.stopAckWatch();
  }

  /** A socket that is gone hands back what it had not seen acknowledged (once; late callbacks change nothing). */
  private handBackLedger(ledger: WriteLedger): void {
    if (ledger.closed) return;
    if (ledger === this.ledger) this.stopAckWatch();
    this.handBack(ledger.close());
  }

  protected endGracefully(): Promise<void> {
    const s = this.socket;
    if (s === undefined || s.destroyed) return Promise.resolve();
    this.endedSocket = s;
    return new Promise((resolve) => {
      s.once('close', () => resolve());
      s.end();
    });
  }

  protected destroySocket(): void {
    this.socket?.destroy();
    this.handBackLedger(this.ledger);
  }

  /** The socket's close reports the loss with `reason`; what it had not seen acknowledged goes again. */
  protected override dropConnection(reason: string): void {
    const s = this.socket;
    if (s === undefined) return;
    s.destroy(new Error(reason));
    this.handBackLedger(this.ledger);
  }
}

/**
 * Bytes written to a net.Socket that the kernel has not taken: libuv's queue (`writeQueueSize` of the
 * handle, as Node's own stream code reads it) plus the chunks the stream buffers behind it. Undefined when
 * this Node does not expose them.
 */
function socketPendingBytes(s: net.Socket): number | undefined {
  const inLibuv = (s as unknown as { _handle?: { writeQueueSize?: unknown } })._handle?.writeQueueSize;
  const buffered = (s as unknown as { writableBuffer?: Array<{ chunk: { length: number } }> }).writableBuffer;
  if (typeof inLibuv !== 'number' || !Array.isArray(buffered)) return undefined;
  let bytes = inLibuv;
  for (const b of buffered) bytes += b.chunk.length;
  return bytes;
}

/**
 * How long a first datagram after a refusal waits for a second ICMP port unreachable before the receiver
 * counts as back (on a LAN the reply comes within a millisecond or so).
 */
const UDP_PROBE_MS = 250;

/**
 * HEP over UDP: one datagram per packet on a connected socket, so ICMP unreachable surfaces as send errors.
 * A refusal (nothing listens on the collector's port) makes the collector down, as a lost TCP connection
 * does: the queue waits, the socket is reopened with backoff, and then one datagram goes first; the rest
 * follow once UDP_PROBE_MS passed without another refusal. Each refusal loses the datagram it answers
 * (counted failed); datagrams sent before it arrives are lost without a word, which only TCP would tell.
 */
export class HepUdpCollector extends HepCollector {
  private socket: dgram.Socket | undefined;
  /** The receiver refused datagrams and has not taken one since: one datagram at a time, UDP_PROBE_MS apart. */
  private refused = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private readonly maxInFlight: number;
  /** Token bucket: datagrams that may leave now, refilled at maxRate per second up to maxInFlight. */
  private readonly maxRate: number;
  private tokens: number;
  private tokensAt = 0;
  private paceTimer: NodeJS.Timeout | undefined;
  private readonly onSendDone = (err: Error | null): void => this.onPacketDone(err);
  /** The address the socket sends to. */
  private address: string | undefined;
  private resolveTimer: NodeJS.Timeout | undefined;
  private resolvingAgain = false;
  /** The name resolved to this new address: sending pauses until the datagrams in flight are done, then moves. */
  private movingTo: string | undefined;
  private readonly paceBound = (): void => {
    this.paceTimer = undefined;
    this.flush();
  };

  constructor(config: HepCollectorConfig, tuning: HepTransportTuning) {
    super(config, tuning);
    this.maxInFlight = tuning.udpMaxInFlight ?? 64;
    this.maxRate = tuning.udpMaxRate ?? 10_000;
    this.tokens = this.maxInFlight;
  }

  protected hasSocket(): boolean {
    return this.socket !== undefined;
  }

  protected connect(address: string): void {
    const s = dgramModule().createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
    this.socket = s;
    this.address = address;
    this.watchName();
    s.on('error', (e: NodeJS.ErrnoException) => {
      this.lastError = e.message;
      if (this.connected && e.code === 'ECONNREFUSED') {
        // ICMP port unreachable for an earlier datagram: Node reports it as a socket error while that
        // datagram's send callback already said success. Reclassify one sent datagram as failed, so
        // sent + failed + dropped + queued + inFlight still equals what was enqueued.
        if (this.sent > 0) this.sent--;
        this.failed++;
        const reason = 'ICMP port unreachable: nothing listens on the collector port';
        this.onEvent({ collector: this.name, kind: 'failed', reason });
        if (this.socket === s) {
          this.refused = true;
          this.destroySocket();
          this.onConnectionLost(reason);
        }
        return;
      }
      if (!this.connected && this.socket === s) {
        this.socket = undefined;
        s.close();
        this.onConnectFailed(e.message);
      }
    });
    s.connect(this.config.port, address, () => {
      if (this.socket === s) this.onConnected();
    });
  }

  protected override confirmsLater(): boolean {
    return this.refused;
  }

  /** A collector given by name: resolved again every resolveIntervalMs (a timer that keeps no process alive). */
  private watchName(): void {
    const every = this.config.resolveIntervalMs ?? DEFAULT_UDP_RESOLVE_INTERVAL_MS;
    if (every <= 0 || this.resolveTimer !== undefined || net.isIP(this.config.host) !== 0) return;
    this.resolveTimer = setInterval(() => void this.resolveAgain(), every);
    this.resolveTimer.unref();
  }

  private async resolveAgain(): Promise<void> {
    if (this.abandoned) {
      clearInterval(this.resolveTimer);
      return;
    }
    if (this.resolvingAgain || this.socket === undefined || this.movingTo !== undefined) return;
    const host = this.config.host;
    this.resolvingAgain = true;
    let next: string;
    try {
      next = await this.lookupHost();
    } catch (err) {
      this.connectFailures++;
      this.lastError = (err as Error).message;
      this.onEvent({ collector: this.name, kind: 'unresolved', reason: `${this.lastError}; still sending to ${this.address}` });
      return;
    } finally {
      this.resolvingAgain = false;
    }
    if (next === this.address || this.socket === undefined || this.abandoned) return;
    this.onEvent({ collector: this.name, kind: 'moved', reason: `${host} resolves to ${next} (was ${this.address}): sending there` });
    this.movingTo = next;
    if (this.inFlight === 0) this.move();
  }

  /** Datagrams in flight went out on the old socket: the new address gets a socket of its own. */
  private move(): void {
    const next = this.movingTo!;
    this.movingTo = undefined;
    this.destroySocket();
    this.connected = false;
    this.connect(next);
  }

  protected override afterWritten(): void {
    if (this.movingTo !== undefined && this.inFlight === 0) this.move();
    super.afterWritten();
  }

  protected flush(): void {
    const s = this.socket;
    if (s === undefined || !this.connected || this.movingTo !== undefined) return;
    if (this.refused) {
      // After a refusal one datagram goes first; no refusal within UDP_PROBE_MS: the receiver is back.
      if (this.probeTimer !== undefined || this.inFlight > 0 || this.queue.size === 0) return;
      this.inFlight++;
      s.send(this.queue.shift()!, this.onSendDone);
      this.probeTimer = setTimeout(() => {
        this.probeTimer = undefined;
        if (this.socket !== s || !this.refused) return;
        this.refused = false;
        this.confirmUp();
        this.scheduleFlush();
      }, UDP_PROBE_MS);
      this.probeTimer.unref();
      return;
    }
    if (this.maxRate > 0) {
      const now = performance.now();
      this.tokens = Math.min(this.maxInFlight, this.tokens + ((now - this.tokensAt) * this.maxRate) / 1000);
      this.tokensAt = now;
    } else {
      this.tokens = this.maxInFlight;
    }
    while (this.inFlight < this.maxInFlight && this.tokens >= 1 && this.queue.size > 0) {
      const b = this.queue.shift()!;
      this.inFlight++;
      this.tokens--;
      s.send(b, this.onSendDone);
    }
    // Out of tokens with work left: come back when the next datagrams may leave.
    if (this.queue.size > 0 && this.tokens < 1 && this.paceTimer === undefined && !this.abandoned) {
      this.paceTimer = setTimeout(this.paceBound, Math.max(1, Math.ceil((1000 * (1 - this.tokens)) / this.maxRate)));
    }
  }

  protected endGracefully(): Promise<void> {
    return Promise.resolve();
  }

  protected destroySocket(): void {
    if (this.abandoned) clearInterval(this.resolveTimer);
    if (this.paceTimer !== undefined) clearTimeout(this.paceTimer);
    this.paceTimer = undefined;
    if (this.probeTimer !== undefined) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    const s = this.socket;
    this.socket = undefined;
    if (s !== undefined) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
  }
}
