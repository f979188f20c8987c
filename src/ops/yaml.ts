/**
 * The yaml package, loaded on first use: only a configuration file and `check-config --print` need it,
 * and compiling it is about 14 ms of every start-up. The command's bundle (src/cli-bundle.mjs) keeps it
 * out and defines require(), so it comes from node_modules; a bundle that includes it (the tests' bundles)
 * sees the require() call and links its copy; tsc's plain ES modules have no require() and make one.
 */
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

let loaded: typeof Yaml | undefined;

export function yaml(): typeof Yaml {
  return (loaded ??= (typeof require === 'function' ? require('yaml') : createRequire(import.meta.url)('yaml')) as typeof Yaml);
}
