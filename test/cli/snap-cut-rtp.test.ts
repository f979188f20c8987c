/**
 * `rtpprobe replay` of captures whose RTP the snap length cut inside its header: SIP whole (so the SDP
 * signals the addresses), media cut by editcap -s to 50 bytes (8 bytes of RTP); RTP with four CSRCs
 * cut inside the CSRC list; and padded RTP cut after its header (the byte counting the padding not
 * captured), which tshark measures no stream of either. Such packets start no stream; each is counted in one warning per file and the
 * run summary, as many as tshark shows UDP (not SIP) shorter than on the wire.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classicPcap, rtp, udpFrame, type PcapRecord } from '../../src/gen/index.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = existsSync(cli) && spawnSync('editcap', ['-h']).status === 0 && spawnSync('mergecap', ['-h']).status === 0;

interface LogLine {
  msg: string;
  rtpSnapCut?: number;
  streams?: number;
}

/** tshark's count of UDP packets other than SIP that the capture holds shorter than on the wire. */
function tsharkCutMedia(file: string, decodeAs: string[] = []): number {
  const t = spawnSync('tshark', ['-n', '-r', file, ...decodeAs, '-Y', 'udp && !sip && frame.cap_len < frame.len'], { encoding: 'utf8' });
  expect(t.status, t.stderr).toBe(0);
  return t.stdout.split('\n').filter((l) => l.trim()).length;
}

function sh(cmd: string, ...args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  expect(r.status, `${cmd} ${args.join(' ')}: ${r.stderr}`).toBe(0);
}

describe.skipIf(!canRun)('replay: RTP cut inside its header by the snap length is counted', () => {
  let dir = '';
  /** SIP whole, media cut to 50 bytes; and its tshark count of cut media. */
  let mixed = '';
  let cutMixed = 0;
  /** RTP with four CSRCs cut after the first two, and padded RTP cut after its header; and their tshark count. */
  let csrc = '';
  let cutCsrc = 0;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-snap-cut-rtp-'));
    const calls = join(dir, 'calls.pcap');
    sh(process.execPath, join(root, 'dist/gen/scenario-cli.js'), calls, '--calls', '4', '--concurrent', '4', '--call-duration', '2', '--seed', '5');
    const sip = join(dir, 'sip.pcap');
    const media = join(dir, 'media.pcap');
    const media50 = join(dir, 'media50.pcap');
    sh('tshark', '-n', '-r', calls, '-Y', 'sip', '-w', sip);
    sh('tshark', '-n', '-r', calls, '-Y', '!sip', '-w', media);
    sh('editcap', '-s', '50', media, media50);
    mixed = join(dir, 'mixed.pcap');
    sh('mergecap', '-w', mixed, sip, media50);
    cutMixed = tsharkCutMedia(mixed);
    expect(cutMixed).toBeGreaterThanOrEqual(800); // 8 streams of 100 packets

    // Ethernet 14 + IPv4 20 + UDP 8 + RTP 12 + 2 of 4 CSRCs: the header needs 28 bytes, 20 are captured.
    // The padded packets keep a whole 12-byte header and 22 bytes of payload, not the padding's count: the
    // last byte captured (1) would pass for a count of 1 byte of padding.
    const records: PcapRecord[] = [];
    for (let i = 0; i < 50; i++) {
      const tsNs = 1_700_000_010_000_000_000n + BigInt(i) * 20_000_000n;
      const csrcs = udpFrame('10.9.0.1', 40000, '10.9.0.2', 40002, rtp({ pt: 8, seq: 100 + i, ts: 160 * i, ssrc: 0x1234, csrcs: [1, 2, 3, 4] }));
      records.push({ tsNs, data: csrcs.subarray(0, 62), wireLength: csrcs.length });
      const padded = udpFrame('10.9.0.1', 40010, '10.9.0.2', 40012, rtp({ pt: 8, seq: 100 + i, ts: 160 * i, ssrc: 0x5678, padding: 4, payload: new Uint8Array(160).fill(1) }));
      records.push({ tsNs: tsNs + 1_000_000n, data: padded.subarray(0, 76), wireLength: padded.length });
    }
    csrc = join(dir, 'csrc.pcap');
    writeFileSync(csrc, classicPcap(records, { snapLength: 76 }));
    cutCsrc = tsharkCutMedia(csrc, ['-d', 'udp.port==40000,rtp', '-d', 'udp.port==40010,rtp']);
    expect(cutCsrc).toBe(100);
    const streams = spawnSync('tshark', ['-n', '-r', csrc, '-d', 'udp.port==40000,rtp', '-d', 'udp.port==40010,rtp', '-q', '-z', 'rtp,streams'], { encoding: 'utf8' });
    expect(streams.stdout, streams.stderr).not.toMatch(/0x0000(1234|5678)/); // tshark: no stream either
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('one warning per file and the run summary count the packets tshark shows cut', () => {
    const r = spawnSync(process.execPath, [cli, 'replay', mixed, csrc, '--no-hep', '--table', 'none'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as LogLine);
    const warnings = lines.filter((l) => l.msg.includes('RTP packets were cut short')).map((l) => l.msg);
    const text = (file: string, n: number) =>
      `${file}: ${n} RTP packets were cut short inside their RTP header by the capture's snap length: they were not measured (no stream counts them); capture more of each packet (tcpdump -s 0 keeps it whole)`;
    expect(warnings, r.stderr).toEqual([text(mixed, cutMixed), text(csrc, cutCsrc)]);
    const summary = lines.find((l) => l.msg === 'run summary');
    expect(summary?.rtpSnapCut, r.stderr).toBe(cutMixed + cutCsrc);
    expect(summary?.streams, r.stderr).toBe(0);
  });
});
