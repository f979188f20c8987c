import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { BoundedPacketQueue, backoffDelayMs } from './queue.js';

export type HepTransport = 'udp' | 'tcp' | 'tls';

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
  /** Label in stats/logs; default `transport://host:port`. */
  name?: string;
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
}

export interface HepCollectorStats {
  name: string;
  transport: HepTransport;
  /**
   * Handed to the kernel (TCP/TLS: write callback without error; UDP: send callback without error, minus
   * datagrams later reported unreachable by ICMP, which move to `failed`). Invariant per collector:
   * enqueued = sent + failed + dropped + queued + inFlight.
   */
  sent: number;
  /** Write/send errors: connection lost with the packet in flight, ICMP unreachable, EMSGSIZE... */
  failed: number;
  /** Evicted from the full queue (oldest first), sent after close(), or abandoned at close's deadline. */
  dropped: number;
  queued: number;
  inFlight: number;
  connected: boolean;
  /** Reconnect attempts scheduled after a failure or a lost connection. */
  reconnects: number;
  lastError: string | undefined;
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
    this.queue = new BoundedPacketQueue(config.queueSize ?? 1000);
    this.backoffInitialMs = tuning.backoffInitialMs ?? 250;
    this.backoffMaxMs = tuning.backoffMaxMs ?? 30_000;
  }

  /** O(1), synchronous, never throws, never waits for the socket. After close() began: counted as dropped. */
  enqueue(packet: Buffer): void {
    if (this.closing) {
      this.dropped++;
      return;
    }
    this.dropped += this.queue.push(packet);
    this.scheduleFlush();
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
      connected: this.connected,
      reconnects: this.reconnects,
      lastError: this.lastError,
    };
  }

  abstract start(): void;
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
    this.inFlight--;
    if (err) {
      if (this.abandoned) this.dropped++;
      else this.failed++;
      this.lastError = err.message;
    } else {
      this.sent++;
    }
    if (this.queue.size > 0) this.scheduleFlush();
    this.checkDrained();
  }

  protected onConnected(): void {
    this.connected = true;
    this.attempt = 0;
    this.scheduleFlush();
  }

  protected onDisconnected(err: string | undefined): void {
    this.connected = false;
    if (err !== undefined) this.lastError = err;
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
    const drained = new Promise<void>((resolve) => {
      this.drainWaiter = resolve;
      this.checkDrained();
    });
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
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.destroySocket();
    this.connected = false;
  }
}

/** HEP over TCP or TLS: packets written back to back, framed by their own total-length field. */
export class HepStreamCollector extends HepCollector {
  private socket: net.Socket | undefined;
  private waitingDrain = false;
  private readonly connectTimeoutMs: number;
  private readonly onWriteDone = (err: Error | null | undefined): void => this.onPacketDone(err);

  constructor(config: HepCollectorConfig, tuning: HepTransportTuning) {
    super(config, tuning);
    this.connectTimeoutMs = tuning.connectTimeoutMs ?? 5000;
  }

  start(): void {
    if (this.socket !== undefined || this.abandoned) return;
    const c = this.config;
    let s: net.Socket;
    const readyEvent = c.transport === 'tls' ? 'secureConnect' : 'connect';
    if (c.transport === 'tls') {
      const t = c.tls ?? {};
      const opts: tls.ConnectionOptions = {
        host: c.host,
        port: c.port,
        rejectUnauthorized: t.rejectUnauthorized ?? true,
      };
      if (t.ca !== undefined) opts.ca = t.ca;
      if (t.cert !== undefined) opts.cert = t.cert;
      if (t.key !== undefined) opts.key = t.key;
      // SNI must not be an IP address (RFC 6066); leave it unset then.
      const sni = t.servername ?? (net.isIP(c.host) === 0 ? c.host : undefined);
      if (sni !== undefined) opts.servername = sni;
      s = tls.connect(opts);
    } else {
      s = net.connect({ host: c.host, port: c.port });
    }
    this.socket = s;
    this.waitingDrain = false;
    let errMsg: string | undefined;
    const connectTimer = setTimeout(() => s.destroy(new Error(`connect timeout after ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
    s.once(readyEvent, () => {
      clearTimeout(connectTimer);
      s.setNoDelay(true);
      s.setKeepAlive(true, 10_000);
      this.onConnected();
    });
    s.on('drain', () => {
      this.waitingDrain = false;
      this.scheduleFlush();
    });
    // HEP receivers do not answer; read and discard so the socket never stalls on its read side.
    s.on('data', () => {});
    s.on('error', (e: Error) => {
      errMsg = e.message;
    });
    s.on('close', () => {
      clearTimeout(connectTimer);
      if (this.socket === s) this.socket = undefined;
      this.waitingDrain = false;
      this.onDisconnected(errMsg ?? 'connection closed');
    });
  }

  protected flush(): void {
    const s = this.socket;
    if (s === undefined || !this.connected) return;
    while (!this.waitingDrain && this.queue.size > 0) {
      const b = this.queue.shift()!;
      this.inFlight++;
      if (!s.write(b, this.onWriteDone)) this.waitingDrain = true;
    }
  }

  protected endGracefully(): Promise<void> {
    const s = this.socket;
    if (s === undefined || s.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      s.once('close', () => resolve());
      s.end();
    });
  }

  protected destroySocket(): void {
    this.socket?.destroy();
  }
}

/** HEP over UDP: one datagram per packet on a connected socket, so ICMP unreachable surfaces as send errors. */
export class HepUdpCollector extends HepCollector {
  private socket: dgram.Socket | undefined;
  private readonly maxInFlight: number;
  private readonly onSendDone = (err: Error | null): void => this.onPacketDone(err);

  constructor(config: HepCollectorConfig, tuning: HepTransportTuning) {
    super(config, tuning);
    this.maxInFlight = tuning.udpMaxInFlight ?? 64;
  }

  start(): void {
    if (this.socket !== undefined || this.abandoned) return;
    const s = dgram.createSocket(net.isIPv6(this.config.host) ? 'udp6' : 'udp4');
    this.socket = s;
    s.on('error', (e: NodeJS.ErrnoException) => {
      this.lastError = e.message;
      if (this.connected && e.code === 'ECONNREFUSED') {
        // ICMP port unreachable for an earlier datagram: Node reports it as a socket error while that
        // datagram's send callback already said success. Reclassify one sent datagram as failed, so
        // sent + failed + dropped + queued + inFlight still equals what was enqueued.
        if (this.sent > 0) this.sent--;
        this.failed++;
        return;
      }
      if (!this.connected && this.socket === s) {
        this.socket = undefined;
        s.close();
        this.onDisconnected(e.message);
      }
    });
    s.connect(this.config.port, this.config.host, () => this.onConnected());
  }

  protected flush(): void {
    const s = this.socket;
    if (s === undefined || !this.connected) return;
    while (this.inFlight < this.maxInFlight && this.queue.size > 0) {
      const b = this.queue.shift()!;
      this.inFlight++;
      s.send(b, this.onSendDone);
    }
  }

  protected endGracefully(): Promise<void> {
    return Promise.resolve();
  }

  protected destroySocket(): void {
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
