/**
 * The yaml package, loaded on first use (by Node from node_modules, outside the command's bundle): only a
 * configuration file and `check-config --print` need it, and compiling it is about 14 ms of every start-up.
 */
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

let loaded: typeof Yaml | undefined;

export function yaml(): typeof Yaml {
  return (loaded ??= createRequire(import.meta.url)('yaml') as typeof Yaml);
}
