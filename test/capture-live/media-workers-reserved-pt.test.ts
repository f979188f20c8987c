/**
 * RTP of payload type 88 (72..95: RTCP's range under RFC 5761, no RTP without an SDP that maps it) starting
 * right after the 200 OK whose SDP maps it, as a real call's media does. One thread queues that RTP behind
 * the SIP; with media workers the SDP's binding reaches the worker a few buffer timeouts later: every
 * packet is still measured, in both modes; such RTP that no SDP maps is not measured. `rtpprobe run` from dist/ on lo, SIP and RTP sent by python3.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PY_SIP, startProbe, streamEndings } from './media-workers-helpers.js';
import { until } from '../wait.js';
import { takePorts } from '../port-blocks.js';

const cli = join(import.meta.dirname, '../../dist/cli.js');
const canRun = process.getuid?.() === 0 && existsSync(cli) && spawnSync('python3', ['-c', '1']).status === 0;

const CALLS = 8;
const PACKETS = 50;

/**
 * CALLS calls (a: base + 4i, b: base + 4i + 2), INVITE/200 OK mapping PT 88 to PCMA, then PACKETS PT 88
 * packets each way at once, the first with the marker bit (second byte 216, in RTCP's range: RTP where
 * the SDP does not mux RTCP); and as many from sip_port + 2 to sip_port + 3, which no SDP maps.
 */
const SENDER = String.raw`
import socket, sys, time
base, calls, packets, tag = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].encode()
${PY_SIP}
flows = []
for i in range(calls):
    a, pa, b, pb = call(i, b'reserved-%s-%d@probe.test' % (tag, i), 88)
    flows.append([a, pb, 0x1000 + i]); flows.append([b, pa, 0x2000 + i])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.1', sip_port + 2))
flows.append([u, sip_port + 3, 0x3000])
for k in range(packets):
    for f in flows:
        rtp(f[0], f[1], f[2], k, 88, k == 0)
    time.sleep(0.004)
print('sent', flush=True)
`;

describe.skipIf(!canRun)('RTP of payload type 88 mapped by an SDP, right behind its SIP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-reserved-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([1, 2])('capture.workers %i: every packet of every stream measured, with its Call-ID', async (workers) => {
    const base = await takePorts(4 * CALLS + 4);
    const tag = `${process.pid}w${workers}`;
    const jsonl = join(dir, `w${workers}.jsonl`);
    const cfg = join(dir, `w${workers}.yaml`);
    writeFileSync(cfg, `capture:\n  workers: ${workers}\nsip:\n  ports: [${base + 4 * CALLS}]\nreports:\n  interval_s: 3600\n  send_rtcp: false\n  jsonl:\n    enabled: true\n    path: ${jsonl}\n`);
    const filter = `udp and src portrange ${base}-${base + 4 * CALLS + 3} and dst portrange ${base}-${base + 4 * CALLS + 3}`;
    const probe = await startProbe(cli, ['-i', 'lo', '-f', filter, '-c', cfg, '--no-hep']);
    try {
      const sender = spawnSync('python3', ['-c', SENDER, String(base), String(CALLS), String(PACKETS), tag], { encoding: 'utf8' });
      expect(sender.stdout, sender.stderr).toContain('sent');
      const sent = 2 * CALLS * (PACKETS + 1) + PACKETS;
      let text = '';
      const received = () => Number(/^rtpprobe_capture_packets_received_total\{interface="lo"\} (\S+)$/m.exec(text)?.[1] ?? NaN);
      expect(
        await until(async () => {
          text = await (await fetch(`http://127.0.0.1:${probe.metricsPort}/metrics`)).text();
          return received() >= sent;
        }, 30_000),
        text,
      ).toBe(true);
    } finally {
      probe.child.kill('SIGTERM');
    }
    expect(await probe.exit, probe.log()).toBe(0);
    const endings = streamEndings(jsonl);
    const seen = [...endings.values()].flat().map((r) => `${r.SRC_PORT}>${r.DST_PORT} ${r.CORRELATION_ID} ${r.TOTAL_PK}/${r.EXPECTED_PK}`).sort();
    const want: string[] = [];
    for (let i = 0; i < CALLS; i++) {
      const [pa, pb] = [base + 4 * i, base + 4 * i + 2];
      want.push(`${pa}>${pb} reserved-${tag}-${i}@probe.test ${PACKETS}/${PACKETS}`, `${pb}>${pa} reserved-${tag}-${i}@probe.test ${PACKETS}/${PACKETS}`);
    }
    // The flow no SDP maps is no RTP (RTCP's payload types), in both modes.
    expect(seen, probe.log()).toEqual(want.sort());
  });
});
