import { closeSync, fstatSync, ftruncateSync, openSync, writev as fsWritev } from 'node:fs';
import { FIFO_RETRY_MS, openFifoIfRead, statOrUndefined } from '../ops/output-file.js';

export interface JsonLinesLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface JsonLinesOptions {
  /** Write out once this many bytes are buffered (default 64 KiB). */
  highWaterBytes?: number;
  /** Also write out buffered lines this often, and retry after a write error (default 1000 ms). */
  flushIntervalMs?: number;
  /** Lines beyond this many buffered bytes (a full disk that does not recover) are dropped and counted (default 16 MiB). */
  maxBufferedBytes?: number;
  /** Write errors and recoveries (rate-limited here: one line per error code per 10 s). */
  log?: JsonLinesLog;
}

/** Errors after which the same write is retried later: the destination may recover. */
const TRANSIENT = new Set(['ENOSPC', 'EDQUOT', 'EAGAIN', 'EWOULDBLOCK', 'EINTR', 'EIO', 'ENOBUFS', 'EFBIG']);

/**
 * Report objects as JSON lines (one JSON text per line) appended to a file, or standard output.
 *
 * The file is opened when this is constructed (before the probe drops privileges; an unwritable path
 * throws there, a clear error at start); a FIFO once a program reads it, its lines buffered until then. Lines are batched into few large writes, one write in flight at
 * a time. A write error is counted and logged (rate-limited) and the unwritten bytes stay queued: after
 * a full disk the output resumes when space returns, continuing the interrupted line, so the file only
 * ever holds whole lines. Past maxBufferedBytes new lines are dropped whole and counted. close() writes
 * everything within its deadline.
 */
export class JsonLinesOutput {
  /** -1 while a FIFO has no reader. */
  private fd = -1;
  /** Tries the FIFO's open until a reader is there. */
  private fifoTimer: NodeJS.Timeout | null = null;
  private readonly ownsFd: boolean;
  /** Whole lines not yet handed to a write, UTF-8 encoded as they arrive. */
  private buf: Buffer;
  private pendingBytes = 0;
  private pendingLineCount = 0;
  /** Chunks waiting for their write, oldest first, each with the number of lines it ends. */
  private readonly queue: Array<{ bytes: Buffer; lines: number }> = [];
  private queuedBytes = 0;
  private writing = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly timer: NodeJS.Timeout | null;
  private readonly retryMs: number;
  private closed = false;
  private readonly highWater: number;
  private readonly maxBuffered: number;
  private readonly log: JsonLinesLog | undefined;
  private lastLogged = new Map<string, number>();
  private idleWaiters: Array<() => void> = [];
  private roomWaiters: Array<() => void> = [];
  /** Lines accepted. */
  lines = 0;
  /** Lines completely written. */
  writtenLines = 0;
  bytes = 0;
  /** Lines not written: buffer bound reached, destination gone, or shutdown deadline. */
  dropped = 0;
  /** Write errors (each retried write that fails again counts again). */
  errors = 0;
  lastError: string | undefined;
  /** False while writes fail. */
  writable = true;

  /** target: 'stdout' or '-' for standard output, otherwise a file path (created if missing, appended to). */
  constructor(
    readonly target: string,
    o: JsonLinesOptions = {},
  ) {
    if (target === 'stdout' || target === '-') {
      this.fd = 1;
      this.ownsFd = false;
    } else {
      this.ownsFd = true;
      try {
        if (!statOrUndefined(target)?.isFIFO()) this.fd = openSync(target, 'a', 0o640);
        else if (!this.openFifo()) this.fifoTimer = setInterval(() => this.retryFifo(), FIFO_RETRY_MS);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        throw Object.assign(new Error(`cannot open the JSON-lines file ${target}: ${e.code ?? e.message}`), { code: e.code, exitCode: 2 });
      }
    }
    this.highWater = o.highWaterBytes ?? 64 * 1024;
    this.buf = Buffer.allocUnsafe(this.highWater + 16 * 1024);
    this.maxBuffered = o.maxBufferedBytes ?? 16 * 1024 * 1024;
    this.log = o.log;
    const every = o.flushIntervalMs ?? 1000;
    this.retryMs = every > 0 ? every : 1000;
    this.timer = every > 0 ? setInterval(() => this.writeOut(), every) : null;
    if (this.timer) this.timer.unref();
  }

