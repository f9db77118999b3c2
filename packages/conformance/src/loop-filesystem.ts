import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecaRunner, describeError, type CommandRunner } from '@berth/core';
import { mountpointsUnder } from './host-state.js';

/**
 * A real filesystem of a given type on a sparse image and a loop device, mounted under
 * a temporary directory: the testbed for drivers that need their lxcpath on btrfs, xfs…
 * `teardown` unmounts everything below it, detaches the loop device and removes the
 * image, and is safe to call after a half-finished `setup`.
 */
export interface LoopFilesystem {
  readonly fstype: string;
  readonly device: string;
  readonly mountpoint: string;
  teardown(): Promise<void>;
}

export interface LoopFilesystemOptions {
  readonly fstype: 'btrfs' | 'xfs' | 'ext4';
  /** Image size for `truncate -s` (default 1G). */
  readonly size?: string;
  readonly runner?: CommandRunner;
}

/** Whether the kernel can mount `fstype` (loading its module if needed). */
export async function kernelHasFilesystem(fstype: string, runner: CommandRunner = new ExecaRunner()): Promise<boolean> {
  const listed = async () => new RegExp(`\\t${fstype}$`, 'm').test(await readFile('/proc/filesystems', 'utf8'));
  if (await listed()) return true;
  try {
    await runner.run(['modprobe', fstype]);
  } catch {
    return false;
  }
  return listed();
}

export async function makeLoopFilesystem(options: LoopFilesystemOptions): Promise<LoopFilesystem> {
  const runner = options.runner ?? new ExecaRunner();
  const workDir = await mkdtemp(join(tmpdir(), `berth-${options.fstype}-`));
  const image = join(workDir, `${options.fstype}.img`);
  const mountpoint = join(workDir, 'mnt');
  let device: string | undefined;

  const teardown = async () => {
    const problems: string[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (error) {
        problems.push(`${what}: ${describeError(error)}`);
      }
    };
    for (const path of await mountpointsUnder(mountpoint)) await attempt(`umount ${path}`, () => runner.run(['umount', path]));
    if (device) {
      const attached = device;
      await attempt(`losetup -d ${attached}`, () => runner.run(['losetup', '-d', attached]));
    }
    await attempt(`rm ${workDir}`, () => rm(workDir, { recursive: true, force: true }));
    if (problems.length) throw new Error(`cleanup of the ${options.fstype} testbed failed: ${problems.join('; ')}`);
  };

  try {
    await runner.run(['truncate', '-s', options.size ?? '1G', image]);
    device = (await runner.run(['losetup', '-f', '--show', image])).stdout.trim();
    const mkfs = options.fstype === 'ext4' ? ['mkfs.ext4', '-q', '-E', 'lazy_itable_init=0,lazy_journal_init=0', device] : [`mkfs.${options.fstype}`, '-q', device];
    await runner.run(mkfs);
    await mkdir(mountpoint);
    await runner.run(['mount', '-t', options.fstype, device, mountpoint]);
  } catch (error) {
    await teardown().catch(() => undefined);
    throw error;
  }
  return { fstype: options.fstype, device, mountpoint, teardown };
}
