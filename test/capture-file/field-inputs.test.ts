/**
 * Captures as the field delivers them, through the real command in a child process: gzip-compressed,
 * standard input ('-' and /dev/stdin) from a real pipe, a FIFO written by another process, a capture cut
 * short (compared with tshark on the same bytes), a gzip stream cut short, zstd.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { zstdAvailable } from '../../src/capture/index.js';
import { callDurationForSize, rtp, sdpBody, sipRequest, text, udpFrame, writePcapFile, writeScenarioPcap } from '../../src/gen/index.js';
import { bundleCli, CAPTURES, ourStreams, runCliSync, shell, tsharkStreams } from '../cli/helpers.js';

const CAPTURE = join(CAPTURES, 'SIP_CALL_RTP_G711.pcap');
const NOT_WHOLE = 'not a whole capture: copy it again whole, or check that the program writing it ran (e.g. tcpdump -w FILE)';
const tmp = mkdtempSync(join(tmpdir(), 'rtpprobe-inputs-'));
let bundle = '';
let plain = '';

beforeAll(async () => {
  ({ bundle } = await bundleCli());
  const r = runCliSync(bundle, ['replay', CAPTURE, '--no-hep', '--log-level', 'warn']);
  expect(r.status).toBe(0);
  plain = r.stdout;
  expect(ourStreams(plain).size).toBeGreaterThanOrEqual(3);
});

describe('replay reads captures as the field delivers them', () => {
  it('a gzip-compressed capture gives the same table as the plain one', () => {
    const gz = join(tmp, 'call.pcap.gz');
    writeFileSync(gz, gzipSync(readFileSync(CAPTURE)));
    const r = runCliSync(bundle, ['replay', gz, '--no-hep', '--log-level', 'warn']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(plain);
  });

  it("standard input: '-' and /dev/stdin from a real pipe, gzip'd or not", () => {
    for (const script of [
      `cat "${CAPTURE}" | rtpprobe replay - --no-hep --log-level warn`,
      `cat "${CAPTURE}" | rtpprobe replay /dev/stdin --no-hep --log-level warn`,
      `gzip -c "${CAPTURE}" | rtpprobe replay - --no-hep --log-level warn`,
    ]) {
      const r = shell(bundle, script);
      expect(r.stderr, script).toBe('');
      expect(r.status, script).toBe(0);
      expect(r.stdout, script).toBe(plain);
    }
  });

  it('a FIFO written by another process, in small pieces', async () => {
    const fifo = join(tmp, 'capture.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // dd writes 1000-byte blocks: records arrive split across reads.
    const writer = spawn('sh', ['-c', `dd if="${CAPTURE}" of="${fifo}" bs=1000 2>/dev/null`]);
    const r = runCliSync(bundle, ['replay', fifo, '--no-hep', '--log-level', 'warn']);
    await new Promise((resolve) => writer.on('exit', resolve));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(plain);
  });

  it('standard input on a terminal or read twice is refused in one line', () => {
    const twice = shell(bundle, `cat "${CAPTURE}" | rtpprobe replay - - --no-hep`);
    expect(twice.status).toBe(2);
    expect(twice.stderr).toBe('rtpprobe: standard input (-) can be read only once\n');
  });
});

describe('a capture cut short (a killed tcpdump)', () => {
  const cut = join(tmp, 'cut.pcap');
  beforeAll(() => {
    // Cut inside a packet record, part-way through the call.
    writeFileSync(cut, readFileSync(CAPTURE).subarray(0, 200_000));
  });

  it('warns in one line, prints the table for every packet read, exits 6; packet counts equal tshark on the same file', () => {
    const r = runCliSync(bundle, ['replay', cut, '--no-hep', '--log-level', 'warn']);
    expect(r.status).toBe(6);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/cut\.pcap: at byte \d+: truncated packet.*cut short or is damaged here; results cover the \d+ packets before it/);
    const ours = ourStreams(r.stdout);
    const tshark = tsharkStreams(cut);
    expect(tshark.size).toBeGreaterThan(0);
    for (const [key, packets] of tshark) expect(ours.get(key), key).toBe(packets);
    // tshark, too, warns and prints its statistics for the part it read.
    const t = spawnSync('tshark', ['-r', cut, '-q'], { encoding: 'utf8' });
    expect(t.stderr).toMatch(/cut short in the middle of a packet/);
  });

  it('a gzip stream cut short: the same warning and exit code naming the gzip cut, results for what was decompressed', () => {
    const gz = gzipSync(readFileSync(CAPTURE));
    const cutGz = join(tmp, 'cut.pcap.gz');
    writeFileSync(cutGz, gz.subarray(0, Math.floor(gz.length / 2)));
    const r = runCliSync(bundle, ['replay', cutGz, '--no-hep', '--log-level', 'warn']);
    expect(r.status).toBe(6);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stderr).msg).toMatch(/^\S+cut\.pcap\.gz: at byte \d+: gzip data cut short \(unexpected end of file\): the capture was cut short or is damaged here; results cover the \d+ packets before it$/);
    expect(ourStreams(r.stdout).size).toBeGreaterThan(0);
  });

  it('a gzip stream cut before its capture header was decompressed: cut short (as tshark says), not a whole capture (exit 4, as a plain file cut inside its header)', () => {
    const early = join(tmp, 'early.pcap.gz');
    writeFileSync(early, gzipSync(readFileSync(CAPTURE)).subarray(0, 100));
    const t = spawnSync('tshark', ['-r', early, '-q'], { encoding: 'utf8' });
    expect(t.stderr).toMatch(/appears to have been cut short/);
    for (const [args, input, name] of [[[early], undefined, early], [['-'], readFileSync(early), 'standard input']] as const) {
      const r = runCliSync(bundle, ['replay', ...args, '--no-hep', '--log-level', 'warn'], { input });
      expect(r.status, r.stderr).toBe(4);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(JSON.parse(r.stderr).msg).toBe(`${name}: at byte 0: gzip data cut short (unexpected end of file): ${NOT_WHOLE}`);
    }
  });

  it('the files after a cut one are still read', () => {
    const r = runCliSync(bundle, ['replay', cut, CAPTURE, '--no-hep', '--log-level', 'warn']);
    expect(r.status).toBe(6);
    expect(r.stdout.split('\n').length).toBeGreaterThan(3);
  });
});

describe('a file cut inside its capture header', () => {
  /** The capture as pcapng (editcap), and its section header block's length. */
  const pcapng = (): { ng: Buffer; shb: number } => {
    const path = join(tmp, 'whole.pcapng');
    expect(spawnSync('editcap', ['-F', 'pcapng', CAPTURE, path]).status).toBe(0);
    const ng = readFileSync(path);
    return { ng, shb: ng.readUInt32LE(4) };
  };
  /** `bytes` written to `name` and replayed: exit 4 and one line naming `problem` and the fix. */
  const expectNotWhole = (name: string, bytes: Uint8Array, problem: string): string => {
    const cut = join(tmp, name);
    writeFileSync(cut, bytes);
    const r = runCliSync(bundle, ['replay', cut, '--no-hep', '--log-level', 'warn']);
    expect(r.status, r.stderr).toBe(4);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(JSON.parse(r.stderr).msg).toBe(`${cut}: at byte 0: ${problem}: ${NOT_WHOLE}`);
    return cut;
  };

  it('one line naming the problem and its fix, exit 4, as tshark finds it cut short', () => {
    expectNotWhole('header-3.pcap', readFileSync(CAPTURE).subarray(0, 3), 'file too short for a capture header (3 bytes)');
    const cut = expectNotWhole('header-20.pcap', readFileSync(CAPTURE).subarray(0, 20), 'file too short for a pcap header (20 of its 24 bytes)');
    const t = spawnSync('tshark', ['-r', cut], { encoding: 'utf8' });
    expect(t.stderr).toMatch(/cut short/);
  });

  it('pcapng cut inside its section header block, and a gzip file holding a pcap cut inside its header: exit 4, as a pcap cut inside its header', () => {
    const { ng, shb } = pcapng();
    // capinfos finds the whole file pcapng, and no pcapng in a file cut inside its section header block.
    const fileType = (path: string) => /File type:(.*)/.exec(spawnSync('capinfos', ['-t', path], { encoding: 'utf8' }).stdout)?.[1] ?? '';
    expect(fileType(join(tmp, 'whole.pcapng'))).toMatch(/pcapng/);
    expect(fileType(expectNotWhole('header-8.pcapng', ng.subarray(0, 8), 'file too short for a pcapng section header (8 bytes)'))).not.toMatch(/pcapng/);
    expect(fileType(expectNotWhole('header-20.pcapng', ng.subarray(0, 20), `file too short for a pcapng section header (20 of its ${shb} bytes)`))).not.toMatch(/pcapng/);
    expectNotWhole('header-20.pcap.gz', gzipSync(readFileSync(CAPTURE).subarray(0, 20)), 'file too short for a pcap header (20 of its 24 bytes)');
  });

  it('a pcapng file cut after its section header block: cut short (exit 6), as a pcap cut after its header', () => {
    const { ng, shb } = pcapng();
    const cut = join(tmp, 'after-header.pcapng');
    writeFileSync(cut, ng.subarray(0, shb + 8));
    const r = runCliSync(bundle, ['replay', cut, '--no-hep', '--log-level', 'warn']);
    expect(r.status, r.stderr).toBe(6);
    expect(JSON.parse(r.stderr).msg).toMatch(/: the capture was cut short or is damaged here; results cover the 0 packets before it$/);
  });
});

