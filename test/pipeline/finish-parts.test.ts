/**
 * A stop ends the streams a part at a time (Pipeline.finishSome, so the outputs send each part's final
 * reports before the next is built). The parts must add up to finish(): the same capture, cut while calls
 * are up, gives the same final reports, call ends and counters whether it is finished at once or three
 * streams at a time.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCaptureFile } from '../../src/capture/index.js';
import { writeScenarioPcap } from '../../src/gen/index.js';
import { defaultConfig } from '../../src/ops/config.js';
import { Pipeline, ReportSink } from '../../src/pipeline/index.js';
import type { QosReport } from '../../src/report/index.js';

const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-finish-'));
const file = join(dir, 'calls.pcap');
writeScenarioPcap(file, { calls: 16, concurrentCalls: 16, durationS: 0, callDurationS: 30, codec: 'PCMA', lossPct: 2, jitterMs: 4, rtcp: true, seed: 11, startEpochS: 1_700_000_000 });

/** The capture's first 40 batches (calls still up), then the stop: finish() at once (part 0) or finishSome(part) until done. */
async function cutAndFinish(part: number): Promise<{ finals: string[]; parts: number; counts: object; active: number }> {
  const finals: string[] = [];
  const p = new Pipeline(defaultConfig(), new ReportSink([], { onFinalReport: (r: QosReport) => finals.push(JSON.stringify(r)) }));
  let n = 0;
  for await (const b of openCaptureFile(file, { chunkBytes: 64 * 1024 }).batches()) {
    p.processBatch(b);
    if (++n === 40) break;
  }
  const active = p.engine.activeStreams;
  let parts = 1;
  if (part === 0) p.finish();
  else for (; !p.finishSome(part); parts++) expect(p.engine.activeStreams).toBe(active - parts * part);
  return { finals, parts, counts: { ...p.counts, calls: p.calls.activeCalls, streams: p.engine.activeStreams }, active };
}

describe('a stop in parts', () => {
  it('gives the final reports finish() gives, in as many parts as the streams need', async () => {
    const whole = await cutAndFinish(0);
    expect(whole.active, String(whole.active)).toBeGreaterThan(20); // the cut leaves calls up: their streams end at the stop
    expect(whole.finals.length).toBe(whole.active);
    const inParts = await cutAndFinish(3);
    expect(inParts.parts).toBe(Math.ceil(whole.active / 3));
    expect(inParts.finals).toEqual(whole.finals);
    expect(inParts.counts).toEqual(whole.counts);
  });
});
