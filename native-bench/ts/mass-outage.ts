/**
 * A capture of a mass outage, for the media-fault checks at scale: `--calls` concurrent generated G.711
 * calls (src/gen/scenario.ts, no RTCP) whose callee side (10.128.0.0/9 in the generator) stops sending RTP
 * `--after-s` seconds into the capture, so every call goes one-way in the same tick. SIP goes on (the calls
 * end with their BYE). Writes a classic pcap to --out and prints the packets kept and taken out.
 * Run after build: node native-bench/out/mass-outage.js --out F [--calls 2000] [--call-duration 26] [--after-s 12]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureCursor } from '../../dist/capture/file/index.js';
import { DecodedPacket, PacketDecoder } from '../../dist/decode/index.js';
import { writeScenarioPcap } from '../../dist/gen/scenario.js';
import { looksLikeSip } from '../../dist/sip/index.js';
import { argNumber, argString } from './args.js';

const out = argString('out', '');
const calls = argNumber('calls', 2000);
const callDurationS = argNumber('call-duration', 26);
const afterS = argNumber('after-s', 12);
if (out === '') {
  console.error('usage: node native-bench/out/mass-outage.js --out F [--calls N] [--call-duration S] [--after-s S]');
  process.exit(2);
}

/** Classic pcap header lengths (as src/gen/pcap-writer.ts writes it). */
const FILE_HEADER = 24;
const RECORD_HEADER = 16;

const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-outage-'));
try {
  const full = join(dir, 'full.pcap');
  writeScenarioPcap(full, {
    calls, concurrentCalls: calls, durationS: 0, callDurationS, codec: 'PCMA', lossPct: 0, jitterMs: 0, rtcp: false, seed: 1, startEpochS: 1_700_000_000,
  });
  const d = readFileSync(full);
  const kept: Uint8Array[] = [d.subarray(0, FILE_HEADER)];
  const dec = new PacketDecoder();
  const pkt = new DecodedPacket();
  const cur = new CaptureCursor(d, 'mass-outage');
  let firstMs = -1;
  let records = 0;
  let cut = 0;
  while (cur.next()) {
    const ms = cur.tsSec * 1000 + cur.tsNsec / 1e6;
    if (firstMs < 0) firstMs = ms;
    // RTP from the callee (IPv4 source 10.128.0.0/9, in the last address word) after the outage starts.
    const callee = ms - firstMs > afterS * 1000 && dec.decodeFrame(d, cur.off, cur.caplen, cur.linkType, cur.tsSec, cur.tsNsec, pkt) &&
      pkt.ipProto === 17 && ((pkt.src3 >>> 16) & 0xff) >= 128;
    if (callee && pkt.payloadLength > 0 && pkt.payloadBuf[pkt.payloadOffset] >> 6 === 2 && !looksLikeSip(pkt.payloadBuf, pkt.payloadOffset, pkt.payloadLength)) {
      cut++;
      continue;
    }
    kept.push(d.subarray(cur.off - RECORD_HEADER, cur.off + cur.caplen));
    records++;
  }
  writeFileSync(out, Buffer.concat(kept));
  console.log(`${out}: ${calls} calls, ${records} packets kept, ${cut} RTP packets of the callee side taken out after ${afterS} s`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
