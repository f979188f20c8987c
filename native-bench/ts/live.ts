/**
 * Live capture benchmark (not a test): `node native-bench/out/live.js [--seconds 2] [--start 25000] [--max 3200000]`.
 *
 * For each backend (the project's addon `pcap`, the `cap` fallback) it captures G.711-sized RTP-like
 * datagrams (172-byte payload, 214-byte frames) that a small C sender in ANOTHER process sends to lo at a
 * fixed rate, doubling the rate until packets are lost. Reported per step: packets sent, received, kernel
 * drops (pcap only; cap cannot tell), CPU of this process per received packet (process.cpuUsage delta).
 * The ratio cap/addon CPU per packet is taken at the same rate, the highest both handled without loss.
 * Needs root (or CAP_NET_RAW) and a C compiler for the sender.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLiveCapture, type LiveBackendName, type LivePacketSource } from '../../dist/capture/live/index.js';
import { argNumber } from './args.js';

const SENDER_C = String.raw`
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
/* usage: sender PORT RATE_PPS SECONDS. Paced with sendmmsg bursts of up to 32; prints packets sent and seconds taken. */
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
  if (argc < 4) return 2;
  int port = atoi(argv[1]); double rate = atof(argv[2]), secs = atof(argv[3]);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int sndbuf = 8 << 20; setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  struct sockaddr_in to; memset(&to, 0, sizeof to);
  to.sin_family = AF_INET; to.sin_port = htons(port); to.sin_addr.s_addr = htonl(0x7f000001);
  static unsigned char pay[32][172]; struct iovec iov[32]; struct mmsghdr m[32];
  memset(m, 0, sizeof m);
  for (int i = 0; i < 32; i++) {
    pay[i][0] = 0x80; pay[i][1] = 0; pay[i][8] = 0x12; pay[i][9] = 0x34;
    iov[i].iov_base = pay[i]; iov[i].iov_len = sizeof pay[i];
    m[i].msg_hdr.msg_iov = &iov[i]; m[i].msg_hdr.msg_iovlen = 1;
    m[i].msg_hdr.msg_name = &to; m[i].msg_hdr.msg_namelen = sizeof to;
  }
  unsigned long long sent = 0, total = (unsigned long long)(rate * secs);
  unsigned short seq = 0;
  double t0 = now();
  while (sent < total) {
    double due = (now() - t0) * rate;
    long n = (long)(due - (double)sent);
    if (n <= 0) { struct timespec s = {0, 20000}; nanosleep(&s, NULL); continue; }
    if (n > 32) n = 32;
    if ((unsigned long long)n > total - sent) n = (long)(total - sent);
    for (long i = 0; i < n; i++) { pay[i][2] = seq >> 8; pay[i][3] = seq & 0xff; seq++; }
    int r = sendmmsg(fd, m, (unsigned)n, 0);
    if (r > 0) sent += (unsigned long long)r;
  }
  printf("%llu %.6f\n", sent, now() - t0);
  return 0;
}
`;

interface Step {
  backend: LiveBackendName;
  rate: number;
  /** Rate the sender really achieved (below `rate` when the sender, not the capture, is the limit). */
  achieved: number;
  sent: number;
  received: number;
  droppedKernel: number | null;
  cpuNsPerPacket: number;
  lossFree: boolean;
}

function buildSender(dir: string): string {
  const src = join(dir, 'sender.c');
  const bin = join(dir, 'sender');
  writeFileSync(src, SENDER_C);
  const r = spawnSync('cc', ['-O2', '-o', bin, src], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot build the C sender: ${r.stderr}`);
  return bin;
}

function runSender(bin: string, port: number, rate: number, seconds: number): Promise<{ sent: number; secs: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, [String(port), String(rate), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.once('close', (code) => (code === 0 ? resolve(parseSender(out)) : reject(new Error(`sender exited ${code}`))));
  });
}

