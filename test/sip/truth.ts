import { execFileSync } from 'node:child_process';
import { CallTracker, formatIpWords } from '../../src/sip/index.js';
import { eachPacketOfFile } from './helpers.js';

export function tshark(file: string, args: string[]): string[][] {
  const out = execFileSync('tshark', ['-r', file, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

/**
 * Truth from tshark: each RTP packet's rtp.setup-frame (the SDP that set the stream up) mapped to that
 * frame's sip.Call-ID. Streams set up by something else (MGCP) or by nothing must stay unbound.
 */

export interface Expected {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  /** Call-ID tshark attributes the stream to, '' when its setup was not SIP. */
  callId: string;
}

export function tsharkTruth(file: string): Expected[] {
  // -o rtp heuristic on so streams tshark lists in *.tshark.txt appear even without setup.
  const rtp = tshark(file, ['-o', 'rtp.heuristic_rtp:TRUE', '-Y', 'rtp && !icmp', '-T', 'fields', '-e', 'ip.src', '-e', 'udp.srcport', '-e', 'ip.dst', '-e', 'udp.dstport', '-e', 'rtp.setup-frame', '-e', 'ipv6.src', '-e', 'ipv6.dst']).map(
    ([s4, sp, d4, dp, setup, s6, d6]) => [s4 || s6, sp, d4 || d6, dp, setup],
  );
  const sip = new Map(tshark(file, ['-Y', 'sip', '-T', 'fields', '-e', 'frame.number', '-e', 'sip.Call-ID']).map((f) => [f[0], f[1]]));
  const streams = new Map<string, Expected>();
  for (const [src, sport, dst, dport, setup] of rtp) {
    const key = `${src}:${sport}>${dst}:${dport}`;
    if (streams.has(key)) continue;
    streams.set(key, { src, sport: Number(sport), dst, dport: Number(dport), callId: sip.get(setup) ?? '' });
  }
  return [...streams.values()];
}

/** Each UDP stream's Call-ID as the integrator resolves it: at its first packet, destination first, then source. */
export function ourCallIds(file: string): { got: Map<string, string>; tracker: CallTracker } {
  const tracker = new CallTracker({}, { maxCalls: 64, endedLingerMs: 1e12 });
  const got = new Map<string, string>();
  eachPacketOfFile(file, (pkt, nowMs) => {
    if (tracker.onPacket(pkt, nowMs) || pkt.ipProto !== 17) return;
    const key = `${formatIpWords(pkt.src0, pkt.src1, pkt.src2, pkt.src3)}:${pkt.srcPort}>${formatIpWords(pkt.dst0, pkt.dst1, pkt.dst2, pkt.dst3)}:${pkt.dstPort}`;
    if (got.has(key)) return;
    let id = tracker.findBinding(pkt.dst0, pkt.dst1, pkt.dst2, pkt.dst3, pkt.dstPort);
    if (id < 0) id = tracker.findBinding(pkt.src0, pkt.src1, pkt.src2, pkt.src3, pkt.srcPort);
    got.set(key, id < 0 ? '' : tracker.binding(id)!.callId);
  });
  return { got, tracker };
}

