/**
 * `rtpprobe replay` of captures whose RTP the snap length cut inside its header: SIP whole (so the SDP
 * signals the addresses), media cut by editcap -s to 50 bytes (8 bytes of RTP); RTP with four CSRCs
 * cut inside the CSRC list; and padded RTP cut after its header (the byte counting the padding not
 * captured), which tshark measures no stream of either; beside them cut RTCP and cut UDP that is no RTP,
 * which do not count. Such packets start no stream; each is counted in one warning per file and the
 * run summary, as many as tshark shows UDP (not SIP) shorter than on the wire.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classicPcap, rtcpSr, rtp, udpFrame, type PcapRecord } from '../../src/gen/index.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = existsSync(cli) && spawnSync('editcap', ['-h']).status === 0 && spawnSync('mergecap', ['-h']).status === 0;

interface LogLine {
  msg: string;
  rtpSnapCut?: number;
  streams?: number;
}

/** tshark's count of packets matching `filter` that the capture holds shorter than on the wire. */
function tsharkCut(file: string, filter: string, decodeAs: string[] = []): number {
  const t = spawnSync('tshark', ['-n', '-r', file, ...decodeAs, '-Y', `${filter} && frame.cap_len < frame.len`], { encoding: 'utf8' });
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
  /** RTP with four CSRCs cut after the first two, padded RTP cut after its header, cut RTCP and other UDP; tshark's count of the cut RTP. */
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
    cutMixed = tsharkCut(mixed, 'udp && !sip');
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
      // Not counted: an RTCP sender report cut to 8 bytes, and UDP whose first byte is no RTP version 2.
      const sr = udpFrame('10.9.0.1', 40021, '10.9.0.2', 40023, rtcpSr({ ssrc: 0x1234, ntpSec: 1, ntpFrac: 0, rtpTs: 0, packets: i, octets: 160 * i }));
      records.push({ tsNs: tsNs + 2_000_000n, data: sr.subarray(0, 50), wireLength: sr.length });
      const other = udpFrame('10.9.0.1', 40030, '10.9.0.2', 40032, new Uint8Array(100).fill(0x12));
      records.push({ tsNs: tsNs + 3_000_000n, data: other.subarray(0, 50), wireLength: other.length });
    }
    csrc = join(dir, 'csrc.pcap');
    writeFileSync(csrc, classicPcap(records, { snapLength: 76 }));
    const decodeAs = ['-d', 'udp.port==40000,rtp', '-d', 'udp.port==40010,rtp', '-d', 'udp.port==40021,rtcp'];
    cutCsrc = tsharkCut(csrc, 'rtp', decodeAs);
    expect(cutCsrc).toBe(100);
    expect(tsharkCut(csrc, 'rtcp', decodeAs)).toBe(50);
    expect(tsharkCut(csrc, 'udp', decodeAs)).toBe(200);
    const streams = spawnSync('tshark', ['-n', '-r', csrc, ...decodeAs, '-q', '-z', 'rtp,streams'], { encoding: 'utf8' });
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
