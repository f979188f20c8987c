/**
 * A throw-away PostgreSQL server for interop tests: initdb in a temporary directory (as the `postgres`
 * system user when run as root: the server refuses to run as root), started on a free port, stopped and
 * deleted afterwards. Queries go through psql.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../hep/helpers.js';

const BIN = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin'].find((d) => fs.existsSync(path.join(d, 'initdb')));

/** Why PostgreSQL cannot run here, or undefined when it can. */
export const postgresMissing: string | undefined = !BIN
  ? 'PostgreSQL server binaries not installed (apt package postgresql)'
  : spawnSync('psql', ['--version']).status !== 0
    ? 'psql not installed'
    : process.getuid?.() === 0 && spawnSync('id', ['postgres']).status !== 0
      ? 'running as root without a postgres system user'
      : undefined;

export interface Postgres {
  port: number;
  /** Runs SQL in `db` and returns the rows (tab-separated, unaligned, no header). */
  query(db: string, sql: string): string[][];
  exec(db: string, sql: string): void;
  stop(): void;
}

export async function startPostgres(): Promise<Postgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtpprobe-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) =>
    asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' }) : execFileSync(cmd, args, { stdio: 'pipe' });
  if (asRoot) execFileSync('chown', ['postgres', dir]);
  const port = await freePort();
  const data = path.join(dir, 'data');
  run(path.join(BIN!, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  run(path.join(BIN!, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '60', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
  const psql = (db: string, sql: string) =>
    execFileSync('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-At', '-F', '\t', '-c', sql], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return {
    port,
    query: (db, sql) =>
      psql(db, sql)
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.split('\t')),
    exec: (db, sql) => void psql(db, sql),
    stop() {
      try {
        run(path.join(BIN!, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
      } catch {
        // already stopped
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * HOMER 5's capture tables (the homer-api PostgreSQL schema: column names and types), without the date
 * partitions. `msgType` is the type of report_capture.msg and rtcp_capture.msg: HOMER 5 ships
 * varchar(1500); `callIdType` that of sip_capture.callid / callid_aleg: HOMER 5 ships varchar(120).
 */
export function homer5Schema(o: { msgType: string; callIdType: string }): string {
  const json = (table: string) => `CREATE TABLE ${table} (
  id BIGSERIAL NOT NULL, date timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL, micro_ts bigint NOT NULL DEFAULT '0',
  correlation_id varchar(256) NOT NULL DEFAULT '', source_ip varchar(60) NOT NULL DEFAULT '', source_port integer NOT NULL DEFAULT 0,
  destination_ip varchar(60) NOT NULL DEFAULT '', destination_port integer NOT NULL DEFAULT 0, proto integer NOT NULL DEFAULT 0,
  family smallint DEFAULT NULL, type integer NOT NULL DEFAULT 0, node varchar(125) NOT NULL DEFAULT '', msg ${o.msgType} NOT NULL DEFAULT '');`;
  const v = (n: number) => `varchar(${n}) NOT NULL DEFAULT ''`;
  return `${json('report_capture')}
${json('rtcp_capture')}
${json('logs_capture')}
CREATE TABLE sip_capture (
  id BIGSERIAL NOT NULL, date timestamp with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL, micro_ts bigint NOT NULL DEFAULT '0',
  method ${v(50)}, reply_reason ${v(100)}, ruri ${v(200)}, ruri_user ${v(100)}, ruri_domain ${v(150)}, from_user ${v(100)},
  from_domain ${v(150)}, from_tag ${v(64)}, to_user ${v(100)}, to_domain ${v(150)}, to_tag ${v(64)}, pid_user ${v(100)},
  contact_user ${v(120)}, auth_user ${v(120)}, callid ${o.callIdType} NOT NULL DEFAULT '', callid_aleg ${o.callIdType} NOT NULL DEFAULT '',
  via_1 ${v(256)}, via_1_branch ${v(80)}, cseq ${v(25)}, diversion ${v(256)}, reason ${v(200)}, content_type ${v(256)}, auth ${v(256)},
  user_agent ${v(256)}, source_ip ${v(60)}, source_port integer NOT NULL DEFAULT 0, destination_ip ${v(60)},
  destination_port integer NOT NULL DEFAULT 0, contact_ip ${v(60)}, contact_port integer NOT NULL DEFAULT 0, originator_ip ${v(60)},
  originator_port integer NOT NULL DEFAULT 0, expires integer NOT NULL DEFAULT '-1', correlation_id ${v(256)}, custom_field1 ${v(120)},
  custom_field2 ${v(120)}, custom_field3 ${v(120)}, proto integer NOT NULL DEFAULT 0, family smallint DEFAULT NULL, rtp_stat ${v(256)},
  type integer NOT NULL DEFAULT 0, node ${v(125)}, msg bytea NOT NULL DEFAULT '');`;
}