describe('a file whose read fails (a failing disk: EIO)', () => {
  // /proc/self/mem is a file of the reading process whose read at offset 0 (never mapped) fails with EIO.
  it('one line naming the file, the byte and the error, exit 4; the files after it are still read', () => {
    const r = runCliSync(bundle, ['replay', '/proc/self/mem', CAPTURE, '--no-hep', '--log-level', 'warn']);
    expect(r.status, r.stderr).toBe(4);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(JSON.parse(r.stderr).msg).toBe('/proc/self/mem: at byte 0: read error (EIO: i/o error, read): check the disk or file system it is on');
    expect(r.stdout).toBe(plain);
  });
});

describe('SIP with a Call-ID or tag past its bound', () => {
  it('one warning per file counts the messages refused; the calls beside them are tracked', () => {
    const file = join(tmp, 'long-call-ids.pcap');
    const inv = (callId: string, port: number) =>
      udpFrame('10.0.0.1', 5060, '10.0.0.2', 5060, text(sipRequest('INVITE', 'sip:b@x', { callId, fromTag: 'a', cseq: 1, body: sdpBody({ ip: '10.0.0.1', media: [{ port, formats: [8] }] }) })));
    const records = [
      ...Array.from({ length: 3 }, (_, i) => ({ tsNs: 1_750_000_000_000_000_000n + BigInt(i), data: inv(`${i}-`.padEnd(30_000, 'x'), 4000 + 2 * i) })),
      { tsNs: 1_750_000_000_000_000_010n, data: inv('ok@x', 4100) },
      ...Array.from({ length: 5 }, (_, k) => ({ tsNs: 1_750_000_000_100_000_000n + BigInt(k) * 20_000_000n, data: udpFrame('10.0.0.2', 30000, '10.0.0.1', 4100, rtp({ pt: 8, seq: k, ts: 160 * k, ssrc: 7 })) })),
    ];
    writePcapFile(file, records);
    const r = runCliSync(bundle, ['replay', file, '--no-hep', '--log-level', 'warn', '--table', 'csv']);
    expect(r.status).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]).msg).toBe(
      `${file}: 3 SIP messages refused: a Call-ID or A-leg id (sip.correlation_headers) longer than 256 bytes or a tag longer than 128; their calls are not tracked`,
    );
    expect(r.stdout.trim().split('\n')[1]).toMatch(/,ok@x$/);
  });
});

