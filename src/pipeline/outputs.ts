import { readFileSync } from 'node:fs';
import { HepSender } from '../hep/index.js';
import type { HepCollectorConfig } from '../hep/index.js';
import type { ProbeConfig } from '../ops/config.js';
import { JsonLinesOutput } from '../report/index.js';
import type { QosReport } from '../report/index.js';
import { ReportSink } from './report-sink.js';

/** The report destinations the configuration asks for, opened once at start. */
export interface Outputs {
  sink: ReportSink;
  hep: HepSender | null;
  jsonl: JsonLinesOutput | null;
  /** Drains the HEP queues within the deadline and flushes the JSON-lines file. */
  close(deadlineMs: number): Promise<void>;
}

export function openOutputs(config: ProbeConfig, onReport?: (r: QosReport) => void): Outputs {
  const h = config.hep;
  const hep =
    h.enabled && h.collectors.length > 0
      ? new HepSender({
          collectors: h.collectors.map(collectorOptions),
          captureId: h.captureId,
          authKey: h.authKey || undefined,
          nodeName: h.nodeName || undefined,
        })
      : null;
  const j = config.reports.jsonl;
  const jsonl = j.enabled ? new JsonLinesOutput(j.path) : null;
  const sink = new ReportSink({ hep, qosHepType: config.reports.qosHepType, sendRtcp: config.reports.sendRtcp, jsonl, onReport });
  return {
    sink,
    hep,
    jsonl,
    async close(deadlineMs: number) {
      await Promise.all([hep?.close(deadlineMs), jsonl?.close()]);
    },
  };
}

type CollectorSetting = ProbeConfig['hep']['collectors'][number];

function collectorOptions(c: CollectorSetting): HepCollectorConfig {
  const pem = (path: string) => (path ? readFileSync(path) : undefined);
  return {
    host: c.host,
    port: c.port,
    transport: c.transport,
    queueSize: c.queueSize,
    name: `${c.transport}://${c.host.includes(':') ? `[${c.host}]` : c.host}:${c.port}`,
    tls:
      c.transport === 'tls'
        ? { ca: pem(c.tls.ca), cert: pem(c.tls.cert), key: pem(c.tls.key), servername: c.tls.servername || undefined, rejectUnauthorized: c.tls.rejectUnauthorized }
        : undefined,
  };
}
