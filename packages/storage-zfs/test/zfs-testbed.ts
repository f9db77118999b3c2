import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecaRunner, describeError, readMounts, type CommandRunner } from '@berth/core';

/**
 * A real ZFS pool for the tests: the zfs-fuse daemon (this kernel has no ZFS module),
 * started here unless one already runs, and a pool on a sparse file. `teardown` destroys
 * the pool, stops the daemon it started (and waits for it to exit) and removes the file;
 * it is safe to call after a half-finished setup.
 */
export interface ZfsTestbed {
  readonly pool: string;
  /** A directory on the host for lxcpaths. */
  readonly workDir: string;
  /** Makes a fresh, empty parent dataset (mountpoint=none) for one test. */
  freshRoot(): Promise<string>;
  /** Destroys a dataset made by freshRoot with everything below it. */
  removeRoot(root: string): Promise<void>;
  teardown(): Promise<void>;
}

const DAEMON_START_TIMEOUT_MS = 20_000;
const DAEMON_STOP_TIMEOUT_MS = 20_000;

export async function makeZfsTestbed(runner: CommandRunner = new ExecaRunner()): Promise<ZfsTestbed> {
  const workDir = await mkdtemp(join(tmpdir(), 'berth-zfs-'));
  const pool = `berthtest${randomBytes(3).toString('hex')}`;
  const image = join(workDir, 'pool.img');
  let daemonPid: number | undefined;
  let poolMade = false;
  let serial = 0;

  const unmountPool = async () => {
    const mounts = (await readMounts()).filter((m) => m.source === pool || m.source.startsWith(`${pool}/`));
    for (const mount of mounts.sort((a, b) => b.mountpoint.length - a.mountpoint.length)) {
      await runner.run(['umount', mount.mountpoint]).catch(() => runner.run(['umount', '--lazy', mount.mountpoint]));
    }
  };

  const teardown = async () => {
    const problems: string[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (error) {
        problems.push(`${what}: ${describeError(error)}`);
      }
    };
    if (poolMade) {
      await attempt('unmount the pool', unmountPool);
      await attempt(`zpool destroy ${pool}`, () => retry(() => runner.run(['zpool', 'destroy', '-f', pool])));
    }
    if (daemonPid !== undefined) {
      const pid = daemonPid;
      await attempt(`stop zfs-fuse ${pid}`, () => stopProcess(pid));
    }
    await attempt(`rm ${workDir}`, () => rm(workDir, { recursive: true, force: true }));
    if (problems.length) throw new Error(`cleanup of the zfs testbed failed: ${problems.join('; ')}`);
  };

  try {
    if (!(await runner.which('zfs-fuse'))) throw new Error('zfs-fuse is not installed (scripts/setup.sh installs it; or apt-get install zfs-fuse)');
    if (!(await zfsAnswers(runner))) {
      const pidfile = join(workDir, 'zfs-fuse.pid');
      // No --enable-xattr: with it zfs-fuse stores ACLs as opaque data (FUSE 2 has no POSIX
      // ACLs), so `cp -a` setting a file's ACL leaves its mode bits wrong; without it xattrs
      // are refused (ENOTSUP) and `cp -a` keeps the modes.
      await runner.run(['zfs-fuse', '--pidfile', pidfile, '--no-kstat-mount'], { timeoutMs: DAEMON_START_TIMEOUT_MS });
      const deadline = Date.now() + DAEMON_START_TIMEOUT_MS;
      while (!existsSync(pidfile) && Date.now() < deadline) await sleep(50);
      daemonPid = Number((await readFile(pidfile, 'utf8')).trim());
      while (!(await zfsAnswers(runner))) {
        if (Date.now() > deadline) throw new Error('zfs-fuse started but zpool does not answer');
        await sleep(100);
      }
    }
    await runner.run(['truncate', '-s', '4G', image]);
    await runner.run(['zpool', 'create', '-m', 'none', '-o', 'cachefile=none', pool, image]);
    poolMade = true;
  } catch (error) {
    await teardown().catch(() => undefined);
    throw error;
  }

  return {
    pool,
    workDir,
    async freshRoot() {
      const root = `${pool}/t${++serial}`;
      await runner.run(['zfs', 'create', '-o', 'mountpoint=none', root]);
      return root;
    },
    async removeRoot(root: string) {
      const mounts = (await readMounts()).filter((m) => m.source.startsWith(`${root}/`) || m.source === root);
      for (const mount of mounts) await runner.run(['umount', mount.mountpoint]).catch(() => undefined);
      await retry(() => runner.run(['zfs', 'destroy', '-r', '-f', root]).catch(() => runner.run(['zfs', 'destroy', '-R', '-f', root])));
    },
    teardown,
  };
}

async function zfsAnswers(runner: CommandRunner): Promise<boolean> {
  try {
    await runner.run(['zpool', 'list', '-H', '-o', 'name'], { readOnly: true, timeoutMs: 5000 });
    return true;
  } catch {
    return false;
  }
}

async function stopProcess(pid: number): Promise<void> {
  const alive = () => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(safeRead(`/proc/${pid}/status`));
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + DAEMON_STOP_TIMEOUT_MS;
  while (alive()) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      await sleep(500);
      return;
    }
    await sleep(100);
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** zfs-fuse answers "busy" for a moment after an unmount. */
async function retry<T>(fn: () => Promise<T>, attempts = 20): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (error) {
      if (i >= attempts) throw error;
      await sleep(250);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
