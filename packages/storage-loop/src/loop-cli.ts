import { BerthError, filesystemCli, type CommandRunner } from '@berth/core';

/** The filesystem tools every block-filesystem driver runs live in core. */
export const { mkfs, mkfsTools, removeLostAndFound, probeTag, xfsNewUuid, btrfsNewUuid, resize2fs, e2fsck, xfsGrowfs, btrfsResizeMax } = filesystemCli;

/**
 * The commands the loop driver runs, one function each: util-linux (`losetup`, `mount`,
 * `blkid`), coreutils (`truncate`, `cp`), and each filesystem's own tools. Exit codes:
 * util-linux tools exit 1 on failure (`mount`/`umount` 32), `blkid -p` 2 when it finds
 * no filesystem; the reason is on stderr.
 */

export type LoopFstype = filesystemCli.BlockFstype;

/** The kernel refuses to resize a btrfs filesystem to less than this (EINVAL). */
export const BTRFS_RESIZE_MINIMUM_BYTES = 256 * 1024 * 1024;

/** `truncate --size=BYTES PATH`: sets the image's apparent size; what it adds is a hole. */
export function truncate(runner: CommandRunner, path: string, bytes: number) {
  return runner.run(['truncate', `--size=${bytes}`, path]);
}

/**
 * `mount -o loop[,ro] IMAGE MOUNTPOINT`: libmount attaches a loop device with
 * autoclear, so the device goes with the last unmount, with a failed mount, and with a
 * mount process killed between attaching and mounting (its descriptor was the last user).
 * An image already attached with autoclear is reused rather than attached twice.
 */
export function mountImage(runner: CommandRunner, image: string, mountpoint: string, readOnly = false) {
  return runner.run(['mount', '-o', readOnly ? 'loop,ro' : 'loop', image, mountpoint]);
}

export interface LoopDevice {
  readonly name: string;
  readonly backFile: string;
}

/** `losetup --list --json --associated IMAGE`: the loop devices backed by the image (matched by inode). */
export async function associatedDevices(runner: CommandRunner, image: string): Promise<LoopDevice[]> {
  const result = await runner.run(['losetup', '--list', '--json', '--output', 'NAME,BACK-FILE', '--associated', image], { readOnly: true });
  return parseLosetupJson(result.stdout);
}

/** `losetup --list --json`: every attached loop device. */
export async function allDevices(runner: CommandRunner): Promise<LoopDevice[]> {
  const result = await runner.run(['losetup', '--list', '--json', '--output', 'NAME,BACK-FILE'], { readOnly: true });
  return parseLosetupJson(result.stdout);
}

/** Parses `losetup --list --json` (empty output: no devices). */
export function parseLosetupJson(stdout: string): LoopDevice[] {
  if (!stdout.trim()) return [];
  const parsed = JSON.parse(stdout) as { loopdevices?: { name?: unknown; 'back-file'?: unknown }[] };
  return (parsed.loopdevices ?? []).flatMap((d) =>
    typeof d.name === 'string' ? [{ name: d.name, backFile: typeof d['back-file'] === 'string' ? d['back-file'] : '' }] : [],
  );
}

/**
 * `losetup --detach DEVICE`. On a device still open (mounted, or used by a running
 * container) the kernel only sets autoclear and succeeds: never harmful.
 */
export function detach(runner: CommandRunner, device: string) {
  return runner.run(['losetup', '--detach', device]);
}

/** `losetup --set-capacity DEVICE`: an attached device sees its grown image. */
export function setCapacity(runner: CommandRunner, device: string) {
  return runner.run(['losetup', '--set-capacity', device]);
}

/**
 * `cp --reflink=auto --sparse=always SOURCE TARGET`: a reflink clone where the host
 * filesystem shares extents (btrfs, xfs), else a copy that keeps (and makes) holes.
 */
export function copyImage(runner: CommandRunner, source: string, target: string) {
  return runner.run(['cp', '--reflink=auto', '--sparse=always', source, target], { timeoutMs: 6 * 60 * 60 * 1000 });
}

/**
 * `tune2fs -U random IMAGE`. Exits 1 ("requires a freshly checked filesystem") when the
 * filesystem has metadata_csum without metadata_csum_seed: callers check first.
 */
export function ext4NewUuid(runner: CommandRunner, image: string) {
  return runner.run(['tune2fs', '-U', 'random', image]);
}

export interface FilesystemFigures {
  /** Bytes the filesystem spans. */
  readonly sizeBytes: number;
  /** Bytes free for data (ext*: without the root reserve). */
  readonly freeBytes: number;
  /** ext* only: the `Filesystem features:` line. */
  readonly features?: readonly string[];
}

/** `dumpe2fs -h IMAGE`: the superblock of an ext2/3/4 filesystem. */
export async function dumpe2fs(runner: CommandRunner, image: string): Promise<FilesystemFigures> {
  const result = await runner.run(['dumpe2fs', '-h', image], { readOnly: true });
  return parseDumpe2fs(result.stdout);
}

export function parseDumpe2fs(stdout: string): FilesystemFigures {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(stdout)?.[1]?.trim();
  const number = (name: string) => {
    const value = Number(field(name));
    if (!Number.isFinite(value)) throw unreadable('dumpe2fs -h', name);
    return value;
  };
  const blockSize = number('Block size');
  return {
    sizeBytes: number('Block count') * blockSize,
    freeBytes: Math.max(0, number('Free blocks') - number('Reserved block count')) * blockSize,
    features: (field('Filesystem features') ?? '').split(/\s+/).filter(Boolean),
  };
}

/** `xfs_db -r -c 'sb 0' -c 'print dblocks fdblocks blocksize' IMAGE`: the primary superblock, read-only. */
export async function xfsSuperblock(runner: CommandRunner, image: string): Promise<FilesystemFigures> {
  const result = await runner.run(['xfs_db', '-r', '-c', 'sb 0', '-c', 'print dblocks fdblocks blocksize', image], { readOnly: true });
  return parseXfsDb(result.stdout);
}

export function parseXfsDb(stdout: string): FilesystemFigures {
  const value = (name: string) => {
    const match = new RegExp(`^${name} = (\\d+)$`, 'm').exec(stdout);
    if (!match) throw unreadable('xfs_db', name);
    return Number(match[1]);
  };
  const blockSize = value('blocksize');
  return { sizeBytes: value('dblocks') * blockSize, freeBytes: value('fdblocks') * blockSize };
}

/** `btrfs inspect-internal dump-super IMAGE`: the superblock's total and used bytes. */
export async function btrfsSuperblock(runner: CommandRunner, image: string): Promise<FilesystemFigures> {
  const result = await runner.run(['btrfs', 'inspect-internal', 'dump-super', image], { readOnly: true });
  return parseBtrfsDumpSuper(result.stdout);
}

export function parseBtrfsDumpSuper(stdout: string): FilesystemFigures {
  const value = (name: string) => {
    const match = new RegExp(`^${name}\\s+(\\d+)$`, 'm').exec(stdout);
    if (!match) throw unreadable('btrfs inspect-internal dump-super', name);
    return Number(match[1]);
  };
  const total = value('total_bytes');
  return { sizeBytes: total, freeBytes: Math.max(0, total - value('bytes_used')) };
}

function unreadable(tool: string, field: string): BerthError {
  return new BerthError('CommandFailed', `cannot read ${field} from the output of ${tool}`);
}
