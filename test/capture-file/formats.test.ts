import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureFileError, openCaptureFile, readCaptureBuffer, type PacketBatch } from '../../src/capture/index.js';
import { CaptureCursor } from '../../src/capture/file/index.js';
import { classicPcap, ipv4Udp, loopback, pcapng, pcapngSections, rtp, sll, udpFrame, type PcapRecord } from '../../src/gen/index.js';

const dir = mkdtempSync(join(tmpdir(), 'rtpprobe-capfile-'));

interface Seen {
  tsSec: number;
  tsNsec: number;
  caplen: number;
  wirelen: number;
  linkType: number;
  bytes: string;
}

function collect(batch: PacketBatch, into: Seen[]): void {
  for (let i = 0; i < batch.count; i++) {
    const o = batch.offset[i];
    into.push({
      tsSec: batch.tsSec[i], tsNsec: batch.tsNsec[i], caplen: batch.caplen[i], wirelen: batch.wirelen[i], linkType: batch.linkType[i],
      bytes: Buffer.from(batch.buf.subarray(o, o + batch.caplen[i])).toString('hex'),
    });
  }
}

/** The same capture through CaptureCursor (record at a time): the records seen, and the error thrown if any. */
function readCursor(data: Uint8Array): { seen: Seen[]; error: unknown } {
  const seen: Seen[] = [];
  const cur = new CaptureCursor(data);
  let error: unknown = null;
  try {
    while (cur.next()) {
      seen.push({
        tsSec: cur.tsSec, tsNsec: cur.tsNsec, caplen: cur.caplen, wirelen: cur.wirelen, linkType: cur.linkType,
        bytes: Buffer.from(data.subarray(cur.off, cur.off + cur.caplen)).toString('hex'),
      });
    }
    expect(cur.next()).toBe(false); // stays ended
  } catch (e) {
    error = e;
  }
  return { seen, error };
}

/** readCaptureBuffer's records, checked equal to CaptureCursor's. */
function readSync(data: Uint8Array): Seen[] {
  const seen: Seen[] = [];
  for (const b of readCaptureBuffer(data)) collect(b, seen);
  const cursor = readCursor(data);
  expect(cursor.error).toBeNull();
  expect(cursor.seen).toEqual(seen);
  return seen;
}

async function readFile(data: Uint8Array, chunkBytes = 1024, batchPackets = 7): Promise<{ seen: Seen[]; error: unknown }> {
  const file = join(dir, `f${Math.random().toString(36).slice(2)}.pcap`);
  writeFileSync(file, data);
  const seen: Seen[] = [];
  let error: unknown = null;
  try {
    for await (const b of openCaptureFile(file, { chunkBytes, batchPackets }).batches()) collect(b, seen);
  } catch (e) {
    error = e;
  }
  return { seen, error };
}

/** tshark's epoch times and lengths: the independent reading of what the generator wrote. */
function tsharkFrames(data: Uint8Array): Array<{ epoch: string; caplen: number; wirelen: number }> {
  const file = join(dir, `t${Math.random().toString(36).slice(2)}.pcapng`);
  writeFileSync(file, data);
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.cap_len', '-e', 'frame.len'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out.trim().split('\n').map((l) => {
    const [epoch, cap, len] = l.split('\t');
    return { epoch, caplen: Number(cap), wirelen: Number(len) };
  });
}

function epochOf(s: Seen): string {
  return `${s.tsSec}.${String(s.tsNsec).padStart(9, '0')}`;
}

const frames = Array.from({ length: 40 }, (_, i) =>
  udpFrame('10.0.0.1', 4000, '10.0.0.2', 5000, rtp({ pt: 0, seq: i, ts: i * 160, ssrc: 0xabc, payload: new Uint8Array(40 + (i % 13) * 17).fill(i) })),
);
const records: PcapRecord[] = frames.map((data, i) => ({ tsNs: 1_700_000_000_123_456_789n + BigInt(i) * 20_000_001n, data }));

