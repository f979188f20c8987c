/**
 * B2BUA legs in HOMER 7: the SIP of a call whose second leg names the first in X-CID goes out as heplify
 * sends SIP, without a correlation id chunk (0x11), so heplify-server sets the row's correlation_id itself:
 * the X-CID value (with AlegIDs = ["X-CID"]) or the Call-ID (decoder/sip.go fills CID only when the chunk
 * is empty), and HOMER 7's call view links the legs on it. The QoS reports and RTCP keep the Call-ID of
 * their stream's leg (HOMER finds them by the call's Call-ID). Replayed through runReplay (the CLI's path)
 * to a real UDP socket, each message decoded from the wire; tshark lists the SIP messages of the capture.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { b2buaSharedMedia, rtcpSr, udpFrame, writePcapFile } from '../../src/gen/index.js';
import { replayToUdp, sipCallId, sipHeader } from './hep-helpers.js';

const T0 = 1_765_100_000_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtpprobe-hep-b2bua-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A B2BUA call (leg 2 carries X-CID: leg 1's Call-ID) with a sender report from each party mid-call. */
function capture(): { file: string; leg1: string; leg2: string; streamCallId: string } {
  const s = b2buaSharedMedia({ t0Ms: T0, packets: 150, lastLeg: 2, xCid: true });
  const records = [...s.records];
  const mid = records[Math.floor(records.length / 2)]!.tsNs;
  for (const [from, to] of [[s.a, s.b], [s.b, s.a]] as const) {
    const sr = rtcpSr({ ssrc: from.ssrc, ntpSec: 3_974_000_000, ntpFrac: 0, rtpTs: 12_000, packets: 75, octets: 12_000 });
    records.push({ tsNs: mid, data: udpFrame(from.ip, from.port + 1, to.ip, to.port + 1, sr) });
  }
  records.sort((x, y) => (x.tsNs < y.tsNs ? -1 : x.tsNs > y.tsNs ? 1 : 0));
  const file = path.join(dir, 'b2bua.pcap');
  writePcapFile(file, records);
  return { file, leg1: s.leg1, leg2: s.leg2, streamCallId: s.callId };
}

describe('B2BUA legs linked in HOMER 7 as heplify links them', () => {
  it('SIP without chunk 0x11 (X-CID and Call-ID left to the collector), QoS reports and RTCP under their leg\'s Call-ID', async () => {
    const { file, leg1, leg2, streamCallId } = capture();
    const tshark = spawnSync('tshark', ['-r', file, '-Y', 'sip', '-T', 'fields', '-e', 'sip.Call-ID'], { encoding: 'utf8' });
    expect(tshark.status, tshark.stderr).toBe(0);
    const tsharkCallIds = tshark.stdout.split('\n').filter((l) => l !== '');
    expect(new Set(tsharkCallIds)).toEqual(new Set([leg1, leg2]));

    const hep = await replayToUdp(file);
    const sip = hep.filter((d) => d.protoType === 1);
    // sipCallId checks each has no chunk 0x11.
    expect(sip.map(sipCallId)).toEqual(tsharkCallIds);
    // Every leg-2 message names leg 1: what heplify-server (AlegIDs) and Kamailio (callid_aleg) read.
    expect(sip.map((d) => sipHeader(d, 'X-CID') ?? '')).toEqual(tsharkCallIds.map((c) => (c === leg2 ? leg1 : '')));

    const qos = hep.filter((d) => d.protoType === 35);
    const rtcp = hep.filter((d) => d.protoType === 5);
    expect(qos.length).toBeGreaterThanOrEqual(2);
    expect(rtcp).toHaveLength(2);
    for (const d of [...qos, ...rtcp]) expect(d.correlationId).toBe(streamCallId);
    for (const d of qos) expect(JSON.parse(d.payload.toString('utf8'))).toMatchObject({ CORRELATION_ID: leg2, X_CID: leg1 });
  });
});
