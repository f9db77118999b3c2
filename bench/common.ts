/** Shared helpers of the berth benchmarks: commands, loop-mounted host filesystems, containers, cleanup. */
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { lstat, mkdir, open, readdir, rm, statfs, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

// ------------------------------------------------------------------ module loading

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI_BIN = join(REPO, 'packages/cli/dist/berth.cjs');
/** How a CLI entry point starts: the bundle is a program (as a user runs it), tsc's bin.js is run by node. */
export const cliStart = (bin: string): string[] => (bin.endsWith('.cjs') ? [bin] : [process.execPath, bin]);
// bench/ is no workspace package: resolve dependencies the way the packages do.
export const fromCore = createRequire(join(REPO, 'packages/core/package.json'));
export const fromCli = createRequire(join(REPO, 'packages/cli/package.json'));

export async function importFrom(req: NodeRequire, spec: string): Promise<any> {
  return import(pathToFileURL(req.resolve(spec)).href);
}

export type Execa = (file: string, args: readonly string[], options?: Record<string, unknown>) => Promise<{ stdout: string; stderr: string; exitCode?: number }>;
export const { execa } = (await importFrom(fromCore, 'execa')) as { execa: Execa };

// ------------------------------------------------------------------ helpers

export const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** Set on SIGINT/SIGTERM: no new command starts, except the cleanups' own. */
const inCleanup = new AsyncLocalStorage<boolean>();
export const state = { aborted: false };

export async function run(argv: readonly string[], options: Record<string, unknown> = {}) {
  if (state.aborted && !inCleanup.getStore()) throw new Error('interrupted');
  const [file, ...rest] = argv;
  return execa(file!, rest, { stdin: 'ignore', ...options });
}

export interface SpawnTimedOptions {
  /** The child's whole environment (default process.env): not merged into process.env as execa's is. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the child's stdin (else stdin is /dev/null). */
  input?: string;
  /** Killed (SIGTERM) after this long, which fails the run. */
  timeoutMs?: number;
}

/** How much of a timed command's stderr is kept (its end) for the error. */
const STDERR_KEEP = 4096;

/**
 * Runs a command inside a timed region: node's spawn with an argv (no shell, no execa,
 * whose ~2 ms per spawn would weigh on a contender that spawns 100 processes against one
 * that spawns one). stdout is dropped, the last 4 KB of stderr kept. Resolves on exit 0;
 * else rejects with a one-line Error (the argv and stderr's last line) whose `stderr` is
 * the kept tail. Starts nothing after a signal, as `run` (its children are found in /proc).
 */
export function spawnTimed(argv: readonly string[], options: SpawnTimedOptions = {}): Promise<void> {
  if (state.aborted && !inCleanup.getStore()) return Promise.reject(new Error('interrupted'));
  const [file, ...args] = argv;
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'],
      shell: false,
      ...(options.env ? { env: options.env } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    let stderr = '';
    const fail = (why: string) => {
      const last = stderr.trim().split('\n').slice(-1)[0];
      reject(Object.assign(new Error(`${argv.join(' ')}: ${why}${last ? ` — ${last}` : ''}`), { stderr }));
    };
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-STDERR_KEEP); });
    if (options.input !== undefined) {
      child.stdin!.on('error', () => {}); // EPIPE if it exits without reading: its exit code tells
      child.stdin!.end(options.input);
    }
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGTERM'), options.timeoutMs);
    child.on('error', (error) => fail(error.message));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else fail(signal ? `killed by ${signal}${timer && options.timeoutMs !== undefined ? ` (time-boxed at ${options.timeoutMs} ms)` : ''}` : `exit ${code}`);
    });
  });
}

/** This process's own children (ours, and those berth's runner started in-process). */
function childPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** On a signal: stop starting commands, end the children we started, then clean up. */
export async function abortAndCleanUp(): Promise<void> {
  state.aborted = true;
  const deadline = performance.now() + 10_000;
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    for (const pid of childPids()) {
      try { process.kill(pid, signal); } catch { /* gone */ }
    }
    while (childPids().length && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (!childPids().length) break;
  }
  await runCleanups();
}