describe('a capture taken with a small snap length (tcpdump -s 400)', () => {
  it('measures every stream as the whole capture does and names, in one warning, the SIP messages the snap length cut (as tshark counts them)', () => {
    const snapped = join(tmp, 'snap400.pcap');
    const e = spawnSync('editcap', ['-s', '400', CAPTURE, snapped], { encoding: 'utf8' });
    expect(e.status, e.stderr).toBe(0);
    const t = spawnSync('tshark', ['-n', '-r', snapped, '-Y', 'sip && frame.cap_len < frame.len'], { encoding: 'utf8' });
    const cutSip = t.stdout.split('\n').filter((l) => l.trim()).length;
    expect(cutSip).toBe(14);

    const r = runCliSync(bundle, ['replay', snapped, '--no-hep', '--log-level', 'warn', '--table', 'csv']);
    expect(r.status).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]).msg).toBe(
      `${snapped}: ${cutSip} SIP packets were cut short by the capture's snap length: what they carried past the cut (their SDP) was not read, so streams of their calls may lack the Call-ID; capture SIP whole (tcpdump -s 0)`,
    );
    // The RTP headers are all there: every number but the Call-ID equals the whole capture's.
    const numbers = (csv: string) => csv.trim().split('\n').slice(1).map((row) => row.split(',').slice(0, 11).join(',')).sort();
    const whole = runCliSync(bundle, ['replay', CAPTURE, '--no-hep', '--log-level', 'warn', '--table', 'csv']);
    expect(numbers(r.stdout)).toEqual(numbers(whole.stdout));
    expect(numbers(r.stdout).length).toBeGreaterThanOrEqual(3);
  });

  it('a capture whose SIP is whole gives no such warning', () => {
    const r = runCliSync(bundle, ['replay', CAPTURE, '--no-hep', '--log-level', 'warn', '--table', 'none']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });
});

