import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeHep3Strict,
  encodeHep3,
  HepDecodeError,
  HepEncodeError,
  HepEncodeStatus,
  HepStreamDeframer,
  type HepMessage,
} from '../../src/hep/index.js';
import { hepJsDecode } from './hep-js.js';

/** Builds one generic chunk from the spec table: vendor 0 | type | 6 + body length | body. */
function chunk(type: number, bodyHex: string): string {
  const len = 6 + bodyHex.length / 2;
  return '0000' + type.toString(16).padStart(4, '0') + len.toString(16).padStart(4, '0') + bodyHex;
}
const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');
function packet(chunksHex: string): Buffer {
  const total = 6 + chunksHex.length / 2;
  return Buffer.from('48455033' + total.toString(16).padStart(4, '0') + chunksHex, 'hex');
}

const sipMin: HepMessage = {
  ipFamily: 4, ipProto: 17, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 5060, dstPort: 5060,
  tsSec: 1, tsUsec: 2, protoType: 1, captureId: 3, correlationId: '', payload: 'X',
};

const qos: HepMessage = {
  ipFamily: 4, ipProto: 17, srcIp: '192.168.178.34', dstIp: '192.168.60.70', srcPort: 58320, dstPort: 32728,
  tsSec: 1453461919, tsUsec: 123456, protoType: 99, captureId: 2001, authKey: 'myHep',
  correlationId: '56a2c9@192.168.178.34', vlan: 42, nodeName: 'probe-1', mos: 4.39, rfactor: 92.449, jitter: 23,
  payload: '{"CORRELATION_ID":"56a2c9@192.168.178.34","MOS":4.394,"TYPE":"PERIODIC"}',
};

describe('encodeHep3 byte layout', () => {
  it('matches a fully hand-written SIP packet (spec rev 37 table, big-endian, total counts the header)', () => {
    // 100 bytes: header 6 + 01(7) 02(7) 03(10) 04(10) 07(8) 08(8) 09(10) 0a(10) 0b(7) 0c(10) 0f(7).
    const expected = Buffer.from(
      '48455033' + '0064' +
        '0000' + '0001' + '0007' + '02' +
        '0000' + '0002' + '0007' + '11' +
        '0000' + '0003' + '000a' + '0a000001' +
        '0000' + '0004' + '000a' + '0a000002' +
        '0000' + '0007' + '0008' + '13c4' +
        '0000' + '0008' + '0008' + '13c4' +
        '0000' + '0009' + '000a' + '00000001' +
        '0000' + '000a' + '000a' + '00000002' +
        '0000' + '000b' + '0007' + '01' +
        '0000' + '000c' + '000a' + '00000003' +
        '0000' + '000f' + '0007' + '58',
      'hex',
    );
    expect(expected.length).toBe(100);
    expect(encodeHep3(sipMin).toString('hex')).toBe(expected.toString('hex'));
  });

  it('matches a QoS report built chunk by chunk from the spec table, all optional chunks in order', () => {
    const expected = packet(
      chunk(0x01, '02') +
        chunk(0x02, '11') +
        chunk(0x03, 'c0a8b222') + // 192.168.178.34
        chunk(0x04, 'c0a83c46') + // 192.168.60.70
        chunk(0x07, 'e3d0') + // 58320
        chunk(0x08, '7fd8') + // 32728
        chunk(0x09, '56a2119f') + // 1453461919
        chunk(0x0a, '0001e240') + // 123456
        chunk(0x0b, '63') + // 99
        chunk(0x0c, '000007d1') + // 2001
        chunk(0x0e, hex('myHep')) +
        chunk(0x11, hex('56a2c9@192.168.178.34')) +
        chunk(0x12, '002a') + // VLAN 42
        chunk(0x13, hex('probe-1')) +
        chunk(0x20, '01b7') + // MOS 4.39 x 100 = 439
        chunk(0x21, '005c') + // R 92.449 -> 92
        chunk(0x23, '00000017') + // jitter 23
        chunk(0x0f, hex(qos.payload as string)),
    );
    const out = Buffer.alloc(2000, 0xee);
    const n = encodeHep3(qos, out);
    expect(n).toBe(expected.length);
    expect(out.subarray(0, n).toString('hex')).toBe(expected.toString('hex'));
    // reused buffer: a shorter message overwrites only its own length
    const n2 = encodeHep3(sipMin, out);
    expect(n2).toBe(100);
    expect(out.readUInt16BE(4)).toBe(100);
  });

  it('encodes IPv6 addresses as 16-byte chunks 0x05/0x06', () => {
    const m: HepMessage = { ...sipMin, ipFamily: 6, srcIp: '2001:db8::1', dstIp: '::ffff:10.0.0.2' };
    const expected = packet(
      chunk(0x01, '0a') + chunk(0x02, '11') +
        chunk(0x05, '20010db8000000000000000000000001') +
        chunk(0x06, '00000000000000000000ffff0a000002') +
        chunk(0x07, '13c4') + chunk(0x08, '13c4') + chunk(0x09, '00000001') + chunk(0x0a, '00000002') +
        chunk(0x0b, '01') + chunk(0x0c, '00000003') + chunk(0x0f, '58'),
    );
    expect(encodeHep3(m).toString('hex')).toBe(expected.toString('hex'));
    const d = decodeHep3Strict(expected);
    expect(d.srcIp).toBe('2001:db8::1');
    expect(d.dstIp).toBe('::ffff:a00:2');
  });

  it('accepts raw address bytes and binary payloads', () => {
    const m: HepMessage = {
      ...sipMin, srcIp: new Uint8Array([1, 2, 3, 4]), dstIp: new Uint8Array([5, 6, 7, 8]),
      payload: new Uint8Array([0, 255, 1]),
    };
    const d = decodeHep3Strict(encodeHep3(m));
    expect(d.srcIp).toBe('1.2.3.4');
    expect(d.dstIp).toBe('5.6.7.8');
    expect([...d.payload]).toEqual([0, 255, 1]);
  });
});

