import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CallTracker } from '../../src/sip/index.js';
import { CAPTURES, eachPacketOfFile, words } from './helpers.js';

/**
 * Truth from tshark: each RTP packet's rtp.setup-frame (the SDP that set the stream up) mapped to that
 * frame's sip.Call-ID. Streams set up by something else (MGCP) or by nothing must stay unbound.
 */
function tshark(file: string, args: string[]): string[][] {
  const out = execFileSync('tshark', ['-r', file, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

interface Expected {
  src: string;
  sport: number;
  dst: string;
  dport: number;
  /** Call-ID tshark attributes the stream to, '' when its setup was not SIP. */
  callId: string;
}

function tsharkTruth(file: string): Expected[] {
  // -o rtp heuristic on so streams tshark lists in *.tshark.txt appear even without setup.
  const rtp = tshark(file, ['-o', 'rtp.heuristic_rtp:TRUE', '-Y', 'rtp && !icmp', '-T', 'fields', '-e', 'ip.src', '-e', 'udp.srcport', '-e', 'ip.dst', '-e', 'udp.dstport', '-e', 'rtp.setup-frame']);
  const sip = new Map(tshark(file, ['-Y', 'sip', '-T', 'fields', '-e', 'frame.number', '-e', 'sip.Call-ID']).map((f) => [f[0], f[1]]));
  const streams = new Map<string, Expected>();
  for (const [src, sport, dst, dport, setup] of rtp) {
    const key = `${src}:${sport}>${dst}:${dport}`;
    if (streams.has(key)) continue;
    streams.set(key, { src, sport: Number(sport), dst, dport: Number(dport), callId: sip.get(setup) ?? '' });
  }
  return [...streams.values()];
}

const FILES = ['SIP_CALL_RTP_G711.pcap', 'SIP_DTMF2.pcap', 'sip-rtp-dvi4.pcap', 'sipp-g711a.pcap'];

describe('Call-ID correlation against tshark SDP tracking', () => {
  for (const name of FILES) {
    const file = CAPTURES + name;
    it.runIf(existsSync(file))(name, () => {
      const truth = tsharkTruth(file);
      expect(truth.length).toBeGreaterThan(0);
      const tracker = new CallTracker({}, { maxCalls: 64, endedLingerMs: 1e12 });
      // Each stream's Call-ID as the integrator would resolve it: at its first packet, destination first, then source.
      const got = new Map<string, string>();
      eachPacketOfFile(file, (pkt, nowMs) => {
        if (tracker.onPacket(pkt, nowMs) || pkt.ipProto !== 17) return;
        const key = `${ipText(pkt.src3)}:${pkt.srcPort}>${ipText(pkt.dst3)}:${pkt.dstPort}`;
        if (got.has(key)) return;
        let id = tracker.findBinding(pkt.dst0, pkt.dst1, pkt.dst2, pkt.dst3, pkt.dstPort);
        if (id < 0) id = tracker.findBinding(pkt.src0, pkt.src1, pkt.src2, pkt.src3, pkt.srcPort);
        got.set(key, id < 0 ? '' : tracker.binding(id)!.callId);
      });
      let bound = 0;
      for (const e of truth) {
        const key = `${e.src}:${e.sport}>${e.dst}:${e.dport}`;
        expect({ key, callId: got.get(key) ?? '(not seen)' }).toEqual({ key, callId: e.callId });
        if (e.callId) bound++;
      }
      if (name !== 'sipp-g711a.pcap') expect(bound).toBeGreaterThan(0);
      expect(tracker.stats.malformed['bad-start-line']).toBe(0);
    });
  }

  it('binds the addresses of every SDP body tshark sees in a SIP message', () => {
    const file = CAPTURES + 'SIP_CALL_RTP_G711.pcap';
    const sdp = tshark(file, ['-Y', 'sip && sdp', '-T', 'fields', '-e', 'sip.Call-ID', '-e', 'sdp.connection_info.address', '-e', 'sdp.media.port']);
    expect(sdp.length).toBeGreaterThan(0);
    const tracker = new CallTracker({}, { endedLingerMs: 1e12 });
    eachPacketOfFile(file, (pkt, nowMs) => void tracker.onPacket(pkt, nowMs));
    for (const [callId, addr, port] of sdp) {
      const id = tracker.findBinding(...words(addr), Number(port));
      expect(id, `${callId} ${addr}:${port}`).toBeGreaterThanOrEqual(0);
      expect(tracker.binding(id)!.callId).toBe(callId);
    }
  });
});

function ipText(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 0xff}.${(w >>> 8) & 0xff}.${w & 0xff}`;
}
