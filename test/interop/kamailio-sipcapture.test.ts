/**
 * Interop with a real HEP receiver: Kamailio's sipcapture module (Debian package `kamailio`, 5.6).
 *
 * What Kamailio needs to store HEP (checked against sipcapture.c / hep.c of 5.6):
 * - `hep_capture_on=1` and a `db_url`; `capture_on=1` for sip_capture(). Storage here is db_flatstore
 *   (in the base package): one pipe-separated line per INSERT in `<table>_<rank>.log`, no schema needed.
 * - SIP (type 1) goes through request_route, where `sip_capture()` stores it in `sip_capture`.
 * - Type 5 is stored by the module itself in `rtcp_capture`, types 32/99 in `report_capture`, 100 in
 *   `logs_capture` (columns date|micro_ts|correlation_id|source_ip|source_port|destination_ip|
 *   destination_port|proto|family|type|node|msg), only when chunk 0x11 is present: otherwise it logs
 *   "no correlation id defined" and stores nothing. It reads the correlation id with strlen(), so the
 *   chunk after it must start with a 0 byte (a generic chunk): our encoder guarantees that order.
 * - At least 9 of the base chunks plus both addresses, or the packet is ignored ("Not all elements").
 * - HEP over TCP is a different path in 5.6.3: the core needs `tcp_accept_hep3=yes` AND `tcp_accept_no_cl=yes`
 *   (with only the first every frame fails with "content length not present or unparsable"), then the frame
 *   reaches sipcapture only through `nonsip_hook=1` + `event_route[sipcapture:request]`, where the script must
 *   call report_capture() itself. report_capture() fills source/destination from the TCP connection, not
 *   from the HEP envelope, so HOMER's per-stream grouping is lost: send QoS reports to Kamailio over UDP.
 *   (nonsip_hook=1 also reroutes UDP HEP through that script, hence two separate Kamailio instances here.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { encodeHep3, HepProtoType, HepSender, type HepSendInput } from '../../src/hep/index.js';
import {  } from '../hep/helpers.js';
import { waitFor } from '../wait.js';
import { NATIVE_ROUTES, kamailioMissing, scriptRoutes, startKamailio, type Kamailio } from './kamailio.js';

const missing = kamailioMissing(['sipcapture', 'db_flatstore']);
if (missing) console.warn(`kamailio interop skipped: ${missing}`);

interface Row {
  date: string; microTs: string; correlationId: string; srcIp: string; srcPort: number; dstIp: string; dstPort: number;
  proto: number; family: number; type: number; node: string; msg: string;
}

function readRows(dbDir: string, table: string): Row[] {
  const rows: Row[] = [];
  for (const f of fs.readdirSync(dbDir)) {
    if (!f.startsWith(`${table}_`) || !f.endsWith('.log')) continue;
    for (const line of fs.readFileSync(path.join(dbDir, f), 'utf8').split('\n')) {
      if (line.length === 0) continue;
      const c = line.split('|');
      rows.push({
        date: c[0]!, microTs: c[1]!, correlationId: c[2]!, srcIp: c[3]!, srcPort: Number(c[4]), dstIp: c[5]!,
        dstPort: Number(c[6]), proto: Number(c[7]), family: Number(c[8]), type: Number(c[9]), node: c[10]!,
        msg: c.slice(11).join('|'),
      });
    }
  }
  return rows;
}


const TCP_SCRIPT_ROUTES = scriptRoutes(99);

/** A flatstore-backed receiver: one pipe-separated line per stored row in `<dir>/db/<table>_<rank>.log`. */
async function startFlatstore(routes: string, listen: Array<'udp' | 'tcp'> = ['udp', 'tcp']): Promise<Kamailio & { dbDir: string }> {
  const k = await startKamailio({
    dbUrl: (dir) => {
      const url = flatstoreUrl(dir);
      fs.mkdirSync(url.slice('flatstore:'.length));
      return url;
    },
    modules: ['db_flatstore'],
    listen,
    routes,
  });
  return { ...k, dbDir: flatstoreUrl(k.dir).slice('flatstore:'.length) };
}

/**
 * `flatstore:<dir>/db`, or `.../dbx` when that URL's length is a multiple of 8. Kamailio 5.6's sipcapture
 * copies db_url into package memory without its terminating NUL, and db_flatstore takes the directory
 * with strlen: a length that fills its 8-byte-aligned allocation leaves no zero padding, the directory
 * name runs on into the next allocation, and the first insert fails ("flat_new_connection(): No such file
 * or directory") and crashes that child. Any other length ends on a zero byte (every length 20-43 tried).
 */
function flatstoreUrl(dir: string): string {
  const url = `flatstore:${path.join(dir, 'db')}`;
  return url.length % 8 === 0 ? `${url}x` : url;
}

