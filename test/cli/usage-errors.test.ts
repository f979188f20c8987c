/**
 * Usage and input errors from a real process: exit 2 (or 4) and one line on stderr that names the fix
 * (README, "Exit codes").
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, CAPTURES, root, runCliSync } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-usage-'));
const PCAP = join(CAPTURES, 'SIP_CALL_RTP_G711.pcap');

let bundle = '';
beforeAll(async () => {
  ({ bundle } = await bundleCli());
});

/** Runs the command; expects exit `code` and exactly one line on stderr, which it returns. */
function usageError(args: string[], code = 2): string {
  const r = runCliSync(bundle, args, { cwd: dir });
  expect(r.status, r.stderr).toBe(code);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^rtpprobe: [^\n]+\n$/);
  return r.stderr;
}

describe("commander's parse errors name the fix", () => {
  it('a capture file given to run (-r, -i, an argument) or as the command points to replay', () => {
    const plain = join(dir, 'trace');
    writeFileSync(plain, '');
    expect(usageError(['run', '-r', PCAP])).toContain(`run \`rtpprobe replay ${PCAP}\``);
    expect(usageError(['run', '-i', PCAP])).toContain(`run \`rtpprobe replay ${PCAP}\``);
    expect(usageError(['run', '-i', plain])).toContain(`run \`rtpprobe replay ${plain}\``);
    expect(usageError(['run', 'call.pcap'])).toContain('run `rtpprobe replay call.pcap`');
    expect(usageError([PCAP])).toContain(`run \`rtpprobe replay ${PCAP}\``);
    expect(usageError(['replay', '-r', PCAP])).toContain(`replay takes the capture files as arguments: run \`rtpprobe replay ${PCAP}\``);
  });

  it('an unknown option or command, a missing argument or value, a refused choice: one line with what to do', () => {
    expect(usageError(['run', '--bogus'])).toBe("rtpprobe: unknown option '--bogus': see `rtpprobe run --help` for the options\n");
    expect(usageError(['replay', PCAP, '--tabel', 'csv'])).toBe("rtpprobe: unknown option '--tabel': did you mean --table? see `rtpprobe replay --help` for the options\n");
    expect(usageError(['chek-config'])).toBe("rtpprobe: unknown command 'chek-config': did you mean check-config? see `rtpprobe --help` for the commands\n");
    expect(usageError(['replay'])).toBe("rtpprobe: missing required argument 'inputs': name the capture files, e.g. `rtpprobe replay call.pcap`, or - for standard input\n");
    expect(usageError(['replay', PCAP, '--table-out'])).toBe("rtpprobe: option '--table-out <path>' argument missing: give its value after it (see `rtpprobe replay --help`)\n");
    expect(usageError(['run', '-i'])).toBe("rtpprobe: option '-i, --interface <name>' argument missing: give its value after it (see `rtpprobe run --help`)\n");
    expect(usageError(['replay', PCAP, '--table', 'xml'])).toBe("rtpprobe: option '--table <format>' argument 'xml' is invalid: use one of text, csv, json, none\n");
    expect(usageError(['interfaces', 'eth0'])).toBe("rtpprobe: too many arguments for 'interfaces'. Expected 0 arguments but got 1: see `rtpprobe interfaces --help`\n");
  });
});

describe('run -i with a name no interface can have: exit 2, one line naming the fix', () => {
  it('standard input, blank, spaces around a name, a file name', () => {
    expect(usageError(['run', '-i', '-', '--no-hep'])).toBe('rtpprobe: capture.interface: "-" is standard input, not an interface: to analyse a capture piped in, run `rtpprobe replay -`\n');
    expect(usageError(['run', '-i', 'lo ', '--no-hep'])).toBe('rtpprobe: capture.interface: "lo " has spaces around the name: use "lo"\n');
    expect(usageError(['run', '-i', ' ', '--no-hep'])).toMatch(/^rtpprobe: capture\.interface: " " is blank: name an interface, one of [^\n]*\blo\b[^\n]* \(see `rtpprobe interfaces`\)\n$/);
    expect(usageError(['run', '-i', 'missing/calls.pcap', '--no-hep'])).toMatch(
      /^rtpprobe: capture\.interface: "missing\/calls\.pcap" names a file, not an interface, and there is no such file: to capture, use one of [^\n]*\blo\b[^\n]*; to analyse a capture file, run `rtpprobe replay FILE`\n$/,
    );
    writeFileSync(join(dir, 'day.pcap'), readFileSync(PCAP));
    expect(usageError(['run', '-i', 'day.pcap', '--no-hep'])).toBe('rtpprobe: capture.interface: "day.pcap" is a capture file, not an interface: to analyse it, run `rtpprobe replay day.pcap`\n');
  });
});

