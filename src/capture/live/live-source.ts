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
   * batches() has ended or `maxMs` passed.
   */
  drain?(maxMs: number): Promise<void>;
}
