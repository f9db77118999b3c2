import { STORAGE_DRIVER, type BerthModule } from '@berth/core';
import { ZfsDriver } from './zfs-driver.js';

export { ZfsDriver, zfsOptionsSchema } from './zfs-driver.js';
export * as zfsCli from './zfs-cli.js';

/** Registers the ZFS storage driver. */
export const zfsModule: BerthModule = {
  kind: 'storage',
  name: 'zfs',
  version: '0.1.0',
  register(container) {
    container.register(STORAGE_DRIVER, { useClass: ZfsDriver });
  },
};

export default zfsModule;
