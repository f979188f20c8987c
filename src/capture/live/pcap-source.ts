import { allocateBatch, type PacketBatch } from '../batch.js';
import { readableWithinMs, type LivePacketSource } from './live-source.js';
import type { NativeCaptureAddon, NativeCaptureHandle } from './native-addon.js';
import type { ResolvedLiveOptions } from './options.js';
import { LiveStatsDeltas, type LiveCaptureStats } from './stats.js';

/**
 * Longest wait for readiness before the source looks at the ring anyway. The kernel wakes the poll when a
 * block retires (full, or on its buffer timeout), so this only bounds a wait that readiness should end.
 */
const IDLE_WAKE_MS = 1000;

/**
 * Live capture through the project's addon (src/capture/native): kernel timestamps in ns, TPACKET_V3
 * blocks, one native call per batch. The batch arrays are handed to the addon once; dispatch() fills them.
 */
export class PcapLiveSource implements LivePacketSource {
  readonly backend = 'pcap' as const;
  readonly hostTimestamps = false;
  readonly name: string;
  readonly linkType: number;
  readonly warnings: string[];
  private readonly addon: NativeCaptureAddon;
  private readonly handle: NativeCaptureHandle;
  private readonly batch: PacketBatch;
  private closed = false;
  private delivered = 0;
  private wake: (() => void) | null = null;
  private readonly deltas = new LiveStatsDeltas(true);
  private final: LiveCaptureStats | null = null;
  private readonly bufferTimeoutMs: number;
  /** While draining: the performance.now() by which batches() ends, and who waits for that. */
  private drainBy = 0;
  private drained: (() => void) | null = null;
  /** drain() was asked: once batches() ends, the counters stop at what was read (the handle stays open). */
  private draining = false;
  /** The drain reached its maxMs with packets still coming: batches() ends after the batch being read. */
  private readEnded = false;
  emptyAtMs = 0;

  constructor(addon: NativeCaptureAddon, o: ResolvedLiveOptions, warnings: string[]) {
    this.addon = addon;
    this.name = o.interface;
    this.warnings = warnings;
    this.batch = allocateBatch(o.batchPackets, o.batchBytes);
    this.bufferTimeoutMs = o.bufferTimeoutMs;
    const b = this.batch;
    this.handle = addon.open({
      device: o.interface,
      snaplen: o.snapLength,
      bufferSize: o.bufferSizeMb * 1024 * 1024,
      timeoutMs: o.bufferTimeoutMs,
      promisc: o.promiscuous,
      filter: o.filter,
      tstampType: o.timestampType,
      fanoutGroup: o.fanoutGroup,
      buf: b.buf,
      offset: b.offset,
      caplen: b.caplen,
      wirelen: b.wirelen,
      tsSec: b.tsSec,
      tsNsec: b.tsNsec,
      onReadable: () => this.onReadable(),
    });
    this.linkType = this.handle.linkType;
    // One interface, one link type: fill once instead of per packet.
    b.linkType.fill(this.linkType);
    if (this.handle.warning) warnings.push(`${o.interface}: ${this.handle.warning}`);
  }

  private onReadable(): void {
    const w = this.wake;
    this.wake = null;
    if (w) w();
  }

  async *batches(): AsyncIterable<PacketBatch> {
    const b = this.batch;
    while (!this.closed && !this.readEnded) {
      const n = this.addon.dispatch(this.handle);
      if (n > 0) {
        b.count = n;
        this.delivered += n;
        yield b;
        continue;
      }
      if (n < 0) break; // closed underneath us
      this.emptyAtMs = Date.now();
      let waitMs = IDLE_WAKE_MS;
      if (this.drainBy > 0) {
        waitMs = Math.ceil(this.drainBy - performance.now());
        if (waitMs <= 0) break;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.addon.arm(this.handle, waitMs);
      });
    }
    b.count = 0;
    // Drained and still open (in its fanout group until close()): its counters stop at what it read.
    if (this.draining && !this.closed) this.final = this.stats();
    this.drained?.();
  }

  drain(maxMs: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    // A block the kernel has not retired yet is not readable: it retires on its buffer timeout, so the
    // packets captured before the stop are all readable within readableWithinMs from now.
    const waitMs = Math.min(maxMs, readableWithinMs(this.bufferTimeoutMs));
    this.draining = true;
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.readEnded = true;
        this.onReadable();
        resolve();
      }, maxMs);
      this.drained = () => {
        clearTimeout(t);
        resolve();
      };
      this.drainBy = performance.now() + waitMs;
      this.onReadable(); // an idle wait re-arms with the drain's deadline
    });
  }

  poke(): void {
    this.onReadable();
  }

  stats(): LiveCaptureStats {
    if (this.final) return { ...this.final };
    const s = this.addon.stats(this.handle);
    return {
      received: this.delivered,
      droppedKernel: s.dropped,
      droppedInterface: s.ifDropped,
      kernelReceived: s.received,
      droppedQueue: s.overflow,
      statsAvailable: true,
    };
  }

  statsDelta(): LiveCaptureStats {
    return this.deltas.since(this.stats());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Read the counters one last time: after close libpcap can no longer report them.
    this.final = this.stats();
    this.closed = true;
    this.addon.close(this.handle);
    this.onReadable();
  }
}
