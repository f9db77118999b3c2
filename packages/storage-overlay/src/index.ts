import { STORAGE_DRIVER, type BerthModule } from '@berth/core';
import { OverlayDriver } from './overlay-driver.js';

export { OverlayDriver, overlayOptionsSchema } from './overlay-driver.js';

/** Registers the overlay storage driver. */
export const overlayModule: BerthModule = {
  kind: 'storage',
  name: 'overlay',
  version: '0.1.0',
  register(container) {
    container.register(STORAGE_DRIVER, { useClass: OverlayDriver });
  },
};

export default overlayModule;
