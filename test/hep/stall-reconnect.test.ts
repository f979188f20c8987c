/**
 * A TCP/TLS collector that keeps its connection but takes nothing (a peer that stopped reading, or one a
 * firewall cut off without a word: the kernel would retransmit for ~15 minutes before the socket errs) is
 * dropped after stallTimeoutMs and a new connection made with the backoff: a receiver that accepts and
 * stops reading, then a second receiver on the same port once the first stopped listening; and, where a
 * network namespace can be made (root), a connection blackholed by an ip rule.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { decodeHep3Strict, type HepCollectorEvent, type HepCollectorStats } from '../../src/hep/index.js';
import { loadConfig } from '../../src/ops/config.js';
import { openOutputs } from '../../src/pipeline/index.js';
import { selfSignedCert, startStreamSink, type StreamSink } from './helpers.js';
import { bigReport, quickStallSender } from './stall-sender.js';
import { waitFor } from '../wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});


/** The SEQ of every frame a receiver got, each decoded as heplify-server would (throws on anything it drops). */
function seqsOf(sink: StreamSink): number[] {
  return sink.frames.map((f) => (JSON.parse(decodeHep3Strict(f).payload.toString()) as { SEQ: number }).SEQ);
}

describe('a stalled HEP TCP/TLS connection', () => {
  for (const transport of ['tcp', 'tls'] as const) {
    it(`${transport}: dropped after stallTimeoutMs and made anew; what follows reaches the new connection, the counts add up`, async () => {
      const pki = transport === 'tls' ? selfSignedCert() : undefined;
      if (pki) cleanups.push(() => fs.rmSync(pki.dir, { recursive: true, force: true }));
      const tlsServer = pki ? { cert: pki.cert, key: pki.key } : undefined;
      // The first receiver accepts and never reads: its buffers and the probe's fill, then nothing moves.
      const deaf = await startStreamSink({ tls: tlsServer });
      deaf.onConnection = (s) => s.pause();
      cleanups.push(() => deaf.close());
      const { sender, events, atDown: downAt } = quickStallSender({ host: '127.0.0.1', port: deaf.port, transport, tls: pki ? { ca: pki.cert } : undefined });
      cleanups.push(() => sender.close(50));
      await waitFor(() => sender.stats().collectors[0]!.connected, 30_000, 'connected');

      // 24 MB, more than loopback's socket buffers take, as a live run sends: without waiting for room().
      let seq = 0;
      for (; seq < 400; seq++) sender.send(bigReport(seq));
      await waitFor(() => events.some((e) => e.kind === 'stalled'), 30_000, 'a stalled event');
      // The first receiver stops listening (its connection stays, unread); a second one takes its port.
      deaf.server.close(); // its port is free at once; the close completes with the held connection
      const fresh = await startStreamSink({ port: deaf.port, tls: tlsServer });
      cleanups.push(() => fresh.close());

      await waitFor(() => fresh.connections === 1, 30_000, 'a new connection to the second receiver');
      // The receiver counts the connection at its accept; the sender is connected once it takes the connection
      // as accepted (over TLS 1.3 up to TLS13_ACCEPT_WAIT_MS after its handshake, for a refusal to come), and
      // says up once it has held (CONNECTION_HOLDS_MS).
      await waitFor(() => sender.stats().collectors[0]!.connected, 30_000, 'the sender connected again');
      await waitFor(() => events.filter((e) => e.kind !== 'failed').at(-1)?.kind === 'up', 30_000, 'the sender says up again');
      expect(deaf.connections).toBe(1);
      const down = events.find((e) => e.kind === 'down')!;
      expect(down.reason).toMatch(/taken nothing for \d+ s: connection dropped to reconnect/);
      expect(events.filter((e) => e.kind === 'up').at(-1)?.reason).toBe('connected');
      // Each stall is followed by its recovery or by the drop (the drop's failed writes are no recovery).
      const told = events.filter((e) => e.kind !== 'failed').map((e) => e.kind);
      expect(told.slice(-2)).toEqual(['down', 'up']);
      expect(told.slice(0, -2).every((k, i) => k === (i % 2 === 0 ? 'stalled' : 'up'))).toBe(true);
      expect(told.length % 2).toBe(1);

      // Reports made after the reconnect reach the new connection.
      for (const end = seq + 50; seq < end; seq++) sender.send(bigReport(seq));
      await waitFor(() => sender.stats().collectors[0]!.queued + sender.stats().collectors[0]!.inFlight === 0, 30_000, 'everything handed over');
      const c = sender.stats().collectors[0]!;
      expect(c.sent + c.failed + c.dropped).toBe(seq);
      expect(c).toMatchObject({ connected: true, stalled: false, dropped: 0, connectFailures: 1 });
      // Every message: acknowledged by the first connection's TCP (sent before the drop), or delivered to the second receiver.
      const sentToFirst = downAt()!.sent;
      await waitFor(() => fresh.frames.length === c.sent - sentToFirst, 30_000, `${c.sent - sentToFirst} frames at the second receiver (got ${fresh.frames.length})`);
      expect(fresh.deframeErrors).toEqual([]);
      const got = seqsOf(fresh);
      // The second receiver gets the newest messages, in order, ending with the last one made.
      expect(got).toEqual(Array.from({ length: got.length }, (_, i) => seq - got.length + i));
      expect(got.length).toBeGreaterThanOrEqual(50);
      // What the dropped connection held unacknowledged went again on the second one: nothing failed.
      expect(downAt()!.inFlight).toBe(0);
      expect(got.length).toBe(seq - sentToFirst);
      expect(c).toMatchObject({ failed: 0, sent: seq });
      expect(events.filter((e) => e.kind === 'failed')).toHaveLength(0);

      // The first receiver reads again: what the dropped connection's kernel took comes out, then its end.
      const held = deaf.sockets[0]!;
      const ended = new Promise<void>((r) => held.once('close', () => r()));
      held.resume();
      await ended;
      const old = seqsOf(deaf);
      expect(old).toEqual(Array.from({ length: old.length }, (_, i) => i));
      // Every message counted sent before the drop is there; what follows came out of the kernel's send
      // buffer after the drop, unacknowledged then: it went again too (at least once).
      expect(old.length).toBeGreaterThanOrEqual(sentToFirst);
      expect(got[0]).toBe(sentToFirst);
      expect(old.length).toBeLessThanOrEqual(seq);
    }, 90_000);
  }
});

