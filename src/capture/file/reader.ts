import { allocateBatch, type CaptureStats, type PacketBatch, type PacketSource } from '../batch.js';
import type { PacketFilter } from './bpf.js';
import { CaptureCursor } from './cursor.js';
import { CaptureFileError, NOT_WHOLE } from './error.js';
import { openInput, STDIN, type ByteInput } from './input.js';
import { CaptureParser, ParseStop } from './parser.js';

export interface CaptureFileOptions {
  /** Bytes read from the file at a time (default 4 MiB). Grown automatically for a larger record. */
  chunkBytes?: number;
  /** Maximum packets per batch (default 4096). */
  batchPackets?: number;
  /** Only the records this filter passes are delivered (a BPF expression, compiled by libpcap). */
  filter?: PacketFilter;
}

/** A capture file: its packets as batches (any PacketSource's way), or record by record through a cursor. */
export interface CaptureFileReader extends PacketSource {
  /**
   * The file's records in one pass: the same cursor, moved to each consecutive window of the file. Drain
   * it (`while (cur.next())`) before taking the next window. Throws CaptureFileError at damage, after
   * every complete record before it. Use either this or batches(), once.
   */
  records(): AsyncIterable<CaptureCursor>;
  /** Bytes taken from the file or pipe so far (compressed bytes for a compressed file): progress. */
  readonly bytesRead: number;
  /** Capture time (ms since the epoch) of the first and of the latest record read; NaN before any. */
  readonly firstPacketMs: number;
  readonly lastPacketMs: number;
}

const DEFAULT_CHUNK = 4 * 1024 * 1024;
const DEFAULT_BATCH = 4096;

/**
 * A classic pcap or pcapng capture as a packet source: a file, '-' (standard input), a FIFO or pipe, each
 * possibly gzip- or zstd-compressed (src/capture/file/input.ts). Buffers take turns: while the records of
 * one are processed, the next chunks of the file are already being read into the others (a regular
 * file's reads run on libuv's thread pool, several queued ahead, so file I/O overlaps with decoding
 * instead of stalling it; a stream's one at a time). Each buffer keeps `room` bytes in front of its
 * chunk, where the record cut by the chunk boundary is moved so it stays contiguous with its
 * continuation; a record larger than that room grows the buffers.
 */
export function openCaptureFile(path: string, opts: CaptureFileOptions = {}): CaptureFileReader {
  return new CaptureFileSource(path, opts.chunkBytes ?? DEFAULT_CHUNK, opts.batchPackets ?? DEFAULT_BATCH, opts.filter ?? null);
}

/** Smallest chunk a regular file is read in (one that is still being written continues in chunks of this size). */
const MIN_FILE_CHUNK = 64 * 1024;

/** Room before each chunk for the unfinished record of the previous one: a full 256 KiB snap-length record. */
const TAIL_ROOM = 256 * 1024 + 64;

/** A piece of the file in memory: buf[pos..end) holds file bytes base + pos ..; `eof` when nothing follows `end`. */
interface FileWindow {
  buf: Uint8Array;
  pos: number;
  end: number;
  base: number;
  eof: boolean;
}

class CaptureFileSource implements CaptureFileReader {
  readonly hostTimestamps = false;
  private received = 0;
  private closed = false;
  private cursor: CaptureCursor | null = null;
  private input: ByteInput | null = null;
  /** Aborted by close(): a pipe that is waiting for data ends at once. */
  private readonly stop = new AbortController();
  /** batches(): the first and latest record's capture time (records() reads them from the cursor). */
  private firstMs = Number.NaN;
  private lastMs = Number.NaN;
  /** Whether the parser reading this file has read its file header whole (set by batches() and records()). */
  private headerRead: () => boolean = () => false;

  constructor(
    private readonly path: string,
    private readonly chunkBytes: number,
    private readonly batchPackets: number,
    private readonly filter: PacketFilter | null,
  ) {}

  get name(): string {
    return this.path === STDIN ? 'standard input' : this.path;
  }

  get bytesRead(): number {
    return this.input?.bytesRead ?? 0;
  }

  get firstPacketMs(): number {
    const c = this.cursor;
    return c === null ? this.firstMs : c.records > 0 ? c.firstTsSec * 1000 + c.firstTsNsec / 1e6 : Number.NaN;
  }

