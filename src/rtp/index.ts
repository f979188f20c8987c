export * from './snapshot.js';
export { RtpEngine, RtpEngineCounters } from './engine.js';
export type { RtpEngineOptions, RtpEngineHooks, RtpHeuristicOptions, StateBreakdown } from './engine.js';
export { EndReason, endReasonName } from './reasons.js';
export { PayloadKind, staticClockRate, staticPayloadKind, payloadKindOfEncoding } from './payload-types.js';
export { rtpHeaderLength, rtpPaddingLength, isRtpCandidate } from './rtp-header.js';
export { GMIN } from './loss-model.js';
export { ClockSource, clockSourceName, INFER_CLOCKS } from './clock-inference.js';
