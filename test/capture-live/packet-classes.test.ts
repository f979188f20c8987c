/**
 * rtpprobe_packets_total's classes sum to every packet captured, also when a flow's first packets are
 * held as RTP candidates across a metrics tick and then join a stream, and when a SIP message over TCP
 * is split across a tick. `rtpprobe run` on lo, RTP and SIP sent by another process (python3). Needs root (capture on lo) and a built dist/; skipped otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startProbe, type RunningProbe } from './media-workers-helpers.js';
import { until } from '../wait.js';
import { takePorts } from '../port-blocks.js';
import { sdpBody, sipRequest, text as bytesOf } from '../../src/gen/index.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = process.getuid?.() === 0 && existsSync(cli) && spawnSync('python3', ['-c', '1']).status === 0;

/** PCMA packets seq argv[3]..argv[4]-1 of SSRC 0x5151 from port argv[1] to port argv[2]; argv[3] "junk": one non-RTP datagram. */
const SEND = String.raw`
import socket, sys
src, dst = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', src))
if sys.argv[3] == 'junk':
    s.sendto(b'not rtp', ('127.0.0.1', dst)); sys.exit(0)
for k in range(int(sys.argv[3]), int(sys.argv[4])):
    s.sendto(bytes([0x80, 8]) + k.to_bytes(2, 'big') + (k * 160).to_bytes(4, 'big') + (0x5151).to_bytes(4, 'big') + b'\xd5' * 160, ('127.0.0.1', dst))
`;

/**
 * SIP over TCP on port argv[1] of 127.0.0.1, client and server in this process: the client sends the first
 * argv[3] bytes of the message argv[2] (hex) in a segment of their own, prints "sent" and waits for a line
 * on its standard input, then sends the rest; closed once the server has read it all.
 */
const SEND_TCP = String.raw`
import socket, sys
port, msg, cut = int(sys.argv[1]), bytes.fromhex(sys.argv[2]), int(sys.argv[3])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); srv.bind(('127.0.0.1', port)); srv.listen(1)
c = socket.socket(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1); c.connect(('127.0.0.1', port))
a, _ = srv.accept()
c.sendall(msg[:cut])
got = b''
while len(got) < cut: got += a.recv(65536)
print('sent', flush=True)
sys.stdin.readline()
c.sendall(msg[cut:])
while len(got) < len(msg): got += a.recv(65536)
c.close(); a.close(); srv.close()
`;

describe.skipIf(!canRun)('rtpprobe_packets_total by class', () => {
  let probe: RunningProbe | undefined;
  afterAll(() => {
    if (probe && probe.child.exitCode === null) probe.child.kill('SIGKILL');
  });

  it('a heuristic stream held across a metrics tick: its packets count once, the classes sum to the packets captured', async () => {
    const base = await takePorts(3);
    const [rtpFrom, junkFrom, to] = [base, base + 1, base + 2];
    // Both ends in the test's ports: nothing else is captured.
    probe = await startProbe(cli, ['-i', 'lo', '-f', `udp and (src port ${rtpFrom} or src port ${junkFrom}) and dst port ${to}`, '--no-hep']);
    let text = '';
    const get = async () => (text = await (await fetch(`http://127.0.0.1:${probe!.metricsPort}/metrics`)).text());
    const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    const received = () => metric('rtpprobe_capture_packets_received_total{interface="lo"}');
    const classes = () => ['sip', 'rtp', 'rtcp', 'other'].reduce((n, p) => n + metric(`rtpprobe_packets_total{protocol="${p}"}`), 0);
    const send = (from: number, ...what: string[]) => expect(spawnSync('python3', ['-c', SEND, String(from), String(to), ...what]).status).toBe(0);

    // Fewer RTP packets than the heuristic takes (min_consecutive 4): held as a candidate. Then a datagram
    // of another flow that is no RTP (other at once): once it is counted, a tick has seen the held two.
    send(rtpFrom, '0', '2');
    send(junkFrom, 'junk');
    expect(await until(async () => (await get(), received() === 3 && classes() >= 1), 30_000), text).toBe(true);
    // The rest: the flow becomes a stream with the held packets as its first.
    send(rtpFrom, '2', '10');
    expect(await until(async () => (await get(), metric('rtpprobe_packets_total{protocol="rtp"}') === 10 && received() === 11), 30_000), text).toBe(true);
    expect(metric('rtpprobe_packets_total{protocol="other"}'), text).toBe(1);
    expect(classes(), text).toBe(11);
    probe.child.kill('SIGTERM');
    expect(await probe.exit).toBe(0);
  });

  it('a SIP message over TCP split across a metrics tick: each segment counts once, the classes sum to the packets captured', async () => {
    const port = await takePorts(1);
    probe = await startProbe(cli, ['-i', 'lo', '-f', `tcp port ${port}`, '--no-hep']);
    let text = '';
    const get = async () => (text = await (await fetch(`http://127.0.0.1:${probe!.metricsPort}/metrics`)).text());
    const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    const received = () => metric('rtpprobe_capture_packets_received_total{interface="lo"}');
    const classes = () => ['sip', 'rtp', 'rtcp', 'other'].reduce((n, p) => n + metric(`rtpprobe_packets_total{protocol="${p}"}`), 0);
    const invite = bytesOf(sipRequest('INVITE', 'sip:b@h', { callId: 'tcp-across-tick', fromTag: 'a', cseq: 1, body: sdpBody({ ip: '127.0.0.1', media: [{ port: 4000, formats: [8] }] }) }));
    const py = spawn('python3', ['-c', SEND_TCP, String(port), Buffer.from(invite).toString('hex'), '60'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    py.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => py.on('exit', (code) => r(code)));
    expect(await until(() => out.includes('sent'), 30_000)).toBe(true);
    // The handshake and the message's first segment (its header block still open): the connection is
    // tracked, the message waits for the rest. A tick has counted them all when the classes reach the packets.
    expect(await until(async () => (await get(), received() >= 4 && classes() === received() && metric('rtpprobe_packets_total{protocol="sip"}') >= 1), 30_000), text).toBe(true);
    const before = { sip: metric('rtpprobe_packets_total{protocol="sip"}'), other: metric('rtpprobe_packets_total{protocol="other"}') };
    py.stdin.end('go\n');
    expect(await exited).toBe(0);
    // All of the connection is captured once the sender exited; a tick has counted it when the classes reach it.
    expect(await until(async () => (await get(), received() > before.sip + before.other && classes() >= received()), 30_000), text).toBe(true);
    expect(classes(), text).toBe(received());
    // Packets counted as other before the tick stay other; the rest of the message is SIP.
    expect(metric('rtpprobe_packets_total{protocol="sip"}'), text).toBeGreaterThan(before.sip);
    probe.child.kill('SIGTERM');
    expect(await probe.exit).toBe(0);
  });
});
