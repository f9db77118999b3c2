import { lstat, opendir, readdir, readFile, realpath, statfs } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { inject, injectable } from 'tsyringe';
import * as z from 'zod';
import {
  BerthError,
  COMMAND_RUNNER,
  HOST_FS,
  errnoCode,
  hostCli,
  sizeOption,
  parseSize,
  paths,
  readMounts,
  type Availability,
  type CommandRunner,
  type ContainerRef,
  type DirectAccessCapable,
  type HostFs,
  type NativeCopyCapable,
  type OperationContext,
  type QuotaCapable,
  type RootfsSpec,
  type SnapshotCapable,
  type SnapshotResult,
  type StorageCapabilities,
  type StorageDriver,
  type StorageOptions,
  type Usage,
  type UsageCapable,
  type Volume,
  type MountEntry,
} from '@berth/core';
import * as btrfs from './btrfs-cli.js';
import { subvolumeOps, type SnapshotFacts, type SubvolumeMeans, type SubvolumeOps } from './subvolumes.js';

/** DI token: how the driver makes and deletes subvolumes ({@link SubvolumeMeans}). */
export const BTRFS_SUBVOLUME_MEANS = Symbol.for('berth.btrfs.SubvolumeMeans');

const BTRFS_SUPER_MAGIC = 0x9123683e;
/** Every subvolume's root directory has this inode number. */
const SUBVOLUME_ROOT_INODE = 256n;

export const btrfsOptionsSchema = z.strictObject({
  size: sizeOption()
    .optional()
    .describe('Quota on the rootfs subvolume (a qgroup limit on referenced bytes), e.g. 10G; quotas are enabled on the filesystem on first use'),
});

/**
 * btrfs subvolumes: the rootfs is a subvolume at `<lxcpath>/<name>/rootfs`
 * (`btrfs:` in the config). Clones and container snapshots are writable subvolume
 * snapshots (instant, copy-on-write, independent of their source once made); a copy
 * within the filesystem is a snapshot too, as in LXC. Quotas are qgroup limits.
 */
@injectable()
export class BtrfsDriver implements StorageDriver, SnapshotCapable, NativeCopyCapable, DirectAccessCapable, UsageCapable, QuotaCapable {
  readonly type = 'btrfs';
  readonly aliases: readonly string[] = [];
  get description(): string {
    const how = this.subvolumes.via === 'ioctl' ? 'by ioctl, in process' : 'by btrfs-progs';
    return `btrfs subvolumes (made ${how}); snapshot clones and container snapshots are CoW subvolume snapshots; qgroup quotas`;
  }
  readonly capabilities: StorageCapabilities = {
    snapshot: true,
    snapshotSources: ['btrfs'],
    nativeCopy: true,
    directAccess: true,
    sized: false,
    quota: true,
    usage: true,
    rename: false,
  };
  readonly optionsSchema = btrfsOptionsSchema;
  /** Subvolume snapshot, create and delete: in-process ioctls, or btrfs-progs on dry runs and without the addon. */
  readonly subvolumes: SubvolumeOps;

  constructor(
    @inject(COMMAND_RUNNER) private readonly runner: CommandRunner,
    @inject(HOST_FS) private readonly fs: HostFs,
    @inject(BTRFS_SUBVOLUME_MEANS) means: SubvolumeMeans | SubvolumeOps,
  ) {
    this.subvolumes = subvolumeOps(runner, means);
  }

  async probe(): Promise<Availability> {
    if (!(await this.runner.which('btrfs'))) return { available: false, reason: 'btrfs-progs is not installed (no btrfs command)' };
    try {
      const filesystems = await readFile('/proc/filesystems', 'utf8');
      if (!/\tbtrfs$/m.test(filesystems)) return { available: false, reason: 'the kernel has no btrfs filesystem' };
    } catch {
      return { available: false, reason: 'cannot read /proc/filesystems' };
    }
    return { available: true };
  }

  async detect(path: string): Promise<boolean> {
    return isSubvolume(path);
  }

  async create(target: ContainerRef, options: StorageOptions, ctx: OperationContext): Promise<RootfsSpec> {
    const { size } = btrfsOptionsSchema.parse(options);
    await this.requireBtrfs(target.dir, target.lxcpath);
    const rootfs = paths.rootfs(target);
    await ctx.onUndo({ do: 'driver', driver: this.type, action: 'deleteSubvolumes', args: { path: rootfs } });
    await this.subvolumes.create(rootfs);
    if (size !== undefined) await this.limit(rootfs, parseSize(size, 'size'));
    return { type: this.type, source: rootfs };
  }