export async function dropCaches(): Promise<void> {
  await run(['sync']);
  await writeFile('/proc/sys/vm/drop_caches', '3');
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { seconds: (performance.now() - t0) / 1000, value };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The 1-minute load average now (other work on the machine skews timings: report it with them). */
export const load1 = () => loadavg()[0]!;

export const fmt = (s: number | undefined) => (s === undefined || Number.isNaN(s) ? '-' : s < 10 ? s.toFixed(3) : s.toFixed(2));
export const fmtRatio = (r: number | undefined) => (r === undefined || !Number.isFinite(r) ? '-' : `${r.toFixed(2)}x`);

export interface TreeStats { entries: number; files: number; dirs: number; symlinks: number; hardlinked: number; bytes: number }

/** `skip`: paths relative to root left out (a clone's etc/hostname holds its new name). */
export async function treeStats(root: string, skip: readonly string[] = []): Promise<TreeStats> {
  const skipped = new Set(skip.map((p) => join(root, p)));
  const stats: TreeStats = { entries: 0, files: 0, dirs: 0, symlinks: 0, hardlinked: 0, bytes: 0 };
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      if (skipped.has(path)) continue;
      const st = await lstat(path);
      stats.entries++;
      if (st.isDirectory()) { stats.dirs++; stack.push(path); }
      else if (st.isSymbolicLink()) stats.symlinks++;
      else if (st.isFile()) { stats.files++; stats.bytes += st.size; if (st.nlink > 1) stats.hardlinked++; }
    }
  }
  return stats;
}

export async function usedBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return (s.blocks - s.bfree) * s.bsize;
}

export async function toolVersion(argv: string[]): Promise<string> {
  try {
    const r = await run(argv, { reject: false, all: true });
    return (r.stdout || r.stderr).split('\n')[0]!.trim();
  } catch {
    return 'unavailable';
  }
}

// ------------------------------------------------------------------ cleanup stack

export const cleanups: { what: string; fn: () => Promise<void> }[] = [];
export function onCleanup(what: string, fn: () => Promise<void>) {
  cleanups.push({ what, fn });
}
let cleanupChain: Promise<void> = Promise.resolve();

/** Runs (LIFO) the cleanups registered after `downTo`; concurrent callers are serialised. */
export function runCleanups(downTo = 0): Promise<void> {
  const next = cleanupChain.then(async () => {
    while (cleanups.length > downTo) {
      const { what, fn } = cleanups.pop()!;
      try {
        await inCleanup.run(true, fn);
      } catch (error) {
        log(`cleanup ${what} failed: ${(error as Error).message}`);
      }
    }
  });
  cleanupChain = next.catch(() => {});
  return next;
}

export async function umountAllUnder(prefix: string): Promise<void> {
  // Deepest first; lazily if busy.
  for (let pass = 0; pass < 3; pass++) {
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n').map((l) => l.split(' ')[1]?.replace(/\\040/g, ' ')).filter((m): m is string => !!m && (m === prefix || m.startsWith(`${prefix}/`)))
      .sort((a, b) => b.length - a.length);
    if (!mounts.length) return;
    for (const m of mounts) {
      const r = await run(['umount', m], { reject: false });
      if (r.exitCode !== 0) await run(['umount', '-l', m], { reject: false });
    }
  }
}

// ------------------------------------------------------------------ host filesystems

export interface HostFsSetup { fs: string; image: string; device: string; mnt: string; lxcpath: string; plain: string }

