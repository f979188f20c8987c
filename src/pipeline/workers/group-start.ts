import type { PacketBatch } from '../../capture/index.js';

/**
 * Where a media worker's measurement starts: the moment its PACKET_FANOUT group had every worker
 * (MediaWorkerData.groupCompleteAt). The workers join one after the other and the kernel spreads the flows
 * over the members there are, so until the last has joined the first ones hold flows that then move to
 * another worker: measured here too, they would be second, short streams of flows that worker measures.
 * Packets captured before that moment are not measured, counted.
 */
export class GroupStart {
  /** Packets captured before the group had every worker, not measured. */
  skipped = 0;
  /** Every packet captured before the group had every worker has been read. */
  done = false;

  constructor(
    private readonly completeAtMs: number,
    /** readableWithinMs of the capture's buffer timeout. */
    private readonly readableMs: number,
  ) {}

  /**
   * Index of the batch's first packet to measure (batch.count: none). The ring holds packets in capture
   * order; once a read found it empty readableMs after the moment (`emptyAtMs`, the capture's), every packet
   * captured before it had been read.
   */
  firstToMeasure(batch: PacketBatch, emptyAtMs: number): number {
    if (emptyAtMs >= this.completeAtMs + this.readableMs) {
      this.done = true;
      return 0;
    }
    let i = 0;
    while (i < batch.count && batch.tsSec[i]! * 1000 + batch.tsNsec[i]! / 1e6 < this.completeAtMs) i++;
    this.skipped += i;
    if (i < batch.count) this.done = true;
    return i;
  }
}
