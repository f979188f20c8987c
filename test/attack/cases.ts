/**
 * The attack cases. Each one runs against a fresh probe with 20 real calls in parallel (40 RTP streams,
 * SIP with SDP, designed losses) and a bounded attack from another process, then SIGTERM, and returns
 * the problems found (empty = the case held) and its figures. Two sizes: 'ci' (seconds, rates a loaded
 * 2-core CI machine sustains) and 'full' (the rates of the field report, `npm run attack`).
 */
import { createConnection, type Socket as TcpSocket } from 'node:net';
import { checkRealCalls, HepReceiver, httpGet, metricValue, NET, Probe, runSender, startSender, udpRcvbufErrors, type SentStream } from './harness.js';
import { until } from '../wait.js';

export type Size = 'ci' | 'full';

export interface CaseResult {
  problems: string[];
  figures: Record<string, string | number>;
}

export interface AttackCase {
  name: string;
  /** What it does, for the printed table. */
  what: string;
  /** Holds on the current code: runs in the CI test (all cases run by `npm run attack`). */
  ci: boolean;
  run(size: Size): Promise<CaseResult>;
}

const CALLS = 20;
/**
 * Time limits: the field report's in the full run (SIGTERM to exit 5 s, /healthz within 2 s); the CI
 * machine is shared and often loaded many times over its cores, so there only a hang fails.
 */
const LIMITS = { full: { shutdownMs: 5000, healthMs: 2000 }, ci: { shutdownMs: 20_000, healthMs: 15_000 } };

interface Scenario {
  size: Size;
  hep?: 'udp' | 'tcp';
  yaml?: string;
  /** Calls: packets per direction (20 ms each) and sender options. */
  packets: number;
  calls?: Record<string, unknown>;
  /** Attack sender specs started together with the calls (targets filled in: the calls' RTP ports). */
  attacks?: Array<Record<string, unknown>>;
  /** Runs while calls and attacks are under way; returns its own problems and figures. */
  during?: (p: Probe) => Promise<CaseResult>;
  /** Kernel drops allowed (default: any; the real calls' exactness is checked whatever this is). */
  maxKernelDrops?: number;
  /**
   * A failed /healthz poll is retried this many times at once before it counts (default 0). Only for a
   * connection flood: a check whose request is still unread when a whole burst allowance of newer
   * connections has arrived behind it is shed, as a real liveness probe's single attempt can be; a probe
   * that is really down fails the retries as well.
   */
  healthRetries?: number;
  /** Extra checks once the collector has everything. */
  after?: (hep: HepReceiver, sent: { calls: SentStream[]; attacks: AttackSent[] }, p: Probe) => string[];
}

/** What an attack sender reports: packets sent, seconds, and the packets it forged into each real stream (by SSRC). */
interface AttackSent {
  sent: number;
  seconds: number;
  injected?: Record<number, number>;
}

/** The RTP ports of the real calls (both sides), as the attack targets. */
function callTargets(): Array<{ ip: string; port: number }> {
  const t = [];
  for (let c = 0; c < CALLS; c++) t.push({ ip: `${NET}.2.${c + 1}`, port: 30000 + 2 * c }, { ip: `${NET}.1.${c + 1}`, port: 20000 + 2 * c });
  return t;
}

/**
 * Poll /healthz every 200 ms while `running()`: slowest answer, failures (no 200 within timeoutMs, after
 * `retries` immediate retries) and retried polls.
 */
async function watchHealth(p: Probe, running: () => boolean, timeoutMs: number, retries: number): Promise<{ maxMs: number; failures: number; retried: number; polls: number }> {
  let maxMs = 0;
  let failures = 0;
  let retried = 0;
  let polls = 0;
  while (running()) {
    let r = await httpGet(p.metricsPort, '/healthz', timeoutMs);
    for (let i = 0; i < retries && r.status !== 200; i++) {
      retried++;
      r = await httpGet(p.metricsPort, '/healthz', timeoutMs);
    }
    polls++;
    maxMs = Math.max(maxMs, r.ms);
    if (r.status !== 200) failures++;
    await new Promise((res) => setTimeout(res, 200)); // the polling period while the attack runs
  }
  return { maxMs, failures, retried, polls };
}

