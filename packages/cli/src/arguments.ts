import { BerthError, parseSize, validateContainerName, type StorageOptions } from '@berth/core';
import { InvalidArgumentError, Option, type Command } from 'commander';

/** Commander parser of `--fssize`/`--size`: checks the format now (a usage error), passes the text on. */
export function sizeArgument(value: string): string {
  try {
    parseSize(value);
  } catch {
    throw new InvalidArgumentError('Use a number with an optional unit, e.g. 512M, 1G, 2GiB (a bare number is MiB).');
  }
  return value;
}

/** Commander parser of repeated `-o KEY=VALUE`: collects them into one object. */
export function keyValueArgument(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const equals = value.indexOf('=');
  const key = equals > 0 ? value.slice(0, equals).trim() : '';
  if (!key) throw new InvalidArgumentError(`expected KEY=VALUE, got ${JSON.stringify(value)}`);
  if (key in previous) throw new InvalidArgumentError(`option ${key} is given twice`);
  return { ...previous, [key]: value.slice(equals + 1) };
}

/** Checks container names before anything is composed or touched (exit 2 when bad). */
export function checkNames(...names: readonly string[]): void {
  for (const name of names) validateContainerName(name);
}

export function usageError(message: string): BerthError {
  return new BerthError('InvalidArgument', message);
}

/**
 * The backend options of `create`/`copy`: the dedicated flags (only those given) plus
 * `-o KEY=VALUE` for the rest. The driver's strict schema judges them.
 */
export interface BackendFlags {
  fssize?: string;
  fstype?: string;
  dir?: string;
  size?: string;
  zfsroot?: string;
  vgname?: string;
  thinpool?: string;
  option?: Record<string, string>;
}

/**
 * The backend flags `create` and `copy` share, named as lxc-create names them; each is
 * passed on as the backend option of the same name, for the driver's schema to judge.
 */
export function addBackendFlags(command: Command): Command {
  return command
    .addOption(new Option('--size <size>', 'quota on the rootfs for backends with quotas (btrfs qgroups, zfs refquota): 512M, 10G').argParser(sizeArgument))
    .option('--zfsroot <dataset>', 'zfs: the parent dataset (default lxc.bdev.zfs.root, else lxc)')
    .option('--vgname <vg>', 'lvm: the volume group (default lxc.bdev.lvm.vg, else lxc)')
    .option('--thinpool <lv>', 'lvm: the thin pool (default lxc.bdev.lvm.thin_pool, else lxc)')
    .option('-o, --option <key=value>', 'another backend option; repeat for more', keyValueArgument);
}

export function backendOptions(flags: BackendFlags): StorageOptions {
  const options: Record<string, unknown> = {};
  const dedicated = { fssize: flags.fssize, fstype: flags.fstype, dir: flags.dir, size: flags.size, zfsroot: flags.zfsroot, vgname: flags.vgname, thinpool: flags.thinpool };
  for (const [key, value] of Object.entries(dedicated)) {
    if (value !== undefined) options[key] = value;
  }
  for (const [key, value] of Object.entries(flags.option ?? {})) {
    if (key in options) throw usageError(`backend option ${key} is given both as --${key} and as -o ${key}=…`);
    if (key === 'fssize' || key === 'size') parseSize(value);
    options[key] = value;
  }
  return options;
}
