// Bundles the compiled CLI (dist/main.js and everything it imports) into one CommonJS
// file, dist/berth-bundle.cjs, and writes the `berth` binary, dist/berth.cjs: a small
// loader that compiles the bundle with V8's code cache (dist/berth-bundle.cjs.cache).
// One file instead of some 360 modules, CommonJS instead of the ES module loader, and
// no recompilation on every run: start-up drops from about 0.5 s to about 0.13 s.
//
// tsyringe and reflect-metadata stay outside so that plugins share the one DI registry
// with the CLI; os-lock and @berth/btrfs-ioctl are native addons.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const bundle = `${dist}berth-bundle.cjs`;
const binary = `${dist}berth.cjs`;

await build({
  entryPoints: [`${dist}main.js`],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['os-lock', '@berth/btrfs-ioctl', 'tsyringe', 'reflect-metadata'],
  // The CLI reads its version from ../package.json relative to its own file.
  define: { 'import.meta.url': 'berthBundleUrl' },
  banner: { js: "const berthBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  legalComments: 'none',
  logLevel: 'warning',
});

// Code compiled through node:vm cannot call import(): every dynamic import must have
// been bundled (esbuild turns those into lazy initialisers) except the one that
// imports plugins, which the loader below replaces.
const dynamicImports = (await readFile(bundle, 'utf8')).match(/\bimport\([^)]*\)/g) ?? [];
const unexpected = dynamicImports.filter((call) => call !== 'import(specifier)');
if (unexpected.length > 0 || dynamicImports.length !== 1) {
  throw new Error(`berth-bundle.cjs: dynamic imports left that node:vm cannot run: ${dynamicImports.join(', ')}`);
}

// The loader. A script compiled through node:vm cannot use import(), so plugins are
// imported by this file's own import() (from the same directory as the bundle). The
// cache is written when missing or rejected (a different Node.js), after the command
// ran so that it holds the functions the command compiled; a read-only install just
// runs without it.
await writeFile(
  binary,
  `#!/usr/bin/env node
'use strict';
// berth: runs berth-bundle.cjs, compiled with the V8 code cache beside it (see scripts/bundle.mjs).
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { Script } = require('node:vm');
const { createRequire, wrap } = require('node:module');

// A clone batch keeps copyConcurrency (16) snapshot ioctls and their file operations on
// libuv's thread pool at once; its default of 4 threads would queue them. libuv reads
// this when the pool first starts, which is after this line.
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '16';
const bundle = join(__dirname, 'berth-bundle.cjs');
const cacheFile = bundle + '.cache';
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {}
const script = new Script(wrap(readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
if (cachedData === undefined || script.cachedDataRejected) {
  process.once('exit', () => {
    const temporary = cacheFile + '.' + process.pid;
    try {
      writeFileSync(temporary, script.createCachedData(), { mode: 0o644 });
      renameSync(temporary, cacheFile);
    } catch {}
  });
}
const loaded = { exports: {} };
script.runInThisContext().call(loaded.exports, loaded.exports, createRequire(bundle), loaded, bundle, __dirname);
loaded.exports.main((specifier) => import(specifier));
`,
);
await chmod(binary, 0o755);
// The cache, made by one run; and no stale ESM bundle from older builds.
await rm(`${bundle}.cache`, { force: true });
await rm(`${dist}berth.mjs`, { force: true });
execFileSync(process.execPath, [binary, '--help'], { stdio: 'ignore' });
