/**
 * Log lines of a live run that concern people: calls starting and ending, alert rules starting and
 * clearing. Each kind has a line budget (LINES per WINDOW_MS); beyond it lines are counted and one
 * summary line says how many were not written.
 */
import type { Logger } from 'pino';
import { endMayBeUndone } from '../sip/calls.js';
import { lineBudget, type LineBudget } from './log.js';
import type { AlertEvent, CallSource, LiveState, TrackedCall } from './live-state.js';

const LINES = 20;
const WINDOW_MS = 10_000;

interface Seen {
  state: TrackedCall['state'];
  createdMs: number;
  lastMs: number;
  /** Its media still lingers after its end: its streams have not ended yet. */
  lingering: boolean;
  /** Its `call started` line was written and its `call ended` line not yet. */
  open: boolean;
  /** Ended by a failure or CANCEL while a fork of its INVITE is still pending: another may answer. */
  mayBeUndone: boolean;
}

/** A call that ended, its line waiting for its streams' end reports. */
interface Ending {
  reason: string;
  status: number;
  createdMs: number;
  lastMs: number;
  /** A reading found its media no longer lingering: the line is written at the next one. */
  mediaRetired: boolean;
}

/** Compares the call table with its previous reading (once a second) and logs what changed. */
export class CallLog {
  private seen = new Map<string, Seen>();
  private readonly ending = new Map<string, Ending>();
  private readonly budget: LineBudget;

  constructor(
    private readonly log: Logger,
    private readonly live: LiveState,
  ) {
    this.budget = lineBudget(log, 'call lines', LINES, WINDOW_MS);
  }

  /**
   * `stopped`: the run ended (its streams have ended too); calls gone since the last reading were ended by
   * the stop, and every line still waiting is written.
   */
  poll(calls: CallSource, stopped = false): void {
    const now = new Map<string, Seen>();
    calls.forEach((c) => {
      const before = this.seen.get(c.callId);
      const s: Seen = {
        state: c.state,
        createdMs: c.createdMs,
        lastMs: c.lastMs,
        lingering: c.lingering !== null && c.lingering.length > 0,
        open: before?.open ?? false,
        mayBeUndone: c.state === 'ended' && endMayBeUndone(c),
      };
      now.set(c.callId, s);
      if (c.state !== 'ended') {
        // An error answer or CANCEL that another fork's answer overrode (the tracker reopened the call)
        // did not end it: its line waits for the real end.
        this.ending.delete(c.callId);
        if (!s.open) {
          this.started(c.callId, c.state);
          s.open = true;
        }
      } else if (before?.state !== 'ended' || before.lastMs !== c.lastMs) {
        // Ended since the last reading, or reopened and ended again in between (an ended call's lastMs
        // stays as it was): the latest end is the one logged.
        this.ending.set(c.callId, { reason: c.endReason ?? 'ended', status: c.endStatus, createdMs: c.createdMs, lastMs: c.lastMs, mediaRetired: false });
      }
    });
    // A call's streams end (HANGUP) when its media stops lingering after the BYE (sip.media_linger_s); with
    // media workers their reports reach this thread a moment later. The line waits for them: one reading
    // after the media retired, or once the call left the table. A failure or CANCEL while another fork of
    // the INVITE is still pending waits for that fork's final response (or for the table to forget the
    // call): its answer continues the call, which stays one call (one start, one end), as in its reports
    // and for tshark (one Call-ID).
    for (const [callId, e] of this.ending) {
      const c = now.get(callId);
      if (!stopped && c !== undefined && (c.mayBeUndone || !e.mediaRetired)) {
        e.mediaRetired = !c.lingering;
        continue;
      }
      this.ending.delete(callId);
      this.ended(callId, e.reason, e.status, e.createdMs, e.lastMs);
      if (c !== undefined) c.open = false;
    }
    // Gone without an 'ended' reading: expired (idle or max age) and freed at once, or evicted.
    for (const [callId, s] of this.seen) if (s.state !== 'ended' && !now.has(callId)) this.ended(callId, stopped ? 'stopped' : 'expired', 0, s.createdMs, s.lastMs);
    this.seen = now;
  }

  private started(callId: string, state: string): void {
    if (this.budget.take()) this.log.info({ callId, state }, 'call started');
  }

  private ended(callId: string, reason: string, status: number, createdMs: number, lastMs: number): void {
    const media = this.live.takeEndedCall(callId);
    if (!this.budget.take()) return;
    this.log.info(
      {
        callId,
        reason,
        status: status || undefined,
        durationS: Math.max(0, Math.round((lastMs - createdMs) / 1000)),
        streams: media?.streams ?? 0,
        worstMos: media?.worstMos || null,
      },
      'call ended',
    );
  }

  flush(): void {
    this.budget.flush();
  }
}

/** One line when an alert rule starts firing for a stream (warn) and when it clears (info). */
export class AlertLog {
  private readonly budget: LineBudget;

  constructor(private readonly log: Logger) {
    this.budget = lineBudget(log, 'alert lines', LINES, WINDOW_MS, undefined, 'warn');
  }

  event(e: AlertEvent): void {
    if (!this.budget.take()) return;
    const r = e.report;
    const fields = {
      rule: e.rule,
      callId: e.callId,
      src: e.stream.src,
      dst: e.stream.dst,
      ssrc: e.stream.ssrc,
      mos: Number(r.MOS),
      lossPct: Number(r.PACKET_LOSS_PCT),
      jitterMs: Number(r.JITTER),
    };
    if (e.event === 'ALERT') this.log.warn(fields, `alert ${e.rule} started`);
    else this.log.info({ ...fields, reason: e.reason }, `alert ${e.rule} cleared${e.reason === 'stream-ended' ? ' (stream ended)' : ''}`);
  }

  flush(): void {
    this.budget.flush();
  }
}
