import { BerthError, parseSize, validateContainerName, type StorageOptions } from '@berth/core';
import { InvalidArgumentError } from 'commander';

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
export function backendOptions(flags: { fssize?: string; fstype?: string; dir?: string; size?: string; option?: Record<string, string> }): StorageOptions {
  const options: Record<string, unknown> = {};
  const dedicated = { fssize: flags.fssize, fstype: flags.fstype, dir: flags.dir, size: flags.size };
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
