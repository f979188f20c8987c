/**
 * Live soak: the real `rtpprobe run -i lo` process with every output on (HEP over UDP to a collector here,
 * reports.jsonl, the webhook to an HTTP server here, metrics with the live page, alert rules, the HTML
 * call report), fed for many minutes with SIP calls that start and end (INVITE/200/ACK with SDP, G.711 RTP
 * both ways every 20 ms, BYE/200) from a sender in another process, a quarter of them with loss for a
 * while so a rule fires and clears. /metrics, /api/calls and /api/callreport are polled every few seconds
 * as `rtpprobe top` and a browser would. Every `--sample` seconds: the probe's RSS (/proc), heap used and
 * event-loop delay (its own metrics), open fds (/proc/PID/fd), the number of series /metrics serves.
 * At the end: every stream's FINAL at the HEP collector and in the JSONL file, an ALERT and a CLEARED at
 * the webhook per fired alert, nothing counted dropped, and the samples after the warm-up flat.
 *
 *   node native-bench/out/live-soak.js [--minutes 20] [--calls 100] [--min-s 20] [--max-s 60] [--sample 15] [--warmup 180]
 *     [--snapshots 300,900]   (heap snapshots of the probe at those seconds, in its files' directory)
 *
 * Root (capture on lo). Exit code 0 when everything arrived and the samples stayed flat, 1 otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rtp, sdpBody, sipRequest, sipResponse, text } from '../../dist/gen/index.js';
import { decodeHep3Strict } from '../../dist/hep/index.js';
import { argNumber, argString } from './args.js';

// The /16 the calls use (--net; two soaks at once need two): above the test suites' 127.64-127.110 (test/port-blocks.ts).
const NET = argString('net', '127.201');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A stream the sender sent: the truth the reports are counted against. */
interface SentStream {
  callId: string;
  ssrc: number;
  packets: number;
}

// ---------------------------------------------------------------------------------------------------------
// The sender (its own process: the probe must see packets another process sent).
// ---------------------------------------------------------------------------------------------------------

interface Leg {
  callId: string;
  k: number;
  a: string;
  b: string;
  pa: number;
  pb: number;
  ssrcA: number;
  ssrcB: number;
  ra: Socket;
  rb: Socket;
  startMs: number;
  packets: number;
  sent: number;
  sentA: number;
  sentB: number;
  lossy: boolean;
}

async function bound(addr: string, port: number): Promise<Socket> {
  const s = createSocket({ type: 'udp4', sendBufferSize: 1 << 20 });
  s.on('error', () => {}); // ICMP port unreachable from the closed receiving side
  await new Promise<void>((res, rej) => {
    s.once('error', rej);
    s.bind(port, addr, () => res());
  });
  return s;
}

