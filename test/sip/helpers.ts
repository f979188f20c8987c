import { readFileSync } from 'node:fs';
import { readCaptureBuffer } from '../../src/capture/index.js';
import { DecodedPacket, PacketDecoder } from '../../src/decode/index.js';
import { classicPcap, type PcapRecord } from '../../src/gen/index.js';
import { parseIpWords } from '../../src/sip/index.js';

export const CAPTURES = new URL('../../../shared/captures/', import.meta.url).pathname;

/** Runs every packet of a pcap (bytes) through the real decoder; calls `fn` with capture time in ms. */
export function eachPacket(data: Uint8Array, fn: (pkt: DecodedPacket, nowMs: number, frameNo: number) => void): void {
  const decoder = new PacketDecoder();
  const pkt = new DecodedPacket();
  let frameNo = 0;
  for (const batch of readCaptureBuffer(data)) {
    for (let i = 0; i < batch.count; i++) {
      frameNo++;
      if (!decoder.decode(batch, i, pkt)) continue;
      fn(pkt, pkt.tsSec * 1000 + Math.floor(pkt.tsNsec / 1e6), frameNo);
    }
  }
}

export function eachPacketOfFile(path: string, fn: (pkt: DecodedPacket, nowMs: number, frameNo: number) => void): void {
  eachPacket(readFileSync(path), fn);
}

/** Frames at given capture times (ms since the epoch) -> classic pcap bytes. */
export function pcapOf(frames: Array<[number, Uint8Array]>): Uint8Array {
  const records: PcapRecord[] = frames.map(([ms, data]) => ({ tsNs: BigInt(ms) * 1_000_000n, data }));
  return classicPcap(records);
}

export function words(ip: string): [number, number, number, number] {
  const w = new Uint32Array(4);
  if (!parseIpWords(ip, w)) throw new Error(`bad ip ${ip}`);
  return [w[0], w[1], w[2], w[3]];
}
