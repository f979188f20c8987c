/**
 * The bytes of a capture as the field delivers them: a file, standard input (`-`, /dev/stdin), a pipe or
 * FIFO, each possibly gzip- or zstd-compressed (recognised by content, not by name). A plain regular
 * file is read with positioned reads (the fast path); everything else is read as a stream.
 */
import { accessSync, constants, createReadStream, fstatSync, openSync, read, statSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { Socket } from 'node:net';
import { Readable, pipeline } from 'node:stream';
import { isatty } from 'node:tty';
import * as zlib from 'node:zlib';
import { CaptureFileError, type CaptureFileProblem } from './error.js';
import { GzipMembers } from './gunzip.js';

export type Compression = 'none' | 'gzip' | 'zstd';

/** A source of capture bytes, read front to back. */
export interface ByteInput {
  /**
   * Reads up to `len` bytes into buf[off..], the bytes that follow the previous read's; 0 at the end.
   * Up to `readAhead` reads may be in flight at once; their results come in the order they were asked.
   */
  read(buf: Uint8Array, off: number, len: number): Promise<number>;
  readonly readAhead: number;
  /** A regular file's size when it was opened (the reader needs no buffer larger); undefined for a stream. */
  readonly size: number | undefined;
  close(): Promise<void>;
  /** Bytes taken from the file or pipe so far (compressed bytes when compressed): progress. */
  readonly bytesRead: number;
  readonly compression: Compression;
  /**
   * Why the data ended early although no read failed: a compressed stream cut short or damaged, or
   * followed by bytes that are not part of it. The capture before it is good; the reader reports this
   * once it has parsed everything.
   */
  readonly problem: InputProblem | null;
}

/** What ended a compressed input early: cut short, damaged, or trailing data after the compressed data. */
export interface InputProblem {
  kind: CaptureFileProblem;
  text: string;
}

/** The name standard input goes by on the command line. */
export const STDIN = '-';

const GZIP = [0x1f, 0x8b];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];
const XZ = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const BZIP2 = [0x42, 0x5a, 0x68];
const MAGIC_BYTES = 6;

type ZstdFactory = () => NodeJS.ReadWriteStream & zlib.Zlib;
/** zlib's zstd decompressor where the runtime has it (Node.js 22.15 and later; not Node.js 20). */
const createZstd = (zlib as unknown as { createZstdDecompress?: ZstdFactory }).createZstdDecompress;
export const zstdAvailable = typeof createZstd === 'function';

/** What the command line can check before starting: undefined when `path` can be read as a capture. */
export function inputProblem(path: string): string | undefined {
  try {
    const st = path === STDIN ? fstatSync(0) : statSync(path);
    const name = path === STDIN ? 'standard input' : path;
    if (st.isDirectory()) return `${name}: is a directory: give a capture file`;
    if (st.isCharacterDevice() && /^(-|\/dev\/stdin|\/dev\/fd\/0|\/proc\/self\/fd\/0)$/.test(path) && isatty(0)) {
      return 'standard input is a terminal: pipe a capture into it, e.g. tcpdump -w - | rtpprobe replay -';
    }
    // stat needs no read permission on the file itself: ask whether this user may read it.
    if (path !== STDIN) accessSync(path, constants.R_OK);
    return undefined;
  } catch (err) {
    return `${path}: ${openProblem(err)}`;
  }
}

/** Why a file could not be opened, in words: permission, absence, a bad path, or the system's message. */
function openProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied: this user cannot read it';
  if (code === 'ENOTDIR') return 'a part of the path is a file, not a directory: check the path';
  if (code === 'ELOOP') return 'its symbolic links lead in a loop: fix the link or give the file itself';
  return (err as Error).message;
}

