export { DecodedPacket } from './packet.js';
export { PacketDecoder, type DecoderOptions } from './decoder.js';
export { MalformedReason, malformedReasonNames, ProtocolCounter, protocolCounterNames, TunnelType } from './counters.js';
export { ipToString, macToString } from './text.js';
