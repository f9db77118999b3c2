import { STORAGE_DRIVER, type BerthModule } from '@berth/core';
import { BtrfsDriver } from './btrfs-driver.js';

export { BtrfsDriver, btrfsOptionsSchema } from './btrfs-driver.js';
export * as btrfsCli from './btrfs-cli.js';

/** Registers the btrfs storage driver. */
export const btrfsModule: BerthModule = {
  kind: 'storage',
  name: 'btrfs',
  version: '0.1.0',
  register(container) {
    container.register(STORAGE_DRIVER, { useClass: BtrfsDriver });
  },
};

export default btrfsModule;
