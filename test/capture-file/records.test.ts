/**
 * The file source's one-pass record walk (openCaptureFile().records(): one CaptureCursor moved over
 * consecutive windows of the file) must give exactly the records and the error of readCaptureBuffer over
 * the whole capture in memory, wherever the reads cut it: a record straddling two reads (every cut position
 * of a small capture is tried), a record larger than a read, a truncated or damaged last record, pcapng
 * with several interfaces, SPBs and both byte orders, and classic pcap with records the fast path declines.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureFileError, openCaptureFile, readCaptureBuffer } from '../../src/capture/index.js';
import { classicPcap, ipv4Udp, pcapng, pcapngSections, rtp, sll, udpFrame, type PcapRecord } from '../../src/gen/index.js';

const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-records-'));

/** One record as both readers describe it: fields, and the packet bytes as hex. */
type Row = string;

function row(tsSec: number, tsNsec: number, caplen: number, wirelen: number, linkType: number, bytes: Uint8Array): Row {
  return `${tsSec}.${tsNsec} ${caplen}/${wirelen} link ${linkType} ${Buffer.from(bytes).toString('hex')}`;
}

/** The reference: readCaptureBuffer over the whole capture (named like the file, for the error message). */
function expected(data: Uint8Array, name = 'buffer'): { rows: Row[]; error: string | null } {
  const rows: Row[] = [];
  try {
    for (const b of readCaptureBuffer(data, name)) {
      for (let i = 0; i < b.count; i++) {
        const o = b.offset[i];
        rows.push(row(b.tsSec[i], b.tsNsec[i], b.caplen[i], b.wirelen[i], b.linkType[i], b.buf.subarray(o, o + b.caplen[i])));
      }
    }
  } catch (e) {
    expect(e).toBeInstanceOf(CaptureFileError);
    return { rows, error: (e as Error).message };
  }
  return { rows, error: null };
}

