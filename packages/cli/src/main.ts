import 'reflect-metadata';
import type { ModuleImporter } from '@berth/core';
import * as tsyringe from 'tsyringe';
import { runCli } from './cli.js';

/**
 * The modules a plugin must share with berth, by package name: tsyringe keeps the
 * constructor parameters its decorators record in a registry of its own, which the
 * container that builds a plugin's driver must see. The bundled binary, which carries
 * its own tsyringe, hands these to Node's module cache before it imports a plugin.
 */
export const pluginSharedModules: Readonly<Record<string, unknown>> = { tsyringe, 'reflect-metadata': {} };

/**
 * Runs `berth` on this process's arguments and streams and sets its exit code.
 * `importModule` is how plugins are imported (the bundled binary passes its own).
 */
export function main(importModule?: ModuleImporter): Promise<void> {
  // `berth ls | head`: a reader that goes away early is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
  const io = { stdout: process.stdout, stderr: process.stderr, env: process.env, ...(importModule ? { importModule } : {}) };
  return runCli(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}
