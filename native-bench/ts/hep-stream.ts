/**
 * What a HEP TCP/TLS collector's per-message path costs: `--messages` QoS-report-sized messages (1 KB)
 * through HepSender to a receiver in another process that reads everything, as fast as room() allows,
 * until settled() (every message written and, where the kernel's counts are read, acknowledged). Timed as
 * CPU time of this thread (the event loop: enqueue, flush, write callbacks, acknowledgement readings) and
 * wall time. `--module` loads another build of src/hep (an esbuild bundle of another commit's
 * src/hep/index.ts) to compare both in the same run.
 * Run: node native-bench/out/hep-stream.js [--messages 300000] [--rate 20000] [--module /path/hep.mjs]
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { argNumber } from './args.js';
import { threadCpuNs } from './pipeline.js';

const MESSAGES = argNumber('messages', 300_000);
/** Messages per second, sent in batches every 10 ms; 0 = as fast as room() allows. */
const RATE = argNumber('rate', 0);
const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const modulePath = argValue('module');
const hep = (await import(modulePath === undefined ? '../../dist/hep/index.js' : pathToFileURL(modulePath).href)) as typeof import('../../dist/hep/index.js');

const RECEIVER = `
const net = require('node:net');
const s = net.createServer((c) => { c.on('error', () => {}); c.resume(); });
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
`;
const rx = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = Number((await createInterface({ input: rx.stdout })[Symbol.asyncIterator]().next()).value);

const sender = new hep.HepSender({ captureId: 1, collectors: [{ host: '127.0.0.1', port, transport: 'tcp', queueSize: 4000 }] });
const payload = JSON.stringify({ TYPE: 'PERIODIC', MOS: 4.39, PAD: 'x'.repeat(900) });
const msg = (i: number) => ({
  ipFamily: 4 as const, ipProto: 17, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 4000, dstPort: 5000, tsSec: 1_700_000_000, tsUsec: i % 1_000_000,
  protoType: hep.HepProtoType.QOS_REPORT, correlationId: 'call-1@probe', payload,
});
while (!sender.stats().collectors[0]!.connected) await new Promise((r) => setTimeout(r, 5));

async function run(n: number): Promise<void> {
  const batch = RATE > 0 ? Math.max(1, Math.round(RATE / 100)) : n;
  for (let i = 0; i < n; ) {
    for (const end = Math.min(n, i + batch); i < end; i++) {
      sender.send(msg(i));
      const wait = sender.room();
      if (wait !== null) await wait;
    }
    if (RATE > 0) await new Promise((r) => setTimeout(r, 10));
  }
  await sender.settled();
}

await run(20_000); // warm-up
const cpu0 = threadCpuNs();
const t0 = process.hrtime.bigint();
await run(MESSAGES);
const cpuNs = threadCpuNs() - cpu0;
const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
const c = sender.stats().collectors[0]!;
console.log(JSON.stringify({ module: modulePath ?? 'dist', messages: MESSAGES, rate: RATE, cpuNsPerMessage: +(cpuNs / MESSAGES).toFixed(1), wallMs: Math.round(wallMs), sent: c.sent, failed: c.failed, dropped: c.dropped }));
await sender.close(1000);
rx.kill();