describe('hep.collectors[].stall_timeout_s', () => {
  it('reaches the collector: a receiver that stops reading gets its connection made anew after that many seconds (before stallMs reports it)', async () => {
    const deaf = await startStreamSink();
    deaf.onConnection = (s) => s.pause();
    cleanups.push(() => deaf.close());
    const config = loadConfig({ env: {}, overrides: { 'hep.collectors': `tcp://127.0.0.1:${deaf.port}`, 'hep.collectors.0.stall_timeout_s': '1' } });
    config.metrics.enabled = false;
    expect(config.hep.collectors[0]!.stallTimeoutS).toBe(1);
    const outputs = openOutputs(config);
    cleanups.push(() => outputs.close(50));
    await waitFor(() => deaf.connections === 1, 30_000, 'connected');
    const env = { ipVersion: 4, srcIp: '10.0.0.1', srcPort: 4000, dstIp: '10.0.0.2', dstPort: 5000, tsMs: 1_700_000_000_000 };
    // 12 MB of reports, more than loopback's socket buffers take.
    for (let i = 0; i < 400; i++) outputs.sink.qos({ CORRELATION_ID: `call-${i}`, TYPE: 'PERIODIC', MOS: 4.1, PAD: 'p'.repeat(30_000) }, env, true, false);
    await waitFor(() => deaf.connections === 2, 30_000, 'a second connection');
    const d = outputs.destinations()[0]!;
    expect(d.lastError).toMatch(/taken nothing for \d+ s: connection dropped to reconnect/);
    expect(d.errors).toBeGreaterThanOrEqual(1);
  }, 60_000);
});

describe('a reload that changes stall_timeout_s', () => {
  it('makes the collector anew with it (the kept one would go on with the old value)', async () => {
    const rx = await startStreamSink();
    cleanups.push(() => rx.close());
    const config = loadConfig({ env: {}, overrides: { 'hep.collectors': `tcp://127.0.0.1:${rx.port}` } });
    config.metrics.enabled = false;
    const outputs = openOutputs(config);
    cleanups.push(() => outputs.close(50));
    const env = { ipVersion: 4, srcIp: '10.0.0.1', srcPort: 4000, dstIp: '10.0.0.2', dstPort: 5000, tsMs: 1_700_000_000_000 };
    outputs.sink.qos({ CORRELATION_ID: 'before', TYPE: 'PERIODIC', MOS: 4.1 }, env, true, false);
    await waitFor(() => rx.frames.length === 1, 30_000, 'the first report');
    const changed = structuredClone(config);
    changed.hep.collectors[0]!.stallTimeoutS = 5;
    await outputs.reload(changed, 1000);
    outputs.sink.qos({ CORRELATION_ID: 'after', TYPE: 'PERIODIC', MOS: 4.1 }, env, true, false);
    await waitFor(() => rx.frames.length === 2, 30_000, 'the second report');
    expect(rx.connections).toBe(2);
    expect(rx.frames.map((f) => decodeHep3Strict(f).correlationId)).toEqual(['before', 'after']);
  });
});

