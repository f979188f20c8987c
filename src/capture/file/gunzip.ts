/**
 * gzip data decompressed member by member (RFC 1952), each member's header, deflate stream and trailer
 * read here: what follows a member is known to the byte. zlib's own gunzip stream runs on into whatever
 * follows a member and, failing there (trailing junk, a bad CRC), loses the output of its last
 * decompression step, the last few KiB of the capture; here every byte a member decompresses to is
 * delivered before a problem after it is reported. Bytes after the last member that are not gzip (junk,
 * zero padding) are counted and named, as `gzip -d` warns of them, not read as capture data as Wireshark
 * reads them (they fail as records, or worse, parse as packets the capture never held).
 */
import * as zlib from 'node:zlib';
import type { InputProblem } from './input.js';

const ID1 = 0x1f;
const ID2 = 0x8b;
const CM_DEFLATE = 8;
const HEADER_BYTES = 10;
const TRAILER_BYTES = 8;
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const FRESERVED = 0xe0;
/**
 * Decompressed bytes per step of the inflater. A deflate error (a damaged member) loses the output of the
 * step it stops, up to this much before the error: 16 KiB (zlib's default) measured as fast as 64 KiB,
 * 4 KiB ~30% slower.
 */
const OUT_CHUNK = 16 * 1024;

export class GzipMembers {
  /** Set when the data ended for a reason other than the clean end of the last member. */
  problem: InputProblem | null = null;
  /** Compressed bytes not yet used: the header or trailer being read, or what a member's end left. */
  private pending: Uint8Array = new Uint8Array(0);
  /** Compressed offset of pending[0]. */
  private at = 0;
  private eof = false;

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /** The decompressed bytes of every member, in order; stops at the first problem (see `problem`). */
  async *data(): AsyncGenerator<Uint8Array, void, undefined> {
    for (let member = 0; ; member++) {
      if (member > 0) {
        if (!(await this.fill(1))) return; // the clean end: nothing after the last member
        // A lone ID1 at the end is a member cut after its first byte (the header's check says so).
        const two = await this.fill(2);
        if (this.pending[0] !== ID1 || (two && this.pending[1] !== ID2)) return this.trailing();
      }
      const start = this.at;
      const header = await this.header();
      if (header !== 'ok') return this.fail(header === 'cut' ? 'cut-short' : 'damaged', header === 'cut' ? 'gzip data cut short (unexpected end of file)' : `gzip data damaged (${header}, at compressed byte ${start})`);
      let crc = 0;
      let size = 0;
      const inflater = zlib.createInflateRaw({ chunkSize: OUT_CHUNK });
      let readError: unknown = null;
      const fed = this.feed(inflater).catch((err: unknown) => {
        readError = err; // the input failed (a read error, a stop): no gzip problem, the caller's to handle
        inflater.destroy(err as Error);
      });
      try {
        for await (const out of inflater as AsyncIterable<Uint8Array>) {
          crc = zlib.crc32(out, crc);
          size += out.length;
          yield out;
        }
      } catch (err) {
        if (readError !== null) throw readError;
        const msg = (err as Error).message;
        return /unexpected end/i.test(msg) ? this.fail('cut-short', `gzip data cut short (${msg})`) : this.fail('damaged', `gzip data damaged (${msg}, in the member from compressed byte ${start})`);
      }
      await fed;
      if (!(await this.fill(TRAILER_BYTES))) return this.fail('cut-short', 'gzip data cut short (unexpected end of file)');
      const p = this.pending;
      const wantCrc = (p[0] | (p[1] << 8) | (p[2] << 16) | (p[3] << 24)) >>> 0;
      const wantSize = (p[4] | (p[5] << 8) | (p[6] << 16) | (p[7] << 24)) >>> 0;
      if (wantCrc !== crc) return this.fail('damaged', `gzip data damaged (CRC-32 of the member from compressed byte ${start} is 0x${hex(crc)}, its trailer says 0x${hex(wantCrc)}): the data before this point may be wrong`);
      if (wantSize !== size % 4294967296) return this.fail('damaged', `gzip data damaged (the member from compressed byte ${start} decompresses to ${size} bytes, its trailer says ${wantSize})`);
      this.consume(TRAILER_BYTES);
    }
  }

