import { STORAGE_DRIVER, type BerthModule } from '@berth/core';
import { DirDriver } from './dir-driver.js';

export { DirDriver, dirOptionsSchema } from './dir-driver.js';

/** Registers the dir storage driver. */
export const dirModule: BerthModule = {
  kind: 'storage',
  name: 'dir',
  version: '0.1.0',
  register(container) {
    container.register(STORAGE_DRIVER, { useClass: DirDriver });
  },
};

export default dirModule;