describe('two outputs naming one file', () => {
  it('--table-out and --jsonl or --html naming one file (another path, a link) are refused before either is opened', () => {
    expect(usageError(['replay', PCAP, '--table-out', 'out.txt', '--jsonl', './out.txt'])).toBe(
      'rtpprobe: --jsonl ./out.txt and --table-out out.txt name the same file: each would overwrite the other: name two files\n',
    );
    expect(existsSync(join(dir, 'out.txt'))).toBe(false);
    writeFileSync(join(dir, 'kept.txt'), 'kept');
    symlinkSync('kept.txt', join(dir, 'link.txt'));
    expect(usageError(['replay', PCAP, '--html', 'link.txt', '--table-out', 'kept.txt'])).toBe(
      'rtpprobe: --html link.txt and --table-out kept.txt name the same file: each would overwrite the other: name two files\n',
    );
    expect(usageError(['replay', PCAP, '--jsonl', 'kept.txt', '--html', join(dir, 'kept.txt')])).toContain('name the same file');
    expect(readFileSync(join(dir, 'kept.txt'), 'utf8')).toBe('kept');
  });

  it('an output path of the configuration (file, --set) and one of the command line, or two of the configuration, naming one file are refused', () => {
    const config = join(dir, 'outputs.yaml');
    writeFileSync(config, 'reports:\n  jsonl:\n    enabled: true\n    path: reports.txt\n');
    expect(usageError(['replay', PCAP, '-c', config, '--table-out', './reports.txt'])).toBe(
      'rtpprobe: reports.jsonl.path reports.txt and --table-out ./reports.txt name the same file: each would overwrite the other: name two files\n',
    );
    expect(usageError(['replay', PCAP, '-c', config, '--html', 'reports.txt'])).toContain('rtpprobe: reports.jsonl.path reports.txt and --html reports.txt name the same file');
    expect(usageError(['replay', PCAP, '--set', 'reports.html.path=page.txt', '--jsonl', 'page.txt'])).toContain('rtpprobe: --jsonl page.txt and --set reports.html.path page.txt name the same file');
    expect(usageError(['run', '-i', 'lo', '-c', config, '--set', 'reports.html.path=reports.txt'])).toContain('rtpprobe: reports.jsonl.path reports.txt and --set reports.html.path reports.txt name the same file');
    expect(usageError(['check-config', '-c', config, '--set', 'reports.html.path=reports.txt'])).toContain('name the same file');
    expect(existsSync(join(dir, 'reports.txt'))).toBe(false);
    expect(existsSync(join(dir, 'page.txt'))).toBe(false);
  });

  it("the configuration's reports.jsonl.path or reports.html.path naming a capture the replay reads is refused, the capture intact", () => {
    const capture = join(dir, 'kept.pcap');
    writeFileSync(capture, readFileSync(PCAP));
    const config = join(dir, 'into-capture.yaml');
    writeFileSync(config, `reports:\n  jsonl:\n    enabled: true\n    path: ${capture}\n`);
    expect(usageError(['replay', capture, '-c', config])).toBe(`rtpprobe: reports.jsonl.path ${capture}: is ${capture}, a capture this replay reads: name another file\n`);
    expect(usageError(['replay', capture, '--set', 'reports.html.path=kept.pcap'])).toBe(`rtpprobe: --set reports.html.path kept.pcap: is ${capture}, a capture this replay reads: name another file\n`);
    expect(readFileSync(capture).equals(readFileSync(PCAP))).toBe(true);
  });

  it('a device such as /dev/null takes both', () => {
    const r = runCliSync(bundle, ['replay', PCAP, '--table-out', '/dev/null', '--jsonl', '/dev/null'], { cwd: dir });
    expect(r.stderr).not.toContain('same file');
    expect(r.status).toBe(0);
  });
});

