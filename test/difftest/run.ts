/**
 * The differential test: seeded random field scenarios (src/gen/field-scenarios.ts), many per capture on
 * disjoint addresses, through tshark and through the probe's replay; every stream compared. A scenario is
 * named `KIND:WRAP:v4|v6:SEED`, and that name alone rebuilds it (`--only NAME`).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildFieldScenario, classicPcap, FIELD_KINDS, scenarioSeed, SeededRandom, WRAPS,
  type FieldKind, type FieldScenario, type Wrap,
} from '../../src/gen/index.js';
import { compareStreams, type StreamDiff } from './compare.js';
import { PROBE_SETTINGS, probeStreams } from './probe.js';
import { streamKey, tsharkArgs, tsharkStreams } from './tshark.js';

export interface ScenarioRef {
  kind: FieldKind;
  wrap: Wrap;
  ipv6: boolean;
  seed: number;
}

export function refName(r: ScenarioRef): string {
  return `${r.kind}:${r.wrap}:${r.ipv6 ? 'v6' : 'v4'}:${r.seed}`;
}

export function parseRef(name: string): ScenarioRef {
  const [kind, wrap, ip, seed] = name.split(':');
  if (!(FIELD_KINDS as readonly string[]).includes(kind)) throw new Error(`unknown scenario kind "${kind}" (kinds: ${FIELD_KINDS.join(', ')})`);
  if (!(WRAPS as readonly string[]).includes(wrap)) throw new Error(`unknown wrap "${wrap}" (wraps: ${WRAPS.join(', ')})`);
  if (ip !== 'v4' && ip !== 'v6') throw new Error(`"${ip}" is not v4 or v6`);
  if (!/^\d+$/.test(seed ?? '')) throw new Error(`"${seed}" is not a seed`);
  return { kind: kind as FieldKind, wrap: wrap as Wrap, ipv6: ip === 'v6', seed: +seed };
}

/** The command that replays one scenario alone and prints both sides. */
export function reproduceCommand(r: ScenarioRef): string {
  return `npm run difftest -- --only ${refName(r)}`;
}

export interface Selection {
  kinds: readonly FieldKind[];
  wraps: readonly Wrap[];
  /** Share of scenarios over IPv6 (0..1). */
  ipv6Share: number;
}

export const ALL: Selection = { kinds: FIELD_KINDS, wraps: WRAPS, ipv6Share: 0.25 };

/** Scenario `index` of run `runSeed`: kind, wrap and IP version drawn from the selection. */
export function pickScenario(runSeed: number, index: number, sel: Selection): ScenarioRef {
  const seed = scenarioSeed(runSeed, index);
  const r = new SeededRandom(seed);
  return { kind: sel.kinds[r.int(0, sel.kinds.length - 1)], wrap: sel.wraps[r.int(0, sel.wraps.length - 1)], ipv6: r.next() < sel.ipv6Share, seed };
}

export interface ScenarioResult {
  ref: ScenarioRef;
  /** Index of the scenario in its run, and of its batch's first scenario. */
  index: number;
  batchStart: number;
  /** Frames of the scenario's capture (its size: the smallest failure is the easiest to read). */
  frames: number;
  /** Streams tshark lists for the scenario. */
  streams: number;
  diffs: StreamDiff[];
}


const START_EPOCH_NS = 1_700_000_000n * 1_000_000_000n;
/** Scenario starts are spread so they overlap in time (as calls do) without starting together. */
const STAGGER_NS = 7_000_000;
/** Scenarios merged in time order; a scenario alone keeps its capture order (after a clock step back). */
function writeCapture(path: string, scenarios: FieldScenario[], reference: boolean): void {
  const frames = scenarios.flatMap((s) => (reference ? s.referenceFrames : s.frames));
  if (scenarios.length > 1) frames.sort((a, b) => a.tNs - b.tNs);
  writeFileSync(path, classicPcap(frames.map((f) => ({ tsNs: START_EPOCH_NS + BigInt(f.tNs), data: f.data }))));
}

