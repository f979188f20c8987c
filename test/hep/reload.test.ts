/**
 * A configuration reload (SIGHUP) that changes hep.collectors while rules fire, with the real outputs and
 * real UDP receivers decoding what they get: a collector the reload removes gets a CLEARED (CLEAR_REASON
 * reconfigured) for each ALERT it got, a collector it adds gets the ALERT of each rule firing, and a
 * collector kept gets nothing more than it would without the reload. No receiver is left with an alert
 * nobody clears, nor gets a CLEARED without its ALERT.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeHep3Strict } from '../../src/hep/index.js';
import { defaultConfig, type ProbeConfig } from '../../src/ops/config.js';
import { openOutputs } from '../../src/pipeline/index.js';
import type { QosReport } from '../../src/report/index.js';
import { waitFor } from '../wait.js';
import { freePort, startStreamSink, startUdpSink, type StreamSink, type UdpSink } from './helpers.js';

let sinks: Array<UdpSink | StreamSink> = [];
afterEach(async () => {
  await Promise.all(sinks.map((s) => s.close()));
  sinks = [];
});

async function receivers(n: number): Promise<UdpSink[]> {
  const made = await Promise.all(Array.from({ length: n }, () => startUdpSink()));
  sinks.push(...made);
  return made;
}

/** The configuration sending to these receivers (none: HEP off). */
function withCollectors(base: ProbeConfig, to: UdpSink[]): ProbeConfig {
  const c = structuredClone(base);
  const template = defaultConfig().hep.collectors[0]!;
  c.hep.enabled = to.length > 0;
  c.hep.collectors = to.map((s) => ({ ...structuredClone(template), host: '127.0.0.1', port: s.port, transport: 'udp' }));
  return c;
}

/** The QoS reports a receiver decoded, as their JSON. */
const reportsOf = (s: UdpSink): QosReport[] =>
  s.packets.map((p) => decodeHep3Strict(p)).filter((m) => m.protoType === 35).map((m) => JSON.parse(m.payload.toString()) as QosReport);
/** Each report as 'TYPE rule reason ssrc'. */
const eventsOf = (s: UdpSink) => reportsOf(s).map((r) => `${r.TYPE} ${r.ALERT_RULE ?? '-'} ${r.CLEAR_REASON ?? '-'} ${r.SSRC}`);

function hepOutputs(to: UdpSink[]) {
  const config = withCollectors(defaultConfig(), to);
  config.hep.sip.enabled = false;
  config.hep.nodeName = 'probe-1';
  const outputs = openOutputs(config);
  /** A report of stream `ssrc` (call-1@test, 10.0.0.1:4000 -> 10.0.0.2:5000) at capture time `tsS`. */
  const send = (type: string, ssrc: number, tsS: number, fields: Partial<QosReport> = {}) => {
    const report: QosReport = { CORRELATION_ID: 'call-1@test', RTP_SIP_CALL_ID: 'call-1@test', REPORT_TS: tsS, TYPE: type, SSRC: ssrc, SRC_IP: '10.0.0.1', SRC_PORT: 4000, DST_IP: '10.0.0.2', DST_PORT: 5000, CODEC_NAME: 'pcma', REPORT_NAME: '10.0.0.1:4000', MOS: 3.1, PACKET_LOSS_PCT: 6.5, NODE: 'probe-1', SYNTHETIC_ID: 0, ...fields };
    outputs.sink.qos(report, { ipVersion: 4, srcIp: '10.0.0.1', srcPort: 4000, dstIp: '10.0.0.2', dstPort: 5000, tsMs: tsS * 1000 }, true, true);
  };
  return { outputs, send, reload: (next: UdpSink[]) => outputs.reload(withCollectors(config, next), 30_000) };
}

