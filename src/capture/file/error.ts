/** A capture file that cannot be read further: not a capture, truncated, or corrupt at `byteOffset`. */
export class CaptureFileError extends Error {
  override readonly name = 'CaptureFileError';

  constructor(
    readonly file: string,
    readonly byteOffset: number,
    readonly problem: string,
  ) {
    super(`${file}: at byte ${byteOffset}: ${problem}`);
  }
}
