import { allocateBatch } from '../batch.js';
import { CaptureParser, ParseStop } from './parser.js';

/** Records the general path parses ahead at a time (pcapng, and classic pcap records the fast path declines). */
const QUEUE_RECORDS = 256;

/**
 * A capture read one record at a time, the current record's fields as properties: a loop can decode each
 * packet right after its header is read, instead of filling a batch's arrays and reading them back (one
 * pass over the records instead of two). Plain classic pcap records are read here; everything else
 * (pcapng, unusual timestamps, damage, a record cut by the end of the window) goes through CaptureParser,
 * so the records and errors are exactly readCaptureBuffer's.
 *
 * The cursor walks a window of the capture: the whole capture (the constructor), or one chunk of a file
 * after another (window(), used by the file source). The parser's state (file header, pcapng interfaces)
 * carries over from one window to the next.
 */
export class CaptureCursor {
  /** Current record: packet bytes data[off .. off + caplen), length on the wire, capture time, link type. */
  off = 0;
  caplen = 0;
  wirelen = 0;
  tsSec = 0;
  tsNsec = 0;
  linkType = 0;
  /** Records returned by next() so far, over every window. */
  records = 0;
  /** Capture time of the first record (set once records > 0; the first always comes from the parser). */
  firstTsSec = 0;
  firstTsNsec = 0;

  private pos = 0;
  private end = 0;
  /**
   * Capture offset of data[0] (for the offsets in error messages). In a typed array, not a field: past
   * 2^30 a field would change from small integer to double, and with it the cursor's hidden class, which
   * throws away the optimised code of the loop walking it.
   */
  private readonly base = new Float64Array(1);
  /** Nothing follows the window: an incomplete record at its end is damage, not a chunk boundary. */
  private eof = true;
  private view: DataView<ArrayBufferLike>;
  private readonly parser: CaptureParser;
  /** Records the parser produced and next() has not returned yet: queue entries qi .. queue.count - 1. */
  private readonly queue = allocateBatch(QUEUE_RECORDS, 0);
  private qi = 0;
  /** Why the parser last stopped short of the window's end (0 while it has not). */
  private stop = 0;
  /** Kept so the compiler cannot drop the prefetching load in next(). */
  private touched = 0;
  /**
   * Record header length of the fast path: the classic pcap header length while the fast path may run,
   * 0 while it may not (pcapng, before the file header, queued records waiting, the parser stopped).
   */
  private hl = 0;
  // Classic pcap parameters, learnt from the parser after its first record.
  private classicHl = 0;
  private le = true;
  private fracLimit = 1e6;
  private fracScale = 1000;
  private link = 0;
  private maxCaplen = 0;

  /** A cursor over the whole capture `data` (nothing follows it). */
  constructor(public data: Uint8Array = new Uint8Array(0), name = 'buffer') {
    this.end = data.length;
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.parser = new CaptureParser(name);
  }

  /**
   * Continue in a new window: data[pos..end) holds capture bytes base + pos .., and `eof` says nothing
   * follows. After next() returned false without ending, call it with the bytes from `position` on.
   */
  window(data: Uint8Array, pos: number, end: number, base: number, eof: boolean): void {
    if (data !== this.data) {
      this.data = data;
      this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    }
    this.pos = pos;
    this.end = end;
    this.base[0] = base;
    this.eof = eof;
    this.queue.count = 0;
    this.qi = 0;
    if (this.stop !== ParseStop.END && this.stop !== ParseStop.ERROR) this.stop = 0;
    this.hl = this.stop === 0 ? this.classicHl : 0;
  }

  /** After next() returned false: where the bytes not consumed start (the incomplete record at the window's end). */
  get position(): number {
    return this.pos;
  }

  /** True once the file header was read whole (see CaptureParser.fileHeaderRead). */
  get fileHeaderRead(): boolean {
    return this.parser.fileHeaderRead;
  }

  /** Capture bytes walked so far: the offset in the capture of the next byte the cursor reads. */
  get capturePosition(): number {
    return this.base[0] + this.pos;
  }

  /** After next() returned false: true at the clean end of the capture, false when the window needs its continuation. */
  get ended(): boolean {
    return this.stop === ParseStop.END || this.stop === ParseStop.ERROR;
  }

  /** Advance to the next record: false at the end of the window; throws CaptureFileError at damage (after every good record). */
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
        this.records++;
        return true;
      }
    }
    return this.nextGeneral();
  }

  /** The parser's records: from the queue, refilled from the window while the parser has not stopped. */
  private nextGeneral(): boolean {
    const q = this.queue;
    if (this.qi === q.count) {
      if (this.stop !== 0) {
        if (this.stop === ParseStop.ERROR) throw this.parser.error;
        return false;
      }
      this.hl = 0;
      const p = this.parser;
      q.count = 0;
      q.buf = this.data;
      this.qi = 0;
      this.pos = p.parse(this.data, this.pos, this.end, this.base[0], this.eof, q);
      if (p.stop !== ParseStop.FULL) this.stop = p.stop;
      if (this.classicHl === 0 && p.classicRecordHeader !== 0) {
        this.le = p.littleEndian;
        this.fracLimit = p.nanosecond ? 1e9 : 1e6;
        this.fracScale = p.nanosecond ? 1 : 1000;
        this.link = p.classicLinkType;
        this.maxCaplen = p.recordLimit;
        this.classicHl = p.classicRecordHeader;
      }
      if (q.count === 0) return this.nextGeneral();
    }
    const i = this.qi++;
    this.off = q.offset[i];
    this.caplen = q.caplen[i];
    this.wirelen = q.wirelen[i];
    this.tsSec = q.tsSec[i];
    this.tsNsec = q.tsNsec[i];
    this.linkType = q.linkType[i];
    if (this.records++ === 0) {
      this.firstTsSec = this.tsSec;
      this.firstTsNsec = this.tsNsec;
    }
    // The queue drained with the parser still running: the fast path may take the next record.
    if (this.qi === q.count && this.stop === 0) this.hl = this.classicHl;
    return true;
  }
}
