/** QoS reports and ALERTs as JSON lines on a file or standard output (reports.jsonl). */
import type { ProbeConfig } from '../ops/config.js';
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

  stats(): DestinationStats[] {
    const f = this.file;
    return [{ name: this.label, sent: f.lines - f.pendingLines, failed: f.errors, dropped: f.dropped, queued: f.pendingLines, up: f.writable, lastError: f.lastError }];
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
  return new JsonlOutput(new JsonLinesOutput(j.path, { log }), label);
}
