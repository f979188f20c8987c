/**
 * Whether a report file (--html, --jsonl) can be written, checked before the run: a page written at the
 * end of an analysis must not fail only after it. Whether two outputs or an output and an input name one
 * file. And the opening of such a path that is a FIFO.
 */
import { accessSync, chmodSync, closeSync, constants, openSync, realpathSync, renameSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Why `path` cannot be written as a file, or undefined when it can (created if missing). `replaced`: the
 * file is written beside it and renamed over it (temporaryBeside), so its directory must be writable too.
 */
export function outputFileProblem(path: string, replaced = false): string | undefined {
  let file: Stats | undefined;
  try {
    file = statSync(path);
  } catch (err) {
    // A missing file is created; a path that is a file part-way is named by the directory check below.
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') return outputPathProblem(err);
  }
  if (file?.isDirectory()) return 'is a directory: name a file in it';
  const dir = dirname(file && replaced ? realpathSync(path) : path);
  if (file && !writable(path)) return 'is not writable: check its permissions or name another file';
  if (file && (!replaced || !file.isFile())) return undefined;
  const parent = statOrUndefined(dir);
  if (!parent) return `the directory ${dir} does not exist: create it or name a file in an existing directory`;
  if (!parent.isDirectory()) return `${dir} is not a directory: name a file in an existing directory`;
  return writable(dir) ? undefined : `the directory ${dir} is not writable: check its permissions or name another directory`;
}

/**
 * Where a file that replaces `path` whole is written first (a temporary name beside the file it replaces),
 * and the file the rename then replaces: through a symbolic link, the file it names (the link stays).
 */
export function temporaryBeside(path: string): Beside {
  const st = statOrUndefined(path);
  const target = st ? realpathSync(path) : path;
  return { target, tmp: `${target}.tmp-${process.pid}`, mode: st?.isFile() ? st.mode & 0o7777 : undefined };
}

/** A file to replace, the temporary name it is written under, and the permissions of the file it replaces. */
export interface Beside {
  target: string;
  tmp: string;
  mode: number | undefined;
}

/** Puts the finished temporary file in place of the target, with the permissions of the file it replaces. */
export function renameOver(b: Beside): void {
  if (b.mode !== undefined) chmodSync(b.tmp, b.mode);
  renameSync(b.tmp, b.target);
}

/** Why an output path could not be opened or reached, in words naming the fix. */
export function outputPathProblem(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'EACCES':
      return 'permission denied: check its permissions or name another file';
    case 'ENOENT':
      return 'no such directory: create it or name a file in an existing directory';
    case 'EISDIR':
      return 'is a directory: name a file in it';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a directory: name a file in an existing directory';
    case 'ELOOP':
      return 'its symbolic links lead in a loop: fix the link or name another file';
    default:
      return (err as Error).message;
  }
}

/**
 * The input among `inputs` that `output` names (the same file, through a link or another path too), if
 * any: a report written there would destroy the capture it is made from.
 */
export function inputNamedBy(output: string, inputs: string[]): string | undefined {
  const out = statOrUndefined(output);
  if (!out?.isFile()) return undefined;
  return inputs.find((path) => {
    const input = statOrUndefined(path);
    return input !== undefined && input.dev === out.dev && input.ino === out.ino;
  });
}

/**
 * Whether two output paths name one regular file (through a link or another path too), existing or to be
 * created: two outputs written there would overwrite each other. Devices such as /dev/null are shared freely.
 */
export function sameOutputFile(a: string, b: string): boolean {
  const fileA = statOrUndefined(a);
  const fileB = statOrUndefined(b);
  if (fileA && fileB) return fileA.isFile() && fileA.dev === fileB.dev && fileA.ino === fileB.ino;
  if (fileA || fileB) return false;
  return createdPath(a) === createdPath(b);
}

/** Where a missing file would be created: its directory with links resolved. */
function createdPath(path: string): string {
  try {
    return join(realpathSync(dirname(path)), basename(path));
  } catch {
    return resolve(path);
  }
}

/** The file's status (symbolic links followed), undefined when it does not exist or cannot be reached. */
export function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The FIFO `path` opened for appending if a program reads it; null while none does. An open that waited
 * for the reader would hold the event loop (no signal handled) or a thread-pool thread (and with it the
 * process's exit), so the first open does not wait.
 */
export function openFifoIfRead(path: string): number | null {
  let probe: number;
  try {
    probe = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') return null;
    throw err;
  }
  try {
    // The reader is there, so this open returns at once; its writes wait for the reader as a FIFO's do.
    return openSync(path, 'a');
  } finally {
    closeSync(probe);
  }
}

/** How often a FIFO without a reader is tried again. */
export const FIFO_RETRY_MS = 100;
