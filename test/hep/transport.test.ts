import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { decodeHep3Strict, HepProtoType, HepSender, type HepCollectorEvent, type HepCollectorStats, type HepSendInput } from '../../src/hep/index.js';
import { freePort, selfSignedCert, sleep, startStreamSink, startUdpSink } from './helpers.js';
import { waitFor } from '../wait.js';
import { hepJsDecode } from './hep-js.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function report(i: number, over: Partial<HepSendInput> = {}): HepSendInput {
  return {
    ipFamily: 4, ipProto: 17, srcIp: '10.1.2.3', dstIp: '10.4.5.6', srcPort: 40000 + i, dstPort: 20000,
    tsSec: 1_700_000_000 + i, tsUsec: i, protoType: HepProtoType.QOS_REPORT, correlationId: `call-${i}@probe`, mos: 4.12,
    payload: JSON.stringify({ CORRELATION_ID: `call-${i}@probe`, MOS: 4.12, SEQ: i }),
    ...over,
  };
}

/** Every packet accounted for exactly once. */
function balanced(s: HepCollectorStats, accepted: number): void {
  expect(s.sent + s.failed + s.dropped + s.queued + s.inFlight).toBe(accepted);
}

function checkSame(packet: Buffer, m: HepSendInput, captureId: number): void {
  const d = decodeHep3Strict(packet); // throws on anything heplify-server would drop
  expect(d).toMatchObject({
    srcIp: m.srcIp, dstIp: m.dstIp, srcPort: m.srcPort, dstPort: m.dstPort, tsSec: m.tsSec, tsUsec: m.tsUsec,
    protoType: m.protoType, captureId, correlationId: m.correlationId,
  });
  const h = hepJsDecode(packet);
  expect(h.rcinfo).toMatchObject({
    protocolFamily: 2, protocol: 17, srcIp: m.srcIp, dstIp: m.dstIp, srcPort: m.srcPort, dstPort: m.dstPort,
    timeSeconds: m.tsSec, timeUseconds: m.tsUsec, payloadType: m.protoType, captureId,
    hepNodeName: 'probe-a', capturePass: 'secret',
  });
  if (m.correlationId) expect(h.rcinfo.correlation_id).toBe(m.correlationId);
  expect(h.payload).toBe(m.payload);
}

