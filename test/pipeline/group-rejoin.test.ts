/**
 * GroupRejoin: after a lost capture the media workers rejoin their fanout group in index order, once every
 * one has left (one still capturing is called to leave). Two instances on one shared memory stand for two
 * workers; the opens record the order the kernel would see the members join in.
 */
import { describe, expect, it } from 'vitest';
import type { LivePacketSource } from '../../src/capture/live/index.js';
import { GroupRejoin } from '../../src/pipeline/workers/group-rejoin.js';
import { until } from '../wait.js';

function pool(n: number) {
  const memory = GroupRejoin.memory();
  const completeAt = new Float64Array(new SharedArrayBuffer(8));
  return Array.from({ length: n }, (_, i) => new GroupRejoin(memory, completeAt, i, n));
}

/** An open that records who opened, and a source whose close is recorded too. */
function opener(order: string[], who: string, closed: string[] = []) {
  return async () => {
    order.push(who);
    return { close: async () => void closed.push(who) } as unknown as LivePacketSource;
  };
}

describe('GroupRejoin', () => {
  it('the worker that lost its capture calls the other out, and they rejoin in index order', async () => {
    const [w0, w1] = pool(2);
    const order: string[] = [];
    expect(w0!.called).toBe(false);
    w1!.left(); // worker 1 lost its capture
    expect(w0!.called).toBe(true);
    expect(w1!.called).toBe(false);
    const r1 = w1!.rejoin(opener(order, 'w1'), () => false);
    await new Promise((r) => setTimeout(r, 30)); // some polls of worker 1 (a wait for nothing to happen)
    expect(order).toEqual([]); // worker 0 has not left: its socket still holds its place
    w0!.left();
    const r0 = w0!.rejoin(opener(order, 'w0'), () => false);
    const [a, b] = await Promise.all([r0, r1]);
    expect(order).toEqual(['w0', 'w1']);
    expect(a.completeAtMs).toBe(b.completeAtMs);
    expect(a.completeAtMs).toBeGreaterThan(0);
    expect(w0!.called || w1!.called).toBe(false);
  });

  it('a second round after the first works the same (the counters only grow)', async () => {
    const [w0, w1, w2] = pool(3);
    for (let round = 0; round < 2; round++) {
      const order: string[] = [];
      for (const w of [w2!, w0!, w1!]) w.left();
      await Promise.all([w2!.rejoin(opener(order, 'w2'), () => false), w1!.rejoin(opener(order, 'w1'), () => false), w0!.rejoin(opener(order, 'w0'), () => false)]);
      expect(order).toEqual(['w0', 'w1', 'w2']);
    }
  });

  it('a stop ends the wait; a capture opened meanwhile is closed', async () => {
    const [w0, w1] = pool(2);
    let stopping = false;
    const order: string[] = [];
    const closed: string[] = [];
    w0!.left();
    w1!.left();
    const r0 = w0!.rejoin(opener(order, 'w0', closed), () => stopping); // opens, then waits for worker 1
    await until(() => order.length === 1);
    stopping = true;
    await expect(r0).rejects.toThrow(/stopping/);
    expect(order).toEqual(['w0']);
    expect(closed).toEqual(['w0']);
  });
});
