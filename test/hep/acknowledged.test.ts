/**
 * HEP over TCP/TLS counts a message sent once the collector's TCP acknowledged it, read from the kernel's
 * tx_queue (/proc/net/tcp, /proc/net/tcp6): a receiver that reads slowly but steadily is never taken for
 * stalled, IPv6 connections are found as IPv4 ones are, and where the table cannot be read the write
 * callbacks count (said once). The blackholed connections are in stall-reconnect.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { HepCollectorEvent, HepCollectorStats } from '../../src/hep/index.js';
import { selfSignedCert, startStreamSink } from './helpers.js';
import { bigReport, quickStallSender, smallReport } from './stall-sender.js';
import { waitFor } from '../wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** The slow reader (fixtures/slow-reader.mjs) in a process of its own: its port, and the bytes it has read so far. */
async function slowReader(transport: 'tcp' | 'tls', pem?: { cert: string; key: string; dir: string }): Promise<{ port: number; bytesRead: () => Promise<number> }> {
  const args = [fileURLToPath(new URL('./fixtures/slow-reader.mjs', import.meta.url)), transport];
  if (pem) {
    fs.writeFileSync(path.join(pem.dir, 'c.pem'), pem.cert);
    fs.writeFileSync(path.join(pem.dir, 'k.pem'), pem.key);
    args.push(path.join(pem.dir, 'c.pem'), path.join(pem.dir, 'k.pem'));
  }
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  cleanups.push(() => void child.kill());
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const port = Number((await lines.next()).value);
  return {
    port,
    bytesRead: async () => {
      child.stdin.write('\n');
      return Number((await lines.next()).value);
    },
  };
}

describe('HEP over TCP/TLS: acknowledgements read from the kernel', () => {
  for (const transport of ['tcp', 'tls'] as const) {
    it(`${transport}: a receiver reading slowly but steadily (about 2 MB/s, its window mostly closed) is never taken for stalled; everything counts sent once it is acknowledged`, async () => {
      const pem = transport === 'tls' ? selfSignedCert() : undefined;
      if (pem) cleanups.push(() => fs.rmSync(pem.dir, { recursive: true, force: true }));
      const rx = await slowReader(transport, pem);
      // Stalled after 300 ms without an acknowledgement advancing: far less than the backlog takes to drain.
      const { sender, events } = quickStallSender({ host: '127.0.0.1', port: rx.port, transport, tls: pem ? { ca: pem.cert } : undefined });
      cleanups.push(() => sender.close(50));
      await waitFor(() => sender.stats().collectors[0]!.connected, 30_000, 'connected');
      // 8 MB at once: seconds of reading, much more than the socket buffers hold.
      const n = 140;
      for (let seq = 0; seq < n; seq++) sender.send(bigReport(seq));
      await waitFor(() => { const c = sender.stats().collectors[0]!; return c.queued + c.inFlight === 0; }, 60_000, 'everything acknowledged');
      const c = sender.stats().collectors[0]!;
      expect(events).toEqual([]);
      expect(c).toMatchObject({ sent: n, failed: 0, dropped: 0, connectFailures: 0, stalled: false });
      // Acknowledged by its TCP: the receiver reads it all (60 KB of payload in each frame).
      await waitFor(async () => (await rx.bytesRead()) >= n * 60_000, 60_000, 'the receiver to read everything');
    }, 120_000);
  }

  it('IPv6: a connection to ::1 is found in /proc/net/tcp6 (no notice that acknowledgements cannot be read); sent follows the acknowledgements', async () => {
    const frames: number[] = [];
    const server = net.createServer((s) => s.on('data', (d) => frames.push(d.length)));
    await new Promise<void>((r) => server.listen(0, '::1', () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const { sender, events } = quickStallSender({ host: '::1', port: (server.address() as net.AddressInfo).port, transport: 'tcp' });
    cleanups.push(() => sender.close(50));
    for (let seq = 0; seq < 5; seq++) sender.send(smallReport(seq));
    await waitFor(() => sender.stats().collectors[0]!.sent === 5, 30_000, '5 acknowledged');
    expect(events).toEqual([]);
  });
});

/** A mount namespace of our own (root, unshare): where /proc can be hidden from one process. */
function canUnshareMount(): boolean {
  try {
    execFileSync('unshare', ['-m', 'mount', '-t', 'tmpfs', 'none', '/proc'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('HEP over TCP where /proc/net/tcp cannot be read', () => {
  it.skipIf(!canUnshareMount())('counts a message sent once the kernel takes it, as a write callback says, and says so once', async () => {
    const rx = await startStreamSink();
    cleanups.push(() => rx.close());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtpprobe-no-proc-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const child = path.join(dir, 'no-proc-child.mjs');
    await build({ entryPoints: [fileURLToPath(new URL('./fixtures/no-proc-child.ts', import.meta.url))], outfile: child, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'error' });
    // spawnSync would block this process, and the receiver in it: the child runs asynchronously.
    const out = await new Promise<string>((resolve) => {
      const p = spawn('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs none /proc && exec "$0" "$@"', process.execPath, child, String(rx.port)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      p.stdout.on('data', (d: Buffer) => (text += d.toString()));
      p.on('close', () => resolve(text));
    });
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as { ok: boolean; events: HepCollectorEvent[]; stats: HepCollectorStats };
    expect(r.ok).toBe(true);
    expect(r.events).toHaveLength(1);
    expect(r.events[0]).toMatchObject({ kind: 'notice' });
    expect(r.events[0]!.reason).toMatch(/unacknowledged byte counts cannot be read \(ENOENT.*\/proc\/net\/tcp.*\): .*counts sent once the kernel takes it/);
    await waitFor(() => rx.frames.length === 5, 30_000, 'the 5 reports');
  }, 60_000);
});
