/**
 * With process.user the JSON-lines file is opened before privileges are dropped: `run -i lo --user nobody
 * --jsonl` into a directory only root may write creates the file, and the reports of a call captured
 * afterwards (sent by another process) are written through it. Needs root and dist/.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rtp, sdpBody, sipRequest, sipResponse, text } from '../../src/gen/index.js';
import { sleep } from '../hep/helpers.js';
import { takePorts } from '../port-blocks.js';
import { waitFor } from '../wait.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const canRun = process.getuid?.() === 0 && existsSync(cli) && spawnSync('id', ['nobody']).status === 0;

describe.skipIf(!canRun)('JSON lines with process.user', () => {
  let probe: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-user-'));
  afterAll(() => {
    if (probe && probe.exitCode === null) probe.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the file before dropping to nobody and writes the FINAL reports at SIGTERM', async () => {
    chmodSync(dir, 0o700); // only root may create files here
    const file = join(dir, 'reports.jsonl');
    // Ports of this test only, above the ephemeral range: the filter takes no other process's packets.
    const first = await takePorts(6);
    const sipPort = first;
    const a = (first + 2) & ~1;
    const b = a + 2;
    probe = spawn(process.execPath, [cli, 'run', '-i', 'lo', '--filter', `udp port ${sipPort} or udp port ${a} or udp port ${b}`, '--no-hep', '--jsonl', file, '--user', 'nobody',
      '--set', `sip.ports=${sipPort}`, '--metrics-port', '0', '--log-format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    probe.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    await waitFor(() => /"capture open"/.test(log) && /nobody|privileges|uid/i.test(log), 30_000, `start (log: ${log})`);
    expect(statSync(file).uid).toBe(0);
    // A call from another socket: INVITE/200 with SDP, then RTP both ways.
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const send = (port: number, data: Uint8Array) => new Promise<void>((r) => s.send(data, port, '127.0.0.1', () => r()));
    const sdp = (port: number) => sdpBody({ ip: '127.0.0.1', media: [{ port, formats: [8] }] });
    await send(sipPort, text(sipRequest('INVITE', 'sip:b@127.0.0.1', { callId: 'user-call@probe', fromTag: 'f', cseq: 1, body: sdp(a) })));
    await send(sipPort, text(sipResponse(200, { callId: 'user-call@probe', fromTag: 'f', toTag: 't', cseq: 1, cseqMethod: 'INVITE', body: sdp(b) })));
    for (let i = 0; i < 20; i++) {
      await send(b, rtp({ pt: 8, seq: i, ts: 160 * i, ssrc: 0x1111 }));
      await sleep(5);
    }
    s.close();
    await sleep(300);
    const exited = new Promise<number | null>((r) => probe!.once('exit', (code) => r(code)));
    probe.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { TYPE: string; CORRELATION_ID: string });
    expect(lines.some((r) => (r.TYPE === 'FINAL' || r.TYPE === 'HANGUP') && r.CORRELATION_ID === 'user-call@probe')).toBe(true);
  }, 60_000);
});
