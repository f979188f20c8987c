/**
 * Which stream on a 5-tuple followed which: a new SSRC on a 5-tuple is an SSRC change (an SBC or PBX
 * switching source: the earlier SSRC stops) or one more SSRC sharing the transport (BUNDLE's audio and
 * video, an RTX stream beside its original: the earlier one goes on). At the new stream's start the two
 * look alike; the earlier stream's next packets tell them apart: the new one is a change until the one it
 * followed sends SHARED_AFTER_MS past its first packet. Undecided pairs wait in a small fixed table (one
 * per new SSRC whose earlier stream is still active and silent since); when it is full the oldest pair is
 * decided as it stands, an SSRC change. Stream start and end and report time only; nothing per packet.
 */
import { L } from './stream-store.js';

/** The earlier stream sent this long (ms) after the later one's first packet: both run side by side. */
export const SHARED_AFTER_MS = 1000;
/** Undecided pairs held at most. */
const PAIRS = 1024;

export class TupleSuccession {
  /** Undecided pairs: the later stream -> the earlier one it followed on their 5-tuple, oldest first. */
  private readonly earlierOf = new Map<number, number>();
  /** The same pairs the other way: earlier -> later (a stream is followed by at most one). */
  private readonly laterOf = new Map<number, number>();

  /** Bytes held at most (two maps of PAIRS number pairs, about 40 B an entry each). */
  get byteSize(): number {
    return PAIRS * 2 * 40;
  }

  /** True when the table is full: the oldest pair must be decided (oldest()) before another is added. */
  get full(): boolean {
    return this.earlierOf.size >= PAIRS;
  }

  /** The later stream of the oldest pair (the table is not empty). */
  oldest(): number {
    return this.earlierOf.keys().next().value as number;
  }

  /** `later` started on the 5-tuple whose latest stream was `earlier` (the table is not full). */
  add(later: number, earlier: number): void {
    this.earlierOf.set(later, earlier);
    this.laterOf.set(earlier, later);
  }

  /** The stream `slot` followed while it is undecided whether that one stopped or goes on beside it, else -1. */
  undecided(slot: number): number {
    return this.earlierOf.get(slot) ?? -1;
  }

  /** The undecided stream that followed `slot`, else -1. */
  follower(slot: number): number {
    return this.laterOf.get(slot) ?? -1;
  }

  /**
   * Decide `slot`'s pair from the records' packet times (`f`, the store's float64 view): true when the
   * stream it followed runs beside it. It leaves the table when that is known or `ending` (either stream
   * ends: undecided, it stays a change); returns null while it stays undecided.
   */
  settle(slot: number, f: Float64Array, ending: boolean): boolean | null {
    const p = this.earlierOf.get(slot);
    if (p === undefined) return null;
    const shared = f[p * L.HOT_D + L.D_LAST_MS] - f[slot * L.HOT_D + L.D_FIRST_MS] > SHARED_AFTER_MS;
    if (!shared && !ending) return null;
    this.earlierOf.delete(slot);
    if (this.laterOf.get(p) === slot) this.laterOf.delete(p);
    return shared;
  }
}
