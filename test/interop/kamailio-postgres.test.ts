/**
 * With only the probe on the capture, a HOMER 5 receiver (Kamailio 5.6 sipcapture storing into PostgreSQL
 * with HOMER 5's tables) gets each call's SIP, QoS reports and RTCP under the same Call-ID, over UDP, TCP
 * and TLS. The capture is generated: calls with ordinary, 240-character and X-CID-carrying Call-IDs (their
 * reports are over 1,500 characters); the X-CID call's SIP rows carry its A-leg id in callid_aleg. The
 * same HEP also goes to a plain UDP socket where hep-js and the strict decoder read every message.
 *
 * Kamailio 5.6 stores types 5 (rtcp_capture), 32 and 99 (report_capture) and 100 natively (UDP); any other
 * type (34, 35) only through a script (nonsip_hook + event_route[sipcapture:request] + report_capture()),
 * which is also the only way HEP over TCP/TLS reaches it. So: UDP with the native path and type 99, TCP
 * and TLS with the script and the default type 35.
 *
 * HOMER 5's schema needs two changes for the probe's data, both checked here against the stock types:
 * report_capture.msg / rtcp_capture.msg varchar(1500) -> text (Kamailio's db_postgres writes the payload
 * blob as escaped bytea text, "\x" + hex, 2 x + 2 characters: any report over 749 bytes is refused), and
 * sip_capture.callid / callid_aleg varchar(120) -> varchar(256) (Call-IDs up to the correlation_id width).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { HepChunk, decodeHep3Strict, type HepDecoded } from '../../src/hep/index.js';
import { defaultConfig, type ProbeConfig } from '../../src/ops/config.js';
import { runReplay } from '../../src/probe.js';
import { writeScenarioPcap } from '../../src/gen/index.js';
import { selfSignedCert, sleep, startUdpSink, type UdpSink } from '../hep/helpers.js';
import { waitFor } from '../wait.js';
import { NATIVE_ROUTES, kamailioMissing, scriptRoutes, startKamailio, type Kamailio } from './kamailio.js';
import { homer5Schema, postgresMissing, startPostgres, type Postgres } from './postgres.js';
import { hepJsDecode } from '../hep/hep-js.js';

const missing = postgresMissing ?? kamailioMissing(['db_postgres', 'sipcapture', 'tls']);
if (missing) console.warn(`kamailio + postgres interop skipped: ${missing}`);

const LONG = 'L'.repeat(200);
const CALL_IDS = ['plain-call-1@probe.test', `long-${LONG}-${'x'.repeat(20)}@probe.test`, `bleg-${'B'.repeat(90)}@probe.test`];
// Up to the 256 characters of sip_capture.callid_aleg (Kamailio stores X-CID there by default).
const XCID = `aleg-${'A'.repeat(235)}@probe.test`;
const CALLS = CALL_IDS.length;
const SIP_PER_CALL = 7; // INVITE 100 180 200 ACK BYE 200

const SCRIPT_ROUTES = scriptRoutes(35);

interface Run {
  /** Every HEP message the probe sent (the tap collector's copy), decoded. */
  sent: HepDecoded[];
  stored: { sip: string[][]; report: string[][]; rtcp: string[][] };
  kamailioLog: string;
}

/** Decodes a payload as Kamailio's db_postgres wrote it into a text column: escaped bytea "\x…" or plain text. */
function storedText(v: string): string {
  return v.startsWith('\\x') ? Buffer.from(v.slice(2), 'hex').toString('utf8') : v;
}

