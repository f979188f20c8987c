import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';
import { allocateBatch, LinkType, type PacketBatch } from '../batch.js';
import type { LivePacketSource } from './live-source.js';
import type { ResolvedLiveOptions } from './options.js';
import { LiveStatsDeltas, type LiveCaptureStats } from './stats.js';

/** The parts of cap 0.2.1's Cap object used here. */
interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  on(event: 'packet', fn: (nbytes: number, truncated: boolean) => void): void;
  setMinBytes?(n: number): void;
  close(): void;
}

interface CapModule {
  Cap: { new (): CapHandle; deviceList(): CapDevice[] };
}

export interface CapDevice {
  name: string;
  description?: string;
  addresses: { addr: string; netmask?: string }[];
  flags?: string;
}

/**
 * Every Cap object made, with its buffer, kept reachable for the life of the process: cap 0.2.1's
 * destructor crashes it at a later GC. After a failed open it calls uv_poll_stop on a poll handle never
 * initialised and Unref() on an object never Ref()'d; after a close, node::AsyncWrap::EmitDestroy
 * segfaults (a core of a test process that opened, closed and dropped three captures). A small leak per
 * capture opened (one per run, and one per reopen after the interface came back) avoids that destructor.
 */
const capKeptAlive: unknown[] = [];

let capModule: CapModule | null | undefined;
let capError = '';

/** Loads the optional `cap` dependency once; null (with capLoadError()) when it is missing or unbuilt. */
export function loadCap(): CapModule | null {
  if (capModule !== undefined) return capModule;
  try {
    capModule = createRequire(import.meta.url)('cap') as CapModule;
  } catch (e) {
    capModule = null;
    capError = `cap module unavailable: ${(e as Error).message}`;
  }
  return capModule;
}

export function capLoadError(): string {
  return capError;
}

/** cap reports link types as names. */
function capLinkType(name: string): number {
  switch (name) {
    case 'ETHERNET':
      return LinkType.EN10MB;
    case 'NULL':
      return LinkType.NULL;
    case 'LINKTYPE_LINUX_SLL':
      return LinkType.LINUX_SLL;
    case 'RAW':
      return LinkType.RAW;
    case 'IEEE802_11_RADIO':
      return 127;
    default: {
      const m = /(\d+)/.exec(name);
      return m ? Number(m[1]) : 65535;
    }
  }
}

/** cap hard-codes a 65535-byte snap length; its buffer must hold a whole packet. */
const CAP_SNAPLEN = 65535;
/** Batches in flight: one filling while the consumer holds others. */
const CAP_POOL = 4;

/**
 * Fallback backend over `cap` (libpcap immediate mode, one JS callback per packet, no timestamps, no
 * drop counters). Packets are stamped on arrival in JS with a monotonic clock mapped to wall time at
 * open, so `hostTimestamps` is true and jitter measured on them includes event-loop delay.
 */
export class CapLiveSource implements LivePacketSource {
  readonly backend = 'cap' as const;
  readonly hostTimestamps = true;
  readonly name: string;
  readonly linkType: number;
  readonly warnings: string[];
  private readonly cap: CapHandle;
  /**
   * cap keeps a raw pointer to this Buffer without holding a reference: it must stay reachable for the
   * handle's whole life (losing it corrupts the heap), hence a field never reassigned.
   */
  private readonly capBuffer: Buffer;
  private readonly free: PacketBatch[] = [];
  private readonly ready: PacketBatch[] = [];
  private filling: PacketBatch | null;
  private fillBytes = 0;
  private readonly flushTimer: NodeJS.Timeout;
  private closed = false;
  private wake: (() => void) | null = null;
  private delivered = 0;
  private droppedQueue = 0;
  private readonly deltas = new LiveStatsDeltas(false);
  // Wall clock at open, split in integer seconds + ns, and the monotonic reading at that moment.
  private readonly baseSec: number;
  private readonly baseNsec: number;
  private readonly basePerfMs: number;

