/**
 * The call lines of a live run (CallLog) on a real call table: generated forked calls run through the
 * decoder and the SIP tracker, the table read at chosen capture times as the run's once-a-second timer
 * would read it. The readings fall where the veth test (capture-live/run-logs) cannot place them.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CaptureTimeline, classicPcap, DialogWriter, failoverToSecondGateway, forkedCallOneBranchBusy, sdpBody, sipRequest, sipResponse, type PcapRecord } from '../../src/gen/index.js';
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

/**
 * The call lines logged when the table is read at each time of `readAtMs` (after the packets of that time;
 * in a gap between packets, at that time, the table expired to it as the run's timer does), then once a
 * second to 10 s after the last packet, then at stop.
 */
function callLines(records: PcapRecord[], readAtMs: number[], o: { tailS?: number; markStop?: boolean } = {}): Line[] {
  const lines: Line[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  const tracker = new CallTracker();
  const calls = trackerCalls(tracker);
  const callLog = new CallLog(log, new LiveState());
  const due = [...readAtMs];
  let last = 0;
  eachPacket(classicPcap(records), (pkt, nowMs) => {
    while (due.length > 0 && nowMs > due[0]!) {
      tracker.expire(due.shift()!);
      callLog.poll(calls);
    }
    tracker.expire(nowMs);
    tracker.onPacket(pkt, nowMs);
    while (due.length > 0 && nowMs >= due[0]!) {
      due.shift();
      callLog.poll(calls);
    }
    last = nowMs;
  });
  for (let ms = last + 1000; ms <= last + (o.tailS ?? 10) * 1000; ms += 1000) {
    tracker.expire(ms);
    callLog.poll(calls);
  }
  if (o.markStop) lines.push({ msg: 'stop' });
  callLog.poll(calls, true);
  return lines.filter((l) => l.msg === 'call started' || l.msg === 'call ended' || l.msg === 'stop');
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

  it('the other branch rings 10 s after the 486 (past the media linger; readings every second): one start, one end by the BYE', () => {
    const s = laterAfterRejection(forkedCallOneBranchBusy({ t0Ms: T0, ringMs: 2000, packets: 50 }).records, T0 + 31, 10_000);
    const lines = callLines(s, Array.from({ length: 20 }, (_, i) => T0 + 1 + i * 1000));
    expect(lines.map((l) => [l.msg, l.reason ?? null])).toEqual([
      ['call started', null],
      ['call ended', 'bye'],
    ]);
  });

  it('a failover INVITE 5 s after the first gateway\'s 503, the caller\'s INVITE to the proxy captured: one start, one end by the BYE', () => {
    const s = laterAfterRejection(failoverToSecondGateway({ t0Ms: T0, packets: 50, callerLeg: true }).records, T0 + 41, 5000);
    const lines = callLines(s, Array.from({ length: 15 }, (_, i) => T0 + 1 + i * 1000));
    expect(lines.map((l) => [l.msg, l.reason ?? null])).toEqual([
      ['call started', null],
      ['call ended', 'bye'],
    ]);
  });

  it('a failover INVITE 5 ms after the 503, only the proxy\'s legs captured: one start, one end by the BYE', () => {
    const s = failoverToSecondGateway({ t0Ms: T0, packets: 50 }).records;
    const lines = callLines(s, Array.from({ length: 15 }, (_, i) => T0 + 1 + i * 1000));
    expect(lines.map((l) => [l.msg, l.reason ?? null])).toEqual([
      ['call started', null],
      ['call ended', 'bye'],
    ]);
  });

  it('a failover INVITE 5 s after the 503, only the proxy\'s legs captured: the 503 ended every INVITE seen, the failover is the next attempt', () => {
    const s = laterAfterRejection(failoverToSecondGateway({ t0Ms: T0, packets: 50 }).records, T0 + 41, 5000);
    const lines = callLines(s, Array.from({ length: 15 }, (_, i) => T0 + 1 + i * 1000));
    expect(lines.map((l) => [l.msg, l.reason ?? null, l.status ?? null])).toEqual([
      ['call started', null, null],
      ['call ended', 'rejected', 503],
      ['call started', null, null],
      ['call ended', 'bye', null],
    ]);
  });

  it('a rejection while the other fork has no final response, and nothing follows: its end line once the tracker forgets it (30 s)', () => {
    // The forked call up to the 486 and its ACK only: the INVITE to the other branch never got its answer.
    const s = forkedCallOneBranchBusy({ t0Ms: T0, ringMs: 2000, packets: 50 }).records.filter((r) => r.tsNs <= BigInt(T0 + 31) * 1_000_000n);
    const shown = (tailS: number) => callLines(s, [T0 + 1, T0 + 31], { tailS, markStop: true }).map((l) => [l.msg, l.reason ?? null, l.status ?? null]);
    expect(shown(29)).toEqual([
      ['call started', null, null],
      ['stop', null, null],
      ['call ended', 'rejected', 486],
    ]);
    expect(shown(31)).toEqual([
      ['call started', null, null],
      ['call ended', 'rejected', 486],
      ['stop', null, null],
    ]);
  });
});

