import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { LxcConfig } from '../lxc/config.js';
import type { ContainerRef } from '../lxc/layout.js';
import { errnoCode } from '../errors.js';
import { writeAll } from '../host/fs.js';

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
 * Rewrites `<rootfs>/etc/hostname` to the new name when it held the old one (see
 * {@link editRootfsFile}: no symlink followed out of the rootfs, a container controls
 * its own files).
 */
export async function updateHostnameFile(rootfs: string, oldName: string, newName: string): Promise<void> {
  editRootfsFile(rootfs, ['etc', 'hostname'], (current) => (current !== undefined && current.trim() === oldName ? `${newName}\n` : undefined));
}

/** Small files only: a config or a hostname, not something a container grew there. */
const EDIT_FILE_MAX = 64 * 1024;

/**
 * Edits `<root>/<parts…>` without leaving `root`: every parent must be a real directory
 * (not a symlink), the file a regular one (lstat, then opened with O_NOFOLLOW and checked
 * again), at most 64 KiB. Anything else is left alone. `edit` gets the content
 * (undefined: no such file) and returns the new one, or undefined for no change; a
 * missing file is created (0644) only if `edit` gives it content. Synchronous: a few
 * syscalls on one small file.
 */
export function editRootfsFile(root: string, parts: readonly string[], edit: (current: string | undefined) => string | undefined): void {
  let dir = root;
  for (const part of parts.slice(0, -1)) {
    dir = join(dir, part);
    if (!lstatOrUndefined(dir)?.isDirectory()) return;
  }
  const file = join(dir, parts[parts.length - 1]!);
  const info = lstatOrUndefined(file);
  if (info === undefined) {
    const content = edit(undefined);
    if (content === undefined) return;
    const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    try {
      writeAll(fd, content);
    } finally {
      closeSync(fd);
    }
    return;
  }
  if (!info.isFile() || info.size > EDIT_FILE_MAX) return;
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    if (['ENOENT', 'ELOOP', 'EISDIR', 'ENXIO'].includes(errnoCode(error) ?? '')) return;
    throw error;
  }
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile() || opened.size > EDIT_FILE_MAX) return;
    const buffer = Buffer.alloc(opened.size);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, length);
      if (n === 0) break;
      length += n;
    }
    const current = buffer.toString('utf8', 0, length);
    const next = edit(current);
    if (next === undefined || next === current) return;
    ftruncateSync(fd, 0);
    writeAll(fd, next);
  } finally {
    closeSync(fd);
  }
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}

export function newContainerConfig(defaults: string | undefined, rootfs: string, name: string, header?: string): LxcConfig {
  const text = `${header ?? ''}${defaults ?? ''}`;
  const config = LxcConfig.parse(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  config.set('lxc.rootfs.path', rootfs);
  config.set('lxc.uts.name', name);
  return config;
}