async function sender(): Promise<void> {
  const minutes = argNumber('minutes', 20);
  const concurrent = argNumber('calls', 100);
  const minS = argNumber('min-s', 20);
  const maxS = argNumber('max-s', 60);
  const proxyA = await bound(`${NET}.0.1`, 5060);
  const proxyB = await bound(`${NET}.0.2`, 5060);
  const payload = new Uint8Array(160).fill(0xff);
  const legs = new Set<Leg>();
  let k = 0;
  let rnd = 0x2545f491;
  const random = (): number => {
    rnd ^= rnd << 13;
    rnd ^= rnd >>> 17;
    rnd ^= rnd << 5;
    return (rnd >>> 0) / 2 ** 32;
  };
  const sip = (from: Socket, msg: string, to: string): void => from.send(text(msg), 5060, to);
  const common = (l: Leg) => ({ callId: l.callId, fromTag: `fa${l.k}`, toTag: `tb${l.k}`, via: `${l.a}:5060` });

  async function startCall(): Promise<void> {
    const n = k++;
    const host = (n % 250) + 1;
    const port = 10000 + 2 * (n % 20000);
    const a = `${NET}.1.${host}`;
    const b = `${NET}.2.${host}`;
    const leg: Leg = {
      callId: `soak-${n}-${process.pid}@live-soak`, k: n, a, b, pa: port, pb: port,
      ssrcA: (0x51000000 + 2 * n) >>> 0, ssrcB: (0x51000000 + 2 * n + 1) >>> 0,
      ra: await bound(a, port), rb: await bound(b, port), startMs: Date.now(),
      packets: Math.round((minS + random() * (maxS - minS)) * 50), sent: 0, sentA: 0, sentB: 0, lossy: n % 4 === 0,
    };
    const sdp = (ip: string, p: number) => sdpBody({ ip, media: [{ port: p, formats: [0, 101], rtpmap: [[0, 'PCMU/8000'], [101, 'telephone-event/8000']], ptime: 20 }] });
    const { fromTag, via, callId } = common(leg);
    sip(proxyA, sipRequest('INVITE', `sip:bob@${b}`, { callId, fromTag, cseq: 1, via, body: sdp(a, leg.pa) }), `${NET}.0.2`);
    sip(proxyB, sipResponse(200, { ...common(leg), cseq: 1, cseqMethod: 'INVITE', body: sdp(b, leg.pb) }), `${NET}.0.1`);
    sip(proxyA, sipRequest('ACK', `sip:bob@${b}`, { ...common(leg), cseq: 1 }), `${NET}.0.2`);
    leg.startMs = Date.now() + 50;
    legs.add(leg);
  }

  function endCall(l: Leg): void {
    legs.delete(l);
    sip(proxyA, sipRequest('BYE', `sip:bob@${l.b}`, { ...common(l), cseq: 2 }), `${NET}.0.2`);
    sip(proxyB, sipResponse(200, { ...common(l), cseq: 2, cseqMethod: 'BYE' }), `${NET}.0.1`);
    const streams: SentStream[] = [
      { callId: l.callId, ssrc: l.ssrcA, packets: l.sentA },
      { callId: l.callId, ssrc: l.ssrcB, packets: l.sentB },
    ];
    process.stdout.write(`${JSON.stringify({ ended: streams })}\n`);
    setTimeout(() => {
      l.ra.close();
      l.rb.close();
    }, 500);
  }

  const stopAt = Date.now() + minutes * 60_000;
  let starting = false;
  const tick = async (): Promise<void> => {
    const now = Date.now();
    for (const l of legs) {
      const due = Math.min(l.packets, Math.floor((now - l.startMs) / 20) + 1);
      for (; l.sent < due; l.sent++) {
        const i = l.sent;
        // Lossy calls lose one packet in 10 of the caller's direction from their 5th to their 15th second:
        // 10 % loss for about two 10 s intervals (the rule fires), then none (it clears).
        if (!(l.lossy && i >= 250 && i < 750 && i % 10 === 3)) {
          l.ra.send(rtp({ pt: 0, seq: i, ts: i * 160, ssrc: l.ssrcA, payload }), l.pb, l.b);
          l.sentA++;
        }
        l.rb.send(rtp({ pt: 0, seq: 1000 + i, ts: 7000 + i * 160, ssrc: l.ssrcB, payload }), l.pa, l.a);
        l.sentB++;
      }
      if (l.sent >= l.packets) endCall(l);
    }
    if (!starting && now < stopAt && legs.size < concurrent) {
      starting = true;
      // At most 5 new calls a tick: the ramp at the start spreads over a few hundred ms.
      for (let i = 0; i < 5 && legs.size < concurrent; i++) await startCall();
      starting = false;
    }
    if (now >= stopAt && legs.size === 0) {
      clearInterval(timer);
      await sleep(1000);
      proxyA.close();
      proxyB.close();
      process.stdout.write(`${JSON.stringify({ done: k })}\n`);
    }
  };
  const timer = setInterval(() => void tick(), 20);
}

// ---------------------------------------------------------------------------------------------------------
// The soak: collector, webhook receiver, the probe, polls and samples.
// ---------------------------------------------------------------------------------------------------------

interface Sample {
  tS: number;
  rssMb: number;
  heapMb: number;
  fds: number;
  series: number;
  lagP99Ms: number;
  calls: number;
  streams: number;
  hepFinals: number;
  metricsKb: number;
  callreportKb: number;
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 10_000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, body: '', ms: Date.now() - t0 }));
    req.end();
  });
}

