/**
 * gzip captures that are not one clean member, through the real command in a child process, each
 * compared with tshark on the same bytes: every packet tshark reads is read, then one line names what is
 * wrong (where, how many bytes), exit 6.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, CAPTURES, ourStreams, runCliSync, shell, tsharkStreams } from '../cli/helpers.js';

const CAPTURE = join(CAPTURES, 'SIP_CALL_RTP_G711.pcap');
const tmp = mkdtempSync(join(tmpdir(), 'rtpprobe-gzip-'));
const raw = readFileSync(CAPTURE);
const gz = gzipSync(raw);
let bundle = '';
let plain = '';

/** Packets tshark reads from `file` before it stops (at the end or at damage), and what it says. */
function tshark(file: string): { packets: number; stderr: string } {
  const r = spawnSync('tshark', ['-n', '-r', file, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { packets: r.stdout.split('\n').filter((l) => l !== '').length, stderr: r.stderr };
}

beforeAll(async () => {
  ({ bundle } = await bundleCli());
  const r = runCliSync(bundle, ['replay', CAPTURE, '--no-hep', '--log-level', 'warn']);
  expect(r.status).toBe(0);
  plain = r.stdout;
});

describe('gzip data followed by more than its members, or with a bad trailer', () => {
  const junk = Buffer.from('junk after the gzip data '.repeat(4));
  const badCrc = Buffer.from(gz);
  badCrc[gz.length - 8] ^= 0xff;
  const cases: [name: string, bytes: Buffer, problem: string | RegExp][] = [
    ['trailing junk', Buffer.concat([gz, junk]), `the gzip data ends at compressed byte ${gz.length} and is followed by 100 bytes that are not gzip (trailing junk), ignored: results cover the 4269 packets before it`],
    ['zero padding', Buffer.concat([gz, Buffer.alloc(64)]), `the gzip data ends at compressed byte ${gz.length} and is followed by 64 zero bytes (padding), ignored: results cover the 4269 packets before it`],
    ['junk, then another member', Buffer.concat([gz, Buffer.from('JUNKJUNK'), gz]), `the gzip data ends at compressed byte ${gz.length} and is followed by ${8 + gz.length} bytes that are not gzip (trailing junk), ignored: results cover the 4269 packets before it`],
    ['a bad CRC', badCrc, /^gzip data damaged \(CRC-32 of the member from compressed byte 0 is 0x[0-9a-f]{8}, its trailer says 0x[0-9a-f]{8}\): the data before this point may be wrong: the capture was cut short or is damaged here; results cover the 4269 packets before it$/],
  ];

  it.each(cases)('%s: every packet tshark reads (from the file and from standard input), one line naming it, exit 6', (name, bytes, problem) => {
    const file = join(tmp, `${name.replace(/\W+/g, '-')}.pcap.gz`);
    writeFileSync(file, bytes);
    // tshark reads every packet, then fails on what follows: the junk read as capture data, or the CRC.
    const t = tshark(file);
    expect(t.packets).toBe(4269);
    expect(t.stderr).toMatch(/appears to be damaged or corrupt|cannot be decompressed/);
    for (const [r, shown] of [
      [runCliSync(bundle, ['replay', file, '--no-hep', '--log-level', 'warn']), file],
      [shell(bundle, `cat "${file}" | rtpprobe replay - --no-hep --log-level warn`), 'standard input'],
    ] as const) {
      expect(r.status, r.stderr).toBe(6);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      const msg: string = JSON.parse(lines[0]).msg;
      expect(msg.startsWith(`${shown}: at byte ${raw.length}: `), msg).toBe(true);
      if (typeof problem === 'string') expect(msg.slice(`${shown}: at byte ${raw.length}: `.length)).toBe(problem);
      else expect(msg.slice(`${shown}: at byte ${raw.length}: `.length)).toMatch(problem);
      expect(r.stdout).toBe(plain);
      const ours = ourStreams(r.stdout);
      for (const [key, packets] of tsharkStreams(file)) expect(ours.get(key), key).toBe(packets);
    }
  });

  it('a damaged file between two good ones: every packet tshark reads of all three', () => {
    const before = join(CAPTURES, 'SIP_DTMF2.pcap');
    const after = join(CAPTURES, 'sip-rtp-dvi4.pcap');
    const junk = join(tmp, 'junk-middle.pcap.gz');
    writeFileSync(junk, Buffer.concat([gz, Buffer.from('junk')]));
    const cutGz = join(tmp, 'cut-mid.pcap.gz');
    writeFileSync(cutGz, gz.subarray(0, gz.length >> 1));
    const notCapture = join(tmp, 'notes.txt');
    writeFileSync(notCapture, 'not a capture\n');
    for (const [middle, status] of [[junk, 6], [cutGz, 6], [notCapture, 4]] as const) {
      const r = runCliSync(bundle, ['replay', before, middle, after, '--no-hep', '--log-level', 'info', '--table', 'none']);
      expect(r.status, middle).toBe(status);
      const summary = r.stderr.split('\n').filter((l) => l.includes('"run summary"')).map((l) => JSON.parse(l));
      expect(summary, r.stderr).toHaveLength(1);
      const expected = tshark(before).packets + tshark(middle).packets + tshark(after).packets;
      if (status === 6) expect(tshark(middle).packets, middle).toBeGreaterThan(0);
      expect(summary[0].packets, middle).toBe(expected);
    }
  });

  it('members one after another (cat a.gz b.gz), padding-free: the whole capture, no line, exit 0', () => {
    const file = join(tmp, 'members.pcap.gz');
    const cut = 300_001; // inside a record: the second member continues it
    writeFileSync(file, Buffer.concat([gzipSync(raw.subarray(0, cut)), gzipSync(raw.subarray(cut))]));
    expect(tshark(file)).toMatchObject({ packets: 4269, stderr: expect.not.stringMatching(/damaged|cut short|decompress/) });
    const r = runCliSync(bundle, ['replay', file, '--no-hep', '--log-level', 'warn']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(plain);
  });
});
