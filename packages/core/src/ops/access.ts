import { randomBytes } from 'node:crypto';
import { opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { hasDirectAccess, type OperationContext, type StorageDriver, type Volume } from '../contracts/storage.js';
import type { HostFs } from '../host/fs.js';
import { copyTreeCp } from '../host/host-cli.js';
import type { CommandRunner } from '../host/runner.js';

/**
 * Runs `fn` with a volume's files at a host path: the volume's own directory when the
 * driver has direct access, else a temporary mount under `<lxcpath>/.berth/mnt/`
 * (inside the lxcpath, never elsewhere), unmounted afterwards whatever happens.
 */
export async function withRootfs<T>(
  fs: HostFs,
  driver: StorageDriver,
  volume: Volume,
  ctx: OperationContext & { mark?: number },
  scratchRoot: string,
  fn: (path: string) => Promise<T>,
): Promise<T> {
  if (hasDirectAccess(driver)) return fn(driver.hostPath(volume));
  const mountpoint = join(scratchRoot, `${volume.name}-${randomBytes(4).toString('hex')}`);
  await fs.mkdirp(scratchRoot, 0o700);
  await ctx.onUndo({ do: 'removeEmptyDir', path: mountpoint });
  await fs.mkdir(mountpoint, 0o755);
  await ctx.onUndo({ do: 'unmount', path: mountpoint });
  await driver.mount(volume, mountpoint, ctx);
  try {
    return await fn(mountpoint);
  } finally {
    await driver.unmount(volume, mountpoint, ctx);
    await fs.removeEmptyDir(mountpoint);
  }
}

/** Counts the entries of a tree (for a progress total), without following symlinks. */
export async function countEntries(root: string, limit = 5_000_000): Promise<number> {
  let count = 0;
  const stack = [root];
  while (stack.length > 0 && count < limit) {
    const dir = stack.pop()!;
    let handle;
    try {
      handle = await opendir(dir);
    } catch {
      continue;
    }
    for await (const entry of handle) {
      count++;
      if (entry.isDirectory()) stack.push(join(dir, entry.name));
    }
  }
  return count;
}

/**
 * Copies a tree with everything kept (see `copyTreeCp`), reflinking where it can; with
 * `progress`, counts files as `cp -v` reports them.
 */
export async function copyTree(
  runner: CommandRunner,
  source: string,
  target: string,
  ctx: OperationContext,
  progress: boolean,
): Promise<void> {
  if (!progress || runner.dryRun) {
    await copyTreeCp(runner, source, target);
    return;
  }
  const total = await countEntries(source);
  let done = 0;
  let lastReport = 0;
  ctx.progress('copy', 0, total, 'files');
  await copyTreeCp(runner, source, target, {
    verbose: true,
    onStdoutLine: () => {
      done++;
      const now = Date.now();
      if (now - lastReport > 100) {
        lastReport = now;
        ctx.progress('copy', done, total, 'files');
      }
    },
  });
  ctx.progress('copy', total, total, 'files');
}