describe('encodeHep3 refusals', () => {
  it('refuses a non-SIP message without correlation id: negative status with a buffer, error without', () => {
    const m = { ...qos, correlationId: '' };
    expect(encodeHep3(m, Buffer.alloc(4096))).toBe(HepEncodeStatus.EMPTY_CORRELATION_ID);
    expect(() => encodeHep3(m)).toThrow(HepEncodeError);
    expect(() => encodeHep3(m)).toThrow(/correlation id/);
    // SIP may omit it: the chunk is simply absent
    expect(decodeHep3Strict(encodeHep3(sipMin)).chunkOrder).not.toContain(0x11);
  });

  it('refuses packets over the u16 total length and accepts exactly 65535', () => {
    const fixed = encodeHep3({ ...sipMin, payload: '' }).length; // header + fixed chunks + empty payload chunk
    const maxPayload = 65535 - fixed;
    const ok = encodeHep3({ ...sipMin, payload: 'a'.repeat(maxPayload) });
    expect(ok.length).toBe(65535);
    expect(ok.readUInt16BE(4)).toBe(65535);
    expect(() => encodeHep3({ ...sipMin, payload: 'a'.repeat(maxPayload + 1) })).toThrow(/65535/);
    expect(encodeHep3({ ...sipMin, payload: new Uint8Array(maxPayload + 1) }, Buffer.alloc(70000))).toBe(HepEncodeStatus.TOO_BIG);
    // multi-byte UTF-8 counts bytes, not characters
    expect(() => encodeHep3({ ...sipMin, payload: 'é'.repeat(Math.ceil(maxPayload / 2) + 1) })).toThrow(/65535/);
    expect(encodeHep3({ ...sipMin, payload: 'aaaa' }, Buffer.alloc(100))).toBe(HepEncodeStatus.OUT_TOO_SMALL);
  });

  it('refuses values that do not fit their chunk', () => {
    const out = Buffer.alloc(4096);
    expect(encodeHep3({ ...sipMin, srcPort: 65536 }, out)).toBe(HepEncodeStatus.OUT_OF_RANGE);
    expect(encodeHep3({ ...sipMin, ipProto: 256 }, out)).toBe(HepEncodeStatus.OUT_OF_RANGE);
    expect(encodeHep3({ ...sipMin, tsSec: 2 ** 32 }, out)).toBe(HepEncodeStatus.OUT_OF_RANGE);
    expect(encodeHep3({ ...sipMin, tsUsec: 1_000_000 }, out)).toBe(HepEncodeStatus.OUT_OF_RANGE);
    expect(encodeHep3({ ...sipMin, captureId: -1 }, out)).toBe(HepEncodeStatus.OUT_OF_RANGE);
    expect(encodeHep3({ ...sipMin, vlan: 4096 }, out)).toBe(HepEncodeStatus.OUT_OF_RANGE);
    expect(encodeHep3({ ...sipMin, mos: 700 }, out)).toBe(HepEncodeStatus.OUT_OF_RANGE);
    expect(encodeHep3({ ...sipMin, rfactor: -1 }, out)).toBe(HepEncodeStatus.OUT_OF_RANGE);
    expect(encodeHep3({ ...sipMin, jitter: Number.NaN }, out)).toBe(HepEncodeStatus.OUT_OF_RANGE);
    expect(encodeHep3({ ...sipMin, srcIp: '10.0.0.256' }, out)).toBe(HepEncodeStatus.BAD_ADDRESS);
    expect(encodeHep3({ ...sipMin, srcIp: '2001:db8::1' }, out)).toBe(HepEncodeStatus.BAD_ADDRESS);
    expect(encodeHep3({ ...sipMin, ipFamily: 6, srcIp: '1::2::3', dstIp: '::1' }, out)).toBe(HepEncodeStatus.BAD_ADDRESS);
    expect(encodeHep3({ ...sipMin, dstIp: new Uint8Array(16) }, out)).toBe(HepEncodeStatus.BAD_ADDRESS);
    expect(() => encodeHep3({ ...sipMin, dstPort: 1.5 })).toThrow(/dstPort/);
  });
});

