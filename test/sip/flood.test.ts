/**
 * An INVITE flood beside live calls: more new Call-IDs per second than the call table holds over the
 * flood (4,000 unanswered INVITEs/s against max_calls 20,000). The full table evicts the flood's
 * dialogs, never the answered calls with media: every live stream keeps its Call-ID and all its packets
 * and ends at the end of input, not with a false HANGUP. Ground truth is the generator's.
 */
import { describe, expect, it } from 'vitest';
import { readCaptureBuffer } from '../../src/capture/index.js';
import { classicPcap, inviteFloodBesideCalls } from '../../src/gen/index.js';
import { defaultConfig } from '../../src/ops/config.js';
import { Pipeline } from '../../src/pipeline/index.js';
import type { CallEvictionKind } from '../../src/sip/index.js';
import { nonPeriodicReports } from '../pipeline/targets.js';

function replay(records: ReturnType<typeof inviteFloodBesideCalls>['records'], maxCalls: number) {
  const config = defaultConfig();
  config.sip.maxCalls = maxCalls;
  const { target, reports: finals } = nonPeriodicReports();
  const evicted: Record<CallEvictionKind, number> = { ended: 0, unanswered: 0, answered: 0, media: 0, refused: 0 };
  const p = new Pipeline(config, target, { callEvicted: (kind) => evicted[kind]++ });
  for (const batch of readCaptureBuffer(classicPcap(records))) p.processBatch(batch);
  p.finish();
  return { finals, evicted, stats: p.calls.stats };
}

describe('SIP flood beside live calls', () => {
  it('4,000 unanswered INVITEs/s for 8 s evict only the flood; the 20 live calls come through exact', () => {
    const s = inviteFloodBesideCalls({ t0Ms: 1_750_000_000_000, liveCalls: 20, floodPerSecond: 4000, seconds: 8 });
    const { finals, evicted, stats } = replay(s.records, 20_000);
    expect(stats.callsEvicted).toBeGreaterThan(8000);
    expect(evicted).toEqual({ ended: 0, unanswered: stats.callsEvicted, answered: 0, media: 0, refused: 0 });
    expect(stats.callsEvictedByKind).toEqual(evicted);
    for (const st of s.liveStreams) {
      const mine = finals.filter((r) => r.SRC_IP === st.src && r.SRC_PORT === st.srcPort);
      expect(mine.length, st.src).toBe(1);
      expect(mine[0]).toMatchObject({ CORRELATION_ID: st.callId, TOTAL_PK: st.packets, TYPE: 'FINAL' });
    }
  });

  it('a table full of calls with media keeps them: new dialogs are refused (counted), not the live calls evicted', () => {
    const s = inviteFloodBesideCalls({ t0Ms: 1_750_000_000_000, liveCalls: 20, floodPerSecond: 500, seconds: 2 });
    const { evicted, finals } = replay(s.records, 16);
    // 20 answered calls in 16 slots: 4 of them go while they have no media yet (answered), after that the
    // flood's INVITEs find only calls with media and are not tracked.
    expect(evicted.answered + evicted.media).toBe(4);
    expect(evicted.media).toBe(0);
    expect(evicted.refused).toBeGreaterThan(800);
    const kept = s.liveStreams.filter((st) => finals.some((r) => r.SRC_IP === st.src && r.CORRELATION_ID === st.callId && r.TOTAL_PK === st.packets && r.TYPE === 'FINAL'));
    expect(kept.length).toBe(32); // the 16 calls tracked keep both streams whole
  });
});
