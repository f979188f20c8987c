/**
 * Pauses cut into a generated capture, for the identity check of the media-fault checks (silences,
 * one-way): the scenario generator sends every stream without a break. Streams are picked by SSRC (the
 * generator's are random, so about a tenth each):
 *  - SSRC % 10 == 0: a silence, the sender stopping 3 s after its first packet and going on 6.5 s later
 *    with the next sequence number (DTX: the RTP timestamp moves on, the numbers do not);
 *  - SSRC % 10 == 1: the sender stops for good 4 s after its first packet (its call one-way until its end);
 *  - SSRC % 10 == 2: an outage, the network losing the same 6.5 s (the numbers jump across it: loss);
 * and calls without media: every RTP packet of a port pair whose lower port / 2 is 3 modulo 25 (both
 * directions of one call in the generator's symmetric RTP; about 4 % of the calls).
 * Rewrites a classic pcap (as src/gen/pcap-writer.ts writes it) in place; returns the records, RTP
 * packets and streams taken out.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { CaptureCursor } from '../../dist/capture/file/index.js';
import { DecodedPacket, PacketDecoder } from '../../dist/decode/index.js';
import { looksLikeSip } from '../../dist/sip/index.js';

const PAUSE_FROM_MS = 3000;
const PAUSE_MS = 6500;
const STOP_FROM_MS = 4000;
/** Classic pcap record header: seconds, fraction, captured length, original length. */
const RECORD_HEADER = 16;
const FILE_HEADER = 24;

type Cut = 'silence' | 'stop' | 'outage' | 'none';

function cutOf(ssrc: number): Cut {
  const k = ssrc % 10;
  return k === 0 ? 'silence' : k === 1 ? 'stop' : k === 2 ? 'outage' : 'none';
}

export function cutPauses(file: string): { records: number; rtpPackets: number; rtpStreams: number } {
  const data = readFileSync(file);
  const out: Uint8Array[] = [data.subarray(0, FILE_HEADER)];
  const dec = new PacketDecoder();
  const pkt = new DecodedPacket();
  const cur = new CaptureCursor(data, 'pauses');
  /** Per SSRC: its first packet's time (ms) and the sequence numbers taken out so far (silence). */
  const firstMs = new Map<number, number>();
  const skipped = new Map<number, number>();
  /** SSRCs of the calls without media (all their packets taken out). */
  const gone = new Set<number>();
  let records = 0;
  let rtpPackets = 0;
  while (cur.next()) {
    const rec = data.subarray(cur.off - RECORD_HEADER, cur.off + cur.caplen);
    if (data.readUInt32LE(cur.off - 8) !== cur.caplen) throw new Error('pauses: not a little-endian classic pcap');
    const ms = cur.tsSec * 1000 + cur.tsNsec / 1e6;
    if (dec.decodeFrame(data, cur.off, cur.caplen, cur.linkType, cur.tsSec, cur.tsNsec, pkt) && pkt.ipProto === 17 && pkt.payloadLength >= 12) {
      const p = pkt.payloadOffset;
      const b = pkt.payloadBuf;
      const rtcp = b[p + 1] >= 200 && b[p + 1] <= 207;
      if ((b[p] >> 6) === 2 && !rtcp && !looksLikeSip(b, p, pkt.payloadLength)) {
        const ssrc = ((b[p + 8] << 24) | (b[p + 9] << 16) | (b[p + 10] << 8) | b[p + 11]) >>> 0;
        const first = firstMs.get(ssrc) ?? ms;
        firstMs.set(ssrc, first);
        const since = ms - first;
        if ((Math.min(pkt.srcPort, pkt.dstPort) >> 1) % 25 === 3) {
          gone.add(ssrc);
          records++;
          rtpPackets++;
          continue;
        }
        const cut = cutOf(ssrc);
        const inPause = since >= PAUSE_FROM_MS && since < PAUSE_FROM_MS + PAUSE_MS;
        if ((cut === 'stop' && since >= STOP_FROM_MS) || ((cut === 'silence' || cut === 'outage') && inPause)) {
          if (cut === 'silence') skipped.set(ssrc, (skipped.get(ssrc) ?? 0) + 1);
          records++;
          rtpPackets++;
          continue;
        }
        const n = skipped.get(ssrc) ?? 0;
        if (n > 0) {
          const seq = (((b[p + 2] << 8) | b[p + 3]) - n) & 0xffff;
          b[p + 2] = seq >> 8;
          b[p + 3] = seq & 0xff;
        }
      }
    }
    out.push(rec);
  }
  writeFileSync(file, Buffer.concat(out));
  return { records, rtpPackets, rtpStreams: gone.size };
}
