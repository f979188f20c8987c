import type { Logger } from 'pino';
import type { ProbeMetrics } from '../ops/metrics.js';
import { rateLimitedWarn } from '../ops/log.js';
import { SIP_VALUE_LIMITS, type CallEvictionKind } from '../sip/index.js';

/** One warning line per this long at most while SIP keeps being lost (calls evicted, messages refused or dropped). */
export const SIP_WARN_INTERVAL_MS = 10_000;

/**
 * What the probe does when a full call table evicts a call: counts it by kind
 * (rtpprobe_sip_calls_evicted_total) and warns, rate-limited, with the counts since the last line. A
 * call with media being evicted means the table is too small for the calls really up (or a flood of
 * answered dialogs): the line says so.
 */
export function callEvictionReporter(log: Logger, metrics: ProbeMetrics | undefined): (kind: CallEvictionKind, callId: string) => void {
  const warn = rateLimitedWarn(log, 'sip-call-evicted', SIP_WARN_INTERVAL_MS);
  const since: Record<CallEvictionKind, number> = { ended: 0, unanswered: 0, answered: 0, media: 0, refused: 0 };
  return (kind, callId) => {
    metrics?.callEvicted(kind);
    since[kind]++;
    const before = warn.suppressed;
    warn(
      since.media + since.refused > 0
        ? 'SIP call table full of calls with media: new calls not tracked or idle ones evicted (raise sip.max_calls)'
        : 'SIP call table full: evicting calls without media (INVITE flood or sip.max_calls too small)',
      { evicted: { ...since }, lastCallId: callId },
    );
    if (warn.suppressed === before) for (const k of Object.keys(since) as CallEvictionKind[]) since[k] = 0; // a line went out: count afresh
  };
}

/**
 * SIP messages refused for a Call-ID, X-CID or tag past its bound (SIP_VALUE_LIMITS): warned, rate-limited,
 * with the count since the last line. Their calls are not tracked (a flood, or a UA far off the norm).
 */
export function sipValueTooLongReporter(log: Logger): () => void {
  const warn = rateLimitedWarn(log, 'sip-value-too-long', SIP_WARN_INTERVAL_MS);
  let since = 0;
  return () => {
    since++;
    const before = warn.suppressed;
    warn(sipValueTooLongMessage(since), { refused: since });
    if (warn.suppressed === before) since = 0;
  };
}

/** The warning for `n` SIP messages refused for a value past its bound. */
export function sipValueTooLongMessage(n: number): string {
  const l = SIP_VALUE_LIMITS;
  return `${n} SIP messages refused: a Call-ID or A-leg id (sip.correlation_headers) longer than ${l.callIdBytes} bytes or a tag longer than ${l.tagBytes}; their calls are not tracked`;
}

/**
 * SIP packets the live capture could not queue (SIP backlog full, or with media workers the SIP waiting for
 * the main thread at its limit) or gave up to make room for media (more SIP than the probe parses while
 * keeping up with the media): `n` more, counted (rtpprobe_sip_messages_dropped_total) and warned,
 * rate-limited, with the count since the last line. Their calls may miss media bindings or their end.
 */
export function sipDropReporter(log: Logger, metrics: ProbeMetrics | undefined): (n?: number) => void {
  const warn = rateLimitedWarn(log, 'sip-backlog-full', SIP_WARN_INTERVAL_MS);
  let since = 0;
  return (n = 1) => {
    metrics?.sipDropped(n);
    since += n;
    const before = warn.suppressed;
    warn('SIP dropped: more SIP than the probe parses while keeping up with the media (SIP backlog full)', { dropped: since });
    if (warn.suppressed === before) since = 0;
  };
}