/** Size in bytes of a regular file (progress), undefined for standard input, pipes and devices. */
export function regularFileSize(path: string): number | undefined {
  if (path === STDIN) return undefined;
  try {
    const st = statSync(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Opens `path` ('-' = standard input); throws CaptureFileError for a compression it cannot read. `stop`
 * ends a pipe or FIFO at once, even one whose writer has not started or sends nothing: the input then
 * ends after the bytes already read.
 */
export async function openInput(path: string, stop?: AbortSignal): Promise<ByteInput> {
  const size = path === STDIN ? undefined : regularFileSize(path);
  if (size !== undefined) {
    const fh = await open(path, 'r').catch((err: unknown) => {
      throw new CaptureFileError(path, 0, openProblem(err), 'not-capture');
    });
    let kind: Compression;
    try {
      const head = new Uint8Array(MAGIC_BYTES);
      const got = await readAt(fh.fd, head, 0, MAGIC_BYTES, 0);
      kind = compressionOf(path, head.subarray(0, got));
    } catch (err) {
      // A file refused here (its read failed, a compression not read) is closed now: one left to the
      // garbage collector is closed at some later moment with a warning on standard error.
      await fh.close();
      throw err;
    }
    if (kind === 'none') return new FileInput(fh.fd, size, () => fh.close());
    await fh.close();
  }
  const raw = openStream(path);
  const onStop = () => raw.destroy();
  if (stop?.aborted) onStop();
  else stop?.addEventListener('abort', onStop, { once: true });
  return StreamInput.open(path, raw, stop);
}

/**
 * A pipe, FIFO or socket is read through the event loop, where a stop can end a read that waits; a read
 * of the thread pool cannot be cancelled, and would hold even the process's exit until data came. A FIFO
 * is opened non-blocking: no writer yet is no data yet, not the end.
 */
function openStream(path: string): Readable {
  let st: Stats;
  try {
    st = path === STDIN ? fstatSync(0) : statSync(path);
  } catch (err) {
    throw new CaptureFileError(path, 0, openProblem(err), 'not-capture');
  }
  if (!st.isFIFO() && !st.isSocket()) return path === STDIN ? createReadStream('', { fd: 0, autoClose: false }) : createReadStream(path);
  let fd = 0;
  if (path !== STDIN) {
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      throw new CaptureFileError(path, 0, openProblem(err), 'not-capture');
    }
  }
  return new Socket({ fd, readable: true, writable: false });
}

function startsWith(b: Uint8Array, magic: number[]): boolean {
  return b.length >= magic.length && magic.every((m, i) => b[i] === m);
}

/** The command that decompresses the input before replay: a file by name, standard input inside the pipe. */
function decompressFirst(tool: string, path: string): string {
  return path === STDIN ? `\`... | ${tool} -dc | rtpprobe replay -\`` : `\`${tool} -dc ${path} | rtpprobe replay -\``;
}

function compressionOf(path: string, head: Uint8Array): Compression {
  const name = path === STDIN ? 'standard input' : path;
  if (startsWith(head, GZIP)) return 'gzip';
  if (startsWith(head, ZSTD)) {
    if (zstdAvailable) return 'zstd';
    throw new CaptureFileError(name, 0, `zstd-compressed, and this Node.js (${process.version}) cannot decompress zstd (Node.js 22.15 or later can): run ${decompressFirst('zstd', path)}`, 'not-capture');
  }
  if (startsWith(head, XZ)) throw new CaptureFileError(name, 0, `xz-compressed: run ${decompressFirst('xz', path)}`, 'not-capture');
  if (startsWith(head, BZIP2)) throw new CaptureFileError(name, 0, `bzip2-compressed: run ${decompressFirst('bzip2', path)}`, 'not-capture');
  return 'none';
}

/**
 * One positioned read through the callback API: measured to block the event loop about 5x less per
 * call than FileHandle.read (~0.05 vs ~0.25 ms per 4 MiB chunk while the loop is busy decoding).
 */
function readAt(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, offset, length, position, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead))));
}

/**
 * Reads of a regular file in flight at once. On a machine whose cores are busy the thread pool's thread
 * may run a read only milliseconds after it was asked: reads queued ahead keep the packet loop from
 * waiting for it (native-bench/README.md, "Replay against tshark").
 */
const FILE_READ_AHEAD = 3;

/**
 * A plain regular file: positioned reads from the start, several in flight, each asked at the offset
 * where the one before it will end.
 */
