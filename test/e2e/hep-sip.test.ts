/**
 * SIP to HOMER as HEP type 1: every SIP message the probe decodes leaves once, with its capture time, its
 * original (inner) addresses and the transport it came over, without a correlation id (as heplify sends
 * SIP): UDP over IPv4 and IPv6, TCP split across segments and two messages in one segment, reassembled
 * IPv4 fragments, inside VXLAN. A mirror-port duplicate is sent once (and counted so in the run summary), a retransmission again;
 * method and address filters and the off switch hold. Replayed through runReplay (the CLI's path) to a real UDP socket.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import fs from 'node:fs';
import { Writable } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import { decodeHep3Strict, type HepDecoded } from '../../src/hep/index.js';
import { defaultConfig, type ProbeConfig } from '../../src/ops/config.js';
import { ExitCode } from '../../src/ops/exit-codes.js';
import { runReplay } from '../../src/probe.js';
import { LiveCallPageOutput, OutboundSink } from '../../src/outbound/index.js';
import { EtherType, ethernet, ipv4Fragments, sdpBody, sipRequest, sipResponse, tcpFrame, text, udp, udpFrame, vxlan } from '../../src/gen/index.js';
import { pcapOf } from '../sip/helpers.js';
import { startUdpSink } from '../hep/helpers.js';
import { until } from '../wait.js';
import { replayToUdp, sipCallId } from './hep-helpers.js';

const T0 = 1_765_000_000_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtpprobe-hep-sip-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const sdp = (ip: string, port: number) => sdpBody({ ip, media: [{ port, formats: [8] }] });
const invite = (callId: string, ip: string, port: number, pad = '') =>
  sipRequest('INVITE', 'sip:bob@example.com', { callId, fromTag: 'f1', cseq: 1, body: sdp(ip, port), headers: pad ? [['X-Pad', pad]] : [] });
const ok = (callId: string, ip: string, port: number) => sipResponse(200, { callId, fromTag: 'f1', toTag: 't1', cseq: 1, cseqMethod: 'INVITE', body: sdp(ip, port) });

interface Want {
  t: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  proto: number;
  callId: string;
  msg: string;
}

/** The capture, and every SIP message HOMER should get from it, in capture order. */
function build(): { file: string; want: Want[] } {
  const f: Array<[number, Uint8Array]> = [];
  const want: Want[] = [];
  const udpMsg = (t: number, src: string, sport: number, dst: string, dport: number, callId: string, msg: string, expect = true) => {
    f.push([T0 + t, udpFrame(src, sport, dst, dport, text(msg))]);
    if (expect) want.push({ t: T0 + t, src, sport, dst, dport, proto: 17, callId, msg });
  };
  // UDP/IPv4, then the same datagram again 1 ms later (a SPAN copy: sent once) and 600 ms later (a retransmission: sent).
  const i1 = invite('s1@probe', '10.1.0.1', 4000);
  udpMsg(0, '10.1.0.1', 5060, '10.2.0.1', 5060, 's1@probe', i1);
  udpMsg(1, '10.1.0.1', 5060, '10.2.0.1', 5060, 's1@probe', i1, false);
  udpMsg(600, '10.1.0.1', 5060, '10.2.0.1', 5060, 's1@probe', i1);
  udpMsg(700, '10.2.0.1', 5060, '10.1.0.1', 5060, 's1@probe', ok('s1@probe', '10.2.0.1', 6000));
  // TCP: an INVITE split over two segments, then a 200 OK and a 180 in one segment.
  const i2 = text(invite('s2@probe', '10.3.0.1', 5000));
  f.push([T0 + 1000, tcpFrame('10.3.0.1', 40000, '10.4.0.1', 5060, 1, i2.subarray(0, 70))]);
  f.push([T0 + 1001, tcpFrame('10.3.0.1', 40000, '10.4.0.1', 5060, 71, i2.subarray(70))]);
  want.push({ t: T0 + 1001, src: '10.3.0.1', sport: 40000, dst: '10.4.0.1', dport: 5060, proto: 6, callId: 's2@probe', msg: Buffer.from(i2).toString() });
  const o2 = ok('s2@probe', '10.4.0.1', 7000);
  const r3 = sipResponse(180, { callId: 's3@probe', fromTag: 'x', toTag: 'y', cseq: 1, cseqMethod: 'INVITE' });
  f.push([T0 + 1010, tcpFrame('10.4.0.1', 5060, '10.3.0.1', 40000, 1, text(o2 + r3))]);
  want.push({ t: T0 + 1010, src: '10.4.0.1', sport: 5060, dst: '10.3.0.1', dport: 40000, proto: 6, callId: 's2@probe', msg: o2 });
  want.push({ t: T0 + 1010, src: '10.4.0.1', sport: 5060, dst: '10.3.0.1', dport: 40000, proto: 6, callId: 's3@probe', msg: r3 });
  // IPv6.
  udpMsg(2000, '2001:db8::1', 5060, '2001:db8::2', 5060, 's4@probe', invite('s4@probe', '2001:db8::1', 8000));
  // An INVITE of ~3 KB in IPv4 fragments: one message, at the time of the fragment that completed it.
  const i5 = invite('s5@probe', '10.5.0.1', 8200, 'p'.repeat(2500));
  const frags = ipv4Fragments('10.5.0.1', '10.6.0.1', 17, udp(5060, 5060, text(i5)), 1200, { id: 77 });
  frags.forEach((p, k) => f.push([T0 + 3000 + k, ethernet(p, EtherType.IPV4)]));
  want.push({ t: T0 + 3000 + frags.length - 1, src: '10.5.0.1', sport: 5060, dst: '10.6.0.1', dport: 5060, proto: 17, callId: 's5@probe', msg: i5 });
  // Inside VXLAN: the inner addresses are the message's.
  const i6 = invite('s6@probe', '10.7.0.1', 9000);
  f.push([T0 + 4000, udpFrame('172.16.0.1', 40001, '172.16.0.2', 4789, vxlan(udpFrame('10.7.0.1', 5060, '10.8.0.1', 5060, text(i6))))]);
  want.push({ t: T0 + 4000, src: '10.7.0.1', sport: 5060, dst: '10.8.0.1', dport: 5060, proto: 17, callId: 's6@probe', msg: i6 });
  // No call: an OPTIONS ping and a REGISTER from a load balancer's range (what the filters are for).
  udpMsg(5000, '10.9.9.9', 5060, '10.1.0.1', 5060, 'opt@probe', sipRequest('OPTIONS', 'sip:10.1.0.1', { callId: 'opt@probe', fromTag: 'o', cseq: 9 }));
  udpMsg(5001, '192.0.2.50', 5060, '10.1.0.1', 5060, 'reg@probe', sipRequest('REGISTER', 'sip:example.com', { callId: 'reg@probe', fromTag: 'r', cseq: 3 }));
  const file = path.join(dir, 'sip.pcap');
  fs.writeFileSync(file, pcapOf(f));
  return { file, want };
}


