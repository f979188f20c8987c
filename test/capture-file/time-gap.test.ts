/**
 * Captures with a long quiet gap in capture time: two files replayed one after the other (yesterday's and
 * today's), or one file merged from them. Capture time jumping forward with no stream sending across it
 * is time that passed, not a host clock step: every stream after the gap is one stream with its own
 * call's Call-ID, as tshark and as each file replayed alone show it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, CAPTURES, runCliSync } from '../cli/helpers.js';

// SIP_DTMF2 (2005, its call has no BYE: its streams are still open at the end) then sip-rtp-dvi4 (2016).
const FIRST = join(CAPTURES, 'SIP_DTMF2.pcap');
const SECOND = join(CAPTURES, 'sip-rtp-dvi4.pcap');
const tmp = mkdtempSync(join(tmpdir(), 'rtpprobe-gap-'));
let bundle = '';

interface Row { src: string; dst: string; ssrc: string; packets: number; callId: string }

function probeRows(files: string[]): Row[] {
  const r = runCliSync(bundle, ['replay', ...files, '--no-hep', '--table', 'json', '--log-level', 'warn']);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Row[];
}

/** RTP packets per stream as tshark decodes them (SDP-signalled, and unsignalled by its heuristic), keyed like the probe's rows. */
function tsharkPackets(file: string): Map<string, number> {
  const r = spawnSync('tshark', ['-n', '-r', file, '-o', 'rtp.heuristic_rtp:TRUE', '-Y', 'rtp', '-T', 'fields', '-E', 'separator=,', '-e', 'ip.src', '-e', 'udp.srcport', '-e', 'ip.dst', '-e', 'udp.dstport', '-e', 'rtp.ssrc'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  expect(r.status, r.stderr).toBe(0);
  const m = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    const [src, sp, dst, dp, ssrc] = line.split(',');
    if (!ssrc) continue; // a packet the filter takes that carries no RTP header (its conversation's)
    const key = `${src}:${sp}>${dst}:${dp}#0x${Number(ssrc).toString(16).toUpperCase().padStart(8, '0')}`;
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return m;
}

const keyOf = (r: Row): string => `${r.src}>${r.dst}#${r.ssrc}`;

beforeAll(async () => {
  ({ bundle } = await bundleCli());
});

describe('a long gap in capture time with no stream sending across it', () => {
  it('the first of two files cut while its stream still sends, the next of a later day: every stream once, with its own Call-ID', () => {
    // sipp-g711a (2002: unsignalled RTP to its last packet) cut part-way, then sip-rtp-dvi4 (2016). A jump
    // between two files is time between two captures, never a host clock step within one.
    const cut = join(tmp, 'cut.pcap');
    const e = spawnSync('editcap', ['-r', join(CAPTURES, 'sipp-g711a.pcap'), cut, '1-150'], { encoding: 'utf8' });
    expect(e.status, e.stderr).toBe(0);
    const reference = new Map([...tsharkPackets(cut), ...tsharkPackets(SECOND)]);
    const alone = new Map([...probeRows([cut]), ...probeRows([SECOND])].map((r) => [keyOf(r), r.callId]));
    const rows = probeRows([cut, SECOND]);
    expect(rows.map(keyOf).sort(), 'one row per stream').toEqual([...reference.keys()].sort());
    for (const r of rows) {
      expect(r.packets, `${keyOf(r)} packets`).toBe(reference.get(keyOf(r)));
      expect(r.callId, `${keyOf(r)} Call-ID`).toBe(alone.get(keyOf(r)));
    }
  });


  it('two files eleven years apart, replayed together or merged: every stream once, with the packets tshark counts and its own Call-ID', () => {
    const merged = join(tmp, 'merged.pcap');
    const m = spawnSync('mergecap', ['-F', 'pcap', '-w', merged, FIRST, SECOND], { encoding: 'utf8' });
    expect(m.status, m.stderr).toBe(0);
    const reference = tsharkPackets(merged);
    expect(reference.size).toBe(4);
    const alone = new Map([...probeRows([FIRST]), ...probeRows([SECOND])].map((r) => [keyOf(r), r.callId]));
    for (const files of [[FIRST, SECOND], [merged]]) {
      const rows = probeRows(files);
      expect(rows.map(keyOf).sort(), `${files.length} file(s): one row per stream`).toEqual([...reference.keys()].sort());
      for (const r of rows) {
        expect(r.packets, `${keyOf(r)} packets`).toBe(reference.get(keyOf(r)));
        expect(r.callId, `${keyOf(r)} Call-ID`).toBe(alone.get(keyOf(r)));
      }
    }
  });
});
