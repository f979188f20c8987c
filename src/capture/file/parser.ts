import type { PacketBatch } from '../batch.js';
import { CaptureFileError, NOT_WHOLE, type CaptureFileProblem } from './error.js';
import { TimestampConverter } from './timestamp.js';

/** Why `CaptureParser.parse` returned. */
export const ParseStop = {
  /** The batch is full: call again with the returned position. */
  FULL: 1,
  /** The next record is not complete in the buffer: supply at least `needBytes` bytes from the returned position. */
  NEED_MORE: 2,
  /** The file is damaged: `error` says where and how. Every complete record before it was added. */
  ERROR: 3,
  /** Clean end of file. */
  END: 4,
} as const;

const FORMAT_UNKNOWN: number = 0;
const FORMAT_PCAP: number = 1;
const FORMAT_PCAPNG: number = 2;

const BLOCK_SHB = 0x0a0d0d0a;
const BLOCK_IDB = 1;
const BLOCK_OPB = 2; // obsolete Packet Block, still written by old tools
const BLOCK_SPB = 3;
const BLOCK_EPB = 6;

/** The pcapng specification's names of the block types an error may meet. */
const BLOCK_NAMES: ReadonlyMap<number, string> = new Map([
  [BLOCK_SHB, 'section header block'], [BLOCK_IDB, 'interface description block'], [BLOCK_OPB, 'packet block'],
  [BLOCK_SPB, 'simple packet block'], [4, 'name resolution block'], [5, 'interface statistics block'],
  [BLOCK_EPB, 'enhanced packet block'], [0x0a, 'decryption secrets block'], [0xbad, 'custom block'], [0x40000bad, 'custom block'],
]);

/** A block type as the specification writes it (hex), e.g. "section header block (0x0A0D0D0A)". */
function blockName(type: number): string {
  const hex = `0x${type.toString(16).toUpperCase().padStart(8, '0')}`;
  const name = BLOCK_NAMES.get(type);
  return name ? `${name} (${hex})` : `block type ${hex}`;
}

/** No real packet is this large; a bigger length field means the file is corrupt. */
const MAX_RECORD = 16 * 1024 * 1024;
/** Wireshark's limit for most link types; records above it and above the file's snap length are corrupt. */
const STANDARD_MAX_SNAPLEN = 262144;

/**
 * Incremental reader of classic pcap and pcapng records. It is fed a window of the file (buf[pos..end),
 * buf[0] being file byte `base`) and appends the packets it finds to a batch, pointing into buf. It never
 * copies packet bytes and allocates nothing per packet; the async file source and the whole-buffer reader
 * share it.
 */
export class CaptureParser {
  stop = 0;
  /** With NEED_MORE: bytes the next record needs from the returned position. */
  needBytes = 0;
  error: CaptureFileError | null = null;

  private format: number = FORMAT_UNKNOWN;
  /** The file header was read whole (pcap's 24 bytes, pcapng's first section header block): a capture. */
  private headerRead = false;
  private le = true;
  // classic pcap
  private nanos = false;
  private recordHeader = 16;
  private linkType = 0;
  private maxCaplen = 0;
  // pcapng, per interface of the current section
  private ifCount = 0;
  private ifLinkType: number[] = [];
  private ifSnapLen: number[] = [];
  private ifTsResol: number[] = [];
  private ifTsOffset: number[] = [];
  /** SPBs carry no timestamp: they take the previous packet's. */
  private lastSec = 0;
  private lastNsec = 0;
  private readonly ts = new TimestampConverter();
  private touched = 0;
  /** View of the buffer pcapRun last read: one bounds check and one load per header field. */
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private viewBuf: Uint8Array | null = null;

  constructor(readonly name: string) {}

  /** True once the file header was read whole: what ends or is damaged later is a capture cut short or damaged. */
  get fileHeaderRead(): boolean {
    return this.headerRead;
  }

  /** Record header length of a classic pcap file once its header was parsed; 0 for pcapng or before. */
  get classicRecordHeader(): number {
    return this.format === FORMAT_PCAP ? this.recordHeader : 0;
  }
  /** Classic pcap: byte order, timestamp unit, link type and record length limit of the file. */
  get littleEndian(): boolean {
    return this.le;
  }
  get nanosecond(): boolean {
    return this.nanos;
  }
  get classicLinkType(): number {
    return this.linkType;
  }
  get recordLimit(): number {
    return this.maxCaplen;
  }

