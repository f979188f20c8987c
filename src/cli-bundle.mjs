/**
 * Bundles the command (src/cli.ts and everything it imports, commander and pino included) into dist/cli.js
 * plus the pieces only some commands or modes load (dist/cli.*-HASH.js, loaded on first use). Run by
 * `npm run build` after tsc, whose dist/ tree stays: the media worker, benches and tests load those
 * modules. One file per load instead of ~130 modules and their package lookups: a replay's start-up is
 * mostly module loading (measured in native-bench/README.md, "Replay against tshark").
 *
 * A bundled module's `import.meta.url` would be the bundle's; each is replaced by the URL of the module's
 * own dist/ file, so files it finds beside itself (the native addon, the worker, the page assets) resolve
 * as they do unbundled. Every output lies directly in dist/, so that URL is relative to any of them.
 * Source maps point to src/*.ts (`node --enable-source-maps` for stack traces in TypeScript lines).
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const src = fileURLToPath(new URL('.', import.meta.url));
const dist = fileURLToPath(new URL('../dist/', import.meta.url));
/** The pieces' names: cli.<module>-<content hash>.js (tsc writes only cli.js, cli.js.map and cli.d.ts there). */
const CHUNK_NAME = /^cli\.[^.]+-[A-Z0-9]+\.js(\.map)?$/;

/** Packages loaded only by modes that need them (createRequire or a lazy import), kept out of the bundle. */
const EXTERNAL = ['pino-pretty', 'mathjs', 'prom-client', 'cap', 'yaml'];

const ownUrl = {
  name: 'module-own-url',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (!args.path.startsWith(src)) return undefined;
      let text = await readFile(args.path, 'utf8');
      if (text.includes('import.meta.url')) {
        const distPath = `./${relative(src, args.path).replace(/\.ts$/, '.js')}`;
        text = text.replaceAll('import.meta.url', `new URL(${JSON.stringify(distPath)}, import.meta.url).href`);
      }
      return { contents: text, loader: 'ts' };
    });
  },
};

// The pieces of an earlier build (their names carry content hashes).
for (const f of await readdir(dist)) if (CHUNK_NAME.test(f)) await rm(`${dist}${f}`);

await esbuild.build({
  entryPoints: { cli: `${src}cli.ts` },
  outdir: dist,
  bundle: true,
  splitting: true,
  chunkNames: 'cli.[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  external: EXTERNAL,
  // Bundled CommonJS packages (commander, pino) call require() for Node's own modules.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module';\nconst require = __bundleRequire(import.meta.url);" },
  plugins: [ownUrl],
  logLevel: 'warning',
});
