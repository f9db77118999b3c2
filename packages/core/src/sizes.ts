import * as z from 'zod';
import { BerthError } from './errors.js';

const UNIT_POWERS: Readonly<Record<string, number>> = { K: 1, M: 2, G: 3, T: 4, P: 5 };

const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*(?:([KMGTP])(?:i?B)?|(B))?$/i;

/**
 * Parses a size as LXC's `--fssize` takes it: a number with an optional binary unit
 * (`512M`, `1G`, `2GiB`, `100KB`, `4096B`); a bare number means MiB. Units are powers of
 * 1024 whichever way they are spelt, as in LXC and LVM. Returns bytes; throws
 * InvalidArgument naming `what`.
 */
export function parseSize(text: string, what = 'size'): number {
  const match = SIZE_PATTERN.exec(text.trim());
  if (!match) {
    throw new BerthError('InvalidArgument', `invalid ${what} ${JSON.stringify(text)}: use a number with an optional unit, e.g. 512M, 1G, 2GiB (a bare number is MiB)`);
  }
  const value = Number(match[1]);
  const unit = match[2]?.toUpperCase();
  const bytes = match[3] !== undefined ? value : unit === undefined ? value * 1024 ** 2 : value * 1024 ** UNIT_POWERS[unit]!;
  if (!Number.isSafeInteger(Math.round(bytes)) || bytes <= 0) {
    throw new BerthError('InvalidArgument', `invalid ${what} ${JSON.stringify(text)}: it must be more than 0 and less than 8 PiB`);
  }
  return Math.round(bytes);
}

export function isSize(text: string): boolean {
  try {
    parseSize(text);
    return true;
  } catch {
    return false;
  }
}

/** A driver option that takes a size (`512M`, `10G`, a bare number of MiB), as zod checks it. */
export function sizeOption() {
  return z.string().refine(isSize, 'expected a size such as 512M or 10G (a bare number means MiB)');
}

/** Bytes for humans: `1.5 GiB`, `12 KiB`, `512 B`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits).replace(/\.0$/, '')} ${units[unit]}`;
}
