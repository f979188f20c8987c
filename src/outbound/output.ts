/**
 * The output interface: one implementation per destination type (src/outbound/<name>-output.ts), opened
 * by name from the configuration (src/outbound/registry.ts).
 *
 * Contract for an implementation:
 * - `write()` is synchronous, O(1) or close to it, never throws and never waits for I/O: it runs on the
 *   capture thread. Buffer what you cannot hand over at once, bounded; count what you drop.
 * - `wants(kind)` is asked once when the output is opened: events of kinds no output wants are never built.
 * - `scope` says which QoS events reach you: 'collector' outputs (HEP, webhook) get only reports with a
 *   SIP Call-ID (or a synthetic one when reports.unknown_call_id is 'synthetic'); 'local' outputs (a file)
 *   also get the ones kept for local logs.
 * - `stats()` is read by /metrics, /healthz and the run summary: one entry per destination.
 * - `close(deadlineMs)` delivers what is buffered within the deadline, then gives up and counts the rest
 *   as dropped. It never rejects.
 */
import type { EventKind, OutboundEvent } from './events.js';

export interface DestinationStats {
  /** Label in metrics and logs, e.g. `udp://10.0.0.5:9060` or the file path. */
  name: string;
  /** Delivered (handed to the kernel / written). */
  sent: number;
  /** Items lost to a delivery error (a send that failed). */
  failed: number;
  /**
   * Problems seen, whether or not anything was lost: connect/resolve/TLS failures of a collector, write
   * errors of a file that were retried.
   */
  errors: number;
  /** Never delivered: evicted from a full queue, abandoned at the shutdown deadline, refused. */
  dropped: number;
  /** Waiting to be delivered. */
  queued: number;
  /**
   * Of `queued`, what the process ending now would lose (HEP over TCP: messages the kernel has not taken
   * whole); absent: all of `queued`.
   */
  notTaken?: number;
  /** False while the destination cannot take data (connection down, disk full). */
  up: boolean;
  lastError: string | undefined;
}

export interface Output {
  /** The output's name in the registry and the configuration, e.g. 'hep', 'jsonl'. */
  readonly name: string;
  readonly scope: 'collector' | 'local';
  wants(kind: EventKind): boolean;
  write(event: OutboundEvent): void;
  stats(): DestinationStats[];
  /**
   * Resolves once the output has room again (queues below their low-water mark). A replay awaits it so a
   * file is analysed at the pace the destinations take, instead of overflowing their queues. Optional:
   * absent = always has room.
   */
  room?(): Promise<void> | null;
  /**
   * Null when everything accepted has been delivered, or the destination is down (waiting would not
   * help); otherwise resolves when one of those is true. A replay awaits it at the end of its input.
   * Optional: absent = always settled.
   */
  settled?(): Promise<void> | null;
  close(deadlineMs: number): Promise<void>;
}

/** Logging an output may use (rate-limit repeated warnings yourself; see RateLimitedLog). */
export interface OutputLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}