  parse(buf: Uint8Array, pos: number, end: number, base: number, eof: boolean, batch: PacketBatch): number {
    const capacity = batch.offset.length;
    for (;;) {
      const avail = end - pos;
      if (this.format === FORMAT_UNKNOWN) {
        // Nothing at all: a tcpdump that failed before writing, the wrong file; not a capture cut short.
        if (avail === 0 && eof && base + pos === 0) return this.fail(0, 'empty, no capture in it: check that the program writing it ran (e.g. tcpdump -w FILE)');
        if (avail < 4 && eof) return this.fail(base + pos, `file too short for a capture header (${avail} bytes): ${NOT_WHOLE}`);
        if (avail < 24 && !eof) return this.needMore(24, pos, end, base, eof, 'file too short for a capture header');
        if (!this.readFileHeader(buf, pos, end, base)) return pos;
        if (this.format === FORMAT_PCAP) pos += 24;
        continue;
      }
      if (batch.count === capacity) {
        this.stop = ParseStop.FULL;
        return pos;
      }
      if (avail === 0 && eof) {
        this.stop = ParseStop.END;
        return pos;
      }
      if (this.format === FORMAT_PCAP) {
        const runStart = pos;
        pos = this.pcapRun(buf, pos, end, batch);
        if (pos !== runStart) continue;
        // The record at pos is incomplete, damaged or has an unusual timestamp: the general code below.
        const hl = this.recordHeader;
        if (avail < hl) return this.needMore(hl, pos, end, base, eof, 'truncated record header');
        const caplen = this.u32(buf, pos + 8);
        let wirelen = this.u32(buf, pos + 12);
        if (caplen > this.maxCaplen) return this.fail(base + pos, `record length ${caplen} exceeds the maximum ${this.maxCaplen} (corrupt record header)`);
        if (avail < hl + caplen) return this.needMore(hl + caplen, pos, end, base, eof, `truncated packet: the record needs ${hl + caplen} bytes (${hl} of header, ${caplen} of data)`);
        const sec = this.u32(buf, pos);
        const frac = this.u32(buf, pos + 4);
        const n = batch.count;
        batch.offset[n] = pos + hl;
        batch.caplen[n] = caplen;
        if (wirelen < caplen) wirelen = caplen;
        batch.wirelen[n] = wirelen;
        if (this.nanos) {
          // A fraction past one second is not valid but some writers carry it; normalise rather than reject.
          const carry = frac >= 1e9 ? Math.floor(frac / 1e9) : 0;
          batch.tsSec[n] = sec + carry;
          batch.tsNsec[n] = frac - carry * 1e9;
        } else {
          const carry = frac >= 1e6 ? Math.floor(frac / 1e6) : 0;
          batch.tsSec[n] = sec + carry;
          batch.tsNsec[n] = (frac - carry * 1e6) * 1000;
        }
        batch.linkType[n] = this.linkType;
        batch.count = n + 1;
        pos += hl + caplen;
        continue;
      }
      // pcapng block
      if (avail < 12) return this.needMore(12, pos, end, base, eof, 'truncated block header');
      let type = this.u32(buf, pos);
      if (type === BLOCK_SHB) {
        // The byte-order magic decides how this section (including its own length) is read.
        const magic = u32le(buf, pos + 8);
        if (magic === 0x1a2b3c4d) this.le = true;
        else if (magic === 0x4d3c2b1a) this.le = false;
        else return this.fail(base + pos + 8, `bad section header byte-order magic 0x${magic.toString(16)}`);
        type = BLOCK_SHB;
      }
      const len = this.u32(buf, pos + 4);
      if (len < 12 || (len & 3) !== 0 || len > MAX_RECORD) return this.fail(base + pos + 4, `bad block length ${len} (${blockName(type)})`);
      if (avail < len) return this.needMore(len, pos, end, base, eof, `truncated block: ${blockName(type)} needs ${len} bytes`);
      if (this.u32(buf, pos + len - 4) !== len) return this.fail(base + pos + len - 4, `block trailing length does not match leading length ${len} (${blockName(type)})`);
      if (type === BLOCK_EPB || type === BLOCK_OPB) {
        if (len < 32) return this.fail(base + pos, `packet block too short (${len} bytes)`);
        const iface = type === BLOCK_EPB ? this.u32(buf, pos + 8) : this.u16(buf, pos + 8);
        if (iface >= this.ifCount) return this.fail(base + pos + 8, `packet block refers to interface ${iface}, only ${this.ifCount} defined`);
        const caplen = this.u32(buf, pos + 20);
        let wirelen = this.u32(buf, pos + 24);
        if (caplen > len - 32) return this.fail(base + pos + 20, `captured length ${caplen} larger than its block (${len} bytes)`);
        this.ts.convert(this.u32(buf, pos + 12), this.u32(buf, pos + 16), this.ifTsResol[iface], this.ifTsOffset[iface]);
        this.lastSec = this.ts.sec;
        this.lastNsec = this.ts.nsec;
        const n = batch.count;
        batch.offset[n] = pos + 28;
        batch.caplen[n] = caplen;
        if (wirelen < caplen) wirelen = caplen;
        batch.wirelen[n] = wirelen;
        batch.tsSec[n] = this.ts.sec;
        batch.tsNsec[n] = this.ts.nsec;
        batch.linkType[n] = this.ifLinkType[iface];
        batch.count = n + 1;
      } else if (type === BLOCK_SPB) {
        if (this.ifCount === 0) return this.fail(base + pos, 'simple packet block before any interface description block');
        if (len < 16) return this.fail(base + pos, `simple packet block too short (${len} bytes)`);
        const wirelen = this.u32(buf, pos + 8);
        let caplen = len - 16;
        if (wirelen < caplen) caplen = wirelen;
        const snap = this.ifSnapLen[0];
        if (snap !== 0 && caplen > snap) caplen = snap;
        const n = batch.count;
        batch.offset[n] = pos + 12;
        batch.caplen[n] = caplen;
        batch.wirelen[n] = wirelen;
        batch.tsSec[n] = this.lastSec;
        batch.tsNsec[n] = this.lastNsec;
        batch.linkType[n] = this.ifLinkType[0];
        batch.count = n + 1;
      } else if (type === BLOCK_IDB) {
        if (len < 20) return this.fail(base + pos, `interface description block too short (${len} bytes)`);
        if (!this.readInterface(buf, pos, len, base)) return pos;
      } else if (type === BLOCK_SHB) {
        if (len < 28) return this.fail(base + pos, `section header block too short (${len} bytes)`);
        const major = this.u16(buf, pos + 12);
        if (major !== 1) return this.fail(base + pos + 12, `unsupported pcapng major version ${major}`);
        this.ifCount = 0; // interfaces are numbered per section
        this.headerRead = true;
      }
      // Every other block type (name resolution, statistics, journal, custom...) is skipped.
      pos += len;
    }
  }

