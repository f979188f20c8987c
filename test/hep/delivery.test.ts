/**
 * Delivery that says when it fails: unresolvable names, refused connections, rejected certificates and
 * full queues are counted, reported as events (logged rate-limited by the HEP output), never thrown; UDP
 * bursts are paced; a replay-style producer that waits for room() loses nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import path from 'node:path';
import { HepProtoType, HepSender, decodeHep3Strict, type HepCollectorEvent, type HepCollectorStats, type HepSendInput } from '../../src/hep/index.js';
import { defaultConfig, type ProbeConfig } from '../../src/ops/config.js';
import { ExitCode } from '../../src/ops/exit-codes.js';
import { HepOutput, collectorEventLogger } from '../../src/outbound/hep-output.js';
import type { DestinationStats } from '../../src/outbound/index.js';
import { openOutputs } from '../../src/pipeline/index.js';
import { freePort, selfSignedCert, startStreamSink, startUdpSink } from './helpers.js';
import { until, waitFor } from '../wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function report(i: number): HepSendInput {
  return {
    ipFamily: 4, ipProto: 17, srcIp: '10.1.2.3', dstIp: '10.4.5.6', srcPort: 40000, dstPort: 20000, tsSec: 1_700_000_000, tsUsec: i,
    protoType: HepProtoType.MOS_SHORT_REPORT, correlationId: `call-${i}@probe`, payload: JSON.stringify({ SEQ: i, PAD: 'p'.repeat(900) }),
  };
}

function collect(): { events: HepCollectorEvent[]; onEvent: (e: HepCollectorEvent) => void } {
  const events: HepCollectorEvent[] = [];
  return { events, onEvent: (e) => events.push(e) };
}

describe('HEP delivery failures', () => {
  it('an unresolvable collector name: no crash, "down" with the reason, retried, reports dropped only at close', async () => {
    const { events, onEvent } = collect();
    for (const transport of ['udp', 'tcp', 'tls'] as const) {
      const sender = new HepSender({ captureId: 1, backoffInitialMs: 20, backoffMaxMs: 40, onEvent, collectors: [{ host: 'no-such-host.invalid', port: 9060, transport }] });
      for (let i = 0; i < 5; i++) sender.send(report(i));
      await waitFor(() => sender.stats().collectors[0]!.connectFailures >= 2, 30_000, `${transport} retries`);
      const c = sender.stats().collectors[0]!;
      expect(c).toMatchObject({ connected: false, queued: 5, sent: 0 });
      expect(c.lastError).toMatch(/cannot resolve no-such-host\.invalid: (ENOTFOUND|EAI_AGAIN)/);
      await sender.close(50);
      expect(sender.stats().collectors[0]).toMatchObject({ dropped: 5, queued: 0 });
    }
    expect(events.filter((e) => e.kind === 'down').length).toBeGreaterThanOrEqual(6);
    expect(events[0]).toMatchObject({ collector: 'udp://no-such-host.invalid:9060', kind: 'down' });
  });

  it('a refused TCP connection and a rejected TLS certificate are logged with collector and reason, rate-limited, and counted', async () => {
    const { cert, key, dir } = selfSignedCert();
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const tlsSink = await startStreamSink({ tls: { cert, key } });
    cleanups.push(() => tlsSink.close());
    const refused = await freePort();
    const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
    const log = {
      warn: (obj: object, msg: string) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
      error: (obj: object, msg: string) => lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg }),
      info: (obj: object, msg: string) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
    };
    const sender = new HepSender({
      captureId: 1, backoffInitialMs: 10, backoffMaxMs: 20, onEvent: collectorEventLogger(log),
      collectors: [
        { host: '127.0.0.1', port: refused, transport: 'tcp' },
        // No CA given: the self-signed certificate does not verify.
        { host: '127.0.0.1', port: tlsSink.port, transport: 'tls' },
      ],
    });
    cleanups.push(() => sender.close(50));
    await waitFor(() => sender.stats().collectors.every((c) => c.connectFailures >= 5), 30_000, 'repeated failures');
    const [tcp, tls] = sender.stats().collectors;
    expect(tcp!.lastError).toMatch(/ECONNREFUSED/);
    expect(tls!.lastError).toMatch(/TLS: .*(self-signed|self signed|certificate)/i);
    const warns = lines.filter((l) => l.level === 'warn');
    // One line per collector within the rate-limit window, naming it and the reason.
    expect(warns.map((l) => l.obj.collector).sort()).toEqual([`tcp://127.0.0.1:${refused}`, `tls://127.0.0.1:${tlsSink.port}`]);
    expect(String(warns.find((l) => String(l.obj.collector).startsWith('tls'))!.obj.reason)).toMatch(/certificate/i);
    expect(tlsSink.frames).toEqual([]);
  });

  it('TLS files that cannot be used (missing, not PEM) refuse the output at open with a usage error naming the setting; a reload to them keeps the running output', async () => {
    const { cert, key, dir } = selfSignedCert();
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const tlsSink = await startStreamSink({ tls: { cert, key } });
    cleanups.push(() => tlsSink.close());
    const rx = await startUdpSink();
    cleanups.push(() => rx.close());
    const notPem = path.join(dir, 'not-pem.txt');
    fs.writeFileSync(notPem, 'not a certificate\n');
    const config = (c: Partial<ProbeConfig['hep']['collectors'][number]>): ProbeConfig => {
      const cfg = defaultConfig();
      cfg.metrics.enabled = false;
      const base = cfg.hep.collectors[0]!;
      cfg.hep.collectors = [{ ...base, host: '127.0.0.1', ...c, tls: { ...base.tls, ...c.tls } }];
      return cfg;
    };
    const badCert = config({ port: tlsSink.port, transport: 'tls', tls: { ca: '', cert: notPem, key: notPem, servername: '', rejectUnauthorized: false } });
    const missingCa = config({ port: tlsSink.port, transport: 'tls', tls: { ca: path.join(dir, 'missing.pem'), cert: '', key: '', servername: '', rejectUnauthorized: true } });
    for (const [cfg, names] of [[badCert, /hep\.collectors.*tls.*certificate, key or CA/], [missingCa, /hep\.collectors\[0\]\.tls\.ca: cannot read .*missing\.pem/]] as const) {
      let err: (Error & { exitCode?: number }) | undefined;
      try {
        openOutputs(cfg);
      } catch (e) {
        err = e as Error & { exitCode?: number };
      }
      expect(err?.message).toMatch(names);
      expect(err?.exitCode).toBe(ExitCode.USAGE);
    }

    const lines: string[] = [];
    const log = { warn: () => {}, info: () => {}, error: (_obj: object, msg: string) => void lines.push(msg) };
    const outputs = openOutputs(config({ port: rx.port, transport: 'udp' }), { log });
    await outputs.reload(badCert, 1000);
    expect(lines.filter((m) => m.startsWith('output could not be reopened'))).toHaveLength(1);
    const env = { ipVersion: 4, srcIp: '10.0.0.1', srcPort: 4000, dstIp: '10.0.0.2', dstPort: 5000, tsMs: 1_700_000_000_000 };
    outputs.sink.qos({ CORRELATION_ID: 'kept', TYPE: 'PERIODIC', MOS: 4.1 }, env, true, false);
    expect(await until(() => rx.packets.length === 1)).toBe(true);
    await outputs.close(1000);
    expect(decodeHep3Strict(rx.packets[0]!).correlationId).toBe('kept');
    expect(tlsSink.connections).toBe(0);
  });

  it('a collector that accepts the connection but reads nothing: room() stops waiting for it, its queue drops the oldest (counted), a replay-style producer is never held for good', async () => {
    const held: net.Socket[] = [];
    const deaf = net.createServer((sock) => {
      sock.pause(); // takes the connection, never reads: the kernel buffers fill, then nothing moves
      sock.on('error', () => {});
      held.push(sock);
    });
    await new Promise<void>((r) => deaf.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => (held.forEach((x) => x.destroy()), deaf.close(() => r()))));
    const { events, onEvent } = collect();
    const sender = new HepSender({ captureId: 1, onEvent, stallMs: 300, collectors: [{ host: '127.0.0.1', port: (deaf.address() as net.AddressInfo).port, transport: 'tcp', queueSize: 100 }] });
    cleanups.push(() => sender.close(50));
    await waitFor(() => sender.stats().collectors[0]!.connected, 30_000, 'connected');
    const pad = 'p'.repeat(60_000);
    const n = 400; // 24 MB: more than loopback's socket buffers take
    for (let i = 0; i < n; i++) {
      const room = sender.room();
      if (room !== null) await room;
      sender.send({ ...report(i), payload: JSON.stringify({ SEQ: i, PAD: pad }) });
    }
    const c = sender.stats().collectors[0]!;
    expect(c.dropped).toBeGreaterThan(0);
    expect(c.sent + c.failed + c.dropped + c.queued + c.inFlight).toBe(n);
    expect(events.filter((e) => e.kind === 'dropped').length).toBe(c.dropped);
  }, 60_000);

  it('a collector that stops reading while a live run sends (nobody waits for room()): said within stallMs (logged, not up: /healthz degraded), and said again when it reads again', async () => {
    const held: net.Socket[] = [];
    let drained = 0;
    const deaf = net.createServer((sock) => {
      sock.pause(); // takes the connection, never reads: the kernel buffers fill, then nothing moves
      sock.on('error', () => {});
      sock.on('data', (b: Buffer) => (drained += b.length));
      held.push(sock);
    });
    await new Promise<void>((r) => deaf.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => (held.forEach((x) => x.destroy()), deaf.close(() => r()))));
    const name = `tcp://127.0.0.1:${(deaf.address() as net.AddressInfo).port}`;
    const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
    const log = {
      warn: (obj: object, msg: string) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
      error: (obj: object, msg: string) => lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg }),
      info: (obj: object, msg: string) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
    };
    const { events, onEvent } = collect();
    const logEvent = collectorEventLogger(log);
    // What the collector and the output said at the first stall (the kernel may take more later, which ends it).
    let atStall: { collector: HepCollectorStats; dest: DestinationStats } | undefined;
    const sender: HepSender = new HepSender({
      captureId: 1, stallMs: 300,
      onEvent: (e) => {
        onEvent(e);
        logEvent(e);
        if (e.kind === 'stalled') atStall ??= { collector: sender.stats().collectors[0]!, dest: output.stats()[0]! };
      },
      collectors: [{ host: '127.0.0.1', port: (deaf.address() as net.AddressInfo).port, transport: 'tcp', queueSize: 1000, name }],
    });
    const output = new HepOutput({ sender, qosHepType: 35, sendRtcp: true, sendSip: true });
    cleanups.push(() => sender.close(50));
    await waitFor(() => sender.stats().collectors[0]!.connected, 30_000, 'connected');
    const pad = 'p'.repeat(60_000);
    // 24 MB, more than loopback's socket buffers take, sent as a live run sends: without waiting for room().
    for (let i = 0; i < 400; i++) sender.send({ ...report(i), payload: JSON.stringify({ SEQ: i, PAD: pad }) });
    await waitFor(() => atStall !== undefined, 30_000, 'a stalled event');
    expect(atStall!.collector).toMatchObject({ connected: true, stalled: true, dropped: 0 });
    expect(atStall!.dest).toMatchObject({ name, up: false });
    expect(atStall!.dest.lastError).toMatch(/taken nothing for \d+ s/);
    const warned = lines.filter((l) => l.level === 'warn' && l.obj.collector === name);
    expect(warned[0]?.msg).toMatch(/^HEP collector stalled/);

    for (const s of held) s.resume();
    await waitFor(() => !sender.stats().collectors[0]!.stalled, 30_000, 'taking data again');
    expect(output.stats()[0]).toMatchObject({ up: true });
    await waitFor(() => sender.stats().collectors[0]!.sent === 400, 30_000, 'everything delivered');
    // Each stall is followed by its recovery (a loaded host may pause the reader past stallMs again).
    const told = events.filter((e) => e.kind === 'stalled' || e.kind === 'up').map((e) => e.kind);
    expect(told.length % 2).toBe(0);
    expect(told.every((k, i) => k === (i % 2 === 0 ? 'stalled' : 'up'))).toBe(true);
    expect(lines.find((l) => l.level === 'info' && l.obj.collector === name)?.msg).toBe('HEP collector reachable again');
    expect(output.stats()[0]).toMatchObject({ up: true });
    expect(drained).toBeGreaterThan(0);
  }, 60_000);

  it('a full queue reports "dropped" events; counters stay balanced', async () => {
    const { events, onEvent } = collect();
    const port = await freePort();
    const sender = new HepSender({ captureId: 1, onEvent, backoffInitialMs: 1000, collectors: [{ host: '127.0.0.1', port, transport: 'tcp', queueSize: 10 }] });
    cleanups.push(() => sender.close(10));
    for (let i = 0; i < 25; i++) sender.send(report(i));
    const c = sender.stats().collectors[0]!;
    expect(c.dropped).toBe(15);
    expect(events.filter((e) => e.kind === 'dropped')).toHaveLength(15);
    expect(c.sent + c.failed + c.dropped + c.queued + c.inFlight).toBe(25);
  });

  it('UDP bursts are paced (10,000/s by default) and a producer waiting for room() loses nothing', async () => {
    // The receiver is another socket in this process with a large buffer: what it counts is what arrived.
    const rx = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
    let got = 0;
    let bad = 0;
    rx.on('message', (m) => {
      try {
        decodeHep3Strict(m);
        got++;
      } catch {
        bad++;
      }
    });
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => rx.close(() => r())));
    const sender = new HepSender({ captureId: 1, collectors: [{ host: '127.0.0.1', port: rx.address().port, transport: 'udp', queueSize: 2000 }] });
    await waitFor(() => sender.stats().collectors[0]!.connected);
    const total = 12_000;
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      sender.send(report(i));
      // As the replay does between windows: wait while the queue is over half full.
      if (i % 500 === 499) {
        const room = sender.room();
        if (room) await room;
      }
    }
    await sender.close(30_000);
    const elapsedS = (performance.now() - t0) / 1000;
    const c = sender.stats().collectors[0]!;
    expect(c).toMatchObject({ sent: total, dropped: 0, failed: 0 });
    await waitFor(() => got === total, 30_000, `receiver got ${got} of ${total}`);
    expect(bad).toBe(0);
    // 12,000 datagrams at 10,000/s with a 64-datagram burst take at least ~1.19 s.
    expect(elapsedS).toBeGreaterThan(1.1);
  });
});