describe('HEP collectors changed by a reload while rules fire', () => {
  it('a removed collector gets a CLEARED (reconfigured) for each of its alerts, an added one their ALERT, a kept one nothing more', async () => {
    const [removed, kept, added] = await receivers(3);
    const { outputs, send, reload } = hepOutputs([removed!, kept!]);
    // REPORT_TS: the end of the interval that fired, before the capture time of the report.
    send('ALERT', 1, 1700000010, { ALERT_RULE: 'poor', REPORT_TS: 1700000009 });
    send('ALERT', 2, 1700000011, { ALERT_RULE: 'poor' });
    send('ALERT', 2, 1700000012, { ALERT_RULE: 'jitter' });
    send('CLEARED', 2, 1700000013, { ALERT_RULE: 'jitter', CLEAR_REASON: 'rule' });
    const reloadS = Math.floor(Date.now() / 1000);
    await reload([kept!, added!]);
    send('CLEARED', 1, 1700000020, { ALERT_RULE: 'poor', CLEAR_REASON: 'rule' });
    send('CLEARED', 2, 1700000021, { ALERT_RULE: 'poor', CLEAR_REASON: 'stream-ended' });
    send('HANGUP', 2, 1700000021);
    await outputs.close(30_000);
    await waitFor(() => removed!.packets.length >= 6 && kept!.packets.length >= 7 && added!.packets.length >= 5, 30_000, 'every report at the receivers');
    expect(eventsOf(removed!)).toEqual([
      'ALERT poor - 1',
      'ALERT poor - 2',
      'ALERT jitter - 2',
      'CLEARED jitter rule 2',
      'CLEARED poor reconfigured 1',
      'CLEARED poor reconfigured 2',
    ]);
    expect(eventsOf(kept!)).toEqual([
      'ALERT poor - 1',
      'ALERT poor - 2',
      'ALERT jitter - 2',
      'CLEARED jitter rule 2',
      'CLEARED poor rule 1',
      'CLEARED poor stream-ended 2',
      'HANGUP - - 2',
    ]);
    expect(eventsOf(added!)).toEqual([
      'ALERT poor - 1',
      'ALERT poor - 2',
      'CLEARED poor rule 1',
      'CLEARED poor stream-ended 2',
      'HANGUP - - 2',
    ]);
    // They name the stream and the call their ALERT named, so HOMER files them under the same call; a
    // CLEARED is as of the reload, an ALERT as of the rule's ALERT. No interval was measured: no counters.
    const cleared = reportsOf(removed!)[4]!;
    expect(cleared).toMatchObject({ CORRELATION_ID: 'call-1@test', SRC_IP: '10.0.0.1', SRC_PORT: 4000, DST_IP: '10.0.0.2', DST_PORT: 5000, SSRC: 1, CODEC_NAME: 'pcma', NODE: 'probe-1' });
    expect(cleared.REPORT_TS).toBeGreaterThanOrEqual(reloadS);
    expect(cleared.REPORT_TS).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(cleared.MOS).toBeUndefined();
    const announced = reportsOf(added!)[0]!;
    expect(announced).toMatchObject({ CORRELATION_ID: 'call-1@test', SRC_IP: '10.0.0.1', SRC_PORT: 4000, SSRC: 1, REPORT_TS: 1700000009 });
    const wire = decodeHep3Strict(added!.packets[0]!);
    expect(wire).toMatchObject({ correlationId: 'call-1@test', srcIp: '10.0.0.1', srcPort: 4000, dstIp: '10.0.0.2', dstPort: 5000, tsSec: 1700000010 });
  });

  it('a reload that turns HEP off: each collector gets a CLEARED (reconfigured) for each of its alerts', async () => {
    const [rx] = await receivers(1);
    const { outputs, send, reload } = hepOutputs([rx!]);
    send('ALERT', 1, 1700000010, { ALERT_RULE: 'poor' });
    await reload([]);
    await outputs.close(30_000);
    await waitFor(() => rx!.packets.length >= 2, 30_000, 'the ALERT and its CLEARED');
    expect(eventsOf(rx!)).toEqual(['ALERT poor - 1', 'CLEARED poor reconfigured 1']);
  });

  it('a reload that turns HEP on while rules fire: the collector gets the ALERT of each before their CLEARED', async () => {
    const [rx] = await receivers(1);
    const { outputs, send, reload } = hepOutputs([]);
    send('ALERT', 1, 1700000010, { ALERT_RULE: 'poor', REPORT_TS: 1700000009 });
    send('ALERT', 2, 1700000011, { ALERT_RULE: 'jitter' });
    send('CLEARED', 2, 1700000012, { ALERT_RULE: 'jitter', CLEAR_REASON: 'rule' });
    await reload([rx!]);
    send('CLEARED', 1, 1700000020, { ALERT_RULE: 'poor', CLEAR_REASON: 'rule' });
    await outputs.close(30_000);
    await waitFor(() => eventsOf(rx!).includes('CLEARED poor rule 1'), 30_000, 'the CLEARED');
    expect(eventsOf(rx!)).toEqual(['ALERT poor - 1', 'CLEARED poor rule 1']);
    expect(reportsOf(rx!)[0]).toMatchObject({ CORRELATION_ID: 'call-1@test', SRC_IP: '10.0.0.1', SSRC: 1, REPORT_TS: 1700000009 });
  });

  it('a reload that keeps the collectors sends nothing more', async () => {
    const [rx] = await receivers(1);
    const { outputs, send, reload } = hepOutputs([rx!]);
    send('ALERT', 1, 1700000010, { ALERT_RULE: 'poor' });
    await reload([rx!]);
    send('CLEARED', 1, 1700000020, { ALERT_RULE: 'poor', CLEAR_REASON: 'rule' });
    await outputs.close(30_000);
    await waitFor(() => rx!.packets.length >= 2, 30_000, 'the ALERT and its CLEARED');
    expect(eventsOf(rx!)).toEqual(['ALERT poor - 1', 'CLEARED poor rule 1']);
  });
});

