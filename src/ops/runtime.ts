/**
 * What the CLI sets up for the probe before calling it: the logger, the lifecycle (stop/reload hooks) and
 * the metrics. The probe's functions keep the signatures the CLI calls (runLive(config, log), ...) and pick
 * these up with opsRuntime(); undefined when the probe runs without the CLI (tests, embedding).
 */
import type { Logger } from 'pino';
import type { Lifecycle } from './lifecycle.js';
import type { ProbeMetrics } from './metrics.js';
import type { MetricsServer } from './http.js';

export interface OpsRuntime {
  log: Logger;
  lifecycle: Lifecycle;
  /** Undefined when metrics.enabled is false. */
  metrics: ProbeMetrics | undefined;
  /** The /metrics + /healthz server, when metrics are enabled. */
  metricsServer?: MetricsServer;
}

let current: OpsRuntime | undefined;

export function setOpsRuntime(rt: OpsRuntime | undefined): void {
  current = rt;
}

export function opsRuntime(): OpsRuntime | undefined {
  return current;
}
