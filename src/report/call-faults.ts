/**
 * Media faults of answered calls that are not loss, checked once per tick of capture time:
 *  - no-media:   media has been due for `noMediaMs` and no audio arrived in either direction since;
 *  - one-way-rtp: audio arrived in one direction within the last `oneWayMs` and none in the other for
 *                 as long (media due at least that long).
 * Media is due from the answer, and again from a resume: a call its SDP held is watched afresh once its
 * SDP makes the audio flow both ways again (resumed), what arrived before the hold no longer counting.
 * A fault is announced when it starts and when it ends (media arrived, the other direction came back, or
 * the call ended), so each gives one ALERT and one CLEARED report. Calls the SDP puts on hold, sendonly,
 * recvonly or inactive are exempt (one-way or no media is what they asked for), and so are calls whose SDP
 * binds no audio the probe measures (no RTP is due).
 *
 * Directions: 0 = caller to callee, 1 = callee to caller (see mediaDirection).
 */
import type { ClearReason } from './build.js';

export const CALL_FAULT_NO_MEDIA = 'no-media';
export const CALL_FAULT_ONE_WAY = 'one-way-rtp';

export interface CallFaultLimits {
  /** 0 = off. */
  noMediaMs: number;
  oneWayMs: number;
}

/** The call an event is about (a view the checker reuses: read it during the call only). */
export interface WatchedCall {
  callIndex: number;
  /** Capture time (ms) since which media is due: the answer, or the latest resume from hold. */
  dueFromMs: number;
}

export interface CallFaultEvents {
  /** `dir` is the flowing direction for one-way-rtp, -1 for no-media. */
  started(call: WatchedCall, fault: string, dir: number, nowMs: number): void;
  /** `reason`: 'rule' when the condition ended, 'stream-ended' when the call ended while it held. */
  cleared(call: WatchedCall, fault: string, dir: number, nowMs: number, reason: ClearReason): void;
  /** True when the call's SDP makes one-way or no media intended (hold, sendonly, inactive), or binds no audio. */
  exempt(callIndex: number): boolean;
}

/**
 * The RTP direction of a stream from its SDP match: DIR 0 flows towards the address PARTY announced,
 * DIR 1 from it; towards the callee (party 1) or from the caller (party 0) is caller to callee.
 */
export function mediaDirection(dir: number, party: number): number {
  return (dir === 0) === (party === 1) ? 0 : 1;
}

/**
 * The answered calls still running, in arrays by call index (allocated once for the call table's size:
 * nothing per call), and a dense list of them for the checks.
 */
export class CallFaults {
  private readonly dueFromMs: Float64Array;
  /** Latest audio arrival per direction (ms), 0 when none since media became due. */
  private readonly last0: Float64Array;
  private readonly last1: Float64Array;
  /**
   * Latest audio of another call on this call's media addresses (a B2BUA that moved both legs' media to
   * one direct path: the streams join the leg whose SDP named the addresses last), 0 when none. It counts
   * as media for no-media; its direction in this call is unknown, so it plays no part in one-way.
   */
  private readonly sharedMs: Float64Array;
  /** 1 while a no-media fault is open. */
  private readonly noMedia: Uint8Array;
  /** Direction that flows alone while the one-way fault lasts, -1 when none. */
  private readonly oneWayDir: Int8Array;
  /** The watched calls (first `count`), and each call's place there (-1 when not watched). */
  private readonly list: Int32Array;
  private readonly pos: Int32Array;
  private count = 0;
  private readonly view: WatchedCall = { callIndex: -1, dueFromMs: 0 };

  constructor(
    public limits: CallFaultLimits,
    maxCalls: number,
  ) {
    this.dueFromMs = new Float64Array(maxCalls);
    this.last0 = new Float64Array(maxCalls);
    this.last1 = new Float64Array(maxCalls);
    this.sharedMs = new Float64Array(maxCalls);
    this.noMedia = new Uint8Array(maxCalls);
    this.oneWayDir = new Int8Array(maxCalls).fill(-1);
    this.list = new Int32Array(maxCalls);
    this.pos = new Int32Array(maxCalls).fill(-1);
  }

  /** Calls watched. */
  get size(): number {
    return this.count;
  }

  answered(callIndex: number, nowMs: number): void {
    if (this.limits.noMediaMs <= 0 && this.limits.oneWayMs <= 0) return;
    if (callIndex < 0 || callIndex >= this.pos.length) return;
    if (this.pos[callIndex] < 0) {
      this.pos[callIndex] = this.count;
      this.list[this.count++] = callIndex;
    }
    this.dueFromMs[callIndex] = nowMs;
    this.last0[callIndex] = 0;
    this.last1[callIndex] = 0;
    this.sharedMs[callIndex] = 0;
    this.noMedia[callIndex] = 0;
    this.oneWayDir[callIndex] = -1;
  }

