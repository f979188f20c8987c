/**
 * The HEP envelope of a call-level report (rule no-media: no stream, the two sides' SDP addresses) when
 * the caller's SDP is IPv4 and the callee's IPv6 (a dual-stack answerer): one family in chunk 0x01, the
 * IPv4 side as its IPv4-mapped IPv6 address, so the report reaches HOMER instead of being refused.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CaptureTimeline, DialogWriter, text, udpFrame } from '../../src/gen/index.js';
import { formatIpv6, writeIpv6 } from '../../src/hep/index.js';
import { replayToUdp } from './hep-helpers.js';

const T0 = 1_700_000_000_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtpprobe-hep-envelope-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('HEP envelope of call-level reports', () => {
  it('caller SDP IPv4, callee SDP IPv6: the no-media ALERT goes as IPv6, the IPv4 side IPv4-mapped', async () => {
    const t = new CaptureTimeline();
    // Other traffic of the mirror port moves capture time on while the call has no media.
    for (let ms = T0; ms <= T0 + 8000; ms += 250) t.add(ms, udpFrame('10.9.9.9', 9999, '10.9.9.8', 9999, text('keepalive')));
    const d = new DialogWriter(t, 'dual-stack@gen', '10.1.0.10', '10.2.0.20');
    const c = d.invite(T0, { ip: '10.1.0.10', media: [{ port: 40000, formats: [8] }] });
    d.respond(T0 + 50, 200, c, { ip: '2001:db8::20', media: [{ port: 50000, formats: [8] }] });
    d.ack(T0 + 60, c);
    const bye = d.bye(T0 + 8000);
    d.respond(T0 + 8001, 200, bye, null, { method: 'BYE', toCaller: true });
    const file = path.join(dir, 'dual-stack.pcap');
    fs.writeFileSync(file, t.pcap());

    const mapped = new Uint8Array(16);
    expect(writeIpv6('::ffff:10.1.0.10', mapped, 0)).toBe(true);
    const alerts = (await replayToUdp(file)).filter((m) => m.protoType !== 1 && JSON.parse(m.payload.toString()).ALERT_RULE === 'no-media');
    expect(alerts.map((m) => JSON.parse(m.payload.toString()).TYPE)).toEqual(['ALERT', 'CLEARED']);
    for (const m of alerts) {
      expect(m).toMatchObject({ ipFamily: 6, srcIp: '2001:db8::20', srcPort: 50000, dstIp: formatIpv6(mapped, 0), dstPort: 40000, correlationId: 'dual-stack@gen' });
      // The report's own fields keep the addresses as the SDP gave them.
      expect(JSON.parse(m.payload.toString())).toMatchObject({ SRC_IP: '2001:db8::20', DST_IP: '10.1.0.10', NO_MEDIA: m === alerts[0] ? 1 : 0 });
    }
  });
});
