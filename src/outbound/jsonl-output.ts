/** QoS reports and ALERTs as JSON lines on a file or standard output (reports.jsonl). */
import type { ProbeConfig } from '../ops/config.js';
import { outputFileProblem } from '../ops/output-file.js';
import { JsonLinesOutput } from '../report/index.js';
import type { EventKind, OutboundEvent } from './events.js';
import type { DestinationStats, Output, OutputLog } from './output.js';

export class JsonlOutput implements Output {
  readonly name = 'jsonl';
  readonly scope = 'local' as const;

  constructor(
    readonly file: JsonLinesOutput,
    private readonly label: string,
  ) {}

  wants(kind: EventKind): boolean {
    return kind === 'qos' || kind === 'alert';
  }

  write(e: OutboundEvent): void {
    if (e.kind === 'qos' || e.kind === 'alert') this.file.writeLine(e.json);
  }

  room(): Promise<void> | null {
    return this.file.room();
  }

  stats(): DestinationStats[] {
    const f = this.file;
    // A failed write is retried, not lost: lines lost for good are counted as dropped.
    return [{ name: this.label, sent: f.writtenLines, failed: 0, errors: f.errors, dropped: f.dropped, queued: f.pendingLines, up: f.writable, lastError: f.lastError }];
  }

  close(deadlineMs: number): Promise<void> {
    return this.file.close(deadlineMs);
  }
}

/** The JSON-lines output of a configuration, or null when reports.jsonl.enabled is false. */
export function openJsonlOutput(config: ProbeConfig, log: OutputLog): JsonlOutput | null {
  const j = config.reports.jsonl;
  if (!j.enabled) return null;
  const label = j.path === '-' || j.path === 'stdout' ? 'stdout' : j.path;
  const problem = label === 'stdout' ? undefined : outputFileProblem(j.path);
  if (problem) throw Object.assign(new Error(`cannot write the JSON-lines file ${j.path}: ${problem}`), { exitCode: 2 });
  // Room for every stream's FINAL at shutdown (~1.5 KB each) while the writes catch up.
  const maxBufferedBytes = Math.max(16 << 20, config.rtp.maxStreams * 2048);
  return new JsonlOutput(new JsonLinesOutput(j.path, { log, maxBufferedBytes }), label);
}
