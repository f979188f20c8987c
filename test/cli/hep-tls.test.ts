/**
 * A TLS HOMER from the command line: `replay --hep tls://...` with the CA, client certificate and key
 * given by `--set hep.collectors.0.tls.*`, against a real node:tls receiver whose certificates an openssl
 * CA signed (mutual TLS: the receiver refuses clients without a certificate of that CA); and
 * `check-config` refusing TLS files that a start refuses, with the same problem.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHep3Strict, HepStreamDeframer } from '../../src/hep/index.js';
import { testPki, type TestPki } from '../hep/helpers.js';
import { bundleCli, CAPTURES, runCliSync, startCli } from './helpers.js';

const CALL = join(CAPTURES, 'SIP_CALL_RTP_G711.pcap');
const tmp = mkdtempSync(join(tmpdir(), 'rtpprobe-hep-tls-'));
let bundle = '';
let pki: TestPki;

interface Receiver {
  port: number;
  frames: Buffer[];
  /** CN of each client certificate the receiver accepted. */
  clients: string[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const r = { frames: [] as Buffer[], clients: [] as string[] } as Receiver;
  const sockets: net.Socket[] = [];
  const server = tls.createServer(
    { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey), ca: readFileSync(pki.ca), requestCert: true, rejectUnauthorized: true },
    (sock) => {
      sockets.push(sock);
      r.clients.push(String(sock.getPeerCertificate().subject?.CN));
      const d = new HepStreamDeframer();
      sock.on('error', () => {});
      sock.on('data', (chunk: Buffer) => r.frames.push(...d.push(chunk)));
    },
  );
  server.on('tlsClientError', () => {});
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  r.port = (server.address() as net.AddressInfo).port;
  r.close = () =>
    new Promise<void>((ok) => {
      for (const s of sockets) s.destroy();
      server.close(() => ok());
    });
  return r;
}

