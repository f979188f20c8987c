import { allocateBatch } from '../batch.js';
import { CaptureParser, ParseStop } from './parser.js';

/**
 * A capture in memory read one record at a time, the current record's fields as properties: a loop can
 * decode each packet right after its header is read, instead of filling a batch's arrays and reading
 * them back (one pass over the records instead of two). Plain classic pcap records are read here;
 * everything else (pcapng, unusual timestamps, damage) goes through CaptureParser one record at a time,
 * so the records and errors are exactly readCaptureBuffer's.
 */
export class CaptureCursor {
  /** Current record: packet bytes data[off .. off + caplen), length on the wire, capture time, link type. */
  off = 0;
  caplen = 0;
  wirelen = 0;
  tsSec = 0;
  tsNsec = 0;
  linkType = 0;

  private pos = 0;
  private readonly end: number;
  private readonly view: DataView<ArrayBufferLike>;
  private readonly parser: CaptureParser;
  private readonly one = allocateBatch(1, 0);
  private ended = false;
  /** Kept so the compiler cannot drop the prefetching load in next(). */
  private touched = 0;
  // Classic pcap parameters, set after the first record (hl stays 0 for pcapng: every record via the parser).
  private hl = 0;
  private le = true;
  private fracLimit = 1e6;
  private fracScale = 1000;
  private link = 0;
  private maxCaplen = 0;

  constructor(readonly data: Uint8Array, name = 'buffer') {
    this.end = data.length;
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.parser = new CaptureParser(name);
    this.one.buf = data;
  }

  /** Advance to the next record: false at the end; throws CaptureFileError at damage (after every good record). */
  next(): boolean {
    const hl = this.hl;
    const pos = this.pos;
    const left = this.end - pos - hl;
    if (hl !== 0 && left >= 0) {
      const v = this.view;
      const le = this.le;
      const caplen = v.getUint32(pos + 8, le);
      const frac = v.getUint32(pos + 4, le);
      if (caplen <= this.maxCaplen && caplen <= left && frac < this.fracLimit) {
        // A load inside the record, not only its header, lets the CPU's prefetcher see a sequential
        // stream: without it each record header is a cache miss on the critical path (measured ~22 -> ~8 ns).
        this.touched ^= this.data[pos + ((hl + caplen) >> 1)];
        const wirelen = v.getUint32(pos + 12, le);
        this.off = pos + hl;
        this.caplen = caplen;
        this.wirelen = wirelen < caplen ? caplen : wirelen;
        this.tsSec = v.getUint32(pos, le);
        this.tsNsec = frac * this.fracScale;
        this.linkType = this.link;
        this.pos = pos + hl + caplen;
        return true;
      }
    }
    return this.nextGeneral();
  }

  private nextGeneral(): boolean {
    if (this.ended) return false;
    const one = this.one;
    const p = this.parser;
    one.count = 0;
    this.pos = p.parse(this.data, this.pos, this.end, 0, true, one);
    if (one.count === 1) {
      this.off = one.offset[0];
      this.caplen = one.caplen[0];
      this.wirelen = one.wirelen[0];
      this.tsSec = one.tsSec[0];
      this.tsNsec = one.tsNsec[0];
      this.linkType = one.linkType[0];
      if (this.hl === 0 && p.classicRecordHeader !== 0) {
        this.le = p.littleEndian;
        this.fracLimit = p.nanosecond ? 1e9 : 1e6;
        this.fracScale = p.nanosecond ? 1 : 1000;
        this.link = p.classicLinkType;
        this.maxCaplen = p.recordLimit;
        this.hl = p.classicRecordHeader;
      }
      return true;
    }
    this.ended = true;
    if (p.stop === ParseStop.ERROR) throw p.error;
    return false;
  }
}
