import type { Logger } from 'pino';
import { SIP_WARN_INTERVAL_MS } from './call-evictions.js';

/**
 * SIP over TCP the reassembler could not hand on (the tcp-* reasons of CallTrackerStats.malformed): told in
 * a warning, per file in a replay and at most once per SIP_WARN_INTERVAL_MS in a live run, as the calls they
 * belong to miss messages and HOMER does not get them.
 */

/** The TCP reassembler's counts among the SIP not-used reasons, those above `since` (absent: 0), by reason. */
export function sipTcpLosses(malformed: Readonly<Record<string, number>>, since: Readonly<Record<string, number>> = {}): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [reason, n] of Object.entries(malformed)) {
    const more = n - (since[reason] ?? 0);
    if (reason.startsWith('tcp-') && more > 0) out[reason] = more;
  }
  return out;
}

/** The warning for `lost` (sipTcpLosses) at `where` (a file, an interface). */
export function sipTcpLossMessage(where: string, lost: Readonly<Record<string, number>>): string {
  const total = Object.values(lost).reduce((a, b) => a + b, 0);
  return (
    `${where}: ${total} SIP messages over TCP not read: longer than 64 KiB (tcp-too-long), bytes the capture lost (tcp-gap), ` +
    'a stream out of step after a wrong Content-Length (tcp-desync) or a connection ended halfway through one (tcp-incomplete); ' +
    'their calls miss them and HOMER does not get them (counted in sipMalformed and rtpprobe_sip_malformed_total)'
  );
}

/** Replay: one warning for what a file lost (`before`: the counts when it began). */
export function warnSipTcpLosses(log: Logger, file: string, malformed: Readonly<Record<string, number>>, before: Readonly<Record<string, number>>): void {
  const lost = sipTcpLosses(malformed, before);
  if (Object.keys(lost).length > 0) log.warn({ lost }, sipTcpLossMessage(file, lost));
}

/** Live capture: a check for each tick that warns of the losses since its last line, one line per 10 s at most. */
export function sipTcpLossWatch(log: Logger, where: string, malformed: () => Readonly<Record<string, number>>): (nowMs?: number) => void {
  let told: Record<string, number> = {};
  let lastMs = -Infinity;
  return (nowMs = performance.now()) => {
    if (nowMs - lastMs < SIP_WARN_INTERVAL_MS) return;
    const counts = malformed();
    const lost = sipTcpLosses(counts, told);
    if (Object.keys(lost).length === 0) return;
    told = { ...counts };
    lastMs = nowMs;
    log.warn({ lost }, sipTcpLossMessage(where, lost));
  };
}
