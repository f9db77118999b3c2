import { STORAGE_DRIVER, type BerthModule } from '@berth/core';
import { LvmDriver } from './lvm-driver.js';

export { LvmDriver, lvmOptionsSchema, lvNameProblem, parseDevicePath } from './lvm-driver.js';
export * as lvmCli from './lvm-cli.js';
export { dmName, hasUuidMagic, isLiveLv, mayNeedNewUuid } from './device.js';

/** Registers the LVM storage driver. */
export const lvmModule: BerthModule = {
  kind: 'storage',
  name: 'lvm',
  version: '0.1.0',
  register(container) {
    container.register(STORAGE_DRIVER, { useClass: LvmDriver });
  },
};

export default lvmModule;
