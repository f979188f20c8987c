import { openCaptureFile } from '../capture/file/index.js';
import { malformedReasonNames, protocolCounterNames } from './counters.js';
import { PacketDecoder, type DecoderOptions } from './decoder.js';
import { FlowTable } from './flow-table.js';
import { DecodedPacket } from './packet.js';
import { ipToString } from './text.js';

/** Packets, bytes and the time of the first and last of them (0 when none). */
export interface TrafficSpan {
  packets: number;
  /** Frame bytes on the wire (pcap original length). */
  bytes: number;
  firstSec: number;
  firstNsec: number;
  lastSec: number;
  lastNsec: number;
}

/**
 * One direction of a UDP or TCP 5-tuple seen in a capture. `bytes` counts the last fragment's frame for
 * reassembled datagrams.
 */
export interface FlowSummary extends TrafficSpan {
  proto: 'udp' | 'tcp';
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
}

/** The whole file: `packets` are its records. */
export interface CaptureSummary extends TrafficSpan {
  file: string;
  /** Flows, most packets first (ties: by first appearance). */
  flows: FlowSummary[];
  /** Non-zero decoder protocol counters by name (packets, ipv4, udp, vxlan, fragments...). */
  protocols: Record<string, number>;
  /** Non-zero malformed counters by reason name. */
  malformed: Record<string, number>;
}

/**
 * Reads a capture file through the decoder and counts packets, bytes and times per UDP/TCP flow. A
 * damaged file rejects with CaptureFileError after counting every packet before the damage.
 */
export async function summarizeCapture(path: string, opts: DecoderOptions = {}): Promise<CaptureSummary> {
  const decoder = new PacketDecoder(opts);
  const pkt = new DecodedPacket();
  const table = new FlowTable();
  let packets = 0;
  let bytes = 0;
  let firstSec = 0, firstNsec = 0, lastSec = 0, lastNsec = 0;
  for await (const batch of openCaptureFile(path).batches()) {
    for (let i = 0; i < batch.count; i++) {
      if (packets === 0) {
        firstSec = batch.tsSec[i];
        firstNsec = batch.tsNsec[i];
      }
      packets++;
      bytes += batch.wirelen[i];
      lastSec = batch.tsSec[i];
      lastNsec = batch.tsNsec[i];
      if (decoder.decode(batch, i, pkt)) table.add(pkt, batch.wirelen[i]);
    }
  }
  const flows: FlowSummary[] = [];
  for (let s = 0; s < table.size; s++) {
    const k = s * 10;
    const w = table.keys;
    flows.push({
      proto: w[k] === 6 ? 'tcp' : 'udp',
      src: ipToString(w[k + 1], w[k + 2], w[k + 3], w[k + 4]),
      srcPort: w[k + 9] >>> 16,
      dst: ipToString(w[k + 5], w[k + 6], w[k + 7], w[k + 8]),
      dstPort: w[k + 9] & 0xffff,
      packets: table.packets[s],
      bytes: table.bytes[s],
      firstSec: table.firstSec[s],
      firstNsec: table.firstNsec[s],
      lastSec: table.lastSec[s],
      lastNsec: table.lastNsec[s],
    });
  }
  flows.sort((a, b) => b.packets - a.packets); // stable: ties keep first-appearance order
  return {
    file: path, packets, bytes, firstSec, firstNsec, lastSec, lastNsec, flows,
    protocols: nonZero(decoder.counts, protocolCounterNames),
    malformed: nonZero(decoder.malformed, malformedReasonNames),
  };
}

function nonZero(counts: Float64Array, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  counts.forEach((n, i) => {
    if (n !== 0) out[names[i]] = n;
  });
  return out;
}

/** Capture time as ISO-8601 UTC with nanoseconds. */
export function formatTimestamp(sec: number, nsec: number): string {
  return `${new Date(sec * 1000).toISOString().slice(0, 19)}.${String(nsec).padStart(9, '0')}Z`;
}

function seconds(aSec: number, aNsec: number, bSec: number, bNsec: number): string {
  return ((bSec - aSec) + (bNsec - aNsec) / 1e9).toFixed(3);
}

/** Human-readable report of a summary: totals, protocol and malformed counters, then a flow table. */
export function formatCaptureSummary(s: CaptureSummary, maxFlows = 100): string {
  const lines: string[] = [];
  lines.push(`${s.file}: ${s.packets} packets, ${s.bytes} bytes` +
    (s.packets ? `, ${seconds(s.firstSec, s.firstNsec, s.lastSec, s.lastNsec)} s from ${formatTimestamp(s.firstSec, s.firstNsec)} to ${formatTimestamp(s.lastSec, s.lastNsec)}` : ''));
  const entries = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k} ${v}`).join(', ');
  lines.push(`protocols: ${entries(s.protocols) || 'none'}`);
  lines.push(`malformed: ${entries(s.malformed) || 'none'}`);
  lines.push(`flows: ${s.flows.length}`);
  const rows = s.flows.slice(0, maxFlows).map((f) => [
    f.proto, `${endpoint(f.src, f.srcPort)}`, '->', `${endpoint(f.dst, f.dstPort)}`, String(f.packets), String(f.bytes),
    formatTimestamp(f.firstSec, f.firstNsec), seconds(f.firstSec, f.firstNsec, f.lastSec, f.lastNsec),
  ]);
  const header = ['proto', 'source', '', 'destination', 'packets', 'bytes', 'first', 'duration_s'];
  const table = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...table.map((r) => r[c].length)));
  for (const r of table) lines.push('  ' + r.map((v, c) => (c >= 4 && c !== 6 ? v.padStart(widths[c]) : v.padEnd(widths[c]))).join('  ').trimEnd());
  if (s.flows.length > maxFlows) lines.push(`  ... ${s.flows.length - maxFlows} more flows`);
  return lines.join('\n');
}

function endpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
