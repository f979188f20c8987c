import type { ClearReason, QosReport } from './build.js';
import { captureSeconds, round3 } from './build.js';

/** What a call-level fault report says about the call: its ids and the media addresses its SDP named. */
export interface CallFaultReportInput {
  callId: string;
  /** A-leg Call-ID of a B2BUA leg, or null. */
  xcid: string | null;
  nodeName: string;
  /** Receive addresses from the caller's (side 0) and the callee's (side 1) SDP; '' and 0 when unknown. */
  callerIp: string;
  callerPort: number;
  calleeIp: string;
  calleePort: number;
  /** Capture time (ms) since which media is due: the answer (2xx), or the latest resume from hold. */
  dueFromMs: number;
}

/**
 * The ALERT (fault started) or CLEARED (media arrived, or the call ended) report of a call that has no
 * stream to report on (rule 'no-media'): the call's ids, the SDP addresses media was due between (SRC the
 * callee's, DST the caller's: the direction the answer promised first) and how long the call went without
 * media. SSRC 0, no counters: nothing was received.
 */
export function buildNoMediaReport(kind: 'ALERT' | 'CLEARED', c: CallFaultReportInput, rule: string, nowMs: number, clearReason: ClearReason = 'rule'): QosReport {
  const rep: QosReport = {
    CORRELATION_ID: c.callId,
    RTP_SIP_CALL_ID: c.callId,
    REPORT_TS: Math.floor(nowMs / 1000),
    TYPE: kind,
    ALERT_RULE: rule,
    SSRC: 0,
    SRC_IP: c.calleeIp,
    SRC_PORT: c.calleePort,
    DST_IP: c.callerIp,
    DST_PORT: c.callerPort,
    REPORT_NAME: c.calleeIp.includes(':') ? `[${c.calleeIp}]:${c.calleePort}` : `${c.calleeIp}:${c.calleePort}`,
    REPORT_START: captureSeconds(c.dueFromMs),
    REPORT_END: captureSeconds(nowMs),
    NO_MEDIA: kind === 'ALERT' ? 1 : 0,
    NO_MEDIA_MS: round3(nowMs - c.dueFromMs),
    NODE: c.nodeName,
    SYNTHETIC_ID: 0,
  };
  if (kind === 'CLEARED') rep.CLEAR_REASON = clearReason;
  if (c.xcid) rep.X_CID = c.xcid;
  return rep;
}