function parseSender(out: string): { sent: number; secs: number } {
  const [sent, secs] = out.trim().split(/\s+/).map(Number);
  return { sent: sent ?? 0, secs: secs ?? 0 };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function drain(src: LivePacketSource): Promise<number> {
  let n = 0;
  let touch = 0;
  for await (const b of src.batches()) {
    // Touch every packet's first byte so the loop is not a bare counter.
    for (let i = 0; i < b.count; i++) touch += b.buf[b.offset[i]!]!;
    n += b.count;
  }
  return n + (touch < 0 ? 1 : 0);
}

async function step(backend: LiveBackendName, bin: string, port: number, rate: number, seconds: number): Promise<Step> {
  const src = await openLiveCapture({ interface: 'lo', backend, filter: `udp dst port ${port}`, bufferSizeMb: 64 });
  const counting = drain(src);
  await sleep(100);
  const cpu0 = process.cpuUsage();
  const { sent, secs } = await runSender(bin, port, rate, seconds);
  await sleep(300); // let the last block / flush timer deliver
  const cpu = process.cpuUsage(cpu0);
  const st = src.stats();
  await src.close();
  const received = await counting;
  const droppedKernel = st.statsAvailable ? st.droppedKernel : null;
  return {
    backend,
    rate,
    achieved: secs > 0 ? Math.round(sent / secs) : 0,
    sent,
    received,
    droppedKernel,
    cpuNsPerPacket: received > 0 ? ((cpu.user + cpu.system) * 1000) / received : NaN,
    lossFree: received === sent && (droppedKernel ?? 0) === 0,
  };
}

async function main(): Promise<void> {
  const seconds = argNumber('seconds', 2);
  const start = argNumber('start', 25_000);
  const max = argNumber('max', 3_200_000);
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-bench-live-'));
  const bin = buildSender(dir);
  const port = 47000 + (process.pid % 1000);
  console.log(`live capture bench: ${cpus().length} CPUs, ${cpus()[0]?.model ?? '?'}, lo, ${seconds} s per step, 214-byte frames`);
  const steps: Step[] = [];
  try {
    for (const backend of ['pcap', 'cap'] as const) {
      for (let rate = start; rate <= max; rate *= 2) {
        const s = await step(backend, bin, port, rate, seconds);
        steps.push(s);
        console.log(
          `${backend.padEnd(4)} rate ${String(rate).padStart(8)} pps (achieved ${s.achieved}): sent ${s.sent} received ${s.received} ` +
            `kernel drops ${s.droppedKernel ?? 'unknown'}  CPU ${s.cpuNsPerPacket.toFixed(0)} ns/packet` +
            (s.lossFree ? '' : '  <- loss'),
        );
        if (!s.lossFree) break;
        if (s.achieved < 0.9 * rate) {
          console.log(`${backend}: the sender cannot go faster on this host; stopping the ramp`);
          break;
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const best = (b: LiveBackendName): Step | undefined =>
    steps.filter((s) => s.backend === b && s.lossFree).sort((x, y) => y.rate - x.rate)[0];
  const bp = best('pcap');
  const bc = best('cap');
  console.log(
    `\nhighest loss-free step (achieved rate): addon ${bp?.achieved ?? 0} pps, cap ${bc?.achieved ?? 0} pps` +
      ' (a step that ended sender-limited is a lower bound)',
  );
  // CPU ratio at one common rate: the highest both handled without loss.
  const common = steps
    .filter((s) => s.backend === 'cap' && s.lossFree)
    .map((s) => s.rate)
    .filter((r) => steps.some((p) => p.backend === 'pcap' && p.rate === r && p.lossFree))
    .sort((a, b) => b - a)[0];
  if (common !== undefined) {
    const p = steps.find((s) => s.backend === 'pcap' && s.rate === common)!;
    const c = steps.find((s) => s.backend === 'cap' && s.rate === common)!;
    console.log(
      `CPU per packet at ${common} pps: addon ${p.cpuNsPerPacket.toFixed(0)} ns, cap ${c.cpuNsPerPacket.toFixed(0)} ns, ` +
        `cap/addon = ${(c.cpuNsPerPacket / p.cpuNsPerPacket).toFixed(2)}x (target >= 4x)`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
