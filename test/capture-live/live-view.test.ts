/**
 * A live run watched as an operator does: `rtpprobe run -i lo` with capture.workers = 2 (the API must
 * see the media workers' streams through the main thread), SIP + RTP sent by another process (python3)
 * on this test's own ports. Checked: /api/streams and /api/calls carry the calls with their Call-IDs,
 * the status line appears, and SIGTERM prints the table of the streams running at stop on standard error.
 * Needs root (capture on lo) and a built dist/; skipped otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PY_SIP, startProbe, type RunningProbe } from './media-workers-helpers.js';
import { until } from '../wait.js';
import { liveApi } from '../live-api.js';
import { takePorts } from '../port-blocks.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = process.getuid?.() === 0 && existsSync(cli) && spawnSync('python3', ['-c', '1']).status === 0;

const CALLS = 4;
const PACKETS = 400; // 20 ms apart: 8 s of media, the probe is stopped in the middle

const SENDER = String.raw`
import socket, sys, time
base, calls, packets, tag = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].encode()
${PY_SIP}
flows = []
for i in range(calls):
    pa, pb = base + 4 * i, base + 4 * i + 2
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(('127.0.0.1', pa))
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(('127.0.0.1', pb))
    flows.append([a, pb, 0x3000 + i]); flows.append([b, pa, 0x4000 + i])
    cid = b'live-%s-%d@probe.test' % (tag, i)
    sip.sendto(msg(b'INVITE sip:b@127.0.0.1 SIP/2.0', cid, sdp(pa)), ('127.0.0.1', sip_port))
    sip.sendto(msg(b'SIP/2.0 200 OK', cid, sdp(pb), b';tag=tb'), ('127.0.0.1', sip_port))
time.sleep(0.2)
for k in range(packets):
    for j, f in enumerate(flows):
        if j == 0 and k % 10 == 3: continue  # call 0, one direction: 10 % loss, the worst stream
        hdr = bytes([0x80, 8]) + (k & 0xffff).to_bytes(2, 'big') + (k * 160).to_bytes(4, 'big') + f[2].to_bytes(4, 'big')
        f[0].sendto(hdr + b'\xd5' * 160, ('127.0.0.1', f[1]))
    time.sleep(0.02)
`;

describe.skipIf(!canRun)('rtpprobe run watched live (workers 2 on lo)', () => {
  let probe: RunningProbe | undefined;
  let sender: ReturnType<typeof spawn> | undefined;

  afterAll(() => {
    if (probe && probe.child.exitCode === null) probe.child.kill('SIGKILL');
    if (sender && sender.exitCode === null) sender.kill('SIGKILL');
  });

  it('serves the calls and streams of the workers, logs status lines, and prints the stream table at SIGTERM', async () => {
    const tag = String(process.pid);
    // Both ends in the test's ports, above the ephemeral range: other suites' sockets get ephemeral ports.
    const base = await takePorts(4 * CALLS + 2);
    const filter = `udp and src portrange ${base}-${base + 4 * CALLS + 1} and dst portrange ${base}-${base + 4 * CALLS + 1}`;
    probe = await startProbe(cli, [
      '-i', 'lo', '-f', filter, '--no-hep',
      '--set', 'capture.workers=2', '--set', `sip.ports=${base + 4 * CALLS}`, '--set', 'reports.interval_s=1', '--set', 'log.status_interval_s=1',
      '--rule', 'name=lossy;when=loss_pct > 5;interval_s=1',
    ], 120_000); // every thread loads mathjs to compile the rule: tens of seconds on a loaded machine
    sender = spawn('python3', ['-c', SENDER, String(base), String(CALLS), String(PACKETS), tag], { stdio: 'ignore' });
    const api = `http://127.0.0.1:${probe.metricsPort}`;

    // Worst MOS first. The lossy stream is usually the worst, but on a loaded machine the sender's own pauses
    // are real jitter that can make another stream worse: the order is checked against the MOS values.
    const LOSSY = '0x00003000';
    let streams: Array<{ callId: string; ssrc: string; mos: number; lossPct: number; alerts: string[] }> = [];
    expect(
      await until(async () => {
        streams = (await liveApi<{ streams: typeof streams }>(`${api}/api/streams`))?.streams ?? [];
        return streams.length === 2 * CALLS && streams.every((s) => s.mos > 0) && (streams.find((s) => s.ssrc === LOSSY)?.alerts.length ?? 0) > 0;
      }, 60_000),
      JSON.stringify(streams),
    ).toBe(true);
    expect(streams.every((s) => s.callId.startsWith(`live-${tag}-`))).toBe(true);
    expect(streams.map((s) => s.mos)).toEqual(streams.map((s) => s.mos).sort((a, b) => a - b));
    const lossy = streams.find((s) => s.ssrc === LOSSY)!;
    expect(lossy).toMatchObject({ callId: `live-${tag}-0@probe.test`, alerts: ['lossy'] });
    expect(lossy.lossPct).toBeGreaterThan(5);
    const calls = ((await (await fetch(`${api}/api/calls`)).json()) as { calls: Array<{ callId: string; state: string; streams: number; worstMos: number }> }).calls;
    expect(calls.map((c) => [c.state, c.streams])).toEqual(Array.from({ length: CALLS }, () => ['confirmed', 2]));
    expect(calls.map((c) => c.callId).sort()).toEqual(Array.from({ length: CALLS }, (_, i) => `live-${tag}-${i}@probe.test`));
    expect(calls.map((c) => c.worstMos)).toEqual(calls.map((c) => c.worstMos).sort((a, b) => a - b));
    expect(await until(() => probe!.log().includes('"msg":"status: 4 calls, 8 streams'), 30_000), probe.log()).toBe(true);

    probe.child.kill('SIGTERM');
    expect(await probe.exit).toBe(0);
    const log = probe.log();
    const table = log.slice(log.indexOf('streams at stop (8, worst MOS first):'));
    const rows = table.split('\n').slice(2, 2 + 2 * CALLS);
    expect(rows.length).toBe(2 * CALLS);
    expect(rows.every((r) => r.includes(`live-${tag}-`))).toBe(true);
    expect(rows.find((r) => r.includes(LOSSY))).toContain(`live-${tag}-0@probe.test`);
    // Columns: source, destination, SSRC, codec, packets, lost, max delta, jitter, max jitter, skew, MOS, Call-ID.
    // A stream with nothing measured in its last interval shows '-': listed after the measured ones.
    const mos = rows.map((r) => r.trim().split(/\s{2,}/)[10]).map((m) => (m === '-' ? 99 : Number(m)));
    expect(mos.every((m) => m > 0), table).toBe(true);
    expect(mos, table).toEqual([...mos].sort((a, b) => a - b));
    expect(log).toContain('"msg":"alert lossy started"');
    expect(log).toContain('"msg":"call started"');
  }, 240_000);
});