  /**
   * Writes the member's deflate stream into the inflater, chunk by chunk, until the inflater stops
   * taking input (the stream's end: the rest goes back to `pending`) or the source ends.
   */
  private async feed(inflater: zlib.InflateRaw): Promise<void> {
    let before = 0;
    for (;;) {
      if (this.pending.length === 0 && !(await this.fill(1))) {
        inflater.end(); // an unfinished stream fails with "unexpected end of file"; a finished one ends
        return;
      }
      const chunk = this.pending;
      await new Promise<void>((resolve) => inflater.write(chunk, () => resolve()));
      if (inflater.destroyed) return; // damaged: the consumer gets the error
      const used = inflater.bytesWritten - before;
      before = inflater.bytesWritten;
      this.consume(used);
      if (used < chunk.length) {
        inflater.end();
        return;
      }
    }
  }

  /** Reads and checks a member header at pending[0]: 'ok' (consumed), 'cut', or what is wrong with it. */
  private async header(): Promise<'ok' | 'cut' | string> {
    if (!(await this.fill(HEADER_BYTES))) return 'cut';
    const p = this.pending;
    if (p[0] !== ID1 || p[1] !== ID2) return 'not a gzip member header';
    if (p[2] !== CM_DEFLATE) return `compression method ${p[2]}, not deflate`;
    const flags = p[3];
    if ((flags & FRESERVED) !== 0) return `reserved header flags 0x${flags.toString(16)} set`;
    let n = HEADER_BYTES;
    if (flags & FEXTRA) {
      if (!(await this.fill(n + 2))) return 'cut';
      n += 2 + (this.pending[n] | (this.pending[n + 1] << 8));
    }
    for (const flag of [FNAME, FCOMMENT]) {
      if ((flags & flag) === 0) continue;
      const end = await this.zeroAfter(n);
      if (end < 0) return 'cut';
      n = end + 1;
    }
    if (flags & FHCRC) n += 2;
    if (!(await this.fill(n))) return 'cut';
    this.consume(n);
    return 'ok';
  }

  /** Index of the first zero byte at or after pending[from] (read on as needed); -1 at the end of the input. */
  private async zeroAfter(from: number): Promise<number> {
    for (let i = from; ; i++) {
      if (i >= this.pending.length && !(await this.fill(i + 1))) return -1;
      if (this.pending[i] === 0) return i;
    }
  }

  /** What follows the last member is not gzip: counted to the end of the input and named. */
  private async trailing(): Promise<void> {
    const from = this.at;
    let zeros = this.pending.every((b) => b === 0);
    while (await this.fill(this.pending.length + 1)) {
      zeros &&= this.pending.every((b) => b === 0);
      this.at += this.pending.length;
      this.pending = new Uint8Array(0);
    }
    const count = this.at + this.pending.length - from;
    const what = zeros ? `${count} zero ${count === 1 ? 'byte' : 'bytes'} (padding)` : count === 1 ? '1 byte that is not gzip (trailing junk)' : `${count} bytes that are not gzip (trailing junk)`;
    this.fail('trailing-data', `the gzip data ends at compressed byte ${from} and is followed by ${what}, ignored`);
  }

  /** Makes at least `n` bytes pending; false when the input ends first (what there is stays pending). */
  private async fill(n: number): Promise<boolean> {
    while (this.pending.length < n) {
      if (this.eof) return false;
      const r = await this.source.next();
      if (r.done) {
        this.eof = true;
        return false;
      }
      this.pending = this.pending.length === 0 ? r.value : Buffer.concat([this.pending, r.value]);
    }
    return true;
  }

  private consume(n: number): void {
    this.pending = this.pending.subarray(n);
    this.at += n;
  }

  private fail(kind: InputProblem['kind'], text: string): void {
    this.problem = { kind, text };
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
