/**
 * The differential test in CI: a fixed run of seeded field scenarios of the kinds that pass
 * (test/difftest/kinds.ts), every stream equal to tshark's. `npm run difftest` runs longer and every kind.
 */
import { describe, expect, it } from 'vitest';
import type { ProbeStream } from './probe.js';
import { compareStreams } from './compare.js';
import { CI_SELECTION } from './kinds.js';
import { describeFailure, runDifftest } from './run.js';
import type { TsharkStream } from './tshark.js';

const SCENARIOS = 200;
const RUN_SEED = 14;
const BATCH = 50;

describe('differential test: generated field scenarios, probe replay vs tshark', () => {
  it(`${SCENARIOS} scenarios (run seed ${RUN_SEED}): every stream equals tshark's`, async () => {
    const s = await runDifftest({ seed: RUN_SEED, selection: CI_SELECTION, count: SCENARIOS, batchSize: BATCH });
    expect(s.failures.map((f) => describeFailure(f, { seed: RUN_SEED, selection: CI_SELECTION, batchSize: BATCH })).join('\n')).toBe('');
    expect(s.scenarios).toBe(SCENARIOS);
    // Every scenario has at least one stream, most two or more.
    expect(s.streams).toBeGreaterThan(SCENARIOS * 1.5);
    for (const kind of CI_SELECTION.kinds) expect(s.byKind.get(kind)?.scenarios ?? 0, kind).toBeGreaterThan(0);
  }, 300_000);

  it('reports a stream that differs, one missing and one extra', () => {
    const row: TsharkStream = {
      src: '10.0.0.1', srcPort: 4000, dst: '10.0.0.2', dstPort: 5000, ssrc: 0x1234, packets: 50, lost: 1,
      minDelta: 19.5, meanDelta: 20, maxDelta: 40.1, minJitter: 0.01, meanJitter: 0.5, maxJitter: 1.2, callId: 'call-1', lostToMaxSeq: 1,
    };
    const report: ProbeStream = {
      TYPE: 'FINAL', CORRELATION_ID: 'call-1', SRC_IP: '10.0.0.1', SRC_PORT: 4000, DST_IP: '10.0.0.2', DST_PORT: 5000, SSRC: 0x1234,
      TOTAL_PK: 50, EXPECTED_PK: 51, MIN_DELTA: 19.5, DELTA: 20, MAX_DELTA: 40.1, MIN_JITTER: 0.01, MEAN_JITTER: 0.5, MAX_JITTER: 1.2, CLOCK: 8000,
    };
    expect(compareStreams([row], [report]).diffs).toEqual([]);
    expect(compareStreams([row], [{ ...report, MAX_JITTER: 1.201 }]).diffs).toEqual([]); // one printed unit: rounding
    expect(compareStreams([row], [{ ...report, MAX_JITTER: 1.202 }]).diffs[0].problems).toEqual(['max jitter 1.202 != 1.2']);
    expect(compareStreams([row], [{ ...report, CORRELATION_ID: 'call-2' }]).diffs[0].problems).toEqual(['Call-ID call-2 != call-1']);
    expect(compareStreams([row], []).diffs[0].problems[0]).toMatch(/^missing/);
    expect(compareStreams([], [report]).diffs[0].problems[0]).toMatch(/^extra/);
  });
});