describe('a TCP collector a reload keeps', () => {
  /** HEP to one TCP collector at `port`, sending PERIODIC reports of streams `ssrc`, and reloads that keep it. */
  function tcpOutputs(port: number) {
    const config = defaultConfig();
    const template = config.hep.collectors[0]!;
    config.hep.enabled = true;
    config.hep.sip.enabled = false;
    config.hep.collectors = [{ ...structuredClone(template), host: '127.0.0.1', port, transport: 'tcp' }];
    const outputs = openOutputs(config);
    /** `padBytes`: a field that makes the report that large (to fill the connection's buffers). */
    const send = (ssrc: number, padBytes = 0) => {
      const report: QosReport = { CORRELATION_ID: 'call-1@test', REPORT_TS: 1700000000 + ssrc, TYPE: 'PERIODIC', SSRC: ssrc, SRC_IP: '10.0.0.1', SRC_PORT: 4000, DST_IP: '10.0.0.2', DST_PORT: 5000, MOS: 4.1, PAD: 'x'.repeat(padBytes) };
      outputs.sink.qos(report, { ipVersion: 4, srcIp: '10.0.0.1', srcPort: 4000, dstIp: '10.0.0.2', dstPort: 5000, tsMs: (1700000000 + ssrc) * 1000 }, true, true);
    };
    // A short drain deadline: what the replaced output still holds after it is lost.
    return { outputs, send, reload: (drainMs = 300) => outputs.reload(structuredClone(config), drainMs) };
  }
  const ssrcsOf = (s: StreamSink) => s.frames.map((f) => decodeHep3Strict(f)).filter((m) => m.protoType === 35).map((m) => (JSON.parse(m.payload.toString()) as QosReport).SSRC);

  it('what it queued while down is delivered after the reload, before what follows, on one connection', async () => {
    const port = await freePort();
    const { outputs, send, reload } = tcpOutputs(port);
    send(1);
    send(2);
    send(3);
    await reload();
    send(4);
    send(5);
    const rx = await startStreamSink({ port });
    sinks.push(rx);
    await waitFor(() => ssrcsOf(rx).includes(5), 30_000, 'the report sent last');
    await outputs.close(30_000);
    expect(ssrcsOf(rx)).toEqual([1, 2, 3, 4, 5]);
    expect(rx.connections).toBe(1);
    expect(outputs.destinations(true).reduce((n, d) => n + d.dropped, 0)).toBe(0);
  });

  it('what it still holds for a collector that reads slowly goes before what follows the reload', async () => {
    const rx = await startStreamSink();
    sinks.push(rx);
    rx.onConnection = (sock, i) => {
      if (i === 0) sock.pause();
    };
    const { outputs, send, reload } = tcpOutputs(rx.port);
    // Reports of 30 KB until the connection's buffers are full and the probe queues the rest.
    let n = 0;
    while (n < 2000 && (n < 10 || outputs.destinations()[0]!.queued === 0)) {
      send(++n, 30_000);
      if (n % 10 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    expect(outputs.destinations()[0]!.queued).toBeGreaterThan(0);
    const reloaded = reload(30_000);
    send(n + 1);
    await new Promise((r) => setImmediate(r));
    rx.sockets[0]!.resume();
    await reloaded;
    await waitFor(() => ssrcsOf(rx).includes(n + 1), 30_000, 'the report sent after the reload');
    await outputs.close(30_000);
    expect(ssrcsOf(rx)).toEqual(Array.from({ length: n + 1 }, (_, i) => i + 1));
    expect(rx.connections).toBe(1);
  });
});