async function scenario(s: Scenario): Promise<CaseResult> {
  // TCP by default: what arrives is then exactly what the probe delivered (a UDP receiver on a loaded
  // machine loses datagrams in its own socket buffer; the UDP case counts those separately).
  const hep = await new HepReceiver(s.hep ?? 'tcp').start();
  const rcvbuf0 = udpRcvbufErrors();
  const probe = new Probe();
  const problems: string[] = [];
  const figures: Record<string, string | number> = {};
  try {
    // CI: the probe's own stop deadline is the harness's CI limit. With the default 5 s a CI host at load
    // 14-19 (two cores) ran out of it in report-burst (3,000 closing reports) and invite-flood (11 s),
    // exiting 1; what the CI size checks is that the stop delivers everything, the full run keeps 5 s.
    const deadline = s.size === 'ci' ? `process:\n  shutdown_deadline_ms: ${LIMITS.ci.shutdownMs}\n` : '';
    await probe.start({ hep, yaml: (s.yaml ?? '') + deadline });
    const cpu0 = probe.cpuMs();
    const t0 = Date.now();
    let running = true;
    // Attack packets are built first; the flood starts once the calls' media is flowing.
    const senders = (s.attacks ?? []).map((a) => startSender<AttackSent>({ role: 'attack', net: NET, targets: callTargets(), waitForGo: true, ...a }));
    await Promise.all(senders.map((x) => x.ready));
    const calls = runSender<{ streams: SentStream[] }>({ role: 'calls', calls: CALLS, packets: s.packets, net: NET, ...s.calls });
    // The flood starts once every real stream is being measured.
    await until(async () => (await probe.metric('rtpprobe_streams_active')) >= 2 * CALLS, 30_000, 100);
    for (const x of senders) x.go();
    const attacks = Promise.all(senders.map((x) => x.done));
    const limits = LIMITS[s.size];
    const health = watchHealth(probe, () => running, limits.healthMs, s.healthRetries ?? 0);
    const during = s.during?.(probe);
    const [sentCalls, sentAttacks] = await Promise.all([calls, attacks]);
    running = false;
    const h = await health;
    const d = await during;
    if (d) {
      problems.push(...d.problems);
      Object.assign(figures, d.figures);
    }
    const attackSent = sentAttacks.reduce((n, a) => n + (a.sent ?? 0), 0);
    const callSent = sentCalls.streams.reduce((n, x) => n + x.sent, 0) + CALLS * 6; // + SIP
    figures.captured = await probe.waitCaptured(attackSent + callSent, 15_000);
    const m = await probe.metrics(5000);
    const cpuMs = probe.cpuMs() - cpu0;
    const stop = await probe.stop('SIGTERM', 60_000);
    await hep.settled(300, 5000); // datagrams in flight to the collector
    const attackPackets = attackSent;
    const callPackets = callSent;
    figures.seconds = ((Date.now() - t0) / 1000).toFixed(1);
    figures.attack_pkts = attackPackets;
    figures.attack_pps = sentAttacks.map((a) => Math.round(a.sent / a.seconds)).join("+") || 0;
    figures.cpu_us_per_pkt = ((cpuMs * 1000) / (attackPackets + callPackets + 1)).toFixed(2);
    figures.kernel_drops = m.status === 200 ? metricValue(m.body, 'rtpprobe_capture_packets_dropped_kernel_total') : 'no /metrics';
    figures.evicted_streams = m.status === 200 ? metricValue(m.body, 'rtpprobe_streams_evicted_total') : '-';
    if (m.status === 200) {
      figures.evicted_unconfirmed = metricValue(m.body, 'rtpprobe_streams_evicted_unconfirmed_total');
      figures.held_back = metricValue(m.body, 'rtpprobe_rtp_packets_held_back_total');
    }
    figures.healthz_max_ms = h.maxMs;
    if (h.retried > 0) figures.healthz_retried = h.retried;
    figures.shutdown_ms = stop.ms;
    if (s.maxKernelDrops !== undefined && typeof figures.kernel_drops === 'number' && figures.kernel_drops > s.maxKernelDrops) problems.push(`${figures.kernel_drops} kernel drops`);
    if (h.failures > 0) problems.push(`/healthz failed ${h.failures} of ${h.polls} polls (max ${h.maxMs} ms)`);
    if (stop.code !== 0) problems.push(`exit code ${stop.code} after SIGTERM`);
    if (stop.ms > limits.shutdownMs) problems.push(`SIGTERM took ${stop.ms} ms (deadline ${limits.shutdownMs})`);
    // Every stream the probe started (its own run summary) must have its one closing report at the collector.
    const summary = probe.logLines('"run summary"').map((l) => JSON.parse(l) as { streams: number; packets: number; outputs?: Array<{ output: string; dropped: number }> })[0];
    figures.probe_packets = summary?.packets ?? '?';
    const closing = hep.finals().length;
    figures.closing_reports = summary ? `${closing}/${summary.streams}` : `${closing}/?`;
    if (hep.transport === 'udp') figures.udp_rcvbuf_errors = udpRcvbufErrors() - rcvbuf0;
    if (!summary) problems.push('no run summary logged at exit');
    else if (closing !== summary.streams) problems.push(`${closing} closing reports reached the collector for ${summary.streams} streams (probe: hep dropped ${summary.outputs?.filter((o) => o.output === 'hep').map((o) => o.dropped).join('+') ?? '?'}${hep.transport === 'udp' ? `; UDP receive-buffer overflows on this host meanwhile: ${figures.udp_rcvbuf_errors}` : ''})`);
    if (hep.bad > 0) problems.push(`${hep.bad} undecodable HEP packets at the collector`);
    // Packets an attack forged into a real stream (its 5-tuple and SSRC) count as the stream's packets, as
    // tshark counts them: received (TOTAL_PK), not expected, so each offsets one lost packet (never below 0).
    for (const a of sentAttacks) {
      for (const st of sentCalls.streams) {
        const n = a.injected?.[st.ssrc] ?? 0;
        st.sent += n;
        st.lost = Math.max(0, st.lost - n);
      }
    }
    const real = checkRealCalls(sentCalls.streams, hep.reports);
    figures.real_streams_exact = `${sentCalls.streams.length - new Set(real.map((x) => x.split(':').slice(0, 2).join(':'))).size}/${sentCalls.streams.length}`;
    if (real.length > 0) problems.push(`real calls: ${real.length} problems, first: ${real.slice(0, 3).join('; ')}`);
    problems.push(...(s.after?.(hep, { calls: sentCalls.streams, attacks: sentAttacks }, probe) ?? []));
    if (problems.length > 0) figures.log_tail = probe.out.split('\n').filter((l) => /"level":(40|50|60)/.test(l)).slice(-3).join(' | ').slice(0, 600);
  } finally {
    probe.cleanup();
    hep.close();
  }
  return { problems, figures };
}