function fileOf(data: Uint8Array): string {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.pcap`);
  writeFileSync(file, data);
  return file;
}

/** The records through the file source's cursor, read `chunkBytes` at a time; also where the cursor ended. */
async function viaRecords(file: string, chunkBytes: number): Promise<{ rows: Row[]; error: string | null; position: number; received: number }> {
  const rows: Row[] = [];
  const source = openCaptureFile(file, { chunkBytes });
  let position = -1;
  let error: string | null = null;
  try {
    for await (const cur of source.records()) {
      while (cur.next()) rows.push(row(cur.tsSec, cur.tsNsec, cur.caplen, cur.wirelen, cur.linkType, cur.data.subarray(cur.off, cur.off + cur.caplen)));
      expect(cur.next()).toBe(false); // a drained window stays drained
      position = cur.capturePosition;
    }
  } catch (e) {
    expect(e).toBeInstanceOf(CaptureFileError);
    error = (e as Error).message;
  }
  return { rows, error, position, received: source.stats().received };
}

/** Every chunk size in `sizes` gives the reference's records and error; a clean capture is walked to its last byte. */
async function expectSameEverywhere(data: Uint8Array, sizes: number[]): Promise<void> {
  const file = fileOf(data);
  const want = expected(data, file);
  for (const chunkBytes of sizes) {
    const got = await viaRecords(file, chunkBytes);
    expect({ chunkBytes, rows: got.rows, error: got.error }).toEqual({ chunkBytes, rows: want.rows, error: want.error });
    expect(got.received).toBe(want.rows.length);
    if (want.error === null) expect(got.position).toBe(data.length);
  }
}

const frames = Array.from({ length: 30 }, (_, i) =>
  udpFrame('10.0.0.1', 4000, '10.0.0.2', 5000, rtp({ pt: 0, seq: i, ts: i * 160, ssrc: 0xabc, payload: new Uint8Array(20 + (i % 7) * 23).fill(i) })),
);
const records: PcapRecord[] = frames.map((data, i) => ({ tsNs: 1_700_000_000_123_456_789n + BigInt(i) * 20_000_001n, data }));

/** Every chunk size from 1 to a bit past the longest record: each record boundary falls inside some read. */
const everyCut = Array.from({ length: 260 }, (_, i) => i + 1).concat([1000, 4096, 1 << 20]);
const someCuts = [1, 5, 16, 17, 63, 100, 257, 1000, 1 << 20];

describe('file records through the cursor, cut anywhere by the reads', () => {
  it('classic pcap, both byte orders and timestamp units', async () => {
    await expectSameEverywhere(classicPcap(records), everyCut);
    await expectSameEverywhere(classicPcap(records, { bigEndian: true, nanoseconds: true }), someCuts);
    await expectSameEverywhere(classicPcap(records, { nanoseconds: true }), someCuts);
  });

  it('classic pcap records the fast path declines (fraction of a second or more, snap-length cut) between ordinary ones', async () => {
    const data = Uint8Array.from(classicPcap(records.map((r, i) => (i === 8 ? { ...r, data: r.data.subarray(0, 50), wireLength: r.data.length } : r))));
    const view = new DataView(data.buffer);
    let at = 24;
    for (let k = 0; k < 12; k++) at += 16 + view.getUint32(at + 8, true);
    view.setUint32(at + 4, 2_500_000, true); // record 12: 2.5 s in microseconds
    const rows = expected(data).rows;
    expect(rows[12]).toMatch(new RegExp(`^${Number(records[12].tsNs / 1_000_000_000n) + 2}\\.500000000 `));
    await expectSameEverywhere(data, everyCut);
  });

  it('a classic pcap of the modified (Kuznetsov) format: 24-byte record headers', async () => {
    const data = modifiedPcap(records.slice(0, 10));
    expect(expected(data).rows.length).toBe(10);
    await expectSameEverywhere(data, someCuts);
  });

  it('pcapng: several interfaces and link types, SPBs, unknown blocks, two sections in both byte orders', async () => {
    const ipPkt = ipv4Udp('192.0.2.7', 5060, '192.0.2.9', 5062, new Uint8Array(61).fill(0x5a)); // not a multiple of 4: padded blocks
    // Ethernet in milliseconds, raw IP in microseconds, Linux cooked in 2^-10 s.
    const ifaces = [{ linkType: 1, tsresol: 3 }, { linkType: 101, tsresol: 6 }, { linkType: 113, tsresol: 0x80 | 10 }];
    const data = pcapngSections([
      {
        interfaces: ifaces,
        extraBlockTypes: [0x1234],
        records: [
          { tsNs: 1_700_000_000_000_000_001n, data: frames[0], iface: 0 },
          { tsNs: 1_700_000_000_000_002_000n, data: ipPkt, iface: 1 },
          { tsNs: 1_700_000_000_003_000_000n, data: sll(ipPkt, 0x0800), iface: 2 },
          { tsNs: 0n, data: frames[2], simple: true },
          { tsNs: 1_700_000_007_000_000_000n, data: frames[3], iface: 0, wireLength: frames[3].length + 100 },
        ],
      },
      { bigEndian: true, interfaces: [ifaces[2], ifaces[0]], records: [
        { tsNs: 1_800_000_000_500_000_000n, data: frames[4], iface: 1 },
        { tsNs: 0n, data: frames[6], simple: true },
      ] },
    ]);
    expect(expected(data).rows.length).toBe(7);
    await expectSameEverywhere(data, everyCut);
    await expectSameEverywhere(pcapng(records, [{ linkType: 1, tsresol: 9 }]), someCuts);
  });

  it('a record larger than a read grows the buffers (classic pcap and pcapng)', async () => {
    const big = udpFrame('10.0.0.1', 1, '10.0.0.2', 2, new Uint8Array(9000).fill(3));
    const recs = [records[0], { tsNs: 5n, data: big }, ...records.slice(1, 6), { tsNs: 6n, data: big }];
    await expectSameEverywhere(classicPcap(recs), [100, 512, 8999, 9100, 1 << 20]);
    await expectSameEverywhere(pcapng(recs), [100, 512, 8999, 9100, 1 << 20]);
  });

  it('damage: every complete record, then the same CaptureFileError', async () => {
    const classic = classicPcap(records);
    const ng = pcapng(records, [{ linkType: 1, tsresol: 9 }]);
    const corrupt = Uint8Array.from(classic);
    new DataView(corrupt.buffer).setUint32(24 + 16 + frames[0].length + 8, 0x7fffffff, true); // record 1's length
    const cases: Array<[Uint8Array, RegExp]> = [
      [classic.subarray(0, classic.length - 7), /truncated packet/], // last record cut short
      [classic.subarray(0, classic.length - frames[29].length - 9), /truncated record header/],
      [corrupt, /exceeds the maximum/],
      [ng.subarray(0, ng.length - 10), /truncated block/],
      [new TextEncoder().encode('not a capture file, just some text'), /not a pcap or pcapng file/],
      [new Uint8Array(0), /^buffer: at byte 0: empty, no capture in it/],
    ];
    for (const [data, problem] of cases) {
      expect(expected(data).error).toMatch(problem);
      await expectSameEverywhere(data, someCuts);
    }
  });

  it('batches() over the same windows still gives the same records', async () => {
    const data = classicPcap(records);
    const file = fileOf(data);
    for (const chunkBytes of [1, 33, 1000]) {
      const rows: Row[] = [];
      for await (const b of openCaptureFile(file, { chunkBytes, batchPackets: 4 }).batches()) {
        for (let i = 0; i < b.count; i++) rows.push(row(b.tsSec[i], b.tsNsec[i], b.caplen[i], b.wirelen[i], b.linkType[i], b.buf.subarray(b.offset[i], b.offset[i] + b.caplen[i])));
      }
      expect(rows).toEqual(expected(data).rows);
    }
  });
});

/** Classic pcap with magic 0xa1b2cd34: each record header has 8 more bytes (ifindex, protocol, pkt_type, pad). */
function modifiedPcap(recs: PcapRecord[]): Uint8Array {
  const plain = classicPcap(recs);
  const out = Buffer.alloc(plain.length + 8 * recs.length);
  plain.copy(out, 0, 0, 24);
  out.writeUInt32LE(0xa1b2cd34, 0);
  let i = 24;
  let o = 24;
  while (i < plain.length) {
    const caplen = plain.readUInt32LE(i + 8);
    plain.copy(out, o, i, i + 16);
    out.writeUInt32LE(7, o + 16); // ifindex
    plain.copy(out, o + 24, i + 16, i + 16 + caplen);
    i += 16 + caplen;
    o += 24 + caplen;
  }
  return out;
}
