import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { lstat, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { inject, injectable } from 'tsyringe';
import * as z from 'zod';
import {
  BerthError,
  COMMAND_RUNNER,
  HOST_FS,
  formatBytes,
  hostCli,
  isMountpoint,
  sizeOption,
  filesystemCli,
  parseSize,
  pathExists,
  paths,
  readMounts,
  readTextIfExists,
  withRootfs,
  copyTree,
  type Availability,
  type CommandRunner,
  type ContainerRef,
  type HostFs,
  type NativeCopyCapable,
  type OperationContext,
  type QuotaCapable,
  type RootfsSpec,
  type SizedCapable,
  type SnapshotCapable,
  type SnapshotResult,
  type StorageCapabilities,
  type StorageDriver,
  type StorageOptions,
  type UndoStep,
  type Usage,
  type UsageCapable,
  type Volume,
  type VolumeShape,
} from '@berth/core';
import * as loop from './loop-cli.js';

const DEFAULT_FSSIZE = '1G';
const DEFAULT_FSTYPE: loop.LoopFstype = 'ext4';
/** Loop devices count in 512-byte sectors: anything past the last whole one is ignored. */
const SECTOR = 512;

export const loopOptionsSchema = z.strictObject({
  fssize: sizeOption()
    .optional()
    .describe('Size of the new image (sparse: only written blocks use host space), e.g. 512M or 4G; a bare number means MiB. Default 1G; a copy keeps its source\'s size'),
  fstype: z
    .enum(filesystemCli.BLOCK_FSTYPES)
    .optional()
    .describe('Filesystem made in the image: ext4 (default), xfs or btrfs (ext2, ext3 too); a copy keeps its source\'s'),
  size: sizeOption()
    .optional()
    .describe('The image size as a quota: at create the same as fssize; for a copy, grow it to this size (never shrink). `berth quota` grows it later'),
});

type LoopOptions = z.infer<typeof loopOptionsSchema>;

/**
 * Loop images: the rootfs is a sparse file `<lxcpath>/<name>/rootdev` holding a
 * filesystem (`loop:` in the config), mounted through a loop device on the empty
 * `rootfs/` mountpoint, as LXC does. Every attach is libmount's `mount -o loop`, whose
 * device has autoclear (it goes with its last user, even a killed one), and every
 * unmount checks that no device of the image is left. A copy keeps the source's size
 * and filesystem and reflinks the image where the host filesystem can; copies get a
 * new filesystem UUID so both mount at once. Container snapshots are image copies too.
 */
@injectable()
export class LoopDriver implements StorageDriver, SnapshotCapable, NativeCopyCapable, SizedCapable, QuotaCapable, UsageCapable {
  readonly type = 'loop';
  readonly aliases: readonly string[] = [];
  readonly description = 'sparse image files (rootdev) of a fixed size and filesystem on loop devices; reflinked copies keep size and fstype; grow with quota';
  readonly capabilities: StorageCapabilities = {
    // A "snapshot" of an image is a copy of it: a reflink clone (copy-on-write) on
    // btrfs/xfs hosts, a sparse copy elsewhere. Either stands alone.
    snapshot: true,
    snapshotSources: ['loop'],
    nativeCopy: true,
    directAccess: false,
    sized: true,
    quota: true,
    usage: true,
    rename: false,
  };
  readonly optionsSchema = loopOptionsSchema;

  constructor(
    @inject(COMMAND_RUNNER) private readonly runner: CommandRunner,
    @inject(HOST_FS) private readonly fs: HostFs,
  ) {}

  async probe(): Promise<Availability> {
    for (const tool of ['losetup', 'mount', 'umount', 'blkid', 'truncate', 'mkfs.ext4']) {
      if (!(await this.runner.which(tool))) return { available: false, reason: `${tool} is not installed` };
    }
    if (!(await pathExists('/dev/loop-control'))) return { available: false, reason: 'no /dev/loop-control: the kernel has no loop devices (modprobe loop)' };
    return { available: true };
  }

  /** An unprefixed rootfs path is a loop image when it is a regular file holding a filesystem. */
  async detect(path: string): Promise<boolean> {
    try {
      if (!(await lstat(path)).isFile()) return false;
      return (await loop.probeTag(this.runner, path, 'TYPE')) !== '';
    } catch {
      return false;
    }
  }

  async create(target: ContainerRef, options: StorageOptions, ctx: OperationContext): Promise<RootfsSpec> {
    const parsed = loopOptionsSchema.parse(options);
    const fstype = parsed.fstype ?? DEFAULT_FSTYPE;
    const bytes = createSize(parsed);
    await this.requireTools(loop.mkfsTools(fstype), `a ${fstype} image`);
    const image = paths.rootdev(target);
    await ctx.onUndo(this.step('removeImage', { image }));
    await this.fs.writeFileAtomic(image, '', 0o600);
    await loop.truncate(this.runner, image, bytes);
    await loop.mkfs(this.runner, fstype, image, bytes);
    // A new container's rootfs is empty, as on every backend; e2fsck makes lost+found
    // again whenever it needs one.
    if (fstype.startsWith('ext')) await loop.removeLostAndFound(this.runner, image);
    await this.makeMountpoint(target, ctx);
    return { type: this.type, source: image };
  }

  async snapshot(source: Volume, target: ContainerRef, options: StorageOptions, ctx: OperationContext): Promise<SnapshotResult> {
    return { rootfs: await this.copy(source, target, options, ctx), dependency: 'none' };
  }

  /**
   * A copy of the image with its size and filesystem (LXC makes every loop copy a 1 GiB
   * ext4 image): reflinked where the host can, else copied sparse; then a new filesystem
   * UUID, and grown if `size`/`fssize` asks for more. Another fstype, or a smaller size,
   * is a new image filled by a file copy.
   */
  async copy(source: Volume, target: ContainerRef, options: StorageOptions, ctx: OperationContext): Promise<RootfsSpec> {
    const parsed = loopOptionsSchema.parse(options);
    const shape = await this.inspect(source);
    const fstype = parsed.fstype ?? (shape.fstype as loop.LoopFstype);
    const wanted = parsed.size ?? parsed.fssize;
    const bytes = wanted === undefined ? undefined : parseSize(wanted, 'fssize');
    if (fstype !== shape.fstype || (bytes !== undefined && bytes < shape.sizeBytes)) {
      return this.copyFiles(source, target, { fstype, fssize: `${bytes ?? shape.sizeBytes}B` }, ctx);
    }
    const image = paths.rootdev(target);
    await ctx.onUndo(this.step('removeImage', { image }));
    await this.fs.writeFileAtomic(image, '', 0o600);
    await loop.copyImage(this.runner, source.rootfs.source, image);
    await this.renewUuid(image, fstype);
    await this.makeMountpoint(target, ctx);
    const spec: RootfsSpec = { type: this.type, source: image };
    if (bytes !== undefined && bytes > shape.sizeBytes) await this.grow({ ...target, rootfs: spec }, bytes, ctx);
    return spec;
  }

  async mount(volume: Volume, mountpoint: string, ctx: OperationContext): Promise<void> {
    const image = volume.rootfs.source;
    if (!this.runner.dryRun && !(await isRegularFile(image))) throw new BerthError('NotFound', `loop image ${image} of ${volume.name} does not exist`);
    await ctx.onUndo(this.step('detachUnused', { image }));
    await ctx.onUndo({ do: 'unmount', path: mountpoint });
    await loop.mountImage(this.runner, image, mountpoint);
  }

  /** Unmounts, then makes sure no unused loop device of the image is left (autoclear should have done it). */
  async unmount(volume: Volume, mountpoint: string): Promise<void> {
    if (this.runner.dryRun || (await isMountpoint(mountpoint))) await hostCli.umount(this.runner, mountpoint);
    await this.detachUnused(volume.rootfs.source);
  }

  /** Removes the image, after detaching any loop device left on it; refused while it is mounted. */
  async destroy(volume: Volume): Promise<void> {
    await this.removeImage(volume.rootfs.source);
  }

  async revert(action: string, args: Readonly<Record<string, unknown>>): Promise<void> {
    const image = args.image;
    if (typeof image !== 'string') throw new BerthError('Internal', `loop driver: undo step ${action} has no image`);
    switch (action) {
      case 'removeImage':
        return this.removeImage(image);
      case 'detachUnused':
        return this.detachUnused(image);
      case 'restoreSize':
        if (typeof args.bytes !== 'number') break;
        return this.restoreSize(image, args.bytes);
    }
    throw new BerthError('Internal', `loop driver cannot revert ${action}`);
  }

  async inspect(volume: Volume): Promise<VolumeShape & { sizeBytes: number; fstype: string }> {
    const image = volume.rootfs.source;
    const info = await statImage(image, volume.name);
    const fstype = await loop.probeTag(this.runner, image, 'TYPE');
    if (!fstype) throw new BerthError('FailedPrecondition', `loop image ${image} of ${volume.name} holds no filesystem blkid recognises`);
    // LXC makes its images one byte longer than asked; the loop device ignores the tail.
    return { sizeBytes: Math.floor(info.size / SECTOR) * SECTOR, fstype };
  }

  /**
   * The image's apparent and allocated size and its filesystem's free space: from
   * statfs where the image is mounted on this host (the superblock lags behind a live
   * filesystem), else from the superblock itself, read from the image without mounting.
   */
  async usage(volume: Volume): Promise<Usage> {
    const image = volume.rootfs.source;
    const info = await statImage(image, volume.name);
    const fstype = await loop.probeTag(this.runner, image, 'TYPE');
    const mountpoint = (await this.mountpointsOf(image))[0];
    let figures: loop.FilesystemFigures;
    if (mountpoint) {
      const fsStats = await statfs(mountpoint);
      figures = { sizeBytes: fsStats.blocks * fsStats.bsize, freeBytes: fsStats.bavail * fsStats.bsize };
    } else {
      figures = await this.superblock(image, fstype);
    }
    return {
      usedBytes: Math.max(0, figures.sizeBytes - figures.freeBytes),
      limitBytes: info.size,
      freeBytes: figures.freeBytes,
      details: {
        apparent: info.size,
        allocated: info.blocks * 512,
        filesystem: fstype || 'none',
        filesystemSize: figures.sizeBytes,
        source: mountpoint ? `statfs of ${mountpoint}` : 'superblock',
      },
    };
  }

  /** Grows the image and its filesystem to `bytes`; a loop image cannot shrink, nor lose its size. */
  async setQuota(volume: Volume, bytes: number | null, ctx: OperationContext): Promise<void> {
    if (bytes === null) {
      throw new BerthError('InvalidArgument', `${volume.name} is a loop image of a fixed size: its size cannot be removed, only grown (berth quota ${volume.name} SIZE)`);
    }
    const current = (await this.inspect(volume)).sizeBytes;
    if (bytes < current) {
      throw new BerthError(
        'FailedPrecondition',
        `cannot shrink ${volume.name} from ${formatBytes(current)} to ${formatBytes(bytes)}: loop images only grow (copy it into a smaller one with berth copy --fssize)`,
      );
    }
    if (bytes === current) return;
    await this.grow(volume, bytes, ctx);
  }

  // ---------------------------------------------------------------- helpers

  private step(action: string, args: Record<string, unknown>): UndoStep {
    return { do: 'driver', driver: this.type, action, args };
  }

  private async makeMountpoint(target: ContainerRef, ctx: OperationContext): Promise<void> {
    const rootfs = paths.rootfs(target);
    await ctx.onUndo({ do: 'removeEmptyDir', path: rootfs });
    await this.fs.mkdir(rootfs, 0o755);
  }

  private async requireTools(tools: readonly string[], what: string): Promise<void> {
    for (const tool of tools) {
      if (!(await this.runner.which(tool))) throw new BerthError('Unavailable', `${tool} is needed for ${what} and is not installed`);
    }
  }

  /** A full copy into an image of another shape: a new image, both mounted, the files copied. */
  private async copyFiles(source: Volume, target: ContainerRef, options: LoopOptions, ctx: OperationContext): Promise<RootfsSpec> {
    const spec = await this.create(target, options, ctx);
    const scratch = join(target.lxcpath, '.berth', 'mnt');
    await withRootfs(this.fs, this, source, ctx, scratch, (from) =>
      withRootfs(this.fs, this, { ...target, rootfs: spec }, ctx, scratch, (to) => copyTree(this.runner, from, to, ctx, false)),
    );
    return spec;
  }

  /** A copy must not share its source's filesystem UUID: xfs and btrfs refuse (or confuse) duplicates. */
  private async renewUuid(image: string, fstype: string): Promise<void> {
    switch (fstype) {
      case 'xfs':
        await this.requireTools(['xfs_admin'], 'a copy of an xfs image');
        await loop.xfsNewUuid(this.runner, image);
        return;
      case 'btrfs':
        await this.requireTools(['btrfstune'], 'a copy of a btrfs image');
        await loop.btrfsNewUuid(this.runner, image);
        return;
      case 'ext2':
      case 'ext3':
      case 'ext4': {
        // With metadata_csum but no checksum seed, a new UUID rewrites every checksum
        // after a full fsck; ext4 mounts duplicates, so such images keep theirs.
        const features = this.runner.dryRun ? [] : ((await loop.dumpe2fs(this.runner, image)).features ?? []);
        if (features.includes('metadata_csum') && !features.includes('metadata_csum_seed')) return;
        await loop.ext4NewUuid(this.runner, image);
        return;
      }
    }
  }

  /**
   * Extends the image and grows its filesystem. Where the image is attached (mounted
   * here, or by a running container) the devices learn the new size and the filesystem
   * grows online, mounted; otherwise xfs and btrfs (which grow only mounted) are mounted
   * at a scratch mountpoint for it, and ext2/3/4 grows offline (`e2fsck -f`, `resize2fs`
   * on the image), which needs no CAP_SYS_RESOURCE. The undo truncates the image back
   * only while the filesystem still fits in the old size.
   */
  private async grow(volume: Volume, bytes: number, ctx: OperationContext): Promise<void> {
    const image = volume.rootfs.source;
    const { fstype, sizeBytes } = await this.inspect(volume);
    const ext = fstype.startsWith('ext');
    const tools = fstype === 'xfs' ? ['xfs_growfs'] : fstype === 'btrfs' ? ['btrfs'] : ext ? ['resize2fs', 'e2fsck'] : undefined;
    if (!tools) throw new BerthError('NotSupported', `cannot grow a ${fstype} filesystem`);
    if (fstype === 'btrfs' && bytes < loop.BTRFS_RESIZE_MINIMUM_BYTES) {
      throw new BerthError('InvalidArgument', `cannot grow ${volume.name} to ${formatBytes(bytes)}: the kernel resizes btrfs filesystems only to 256 MiB or more`);
    }
    await this.requireTools(tools, `growing a ${fstype} image`);
    const devices = this.runner.dryRun ? [] : await loop.associatedDevices(this.runner, image);
    if (ext && devices.length > 0 && !(await hasCapability(CAP_SYS_RESOURCE))) {
      throw new BerthError(
        'FailedPrecondition',
        `cannot grow ${volume.name} while its image is in use: growing a mounted ext4 filesystem needs CAP_SYS_RESOURCE, which berth lacks here; unmount it (stop the container) and grow it offline`,
      );
    }
    await ctx.onUndo(this.step('restoreSize', { image, bytes: sizeBytes }));
    await loop.truncate(this.runner, image, bytes);
    for (const device of devices) await loop.setCapacity(this.runner, device.name);
    if (ext && devices.length === 0) {
      await loop.e2fsck(this.runner, image);
      await loop.resize2fs(this.runner, image);
      return;
    }
    const mounted = (await this.mountpointsOf(image))[0];
    if (mounted) return this.growMounted(fstype, mounted);
    // Attached but not mounted here (a running container's): libmount reuses its device,
    // so this is a second mount of the same live filesystem, not a rival one.
    const scratchRoot = join(volume.lxcpath, '.berth', 'mnt');
    await this.fs.mkdirp(scratchRoot, 0o700);
    const mountpoint = join(scratchRoot, `${volume.name}-grow-${randomBytes(4).toString('hex')}`);
    await ctx.onUndo({ do: 'removeEmptyDir', path: mountpoint });
    await this.fs.mkdir(mountpoint, 0o755);
    await this.mount(volume, mountpoint, ctx);
    try {
      await this.growMounted(fstype, mountpoint);
    } finally {
      await this.unmount(volume, mountpoint);
      await this.fs.removeEmptyDir(mountpoint);
    }
  }

  private async growMounted(fstype: string, mountpoint: string): Promise<void> {
    if (fstype === 'xfs') return void (await loop.xfsGrowfs(this.runner, mountpoint));
    if (fstype === 'btrfs') return void (await loop.btrfsResizeMax(this.runner, mountpoint));
    const device = (await readMounts()).find((m) => m.mountpoint === mountpoint)?.source;
    if (!device && !this.runner.dryRun) throw new BerthError('Internal', `no device is mounted at ${mountpoint}`);
    try {
      await loop.resize2fs(this.runner, device ?? '<loop device>');
    } catch (error) {
      if (/Permission denied/i.test(BerthError.is(error) ? (error.command?.stderr ?? error.message) : '')) {
        throw new BerthError(
          'FailedPrecondition',
          `cannot grow the ext4 filesystem while it is mounted at ${mountpoint}: online resizing needs CAP_SYS_RESOURCE, which berth lacks here; unmount it (stop the container) and grow it offline`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  /** Undo of a grow: shrinks the file back while its filesystem has not grown past the old size. */
  private async restoreSize(image: string, bytes: number): Promise<void> {
    if (this.runner.dryRun || !(await isRegularFile(image))) return;
    if ((await stat(image)).size <= bytes) return;
    if ((await loop.associatedDevices(this.runner, image)).length > 0) return;
    const fstype = await loop.probeTag(this.runner, image, 'TYPE');
    const figures = await this.superblock(image, fstype);
    if (figures.sizeBytes <= bytes) await loop.truncate(this.runner, image, bytes);
  }

  private async superblock(image: string, fstype: string): Promise<loop.FilesystemFigures> {
    if (fstype === 'xfs') return loop.xfsSuperblock(this.runner, image);
    if (fstype === 'btrfs') return loop.btrfsSuperblock(this.runner, image);
    if (fstype.startsWith('ext')) return loop.dumpe2fs(this.runner, image);
    throw new BerthError('NotSupported', `cannot read the free space of a ${fstype || 'unknown'} filesystem in ${image}`);
  }

  /** Where the image's loop devices are mounted in this mount namespace. */
  private async mountpointsOf(image: string): Promise<string[]> {
    if (!(await isRegularFile(image))) return [];
    const devices = new Set((await loop.associatedDevices(this.runner, image)).map((d) => d.name));
    if (devices.size === 0) return [];
    return (await readMounts()).filter((m) => devices.has(m.source)).map((m) => m.mountpoint);
  }

  /**
   * Detaches the image's loop devices that nothing here mounts. The kernel finishes an
   * autoclear a moment after the last unmount returns, so a device still listed is given
   * that moment before it is detached by hand; one that went meanwhile is no error. A
   * device still open elsewhere (a running container's) only gets autoclear from the
   * kernel: never harmful.
   */
  private async detachUnused(image: string): Promise<void> {
    if (!(await isRegularFile(image))) return;
    for (let attempt = 0; ; attempt++) {
      const mountedSources = new Set((await readMounts()).map((m) => m.source));
      const unused = (await loop.associatedDevices(this.runner, image)).filter((d) => !mountedSources.has(d.name));
      if (unused.length === 0) return;
      if (attempt < AUTOCLEAR_POLLS && !this.runner.dryRun) {
        await delay(AUTOCLEAR_POLL_MS);
        continue;
      }
      for (const device of unused) {
        try {
          await loop.detach(this.runner, device.name);
        } catch (error) {
          // ENXIO: the device was detached in between (autoclear).
          if (!(BerthError.is(error) && /No such device or address/i.test(error.command?.stderr ?? ''))) throw error;
        }
      }
      return;
    }
  }

  private async removeImage(image: string): Promise<void> {
    if (!(await pathExists(image))) return;
    const mountpoints = this.runner.dryRun ? [] : await this.mountpointsOf(image);
    if (mountpoints.length > 0) throw new BerthError('InUse', `loop image ${image} is mounted at ${mountpoints.join(', ')}; unmount it first`);
    if (!this.runner.dryRun) await this.detachUnused(image);
    await this.fs.removeFile(image);
  }
}

/** The size of a new image: `size` and `fssize` mean the same at create; given both, they must agree. */
function createSize(options: LoopOptions): number {
  const fssize = parseSize(options.fssize ?? DEFAULT_FSSIZE, 'fssize');
  if (options.size === undefined) return fssize;
  const size = parseSize(options.size, 'size');
  if (options.fssize !== undefined && size !== fssize) {
    throw new BerthError('InvalidArgument', `--size ${options.size} and --fssize ${options.fssize} disagree: a loop image has one size (give one of them)`);
  }
  return size;
}

const CAP_SYS_RESOURCE = 24;
/** How long an autoclear is waited for: 20 × 50 ms. */
const AUTOCLEAR_POLLS = 20;
const AUTOCLEAR_POLL_MS = 50;

/** Whether this process has a capability in its effective set (`CapEff` of /proc/self/status). */
async function hasCapability(bit: number): Promise<boolean> {
  const status = (await readTextIfExists('/proc/self/status')) ?? '';
  const effective = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return effective === undefined || ((BigInt(`0x${effective}`) >> BigInt(bit)) & 1n) === 1n;
}

async function isRegularFile(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile();
  } catch {
    return false;
  }
}

async function statImage(image: string, name: string) {
  try {
    const info = await stat(image);
    if (info.isFile()) return info;
  } catch {
    // reported below
  }
  throw new BerthError('NotFound', `loop image ${image} of ${name} does not exist`);
}