describe('HepSender over real sockets', () => {
  it('delivers SIP, QoS and RTCP JSON to UDP, TCP and TLS collectors at once; hep-js decodes what arrived', async () => {
    const { cert, key, dir } = selfSignedCert();
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const udp = await startUdpSink();
    const tcp = await startStreamSink();
    const tlsSink = await startStreamSink({ tls: { cert, key } });
    cleanups.push(() => udp.close(), () => tcp.close(), () => tlsSink.close());
    const sender = new HepSender({
      captureId: 2001, authKey: 'secret', nodeName: 'probe-a',
      collectors: [
        { host: '127.0.0.1', port: udp.port, transport: 'udp' },
        { host: '127.0.0.1', port: tcp.port, transport: 'tcp' },
        { host: '127.0.0.1', port: tlsSink.port, transport: 'tls', tls: { ca: cert, servername: 'localhost', rejectUnauthorized: true } },
      ],
    });
    cleanups.push(() => sender.close(100));
    const msgs: HepSendInput[] = [
      report(0, { protoType: HepProtoType.SIP, correlationId: '', payload: 'OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n', mos: undefined }),
      report(1),
      report(2, { protoType: HepProtoType.RTCP_JSON, payload: '{"ssrc":1,"type":200,"report_count":0,"report_blocks":[]}', mos: undefined }),
    ];
    for (const m of msgs) expect(sender.send(m)).toBe(true);
    await waitFor(() => udp.packets.length === 3 && tcp.frames.length === 3 && tlsSink.frames.length === 3, 30_000, 'all packets');
    for (const got of [udp.packets, tcp.frames, tlsSink.frames]) {
      got.forEach((p, i) => checkSame(p, msgs[i]!, 2001));
    }
    expect(tcp.deframeErrors).toEqual([]);
    // TCP/TLS count sent what the collector's TCP acknowledged: read from the kernel within a second.
    await waitFor(() => sender.stats().collectors.every((c) => c.sent === 3), 30_000, 'every collector to count 3 sent');
    const st = sender.stats();
    expect(st.accepted).toBe(3);
    for (const c of st.collectors) {
      expect(c).toMatchObject({ sent: 3, failed: 0, dropped: 0, queued: 0, connected: true });
    }
    await sender.close(2000);
    expect(sender.stats().collectors.every((c) => !c.connected)).toBe(true);
  });

  it('TLS with a certificate the CA option does not vouch for: never connects, keeps retrying, counts nothing as sent', async () => {
    const server = selfSignedCert();
    const other = selfSignedCert();
    cleanups.push(() => fs.rmSync(server.dir, { recursive: true, force: true }), () => fs.rmSync(other.dir, { recursive: true, force: true }));
    const sink = await startStreamSink({ tls: { cert: server.cert, key: server.key } });
    cleanups.push(() => sink.close());
    const sender = new HepSender({
      captureId: 1, backoffInitialMs: 20, backoffMaxMs: 50,
      collectors: [{ host: '127.0.0.1', port: sink.port, transport: 'tls', tls: { ca: other.cert, servername: 'localhost' } }],
    });
    cleanups.push(() => sender.close(50));
    sender.send(report(1));
    await waitFor(() => sender.stats().collectors[0]!.reconnects >= 2);
    const c = sender.stats().collectors[0]!;
    expect(c).toMatchObject({ connected: false, sent: 0, queued: 1 });
    expect(c.lastError).toMatch(/certificate|self.signed/i);
    expect(sink.frames).toHaveLength(0);
  });

  it('refuses (and counts) a QoS report without correlation id; nothing reaches the collector', async () => {
    const udp = await startUdpSink();
    cleanups.push(() => udp.close());
    const sender = new HepSender({ captureId: 1, collectors: [{ host: '127.0.0.1', port: udp.port, transport: 'udp' }] });
    cleanups.push(() => sender.close(100));
    expect(sender.send(report(1, { correlationId: '' }))).toBe(false);
    expect(sender.send(report(2, { payload: 'x'.repeat(70_000) }))).toBe(false);
    expect(sender.send(report(3, { srcIp: 'not-an-ip' }))).toBe(false);
    expect(sender.send(report(4))).toBe(true);
    await waitFor(() => udp.packets.length === 1);
    await sleep(50);
    expect(udp.packets.length).toBe(1);
    expect(decodeHep3Strict(udp.packets[0]!).correlationId).toBe('call-4@probe');
    expect(sender.stats().refused).toEqual({ emptyCorrelationId: 1, tooBig: 1, invalid: 1 });
  });

  it('send() is a synchronous enqueue: no socket I/O happens inside it, the queue bound drops the oldest', async () => {
    const port = await freePort();
    const sender = new HepSender({ captureId: 1, collectors: [{ host: '127.0.0.1', port, transport: 'tcp', queueSize: 100 }] });
    cleanups.push(() => sender.close(50));
    const results: unknown[] = [];
    for (let i = 0; i < 1000; i++) results.push(sender.send(report(i)));
    expect(results.every((r) => r === true)).toBe(true); // booleans, not promises
    const c = sender.stats().collectors[0]!;
    expect(c).toMatchObject({ sent: 0, inFlight: 0, queued: 100, dropped: 900, connected: false });
    balanced(c, 1000);
  });

  it('collector down at start: queues, reconnects with backoff, then the queue flows when it comes up', async () => {
    const port = await freePort();
    const sender = new HepSender({
      captureId: 7, authKey: 'secret', nodeName: 'probe-a', backoffInitialMs: 40, backoffMaxMs: 200,
      collectors: [{ host: '127.0.0.1', port, transport: 'tcp', queueSize: 50 }],
    });
    cleanups.push(() => sender.close(100));
    const msgs = [0, 1, 2, 3, 4].map((i) => report(i));
    for (const m of msgs) sender.send(m);
    await waitFor(() => sender.stats().collectors[0]!.reconnects >= 2, 30_000, 'reconnect attempts');
    let c = sender.stats().collectors[0]!;
    expect(c).toMatchObject({ connected: false, queued: 5, sent: 0 });
    expect(c.lastError).toMatch(/ECONNREFUSED/);
    const sink = await startStreamSink({ port });
    cleanups.push(() => sink.close());
    await waitFor(() => sink.frames.length === 5, 30_000, 'queued packets after reconnect');
    sink.frames.forEach((f, i) => checkSame(f, msgs[i]!, 7));
    await waitFor(() => sender.stats().collectors[0]!.sent === 5, 30_000, '5 acknowledged');
    c = sender.stats().collectors[0]!;
    expect(c).toMatchObject({ connected: true, sent: 5, queued: 0, dropped: 0, failed: 0 });
  });

  it('UDP to a port nobody listens on: the refusal (ICMP unreachable) is counted failed and makes the collector down; the queue waits for the receiver and then flows', async () => {
    const port = await freePort();
    const events: HepCollectorEvent[] = [];
    const sender = new HepSender({ captureId: 1, onEvent: (e) => events.push(e), collectors: [{ host: '127.0.0.1', port, transport: 'udp' }] });
    cleanups.push(() => sender.close(100));
    for (let i = 0; i < 30; i++) {
      sender.send(report(i));
      await sleep(5);
    }
    await waitFor(() => events.some((e) => e.kind === 'down'), 30_000, 'the collector down');
    let c = sender.stats().collectors[0]!;
    expect(c.failed).toBeGreaterThan(0);
    expect(c.lastError).toMatch(/ECONNREFUSED|port unreachable/);
    expect(c.queued).toBeGreaterThan(0); // kept, not sent into nothing
    balanced(c, 30);
    // The receiver comes back: one datagram goes first, then the rest; the refused ones are all that is lost.
    const udp = await startUdpSink(port);
    cleanups.push(() => udp.close());
    await waitFor(() => {
      const s = sender.stats().collectors[0]!;
      return s.queued === 0 && s.inFlight === 0;
    }, 30_000, 'the queue delivered');
    await waitFor(() => udp.packets.length === sender.stats().collectors[0]!.sent, 10_000, 'every datagram counted sent received');
    c = sender.stats().collectors[0]!;
    expect(udp.packets.length + c.failed).toBe(30);
    expect(c.dropped).toBe(0);
    expect(events.at(-1)?.kind).toBe('up');
    balanced(c, 30);
  });

  it('slow receiver: backpressure stops writes until drain, the bounded queue drops, then everything left flows', async () => {
    const sink = await startStreamSink();
    cleanups.push(() => sink.close());
    sink.onConnection = (s) => s.pause(); // reads nothing: the kernel buffers fill up
    const sender = new HepSender({ captureId: 1, collectors: [{ host: '127.0.0.1', port: sink.port, transport: 'tcp', queueSize: 8 }] });
    cleanups.push(() => sender.close(100));
    await waitFor(() => sender.stats().collectors[0]!.connected);
    const big = 'x'.repeat(60_000);
    let accepted = 0;
    let maxInNode = 0;
    for (let round = 0; round < 60; round++) {
      for (let i = 0; i < 10; i++) if (sender.send(report(accepted, { payload: big }))) accepted++;
      await sleep(2);
      const s = sender.stats().collectors[0]!;
      maxInNode = Math.max(maxInNode, s.notTaken - s.queued);
    }
    const c = sender.stats().collectors[0]!;
    expect(accepted).toBe(600);
    expect(c.dropped).toBeGreaterThan(0); // ~36 MB offered, loopback socket buffers hold a few MB
    // write() returned false and we waited for 'drain': only the packet that crossed the high-water mark
    // (plus at most one more accepted before it) sits in Node's buffer, never the backlog.
    expect(maxInNode).toBeLessThanOrEqual(2);
    balanced(c, 600);
    sink.sockets[0]!.resume();
    await waitFor(() => {
      const s = sender.stats().collectors[0]!;
      return s.queued === 0 && s.inFlight === 0;
    }, 20_000, 'drain after resume');
    const end = sender.stats().collectors[0]!;
    await waitFor(() => sink.frames.length === end.sent, 30_000, 'receiver got every sent packet');
    expect(end.sent + end.dropped).toBe(600);
    expect(sink.deframeErrors).toEqual([]);
    for (const f of sink.frames) expect(decodeHep3Strict(f).payload.length).toBe(big.length);
  });

  it('flapping TCP collector: reconnects each time, frames stay intact, traffic resumes once stable', async () => {
    const sink = await startStreamSink();
    cleanups.push(() => sink.close());
    // The first three connections are killed right after their first frame.
    sink.onFrame = (s) => {
      if (sink.connections <= 3) s.destroy();
    };
    const sender = new HepSender({
      captureId: 1, backoffInitialMs: 20, backoffMaxMs: 100,
      collectors: [{ host: '127.0.0.1', port: sink.port, transport: 'tcp' }],
    });
    cleanups.push(() => sender.close(100));
    let i = 0;
    while (sink.connections < 4 && i < 2000) {
      sender.send(report(i++));
      await sleep(5);
    }
    expect(sink.connections).toBe(4);
    await waitFor(() => sender.stats().collectors[0]!.connected);
    const tail = [0, 1, 2, 3, 4].map((k) => report(10_000 + k));
    for (const m of tail) sender.send(m);
    await waitFor(() => tail.every((m) => sink.frames.some((f) => decodeHep3Strict(f).correlationId === m.correlationId)));
    const c = sender.stats().collectors[0]!;
    expect(c.reconnects).toBeGreaterThanOrEqual(3);
    expect(sink.deframeErrors).toEqual([]);
    for (const f of sink.frames) decodeHep3Strict(f);
    balanced(c, i + tail.length);
  });

  it('a collector that resets every connection it accepts (a balancer without backends) is not "up" at each connect: no up event, the backoff grows; up once a connection holds', async () => {
    const sink = await startStreamSink();
    cleanups.push(() => sink.close());
    let resetting = true;
    const acceptedAt: number[] = [];
    sink.onConnection = () => void acceptedAt.push(performance.now());
    // Reset once the first bytes arrive: the sender has surely seen its connection made.
    sink.onFrame = (s) => {
      if (resetting) s.resetAndDestroy();
    };
    const events: HepCollectorEvent[] = [];
    const sender = new HepSender({
      captureId: 1, backoffInitialMs: 50, backoffMaxMs: 10_000, onEvent: (e) => events.push(e),
      collectors: [{ host: '127.0.0.1', port: sink.port, transport: 'tcp' }],
    });
    cleanups.push(() => sender.close(100));
    sender.send(report(0));
    await waitFor(() => acceptedAt.length >= 6, 20_000);
    expect(events.filter((e) => e.kind === 'up')).toEqual([]);
    expect(events.filter((e) => e.kind === 'down').length).toBeGreaterThanOrEqual(5);
    // The 5th retry waits at least half of 50 ms x 2^4.
    expect(acceptedAt[5]! - acceptedAt[4]!).toBeGreaterThanOrEqual(400);
    resetting = false;
    await waitFor(() => events.some((e) => e.kind === 'up'), 30_000);
    await waitFor(() => sink.frames.some((f) => decodeHep3Strict(f).correlationId === 'call-0@probe'), 30_000);
  });

  it('close(deadline) drains a live collector completely and gives up on a dead one, counting leftovers as dropped', async () => {
    const sink = await startStreamSink();
    cleanups.push(() => sink.close());
    const dead = await freePort();
    const sender = new HepSender({
      captureId: 1, backoffInitialMs: 20, backoffMaxMs: 50,
      collectors: [
        { host: '127.0.0.1', port: sink.port, transport: 'tcp' },
        { host: '127.0.0.1', port: dead, transport: 'tcp' },
      ],
    });
    for (let i = 0; i < 20; i++) sender.send(report(i));
    const t0 = Date.now();
    await sender.close(300);
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeLessThan(5000); // gave up instead of retrying forever (a bound, not a speed check)
    const [live, down] = sender.stats().collectors;
    expect(live).toMatchObject({ sent: 20, queued: 0, dropped: 0, connected: false });
    expect(down).toMatchObject({ sent: 0, queued: 0, dropped: 20, connected: false });
    await waitFor(() => sink.frames.length === 20);
    expect(sender.send(report(99))).toBe(false);
    expect(sender.stats().collectors[0]!.dropped).toBe(1); // after close: counted, not sent
  });

  it('close() ending a TCP or TLS connection itself is no outage: no "down" event, no connect failure counted', async () => {
    const { cert, key, dir } = selfSignedCert();
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    for (const transport of ['tcp', 'tls'] as const) {
      const sink = await startStreamSink(transport === 'tls' ? { tls: { cert, key } } : {});
      cleanups.push(() => sink.close());
      const events: HepCollectorEvent[] = [];
      const sender = new HepSender({
        captureId: 1, onEvent: (e) => events.push(e),
        collectors: [{ host: '127.0.0.1', port: sink.port, transport, tls: { ca: cert } }],
      });
      for (let i = 0; i < 5; i++) sender.send(report(i));
      await sender.close(5000);
      await waitFor(() => sink.frames.length === 5);
      expect(events, transport).toEqual([]);
      expect(sender.stats().collectors[0], transport).toMatchObject({ sent: 5, dropped: 0, connectFailures: 0, reconnects: 0 });
    }
  });

  it('close() tries a collector that is waiting out its backoff at once: one back up by then gets the queue within the deadline', async () => {
    const port = await freePort();
    // Backoff of 10 to 20 s after each failure: longer than the 5 s deadline below.
    const sender = new HepSender({ captureId: 1, backoffInitialMs: 20_000, backoffMaxMs: 20_000, collectors: [{ host: '127.0.0.1', port, transport: 'tcp' }] });
    for (let i = 0; i < 5; i++) sender.send(report(i));
    await waitFor(() => sender.stats().collectors[0]!.connectFailures >= 1, 30_000, 'first connect refused');
    const sink = await startStreamSink({ port });
    cleanups.push(() => sink.close());
    await sender.close(5000);
    expect(sender.stats().collectors[0]).toMatchObject({ sent: 5, dropped: 0, queued: 0 });
    await waitFor(() => sink.frames.length === 5);
  });
});
