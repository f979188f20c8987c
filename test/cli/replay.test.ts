/**
 * `rtpprobe replay` as users run it, in a child process: stdout carries only what was asked for, BPF
 * filters on files (counted against tcpdump -r), options before the files, the table's formats and
 * selections, and --realtime stopped by a real signal inside a one-hour gap of the capture.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, CAPTURES, childEnv, ourStreams, root, runCliSync, shell, startCli, tableRows } from './helpers.js';
import { until } from '../wait.js';
import { DecodedPacket, PacketDecoder, ProtocolCounter } from '../../src/decode/index.js';
import { pcapng, type PcapRecord } from '../../src/gen/index.js';

const CALL = join(CAPTURES, 'SIP_CALL_RTP_G711.pcap');
const LOSS = join(CAPTURES, 'synth/s03_loss.pcap');
const CLEAN = join(CAPTURES, 'synth/s01_clean.pcap');
const tmp = mkdtempSync(join(tmpdir(), 'rtpprobe-replay-'));
let bundle = '';
let bundleDir = '';

beforeAll(async () => {
  ({ bundle, dir: bundleDir } = await bundleCli());
});

/** Packets the pipeline read, from the JSON run summary on stderr. */
function summary(stderr: string): { packets: number; filteredOut?: number } {
  const line = stderr.split('\n').find((l) => l.includes('"run summary"'));
  expect(line, stderr).toBeDefined();
  return JSON.parse(line!) as { packets: number; filteredOut?: number };
}

describe('stdout carries only what was asked for', () => {
  it('replay FILE --jsonl - --no-hep | jq . : every stdout line is a report, the table goes to stderr', () => {
    const r = shell(bundle, `rtpprobe replay "${CALL}" --jsonl - --no-hep --log-level warn | jq -c .`);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(5);
    for (const l of lines) expect(JSON.parse(l)).toHaveProperty('TYPE');
    expect(r.stderr).toMatch(/^Src +Dst +SSRC/m);
  });

  it('--table-out puts the table in a file; --table-out - with --jsonl - is refused', () => {
    const out = join(tmp, 'table.csv');
    const r = runCliSync(bundle, ['replay', CALL, '--jsonl', '-', '--no-hep', '--log-level', 'warn', '--table', 'csv', '--table-out', out]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(readFileSync(out, 'utf8').split('\n')[0]).toBe('Src,Dst,SSRC,Codec,Pkts,Lost,MaxDelta,MeanJit,MaxJit,MaxSkew,MOS,Call-ID');
    const nowhere = runCliSync(bundle, ['replay', CALL, '--table-out', join(tmp, 'no/such/dir/t.txt')]);
    expect(nowhere.status).toBe(2);
    expect(nowhere.stderr).toBe(`rtpprobe: --table-out ${join(tmp, 'no/such/dir/t.txt')}: the directory ${join(tmp, 'no/such/dir')} does not exist: create it or name a file in an existing directory\n`);
    const both = runCliSync(bundle, ['replay', CALL, '--jsonl', '-', '--table-out', '-']);
    expect(both.status).toBe(2);
    expect(both.stderr).toBe('rtpprobe: --table-out - and --jsonl - both want standard output: send the table or the reports to a file\n');
  });
});

describe('a stream table that cannot be written', () => {
  /** The replay with standard output on `stdout` (a file descriptor); stderr collected. */
  const replayTo = (stdout: number, extra: string[] = []) =>
    spawnSync(process.execPath, [bundle, 'replay', CALL, '--no-hep', '--log-level', 'warn', ...extra], { env: childEnv(), encoding: 'utf8', stdio: ['ignore', stdout, 'pipe'] });

  it('standard output on a full disk (/dev/full): exit 5 and one line saying the table was not written', () => {
    const full = openSync('/dev/full', 'w');
    try {
      const r = replayTo(full);
      expect(r.status, r.stderr).toBe(5);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(JSON.parse(r.stderr).msg).toBe('the stream table was not written to standard output: ENOSPC: no space left on device, write');
    } finally {
      closeSync(full);
    }
  });

  it('--table-out on a full disk: exit 5 and the same one line, no stack trace', () => {
    const devNull = openSync('/dev/null', 'w');
    try {
      const r = replayTo(devNull, ['--table-out', '/dev/full']);
      expect(r.status, r.stderr).toBe(5);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(JSON.parse(r.stderr).msg).toBe('the stream table was not written to /dev/full: ENOSPC: no space left on device, write');
    } finally {
      closeSync(devNull);
    }
  });

  it('a reader that went away (| head -1) ends the table, not the run: exit 0, nothing logged', async () => {
    const p = startCli(bundle, ['replay', CALL, '--no-hep', '--log-level', 'warn']);
    p.child.stdout.destroy(); // the pipe's reader is gone before the table is written: EPIPE
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(p.out.stderr).toBe('');
  });

  it('a reader that stops taking --jsonl - (| head -1) is counted: exit 5, the lines it did not take dropped', async () => {
    const p = startCli(bundle, ['replay', CALL, '--no-hep', '--log-level', 'warn', '--jsonl', '-', '--table', 'none']);
    p.child.stdout.destroy(); // EPIPE on the first report line
    expect(await p.exited).toEqual({ code: 5, signal: null });
    const lines = p.out.stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; droppedLines?: number; error?: string });
    expect(lines.find((l) => l.error === 'EPIPE')?.msg, p.out.stderr).toBe('JSON-lines output failed for good: report lines dropped');
    expect(lines.some((l) => /not every report was delivered/.test(l.msg)), p.out.stderr).toBe(true);
  });
});

