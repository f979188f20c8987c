import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../wait.js';
import { compareToReference, isRoot, sendUdp, sleep, Tcpdump, testFanoutGroup, testPort, type SeenPacket } from './helpers.js';

const srcDir = fileURLToPath(new URL('../../src/capture/', import.meta.url));
const addonPath = fileURLToPath(new URL('../../src/capture/native/build/Release/rtpprobe_pcap.node', import.meta.url));
let outDir = '';

/** Worker threads run plain JavaScript: transpile src/capture/live (+ batch.ts) into a temp ESM tree. */
function transpileLiveModule(): string {
  const root = mkdtempSync(join(tmpdir(), 'rtpprobe-live-worker-'));
  writeFileSync(join(root, 'package.json'), '{"type":"module"}');
  const files = ['batch.ts', ...readdirSync(join(srcDir, 'live')).map((f) => `live/${f}`)];
  for (const f of files) {
    if (!f.endsWith('.ts')) continue;
    const js = ts.transpileModule(readFileSync(join(srcDir, f), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const out = join(root, 'capture', f.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, js);
  }
  // The worker: opens a capture, says ready, drains until told to stop, posts what it saw.
  writeFileSync(
    join(root, 'worker.js'),
    `
import { parentPort, workerData } from 'node:worker_threads';
import { openLiveCapture } from './capture/live/index.js';
const src = await openLiveCapture({ interface: 'lo', backend: 'auto', filter: workerData.filter, fanoutGroup: workerData.group });
const seen = [];
parentPort.on('message', (m) => {
  if (m === 'stop') src.close();
  else if (m === 'count') parentPort.postMessage({ count: seen.length });
});
parentPort.postMessage({ ready: true, backend: src.backend });
if (workerData.leaveOpen) { setInterval(() => {}, 1000); } else {
  for await (const b of src.batches()) {
    for (let i = 0; i < b.count; i++) {
      seen.push({
        key: Buffer.from(b.buf.subarray(b.offset[i], b.offset[i] + b.caplen[i])).toString('hex'),
        tsNs: BigInt(b.tsSec[i]) * 1000000000n + BigInt(b.tsNsec[i]),
        caplen: b.caplen[i], wirelen: b.wirelen[i], linkType: b.linkType[i],
      });
    }
  }
  parentPort.postMessage({ seen, stats: src.stats() });
}
`,
  );
  return root;
}

function startWorker(data: { filter: string; group?: number; leaveOpen?: boolean }): Promise<Worker> {
  const w = new Worker(join(outDir, 'worker.js'), {
    workerData: data,
    env: { ...process.env, RTPPROBE_PCAP_ADDON: addonPath },
  });
  return new Promise((resolve, reject) => {
    w.once('error', reject);
    w.once('message', (m: { ready: boolean; backend: string }) => {
      expect(m.backend).toBe('pcap');
      resolve(w);
    });
  });
}

/** Packets the worker has seen so far. */
function countSeen(w: Worker): Promise<number> {
  return new Promise((resolve) => {
    const on = (m: { count?: number }) => {
      if (m.count === undefined) return;
      w.off('message', on);
      resolve(m.count);
    };
    w.on('message', on);
    w.postMessage('count');
  });
}

function stopWorker(w: Worker): Promise<{ seen: SeenPacket[]; stats: { received: number; kernelReceived: number } }> {
  return new Promise((resolve, reject) => {
    w.once('error', reject);
    w.once('message', (m) => resolve(m));
    w.postMessage('stop');
  });
}

describe.skipIf(!isRoot)('live capture inside worker_threads (pcap addon)', () => {
  beforeAll(() => {
    outDir = transpileLiveModule();
  });
  afterAll(() => {
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('two workers in one fanout group capture every packet once, with tcpdump-equal timestamps', async () => {
    const port = testPort();
    const filter = `udp port ${port}`;
    const td = new Tcpdump();
    await td.start(filter);
    const group = await testFanoutGroup();
    const workers = await Promise.all([startWorker({ filter, group }), startWorker({ filter, group })]);
    await sendUdp(port, 600, 30, 16);
    // Both have every packet before they stop (the last block retires on the buffer timeout, later on a
    // loaded machine; tcpdump writes each packet as it comes).
    const counted = async () => (await Promise.all(workers.map(countSeen))).reduce((a, n) => a + n, 0);
    expect(await until(async () => (await counted()) >= 600 && td.records() >= 600)).toBe(true);
    const results = await Promise.all(workers.map(stopWorker));
    await Promise.all(workers.map((w) => w.terminate()));
    const ref = await td.stop();
    expect(ref.length).toBe(600);
    const all = results.flatMap((r) => r.seen);
    for (const r of results) {
      expect(r.seen.length).toBeGreaterThan(0);
      expect(r.stats.received).toBe(r.seen.length);
    }
    // On loopback each packet reaches the group's rings once, as received: queued as sent too, the kernel
    // would count all 600 twice. (Other traffic on lo that reached a socket before its filter was attached
    // adds a few to the kernel's count, filtered out by libpcap.)
    const kernelCounted = results.reduce((n, r) => n + r.stats.kernelReceived, 0);
    expect(kernelCounted - 600, JSON.stringify(results.map((r) => r.stats))).toBeLessThan(300);
    const cmp = compareToReference(all, ref);
    expect(cmp).toMatchObject({ matched: 600, onlyOurs: 0, onlyRef: 0 });
    expect(Number(cmp.maxDiffNs)).toBeLessThan(100_000);
  });

  it('a worker terminated with its capture still open tears down cleanly (env cleanup hook)', async () => {
    // Once idle with the capture open, once blocked waiting for readiness (uv poll + timer armed).
    for (const leaveOpen of [true, false]) {
      const w = await startWorker({ filter: `udp port ${testPort()}`, leaveOpen });
      await sleep(50);
      const code = await w.terminate();
      expect(code).toBe(1); // terminate()'s exit code; the process survived to read it
    }
    // The parent can still capture afterwards.
    const again = await startWorker({ filter: `udp port ${testPort()}` });
    const r = await stopWorker(again);
    expect(r.stats.received).toBe(0);
    await again.terminate();
  });
});
