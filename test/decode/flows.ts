import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { allocateBatch, readCaptureBuffer, type PacketBatch } from '../../src/capture/index.js';
import { DecodedPacket, ipToString, PacketDecoder, type DecoderOptions } from '../../src/decode/index.js';

/** Test helpers: UDP packet counts per flow "src|sport|dst|dport", from tshark and from our decoder. */

/**
 * tshark's view. With tunnels a field lists every layer's value comma-separated, outermost first: the
 * innermost (last) is the flow the probe measures. Reassembled fragments appear once, on the last fragment.
 */
export function tsharkUdpFlows(file: string, extraArgs: string[] = []): Map<string, number> {
  const out = execFileSync(
    'tshark',
    ['-r', file, ...extraArgs, '-T', 'fields', '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'udp.srcport', '-e', 'ip.dst', '-e', 'ipv6.dst', '-e', 'udp.dstport', '-e', 'frame.protocols', '-Y', 'udp'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const flows = new Map<string, number>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const f = line.split('\t').map((v) => v.split(',').pop() ?? '');
    // Not a UDP flow of the probe's: a UDP header quoted by an ICMP error, or TCP inside a UDP tunnel (GTP-U).
    const layers = f[6].split(':');
    if (layers.some((l) => l === 'icmp' || l === 'icmpv6') || layers.lastIndexOf('tcp') > layers.lastIndexOf('udp')) continue;
    // When both IPv4 and IPv6 layers exist (6in4, GTP-U over IPv6...) the innermost is the later in frame.protocols.
    const v6 = layers.lastIndexOf('ipv6') > layers.lastIndexOf('ip');
    const src = v6 ? f[1] : f[0];
    const dst = v6 ? f[4] : f[3];
    const key = `${src}|${f[2]}|${dst}|${f[5]}`;
    flows.set(key, (flows.get(key) ?? 0) + 1);
  }
  return flows;
}

export function decoderUdpFlows(data: Uint8Array, opts?: DecoderOptions): { flows: Map<string, number>; decoder: PacketDecoder } {
  const decoder = new PacketDecoder(opts);
  const pkt = new DecodedPacket();
  const flows = new Map<string, number>();
  for (const batch of readCaptureBuffer(data)) {
    for (let i = 0; i < batch.count; i++) {
      if (!decoder.decode(batch, i, pkt) || pkt.ipProto !== 17) continue;
      const key = `${ipToString(pkt.src0, pkt.src1, pkt.src2, pkt.src3)}|${pkt.srcPort}|${ipToString(pkt.dst0, pkt.dst1, pkt.dst2, pkt.dst3)}|${pkt.dstPort}`;
      flows.set(key, (flows.get(key) ?? 0) + 1);
    }
  }
  return { flows, decoder };
}

export function decoderUdpFlowsOfFile(file: string, opts?: DecoderOptions) {
  return decoderUdpFlows(readFileSync(file), opts);
}

export function sorted(m: Map<string, number>): Array<[string, number]> {
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** One batch holding `frames` at odd offsets (so offset arithmetic is exercised), all of `linkType`. */
export function batchOf(frames: Uint8Array[], linkType = 1, tsSec = 1_700_000_000): PacketBatch {
  let total = 0;
  for (const f of frames) total += f.length + 3;
  const b = allocateBatch(frames.length, total);
  let o = 0;
  frames.forEach((f, i) => {
    o += 3;
    b.buf.set(f, o);
    b.offset[i] = o;
    b.caplen[i] = f.length;
    b.wirelen[i] = f.length;
    b.tsSec[i] = tsSec + i;
    b.tsNsec[i] = 123;
    b.linkType[i] = linkType;
    o += f.length;
  });
  b.count = frames.length;
  return b;
}
