export { couldStartSip, looksLikeSip, SipPortSet } from './detect.js';
export { SipParser, ParsedSipMessage, SIP_VALUE_LIMITS, findHeaderEnd, sdpFromMultipart, type SipMessage, type MalformedReason, type SipParserOptions } from './message.js';
export { parseSdp, parseSdpBytes, SDP_TEXT_LIMITS, STATIC_PAYLOADS, type SdpSession, type SdpMedia, type PayloadFormat, type MediaDirection } from './sdp.js';
export { parseIpWords, parseIpv4, isPrivateAddress, isUnspecifiedAddress, formatIpWords } from './ip.js';
export { BindingTable, type MediaBinding } from './bindings.js';
export { carriesAudio } from './bundle.js';
export { SipTcpReassembler, type TcpStats } from './tcp.js';
export { SipBacklog, SIP_WAITING_LIMIT } from './backlog.js';
export {
  CallTracker,
  CALL_EVICTION_KINDS,
  MAX_MEDIA_PER_SIDE,
  type CallEvictionKind,
  type CallTrackerHooks,
  type CallTrackerOptions,
  type CallTrackerStats,
  type CallEndReason,
  type BindingRetireReason,
  type SipCall,
  type CallState,
} from './calls.js';