/**
 * Runs `script` (sh, `rtpprobe` the command) with $DISK a file system of 32 KiB of its own (a tmpfs in a
 * mount namespace of this command only: filling it disturbs nothing else) and $CAPTURE a generated capture
 * of `calls` calls of `seconds` s. Root only.
 */
function replayOnSmallDisk(name: string, calls: number, seconds: number, script: string) {
  const dir = mkdtempSync(join(tmp, name));
  const capture = join(dir, 'calls.pcap');
  execFileSync(process.execPath, [join(root, 'dist/gen/scenario-cli.js'), capture, '--calls', String(calls), '--concurrent', String(calls), '--call-duration', String(seconds), '--no-rtcp']);
  const disk = join(dir, 'disk');
  mkdirSync(disk);
  const sh = `rtpprobe() { "${process.execPath}" "${bundle}" "$@"; }\nDISK="$1" CAPTURE="$2"\nmount -t tmpfs -o size=32k tmpfs "$DISK" || exit 1\n${script}`;
  return spawnSync('unshare', ['-m', 'sh', '-c', sh, 'sh', disk, capture], { env: childEnv(), encoding: 'utf8', maxBuffer: 64 << 20 });
}

describe('--table-out FILE is replaced whole, or left as it was', () => {
  it('nothing analysed (the input is no capture): exit 4, the table already at the path left as it was, nothing beside it', () => {
    const dir = mkdtempSync(join(tmp, 'table-nocapture-'));
    const out = join(dir, 'table.txt');
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a capture\n');
    expect(runCliSync(bundle, ['replay', CALL, '--no-hep', '--table-out', out]).status).toBe(0);
    const before = readFileSync(out, 'utf8');
    expect(tableRows(before).length).toBe(5);
    const r = runCliSync(bundle, ['replay', text, '--no-hep', '--table-out', out]);
    expect(r.status, r.stderr).toBe(4);
    expect(readFileSync(out, 'utf8')).toBe(before);
    expect(readdirSync(dir).sort()).toEqual(['notes.txt', 'table.txt']);
  });

  it('the table and the HTML report that replace a file keep its permissions (a 0640 file stays 0640)', () => {
    const dir = mkdtempSync(join(tmp, 'table-mode-'));
    const table = join(dir, 'table.txt');
    const html = join(dir, 'call.html');
    for (const f of [table, html]) {
      writeFileSync(f, 'earlier\n');
      chmodSync(f, 0o640);
    }
    // dist/cli.js: the HTML report needs the built page beside the command, which the test bundle lacks.
    const r = runCliSync(join(root, 'dist/cli.js'), ['replay', CALL, '--no-hep', '--table-out', table, '--html', html]);
    expect(r.status, r.stderr).toBe(0);
    for (const f of [table, html]) {
      expect(readFileSync(f, 'utf8')).not.toBe('earlier\n');
      expect((statSync(f).mode & 0o777).toString(8), f).toBe('640');
    }
  });

  it.runIf(process.getuid?.() === 0)('a disk that fills while the table is written: exit 5, the earlier table intact, no part of the new one left', () => {
    // 400 streams: a table of about 60 KB, more than the small disk holds.
    const r = replayOnSmallDisk('table-full-', 200, 2, `echo 'the earlier table' > "$DISK/table.txt" && rtpprobe replay "$CAPTURE" --no-hep --log-level warn --table-out "$DISK/table.txt"; echo "exit $?"; cat "$DISK/table.txt"; ls -A "$DISK"`);
    const lines = r.stdout.split('\n');
    expect(lines[0], r.stderr).toBe('exit 5');
    expect(lines.slice(1)).toEqual(['the earlier table', 'table.txt', '']);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(JSON.parse(r.stderr).msg).toMatch(/^the stream table was not written to .*table\.txt: ENOSPC/);
  });
});

