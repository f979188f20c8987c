import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LivePacketSource } from '../../src/capture/live/index.js';
import { fanoutGroupInUse } from '../../src/pipeline/workers/fanout-group.js';
import { fanoutGroupOfBlock, portBlock, takePorts } from '../port-blocks.js';

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) console.warn('test/capture-live: SKIPPED, live capture needs root (CI runs as root)');

/** Ports testPort() gives a test file, from the block of ports no other test process uses meanwhile. */
const PORTS_PER_FILE = 16; // field/gstreamer-live.test.ts runs up to 12 times
const firstPort = await takePorts(PORTS_PER_FILE);
let nextPort = firstPort;
/**
 * A port per test file and call, above Linux's ephemeral ports (32768-60999): tcpdump's `udp port N`
 * reference also matches another suite's socket whose ephemeral source port happens to be N (a whole-suite
 * run once saw 110 packets for 60 sent), and a filter on it another test's packets to the same port.
 */
export function testPort(): number {
  if (nextPort >= firstPort + PORTS_PER_FILE) throw new Error(`a test file takes ${PORTS_PER_FILE} ports at most (testPort)`);
  return nextPort++;
}

/**
 * A PACKET_FANOUT group id no other test process uses (its port block's) and, as the kernel tells, no
 * other program on this host: a socket opened on an id in use with the same settings would silently join
 * that group and share the packets with it.
 */
export async function testFanoutGroup(k = 0): Promise<number> {
  const group = fanoutGroupOfBlock(await portBlock(), k);
  if (fanoutGroupInUse('lo', group) === true) throw new Error(`fanout group ${group} (a test process's own) is in use by another program on this host`);
  return group;
}

export interface SeenPacket {
  /** Whole captured frame as hex: identifies the same packet in both captures. */
  key: string;
  /** Timestamp in ns since epoch (bigint: exact). */
  tsNs: bigint;
  caplen: number;
  wirelen: number;
  linkType: number;
}

/** Drains a live source into a list until it is closed; `seen.n` counts the packets so far (to wait on). */
export async function collect(src: LivePacketSource, seen: { n: number } = { n: 0 }): Promise<SeenPacket[]> {
  const out: SeenPacket[] = [];
  for await (const b of src.batches()) {
    seen.n += b.count;
    for (let i = 0; i < b.count; i++) {
      const bytes = b.buf.subarray(b.offset[i]!, b.offset[i]! + b.caplen[i]!);
      out.push({
        key: Buffer.from(bytes).toString('hex'),
        tsNs: BigInt(b.tsSec[i]!) * 1_000_000_000n + BigInt(b.tsNsec[i]!),
        caplen: b.caplen[i]!,
        wirelen: b.wirelen[i]!,
        linkType: b.linkType[i]!,
      });
    }
  }
  return out;
}

function waitExit(p: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    // 'close', not 'exit': tcpdump's last stderr lines (its drop counts) arrive after it exits.
    if (p.exitCode !== null && p.stderr === null) resolve(p.exitCode);
    else p.once('close', (code) => resolve(code));
  });
}

/** tcpdump writing a nanosecond pcap: the independent reference for counts and kernel timestamps. */
export class Tcpdump {
  private readonly dir = mkdtempSync(join(tmpdir(), 'rtpprobe-live-'));
  readonly file = join(this.dir, 'ref.pcap');
  private proc: ChildProcess | null = null;
  /** tcpdump's messages, including its final "N packets dropped by kernel" line. */
  stderr = '';

  async start(filter: string): Promise<void> {
    // -B: a large kernel buffer so the reference itself does not drop during bursts. Immediate mode: with
    // a buffer timeout tcpdump loses the last, not yet retired TPACKET_V3 block when it is interrupted.
    const args = ['-i', 'lo', '-n', '-U', '-B', '65536', '-s', '65535', '--immediate-mode', '--time-stamp-precision=nano', '-w', this.file];
    const p = spawn('tcpdump', [...args, filter], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.proc = p;
    await new Promise<void>((resolve, reject) => {
      let err = '';
      p.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        this.stderr = err;
        if (err.includes('listening on')) resolve();
      });
      p.once('exit', (code) => reject(new Error(`tcpdump exited ${code}: ${err}`)));
    });
  }

  /** Packets tcpdump has written so far (it writes each as it comes: -U). */
  records(): number {
    const f = readFileSync(this.file);
    return f.length < 24 ? 0 : readNanoPcap(f).length; // the file header is written with the first packet
  }

  /** Stops tcpdump and parses its file. */
  async stop(): Promise<SeenPacket[]> {
    const p = this.proc!;
    p.kill('SIGINT');
    await waitExit(p);
    if (!/\b0 packets dropped by kernel/.test(this.stderr)) throw new Error(`reference tcpdump dropped packets: ${this.stderr}`);
    const packets = readNanoPcap(readFileSync(this.file));
    rmSync(this.dir, { recursive: true, force: true });
    return packets;
  }
}