const { file, want } = build();
const view = (d: HepDecoded) => ({
  t: d.tsSec * 1000 + d.tsUsec / 1000, src: d.srcIp, sport: d.srcPort, dst: d.dstIp, dport: d.dstPort, proto: d.ipProto, callId: sipCallId(d), msg: d.payload.toString(),
});

const sipOnly = async (f: string, edit?: (c: ProbeConfig) => void) => (await replayToUdp(f, edit)).filter((d) => d.protoType === 1);

describe('SIP to HOMER as HEP type 1', () => {
  it('every decoded SIP message once (UDP v4/v6, TCP, fragments, VXLAN), with time, original addresses, transport and Call-ID', async () => {
    expect((await sipOnly(file)).map(view)).toEqual(want);
  });

  it('filters: methods (with their responses) and address prefixes are left out', async () => {
    const got = await sipOnly(file, (c) => {
      c.hep.sip.excludeMethods = ['OPTIONS'];
      c.hep.sip.excludeAddresses = ['192.0.2.0/24', '2001:db8::/32'];
    });
    expect(got.map(sipCallId)).toEqual(want.filter((w) => !['opt@probe', 'reg@probe', 's4@probe'].includes(w.callId)).map((w) => w.callId));
  });

  it('duplicate_window_ms 0 sends every copy; hep.sip.enabled false sends no SIP (another agent does)', async () => {
    expect((await sipOnly(file, (c) => (c.hep.sip.duplicateWindowMs = 0))).length).toBe(want.length + 1);
    expect(await sipOnly(file, (c) => (c.hep.sip.enabled = false))).toEqual([]);
  });

  it('the run summary counts the SIP sent, each message once as HEP sends it, and the mirror-port copies apart', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) }));
    const summary = () => (lines.map((l) => JSON.parse(l) as { msg: string; reports?: Record<string, number> }).find((l) => l.msg === 'run summary')!).reports;
    const sent = (await replayToUdp(file, () => {}, log)).filter((d) => d.protoType === 1);
    expect(summary()).toMatchObject({ sipSent: sent.length, sipDuplicates: 1 });
    lines.length = 0;
    const every = (await replayToUdp(file, (c) => (c.hep.sip.duplicateWindowMs = 0), log)).filter((d) => d.protoType === 1);
    expect(summary()).toMatchObject({ sipSent: every.length, sipDuplicates: 0 });
  });

  it('a mirror-port copy reaches the call reports once too (the live page), every copy with the window 0', () => {
    const bytes = text(invite('page@probe', '10.7.0.1', 8300));
    const env = { ipVersion: 4, srcIp: '10.7.0.1', srcPort: 5060, dstIp: '10.7.0.2', dstPort: 5060, tsMs: T0 };
    for (const [windowMs, messages] of [[100, 1], [0, 2]] as const) {
      const page = new LiveCallPageOutput(1, '');
      const sink = new OutboundSink([page], {}, windowMs);
      sink.sip(bytes, env, 'page@probe', 'INVITE', 0);
      sink.sip(bytes, { ...env, tsMs: T0 + 0.03 }, 'page@probe', 'INVITE', 0);
      const calls = page.snapshot().calls;
      expect(calls).toHaveLength(1);
      expect(calls[0]![10]).toHaveLength(messages);
    }
  });

  it('two different messages on the same addresses within the duplicate window are both sent, whatever their content (no fingerprint collision takes one for a copy)', async () => {
    // Two OPTIONS pings of one length that differ in branch and Call-ID, 10 ms apart between one pair of
    // addresses (a trunk pinged often). Found by a birthday search among 63,000 such pings: they collide in
    // 32-bit FNV-1a, as two messages of one length do by chance once in 4.3 billion pairs.
    const ping = (n: number) =>
      `OPTIONS sip:gw@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK${n.toString(36).padStart(8, '0')}\r\nFrom: <sip:probe@10.0.0.1>;tag=1\r\n` +
      `To: <sip:gw@10.0.0.2>\r\nCall-ID: ping-${n.toString(36).padStart(8, '0')}@10.0.0.1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
    const [a, b] = [ping(20891), ping(62932)];
    const fnv1a32 = (s: string) => [...Buffer.from(s)].reduce((h, c) => Math.imul(h ^ c, 0x01000193), 0x811c9dc5) >>> 0;
    expect(a.length).toBe(b.length);
    expect(fnv1a32(a)).toBe(fnv1a32(b));
    const pings = path.join(dir, 'pings.pcap');
    fs.writeFileSync(pings, pcapOf([a, b].map((m, k): [number, Uint8Array] => [T0 + 10 * k, udpFrame('10.0.0.1', 5060, '10.0.0.2', 5060, text(m))])));
    expect((await sipOnly(pings)).map((d) => d.payload.toString())).toEqual([a, b]);
  });

  it('a SIP message over TCP longer than the reassembly buffer (64 KiB) is not sent but counted (sipMalformed tcp-too-long) and warned of; the next one on the connection is sent', async () => {
    // A MESSAGE of about 70,000 bytes in 1,400-byte segments, then an INVITE on the same connection.
    const huge = text(sipRequest('MESSAGE', 'sip:bob@example.com', { callId: 'huge@probe', fromTag: 'h', cseq: 1, contentType: 'text/plain', body: 'x'.repeat(70_000) }));
    const after = text(invite('after@probe', '10.3.0.9', 5100));
    const stream = Buffer.concat([huge, after]);
    const frames: Array<[number, Uint8Array]> = [];
    for (let off = 0, k = 0; off < stream.length; off += 1400, k++) {
      frames.push([T0 + k, tcpFrame('10.3.0.9', 40100, '10.4.0.9', 5060, 1 + off, stream.subarray(off, Math.min(stream.length, off + 1400)))]);
    }
    const hugeFile = path.join(dir, 'huge-tcp.pcap');
    fs.writeFileSync(hugeFile, pcapOf(frames));
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const got = (await replayToUdp(hugeFile, () => {}, log)).filter((d) => d.protoType === 1);
    expect(got.map(sipCallId)).toEqual(['after@probe']);
    const summary = lines.find((l) => l.msg === 'run summary') as { sipMalformed?: Record<string, number> };
    expect(summary.sipMalformed).toEqual({ 'tcp-too-long': 1 });
    const warned = lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('SIP messages over TCP not read'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 40, lost: { 'tcp-too-long': 1 } });
    expect(warned[0]!.msg).toMatch(new RegExp(`^${hugeFile}: 1 SIP messages over TCP not read`));
  });

  it('a message HEP cannot carry (over 65,535 bytes with its chunks) is counted as dropped and logged; the replay exits 5', async () => {
    // An INVITE of about 65,450 bytes in IPv4 fragments: a valid UDP datagram, but with the HEP chunks around it
    // the packet would exceed HEP's 16-bit total length.
    const big = invite('big@probe', '10.5.0.1', 8200, 'p'.repeat(65_100));
    expect(big.length).toBeGreaterThan(65_420);
    expect(big.length).toBeLessThan(65_500);
    const small = invite('small@probe', '10.5.0.3', 8400);
    const frags = ipv4Fragments('10.5.0.1', '10.6.0.1', 17, udp(5060, 5060, text(big)), 1480, { id: 78 });
    const frames: Array<[number, Uint8Array]> = frags.map((p, k) => [T0 + k, ethernet(p, EtherType.IPV4)]);
    frames.push([T0 + 100, udpFrame('10.5.0.3', 5060, '10.6.0.1', 5060, text(small))]);
    const bigFile = path.join(dir, 'big.pcap');
    fs.writeFileSync(bigFile, pcapOf(frames));

    const sink = await startUdpSink(0, 4 << 20);
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    try {
      const c = defaultConfig();
      const where = `udp://127.0.0.1:${sink.port}`;
      c.hep.collectors = [{ ...c.hep.collectors[0]!, host: '127.0.0.1', port: sink.port, transport: 'udp' }];
      c.metrics.enabled = false;
      expect(await runReplay([bigFile], c, { realtime: false, print: () => {} }, log)).toBe(ExitCode.UNDELIVERED);
      await until(() => sink.packets.length >= 1);
      expect(sink.packets.map((p) => sipCallId(decodeHep3Strict(p)))).toEqual(['small@probe']);
      const summary = lines.find((l) => l.msg === 'run summary') as { outputs: Array<{ destination: string; sent: number; dropped: number }> };
      expect(summary.outputs).toEqual([expect.objectContaining({ destination: where, sent: 1, dropped: 1 })]);
      const why = lines.filter((l) => typeof l.msg === 'string' && /HEP message not sent/.test(l.msg));
      expect(why).toHaveLength(1);
      expect(JSON.stringify(why[0])).toMatch(/65535/);
    } finally {
      await sink.close();
    }
  });
});
