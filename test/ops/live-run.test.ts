/**
 * A live run an operator can watch, as a user runs it: a real probe (`replay --realtime --metrics`, the
 * CLI from dist/ in a child process) on a capture made by the project's generator, with an alert rule
 * that fires on its lossy calls. Checked from outside: the JSON API, the per-rule metrics, the log lines
 * (calls, alerts started and cleared), and `rtpprobe top` both as a one-shot print and in a real
 * pseudo-terminal (python's pty) driven by keys. The LiveState itself is checked on hand-made reports.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveState, type AlertEvent, type TrackedCall } from '../../src/ops/live-state.js';
import type { QosReport } from '../../src/report/index.js';
import { until } from '../wait.js';
import { liveApi } from '../live-api.js';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const built = existsSync(cli);

function report(type: string, fields: Partial<QosReport> = {}): QosReport {
  return {
    TYPE: type,
    CORRELATION_ID: 'c1@test',
    SYNTHETIC_ID: 0,
    SRC_IP: '10.0.0.1',
    SRC_PORT: 4000,
    DST_IP: '10.0.0.2',
    DST_PORT: 5000,
    SSRC: 0xabc,
    CODEC_NAME: 'pcma',
    TOTAL_PK: 100,
    EXPECTED_PK: 100,
    PACKET_LOSS: 0,
    JITTER: 1,
    MAX_JITTER: 2,
    MOS: 4.4,
    MIN_MOS: 4.4,
    MEAN_MOS: 4.4,
    RTP_START: 1000,
    REPORT_TS: 1010,
    ...fields,
  };
}

describe('LiveState', () => {
  it('sums interval reports per stream, tracks rules firing, and clears them when the stream ends', () => {
    const events: AlertEvent[] = [];
    const intervals: number[] = [];
    const live = new LiveState({ onAlert: (e) => events.push(e), onInterval: (r) => intervals.push(Number(r.MOS)) });
    live.observe(report('PERIODIC'));
    live.observe(report('PERIODIC', { TOTAL_PK: 90, PACKET_LOSS: 10, MOS: 3.1, MIN_MOS: 3.1 }));
    live.observe(report('ALERT', { ALERT_RULE: 'lossy', MOS: 3.1 }));
    live.observe(report('ALERT', { ALERT_RULE: 'lossy' })); // a repeat changes nothing
    live.observe(report('PERIODIC', { SRC_PORT: 4002, CORRELATION_ID: 'c2@test', MOS: 4.2 }));
    const [worst, other] = live.streams();
    expect(worst).toMatchObject({ callId: 'c1@test', packets: 190, expected: 200, lost: 10, lossPct: 5, mos: 3.1, alerts: ['lossy'], ssrc: '0x00000ABC', src: '10.0.0.1:4000' });
    expect(other.callId).toBe('c2@test');
    expect(intervals).toEqual([4.4, 3.1, 4.2]); // ALERT repeats its PERIODIC's interval: observed once
    expect(live.firing()).toEqual(new Map([['lossy', 1]]));
    expect(live.summary()).toMatchObject({ streams: 2, alertsFiring: 1, worstMos: 3.1, worstCallId: 'c1@test' });

    live.observe(report('CLEARED', { ALERT_RULE: 'lossy' }));
    expect(live.firing().size).toBe(0);
    live.observe(report('ALERT', { ALERT_RULE: 'lossy' }));
    live.collectFinals(50);
    live.observe(report('HANGUP', { MOS: 3.5, MIN_MOS: 3.1 }));
    expect(events.map((e) => `${e.event}:${e.reason}`)).toEqual(['ALERT:rule', 'CLEARED:rule', 'ALERT:rule', 'CLEARED:stream-ended']);
    expect(live.fired().get('lossy')).toBe(2);
    expect(live.streamCount).toBe(1);
    const finals = live.takeFinals();
    expect(finals.count).toBe(1);
    expect(finals.worst.map((r) => r.TYPE)).toEqual(['HANGUP']);
    expect(live.takeEndedCall('c1@test')).toEqual({ worstMos: 3.1, streams: 1 });
  });

  it('keeps for the stop table the worst final reports, as sorting them all by MOS would, and counts them all', () => {
    const live = new LiveState();
    live.collectFinals(50);
    const all: QosReport[] = [];
    for (let i = 0; i < 2000; i++) {
      // Few distinct MOS values (ties keep their order), and streams never scored (MOS 0) go last.
      const r = report(i % 2 ? 'FINAL' : 'HANGUP', { SRC_PORT: 10000 + i, MOS: i % 7 === 0 ? 0 : 1 + ((i * 37) % 41) / 10 });
      all.push(r);
      live.observe(r);
    }
    const key = (r: QosReport) => (Number(r.MOS) > 0 ? Number(r.MOS) : 99);
    const { worst, count } = live.takeFinals();
    expect(count).toBe(2000);
    expect(worst.map((r) => r.SRC_PORT)).toEqual([...all].sort((a, b) => key(a) - key(b)).slice(0, 50).map((r) => r.SRC_PORT));
    expect(live.takeFinals()).toEqual({ worst: [], count: 0 });
  });

  it('lists SIP calls with their streams, calls without SIP under their synthetic id, worst first', () => {
    const live = new LiveState();
    const calls: TrackedCall[] = [
      { callId: 'good@x', state: 'confirmed', createdMs: 1_000_000, lastMs: 1_030_000, endReason: null, endStatus: 0, lingering: null, pendingInvites: [] },
      { callId: 'quiet@x', state: 'early', createdMs: 1_010_000, lastMs: 1_010_000, endReason: null, endStatus: 0, lingering: null, pendingInvites: [] },
    ];
    live.setCallSource({ forEach: (fn) => calls.forEach(fn) });
    live.observe(report('PERIODIC', { CORRELATION_ID: 'good@x', MOS: 4.3, REPORT_TS: 1040 }));
    live.observe(report('PERIODIC', { CORRELATION_ID: 'good@x', SRC_PORT: 4002, MOS: 3.9, PACKET_LOSS: 3 }));
    live.observe(report('PERIODIC', { CORRELATION_ID: 'ffff0001-synthetic', SYNTHETIC_ID: 1, SRC_PORT: 6000, MOS: 2.5 }));
    const list = live.callList();
    expect(list.map((c) => [c.callId, c.state, c.streams, c.worstMos])).toEqual([
      ['ffff0001-synthetic', 'no-sip', 1, 2.5],
      ['good@x', 'confirmed', 2, 3.9],
      ['quiet@x', 'early', 0, 0],
    ]);
    expect(list[1].durationS).toBe(40); // capture time: from its INVITE to the latest report seen
    expect(live.summary().calls).toBe(2);
  });
});

/**
 * Runs `rtpprobe top` in a pseudo-terminal of 140x30: waits (up to 20 s) for a call row, presses `s`,
 * waits for the stream list, presses `q`, and prints each screen's bytes and the exit code.
 */