describe.runIf(process.getuid?.() === 0)('--jsonl FILE on a disk that fills during the replay', () => {
  it('exit 5; the file holds whole lines only, each a report; sent counts them and dropped the rest', () => {
    // 40 streams of 20 s at 1 s reports: about 1 MB of lines, past the small disk.
    const r = replayOnSmallDisk('jsonl-full-', 20, 20, 'rtpprobe replay "$CAPTURE" --no-hep --table none --set reports.interval_s=1 --set process.shutdown_deadline_ms=300 --jsonl "$DISK/r.jsonl"; echo "exit $?"; cat "$DISK/r.jsonl"');
    const [status, ...rest] = r.stdout.split('\n');
    expect(status, r.stderr).toBe('exit 5');
    const file = rest.join('\n');
    expect(file.length).toBeGreaterThan(10_000);
    expect(file.endsWith('\n')).toBe(true);
    const lines = file.slice(0, -1).split('\n');
    for (const l of lines) expect(JSON.parse(l)).toHaveProperty('TYPE');
    const run = JSON.parse(r.stderr.split('\n').find((l) => l.includes('"run summary"'))!) as { reports: { qosReports: number }; outputs: Array<{ output: string; sent: number; dropped: number }> };
    const jsonl = run.outputs.find((o) => o.output === 'jsonl')!;
    expect(jsonl.sent).toBe(lines.length);
    expect(jsonl.sent + jsonl.dropped).toBe(run.reports.qosReports);
  });
});

