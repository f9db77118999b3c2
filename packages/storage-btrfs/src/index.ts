import { STORAGE_DRIVER, type BerthModule } from '@berth/core';
import { BTRFS_SUBVOLUME_MEANS, BtrfsDriver } from './btrfs-driver.js';
import type { SubvolumeMeans, SubvolumeOps } from './subvolumes.js';

export { BTRFS_SUBVOLUME_MEANS, BtrfsDriver, btrfsOptionsSchema } from './btrfs-driver.js';
export { ioctlAvailability, subvolumeOps, type SubvolumeMeans, type SubvolumeOps } from './subvolumes.js';
export * as btrfsCli from './btrfs-cli.js';

export interface BtrfsModuleOptions {
  /**
   * How subvolumes are snapshotted, created and deleted: `auto` (the default) uses the
   * kernel's ioctls in process when `@berth/btrfs-ioctl` is built, else btrfs-progs;
   * `btrfs-progs` always spawns `btrfs`; `ioctl` insists on the addon. An object is
   * used as the operations themselves.
   */
  readonly subvolumes?: SubvolumeMeans | SubvolumeOps;
}

/** The btrfs storage driver's module, with its settings. */
export function createBtrfsModule(options: BtrfsModuleOptions = {}): BerthModule {
  const means = options.subvolumes ?? 'auto';
  return {
    kind: 'storage',
    name: 'btrfs',
    version: '0.1.0',
    register(container) {
      container.register(BTRFS_SUBVOLUME_MEANS, { useValue: means });
      container.register(STORAGE_DRIVER, { useClass: BtrfsDriver });
    },
  };
}

/** Registers the btrfs storage driver (subvolumes by ioctl where the addon is built). */
export const btrfsModule: BerthModule = createBtrfsModule();

export default btrfsModule;
