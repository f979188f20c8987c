export * from './qos-state.js';
export * from './build.js';
export * from './correlation.js';
export * from './codec-names.js';
export * from './metrics-scope.js';
export * from './rules.js';
export * from './scheduler.js';
export * from './jsonl-output.js';
