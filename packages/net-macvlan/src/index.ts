import { NETWORK_DRIVER, type BerthModule } from '@berth/core';
import { MacvlanDriver } from './macvlan-driver.js';

export { MacvlanDriver, macvlanSchema, MACVLAN_MODES, type MacvlanSettings } from './macvlan-driver.js';

/** Registers the macvlan network driver. */
export const macvlanModule: BerthModule = {
  kind: 'network',
  name: 'macvlan',
  version: '0.1.0',
  register(container) {
    container.register(NETWORK_DRIVER, { useClass: MacvlanDriver });
  },
};

export default macvlanModule;
