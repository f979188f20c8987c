/**
 * How a capture file failed: not a capture at all (nothing read, or it ends or is damaged inside its file
 * header: pcap's 24 bytes, pcapng's first section header block, whatever compression wraps them), cut
 * short (ends inside a record after the header: a killed tcpdump), damaged part-way (a record header
 * that cannot be right), or followed by bytes that are not part of it (junk after the gzip data: every
 * packet was read, but the file is not what was written).
 */
export type CaptureFileProblem = 'not-capture' | 'cut-short' | 'damaged' | 'trailing-data';

/** The fix for a file that ends inside its capture header. */
export const NOT_WHOLE = 'not a whole capture: copy it again whole, or check that the program writing it ran (e.g. tcpdump -w FILE)';

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
