import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';

export interface JsonLinesOptions {
  /** Write out once this many bytes are buffered (default 64 KiB). */
  highWaterBytes?: number;
  /** Also write out buffered lines this often (default 1000 ms; 0 disables the timer). */
  flushIntervalMs?: number;
  /** Lines beyond this many buffered bytes (a stuck destination) are dropped and counted (default 16 MiB). */
  maxBufferedBytes?: number;
}

/**
 * Report objects as JSON lines (one JSON text per line) on stdout or a file (appended). Lines are
 * batched into few large writes; close() writes what is left and ends the file.
 */
export class JsonLinesOutput {
  private readonly out: Writable;
  private readonly ownsStream: boolean;
  /** Lines not yet handed to the destination, UTF-8 encoded as they arrive (no join, no second encoding pass). */
  private buf: Buffer;
  private pendingBytes = 0;
  private inFlightBytes = 0;
  private readonly timer: NodeJS.Timeout | null;
  private closed = false;
  private readonly highWater: number;
  private readonly maxBuffered: number;
  lines = 0;
  bytes = 0;
  dropped = 0;
  errors = 0;

  /** target: 'stdout' or '-' for standard output, otherwise a file path, or any Writable. */
  constructor(target: string | Writable, o: JsonLinesOptions = {}) {
    if (typeof target === 'string') {
      if (target === 'stdout' || target === '-') {
        this.out = process.stdout;
        this.ownsStream = false;
      } else {
        this.out = createWriteStream(target, { flags: 'a' });
        this.ownsStream = true;
      }
    } else {
      this.out = target;
      this.ownsStream = false;
    }
    this.out.on('error', () => {
      this.errors++;
    });
    this.highWater = o.highWaterBytes ?? 64 * 1024;
    this.buf = Buffer.allocUnsafe(this.highWater + 16 * 1024);
    this.maxBuffered = o.maxBufferedBytes ?? 16 * 1024 * 1024;
    const every = o.flushIntervalMs ?? 1000;
    this.timer = every > 0 ? setInterval(() => this.writeOut(), every) : null;
    if (this.timer) this.timer.unref();
  }

  write(report: object): boolean {
    return this.writeLine(JSON.stringify(report));
  }

  /** `json` must be one JSON text without newlines (JSON.stringify output is). */
  writeLine(json: string): boolean {
    if (this.closed) return false;
    // UTF-8 needs at most 3 bytes per UTF-16 unit; make sure the line fits before encoding it in place.
    const room = json.length * 3 + 1;
    if (this.pendingBytes + room > this.buf.length) this.grow(room);
    const at = this.pendingBytes;
    const n = this.buf.write(json, at) + 1;
    if (this.pendingBytes + this.inFlightBytes + n > this.maxBuffered) {
      this.dropped++; // the encoded bytes past pendingBytes are simply overwritten by the next line
      return false;
    }
    this.buf[at + n - 1] = 10;
    this.pendingBytes += n;
    this.lines++;
    if (this.pendingBytes >= this.highWater) this.writeOut();
    return true;
  }

  /** Room for `bytes` more: a larger buffer holding the pending lines. */
  private grow(bytes: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pendingBytes + bytes));
    this.buf.copy(next, 0, 0, this.pendingBytes);
    this.buf = next;
  }

  private writeOut(): void {
    if (this.pendingBytes === 0) return;
    const chunk = this.buf.subarray(0, this.pendingBytes);
    const n = this.pendingBytes;
    // The destination keeps `chunk` until written: later lines go to a fresh buffer.
    this.buf = Buffer.allocUnsafe(Math.max(this.highWater + 16 * 1024, this.buf.length));
    this.pendingBytes = 0;
    this.inFlightBytes += n;
    this.out.write(chunk, (err) => {
      this.inFlightBytes -= n;
      if (err) this.errors++;
      else this.bytes += n;
    });
  }

  /** Hands buffered lines to the destination and resolves when it has accepted them. */
  flush(): Promise<void> {
    this.writeOut();
    return new Promise((resolve) => {
      if (this.out.writableLength === 0 && this.inFlightBytes === 0) return resolve();
      // An empty write's callback runs after everything queued before it.
      this.out.write('', () => resolve());
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    await this.flush();
    this.closed = true;
    if (this.ownsStream) {
      await new Promise<void>((resolve) => {
        this.out.end(() => resolve());
      });
    }
  }
}