class FileInput implements ByteInput {
  readonly compression = 'none' as const;
  readonly problem = null;
  readonly readAhead = FILE_READ_AHEAD;
  /** Bytes delivered so far: the offset of the next byte a read returns. */
  bytesRead = 0;
  /** Offset the next read is asked at, assuming every read before it fills its length. */
  private askAt = 0;
  /** The previous read's delivery: reads deliver in the order they were asked. */
  private previous: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly closeFile: () => Promise<void>,
  ) {}

  read(buf: Uint8Array, off: number, len: number): Promise<number> {
    const at = this.askAt;
    this.askAt += len;
    const reading = readAt(this.fd, buf, off, len, at);
    reading.catch(() => undefined); // its failure is delivered below, in order, not reported as unhandled
    const delivered = this.previous.then(async () => {
      let n = await reading;
      // A read before this one came back short (the end of the file, or a file still being written):
      // this one was asked past it, so it reads again where the bytes delivered so far end.
      if (at !== this.bytesRead) n = await readAt(this.fd, buf, off, len, this.bytesRead);
      this.bytesRead += n;
      if (n < len) this.askAt -= len - n; // reads asked from now on start where this one ended
      return n;
    });
    this.previous = delivered.catch(() => undefined);
    return delivered;
  }

  close(): Promise<void> {
    return this.closeFile();
  }
}

/** Smallest amount a stream read waits for (unless the stream ends): a pipe delivers 64 KiB at a time. */
const STREAM_FILL = 1024 * 1024;

/** Standard input, a pipe, a FIFO, a device or a compressed file: read as a stream, decompressed if needed. */
class StreamInput implements ByteInput {
  problem: InputProblem | null = null;
  /** One read at a time: each takes what the stream delivered after the previous one. */
  readonly readAhead = 1;
  readonly size = undefined;
  private cur: Uint8Array | null = null;
  private curOff = 0;
  private ended = false;

  private constructor(
    private readonly raw: Readable & { bytesRead?: number },
    private readonly data: AsyncIterator<Uint8Array>,
    readonly compression: Compression,
    private readonly stop: AbortSignal | undefined,
    /** gzip: its members, read here (it names its own problems). */
    private readonly gzip: GzipMembers | null = null,
  ) {}

  get bytesRead(): number {
    return this.raw.bytesRead ?? 0;
  }

  static async open(path: string, raw: Readable, stop?: AbortSignal): Promise<StreamInput> {
    const it = raw[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
    // Enough bytes to tell the format, however small the pipe's first writes were.
    const head: Uint8Array[] = [];
    let have = 0;
    let done = false;
    while (have < MAGIC_BYTES) {
      const r = await it.next().catch((err: unknown) => {
        if (stop?.aborted) return { done: true as const, value: undefined };
        throw err;
      });
      if (r.done) {
        done = true;
        break;
      }
      head.push(r.value);
      have += r.value.length;
    }
    const first = Buffer.concat(head);
    const kind = compressionOf(path, first);
    const chunks = (async function* () {
      yield first;
      if (done) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    })();
    if (kind === 'gzip') {
      const gzip = new GzipMembers(chunks);
      return new StreamInput(raw, gzip.data(), kind, stop, gzip);
    }
    let data: Readable = Readable.from(chunks, { objectMode: false });
    if (kind === 'zstd') data = pipeline(data, createZstd!(), () => undefined) as unknown as Readable;
    return new StreamInput(raw, data[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>, kind, stop);
  }

  async read(buf: Uint8Array, off: number, len: number): Promise<number> {
    let n = 0;
    const want = Math.min(len, STREAM_FILL);
    while (n < want) {
      if (this.cur === null || this.curOff === this.cur.length) {
        if (this.ended) break;
        const next = await this.nextChunk();
        if (next === null) break;
        this.cur = next;
        this.curOff = 0;
      }
      const take = Math.min(len - n, this.cur.length - this.curOff);
      buf.set(this.cur.subarray(this.curOff, this.curOff + take), off + n);
      this.curOff += take;
      n += take;
    }
    return n;
  }

  private async nextChunk(): Promise<Uint8Array | null> {
    try {
      const r = await this.data.next();
      if (!r.done) return r.value;
      if (this.gzip?.problem) this.problem = this.gzip.problem;
    } catch (err) {
      // A stop ends the stream where it is: nothing is wrong with the input.
      if (this.stop?.aborted) {
        this.ended = true;
        return null;
      }
      // A decompressor failing means its input ended early or is damaged; a read error is not ours to
      // hide (gzip names its own problems: what it throws is the input's).
      if (this.compression === 'none' || this.gzip !== null) throw err;
      const msg = (err as Error).message;
      this.problem = /unexpected end/i.test(msg) ? { kind: 'cut-short', text: `${this.compression} data cut short (${msg})` } : { kind: 'damaged', text: `${this.compression} data damaged (${msg})` };
    }
    this.ended = true;
    return null;
  }

  async close(): Promise<void> {
    this.ended = true;
    this.raw.destroy();
  }
}
