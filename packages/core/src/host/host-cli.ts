import type { CommandRunner, RunOptions } from './runner.js';

/**
 * The host tools the core itself runs, one small function per command. Drivers keep
 * their own tools in their own `*-cli.ts`.
 */

/** `mount --bind` (exit 32: mount failure). */
export function bindMount(runner: CommandRunner, source: string, target: string, readOnly = false) {
  return runner.run(['mount', '--bind', ...(readOnly ? ['-o', 'ro'] : []), source, target]);
}

/** `mount -t TYPE -o OPTIONS SOURCE TARGET` */
export function mount(runner: CommandRunner, fstype: string, source: string, target: string, options: readonly string[] = []) {
  return runner.run(['mount', '-t', fstype, ...(options.length ? ['-o', options.join(',')] : []), source, target]);
}

/** `umount PATH` (exit 32 when not mounted or busy). */
export function umount(runner: CommandRunner, path: string, options: RunOptions = {}) {
  return runner.run(['umount', path], options);
}

/**
 * `cp -a`: owners, modes, hardlinks, xattrs (so ACLs and file capabilities), device
 * nodes, timestamps; symlinks copied as symlinks, never followed; holes kept
 * (`--sparse=auto`); `--reflink=auto` shares extents where the filesystem can (btrfs,
 * xfs), falling back to a copy elsewhere. `--no-target-directory` copies SOURCE's
 * contents onto TARGET, which must not exist yet.
 */
export function copyTreeCp(runner: CommandRunner, source: string, target: string, options: RunOptions & { verbose?: boolean } = {}) {
  return runner.run(
    ['cp', '-a', '--reflink=auto', '--sparse=auto', '--no-target-directory', ...(options.verbose ? ['-v'] : []), source, target],
    { timeoutMs: 6 * 60 * 60 * 1000, ...options },
  );
}

/** `rsync -aHAXS --numeric-ids`: the metadata-preserving copy into an existing tree. */
export function rsyncTree(runner: CommandRunner, source: string, target: string, options: RunOptions = {}) {
  return runner.run(['rsync', '-aHAXS', '--numeric-ids', '--delete', `${source}/`, `${target}/`], { timeoutMs: 6 * 60 * 60 * 1000, ...options });
}

/** `tar -x` of a (possibly gzip/xz-compressed: tar detects it) rootfs tarball, owners and xattrs kept. */
export function extractTarball(runner: CommandRunner, tarball: string, target: string, options: RunOptions = {}) {
  return runner.run(
    ['tar', '--extract', '--file', tarball, '--directory', target, '--numeric-owner', '--same-permissions', '--same-owner', '--xattrs', '--xattrs-include=*', '--acls'],
    { timeoutMs: 6 * 60 * 60 * 1000, ...options },
  );
}