/** A network namespace of our own (root, unshare): where a connection can be blackholed without touching the host. */
function canUnshare(): boolean {
  try {
    execFileSync('unshare', ['-n', 'ip', 'rule', 'add', 'pref', '10', 'ipproto', 'tcp', 'sport', '1', 'blackhole'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('a blackholed HEP TCP connection', () => {
  it.skipIf(!canUnshare())('(own network namespace, an ip rule drops its packets) is dropped after stallTimeoutMs; what follows reaches a new connection, the blackholed reports first', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtpprobe-blackhole-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const child = path.join(dir, 'blackhole-child.mjs');
    await build({ entryPoints: [fileURLToPath(new URL('./fixtures/blackhole-child.ts', import.meta.url))], outfile: child, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'error' });
    const run = spawnSync('unshare', ['-n', process.execPath, child], { encoding: 'utf8', timeout: 120_000 });
    expect(run.stderr).toBe('');
    const r = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { made: number; got: number[][]; events: HepCollectorEvent[]; atDown: HepCollectorStats; final: HepCollectorStats };
    expect(r.got).toHaveLength(2);
    const [first, second] = r.got as [number[], number[]];
    // The first connection got what came before the blackhole, and nothing after.
    expect(first).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(r.events.find((e) => e.kind === 'down')?.reason).toMatch(/taken nothing for \d+ s: connection dropped to reconnect/);
    // The second gets the newest, in order, up to the last one made.
    expect(second).toEqual(Array.from({ length: second.length }, (_, i) => r.made - second.length + i));
    const c = r.final;
    expect(c.sent + c.failed + c.dropped).toBe(r.made);
    expect(c).toMatchObject({ dropped: 0, connectFailures: 1, connected: true });
    expect(second.length).toBe(c.sent - r.atDown.sent);
    // sent: acknowledged. What the blackholed connection's kernel took went unacknowledged: all of it went again.
    expect(r.atDown.sent).toBe(10);
    expect(c.failed).toBe(0);
    expect(second.length).toBe(r.made - 10);
  }, 150_000);
});

describe('a HEP TCP/TLS connection blackholed at a low report rate', () => {
  for (const transport of ['tcp', 'tls'] as const) {
    it.skipIf(!canUnshare())(`${transport}: (own network namespace, 50 reports/s, the send buffer far from full) is found stalled by its unacknowledged bytes; every report counted sent arrived, the rest are sent again on the next connection`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtpprobe-blackhole-lowrate-'));
      cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
      const child = path.join(dir, 'blackhole-lowrate-child.mjs');
      await build({ entryPoints: [fileURLToPath(new URL('./fixtures/blackhole-lowrate-child.ts', import.meta.url))], outfile: child, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'error' });
      const args = [process.execPath, child, transport];
      if (transport === 'tls') {
        const pki = selfSignedCert();
        cleanups.push(() => fs.rmSync(pki.dir, { recursive: true, force: true }));
        fs.writeFileSync(path.join(dir, 'cert.pem'), pki.cert);
        fs.writeFileSync(path.join(dir, 'key.pem'), pki.key);
        args.push(path.join(dir, 'cert.pem'), path.join(dir, 'key.pem'));
      }
      const run = spawnSync('unshare', ['-n', ...args], { encoding: 'utf8', timeout: 120_000 });
      expect(run.stderr).toBe('');
      const r = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { made: number; got: number[][]; events: HepCollectorEvent[]; final: HepCollectorStats };
      const c = r.final;
      const arrived = new Set(r.got.flat());
      expect(c.sent + c.failed + c.dropped).toBe(r.made);
      // "sent" is what the collector's TCP acknowledged: every one of them arrived.
      expect(arrived.size).toBeGreaterThanOrEqual(c.sent);
      expect(r.events.map((e) => e.kind)).toContain('stalled');
      expect(r.events.find((e) => e.kind === 'down')?.reason).toMatch(/taken nothing for \d+ s: connection dropped to reconnect/);
      // What the blackholed connection held unacknowledged went again, ahead of newer reports: nothing lost.
      expect(c).toMatchObject({ failed: 0, dropped: 0, sent: r.made, connected: true });
      expect(arrived.size).toBe(r.made);
      expect(r.got[0]!.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, i) => i));
      const second = r.got[1]!;
      expect(second).toEqual(Array.from({ length: second.length }, (_, i) => r.made - second.length + i));
    }, 150_000);
  }
});