describe('report files that cannot be written', () => {
  it('--html DIR, an existing directory: exit 2 before the analysis, one line naming the option; nothing left beside it', () => {
    const dir = mkdtempSync(join(tmp, 'html-dir-'));
    const page = join(dir, 'call.html');
    mkdirSync(page);
    const r = runCliSync(bundle, ['replay', CALL, '--html', page]);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toBe(`rtpprobe: --html ${page}: is a directory: name a file in it\n`);
    expect(r.stdout).toBe('');
    expect(readdirSync(dir)).toEqual(['call.html']);
  });

  it('--table-out, --html or --jsonl naming a capture it reads (or a link to it): exit 2 before anything is written, the capture intact', () => {
    const dir = mkdtempSync(join(tmp, 'output-is-input-'));
    const capture = join(dir, 'day.pcap');
    copyFileSync(CALL, capture);
    const link = join(dir, 'latest.pcap');
    symlinkSync(capture, link);
    const before = readFileSync(capture);
    for (const option of ['--table-out', '--html', '--jsonl']) {
      for (const out of [capture, link]) {
        const r = runCliSync(bundle, ['replay', CLEAN, capture, option, out, '--no-hep']);
        expect(r.status, `${option} ${out}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toBe(`rtpprobe: ${option} ${out}: is ${capture}, a capture this replay reads: name another file\n`);
        expect(r.stdout).toBe('');
        expect(readFileSync(capture).equals(before), `${option} ${out}`).toBe(true);
      }
    }
  });

  it('--jsonl and --html in a directory that does not exist: exit 2, one line naming the option and the directory', () => {
    const missing = join(tmp, 'no-such-dir');
    for (const option of ['--jsonl', '--html']) {
      const r = runCliSync(bundle, ['replay', CALL, option, join(missing, 'x')]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toBe(`rtpprobe: ${option} ${join(missing, 'x')}: the directory ${missing} does not exist: create it or name a file in an existing directory\n`);
    }
  });

  it('the HTML page cannot be written at the end (its path became a directory during the run): exit 5, no temporary file left', async () => {
    const dir = mkdtempSync(join(tmp, 'html-late-'));
    const page = join(dir, 'call.html');
    // dist/cli.js (npm run build): the page script the report embeds is built beside it.
    const child = spawn(process.execPath, [join(root, 'dist/cli.js'), 'replay', '-', '--html', page, '--log-format', 'json'], { env: childEnv(), stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    expect(await until(() => stderr.includes('"msg":"replaying"'))).toBe(true);
    mkdirSync(page);
    child.stdin.end(readFileSync(CALL));
    expect(await exited, stderr).toBe(5);
    expect(stderr).toContain('HTML call report not written');
    expect(readdirSync(dir)).toEqual(['call.html']);
  });
});

describe('--html to a path that is not a regular file', () => {
  const cli = join(root, 'dist/cli.js'); // the page script the report embeds is built beside it

  it('a FIFO: the page goes through it to the program reading it, and the FIFO stays a FIFO', async () => {
    const fifo = join(mkdtempSync(join(tmp, 'html-fifo-')), 'page');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    let page = '';
    reader.stdout.setEncoding('utf8').on('data', (d: string) => (page += d));
    try {
      const probe = startCli(cli, ['replay', CALL, '--html', fifo, '--table', 'none', '--no-hep', '--log-level', 'warn']);
      expect((await probe.exited).code, probe.out.stderr).toBe(0);
      expect(await until(() => page.includes('</html>'), 20_000), 'the page through the FIFO').toBe(true);
      expect(page).toMatch(/^<!doctype html>/);
      expect(statSync(fifo).isFIFO()).toBe(true);
    } finally {
      reader.kill();
    }
  });

  it('a FIFO no program reads: the page is given up at the shutdown deadline, exit 5 with the reason; the FIFO stays', async () => {
    const fifo = join(mkdtempSync(join(tmp, 'html-fifo-unread-')), 'page');
    execFileSync('mkfifo', [fifo]);
    const probe = startCli(cli, ['replay', CALL, '--html', fifo, '--table', 'none', '--no-hep', '--log-level', 'warn', '--set', 'process.shutdown_deadline_ms=1000']);
    let exit: { code: number | null } | undefined;
    void probe.exited.then((e) => (exit = e));
    if (!(await until(() => exit !== undefined, 20_000))) probe.child.kill('SIGKILL');
    expect(exit?.code, probe.out.stderr).toBe(5);
    expect(probe.out.stderr).toContain('no program read the FIFO within 1000 ms (process.shutdown_deadline_ms): start its reader first');
    expect(statSync(fifo).isFIFO()).toBe(true);
  });

  it('a symbolic link to a file: the page is written to the file it names, and the link stays', () => {
    const dir = mkdtempSync(join(tmp, 'html-link-'));
    const target = join(dir, 'report.html');
    const link = join(dir, 'latest.html');
    writeFileSync(target, 'old page\n');
    symlinkSync(target, link);
    const r = spawnSync(process.execPath, [cli, 'replay', CALL, '--html', link, '--table', 'none', '--no-hep', '--log-level', 'warn'], { env: childEnv(), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toMatch(/^<!doctype html>/);
    expect(readdirSync(dir).sort()).toEqual(['latest.html', 'report.html']);
  });
});

describe('--html when an input is no capture', () => {
  const cli = join(root, 'dist/cli.js'); // the page script the report embeds is built beside it
  /** The Call-IDs of the report a page embeds. */
  const callIds = (page: string): string[] => {
    const packed = JSON.parse(/id="report-data">(.*?)<\/script>/s.exec(readFileSync(page, 'utf8'))![1]!) as { strings: string[]; calls: Array<[number]> };
    return packed.calls.map((c) => packed.strings[c[0]]!);
  };

  it('nothing analysed: exit 4 and the page at the path is left as it was, not replaced by an empty report', () => {
    const dir = mkdtempSync(join(tmp, 'html-nocapture-'));
    const page = join(dir, 'call.html');
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a capture\n');
    expect(spawnSync(process.execPath, [cli, 'replay', CALL, '--html', page], { env: childEnv() }).status).toBe(0);
    const before = readFileSync(page, 'utf8');
    expect(callIds(page).length).toBeGreaterThan(0);
    const r = spawnSync(process.execPath, [cli, 'replay', text, '--html', page], { env: childEnv(), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(4);
    expect(readFileSync(page, 'utf8')).toBe(before);
    expect(readdirSync(dir).sort()).toEqual(['call.html', 'notes.txt']);
  });

  it('one capture analysed beside it: exit 4, the page covers that capture, as the table does', () => {
    const dir = mkdtempSync(join(tmp, 'html-onecapture-'));
    const page = join(dir, 'call.html');
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a capture\n');
    const r = spawnSync(process.execPath, [cli, 'replay', CALL, text, '--html', page], { env: childEnv(), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(4);
    expect(tableRows(r.stdout).length).toBeGreaterThan(0);
    expect(callIds(page).length).toBeGreaterThan(0);
  });
});

describe('a capture of a link type the decoder does not know', () => {
  /** The call capture (Ethernet frames) with its file header's link type set to `linkType`. */
  function withLinkType(linkType: number): string {
    const data = readFileSync(CALL);
    data.writeUInt32LE(linkType, 20);
    const file = join(tmp, `link-${linkType}.pcap`);
    writeFileSync(file, data);
    return file;
  }

  it('USER0 (147) and NFLOG (239): one warning naming the link type, its records and what is decoded; exit 0, no streams', () => {
    const records = recordsBefore(readFileSync(CALL), Infinity);
    for (const [linkType, name] of [[147, 'USER0'], [239, 'NFLOG']] as const) {
      const file = withLinkType(linkType);
      const r = runCliSync(bundle, ['replay', file, '--log-level', 'warn']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe('no RTP streams found\n');
      const warnings = r.stderr.trim().split('\n');
      expect(warnings, r.stderr).toHaveLength(1);
      const w = JSON.parse(warnings[0]) as { level: number; msg: string };
      expect(w.level).toBe(40);
      expect(w.msg).toBe(`${file}: ${records} records of link type ${linkType} (${name}) not decoded: rtpprobe decodes ${PacketDecoder.decodedLinkTypes}`);
    }
  });

  it('a pcapng with several unknown link types: the warning names each with its records, the most first, five at most', () => {
    // The call's records, on an Ethernet interface except these many on each unknown one, in this order.
    const unknown: Array<[number, number]> = [[147, 1000], [239, 500], [300, 200], [148, 100], [149, 50], [150, 20], [151, 10], [152, 5]];
    const pcap = readFileSync(CALL);
    const records: PcapRecord[] = [];
    for (let off = 24; off + 16 <= pcap.length; off += 16 + pcap.readUInt32LE(off + 8)) {
      const tsNs = BigInt(pcap.readUInt32LE(off)) * 1_000_000_000n + BigInt(pcap.readUInt32LE(off + 4)) * 1000n;
      records.push({ tsNs, data: pcap.subarray(off + 16, off + 16 + pcap.readUInt32LE(off + 8)), iface: 0 });
    }
    let at = 0;
    unknown.forEach(([, n], i) => {
      for (const r of records.slice(at, at + n)) r.iface = i + 1;
      at += n;
    });
    const file = join(tmp, 'mixed-links.pcapng');
    writeFileSync(file, pcapng(records, [{ linkType: 1 }, ...unknown.map(([linkType]) => ({ linkType }))]));
    const r = runCliSync(bundle, ['replay', file, '--log-level', 'warn']);
    expect(r.status, r.stderr).toBe(0);
    const warnings = r.stderr.trim().split('\n');
    expect(warnings, r.stderr).toHaveLength(1);
    expect((JSON.parse(warnings[0]) as { msg: string }).msg).toBe(
      `${file}: 1885 records of 8 link types (147 USER0: 1000, 239 NFLOG: 500, 300: 200, 148 USER1: 100, 149 USER2: 50, others: 35) not decoded: rtpprobe decodes ${PacketDecoder.decodedLinkTypes}`,
    );
    // The Ethernet records are analysed as ever.
    expect(tableRows(r.stdout).length).toBeGreaterThan(0);

    const two = join(tmp, 'two-links.pcapng');
    writeFileSync(two, pcapng(records.map((x, i) => ({ ...x, iface: i % 2 })), [{ linkType: 147 }, { linkType: 239 }]));
    const r2 = runCliSync(bundle, ['replay', two, '--log-level', 'warn']);
    expect(r2.status, r2.stderr).toBe(0);
    const half = Math.ceil(records.length / 2);
    expect((JSON.parse(r2.stderr.trim()) as { msg: string }).msg).toBe(
      `${two}: ${records.length} records of 2 link types (147 USER0: ${half}, 239 NFLOG: ${records.length - half}) not decoded: rtpprobe decodes ${PacketDecoder.decodedLinkTypes}`,
    );
  });

  it('every link type the warning names as decoded is decoded', () => {
    const listed = PacketDecoder.decodedLinkTypes.match(/\d+/g)!.map(Number);
    expect(listed).toHaveLength(10);
    const frame = new Uint8Array(64);
    for (const linkType of [...listed, 147]) {
      const d = new PacketDecoder();
      d.decodeFrame(frame, 0, frame.length, linkType, 0, 0, new DecodedPacket());
      expect(d.counts[ProtocolCounter.UNKNOWN_LINK_TYPE], String(linkType)).toBe(linkType === 147 ? 1 : 0);
    }
  });

  it('a link type the decoder knows gives no such warning', () => {
    const r = runCliSync(bundle, ['replay', withLinkType(1), '--log-level', 'warn']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(ourStreams(r.stdout).size).toBe(5);
  });
});

describe('an input this user may not read', () => {
  /**
   * The CLI as an unprivileged user: root reads any file, so root runs it as nobody. Node starts as root and
   * drops to nobody before it loads the CLI: its own binary may lie where nobody cannot reach it (CI's
   * second Node under /root/.cache).
   */
  const runAsUser = (args: string[]) => {
    if (process.getuid?.() !== 0) return spawnSync(process.execPath, [bundle, ...args], { encoding: 'utf8', env: childEnv(), timeout: 120_000 });
    for (const d of [bundleDir, join(bundleDir, 'dist'), tmp]) chmodSync(d, 0o755);
    const asNobody = `process.setgid(65534); process.setuid(65534); process.argv.splice(1, 0, ${JSON.stringify(bundle)}); await import(${JSON.stringify(pathToFileURL(bundle).href)});`;
    return spawnSync(process.execPath, ['--input-type=module', '-e', asNobody, '--', ...args], { encoding: 'utf8', env: childEnv(), timeout: 120_000 });
  };

  it('exit 4 before anything starts, one line naming the file and the permission (no stack trace)', () => {
    const locked = join(tmp, 'locked.pcap');
    copyFileSync(CALL, locked);
    chmodSync(locked, 0o600);
    const r = runAsUser(['replay', locked, '--no-hep']);
    expect(r.stderr).toBe(`rtpprobe: ${locked}: permission denied: this user cannot read it\n`);
    expect(r.status).toBe(4);
  });
});

describe('BPF filters on capture files, as tcpdump -r', () => {
  const tcpdumpCount = (filter: string) => spawnSync('tcpdump', ['-n', '-r', CALL, filter], { encoding: 'utf8' }).stdout.trim().split('\n').filter((l) => l).length;

  it.each([
    ['positional', ['host 200.57.7.204']],
    ['positional, several words', ['udp', 'and', 'port', '8000']],
    ['--filter', ['--filter', 'udp port 5060 or udp port 40376']],
    ['--set capture.filter', ['--set', 'capture.filter=src host 200.57.7.196 and greater 200']],
  ])('%s: the pipeline reads exactly the packets tcpdump -r keeps', (_name, args) => {
    const expr = args[0].startsWith('--') ? args[1].replace(/^capture\.filter=/, '') : args.join(' ');
    const r = runCliSync(bundle, ['replay', CALL, ...args, '--no-hep', '--log-format', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const s = summary(r.stderr);
    const kept = tcpdumpCount(expr);
    expect(kept).toBeGreaterThan(0);
    expect(s.packets).toBe(kept);
    expect(s.packets + s.filteredOut!).toBe(4269);
  });

  it('a filter that does not compile: exit 2, one line with libpcap reason and where to look', () => {
    const r = runCliSync(bundle, ['replay', CALL, 'hots', '10.0.0.1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('rtpprobe: capture filter "hots 10.0.0.1": can\'t parse filter expression: syntax error: fix the expression (see man pcap-filter)\n');
  });

  it('options before the files: --hep, --set and --call-id take one value each, the file name stays a file', () => {
    const r = runCliSync(bundle, ['replay', '--set', 'reports.interval_s=5', '--no-hep', '--call-id', '12013223@200.57.7.195', '--log-level', 'warn', CALL, 'udp']);
    expect(r.status, r.stderr).toBe(0);
    expect(tableRows(r.stdout)).toHaveLength(2);
  });
});

describe('the table answers questions', () => {
  const both = [CALL, LOSS];
  const rows = (args: string[]) => {
    const r = runCliSync(bundle, ['replay', ...both, '--no-hep', '--log-level', 'warn', ...args]);
    expect(r.status, r.stderr).toBe(0);
    return r.stdout;
  };

  it('--call-id keeps that call\'s streams', () => {
    const t = tableRows(rows(['--call-id', '12013223@200.57.7.195']));
    expect(t).toHaveLength(2);
    for (const r of t) expect(r[11]).toBe('12013223@200.57.7.195');
  });

  it('--mos-below and --loss-above keep only worse streams; nothing worse says so', () => {
    const all = tableRows(rows([]));
    const lossy = all.filter((r) => Number(r[10]) < 4);
    expect(lossy.length).toBeGreaterThan(0);
    expect(lossy.length).toBeLessThan(all.length);
    expect(tableRows(rows(['--mos-below', '4']))).toEqual(lossy);
    expect(tableRows(rows(['--loss-above', '5']))).toEqual(all.filter((r) => Number(/\(([\d.]+)%\)/.exec(r[5])![1]) > 5));
    expect(rows(['--loss-above', '50'])).toMatch(/^no stream matches the selection \(\d+ streams in all\)\n$/);
    const bad = runCliSync(bundle, ['replay', CALL, '--mos-below', 'bad']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^rtpprobe: --mos-below "bad": must be a MOS above 1 and at most 5, e.g. --mos-below 3.6\n$/);
  });

  it('--table csv and --table json carry the same rows as the text table', () => {
    const text = tableRows(rows([]));
    const csv = rows(['--table', 'csv']).trim().split('\n');
    expect(csv).toHaveLength(text.length + 1);
    const json = JSON.parse(rows(['--table', 'json'])) as Array<Record<string, unknown>>;
    expect(json).toHaveLength(text.length);
    json.forEach((j, i) => {
      expect(j.src).toBe(text[i][0]);
      expect(j.packets).toBe(Number(text[i][4]));
      expect(j.mos).toBe(Number(text[i][10]));
      expect(csv[i + 1].split(',')[4]).toBe(text[i][4]);
    });
    expect(rows(['--table', 'none'])).toBe('');
  });
});

describe('replay --realtime stops on a signal at any point', () => {
  /** s01_clean (1 s of RTP), then the same again one hour later: the replay waits in the gap. */
  const gap = join(tmp, 'gap.pcap');
  beforeAll(() => {
    const later = join(tmp, 'later.pcap');
    expect(spawnSync('editcap', ['-t', '3600', CLEAN, later]).status).toBe(0);
    expect(spawnSync('mergecap', ['-a', '-F', 'pcap', '-w', gap, CLEAN, later]).status).toBe(0);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s inside a one-hour gap: FINAL reports written, table printed, exit 0 within the deadline', async (signal) => {
    const jsonl = join(tmp, `${signal}.jsonl`);
    const p = startCli(bundle, ['replay', gap, '--realtime', '--no-hep', '--jsonl', jsonl, '--metrics', '--set', 'metrics.port=0', '--log-format', 'json']);
    // The metrics endpoint says when the first part's stream has started; the gap follows right after it.
    let port = 0;
    expect(await until(() => ((port = Number(/"port":(\d+)[^\n]*metrics and health endpoint listening/.exec(p.out.stderr)?.[1] ?? 0)), port > 0), 30_000)).toBe(true);
    // All 50 packets of the first part counted (metrics fold the counters in every second): the replay is
    // now waiting for the packet an hour later.
    let inGap = false;
    const poll = async () => {
      const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
      inGap = /^rtpprobe_packets_total\{protocol="rtp"\} 50$/m.test(text) && /^rtpprobe_streams_started_total 1$/m.test(text);
    };
    expect(await until(() => (void poll(), inGap), 30_000)).toBe(true);
    const t0 = Date.now();
    p.child.kill(signal);
    const { code } = await p.exited;
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    const finals = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { TYPE: string; TOTAL_PK: number });
    expect(finals.filter((r) => r.TYPE === 'FINAL')).toHaveLength(1);
    expect(finals.find((r) => r.TYPE === 'FINAL')!.TOTAL_PK).toBe(50);
    expect(tableRows(p.out.stdout)).toHaveLength(1);
  });
});

describe('a stop while a pipe or FIFO sends nothing', () => {
  /** The probe's exit, or null when it has not exited within `ms` (then it is killed). */
  async function exitWithin(p: { child: ChildProcess; exited: Promise<{ code: number | null }> }, ms: number): Promise<number | null> {
    let code: number | null | undefined;
    void p.exited.then((e) => (code = e.code));
    if (!(await until(() => code !== undefined, ms))) p.child.kill('SIGKILL');
    return code ?? null;
  }

  it('a FIFO no writer has opened: SIGTERM ends the replay at once, exit 0', async () => {
    const fifo = join(tmp, 'no-writer.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const p = startCli(bundle, ['replay', fifo, '--no-hep', '--log-format', 'json']);
    expect(await until(() => p.out.stderr.includes('"msg":"replaying"'))).toBe(true);
    p.child.kill('SIGTERM');
    expect(await exitWithin(p, 20_000), p.out.stderr).toBe(0);
    expect(p.out.stderr).toContain('"msg":"run summary"');
    expect(p.out.stderr).not.toContain('deadline exceeded');
    expect(p.out.stdout).toBe('no RTP streams found\n');
  });

  it('--jsonl FIFO that no program reads yet: the replay runs and SIGTERM ends it within the shutdown deadline; a reader that comes later gets every line', async () => {
    const fifo = join(mkdtempSync(join(tmp, 'jsonl-fifo-')), 'reports');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const args = ['--jsonl', fifo, '--no-hep', '--log-format', 'json'];
    // A call on standard input, kept open: the replay waits for more of it when the signal comes.
    const child = spawn(process.execPath, [bundle, 'replay', '-', ...args, '--set', 'process.shutdown_deadline_ms=1000'], { env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    const p = { child, out: { stdout: '', stderr: '' }, exited: new Promise<{ code: number | null }>((resolve) => child.on('exit', (code) => resolve({ code }))) };
    child.stderr.setEncoding('utf8').on('data', (d: string) => (p.out.stderr += d));
    child.stdout.resume();
    let written = false;
    child.stdin.write(readFileSync(CALL), () => (written = true));
    try {
      expect(await until(() => written && p.out.stderr.includes('"msg":"replaying"'), 20_000), p.out.stderr).toBe(true);
      child.kill('SIGTERM');
      // Its final reports could not be written, no one reading them: the stop ends at the deadline (1 s).
      expect(await exitWithin(p, 20_000), p.out.stderr).toBe(1);
      expect(p.out.stderr).toContain('shutdown deadline exceeded');
    } finally {
      child.stdin.destroy();
      child.kill('SIGKILL');
    }
    // The probe first, then the reader (`rtpprobe replay F --jsonl fifo & jq . < fifo`), within the deadline:
    // the reader comes once the whole capture is read and the probe is closing its outputs.
    const q = startCli(bundle, ['replay', CALL, ...args, '--set', 'process.shutdown_deadline_ms=30000']);
    expect(await until(() => q.out.stderr.includes('"msg":"replaying"'), 20_000), q.out.stderr).toBe(true);
    const capture = realpathSync(CALL);
    const readsCapture = () => {
      try {
        return readdirSync(`/proc/${q.child.pid}/fd`).some((fd) => readlinkSync(`/proc/${q.child.pid}/fd/${fd}`) === capture);
      } catch {
        return false; // exited, or a descriptor closed while listed
      }
    };
    // Open, then closed: the whole capture was read. Its 4,269 packets take tens of ms, which a loaded
    // machine can keep this process from seeing: open within 5 s or not, once closed it was read.
    await until(readsCapture, 5_000, 1);
    expect(await until(() => !readsCapture(), 20_000), q.out.stderr).toBe(true);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    let lines = '';
    reader.stdout.setEncoding('utf8').on('data', (d: string) => (lines += d));
    const readerDone = new Promise((resolve) => reader.on('close', resolve));
    expect(await exitWithin(q, 30_000), q.out.stderr).toBe(0);
    await readerDone;
    const direct = runCliSync(bundle, ['replay', CALL, '--jsonl', '-', '--no-hep', '--log-level', 'warn', '--table', 'none']);
    expect(lines.split('\n').length).toBe(direct.stdout.split('\n').length);
    expect(lines.split('\n').length).toBeGreaterThan(5);
  });

  it('tcpdump -w - | replay - on a quiet link: SIGINT measures every packet read, prints the table, exit 0', async () => {
    const data = readFileSync(CALL);
    const child = spawn(process.execPath, [bundle, 'replay', '-', '--no-hep', '--log-format', 'json'], { env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    const p = { child, out: { stdout: '', stderr: '' }, exited: new Promise<{ code: number | null }>((resolve) => child.on('exit', (code) => resolve({ code }))) };
    child.stdout.setEncoding('utf8').on('data', (d: string) => (p.out.stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (p.out.stderr += d));
    // The whole capture written and the pipe kept open, as a tcpdump that has nothing more to write.
    let written = false;
    child.stdin.write(data, () => (written = true));
    expect(await until(() => written && p.out.stderr.includes('"msg":"replaying"'))).toBe(true);
    child.kill('SIGINT');
    expect(await exitWithin(p, 20_000), p.out.stderr).toBe(0);
    child.stdin.destroy();
    const packets = (JSON.parse(p.out.stderr.split('\n').find((l) => l.includes('"run summary"'))!) as { packets: number }).packets;
    // Once the write completed at most a pipe's buffer (64 KiB) was still unread: every record before it
    // was read, and is measured.
    expect(packets).toBeGreaterThanOrEqual(recordsBefore(data, data.length - 65536));
    expect(packets).toBeLessThanOrEqual(recordsBefore(data, data.length));
    // What was measured is what a replay of the file gives for those streams.
    const file = ourStreams(runCliSync(bundle, ['replay', CALL, '--no-hep', '--log-level', 'warn']).stdout);
    for (const [key, n] of ourStreams(p.out.stdout)) expect(n).toBeLessThanOrEqual(file.get(key)!);
    expect(ourStreams(p.out.stdout).size).toBeGreaterThan(0);
  });
});

/** Complete records of a classic little-endian pcap that end at or before byte `limit`. */
function recordsBefore(pcap: Buffer, limit: number): number {
  let n = 0;
  for (let off = 24; off + 16 <= pcap.length; n++) {
    const end = off + 16 + pcap.readUInt32LE(off + 8);
    if (end > limit) break;
    off = end;
  }
  return n;
}