  /**
   * Classic pcap records that need nothing special (complete, length within limits, timestamp fraction
   * below one second), as many as fit in the batch, in one tight loop with the byte order hoisted out:
   * this is the replay path's per-packet cost. Returns the position of the first record not taken.
   */
  private pcapRun(buf: Uint8Array, pos: number, end: number, batch: PacketBatch): number {
    const offsetA = batch.offset;
    const caplenA = batch.caplen;
    const wirelenA = batch.wirelen;
    const secA = batch.tsSec;
    const nsecA = batch.tsNsec;
    const linkA = batch.linkType;
    const capacity = offsetA.length;
    const hl = this.recordHeader;
    const maxCaplen = this.maxCaplen;
    const link = this.linkType;
    const fracLimit = this.nanos ? 1e9 : 1e6;
    const fracScale = this.nanos ? 1 : 1000;
    const le = this.le;
    if (buf !== this.viewBuf) {
      this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      this.viewBuf = buf;
    }
    const v = this.view;
    let n = batch.count;
    let touched = 0;
    while (n < capacity && end - pos >= hl) {
      const caplen = v.getUint32(pos + 8, le);
      if (caplen > maxCaplen || end - pos < hl + caplen) break;
      const sec = v.getUint32(pos, le);
      const frac = v.getUint32(pos + 4, le);
      const wirelen = v.getUint32(pos + 12, le);
      if (frac >= fracLimit) break;
      // Reading a byte inside the record (not only its header) lets the CPU's prefetcher see a
      // sequential stream: without it each header is a cache miss on the critical path (~30 ns -> ~10 ns).
      touched ^= buf[pos + ((hl + caplen) >> 1)];
      offsetA[n] = pos + hl;
      caplenA[n] = caplen;
      wirelenA[n] = wirelen < caplen ? caplen : wirelen;
      secA[n] = sec;
      nsecA[n] = frac * fracScale;
      linkA[n] = link;
      n++;
      pos += hl + caplen;
      // Both stored inside the loop, not after it: the first call is long enough to be optimised mid-loop
      // (on-stack replacement) before any code after the loop has run, and V8 then kept re-entering that
      // code and bailing out at the loop exit for lack of type feedback there, once per batch.
      batch.count = n;
      this.touched = touched; // kept so the compiler cannot drop the reads
    }
    return pos;
  }

