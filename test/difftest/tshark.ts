/**
 * The reference side: one tshark run per capture gives `-z rtp,streams` and, per stream, the SIP Call-ID
 * of the SDP that set it up (rtp.setup-frame -> sip.Call-ID).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { isTsharkStreamsRow, parseTsharkRow } from '../rtp/helpers.js';

const run = promisify(execFile);

export interface TsharkStream {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  ssrc: number;
  packets: number;
  lost: number;
  minDelta: number;
  meanDelta: number;
  maxDelta: number;
  /** -1 when tshark knows no clock for the payload type (it prints no jitter then). */
  minJitter: number;
  meanJitter: number;
  maxJitter: number;
  /** Call-ID of the SIP message whose SDP set the stream up; '' when nothing did. */
  callId: string;
  /**
   * Loss counted RFC 3550's way from the same packets: highest extended sequence number - first + 1 -
   * received. tshark's `lost` uses the last packet's sequence number instead (the README's "Loss" deviation).
   */
  lostToMaxSeq: number;
}

/** Extended sequence numbers of one stream, in arrival order. */
class SeqTracker {
  private last = -1;
  private maxExt = 0;
  received = 0;

  add(seq: number): void {
    this.received++;
    if (this.last < 0) {
      this.last = seq;
      return;
    }
    const d = ((seq - this.last + 32768) & 0xffff) - 32768; // signed distance from the highest so far
    if (d > 0) {
      this.maxExt += d;
      this.last = seq;
    }
  }

  lost(): number {
    return this.maxExt + 1 - this.received;
  }
}

export function streamKey(src: string, srcPort: number, dst: string, dstPort: number, ssrc: number): string {
  return `${src}:${srcPort}>${dst}:${dstPort}#${(ssrc >>> 0).toString(16)}`;
}

/** tshark's arguments for a capture: heuristic RTP for unsignalled streams. */
export function tsharkArgs(file: string, heuristic: boolean): string[] {
  return ['-n', '-r', file, '-o', `rtp.heuristic_rtp:${heuristic ? 'TRUE' : 'FALSE'}`];
}

const FIELDS = ['frame.number', 'sip.Call-ID', 'frame.protocols', 'ip.src', 'ipv6.src', 'udp.srcport', 'ip.dst', 'ipv6.dst', 'udp.dstport', 'rtp.ssrc', 'rtp.setup-frame', 'rtp.seq'];

export async function tsharkStreams(file: string, heuristic: boolean): Promise<TsharkStream[]> {
  const args = [...tsharkArgs(file, heuristic), '-z', 'rtp,streams', '-Y', 'rtp || sip', '-T', 'fields', ...FIELDS.flatMap((f) => ['-e', f])];
  const { stdout } = await run('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  const callIds = new Map<string, string>();
  const setup = new Map<string, string>();
  const seqs = new Map<string, SeqTracker>();
  const rows: TsharkStream[] = [];
  let table = false;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('=====')) {
      table = !table && line.includes('RTP Streams');
      continue;
    }
    if (table) {
      if (isTsharkStreamsRow(line)) rows.push(parseStreamRow(line, `tshark -z rtp,streams -r ${file}`));
      continue;
    }
    const f = line.split('\t');
    if (f.length < FIELDS.length) continue;
    if (f[1]) callIds.set(f[0], f[1].split(',')[0]);
    if (!f[9]) continue;
    // Tunnels list every layer's value, outermost first: the innermost (last) is the stream's.
    const last = (v: string) => v.split(',').pop() ?? '';
    const layers = f[2].split(':');
    const v6 = layers.lastIndexOf('ipv6') > layers.lastIndexOf('ip');
    const key = streamKey(last(v6 ? f[4] : f[3]), +last(f[5]), last(v6 ? f[7] : f[6]), +last(f[8]), parseInt(last(f[9]), 16));
    if (!setup.has(key)) setup.set(key, last(f[10]));
    let t = seqs.get(key);
    if (!t) seqs.set(key, (t = new SeqTracker()));
    t.add(+last(f[11]));
  }
  for (const r of rows) {
    const key = streamKey(r.src, r.srcPort, r.dst, r.dstPort, r.ssrc);
    r.callId = callIds.get(setup.get(key) ?? '') ?? '';
    r.lostToMaxSeq = seqs.get(key)?.lost() ?? r.lost;
  }
  return rows;
}

/** One row of the `-z rtp,streams` table; throws naming a row it cannot read (parseTsharkRow). */
function parseStreamRow(line: string, where: string): TsharkStream {
  const r = parseTsharkRow(line, where);
  return { ...r, callId: '', lostToMaxSeq: r.lost };
}