const big = (size: Size, ci: number, full: number) => (size === 'full' ? full : ci);

export const CASES: AttackCase[] = [
  {
    name: 'baseline',
    what: '20 calls, no attack (the harness itself)',
    ci: true,
    run: (size) => scenario({ size, packets: big(size, 100, 500) }),
  },
  {
    name: 'duplicates',
    what: 'every 3rd RTP packet of the real calls twice (mirror port duplicates)',
    ci: true,
    run: (size) => scenario({ size, packets: big(size, 100, 500), calls: { dupEvery: 3 } }),
  },
  {
    name: 'junk',
    what: 'random bytes to the calls\' RTP ports and the SIP port',
    ci: true,
    run: (size) => scenario({ size, packets: big(size, 100, 500), attacks: [{ kind: 'junk', rate: big(size, 3000, 20000), seconds: big(size, 2, 10) }] }),
  },
  {
    name: 'invite-flood',
    what: 'unanswered INVITEs with new Call-IDs beyond max_calls / interval',
    ci: true,
    run: (size) =>
      scenario({
        size,
        packets: big(size, 150, 500),
        // CI: a small call table so 2,000/s overflows it within the calls' lifetime (full: the defaults, 4,000/s).
        yaml: size === 'ci' ? 'sip:\n  max_calls: 1000\n' : '',
        attacks: [{ kind: 'invite-flood', rate: big(size, 2000, 4000), seconds: big(size, 2.5, 10) }],
      }),
  },
  {
    name: 'hostile-sip',
    what: 'INVITEs with 20 m= lines and 6 KB of long headers',
    ci: true,
    run: (size) => scenario({ size, packets: big(size, 150, 500), attacks: [{ kind: 'hostile-sip', rate: big(size, 1000, 5000), seconds: big(size, 2.5, 8) }] }),
  },
  {
    name: 'long-call-id',
    what: 'INVITEs with 30 KB Call-IDs (each refused, counted in a warning)',
    ci: true,
    run: (size) =>
      scenario({
        size,
        packets: big(size, 150, 500),
        // The whole datagram kept: the Call-ID is refused for its length, not cut by the snap length.
        yaml: 'capture:\n  snap_length: 65535\n',
        attacks: [{ kind: 'long-call-id', rate: big(size, 1000, 2000), seconds: big(size, 2.5, 5) }],
        // Kept, the flood's ids would hold 75 MB (CI) or 300 MB (full) in the call table.
        during: async (p) => {
          const first = p.rssMib();
          let max = first;
          for (const end = Date.now() + big(size, 2.5, 5) * 1000 + 2000; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) max = Math.max(max, p.rssMib());
          const grew = max - first;
          // Bounded it grew 18-39 MiB (transient garbage, more on a loaded machine); with the ids kept, 100.
          return { problems: grew > 64 ? [`resident memory grew ${grew.toFixed(0)} MiB during the flood`] : [], figures: { rss_grew_mib: grew.toFixed(0) } };
        },
        after: (_hep, _sent, p) => (p.logLines('SIP messages refused').length > 0 ? [] : ['no warning of the refused SIP messages logged']),
      }),
  },
  {
    name: 'worker-sip-flood',
    what: 'capture.workers 2: INVITEs of 30 KB; what the main thread holds of the workers\' SIP stays bounded, the excess counted',
    ci: true,
    run: (size) => {
      let backlogMax = 0;
      return scenario({
        size,
        packets: big(size, 150, 500),
        yaml: 'capture:\n  snap_length: 65535\n  workers: 2\n',
        // Held 250 ms for the other worker's progress, 2,000 a second are ~15 MB: past the 4 MiB SipOrder
        // holds (8 MiB may wait in all), so the bound engages at either size.
        attacks: [{ kind: 'long-call-id', rate: big(size, 2000, 3000), seconds: big(size, 2.5, 5) }],
        during: async (p) => {
          for (const end = Date.now() + big(size, 2.5, 5) * 1000 + 2000; Date.now() < end; await new Promise((r) => setTimeout(r, 50)))
            backlogMax = Math.max(backlogMax, await p.metric('rtpprobe_sip_backlog'));
          return { problems: [], figures: { sip_waiting_max: backlogMax } };
        },
        after: (_hep, _sent, p) => {
          const early = metricValue(p.lastMetrics, 'rtpprobe_sip_released_early_total');
          const dropped = metricValue(p.lastMetrics, 'rtpprobe_sip_messages_dropped_total');
          const problems: string[] = [];
          if (early + dropped === 0) problems.push('no SIP released early nor dropped: the bound never engaged');
          if (backlogMax > 8192) problems.push(`${backlogMax} SIP messages waited for the main thread (bound 8,192)`);
          if (dropped > 0 && p.logLines('SIP dropped').length === 0) problems.push(`${dropped} SIP dropped without a warning`);
          return problems;
        },
      });
    },
  },
  {
    name: 'random-ssrc',
    what: 'one packet per random SSRC to the calls\' signalled ports (fills the stream table)',
    ci: true,
    run: (size) =>
      scenario({
        size,
        packets: big(size, 150, 500),
        yaml: size === 'ci' ? 'rtp:\n  max_streams: 2000\n' : '',
        attacks: [{ kind: 'random-ssrc', rate: big(size, 4000, 58000), seconds: big(size, 2.5, 8) }],
        // One packet per SSRC never confirms a stream (2 in sequence on a signalled port): the flood stays in
        // the candidate cache, so nothing is evicted, unconfirmed or held back.
        after: (_hep, _sent, p) =>
          ['rtpprobe_streams_evicted_total', 'rtpprobe_streams_evicted_unconfirmed_total', 'rtpprobe_rtp_packets_held_back_total']
            .filter((name) => !p.lastMetrics.includes(`${name} 0`))
            .map((name) => `${name} is not served as 0: ${p.lastMetrics.split('\n').find((l) => l.startsWith(name + ' ')) ?? 'absent'}`),
      }),
  },
  {
    name: 'seq-stray',
    what: 'packets forged into the real streams (their 5-tuple and SSRC) 2,000-2,900 numbers ahead, random timestamps',
    ci: true,
    run: (size) =>
      scenario({
        size,
        packets: big(size, 150, 500),
        attacks: [{ kind: 'seq-stray', calls: CALLS, rate: big(size, 40, 200), seconds: big(size, 2, 8) }],
      }),
  },
  {
    name: 'forged-bye',
    what: 'RTCP BYEs naming the real streams\' SSRCs from their senders\' hosts on other ports, or from another host',
    ci: true,
    run: (size) =>
      scenario({
        size,
        packets: big(size, 150, 500),
        attacks: [{ kind: 'forged-bye', calls: CALLS, rate: big(size, 400, 4000), seconds: big(size, 2, 8) }],
      }),
  },
  {
    name: 'foreign-dialog',
    what: 'halfway, for every real Call-ID, from another host with tags of its own: a re-INVITE and 200 moving its media, a BYE and 200',
    ci: true,
    run: (size) =>
      scenario({
        size,
        packets: big(size, 150, 500),
        calls: { foreignDialogs: true },
        // Moved or ended, the streams would end (and split) once their media stopped lingering: shorter
        // than the calls' second half, so the split shows.
        yaml: 'sip:\n  media_linger_s: 0.5\n',
        // The calls go on: one stream each, under its Call-ID (checked for all cases), and every message counted.
        after: (_hep, _sent, p) => {
          const n = metricValue(p.lastMetrics, 'rtpprobe_sip_malformed_total{reason="other-dialog"}');
          // Exact unless the kernel dropped packets (a loaded machine): then each may have been one of them.
          const drops = metricValue(p.lastMetrics, 'rtpprobe_capture_packets_dropped_kernel_total');
          return n <= 4 * CALLS && n >= 4 * CALLS - drops ? [] : [`${n} SIP messages counted as other-dialog, sent ${4 * CALLS} (kernel drops ${drops})`];
        },
      }),
  },
  {
    name: 'sip-rate',
    what: 'SIP INVITE/200 with SDP at a high message rate plus RTP',
    ci: true,
    run: (size) =>
      scenario({
        size,
        packets: big(size, 150, 500),
        maxKernelDrops: 0,
        attacks: [{ kind: 'sip-rate', rate: big(size, 4000, 20000), rtpRate: big(size, 10000, 100000), rtpStreams: 1000, seconds: big(size, 2.5, 8) }],
      }),
  },
  {
    name: 'report-burst',
    what: 'many streams open at SIGTERM: one FINAL each must reach the collector',
    ci: true,
    run: (size) => {
      const streams = big(size, 3000, 20000);
      return scenario({
        size,
        packets: big(size, 100, 300),
        calls: { bye: false },
        // UDP (paced by the probe) in the full run. On a loaded CI host the test's own UDP receiver overflows
        // its socket buffer (net.core.rmem_max caps it; the kernel counts those as RcvbufErrors), so there
        // the burst's delivery is checked exactly over TCP.
        hep: size === 'ci' ? 'tcp' : 'udp',
        yaml: 'reports:\n  interval_s: 3600\n',
        attacks: [{ kind: 'streams', streams, per: 4, rate: big(size, 6000, 20000), seconds: (streams * 4) / big(size, 6000, 20000) }],
        after: (hep) => {
          const finals = hep.finals().filter((r) => r.ssrc >= 0x7e000000 && r.ssrc < 0x7e000000 + streams);
          const got = new Set(finals.map((r) => r.ssrc - 0x7e000000));
          const missing = Array.from({ length: streams }, (_, i) => i).filter((i) => !got.has(i));
          // Delivery of every started stream's report is checked for all cases (closing_reports); that the
          // probe saw every burst stream is required in the full run only: on a loaded CI machine a few
          // hundred of tcpreplay's packets have gone missing before capture once, with no drop counted.
          const short = size === 'ci' && got.size >= streams * 0.8;
          return missing.length === 0 || short ? [] : [`burst: ${got.size} of ${streams} streams' FINALs reached the collector; missing e.g. ${missing.slice(0, 8).join(',')}`];
        },
      });
    },
  },
  {
    name: 'metrics-exhaustion',
    what: 'thousands of idle connections held on the metrics port',
    ci: true,
    run: (size) =>
      scenario({
        size,
        packets: big(size, 150, 500),
        healthRetries: 2,
        during: async (p) => {
          const want = big(size, 3000, 18000);
          const socks: TcpSocket[] = [];
          let open = 0;
          for (let i = 0; i < want; i++) {
            const s = createConnection({ host: '127.0.0.1', port: p.metricsPort });
            s.on('connect', () => open++);
            s.on('error', () => {});
            socks.push(s);
            if (i % 200 === 199) await until(() => open >= i - 100, 2000, 5);
          }
          await until(() => open >= want, 3000);
          const r = await httpGet(p.metricsPort, '/healthz', 2000);
          for (const s of socks) s.destroy();
          const problems = r.status === 200 ? [] : [`/healthz with ${open} idle connections held: ${r.status === 0 ? 'no answer in 2 s' : r.status}`];
          return { problems, figures: { idle_conns: open, healthz_under_conns_ms: r.ms } };
        },
      }),
  },
];
