import type { StreamCounters, StreamSnapshot } from '../../src/rtp/snapshot.js';

export function counters(o: Partial<StreamCounters> = {}): StreamCounters {
  return {
    packets: 0, bytes: 0, expected: 0, lost: 0, seqErrors: 0, outOfOrder: 0, duplicates: 0,
    minDeltaMs: 0, meanDeltaMs: 0, maxDeltaMs: 0, minJitterMs: 0, meanJitterMs: 0, maxJitterMs: 0, maxSkewMs: 0,
    lossP: 0, lossQ: 1, burstR: 1, burstDensity: 0, gapDensity: 0, burstDurationMs: 0, gapDurationMs: 0,
    startMs: 0, endMs: 0, ...o,
  };
}

/** A hand-made snapshot: the report layer only reads it, so the values are arbitrary but distinct. */
export function snapshot(o: Partial<StreamSnapshot> = {}): StreamSnapshot {
  return {
    slot: 3, ssrc: 0xd2bd4e3e, ipVersion: 4, srcIp: '192.168.178.34', srcPort: 58320, dstIp: '192.168.60.70', dstPort: 32728,
    srcMac: '00-04-13-29-64-22', dstMac: '34-31-C4-38-24-00', vlan: 0, payloadType: 8, clockRate: 8000,
    jitterMs: 0.0234, skewMs: -0.1804, clockDriftPpm: 1.5, ssrcChanges: 0, payloadTypeChanges: 0, markers: 1,
    comfortNoise: 0, telephoneEvents: 0, hostTimestamps: false, firstSeenMs: 1453461900000.5, lastSeenMs: 1453461919990.25,
    cumulative: counters({ packets: 1000, bytes: 172000, expected: 1000, startMs: 1453461900000.5, endMs: 1453461919990.25, meanDeltaMs: 19.98, maxDeltaMs: 35.5474, meanJitterMs: 0.126, maxJitterMs: 1.892 }),
    interval: counters({ packets: 95, bytes: 16340, expected: 100, lost: 5, seqErrors: 2, startMs: 1453461918000, endMs: 1453461919990.25, meanDeltaMs: 19.9804, maxDeltaMs: 35.5474, meanJitterMs: 0.1264, maxJitterMs: 1.8921, maxSkewMs: -15.6154 }),
    ...o,
  };
}
