/**
 * What a process ending now would lose on a TCP collector (`notTaken`): the messages whose bytes the kernel
 * has not all taken. A child process (the built dist/, as the CLI runs it) sends to a receiver that reads in
 * bursts, so its socket holds a partly written batch; at the parent's word it prints its stats and exits in
 * the same turn. Whatever the kernel took still arrives: the receiver must get exactly sent - notTaken.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HepStreamDeframer } from '../../src/hep/deframe.js';
import { waitFor } from '../wait.js';

const root = new URL('../../', import.meta.url).pathname;
const dist = join(root, 'dist/hep/index.js');
const MESSAGES = 30_000;

/** Sends MESSAGES reports of 600-1,400 bytes; on a line on stdin prints its collector's stats and exits. */
const CHILD = `
import { HepSender, HepProtoType } from ${JSON.stringify(dist)};
const sender = new HepSender({ captureId: 1, collectors: [{ host: '127.0.0.1', port: Number(process.argv[1]), transport: 'tcp', queueSize: ${MESSAGES} }] });
for (let i = 0; i < ${MESSAGES}; i++) {
  sender.send({ ipFamily: 4, ipProto: 17, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 1, dstPort: 2, tsSec: 1, tsUsec: i,
    protoType: HepProtoType.QOS_REPORT, correlationId: 'c' + i, payload: 'x'.repeat(500 + (i * 7919) % 800) });
}
const timer = setInterval(() => process.stdout.write(JSON.stringify(sender.stats().collectors[0]) + '\\n'), 20);
process.stdin.once('data', () => {
  clearInterval(timer);
  process.stdout.write('FINAL ' + JSON.stringify(sender.stats().collectors[0]) + '\\n');
  process.exit(0);
});
`;

interface Stats {
  sent: number;
  queued: number;
  inFlight: number;
  notTaken: number;
}

describe.skipIf(!existsSync(dist))('HEP over TCP: what an exit now would lose', () => {
  it.each([1, 2, 3])('run %i: the receiver gets every message but the notTaken ones', async () => {
    let frames = 0;
    let ended = false;
    let peer: net.Socket | undefined;
    const d = new HepStreamDeframer();
    const server = net.createServer((s) => {
      peer = s;
      s.pause();
      s.on('data', (chunk: Buffer) => (frames += d.push(chunk).length));
      s.on('end', () => (ended = true));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const latest = (): Stats | undefined => {
      const lines = out.trim().split('\n').filter((l) => l.startsWith('{'));
      return lines.length > 0 ? (JSON.parse(lines[lines.length - 1]!) as Stats) : undefined;
    };
    try {
      // Both socket buffers full and messages still waiting in the queue: the sender is held back.
      await waitFor(() => peer !== undefined && (latest()?.queued ?? 0) > 0 && (latest()?.inFlight ?? 0) > 0, 60_000, 'a held-back sender');
      // Read a burst, so the kernel takes part of the pending batch, then hold again until the sender settles.
      peer!.resume();
      await waitFor(() => frames >= 2_000, 60_000, 'a burst read');
      peer!.pause();
      const sentAfterBurst = latest()?.sent ?? 0;
      await waitFor(() => (latest()?.sent ?? 0) > sentAfterBurst, 60_000, 'the sender moving after the burst');
      child.stdin.write('exit\n');
      await new Promise<void>((r) => child.once('exit', () => r()));
      const final = JSON.parse(out.split('\n').find((l) => l.startsWith('FINAL '))!.slice(6)) as Stats;
      peer!.resume();
      await waitFor(() => ended, 60_000, 'the end of the connection');
      expect(d.error).toBeUndefined();
      // Every message is sent (called back), in flight or queued; of those, the kernel had all but notTaken.
      expect(final.notTaken).toBeGreaterThanOrEqual(final.queued);
      expect(final.notTaken).toBeLessThanOrEqual(final.queued + final.inFlight);
      expect(frames).toBe(MESSAGES - final.notTaken);
    } finally {
      child.kill('SIGKILL');
      peer?.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }, 120_000);
});
