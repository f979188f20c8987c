/**
 * What the replay path (Pipeline.processRecords, as native.ts times it) allocates on the JavaScript heap,
 * per call of native.ts's scenario: garbage costs young-generation collections, which the C reference
 * never runs, and unlike time it does not move with the machine's load. Each round replays the capture
 * through a new pipeline (as native.ts does); printed per round: bytes allocated (used heap after the
 * round less before it), per call, and the young-generation collections that ran during the round (their
 * pauses from Node's gc performance entries, wall time, against the loop's thread CPU time). The byte count is exact only when no collection ran in the round: give the young generation room for a
 * whole round (the first command below); with V8's default sizes the same rounds count the collections.
 * --sites: the sampling heap profiler over the last round, allocation sites by bytes per call.
 *
 *   node --expose-gc --max-semi-space-size=256 --min-semi-space-size=256 native-bench/out/alloc.js [--sites]
 *   node --expose-gc native-bench/out/alloc.js                  # collections per round at V8's sizes
 *   options: --calls N (1000) --call-duration S (12) --rounds N (4) --jitter-ms MS (5) --depth N (1: frames per site)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import v8 from 'node:v8';
import { argNumber } from './args.js';
import { benchConfig, benchPipeline, gc, keepAlive, replayBuffer, threadCpuNs, writeBenchScenario } from './pipeline.js';

const calls = argNumber('calls', 1000);
const callDurationS = argNumber('call-duration', 12);
const rounds = argNumber('rounds', 4);
const jitterMs = argNumber('jitter-ms', 5);
const depth = argNumber('depth', 1);
const sites = process.argv.includes('--sites');

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

function post<T>(s: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => s.post(method, params, (e, r) => (e ? reject(e) : resolve(r as T))));
}

/** Bytes per call by allocation site (innermost `depth` frames), largest first. */
function bySite(head: ProfileNode): Array<[string, number]> {
  const out = new Map<string, number>();
  const walk = (n: ProfileNode, stack: string[]): void => {
    const f = n.callFrame;
    const here = [`${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/dist\//, '')}:${f.lineNumber + 1}`, ...stack];
    if (n.selfSize > 0) {
      const key = here.slice(0, depth).join(' < ');
      out.set(key, (out.get(key) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, here);
  };
  walk(head, []);
  return [...out].sort((a, b) => b[1] - a[1]);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-alloc-'));
  try {
    const file = join(dir, 'scenario.pcap');
    const stats = writeBenchScenario(file, calls, callDurationS, jitterMs);
    const data = readFileSync(file);
    console.log(`input: ${calls} calls x ${callDurationS} s G.711 (${stats.records} packets, ${stats.rtpStreams} streams, ${stats.sipMessages} SIP, ${stats.rtcpPackets} RTCP)`);
    let collections = 0;
    let collectionsMs = 0;
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind !== constants.NODE_PERFORMANCE_GC_MINOR) continue;
        collections++;
        collectionsMs += e.duration;
      }
    });
    obs.observe({ entryTypes: ['gc'] });
    const settle = () => new Promise((resolve) => setTimeout(resolve, 20)); // delivers the observer's entries
    const session = new Session();
    session.connect();
    const config = benchConfig();
    for (let r = 0; r < rounds; r++) {
      gc();
      const p = benchPipeline(config);
      if (r < 2) keepAlive.push(p); // see keepAlive
      gc();
      await settle();
      const profile = sites && r === rounds - 1;
      if (profile) await post(session, 'HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
      collections = 0;
      collectionsMs = 0;
      const before = v8.getHeapStatistics().used_heap_size;
      const t0 = threadCpuNs();
      replayBuffer(p, data);
      const loopMs = (threadCpuNs() - t0) / 1e6;
      const bytes = v8.getHeapStatistics().used_heap_size - before;
      const head = profile ? (await post<{ profile: { head: ProfileNode } }>(session, 'HeapProfiler.getSamplingProfile')).profile.head : null;
      await settle();
      const exact = collections === 0 ? '' : ' (not exact: collections ran)';
      const gcNote = collections > 0 ? ` (${collectionsMs.toFixed(1)} ms, ${((100 * collectionsMs) / loopMs).toFixed(1)} % of the loop's ${loopMs.toFixed(0)} ms CPU)` : '';
      console.log(`round ${r}${r === 0 ? ' (JIT warm-up)' : ''}: ${(bytes / 1e6).toFixed(1)} MB allocated, ${(bytes / calls / 1000).toFixed(1)} KB per call${exact}; young-generation collections ${collections}${gcNote}`);
      if (head !== null) {
        const list = bySite(head);
        const total = list.reduce((n, [, b]) => n + b, 0);
        console.log(`allocation sites of round ${r} (sampling heap profile, ${(total / calls / 1000).toFixed(1)} KB per call in all), bytes per call:`);
        for (const [site, b] of list) if (b / calls >= 10) console.log(`${(b / calls).toFixed(0).padStart(7)}  ${site}`);
      }
    }
    obs.disconnect();
    session.disconnect();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