function metricSum(body: string, name: string): number {
  let sum = 0;
  for (const line of body.split('\n')) if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

/** Every series of a metrics page whose name contains "dropped" (or "lost") and whose value is not 0. */
function droppedSeries(body: string): string[] {
  return body.split('\n').filter((l) => !l.startsWith('#') && /dropped|_lost_/.test(l) && !/ 0$/.test(l));
}

async function freePort(): Promise<number> {
  const srv = createTcpServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const p = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return p;
}

const streamKey = (callId: string, ssrc: number): string => `${callId}/${ssrc >>> 0}`;

async function soak(): Promise<void> {
  const minutes = argNumber('minutes', 20);
  const sampleS = argNumber('sample', 15);
  const warmupS = argNumber('warmup', 180);
  const cli = new URL('../../dist/cli.js', import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-live-soak-'));

  // HEP collector: every QoS report decoded; FINALs by stream.
  const hep = { datagrams: 0, bad: 0, sip: 0, rtcp: 0, reports: 0, finals: new Map<string, number>(), types: new Map<string, number>() };
  const collector = createSocket({ type: 'udp4', recvBufferSize: 64 << 20 });
  collector.on('message', (m) => {
    hep.datagrams++;
    let payload: string;
    try {
      payload = Buffer.from(decodeHep3Strict(m).payload).toString('utf8');
    } catch {
      hep.bad++;
      return;
    }
    if (!payload.startsWith('{')) {
      hep.sip++;
      return;
    }
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(payload) as Record<string, unknown>;
    } catch {
      hep.bad++;
      return;
    }
    if (typeof j.TYPE !== 'string') {
      hep.rtcp++;
      return;
    }
    hep.reports++;
    hep.types.set(j.TYPE, (hep.types.get(j.TYPE) ?? 0) + 1);
    if (j.TYPE === 'FINAL' || j.TYPE === 'HANGUP') {
      const key = streamKey(String(j.CORRELATION_ID), Number(j.SSRC));
      hep.finals.set(key, (hep.finals.get(key) ?? 0) + 1);
    }
  });
  await new Promise<void>((r) => collector.bind(0, '127.0.0.1', r));
  const hepPort = collector.address().port;

  // Webhook receiver: ALERT and CLEARED by (rule, call, stream).
  const hook = { posts: 0, alerts: new Map<string, number>(), cleared: new Map<string, number>(), reasons: new Map<string, number>(), bad: 0 };
  const web = createHttpServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      hook.posts++;
      try {
        const e = JSON.parse(body) as { event: string; rule: string; callId: string; reason?: string; stream?: { ssrc?: number } | null };
        const key = `${e.rule}|${e.callId}|${e.stream?.ssrc ?? 0}`;
        const m = e.event === 'ALERT' ? hook.alerts : e.event === 'CLEARED' ? hook.cleared : null;
        if (m === null) hook.bad++;
        else m.set(key, (m.get(key) ?? 0) + 1);
        if (e.event === 'CLEARED') hook.reasons.set(String(e.reason), (hook.reasons.get(String(e.reason)) ?? 0) + 1);
      } catch {
        hook.bad++;
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  const webPort = (web.address() as { port: number }).port;

  const metricsPort = await freePort();
  const jsonl = join(dir, 'reports.jsonl');
  const html = join(dir, 'calls.html');
  const cfg = join(dir, 'probe.yaml');
  writeFileSync(
    cfg,
    [
      'reports:',
      '  interval_s: 10',
      '  rules:',
      '    - { name: lossy, when: "loss_pct > 2", interval_s: 5 }',
      '  jsonl: { enabled: true, path: "' + jsonl + '" }',
      '  html: { path: "' + html + '" }',
      `hep: { collectors: [{ host: 127.0.0.1, port: ${hepPort}, transport: udp }] }`,
      `webhook: { url: "http://127.0.0.1:${webPort}/hook" }`,
      `metrics: { listen: 127.0.0.1, port: ${metricsPort}, live_page: true }`,
      'log: { format: json, status_interval_s: 60 }',
      'process: { shutdown_deadline_ms: 30000 }',
      '',
    ].join('\n'),
  );
  let out = '';
  // --snapshots 300,900: V8 heap snapshots of the probe at those seconds (in `dir`), to see what grows.
  const snapshotAt = argString('snapshots', '').split(',').filter(Boolean).map(Number);
  const nodeArgs = snapshotAt.length > 0 ? ['--heapsnapshot-signal=SIGUSR2'] : [];
  const probe: ChildProcess = spawn(process.execPath, [...nodeArgs, cli, 'run', '-i', 'lo', '-f', `udp and net ${NET}.0.0/16`, '-c', cfg], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  probe.stdout!.on('data', (d: Buffer) => (out += d.toString('latin1')));
  probe.stderr!.on('data', (d: Buffer) => (out += d.toString('latin1')));
  let exitCode: number | null = null;
  const exited = new Promise<number | null>((r) => probe.on('exit', (c) => r((exitCode = c))));
  for (let i = 0; i < 600 && !out.includes('capture open') && exitCode === null; i++) await sleep(100);
  if (!out.includes('capture open')) throw new Error(`the probe did not open its capture:\n${out}`);
  const pid = probe.pid!;
  console.log(`probe pid ${pid}, metrics :${metricsPort}, HEP :${hepPort}, webhook :${webPort}, files in ${dir}`);

  // The sender.
  const sent = new Map<string, SentStream>();
  let senderDone = false;
  let senderBuf = '';
  const send = spawn(process.execPath, [new URL(import.meta.url).pathname, '--role', 'sender', ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'inherit'] });
  send.stdout!.on('data', (d: Buffer) => {
    senderBuf += d.toString();
    let nl: number;
    while ((nl = senderBuf.indexOf('\n')) >= 0) {
      const line = JSON.parse(senderBuf.slice(0, nl)) as { ended?: SentStream[]; done?: number };
      senderBuf = senderBuf.slice(nl + 1);
      for (const s of line.ended ?? []) sent.set(streamKey(s.callId, s.ssrc), s);
      if (line.done !== undefined) senderDone = true;
    }
  });

  // Polls as `rtpprobe top` and a browser would; every sample also reads /proc.
  const polls = { n: 0, failed: 0, slowestMs: 0, callreportKb: 0 };
  let lastMetrics = '';
  let polling = true;
  const poller = (async () => {
    while (polling) {
      for (const path of ['/metrics', '/api/calls?limit=50', '/api/callreport']) {
        const r = await httpGet(metricsPort, path);
        polls.n++;
        if (r.status !== 200) polls.failed++;
        polls.slowestMs = Math.max(polls.slowestMs, r.ms);
        if (path === '/metrics' && r.status === 200) lastMetrics = r.body;
        if (path === '/api/callreport') polls.callreportKb = r.body.length / 1024;
      }
      await sleep(3000);
    }
  })();

  const samples: Sample[] = [];
  const t0 = Date.now();
  const sampleNow = async (): Promise<void> => {
    const m = await httpGet(metricsPort, '/metrics');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const s: Sample = {
      tS: Math.round((Date.now() - t0) / 1000),
      rssMb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024,
      heapMb: metricSum(m.body, 'rtpprobe_nodejs_heap_size_used_bytes') / 2 ** 20,
      fds: readdirSync(`/proc/${pid}/fd`).length,
      series: m.body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length,
      lagP99Ms: metricSum(m.body, 'rtpprobe_nodejs_eventloop_lag_p99_seconds') * 1000,
      calls: metricSum(m.body, 'rtpprobe_calls_active'),
      streams: metricSum(m.body, 'rtpprobe_streams_active'),
      hepFinals: hep.finals.size,
      metricsKb: Math.round(m.body.length / 1024),
      callreportKb: Math.round(polls.callreportKb),
    };
    samples.push(s);
    console.log(JSON.stringify(s));
  };
  while (!senderDone) {
    await sleep(sampleS * 1000);
    await sampleNow();
    const last = samples[samples.length - 1].tS;
    if (snapshotAt.length > 0 && last >= snapshotAt[0]) {
      snapshotAt.shift();
      probe.kill('SIGUSR2');
      console.log(`heap snapshot asked at ${last} s`);
    }
  }
  // The last calls' BYEs are in: their streams end at once. Let the reports arrive, then stop the probe.
  await sleep(5000);
  await sampleNow();
  polling = false;
  await poller;
  const before = await httpGet(metricsPort, '/metrics');
  probe.kill('SIGTERM');
  const code = await exited;
  await sleep(2000);
  collector.close();
  web.close();

  // Verdicts.
  const problems: string[] = [];
  const jsonFinals = new Map<string, number>();
  let jsonLines = 0;
  for (const line of readFileSync(jsonl, 'utf8').split('\n')) {
    if (line === '') continue;
    jsonLines++;
    const j = JSON.parse(line) as Record<string, unknown>;
    if (j.TYPE === 'FINAL' || j.TYPE === 'HANGUP') {
      const key = streamKey(String(j.CORRELATION_ID), Number(j.SSRC));
      jsonFinals.set(key, (jsonFinals.get(key) ?? 0) + 1);
    }
  }
  const missing = (m: Map<string, number>) => [...sent.keys()].filter((k) => !m.has(k));
  const doubled = (m: Map<string, number>) => [...m.values()].filter((n) => n > 1).length;
  const hepMissing = missing(hep.finals);
  const jsonMissing = missing(jsonFinals);
  console.log(`streams sent ${sent.size}; FINALs at HEP ${hep.finals.size} (missing ${hepMissing.length}, twice ${doubled(hep.finals)}), in JSONL ${jsonFinals.size} (missing ${jsonMissing.length}, twice ${doubled(jsonFinals)}) of ${jsonLines} lines`);
  console.log(`HEP: ${hep.datagrams} datagrams, ${hep.reports} reports ${JSON.stringify(Object.fromEntries(hep.types))}, ${hep.sip} SIP, ${hep.rtcp} other JSON, ${hep.bad} bad`);
  if (hepMissing.length > 0) problems.push(`${hepMissing.length} streams without a FINAL at HEP, e.g. ${hepMissing.slice(0, 3).join(', ')}`);
  if (jsonMissing.length > 0) problems.push(`${jsonMissing.length} streams without a FINAL in the JSONL file, e.g. ${jsonMissing.slice(0, 3).join(', ')}`);
  if (hep.bad > 0) problems.push(`${hep.bad} HEP datagrams that did not decode`);
  const unpaired = [...hook.alerts].filter(([k, n]) => hook.cleared.get(k) !== n).map(([k]) => k);
  const clearedAlone = [...hook.cleared.keys()].filter((k) => !hook.alerts.has(k));
  const alerts = [...hook.alerts.values()].reduce((a, b) => a + b, 0);
  const cleared = [...hook.cleared.values()].reduce((a, b) => a + b, 0);
  console.log(`webhook: ${hook.posts} posts, ${alerts} ALERT, ${cleared} CLEARED ${JSON.stringify(Object.fromEntries(hook.reasons))}, unpaired ${unpaired.length}, CLEARED without ALERT ${clearedAlone.length}, bad ${hook.bad}`);
  const firedMetric = metricSum(before.body, 'rtpprobe_alerts_fired_total');
  console.log(`rtpprobe_alerts_fired_total before the stop: ${firedMetric}`);
  if (alerts === 0) problems.push('no alert fired');
  if (unpaired.length > 0) problems.push(`${unpaired.length} alerts without their CLEARED, e.g. ${unpaired.slice(0, 3).join(', ')}`);
  if (clearedAlone.length > 0) problems.push(`${clearedAlone.length} CLEARED without an ALERT`);
  const drops = droppedSeries(before.body);
  if (drops.length > 0) problems.push(`drops counted: ${drops.join('; ')}`);
  console.log(`polls: ${polls.n}, failed ${polls.failed}, slowest ${polls.slowestMs} ms; probe exit ${code}; HTML report ${existsSync(html) ? statSync(html).size : 'missing'} bytes`);
  if (code !== 0) problems.push(`the probe exited with ${code}`);
  if (!existsSync(html)) problems.push('no HTML report written');
  if (polls.failed > 0) problems.push(`${polls.failed} polls failed`);
  const warnings = out.split('\n').filter((l) => /"level":(40|50|60)/.test(l) && !/alert .* (started|cleared)/.test(l));
  if (warnings.length > 0) console.log(`probe warnings/errors (${warnings.length}):\n${warnings.slice(0, 10).join('\n')}`);

  // Flatness after the warm-up: the later half against the earlier half of the samples after it.
  const after = samples.filter((s) => s.tS >= warmupS && s.tS <= minutes * 60);
  if (after.length >= 4) {
    const half = Math.floor(after.length / 2);
    const max = (xs: Sample[], f: (s: Sample) => number) => Math.max(...xs.map(f));
    for (const [name, f, tolerance] of [
      ['rssMb', (s: Sample) => s.rssMb, 1.1],
      ['heapMb', (s: Sample) => s.heapMb, 1.15],
      ['fds', (s: Sample) => s.fds, 1],
      ['series', (s: Sample) => s.series, 1],
    ] as const) {
      const early = max(after.slice(0, half), f);
      const late = max(after.slice(half), f);
      console.log(`${name}: max ${early.toFixed(1)} in the first half after the warm-up, ${late.toFixed(1)} in the second`);
      if (late > early * tolerance + (name === 'fds' || name === 'series' ? 2 : 0)) problems.push(`${name} grew: ${early.toFixed(1)} -> ${late.toFixed(1)}`);
    }
  } else problems.push('too few samples after the warm-up to judge growth');
  const first = samples[0];
  const last = samples[samples.length - 1];
  console.log(`first sample ${JSON.stringify(first)}\nlast sample  ${JSON.stringify(last)}`);
  if (problems.length > 0) {
    console.log(`FAIL:\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  } else console.log('OK');
}

if (process.argv.includes('--role') && process.argv[process.argv.indexOf('--role') + 1] === 'sender') await sender();
else await soak();
