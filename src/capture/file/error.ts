/**
 * How a capture file failed: not a capture at all (nothing read), cut short (ends inside a record: a
 * killed tcpdump), damaged part-way (a record header that cannot be right), or followed by bytes that are
 * not part of it (junk after the gzip data: every packet was read, but the file is not what was written).
 */
export type CaptureFileProblem = 'not-capture' | 'cut-short' | 'damaged' | 'trailing-data';

/** A capture file that cannot be read further: not a capture, truncated, or corrupt at `byteOffset`. */
export class CaptureFileError extends Error {
  override readonly name = 'CaptureFileError';

  constructor(
    readonly file: string,
    readonly byteOffset: number,
    readonly problem: string,
    readonly kind: CaptureFileProblem = 'damaged',
  ) {
    super(`${file}: at byte ${byteOffset}: ${problem}`);
  }

  /** Packets before the problem were read and are good: the results for them stand. */
  get partial(): boolean {
    return this.kind !== 'not-capture';
  }
}
