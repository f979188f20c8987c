import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { HepStreamDeframer } from '../../src/hep/index.js';
import { takePorts } from '../port-blocks.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface UdpSink {
  port: number;
  packets: Buffer[];
  close(): Promise<void>;
}

/** `recvBufferSize`: a receiver that must not lose a burst while this process is busy (capped by net.core.rmem_max). */
export async function startUdpSink(port = 0, recvBufferSize?: number): Promise<UdpSink> {
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize });
  const packets: Buffer[] = [];
  s.on('message', (m) => packets.push(m));
  await new Promise<void>((r) => s.bind(port, '127.0.0.1', () => r()));
  return { port: s.address().port, packets, close: () => new Promise<void>((r) => s.close(() => r())) };
}

export interface StreamSink {
  port: number;
  frames: Buffer[];
  sockets: net.Socket[];
  connections: number;
  deframeErrors: string[];
  server: net.Server;
  /** Called for every new connection before data flows (e.g. to pause it or schedule a kill). */
  onConnection?: (s: net.Socket, index: number) => void;
  onFrame?: (s: net.Socket, frame: Buffer) => void;
  close(): Promise<void>;
}

export async function startStreamSink(opts: { port?: number; tls?: { cert: string; key: string } } = {}): Promise<StreamSink> {
  const sink = { frames: [] as Buffer[], sockets: [] as net.Socket[], connections: 0, deframeErrors: [] as string[] } as StreamSink;
  const handler = (sock: net.Socket) => {
    const idx = sink.connections++;
    sink.sockets.push(sock);
    const d = new HepStreamDeframer();
    sock.on('error', () => {});
    sock.on('data', (chunk: Buffer) => {
      for (const f of d.push(chunk)) {
        sink.frames.push(f);
        sink.onFrame?.(sock, f);
      }
      if (d.error !== undefined) sink.deframeErrors.push(d.error);
    });
    sink.onConnection?.(sock, idx);
  };
  const server = opts.tls ? tls.createServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : net.createServer(handler);
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', () => r()));
  sink.server = server;
  sink.port = (server.address() as net.AddressInfo).port;
  sink.close = () =>
    new Promise<void>((r) => {
      for (const s of sink.sockets) s.destroy();
      server.close(() => r());
    });
  return sink;
}

/**
 * A port nothing listens on until the test makes something listen there: one of this test process's own
 * (test/port-blocks.ts), above the ephemeral range. A port bound at 0 and released may be taken by another
 * process's socket before the test uses it.
 */
export function freePort(): Promise<number> {
  return takePorts(1);
}

/** Self-signed certificate for CN=localhost / IP 127.0.0.1, generated with the openssl CLI. */
export function selfSignedCert(): { cert: string; key: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hep-tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'ignore' });
  return { cert: fs.readFileSync(cert, 'utf8'), key: fs.readFileSync(key, 'utf8'), dir };
}

export interface TestPki {
  dir: string;
  /** PEM file paths. */
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/**
 * A CA (openssl CLI) that signs a server certificate for 127.0.0.1 and a client certificate with
 * CN=rtpprobe-client: a receiver that only a client given the CA trusts, and that can ask for mutual TLS.
 */
export function testPki(): TestPki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hep-pki-'));
  const f = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '1', '-subj', '/CN=rtpprobe test CA');
  for (const [who, subj, ext] of [
    ['server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    ['client', '/CN=rtpprobe-client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    openssl('req', ...ec, '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`), '-subj', subj);
    fs.writeFileSync(f(`${who}.ext`), `${ext}\n`);
    openssl('x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${who}.pem`), '-days', '1', '-extfile', f(`${who}.ext`));
  }
  return { dir, ca: f('ca.pem'), serverCert: f('server.pem'), serverKey: f('server.key'), clientCert: f('client.pem'), clientKey: f('client.key') };
}
