import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { ExecaRunner, LockManager, mountsUnder, readTextIfExists, hostCli, type CommandRunner } from '@berth/core';

const LISTED_CONTENT_LIMIT = 64 * 1024;

/**
 * A listing of everything under an lxcpath except berth's own `.berth/` (journal,
 * scratch mountpoints) and what overlayfs keeps in a workdir: one line per entry with its type, mode, owner and, for small
 * files (configs, dependency records), a digest of the content. Two listings are equal
 * when an operation left nothing behind.
 */
export async function listLxcpath(lxcpath: string): Promise<string[]> {
  const lines: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return;
      throw error;
    }
    for (const name of names) {
      const path = join(dir, name);
      const rel = relative(lxcpath, path);
      if (rel === '.berth') continue;
      const info = await lstat(path);
      const owner = `${(info.mode & 0o7777).toString(8)} ${info.uid}:${info.gid}`;
      if (info.isDirectory()) {
        lines.push(`${rel}/ ${owner}`);
        // An overlay workdir is the kernel's scratch space: mounting makes `work/work`.
        if (name === 'work' && dirname(path).endsWith('/overlay')) continue;
        await walk(path);
      } else if (info.isFile()) {
        const digest = info.size <= LISTED_CONTENT_LIMIT ? createHash('sha256').update(await readFile(path)).digest('hex').slice(0, 16) : '';
        lines.push(`${rel} ${owner} ${info.size} ${digest}`);
      } else {
        lines.push(`${rel} ${owner} ${info.isSymbolicLink() ? 'symlink' : 'special'}`);
      }
    }
  };
  await walk(resolve(lxcpath));
  return lines;
}

/** Mountpoints at or under `path`. */
export async function mountpointsUnder(path: string): Promise<string[]> {
  return (await mountsUnder(resolve(path))).map((m) => m.mountpoint);
}

/** Operations in `<lxcpath>/.berth/journal` nobody finished or undid. */
export async function journalEntries(lxcpath: string): Promise<string[]> {
  try {
    return (await readdir(join(lxcpath, '.berth', 'journal'))).filter((f) => f.endsWith('.log') || f.endsWith('.new'));
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return [];
    throw error;
  }
}

/** The `lxc_snapshots` of a container as text (`undefined`: no such file). */
export function dependentsFile(lxcpath: string, name: string): Promise<string | undefined> {
  return readTextIfExists(join(lxcpath, name, 'lxc_snapshots'));
}

/**
 * Unmounts everything under `path` (deepest first, lazily if busy) and removes it: the
 * cleanup of a test that may have failed half-way.
 */
export async function removeTreeAndMounts(path: string, runner: CommandRunner = new ExecaRunner()): Promise<void> {
  for (const mountpoint of await mountpointsUnder(path)) {
    try {
      await hostCli.umount(runner, mountpoint);
    } catch {
      await runner.run(['umount', '--lazy', mountpoint]);
    }
  }
  await rm(path, { recursive: true, force: true });
}

export interface TemporaryLxcpath {
  readonly lxcpath: string;
  /** Unmounts what is left under it, removes it, and LXC's lock files berth made for it. */
  teardown(): Promise<void>;
}

/**
 * A fresh lxcpath: `mkdtemp` under `parent` (default the system's temporary directory).
 * The container lock files berth takes for it (`/run/lxc/lock/<lxcpath>/`) go on teardown.
 */
export async function makeTemporaryLxcpath(parent = tmpdir(), prefix = 'berth-conformance-'): Promise<TemporaryLxcpath> {
  const lxcpath = await mkdtemp(join(parent, prefix));
  return {
    lxcpath,
    async teardown() {
      await removeTreeAndMounts(lxcpath);
      const locks = new LockManager();
      const lockDir = dirname(locks.containerLockPath(lxcpath, 'x'));
      await rm(lockDir, { recursive: true, force: true });
      // And the parents made for it (a testbed's mountpoint…), as far up as they are empty.
      for (let dir = dirname(lockDir); dir.startsWith(`${locks.lockRoot}/`); dir = dirname(dir)) {
        try {
          await rmdir(dir);
        } catch {
          break;
        }
      }
    },
  };
}
