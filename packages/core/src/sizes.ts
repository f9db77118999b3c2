import { BerthError } from './errors.js';

const UNITS: Readonly<Record<string, number>> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/**
 * A size as LXC users write it: `512M`, `1G`, `2GiB`, `100k`, `4096B`; a bare number
 * means MiB (LXC's `--fssize` rule). Units are binary, as in LXC and LVM.
 */
export function parseSize(text: string, what = 'size'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!match) throw new BerthError('InvalidArgument', `invalid ${what} ${JSON.stringify(text)}: expected a number with an optional unit (B, K, M, G, T)`);
  const unitText = match[2]!.toLowerCase();
  const unit = unitText === '' ? 1024 ** 2 : UNITS[unitText];
  if (unit === undefined) throw new BerthError('InvalidArgument', `invalid ${what} ${JSON.stringify(text)}: unknown unit ${match[2]}`);
  const bytes = Math.round(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new BerthError('InvalidArgument', `invalid ${what} ${JSON.stringify(text)}: must be above zero`);
  return bytes;
}

export function isSize(text: string): boolean {
  try {
    parseSize(text);
    return true;
  } catch {
    return false;
  }
}

/** Bytes for people: `1.5 GiB`. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${i === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[i]}`;
}