describe('decodeHep3Strict', () => {
  it('round-trips every field and keeps the chunk order 0x01..0x0c, 0e, 11, 12, 13, 20, 21, 23, 0f', () => {
    const d = decodeHep3Strict(encodeHep3(qos));
    expect(d).toMatchObject({
      ipFamily: 4, ipProto: 17, srcIp: qos.srcIp, dstIp: qos.dstIp, srcPort: 58320, dstPort: 32728,
      tsSec: qos.tsSec, tsUsec: qos.tsUsec, protoType: 99, captureId: 2001, authKey: 'myHep',
      correlationId: qos.correlationId, vlan: 42, nodeName: 'probe-1', mos: 4.39, rfactor: 92, jitter: 23,
    });
    expect(d.payload.toString()).toBe(qos.payload);
    expect(d.chunkOrder).toEqual([1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 0x0e, 0x11, 0x12, 0x13, 0x20, 0x21, 0x23, 0x0f]);
  });

  it('round-trips arbitrary valid messages (property)', () => {
    const ip4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.'));
    fc.assert(
      fc.property(
        ip4, ip4, fc.nat(65535), fc.nat(65535), fc.nat(0xffffffff), fc.nat(999999), fc.constantFrom(1, 5, 34, 35, 99, 100),
        fc.nat(0xffffffff), fc.string({ minLength: 1, maxLength: 80 }), fc.string({ maxLength: 2000 }),
        fc.option(fc.integer({ min: 100, max: 450 }), { nil: undefined }),
        (src, dst, sp, dp, ts, us, pt, cap, cid, payload, mos100) => {
          const m: HepMessage = {
            ipFamily: 4, ipProto: 17, srcIp: src, dstIp: dst, srcPort: sp, dstPort: dp, tsSec: ts, tsUsec: us,
            protoType: pt, captureId: cap, correlationId: cid, payload,
            ...(mos100 !== undefined ? { mos: mos100 / 100 } : {}),
          };
          const d = decodeHep3Strict(encodeHep3(m));
          expect(d.srcIp).toBe(src);
          expect(d.dstIp).toBe(dst);
          expect([d.srcPort, d.dstPort, d.tsSec, d.tsUsec, d.protoType, d.captureId]).toEqual([sp, dp, ts, us, pt, cap]);
          expect(d.correlationId).toBe(Buffer.from(cid).toString());
          expect(d.payload.toString()).toBe(Buffer.from(payload).toString());
          if (mos100 !== undefined) expect(d.mos).toBe(mos100 / 100);
        },
      ),
      { numRuns: 300 },
    );
  });

  const good = () => Buffer.from(encodeHep3(qos));
  const expectCode = (b: Buffer, code: string) => {
    let err: unknown;
    try {
      decodeHep3Strict(b);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HepDecodeError);
    expect((err as HepDecodeError).code).toBe(code);
  };

  it('rejects a total length that differs from the datagram length', () => {
    expectCode(Buffer.concat([good(), Buffer.from([0])]), 'LENGTH_MISMATCH');
    expectCode(good().subarray(0, 50), 'LENGTH_MISMATCH');
    expectCode(Buffer.from('HEP'), 'SHORT');
    const bad = good();
    bad[3] = 0x32;
    expectCode(bad, 'BAD_MAGIC');
  });

  it('rejects chunks whose size differs from their type (u8 1, u16 2, u32/IPv4 4, IPv6 16)', () => {
    // family chunk with a 2-byte body
    expectCode(packet(chunk(0x01, '0002') + chunk(0x02, '11')), 'CHUNK_SIZE');
    const base = (c3: string, c7: string, c9: string, c5?: string) =>
      packet(chunk(0x01, c5 ? '0a' : '02') + chunk(0x02, '11') + (c5 ? chunk(0x05, c5) : chunk(0x03, c3)) + chunk(0x07, c7) + chunk(0x09, c9));
    expectCode(base('0a0000', '13c4', '00000001'), 'CHUNK_SIZE'); // IPv4 3 bytes
    expectCode(base('0a000001', '0013c4', '00000001'), 'CHUNK_SIZE'); // u16 3 bytes
    expectCode(base('0a000001', '13c4', '000001'), 'CHUNK_SIZE'); // u32 3 bytes
    expectCode(base('', '13c4', '00000001', '20010db8'), 'CHUNK_SIZE'); // IPv6 4 bytes
  });

  it('rejects chunk lengths that overrun the packet or are below 6', () => {
    const b = good();
    b.writeUInt16BE(0xfff0, 6 + 4); // family chunk length
    expectCode(b, 'CHUNK_TRUNCATED');
    const c = good();
    c.writeUInt16BE(3, 6 + 4);
    expectCode(c, 'CHUNK_TRUNCATED');
  });

  it('rejects vendor chunks whose type id collides with a generic one, accepts other vendor chunks', () => {
    const ok = encodeHep3(sipMin);
    const withVendor = (type: number) => {
      const v = Buffer.from('0004' + type.toString(16).padStart(4, '0') + '0007' + '01', 'hex');
      const b = Buffer.concat([ok, v]);
      b.writeUInt16BE(b.length, 4);
      return b;
    };
    expectCode(withVendor(0x0b), 'VENDOR_TYPE_COLLISION');
    expect(decodeHep3Strict(withVendor(0x0100)).chunkOrder).toContain((4 << 16) | 0x100);
  });

  it('rejects a non-SIP message without correlation id, duplicate chunks, missing chunks, bad family', () => {
    const noCid = packet(
      chunk(0x01, '02') + chunk(0x02, '11') + chunk(0x03, '0a000001') + chunk(0x04, '0a000002') + chunk(0x07, '13c4') +
        chunk(0x08, '13c4') + chunk(0x09, '00000001') + chunk(0x0a, '00000002') + chunk(0x0b, '63') + chunk(0x0c, '00000003') +
        chunk(0x0f, hex('{}')),
    );
    expectCode(noCid, 'NO_CORRELATION_ID');
    expectCode(packet(chunk(0x01, '02') + chunk(0x01, '02')), 'DUPLICATE_CHUNK');
    expectCode(packet(chunk(0x01, '02') + chunk(0x02, '11')), 'MISSING_CHUNK');
    expectCode(packet(chunk(0x01, '07')), 'BAD_FAMILY');
  });

  it('hep-js (sipcapture reference library) decodes our packets to the same values', () => {
    const r = hepJsDecode(encodeHep3(qos));
    expect(r.rcinfo).toMatchObject({
      protocolFamily: 2, protocol: 17, srcIp: qos.srcIp, dstIp: qos.dstIp, srcPort: 58320, dstPort: 32728,
      timeSeconds: qos.tsSec, timeUseconds: qos.tsUsec, payloadType: 99, captureId: 2001, capturePass: 'myHep',
      correlation_id: qos.correlationId, hepNodeName: 'probe-1', mos: 439,
    });
    expect(r.payload).toBe(qos.payload);
  });
});

describe('HepStreamDeframer', () => {
  it('splits a stream cut at every byte boundary by the total length field', () => {
    const a = encodeHep3(qos);
    const b = encodeHep3(sipMin);
    const stream = Buffer.concat([a, b, a]);
    for (const step of [1, 3, 7, 100, stream.length]) {
      const d = new HepStreamDeframer();
      const frames: Buffer[] = [];
      for (let o = 0; o < stream.length; o += step) frames.push(...d.push(stream.subarray(o, o + step)));
      expect(frames.map((f) => f.toString('hex'))).toEqual([a, b, a].map((f) => f.toString('hex')));
      expect(d.buffered).toBe(0);
      expect(d.error).toBeUndefined();
    }
  });

  it('latches an error on a stream that is not HEP3', () => {
    const d = new HepStreamDeframer();
    expect(d.push(Buffer.from('INVITE sip:x SIP/2.0\r\n'))).toEqual([]);
    expect(d.error).toMatch(/magic/);
    expect(d.push(encodeHep3(sipMin))).toEqual([]);
  });
});
