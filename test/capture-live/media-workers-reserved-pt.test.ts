/**
 * RTP of payload type 88 (72..95: RTCP's range under RFC 5761, no RTP without an SDP that maps it) starting
 * right after the 200 OK whose SDP maps it, as a real call's media does. One thread queues that RTP behind
 * the SIP; with media workers the SDP's binding reaches the worker a few buffer timeouts later: every
 * packet is still measured, in both modes; such RTP that no SDP maps is not measured. So is such RTP on
 * ports a call without that payload type has just left. `rtpprobe run` from dist/ on lo, SIP and RTP sent
 * by python3.
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

/**
 * `rtpprobe run` on lo with `workers` media workers, SIP on `sipPort`, UDP between ports base..last
 * captured, `capture` lines added to its capture section, while python3 runs `sender` with `args`; stopped
 * once the capture received `sent` packets. Its reports ending each stream, as `src>dst Call-ID packets/expected`,
 * and its log.
 */
async function probeWhileSending(o: { dir: string; workers: number; base: number; last: number; sipPort: number; capture?: string; sender: string; args: string[]; sent: number }): Promise<{ seen: string[]; log: string }> {
  const jsonl = join(o.dir, `w${o.workers}.jsonl`);
  const cfg = join(o.dir, `w${o.workers}.yaml`);
  writeFileSync(cfg, `capture:\n  workers: ${o.workers}\n${o.capture ?? ''}sip:\n  ports: [${o.sipPort}]\nreports:\n  interval_s: 3600\n  send_rtcp: false\n  jsonl:\n    enabled: true\n    path: ${jsonl}\n`);
  const probe = await startProbe(cli, ['-i', 'lo', '-f', `udp and src portrange ${o.base}-${o.last} and dst portrange ${o.base}-${o.last}`, '-c', cfg, '--no-hep']);
  try {
    const sender = spawnSync('python3', ['-c', o.sender, ...o.args], { encoding: 'utf8' });
    expect(sender.stdout, sender.stderr).toContain('sent');
    let text = '';
    const received = () => Number(/^rtpprobe_capture_packets_received_total\{interface="lo"\} (\S+)$/m.exec(text)?.[1] ?? NaN);
    expect(
      await until(async () => {
        text = await (await fetch(`http://127.0.0.1:${probe.metricsPort}/metrics`)).text();
        return received() >= o.sent;
      }, 30_000),
      text,
    ).toBe(true);
  } finally {
    probe.child.kill('SIGTERM');
  }
  expect(await probe.exit, probe.log()).toBe(0);
  const seen = [...streamEndings(jsonl).values()].flat().map((r) => `${r.SRC_PORT}>${r.DST_PORT} ${r.CORRELATION_ID} ${r.TOTAL_PK}/${r.EXPECTED_PK}`).sort();
  return { seen, log: probe.log() };
}

describe.skipIf(!canRun)('RTP of payload type 88 mapped by an SDP, right behind its SIP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-reserved-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([1, 2])('capture.workers %i: every packet of every stream measured, with its Call-ID', async (workers) => {
    const base = await takePorts(4 * CALLS + 4);
    const tag = `${process.pid}w${workers}`;
    const { seen, log } = await probeWhileSending({
      dir, workers, base, last: base + 4 * CALLS + 3, sipPort: base + 4 * CALLS,
      sender: SENDER, args: [String(base), String(CALLS), String(PACKETS), tag], sent: 2 * CALLS * (PACKETS + 1) + PACKETS,
    });
    const want: string[] = [];
    for (let i = 0; i < CALLS; i++) {
      const [pa, pb] = [base + 4 * i, base + 4 * i + 2];
      want.push(`${pa}>${pb} reserved-${tag}-${i}@probe.test ${PACKETS}/${PACKETS}`, `${pb}>${pa} reserved-${tag}-${i}@probe.test ${PACKETS}/${PACKETS}`);
    }
    // The flow no SDP maps is no RTP (RTCP's payload types), in both modes.
    expect(seen, log).toEqual(want.sort());
  });
});

/**
 * A port pool coming round: call 0 (PCMA) ends by BYE, and 300 ms later a call with PT 88 takes the same
 * addresses while call 0's bindings linger there (sip.media_linger_s); its RTP follows its 200 OK at once,
 * PACKETS each way, 4 ms apart. One thread has the new SDP before that RTP; a media worker has only call
 * 0's bindings, which do not map 88, until the new ones come a few buffer timeouts later.
 */
const REUSE_SENDER = String.raw`
import socket, sys, time
base, calls, packets, tag = int(sys.argv[1]), 1, int(sys.argv[2]), sys.argv[3].encode()
${PY_SIP}
first = b'reuse-pcma-%s@probe.test' % tag
a, pa, b, pb = call(0, first, 8)
for k in range(packets):
    rtp(a, pb, 0x1000, k); rtp(b, pa, 0x2000, k); time.sleep(0.004)
sip.sendto(msg(b'BYE sip:b@127.0.0.1 SIP/2.0', first, b'', b';tag=tb'), ('127.0.0.1', sip_port))
time.sleep(0.3)
second = b'reuse-pt88-%s@probe.test' % tag
sip.sendto(msg(b'INVITE sip:b@127.0.0.1 SIP/2.0', second, sdp(pa, 88)), ('127.0.0.1', sip_port))
sip.sendto(msg(b'SIP/2.0 200 OK', second, sdp(pb, 88), b';tag=tb'), ('127.0.0.1', sip_port))
for k in range(packets):
    rtp(a, pb, 0x3000, k, 88); rtp(b, pa, 0x4000, k, 88); time.sleep(0.004)
print('sent', flush=True)
`;

describe.skipIf(!canRun)('RTP of payload type 88 on ports a PCMA call just left', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-reserved-reuse-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([1, 2])('capture.workers %i: every packet of the new call measured, with its Call-ID', async (workers) => {
    const base = await takePorts(8);
    const tag = `${process.pid}w${workers}`;
    // Buffer timeouts of 300 ms: the new call's bindings reach its worker well after its RTP did.
    const { seen, log } = await probeWhileSending({
      dir, workers, base, last: base + 7, sipPort: base + 4, capture: '  buffer_timeout_ms: 300\n',
      sender: REUSE_SENDER, args: [String(base), String(PACKETS), tag], sent: 4 * PACKETS + 5,
    });
    const [pa, pb] = [base, base + 2];
    const want = [`reuse-pcma-${tag}@probe.test`, `reuse-pt88-${tag}@probe.test`].flatMap((id) => [`${pa}>${pb} ${id} ${PACKETS}/${PACKETS}`, `${pb}>${pa} ${id} ${PACKETS}/${PACKETS}`]);
    expect(seen, log).toEqual(want.sort());
  });
});
