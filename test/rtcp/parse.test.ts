import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classicPcap, concat, rtcpBye, rtcpRr, rtcpSdes, rtcpSr, rtp, udpFrame } from '../../src/gen/index.js';
import { isRtcp, isRtcpMux, newRtcpParseStats, parseRtcp, rtcpToHomerJson, rtcpToHomerObject } from '../../src/rtcp/index.js';
import { sampleCompounds } from './fixtures.js';
import { ourFields } from './tshark-fields.js';

const parse = (b: Uint8Array) => parseRtcp(b, 0, b.length);

describe('RTCP parser against tshark', () => {
  const compounds = sampleCompounds();
  const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-rtcp-'));
  const file = join(dir, 'rtcp.pcap');
  writeFileSync(file, classicPcap(compounds.map((c, i) => ({ tsNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000_000n, data: udpFrame('10.0.0.1', 5005, '10.0.0.2', 5005, c) }))));
  const fields = [
    'rtcp.pt', 'rtcp.senderssrc', 'rtcp.timestamp.ntp.msw', 'rtcp.timestamp.ntp.lsw', 'rtcp.timestamp.rtp', 'rtcp.sender.packetcount',
    'rtcp.sender.octetcount', 'rtcp.ssrc.identifier', 'rtcp.ssrc.fraction', 'rtcp.ssrc.discarded', 'rtcp.ssrc.cum_nr', 'rtcp.ssrc.ext_high',
    'rtcp.ssrc.jitter', 'rtcp.ssrc.lsr', 'rtcp.ssrc.dlsr', 'rtcp.sdes.text', 'rtcp.app.name', 'rtcp.xr.bt', 'rtcp.xr.lrr', 'rtcp.xr.dlrr',
    'rtcp.xr.voipmetrics.burstdensity', 'rtcp.xr.voipmetrics.gapdensity', 'rtcp.xr.voipmetrics.burstduration',
    'rtcp.xr.voipmetrics.gapduration', 'rtcp.xr.voipmetrics.rtdelay', 'rtcp.xr.voipmetrics.esdelay',
    'rtcp.xr.voipmetrics.signallevel', 'rtcp.xr.voipmetrics.noiselevel', 'rtcp.xr.voipmetrics.gmin', 'rtcp.xr.voipmetrics.rfactor',
    'rtcp.xr.voipmetrics.rerl', 'rtcp.xr.voipmetrics.extrfactor', 'rtcp.xr.voipmetrics.moslq', 'rtcp.xr.voipmetrics.moscq',
    'rtcp.xr.voipmetrics.plc', 'rtcp.xr.voipmetrics.jba', 'rtcp.xr.voipmetrics.jbrate',
    'rtcp.xr.voipmetrics.jbnominal', 'rtcp.xr.voipmetrics.jbmax', 'rtcp.xr.voipmetrics.jbabsmax',
  ];
  const out = execFileSync('tshark', ['-r', file, '-d', 'udp.port==5005,rtcp', '-T', 'fields', '-E', 'aggregator=|', '-E', 'occurrence=a', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  const rows = out.replace(/\n$/, '').split('\n').map((r) => r.split('\t'));

  it('tshark sees every frame', () => expect(rows).toHaveLength(compounds.length));

  compounds.forEach((c, i) => {
    it(`compound ${i}: every field tshark decodes matches the parser`, () => {
      const res = parse(c);
      expect(res.malformed).toBe(false);
      const ours = ourFields(res.packets);
      let compared = 0;
      fields.forEach((name, k) => {
        const cell = rows[i][k];
        // tshark prints SSRCs and some XR fields in hex; Number() reads both forms.
        const theirs = cell === '' ? [] : cell.split('|').map((v) => (/^-?\d+$|^0x[0-9a-f]+$/i.test(v) ? String(Number(v)) : v));
        expect(ours[name] ?? [], name).toEqual(theirs);
        compared += theirs.length;
      });
      expect(compared).toBeGreaterThan(5);
    });
  });
});

describe('RTCP parser', () => {
  it('reads every packet type of the builders', () => {
    const [a, b, c] = sampleCompounds().map(parse);
    expect(a.packets.map((p) => p.kind)).toEqual(['SR', 'SDES']);
    expect(b.packets.map((p) => p.kind)).toEqual(['RR', 'SDES', 'BYE']);
    expect(c.packets.map((p) => p.kind)).toEqual(['RR', 'XR', 'APP']);
    const sdes = b.packets[1];
    expect(sdes.kind === 'SDES' && sdes.chunks.map((x) => x.cname)).toEqual(['bob', null]);
    const bye = b.packets[2];
    expect(bye.kind === 'BYE' && bye).toMatchObject({ ssrcs: [0x11223344, 0x99], reason: 'hangup' });
    const xr = c.packets[1];
    expect(xr.kind === 'XR' && xr.blocks.map((x) => x.kind)).toEqual(['RRTR', 'DLRR', 'VOIP_METRICS', 'OTHER']);
    const vm = xr.kind === 'XR' ? xr.blocks[2] : null;
    expect(vm).toMatchObject({ lossRate: 12, discardRate: 3, rerl: 40, extRFactor: 127, mosLq: 41, mosCq: 39, rxConfig: 0xb5, plc: 2, jba: 3, jbRate: 5 });
    const app = c.packets[2];
    expect(app.kind === 'APP' && app).toMatchObject({ subtype: 3, name: 'TEST', dataLength: 8 });
  });

  it('honours padding on the last packet', () => {
    const sr = rtcpSr({ ssrc: 1, ntpSec: 2, ntpFrac: 3, rtpTs: 4, packets: 5, octets: 6, padding: 8 });
    const r = parse(sr);
    expect(r.malformed).toBe(false);
    expect(r.packets[0]).toMatchObject({ kind: 'SR', octets: 6 });
    const bad = Uint8Array.from(sr);
    bad[bad.length - 1] = 200; // padding count larger than the packet
    expect(parse(bad).malformed).toBe(true);
  });

  it('counts malformed compounds and keeps the packets before the fault', () => {
    const stats = newRtcpParseStats();
    const good = rtcpRr({ ssrc: 7 });
    const truncated = rtcpSr({ ssrc: 1, ntpSec: 2, ntpFrac: 3, rtpTs: 4, packets: 5, octets: 6, reports: [{ ssrc: 9, fractionLost: 0, cumulativeLost: 0, extHighestSeq: 0, jitter: 0, lsr: 0, dlsr: 0 }] }).slice(0, 40);
    const r = parseRtcp(concat(good, truncated), 0, good.length + truncated.length, stats);
    expect(r.malformed).toBe(true);
    expect(r.packets.map((p) => p.kind)).toEqual(['RR']);
    expect(stats).toEqual({ compounds: 1, packets: 1, malformed: 1, srtcp: 0 });
    // A report count that claims more blocks than the length holds.
    const lying = Uint8Array.from(good);
    lying[0] = 0x81;
    expect(parse(lying).error).toMatch(/RR shorter/);
    // Unterminated SDES item list.
    const sdes = Uint8Array.from(rtcpSdes([{ ssrc: 1, items: [{ type: 1, value: 'abc' }] }]));
    sdes.fill(1, 8);
    expect(parse(sdes).malformed).toBe(true);
    expect(parseRtcp(good, 4, 100).error).toMatch(/range/);
    // Up to 3 trailing zero bytes are tolerated (seen in SIP_CALL_RTP_G711.pcap); non-zero ones are not.
    const tail0 = parse(concat(good, Uint8Array.of(0, 0)));
    expect([tail0.malformed, tail0.trailingBytes, tail0.packets.length]).toEqual([false, 2, 1]);
    expect(parse(concat(good, Uint8Array.of(0, 1))).malformed).toBe(true);
  });

  it('an SDES whose last item ends the datagram without its null item is read as tshark reads it; not when a packet follows', () => {
    // Janus before 2018 sent its CNAME so when the item ended on a 32-bit boundary (janus-gateway PR 1323).
    const u32 = (v: number) => Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
    const sr = rtcpSr({ ssrc: 5, ntpSec: 0xe1d2c3b4, ntpFrac: 0x80000000, rtpTs: 4, packets: 50, octets: 8000 });
    const cname = new TextEncoder().encode('janus@host'); // a 12-byte item: header, SSRC and item fill 5 words
    const sdes = concat(Uint8Array.of(0x81, 202, 0, 4), u32(5), Uint8Array.of(1, cname.length), cname);
    const last = concat(sr, sdes);
    const followed = concat(sr, sdes, rtcpBye({ ssrcs: [5] }));
    const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-rtcp-sdes-'));
    const file = join(dir, 'sdes.pcap');
    writeFileSync(file, classicPcap([last, followed].map((c, i) => ({ tsNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000_000n, data: udpFrame('10.0.0.1', 5005, '10.0.0.2', 5005, c) }))));
    const rows = execFileSync('tshark', ['-r', file, '-d', 'udp.port==5005,rtcp', '-T', 'fields', '-e', 'rtcp.pt', '-e', 'rtcp.sdes.text', '-e', 'rtcp.sender.packetcount', '-e', '_ws.malformed'], { encoding: 'utf8' })
      .trim().split('\n').map((r) => r.split('\t'));
    expect(rows[0]).toEqual(['200,202', 'janus@host', '50', '']);
    expect(rows[1]![3]).toMatch(/malformed/);
    const r = parse(last);
    expect([r.malformed, r.error]).toEqual([false, null]);
    expect(r.packets).toMatchObject([{ kind: 'SR', ssrc: 5, packets: 50 }, { kind: 'SDES', chunks: [{ ssrc: 5, cname: 'janus@host', items: [{ type: 1, text: 'janus@host' }] }] }]);
    expect(parse(followed)).toMatchObject({ malformed: true, error: 'SDES item list not terminated' });
  });

  it('never throws on random bytes, and its JSON always round-trips', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(8), (bytes, cut) => {
        const r = parseRtcp(bytes, Math.min(cut, bytes.length), Math.max(0, bytes.length - cut));
        const json = rtcpToHomerJson(r);
        expect(JSON.parse(json)).toBeTypeOf('object');
        expect(Buffer.from(json, 'utf8').toString('utf8')).toBe(json);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on mutated valid compounds', () => {
    const seeds = sampleCompounds();
    fc.assert(
      fc.property(fc.nat(seeds.length - 1), fc.array(fc.tuple(fc.nat(400), fc.nat(255)), { maxLength: 6 }), fc.nat(400), (k, edits, cut) => {
        const b = Uint8Array.from(seeds[k]);
        for (const [pos, v] of edits) b[pos % b.length] = v;
        const r = parseRtcp(b, 0, Math.min(b.length, cut));
        JSON.parse(rtcpToHomerJson(r));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('RTCP detection', () => {
  const [a] = sampleCompounds();
  it('isRtcp: version 2, PT 200..207, sane length', () => {
    expect(isRtcp(a, 0, a.length)).toBe(true);
    expect(isRtcp(a, 0, 20)).toBe(false); // first packet longer than what was captured
    const v1 = Uint8Array.from(a);
    v1[0] = 0x40 | (v1[0] & 0x3f);
    expect(isRtcp(v1, 0, v1.length)).toBe(false);
    const media = rtp({ pt: 8, seq: 1, ts: 0, ssrc: 1 });
    expect(isRtcp(media, 0, media.length)).toBe(false);
  });
  it('isRtcpMux: second byte 200..223 on an RTP port', () => {
    expect(isRtcpMux(a, 0, a.length)).toBe(true);
    // RTP PT 8 with marker: byte 1 = 0x88 = 136, not RTCP.
    const m = rtp({ pt: 8, seq: 1, ts: 0, ssrc: 1, marker: true });
    expect(isRtcpMux(m, 0, m.length)).toBe(false);
    // RTP PT 96 with marker = 224: outside the RFC 5761 range.
    const d = rtp({ pt: 96, seq: 1, ts: 0, ssrc: 1, marker: true });
    expect(isRtcpMux(d, 0, d.length)).toBe(false);
  });
});

describe('HOMER RTCP JSON', () => {
  it('has the shape heplify/captagent send, raw wire units', () => {
    const [a, b, c] = sampleCompounds().map(parse);
    const ja = JSON.parse(rtcpToHomerJson(a));
    expect(ja).toMatchObject({
      sender_information: { ntp_timestamp_sec: 0xe1d2c3b4, ntp_timestamp_usec: 0x80000000, octets: 81600, rtp_timestamp: 123456789, packets: 510 },
      ssrc: 0xd2bd4e3e, type: 200, report_count: 2, sdes_ssrc: 0xd2bd4e3e,
    });
    expect(ja.report_blocks[0]).toEqual({ source_ssrc: 0x11223344, highest_seq_no: 0x1ffff, fraction_lost: 15, ia_jitter: 27, packets_lost: 3, lsr: 0xb7052000, dlsr: 0x54000 });
    expect(ja.report_blocks[1].packets_lost).toBe(-2);
    const jb = rtcpToHomerObject(b);
    expect(jb).toMatchObject({ type: 201, ssrc: 0x11223344, report_count: 1, bye: { reason: 'hangup' } });
    expect(jb.sender_information.packets).toBe(0);
    const jc = rtcpToHomerObject(c);
    expect(jc.report_blocks_xr).toEqual({ type: 7, id: 0xd2bd4e3e, fraction_lost: 12, fraction_discard: 3, burst_density: 200, gap_density: 5, burst_duration: 120, gap_duration: 4000, round_trip_delay: 150, end_system_delay: 60 });
  });

  it('reads SDES text the same from a Buffer (in place) as from a Uint8Array, as the WHATWG UTF-8 decoder does', () => {
    const values: Array<string | Uint8Array> = [
      'alice@198.51.100.7', '', 'x', 'Zoë Ünal', '日本語', '\u0000\u007f', // ASCII, empty, Latin-1 and CJK text, NUL and DEL
      Uint8Array.of(0xef, 0xbb, 0xbf, 0x61), Uint8Array.of(0x61, 0xff, 0xc3, 0x28, 0x80), Uint8Array.of(0x7f, 0x80), // BOM, invalid bytes
    ];
    const compound = rtcpSdes(values.map((value, i) => ({ ssrc: i + 1, items: [{ type: 1, value }, { type: 6, value }] })));
    const expected = values.map((v) => new TextDecoder('utf-8').decode(typeof v === 'string' ? new TextEncoder().encode(v) : v));
    // The packet inside a larger Buffer, as a capture holds it, and alone in a Uint8Array.
    const inCapture = Buffer.concat([Buffer.from('frame headers'), compound, Buffer.from('next')]);
    const texts = (c: ReturnType<typeof parse>) => c.packets.flatMap((p) => (p.kind === 'SDES' ? p.chunks.map((x) => x.items.map((it) => it.text)) : []));
    const fromBuffer = texts(parseRtcp(inCapture, 13, compound.length));
    expect(fromBuffer).toEqual(expected.map((t) => [t, t]));
    expect(texts(parse(Uint8Array.from(compound)))).toEqual(fromBuffer);
  });

  it('escapes hostile SDES text into valid UTF-8 JSON', () => {
    const evil = rtcpSdes([{ ssrc: 5, items: [{ type: 1, value: Uint8Array.of(0x22, 0x5c, 0x00, 0x0a, 0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80) }] }]);
    const json = rtcpToHomerJson(parse(evil));
    const back = JSON.parse(json);
    expect(back.sdes[0].cname.startsWith('"\\\u0000\n')).toBe(true);
    expect(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(json))).toBe(json);
  });
});
