import { STORAGE_DRIVER, type BerthModule } from '@berth/core';
import { LoopDriver } from './loop-driver.js';

export { LoopDriver, loopOptionsSchema } from './loop-driver.js';
export * as loopCli from './loop-cli.js';

/** Registers the loop storage driver. */
export const loopModule: BerthModule = {
  kind: 'storage',
  name: 'loop',
  version: '0.1.0',
  register(container) {
    container.register(STORAGE_DRIVER, { useClass: LoopDriver });
  },
};

export default loopModule;
