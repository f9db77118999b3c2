import type { BerthModule } from '@berth/core';
import { btrfsModule } from '@berth/storage-btrfs';
import { loopModule } from '@berth/storage-loop';
import { lvmModule } from '@berth/storage-lvm';
import { macvlanModule } from '@berth/net-macvlan';
import { vethModule } from '@berth/net-veth';
import { dirModule } from '@berth/storage-dir';
import { overlayModule } from '@berth/storage-overlay';
import { zfsModule } from '@berth/storage-zfs';

/**
 * The drivers the `berth` binary ships, in one explicit list: nothing registers itself
 * by being imported. Third-party drivers come from the plugin config file instead.
 */
export const builtinModules: readonly BerthModule[] = [dirModule, overlayModule, btrfsModule, zfsModule, lvmModule, loopModule, vethModule, macvlanModule];
