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
  /** Configuration reload: opens the new collectors, switches reports to them, drains the old ones. */
  replaceCollectors(config: ProbeConfig, drainMs: number): Promise<void>;
  jsonl: JsonLinesOutput | null;
  /** Drains the HEP queues within the deadline and flushes the JSON-lines file. */
  close(deadlineMs: number): Promise<void>;
}

/** `onFinalReport` receives every FINAL and HANGUP report (the replay's closing table). */
export function openOutputs(config: ProbeConfig, onFinalReport?: (r: QosReport) => void): Outputs {
  const j = config.reports.jsonl;
  const jsonl = j.enabled ? new JsonLinesOutput(j.path) : null;
  const hep = openHep(config);
  const sink = new ReportSink({ hep, qosHepType: config.reports.qosHepType, sendRtcp: config.reports.sendRtcp, jsonl, onFinalReport });
  const outputs: Outputs = {
    sink,
    hep,
    jsonl,
    async replaceCollectors(next: ProbeConfig, drainMs: number) {
      const old = outputs.hep;
      outputs.hep = openHep(next);
      sink.setHep(outputs.hep);
      await old?.close(drainMs);
    },
    async close(deadlineMs: number) {
      await Promise.all([outputs.hep?.close(deadlineMs), jsonl?.close()]);
    },
  };
  return outputs;
}

function openHep(config: ProbeConfig): HepSender | null {
  const h = config.hep;
  if (!h.enabled || h.collectors.length === 0) return null;
  return new HepSender({
    collectors: h.collectors.map(collectorOptions),
    captureId: h.captureId,
    authKey: h.authKey || undefined,
    nodeName: h.nodeName || undefined,
  });
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
