/**
 * `rtpprobe demo`: the quick start's embedded default. Generates two short captures with the project's
 * own scenario generator (clean calls, then calls with bursty loss and jitter), starts a local HEP
 * collector on 127.0.0.1, replays both files through the real probe, and prints what the collector
 * decoded (strictly, as heplify-server would) next to the probe's own stream table.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { writeScenarioPcap } from '../gen/index.js';
import type { ScenarioOptions } from '../gen/index.js';
import { decodeHep3Strict } from '../hep/index.js';
import { runReplay } from '../probe.js';
import type { ProbeConfig } from './config.js';

const DEMO_START_EPOCH_S = 1_767_225_600; // 2026-01-01T00:00:00Z: fixed, so every run prints the same numbers
const COLLECTOR_BUFFER_BYTES = 4 << 20;
/** The collector has read every datagram once none has come for this long after the replay ended. */
const QUIET_MS = 200;

export async function runDemo(base: ProbeConfig, log: Logger, print: (t: string) => void): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-demo-'));
  // Room for every datagram of the run while the replay keeps this thread busy.
  const collector = createSocket({ type: 'udp4', recvBufferSize: COLLECTOR_BUFFER_BYTES });
  const received: string[] = [];
  let rtcpMessages = 0;
  let sipMessages = 0;
  let lastMessageAt = performance.now();
  collector.on('message', (msg) => {
    lastMessageAt = performance.now();
    const line = describeHep(msg);
    if (line === RTCP_LINE) rtcpMessages++;
    else if (line === SIP_LINE) sipMessages++;
    else received.push(line);
  });
  await new Promise<void>((resolve) => collector.bind(0, '127.0.0.1', resolve));
  const port = collector.address().port;
  try {
    const common: Omit<ScenarioOptions, 'seed' | 'startEpochS' | 'lossPct' | 'jitterMs'> = { calls: 2, durationS: 20, callDurationS: 16, codec: 'PCMA', rtcp: true };
    const clean = join(dir, 'clean.pcap');
    const impaired = join(dir, 'impaired.pcap');
    writeScenarioPcap(clean, { ...common, seed: 1, startEpochS: DEMO_START_EPOCH_S, lossPct: 0, jitterMs: 2 });
    writeScenarioPcap(impaired, { ...common, seed: 2, startEpochS: DEMO_START_EPOCH_S + 60, lossPct: 6, burstLossPct: 40, jitterMs: 35 });
    const config: ProbeConfig = {
      ...base,
      hep: { ...base.hep, enabled: true, collectors: [{ ...base.hep.collectors[0], host: '127.0.0.1', port, transport: 'udp' }], nodeName: base.hep.nodeName || 'rtpprobe-demo' },
      reports: {
        ...base.reports,
        intervalS: 5,
        rules: base.reports.rules.length ? base.reports.rules : [{ name: 'poor-quality', when: 'mos < 3.6 or loss_pct > 2', intervalS: 2 }],
      },
    };
    print(`rtpprobe demo: replaying 2 generated captures (clean calls, then 6 % bursty loss + 35 ms jitter);\nQoS reports go over HEP v3 to a local collector on 127.0.0.1:${port}\n\n`);
    let table = '';
    const code = await runReplay([clean, impaired], config, { realtime: false, print: (t) => void (table += t) }, log);
    // runReplay returns once the sender has sent everything: the datagrams wait in the socket's buffer
    // and are read on the next turns of the event loop, until a quiet spell says none is left.
    while (performance.now() - lastMessageAt < QUIET_MS) await new Promise((r) => setTimeout(r, QUIET_MS / 4));
    print(`QoS reports the collector decoded (${received.length}), plus ${sipMessages} SIP messages (type 1) and ${rtcpMessages} RTCP messages (type 5):\n${received.join('\n')}\n\nStreams (final reports):\n${table}`);
    return code;
  } finally {
    collector.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const RTCP_LINE = 'rtcp';
const SIP_LINE = 'sip';

/** One line per QoS report as the collector decoded it; SIP and RTCP messages are only counted. */
function describeHep(msg: Buffer): string {
  try {
    const h = decodeHep3Strict(msg);
    const addr = `${h.srcIp}:${h.srcPort} -> ${h.dstIp}:${h.dstPort}`;
    if (h.protoType === 5) return RTCP_LINE;
    if (h.protoType === 1) return SIP_LINE;
    const r = JSON.parse(h.payload.toString('utf8')) as Record<string, number | string>;
    const alert = r.ALERT_RULE ? `  rule ${r.ALERT_RULE}` : '';
    // A report of a period without packets (a CLEARED as its stream ends) carries the last MOS scored.
    const period = Number(r.EXPECTED_PK) > 0 ? `loss ${((100 * Number(r.PACKET_LOSS)) / Number(r.EXPECTED_PK)).toFixed(1)}%  jitter ${Number(r.JITTER).toFixed(1)} ms` : 'no packets since the last report';
    return `  type ${h.protoType} ${String(r.TYPE).padEnd(9)} ${addr}  call ${h.correlationId}  MOS ${Number(r.MOS).toFixed(2)}  ${period}${alert}`;
  } catch (err) {
    return `  undecodable HEP packet: ${(err as Error).message}`;
  }
}
