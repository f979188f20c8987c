import type { CaptureStats } from '../batch.js';

/** Live capture counters (cumulative since open). */
export interface LiveCaptureStats extends CaptureStats {
  /** Packets the kernel saw for this socket (pcap ps_recv; includes those it dropped). 0 when unknown. */
  kernelReceived: number;
  /** Packets copied out of the kernel but discarded because the consumer lagged (cap backend queue). */
  droppedQueue: number;
  /** False when the backend cannot report kernel/interface drops (cap): the drop fields are then 0 but UNKNOWN. */
  statsAvailable: boolean;
}

export function zeroLiveStats(statsAvailable: boolean): LiveCaptureStats {
  return { received: 0, droppedKernel: 0, droppedInterface: 0, kernelReceived: 0, droppedQueue: 0, statsAvailable };
}

/** Counters accumulated between `prev` and `cur` (both cumulative). */
export function liveStatsDelta(prev: LiveCaptureStats, cur: LiveCaptureStats): LiveCaptureStats {
  return {
    received: cur.received - prev.received,
    droppedKernel: cur.droppedKernel - prev.droppedKernel,
    droppedInterface: cur.droppedInterface - prev.droppedInterface,
    kernelReceived: cur.kernelReceived - prev.kernelReceived,
    droppedQueue: cur.droppedQueue - prev.droppedQueue,
    statsAvailable: cur.statsAvailable,
  };
}

/** A source's statsDelta(): each call returns what accumulated since the previous call. */
export class LiveStatsDeltas {
  private last: LiveCaptureStats;

  constructor(statsAvailable: boolean) {
    this.last = zeroLiveStats(statsAvailable);
  }

  since(cur: LiveCaptureStats): LiveCaptureStats {
    const d = liveStatsDelta(this.last, cur);
    this.last = cur;
    return d;
  }
}
