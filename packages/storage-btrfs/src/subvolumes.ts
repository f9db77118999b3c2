import { basename, dirname } from 'node:path';
import btrfsIoctl from '@berth/btrfs-ioctl';
import { BerthError, errnoCode, type BerthErrorCode, type CommandRunner } from '@berth/core';
import * as btrfs from './btrfs-cli.js';

/**
 * The three subvolume operations the driver's hot paths need, by one of two means:
 * the kernel's ioctls in process (`@berth/btrfs-ioctl`, on libuv's thread pool: no
 * process per clone, and concurrent snapshots share transaction commits) or
 * btrfs-progs through the command runner (dry runs, fault injection, and hosts where
 * the addon could not be built). Both fail with the same BerthError codes.
 */
export interface SubvolumeOps {
  /** `ioctl` or `btrfs-progs`: what `berth drivers` reports. */
  readonly via: 'ioctl' | 'btrfs-progs';
  /**
   * A writable snapshot of the subvolume `source` made at `target` (which must not exist).
   * It may resolve with what it learnt of the filesystem on the way (the ioctls do).
   */
  snapshot(source: string, target: string): Promise<SnapshotFacts | void>;
  /** A new empty subvolume at `path`. */
  create(path: string): Promise<void>;
  /** Deletes the subvolume `path` (which must hold no other subvolume). */
  delete(path: string): Promise<void>;
}

/** Learnt while making a snapshot; what is absent, the driver finds out itself. */
export interface SnapshotFacts {
  /** Whether qgroups are enabled on the filesystem. */
  readonly quotas?: boolean;
}

/** How the driver picks: `auto` uses the ioctls when the addon loaded and this is no dry run. */
export type SubvolumeMeans = 'auto' | 'ioctl' | 'btrfs-progs';

export function ioctlAvailability(): { available: boolean; reason?: string } {
  return btrfsIoctl.available ? { available: true } : { available: false, reason: btrfsIoctl.unavailableReason ?? 'not built' };
}

/** The operations for `means`; an object passed as means is used as it is (tests, integrators). */
export function subvolumeOps(runner: CommandRunner, means: SubvolumeMeans | SubvolumeOps): SubvolumeOps {
  if (typeof means === 'object') return means;
  const ioctl = means === 'ioctl' || (means === 'auto' && !runner.dryRun && btrfsIoctl.available);
  if (ioctl && runner.dryRun) throw new BerthError('InvalidArgument', 'btrfs ioctls cannot be dry-run: use btrfs-progs');
  if (ioctl && !btrfsIoctl.available) throw new BerthError('Unavailable', `btrfs ioctls: ${btrfsIoctl.unavailableReason}`);
  return ioctl ? ioctlOps : cliOps(runner);
}

const ioctlOps: SubvolumeOps = {
  via: 'ioctl',
  snapshot: (source, target) =>
    explained(btrfsIoctl.snapshot(source, dirname(target), basename(target)), `cannot snapshot ${source} to ${target}`),
  create: (path) => explained(btrfsIoctl.create(dirname(path), basename(path)), `cannot create subvolume ${path}`),
  delete: (path) => explained(btrfsIoctl.destroy(dirname(path), basename(path)), `cannot delete subvolume ${path}`),
};

function cliOps(runner: CommandRunner): SubvolumeOps {
  return {
    via: 'btrfs-progs',
    snapshot: async (source, target) => void (await btrfs.subvolumeSnapshot(runner, source, target)),
    create: async (path) => void (await btrfs.subvolumeCreate(runner, path)),
    delete: async (path) => {
      try {
        await btrfs.subvolumeDelete(runner, path);
      } catch (error) {
        if (/busy/i.test((error as BerthError).command?.stderr ?? '')) {
          throw new BerthError('InUse', `subvolume ${path} is busy (mounted or in use)`, { cause: error });
        }
        throw error;
      }
    },
  };
}

/** The errno of a failed ioctl as a one-line BerthError with a code callers can act on. */
const CODES: Readonly<Record<string, BerthErrorCode>> = {
  EEXIST: 'AlreadyExists',
  ENOENT: 'NotFound',
  EBUSY: 'InUse',
  EXDEV: 'NotSupported',
  EINVAL: 'FailedPrecondition',
  ENOTTY: 'FailedPrecondition',
  EPERM: 'FailedPrecondition',
  EACCES: 'FailedPrecondition',
  EROFS: 'FailedPrecondition',
  ENOSPC: 'FailedPrecondition',
  EDQUOT: 'FailedPrecondition',
  ENOTEMPTY: 'InUse',
};

const REASONS: Readonly<Record<string, string>> = {
  EBUSY: 'it is busy (mounted or in use)',
  EXDEV: 'not on the same btrfs filesystem',
  ENOTTY: 'not on a btrfs filesystem',
  EINVAL: 'not a btrfs subvolume',
  ENOSPC: 'no space left on the filesystem',
  EDQUOT: 'the quota is exceeded',
  ENOTEMPTY: 'it still holds subvolumes',
};

async function explained<T>(call: Promise<T>, what: string): Promise<T> {
  try {
    return await call;
  } catch (error) {
    const code = errnoCode(error);
    if (code === undefined) throw error;
    const path = (error as { path?: string }).path;
    const reason = REASONS[code] ?? `${code} on ${path}`;
    throw new BerthError(CODES[code] ?? 'FailedPrecondition', `${what}: ${reason} (${code})`, { cause: error });
  }
}
