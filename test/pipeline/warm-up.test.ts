/**
 * The replay's warm-up (src/pipeline/warm-up.ts): its capture takes the packet loop's rare branches (SIP
 * dialogs with SDP, RTCP, losses, stream ends, IPv6, VLAN, unsignalled media), and running it leaves no
 * trace in the real run: nothing reaches the real outputs, and a replay after it reports exactly what the
 * same replay reports before it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCaptureFile } from '../../src/capture/index.js';
import { CaptureCursor } from '../../src/capture/file/index.js';
import { writeScenarioPcap } from '../../src/gen/index.js';
import { defaultConfig } from '../../src/ops/config.js';
import type { EventKind, Output } from '../../src/outbound/index.js';
import { Pipeline, ReportSink } from '../../src/pipeline/index.js';
import { warmUpCapture } from '../../src/pipeline/warm-up-capture.js';
import { warmUpReplay } from '../../src/pipeline/warm-up.js';
import type { QosReport } from '../../src/report/index.js';

/** An output that takes every kind of event and keeps what it is given. */
function recordingOutput(scope: 'collector' | 'local'): Output & { events: unknown[] } {
  const events: unknown[] = [];
  return { name: `recording-${scope}`, scope, events, wants: (_k: EventKind) => true, write: (e) => events.push(e), stats: () => [], close: () => Promise.resolve() };
}

describe('replay warm-up', () => {
  it('its capture has SIP calls with RTCP, losses and ends, over IPv4, a VLAN and IPv6, and unsignalled media', () => {
    const finals: QosReport[] = [];
    const p = new Pipeline(defaultConfig(), new ReportSink([], { onFinalReport: (r) => finals.push(r) }));
    p.processRecords(new CaptureCursor(warmUpCapture()));
    p.finish();
    expect(p.counts).toMatchObject({ sip: 21, rtcp: 17, otherUdp: 3 }); // 3 dialogs of 7 messages; per call 2 x 2 SR + RR, one RTCP BYE, the unsignalled SR
    const calls = new Set(finals.map((r) => String(r.CORRELATION_ID)));
    expect([...calls].filter((id) => id.startsWith('warm-up-')).length).toBe(3);
    expect(finals.some((r) => String(r.SRC_IP).includes(':'))).toBe(true);
    expect(finals.some((r) => r.TYPE === 'HANGUP')).toBe(true);
    // Every stream lost packets and saw a duplicate, but the three packets sent after an RTCP BYE (a new stream).
    const long = finals.filter((r) => Number(r.TOTAL_PK) > 3);
    expect(long.length).toBe(finals.length - 1);
    expect(long.every((r) => Number(r.PACKET_LOSS) > 0 && Number(r.DUPLICATES) > 0)).toBe(true);
    expect(finals.some((r) => !String(r.CORRELATION_ID).startsWith('warm-up-'))).toBe(true);
  });

  it('nothing reaches the real outputs, and a replay reports the same before and after it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rtpprobe-warm-')), 'calls.pcap');
    writeScenarioPcap(file, { calls: 6, concurrentCalls: 3, durationS: 0, callDurationS: 12, codec: 'PCMA', lossPct: 2, burstLossPct: 30, jitterMs: 8, rtcp: true, seed: 7, startEpochS: 1_700_000_000 });
    const config = defaultConfig();
    const replay = async () => {
      const reports: string[] = [];
      const sink = new ReportSink([], { onReport: (r) => reports.push(JSON.stringify(r)) });
      const p = new Pipeline(config, sink);
      for await (const cur of openCaptureFile(file, { chunkBytes: 32 * 1024 + 3 }).records()) p.processRecords(cur);
      p.finish();
      return { reports, counts: { ...p.counts }, sink: { ...sink.counts } };
    };
    const before = await replay();
    expect(before.reports.length).toBeGreaterThan(12);

    const outputs = [recordingOutput('collector'), recordingOutput('local')];
    const real = new ReportSink(outputs);
    warmUpReplay(config, real.current);
    expect(outputs.map((o) => o.events.length)).toEqual([0, 0]);
    expect(real.counts).toEqual({ qosReports: 0, qosSent: 0, rtcpSent: 0, rtcpUncorrelated: 0, sipSent: 0 });

    expect(await replay()).toEqual(before);
  });
});
