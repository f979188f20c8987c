import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { summarizeCapture } from '../../src/decode/index.js';
import { decoderUdpFlowsOfFile, sorted, tsharkUdpFlows } from '../decode/flows.js';
import { until } from '../wait.js';
import { takePorts } from '../port-blocks.js';

/**
 * Files written by real capture tools from real traffic: tcpdump on "any" (nanosecond pcap, LINUX_SLL2,
 * a small snap length so large datagrams are truncated) and dumpcap on lo (pcapng, Ethernet). Read back by
 * tshark and by us: the UDP flows must agree.
 */
/** UDP packets in the file written so far per flow; empty while the writer has not flushed a whole record. */
function flowsSoFar(file: string): Map<string, number> {
  try {
    return decoderUdpFlowsOfFile(file).flows;
  } catch {
    return new Map();
  }
}

/**
 * Runs the capture tool, sends 20 datagrams of growing size over IPv4 and IPv6 loopback to `port`, and
 * stops the tool once the file holds them. Returns the datagrams sent and the flow of the markers (see below).
 */
async function captureWhileSending(cmd: string, args: string[], file: string, port: number): Promise<{ sent: number; markerFlow: string }> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  if (!(await until(() => /listening on|Capturing on/.test(err)))) throw new Error(`${cmd} did not start: ${err}`);
  // The start message does not say the filter is in place (dumpcap prints it before opening the
  // interface): markers from a socket bound to `port` are sent until one is in the file.
  const marker = createSocket('udp4');
  await new Promise<void>((r) => marker.bind(port, '127.0.0.1', r));
  const markerFlow = `127.0.0.1|${port}|127.0.0.1|${port + 1}`;
  const markerSeen = () => {
    marker.send(Buffer.alloc(8), port + 1, '127.0.0.1');
    return (flowsSoFar(file).get(markerFlow) ?? 0) > 0;
  };
  const attached = await until(markerSeen, 30_000, 100).finally(() => marker.close());
  if (!attached) throw new Error(`${cmd} wrote no marker to ${file}: ${err}`);
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
  // libpcap hands packets over in TPACKET_V3 blocks retired by a timeout: they reach the file that much later.
  const toPort = () => [...flowsSoFar(file)].reduce((n, [flow, count]) => (flow.endsWith(`|${port}`) ? n + count : n), 0);
  if (!(await until(() => toPort() >= sent, 30_000, 100))) throw new Error(`${toPort()} of ${sent} datagrams in ${file}: ${err}`);
  const exited = new Promise((r) => proc.on('exit', r));
  proc.kill('SIGINT');
  await exited;
  return { sent, markerFlow };
}

/** Packets of all flows but the markers'. */
const withoutMarkers = (flows: Map<string, number>, markerFlow: string) => [...flows].reduce((n, [flow, count]) => (flow === markerFlow ? n : n + count), 0);

describe('captures written by tcpdump and dumpcap', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-live-'));

  it('tcpdump -i any: nanosecond pcap, LINUX_SLL2, truncated by snap length', async () => {
    const port = await takePorts(2); // the markers go to port + 1
    const file = join(dir, 'any.pcap');
    const { sent, markerFlow } = await captureWhileSending('tcpdump', ['-i', 'any', '-U', '-s', '200', '--time-stamp-precision=nano', '-w', file, `udp port ${port}`], file, port);
    const theirs = tsharkUdpFlows(file);
    const ours = decoderUdpFlowsOfFile(file);
    expect(sorted(ours.flows)).toEqual(sorted(theirs));
    expect(withoutMarkers(theirs, markerFlow)).toBeGreaterThanOrEqual(sent);
    const s = await summarizeCapture(file);
    expect(s.protocols.truncated).toBeGreaterThan(0);
  });

  it('dumpcap -i lo: pcapng, Ethernet', async () => {
    const port = await takePorts(2); // the markers go to port + 1
    const file = join(dir, 'lo.pcapng');
    const { sent, markerFlow } = await captureWhileSending('dumpcap', ['-i', 'lo', '-w', file, '-f', `udp port ${port}`], file, port);
    const theirs = tsharkUdpFlows(file);
    const ours = decoderUdpFlowsOfFile(file);
    expect(sorted(ours.flows)).toEqual(sorted(theirs));
    expect(withoutMarkers(theirs, markerFlow)).toBe(sent);
  });
});
