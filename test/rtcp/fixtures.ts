import {
  rtcpApp, rtcpBye, rtcpCompound, rtcpRr, rtcpSdes, rtcpSr, rtcpXr, xrBlock, xrDlrr, xrRrtr, xrVoipMetrics,
} from '../../src/gen/index.js';

/** A set of compounds covering every packet type the parser reads (values arbitrary but distinct). */
export function sampleCompounds(): Uint8Array[] {
  return [
    rtcpCompound(
      rtcpSr({
        ssrc: 0xd2bd4e3e, ntpSec: 0xe1d2c3b4, ntpFrac: 0x80000000, rtpTs: 123456789, packets: 510, octets: 81600,
        reports: [
          { ssrc: 0x11223344, fractionLost: 15, cumulativeLost: 3, extHighestSeq: 0x0001ffff, jitter: 27, lsr: 0xb7052000, dlsr: 0x00054000 },
          { ssrc: 0x55667788, fractionLost: 0, cumulativeLost: -2, extHighestSeq: 1000, jitter: 3, lsr: 0, dlsr: 0 },
        ],
      }),
      rtcpSdes([{ ssrc: 0xd2bd4e3e, items: [{ type: 1, value: 'alice@10.0.0.1' }, { type: 6, value: 'rtpprobe-test' }] }]),
    ),
    rtcpCompound(
      rtcpRr({ ssrc: 0x11223344, reports: [{ ssrc: 0xd2bd4e3e, fractionLost: 255, cumulativeLost: 8388607, extHighestSeq: 70000, jitter: 160, lsr: 0xc3b48000, dlsr: 65536 }] }),
      rtcpSdes([{ ssrc: 0x11223344, items: [{ type: 1, value: 'bob' }] }, { ssrc: 0x99, items: [] }]),
      rtcpBye({ ssrcs: [0x11223344, 0x99], reason: 'hangup' }),
    ),
    rtcpCompound(
      rtcpRr({ ssrc: 0x0a0b0c0d }),
      rtcpXr({
        ssrc: 0x0a0b0c0d,
        blocks: [
          xrRrtr(0xe1d2c3b5, 0x40000000),
          xrDlrr([{ ssrc: 0x01020304, lrr: 0x12345678, dlrr: 0x00010000 }, { ssrc: 0x05060708, lrr: 0x9abcdef0, dlrr: 42 }]),
          xrVoipMetrics({
            ssrc: 0xd2bd4e3e, lossRate: 12, discardRate: 3, burstDensity: 200, gapDensity: 5, burstDuration: 120, gapDuration: 4000,
            roundTripDelay: 150, endSystemDelay: 60, signalLevel: -20, noiseLevel: -60, rerl: 40, gmin: 16, rFactor: 85,
            extRFactor: 127, mosLq: 41, mosCq: 39, rxConfig: 0xb5, jbNominal: 40, jbMaximum: 80, jbAbsMax: 200,
          }),
          xrBlock(42, 1, new Uint8Array(8)),
        ],
      }),
      rtcpApp({ subtype: 3, ssrc: 0x0a0b0c0d, name: 'TEST', data: new Uint8Array(8) }),
    ),
  ];
}
