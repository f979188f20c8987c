/**
 * When the capture's drop counter was read and what it said, in capture time, so that a stream's report
 * can count the drops that its own packets came after.
 *
 * A packet the capture drops shows as loss in a stream only when the stream's next packet arrives, and the
 * counter is read once per batch or per second, after packets that were waiting in the ring: charging the
 * drops to the report being made when they are read puts them in the period before the one whose loss they
 * explain whenever a report boundary falls between. A reading is stamped with the capture time of the
 * moment it was taken (the host clock, as the kernel stamps packets): every packet in the ring then was
 * captured before it and every later packet after it, so a stream's period holds the drops read between
 * its previous period's last packet and its own last packet.
 */

/** Readings kept; older ones are folded into a base total (a period reaching further back counts them as seen). */
const READINGS = 1024;

export class CaptureDropLog {
  /** The counter's latest reading: drops since start. */
  total = 0;
  private readonly atMs = new Float64Array(READINGS);
  private readonly totals = new Float64Array(READINGS);
  private count = 0;
  private next = 0;
  /** The total before the oldest reading kept. */
  private base = 0;

  /** A reading of the counter (drops since start) taken at capture time `atMs`; kept only when it moved. */
  note(total: number, atMs: number): void {
    if (total === this.total) return;
    if (this.count === READINGS) this.base = this.totals[this.next]!;
    else this.count++;
    this.atMs[this.next] = atMs;
    this.totals[this.next] = total;
    this.next = (this.next + 1) % READINGS;
    this.total = total;
  }

  /** The drops read before a packet captured at `ms`: those it came after. */
  seenBy(ms: number): number {
    for (let k = 1; k <= this.count; k++) {
      const i = (this.next - k + READINGS) % READINGS;
      if (this.atMs[i]! < ms) return this.totals[i]!;
    }
    return this.base;
  }
}