describe('live call log of a call a failure or CANCEL ended, no fork pending', () => {
  const shown = (records: PcapRecord[]) =>
    callLines(records, [T0 + 1], { tailS: 5, markStop: true }).map((l) => [l.msg, l.reason ?? null, l.status ?? null]);

  it('a call rejected with no other INVITE pending: its end line at the next reading, naming the rejection', () => {
    const t = new CaptureTimeline();
    const d = new DialogWriter(t, 'busy@gen', '10.1.0.1', '10.2.0.1');
    const c = d.invite(T0, { ip: '10.1.0.1', media: [{ port: 4000, formats: [8] }] });
    d.respond(T0 + 30, 180, c, null);
    d.respond(T0 + 3000, 486, c, null);
    d.ack(T0 + 3001, c);
    expect(shown(t.records())).toEqual([
      ['call started', null, null],
      ['call ended', 'rejected', 486],
      ['stop', null, null],
    ]);
  });

  it('a cancelled call: its end line once the 487 ends the INVITE (until then a 2xx may cross the CANCEL)', () => {
    const t = new CaptureTimeline();
    const d = new DialogWriter(t, 'cancelled@gen', '10.1.0.1', '10.2.0.1');
    const c = d.invite(T0, { ip: '10.1.0.1', media: [{ port: 4000, formats: [8] }] });
    d.respond(T0 + 30, 180, c, null);
    d.cancel(T0 + 3000, c);
    d.respond(T0 + 3005, 200, c, null, { method: 'CANCEL' });
    const upToCancel = t.records();
    d.respond(T0 + 3010, 487, c, null);
    d.ack(T0 + 3011, c);
    expect(shown(t.records())).toEqual([
      ['call started', null, null],
      ['call ended', 'cancel', null],
      ['stop', null, null],
    ]);
    expect(shown(upToCancel)).toEqual([
      ['call started', null, null],
      ['stop', null, null],
      ['call ended', 'cancel', null],
    ]);
  });

  it('a forked call both branches reject: its end line at the reading after the last rejection, naming it', () => {
    const t = new CaptureTimeline();
    const tags = { callId: 'both-busy@gen', fromTag: 'a', cseq: 1 };
    const body = sdpBody({ ip: '10.1.0.1', media: [{ port: 4000, formats: [8] }] });
    t.sip(T0, '10.9.0.1', '10.2.0.1', sipRequest('INVITE', 'sip:bob@example.com', { ...tags, body, branch: 'z9hG4bK-one' }));
    t.sip(T0 + 1, '10.9.0.1', '10.2.0.2', sipRequest('INVITE', 'sip:bob@example.com', { ...tags, body, branch: 'z9hG4bK-two' }));
    t.sip(T0 + 30, '10.2.0.1', '10.9.0.1', sipResponse(486, { ...tags, toTag: 'x1', cseqMethod: 'INVITE', branch: 'z9hG4bK-one' }));
    t.sip(T0 + 60, '10.2.0.2', '10.9.0.1', sipResponse(180, { ...tags, toTag: 'x2', cseqMethod: 'INVITE', branch: 'z9hG4bK-two' }));
    t.sip(T0 + 3000, '10.2.0.2', '10.9.0.1', sipResponse(603, { ...tags, toTag: 'x2', cseqMethod: 'INVITE', branch: 'z9hG4bK-two' }));
    const lines = callLines(t.records(), Array.from({ length: 5 }, (_, i) => T0 + 1 + i * 1000), { tailS: 5, markStop: true });
    expect(lines.map((l) => [l.msg, l.reason ?? null, l.status ?? null])).toEqual([
      ['call started', null, null],
      ['call ended', 'rejected', 603],
      ['stop', null, null],
    ]);
  });
});

/** `records` with every record after `afterMs` moved `byMs` later (the next branch or gateway slower to come). */
function laterAfterRejection(records: PcapRecord[], afterMs: number, byMs: number): PcapRecord[] {
  const after = BigInt(afterMs) * 1_000_000n;
  return records.map((r) => (r.tsNs > after ? { ...r, tsNs: r.tsNs + BigInt(byMs) * 1_000_000n } : r));
}