  private readFileHeader(buf: Uint8Array, pos: number, end: number, base: number): boolean {
    const magic = u32le(buf, pos);
    this.le = true;
    switch (magic) {
      case 0xa1b2c3d4: case 0xa1b23c4d: case 0xa1b2cd34:
        break;
      case 0xd4c3b2a1: case 0x4d3cb2a1: case 0x34cdb2a1:
        this.le = false;
        break;
      case BLOCK_SHB:
        this.format = FORMAT_PCAPNG;
        return true;
      default:
        this.fail(base + pos, `not a pcap or pcapng file (magic 0x${magic.toString(16).padStart(8, '0')})`);
        return false;
    }
    if (end - pos < 24) {
      this.fail(base + pos, `file too short for a pcap header (${end - pos} of its 24 bytes): ${NOT_WHOLE}`);
      return false;
    }
    const m = this.u32(buf, pos);
    this.nanos = m === 0xa1b23c4d;
    // Kuznetsov's "modified pcap" adds ifindex, protocol, pkt_type and padding to each record header.
    this.recordHeader = m === 0xa1b2cd34 ? 24 : 16;
    const snap = this.u32(buf, pos + 16);
    // The upper bits of the link-type field carry FCS information (pcap-savefile(5)); the type is 16 bits.
    this.linkType = this.u32(buf, pos + 20) & 0xffff;
    this.maxCaplen = Math.min(MAX_RECORD, Math.max(STANDARD_MAX_SNAPLEN, snap));
    this.format = FORMAT_PCAP;
    this.headerRead = true;
    return true;
  }

  private readInterface(buf: Uint8Array, pos: number, len: number, base: number): boolean {
    const i = this.ifCount;
    this.ifLinkType[i] = this.u16(buf, pos + 8);
    this.ifSnapLen[i] = this.u32(buf, pos + 12);
    let resol = 6;
    let offset = 0;
    const optEnd = pos + len - 4;
    let o = pos + 16;
    while (o + 4 <= optEnd) {
      const code = this.u16(buf, o);
      const olen = this.u16(buf, o + 2);
      if (code === 0) break;
      if (o + 4 + olen > optEnd) {
        this.fail(base + o, `interface option ${code} overruns its block`);
        return false;
      }
      if (code === 9 && olen >= 1) resol = buf[o + 4];
      else if (code === 14 && olen >= 8) {
        const hi = this.u32(buf, o + 4 + (this.le ? 4 : 0));
        const lo = this.u32(buf, o + 4 + (this.le ? 0 : 4));
        offset = (hi | 0) * 4294967296 + lo;
      }
      o += 4 + ((olen + 3) & ~3);
    }
    if ((resol & 0x80) === 0 ? resol > 18 : (resol & 0x7f) > 63) {
      this.fail(base + pos, `unsupported timestamp resolution 0x${resol.toString(16)}`);
      return false;
    }
    this.ifTsResol[i] = resol;
    this.ifTsOffset[i] = offset;
    this.ifCount = i + 1;
    return true;
  }

  private needMore(need: number, pos: number, end: number, base: number, eof: boolean, problem: string): number {
    if (eof) {
      if (pos === end && this.headerRead) {
        this.stop = ParseStop.END;
        return pos;
      }
      if (this.headerRead) return this.fail(base + pos, `${problem}; only ${end - pos} bytes left in the file`, 'cut-short');
      // Inside the file header (pcapng: its section header block, of unknown length before 12 bytes): no capture yet.
      const whole = this.format === FORMAT_PCAPNG && need > 12 ? ` of its ${need}` : '';
      return this.fail(base + pos, `file too short for a ${this.format === FORMAT_PCAPNG ? 'pcapng section' : 'capture'} header (${end - pos}${whole} bytes): ${NOT_WHOLE}`, 'not-capture');
    }
    this.stop = ParseStop.NEED_MORE;
    this.needBytes = need;
    return pos;
  }

  private fail(at: number, problem: string, kind: CaptureFileProblem = this.headerRead ? 'damaged' : 'not-capture'): number {
    this.stop = ParseStop.ERROR;
    this.error = new CaptureFileError(this.name, at, problem, kind);
    // The caller returns the position of the damaged record; the value returned here is unused.
    return 0;
  }

  private u32(b: Uint8Array, o: number): number {
    return this.le ? u32le(b, o) : ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }

  private u16(b: Uint8Array, o: number): number {
    return this.le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
  }
}

function u32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
