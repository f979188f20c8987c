import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { summarizeCapture } from '../../src/decode/index.js';
import { decoderUdpFlowsOfFile, sorted, tsharkUdpFlows } from '../decode/flows.js';

/**
 * Files written by real capture tools from real traffic: tcpdump on "any" (nanosecond pcap, LINUX_SLL2,
 * a small snap length so large datagrams are truncated) and dumpcap on lo (pcapng, Ethernet). Read back by
 * tshark and by us: the UDP flows must agree.
 */
async function captureWhileSending(cmd: string, args: string[], port: number): Promise<number> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start: ${err}`)), 10_000);
    proc.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (/listening on|Capturing on/.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  // dumpcap announces the interface before its capture child is attached: give both a moment.
  await new Promise((r) => setTimeout(r, 1000));
  let sent = 0;
  for (const [family, host] of [['udp4', '127.0.0.1'], ['udp6', '::1']] as const) {
    const sock = createSocket(family);
    try {
      for (let i = 0; i < 20; i++) {
        await new Promise<void>((resolve, reject) => sock.send(Buffer.alloc(20 + i * 37, i), port, host, (e) => (e ? reject(e) : resolve())));
        sent++;
      }
    } catch {
      // no IPv6 loopback on this host: the IPv4 flow is enough
    } finally {
      sock.close();
    }
  }
  // libpcap hands packets over in TPACKET_V3 blocks retired by a timeout (1 s in tcpdump): wait past it.
  await new Promise((r) => setTimeout(r, 2000));
  const exited = new Promise((r) => proc.on('exit', r));
  proc.kill('SIGINT');
  await exited;
  return sent;
}

describe('captures written by tcpdump and dumpcap', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-live-'));

  it('tcpdump -i any: nanosecond pcap, LINUX_SLL2, truncated by snap length', async () => {
    const port = 39000 + Math.floor(Math.random() * 500);
    const file = join(dir, 'any.pcap');
    const sent = await captureWhileSending('tcpdump', ['-i', 'any', '-U', '-s', '200', '--time-stamp-precision=nano', '-w', file, `udp port ${port}`], port);
    const theirs = tsharkUdpFlows(file);
    const ours = decoderUdpFlowsOfFile(file);
    expect(sorted(ours.flows)).toEqual(sorted(theirs));
    expect([...theirs.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(sent);
    const s = await summarizeCapture(file);
    expect(s.protocols.truncated).toBeGreaterThan(0);
  });

  it('dumpcap -i lo: pcapng, Ethernet', async () => {
    const port = 39500 + Math.floor(Math.random() * 400);
    const file = join(dir, 'lo.pcapng');
    const sent = await captureWhileSending('dumpcap', ['-i', 'lo', '-w', file, '-f', `udp port ${port}`], port);
    const theirs = tsharkUdpFlows(file);
    const ours = decoderUdpFlowsOfFile(file);
    expect(sorted(ours.flows)).toEqual(sorted(theirs));
    expect([...theirs.values()].reduce((a, b) => a + b, 0)).toBe(sent);
  });
});
