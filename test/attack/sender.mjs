// Traffic for the attack harness, run as its OWN process (the probe must see packets another process
// sent). Packets are built with the project's generators (dist/gen). One JSON argument:
//   { "role": "calls", ... }  N real calls: SIP INVITE/180/200/ACK with SDP, RTP both ways every 20 ms
//                             with designed losses and duplicates, then BYE/200. Prints one JSON line
//                             describing every stream sent (the truth the test compares reports with).
//   { "role": "attack", "kind": ..., "rate": pps, "seconds": s, ... }  a bounded flood; prints what it sent.
// Every sender is bounded in count and time.
import { createSocket } from 'node:dgram';
import { randomFillSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classicPcap, rtcpBye, rtcpCompound, rtcpRr, rtp, sipRequest, sipResponse, sdpBody, text, udpFrame } from '../../dist/gen/index.js';

const spec = JSON.parse(process.argv[2]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

async function udp(addr, port) {
  const s = createSocket({ type: 'udp4', sendBufferSize: 4 << 20 });
  await new Promise((res, rej) => {
    s.once('error', rej);
    s.bind(port, addr, () => res());
  });
  s.on('error', () => {}); // ICMP unreachable from closed ports: ignored, like a mirror port's sender
  return s;
}

/** Send `count` items at `rate` per second: send(i) is called for each, paced by wall time, in small bursts. */
async function paced(rate, count, maxSeconds, send) {
  const t0 = nowMs();
  let i = 0;
  while (i < count && nowMs() - t0 < maxSeconds * 1000) {
    const due = Math.min(count, Math.floor(((nowMs() - t0) * rate) / 1000) + 1);
    while (i < due) send(i++);
    await sleep(2);
  }
  return { sent: i, seconds: (nowMs() - t0) / 1000 };
}

/**
 * Call c's two sides: addresses, RTP ports, and each direction's SSRC and first sequence number (A sends
 * from 0, B from 1000). The attacks that forge a real stream's packets read it here too.
 */
function callLayout(net, c) {
  return {
    a: `${net}.1.${c + 1}`, b: `${net}.2.${c + 1}`, pa: 20000 + 2 * c, pb: 30000 + 2 * c,
    ssrcA: (0x5a000000 + c * 2) >>> 0, ssrcB: (0x5b000000 + c * 2 + 1) >>> 0, seqA: 0, seqB: 1000,
  };
}

async function calls() {
  const { calls: n, packets, net, tag = 'call', sipPort = 5060, dupEvery = 0, foreignDialogs = false } = spec;
  const streams = [];
  const legs = [];
  for (let c = 0; c < n; c++) {
    const { a, b, pa, pb, ssrcA, ssrcB, seqA, seqB } = callLayout(net, c);
    const callId = `${tag}-${c}-${process.pid}@attack.test`;
    const sipA = await udp(a, sipPort);
    const sipB = await udp(b, sipPort);
    const ra = await udp(a, pa);
    const rb = await udp(b, pb);
    const sdp = (ip, port) => sdpBody({ ip, media: [{ port, formats: [8, 101], rtpmap: [[8, 'PCMA/8000'], [101, 'telephone-event/8000']], ptime: 20 }] });
    const common = { callId, fromTag: `fa${c}`, cseq: 1, via: `${a}:${sipPort}` };
    const send = (sock, msg, ip) => sock.send(text(msg), sipPort, ip);
    send(sipA, sipRequest('INVITE', `sip:bob@${b}`, { ...common, body: sdp(a, pa) }), b);
    send(sipB, sipResponse(180, { ...common, toTag: `tb${c}`, cseqMethod: 'INVITE' }), a);
    send(sipB, sipResponse(200, { ...common, toTag: `tb${c}`, cseqMethod: 'INVITE', body: sdp(b, pb) }), a);
    send(sipA, sipRequest('ACK', `sip:bob@${b}`, { ...common, toTag: `tb${c}` }), b);
    // Designed loss: call c loses (c % 4) packets per direction, spread over the call.
    const lossA = new Set(Array.from({ length: c % 4 }, (_, k) => 10 + k * 17));
    const lossB = new Set(Array.from({ length: (c + 1) % 4 }, (_, k) => 12 + k * 19));
    legs.push({ sipA, sipB, ra, rb, a, b, pa, pb, lossA, lossB, ssrcA, ssrcB, seqA, seqB, common });
    const dups = (loss) => (dupEvery > 0 ? Array.from({ length: packets }, (_, k) => k).filter((k) => k % dupEvery === dupEvery - 1 && !loss.has(k)).length : 0);
    streams.push({ callId, src: a, srcPort: pa, dst: b, dstPort: pb, ssrc: ssrcA, sent: packets - lossA.size + dups(lossA), lost: lossA.size, duplicates: dups(lossA) });
    streams.push({ callId, src: b, srcPort: pb, dst: a, dstPort: pa, ssrc: ssrcB, sent: packets - lossB.size + dups(lossB), lost: lossB.size, duplicates: dups(lossB) });
  }
  await sleep(100); // SIP before media, as a real call
  const t0 = nowMs();
  const payload = new Uint8Array(160).fill(0xd5);
  // foreignDialogs: halfway, for each call, from a host outside it and with tags of its own (the UAs would
  // answer 481 and talk on): a re-INVITE and 200 moving its media elsewhere, then a BYE and 200.
  const forger = foreignDialogs ? await udp(`${net}.9.2`, sipPort) : null;
  for (let k = 0; k < packets; k++) {
    const wait = t0 + k * 20 - nowMs();
    if (wait > 0) await sleep(wait);
    if (forger && k === packets >> 1) {
      for (const l of legs) {
        const forged = { callId: l.common.callId, fromTag: 'forged-from', toTag: 'forged-to', cseq: 7, via: `${net}.9.2:${sipPort}` };
        const elsewhere = (port) => sdpBody({ ip: `${net}.9.2`, media: [{ port, formats: [8] }] });
        forger.send(text(sipRequest('INVITE', `sip:bob@${l.b}`, { ...forged, body: elsewhere(50000) })), sipPort, l.b);
        forger.send(text(sipResponse(200, { ...forged, cseqMethod: 'INVITE', body: elsewhere(50002) })), sipPort, l.b);
        forger.send(text(sipRequest('BYE', `sip:bob@${l.b}`, { ...forged, cseq: 8 })), sipPort, l.b);
        forger.send(text(sipResponse(200, { ...forged, cseq: 8, cseqMethod: 'BYE' })), sipPort, l.b);
      }
    }
    for (const l of legs) {
      const pktA = rtp({ pt: 8, seq: l.seqA + k, ts: k * 160, ssrc: l.ssrcA, payload });
      const pktB = rtp({ pt: 8, seq: l.seqB + k, ts: 5000 + k * 160, ssrc: l.ssrcB, payload });
      const dup = dupEvery > 0 && k % dupEvery === dupEvery - 1;
      if (!l.lossA.has(k)) for (let r = dup ? 2 : 1; r > 0; r--) l.ra.send(pktA, l.pb, l.b);
      if (!l.lossB.has(k)) for (let r = dup ? 2 : 1; r > 0; r--) l.rb.send(pktB, l.pa, l.a);
    }
  }
  await sleep(100);
  if (spec.bye !== false) {
    for (const l of legs) {
      l.sipA.send(text(sipRequest('BYE', `sip:bob@${l.b}`, { ...l.common, toTag: `tb${legs.indexOf(l)}`, cseq: 2 })), sipPort, l.b);
      l.sipB.send(text(sipResponse(200, { ...l.common, toTag: `tb${legs.indexOf(l)}`, cseq: 2, cseqMethod: 'BYE' })), sipPort, l.a);
    }
  }
  await sleep(100);
  for (const l of legs) for (const s of [l.sipA, l.sipB, l.ra, l.rb]) s.close();
  forger?.close();
  return { streams, seconds: (nowMs() - t0) / 1000 };
}

let rnd = 0x9e3779b9 ^ process.pid;
const random32 = () => {
  rnd ^= rnd << 13; rnd ^= rnd >>> 17; rnd ^= rnd << 5;
  return rnd >>> 0;
};

/**
 * The attack's packets in sending order: i -> { payload, src, sport, dst, dport } (count of them). Sent by
 * tcpreplay from a capture file written here (a C sender: the rates of the field report on a small machine),
 * or from UDP sockets when tcpreplay is missing.
 */
function attackPackets() {
  const { kind, rate, seconds, net, targets = [] } = spec;
  const src = `${net}.9.1`;
  const dst = `${net}.10.1`;
  const payload = new Uint8Array(160).fill(0xd5);
  const count = Math.ceil(rate * seconds);
  if (kind === 'invite-flood') {
    // New Call-ID per INVITE, never answered, each with an SDP offer (media address of its own).
    return { count, make: (i) => {
      const body = sdpBody({ ip: dst, media: [{ port: 40000 + 2 * (i % 10000), formats: [0] }] });
      return { payload: text(sipRequest('INVITE', `sip:flood${i}@${dst}`, { callId: `flood-${i}-${process.pid}@attack.test`, fromTag: `f${i}`, cseq: 1, via: `${src}:5060`, body })), src, sport: 5060, dst, dport: 5060 };
    } };
  }
  if (kind === 'long-call-id') {
    // INVITEs whose Call-ID is 30 KB (a new one each, unanswered), with an SDP offer: each is refused.
    return { count, make: (i) => {
      const body = sdpBody({ ip: dst, media: [{ port: 40000 + 2 * (i % 10000), formats: [0] }] });
      const callId = `long-${i}-${process.pid}-`.padEnd(30_000, 'x') + '@attack.test';
      return { payload: text(sipRequest('INVITE', `sip:long${i}@${dst}`, { callId, fromTag: `l${i}`, cseq: 1, via: `${src}:5060`, body })), src, sport: 5060, dst, dport: 5060 };
    } };
  }
  if (kind === 'hostile-sip') {
    // INVITEs built to be expensive: 20 m= lines each with rtpmaps, and a few KB of long headers.
    const media = Array.from({ length: 20 }, (_, k) => ({ port: 42000 + 2 * k, formats: [0, 8, 96, 97, 101], rtpmap: [[96, 'opus/48000/2'], [97, 'AMR/8000'], [101, 'telephone-event/8000']] }));
    const headers = Array.from({ length: 16 }, (_, k) => [`X-Long-${k}`, 'x'.repeat(400)]);
    return { count, make: (i) => {
      const body = sdpBody({ ip: dst, media });
      return { payload: text(sipRequest('INVITE', `sip:h${i}@${dst}`, { callId: `hostile-${i}-${process.pid}@attack.test`, fromTag: `h${i}`, cseq: 1, via: `${src}:5060`, headers, body })), src, sport: 5060, dst, dport: 5060 };
    } };
  }
  if (kind === 'random-ssrc') {
    // One packet per SSRC to the real calls' signalled RTP ports (every packet a would-be new stream).
    return { count, make: (i) => {
      const t = targets[i % targets.length];
      return { payload: rtp({ pt: 8, seq: random32() & 0xffff, ts: random32(), ssrc: random32(), payload }), src, sport: 7000, dst: t.ip, dport: t.port };
    } };
  }
  if (kind === 'streams') {
    // `streams` distinct streams of `per` packets each to the calls' signalled ports (a report burst).
    const { streams, per } = spec;
    // Interleaved 100 streams at a time, so that each stream has its packets in sequence soon after its
    // first (the probe admits a stream after two) even when the sender falls short of its rate.
    const B = Math.min(100, streams);
    return { count: streams * per, make: (i) => {
      const block = Math.floor(i / (B * per));
      const within = i % (B * per);
      const s = block * B + (within % B);
      const k = Math.floor(within / B);
      const t = targets[s % targets.length];
      return { payload: rtp({ pt: 8, seq: k, ts: k * 160, ssrc: (0x7e000000 + s) >>> 0, payload }), src, sport: 7000 + 2 * (s % 500), dst: t.ip, dport: t.port };
    } };
  }
  // The real calls' streams (the `calls` calls' 2 directions), for the attacks that forge their packets.
  const streams = [];
  for (let c = 0; c < (spec.calls ?? 0); c++) {
    const l = callLayout(net, c);
    streams.push({ src: l.a, sport: l.pa, dst: l.b, dport: l.pb, ssrc: l.ssrcA, seq: l.seqA }, { src: l.b, sport: l.pb, dst: l.a, dport: l.pa, ssrc: l.ssrcB, seq: l.seqB });
  }
  if (kind === 'forged-bye') {
    // RTCP BYEs naming a real stream's SSRC, not on its RTCP flow: from its sender's host on other ports,
    // or from another host on its RTCP ports (RTP + 1). Round robin over the real streams.
    return { count, make: (i) => {
      const st = streams[i % streams.length];
      const bye = rtcpCompound(rtcpRr({ ssrc: st.ssrc }), rtcpBye({ ssrcs: [st.ssrc], reason: 'forged' }));
      return Math.floor(i / streams.length) % 2 === 0
        ? { payload: bye, src: st.src, sport: 41001 + 2 * (i % 100), dst: st.dst, dport: st.dport + 1 }
        : { payload: bye, src, sport: st.sport + 1, dst: st.dst, dport: st.dport + 1 };
    } };
  }
  if (kind === 'seq-stray') {
    // Packets forged into the real streams (their 5-tuple and SSRC) with a sequence number 2,000 to 2,900
    // ahead of anything the stream sends (inside RFC 3550's MAX_DROPOUT) and a random timestamp: a replay
    // or a corrupted packet. Round robin; `injected` counts them per SSRC.
    return { count, make: (i) => {
      const st = streams[i % streams.length];
      return { payload: rtp({ pt: 8, seq: st.seq + 2000 + (random32() % 900), ts: random32(), ssrc: st.ssrc, payload }), src: st.src, sport: st.sport, dst: st.dst, dport: st.dport, ssrc: st.ssrc };
    } };
  }
  if (kind === 'junk') {
    // Random bytes (random lengths) to the real calls' RTP ports and to the SIP port.
    return { count, make: (i) => {
      const b = randomFillSync(Buffer.allocUnsafe(1 + (random32() % 1400)));
      if (i % 4 === 0) return { payload: b, src, sport: 7000, dst, dport: 5060 };
      const t = targets[i % targets.length];
      return { payload: b, src, sport: 7000, dst: t.ip, dport: t.port };
    } };
  }
  if (kind === 'sip-rate') {
    // SIP at `rate`/s (INVITE with SDP then 200 with SDP, a new Call-ID per pair) interleaved with RTP at
    // `rtpRate` pps over `rtpStreams` streams between the flood's own addresses.
    const { rtpRate, rtpStreams } = spec;
    const total = Math.ceil((rate + rtpRate) * seconds);
    let sipN = 0;
    let rtpN = 0;
    return { count: total, make: (i) => {
      if (Math.floor(((i + 1) * rate) / (rate + rtpRate)) > sipN) {
        const n = sipN++;
        const pair = n >> 1;
        const cid = `rate-${pair}-${process.pid}@attack.test`;
        if ((n & 1) === 0) {
          const body = sdpBody({ ip: src, media: [{ port: 50000 + 2 * (pair % 1000), formats: [0] }] });
          return { payload: text(sipRequest('INVITE', `sip:r${pair}@${dst}`, { callId: cid, fromTag: `r${pair}`, cseq: 1, via: `${src}:5060`, body })), src, sport: 5060, dst, dport: 5060 };
        }
        const body = sdpBody({ ip: dst, media: [{ port: 51000 + 2 * (pair % 1000), formats: [0] }] });
        return { payload: text(sipResponse(200, { callId: cid, fromTag: `r${pair}`, toTag: `t${pair}`, cseq: 1, cseqMethod: 'INVITE', via: `${src}:5060`, body })), src: dst, sport: 5060, dst: src, dport: 5060 };
      }
      const n = rtpN++;
      const st = n % rtpStreams;
      const k = Math.floor(n / rtpStreams);
      return { payload: rtp({ pt: 0, seq: k, ts: k * 160, ssrc: (0x6d000000 + st) >>> 0, payload }), src: dst, sport: 52000 + 2 * st, dst: src, dport: 50000 + 2 * (st % 1000) };
    } };
  }
  throw new Error(`unknown attack kind ${kind}`);
}

/** Built and ready: say so, then wait for the harness's go (a line on stdin) when it asked for one. */
async function ready() {
  if (!spec.waitForGo) return;
  process.stdout.write('ready\n');
  await new Promise((r) => process.stdin.once('data', r));
  process.stdin.pause();
}

function hasTcpreplay() {
  return spawnSync('tcpreplay', ['--version']).status === 0;
}

async function attack() {
  const { rate, seconds } = spec;
  const { count, make } = attackPackets();
  const totalRate = spec.kind === 'sip-rate' ? rate + spec.rtpRate : rate;
  if (hasTcpreplay() && spec.via !== 'socket') {
    const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-attack-pcap-'));
    const file = join(dir, 'attack.pcap');
    const records = [];
    const forged = []; // the real stream's SSRC of each packet forged into one
    for (let i = 0; i < count; i++) {
      const p = make(i);
      records.push({ tsNs: BigInt(i) * 1000n, data: udpFrame(p.src, p.sport, p.dst, p.dport, p.payload) });
      forged.push(p.ssrc);
    }
    writeFileSync(file, classicPcap(records));
    if (spec.writeOnly) return { file: spec.writeOnly, count, written: (writeFileSync(spec.writeOnly, classicPcap(records)), true) };
    await ready();
    const t0 = nowMs();
    const r = spawnSync('tcpreplay', ['-i', 'lo', '-q', `--pps=${totalRate}`, `--duration=${Math.ceil(seconds * 1.2)}`, file], { encoding: 'utf8' });
    const secs = (nowMs() - t0) / 1000;
    rmSync(dir, { recursive: true, force: true });
    if (r.status !== 0) throw new Error(`tcpreplay: ${r.stderr}`);
    const m = /Successful packets:\s+(\d+)/.exec(r.stdout);
    const sent = m ? Number(m[1]) : count;
    // tcpreplay sends the file in order: the first `sent` packets went out.
    const injected = {};
    for (let i = 0; i < sent; i++) if (forged[i] !== undefined) injected[forged[i]] = (injected[forged[i]] ?? 0) + 1;
    return { sent, seconds: secs, via: 'tcpreplay', injected };
  }
  if (spec.kind === 'seq-stray' || spec.kind === 'forged-bye') throw new Error(`${spec.kind} forges the real calls' source addresses: it needs tcpreplay`);
  const socks = new Map();
  const sockFor = async (addr, port) => {
    const k = `${addr}:${port}`;
    if (!socks.has(k)) socks.set(k, await udp(addr, port));
    return socks.get(k);
  };
  const items = [];
  for (let i = 0; i < count; i++) {
    const p = make(i);
    items.push([await sockFor(p.src, p.sport), p]);
  }
  await ready();
  const r = await paced(totalRate, count, seconds + 10, (i) => {
    const [s, p] = items[i];
    s.send(p.payload, p.dport, p.dst);
  });
  await sleep(50);
  for (const s of socks.values()) s.close();
  return { ...r, via: 'socket' };
}

const out = spec.role === 'calls' ? await calls() : await attack();
process.stdout.write(JSON.stringify(out) + '\n');