describe('classic pcap', () => {
  for (const nanoseconds of [false, true]) {
    for (const bigEndian of [false, true]) {
      it(`${nanoseconds ? 'ns' : 'us'} ${bigEndian ? 'big' : 'little'}-endian: every packet, exact bytes and times (as tshark reads them)`, async () => {
        const data = classicPcap(records, { nanoseconds, bigEndian });
        const sync = readSync(data);
        const { seen, error } = await readFile(data);
        expect(error).toBeNull();
        expect(seen).toEqual(sync);
        expect(sync.length).toBe(records.length);
        const ref = tsharkFrames(data);
        expect(sync.map(epochOf)).toEqual(ref.map((r) => r.epoch));
        sync.forEach((s, i) => {
          expect(s.bytes).toBe(Buffer.from(frames[i]).toString('hex'));
          expect(s.linkType).toBe(1);
        });
      });
    }
  }

  it('a timestamp fraction of a second or more is carried into the seconds, between ordinary records', async () => {
    for (const nanoseconds of [false, true]) {
      for (const bigEndian of [false, true]) {
        const data = Uint8Array.from(classicPcap(records.slice(0, 12), { nanoseconds, bigEndian }));
        const view = new DataView(data.buffer);
        // Records 4 and 5 get a fraction of 2.5 s and 1 s (in the file's unit).
        const recordAt = (k: number) => 24 + records.slice(0, k).reduce((a, r) => a + 16 + r.data.length, 0);
        const unit = nanoseconds ? 1e9 : 1e6;
        view.setUint32(recordAt(4) + 4, 2.5 * unit, !bigEndian);
        view.setUint32(recordAt(5) + 4, unit, !bigEndian);
        for (const seen of [readSync(data), (await readFile(data, 256, 3)).seen]) {
          expect(seen.length).toBe(12);
          const sec = (k: number) => Number(records[k].tsNs / 1_000_000_000n);
          expect(seen[4]).toMatchObject({ tsSec: sec(4) + 2, tsNsec: 500_000_000 });
          expect(seen[5]).toMatchObject({ tsSec: sec(5) + 1, tsNsec: 0 });
          for (const k of [3, 6, 11]) expect(epochOf(seen[k])).toBe(`${sec(k)}.${String(records[k].tsNs % 1_000_000_000n / (nanoseconds ? 1n : 1000n) * (nanoseconds ? 1n : 1000n)).padStart(9, '0')}`);
          seen.forEach((s, k) => expect(s.bytes).toBe(Buffer.from(frames[k]).toString('hex')));
        }
      }
    }
  });

  it('keeps the wire length of snap-length-cut records and the header link type', () => {
    const cut: PcapRecord[] = [{ tsNs: 1_000_000_000n, data: frames[5].subarray(0, 60), wireLength: frames[5].length }];
    const data = classicPcap(cut, { linkType: 113 });
    const [s] = readSync(data);
    expect(s.caplen).toBe(60);
    expect(s.wirelen).toBe(frames[5].length);
    expect(s.linkType).toBe(113);
    expect(tsharkFrames(data)[0]).toMatchObject({ caplen: 60, wirelen: frames[5].length });
  });
});

