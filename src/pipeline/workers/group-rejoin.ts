/**
 * The media workers rebuilding their PACKET_FANOUT group after a lost capture (interface deleted and
 * re-created, driver reset). The kernel puts a flow on the member at (flow hash mod members) in the order
 * the members joined: workers reopening as each happens to notice would come back in another order, and
 * every flow would then start a second stream on another worker. So a round of rejoining has every worker
 * leave first (one that still captures is told to), then rejoin in index order, as at start; the last one
 * in stamps the moment the group is complete, from which each measures again (GroupStart).
 *
 * State shared by the pool's workers (Int32 counters that only grow, so rounds never need resetting):
 * the round, how many leaves and rejoins there have been in all rounds.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LivePacketSource } from '../../capture/live/index.js';

const ROUND = 0;
const LEFT = 1;
const JOINED = 2;
/** How often a waiting worker looks at the counters (a rejoin takes a few milliseconds per worker). */
const POLL_MS = 5;

export class GroupRejoin {
  private readonly s: Int32Array;
  /** The round this worker last left for (0: still in the group it opened at start). */
  private round = 0;

  constructor(
    /** Three Int32 (GroupRejoin.memory()). */
    memory: SharedArrayBuffer,
    /** Date.now() once the group had every member: the pool's groupCompleteAt, written here per round. */
    private readonly completeAt: Float64Array,
    private readonly index: number,
    private readonly workers: number,
  ) {
    this.s = new Int32Array(memory);
  }

  static memory(): SharedArrayBuffer {
    return new SharedArrayBuffer(3 * 4);
  }

  /** Another worker lost its capture: this one, still capturing, has to leave and rejoin too. */
  get called(): boolean {
    return Atomics.load(this.s, ROUND) > this.round;
  }

  /** This worker's capture is closed: it starts the round (unless another did) and counts itself out. */
  left(): void {
    Atomics.compareExchange(this.s, ROUND, this.round, this.round + 1);
    this.round++;
    Atomics.add(this.s, LEFT, 1);
  }

  /**
   * Opens this worker's capture when its turn comes: every worker has left (their sockets gone from the
   * group) and those before it have rejoined. `open` may throw (the interface is not back yet): the caller
   * retries. `stopping` ends the wait. Then waits for the rest to rejoin, so that nothing is read before the
   * group is complete; returns the source and when the group was complete (Date.now()).
   */
  async rejoin(open: () => Promise<LivePacketSource>, stopping: () => boolean): Promise<{ source: LivePacketSource; completeAtMs: number }> {
    const base = (this.round - 1) * this.workers;
    await this.until(() => Atomics.load(this.s, LEFT) >= this.round * this.workers && Atomics.load(this.s, JOINED) === base + this.index, stopping);
    const source = await open();
    if (this.index === this.workers - 1) this.completeAt[0] = Date.now(); // published by the atomic add
    Atomics.add(this.s, JOINED, 1);
    try {
      await this.until(() => Atomics.load(this.s, JOINED) >= base + this.workers, stopping);
    } catch (err) {
      await source.close();
      throw err;
    }
    return { source, completeAtMs: this.completeAt[0]! };
  }

  private async until(cond: () => boolean, stopping: () => boolean): Promise<void> {
    while (!cond()) {
      if (stopping()) throw new Error('stopping while the media workers rejoin their fanout group');
      await sleep(POLL_MS);
    }
  }
}
