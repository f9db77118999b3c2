import { BerthError } from '../errors.js';

/** LXC's own limit is the path length; 64 keeps names usable as hostnames and LV names. */
export const MAX_CONTAINER_NAME_LENGTH = 64;

/**
 * A container name becomes a directory, a hostname, a dataset or LV name: refuse anything
 * that could escape the lxcpath or confuse a tool's argument parser.
 */
export function validateContainerName(name: string, what = 'container name'): string {
  const problem = nameProblem(name);
  if (problem) throw new BerthError('InvalidArgument', `invalid ${what} ${JSON.stringify(name)}: ${problem}`);
  return name;
}

function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > MAX_CONTAINER_NAME_LENGTH) return `it is longer than ${MAX_CONTAINER_NAME_LENGTH} characters`;
  if (name.includes('/')) return 'it contains "/"';
  if (name === '.' || name === '..' || name.includes('..')) return 'it contains ".."';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'it contains a control character';
  if (name.startsWith('-')) return 'it starts with "-"';
  if (name.startsWith('.')) return 'it starts with "."';
  if (/\s/.test(name)) return 'it contains white space';
  if (!/^[A-Za-z0-9_.+@-]+$/.test(name)) return 'use letters, digits and . _ - + @ only';
  return undefined;
}
