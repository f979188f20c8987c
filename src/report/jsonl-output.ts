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
  private parts: string[] = [];
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
    const n = Buffer.byteLength(json) + 1;
    if (this.pendingBytes + this.inFlightBytes + n > this.maxBuffered) {
      this.dropped++;
      return false;
    }
    this.parts.push(json, '\n');
    this.pendingBytes += n;
    this.lines++;
    if (this.pendingBytes >= this.highWater) this.writeOut();
    return true;
  }

  private writeOut(): void {
    if (this.pendingBytes === 0) return;
    const chunk = this.parts.join('');
    const n = this.pendingBytes;
    this.parts = [];
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
