import type { CommandRunner } from '@berth/core';

/**
 * The btrfs-progs commands the driver runs, one function each. `btrfs` exits 1 on any
 * failure; the reason is the last line of stderr ("ERROR: …").
 */

/** `btrfs subvolume create PATH` */
export function subvolumeCreate(runner: CommandRunner, path: string) {
  return runner.run(['btrfs', 'subvolume', 'create', path]);
}

/** `btrfs subvolume snapshot SOURCE TARGET`: a writable snapshot (no -r). */
export function subvolumeSnapshot(runner: CommandRunner, source: string, target: string) {
  return runner.run(['btrfs', 'subvolume', 'snapshot', source, target]);
}

/** `btrfs subvolume delete PATH` (fails with "Directory not empty" while a nested subvolume remains). */
export function subvolumeDelete(runner: CommandRunner, path: string) {
  return runner.run(['btrfs', 'subvolume', 'delete', path]);
}

/** `btrfs subvolume show PATH`: exit 1 when PATH is not a subvolume. */
export function subvolumeShow(runner: CommandRunner, path: string) {
  return runner.run(['btrfs', 'subvolume', 'show', path], { readOnly: true });
}

/** `btrfs quota enable PATH` (any path on the filesystem). */
export function quotaEnable(runner: CommandRunner, path: string) {
  return runner.run(['btrfs', 'quota', 'enable', path]);
}

/** `btrfs qgroup limit SIZE|none PATH`: limits the subvolume's referenced bytes. */
export function qgroupLimit(runner: CommandRunner, path: string, bytes: number | null) {
  return runner.run(['btrfs', 'qgroup', 'limit', bytes === null ? 'none' : String(bytes), path]);
}

/**
 * `btrfs qgroup show -re -f --raw PATH`: the subvolume's own qgroup. Exits 1 with
 * "quotas not enabled" when qgroups are off.
 */
export function qgroupShow(runner: CommandRunner, path: string) {
  return runner.run(['btrfs', 'qgroup', 'show', '-re', '-f', '--raw', path], { readOnly: true });
}

/** `btrfs filesystem du -s --raw PATH`: total, exclusive and shared bytes, no qgroups needed. */
export function filesystemDu(runner: CommandRunner, path: string) {
  return runner.run(['btrfs', 'filesystem', 'du', '-s', '--raw', path], { readOnly: true, timeoutMs: 30 * 60 * 1000 });
}

export interface QgroupFigures {
  readonly referenced: number;
  readonly exclusive: number;
  readonly maxReferenced: number | undefined;
}

/** Parses `qgroup show -re -f --raw`: the `0/<id>` row of the subvolume. */
export function parseQgroupShow(stdout: string): QgroupFigures | undefined {
  for (const line of stdout.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (!/^0\/\d+$/.test(fields[0] ?? '')) continue;
    const [, referenced, exclusive, maxReferenced] = fields;
    return {
      referenced: Number(referenced),
      exclusive: Number(exclusive),
      maxReferenced: maxReferenced === undefined || maxReferenced === 'none' ? undefined : Number(maxReferenced),
    };
  }
  return undefined;
}

export interface DuFigures {
  readonly total: number;
  readonly exclusive: number;
  readonly shared: number;
}

/** Parses `filesystem du -s --raw`: `Total Exclusive Set-shared Filename`. */
export function parseFilesystemDu(stdout: string): DuFigures | undefined {
  const row = stdout.split('\n').map((l) => l.trim().split(/\s+/)).find((f) => /^\d+$/.test(f[0] ?? ''));
  if (!row) return undefined;
  return { total: Number(row[0]), exclusive: Number(row[1]), shared: Number(row[2]) };
}
