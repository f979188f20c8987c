import { request } from 'node:http';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { CaptureStats } from '../../src/capture/batch.js';
import { startMetricsServer, type MetricsServer } from '../../src/ops/http.js';
import { MOS_BUCKETS, ProbeMetrics } from '../../src/ops/metrics.js';
import { fetchTop } from '../../src/ops/top.js';

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Value of one sample line `name{labels} value` in Prometheus text. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('metrics endpoint on a real port', () => {
  it('serves /metrics with the pipeline counters, gauges pulled at scrape time and the MOS histogram', async () => {
    const m = new ProbeMetrics({ processMetrics: false });
    const stats: CaptureStats = { received: 1000, droppedKernel: 3, droppedInterface: 1 };
    m.addCaptureSource('eth1', () => stats);
    let streams = 12;
    m.setActiveStreams(() => streams);
    m.setActiveCalls(() => 6);
    const table = { evictedUnconfirmed: 7, heldBack: 40 };
    m.setStreamTable(() => table);
    m.setQueueDepth('udp://127.0.0.1:9060', () => 42);
    m.decodeError('truncated-udp', 2);
    m.addPackets('rtp', 900);
    m.addPackets('sip', 10);
    m.streamStarted(12);
    m.streamEnded('timeout', 2);
    m.streamEvicted();
    m.reportSent('udp://127.0.0.1:9060', 5);
    m.reportFailed('udp://127.0.0.1:9060');
    m.reportDropped('udp://127.0.0.1:9060', 3);
    m.setNotUsed(() => [['rtp_not_measured', 7], ['srtcp', 2]]);
    m.observeMos(4.41);
    m.observeMos(2.2);
    m.setCaptureState('running');
    server = await startMetricsServer(m, { listen: '127.0.0.1', port: 0 });
    expect(server.port).toBeGreaterThan(0);

    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    let text = await res.text();
    const c = '{collector="udp://127.0.0.1:9060"}';
    expect(sample(text, 'rtpprobe_capture_packets_received_total', '{interface="eth1"}')).toBe(1000);
    expect(sample(text, 'rtpprobe_capture_packets_dropped_kernel_total', '{interface="eth1"}')).toBe(3);
    expect(sample(text, 'rtpprobe_capture_packets_dropped_interface_total', '{interface="eth1"}')).toBe(1);
    expect(sample(text, 'rtpprobe_decode_errors_total', '{reason="truncated-udp"}')).toBe(2);
    expect(sample(text, 'rtpprobe_packets_total', '{protocol="rtp"}')).toBe(900);
    expect(sample(text, 'rtpprobe_streams_active')).toBe(12);
    expect(sample(text, 'rtpprobe_calls_active')).toBe(6);
    expect(sample(text, 'rtpprobe_streams_started_total')).toBe(12);
    expect(sample(text, 'rtpprobe_streams_ended_total', '{reason="timeout"}')).toBe(2);
    expect(sample(text, 'rtpprobe_streams_evicted_total')).toBe(1);
    expect(sample(text, 'rtpprobe_streams_evicted_unconfirmed_total')).toBe(7);
    expect(sample(text, 'rtpprobe_rtp_packets_held_back_total')).toBe(40);
    expect(sample(text, 'rtpprobe_reports_sent_total', c)).toBe(5);
    expect(sample(text, 'rtpprobe_reports_failed_total', c)).toBe(1);
    expect(sample(text, 'rtpprobe_reports_dropped_total', c)).toBe(3);
    expect(sample(text, 'rtpprobe_hep_queue_depth', c)).toBe(42);
    expect(sample(text, 'rtpprobe_packets_not_used_total', '{reason="rtp_not_measured"}')).toBe(7);
    expect(sample(text, 'rtpprobe_packets_not_used_total', '{reason="srtcp"}')).toBe(2);
    expect(sample(text, 'rtpprobe_stream_mos_count')).toBe(2);
    expect(sample(text, 'rtpprobe_stream_mos_bucket', '{le="2.5"}')).toBe(1);
    expect(sample(text, 'rtpprobe_stream_mos_bucket', '{le="4.5"}')).toBe(2);
    expect(MOS_BUCKETS[0]).toBe(1);
    expect(MOS_BUCKETS[MOS_BUCKETS.length - 1]).toBe(4.5);

    // The source's cumulative numbers grow; the counters follow without double counting. A gauge follows.
    stats.received = 1500;
    stats.droppedKernel = 10;
    streams = 3;
    table.heldBack = 45;
    text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    expect(sample(text, 'rtpprobe_rtp_packets_held_back_total')).toBe(45);
    expect(sample(text, 'rtpprobe_streams_evicted_unconfirmed_total')).toBe(7);
    expect(sample(text, 'rtpprobe_capture_packets_received_total', '{interface="eth1"}')).toBe(1500);
    expect(sample(text, 'rtpprobe_capture_packets_dropped_kernel_total', '{interface="eth1"}')).toBe(10);
    expect(sample(text, 'rtpprobe_streams_active')).toBe(3);
  });

  it('/healthz is 200 while capture runs and 503 once it failed; unknown paths are 404', async () => {
    const m = new ProbeMetrics({ processMetrics: false });
    server = await startMetricsServer(m, { listen: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${server.port}`;
    m.setCaptureState('running');
    let res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; uptime_s: number; capture: { running: boolean } };
    expect(body.status).toBe('ok');
    expect(body.capture.running).toBe(true);
    expect(body.uptime_s).toBeGreaterThanOrEqual(0);
    m.setCaptureState('failed');
    res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { capture: { running: boolean } }).capture.running).toBe(false);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it('on a loopback address it answers loopback Host names only (DNS rebinding: a web page reading the calls through the browser)', async () => {
    const get = (port: number, host: string | undefined) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/api/calls', headers: host === undefined ? {} : { host }, setHost: host !== undefined }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d)).on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject).end();
      });
    const m = new ProbeMetrics({ processMetrics: false });
    m.setCaptureState('starting');
    server = await startMetricsServer(m, { listen: '127.0.0.1', port: 0 });
    const { port } = server;
    const refused = await get(port, `rebind.attacker.example:${port}`);
    expect(refused.status).toBe(421);
    expect(JSON.parse(refused.body)).toEqual({ error: `this endpoint listens on 127.0.0.1 and answers requests for a loopback host only, not "rebind.attacker.example:${port}": use http://127.0.0.1:PORT (or set metrics.listen to expose it)` });
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'LOCALHOST', `${hostname()}:${port}`]) expect((await get(port, host)).status, String(host)).toBe(503); // served: starting
    await server.close();
    // Exposed on purpose: any Host.
    server = await startMetricsServer(m, { listen: '0.0.0.0', port: 0 });
    expect((await get(server.port, 'probe1.example.net')).status).toBe(503);
  });

  it('/api/calls before capture opens (an interface down at start): top says what health says, in one line', async () => {
    const m = new ProbeMetrics({ processMetrics: false });
    m.setCaptureState('starting');
    m.setLink(() => ({ interface: 'eth9', state: 'admin-down', down: true, downS: 3 }));
    server = await startMetricsServer(m, { listen: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${server.port}`;
    const health = (await (await fetch(`${base}/healthz`)).json()) as { status: string };
    expect(health.status).toBe('capture interface down');
    await expect(fetchTop(base, 10)).rejects.toThrow(new Error(`HTTP 503: the probe is starting: capture is not open yet (${health.status})`));
  });

  it('/api/callreport: 404 when the live page is off, 503 until the probe attaches it or while it reloads, then its data', async () => {
    const off = new ProbeMetrics({ processMetrics: false });
    server = await startMetricsServer(off, { listen: '127.0.0.1', port: 0 });
    expect((await fetch(`http://127.0.0.1:${server.port}/api/callreport`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/api/streams`)).status).toBe(503); // no live state attached yet
    await server.close();
    const m = new ProbeMetrics({ processMetrics: false });
    server = await startMetricsServer(m, { listen: '127.0.0.1', port: 0, livePage: true });
    const url = `http://127.0.0.1:${server.port}/api/callreport`;
    expect((await fetch(url)).status).toBe(503);
    let snapshot: string | null = null;
    m.setCallPage(() => snapshot);
    expect((await fetch(url)).status).toBe(503);
    snapshot = JSON.stringify({ calls: [] });
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ calls: [] });
  });

  it('process metrics are included by default', async () => {
    const m = new ProbeMetrics();
    const text = await m.text();
    expect(text).toContain('rtpprobe_process_resident_memory_bytes');
  });

  it('a busy port is an error, not a hang', async () => {
    const m = new ProbeMetrics({ processMetrics: false });
    server = await startMetricsServer(m, { listen: '127.0.0.1', port: 0 });
    await expect(startMetricsServer(m, { listen: '127.0.0.1', port: server.port })).rejects.toThrow(/EADDRINUSE/);
  });
});
