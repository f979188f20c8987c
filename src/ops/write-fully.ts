/**
 * Writing to standard output or error and waiting until the text is handed to the OS: the process exits
 * right after a replay, and a pipe takes only 64 KiB at once (the rest would be queued, then lost at exit).
 */

/**
 * Resolves once `text` is written. A reader that went away (EPIPE, e.g. `| head`) ends the output, not the
 * run: that resolves too. Any other failure (ENOSPC on a full disk) rejects: what was to be written is lost.
 */
export function writeFully(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // The failed write's 'error' event follows its callback, so the listener stays for it.
    const failed = (): void => undefined;
    stream.once('error', failed);
    stream.write(text, (err) => {
      if (!err) {
        stream.off('error', failed);
        resolve();
      } else if ((err as NodeJS.ErrnoException).code === 'EPIPE') resolve();
      else reject(err);
    });
  });
}
