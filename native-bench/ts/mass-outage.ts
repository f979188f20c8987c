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
import { writeScenarioPcap } from '../../dist/gen/scenario.js';
import { argNumber, argString } from './args.js';

const out = argString('out', '');
const calls = argNumber('calls', 2000);
const callDurationS = argNumber('call-duration', 26);
const afterS = argNumber('after-s', 12);
if (out === '') {
  console.error('usage: node native-bench/out/mass-outage.js --out F [--calls N] [--call-duration S] [--after-s S]');
  process.exit(2);
}

/** Classic pcap (little-endian, microseconds, Ethernet: as src/gen/pcap-writer.ts writes it). */
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
  let firstMs = -1;
  let records = 0;
  let cut = 0;
  for (let pos = FILE_HEADER; pos + RECORD_HEADER <= d.length; ) {
    const ms = d.readUInt32LE(pos) * 1000 + d.readUInt32LE(pos + 4) / 1000;
    const caplen = d.readUInt32LE(pos + 8);
    const f = pos + RECORD_HEADER; // Ethernet frame
    if (firstMs < 0) firstMs = ms;
    let keep = true;
    if (ms - firstMs > afterS * 1000 && d.readUInt16BE(f + 12) === 0x0800 && d[f + 23] === 17) {
      const udp = f + 14 + (d[f + 14] & 15) * 4;
      const sip = d.readUInt16BE(udp) === 5060 || d.readUInt16BE(udp + 2) === 5060;
      // RTP from the callee: source address 10.128.0.0/9, version 2, not SIP.
      keep = sip || d[f + 27] < 128 || d[udp + 8] >> 6 !== 2;
    }
    if (keep) {
      kept.push(d.subarray(pos, f + caplen));
      records++;
    } else cut++;
    pos = f + caplen;
  }
  writeFileSync(out, Buffer.concat(kept));
  console.log(`${out}: ${calls} calls, ${records} packets kept, ${cut} RTP packets of the callee side taken out after ${afterS} s`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
