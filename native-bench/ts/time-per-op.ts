/**
 * Micro-benchmark timing shared by the area benches: warm the function up (JIT), then time `iterations`
 * calls and print ns per call. `fn` returns a number that is summed so the work cannot be dropped.
 */
export function timePerOp(label: string, iterations: number, fn: (i: number) => number, warmupIterations = 20_000): number {
  let sink = 0;
  for (let i = 0; i < Math.min(iterations, warmupIterations); i++) sink += fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink += fn(i);
  const ns = Number(process.hrtime.bigint() - t0) / iterations;
  if (sink === 0.5) console.log('unreachable');
  console.log(`${label.padEnd(48)} ${ns.toFixed(1).padStart(10)} ns/op`);
  return ns;
}
