import type { CommandRunner } from './runner.js';

/**
 * The filesystem tools of drivers whose volumes are block filesystems (loop images, LVM
 * LVs): make, probe, re-identify and grow ext2/3/4, xfs and btrfs. One function per
 * command; each takes a device or an image file, which these tools treat alike.
 */

export type BlockFstype = 'ext2' | 'ext3' | 'ext4' | 'xfs' | 'btrfs';
/** The ones a block volume can be made with, the default (ext4) first. */
export const BLOCK_FSTYPES = ['ext4', 'xfs', 'btrfs', 'ext3', 'ext2'] as const satisfies readonly BlockFstype[];

/** mkfs.xfs refuses filesystems below 300 MiB except under the xfstests environment. */
export const XFS_MINIMUM_BYTES = 300 * 1024 * 1024;
/**
 * Below this, btrfs wants mixed data and metadata block groups, as mkfs.btrfs(8)
 * advises (and needs them under 114 MiB).
 */
export const BTRFS_MIXED_BELOW_BYTES = 1024 * 1024 * 1024;

/**
 * `mkfs.<fstype> TARGET`, forced over any old signature (a reused LV). ext4 gets
 * `metadata_csum_seed`, so that a copy's new UUID is a superblock write instead of a
 * rewrite of every checksum. xfs below 300 MiB: mkfs.xfs (since 5.19) refuses new small
 * filesystems outside xfstests, whose environment variables lift the check; the kernel
 * mounts and grows them as any other.
 */
export function mkfs(runner: CommandRunner, fstype: BlockFstype, target: string, bytes: number) {
  switch (fstype) {
    case 'ext2':
    case 'ext3':
    case 'ext4':
      return runner.run([`mkfs.${fstype}`, '-q', '-F', ...(fstype === 'ext4' ? ['-O', 'metadata_csum_seed'] : []), target]);
    case 'xfs':
      return runner.run(['mkfs.xfs', '-q', '-f', target], bytes < XFS_MINIMUM_BYTES ? { env: { TEST_DIR: '1', TEST_DEV: '1', QA_CHECK_FS: '1' } } : {});
    case 'btrfs':
      return runner.run(['mkfs.btrfs', '-q', '-f', ...(bytes < BTRFS_MIXED_BELOW_BYTES ? ['--mixed'] : []), target]);
  }
}

/** The tools making a filesystem of this type needs: mkfs, and debugfs for ext (lost+found). */
export function mkfsTools(fstype: BlockFstype): string[] {
  return fstype.startsWith('ext') ? [`mkfs.${fstype}`, 'debugfs'] : [`mkfs.${fstype}`];
}

/** `debugfs -w -R 'rmdir lost+found' TARGET`: edits the unmounted filesystem directly. */
export function removeLostAndFound(runner: CommandRunner, target: string) {
  return runner.run(['debugfs', '-w', '-R', 'rmdir lost+found', target]);
}

/** `blkid -p -o value -s TAG TARGET`: probes the target itself (no cache). '' when nothing is found (exit 2). */
export async function probeTag(runner: CommandRunner, target: string, tag: 'TYPE' | 'UUID'): Promise<string> {
  const result = await runner.run(['blkid', '-p', '-o', 'value', '-s', tag, target], { readOnly: true, okExitCodes: [2] });
  return result.exitCode === 2 ? '' : result.stdout.trim();
}

/** `xfs_admin -U generate TARGET`: a new UUID, so a copy mounts beside its source (xfs refuses duplicates). */
export function xfsNewUuid(runner: CommandRunner, target: string) {
  return runner.run(['xfs_admin', '-U', 'generate', target]);
}

/** `btrfstune -f -u TARGET`: a new fsid, rewriting the metadata; `-f` skips the confirmation prompt. */
export function btrfsNewUuid(runner: CommandRunner, target: string) {
  return runner.run(['btrfstune', '-f', '-u', target], { timeoutMs: 60 * 60 * 1000 });
}

/**
 * `resize2fs TARGET`: grows an ext2/3/4 filesystem to its device or image file.
 * Online (a mounted device) it needs CAP_SYS_RESOURCE ("Permission denied to resize
 * filesystem" without); offline it wants a fresh `e2fsck -f` first.
 */
export function resize2fs(runner: CommandRunner, target: string) {
  return runner.run(['resize2fs', target], { timeoutMs: 60 * 60 * 1000 });
}

/** `e2fsck -f -p TARGET`: a forced, automatic check (exit 1: errors were corrected, still a success). */
export function e2fsck(runner: CommandRunner, target: string) {
  return runner.run(['e2fsck', '-f', '-p', target], { timeoutMs: 60 * 60 * 1000, okExitCodes: [1] });
}

/** `xfs_growfs MOUNTPOINT`: xfs grows only mounted. */
export function xfsGrowfs(runner: CommandRunner, mountpoint: string) {
  return runner.run(['xfs_growfs', mountpoint], { timeoutMs: 60 * 60 * 1000 });
}

/** `btrfs filesystem resize max MOUNTPOINT` */
export function btrfsResizeMax(runner: CommandRunner, mountpoint: string) {
  return runner.run(['btrfs', 'filesystem', 'resize', 'max', mountpoint], { timeoutMs: 60 * 60 * 1000 });
}
