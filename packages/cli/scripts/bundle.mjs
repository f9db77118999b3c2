// Bundles the compiled CLI (dist/bin.js and everything it imports) into dist/berth.mjs:
// one file to parse instead of some 360 modules, which halves `berth`'s start-up.
// tsyringe and reflect-metadata stay outside so that plugins share the one DI registry
// with the CLI; os-lock is a native addon.
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const outfile = `${dist}berth.mjs`;

await build({
  entryPoints: [`${dist}bin.js`],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['os-lock', 'tsyringe', 'reflect-metadata'],
  // Bundled CommonJS dependencies call require(); give them one.
  banner: { js: "import { createRequire as berthCreateRequire } from 'node:module'; const require = berthCreateRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});
await chmod(outfile, 0o755);
