/**
 * The pipeline builds HOMER's RTCP JSON and its envelope only for a target that forwards RTCP
 * (ReportTarget.wantsRtcp). Skipping it must change nothing else: the same capture through a target that
 * takes every RTCP packet and through a ReportSink without a collector (--no-hep) gives byte-identical
 * QoS reports, round trips included; the forwarding target gets one message per RTCP compound, with the
 * packet's JSON, addresses and Call-ID.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { readCaptureBuffer, type PacketBatch } from '../../src/capture/index.js';
import { DecodedPacket, PacketDecoder, addressToString } from '../../src/decode/index.js';
import { HepSender, decodeHep3Strict } from '../../src/hep/index.js';
import { HepOutput } from '../../src/outbound/index.js';
import { defaultConfig } from '../../src/ops/config.js';
import { Pipeline, ReportSink, type Envelope, type ReportTarget } from '../../src/pipeline/index.js';
import type { QosReport } from '../../src/report/index.js';
import { RtcpReader, RttTracker, hostKey, isRtcp, parseRtcp, rtcpToHomerJson } from '../../src/rtcp/index.js';
import { CAPTURES } from '../sip/helpers.js';
import { copyBatch, scenarioBatch } from './batches.js';

/** A public capture's batches, copied (the reader may reuse its buffers). */
function captureBatches(name: string): PacketBatch[] {
  const out: PacketBatch[] = [];
  for (const b of readCaptureBuffer(new Uint8Array(readFileSync(join(CAPTURES, name))))) out.push(copyBatch(b)); // copied as yielded
  return out;
}

interface RtcpMessage { json: string; env: Envelope; callId: string | null }

/** What the RTCP of the batch is, independently of the pipeline: JSON and envelope per compound, in order. */
function expectedRtcp(batches: PacketBatch[], rtt: RttTracker): Array<{ json: string; env: Envelope }> {
  const dec = new PacketDecoder();
  const pkt = new DecodedPacket();
  const reader = new RtcpReader();
  const out: Array<{ json: string; env: Envelope }> = [];
  for (const batch of batches) for (let i = 0; i < batch.count; i++) {
    if (!dec.decode(batch, i, pkt) || pkt.ipProto !== 17 || !isRtcp(pkt.payloadBuf, pkt.payloadOffset, pkt.payloadLength)) continue;
    const c = parseRtcp(pkt.payloadBuf, pkt.payloadOffset, pkt.payloadLength);
    if (c.packets.length === 0) continue;
    const src = addressToString(pkt.ipVersion, pkt.src0, pkt.src1, pkt.src2, pkt.src3);
    const dst = addressToString(pkt.ipVersion, pkt.dst0, pkt.dst1, pkt.dst2, pkt.dst3);
    // Round trips as the pipeline measured them before it keyed endpoints by numbers: 'ip:port' text.
    reader.read(pkt.payloadBuf, pkt.payloadOffset, pkt.payloadLength);
    rtt.observe(reader, pkt.tsSec * 1000 + pkt.tsNsec / 1e6, `${src}:${pkt.srcPort}`, `${dst}:${pkt.dstPort}`, hostKey(pkt.src0, pkt.src1, pkt.src2, pkt.src3));
    out.push({
      json: rtcpToHomerJson(c),
      env: {
        ipVersion: pkt.ipVersion,
        srcIp: src,
        srcPort: pkt.srcPort,
        dstIp: dst,
        dstPort: pkt.dstPort,
        tsMs: pkt.tsSec * 1000 + pkt.tsNsec / 1e6,
      },
    });
  }
  return out;
}

function run(config: ReturnType<typeof defaultConfig>, batches: PacketBatch[], target: ReportTarget): Pipeline {
  const p = new Pipeline(config, target);
  for (const b of batches) p.processBatch(b);
  p.finish();
  return p;
}

