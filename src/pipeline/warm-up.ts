/**
 * Warm-up of a replay's packet loop. V8 optimises Pipeline.processRecords with everything it calls inlined
 * once the loop is hot, from the type feedback gathered so far; a branch first taken after that (the first
 * report tick, RTCP, SIP BYE, stream end, a loss, a window's end) has none, deoptimises the whole loop and
 * sends it back to the interpreter until a compiler thread has rebuilt it (10-60 ms of a compiler thread
 * each time, on a machine whose two cores the main thread shares with it). Without a warm-up that happens
 * about twenty times in the first half second of a capture of hundreds of megabytes. Running a small
 * capture that takes those branches (warm-up-capture.ts) through a scratch pipeline first gives the first
 * optimisation their feedback: the loop is then optimised once. Feedback lives with the functions, not
 * the instances, so a scratch pipeline of the same classes serves the real one; the scratch one, its
 * calls, streams and reports are dropped, and nothing reaches the real run's outputs, counters, logs or
 * metrics.
 */
import { CaptureCursor } from '../capture/file/index.js';
import type { ProbeConfig } from '../ops/config.js';
import { OutboundSink, type Output } from '../outbound/index.js';
import { Pipeline } from './pipeline.js';
import { StreamTable } from './summary.js';
import { warmUpCapture } from './warm-up-capture.js';

/** Pieces the warm-up capture is handed over in, as a file is read in windows (records cut at the joins). */
const WINDOWS = 3;

/**
 * Runs the warm-up capture through a scratch pipeline configured like the real one (small tables, so that
 * the hash tables' collision paths run too; a short report interval and media linger, so that everything
 * happens within its four seconds), whose sink has outputs that take the kinds of events the real
 * `outputs` take and drop them.
 */
export function warmUpReplay(config: ProbeConfig, outputs: readonly Output[]): void {
  const scratchConfig: ProbeConfig = {
    ...config,
    rtp: { ...config.rtp, maxStreams: 16 },
    sip: { ...config.sip, maxCalls: 16, mediaLingerS: 1 },
    reports: { ...config.reports, intervalS: 1 },
  };
  const table = new StreamTable();
  const sink = new OutboundSink(outputs.map(droppingLike), { onFinalReport: (r) => table.add(r) });
  const pipeline = new Pipeline(scratchConfig, sink);
  const bytes = warmUpCapture();
  const cur = new CaptureCursor(undefined, 'warm-up');
  let pos = 0;
  for (let w = 1; w <= WINDOWS; w++) {
    const end = Math.floor((bytes.length * w) / WINDOWS);
    cur.window(bytes, pos, end, 0, w === WINDOWS);
    pipeline.processRecords(cur);
    pos = cur.position;
  }
  pipeline.finish();
}

/** An output that wants what `o` wants, with its scope, and drops every event. */
function droppingLike(o: Output): Output {
  return {
    name: o.name,
    scope: o.scope,
    wants: (kind) => o.wants(kind),
    write: () => undefined,
    stats: () => [],
    close: () => Promise.resolve(),
  };
}
