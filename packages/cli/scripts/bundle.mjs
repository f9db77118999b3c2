// Bundles the compiled CLI (dist/main.js and everything it imports) into one CommonJS
// file, dist/berth-bundle.cjs, and writes the `berth` binary, dist/berth.cjs: a small
// loader that compiles the bundle with V8's code cache (dist/berth-bundle.cjs.cache).
// One file instead of some 360 modules, CommonJS instead of the ES module loader, and
// no recompilation on every run: start-up drops from about 0.5 s to about 0.13 s.
//
// @berth/fcntl-lock and @berth/btrfs-ioctl are native addons, loaded from node_modules. tsyringe
// is bundled too; plugins share it through Node's module cache (see the loader).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const bundle = `${dist}berth-bundle.cjs`;
const binary = `${dist}berth.cjs`;

// Builtins that cost milliseconds to load and that most runs never call: commander
// requires child_process (and with it net and the streams) for executable subcommands
// berth has none of; node:crypto (and its streams) serves random MAC addresses and a
// few names; node:net checks addresses. Each gets a stand-in that loads the real module
// on first use.
const LAZY_BUILTINS = [
  { module: 'child_process', importer: /[\\/]commander[\\/]/ },
  { module: 'crypto', importer: /./ },
  // node:net (with the streams, ~4 ms) serves @berth/core's address checks (isIPv4/isIPv6).
  { module: 'net', importer: /./ },
];
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(build) {
    for (const { module, importer } of LAZY_BUILTINS) {
      build.onResolve({ filter: new RegExp(`^(node:)?${module}$`) }, (args) =>
        // (The stand-in's own require of the builtin is the real one.)
        args.namespace !== 'berth-lazy' && importer.test(args.importer) ? { path: module, namespace: 'berth-lazy' } : undefined,
      );
    }
    // One getter per export (the list is this Node's), so that esbuild's interop helpers,
    // which copy an ES import's properties, keep them lazy.
    build.onLoad({ filter: /.*/, namespace: 'berth-lazy' }, async (args) => ({
      contents: [
        `let real;`,
        `const load = () => (real ??= require('node:${args.path}'));`,
        ...Object.keys(await import(`node:${args.path}`))
          .filter((key) => key !== 'default')
          .map((key) => `Object.defineProperty(exports, ${JSON.stringify(key)}, { enumerable: true, get: () => load()[${JSON.stringify(key)}] });`),
      ].join('\n'),
      loader: 'js',
    }));
  },
};

await build({
  entryPoints: [`${dist}main.js`],
  plugins: [lazyBuiltins],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['@berth/fcntl-lock', '@berth/btrfs-ioctl'],
  // The CLI reads its version from ../package.json relative to its own file.
  define: { 'import.meta.url': 'berthBundleUrl' },
  banner: { js: "const berthBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  legalComments: 'none',
  // Less to read and to parse at every start-up (about 4 ms here). Names are kept, so
  // stack traces still name functions; for line numbers run tsc's output, dist/bin.js.
  minifyWhitespace: true,
  minifySyntax: true,
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
  `#!/bin/sh
':' //; unset BERTH_NODE_EXTRA_CA_CERTS; [ -z "\${NODE_EXTRA_CA_CERTS+set}" ] || { BERTH_NODE_EXTRA_CA_CERTS=\$NODE_EXTRA_CA_CERTS; export BERTH_NODE_EXTRA_CA_CERTS; unset NODE_EXTRA_CA_CERTS; }; exec node "\$0" "\$@"
'use strict';
// berth: runs berth-bundle.cjs, compiled with the V8 code cache beside it (see scripts/bundle.mjs).
//
// The two lines above are both sh and JavaScript. Run as a program, sh execs node on this
// file without NODE_EXTRA_CA_CERTS: Node 20 parses every certificate in that file at
// start-up (some 50 ms for the system's CA list) though berth makes no TLS connection. Node reads the variable
// only at start-up, so it is put back here for the commands berth runs. To JavaScript the
// second line is a string and a comment; \`node berth.cjs\` skips the launcher.
if (process.env.BERTH_NODE_EXTRA_CA_CERTS !== undefined) {
  process.env.NODE_EXTRA_CA_CERTS = process.env.BERTH_NODE_EXTRA_CA_CERTS;
  delete process.env.BERTH_NODE_EXTRA_CA_CERTS;
}
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');
const Module = require('node:module');
const { createRequire, wrap } = Module;

// A clone batch keeps copyConcurrency (32) snapshot ioctls and their file operations on
// libuv's thread pool at once; its default of 4 threads would queue them. libuv reads
// this when the pool first starts, which is after this line.
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '32';
const bundle = join(__dirname, 'berth-bundle.cjs');
const cacheFile = bundle + '.cache';
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {}
const script = new Script(wrap(readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
// The build's cache comes from a run of --help: it lacks the functions a command
// compiles. The first run of a real command (not --help, --version) replaces it once
// with its own, marked by a stamp file, so that later runs find those compiled too.
const stampFile = cacheFile + '.from';
const helpOnly = process.argv.length <= 2 || process.argv.some((arg) => /^(-h|--help|-V|--version|help)$/.test(arg));
let stale = cachedData === undefined || script.cachedDataRejected;
if (!stale && !helpOnly) {
  try {
    stale = readFileSync(stampFile, 'utf8') === 'build';
  } catch {}
}
if (stale) {
  process.once('exit', () => {
    const temporary = cacheFile + '.' + process.pid;
    try {
      writeFileSync(temporary, script.createCachedData(), { mode: 0o644 });
      renameSync(temporary, cacheFile);
      writeFileSync(stampFile, helpOnly ? 'build' : 'command', { mode: 0o644 });
    } catch {}
  });
}
const requireFromBundle = createRequire(bundle);
const loaded = { exports: {} };
script.runInThisContext().call(loaded.exports, loaded.exports, requireFromBundle, loaded, bundle, __dirname);

// Before the first plugin loads: the bundle's own tsyringe (and reflect-metadata) go
// into Node's module cache where a plugin resolving them beside berth would find the
// packages, so that its decorators and berth's container share one registry. ES module
// plugins importing a CommonJS package read it from the same cache.
let shared = false;
function shareWithPlugins() {
  shared = true;
  for (const [name, exports] of Object.entries(loaded.exports.pluginSharedModules)) {
    let file;
    try {
      file = requireFromBundle.resolve(name);
    } catch {
      continue;
    }
    if (require.cache[file]) continue;
    const entry = new Module(file);
    entry.filename = file;
    entry.paths = Module._nodeModulePaths(dirname(file));
    entry.exports = exports;
    entry.loaded = true;
    require.cache[file] = entry;
  }
}
loaded.exports.main((specifier) => {
  if (!shared) shareWithPlugins();
  return import(specifier);
});
`,
);
await chmod(binary, 0o755);
// The cache, made by one run; and no stale ESM bundle from older builds.
await rm(`${bundle}.cache`, { force: true });
await rm(`${bundle}.cache.from`, { force: true });
await rm(`${dist}berth.mjs`, { force: true });
execFileSync(process.execPath, [binary, '--help'], { stdio: 'ignore' });
