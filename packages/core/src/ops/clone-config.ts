import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LxcConfig } from '../lxc/config.js';
import type { ContainerRef } from '../lxc/layout.js';
import { errnoCode } from '../errors.js';

/** LXC's prefix for generated MAC addresses up to 6.0.3 (Debian 12 ships 5.0.2). */
export const LXC_MAC_PREFIX = '00:16:3e';

/** Fills each `x` of a hwaddr template with a random hex digit (LXC's `rand_complete_hwaddr`). */
export function completeHwaddr(template: string): string {
  const bytes = randomBytes(template.length);
  let i = 0;
  return template.replace(/x/gi, () => '0123456789abcdef'[bytes[i++]! % 16]!);
}

/**
 * The config of a copy, as `lxc-copy` makes it: the new name in `lxc.uts.name`, every
 * value that named the old container's directory now naming the new one (fstab, hooks,
 * log files), new MAC addresses unless asked to keep them, and the new rootfs.
 */
export function cloneConfig(
  source: LxcConfig,
  from: ContainerRef,
  to: ContainerRef,
  rootfs: string,
  options: { keepHwaddr?: boolean; keepName?: boolean } = {},
): LxcConfig {
  const config = source.clone();
  const oldPrefix = from.dir;
  config.mapValues((key, value) => {
    if (key === 'lxc.rootfs.path' || key === 'lxc.rootfs') return value;
    if (value === oldPrefix || value.startsWith(`${oldPrefix}/`)) return to.dir + value.slice(oldPrefix.length);
    return value;
  });
  if (!options.keepHwaddr) {
    config.mapValues((key, value) => (/^lxc\.net\.\d+\.hwaddr$/.test(key) ? completeHwaddr(`${LXC_MAC_PREFIX}:xx:xx:xx`) : value));
  }
  if (!options.keepName) config.set('lxc.uts.name', to.name);
  config.delete('lxc.rootfs');
  config.set('lxc.rootfs.path', rootfs);
  return config;
}

/**
 * Rewrites `<rootfs>/etc/hostname` to the new name when it held the old one, without
 * following a symlink out of the rootfs (a container controls its own files). A file
 * that is not a regular one, or too big to be a hostname, is left alone. Synchronous:
 * a few syscalls on one small file.
 */
export async function updateHostnameFile(rootfs: string, oldName: string, newName: string): Promise<void> {
  const etc = join(rootfs, 'etc');
  try {
    if (!lstatSync(etc).isDirectory()) return;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw error;
  }
  let fd: number;
  try {
    fd = openSync(join(etc, 'hostname'), constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if (['ENOENT', 'ELOOP', 'EISDIR', 'ENXIO'].includes(errnoCode(error) ?? '')) return;
    throw error;
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile() || info.size > HOSTNAME_FILE_MAX) return;
    const buffer = Buffer.alloc(info.size);
    const length = readSync(fd, buffer, 0, info.size, 0);
    if (buffer.toString('utf8', 0, length).trim() !== oldName) return;
    ftruncateSync(fd, 0);
    writeSync(fd, `${newName}\n`, 0);
  } finally {
    closeSync(fd);
  }
}

/** A hostname is at most 64 bytes; anything much bigger in /etc/hostname is not one. */
const HOSTNAME_FILE_MAX = 4096;

export function newContainerConfig(defaults: string | undefined, rootfs: string, name: string, header?: string): LxcConfig {
  const text = `${header ?? ''}${defaults ?? ''}`;
  const config = LxcConfig.parse(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  config.set('lxc.rootfs.path', rootfs);
  config.set('lxc.uts.name', name);
  return config;
}
