/**
 * Payload types 72..95 (RFC 5761 keeps them from RTP so that RTCP, types 200..223, can share the RTP port:
 * such a payload type with the marker bit reads as an RTCP packet type). An SDP that does not mux RTCP
 * may still map one (PT 77 here); tshark measures such a stream. The probe measures it on the SDP's
 * addresses, and only there.
 */
import { describe, expect, it } from 'vitest';
import { fieldMismatches } from './helpers.js';
import { fixtureKey, g711, runFixture, sdpSetup, type FixturePacket } from './fixtures.js';

describe('RTP payload types 72..95 on an address an SDP maps them on', () => {
  it('PT 77 mapped by an SDP without rtcp-mux: measured as tshark; unsignalled it is not RTP', async () => {
    const media = g711(300, { pt: 77, jitterMs: (i) => (i % 7) * 0.4 });
    const signalled = [...sdpSetup(77, 'PCMA/8000'), ...media];
    const run = await runFixture(signalled, undefined, signalled);
    const row = run.tshark.get(fixtureKey())!;
    expect([row.packets, row.lost]).toEqual([300, 0]);
    // tshark does not apply the SDP's clock to a payload type below 96 ("Unassigned", no jitter): its
    // numbers with that clock are those of the same packets as PT 8 (PCMA, 8000 Hz).
    const asPcma = signalled.map((p) => (p.raw ? p : { ...p, pt: 8 }));
    const clocked = (await runFixture(signalled, undefined, asPcma)).tshark.get(fixtureKey())!;
    expect([clocked.packets, clocked.lost, clocked.meanDelta, clocked.maxDelta]).toEqual([row.packets, row.lost, row.meanDelta, row.maxDelta]);
    const rep = run.probe.get(fixtureKey());
    expect(rep, 'a report for the PT 77 stream').toBeDefined();
    expect([rep!.CODEC_NAME, rep!.CLOCK, rep!.CORRELATION_ID]).toEqual(['pcma', 8000, 'fixture-call@example.com']);
    expect(fieldMismatches(rep!, clocked)).toEqual([]);
    // No SDP: the heuristic takes no payload type of 72..95 (tshark's takes 77..95).
    const unsignalled = await runFixture(media);
    expect(unsignalled.probe.size).toBe(0);
  });

  it('with the marker bit (second byte 205): tshark takes those packets for RTCP and counts them lost; the probe counts them where the SDP does not mux RTCP', async () => {
    const media: FixturePacket[] = g711(300, { pt: 77 }).map((p, i) => ({ ...p, marker: i % 50 === 10 }));
    const signalled = [...sdpSetup(77, 'PCMA/8000'), ...media];
    const run = await runFixture(signalled, undefined, signalled);
    const row = run.tshark.get(fixtureKey())!;
    expect([row.packets, row.lost]).toEqual([294, 6]);
    const rep = run.probe.get(fixtureKey())!;
    expect([rep.TOTAL_PK, rep.EXPECTED_PK - rep.TOTAL_PK]).toEqual([300, 0]);
    // With rtcp-mux those packets are RTCP's (RFC 5761): the probe leaves them out as tshark does.
    const muxed = [...sdpSetup(77, 'PCMA/8000', 'audio', undefined, [], true), ...media];
    const mux = await runFixture(muxed, undefined, muxed);
    const muxRow = mux.tshark.get(fixtureKey())!;
    expect([muxRow.packets, muxRow.lost]).toEqual([294, 6]);
    const muxRep = mux.probe.get(fixtureKey())!;
    expect([muxRep.TOTAL_PK, muxRep.EXPECTED_PK - muxRep.TOTAL_PK]).toEqual([294, 6]);
  });
});
