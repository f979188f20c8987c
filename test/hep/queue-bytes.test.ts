/**
 * A collector's queue is bounded by bytes as well as by count: while the collector is down, SIP sent as HEP
 * (hep.sip, on by default) in messages of up to 64 KB holds no more than the queue's count x 4 KiB, the
 * oldest dropped and counted, whatever the sizes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/ops/config.js';
import { defaultQueueSize, openHepOutput, QUEUE_BYTES_PER_MESSAGE } from '../../src/outbound/hep-output.js';
import { BoundedPacketQueue } from '../../src/hep/queue.js';
import { freePort } from './helpers.js';
import { waitFor } from '../wait.js';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

const log = { warn: () => {}, error: () => {}, info: () => {} };

describe('HEP queue bytes', () => {
  it('a collector down and 2,000 SIP messages of 60 KB: the queue keeps what fits in its bytes, drops the oldest and counts them', async () => {
    const config = defaultConfig();
    config.rtp.maxStreams = 5000; // a queue of 10,000 messages, 40 MiB
    config.hep.collectors = [{ ...config.hep.collectors[0]!, host: '127.0.0.1', port: await freePort(), transport: 'tcp' }];
    const out = openHepOutput(config, log)!;
    closers.push(() => out.close(0));
    await waitFor(() => out.sender.stats().collectors[0]!.connectFailures >= 1, 30_000, 'collector down');
    const sip = new Uint8Array(60_000).fill(0x41);
    const n = 2000;
    for (let i = 0; i < n; i++) {
      out.write({ kind: 'sip', bytes: sip, env: { ipVersion: 4, srcIp: '10.0.0.1', srcPort: 5060, dstIp: '10.0.0.2', dstPort: 5060, tsMs: 1_700_000_000_000 + i }, callId: `c${i}`, method: 'INVITE', statusCode: 0 });
    }
    const c = out.sender.stats().collectors[0]!;
    const maxBytes = defaultQueueSize(config.rtp.maxStreams) * QUEUE_BYTES_PER_MESSAGE;
    expect(c.queued * sip.length).toBeLessThanOrEqual(maxBytes);
    expect(c.queued).toBeGreaterThan(maxBytes / (sip.length + 200) - 1);
    expect(c.dropped).toBe(n - c.queued);
  });

  it('drop-oldest by count or by bytes, whichever is reached first', () => {
    const q = new BoundedPacketQueue(4, 1000);
    const b = (n: number, tag: number) => Buffer.alloc(n, tag);
    expect([q.push(b(100, 1)), q.push(b(100, 2)), q.push(b(100, 3)), q.push(b(100, 4)), q.push(b(100, 5))]).toEqual([0, 0, 0, 0, 1]);
    expect(q.push(b(900, 6))).toBe(3); // 4 x 100 + 900 > 1000: the three oldest go
    expect([q.size, q.bytes]).toEqual([2, 1000]);
    expect([q.shift()![0], q.shift()![0], q.shift()]).toEqual([5, 6, undefined]);
    expect(q.bytes).toBe(0);
  });
});
