import { constants } from 'node:fs';
import { chmod, chown, lstat, mkdir, open, readFile, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { inject, injectable } from 'tsyringe';
import * as z from 'zod';
import {
  BerthError,
  COMMAND_RUNNER,
  HOST_FS,
  errnoCode,
  hostCli,
  isDirectory,
  isInside,
  paths,
  splitOverlaySource,
  type Availability,
  type CommandRunner,
  type ContainerRef,
  type HostFs,
  type OfflineEditCapable,
  type OperationContext,
  type RootfsSpec,
  type SnapshotCapable,
  type SnapshotResult,
  type StorageCapabilities,
  type StorageDriver,
  type StorageOptions,
  type Volume,
} from '@berth/core';

export const overlayOptionsSchema = z.strictObject({});

/**
 * overlayfs snapshot clones in LXC's layout: `overlay:<lower>:<upper>` with the upper at
 * `<lxcpath>/<name>/overlay/delta` and the work directory beside it. A clone of a dir
 * (or btrfs) container uses the source's rootfs as its lower and needs it to live on,
 * which the core records in `lxc_rdepends`/`lxc_snapshots`; a clone of an overlay
 * container shares the same lower and gets a copy of the upper.
 */
@injectable()
export class OverlayDriver implements StorageDriver, SnapshotCapable, OfflineEditCapable {
  readonly type = 'overlay';
  readonly aliases: readonly string[] = ['overlayfs'];
  readonly description = 'overlayfs snapshot clones of dir containers (LXC layout: overlay/delta, overlay/work)';
  readonly capabilities: StorageCapabilities = {
    snapshot: true,
    snapshotSources: ['dir', 'overlay', 'btrfs'],
    nativeCopy: false,
    directAccess: false,
    sized: false,
    quota: false,
    usage: false,
    rename: false,
    offlineEdit: true,
  };
  readonly optionsSchema = overlayOptionsSchema;

  constructor(
    @inject(COMMAND_RUNNER) private readonly runner: CommandRunner,
    @inject(HOST_FS) private readonly fs: HostFs,
  ) {}

  async probe(): Promise<Availability> {
    let filesystems: string;
    try {
      filesystems = await readFile('/proc/filesystems', 'utf8');
    } catch {
      return { available: false, reason: 'cannot read /proc/filesystems' };
    }
    if (!/\toverlay$/m.test(filesystems)) {
      // The module may just not be loaded yet; modprobe is how LXC gets it too.
      try {
        await this.runner.run(['modprobe', 'overlay'], { readOnly: true });
      } catch {
        return { available: false, reason: 'the kernel has no overlay filesystem' };
      }
    }
    if (!(await this.runner.which('mount'))) return { available: false, reason: 'mount is not installed' };
    return { available: true };
  }

  /** An unprefixed `<lower>:<upper>` pair of existing directories. */
  async detect(path: string): Promise<boolean> {
    if (!path.includes(':')) return false;
    const { lower, upper } = splitOverlaySource(path);
    return (await isDirectory(lower)) && (await isDirectory(upper));
  }

  /** An empty overlay container: its own empty lower at `rootfs/`, and an upper. */
  async create(target: ContainerRef, options: StorageOptions, ctx: OperationContext): Promise<RootfsSpec> {
    overlayOptionsSchema.parse(options);
    const lower = paths.rootfs(target);
    await ctx.onUndo({ do: 'removeTree', path: lower });
    await this.fs.mkdir(lower, 0o755);
    const upper = await this.makeUpper(target, ctx);
    return this.spec(lower, upper);
  }

  async snapshot(source: Volume, target: ContainerRef, options: StorageOptions, ctx: OperationContext): Promise<SnapshotResult> {
    overlayOptionsSchema.parse(options);
    if (source.rootfs.type === 'overlay') {
      const { lower, upper: sourceUpper } = splitOverlaySource(source.rootfs.source);
      await this.makeMountpoint(target, ctx);
      const upper = paths.overlayDelta(target);
      await ctx.onUndo({ do: 'removeTree', path: dirname(upper) });
      await this.fs.mkdir(dirname(upper), 0o755);
      await hostCli.copyTreeCp(this.runner, sourceUpper, upper);
      await this.fs.mkdir(paths.overlayWork(target), 0o755);
      // The lower is the source's own when it made it empty (create), else shared.
      const ownLower = isInside(source.dir, lower);
      return { rootfs: this.spec(lower, upper), dependency: ownLower ? 'source' : 'inherited' };
    }
    if (source.rootfs.type !== 'dir' && source.rootfs.type !== 'btrfs') {
      throw new BerthError('NotSupported', `overlay cannot clone a ${source.rootfs.type} container`);
    }
    await this.makeMountpoint(target, ctx);
    const upper = await this.makeUpper(target, ctx);
    return { rootfs: this.spec(source.rootfs.source, upper), dependency: 'source' };
  }

  async mount(volume: Volume, mountpoint: string): Promise<void> {
    const { lower, upper } = splitOverlaySource(volume.rootfs.source);
    const work = join(dirname(upper), 'work');
    for (const path of [lower, upper, work]) {
      // overlayfs splits its options at "," and lowerdir at ":".
      if (/[,:\\]/.test(path)) throw new BerthError('NotSupported', `overlay cannot use ${path}: it contains ",", ":" or "\\"`);
    }
    await hostCli.mount(this.runner, 'overlay', 'overlay', mountpoint, [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`]);
  }

  async unmount(_volume: Volume, mountpoint: string): Promise<void> {
    await hostCli.umount(this.runner, mountpoint);
  }

  /** Removes the upper and work directories; a lower is removed only if it is the container's own. */
  async destroy(volume: Volume): Promise<void> {
    const { lower, upper } = splitOverlaySource(volume.rootfs.source);
    const overlayDir = dirname(upper);
    if (isInside(volume.dir, overlayDir) && overlayDir !== volume.dir) await this.fs.removeTree(overlayDir);
    else await this.fs.removeTree(upper);
    if (isInside(volume.dir, lower) && lower !== volume.dir) await this.fs.removeTree(lower);
  }

  /**
   * Edits a file of an unmounted overlay by doing what overlayfs's copy-up would: the
   * lower file is read, the new content written in the upper, under parent directories
   * made with the lower's modes, owners and times. Only while the upper holds nothing
   * on the file's path: then the lower alone decides what the file is, and no whiteout
   * or opaque directory (which would need xattrs read) can hide it. Otherwise false,
   * and the core mounts instead.
   */
  async editFileOffline(volume: Volume, relativePath: string, edit: (current: string | undefined) => string | undefined): Promise<boolean> {
    const { lower, upper } = splitOverlaySource(volume.rootfs.source);
    const parts = relativePath.split('/').filter(Boolean);
    if (parts.length === 0 || parts.includes('..')) throw new BerthError('InvalidArgument', `bad rootfs path ${relativePath}`);
    if (await lstatOrUndefined(join(upper, parts[0]!))) return false;
    // Every parent must be a real directory in the lower (a symlink could lead outside).
    const parents: { path: string; mode: number; uid: number; gid: number; atime: Date; mtime: Date }[] = [];
    for (let i = 1; i < parts.length; i++) {
      const info = await lstatOrUndefined(join(lower, ...parts.slice(0, i)));
      if (!info?.isDirectory()) return true; // no such file in the merged view: nothing to edit
      parents.push({ path: join(upper, ...parts.slice(0, i)), mode: info.mode & 0o7777, uid: info.uid, gid: info.gid, atime: info.atime, mtime: info.mtime });
    }
    const lowerFile = join(lower, ...parts);
    const fileInfo = await lstatOrUndefined(lowerFile);
    const current = fileInfo?.isFile() ? await readFile(lowerFile, 'utf8') : undefined;
    const next = edit(current);
    if (next === undefined || next === current) return true;
    for (const parent of parents) {
      await mkdir(parent.path, { mode: parent.mode });
      await chown(parent.path, parent.uid, parent.gid);
      await chmod(parent.path, parent.mode);
    }
    const upperFile = join(upper, ...parts);
    const handle = await open(upperFile, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, fileInfo?.mode ?? 0o644);
    try {
      await handle.writeFile(next);
      if (fileInfo) {
        await handle.chown(fileInfo.uid, fileInfo.gid);
        await handle.chmod(fileInfo.mode & 0o7777);
      }
    } finally {
      await handle.close();
    }
    // Parent times last: creating children changed them.
    for (const parent of [...parents].reverse()) await utimes(parent.path, parent.atime, parent.mtime);
    return true;
  }

  private spec(lower: string, upper: string): RootfsSpec {
    return { type: this.type, source: `${lower}:${upper}` };
  }

  /** `rootfs/`: where LXC (and `berth mount`) mounts the overlay. */
  private async makeMountpoint(target: ContainerRef, ctx: OperationContext): Promise<void> {
    await ctx.onUndo({ do: 'removeEmptyDir', path: paths.rootfs(target) });
    await this.fs.mkdir(paths.rootfs(target), 0o755);
  }

  private async makeUpper(target: ContainerRef, ctx: OperationContext): Promise<string> {
    const upper = paths.overlayDelta(target);
    await ctx.onUndo({ do: 'removeTree', path: dirname(upper) });
    await this.fs.mkdir(dirname(upper), 0o755);
    await this.fs.mkdir(upper, 0o755);
    await this.fs.mkdir(paths.overlayWork(target), 0o755);
    return upper;
  }
}

async function lstatOrUndefined(path: string) {
  try {
    return await lstat(path);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}
