/**
 * Live capture against the floor: the probe (`node dist/cli.js run -i lo`, one capture thread, no
 * outputs) and `tcpdump -i lo -w /dev/null` capture the SAME packets in the same run, from a C sender in
 * another process (G.711 RTP, 214-byte frames, `flows` flows). Per rate: packets each received, kernel
 * drops of each, and the CPU each process used (every thread's run time, /proc/PID/task/TID/schedstat) over
 * the sending window per received packet, and the probe / tcpdump ratio. Both capture with the same filter,
 * a 64 MiB ring and incoming packets only (`-Q in`; the probe's addon sets PACKET_IGNORE_OUTGOING on
 * loopback), so each sees every packet once.
 *   node native-bench/out/live-vs-tcpdump.js [--rates 50000,100000,250000,500000] [--seconds 3] [--warmup 12] [--flows 64] [--repeat 1]
 *     [--probe-set PATH=VALUE]   (a setting for the probe, e.g. capture.buffer_timeout_ms=10)
 * Needs root (packet sockets), tcpdump and a C compiler.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { argNumber, argString } from './args.js';
import { buildSender, metrics, processCpuNs, runSender, sleep } from './live-sender.js';

interface Proc {
  p: ChildProcess;
  out: string;
}

function start(cmd: string, args: string[]): Proc {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const r: Proc = { p, out: '' };
  p.stdout!.on('data', (d: Buffer) => (r.out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (r.out += d.toString()));
  return r;
}

async function until(what: string, ok: () => boolean, proc: Proc): Promise<void> {
  for (let i = 0; !ok(); i++) {
    if (proc.p.exitCode !== null || i >= 400) throw new Error(`${what} did not start: ${proc.out}`);
    await sleep(50);
  }
}

async function stop(proc: Proc): Promise<void> {
  if (proc.p.exitCode !== null) return;
  const exited = new Promise((r) => proc.p.once('exit', r));
  proc.p.kill('SIGTERM');
  await exited;
}

interface Row {
  rate: number;
  achieved: number;
  sent: number;
  probeReceived: number;
  probeDrops: number;
  probeNs: number;
  tcpdumpReceived: number;
  tcpdumpDrops: number;
  tcpdumpNs: number;
}

/** One rate: both capturers started, a warm-up at the rate, then the measured window. */
async function measure(cli: string, bin: string, rate: number, o: { base: number; flows: number; seconds: number; warmup: number; metricsPort: number; probeSet: string }): Promise<Row> {
  const filter = `udp and dst portrange ${o.base}-${o.base + 2 * o.flows}`;
  const probe = start(process.execPath, [cli, 'run', '-i', 'lo', '-f', filter, '--no-hep', '--metrics-port', String(o.metricsPort), '--log-format', 'json', '--set', 'capture.buffer_size_mb=64', ...(o.probeSet ? ['--set', o.probeSet] : [])]);
  const tcpdump = start('tcpdump', ['-i', 'lo', '-Q', 'in', '-B', String(64 * 1024), '-n', '-w', '/dev/null', filter]);
  try {
    await until('probe', () => probe.out.includes('metrics and health endpoint listening') && probe.out.includes('capture open'), probe);
    await until('tcpdump', () => tcpdump.out.includes('listening on'), tcpdump);
    // Warm-up at the rate, not measured (12 s by default: it also covers V8's memory reducer, whose full
    // collections come once, about 8 s after start): stream creation and the probe's JIT, which keeps optimising (and
    // re-optimising as rare branches are first taken) for a few seconds; whole rounds of the flows.
    const rounds = Math.ceil((o.warmup * rate) / o.flows);
    await runSender(bin, o.base, o.flows, rate, (rounds * o.flows + 0.5) / rate);
    await sleep(500);
    const m0 = await metrics(o.metricsPort);
    const p0 = processCpuNs(probe.p.pid!);
    const t0 = processCpuNs(tcpdump.p.pid!);
    const s = await runSender(bin, o.base, o.flows, rate, o.seconds, rounds);
    await sleep(300); // the last ring blocks retire and are read (buffer timeout, 100 ms by default)
    const probeCpu = processCpuNs(probe.p.pid!) - p0;
    const tcpdumpCpu = processCpuNs(tcpdump.p.pid!) - t0;
    let m1 = await metrics(o.metricsPort);
    for (let i = 0; i < 20 && m1.received - m0.received < s.sent; i++) {
      await sleep(100);
      m1 = await metrics(o.metricsPort);
    }
    await stop(tcpdump);
    // tcpdump's own counts at exit: "N packets captured", "N packets dropped by kernel" (warm-up included).
    const captured = Number(/(\d+) packets? captured/.exec(tcpdump.out)?.[1] ?? NaN);
    const tDrops = Number(/(\d+) packets? dropped by kernel/.exec(tcpdump.out)?.[1] ?? NaN);
    const warm = rounds * o.flows;
    const probeReceived = m1.received - m0.received;
    return {
      rate,
      achieved: Math.round(s.sent / s.secs),
      sent: s.sent,
      probeReceived,
      probeDrops: m1.dropped - m0.dropped,
      probeNs: probeCpu / probeReceived,
      tcpdumpReceived: captured - warm,
      tcpdumpDrops: tDrops,
      tcpdumpNs: tcpdumpCpu / (captured - warm),
    };
  } finally {
    await stop(tcpdump);
    await stop(probe);
  }
}

async function main(): Promise<void> {
  const rates = argString('rates', '50000,100000,250000,500000').split(',').map(Number);
  const o = { base: argNumber('base-port', 44000), flows: argNumber('flows', 64), seconds: argNumber('seconds', 3), warmup: argNumber('warmup', 12), metricsPort: 19500 + (process.pid % 400), probeSet: argString('probe-set', '') };
  const repeat = argNumber('repeat', 1);
  const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
  const { dir, bin } = buildSender();
  console.log(`live capture vs tcpdump: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), lo, ${o.flows} G.711 flows, 214-byte frames, ${o.seconds} s per rate; ` +
    'probe = dist/cli.js run (1 capture thread, no outputs), tcpdump -Q in -w /dev/null; CPU = run time of every thread of each process over the window (schedstat, ns), per packet it received');
  console.log('    rate   achieved |    probe: received  drops   ns/pkt | tcpdump: received  drops   ns/pkt | probe/tcpdump');
  try {
    for (let r = 0; r < repeat; r++) {
      for (const rate of rates) {
        const x = await measure(cli, bin, rate, o);
        console.log(
          `${String(x.rate).padStart(8)} ${String(x.achieved).padStart(10)} | ${String(x.probeReceived).padStart(17)} ${String(x.probeDrops).padStart(6)} ${x.probeNs.toFixed(0).padStart(8)} |` +
            ` ${String(x.tcpdumpReceived).padStart(17)} ${String(x.tcpdumpDrops).padStart(6)} ${x.tcpdumpNs.toFixed(0).padStart(8)} | ${(x.probeNs / x.tcpdumpNs).toFixed(2).padStart(8)}` +
            (x.probeReceived !== x.sent || x.probeDrops !== 0 ? '  <- probe lost packets' : '') +
            (x.achieved < 0.9 * x.rate ? '  (sender ceiling)' : ''),
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
