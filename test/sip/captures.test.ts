import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CallTracker } from '../../src/sip/index.js';
import { CAPTURES, eachPacketOfFile, words } from './helpers.js';
import { ourCallIds, tshark, tsharkTruth } from './truth.js';

const FILES = ['SIP_CALL_RTP_G711.pcap', 'SIP_DTMF2.pcap', 'sip-rtp-dvi4.pcap', 'sipp-g711a.pcap'];

describe('Call-ID correlation against tshark SDP tracking', () => {
  for (const name of FILES) {
    const file = CAPTURES + name;
    it.runIf(existsSync(file))(name, () => {
      const truth = tsharkTruth(file);
      expect(truth.length).toBeGreaterThan(0);
      const { got, tracker } = ourCallIds(file);
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
