import { readableWithinMs } from '../../capture/live/index.js';
import { SIP_WAITING_LIMIT } from '../../sip/index.js';
import type { ForwardedSip } from './messages.js';

/**
 * Longest SIP waits for the other workers beyond the time a packet takes to become readable: a worker that
 * reads nothing says it has read past a time once its ring was empty that long after it, so one still
 * short of it after another second is stalled or overloaded (its ring backs up), and holding every
 * binding for it would leave streams without their calls for as long.
 */
const BEHIND_MAX_MS = 1000;

/**
 * Held SIP at most, half of what may wait for the main thread (SipInFlight): past it the earliest goes at
 * once, so holding for capture order alone never makes the workers refuse SIP.
 */
const HELD_MAX = { messages: SIP_WAITING_LIMIT.messages / 2, bytes: SIP_WAITING_LIMIT.bytes / 2 };

interface Held {
  packets: ForwardedSip[];
  /** Next packet of `packets` to apply. */
  pos: number;
  /** performance.now() when the main thread received it. */
  atMs: number;
}

interface WorkerQueue {
  held: Held[];
  /** Raw capture time (ms, host clock steps included) up to which the worker has read every packet. */
  throughMs: number;
  /** It reads no more (drained, exited). */
  finished: boolean;
}

/** Raw capture time of a forwarded packet, ms. */
const timeOf = (s: ForwardedSip): number => s.tsSec * 1000 + s.tsNsec / 1e6;

/**
 * SIP of all media workers, applied in capture-time order. Each worker forwards the SIP it captured in its
 * own order, a batch at a time, with how far it has read; the workers read their rings on their own
 * timers, so SIP captured later on one worker can arrive before SIP captured earlier on another (a
 * B2BUA's two legs re-INVITEd 20 ms apart: the leg answered last owns the media). A packet is applied
 * once every other worker has read past its capture time or has stopped, or once it has waited
 * maxHoldMs (and so has everything captured before it), or at once, earliest first, while more than
 * maxHeld messages or bytes are held (a SIP flood: counted in releasedEarly).
 */
export class SipOrder {
  private readonly queues: WorkerQueue[];
  /** No packet waits longer than this, ms. */
  readonly maxHoldMs: number;
  /** Packets held now, and their payload bytes. */
  heldMessages = 0;
  heldBytes = 0;
  /** Packets applied before the other workers had read past them because too many were held. */
  releasedEarly = 0;

  constructor(
    workers: number,
    bufferTimeoutMs: number,
    private readonly apply: (s: ForwardedSip, worker: number) => void,
    readonly maxHeld: { messages: number; bytes: number } = HELD_MAX,
  ) {
    this.queues = Array.from({ length: workers }, () => ({ held: [], throughMs: Number.NEGATIVE_INFINITY, finished: false }));
    this.maxHoldMs = readableWithinMs(bufferTimeoutMs) + BEHIND_MAX_MS;
  }

  /**
   * A worker's SIP since its last (in its capture order, maybe none) and the capture time up to which it
   * has read every packet; `nowMs`: performance.now(). False when the worker had finished: nothing is held.
   */
  add(worker: number, packets: ForwardedSip[], throughMs: number, nowMs: number): boolean {
    const q = this.queues[worker]!;
    if (q.finished) return false;
    if (packets.length > 0) {
      q.held.push({ packets, pos: 0, atMs: nowMs });
      this.heldMessages += packets.length;
      for (const s of packets) this.heldBytes += s.bytes.length;
    }
    // The latest, not the largest: after a host clock step back the worker's reads are at the earlier times.
    q.throughMs = throughMs;
    return true;
  }

  /** The worker reads no more (drained its capture or exited): it holds nothing back. */
  finish(worker: number): void {
    this.queues[worker]!.finished = true;
  }

  /**
   * Applies every packet that may go at `nowMs` (performance.now()), in capture-time order. Returns when
   * the oldest held one will have waited maxHoldMs (performance.now() ms), Infinity when nothing is held.
   */
  release(nowMs: number): number {
    for (;;) {
      const w = this.earliest();
      if (w < 0) return Number.POSITIVE_INFINITY;
      const q = this.queues[w]!;
      const h = q.held[0]!;
      const s = h.packets[h.pos]!;
      if (!this.othersReadPast(w, timeOf(s))) {
        const overdueAt = this.firstOverdueAt();
        if (overdueAt > nowMs) {
          if (this.heldMessages <= this.maxHeld.messages && this.heldBytes <= this.maxHeld.bytes) return overdueAt;
          this.releasedEarly++;
        }
      }
      if (++h.pos === h.packets.length) q.held.shift();
      this.heldMessages--;
      this.heldBytes -= s.bytes.length;
      this.apply(s, w);
    }
  }

  /** The worker whose next held packet was captured first, -1 when none is held. */
  private earliest(): number {
    let best = -1;
    let bestMs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.queues.length; i++) {
      const h = this.queues[i]!.held[0];
      if (h === undefined) continue;
      const ms = timeOf(h.packets[h.pos]!);
      if (best < 0 || ms < bestMs) {
        best = i;
        bestMs = ms;
      }
    }
    return best;
  }

  /** True when every worker but `w` has read past capture time `ms` or has stopped. */
  private othersReadPast(w: number, ms: number): boolean {
    for (let i = 0; i < this.queues.length; i++) {
      const q = this.queues[i]!;
      if (i !== w && !q.finished && q.throughMs < ms) return false;
    }
    return true;
  }

  /** When the oldest held batch reaches maxHoldMs: it goes then, and everything captured before it. */
  private firstOverdueAt(): number {
    let at = Number.POSITIVE_INFINITY;
    for (const q of this.queues) if (q.held.length > 0) at = Math.min(at, q.held[0]!.atMs + this.maxHoldMs);
    return at;
  }
}
