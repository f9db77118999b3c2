import { mkdtemp, readdir, lstat, rm } from 'node:fs/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { BerthError, type BerthErrorCode } from '@berth/core';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const REPO_ROOT = resolve(FIXTURES, '../../../..');

/** Temporary directories made by a suite, removed by `cleanup()` in its after hook. */
export class TempDirs {
  private readonly made: string[] = [];

  async make(prefix = 'berth-core-test-'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.made.push(dir);
    return dir;
  }

  async cleanup(): Promise<void> {
    for (const dir of this.made.splice(0)) {
      await rm(dir, { recursive: true, force: true });
      // LXC-style lock files berth made for containers in this lxcpath.
      await rm(join('/run/lxc/lock', dir), { recursive: true, force: true });
    }
  }
}

/** Awaits a promise that must reject with a BerthError of `code`; returns the error. */
export async function expectBerthError(promise: Promise<unknown> | (() => unknown), code: BerthErrorCode): Promise<BerthError> {
  let error: unknown;
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (caught) {
    error = caught;
  }
  expect(error, `expected a BerthError ${code}`).to.be.instanceOf(BerthError);
  const berthError = error as BerthError;
  expect(berthError.code, berthError.message).to.equal(code);
  return berthError;
}

export function expectThrowsBerth(fn: () => unknown, code: BerthErrorCode): BerthError {
  let error: unknown;
  try {
    fn();
  } catch (caught) {
    error = caught;
  }
  expect(error, `expected a BerthError ${code}`).to.be.instanceOf(BerthError);
  expect((error as BerthError).code, (error as BerthError).message).to.equal(code);
  return error as BerthError;
}

/** Every path under `root` (relative), with its type, for before/after comparisons. */
export async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const info = await lstat(path);
      out.push(`${relative(root, path)}${info.isDirectory() ? '/' : info.isSymbolicLink() ? '@' : ''}`);
      if (info.isDirectory()) await walk(path);
    }
  };
  await walk(root);
  return out;
}

/** Starts `node --import tsx --conditions=berth-source <fixture> args…` in its own process group. */
export function spawnFixture(script: string, args: readonly string[], env: Record<string, string> = {}): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=berth-source', join(FIXTURES, script), ...args], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return Object.assign(child, { output: () => output });
}

/** Resolves once `check()` is true; fails after `timeoutMs` with `what`. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** SIGKILLs a fixture child's whole process group and waits for the child to be gone. */
export async function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
  await gone;
}
