/**
 * Two builds of the probe against each other on one capture, in one process: the replay path
 * (`replayBuffer`: the capture in memory through `Pipeline.processRecords`, the pipeline wired as
 * `rtpprobe replay FILE --no-hep`) of checkout A and of checkout B, rounds interleaved (A B, then B A, ...),
 * each timed as CPU time of this thread. Prints the median of the per-round ratios B / A (the first two
 * rounds, the JIT's warm-up, dropped) and each side's fastest and median round. Pairs of adjacent rounds
 * see the same load, so the ratio is much steadier than two timings in separate runs on a shared machine:
 * two checkouts of one build against each other gave 0.97-1.04 (7 Dec).
 * Each checkout must be built (`npm run build && npm run build:bench` in it).
 * Run: node --expose-gc native-bench/out/ab.js --a DIR_A --b DIR_B --file CAPTURE.pcap [--rounds 20]
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as PipelineBench from './pipeline.js';
import { argNumber, argString } from './args.js';

type Build = typeof PipelineBench;

const dirA = argString('a', '');
const dirB = argString('b', '');
const file = argString('file', '');
const rounds = argNumber('rounds', 20);
if (dirA === '' || dirB === '' || file === '' || !(rounds > 2)) {
  console.error('usage: node --expose-gc native-bench/out/ab.js --a DIR_A --b DIR_B --file CAPTURE.pcap [--rounds N > 2]');
  process.exit(2);
}

const load = async (dir: string): Promise<Build> => (await import(pathToFileURL(resolve(dir, 'native-bench/out/pipeline.js')).href)) as Build;
const [a, b] = [await load(dirA), await load(dirB)];
const data = readFileSync(file);
const configs = new Map<Build, ReturnType<Build['benchConfig']>>([[a, a.benchConfig(40_000)], [b, b.benchConfig(40_000)]]);

/** One round of `build` over the capture: ms of this thread's CPU time. */
function round(build: Build, r: number): number {
  build.gc();
  const p = build.benchPipeline(configs.get(build)!);
  if (r < 2) build.keepAlive.push(p); // see pipeline.ts keepAlive
  const t0 = build.threadCpuNs();
  build.replayBuffer(p, data);
  return (build.threadCpuNs() - t0) / 1e6;
}

const median = (v: number[]): number => {
  const s = [...v].sort((x, y) => x - y);
  return s.length % 2 === 1 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const ta: number[] = [];
const tb: number[] = [];
for (let r = 0; r < rounds; r++) {
  let x: number;
  let y: number;
  if (r % 2 === 0) {
    x = round(a, r);
    y = round(b, r);
  } else {
    y = round(b, r);
    x = round(a, r);
  }
  if (r >= 2) {
    ta.push(x);
    tb.push(y);
  }
}
const ratios = tb.map((y, i) => y / ta[i]);
console.log(`B / A: median ${median(ratios).toFixed(3)} over ${ratios.length} paired rounds (range ${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)})`);
console.log(`A ${dirA}: fastest ${Math.min(...ta).toFixed(1)} ms, median ${median(ta).toFixed(1)} ms`);
console.log(`B ${dirB}: fastest ${Math.min(...tb).toFixed(1)} ms, median ${median(tb).toFixed(1)} ms`);