function qosFixture(callId: string) {
  const base = { ipFamily: 4 as const, ipProto: 17, tsSec: 1_700_000_123, tsUsec: 456_789 };
  const sip: HepSendInput = {
    ...base, srcIp: '192.0.2.10', dstIp: '192.0.2.20', srcPort: 5060, dstPort: 5080, protoType: HepProtoType.SIP,
    correlationId: '',
    payload:
      `OPTIONS sip:bob@192.0.2.20 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds\r\n` +
      `From: <sip:alice@192.0.2.10>;tag=1928301774\r\nTo: <sip:bob@192.0.2.20>\r\nCall-ID: ${callId}\r\n` +
      `CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
  };
  const qosPayload = JSON.stringify({
    CORRELATION_ID: callId, RTP_SIP_CALL_ID: callId, TYPE: 'PERIODIC', SSRC: 3535621694, SRC_IP: '192.0.2.10',
    SRC_PORT: 40376, DST_IP: '192.0.2.20', DST_PORT: 8000, TOTAL_PK: 510, EXPECTED_PK: 510, PACKET_LOSS: 0, MOS: 4.394,
  });
  const qos: HepSendInput = {
    ...base, srcIp: '192.0.2.10', dstIp: '192.0.2.20', srcPort: 40376, dstPort: 8000, protoType: HepProtoType.QOS_REPORT,
    correlationId: callId, mos: 4.39, payload: qosPayload,
  };
  const rtcpPayload = JSON.stringify({
    sender_information: { ntp_timestamp_sec: 3909000000, ntp_timestamp_usec: 1, octets: 16000, rtp_timestamp: 160, packets: 100 },
    ssrc: 3535621694, type: 200, report_count: 0, report_blocks: [], sdes_ssrc: 3535621694,
  });
  const rtcp: HepSendInput = {
    ...base, srcIp: '192.0.2.10', dstIp: '192.0.2.20', srcPort: 40377, dstPort: 8001, protoType: HepProtoType.RTCP_JSON,
    correlationId: callId, payload: rtcpPayload,
  };
  return { sip, qos, rtcp, qosPayload, rtcpPayload };
}

describe.skipIf(missing !== undefined)('Kamailio sipcapture (native HEP path, UDP) stores what HepSender sends', () => {
  let k: Kamailio & { dbDir: string };
  beforeAll(async () => {
    k = await startFlatstore(NATIVE_ROUTES);
  });
  afterAll(async () => {
    await k?.stop();
  });

  it('stores SIP in sip_capture, the QoS report (99) in report_capture and RTCP JSON (5) in rtcp_capture', async () => {
    const callId = `a84b4c76e66710@pc33.example.com-${process.pid}`;
    const { sip, qos, rtcp, qosPayload, rtcpPayload } = qosFixture(callId);
    const sender = new HepSender({ captureId: 2001, nodeName: 'probe-interop', collectors: [{ host: '127.0.0.1', port: k.port, transport: 'udp' }] });
    for (const m of [sip, qos, rtcp]) expect(sender.send(m)).toBe(true);
    await sender.close(3000);
    expect(sender.stats().collectors[0]).toMatchObject({ sent: 3, failed: 0, dropped: 0 });

    const mine = (t: string) => readRows(k.dbDir, t).filter((r) => r.correlationId === callId);
    await waitFor(() => mine('report_capture').length >= 1 && mine('rtcp_capture').length >= 1, 30_000, `rows (log:\n${k.log()})`);
    const reports = mine('report_capture');
    expect(reports).toHaveLength(1);
    // HEP envelope = the RTP stream's addresses: what HOMER's QoS chart groups by.
    expect(reports[0]).toMatchObject({ srcIp: '192.0.2.10', srcPort: 40376, dstIp: '192.0.2.20', dstPort: 8000, proto: 1, family: 2, type: 4 });
    expect(reports[0]!.microTs).toBe('1700000123456789'); // HEP timestamp, not arrival time
    expect(reports[0]!.node).toBe('homer01:2001'); // capture id from chunk 0x0c
    expect(JSON.parse(reports[0]!.msg)).toEqual(JSON.parse(qosPayload));
    const rtcps = mine('rtcp_capture');
    expect(rtcps).toHaveLength(1);
    expect(rtcps[0]).toMatchObject({ srcIp: '192.0.2.10', srcPort: 40377, dstIp: '192.0.2.20', dstPort: 8001, type: 3 });
    expect(JSON.parse(rtcps[0]!.msg)).toEqual(JSON.parse(rtcpPayload));
    await waitFor(() => readRows(k.dbDir, 'sip_capture').some((r) => r.msg.includes(callId)), 30_000, 'sip row');
    const sipRows = readRows(k.dbDir, 'sip_capture').filter((r) => r.msg.includes(callId));
    expect(sipRows).toHaveLength(1);
  });

  it('stores QoS reports natively only as type 99: 34 and 35 need a script (the README receiver table)', async () => {
    const sender = new HepSender({ captureId: 2001, collectors: [{ host: '127.0.0.1', port: k.port, transport: 'udp' }] });
    const ids: Record<number, string> = {};
    for (const type of [34, 35, 99]) {
      ids[type] = `type-${type}-${process.pid}@probe`;
      const { qos } = qosFixture(ids[type]);
      expect(sender.send({ ...qos, protoType: type })).toBe(true);
    }
    await sender.close(2000);
    await waitFor(() => readRows(k.dbDir, 'report_capture').some((r) => r.correlationId === ids[99]), 30_000, 'type 99 row');
    // Sent before the 99 on the same socket and worker: had they been stored, they would be there now.
    const stored = new Set(['report_capture', 'rtcp_capture', 'logs_capture', 'sip_capture'].flatMap((t) => readRows(k.dbDir, t)).map((r) => r.correlationId));
    expect([34, 35, 99].filter((t) => stored.has(ids[t]!))).toEqual([99]);
  });

  it('does not store a QoS report without correlation id (why the encoder refuses to send one)', async () => {
    const marker = `no-cid-${process.pid}-${Date.now()}`;
    const okCid = `${marker}-control`;
    const m = {
      ipFamily: 4 as const, ipProto: 17, srcIp: '198.51.100.1', dstIp: '198.51.100.2', srcPort: 41000, dstPort: 9000,
      tsSec: 1_700_000_200, tsUsec: 0, captureId: 2001, correlationId: '', payload: JSON.stringify({ MARK: marker }),
    };
    // Our encoder refuses type 99 without a correlation id, so build the packet as SIP (type 1, where the
    // id is optional) and patch the proto-type byte: offset of chunk 0x0b's body for IPv4 is
    // 6 + 7 + 7 + 10 + 10 + 8 + 8 + 10 + 10 + 6 = 82.
    const pkt = encodeHep3({ ...m, protoType: HepProtoType.SIP });
    expect(pkt.readUInt16BE(82 - 4)).toBe(0x000b);
    pkt[82] = HepProtoType.QOS_REPORT;
    const udp = (await import('node:dgram')).createSocket('udp4');
    await new Promise<void>((r, j) => udp.send(pkt, k.port, '127.0.0.1', (e) => (e ? j(e) : r())));
    udp.close();
    // Control: the same report with a correlation id, sent after it, is stored.
    const sender = new HepSender({ captureId: 2001, collectors: [{ host: '127.0.0.1', port: k.port, transport: 'udp' }] });
    expect(sender.send({ ...m, protoType: HepProtoType.QOS_REPORT, correlationId: okCid, payload: JSON.stringify({ MARK: okCid }) })).toBe(true);
    expect(sender.send({ ...m, protoType: HepProtoType.QOS_REPORT })).toBe(false); // refused locally
    expect(sender.stats().refused.emptyCorrelationId).toBe(1);
    await sender.close(2000);
    await waitFor(() => readRows(k.dbDir, 'report_capture').some((r) => r.correlationId === okCid), 30_000, 'control row');
    await waitFor(() => /no correlation id/.test(k.log()), 30_000, 'kamailio "no correlation id" log line');
    const rows = readRows(k.dbDir, 'report_capture').filter((r) => r.msg.includes(marker));
    expect(rows.map((r) => r.correlationId)).toEqual([okCid]);
  });
});

describe.skipIf(missing !== undefined)('Kamailio sipcapture over TCP (tcp_accept_hep3 + nonsip_hook script)', () => {
  let k: Kamailio & { dbDir: string };
  beforeAll(async () => {
    k = await startFlatstore(TCP_SCRIPT_ROUTES);
  });
  afterAll(async () => {
    await k?.stop();
  });

  it('frames HEP over TCP so Kamailio reads each message whole: SIP, report and RTCP stored with their ids and payloads', async () => {
    const callId = `tcp-${process.pid}@pc33.example.com`;
    const { sip, qos, rtcp, qosPayload, rtcpPayload } = qosFixture(callId);
    const sender = new HepSender({ captureId: 2001, collectors: [{ host: '127.0.0.1', port: k.port, transport: 'tcp' }] });
    await waitFor(() => sender.stats().collectors[0]!.connected);
    for (const m of [sip, qos, rtcp]) expect(sender.send(m)).toBe(true);
    await sender.close(3000);
    expect(sender.stats().collectors[0]).toMatchObject({ sent: 3, failed: 0, dropped: 0 });
    const mine = (t: string) => readRows(k.dbDir, t).filter((r) => r.correlationId === callId);
    await waitFor(() => mine('report_capture').length >= 1 && mine('rtcp_capture').length >= 1, 30_000, `rows (log:\n${k.log()})`);
    const [report] = mine('report_capture');
    // proto 2 = Kamailio's PROTO_TCP; addresses are the TCP connection's (report_capture() limitation).
    expect(report).toMatchObject({ proto: 2, microTs: '1700000123456789', node: 'homer01:2001' });
    expect(JSON.parse(report!.msg)).toEqual(JSON.parse(qosPayload));
    expect(JSON.parse(mine('rtcp_capture')[0]!.msg)).toEqual(JSON.parse(rtcpPayload));
    await waitFor(() => readRows(k.dbDir, 'sip_capture').some((r) => r.msg.includes(callId)), 30_000, 'sip row');
    expect(k.log()).not.toMatch(/content length not present/);
  });
});