/** Minimal reader for tcpdump's own output: classic pcap, native little-endian, nanosecond magic. */
export function readNanoPcap(f: Buffer): SeenPacket[] {
  if (f.readUInt32LE(0) !== 0xa1b23c4d) throw new Error('expected a nanosecond pcap from tcpdump');
  const linkType = f.readUInt32LE(20) & 0xffff;
  const out: SeenPacket[] = [];
  let o = 24;
  while (o + 16 <= f.length) {
    const sec = f.readUInt32LE(o);
    const nsec = f.readUInt32LE(o + 4);
    const incl = f.readUInt32LE(o + 8);
    const orig = f.readUInt32LE(o + 12);
    if (o + 16 + incl > f.length) break;
    out.push({
      key: f.subarray(o + 16, o + 16 + incl).toString('hex'),
      tsNs: BigInt(sec) * 1_000_000_000n + BigInt(nsec),
      caplen: incl,
      wirelen: orig,
      linkType,
    });
    o += 16 + incl;
  }
  return out;
}

/**
 * Sends `count` UDP datagrams to 127.0.0.1:port from another process (python3), each carrying its index,
 * from `sourcePorts` different sockets, `gapUs` apart.
 */
export async function sendUdp(port: number, count: number, gapUs = 0, sourcePorts = 1): Promise<void> {
  const script = `
import socket, time, sys
port, count, gap, nsock = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1e6, int(sys.argv[4])
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(nsock)]
for i in range(count):
    socks[i % nsock].sendto(b'rtpprobe-live-test-' + str(i).encode() + b'-' * 40, ('127.0.0.1', port))
    if gap > 0:
        time.sleep(gap)
`;
  const p = spawn('python3', ['-c', script, String(port), String(count), String(gapUs), String(sourcePorts)], {
    stdio: 'inherit',
  });
  const code = await waitExit(p);
  if (code !== 0) throw new Error(`python3 UDP sender exited ${code}`);
}

/**
 * `flows` UDP flows to 127.0.0.1:`port` from sockets of their own (ports the system picks), each sending
 * `payload(flow, k)` every `gapMs` (k counting from 1), until stopped.
 */
export async function startUdpFlows(port: number, flows: number, gapMs: number, payload: (flow: number, k: number) => Buffer): Promise<{ stop(): void }> {
  const sockets: Socket[] = [];
  for (let i = 0; i < flows; i++) {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    sockets.push(s);
  }
  let k = 0;
  const timer = setInterval(() => {
    k++;
    for (let i = 0; i < flows; i++) sockets[i]!.send(payload(i, k), port, '127.0.0.1');
  }, gapMs);
  return {
    stop() {
      clearInterval(timer);
      for (const s of sockets) s.close();
    },
  };
}

/** G.711 RTP (20 ms packets) from GStreamer in another process. */
export async function sendGstRtp(port: number, packets: number): Promise<void> {
  const p = spawn(
    'gst-launch-1.0',
    [
      '-q',
      'audiotestsrc',
      `num-buffers=${packets}`,
      'samplesperbuffer=160',
      '!',
      'audio/x-raw,rate=8000,channels=1',
      '!',
      'audioconvert',
      '!',
      'mulawenc',
      '!',
      'rtppcmupay',
      '!',
      'udpsink',
      'host=127.0.0.1',
      `port=${port}`,
    ],
    { stdio: 'inherit' },
  );
  const code = await waitExit(p);
  if (code !== 0) throw new Error(`gst-launch-1.0 exited ${code}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Largest |ours - reference| over packets matched by content, in ns; also the unmatched counts. */
export function compareToReference(
  ours: SeenPacket[],
  ref: SeenPacket[],
): { matched: number; onlyOurs: number; onlyRef: number; maxDiffNs: bigint } {
  const byKey = new Map<string, SeenPacket[]>();
  for (const p of ref) {
    const l = byKey.get(p.key);
    if (l) l.push(p);
    else byKey.set(p.key, [p]);
  }
  let matched = 0;
  let onlyOurs = 0;
  let maxDiffNs = 0n;
  for (const p of ours) {
    const l = byKey.get(p.key);
    const r = l?.shift();
    if (!r) {
      onlyOurs++;
      continue;
    }
    matched++;
    const d = p.tsNs > r.tsNs ? p.tsNs - r.tsNs : r.tsNs - p.tsNs;
    if (d > maxDiffNs) maxDiffNs = d;
  }
  let onlyRef = 0;
  for (const l of byKey.values()) onlyRef += l.length;
  return { matched, onlyOurs, onlyRef, maxDiffNs };
}
