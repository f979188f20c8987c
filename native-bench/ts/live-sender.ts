/**
 * The live benches' traffic source: a C program, run as its own process, writing G.711 RTP frames to an
 * interface through a packet socket at a fixed rate (built once per bench run), and the /proc readings the
 * benches use to charge CPU to a process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SENDER_C = String.raw`
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
/* usage: sender IFACE BASE_PORT FLOWS RATE_PPS SECONDS [SEQ0]. Ethernet frames written on IFACE through a packet
   socket, as a mirror port receives them: addressed to another MAC (the kernel drops them right after the
   capture taps, no UDP/ICMP work), IPv4 10.1.0.1:30000+2f -> 10.2.0.1:BASE_PORT+2f, G.711 RTP (PT 0, 172-byte
   payload, 214-byte frames), one SSRC/sequence/timestamp per flow, sequences from SEQ0. Prints: sent seconds cpu_us. */
#define BURST 64
#define FRAME 214
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static unsigned short csum(const unsigned char *p, int n) {
  unsigned long s = 0; for (int i = 0; i < n; i += 2) s += (p[i] << 8) | p[i + 1];
  while (s >> 16) s = (s & 0xffff) + (s >> 16); return (unsigned short)~s;
}
int main(int argc, char **argv) {
  if (argc < 6) return 2;
  int base = atoi(argv[2]), flows = atoi(argv[3]); double rate = atof(argv[4]), secs = atof(argv[5]);
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) { perror("socket"); return 1; }
  int sndbuf = 16 << 20; setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  struct sockaddr_ll to; memset(&to, 0, sizeof to);
  to.sll_family = AF_PACKET; to.sll_ifindex = (int)if_nametoindex(argv[1]); to.sll_halen = 6;
  if (to.sll_ifindex == 0) { perror("if_nametoindex"); return 1; }
  unsigned char (*tmpl)[FRAME] = calloc(flows, FRAME);
  unsigned *seq = calloc(flows, sizeof *seq);
  for (int f = 0; f < flows; f++) {
    seq[f] = argc > 6 ? (unsigned)atoi(argv[6]) : 0;
    unsigned char *p = tmpl[f];
    memcpy(p, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00", 14);
    unsigned char *ip = p + 14;
    ip[0] = 0x45; ip[2] = 0; ip[3] = 200; ip[8] = 64; ip[9] = 17;
    memcpy(ip + 12, "\x0a\x01\x00\x01\x0a\x02\x00\x01", 8);
    unsigned short c = csum(ip, 20); ip[10] = c >> 8; ip[11] = c & 0xff;
    unsigned char *udp = ip + 20; int sp = 30000 + 2 * f, dp = base + 2 * f;
    udp[0] = sp >> 8; udp[1] = sp; udp[2] = dp >> 8; udp[3] = dp; udp[4] = 0; udp[5] = 180;
    unsigned char *rtp = udp + 8; unsigned ssrc = 0x10000 + f;
    rtp[0] = 0x80; rtp[1] = 0; rtp[8] = ssrc >> 24; rtp[9] = ssrc >> 16; rtp[10] = ssrc >> 8; rtp[11] = ssrc;
    memset(rtp + 12, 0xff, 160);
  }
  static unsigned char buf[BURST][FRAME]; struct iovec iov[BURST]; struct mmsghdr m[BURST];
  memset(m, 0, sizeof m);
  for (int i = 0; i < BURST; i++) {
    iov[i].iov_base = buf[i]; iov[i].iov_len = FRAME;
    m[i].msg_hdr.msg_iov = &iov[i]; m[i].msg_hdr.msg_iovlen = 1;
    m[i].msg_hdr.msg_name = &to; m[i].msg_hdr.msg_namelen = sizeof to;
  }
  unsigned long long sent = 0, total = (unsigned long long)(rate * secs);
  double t0 = now();
  while (sent < total) {
    double due = (now() - t0) * rate;
    long n = (long)(due - (double)sent);
    if (n <= 0) { struct timespec s = {0, 20000}; nanosleep(&s, NULL); continue; }
    if (n > BURST) n = BURST;
    if ((unsigned long long)n > total - sent) n = (long)(total - sent);
    for (long i = 0; i < n; i++) {
      int f = (int)((sent + (unsigned long long)i) % (unsigned long long)flows);
      unsigned char *p = buf[i]; unsigned s = seq[f]++, ts = s * 160;
      memcpy(p, tmpl[f], FRAME);
      unsigned char *rtp = p + 42;
      rtp[2] = s >> 8; rtp[3] = s; rtp[4] = ts >> 24; rtp[5] = ts >> 16; rtp[6] = ts >> 8; rtp[7] = ts;
    }
    int r = sendmmsg(fd, m, (unsigned)n, 0);
    if (r > 0) sent += (unsigned long long)r;
  }
  double took = now() - t0;
  struct rusage ru; getrusage(RUSAGE_SELF, &ru);
  long long cpu = (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec + (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
  printf("%llu %.6f %lld\n", sent, took, cpu);
  return 0;
}
`;

/** Compiles the sender into a temporary directory (remove `dir` when done). */
export function buildSender(): { dir: string; bin: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-bench-sender-'));
  const src = join(dir, 'sender.c');
  const bin = join(dir, 'sender');
  writeFileSync(src, SENDER_C);
  const cc = spawnSync('cc', ['-O2', '-o', bin, src], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`cannot build the C sender: ${cc.stderr}`);
  return { dir, bin };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/**
 * CPU time (user + system) of a process, summed over its threads, or with `thread` of that thread only,
 * ns: /proc/PID/task/TID/schedstat counts in ns (/proc/PID/stat in clock ticks of 10 ms, too coarse for
 * tcpdump's few tens of ms per window). The capturers' threads live as long as they do.
 */
export function processCpuNs(pid: number, thread?: number): number {
  const tids = thread === undefined ? readdirSync(`/proc/${pid}/task`) : [String(thread)];
  let ns = 0;
  for (const tid of tids) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns;
}

/** Sends `rate` packets/s on `flows` flows for `seconds` on lo; resolves with what the sender reports. */
export function runSender(bin: string, base: number, flows: number, rate: number, seconds: number, seq0 = 0): Promise<{ sent: number; secs: number; cpuUs: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, ['lo', String(base), String(flows), String(rate), String(seconds), String(seq0)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.once('close', (code) => {
      if (code !== 0) return reject(new Error(`sender exited ${code}`));
      const [sent, secs, cpuUs] = out.trim().split(/\s+/).map(Number);
      resolve({ sent: sent ?? 0, secs: secs ?? 0, cpuUs: cpuUs ?? 0 });
    });
  });
}


/** Capture counters from the probe's metrics endpoint. */
export function metrics(port: number): Promise<{ received: number; dropped: number }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        const read = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)`, 'm').exec(body)?.[1] ?? 0);
        resolve({ received: read('rtpprobe_capture_packets_received_total'), dropped: read('rtpprobe_capture_packets_dropped_kernel_total') });
      });
    }).on('error', reject);
  });
}
