export {
  probeSchema,
  defaultConfig,
  loadConfig,
  validateRawConfig,
  parseCollectorUri,
  environmentVariables,
  overridablePaths,
  ConfigError,
  type LoadConfigOptions,
  type ProbeConfig,
  type CaptureConfig,
  type DecodeConfig,
  type RtpConfig,
  type SipConfig,
  type QosConfig,
  type ReportsConfig,
  type HepConfig,
  type HepCollectorConfig,
  type MetricsConfig,
  type LogConfig,
  type ProcessConfig,
} from './config.js';
export type { Problem } from './schema.js';
export { createLogger, rateLimitedWarn, type Logger, type RateLimitedWarn, type CreateLoggerOptions } from './log.js';
export { ProbeMetrics, MOS_BUCKETS, type CaptureState, type HealthBody } from './metrics.js';
export { startMetricsServer, type MetricsServer } from './http.js';
export { Lifecycle, exitCodeFor, type StopStep, type ReloadHandler, type LifecycleOptions } from './lifecycle.js';
export { ExitCode, type ExitCodeValue } from './exit-codes.js';
export {
  captureCapabilities,
  checkCaptureCapabilities,
  dropPrivileges,
  lookupUser,
  parseCapEff,
  hasCapability,
  PrivilegeError,
  CAP_NET_RAW,
  CAP_NET_ADMIN,
  type CaptureCapabilities,
} from './privileges.js';
export { opsRuntime, setOpsRuntime, type OpsRuntime } from './runtime.js';
