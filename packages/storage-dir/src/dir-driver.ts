import { inject, injectable } from 'tsyringe';
import * as z from 'zod';
import {
  COMMAND_RUNNER,
  HOST_FS,
  BerthError,
  hostCli,
  isDirectory,
  paths,
  type Availability,
  type CommandRunner,
  type ContainerRef,
  type DirectAccessCapable,
  type HostFs,
  type OperationContext,
  type RootfsSpec,
  type StorageCapabilities,
  type StorageDriver,
  type StorageOptions,
  type Volume,
} from '@berth/core';

export const dirOptionsSchema = z.strictObject({
  dir: z
    .string()
    .optional()
    .describe('Where the rootfs directory goes (default <lxcpath>/<name>/rootfs), as lxc-create --dir'),
});

/**
 * Plain directories: the rootfs is `<lxcpath>/<name>/rootfs` (`dir:` in the config).
 * There is no copy-on-write here: a full copy is the core's metadata-preserving file
 * copy (reflinked where the host filesystem can), and a container snapshot is such a
 * copy too. Snapshot *clones* of a dir container are the overlay driver's job.
 */
@injectable()
export class DirDriver implements StorageDriver, DirectAccessCapable {
  readonly type = 'dir';
  readonly aliases: readonly string[] = [];
  readonly description = 'plain directories; full copies reflinked where the host filesystem allows';
  readonly capabilities: StorageCapabilities = {
    snapshot: false,
    snapshotSources: [],
    nativeCopy: false,
    directAccess: true,
    sized: false,
    quota: false,
    usage: false,
    rename: false,
  };
  readonly optionsSchema = dirOptionsSchema;

  constructor(
    @inject(COMMAND_RUNNER) private readonly runner: CommandRunner,
    @inject(HOST_FS) private readonly fs: HostFs,
  ) {}

  async probe(): Promise<Availability> {
    for (const tool of ['cp', 'mount', 'umount']) {
      if (!(await this.runner.which(tool))) return { available: false, reason: `${tool} is not installed` };
    }
    return { available: true };
  }

  /** Any directory is a dir rootfs (LXC's rule); other drivers are asked first. */
  detect(path: string): Promise<boolean> {
    return isDirectory(path);
  }

  async create(target: ContainerRef, options: StorageOptions, ctx: OperationContext): Promise<RootfsSpec> {
    const { dir } = dirOptionsSchema.parse(options);
    const rootfs = dir ?? paths.rootfs(target);
    if (dir !== undefined && !dir.startsWith('/')) throw new BerthError('InvalidArgument', `dir ${dir} must be an absolute path`);
    await ctx.onUndo({ do: 'removeTree', path: rootfs });
    await this.fs.mkdir(rootfs, 0o755);
    return { type: this.type, source: rootfs };
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
   * Removes the rootfs directory. A rootfs outside the container directory (`--dir`)
   * is removed too, as lxc-destroy does, but never through a mount.
   */
  async destroy(volume: Volume): Promise<void> {
    await this.fs.removeTree(volume.rootfs.source);
  }
}