  /**
   * The call's SDP makes its audio flow both ways again after holding it (or binding none): media is due
   * from `nowMs`, as after an answer. A fault in progress is left to the next check (a no-media fault stays
   * until media arrives).
   */
  resumed(callIndex: number, nowMs: number): void {
    if (!this.watching(callIndex)) return;
    this.dueFromMs[callIndex] = nowMs;
    this.last0[callIndex] = 0;
    this.last1[callIndex] = 0;
    this.sharedMs[callIndex] = 0;
  }

  /** Audio of the call arrived in `dir` at `atMs` (the stream's latest packet). */
  media(callIndex: number, dir: number, atMs: number): void {
    if (!this.watching(callIndex) || atMs < this.dueFromMs[callIndex]) return;
    const last = dir === 0 ? this.last0 : this.last1;
    if (atMs > last[callIndex]) last[callIndex] = atMs;
  }

  /** Audio of another call on this call's media addresses arrived at `atMs` (see sharedMs). */
  sharedMedia(callIndex: number, atMs: number): void {
    if (this.watching(callIndex) && atMs >= this.dueFromMs[callIndex] && atMs > this.sharedMs[callIndex]) this.sharedMs[callIndex] = atMs;
  }

  /**
   * The call ended: an open no-media fault is cleared (nothing else would end it); a one-way fault ends
   * with its streams, whose final reports keep ONE_WAY_RTP 1.
   */
  ended(callIndex: number, nowMs: number, ev: CallFaultEvents): void {
    if (!this.watching(callIndex)) return;
    const open = this.noMedia[callIndex] === 1;
    const dueFromMs = this.dueFromMs[callIndex];
    const i = this.pos[callIndex];
    const moved = this.list[--this.count];
    this.list[i] = moved;
    this.pos[moved] = i;
    this.pos[callIndex] = -1;
    if (open) ev.cleared(this.viewOf(callIndex, dueFromMs), CALL_FAULT_NO_MEDIA, -1, nowMs, 'stream-ended');
  }

  check(nowMs: number, ev: CallFaultEvents): void {
    const { noMediaMs, oneWayMs } = this.limits;
    // Events may end calls (never in practice): walk a snapshot of the count, re-reading each entry.
    for (let k = this.count - 1; k >= 0; k--) {
      if (k >= this.count) continue;
      const c = this.list[k];
      const since = nowMs - this.dueFromMs[c];
      const l0 = this.last0[c];
      const l1 = this.last1[c];
      const heard0 = l0 > 0;
      const heard1 = l1 > 0;
      const heardAny = heard0 || heard1 || this.sharedMs[c] > 0;
      // Whether the SDP exempts the call (a walk over its bindings) is asked only where the answer
      // decides something: not for a call with media both ways, the usual case. -1: not asked yet.
      let exempt = -1;
      if (this.noMedia[c] === 1) {
        if (heardAny || (exempt = ev.exempt(c) ? 1 : 0) === 1) {
          this.noMedia[c] = 0;
          ev.cleared(this.viewOf(c, this.dueFromMs[c]), CALL_FAULT_NO_MEDIA, -1, nowMs, 'rule');
        }
      } else if (noMediaMs > 0 && !heardAny && since >= noMediaMs && (exempt = ev.exempt(c) ? 1 : 0) === 0) {
        this.noMedia[c] = 1;
        ev.started(this.viewOf(c, this.dueFromMs[c]), CALL_FAULT_NO_MEDIA, -1, nowMs);
      }
      if (oneWayMs <= 0) {
        // The check is off (a reload turned it off): a fault in progress ends.
        const was = this.oneWayDir[c];
        if (was >= 0) {
          this.oneWayDir[c] = -1;
          ev.cleared(this.viewOf(c, this.dueFromMs[c]), CALL_FAULT_ONE_WAY, was, nowMs, 'rule');
        }
        continue;
      }
      // A direction is live when heard within oneWayMs; one-way when exactly one is live.
      const live0 = heard0 && nowMs - l0 < oneWayMs;
      const live1 = heard1 && nowMs - l1 < oneWayMs;
      if (live0 !== live1 && exempt < 0) exempt = ev.exempt(c) ? 1 : 0;
      const flowing = live0 !== live1 && exempt === 0 ? (live0 ? 0 : 1) : -1;
      const was = this.oneWayDir[c];
      if (was >= 0 && flowing !== was) {
        this.oneWayDir[c] = -1;
        ev.cleared(this.viewOf(c, this.dueFromMs[c]), CALL_FAULT_ONE_WAY, was, nowMs, 'rule');
      }
      if (this.oneWayDir[c] < 0 && flowing >= 0 && since >= oneWayMs) {
        this.oneWayDir[c] = flowing;
        ev.started(this.viewOf(c, this.dueFromMs[c]), CALL_FAULT_ONE_WAY, flowing, nowMs);
      }
    }
  }

  private watching(callIndex: number): boolean {
    return callIndex >= 0 && callIndex < this.pos.length && this.pos[callIndex] >= 0;
  }

  private viewOf(callIndex: number, dueFromMs: number): WatchedCall {
    this.view.callIndex = callIndex;
    this.view.dueFromMs = dueFromMs;
    return this.view;
  }
}