  /** Opens the FIFO if a program reads it (false when none does yet). */
  private openFifo(): boolean {
    const fd = openFifoIfRead(this.target);
    if (fd === null) return false;
    this.fd = fd;
    return true;
  }

  private retryFifo(): void {
    try {
      if (!this.openFifo()) return;
    } catch (err) {
      this.onWriteError(err as NodeJS.ErrnoException);
    }
    clearInterval(this.fifoTimer!);
    this.fifoTimer = null;
    this.pump();
  }

  /** Lines accepted but not yet completely written. */
  get pendingLines(): number {
    return this.lines - this.writtenLines - this.droppedAccepted;
  }

  /** Accepted lines dropped later (destination gone, deadline), as opposed to refused at once. */
  private droppedAccepted = 0;
  /** Bytes of a line written only in part (a write cut short by a full disk): the file's last bytes. */
  private partialLineBytes = 0;

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
    if (this.pendingBytes + this.queuedBytes + n > this.maxBuffered) {
      this.dropped++; // the encoded bytes past pendingBytes are simply overwritten by the next line
      this.warn('buffer-full', { file: this.target, bufferedBytes: this.pendingBytes + this.queuedBytes, lastError: this.lastError }, 'JSON-lines output: buffer full, report lines dropped');
      return false;
    }
    this.buf[at + n - 1] = 10;
    this.pendingBytes += n;
    this.pendingLineCount++;
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

  /** Moves the buffered lines to the write queue and starts writing. */
  private writeOut(): void {
    if (this.pendingBytes > 0) {
      this.queue.push({ bytes: this.buf.subarray(0, this.pendingBytes), lines: this.pendingLineCount });
      this.queuedBytes += this.pendingBytes;
      // The queue keeps that memory until written: later lines go to a fresh buffer.
      this.buf = Buffer.allocUnsafe(Math.max(this.highWater + 16 * 1024, this.buf.length));
      this.pendingBytes = 0;
      this.pendingLineCount = 0;
    }
    this.pump();
  }

  /**
   * Everything queued goes in one write (writev): a producer that runs for long between event-loop turns
   * (a replay's window of records) gets all its lines written at the next turn, not one chunk per turn.
   */
  private pump(): void {
    if (this.writing || this.retryTimer !== null || this.queue.length === 0 || this.fd < 0) {
      if (!this.writing && this.queue.length === 0) this.wakeIdle();
      return;
    }
    this.writing = true;
    fsWritev(this.fd, this.queue.map((q) => q.bytes), (err, n) => {
      this.writing = false;
      if (err) {
        this.onWriteError(err);
        return;
      }
      if (!this.writable) {
        this.writable = true;
        this.log?.info({ file: this.target }, 'JSON-lines output writing again');
      }
      this.bytes += n;
      this.queuedBytes -= n;
      while (n > 0) {
        const head = this.queue[0]!;
        if (n < head.bytes.length) {
          // The lines this part ends are written; the rest of a line goes first next time: lines stay whole.
          const written = head.bytes.subarray(0, n);
          const lastEnd = written.lastIndexOf(10);
          if (lastEnd >= 0) {
            let ended = 0;
            for (let i = written.indexOf(10); i >= 0; i = written.indexOf(10, i + 1)) ended++;
            head.lines -= ended;
            this.writtenLines += ended;
            this.partialLineBytes = n - lastEnd - 1;
          } else this.partialLineBytes += n;
          head.bytes = head.bytes.subarray(n);
          break;
        }
        n -= head.bytes.length;
        this.queue.shift();
        this.writtenLines += head.lines;
        this.partialLineBytes = 0;
      }
      if (this.roomWaiters.length > 0 && this.room() === null) this.wake(this.roomWaiters);
      this.pump();
    });
  }