export async function setupHostFs(fsType: string, workdir: string, size: number): Promise<HostFsSetup> {
  const image = join(workdir, `${fsType}.img`);
  const mnt = join(workdir, fsType);
  await mkdir(mnt, { recursive: true });
  const handle = await open(image, 'w');
  onCleanup(`rm ${image}`, () => rm(image, { force: true }));
  await handle.truncate(size); // sparse
  await handle.close();
  const device = (await run(['losetup', '--find', '--show', '--direct-io=on', image])).stdout.trim();
  onCleanup(`losetup -d ${device}`, async () => {
    await run(['losetup', '-d', device], { reject: false });
    // After a lazy umount the device detaches (autoclear) only once the fs is released.
    for (let i = 0; i < 100; i++) {
      if (!(await run(['losetup', '-j', image])).stdout.trim()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${device} is still attached to ${image}`);
  });
  const mkfs: Record<string, string[]> = {
    // No lazy init: a background ext4lazyinit thread would write during the timings.
    ext4: ['mkfs.ext4', '-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', device],
    btrfs: ['mkfs.btrfs', '-q', '-f', device],
    xfs: ['mkfs.xfs', '-q', '-f', '-m', 'reflink=1', device],
  };
  await run(mkfs[fsType]!);
  await run(['mount', '-t', fsType, device, mnt]);
  onCleanup(`umount ${mnt}`, () => umountAllUnder(mnt));
  const lxcpath = join(mnt, 'lxc');
  const plain = join(mnt, 'plain');
  await mkdir(lxcpath, { mode: 0o755 });
  await mkdir(plain, { mode: 0o755 });
  // berth's and LXC's per-container locks for this lxcpath live under /run/lxc/lock.
  onCleanup(`lock dirs of ${lxcpath}`, async () => {
    for (const root of ['/run/lxc/lock']) await rm(join(root, lxcpath), { recursive: true, force: true });
  });
  return { fs: fsType, image, device, mnt, lxcpath, plain };
}

/** A dir container `base` as lxc-create would leave it (untimed). */
export async function makeBase(host: HostFsSetup, rootfs: string): Promise<string> {
  const dir = join(host.lxcpath, 'base');
  await mkdir(dir, { mode: 0o770 });
  const baseRootfs = join(dir, 'rootfs');
  await run(['cp', '-a', '--no-target-directory', rootfs, baseRootfs]);
  await writeFile(join(baseRootfs, 'etc/hostname'), 'base\n');
  const config = [
    '# Distribution configuration (made by bench/copy.ts like lxc-create -t download)',
    'lxc.arch = linux64',
    '',
    '# Container specific configuration',
    'lxc.net.0.type = veth',
    'lxc.net.0.link = lxcbr0',
    'lxc.net.0.flags = up',
    'lxc.net.0.hwaddr = 00:16:3e:12:34:56',
    'lxc.apparmor.profile = generated',
    'lxc.apparmor.allow_nesting = 1',
    `lxc.rootfs.path = dir:${baseRootfs}`,
    'lxc.uts.name = base',
    '',
  ].join('\n');
  await writeFile(join(dir, 'config'), config, { mode: 0o640 });
  return baseRootfs;
}

/** Removes a container directory (and any stale record in base's lxc_snapshots). */
export async function removeContainer(host: HostFsSetup, name: string): Promise<void> {
  const dir = join(host.lxcpath, name);
  await umountAllUnder(dir);
  await rm(dir, { recursive: true, force: true });
}

export async function resetBaseRecords(host: HostFsSetup): Promise<void> {
  await rm(join(host.lxcpath, 'base', 'lxc_snapshots'), { force: true });
}

// ------------------------------------------------------------------ berth (library)

export interface CommandTiming { cmd: string; seconds: number }

export interface BerthLib {
  berth: { copy(req: { source: string; targets: string[]; snapshot?: boolean }): Promise<{ name: string; ok: boolean; error?: Error }[]> };
  commands: CommandTiming[];
  /** What createBerth returned (berth, container, runner, events), for instrumentation. */
  instance: { berth: any; container: any; runner: any; events: any };
}

export interface BerthLibOptions {
  /** Register the btrfs driver too: modules [btrfs, dir, overlay], as the CLI ships them. */
  btrfs?: boolean;
  /** Register the zfs driver too: modules [zfs, dir, overlay] (with btrfs: [btrfs, zfs, dir, overlay]). */
  zfs?: boolean;
  /** createBerth's system config (default: /etc/lxc/lxc.conf as read now); zfs needs its zfsRoot. */
  system?: Record<string, unknown>;
  /** createBerth's copyConcurrency (berth's default: 32 snapshot clones, 4 full copies). */
  copyConcurrency?: number;
  /** How the btrfs driver makes subvolumes: 'auto' (ioctls when built, the default) or 'btrfs-progs'. */
  btrfsSubvolumes?: 'auto' | 'btrfs-progs';
}

export async function makeBerthLib(lxcpath: string, options: BerthLibOptions = {}): Promise<BerthLib> {
  const core = await importFrom(fromCli, '@berth/core');
  const { dirModule } = await importFrom(fromCli, '@berth/storage-dir');
  const { overlayModule } = await importFrom(fromCli, '@berth/storage-overlay');
  const modules = [dirModule, overlayModule];
  if (options.zfs) modules.unshift((await importFrom(fromCli, '@berth/storage-zfs')).zfsModule);
  if (options.btrfs) {
    const { createBtrfsModule } = await importFrom(fromCli, '@berth/storage-btrfs');
    modules.unshift(createBtrfsModule({ subvolumes: options.btrfsSubvolumes ?? 'auto' }));
  }
  const commands: CommandTiming[] = [];
  const real = new core.ExecaRunner();
  // Same runner berth uses by default, wrapped to time each external command.
  const runner = {
    dryRun: false,
    async run(argv: readonly string[], options?: unknown) {
      const t0 = performance.now();
      try {
        return await real.run(argv, options);
      } finally {
        commands.push({ cmd: argv.slice(0, 2).join(' '), seconds: (performance.now() - t0) / 1000 });
      }
    },
    which: (tool: string) => real.which(tool),
  };
  const instance = await core.createBerth({
    modules, lxcpath, runner,
    ...(options.system ? { system: options.system } : {}),
    ...(options.copyConcurrency !== undefined ? { copyConcurrency: options.copyConcurrency } : {}),
  });
  return { berth: instance.berth, commands, instance };
}

/**
 * The berth binary raises libuv's thread pool to 32 threads (a clone batch keeps that
 * many snapshots in flight); a bench timing the library in its own process needs the
 * same, and libuv reads it only at start: re-runs this process with it set. Returns
 * true in the parent, which should then do nothing more.
 */
export function rerunWithThreadPool(): boolean {
  if (process.env.UV_THREADPOOL_SIZE) return false;
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    env: { ...process.env, UV_THREADPOOL_SIZE: '32' },
    stdio: 'inherit',
  });
  process.exitCode = child.status ?? 1;
  return true;
}

export async function berthLibCopy(lib: BerthLib, source: string, targets: string[], snapshot: boolean): Promise<void> {
  const outcomes = await lib.berth.copy({ source, targets, snapshot });
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length) throw new Error(`berth copy failed for ${failed.length} target(s): ${failed[0]!.error?.message}`);
}

// ------------------------------------------------------------------ zfs (zfs-fuse)

export interface ZfsPoolSetup {
  pool: string;
  image: string;
  /** The zfs-fuse daemon this run started (stopped by the cleanup), or undefined if one already ran. */
  startedDaemon: number | undefined;
}

/** `zpool list` answers: a ZFS implementation (kernel module or zfs-fuse daemon) is up. */
export async function zfsAnswers(): Promise<boolean> {
  const r = await run(['zpool', 'list', '-H', '-o', 'name'], { reject: false, timeout: 5000 });
  return r.exitCode === 0;
}

function processAlive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the process is gone. */
export async function stopProcess(pid: number, timeoutMs = 20_000): Promise<void> {
  if (!processAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = performance.now() + timeoutMs;
  while (processAlive(pid)) {
    if (performance.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Unmounts every mount of `dataset` and the datasets below it (zfs mounts and bind mounts of them), deepest first. */
export async function unmountDatasets(dataset: string): Promise<void> {
  for (let pass = 0; pass < 3; pass++) {
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' '))
      .filter((f) => f[0] === dataset || f[0]?.startsWith(`${dataset}/`))
      .map((f) => f[1]!.replace(/\\040/g, ' '))
      .sort((a, b) => b.length - a.length);
    if (!mounts.length) return;
    for (const m of mounts) {
      const r = await run(['umount', m], { reject: false });
      if (r.exitCode !== 0) await run(['umount', '-l', m], { reject: false });
    }
  }
}

/**
 * Retries a zfs command that zfs-fuse answers "busy" for a moment after an unmount.
 * `timed`: inside a timed region, each attempt by spawnTimed.
 */
export async function zfsRetry(argv: readonly string[], { attempts = 20, timed = false } = {}): Promise<void> {
  for (let i = 0; ; i++) {
    const stderr = timed
      ? await spawnTimed(argv).then(() => undefined, (error: Error & { stderr?: string }) => error.stderr || error.message)
      : await run(argv, { reject: false }).then((r) => (r.exitCode === 0 ? undefined : r.stderr));
    if (stderr === undefined) return;
    if (i >= attempts || !/busy/i.test(stderr)) throw new Error(`${argv.join(' ')}: ${stderr.trim()}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

/**
 * A ZFS pool on a sparse file in `workdir`, as packages/storage-zfs/test/zfs-testbed.ts
 * makes it: zfs-fuse is started (with a pidfile, no --enable-xattr) unless a ZFS already
 * answers, and the pool gets a unique name. Cleanups (LIFO): destroy the pool (after
 * unmounting everything of it), stop the daemon this run started, remove the file.
 */
export async function setupZfsPool(workdir: string, size: number, prefix = 'berthbench'): Promise<ZfsPoolSetup> {
  const { randomBytes } = await import('node:crypto');
  const pool = `${prefix}${randomBytes(3).toString('hex')}`;
  const image = join(workdir, 'pool.img');
  let startedDaemon: number | undefined;
  if (!(await zfsAnswers())) {
    const pidfile = join(workdir, 'zfs-fuse.pid');
    await run(['zfs-fuse', '--pidfile', pidfile, '--no-kstat-mount'], { timeout: 20_000 });
    const deadline = performance.now() + 20_000;
    while (!existsSync(pidfile) || !readFileSync(pidfile, 'utf8').trim()) {
      if (performance.now() > deadline) throw new Error('zfs-fuse wrote no pidfile');
      await new Promise((r) => setTimeout(r, 50));
    }
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    startedDaemon = pid;
    onCleanup(`stop zfs-fuse ${pid}`, () => stopProcess(pid));
    while (!(await zfsAnswers())) {
      if (performance.now() > deadline) throw new Error('zfs-fuse started but zpool does not answer');
      await new Promise((r) => setTimeout(r, 100));
    }
    log(`started zfs-fuse (pid ${pid})`);
  } else {
    log('a ZFS (zfs-fuse or the module) already answers: using it, not stopping it');
  }
  const handle = await open(image, 'w');
  onCleanup(`rm ${image}`, () => rm(image, { force: true }));
  await handle.truncate(size); // sparse
  await handle.close();
  await run(['zpool', 'create', '-m', 'none', '-o', 'cachefile=none', pool, image]);
  onCleanup(`zpool destroy ${pool}`, async () => {
    await unmountDatasets(pool);
    await zfsRetry(['zpool', 'destroy', '-f', pool]);
  });
  return { pool, image, startedDaemon };
}

export async function checkClean(workdir: string): Promise<string[]> {
  const left: string[] = [];
  const loops = (await run(['losetup', '-a'])).stdout.split('\n').filter((l) => l.includes(workdir));
  if (loops.length) left.push(`loop devices: ${loops.join(', ')}`);
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(workdir));
  if (mounts.length) left.push(`mounts: ${mounts.join(', ')}`);
  if (existsSync(workdir)) left.push(`directory ${workdir}`);
  if (existsSync(join('/run/lxc/lock', workdir))) left.push(`lock directory /run/lxc/lock${workdir}`);
  return left;
}

/**
 * Runs a benchmark's main: everything it registered with onCleanup is undone when it
 * fails, and on SIGINT/SIGTERM (once; the process then exits 130).
 */
export async function runBench(main: () => Promise<void>): Promise<void> {
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      log(`${signal}: cleaning up`);
      abortAndCleanUp().finally(() => process.exit(130));
    });
  }
  try {
    await main();
  } catch (error) {
    await runCleanups();
    console.error(error);
    process.exitCode = 1;
  }
}

/** A plain-text table: the first row is the header, the first column left-aligned, the rest right-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r, ri) => {
    const line = r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    return ri === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

// ------------------------------------------------------------------ interleaved timing

export interface Sample { ms: number; load1: number; order: number; run: number; commands?: number }
export interface Series {
  id: string;
  label: string;
  samples: Sample[];
  error?: string;
  /** The failed sample's last lines of output, and what `diagnose` found. */
  errorDetail?: string[];
  medianMs?: number;
  minMs?: number;
  maxMs?: number;
  load1Median?: number;
  /** Median commands spawned per sample, where the contender's result says. */
  commands?: number;
}