  get lastPacketMs(): number {
    const c = this.cursor;
    return c === null ? this.lastMs : c.records > 0 ? c.tsSec * 1000 + c.tsNsec / 1e6 : Number.NaN;
  }

  async *batches(): AsyncIterable<PacketBatch> {
    const parser = new CaptureParser(this.name);
    this.headerRead = () => parser.fileHeaderRead;
    const batch = allocateBatch(this.batchPackets, 0);
    for await (const w of this.windows()) {
      batch.buf = w.buf;
      for (;;) {
        batch.count = 0;
        w.pos = parser.parse(w.buf, w.pos, w.end, w.base, w.eof, batch);
        const stop = parser.stop;
        this.received += batch.count;
        if (batch.count > 0) {
          if (!(this.firstMs === this.firstMs)) this.firstMs = batch.tsSec[0] * 1000 + batch.tsNsec[0] / 1e6;
          this.lastMs = batch.tsSec[batch.count - 1] * 1000 + batch.tsNsec[batch.count - 1] / 1e6;
        }
        if (this.filter !== null) keepMatching(batch, this.filter);
        if (batch.count > 0) yield batch;
        if (stop === ParseStop.ERROR) throw parser.error;
        if (stop === ParseStop.END) return;
        if (this.closed) return;
        if (stop === ParseStop.NEED_MORE) break; // w.pos: the unfinished record, continued in the next window
      }
    }
  }

  async *records(): AsyncIterable<CaptureCursor> {
    const cur = (this.cursor = this.filter === null ? new CaptureCursor(undefined, this.name) : new FilteredCursor(this.filter, this.name));
    this.headerRead = () => cur.fileHeaderRead;
    for await (const w of this.windows()) {
      cur.window(w.buf, w.pos, w.end, w.base, w.eof);
      yield cur;
      if (cur.ended) return;
      if (this.closed) return;
      w.pos = cur.position; // the unfinished record, continued in the next window
    }
  }

  /**
   * At the end of the data (capture byte `at`), after every complete record before it: a compressed
   * stream that stopped early is the damage, not the record or header it cut (nor an empty file). Before
   * the capture's file header was whole there is no capture, as in a plain file cut inside its header.
   */
  private checkInput(at: number): void {
    const problem = this.input?.problem;
    if (!problem) return;
    if (this.headerRead()) throw new CaptureFileError(this.name, at, problem.text, problem.kind);
    throw new CaptureFileError(this.name, at, `${problem.text}: ${NOT_WHOLE}`, 'not-capture');
  }