describe('RTCP forwarding in the pipeline', () => {
  const config = defaultConfig();
  config.reports.intervalS = 5;
  const inputs: Array<[string, PacketBatch[], number]> = [
    // name, batches, final reports whose delay rests on a measured round trip (the generator's RTCP has no
    // LSR echo; the capture measures the path to one end of its SIP leg, which both streams of that leg
    // cross, and the relayed stream of the other leg carries the measured SSRC)
    ['generated calls', [scenarioBatch({ calls: 6, concurrentCalls: 6, durationS: 0, callDurationS: 25, codec: 'PCMA', lossPct: 1, burstLossPct: 30, jitterMs: 4, rtcp: true, seed: 3, startEpochS: 1_700_000_000 })], 0],
    ['SIP_CALL_RTP_G711.pcap', captureBatches('SIP_CALL_RTP_G711.pcap'), 3],
  ];

  it.each(inputs)('%s: a forwarding target gets every compound; a ReportSink without collector the same QoS reports', (_name, batches, roundTrips) => {
    const forwarded: RtcpMessage[] = [];
    const viaTarget: string[] = [];
    const target: ReportTarget = { qos: (r) => viaTarget.push(JSON.stringify(r)), rtcp: (json, env, callId) => forwarded.push({ json, env: { ...env }, callId }) };
    const a = run(config, batches, target);

    const viaSink: string[] = [];
    const sink = new ReportSink([], { onReport: (r: QosReport) => viaSink.push(JSON.stringify(r)) });
    expect(sink.wantsRtcp()).toBe(false);
    const b = run(config, batches, sink);

    expect(viaTarget.length).toBeGreaterThan(0);
    expect(viaSink).toEqual(viaTarget);
    expect(b.counts).toEqual(a.counts);
    expect(b.rtcpStats).toEqual(a.rtcpStats);
    expect(sink.counts).toMatchObject({ rtcpSent: 0, rtcpUncorrelated: 0, qosReports: viaTarget.length });

    const rtt = new RttTracker();
    const want = expectedRtcp(batches, rtt);
    expect(want.length).toBeGreaterThan(0);
    expect(forwarded.map(({ json, env }) => ({ json, env }))).toEqual(want);
    expect(forwarded.some((m) => typeof m.callId === 'string' && m.callId.length > 0), 'RTCP of a SIP call carries its Call-ID').toBe(true);

    // Round trips: the same per SSRC and receiver as with 'ip:port' endpoints, and reports that used them.
    const receivers = new Set(viaSink.map((r) => `${(JSON.parse(r) as QosReport).SSRC} ${(JSON.parse(r) as QosReport).DST_IP}`));
    let measured = 0;
    for (const k of receivers) {
      const [ssrc, ip] = k.split(' ');
      const host = hostKey(0, 0, 0xffff, ip!.split('.').reduce((a, x) => a * 256 + Number(x), 0));
      expect(Object.is(b.rtt.latestRttMs(Number(ssrc), host), rtt.latestRttMs(Number(ssrc), host)), `round trip of SSRC ${ssrc} to ${ip}`).toBe(true);
      if (Number.isFinite(b.rtt.latestRttMs(Number(ssrc), host))) measured++;
    }
    expect(measured > 0).toBe(roundTrips > 0);
    const finals = viaSink.map((r) => JSON.parse(r) as QosReport).filter((r) => r.TYPE === 'FINAL' || r.TYPE === 'HANGUP');
    expect(finals.filter((r) => r.DELAY_SOURCE === 'rtcp').length).toBe(roundTrips);
  });

  it('with a HEP collector configured, the ReportSink sends every correlated RTCP compound as type 5 JSON', async () => {
    const batches = captureBatches('SIP_CALL_RTP_G711.pcap');
    const socket = createSocket('udp4');
    const received: Buffer[] = [];
    socket.on('message', (m) => received.push(m));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const hep = new HepSender({ collectors: [{ host: '127.0.0.1', port: socket.address().port, transport: 'udp', queueSize: 100_000 }], captureId: 7 });
    try {
      const sink = new ReportSink([new HepOutput({ sender: hep, qosHepType: 99, sendRtcp: true, sendSip: false })]);
      expect(sink.wantsRtcp()).toBe(true);
      run(config, batches, sink);
      // What a target that takes every RTCP message gets: the sink sends those with a Call-ID.
      const all: RtcpMessage[] = [];
      run(config, batches, { qos: () => {}, rtcp: (json, env, callId) => all.push({ json, env: { ...env }, callId }) });
      const correlated = all.filter((m) => m.callId !== null);
      expect(correlated.length).toBeGreaterThan(0);
      await hep.close(2000);
      let n = -1;
      while (n !== received.length) {
        n = received.length;
        await sleep(100);
      }
      const rtcp = received.map((m) => decodeHep3Strict(m)).filter((d) => d.protoType === 5);
      expect(sink.counts).toMatchObject({ rtcpSent: correlated.length, rtcpUncorrelated: all.length - correlated.length });
      expect(rtcp.map((d) => d.payload.toString('utf8'))).toEqual(correlated.map((w) => w.json));
      expect(rtcp.map((d) => d.correlationId)).toEqual(correlated.map((w) => w.callId));
      expect(rtcp.map((d) => `${d.srcIp}:${d.srcPort}>${d.dstIp}:${d.dstPort}`)).toEqual(correlated.map((w) => `${w.env.srcIp}:${w.env.srcPort}>${w.env.dstIp}:${w.env.dstPort}`));
      expect(new ReportSink([new HepOutput({ sender: hep, qosHepType: 99, sendRtcp: false, sendSip: false })]).wantsRtcp()).toBe(false);
    } finally {
      socket.close();
    }
  });
});
