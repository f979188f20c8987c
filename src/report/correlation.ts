import type { StreamSnapshot } from '../rtp/snapshot.js';

/**
 * What to do with a stream whose SIP Call-ID is unknown (no SIP seen, or SDP not matched):
 *  - 'synthetic': report under a deterministic id built from the 5-tuple and SSRC (HOMER drops reports
 *    with an empty correlation id, so it needs one; the same stream always gets the same id);
 *  - 'log': build the report (with the synthetic id) for the local log / JSON-lines output only, no HEP;
 *  - 'drop': report nothing.
 */
export type UnknownCallIdPolicy = 'synthetic' | 'log' | 'drop';

export const UNKNOWN_CALL_ID_POLICIES: readonly UnknownCallIdPolicy[] = ['synthetic', 'log', 'drop'];

/** 'rtpprobe-<srcip>-<sport>-<dstip>-<dport>-<ssrc as 8 hex digits>'. */
export function syntheticCallId(s: Pick<StreamSnapshot, 'srcIp' | 'srcPort' | 'dstIp' | 'dstPort' | 'ssrc'>): string {
  return `rtpprobe-${s.srcIp}-${s.srcPort}-${s.dstIp}-${s.dstPort}-${(s.ssrc >>> 0).toString(16).padStart(8, '0')}`;
}

export interface CorrelationDecision {
  correlationId: string;
  synthetic: boolean;
  /** Send to HOMER over HEP. */
  send: boolean;
  /** Write to the local outputs (log / JSON lines). */
  log: boolean;
}

/** True when a stream's reports go to the collectors under `policy`: decideCorrelation's `send`. */
export function reportsSent(callId: string | null | undefined, policy: UnknownCallIdPolicy): boolean {
  return !!callId || policy === 'synthetic';
}

/** True when a stream's reports go anywhere (sent or logged) under `policy`: decideCorrelation's `log`. */
export function reportsKept(callId: string | null | undefined, policy: UnknownCallIdPolicy): boolean {
  return !!callId || policy !== 'drop';
}

export function decideCorrelation(callId: string | null | undefined, policy: UnknownCallIdPolicy, s: Pick<StreamSnapshot, 'srcIp' | 'srcPort' | 'dstIp' | 'dstPort' | 'ssrc'>): CorrelationDecision {
  if (callId) return { correlationId: callId, synthetic: false, send: true, log: true };
  const id = syntheticCallId(s);
  if (policy === 'synthetic') return { correlationId: id, synthetic: true, send: true, log: true };
  if (policy === 'log') return { correlationId: id, synthetic: true, send: false, log: true };
  return { correlationId: id, synthetic: true, send: false, log: false };
}
