import type { ForwardedSip } from './messages.js';

/**
 * Beyond the other workers' progress, a worker that has read nothing for this long past two buffer
 * timeouts holds no SIP: a block retires at most one timeout after its first packet (the same bound a
 * stop's drain waits for), so SIP it captured before the held message would have arrived by then.
 */
const IDLE_SLACK_MS = 50;
/**
 * Longest any SIP waits beyond that: a worker still reading but this far behind is overloaded (its ring
 * backs up), and holding every binding for it would leave streams without their calls for as long.
 */
const BEHIND_MAX_MS = 1000;

interface Held {
  packets: ForwardedSip[];
  /** Next packet of `packets` to apply. */
  pos: number;
  /** performance.now() when the main thread received it. */
  atMs: number;
}

interface WorkerQueue {
  held: Held[];
  /** Raw capture time (ms, host clock steps included) of the latest packet the worker has read. */
  throughMs: number;
  /** performance.now() of its latest progress. */
  heardMs: number;
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
 * once every other worker has read past its capture time, has read nothing for 2 x buffer timeout +
 * IDLE_SLACK_MS since it arrived (no traffic on its share), or has stopped; or at the latest
 * BEHIND_MAX_MS after that.
 */
export class SipOrder {
  private readonly queues: WorkerQueue[];
  /** A worker silent this long since a packet arrived does not hold it, ms. */
  readonly idleMs: number;
  /** No packet waits longer than this, ms. */
  readonly maxHoldMs: number;

  constructor(
    workers: number,
    bufferTimeoutMs: number,
    private readonly apply: (s: ForwardedSip) => void,
  ) {
    this.queues = Array.from({ length: workers }, () => ({ held: [], throughMs: Number.NEGATIVE_INFINITY, heardMs: Number.NEGATIVE_INFINITY, finished: false }));
    this.idleMs = 2 * bufferTimeoutMs + IDLE_SLACK_MS;
    this.maxHoldMs = this.idleMs + BEHIND_MAX_MS;
  }

  /**
   * A worker's SIP since its last (in its capture order, maybe none) and the capture time of the latest
   * packet it has read; `nowMs`: performance.now().
   */
  add(worker: number, packets: ForwardedSip[], throughMs: number, nowMs: number): void {
    const q = this.queues[worker]!;
    if (q.finished) return;
    if (packets.length > 0) q.held.push({ packets, pos: 0, atMs: nowMs });
    // The latest, not the largest: after a host clock step back the worker's reads are at the earlier times.
    q.throughMs = throughMs;
    q.heardMs = nowMs;
  }

  /** The worker reads no more (drained its capture or exited): it holds nothing back. */
  finish(worker: number): void {
    this.queues[worker]!.finished = true;
  }

  /**
   * Applies every packet that may go at `nowMs` (performance.now()), in capture-time order. Returns when to
   * call again if nothing arrives meanwhile (performance.now() ms), Infinity when nothing is held.
   */
  release(nowMs: number): number {
    for (;;) {
      const w = this.earliest();
      if (w < 0) return Number.POSITIVE_INFINITY;
      const q = this.queues[w]!;
      const h = q.held[0]!;
      const s = h.packets[h.pos]!;
      const wait = this.waitFor(w, timeOf(s), h.atMs, nowMs);
      if (wait > nowMs) {
        const overdueAt = this.firstOverdueAt();
        if (overdueAt > nowMs) return Math.min(wait, overdueAt);
      }
      if (++h.pos === h.packets.length) q.held.shift();
      this.apply(s);
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

  /**
   * When worker `w`'s packet captured at `ms` (arrived at `atMs`) may be applied as far as the other
   * workers are concerned: `nowMs` or earlier when each has read past it, stopped or been idle long
   * enough; else the time the last of those still reading would have been idle long enough.
   */
  private waitFor(w: number, ms: number, atMs: number, nowMs: number): number {
    let until = nowMs;
    for (let i = 0; i < this.queues.length; i++) {
      const q = this.queues[i]!;
      if (i === w || q.finished || q.throughMs >= ms) continue;
      until = Math.max(until, Math.max(atMs, q.heardMs) + this.idleMs);
    }
    return until;
  }

  /** When the oldest held batch reaches maxHoldMs: it goes then, and everything captured before it. */
  private firstOverdueAt(): number {
    let at = Number.POSITIVE_INFINITY;
    for (const q of this.queues) if (q.held.length > 0) at = Math.min(at, q.held[0]!.atMs + this.maxHoldMs);
    return at;
  }
}
