/**
 * Runs every benchmark in sequence, each in its own Node process (clean JIT state and heap), after
 * printing the machine. `npm run bench` (after `npm run build`); `--live` adds the live-capture benches (addon vs cap, probe vs tcpdump, worker scaling),
 * `--quick` passes smaller sizes where a bench accepts them.
 */
import { spawnSync } from 'node:child_process';
import { cpus, totalmem, type as osType, release } from 'node:os';
import { fileURLToPath } from 'node:url';

const live = process.argv.includes('--live');
const quick = process.argv.includes('--quick');

const benches: Array<[string, string[]]> = [
  ['decode', quick ? ['100000'] : []],
  ['engine', quick ? ['500', '100'] : []],
  ['sip', []],
  ['sip-backlog', quick ? ['--batches', '200'] : []],
  ['report', []],
  ['report-burst', quick ? ['--calls', '1000', '--rounds', '2'] : []],
  ['hep', []],
  ['churn', quick ? ['--slots', '2000', '--rounds', '50', '--repeat', '2'] : []],
  ['scale', quick ? ['--packets', '200000', '--sizes', '1000,10000'] : []],
  ['native', quick ? ['--calls', '100', '--call-duration', '10'] : []],
];
if (live) benches.push(['live', []], ['live-vs-tcpdump', quick ? ['--rates', '50000,250000'] : []], ['live-workers', quick ? ['--seconds', '1', '--refine', '0'] : []]);

const cpu = cpus();
console.log(`machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} logical CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${osType()} ${release()}`);
console.log(`node ${process.version} (V8 ${process.versions.v8})`);
console.log('all figures below are single-threaded; compare ratios taken inside one bench, not absolute rates across runs\n');

let failed = 0;
for (const [name, args] of benches) {
  const file = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  console.log(`\n######## ${name} ########`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--expose-gc', file, ...args], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`!! ${name} exited with ${r.status ?? r.signal}`);
  }
  console.log(`(${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
process.exitCode = failed ? 1 : 0;
