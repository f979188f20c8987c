import type { PacketBatch } from '../capture/index.js';
import { countLonger, longestWireFrame, type LiveCaptureOptions, type LivePacketSource } from '../capture/live/index.js';
import type { ProbeConfig } from '../ops/config.js';

/**
 * Capture options from the `capture` config section, as both modes open it: the caller picks the backend
 * (workers can only run the pcap addon), the fanout group (workers join one) and where warnings go.
 */
export function liveCaptureOptions(
  c: ProbeConfig['capture'],
  chosen: Pick<LiveCaptureOptions, 'backend' | 'fanoutGroup' | 'onWarning'>,
): LiveCaptureOptions {
  return {
    interface: c.interface,
    snapLength: c.snapLength,
    bufferSizeMb: c.bufferSizeMb,
    bufferTimeoutMs: c.bufferTimeoutMs,
    filter: c.filter || undefined,
    promiscuous: c.promiscuous,
    ...chosen,
  };
}

/** A capture's counters since start, across reopens. */
export interface CaptureTotals {
  received: number;
  droppedKernel: number;
  droppedInterface: number;
  /** Frames longer than the interface can receive from the wire: packets the kernel merged before capture. */
  mergedFrames: number;
}

/** The log calls the loop makes (a pino Logger, or a media worker's link to the main thread's logger). */
export interface LoopLog {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface CaptureLoopOptions {
  interface: string;
  /** Opens (or reopens) the capture. */
  open(): Promise<LivePacketSource>;
  onBatch(batch: PacketBatch): void;
  /** Capture state changes for /healthz: 'failed' while the interface is gone, 'running' once reopened. */
  onState?(state: 'running' | 'failed'): void;
  /** The lost (or reopen()ed) capture is closed; open() follows. */
  onClosed?(): void;
  log: LoopLog;
}

/**
 * While the capture always has packets, its loop runs on promise continuations and would never let timers
 * and sockets (/healthz, report sending, queued SIP) in: it gives them a turn at least this often.
 */
const YIELD_EVERY_MS = 20;

/** Backoff between attempts to reopen a lost capture interface. */
const RECAPTURE_MIN_MS = 500;
const RECAPTURE_MAX_MS = 10_000;
/** Longest a stop waits for the packets captured before it (the ring's last block retires on its buffer timeout). */
const DRAIN_MAX_MS = 2000;

/**
 * Drains a live capture into `onBatch` until stop(). The interface may go down (link loss, driver reset):
 * the capture is then reopened with backoff until it comes back or the loop is stopped; packets in between
 * are simply not seen. Counters of handles closed on the way are kept, so totals never go backwards.
 */
export class CaptureLoop {
  private readonly before = { received: 0, droppedKernel: 0, droppedInterface: 0 };
  private stopped = false;
  private wake: (() => void) | null = null;
  private mergedFrames = 0;
  /** longestWireFrame() of the open capture (0: not checked). */
  private frameLimit: number;

  constructor(
    private source: LivePacketSource,
    private readonly o: CaptureLoopOptions,
  ) {
    this.frameLimit = longestWireFrame(o.interface, source.linkType);
  }

  /** The capture's LivePacketSource.emptyAtMs (0 when it cannot tell), and its poke(). */
  get emptyAtMs(): number {
    return this.source.emptyAtMs ?? 0;
  }

  poke(): void {
    this.source.poke?.();
  }

  totals(): CaptureTotals {
    const s = this.source.stats();
    const b = this.before;
    return { received: b.received + s.received, droppedKernel: b.droppedKernel + s.droppedKernel, droppedInterface: b.droppedInterface + s.droppedInterface, mergedFrames: this.mergedFrames };
  }

  /** Packets the capture dropped since start (kernel and interface): read with each batch, for its reports. */
  drops(): number {
    const t = this.totals();
    return t.droppedKernel + t.droppedInterface;
  }

  /**
   * Ends run(): the packets the kernel captured before the stop are still read and handed on (at most
   * DRAIN_MAX_MS). The capture stays open, in its fanout group, until close(): the kernel spreads the flows
   * over the group's members, so a member leaving hands its flows to the others, and one still reading
   * would start second streams of them. A source that cannot drain (cap) reads on until close().
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.source.drain?.(DRAIN_MAX_MS);
  }

  /** Closes the capture while it runs: run() goes on as for a lost one (onClosed, then open() until it succeeds). */
  async reopen(): Promise<void> {
    await this.source.close();
  }

  /** Closes the capture (after stop(); with several workers, once every one has stopped reading). */
  async close(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.source.close();
  }

  async run(): Promise<void> {
    const o = this.o;
    for (let retryMs = RECAPTURE_MIN_MS; !this.stopped; ) {
      try {
        let turnAt = performance.now() + YIELD_EVERY_MS;
        for await (const batch of this.source.batches()) {
          if (this.frameLimit > 0) this.mergedFrames += countLonger(batch.wirelen, batch.count, this.frameLimit);
          o.onBatch(batch);
          retryMs = RECAPTURE_MIN_MS;
          if (performance.now() >= turnAt) {
            await new Promise<void>((r) => setImmediate(r));
            turnAt = performance.now() + YIELD_EVERY_MS;
          }
        }
      } catch (err) {
        if (!this.stopped) o.log.error({ err, interface: o.interface }, 'capture lost');
      }
      if (this.stopped) break;
      o.onState?.('failed');
      const s = this.source.stats();
      this.before.received += s.received;
      this.before.droppedKernel += s.droppedKernel;
      this.before.droppedInterface += s.droppedInterface;
      await this.source.close();
      o.onClosed?.();
      for (;;) {
        await this.pause(retryMs);
        if (this.stopped) break;
        retryMs = Math.min(retryMs * 2, RECAPTURE_MAX_MS);
        try {
          this.source = await o.open();
          this.frameLimit = longestWireFrame(o.interface, this.source.linkType);
          break;
        } catch (err) {
          if ((err as { code?: string }).code === 'EPERM') throw err; // privileges dropped: reopening cannot work
          if (this.stopped) break;
          o.log.warn({ interface: o.interface, retryInMs: retryMs, reason: (err as Error).message }, 'capture still down');
        }
      }
      if (this.stopped) break;
      o.log.info({ interface: o.interface }, 'capture reopened');
      o.onState?.('running');
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}
