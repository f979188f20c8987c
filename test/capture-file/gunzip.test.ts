/**
 * gzip members read one by one: every header field RFC 1952 allows, members split anywhere across the
 * input's chunks (a pipe delivers any sizes), cut at every byte, followed by junk. `gzip -dc` is the
 * reference for what the members hold.
 */
import { spawnSync } from 'node:child_process';
import { crc32, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { GzipMembers } from '../../src/capture/file/gunzip.js';
import { SeededRandom } from '../../src/gen/random.js';

interface HeaderFields {
  name?: string;
  comment?: string;
  extra?: Buffer;
  headerCrc?: boolean;
}

/** One gzip member of `data`, its header written here with the optional fields asked for. */
function member(data: Buffer, f: HeaderFields = {}): Buffer {
  const flags = (f.headerCrc ? 2 : 0) | (f.extra ? 4 : 0) | (f.name !== undefined ? 8 : 0) | (f.comment !== undefined ? 16 : 0);
  const parts: Buffer[] = [Buffer.from([0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3])];
  if (f.extra) parts.push(Buffer.from([f.extra.length & 0xff, f.extra.length >> 8]), f.extra);
  if (f.name !== undefined) parts.push(Buffer.from(`${f.name}\0`, 'latin1'));
  if (f.comment !== undefined) parts.push(Buffer.from(`${f.comment}\0`, 'latin1'));
  if (f.headerCrc) {
    const crc16 = crc32(Buffer.concat(parts)) & 0xffff; // FHCRC: the low 16 bits of the header's CRC-32
    parts.push(Buffer.from([crc16 & 0xff, crc16 >> 8]));
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length >>> 0, 4);
  return Buffer.concat([...parts, deflateRawSync(data), trailer]);
}

/** `bytes` as a source delivering chunks of the given sizes in turn. */
async function* chunks(bytes: Buffer, sizes: number[]): AsyncGenerator<Uint8Array> {
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length];
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

async function gunzip(bytes: Buffer, sizes = [bytes.length || 1]): Promise<{ out: Buffer; problem: GzipMembers['problem'] }> {
  const g = new GzipMembers(chunks(bytes, sizes));
  const parts: Uint8Array[] = [];
  for await (const c of g.data()) parts.push(Buffer.from(c));
  return { out: Buffer.concat(parts), problem: g.problem };
}

function gzipDc(bytes: Buffer): Buffer {
  const r = spawnSync('gzip', ['-dc'], { input: bytes, maxBuffer: 64 << 20 });
  expect(r.status, String(r.stderr)).toBe(0);
  return r.stdout;
}

const rng = new SeededRandom(7);
/** Compressible, not trivially: words drawn at random. */
function text(bytes: number): Buffer {
  const words = ['INVITE', 'sip:', 'RTP/AVP', '\r\n', 'Via: SIP/2.0/UDP', 'a=rtpmap:8 PCMA/8000', String.fromCharCode(0, 1, 2, 255)];
  let s = '';
  while (s.length < bytes) s += words[Math.floor(rng.next() * words.length)] + (rng.next() < 0.3 ? String(Math.floor(rng.next() * 1e6)) : '');
  return Buffer.from(s.slice(0, bytes), 'latin1');
}

describe('gzip members', () => {
  const a = text(200_000);
  const b = text(70_000);
  const c = Buffer.alloc(0);
  const file = Buffer.concat([
    member(a, { name: 'a.pcap', comment: 'first', extra: Buffer.from('XY\x04\0abcd', 'latin1'), headerCrc: true }),
    member(c),
    member(b, { name: 'b.pcap' }),
  ]);
  const whole = Buffer.concat([a, c, b]);

  it('every header field, an empty member, in chunks of any size: what gzip -dc gives, no problem', async () => {
    expect(gzipDc(file).equals(whole)).toBe(true);
    for (const sizes of [[file.length], [2, 3], [10], [4096], [65536, 1, 13]]) {
      const r = await gunzip(file, sizes);
      expect(r.problem, String(sizes)).toBeNull();
      expect(r.out.equals(whole), String(sizes)).toBe(true);
    }
  });

  it('cut at any byte: everything the complete part holds, then "cut short" (none at a member boundary)', async () => {
    const small = Buffer.concat([member(text(3000), { name: 'x', headerCrc: true }), member(text(2000))]);
    const firstEnd = small.indexOf(Buffer.from([0x1f, 0x8b]), 20);
    const full = (await gunzip(small)).out;
    for (let cut = 1; cut < small.length; cut++) {
      const r = await gunzip(small.subarray(0, cut), [cut % 2 === 0 ? 5 : 64]);
      expect(full.subarray(0, r.out.length).equals(r.out), `cut ${cut}`).toBe(true);
      if (cut === firstEnd) {
        expect(r.problem, `cut ${cut}`).toBeNull();
        expect(r.out.length).toBe(3000);
      } else {
        expect(r.problem, `cut ${cut}`).toEqual({ kind: 'cut-short', text: 'gzip data cut short (unexpected end of file)' });
        if (cut > firstEnd) expect(r.out.length, `cut ${cut}`).toBeGreaterThanOrEqual(3000);
      }
    }
  });

  it('junk or padding after the last member: all of it decompressed, the bytes after it counted from where they start', async () => {
    const one = member(a);
    for (const [tail, what] of [
      [Buffer.from([0x42]), '1 byte that is not gzip (trailing junk)'],
      [Buffer.from([0]), '1 zero byte (padding)'],
      [Buffer.from([0x1f, 0x00, 0x8b]), '3 bytes that are not gzip (trailing junk)'],
      [Buffer.alloc(5000), '5000 zero bytes (padding)'],
      [Buffer.concat([Buffer.alloc(100), Buffer.from('x')]), '101 bytes that are not gzip (trailing junk)'],
    ] as const) {
      for (const sizes of [[7], [1000], [one.length + tail.length]]) {
        const r = await gunzip(Buffer.concat([one, tail]), sizes);
        expect(r.out.equals(a)).toBe(true);
        expect(r.problem).toEqual({ kind: 'trailing-data', text: `the gzip data ends at compressed byte ${one.length} and is followed by ${what}, ignored` });
      }
    }
  });

  it('a damaged deflate stream or header: named, with the member it is in', async () => {
    const bad = Buffer.concat([member(a), member(b)]);
    const second = member(a).length;
    bad[second + 2] = 9; // compression method
    expect(await gunzip(bad)).toMatchObject({ problem: { kind: 'damaged', text: `gzip data damaged (compression method 9, not deflate, at compressed byte ${second})` } });
    const flags = Buffer.concat([member(a), member(b)]);
    flags[second + 3] = 0x80;
    expect((await gunzip(flags)).problem?.text).toBe(`gzip data damaged (reserved header flags 0x80 set, at compressed byte ${second})`);
    // A deflate block type that does not exist (3) at the start of the second member's stream.
    const block = Buffer.concat([member(a), member(b)]);
    block[second + 10] = 0x07;
    const r = await gunzip(block);
    expect(r.out.subarray(0, a.length).equals(a)).toBe(true);
    expect(r.problem).toEqual({ kind: 'damaged', text: `gzip data damaged (invalid block type, in the member from compressed byte ${second})` });
  });
});
