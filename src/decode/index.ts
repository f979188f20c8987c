export { DecodedPacket } from './packet.js';
export { PacketDecoder, type DecoderOptions } from './decoder.js';
export { MalformedReason, malformedReasonNames, ProtocolCounter, protocolCounterNames, TunnelType } from './counters.js';
export { addressToString, ipToString, ipv6ToString, macToString } from './text.js';
export { FlowTable } from './flow-table.js';
export { formatCaptureSummary, formatTimestamp, summarizeCapture, type CaptureSummary, type FlowSummary } from './summary.js';