  /**
   * A read that failed (EIO of a failing disk, a network file system gone) at capture byte `at`: the
   * file is unreadable from there, as a damaged one is, and the records before it stand.
   */
  private readError(err: unknown, at: number): unknown {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof CaptureFileError || e?.syscall !== 'read') return err;
    return new CaptureFileError(this.name, at, `read error (${e.message}): check the disk or file system it is on`, at === 0 ? 'not-capture' : 'damaged');
  }

  stats(): CaptureStats {
    return { received: this.received + (this.cursor?.records ?? 0), droppedKernel: 0, droppedInterface: 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stop.abort();
  }

  /**
   * The file as a sequence of windows, each already read while the ones before it were processed (up to
   * the input's `readAhead` chunks ahead). The consumer sets `pos` to the first byte it did not use (a
   * record cut by the window's end) before asking for the next window, which then starts with those
   * bytes; it stops iterating at the end or at damage.
   */
  private async *windows(): AsyncGenerator<FileWindow, void, undefined> {
    const input = (this.input = await openInput(this.path, this.stop.signal).catch((err: unknown) => {
      throw this.readError(err, 0);
    }));
    // A file smaller than a chunk gets buffers of its size: a short capture needs no megabytes of them.
    const chunk = input.size === undefined ? this.chunkBytes : Math.min(this.chunkBytes, Math.max(input.size + 1, MIN_FILE_CHUNK));
    let room = Math.min(TAIL_ROOM, chunk);
    /** Reads in flight, oldest first; each fills its buffer from `at`, the room in front when it was asked. */
    const reads: ChunkRead[] = [];
    const ask = (buf: Uint8Array) => reads.push({ buf, at: room, got: input.read(buf, room, chunk) });
    try {
      const first = new Uint8Array(room + chunk);
      // capture offset of the next byte to read
      let fileOff = await input.read(first, room, chunk).catch((err: unknown) => {
        throw this.readError(err, 0);
      });
      // Closed before the capture began (a pipe whose writer sent nothing): nothing to analyse, no error.
      if (this.closed && fileOff === 0) return;
      if (fileOff === 0) this.checkInput(0);
      const w: FileWindow = { buf: first, pos: room, end: room + fileOff, base: -room, eof: fileOff === 0 };
      if (!w.eof && !this.closed) for (let i = 0; i < input.readAhead; i++) ask(new Uint8Array(room + chunk));
      for (;;) {
        yield w;
        if (w.eof || this.closed) return;
        // The consumer is done with w.buf; continue in the oldest read's buffer.
        const next = reads.shift();
        const got = next === undefined ? 0 : await next.got.catch((err: unknown) => {
          throw this.readError(err, fileOff);
        });
        // Closed while the read waited: what it got still makes a window, whose cut record is no damage (no eof).
        if (got === 0 && this.closed) return;
        if (got === 0 || next === undefined) {
          this.checkInput(w.base + w.end);
          w.eof = true; // the rest once more knowing nothing follows: the end, or the damage is reported
          continue;
        }
        let buf = next.buf;
        let at = next.at;
        const tail = w.end - w.pos;
        if (tail > at) {
          // A record longer than the room: a larger room for this buffer and every one asked from now on
          // (rare; only for huge records).
          if (tail > room) room = Math.max(tail, room * 2);
          const grown = new Uint8Array(room + chunk);
          grown.set(buf.subarray(at, at + got), room);
          buf = grown;
          at = room;
        }
        buf.set(w.buf.subarray(w.pos, w.end), at - tail);
        const used = w.buf;
        w.buf = buf;
        w.base = fileOff - at;
        w.pos = at - tail;
        w.end = at + got;
        fileOff += got;
        // The buffer just left takes the next read (one of another size, from before the room grew, is dropped).
        ask(used.length === room + chunk ? used : new Uint8Array(room + chunk));
      }
    } finally {
      // Reads still in flight must finish before the file handle closes.
      for (const r of reads) await r.got.catch(() => undefined);
      await input.close();
    }
  }
}

/** A chunk being read into buf[at..]. */
interface ChunkRead {
  buf: Uint8Array;
  at: number;
  got: Promise<number>;
}

/** Moves the batch's packets the filter passes to its front; count becomes theirs. */
function keepMatching(b: PacketBatch, f: PacketFilter): void {
  let n = 0;
  for (let i = 0; i < b.count; i++) {
    if (!f.matches(b.buf, b.offset[i], b.caplen[i], b.wirelen[i], b.linkType[i])) continue;
    if (n !== i) {
      b.offset[n] = b.offset[i];
      b.caplen[n] = b.caplen[i];
      b.wirelen[n] = b.wirelen[i];
      b.tsSec[n] = b.tsSec[i];
      b.tsNsec[n] = b.tsNsec[i];
      b.linkType[n] = b.linkType[i];
    }
    n++;
  }
  b.count = n;
}

/** A cursor that skips the records a filter rejects. */
class FilteredCursor extends CaptureCursor {
  constructor(
    private readonly filter: PacketFilter,
    name: string,
  ) {
    super(undefined, name);
  }

  override next(): boolean {
    while (super.next()) if (this.filter.matches(this.data, this.off, this.caplen, this.wirelen, this.linkType)) return true;
    return false;
  }
}

/**
 * The same reader over a capture already in memory (tests, benchmarks). Yields reused batches pointing
 * into `data`; throws CaptureFileError after the last complete packet of a damaged capture.
 */
export function* readCaptureBuffer(data: Uint8Array, name = 'buffer', batchPackets = DEFAULT_BATCH): Generator<PacketBatch, void, undefined> {
  const parser = new CaptureParser(name);
  const batch = allocateBatch(batchPackets, 0);
  batch.buf = data;
  let pos = 0;
  for (;;) {
    batch.count = 0;
    pos = parser.parse(data, pos, data.length, 0, true, batch);
    if (batch.count > 0) yield batch;
    if (parser.stop === ParseStop.ERROR) throw parser.error;
    if (parser.stop === ParseStop.END) return;
  }
}