describe('files rotated by tcpdump -C (f, f1, ..., f11)', () => {
  const dir = join(tmp, 'rotated');
  let whole = '';
  let files: string[] = [];
  const rows = (csv: string) => csv.trim().split('\n').slice(1).sort();
  beforeAll(() => {
    mkdirSync(dir);
    const big = join(dir, 'call.pcap');
    writeScenarioPcap(big, { calls: 10, concurrentCalls: 10, durationS: 0, callDurationS: callDurationForSize(12, 10, 'PCMA'), codec: 'PCMA', lossPct: 1, jitterMs: 5, rtcp: true, seed: 3, startEpochS: 1_700_000_000 });
    // tcpdump -C names its files rot.pcap, rot.pcap1, rot.pcap2, ...: one per million bytes.
    const t = spawnSync('tcpdump', ['-r', big, '-w', join(dir, 'rot.pcap'), '-C', '1', '-Z', userInfo().username], { encoding: 'utf8' });
    expect(t.status, t.stderr).toBe(0);
    files = readdirSync(dir).filter((f) => f.startsWith('rot.pcap')).sort((a, b) => Number(a.slice(8) || 0) - Number(b.slice(8) || 0));
    expect(files.length).toBeGreaterThanOrEqual(11);
    const r = runCliSync(bundle, ['replay', big, '--no-hep', '--log-level', 'warn', '--table', 'csv']);
    expect(r.status).toBe(0);
    whole = r.stdout;
  });

  it('given in time order (ls -v): the same streams as the whole capture, no warning', () => {
    const r = runCliSync(bundle, ['replay', ...files, '--no-hep', '--log-level', 'warn', '--table', 'csv'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(rows(r.stdout)).toEqual(rows(whole));
  });

  it('given by a shell glob (rot.pcap10 before rot.pcap2): one warning naming the file that goes back in time, and the fix', () => {
    const r = shell(bundle, 'rtpprobe replay rot.pcap* --no-hep --log-level warn --table csv', dir);
    expect(r.status).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]).msg).toMatch(
      /^rot\.pcap2: its first packet \(2023-11-\d\dT[\d:.]+Z\) is [\d.]+ s before the last one of rot\.pcap11 \(2023-11-\d\dT[\d:.]+Z\): inputs are analysed in the order given, so streams that span them are split and look reordered and lost; give the files in time order \(ls -v FILES, or mergecap -w merged\.pcap FILES\)$/,
    );
    // What the warning is about: out of order, the streams are cut in pieces.
    expect(rows(r.stdout).length).toBeGreaterThan(rows(whole).length);
  });
});

describe('a capture with more streams at once than rtp.max_streams', () => {
  // 300 unsignalled streams sending at once (a capture started on a busy link), 40 packets each.
  const file = join(tmp, 'streams-300.pcap');
  beforeAll(() => {
    const records = [];
    for (let k = 0; k < 40; k++) {
      for (let i = 0; i < 300; i++) {
        const frame = udpFrame(`10.1.${i >> 8}.${i & 255}`, 20000 + 2 * i, '10.2.0.1', 30000, rtp({ pt: 8, seq: k, ts: 160 * k, ssrc: 0x1000 + i }));
        records.push({ tsNs: 1_700_000_000_000_000_000n + BigInt(k * 20_000_000 + i * 50_000), data: frame });
      }
    }
    writePcapFile(file, records);
  });

  it('fits the default table: a row per stream, all its packets, no warning', () => {
    const r = runCliSync(bundle, ['replay', file, '--no-hep', '--log-level', 'warn', '--table', 'csv']);
    expect(r.stderr).toBe('');
    const rows = r.stdout.trim().split('\n').slice(1);
    expect(rows).toHaveLength(300);
    expect(new Set(rows.map((row) => row.split(',')[4]))).toEqual(new Set(['40']));
  });

  it('a table too small for them: the evictions that cut streams in pieces are named in one warning with the setting to raise', () => {
    const r = runCliSync(bundle, ['replay', file, '--no-hep', '--log-level', 'warn', '--table', 'csv', '--set', 'rtp.max_streams=200']);
    expect(r.status).toBe(0);
    const rows = r.stdout.trim().split('\n').slice(1);
    expect(rows.length).toBeGreaterThan(300);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    const m = /^the stream table \(rtp\.max_streams 200\) was full: (\d+) streams were ended to make room, each counted again as a new stream if it went on sending; raise rtp\.max_streams$/.exec(JSON.parse(lines[0]).msg);
    expect(m).not.toBeNull();
    // Every extra row is a piece of a stream one of those evictions cut.
    expect(Number(m![1])).toBeGreaterThanOrEqual(rows.length - 300);
  });
});

