/**
 * A UDP collector given by name is resolved again every resolve_interval_s: HOMER behind a name that moves
 * (a container restarted, a failover) is followed, though UDP sends to the old address never fail. The
 * name is served by a real DNS server on loopback (written here with node:dgram) and resolved through
 * node's DNS client pointed at it: the probe's own path (dns.lookup) reads the host's resolver, which a
 * test cannot point elsewhere.
 */
import { afterEach, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import dns from 'node:dns';
import { decodeHep3Strict, HepProtoType, HepSender, type HepCollectorEvent, type HepSendInput } from '../../src/hep/index.js';
import { DEFAULT_UDP_RESOLVE_INTERVAL_MS } from '../../src/hep/collector.js';
import { loadConfig } from '../../src/ops/config.js';
import { collectorEventLogger } from '../../src/outbound/hep-output.js';
import { waitFor } from '../wait.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

function report(i: number): HepSendInput {
  return {
    ipFamily: 4, ipProto: 17, srcIp: '10.1.2.3', dstIp: '10.4.5.6', srcPort: 40000, dstPort: 20000, tsSec: 1_700_000_000 + i, tsUsec: 0,
    protoType: HepProtoType.QOS_REPORT, correlationId: `call-${i}@probe`, payload: JSON.stringify({ CORRELATION_ID: `call-${i}@probe`, SEQ: i }),
  };
}

/** A DNS server answering every A query with `answer.address`, or SERVFAIL while it is undefined. */
async function startDns(answer: { address: string | undefined }): Promise<{ port: number; queries: number }> {
  const s = dgram.createSocket('udp4');
  const state = { port: 0, queries: 0 };
  s.on('message', (q, from) => {
    state.queries++;
    let end = 12;
    while (q[end]! !== 0) end += q[end]! + 1;
    end += 5; // the root label, QTYPE, QCLASS
    const question = q.subarray(12, end);
    const ok = answer.address !== undefined;
    const head = Buffer.alloc(12);
    q.copy(head, 0, 0, 2); // id
    head.writeUInt16BE(ok ? 0x8180 : 0x8182, 2); // response, recursion available; rcode 0 or 2 (SERVFAIL)
    head.writeUInt16BE(1, 4);
    head.writeUInt16BE(ok ? 1 : 0, 6);
    const parts = [head, question];
    if (ok) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // the question's name
      rr.writeUInt16BE(1, 2); // A
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(0, 6); // TTL
      rr.writeUInt16BE(4, 10);
      answer.address!.split('.').forEach((b, i) => (rr[12 + i] = Number(b)));
      parts.push(rr);
    }
    s.send(Buffer.concat(parts), from.port, from.address);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  state.port = s.address().port;
  cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
  return state;
}

/** UDP receivers on 127.0.0.1 and 127.0.0.2, one port. */
async function twoReceivers(): Promise<{ port: number; got: Record<string, Buffer[]> }> {
  for (;;) {
    const got: Record<string, Buffer[]> = { '127.0.0.1': [], '127.0.0.2': [] };
    const a = dgram.createSocket('udp4');
    a.on('message', (m) => got['127.0.0.1']!.push(m));
    await new Promise<void>((r) => a.bind(0, '127.0.0.1', () => r()));
    const port = a.address().port;
    const b = dgram.createSocket('udp4');
    b.on('message', (m) => got['127.0.0.2']!.push(m));
    const bound = await new Promise<boolean>((r) => {
      b.once('error', () => r(false));
      b.bind(port, '127.0.0.2', () => r(true));
    });
    if (!bound) {
      a.close();
      b.close();
      continue; // the port is someone else's on 127.0.0.2
    }
    cleanups.push(() => new Promise<void>((r) => a.close(() => r())), () => new Promise<void>((r) => b.close(() => r())));
    return { port, got };
  }
}

describe('a UDP collector given by name', () => {
  it('is resolved again periodically: a move is followed and logged once; a failed resolution keeps the last address, counted', async () => {
    const answer: { address: string | undefined } = { address: '127.0.0.1' };
    const dnsServer = await startDns(answer);
    const resolver = new dns.promises.Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([`127.0.0.1:${dnsServer.port}`]);
    const lookup = async (host: string): Promise<string> => (await resolver.resolve4(host))[0]!;
    const rx = await twoReceivers();
    const events: HepCollectorEvent[] = [];
    const logged: string[] = [];
    const line = (level: string) => (_o: object, msg: string) => logged.push(`${level} ${msg}`);
    const logEvent = collectorEventLogger({ info: line('info'), warn: line('warn'), error: line('error') });
    const onEvent = (e: HepCollectorEvent) => {
      events.push(e);
      logEvent(e);
    };
    const sender = new HepSender({ captureId: 1, onEvent, collectors: [{ host: 'homer.test', port: rx.port, transport: 'udp', resolveIntervalMs: 100, lookup }] });
    cleanups.push(() => sender.close(100));
    const seqs = (ip: string) => rx.got[ip]!.map((p) => JSON.parse(decodeHep3Strict(p).payload.toString()).SEQ as number);

    sender.send(report(0));
    await waitFor(() => rx.got['127.0.0.1']!.length === 1, 30_000, 'the first report at the first address');

    answer.address = '127.0.0.2'; // the collector moved
    await waitFor(() => events.some((e) => e.kind === 'moved'), 30_000, 'the move noticed');
    expect(events.find((e) => e.kind === 'moved')!.reason).toBe('homer.test resolves to 127.0.0.2 (was 127.0.0.1): sending there');
    sender.send(report(1));
    await waitFor(() => rx.got['127.0.0.2']!.length === 1, 30_000, 'the next report at the new address');

    answer.address = undefined; // the name stops resolving
    const failuresBefore = sender.stats().collectors[0]!.connectFailures;
    await waitFor(() => events.filter((e) => e.kind === 'unresolved').length >= 3, 30_000, 'failed resolutions noticed');
    expect(events.find((e) => e.kind === 'unresolved')!.reason).toMatch(/^cannot resolve homer\.test: \S+; still sending to 127\.0\.0\.2$/);
    expect(sender.stats().collectors[0]!.connectFailures).toBeGreaterThan(failuresBefore);
    sender.send(report(2));
    await waitFor(() => rx.got['127.0.0.2']!.length === 2, 30_000, 'a report at the last good address');

    answer.address = '127.0.0.2'; // back, same address: nothing moves
    const queries = dnsServer.queries;
    await waitFor(() => dnsServer.queries >= queries + 3, 30_000, 'more resolutions');
    expect(seqs('127.0.0.1')).toEqual([0]);
    expect(seqs('127.0.0.2')).toEqual([1, 2]);
    expect(events.filter((e) => e.kind === 'moved')).toHaveLength(1);
    expect(events.filter((e) => e.kind === 'down')).toEqual([]);
    // The move logged once; the failures, 100 ms apart, once (at most one line per 10 s).
    expect(logged).toEqual(['warn HEP collector name resolves to another address: reports go there', 'warn HEP collector name does not resolve: reports go to its last address']);
    const c = sender.stats().collectors[0]!;
    expect({ sent: c.sent, failed: c.failed, dropped: c.dropped, connected: c.connected }).toEqual({ sent: 3, failed: 0, dropped: 0, connected: true });
  });
});

describe('hep.collectors[].resolve_interval_s', () => {
  it('defaults to the collector module default, takes 0 (never), refuses a negative value', () => {
    const at = (v?: string) => loadConfig({ env: {}, overrides: { 'hep.collectors': 'udp://homer.example:9060', ...(v === undefined ? {} : { 'hep.collectors.0.resolve_interval_s': v }) } });
    expect(at().hep.collectors[0]!.resolveIntervalS * 1000).toBe(DEFAULT_UDP_RESOLVE_INTERVAL_MS);
    expect(at('0').hep.collectors[0]!.resolveIntervalS).toBe(0);
    expect(() => at('-1')).toThrow(/resolve_interval_s/);
  });
});
