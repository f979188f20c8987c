/**
 * Benchmark of capture reading + packet decoding (not a test).
 * Run after build: node --expose-gc native-bench/out/decode.js [packets]
 * Reported as ratios against a reference measured in the same run over the same in-memory capture: the
 * reference iterates every batch and reads one byte per packet (the floor any consumer pays). Mixes:
 *   plain  Ethernet/IPv4/UDP RTP           vlan  802.1Q + IPv6/UDP
 *   erspan GRE/ERSPAN II + Ethernet/IPv4    vxlan VXLAN + Ethernet/IPv4
 * Also the file source over a real temp file (async chunks) against the same reference.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCaptureFile, readCaptureBuffer } from '../../dist/capture/index.js';
import { DecodedPacket, PacketDecoder } from '../../dist/decode/index.js';
import { classicPcap, erspan2, ethernet, EtherType, gre, ipv4, rtp, udpFrame, vxlan, type PcapRecord } from '../../dist/gen/index.js';

const total = Number(process.argv[2] ?? 400_000);

function frame(kind: string, s: number, i: number): Uint8Array {
  const payload = rtp({ pt: 8, seq: i & 0xffff, ts: i * 160, ssrc: 0x1000 + s });
  const src = `10.0.${(s >> 8) & 255}.${s & 255}`;
  const inner = () => udpFrame(src, 10000 + 2 * s, '192.168.1.1', 20000, payload);
  switch (kind) {
    case 'vlan':
      return udpFrame(`2001:db8::${s.toString(16)}`, 10000 + 2 * s, '2001:db8::ffff', 20000, payload, { vlans: [100] });
    case 'erspan':
      return ethernet(ipv4('172.16.0.1', '172.16.0.2', 47, gre(0x88be, erspan2(inner()), { seq: i })), EtherType.IPV4);
    case 'vxlan':
      return udpFrame('172.16.0.1', 50000, '172.16.0.2', 4789, vxlan(inner()));
    default:
      return inner();
  }
}

function capture(kind: string): Uint8Array {
  const streams = 500;
  // Build one frame per stream and reuse it: generation speed is not what is measured.
  const frames = Array.from({ length: streams }, (_, s) => frame(kind, s, 0));
  const records: PcapRecord[] = [];
  for (let i = 0; i < total; i++) records.push({ tsNs: 1_700_000_000_000_000_000n + BigInt(i) * 40_000n, data: frames[i % streams] });
  return new Uint8Array(classicPcap(records));
}

function reference(data: Uint8Array): number {
  let sum = 0;
  for (const b of readCaptureBuffer(data)) {
    for (let i = 0; i < b.count; i++) sum += b.buf[b.offset[i]];
  }
  return sum;
}

function decodeAll(data: Uint8Array, decoder: PacketDecoder, pkt: DecodedPacket): number {
  let sum = 0;
  for (const b of readCaptureBuffer(data)) {
    for (let i = 0; i < b.count; i++) if (decoder.decode(b, i, pkt)) sum += pkt.dstPort;
  }
  return sum;
}

async function fileDecode(path: string): Promise<number> {
  const decoder = new PacketDecoder();
  const pkt = new DecodedPacket();
  let sum = 0;
  for await (const b of openCaptureFile(path).batches()) {
    for (let i = 0; i < b.count; i++) if (decoder.decode(b, i, pkt)) sum += pkt.dstPort;
  }
  return sum;
}

function best(fn: () => number, runs = 5): number {
  let min = Infinity;
  for (let r = 0; r < runs; r++) {
    (globalThis as { gc?: () => void }).gc?.();
    const t0 = process.hrtime.bigint();
    fn();
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return min;
}

async function bestAsync(fn: () => Promise<number>, runs = 3): Promise<number> {
  let min = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return min;
}

async function main(): Promise<void> {
  console.log(`decode benchmark: ${total} packets per mix, best of several runs`);
  console.log('mix      ref_ms  decode_ms  decode_Mpps  ratio_vs_ref  heap_growth_MB_over_runs');
  for (const kind of ['plain', 'vlan', 'erspan', 'vxlan']) {
    const data = capture(kind);
    const decoder = new PacketDecoder();
    const pkt = new DecodedPacket();
    decodeAll(data, decoder, pkt); // warm-up
    reference(data);
    const ref = best(() => reference(data));
    (globalThis as { gc?: () => void }).gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    const dec = best(() => decodeAll(data, decoder, pkt));
    const heap1 = process.memoryUsage().heapUsed;
    console.log(
      `${kind.padEnd(7)} ${ref.toFixed(1).padStart(7)} ${dec.toFixed(1).padStart(10)} ${(total / dec / 1000).toFixed(2).padStart(12)} ${(dec / ref).toFixed(2).padStart(13)} ${((heap1 - heap0) / 1e6).toFixed(2).padStart(14)}`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-bench-'));
  try {
    const data = capture('plain');
    const path = join(dir, 'plain.pcap');
    writeFileSync(path, data);
    await fileDecode(path);
    const ref = best(() => reference(data));
    const file = await bestAsync(() => fileDecode(path));
    console.log(`file source + decode (async 4 MiB chunks): ${file.toFixed(1)} ms, ${(total / file / 1000).toFixed(2)} Mpps, ratio vs in-memory reference ${(file / ref).toFixed(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