describe.skipIf(missing !== undefined)('HOMER 5 on PostgreSQL through Kamailio sipcapture: one probe, each call complete', () => {
  let pg: Postgres;
  let pcap: string;
  let tmp: string;
  let tls: { cert: string; key: string; dir: string };
  const runs: Record<string, Run> = {};

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rtpprobe-interop-'));
    pcap = path.join(tmp, 'calls.pcap');
    writeScenarioPcap(pcap, {
      calls: CALLS, concurrentCalls: CALLS, durationS: 0, callDurationS: 12, codec: 'PCMA', lossPct: 2, jitterMs: 3, rtcp: true, seed: 16,
      startEpochS: 1_750_000_000, callIdOf: (k) => CALL_IDS[k]!, sipHeadersOf: (k) => (k === 2 ? [['X-CID', XCID]] : []),
    });
    tls = selfSignedCert();
    pg = await startPostgres();
    for (const db of ['homer_udp', 'homer_tcp', 'homer_tls', 'homer_stock']) {
      pg.exec('postgres', `CREATE DATABASE ${db}`);
      pg.exec(db, db === 'homer_stock' ? homer5Schema({ msgType: 'varchar(1500)', callIdType: 'varchar(120)' }) : homer5Schema({ msgType: 'text', callIdType: 'varchar(256)' }));
    }
  }, 120_000);
  afterAll(async () => {
    pg?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    if (tls) fs.rmSync(tls.dir, { recursive: true, force: true });
  });

  async function replayTo(transport: 'udp' | 'tcp' | 'tls', db: string, qosType: 35 | 99): Promise<Run> {
    const k: Kamailio = await startKamailio({
      dbUrl: `postgres://postgres:unused@127.0.0.1:${pg.port}/${db}`,
      modules: ['db_postgres'],
      listen: [transport],
      routes: transport === 'udp' ? NATIVE_ROUTES : SCRIPT_ROUTES,
      tls: transport === 'tls' ? tls : undefined,
    });
    const tap: UdpSink = await startUdpSink(0, 4 << 20);
    try {
      const config: ProbeConfig = defaultConfig();
      config.reports.intervalS = 5;
      config.reports.qosHepType = qosType;
      config.hep.nodeName = 'probe-interop';
      const base = config.hep.collectors[0]!;
      config.hep.collectors = [
        { ...base, host: '127.0.0.1', port: k.port, transport, tls: { ...base.tls, rejectUnauthorized: false } },
        { ...base, host: '127.0.0.1', port: tap.port, transport: 'udp' },
      ];
      config.metrics.enabled = false;
      const code = await runReplay([pcap], config, { realtime: false, print: () => {} }, pino({ level: 'silent' }));
      expect(code, 'every report delivered (exit 0, not 5)').toBe(0);
      // The tap's datagrams are read by this process's event loop, which psql (synchronous) blocks: let it
      // take everything that arrived before counting what was sent.
      for (let n = -1; n !== tap.packets.length; ) {
        n = tap.packets.length;
        await sleep(200);
      }
      const sent = () => tap.packets.map((p) => decodeHep3Strict(p));
      const count = (t: number) => sent().filter((d) => d.protoType === t).length;
      const rows = (table: string) => Number(pg.query(db, `SELECT count(*) FROM ${table}`)[0]![0]);
      await waitFor(
        () => rows('sip_capture') >= count(1) && rows('report_capture') >= count(qosType) && rows('rtcp_capture') >= count(5),
        30_000,
        `rows in ${db} (kamailio log:\n${k.log().slice(-3000)})`,
      );
      for (const p of tap.packets) {
        const h = hepJsDecode(p);
        const d = decodeHep3Strict(p);
        expect(h.rcinfo).toMatchObject({ payloadType: d.protoType, srcIp: d.srcIp, dstIp: d.dstIp, srcPort: d.srcPort, dstPort: d.dstPort, hepNodeName: 'probe-interop' });
        if (d.correlationId) expect(h.rcinfo.correlation_id).toBe(d.correlationId);
        expect(Buffer.from(h.payload ?? '').equals(d.payload)).toBe(true);
      }
      return {
        sent: sent(),
        stored: {
          sip: pg.query(db, 'SELECT callid, method, source_ip, source_port, micro_ts, callid_aleg, correlation_id FROM sip_capture'),
          report: pg.query(db, 'SELECT correlation_id, source_ip, source_port, destination_ip, destination_port, micro_ts, msg FROM report_capture'),
          rtcp: pg.query(db, 'SELECT correlation_id, msg FROM rtcp_capture'),
        },
        kamailioLog: k.log(),
      };
    } finally {
      await tap.close();
      await k.stop();
    }
  }

  function checkComplete(run: Run, qosType: number, envelopeStored: boolean): void {
    const byType = (t: number) => run.sent.filter((d) => d.protoType === t);
    expect(byType(1)).toHaveLength(CALLS * SIP_PER_CALL);
    for (const d of byType(1)) expect(d.chunkOrder, 'SIP goes without chunk 0x11, as heplify sends it').not.toContain(HepChunk.CORRELATION_ID);
    expect(byType(qosType).length).toBeGreaterThan(CALLS * 4);
    expect(byType(5).length).toBeGreaterThan(CALLS * 2);
    for (const cid of CALL_IDS) {
      const sentQos = byType(qosType).filter((d) => d.correlationId === cid);
      const sentRtcp = byType(5).filter((d) => d.correlationId === cid);
      expect(sentQos.length, cid).toBeGreaterThan(0);
      expect(sentRtcp.length, cid).toBeGreaterThan(0);
      const sipRows = run.stored.sip.filter((r) => r[0] === cid);
      expect(sipRows, `SIP rows of ${cid}`).toHaveLength(SIP_PER_CALL);
      // Kamailio reads the A-leg id from the SIP (its callid_aleg_header, X-CID) and stores the Call-ID as
      // the row's correlation id: the same rows whether or not HEP carries chunk 0x11, which SIP goes without.
      expect(sipRows.map((r) => [r[5], r[6]]), `callid_aleg, correlation_id of ${cid}`).toEqual(sipRows.map(() => [cid === CALL_IDS[2] ? XCID : '', cid]));
      const reports = run.stored.report.filter((r) => r[0] === cid);
      expect(reports, `report rows of ${cid}`).toHaveLength(sentQos.length);
      expect(run.stored.rtcp.filter((r) => r[0] === cid), `RTCP rows of ${cid}`).toHaveLength(sentRtcp.length);
      // Stored payloads are the JSON sent, with HOMER's chart keys numeric.
      const storedJson = reports.map((r) => JSON.parse(storedText(r[6]!)) as Record<string, unknown>);
      expect(storedJson.map((j) => JSON.stringify(j)).sort()).toEqual(sentQos.map((d) => d.payload.toString('utf8')).sort());
      for (const j of storedJson) for (const key of ['TOTAL_PK', 'EXPECTED_PK', 'JITTER', 'MOS', 'DELTA', 'PACKET_LOSS']) expect(typeof j[key], key).toBe('number');
      if (envelopeStored) {
        // The HEP envelope (the RTP stream's addresses and the capture time) is what Kamailio stores over UDP.
        const want = sentQos.map((d) => `${d.srcIp}:${d.srcPort}>${d.dstIp}:${d.dstPort}@${d.tsSec * 1_000_000 + d.tsUsec}`).sort();
        expect(reports.map((r) => `${r[1]}:${r[2]}>${r[3]}:${r[4]}@${r[5]}`).sort()).toEqual(want);
      }
    }
    const xcidReports = run.stored.report.filter((r) => r[0] === CALL_IDS[2]).map((r) => storedText(r[6]!));
    expect(xcidReports.every((m) => m.includes(XCID) && m.length > 1500)).toBe(true);
  }

  it('UDP, native path, type 99: SIP, reports and RTCP of every call stored under its Call-ID, envelope and time as sent', async () => {
    const run = (runs.udp = await replayTo('udp', 'homer_udp', 99));
    checkComplete(run, 99, true);
  }, 120_000);

  it('TCP, script path, type 35 (the default): every call complete', async () => {
    const run = (runs.tcp = await replayTo('tcp', 'homer_tcp', 35));
    checkComplete(run, 35, false);
  }, 120_000);

  it('TLS, script path, type 35: every call complete', async () => {
    const run = (runs.tls = await replayTo('tls', 'homer_tls', 35));
    checkComplete(run, 35, false);
  }, 120_000);

  it("HOMER 5's stock column types refuse the long reports and Call-IDs (what the schema change is for)", async () => {
    const k = await startKamailio({ dbUrl: `postgres://postgres:unused@127.0.0.1:${pg.port}/homer_stock`, modules: ['db_postgres'], listen: ['udp'], routes: NATIVE_ROUTES });
    try {
      const config = defaultConfig();
      config.reports.qosHepType = 99;
      config.hep.collectors = [{ ...config.hep.collectors[0]!, host: '127.0.0.1', port: k.port, transport: 'udp' }];
      config.metrics.enabled = false;
      await runReplay([pcap], config, { realtime: false, print: () => {} }, pino({ level: 'silent' }));
      await waitFor(() => /value too long for type character varying\(1500\)/.test(k.log()) && /character varying\(120\)/.test(k.log()), 30_000, 'insert errors');
      // Every report is refused, not only those over 1,500 characters: the stored text is "\x" + hex, 2 x + 2 long.
      expect(pg.query('homer_stock', 'SELECT count(*) FROM report_capture')[0]![0]).toBe('0');
      expect(pg.query('homer_stock', 'SELECT callid FROM sip_capture').map((r) => r[0])).not.toContain(CALL_IDS[1]);
    } finally {
      await k.stop();
    }
  }, 120_000);

  afterAll(() => {
    // The closing note's figures: messages per HEP type sent by the probe and stored by the receiver.
    for (const [t, run] of Object.entries(runs)) {
      const by = (n: number) => run.sent.filter((d) => d.protoType === n).length;
      const q = by(35) || by(99);
      console.log(`interop ${t}: sent SIP ${by(1)}, QoS ${q}, RTCP ${by(5)}; stored sip_capture ${run.stored.sip.length}, report_capture ${run.stored.report.length}, rtcp_capture ${run.stored.rtcp.length}`);
    }
  });
});
