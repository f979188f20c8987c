/**
 * SIP messages the call tracker does not use are counted by reason in the run summary (`sipMalformed`) and
 * in /metrics (`rtpprobe_sip_malformed_total{reason}`): a real replay of a capture with refused messages,
 * scraped while the realtime replay waits in a gap of its capture.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { rtp, sdpBody, sipRequest, text, udpFrame, writePcapFile } from '../../src/gen/index.js';
import { until } from '../wait.js';
import { root, startCli } from './helpers.js';

const cli = join(root, 'dist/cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'rtpprobe-sip-malformed-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it('the run summary and /metrics count the SIP messages not used, by reason', async () => {
  const T0 = 1_750_000_000_000_000_000n;
  const inv = (callId: string, port: number) =>
    udpFrame('10.0.0.1', 5060, '10.0.0.2', 5060, text(sipRequest('INVITE', 'sip:b@x', { callId, fromTag: 'a', cseq: 1, body: sdpBody({ ip: '10.0.0.1', media: [{ port, formats: [8] }] }) })));
  const noCallId = udpFrame('10.0.0.1', 5060, '10.0.0.2', 5060, text('INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n'));
  const file = join(tmp, 'refused.pcap');
  writePcapFile(file, [
    ...Array.from({ length: 3 }, (_, i) => ({ tsNs: T0 + BigInt(i), data: inv(`${i}-`.padEnd(1000, 'x'), 4000 + 2 * i) })),
    { tsNs: T0 + 5n, data: noCallId },
    { tsNs: T0 + 10n, data: inv('ok@x', 4100) },
    { tsNs: T0 + 100_000_000n, data: udpFrame('10.0.0.2', 30000, '10.0.0.1', 4100, rtp({ pt: 8, seq: 1, ts: 0, ssrc: 7 })) },
    // An hour later: the realtime replay waits here while /metrics is read.
    { tsNs: T0 + 3_600_000_000_000n, data: udpFrame('10.0.0.2', 30000, '10.0.0.1', 4100, rtp({ pt: 8, seq: 2, ts: 160, ssrc: 7 })) },
  ]);
  const p = startCli(cli, ['replay', file, '--realtime', '--no-hep', '--metrics', '--set', 'metrics.port=0', '--log-format', 'json']);
  try {
    let port = 0;
    expect(await until(() => ((port = Number(/"port":(\d+)[^\n]*metrics and health endpoint listening/.exec(p.out.stderr)?.[1] ?? 0)), port > 0), 30_000)).toBe(true);
    const want = { 'missing-call-id': 1, 'value-too-long': 3 };
    let scraped: Record<string, number> = {};
    const read = async () => {
      const body = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
      scraped = Object.fromEntries([...body.matchAll(/^rtpprobe_sip_malformed_total\{reason="([^"]+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
      return JSON.stringify(scraped) === JSON.stringify(want);
    };
    let done = false;
    expect(await until(() => (void read().then((d) => (done = d)), done), 30_000), JSON.stringify(scraped)).toBe(true);
    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
    const summary = p.out.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((l) => l.msg === 'run summary');
    expect(summary.sipMalformed).toEqual(want);
  } finally {
    p.child.kill('SIGKILL');
  }
}, 60_000);
