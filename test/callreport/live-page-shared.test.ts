/**
 * The live call page's data (GET /api/callreport) is the whole report: at the live limits (2,000 ladders,
 * 4,000 streams) one answer is about 15 MiB of JSON and most of a second of the probe's main thread to
 * build. Every viewer's tab asks for it every refresh, and anyone who reaches the metrics port can ask in
 * a loop: requests within one refresh interval share one build, so the cost stays one build per interval
 * however many ask. A real probe (`replay --realtime`, the CLI from dist/) with metrics.live_page on.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureTimeline, DialogWriter } from '../../src/gen/index.js';
import { liveApi } from '../live-api.js';
import { CLI, startLiveReplay, type LiveReplay } from '../live-replay.js';
import { until } from '../wait.js';

const CALLS = 1000;

/** CALLS ringing calls at the start (each INVITE and ten 183s with SDP), then one stream for 120 s to keep the replay running. */
function capture(t0Ms: number): Buffer {
  const t = new CaptureTimeline();
  for (let c = 0; c < CALLS; c++) {
    const a = `10.${20 + (c >> 8)}.${c & 255}.1`;
    const b = `10.${20 + (c >> 8)}.${c & 255}.2`;
    const d = new DialogWriter(t, `shared-${c}@gen`, a, b);
    const cseq = d.invite(t0Ms + c, { ip: a, media: [{ port: 20000, formats: [8, 0, 101] }] });
    for (let m = 0; m < 10; m++) d.respond(t0Ms + c + 0.1 * (m + 1), 183, cseq, { ip: b, media: [{ port: 30000, formats: [8, 101] }] });
  }
  t.rtp(t0Ms + 2000, '10.250.0.1', 40000, '10.250.0.2', 40002, { ssrc: 0x5eed, seq: 0, ts: 0, count: 6000 });
  return t.pcap();
}

interface Answer {
  generatedAt: number;
  calls: unknown[];
}

describe.skipIf(!existsSync(CLI))('live call page data under many requests', () => {
  let probe: LiveReplay | undefined;
  let base = '';

  beforeAll(async () => {
    probe = await startLiveReplay(capture(1_750_000_000_000), ['metrics.live_page=true']);
    base = probe.base;
    expect(await until(async () => ((await liveApi<Answer>(`${base}/api/callreport`))?.calls.length ?? 0) === CALLS, 60_000), probe.out()).toBe(true);
  }, 120_000);

  afterAll(() => {
    probe?.kill();
  });

  it('requests at the same time share one build; a request a refresh interval later gets a newer one', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => liveApi<Answer>(`${base}/api/callreport`)));
    const builds = new Set(answers.map((a) => a!.generatedAt));
    expect(builds.size, `${builds.size} builds for 8 requests`).toBe(1);
    for (const a of answers) expect(a!.calls).toHaveLength(CALLS);
    // The page still moves on: a later request (the page's next refresh) gets a new build.
    const first = answers[0]!.generatedAt;
    expect(await until(async () => (await liveApi<Answer>(`${base}/api/callreport`))!.generatedAt > first, 30_000)).toBe(true);
  }, 60_000);
});
