/**
 * The call lines of a live run (CallLog) on a real call table: generated forked calls run through the
 * decoder and the SIP tracker, the table read at chosen capture times as the run's once-a-second timer
 * would read it. The readings fall where the veth test (capture-live/run-logs) cannot place them.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { classicPcap, forkedCallOneBranchBusy } from '../../src/gen/index.js';
import { CallLog } from '../../src/ops/live-log.js';
import { LiveState, trackerCalls } from '../../src/ops/live-state.js';
import { CallTracker } from '../../src/sip/index.js';
import { eachPacket } from '../sip/helpers.js';

const T0 = 1_750_000_000_000;

interface Line {
  msg: string;
  callId?: string;
  reason?: string;
  status?: number;
}

/** The call lines logged when the table is read after every packet at or past each time of `readAtMs`, then once a second to 10 s after the last packet, then at stop. */
function callLines(records: ReturnType<typeof forkedCallOneBranchBusy>['records'], readAtMs: number[]): Line[] {
  const lines: Line[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  const tracker = new CallTracker();
  const calls = trackerCalls(tracker);
  const callLog = new CallLog(log, new LiveState());
  const due = [...readAtMs];
  let last = 0;
  eachPacket(classicPcap(records), (pkt, nowMs) => {
    tracker.expire(nowMs);
    tracker.onPacket(pkt, nowMs);
    while (due.length > 0 && nowMs >= due[0]!) {
      due.shift();
      callLog.poll(calls);
    }
    last = nowMs;
  });
  for (let ms = last + 1000; ms <= last + 10_000; ms += 1000) {
    tracker.expire(ms);
    callLog.poll(calls);
  }
  callLog.poll(calls, true);
  return lines.filter((l) => l.msg === 'call started' || l.msg === 'call ended');
}

describe('live call log of a forked call (one branch 486, the other answers)', () => {
  it('a reading between the 486 and the other branch ringing: one start, one end by the BYE', () => {
    const s = forkedCallOneBranchBusy({ t0Ms: T0, ringMs: 2000, packets: 50 });
    // After the INVITEs, after the 486 and its ACK (31 ms), then once a second.
    const lines = callLines(s.records, [T0 + 1, T0 + 31, T0 + 1035, T0 + 2035, T0 + 3035, T0 + 4035]);
    expect(lines.map((l) => [l.msg, l.reason ?? null])).toEqual([
      ['call started', null],
      ['call ended', 'bye'],
    ]);
  });

  it('the first reading after the 486, the next after the answer: no line of the 486, the end by the BYE', () => {
    const s = forkedCallOneBranchBusy({ t0Ms: T0, ringMs: 2000, packets: 50 });
    const lines = callLines(s.records, [T0 + 31, T0 + 2500]);
    expect(lines.map((l) => [l.msg, l.reason ?? null])).toEqual([
      ['call started', null],
      ['call ended', 'bye'],
    ]);
  });

  it('reopened and ended by its BYE between two readings after the 486: the end line names the BYE', () => {
    // 486 at 30 ms, 200 OK at 160 ms, 10 packets each way, BYE at about 460 ms: all before the next reading.
    const s = forkedCallOneBranchBusy({ t0Ms: T0, ringMs: 100, packets: 10 });
    const lines = callLines(s.records, [T0 + 1, T0 + 31]);
    expect(lines.map((l) => [l.msg, l.reason ?? null, l.status ?? null])).toEqual([
      ['call started', null, null],
      ['call ended', 'bye', null],
    ]);
  });
});
