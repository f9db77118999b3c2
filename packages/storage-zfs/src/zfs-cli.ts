import type { CommandRunner } from '@berth/core';

/**
 * The `zfs`/`zpool` commands the driver runs, one function each. Only flags that
 * OpenZFS (zfsutils-linux) and zfs-fuse 0.7 both accept are used, so the driver runs
 * unchanged on either:
 *
 *   zfs create -o PROP=VALUE… DATASET
 *   zfs snapshot DATASET@NAME
 *   zfs clone -o PROP=VALUE… DATASET@NAME DATASET
 *   zfs promote DATASET
 *   zfs rename DATASET DATASET
 *   zfs destroy [-r] DATASET|SNAPSHOT
 *   zfs set PROP=VALUE DATASET
 *   zfs get -Hp -o property,value PROP[,PROP…] DATASET   (never `zfs list -p`: zfs-fuse lacks it)
 *   zfs list -H -o name,origin -t filesystem -r POOL     (no `clones` property on zfs-fuse)
 *   zfs list -H -o name,createtxg -t snapshot -d 1 DATASET
 *   zfs mount DATASET / zfs unmount DATASET
 *   zpool list -H -o name
 *
 * Both tools exit 1 on a failure (2 on a usage error) and say why on stderr
 * ("dataset does not exist", "dataset is busy", "dataset already exists"…).
 */

export type Properties = Readonly<Record<string, string>>;

function propertyArgs(properties: Properties): string[] {
  return Object.entries(properties).flatMap(([key, value]) => ['-o', `${key}=${value}`]);
}

/** `zfs create -o …`: a filesystem dataset; its parent must exist. */
export function create(runner: CommandRunner, dataset: string, properties: Properties) {
  return runner.run(['zfs', 'create', ...propertyArgs(properties), dataset]);
}

/** `zfs snapshot DATASET@NAME` (exit 1 "dataset already exists" when the name is taken). */
export function snapshot(runner: CommandRunner, snapshotName: string) {
  return runner.run(['zfs', 'snapshot', snapshotName]);
}

/** `zfs clone -o … SNAPSHOT DATASET`: a writable dataset sharing the snapshot's blocks. */
export function clone(runner: CommandRunner, snapshotName: string, dataset: string, properties: Properties) {
  return runner.run(['zfs', 'clone', ...propertyArgs(properties), snapshotName, dataset]);
}

/** `zfs promote CLONE`: the clone takes over its origin's snapshots up to its origin. */
export function promote(runner: CommandRunner, dataset: string) {
  return runner.run(['zfs', 'promote', dataset]);
}

/** `zfs rename FROM TO` (exit 1 "dataset is busy" while mounted on zfs-fuse). */
export function rename(runner: CommandRunner, from: string, to: string) {
  return runner.run(['zfs', 'rename', from, to]);
}

/**
 * `zfs destroy [-r] NAME`: `-r` takes the dataset's snapshots along; it still fails
 * ("filesystem has dependent clones") while one of them backs a clone.
 */
export function destroy(runner: CommandRunner, name: string, options: { recursive?: boolean } = {}) {
  return runner.run(['zfs', 'destroy', ...(options.recursive ? ['-r'] : []), name]);
}

/** `zfs set PROP=VALUE DATASET` */
export function set(runner: CommandRunner, dataset: string, property: string, value: string) {
  return runner.run(['zfs', 'set', `${property}=${value}`, dataset]);
}

/** `zfs get -Hp -o property,value PROPS NAME`: exact numbers, one `property<TAB>value` line each. */
export async function get(runner: CommandRunner, name: string, properties: readonly string[]): Promise<Map<string, string>> {
  const result = await runner.run(['zfs', 'get', '-Hp', '-o', 'property,value', properties.join(','), name], { readOnly: true });
  return parseGet(result.stdout);
}

export function parseGet(stdout: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab <= 0) continue;
    values.set(line.slice(0, tab), line.slice(tab + 1).trim());
  }
  return values;
}

export interface OriginRow {
  readonly name: string;
  /** The snapshot this filesystem was cloned from, if it is a clone. */
  readonly origin: string | undefined;
}

/** `zfs list -H -o name,origin -t filesystem -r ROOT`: every filesystem below ROOT and its origin. */
export async function listOrigins(runner: CommandRunner, root: string): Promise<OriginRow[]> {
  const result = await runner.run(['zfs', 'list', '-H', '-o', 'name,origin', '-t', 'filesystem', '-r', root], { readOnly: true });
  return parseOrigins(result.stdout);
}

export function parseOrigins(stdout: string): OriginRow[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name = '', origin = '-'] = line.split('\t');
      return { name, origin: origin === '-' || origin === '' ? undefined : origin };
    });
}

export interface SnapshotRow {
  readonly name: string;
  readonly createtxg: number;
}

/** `zfs list -H -o name,createtxg -t snapshot -d 1 DATASET`: the dataset's own snapshots. */
export async function listSnapshots(runner: CommandRunner, dataset: string): Promise<SnapshotRow[]> {
  const result = await runner.run(['zfs', 'list', '-H', '-o', 'name,createtxg', '-t', 'snapshot', '-d', '1', dataset], { readOnly: true });
  return parseSnapshots(result.stdout);
}

export function parseSnapshots(stdout: string): SnapshotRow[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name = '', txg = '0'] = line.split('\t');
      return { name, createtxg: Number(txg) };
    });
}

/** `zfs mount DATASET`: at its `mountpoint` property (created if missing). */
export function mount(runner: CommandRunner, dataset: string) {
  return runner.run(['zfs', 'mount', dataset]);
}

/** `zfs unmount DATASET` (exit 1 "not currently mounted"; "busy" while in use). */
export function unmount(runner: CommandRunner, dataset: string) {
  return runner.run(['zfs', 'unmount', dataset]);
}

/** `zpool list -H -o name`: the imported pools (exit 1 when the tools cannot reach ZFS). */
export async function poolNames(runner: CommandRunner): Promise<string[]> {
  const result = await runner.run(['zpool', 'list', '-H', '-o', 'name'], { readOnly: true });
  return result.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}