describe('a path through a link loop, a file or to a directory', () => {
  it('a capture (exit 4), an output or the configuration file (exit 2) is worded as the other file errors: what, which path, the fix', () => {
    symlinkSync('loop-b', join(dir, 'loop-a'));
    symlinkSync('loop-a', join(dir, 'loop-b'));
    writeFileSync(join(dir, 'plain'), '');
    mkdirSync(join(dir, 'folder'));
    expect(usageError(['replay', 'loop-a'], 4)).toBe('rtpprobe: loop-a: its symbolic links lead in a loop: fix the link or give the file itself\n');
    expect(usageError(['replay', 'plain/x.pcap'], 4)).toBe('rtpprobe: plain/x.pcap: a part of the path is a file, not a directory: check the path\n');
    for (const option of ['--table-out', '--jsonl', '--html']) {
      expect(usageError(['replay', PCAP, option, 'loop-a'])).toMatch(new RegExp(`^rtpprobe: ${option} loop-a: (cannot write: )?its symbolic links lead in a loop: fix the link or name another file\n$`));
      expect(usageError(['replay', PCAP, option, 'plain/out'])).toMatch(new RegExp(`^rtpprobe: ${option} plain/out: (cannot write: )?[^:]*not a directory: name a file in an existing directory\n$`));
      expect(usageError(['replay', PCAP, option, 'folder'])).toMatch(new RegExp(`^rtpprobe: ${option} folder: (cannot write: )?is a directory: name a file in it\n$`));
    }
    expect(usageError(['replay', '-c', 'loop-a', PCAP])).toBe('rtpprobe: invalid configuration in loop-a: cannot read loop-a: its symbolic links lead in a loop: fix the link or give the file itself\n');
    expect(usageError(['check-config', '-c', 'plain/rtpprobe.yaml'])).toBe(
      'rtpprobe: invalid configuration in plain/rtpprobe.yaml: cannot read plain/rtpprobe.yaml: a part of the path is a file, not a directory: give the path of a YAML or JSON file\n',
    );
    expect(usageError(['run', '-i', 'lo', '--jsonl', 'loop-a'])).toBe('rtpprobe: --jsonl loop-a: its symbolic links lead in a loop: fix the link or name another file\n');
  });
});

describe('a configuration with several mistakes', () => {
  const cli = join(root, 'dist/cli.js'); // the built command: it loads the expression compiler (mathjs) from the project
  it('a rule that does not compile is listed with the other problems, not only once they are fixed', () => {
    const config = join(dir, 'several.yaml');
    writeFileSync(config, 'reports:\n  interval_s: -5\n  rules:\n    - { name: poor, when: "moss < 3.6", interval_s: 2 }\n    - { name: jitter, when: "max_jitter_ms > 30" }\n');
    const r = runCliSync(cli, ['check-config', '-c', config], { cwd: dir });
    expect(r.status, r.stderr).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0], r.stderr).toBe('rtpprobe: invalid configuration in ' + config + ' (2 problems):');
    expect(lines[1]).toBe('  - reports.interval_s: -5 is not allowed: must be a number from 1 to 86400');
    expect(lines[2]).toMatch(/^ {2}- reports\.rules\[0\]\.when: "moss < 3\.6" is not allowed: report rule 'poor': unknown variable 'moss'/);
  });

  it('a rule whose own settings are refused is not compiled as well: one problem for it', () => {
    const config = join(dir, 'rule-fields.yaml');
    writeFileSync(config, 'reports:\n  rules:\n    - { name: poor, when: "moss < 3.6", interval_s: -1 }\n');
    const r = runCliSync(cli, ['check-config', '-c', config], { cwd: dir });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^rtpprobe: invalid configuration in \S+: reports\.rules\[0\]\.interval_s: -1 is not allowed/);
  });
});
