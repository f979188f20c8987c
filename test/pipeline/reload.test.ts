import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeHep3Strict } from '../../src/hep/index.js';
import { defaultConfig, type ProbeConfig } from '../../src/ops/config.js';
import { openOutputs } from '../../src/pipeline/index.js';
import { ReportScheduler } from '../../src/report/index.js';
import { until } from '../wait.js';

// SIGHUP applies new collectors and thresholds without touching streams: checked with real UDP receivers.
async function receiver(): Promise<{ sock: Socket; port: number; got: string[] }> {
  const sock = createSocket('udp4');
  const got: string[] = [];
  sock.on('message', (m) => got.push(decodeHep3Strict(m).correlationId));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { sock, port: sock.address().port, got };
}

function withCollector(port: number): ProbeConfig {
  const c = defaultConfig();
  c.hep.collectors = [{ ...c.hep.collectors[0], host: '127.0.0.1', port, transport: 'udp' }];
  return c;
}

const env = { ipVersion: 4, srcIp: '10.0.0.1', srcPort: 4000, dstIp: '10.0.0.2', dstPort: 5000, tsMs: 1_700_000_000_000 };

describe('configuration reload', () => {
  const sockets: Socket[] = [];
  afterAll(() => sockets.forEach((s) => s.close()));

  it('moves reports to the new collectors and drains the old ones', async () => {
    const a = await receiver();
    const b = await receiver();
    sockets.push(a.sock, b.sock);
    const outputs = openOutputs(withCollector(a.port));
    outputs.sink.qos({ CORRELATION_ID: 'before', TYPE: 'PERIODIC', MOS: 4.1 }, env, true, false);
    await until(() => a.got.length === 1);
    await outputs.reload(withCollector(b.port), 1000);
    outputs.sink.qos({ CORRELATION_ID: 'after', TYPE: 'PERIODIC', MOS: 4.1 }, env, true, false);
    await until(() => b.got.length === 1);
    await outputs.close(1000);
    expect(a.got).toEqual(['before']);
    expect(b.got).toEqual(['after']);
  });

  it('an output that cannot be reopened keeps running; the others still change', async () => {
    const a = await receiver();
    const b = await receiver();
    sockets.push(a.sock, b.sock);
    const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-reload-'));
    const first = withCollector(a.port);
    first.reports.jsonl = { enabled: true, path: join(dir, 'r.jsonl') };
    const outputs = openOutputs(first);
    const jsonl = outputs.list.find((o) => o.name === 'jsonl');
    const next = withCollector(b.port);
    next.reports.jsonl = { enabled: true, path: join(dir, 'missing', 'r.jsonl') };
    await outputs.reload(next, 1000);
    expect(outputs.list.find((o) => o.name === 'jsonl')).toBe(jsonl);
    outputs.sink.qos({ CORRELATION_ID: 'kept', TYPE: 'PERIODIC', MOS: 4.1 }, env, true, true);
    await until(() => b.got.length === 1);
    await outputs.close(1000);
    expect(b.got).toEqual(['kept']);
    expect(readFileSync(join(dir, 'r.jsonl'), 'utf8')).toContain('"kept"');
    rmSync(dir, { recursive: true, force: true });
  });

  it('swaps threshold rules, and refuses an invalid set without changing the running one', () => {
    const s = new ReportScheduler({ baseIntervalS: 10, rules: [{ name: 'old', when: 'mos < 3', intervalS: 2 }] }, 4);
    s.reconfigure({ baseIntervalS: 5, rules: [{ name: 'new', when: 'loss_pct > 1', intervalS: 1 }] });
    expect(s.rules.map((r) => r.name)).toEqual(['new']);
    expect(s.baseIntervalS).toBe(5);
    expect(() => s.reconfigure({ baseIntervalS: 5, rules: [{ name: 'bad', when: 'moss <', intervalS: 1 }] })).toThrow(/bad/);
    expect(s.rules.map((r) => r.name)).toEqual(['new']);
  });
});
