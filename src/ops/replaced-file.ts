/**
 * A regular file written in pieces under a temporary name beside it and renamed over it once complete
 * (commit): a reader never sees half of it, and a run that fails to write it (a full disk) or writes
 * nothing (no capture analysed) leaves the file already there as it was, with nothing beside it.
 */
import { createWriteStream, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { renameOver, temporaryBeside, type Beside } from './output-file.js';

export class ReplacedFile {
  private stream: WriteStream | null = null;
  private readonly beside: Beside;
  private readonly tmp: string;

  constructor(path: string) {
    this.beside = temporaryBeside(path);
    this.tmp = this.beside.tmp;
  }

  /** Resolves once `text` is written to the temporary file (opened at the first write). */
  write(text: string): Promise<void> {
    if (!this.stream) {
      this.stream = createWriteStream(this.tmp);
      this.stream.on('error', () => undefined); // each write's callback gets its error
    }
    const stream = this.stream;
    return new Promise((resolve, reject) => stream.write(text, (err) => (err ? reject(err) : resolve())));
  }

  /** Puts what was written in place of the file (an empty file when nothing was). */
  async commit(): Promise<void> {
    const stream = this.stream;
    if (stream) {
      await new Promise<void>((resolve, reject) => {
        stream.once('error', reject);
        stream.end(resolve);
      });
    } else writeFileSync(this.tmp, '');
    renameOver(this.beside);
    this.stream = null;
  }

  /** Leaves the file as it was: what was written and not committed is removed. */
  discard(): void {
    this.stream?.destroy();
    this.stream = null;
    rmSync(this.tmp, { force: true });
  }
}
