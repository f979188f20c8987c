import { open } from 'node:fs/promises';
import { allocateBatch, type CaptureStats, type PacketBatch, type PacketSource } from '../batch.js';
import { CaptureParser, ParseStop } from './parser.js';

export interface CaptureFileOptions {
  /** Bytes read from the file at a time (default 4 MiB). Grown automatically for a larger record. */
  chunkBytes?: number;
  /** Maximum packets per batch (default 4096). */
  batchPackets?: number;
}

const DEFAULT_CHUNK = 4 * 1024 * 1024;
const DEFAULT_BATCH = 4096;

/**
 * A classic pcap or pcapng file as a packet source. The file is read in large chunks into one reused
 * buffer; each batch points into that buffer. A record cut by a chunk boundary is moved to the front of
 * the buffer and completed by the next read.
 */
export function openCaptureFile(path: string, opts: CaptureFileOptions = {}): PacketSource {
  return new CaptureFileSource(path, opts.chunkBytes ?? DEFAULT_CHUNK, opts.batchPackets ?? DEFAULT_BATCH);
}

class CaptureFileSource implements PacketSource {
  readonly hostTimestamps = false;
  private received = 0;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly chunkBytes: number,
    private readonly batchPackets: number,
  ) {}

  async *batches(): AsyncIterable<PacketBatch> {
    const fh = await open(this.name, 'r');
    try {
      const parser = new CaptureParser(this.name);
      const batch = allocateBatch(this.batchPackets, 0);
      let buf = new Uint8Array(this.chunkBytes);
      let pos = 0;
      let end = 0;
      let base = 0; // file offset of buf[0]
      let eof = false;
      for (;;) {
        batch.buf = buf;
        batch.count = 0;
        pos = parser.parse(buf, pos, end, base, eof, batch);
        const stop = parser.stop;
        if (batch.count > 0) {
          this.received += batch.count;
          yield batch;
        }
        if (stop === ParseStop.ERROR) throw parser.error;
        if (stop === ParseStop.END || this.closed) return;
        if (stop === ParseStop.FULL) continue;
        // NEED_MORE: keep the incomplete tail, then fill the rest of the buffer from the file.
        const tail = end - pos;
        if (parser.needBytes > buf.length) {
          const bigger = new Uint8Array(Math.max(parser.needBytes, buf.length * 2));
          bigger.set(buf.subarray(pos, end));
          buf = bigger;
        } else if (pos > 0) {
          buf.copyWithin(0, pos, end);
        }
        base += pos;
        pos = 0;
        end = tail;
        while (end < buf.length) {
          const { bytesRead } = await fh.read(buf, end, buf.length - end, base + end);
          if (bytesRead === 0) {
            eof = true;
            break;
          }
          end += bytesRead;
        }
      }
    } finally {
      await fh.close();
    }
  }

  stats(): CaptureStats {
    return { received: this.received, droppedKernel: 0, droppedInterface: 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
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
