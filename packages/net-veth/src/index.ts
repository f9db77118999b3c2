import { NETWORK_DRIVER, type BerthModule } from '@berth/core';
import { VethDriver } from './veth-driver.js';

export { VethDriver, vethSchema, type VethSettings } from './veth-driver.js';

/** Registers the veth network driver. */
export const vethModule: BerthModule = {
  kind: 'network',
  name: 'veth',
  version: '0.1.0',
  register(container) {
    container.register(NETWORK_DRIVER, { useClass: VethDriver });
  },
};

export default vethModule;
