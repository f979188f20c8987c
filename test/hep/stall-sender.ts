/** What the stalled-connection tests (and their network-namespace child) send, and the sender they watch. */
import type net from 'node:net';
import { decodeHep3Strict, HepProtoType, HepSender, HepStreamDeframer, type HepCollectorConfig, type HepCollectorEvent, type HepCollectorStats, type HepSendInput } from '../../src/hep/index.js';

const PAD = 'p'.repeat(60_000);

/** A 60 KB report numbered `seq` (in its JSON payload as SEQ). */
export function bigReport(seq: number): HepSendInput {
  return {
    ipFamily: 4, ipProto: 17, srcIp: '10.1.2.3', dstIp: '10.4.5.6', srcPort: 40000, dstPort: 20000, tsSec: 1_700_000_000, tsUsec: seq,
    protoType: HepProtoType.QOS_REPORT, correlationId: `call-${seq}@probe`, payload: JSON.stringify({ SEQ: seq, PAD }),
  };
}

/**
 * A sender to one collector that is stalled after 300 ms and dropped after 1.5 s without progress, its
 * events, and its counts at the first 'down'.
 */
export function quickStallSender(collector: Omit<HepCollectorConfig, 'queueSize' | 'stallTimeoutMs'>): {
  sender: HepSender;
  events: HepCollectorEvent[];
  atDown: () => HepCollectorStats | undefined;
} {
  const events: HepCollectorEvent[] = [];
  let atDown: HepCollectorStats | undefined;
  const sender: HepSender = new HepSender({
    captureId: 1, stallMs: 300, backoffInitialMs: 20, backoffMaxMs: 200,
    onEvent: (e) => {
      events.push(e);
      if (e.kind === 'down') atDown ??= sender.stats().collectors[0]!;
    },
    collectors: [{ ...collector, queueSize: 2000, stallTimeoutMs: 1500 }],
  });
  return { sender, events, atDown: () => atDown };
}

/** A report of about 1 KB numbered `seq`, as a QoS report every few seconds per stream is. */
export function smallReport(seq: number): HepSendInput {
  return { ...bigReport(seq), payload: JSON.stringify({ SEQ: seq, PAD: PAD.slice(0, 1000) }) };
}

/** A receiver's connection handler that records the SEQ of every report each connection brings (got[i]: the i-th). */
export function seqRecorder(): { got: number[][]; conns: net.Socket[]; onConnection: (s: net.Socket) => void } {
  const got: number[][] = [];
  const conns: net.Socket[] = [];
  const onConnection = (s: net.Socket): void => {
    const seqs: number[] = [];
    got.push(seqs);
    conns.push(s);
    const d = new HepStreamDeframer();
    s.on('error', () => {});
    s.on('data', (chunk: Buffer) => {
      for (const f of d.push(chunk)) seqs.push((JSON.parse(decodeHep3Strict(f).payload.toString()) as { SEQ: number }).SEQ);
    });
  };
  return { got, conns, onConnection };
}