/**
 * Runs scenarios side by side: signalled ones in one capture (tshark without heuristics), unsignalled ones
 * in another (tshark with heuristic RTP, reading the twin capture whose SIP declares the dynamic types'
 * clocks; unsignalled streams belong to no call whatever it says), and each one whose capture clock steps
 * alone (tshark reads the twin without the step); the probe replays each capture with its defaults.
 * Returns one result per scenario; `dir` keeps the captures.
 */
export async function runBatch(refs: ScenarioRef[], dir: string, firstIndex = 0): Promise<ScenarioResult[]> {
  const built = refs.map((ref, slot) => buildFieldScenario({ ...ref, slot, startNs: slot * STAGGER_NS }));
  const groups: Array<[string, boolean, FieldScenario[]]> = [
    ['signalled', false, built.filter((s) => !s.unsignalled && !s.ownCapture)],
    ['unsignalled', true, built.filter((s) => s.unsignalled && !s.ownCapture)],
    ...built.flatMap((s, i): Array<[string, boolean, FieldScenario[]]> => (s.ownCapture ? [[`alone-${i}`, s.unsignalled, [s]]] : [])),
  ];
  const owner = new Map<string, number>();
  built.forEach((s, i) => s.addresses.forEach((a) => owner.set(a, i)));
  const results: ScenarioResult[] = refs.map((ref, i) => ({ ref, index: firstIndex + i, batchStart: firstIndex, frames: built[i].frames.length, streams: 0, diffs: [] }));
  for (const [name, unsignalled, list] of groups) {
    if (list.length === 0) continue;
    const file = join(dir, `${name}.pcap`);
    const twin = list.some((s) => s.referenceFrames !== s.frames);
    const refFile = twin ? join(dir, `${name}-reference.pcap`) : file;
    writeCapture(file, list, false);
    if (twin) writeCapture(refFile, list, true);
    const reference = tsharkStreams(refFile, unsignalled);
    const ours = await probeStreams(file);
    const theirs = await reference;
    for (const row of theirs) {
      const i = owner.get(row.src) ?? owner.get(row.dst);
      if (i !== undefined) results[i].streams++;
      if (unsignalled) row.callId = '';
      // The reference must know every generated stream's clock, or its jitter would go unchecked.
      if (i !== undefined && row.minJitter === -1 && row.minDelta !== -1) results[i].diffs.push({ key: streamKey(row.src, row.srcPort, row.dst, row.dstPort, row.ssrc), problems: ['reference: tshark has no clock for this stream (harness)'] });
    }
    for (const d of compareStreams(theirs, ours).diffs) {
      const ip = d.key.slice(0, d.key.lastIndexOf(':', d.key.indexOf('>')));
      const i = owner.get(ip);
      if (i === undefined) throw new Error(`stream ${d.key} belongs to no scenario`);
      results[i].diffs.push(d);
    }
  }
  return results;
}

export interface RunOptions {
  seed: number;
  selection: Selection;
  /** Index of the first scenario (default 0): a batch is rebuilt from the run seed and its first index. */
  from?: number;
  /** Where the captures of batches with a failure are kept (default: nowhere). */
  keepDir?: string;
  /** Stop after this many scenarios... */
  count?: number;
  /** ...or once this many seconds have passed (whichever comes first). */
  seconds?: number;
  batchSize?: number;
  /** Called after each batch. */
  onBatch?: (results: ScenarioResult[], total: RunSummary) => void;
}

export interface KindFigures {
  scenarios: number;
  streams: number;
  failedScenarios: number;
  mismatchedStreams: number;
  /** The failing scenario with the fewest frames. */
  smallestFailure?: ScenarioResult;
}

export interface RunSummary {
  scenarios: number;
  streams: number;
  mismatchedStreams: number;
  failedScenarios: number;
  byKind: Map<string, KindFigures>;
  failures: ScenarioResult[];
  seconds: number;
}

function tally(into: Map<string, KindFigures>, name: string, r: ScenarioResult): void {
  let k = into.get(name);
  if (!k) into.set(name, (k = { scenarios: 0, streams: 0, failedScenarios: 0, mismatchedStreams: 0 }));
  k.scenarios++;
  k.streams += r.streams;
  if (r.diffs.length) {
    k.failedScenarios++;
    k.mismatchedStreams += r.diffs.length;
    if (!k.smallestFailure || r.frames < k.smallestFailure.frames) k.smallestFailure = r;
  }
}