  async snapshot(source: Volume, target: ContainerRef, options: StorageOptions, ctx: OperationContext): Promise<SnapshotResult> {
    const { size } = btrfsOptionsSchema.parse(options);
    const crossing = () =>
      `cannot snapshot ${source.name} into ${target.dir}: not on the same btrfs filesystem (copy without --snapshot instead)`;
    // The ioctl itself refuses another filesystem (EXDEV) or a target that is not btrfs
    // (ENOTTY) before it makes anything, and reports whether quotas are on: no look at
    // the mount table per clone. btrfs-progs gets the same answers from the mount table.
    let sourceMount: MountEntry | undefined;
    if (this.subvolumes.via !== 'ioctl') {
      const mounts = await readMounts();
      sourceMount = await mountOf(source.rootfs.source, mounts);
      if (!sameBtrfs(sourceMount, await mountOf(target.dir, mounts))) throw new BerthError('NotSupported', crossing());
    }
    const rootfs = paths.rootfs(target);
    await ctx.onUndo({ do: 'driver', driver: this.type, action: 'deleteSubvolumes', args: { path: rootfs } });
    let facts: SnapshotFacts | void;
    try {
      facts = await this.subvolumes.snapshot(source.rootfs.source, rootfs);
    } catch (error) {
      const code = errnoCode((error as Error).cause);
      if (code === 'EXDEV' || code === 'ENOTTY') throw new BerthError('NotSupported', `${crossing()} (${code})`, { cause: error });
      throw error;
    }
    await this.inheritLimit(source.rootfs.source, rootfs, size, facts?.quotas, sourceMount);
    return { rootfs: { type: this.type, source: rootfs }, dependency: 'none' };
  }

  /**
   * A full copy: on the same filesystem a subvolume snapshot (as LXC does; the data is
   * shared until written), else a new subvolume filled by a metadata-preserving copy.
   */
  async copy(source: Volume, target: ContainerRef, options: StorageOptions, ctx: OperationContext): Promise<RootfsSpec> {
    const mounts = await readMounts();
    if (sameBtrfs(await mountOf(source.rootfs.source, mounts), await mountOf(target.dir, mounts))) {
      return (await this.snapshot(source, target, options, ctx)).rootfs;
    }
    const spec = await this.create(target, options, ctx);
    await hostCli.copyTreeCp(this.runner, source.rootfs.source, spec.source);
    return spec;
  }

  hostPath(volume: Volume): string {
    return volume.rootfs.source;
  }

  async mount(volume: Volume, mountpoint: string): Promise<void> {
    await hostCli.bindMount(this.runner, volume.rootfs.source, mountpoint);
  }

  async unmount(_volume: Volume, mountpoint: string): Promise<void> {
    await hostCli.umount(this.runner, mountpoint);
  }

  /**
   * Deletes the rootfs subvolume and every subvolume the container made inside it,
   * deepest first. Nothing outside the rootfs is touched. A rootfs that is a plain
   * directory (a half-made or LXC-misconverted one) is removed as a directory.
   */
  async destroy(volume: Volume, ctx: OperationContext): Promise<void> {
    await this.deleteSubvolumes(volume.rootfs.source, ctx);
  }

  async revert(action: string, args: Readonly<Record<string, unknown>>, ctx: OperationContext): Promise<void> {
    if (action === 'deleteSubvolumes' && typeof args.path === 'string') return this.deleteSubvolumes(args.path, ctx);
    throw new BerthError('Internal', `btrfs driver cannot revert ${action}`);
  }

  async usage(volume: Volume): Promise<Usage> {
    const path = volume.rootfs.source;
    let qgroup: btrfs.QgroupFigures | undefined;
    try {
      qgroup = btrfs.parseQgroupShow((await btrfs.qgroupShow(this.runner, path)).stdout);
    } catch (error) {
      if (!/quotas not enabled|not enabled/i.test(String((error as Error).message) + String((error as BerthError).command?.stderr ?? ''))) throw error;
    }
    if (qgroup) {
      return {
        usedBytes: qgroup.referenced,
        ...(qgroup.maxReferenced !== undefined ? { limitBytes: qgroup.maxReferenced } : {}),
        details: { referenced: qgroup.referenced, exclusive: qgroup.exclusive, source: 'qgroups' },
      };
    }
    const du = btrfs.parseFilesystemDu((await btrfs.filesystemDu(this.runner, path)).stdout);
    if (!du) throw new BerthError('CommandFailed', `cannot read btrfs filesystem du of ${path}`);
    return { usedBytes: du.total, details: { total: du.total, exclusive: du.exclusive, shared: du.shared, source: 'filesystem du (quotas are off)' } };
  }

  async setQuota(volume: Volume, bytes: number | null): Promise<void> {
    if (bytes === null) {
      if (!(await this.quotasEnabled(volume.rootfs.source))) return;
      await btrfs.qgroupLimit(this.runner, volume.rootfs.source, null);
      return;
    }
    await this.limit(volume.rootfs.source, bytes);
  }

  // ---------------------------------------------------------------- helpers

  private async requireBtrfs(dir: string, lxcpath: string): Promise<void> {
    let type: number;
    try {
      type = (await statfs(dir)).type;
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' && this.runner.dryRun) type = (await statfs(dirname(dir))).type;
      else throw error;
    }
    if (type !== BTRFS_SUPER_MAGIC) {
      throw new BerthError('FailedPrecondition', `${lxcpath} is not on a btrfs filesystem: the btrfs backend needs the lxcpath on btrfs`);
    }
  }

