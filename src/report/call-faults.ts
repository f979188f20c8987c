/**
 * Media faults of answered calls that are not loss, checked once per tick of capture time:
 *  - no-media:   the call was answered `noMediaMs` ago and no audio arrived in either direction since;
 *  - one-way-rtp: audio arrived in one direction within the last `oneWayMs` and none in the other for
 *                 as long (the call answered at least that long ago).
 * A fault is announced when it starts and when it ends (media arrived, the other direction came back, or
 * the call ended), so each gives one ALERT and one CLEARED report. Calls the SDP puts on hold, sendonly,
 * recvonly or inactive are exempt (one-way or no media is what they asked for).
 *
 * Directions: 0 = caller to callee, 1 = callee to caller (see mediaDirection).
 */
export const CALL_FAULT_NO_MEDIA = 'no-media';
export const CALL_FAULT_ONE_WAY = 'one-way-rtp';

export interface CallFaultLimits {
  /** 0 = off. */
  noMediaMs: number;
  oneWayMs: number;
}

export interface WatchedCall {
  callIndex: number;
  answeredMs: number;
  /** Latest audio arrival per direction (ms), 0 when none since the answer. */
  lastMs: [number, number];
  /**
   * Latest audio of another call on this call's media addresses (a B2BUA that moved both legs' media to
   * one direct path: the streams join the leg whose SDP named the addresses last), 0 when none. It counts
   * as media for no-media; its direction in this call is unknown, so it plays no part in one-way.
   */
  sharedMs: number;
  noMedia: boolean;
  /** Direction that flows alone while the one-way fault lasts, -1 when none. */
  oneWayDir: number;
}

export interface CallFaultEvents {
  /** `dir` is the flowing direction for one-way-rtp, -1 for no-media. */
  started(call: WatchedCall, fault: string, dir: number, nowMs: number): void;
  cleared(call: WatchedCall, fault: string, dir: number, nowMs: number): void;
  /** True when the call's SDP makes one-way or no media intended (hold, sendonly, inactive). */
  exempt(callIndex: number): boolean;
}

/**
 * The RTP direction of a stream from its SDP match: DIR 0 flows towards the address PARTY announced,
 * DIR 1 from it; towards the callee (party 1) or from the caller (party 0) is caller to callee.
 */
export function mediaDirection(dir: number, party: number): number {
  return (dir === 0) === (party === 1) ? 0 : 1;
}

export class CallFaults {
  /** Answered calls still running, by call index. */
  private readonly calls = new Map<number, WatchedCall>();

  constructor(public limits: CallFaultLimits) {}

  get size(): number {
    return this.calls.size;
  }

  watched(callIndex: number): WatchedCall | undefined {
    return this.calls.get(callIndex);
  }

  answered(callIndex: number, nowMs: number): void {
    if (this.limits.noMediaMs <= 0 && this.limits.oneWayMs <= 0) return;
    this.calls.set(callIndex, { callIndex, answeredMs: nowMs, lastMs: [0, 0], sharedMs: 0, noMedia: false, oneWayDir: -1 });
  }

  /** Audio of the call arrived in `dir` at `atMs` (the stream's latest packet). */
  media(callIndex: number, dir: number, atMs: number): void {
    const c = this.calls.get(callIndex);
    if (c !== undefined && atMs >= c.answeredMs && atMs > c.lastMs[dir]) c.lastMs[dir] = atMs;
  }

  /** Audio of another call on this call's media addresses arrived at `atMs` (see sharedMs). */
  sharedMedia(callIndex: number, atMs: number): void {
    const c = this.calls.get(callIndex);
    if (c !== undefined && atMs >= c.answeredMs && atMs > c.sharedMs) c.sharedMs = atMs;
  }

  /**
   * The call ended: an open no-media fault is cleared (nothing else would end it); a one-way fault ends
   * with its streams, whose final reports keep ONE_WAY_RTP 1.
   */
  ended(callIndex: number, nowMs: number, ev: CallFaultEvents): void {
    const c = this.calls.get(callIndex);
    if (c === undefined) return;
    this.calls.delete(callIndex);
    if (c.noMedia) ev.cleared(c, CALL_FAULT_NO_MEDIA, -1, nowMs);
  }

  check(nowMs: number, ev: CallFaultEvents): void {
    const { noMediaMs, oneWayMs } = this.limits;
    for (const c of this.calls.values()) {
      const since = nowMs - c.answeredMs;
      const heard0 = c.lastMs[0] > 0;
      const heard1 = c.lastMs[1] > 0;
      const exempt = ev.exempt(c.callIndex);
      const heardAny = heard0 || heard1 || c.sharedMs > 0;
      if (c.noMedia) {
        if (heardAny || exempt) {
          c.noMedia = false;
          ev.cleared(c, CALL_FAULT_NO_MEDIA, -1, nowMs);
        }
      } else if (noMediaMs > 0 && !heardAny && since >= noMediaMs && !exempt) {
        c.noMedia = true;
        ev.started(c, CALL_FAULT_NO_MEDIA, -1, nowMs);
      }
      if (oneWayMs <= 0) continue;
      // A direction is live when heard within oneWayMs; one-way when exactly one is live.
      const live0 = heard0 && nowMs - c.lastMs[0] < oneWayMs;
      const live1 = heard1 && nowMs - c.lastMs[1] < oneWayMs;
      const flowing = live0 !== live1 && !exempt ? (live0 ? 0 : 1) : -1;
      if (c.oneWayDir >= 0 && flowing !== c.oneWayDir) {
        const was = c.oneWayDir;
        c.oneWayDir = -1;
        ev.cleared(c, CALL_FAULT_ONE_WAY, was, nowMs);
      }
      if (c.oneWayDir < 0 && flowing >= 0 && since >= oneWayMs) {
        c.oneWayDir = flowing;
        ev.started(c, CALL_FAULT_ONE_WAY, flowing, nowMs);
      }
    }
  }
}