/** Batches of seeded scenarios until `count` or `seconds` is reached. */
export async function runDifftest(o: RunOptions): Promise<RunSummary> {
  const started = Date.now();
  const batchSize = o.batchSize ?? 50;
  const summary: RunSummary = { scenarios: 0, streams: 0, mismatchedStreams: 0, failedScenarios: 0, byKind: new Map(), failures: [], seconds: 0 };
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-difftest-'));
  try {
    const from = o.from ?? 0;
    let index = from;
    for (;;) {
      const left = o.count !== undefined ? from + o.count - index : batchSize;
      if (left <= 0 || (o.seconds !== undefined && Date.now() - started >= o.seconds * 1000)) break;
      const refs: ScenarioRef[] = [];
      const batchStart = index;
      for (let i = 0; i < Math.min(batchSize, left); i++) refs.push(pickScenario(o.seed, index++, o.selection));
      const results = await runBatch(refs, dir, batchStart);
      if (o.keepDir !== undefined && results.some((r) => r.diffs.length)) {
        const keep = join(o.keepDir, `batch-${batchStart}`);
        mkdirSync(keep, { recursive: true });
        for (const f of readdirSync(dir)) copyFileSync(join(dir, f), join(keep, f));
      }
      for (const r of results) {
        summary.scenarios++;
        summary.streams += r.streams;
        tally(summary.byKind, r.ref.kind, r);
        tally(summary.byKind, `wrap ${r.ref.wrap}`, r);
        tally(summary.byKind, r.ref.ipv6 ? 'ipv6' : 'ipv4', r);
        if (r.diffs.length) {
          summary.failedScenarios++;
          summary.mismatchedStreams += r.diffs.length;
          summary.failures.push(r);
        }
      }
      summary.seconds = (Date.now() - started) / 1000;
      o.onBatch?.(results, summary);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}

/** One scenario alone, its captures kept in `dir`, with the commands that show each side. */
export async function runOne(ref: ScenarioRef, dir: string): Promise<{ result: ScenarioResult; file: string; commands: string[] }> {
  mkdirSync(dir, { recursive: true });
  const [result] = await runBatch([ref], dir);
  const s = buildFieldScenario({ ...ref, slot: 0, startNs: 0 });
  const unsignalled = s.unsignalled;
  const name = s.ownCapture ? 'alone-0' : unsignalled ? 'unsignalled' : 'signalled';
  const file = join(dir, `${name}.pcap`);
  const commands = [
    `tshark ${tsharkArgs(s.referenceFrames !== s.frames ? join(dir, `${name}-reference.pcap`) : file, unsignalled).join(' ')} -q -z rtp,streams`,
    `node dist/cli.js replay ${file} --no-hep --jsonl - ${PROBE_SETTINGS.map((s) => `--set ${s}`).join(' ')} --log-level warn`,
  ];
  return { result, file, commands };
}

/** The flags that draw the same scenarios from a run seed. */
export function selectionFlags(sel: Selection): string {
  return `--kinds ${sel.kinds.join(',')} --wraps ${sel.wraps.join(',')} --ipv6-share ${sel.ipv6Share}`;
}

/**
 * One line per problem of a failing scenario, with the commands that reproduce it: alone, and in its
 * batch (a scenario that passes alone fails through what the others in its capture do to the probe).
 */
export function describeFailure(r: ScenarioResult, run?: { seed: number; selection: Selection; batchSize: number }): string {
  const lines = [`${refName(r.ref)}: ${r.diffs.length} of ${r.streams} streams differ  (reproduce: ${reproduceCommand(r.ref)})`];
  if (run) {
    lines.push(`  in its batch: npm run difftest -- --seed ${run.seed} --from ${r.batchStart} --count ${run.batchSize} --batch ${run.batchSize} ${selectionFlags(run.selection)} --all-failures --keep DIR`);
  }
  for (const d of r.diffs) lines.push(`  ${d.key}: ${d.problems.join('; ')}`);
  return lines.join('\n');
}