  constructor(cap: CapModule, o: ResolvedLiveOptions, warnings: string[]) {
    if (!isMainThread) {
      // cap aborts the whole process inside worker_threads (REFERENCE section 6): refuse clearly instead.
      throw new Error('the cap capture backend cannot run inside worker_threads; build the native addon');
    }
    this.name = o.interface;
    this.warnings = warnings;
    if (o.fanoutGroup >= 0) warnings.push(`${o.interface}: cap backend ignores fanoutGroup ${o.fanoutGroup}`);
    if (o.snapLength !== CAP_SNAPLEN) warnings.push(`${o.interface}: cap backend always captures 65535 bytes`);
    if (!o.promiscuous) warnings.push(`${o.interface}: cap backend always enables promiscuous mode`);
    for (let i = 0; i < CAP_POOL; i++) this.free.push(allocateBatch(o.batchPackets, o.batchBytes));
    this.capBuffer = Buffer.alloc(CAP_SNAPLEN + 1);
    this.cap = new cap.Cap();
    capKeptAlive.push(this.cap, this.capBuffer);
    let lt: string;
    try {
      lt = this.cap.open(o.interface, o.filter, o.bufferSizeMb * 1024 * 1024, this.capBuffer);
    } catch (e) {
      const msg = (e as Error).message;
      const err = new Error(
        /filter|syntax|parse/i.test(msg)
          ? `bad capture filter '${o.filter}': ${msg}`
          : `cannot start capture on '${o.interface}' (cap backend): ${msg}`,
      ) as Error & { code: string };
      err.code = /No such device|doesn't exist/i.test(msg)
        ? 'ENODEV'
        : /permission|not permitted/i.test(msg)
          ? 'EPERM'
          : /filter|syntax|parse/i.test(msg)
            ? 'EFILTER'
            : 'EPCAP';
      throw err;
    }
    this.linkType = capLinkType(lt);
    for (const b of this.free) b.linkType.fill(this.linkType);
    this.filling = this.free.pop() ?? null;
    const wallMs = Date.now();
    this.basePerfMs = performance.now();
    this.baseSec = Math.floor(wallMs / 1000);
    this.baseNsec = (wallMs - this.baseSec * 1000) * 1e6;
    this.cap.on('packet', (nbytes, truncated) => this.onPacket(nbytes, truncated));
    this.flushTimer = setInterval(() => this.publish(), o.bufferTimeoutMs);
  }

  /** Per packet: copy out of cap's buffer and stamp. No allocation (performance.now() avoids a BigInt). */
  private onPacket(nbytes: number, truncated: boolean): void {
    let b = this.filling;
    if (b !== null && (b.count === b.offset.length || this.fillBytes + nbytes > b.buf.length)) {
      this.publish();
      b = this.filling;
    }
    if (b === null) {
      this.droppedQueue++;
      return;
    }
    const i = b.count;
    const ns = this.baseNsec + Math.round((performance.now() - this.basePerfMs) * 1e6);
    const carry = Math.floor(ns / 1e9);
    b.buf.set(this.capBuffer.subarray(0, nbytes), this.fillBytes);
    b.offset[i] = this.fillBytes;
    b.caplen[i] = nbytes;
    // cap gives no wire length; only truncation by its own buffer (impossible with 65536 bytes) is flagged.
    b.wirelen[i] = truncated ? nbytes + 1 : nbytes;
    b.tsSec[i] = this.baseSec + carry;
    b.tsNsec[i] = ns - carry * 1e9;
    b.count = i + 1;
    this.fillBytes += nbytes;
  }

  /** Hands the filling batch to the consumer and takes a free one (null = consumer lagging: drop). */
  private publish(): void {
    const b = this.filling;
    if (b === null) {
      this.filling = this.free.pop() ?? null;
      this.fillBytes = 0;
      return;
    }
    if (b.count === 0) return;
    this.ready.push(b);
    this.filling = this.free.pop() ?? null;
    if (this.filling !== null) this.filling.count = 0;
    this.fillBytes = 0;
    const w = this.wake;
    this.wake = null;
    if (w) w();
  }

  async *batches(): AsyncIterable<PacketBatch> {
    while (true) {
      const b = this.ready.shift();
      if (b !== undefined) {
        this.delivered += b.count;
        yield b;
        b.count = 0;
        if (this.filling === null) {
          this.filling = b;
          this.fillBytes = 0;
        } else {
          this.free.push(b);
        }
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  stats(): LiveCaptureStats {
    return {
      received: this.delivered,
      droppedKernel: 0,
      droppedInterface: 0,
      kernelReceived: 0,
      droppedQueue: this.droppedQueue,
      statsAvailable: false,
    };
  }

  statsDelta(): LiveCaptureStats {
    return this.deltas.since(this.stats());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.flushTimer);
    this.cap.close();
    this.publish(); // deliver what was captured before close
    const w = this.wake;
    this.wake = null;
    if (w) w();
  }
}
