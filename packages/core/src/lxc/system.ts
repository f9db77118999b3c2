import { LxcConfig } from './config.js';
import { readTextIfExists } from '../host/fs.js';

/** The system-wide settings LXC reads from `/etc/lxc/lxc.conf` (`lxc.system.conf(5)`). */
export interface LxcSystemConfig {
  readonly lxcpath: string;
  readonly lvmVg: string;
  readonly lvmThinPool: string;
  readonly zfsRoot: string;
  readonly defaultConfig: string;
}

export const DEFAULT_SYSTEM_CONFIG_PATH = '/etc/lxc/lxc.conf';

export const LXC_DEFAULTS: LxcSystemConfig = {
  lxcpath: '/var/lib/lxc',
  lvmVg: 'lxc',
  lvmThinPool: 'lxc',
  zfsRoot: 'lxc',
  defaultConfig: '/etc/lxc/default.conf',
};

export async function readSystemConfig(path = process.env.BERTH_LXC_CONF ?? DEFAULT_SYSTEM_CONFIG_PATH): Promise<LxcSystemConfig> {
  const text = await readTextIfExists(path);
  if (text === undefined) return LXC_DEFAULTS;
  const config = LxcConfig.parse(text);
  return {
    lxcpath: config.get('lxc.lxcpath') ?? LXC_DEFAULTS.lxcpath,
    lvmVg: config.get('lxc.bdev.lvm.vg') ?? LXC_DEFAULTS.lvmVg,
    lvmThinPool: config.get('lxc.bdev.lvm.thin_pool') ?? LXC_DEFAULTS.lvmThinPool,
    zfsRoot: config.get('lxc.bdev.zfs.root') ?? LXC_DEFAULTS.zfsRoot,
    defaultConfig: config.get('lxc.default_config') ?? LXC_DEFAULTS.defaultConfig,
  };
}