const PTY_DRIVER = String.raw`
import os, pty, sys, time, select, struct, fcntl, termios
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 30, 140, 0, 0))
out = b''
def read_until(pattern, seconds):
    global out
    end = time.time() + seconds
    while time.time() < end and pattern not in out:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try: out += os.read(fd, 65536)
            except OSError: return
read_until(b'rtpprobe.gen', 20)
sys.stdout.buffer.write(b'=====CALLS=====\n' + out); out = b''
os.write(fd, b's')
read_until(b'SSRC', 10)
read_until(b'rtpprobe.gen', 5)
sys.stdout.buffer.write(b'\n=====STREAMS=====\n' + out); out = b''
os.write(fd, b'q')
read_until(b'\x1b[?1049l', 10)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out + b'\n=====EXIT %d=====\n' % os.waitstatus_to_exitcode(status))
`;

describe.skipIf(!built)('a realtime replay watched through the API and rtpprobe top', () => {
  let dir: string;
  let out = '';
  let child: ReturnType<typeof spawn>;
  let exit: Promise<number | null>;
  let base = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rtpprobe-live-'));
    // 4 calls of 40 s starting 1 s apart (long enough for the checks below on a loaded machine), 8 % bursty loss: the mean MOS of every stream stays below the rule's 4.2.
    const gen = spawnSync(process.execPath, [join(root, 'dist/gen/scenario-cli.js'), join(dir, 'calls.pcap'), '--calls', '4', '--concurrent', '40', '--call-duration', '40', '--loss', '8', '--burst', '40', '--jitter', '20', '--seed', '7'], { encoding: 'utf8' });
    expect(gen.status, gen.stderr).toBe(0);
    child = spawn(
      process.execPath,
      [cli, 'replay', join(dir, 'calls.pcap'), '--realtime', '--metrics', '--no-hep', '--log-format', 'json', '--set', 'metrics.port=0', '--set', 'reports.interval_s=1', '--rule', 'name=lossy;when=mean_mos < 4.2;interval_s=1'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    exit = new Promise((r) => child.on('exit', (code) => r(code)));
    expect(await until(() => out.includes('metrics and health endpoint listening') || child.exitCode !== null, 150_000), out).toBe(true);
    const line = out.split('\n').find((l) => l.includes('metrics and health endpoint listening'))!;
    base = `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`;
  }, 200_000);

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the calls and streams with current numbers, worst first, and per-rule series', async () => {
    let streams: Array<{ mos: number; packets: number; callId: string }> = [];
    expect(
      await until(async () => {
        const r = await liveApi<{ streams: typeof streams }>(`${base}/api/streams`);
        streams = r?.streams ?? [];
        return streams.length === 8 && streams.every((s) => s.mos > 0);
      }, 40_000),
      JSON.stringify(streams),
    ).toBe(true);
    const mos = streams.map((s) => s.mos);
    expect(mos).toEqual([...mos].sort((a, b) => a - b));
    expect(streams.every((s) => /^scn\d+-\d@rtpprobe\.gen$/.test(s.callId) && s.packets > 0)).toBe(true);
    const calls = (await (await fetch(`${base}/api/calls?limit=2`)).json()) as { summary: { calls: number; streams: number }; calls: Array<{ callId: string; state: string; streams: number }> };
    expect(calls.calls.length).toBe(2);
    expect(calls.calls[0]).toMatchObject({ state: 'confirmed', streams: 2 });
    expect(calls.summary).toMatchObject({ calls: 4, streams: 8 });
    expect((await fetch(`${base}/api/calls?limit=0`)).status).toBe(400);

    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^rtpprobe_alerts_firing\{rule="lossy"\} \d+$/m);
    expect(text).toMatch(/^rtpprobe_alerts_fired_total\{rule="lossy"\} [1-9]\d*$/m);
    expect(Number(/^rtpprobe_stream_mos_count (\d+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(8); // per interval, before any stream ended
    expect(Number(/^rtpprobe_packets_total\{protocol="rtp"\} (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(0);
  }, 90_000);

  it('rtpprobe top --once prints the call list worst first; in a terminal it redraws and obeys its keys', async () => {
    const once = spawnSync(process.execPath, [cli, 'top', '--url', base, '--once'], { encoding: 'utf8' });
    expect(once.status, once.stderr).toBe(0);
    const lines = once.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^rtpprobe top .* calls \d +streams \d +worst MOS \d\.\d\d +alerts \d/);
    const rows = lines.slice(lines.findIndex((l) => l.includes('Call-ID')) + 1);
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.every((r) => /scn\d+-\d@rtpprobe\.gen$/.test(r))).toBe(true);
    const callMos = rows.map((r) => Number(r.trim().split(/\s+/)[0]));
    expect(callMos).toEqual([...callMos].sort((a, b) => a - b));
    // host:port, as --hep takes an address, is the same endpoint.
    const bare = spawnSync(process.execPath, [cli, 'top', '--url', base.replace(/^http:\/\//, ''), '--once'], { encoding: 'utf8' });
    expect(bare.stderr).toBe('');
    expect(bare.status).toBe(0);
    expect(bare.stdout.split('\n')[0]).toMatch(new RegExp(`^rtpprobe top  ${base.replace(/[.]/g, '\\.')} `));

    const pty = spawnSync('python3', ['-c', PTY_DRIVER, process.execPath, cli, 'top', '--url', base, '--interval', '0.5'], { encoding: 'utf8', timeout: 60_000 });
    const screen = pty.stdout;
    expect(screen, pty.stderr).toContain('=====EXIT 0=====');
    const [callsPart, streamsPart] = screen.split('=====STREAMS=====');
    expect(callsPart).toContain('\x1b[?1049h'); // the alternate screen, left again at exit
    expect(callsPart).toMatch(/MOS +State +Dur s +Streams/);
    expect(callsPart).toMatch(/scn\d+-\d@rtpprobe\.gen/);
    expect(streamsPart).toMatch(/MOS +Min +Src +Dst +SSRC +Codec +Pkts/);
    expect(streamsPart).toContain('\x1b[?1049l');
  }, 90_000);

  it('logs each call started and ended, and each alert started and cleared, then exits 0', async () => {
    expect(await exit).toBe(0);
    const lines = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; callId?: string; rule?: string; reason?: string; worstMos?: number });
    const started = lines.filter((l) => l.msg === 'call started').map((l) => l.callId);
    const ended = lines.filter((l) => l.msg === 'call ended');
    expect(new Set(started).size, out).toBe(4);
    expect(new Set(ended.map((l) => l.callId)), out).toEqual(new Set(started));
    expect(ended.every((l) => l.reason === 'bye' && (l.worstMos ?? 0) > 0), JSON.stringify(ended)).toBe(true);
    const alerts = lines.filter((l) => l.msg === 'alert lossy started');
    const cleared = lines.filter((l) => l.msg.startsWith('alert lossy cleared'));
    expect(alerts.length).toBeGreaterThan(0);
    // The mean MOS stays low: each stream's alert starts once and clears when its stream ends.
    expect(alerts.length).toBe(8);
    expect(cleared.length).toBe(8);
    expect(cleared.every((l) => l.reason === 'stream-ended')).toBe(true);
  }, 120_000);
});