describe('pcapng', () => {
  it('several interfaces with different link types and resolutions, both byte orders, SPBs and unknown blocks', async () => {
    const ipPkt = ipv4Udp('10.0.0.1', 1, '10.0.0.2', 2, new Uint8Array(30).fill(7));
    const ifaces = [
      { linkType: 1, tsresol: 9 },
      { linkType: 101, tsresol: 6 },
      { linkType: 113, tsresol: 0x80 | 20 },
      { linkType: 0, tsresol: 3, tsoffset: 1000 },
      { linkType: 276, tsresol: 0x80 | 30 },
    ];
    const recs = (base: bigint) => [
      { tsNs: base + 1n, data: frames[0], iface: 0 },
      { tsNs: base + 2_000n, data: ipPkt, iface: 1 },
      { tsNs: base + 3_000_000n, data: sll(ipPkt, 0x0800), iface: 2 },
      { tsNs: base + 4_000_000n, data: loopback(ipPkt, 2), iface: 3 },
      { tsNs: base + 5_000_000n, data: frames[1], iface: 4 },
      { tsNs: 0n, data: frames[2], simple: true },
      { tsNs: base + 7_000_000_000n, data: frames[3], iface: 0, wireLength: frames[3].length + 100 },
    ];
    const data = pcapngSections([
      { interfaces: ifaces, records: recs(1_700_000_000_000_000_000n), extraBlockTypes: [0x1234, 0x7777] },
      { bigEndian: true, interfaces: [ifaces[2], ifaces[0]], records: [
        { tsNs: 1_800_000_000_500_000_000n, data: frames[4], iface: 1 },
        { tsNs: 1_800_000_000_600_000_000n, data: frames[5], iface: 0 },
        { tsNs: 0n, data: frames[6], simple: true },
      ] },
    ]);
    const sync = readSync(data);
    const { seen, error } = await readFile(data, 256, 3);
    expect(error).toBeNull();
    expect(seen).toEqual(sync);
    expect(sync.map((s) => s.linkType)).toEqual([1, 101, 113, 0, 276, 1, 1, 1, 113, 113]);
    const ref = tsharkFrames(data);
    expect(sync.length).toBe(ref.length);
    // SPBs (indices 5 and 9) have no timestamp: tshark prints none, we carry the previous packet's.
    const spb = [5, 9];
    expect(sync.map((s, i) => (spb.includes(i) ? '' : epochOf(s)))).toEqual(ref.map((r) => r.epoch));
    for (const i of spb) expect(epochOf(sync[i])).toBe(epochOf(sync[i - 1]));
    expect(sync.map((s) => [s.caplen, s.wirelen])).toEqual(ref.map((r) => [r.caplen, r.wirelen]));
  });

  it('an SPB is cut to interface 0 snap length', () => {
    const data = pcapngSections([{ interfaces: [{ linkType: 1, snapLength: 64 }], records: [{ tsNs: 0n, data: frames[9], simple: true }] }]);
    const [s] = readSync(data);
    expect(s.caplen).toBe(64);
    expect(s.wirelen).toBe(frames[9].length);
    expect(s.bytes).toBe(Buffer.from(frames[9].subarray(0, 64)).toString('hex'));
  });

  it('the project writer output (EPB and SPB) reads back', () => {
    expect(readSync(pcapng(records, [{ linkType: 1, tsresol: 9 }])).map(epochOf)).toEqual(tsharkFrames(pcapng(records, [{ linkType: 1, tsresol: 9 }])).map((r) => r.epoch));
    expect(readSync(pcapng(records, [{ linkType: 1 }], true)).length).toBe(records.length);
  });

  it('a record larger than the chunk size grows the buffer', async () => {
    const big = udpFrame('10.0.0.1', 1, '10.0.0.2', 2, new Uint8Array(9000).fill(3));
    const data = pcapng([{ tsNs: 5n, data: big }, ...records]);
    const { seen, error } = await readFile(data, 512, 4);
    expect(error).toBeNull();
    expect(seen.length).toBe(records.length + 1);
    expect(seen[0].caplen).toBe(big.length);
  });
});