export interface Contender<R> {
  id: string;
  label: string;
  /** Makes its clone(s) or copy, named after `tag`. */
  run(tag: string): Promise<R>;
  /** Untimed, after a successful sample: throws when the result is not what it should be. */
  check?(tag: string): Promise<void>;
  /** Untimed, after a failure: what was left, for the report. */
  diagnose?(tag: string): Promise<string[]>;
}

export interface InterleaveOptions<R> {
  /** Untimed, after every sample whatever happened: removes what it made (undefined after a failure). */
  cleanUp(result: R | undefined): Promise<void>;
  /** The commands a sample spawned, when its result says. */
  commandsOf?(result: R): number | undefined;
}

/** The order of run `r`: rotated by one each run and reversed on odd runs, so no contender is always first or last. */
export function interleavedOrder<T>(items: readonly T[], r: number): T[] {
  const rotated = items.map((_, i) => items[(i + r) % items.length]!);
  return r % 2 ? rotated.reverse() : rotated;
}

/**
 * Times each contender `runs` times, interleaved (the order rotated by one each run and
 * reversed on odd runs), with a `sync` and the 1-minute load read before each sample.
 * A contender that fails once is dropped, with its error. Returns medians, min and max.
 */
export async function measureInterleaved<R>(title: string, contenders: Contender<R>[], runs: number, options: InterleaveOptions<R>): Promise<Series[]> {
  const series = new Map<string, Series>(contenders.map((c) => [c.id, { id: c.id, label: c.label, samples: [] }]));
  for (let r = 0; r < runs; r++) {
    for (const [position, c] of interleavedOrder(contenders, r).entries()) {
      const s = series.get(c.id)!;
      if (s.error) continue;
      const tag = `r${r}`;
      let result: R | undefined;
      try {
        await run(['sync']); // no dirty data of the previous sample in this one's commits
        const load = load1();
        const t0 = performance.now();
        result = await c.run(tag);
        const ms = performance.now() - t0;
        await c.check?.(tag);
        const commands = options.commandsOf?.(result);
        s.samples.push({ ms, load1: load, order: position, run: r, ...(commands !== undefined ? { commands } : {}) });
        log(`${title} run ${r + 1}/${runs} ${c.label}: ${ms.toFixed(1)} ms (load ${load.toFixed(2)})`);
      } catch (error) {
        const e = error as Error & { stderr?: string; stdout?: string };
        const lines = `${e.stderr ?? ''}\n${e.stdout ?? ''}`.split('\n').map((l) => l.trim()).filter(Boolean);
        const first = e.message.split('\n')[0]!;
        const last = e.stderr?.trim().split('\n').slice(-1)[0];
        s.error = last && !first.includes(last) ? `${first} — ${last}` : first; // spawnTimed's message has it
        s.errorDetail = [...lines.slice(-12), ...(c.diagnose ? await c.diagnose(tag).catch((d) => [`diagnosis failed: ${(d as Error).message}`]) : [])];
        log(`${title} ${c.label} FAILED: ${s.error}${s.errorDetail.length ? `\n  ${s.errorDetail.join('\n  ')}` : ''}`);
      } finally {
        await options.cleanUp(result).catch((error) => log(`removing what ${c.label} made failed: ${(error as Error).message}`));
      }
    }
  }
  for (const s of series.values()) {
    const xs = s.samples.map((x) => x.ms);
    if (!xs.length) continue;
    s.medianMs = median(xs);
    s.minMs = Math.min(...xs);
    s.maxMs = Math.max(...xs);
    s.load1Median = median(s.samples.map((x) => x.load1));
    const counted = s.samples.filter((x) => x.commands !== undefined).map((x) => x.commands!);
    if (counted.length) s.commands = median(counted);
  }
  return [...series.values()];
}
