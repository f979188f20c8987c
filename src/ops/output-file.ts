/**
 * Whether a report file (--html, --jsonl) can be written, checked before the run: a page written at the
 * end of an analysis must not fail only after it.
 */
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';

/** Why `path` cannot be written as a file, or undefined when it can (created if missing). */
export function outputFileProblem(path: string): string | undefined {
  const file = statOrUndefined(path);
  if (file?.isDirectory()) return 'is a directory: name a file in it';
  if (file) return writable(path) ? undefined : 'is not writable: check its permissions or name another file';
  const dir = dirname(path);
  const parent = statOrUndefined(dir);
  if (!parent) return `the directory ${dir} does not exist: create it or name a file in an existing directory`;
  if (!parent.isDirectory()) return `${dir} is not a directory: name a file in an existing directory`;
  return writable(dir) ? undefined : `the directory ${dir} is not writable: check its permissions or name another directory`;
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
