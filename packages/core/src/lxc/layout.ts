import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BerthError, errnoCode } from '../errors.js';
import { readTextIfExists } from '../host/fs.js';
import { validateContainerName } from './names.js';

/**
 * Where a container lives: `<lxcpath>/<name>/`. A container snapshot is a container too,
 * with lxcpath `<lxcpath>/<name>/snaps` and name `snapN`, exactly as LXC treats it.
 */
export interface ContainerRef {
  readonly lxcpath: string;
  readonly name: string;
  /** `<lxcpath>/<name>` */
  readonly dir: string;
}

export function containerRef(lxcpath: string, name: string): ContainerRef {
  validateContainerName(name);
  const root = resolve(lxcpath);
  return { lxcpath: root, name, dir: join(root, name) };
}

export const paths = {
  config: (c: ContainerRef) => join(c.dir, 'config'),
  rootfs: (c: ContainerRef) => join(c.dir, 'rootfs'),
  rootdev: (c: ContainerRef) => join(c.dir, 'rootdev'),
  overlayDelta: (c: ContainerRef) => join(c.dir, 'overlay', 'delta'),
  overlayWork: (c: ContainerRef) => join(c.dir, 'overlay', 'work'),
  partial: (c: ContainerRef) => join(c.dir, 'partial'),
  snapsDir: (c: ContainerRef) => join(c.dir, 'snaps'),
  rdepends: (c: ContainerRef) => join(c.dir, 'lxc_rdepends'),
  dependents: (c: ContainerRef) => join(c.dir, 'lxc_snapshots'),
  snapshotTs: (c: ContainerRef) => join(c.dir, 'ts'),
  snapshotComment: (c: ContainerRef) => join(c.dir, 'comment'),
} as const;

/** The container that snapshot `snapN` of `parent` is. */
export function snapshotRef(parent: ContainerRef, snapName: string): ContainerRef {
  if (!/^snap\d+$/.test(snapName)) {
    throw new BerthError('InvalidArgument', `invalid snapshot name ${JSON.stringify(snapName)}: expected snapN`);
  }
  return containerRef(paths.snapsDir(parent), snapName);
}

/** LXC's `ts` format: `%Y:%m:%d %H:%M:%S` in local time, no newline. */
export function formatSnapshotTimestamp(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}:${two(date.getMonth() + 1)}:${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/** Snapshot names in `snaps/`, ordered by their number. */
export async function listSnapshotNames(parent: ContainerRef): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(paths.snapsDir(parent));
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return [];
    throw error;
  }
  return names.filter((n) => /^snap\d+$/.test(n)).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
}

/** The lowest free `snapN`, as LXC picks it. */
export function nextSnapshotName(existing: readonly string[]): string {
  const taken = new Set(existing);
  for (let n = 0; ; n++) if (!taken.has(`snap${n}`)) return `snap${n}`;
}

/**
 * `lxc_rdepends` (in a dependent: what it depends on) and `lxc_snapshots` (in an origin:
 * who depends on it) hold 2-line records `<lxcpath>\n<name>\n`. A legacy
 * `lxc_snapshots` holds a bare count instead, which says only how many.
 */
export interface DependencyRecord {
  readonly lxcpath: string;
  readonly name: string;
}

export interface DependencyFile {
  readonly records: DependencyRecord[];
  /** Set for the legacy bare-count form. */
  readonly legacyCount: number | undefined;
}

export function parseDependencyFile(text: string): DependencyFile {
  const lines = text.split('\n').filter((l) => l !== '');
  if (lines.length === 1 && /^\d+$/.test(lines[0]!)) return { records: [], legacyCount: Number(lines[0]) };
  const records: DependencyRecord[] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) records.push({ lxcpath: lines[i]!, name: lines[i + 1]! });
  return { records, legacyCount: undefined };
}

export function formatDependencyFile(records: readonly DependencyRecord[]): string {
  return records.map((r) => `${r.lxcpath}\n${r.name}\n`).join('');
}

export async function readDependencyFile(path: string): Promise<DependencyFile> {
  const text = await readTextIfExists(path);
  return text === undefined ? { records: [], legacyCount: undefined } : parseDependencyFile(text);
}

export function sameRecord(a: DependencyRecord, b: DependencyRecord): boolean {
  return resolve(a.lxcpath) === resolve(b.lxcpath) && a.name === b.name;
}
