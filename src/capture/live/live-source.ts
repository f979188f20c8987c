import type { PacketSource } from '../batch.js';
import type { LiveCaptureStats } from './stats.js';

export type LiveBackendName = 'pcap' | 'cap';

/** A live interface capture. `stats()` is cumulative; `statsDelta()` is what happened since its last call. */
export interface LivePacketSource extends PacketSource {
  readonly backend: LiveBackendName;
  /** pcap LINKTYPE_* of every packet (also in each batch's linkType array). */
  readonly linkType: number;
  /** Why the capture differs from what was asked (e.g. fell back to cap), for logs. */
  readonly warnings: readonly string[];
  stats(): LiveCaptureStats;
  statsDelta(): LiveCaptureStats;
  /**
   * Before close() at a stop: go on delivering batches until what the kernel captured up to now has been
   * read (the ring's current block retires within the buffer timeout), then end batches(). Resolves when
   * batches() has ended or `maxMs` passed (batches() then ends after the batch being read). The capture
   * stays open until close(), in its fanout group: leaving it would hand its flows to the members still
   * reading. Its counters stop at what it read.
   */
  drain?(maxMs: number): Promise<void>;
  /**
   * Date.now() when a read last found no retired block (0 before): every packet captured
   * readableWithinMs(buffer timeout) before it had been delivered. poke() has an idle capture look again now.
   */
  readonly emptyAtMs?: number;
  poke?(): void;
}

/**
 * A packet is readable this long after its capture at most: the ring's block retires within two buffer
 * timeouts of its first packet (the kernel's retire timer), plus its granularity and the reader's wake-up.
 */
export function readableWithinMs(bufferTimeoutMs: number): number {
  return 2 * bufferTimeoutMs + 50;
}
