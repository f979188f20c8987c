/**
 * A Kamailio (5.6) sipcapture instance for interop tests: the probe's HEP goes to a real receiver that
 * stores it in a real database. Started on free ports with a generated configuration, stopped and removed
 * afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, sleep } from '../hep/helpers.js';
import { until } from '../wait.js';

export const MODDIR = '/usr/lib/x86_64-linux-gnu/kamailio/modules';
export const KAMAILIO = ['/usr/sbin/kamailio', '/usr/bin/kamailio'].find((p) => fs.existsSync(p));

/** Why Kamailio with these modules cannot run here, or undefined when it can. */
export function kamailioMissing(modules: string[]): string | undefined {
  if (!KAMAILIO) return 'kamailio binary not installed (apt package kamailio)';
  const absent = modules.filter((m) => !fs.existsSync(`${MODDIR}/${m}.so`));
  return absent.length ? `kamailio modules missing: ${absent.join(', ')}` : undefined;
}

export interface Kamailio {
  port: number;
  dir: string;
  log(): string;
  stop(): Promise<void>;
}

export interface KamailioOptions {
  /** sipcapture db_url, e.g. "flatstore:/dir" or "postgres://user:pw@127.0.0.1:5432/db". */
  dbUrl: string | ((dir: string) => string);
  /** Extra modules to load before sipcapture (e.g. db_postgres, tls). */
  modules: string[];
  /** Listeners on the chosen port. */
  listen: Array<'udp' | 'tcp' | 'tls'>;
  /** Routes and module parameters appended to the configuration. */
  routes: string;
  /** TLS certificate and key (PEM text) when listening on tls. */
  tls?: { cert: string; key: string };
}

export async function startKamailio(o: KamailioOptions): Promise<Kamailio> {
  const dir = path.join(os.tmpdir(), `kh-${process.pid}-${Date.now() % 1_000_000_000}-${Math.floor(Math.random() * 1e6)}`);
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const stream = o.listen.includes('tcp') || o.listen.includes('tls');
  let tlsLines = '';
  if (o.tls) {
    fs.writeFileSync(path.join(dir, 'cert.pem'), o.tls.cert);
    fs.writeFileSync(path.join(dir, 'key.pem'), o.tls.key);
    fs.writeFileSync(
      path.join(dir, 'tls.cfg'),
      `[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\nprivate_key = ${dir}/key.pem\ncertificate = ${dir}/cert.pem\n`,
    );
    tlsLines = `modparam("tls", "config", "${dir}/tls.cfg")\n`;
  }
  const cfg = `#!KAMAILIO
debug=2
log_stderror=yes
fork=yes
children=1
tcp_children=1
auto_aliases=no
dns=no
rev_dns=no
${o.listen.map((t) => `listen=${t}:127.0.0.1:${port}`).join('\n')}
${stream ? 'tcp_accept_hep3=yes\ntcp_accept_no_cl=yes' : ''}
${o.listen.includes('tls') ? 'enable_tls=yes' : ''}
mpath="${MODDIR}/"
${o.listen.includes('tls') ? 'loadmodule "tls.so"' : ''}
loadmodule "pv.so"
loadmodule "xlog.so"
${o.modules.map((m) => `loadmodule "${m}.so"`).join('\n')}
loadmodule "sipcapture.so"
${tlsLines}modparam("sipcapture", "db_url", "${typeof o.dbUrl === 'function' ? o.dbUrl(dir) : o.dbUrl}")
modparam("sipcapture", "capture_on", 1)
modparam("sipcapture", "hep_capture_on", 1)
modparam("sipcapture", "table_name", "sip_capture")
${o.routes}`;
  fs.writeFileSync(path.join(dir, 'kamailio.cfg'), cfg);
  const kam: ChildProcess = spawn(
    KAMAILIO!,
    ['-f', path.join(dir, 'kamailio.cfg'), '-DD', '-E', '-m', '64', '-M', '8', '-P', path.join(dir, 'k.pid'), '-Y', dir, '-w', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  kam.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  kam.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const stop = async () => {
    if (kam.exitCode === null) {
      const exited = new Promise<void>((r) => kam.once('exit', () => r()));
      kam.kill('SIGTERM');
      await Promise.race([exited, sleep(3000)]);
      if (kam.exitCode === null) kam.kill('SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Ends as soon as it listens or exits (a port taken meanwhile, a module missing): the log says which.
    const up = await until(() => kam.exitCode !== null || /Listening on/.test(log), 30_000);
    if (!up || kam.exitCode !== null) throw new Error(`kamailio did not start (${up ? `exit code ${kam.exitCode}` : 'no "Listening on" within 30 s'}):\n${log}`);
    // Ready once its TCP listener accepts (UDP is bound before the TCP children start).
    if (stream) {
      for (let i = 0; ; i++) {
        const ok = await new Promise<boolean>((r) => {
          const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
          s.on('error', () => r(false));
        });
        if (ok) break;
        if (i > 200 || kam.exitCode !== null) throw new Error(`kamailio did not come up:\n${log}`);
        await sleep(50);
      }
    } else {
      await sleep(200);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, dir, log: () => log, stop };
}

/** sipcapture's native path: SIP through sip_capture(), types 5/32/99/100 stored by the module itself. */
export const NATIVE_ROUTES = `request_route {
  sip_capture();
  drop;
}
onreply_route {
  sip_capture();
  drop;
}
`;

/**
 * The script path (the only one for HEP over TCP/TLS, and for report types other than 99): nonsip_hook
 * hands every HEP message to event_route[sipcapture:request], which stores reports of `reportType` and
 * RTCP with report_capture() and lets SIP through to sip_capture().
 */
export function scriptRoutes(reportType: number): string {
  return `modparam("sipcapture", "nonsip_hook", 1)
event_route[sipcapture:request] {
  if ($hep(0x00b) == ${reportType}) { report_capture("report_capture", "$hep(0x011)", "$hep(0x00f)"); drop; }
  if ($hep(0x00b) == 5) { report_capture("rtcp_capture", "$hep(0x011)", "$hep(0x00f)"); drop; }
  return 1;
}
${NATIVE_ROUTES}`;
}
