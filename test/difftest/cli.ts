/**
 * `npm run difftest -- [options]`: the differential test against tshark for as long as asked. Built by
 * test/difftest/tsconfig.json into build/difftest (no vitest, no tsx); see USAGE.
 */
import { FIELD_KINDS, WRAPS, type FieldKind, type Wrap } from '../../src/gen/index.js';
import { CI_SELECTION } from './kinds.js';
import { describeFailure, parseRef, refName, runDifftest, runOne, type RunSummary, type Selection } from './run.js';

const USAGE = `usage: npm run difftest -- [options]
  --seconds N        run batches until N seconds have passed          (default 60)
  --count N          stop after N scenarios (whichever comes first)
  --seed N           run seed: scenario i of a run is always the same   (default: from the clock, printed)
  --kinds a,b        scenario kinds to draw from                         (default: all)
  --skip-kinds a,b   kinds left out
  --wraps a,b        encapsulations to draw from                         (default: all)
  --ipv6-share X     share of scenarios over IPv6, 0..1                  (default 0.25)
  --ci               the kinds, wraps and IPv6 share the CI test runs
  --batch N          scenarios per capture file                         (default 50)
  --only NAME        one scenario (KIND:WRAP:v4|v6:SEED, as printed for a failure): both sides printed
  --from N           index of the first scenario (rebuilds a batch of a run: seed, from, count, batch)
  --keep DIR         where captures are kept: with --only, its own (default ./difftest-NAME);
                     otherwise those of every batch with a failure, in DIR/batch-FROM
  --all-failures     print every failing scenario (default: the first of each kind)
kinds: ${FIELD_KINDS.join(', ')}
wraps: ${WRAPS.join(', ')}`;

function list<T extends string>(v: string, allowed: readonly T[], what: string): T[] {
  const out = v.split(',').filter((x) => x !== '');
  for (const x of out) if (!(allowed as readonly string[]).includes(x)) throw new Error(`unknown ${what} "${x}"\n${USAGE}`);
  return out as T[];
}

interface Args {
  seconds?: number;
  count?: number;
  seed: number;
  selection: Selection;
  batch: number;
  only?: string;
  keep?: string;
  from?: number;
  allFailures?: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seed: Date.now() % 1_000_000_007, selection: { kinds: FIELD_KINDS, wraps: WRAPS, ipv6Share: 0.25 }, batch: 50 };
  let skip: FieldKind[] = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return x;
    };
    const num = () => {
      const x = Number(v());
      if (!Number.isFinite(x) || x < 0) throw new Error(`${flag} needs a non-negative number\n${USAGE}`);
      return x;
    };
    switch (flag) {
      case '--seconds': a.seconds = num(); break;
      case '--count': a.count = num(); break;
      case '--seed': a.seed = Math.floor(num()); break;
      case '--kinds': a.selection = { ...a.selection, kinds: list(v(), FIELD_KINDS, 'kind') }; break;
      case '--skip-kinds': skip = list(v(), FIELD_KINDS, 'kind'); break;
      case '--wraps': a.selection = { ...a.selection, wraps: list<Wrap>(v(), WRAPS, 'wrap') }; break;
      case '--ipv6-share': a.selection = { ...a.selection, ipv6Share: Math.min(1, num()) }; break;
      case '--ci': a.selection = CI_SELECTION; break;
      case '--batch': a.batch = Math.max(1, Math.floor(num())); break;
      case '--only': a.only = v(); break;
      case '--keep': a.keep = v(); break;
      case '--from': a.from = Math.floor(num()); break;
      case '--all-failures': a.allFailures = true; break;
      case '-h': case '--help': console.log(USAGE); process.exit(0);
      default: throw new Error(`unexpected argument ${flag}\n${USAGE}`);
    }
  }
  if (skip.length) a.selection = { ...a.selection, kinds: a.selection.kinds.filter((k) => !skip.includes(k)) };
  if (a.selection.kinds.length === 0 || a.selection.wraps.length === 0) throw new Error('no scenario kind or wrap left to run');
  if (a.seconds === undefined && a.count === undefined) a.seconds = 60;
  return a;
}

function printSummary(s: RunSummary, seed: number): void {
  const rows = [...s.byKind.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1));
  console.log(`\n${'group'.padEnd(24)} ${'scenarios'.padStart(9)} ${'streams'.padStart(8)} ${'failed'.padStart(7)} ${'mismatched streams'.padStart(19)}  smallest failure`);
  for (const [name, k] of rows) {
    console.log(`${name.padEnd(24)} ${String(k.scenarios).padStart(9)} ${String(k.streams).padStart(8)} ${String(k.failedScenarios).padStart(7)} ${String(k.mismatchedStreams).padStart(19)}  ${k.smallestFailure ? `${refName(k.smallestFailure.ref)} (${k.smallestFailure.frames} frames)` : ''}`);
  }
  console.log(`\nrun seed ${seed}: ${s.scenarios} scenarios, ${s.streams} streams compared, ${s.failedScenarios} scenarios with ${s.mismatchedStreams} mismatched streams, ${s.seconds.toFixed(1)} s`);
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  if (a.only !== undefined) {
    const ref = parseRef(a.only);
    const dir = a.keep ?? `difftest-${refName(ref).replace(/:/g, '-')}`;
    const { result, commands } = await runOne(ref, dir);
    console.log(`${refName(ref)}: ${result.streams} streams, ${result.diffs.length} differ; captures in ${dir}`);
    for (const d of result.diffs) console.log(`  ${d.key}: ${d.problems.join('; ')}`);
    console.log(`either side by hand (after npm run build):\n  ${commands.join('\n  ')}`);
    return result.diffs.length ? 1 : 0;
  }
  console.log(`difftest: run seed ${a.seed}, kinds ${a.selection.kinds.join(',')}, wraps ${a.selection.wraps.join(',')}, IPv6 share ${a.selection.ipv6Share}`);
  const shown = new Set<string>();
  const s = await runDifftest({
    seed: a.seed,
    selection: a.selection,
    count: a.count,
    seconds: a.seconds,
    batchSize: a.batch,
    from: a.from,
    keepDir: a.keep,
    onBatch: (results, total) => {
      // The first failure of each kind in full; later ones are counted in the summary.
      for (const r of results) {
        if (r.diffs.length && (a.allFailures || !shown.has(r.ref.kind))) {
          shown.add(r.ref.kind);
          console.log(describeFailure(r, { seed: a.seed, selection: a.selection, batchSize: a.batch }));
        }
      }
      process.stderr.write(`${total.scenarios} scenarios, ${total.streams} streams, ${total.failedScenarios} failing, ${total.seconds.toFixed(0)} s\n`);
    },
  });
  printSummary(s, a.seed);
  return s.failedScenarios ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(e.message);
    process.exit(2);
  },
);