describe('damaged files: every complete packet, then CaptureFileError', () => {
  const classic = classicPcap(records);
  const ng = pcapng(records, [{ linkType: 1, tsresol: 9 }]);
  // offset of the end of record k in each format
  const classicEnd = (k: number) => 24 + records.slice(0, k).reduce((a, r) => a + 16 + r.data.length, 0);
  const ngEnd = (k: number) => 28 + 32 + records.slice(0, k).reduce((a, r) => a + 32 + ((r.data.length + 3) & ~3), 0);

  async function expectDamage(data: Uint8Array, complete: number, messagePart: RegExp) {
    for (const chunk of [100, 4096, 1 << 20]) {
      const { seen, error } = await readFile(data, chunk, 5);
      expect(seen.length).toBe(complete);
      expect(error).toBeInstanceOf(CaptureFileError);
      expect((error as Error).message).toMatch(messagePart);
    }
    const seen: Seen[] = [];
    expect(() => {
      for (const b of readCaptureBuffer(data)) collect(b, seen);
    }).toThrow(CaptureFileError);
    expect(seen.length).toBe(complete);
    const cursor = readCursor(data);
    expect(cursor.seen).toEqual(seen);
    expect(cursor.error).toBeInstanceOf(CaptureFileError);
    expect((cursor.error as Error).message).toMatch(messagePart);
  }

  it('classic pcap truncated inside a record', async () => {
    await expectDamage(classic.subarray(0, classicEnd(17) + 30), 17, /truncated packet/);
  });
  it('classic pcap cut 2 bytes short of a record\'s end: the line counts the record header in what the record needs', async () => {
    const len = records[17].data.length;
    const problem = `at byte ${classicEnd(17)}: truncated packet: the record needs ${16 + len} bytes (16 of header, ${len} of data); only ${16 + len - 2} bytes left in the file`;
    await expectDamage(classic.subarray(0, classicEnd(18) - 2), 17, new RegExp(`${problem.replace(/[()]/g, '\\$&')}$`));
  });
  it('classic pcap truncated inside a record header', async () => {
    await expectDamage(classic.subarray(0, classicEnd(9) + 5), 9, new RegExp(`at byte ${classicEnd(9)}: truncated record header`));
  });
  it('classic pcap with a corrupt record length', async () => {
    const bad = Uint8Array.from(classic);
    new DataView(bad.buffer).setUint32(classicEnd(23) + 8, 0x7fffffff, true);
    await expectDamage(bad, 23, /exceeds the maximum/);
  });
  it('pcapng truncated inside a block', async () => {
    await expectDamage(ng.subarray(0, ngEnd(31) + 40), 31, /truncated block/);
  });
  it('pcapng cut inside its section header block: no capture (as a pcap cut inside its header); cut inside a later block: the block named, its type in hex as the specification lists it', async () => {
    await expectDamage(ng.subarray(0, 20), 0, /^\S+: at byte 0: file too short for a pcapng section header \(20 of its 28 bytes\): not a whole capture/);
    expect((await readFile(ng.subarray(0, 20), 4096, 5)).error).toMatchObject({ kind: 'not-capture', partial: false });
    await expectDamage(ng.subarray(0, ngEnd(4) + 40), 4, /: truncated block: enhanced packet block \(0x00000006\) needs \d+ bytes/);
  });
  it('pcapng with mismatched trailing length', async () => {
    const bad = Uint8Array.from(ng);
    new DataView(bad.buffer).setUint32(ngEnd(12) - 4, 12345, true);
    await expectDamage(bad, 11, /trailing length does not match leading length \d+ \(enhanced packet block \(0x00000006\)\)/);
  });
  it('pcapng packet block naming an undefined interface', async () => {
    const bad = Uint8Array.from(ng);
    new DataView(bad.buffer).setUint32(ngEnd(3) + 8, 9, true);
    await expectDamage(bad, 3, /interface 9/);
  });
  it('not a capture at all, and an empty file', async () => {
    await expectDamage(new TextEncoder().encode('hello, this is not a pcap file at all'), 0, /not a pcap or pcapng file/);
    await expectDamage(new Uint8Array(0), 0, /empty, no capture in it/);
  });
  it('the error names the file and offset', async () => {
    const { error } = await readFile(classic.subarray(0, 30));
    expect(error).toBeInstanceOf(CaptureFileError);
    const e = error as CaptureFileError;
    expect(e.file).toContain('rtpprobe-capfile-');
    expect(e.byteOffset).toBe(24);
  });
});