  /**
   * Null while the lines buffered are under a quarter of maxBufferedBytes (or writes fail: a full disk
   * must not hold a replay; its lines stay buffered up to the bound); otherwise resolves once they are.
   * A replay awaits it between windows, so it produces lines at the pace the file takes them.
   */
  room(): Promise<void> | null {
    if (this.closed || !this.writable || this.pendingBytes + this.queuedBytes < this.maxBuffered / 4) return null;
    this.writeOut();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  private onWriteError(err: NodeJS.ErrnoException): void {
    this.errors++;
    this.writable = false;
    this.wake(this.roomWaiters); // a replay goes on; its lines stay buffered up to the bound
    const code = err.code ?? err.message;
    this.lastError = code;
    if (TRANSIENT.has(code)) {
      this.warn(code, { file: this.target, error: code, queuedBytes: this.queuedBytes }, 'JSON-lines output cannot write: lines are kept and written when it can again');
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.pump();
      }, this.retryMs);
      this.retryTimer.unref();
      if (this.closed && this.queue.length === 0) this.wakeIdle();
      return;
    }
    // EBADF, EPIPE (reader of standard output gone)...: nothing will ever be written here again.
    let lost = 0;
    for (const q of this.queue) lost += q.lines;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.dropped += lost;
    this.droppedAccepted += lost;
    this.cutPartialLine();
    this.warn(code, { file: this.target, error: code, droppedLines: lost }, 'JSON-lines output failed for good: report lines dropped');
    this.wakeIdle();
  }

  private warn(key: string, obj: object, msg: string): void {
    if (!this.log) return;
    const now = Date.now();
    const last = this.lastLogged.get(key) ?? 0;
    if (now - last < 10_000) return;
    this.lastLogged.set(key, now);
    this.log.warn(obj, msg);
  }

  private wakeIdle(): void {
    this.wake(this.idleWaiters);
    this.wake(this.roomWaiters);
  }

  private wake(waiters: Array<() => void>): void {
    const w = waiters.splice(0);
    for (const f of w) f();
  }

  /** Hands buffered lines to the destination and resolves when they are all written (or dropped for good). */
  flush(): Promise<void> {
    this.writeOut();
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Writes what is buffered, waiting at most `deadlineMs` (a full disk at shutdown), then closes the file.
   * Lines still unwritten then are counted as dropped.
   */
  async close(deadlineMs = 5000): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    this.closed = true;
    // A FIFO still without a reader keeps being tried until the deadline (`replay F --jsonl fifo &` started
    // before its reader): the lines go out once the reader comes, and are dropped below if it never does.
    this.wake(this.roomWaiters);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, deadlineMs));
    });
    // Retries come sooner while closing: space may return any moment.
    await Promise.race([this.flush(), deadline]);
    clearTimeout(timer);
    if (this.fifoTimer) clearInterval(this.fifoTimer);
    this.fifoTimer = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const lost = this.pendingLines;
    if (lost > 0) {
      this.dropped += lost;
      this.droppedAccepted += lost;
      this.log?.error({ file: this.target, droppedLines: lost, lastError: this.lastError }, 'JSON-lines output: lines not written by the shutdown deadline');
      this.queue.length = 0;
    }
    // A write still in flight finishes on its own; the descriptor is closed after it.
    if (this.ownsFd && this.fd >= 0) {
      if (this.writing) await new Promise<void>((r) => this.idleWaiters.push(r));
      this.cutPartialLine();
      closeSync(this.fd);
    }
  }

  /**
   * Lines given up after a write cut one short: the part of it in a file this output opened is cut off,
   * so the file holds whole lines only (and a later run's lines do not continue a broken one). Standard
   * output is left alone: another writer (the shell's `2>&1`) may share it.
   */
  private cutPartialLine(): void {
    if (this.partialLineBytes === 0 || !this.ownsFd || this.fd < 0) return;
    try {
      const st = fstatSync(this.fd);
      if (st.isFile()) ftruncateSync(this.fd, Math.max(0, st.size - this.partialLineBytes));
      this.partialLineBytes = 0;
    } catch {
      // Left as it is: the descriptor is failing anyway; the lines are counted as dropped.
    }
  }
}
