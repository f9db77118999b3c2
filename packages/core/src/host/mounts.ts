import { readFileSync } from 'node:fs';

export interface MountEntry {
  readonly mountpoint: string;
  readonly fstype: string;
  readonly source: string;
  readonly options: string;
}

/** Octal escapes (\040 for space…) as the kernel writes them in mountinfo. */
function unescapeMountField(field: string): string {
  if (!field.includes('\\')) return field;
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const leftFields = left.split(' ');
    const rightFields = right.split(' ');
    const mountpoint = leftFields[4];
    if (mountpoint === undefined) continue;
    entries.push({
      mountpoint: unescapeMountField(mountpoint),
      options: leftFields[5] ?? '',
      fstype: rightFields[0] ?? '',
      source: unescapeMountField(rightFields[1] ?? ''),
    });
  }
  return entries;
}

export async function readMounts(): Promise<MountEntry[]> {
  // procfs is made in memory: a synchronous read never waits on a disk and costs far
  // less than the four thread-pool round trips of an asynchronous one.
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** Mounts at `path` or anywhere below it, deepest first. */
export async function mountsUnder(path: string): Promise<MountEntry[]> {
  const prefix = path.endsWith('/') ? path : `${path}/`;
  return (await readMounts())
    .filter((m) => m.mountpoint === path || m.mountpoint.startsWith(prefix))
    .sort((a, b) => b.mountpoint.length - a.mountpoint.length);
}

export async function isMountpoint(path: string): Promise<boolean> {
  return (await readMounts()).some((m) => m.mountpoint === path);
}
