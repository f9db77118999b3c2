import { chmodSync, closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, basename, join, resolve, sep } from 'node:path';
import { inject, injectable } from 'tsyringe';
import { BerthError, errnoCode } from '../errors.js';
import { COMMAND_RUNNER, DryRunRunner, type CommandRunner } from './runner.js';
import { mountsUnder } from './mounts.js';
import { uniqueSuffix } from './unique.js';

/**
 * The host filesystem changes berth makes itself (not through a command). Each one is
 * recorded instead of done in dry-run mode, so a dry run changes nothing.
 *
 * Changes to single small files and directories (a config, a marker, one mkdir) are
 * made with synchronous calls: each is a syscall or two on metadata, far cheaper than
 * the round trips of the asynchronous API through libuv's thread pool, where a batch of
 * clones would queue them behind its snapshots. Trees and bulk data stay asynchronous.
 */
@injectable()
export class HostFs {
  constructor(@inject(COMMAND_RUNNER) private readonly runner: CommandRunner) {}

  get dryRun(): boolean {
    return this.runner.dryRun;
  }

  private planned(step: string): boolean {
    if (!this.runner.dryRun) return false;
    if (this.runner instanceof DryRunRunner) this.runner.note(step);
    return true;
  }

  async mkdir(path: string, mode = 0o755): Promise<void> {
    if (this.planned(`mkdir -m ${mode.toString(8)} ${path}`)) return;
    mkdirSync(path, { mode });
    if ((lstatSync(path).mode & 0o7777) !== mode) chmodSync(path, mode); // umask must not narrow what LXC expects
  }

  async mkdirp(path: string, mode = 0o755): Promise<void> {
    if (this.planned(`mkdir -p ${path}`)) return;
    await mkdir(path, { recursive: true, mode });
  }

  /**
   * Writes through a temporary file and a rename, so readers (and a crash) never see
   * half a file. Not fsynced, as LXC does not: an fsync per config costs tens of ms on
   * btrfs, and the rename-over pattern is ordered by ext4, xfs and btrfs.
   */
  async writeFileAtomic(path: string, data: string, mode = 0o640): Promise<void> {
    if (this.planned(`write ${path}`)) return;
    const temporary = join(dirname(path), `.${basename(path)}.${uniqueSuffix()}.tmp`);
    try {
      writeExclusive(temporary, data, mode);
      renameSync(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  /**
   * Writes a file that must not exist yet, in a directory nobody else uses until the
   * operation ends (a new container's config: its `partial` marker is held, and a
   * crash removes the whole directory). No temporary file and rename: on btrfs, each
   * is a metadata change that waits behind a batch's snapshot commits.
   */
  async writeNewFile(path: string, data: string, mode = 0o640): Promise<void> {
    if (this.planned(`write ${path}`)) return;
    try {
      writeExclusive(path, data, mode);
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') await rm(path, { force: true });
      throw error;
    }
  }

  async rename(from: string, to: string): Promise<void> {
    if (this.planned(`mv ${from} ${to}`)) return;
    await rename(from, to);
  }

  async removeFile(path: string): Promise<void> {
    if (this.planned(`rm -f ${path}`)) return;
    try {
      unlinkSync(path);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
    }
  }

  async removeEmptyDir(path: string): Promise<void> {
    if (this.planned(`rmdir ${path}`)) return;
    try {
      await rmdir(path);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
    }
  }

  /**
   * `rm -rf`, refusing when anything is mounted below the tree: removing through a
   * mount would delete what another filesystem holds. Symlinks are removed, never
   * followed (Node's rm does not follow them).
   */
  async removeTree(path: string): Promise<void> {
    const mounted = await mountsUnder(resolve(path));
    if (mounted.length > 0) {
      throw new BerthError('InUse', `refusing to remove ${path}: ${mounted[0]!.mountpoint} is mounted`);
    }
    if (this.planned(`rm -rf ${path}`)) return;
    await rm(path, { recursive: true, force: true });
  }
}

export const HOST_FS = Symbol.for('berth.HostFs');

export async function pathExists(path: string): Promise<boolean> {
  try {
    lstatSync(path);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return false;
    throw error;
  }
}

export async function isDirectory(path: string): Promise<boolean> {
  // A stat is a read of one inode: on the main thread it costs less than the thread-pool
  // round trip an async one takes (a clone batch asks this once per clone).
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A small text file (a config, a record), or undefined when there is none. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** True when `child` is `parent` or lies below it (lexically, after resolving `..`). */
export function isInside(parent: string, child: string): boolean {
  const p = resolve(parent);
  const c = resolve(child);
  return c === p || c.startsWith(p.endsWith(sep) ? p : p + sep);
}

/** Creates `path` (which must not exist, and is not followed if a symlink) holding `data`, with exactly `mode`. */
function writeExclusive(path: string, data: string, mode: number): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    writeAll(fd, data);
    // The umask must not narrow the mode asked for. Looking first is a read, where a
    // chmod is a metadata change (on btrfs, one that waits behind snapshot commits).
    if ((fstatSync(fd).mode & 0o7777) !== mode) fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

/** Writes all of `data` at `fd`'s current offset (a write may take less than it is given). */
export function writeAll(fd: number, data: string | Buffer): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
}