  /** Quotas are enabled on the filesystem only when a limit is first asked for: qgroups slow snapshots. */
  private async limit(path: string, bytes: number): Promise<void> {
    if (!(await this.quotasEnabled(path))) await btrfs.quotaEnable(this.runner, path);
    await btrfs.qgroupLimit(this.runner, path, bytes);
  }

  private async quotasEnabled(path: string, mount?: MountEntry): Promise<boolean> {
    // The kernel shows /sys/fs/btrfs/<fsid>/qgroups exactly while quotas are enabled:
    // asking it costs no process, which a clone would otherwise spend on this alone.
    const fromSysfs = await quotasEnabledInSysfs(mount ?? (await mountOf(path, await readMounts())));
    if (fromSysfs !== undefined) return fromSysfs;
    try {
      await btrfs.qgroupShow(this.runner, path);
      return true;
    } catch (error) {
      const text = `${(error as Error).message} ${(error as BerthError).command?.stderr ?? ''}`;
      if (/not enabled/i.test(text)) return false;
      throw error;
    }
  }

  /**
   * A clone keeps its source's limit (or gets the one asked for). `quotasOn`: what the
   * snapshot learnt, if anything; else the filesystem is asked, and only when it matters.
   */
  private async inheritLimit(source: string, clone: string, size: string | undefined, quotasOn: boolean | undefined, sourceMount: MountEntry | undefined): Promise<void> {
    if (size !== undefined) return this.limit(clone, parseSize(size, 'size'));
    if (this.runner.dryRun || !(quotasOn ?? (await this.quotasEnabled(source, sourceMount)))) return;
    const figures = btrfs.parseQgroupShow((await btrfs.qgroupShow(this.runner, source)).stdout);
    if (figures?.maxReferenced !== undefined) await btrfs.qgroupLimit(this.runner, clone, figures.maxReferenced);
  }

  private async deleteSubvolumes(path: string, ctx: OperationContext): Promise<void> {
    void ctx;
    if (!(await exists(path))) return;
    if (!(await isSubvolume(path))) {
      await this.fs.removeTree(path);
      return;
    }
    const nested = await nestedSubvolumes(path);
    for (const subvolume of [...nested, path]) await this.subvolumes.delete(subvolume);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}

async function isSubvolume(path: string): Promise<boolean> {
  try {
    const [info, fs] = await Promise.all([lstat(path, { bigint: true }), statfs(path)]);
    return info.isDirectory() && info.ino === SUBVOLUME_ROOT_INODE && fs.type === BTRFS_SUPER_MAGIC;
  } catch {
    return false;
  }
}

/** Subvolumes below `root` (not `root` itself), deepest first; never crosses into other mounts. */
async function nestedSubvolumes(root: string): Promise<string[]> {
  const found: string[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    const handle = await opendir(dir);
    for await (const entry of handle) {
      if (!entry.isDirectory()) continue;
      const child = join(dir, entry.name);
      if (await isSubvolume(child)) found.push(child);
      stack.push(child);
    }
  }
  return found.sort((a, b) => b.split('/').length - a.split('/').length);
}

function sameBtrfs(a: MountEntry | undefined, b: MountEntry | undefined): boolean {
  return a !== undefined && b !== undefined && a.fstype === 'btrfs' && b.fstype === 'btrfs' && a.source === b.source;
}

/** The mount holding `path` (after symlinks), from a mount table read by the caller. */
async function mountOf(path: string, mounts: readonly MountEntry[]): Promise<MountEntry | undefined> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    return undefined;
  }
  let best: MountEntry | undefined;
  for (const mount of mounts) {
    const prefix = mount.mountpoint === '/' ? '/' : `${mount.mountpoint}/`;
    if ((real === mount.mountpoint || real.startsWith(prefix)) && (!best || mount.mountpoint.length >= best.mountpoint.length)) best = mount;
  }
  return best;
}

/** Which /sys/fs/btrfs/<fsid> a device belongs to; checked on every use, refound when stale. */
const sysfsDirOfDevice = new Map<string, string>();

/** Quotas on the filesystem mounted as `mount`, from sysfs; undefined when sysfs cannot say. */
async function quotasEnabledInSysfs(mount: MountEntry | undefined): Promise<boolean | undefined> {
  if (!mount || mount.fstype !== 'btrfs' || !mount.source.startsWith('/dev/')) return undefined;
  let device: string;
  try {
    device = basename(await realpath(mount.source));
  } catch {
    return undefined;
  }
  const known = sysfsDirOfDevice.get(device);
  if (known !== undefined && (await exists(join(known, 'devices', device)))) return exists(join(known, 'qgroups'));
  let filesystems: string[];
  try {
    filesystems = await readdir('/sys/fs/btrfs');
  } catch {
    return undefined;
  }
  for (const fsid of filesystems) {
    const dir = join('/sys/fs/btrfs', fsid);
    if (!(await exists(join(dir, 'devices', device)))) continue;
    sysfsDirOfDevice.set(device, dir);
    return exists(join(dir, 'qgroups'));
  }
  return undefined;
}