beforeAll(async () => {
  pki = testPki();
  ({ bundle } = await bundleCli());
});
afterAll(() => {
  rmSync(pki.dir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

/** tshark's count of the packets matching a display filter. */
function tsharkCount(file: string, filter: string): number {
  return spawnSync('tshark', ['-n', '-r', file, '-Y', filter], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.trim() !== '').length;
}

describe('replay --hep tls:// with the CA and client certificate from the command line', () => {
  it('--set hep.collectors.0.tls.{ca,cert,key}: the receiver verifies the client, every SIP message (as tshark counts them), RTCP and report arrives', async () => {
    const rx = await startReceiver();
    try {
      const jsonl = join(tmp, 'reports.jsonl');
      const run = startCli(bundle, [
        'replay', CALL, '--hep', `tls://127.0.0.1:${rx.port}`, '--log-level', 'warn', '--table', 'none', '--jsonl', jsonl,
        '--set', `hep.collectors.0.tls.ca=${pki.ca}`, '--set', `hep.collectors.0.tls.cert=${pki.clientCert}`, '--set', `hep.collectors.0.tls.key=${pki.clientKey}`,
      ]);
      const { code } = await run.exited;
      expect(code, run.out.stderr).toBe(0);
      expect(rx.clients).toEqual(['rtpprobe-client']);
      const count = (type: number) => rx.frames.filter((f) => decodeHep3Strict(f).protoType === type).length;
      expect(count(1)).toBe(tsharkCount(CALL, 'sip'));
      expect(count(5)).toBeGreaterThan(0);
      expect(count(35)).toBe(readFileSync(jsonl, 'utf8').trim().split('\n').length);
    } finally {
      await rx.close();
    }
  });

  it('without the CA the receiver\'s certificate does not verify: nothing is sent, exit 5 naming the reason', async () => {
    const rx = await startReceiver();
    try {
      const run = startCli(bundle, ['replay', CALL, '--hep', `tls://127.0.0.1:${rx.port}`, '--log-level', 'warn', '--table', 'none']);
      const { code } = await run.exited;
      expect(code, run.out.stderr).toBe(5);
      expect(run.out.stderr).toMatch(/"lastError":"TLS: (SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)/);
      expect(rx.frames).toEqual([]);
    } finally {
      await rx.close();
    }
  });
  it('with the CA but no client certificate the receiver refuses the client after the client\'s side of the handshake is done (TLS 1.3): nothing counts as delivered, exit 5 naming the reason', async () => {
    const rx = await startReceiver();
    try {
      const run = startCli(bundle, ['replay', CALL, '--hep', `tls://127.0.0.1:${rx.port}`, '--log-level', 'warn', '--table', 'none', '--set', `hep.collectors.0.tls.ca=${pki.ca}`]);
      const { code } = await run.exited;
      expect(code, run.out.stderr).toBe(5);
      expect(run.out.stderr).toMatch(/"lastError":"TLS: [^"]*(CERTIFICATE_REQUIRED|certificate required)/i);
      expect(run.out.stderr).toMatch(/"sent":0,/);
      expect(rx.frames).toEqual([]);
    } finally {
      await rx.close();
    }
  });
});

describe('check-config checks the TLS files as a start does', () => {
  const tlsFiles = (ca: string, cert = '', key = '') =>
    ['--set', `hep.collectors=tls://127.0.0.1:9061`, '--set', `hep.collectors.0.tls.ca=${ca}`, '--set', `hep.collectors.0.tls.cert=${cert}`, '--set', `hep.collectors.0.tls.key=${key}`];

  it('a missing CA, a CA or certificate that is not PEM: exit 2 naming the file or the collector, with the problem a start gives', () => {
    const notPem = join(tmp, 'not-pem.txt');
    writeFileSync(notPem, 'not a certificate\n');
    const missing = join(tmp, 'missing-ca.pem');
    const cases: Array<[string[], RegExp]> = [
      [tlsFiles(missing), /^hep\.collectors\[0\]\.tls\.ca: cannot read .*missing-ca\.pem \(ENOENT\)$/],
      [tlsFiles(notPem), /^hep\.collectors: tls:\/\/127\.0\.0\.1:9061: the TLS certificate, key or CA cannot be used \(CA: no PEM certificate in it\)$/],
      [tlsFiles(pki.ca, notPem, pki.clientKey), /^hep\.collectors: tls:\/\/127\.0\.0\.1:9061: the TLS certificate, key or CA cannot be used \(.*PEM.*\)$/],
      [tlsFiles(pki.ca, pki.clientCert, pki.serverKey), /^hep\.collectors: tls:\/\/127\.0\.0\.1:9061: the TLS certificate, key or CA cannot be used \(.*key values mismatch.*\)$/],
    ];
    for (const [set, problem] of cases) {
      const check = runCliSync(bundle, ['check-config', ...set]);
      expect(check.status, check.stderr).toBe(2);
      const line = check.stderr.split('\n').map((l) => l.replace(/^rtpprobe: invalid configuration: |^\s*- /, '')).find((l) => problem.test(l));
      expect(line, check.stderr).toBeDefined();
      // The start: replay opens the HEP output as run does (its --hep replaces the list --set gave).
      const start = runCliSync(bundle, ['replay', CALL, '--hep', 'tls://127.0.0.1:9061', ...set.slice(2), '--log-level', 'error', '--table', 'none']);
      expect(start.status, start.stderr).toBe(2);
      expect(start.stderr.split('\n').map((l) => (l.startsWith('{') ? (JSON.parse(l) as { msg: string }).msg : l))).toContain(line);
    }
  });

  it('usable files pass; with hep.enabled false nothing is opened, so nothing is checked', () => {
    const ok = runCliSync(bundle, ['check-config', ...tlsFiles(pki.ca, pki.clientCert, pki.clientKey)]);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe('configuration OK (built-in defaults)\n');
    expect(ok.status).toBe(0);
    const off = runCliSync(bundle, ['check-config', ...tlsFiles(join(tmp, 'missing-ca.pem')), '--set', 'hep.enabled=false']);
    expect(off.status, off.stderr).toBe(0);
  });
});
