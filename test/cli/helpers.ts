/**
 * The real command in a child process: src/cli.ts bundled with esbuild (as the published dist/cli.js runs),
 * the native addon found through RTPPROBE_PCAP_ADDON. Tests run it with real files, pipes, FIFOs and signals.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { tsharkStreamRows } from '../rtp/helpers.js';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const CAPTURES = fileURLToPath(new URL('../../../shared/captures/', import.meta.url));
export const ADDON = join(root, 'src/capture/native/build/Release/rtpprobe_pcap.node');

/** Bundles the CLI into a fresh directory; returns the bundle's path. */
export async function bundleCli(): Promise<{ bundle: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-cli-'));
  mkdirSync(join(dir, 'dist'));
  // cli reads ../package.json relative to itself, as dist/cli.js does.
  copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
  const bundle = join(dir, 'dist', 'cli.mjs');
  await build({
    entryPoints: [join(root, 'src/cli.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
    external: ['cap'],
    banner: { js: "import { createRequire as bundleCreateRequire } from 'node:module'; const require = bundleCreateRequire(import.meta.url);" },
  });
  return { bundle, dir };
}

export const childEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, RTPPROBE_PCAP_ADDON: ADDON });

/** Runs `node bundle args...` to completion. */
export function runCliSync(bundle: string, args: string[], opts: { input?: Buffer | string; cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [bundle, ...args], { encoding: 'utf8', env: childEnv(), input: opts.input, cwd: opts.cwd, maxBuffer: 64 << 20, timeout: 120_000 });
}

/** Runs a shell pipeline (sh -c) with `rtpprobe` meaning the bundle. */
export function shell(bundle: string, script: string, cwd?: string): SpawnSyncReturns<string> {
  return spawnSync('sh', ['-c', `rtpprobe() { "${process.execPath}" "${bundle}" "$@"; }\n${script}`], { encoding: 'utf8', env: childEnv(), cwd, maxBuffer: 64 << 20, timeout: 120_000 });
}

/** A child that keeps running: its output collected, its exit awaited. */
export function startCli(bundle: string, args: string[]) {
  const child = spawn(process.execPath, [bundle, ...args], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, out, exited };
}

/** The data rows of the text stream table (header dropped), split on runs of spaces. */
export function tableRows(text: string): string[][] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.slice(1).map((l) => l.trim().split(/\s{2,}/));
}

/** tshark's `-z rtp,streams`: packets per stream keyed "src:port>dst:port#ssrc". */
export function tsharkStreams(file: string): Map<string, number> {
  const r = spawnSync('tshark', ['-n', '-r', file, '-q', '-z', 'rtp,streams'], { encoding: 'utf8' });
  const m = new Map<string, number>();
  for (const row of tsharkStreamRows(r.stdout, `tshark -z rtp,streams -r ${file} (${r.stderr.trim()})`)) {
    m.set(`${row.src}:${row.srcPort}>${row.dst}:${row.dstPort}#0x${row.ssrc.toString(16).toUpperCase().padStart(8, '0')}`, row.packets);
  }
  return m;
}

/** Our table's packets per stream, same keys as tsharkStreams. */
export function ourStreams(table: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of tableRows(table)) m.set(`${r[0]}>${r[1]}#${r[2]}`, Number(r[4]));
  return m;
}
