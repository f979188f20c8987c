/**
 * HEP encoder throughput: encodes/s of a typical RTPAgent-style QoS report into a reused buffer, reported as a
 * ratio against Buffer.from(JSON) of the same payload measured in the same run (the floor any encoder pays to
 * get the JSON text into bytes). Run after build: node native-bench/out/hep.js
 */
import { encodeHep3, HepProtoType, type HepMessage } from '../../dist/hep/index.js';

const callId = '56a2e1c7-4b3f-11e5-9a3b-0800273c4d2e@192.168.178.34';
const payload = JSON.stringify({
  CORRELATION_ID: callId, RTP_SIP_CALL_ID: callId, REPORT_TS: 1453461919, TYPE: 'PERIODIC', SSRC: 3535621694,
  SRC_IP: '192.168.178.34', SRC_PORT: 58320, DST_IP: '192.168.60.70', DST_PORT: 32728, SRC_MAC: '00-04-13-29-64-22',
  DST_MAC: '34-31-C4-38-24-00', CODEC_PT: 9, CODEC_NAME: 'g722', CLOCK: 8000, DIR: 1, PARTY: 0,
  REPORT_NAME: '192.168.178.34:58320', TOTAL_PK: 510, EXPECTED_PK: 510, PACKET_LOSS: 0, SEQ: 0, OUT_ORDER: 0, SSRC_CHG: 0,
  TL_BYTE: 0, DELTA: 19.98, MAX_DELTA: 35.547, JITTER: 0.023, MAX_JITTER: 1.892, MEAN_JITTER: 0.126, SKEW: -0.18,
  MAX_SKEW: -15.615, MOS: 4.394, MIN_MOS: 4.385, MEAN_MOS: 4.394, RFACTOR: 92.449, MIN_RFACTOR: 92.013,
  MEAN_RFACTOR: 92.444, REPORT_START: 1453461914000, REPORT_END: 1453461919000, RTP_START: 1453461900000,
  RTP_STOP: 0, ONE_WAY_RTP: 0,
});

const msg: HepMessage = {
  ipFamily: 4, ipProto: 17, srcIp: '192.168.178.34', dstIp: '192.168.60.70', srcPort: 58320, dstPort: 32728,
  tsSec: 1453461919, tsUsec: 0, protoType: HepProtoType.QOS_REPORT, captureId: 2001, authKey: 'myHep',
  correlationId: callId, nodeName: 'probe-1', mos: 4.39, rfactor: 92.449, payload,
};

function rate(label: string, iters: number, fn: (i: number) => number): number {
  let sink = 0;
  for (let i = 0; i < Math.min(iters, 20_000); i++) sink += fn(i); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) sink += fn(i);
  const ns = Number(process.hrtime.bigint() - t0);
  const perSec = (iters * 1e9) / ns;
  console.log(`${label.padEnd(44)} ${Math.round(perSec).toLocaleString('en-US').padStart(12)} /s  (${(ns / iters).toFixed(0)} ns each, sink ${sink % 7})`);
  return perSec;
}

const out = Buffer.allocUnsafe(65535);
const N = Number(process.env.HEP_BENCH_ITERS ?? 300_000);
console.log(`QoS report payload ${Buffer.byteLength(payload)} bytes, HEP packet ${encodeHep3(msg, out)} bytes, ${N} iterations`);
const ref = rate('reference: Buffer.from(JSON payload)', N, () => Buffer.from(payload).length);
const reused = rate('encodeHep3(msg, reusedBuffer)', N, () => encodeHep3(msg, out));
const fresh = rate('encodeHep3(msg) -> new exact Buffer', N, () => encodeHep3(msg).length);
console.log(`ratio encodeHep3(reused) / Buffer.from(JSON): ${(reused / ref).toFixed(2)}`);
console.log(`ratio encodeHep3(new buffer) / Buffer.from(JSON): ${(fresh / ref).toFixed(2)}`);