describe('what cannot be read is named in one line with the fix', () => {
  it('not a capture: exit 4', () => {
    const f = join(tmp, 'notes.txt');
    writeFileSync(f, 'hello, not a capture\n');
    const r = runCliSync(bundle, ['replay', f, '--no-hep', '--log-level', 'warn']);
    expect(r.status).toBe(4);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]).msg).toMatch(/notes\.txt: at byte 0: not a pcap or pcapng file .*: give a pcap or pcapng capture/);
  });

  it(`zstd: ${zstdAvailable ? 'read like gzip' : `refused on this Node.js (${process.version}) with the command that works, exit 4`}`, () => {
    const zst = join(tmp, 'call.pcap.zst');
    const z = spawnSync('zstd', ['-q', '-c', CAPTURE]);
    // zstd's frame magic is all the reader looks at before it decides.
    writeFileSync(z.status === 0 ? zst : zst, z.status === 0 ? z.stdout : Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]));
    const r = runCliSync(bundle, ['replay', zst, '--no-hep', '--log-level', 'warn']);
    if (zstdAvailable && z.status === 0) {
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(plain);
    } else {
      expect(r.status).toBe(4);
      expect(r.stderr).toMatch(/zstd-compressed, and this Node\.js .* cannot decompress zstd .*zstd -dc .* \| rtpprobe replay -/);
    }
  });

  it.each(['xz', 'bzip2'])('%s, from a file and from standard input: exit 4 and a command that works in each case', (tool) => {
    const packed = join(tmp, `call.pcap.${tool}`);
    const z = spawnSync(tool, ['-c', CAPTURE]);
    expect(z.status, String(z.stderr)).toBe(0);
    writeFileSync(packed, z.stdout);
    const file = runCliSync(bundle, ['replay', packed, '--no-hep', '--log-level', 'warn']);
    expect(file.status).toBe(4);
    expect(JSON.parse(file.stderr).msg).toBe(`${packed}: at byte 0: ${tool}-compressed: run \`${tool} -dc ${packed} | rtpprobe replay -\``);
    const piped = shell(bundle, `cat "${packed}" | rtpprobe replay - --no-hep --log-level warn`);
    expect(piped.status).toBe(4);
    expect(JSON.parse(piped.stderr).msg).toBe(`standard input: at byte 0: ${tool}-compressed: run \`... | ${tool} -dc | rtpprobe replay -\``);
    // The command it names gives the table of the capture.
    expect(shell(bundle, `cat "${packed}" | ${tool} -dc | rtpprobe replay - --no-hep --log-level warn`).stdout).toBe(plain);
  });

  it('an empty file and empty standard input (a tcpdump that failed at once): exit 4, said as such', () => {
    const empty = join(tmp, 'empty.pcap');
    writeFileSync(empty, '');
    const file = runCliSync(bundle, ['replay', empty, '--no-hep', '--log-level', 'warn']);
    expect(file.status).toBe(4);
    expect(JSON.parse(file.stderr).msg).toBe(`${empty}: at byte 0: empty, no capture in it: check that the program writing it ran (e.g. tcpdump -w FILE)`);
    const piped = shell(bundle, 'true | rtpprobe replay - --no-hep --log-level warn');
    expect(piped.status).toBe(4);
    expect(JSON.parse(piped.stderr).msg).toMatch(/^standard input: at byte 0: empty, no capture in it/);
  });

  it('a missing file and a directory: exit 4 before anything starts', () => {
    const missing = runCliSync(bundle, ['replay', join(tmp, 'absent.pcap')]);
    expect(missing.status).toBe(4);
    expect(missing.stderr).toBe(`rtpprobe: ${join(tmp, 'absent.pcap')}: no such file\n`);
    const dir = runCliSync(bundle, ['replay', `${tmp}/`]);
    expect(dir.status).toBe(4);
    expect(dir.stderr).toMatch(/is a directory: give a capture file\n$/);
  });
});
