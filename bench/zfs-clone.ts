/**
 * ZFS snapshot-clone benchmark (issue 4, "Benchmark"): on one zfs-fuse pool on a sparse
 * file (zfs-fuse started here unless a ZFS already answers), with a zfs container `base`
 * made by berth from a small directory tree (its etc/hostname says `base`, so every
 * clone gets its hostname rewritten, as for an LXC-made container):
 *   1. one clone, interleaved: the bare pair `zfs snapshot P/base@x` + `zfs clone -o
 *      canmount=noauto -o mountpoint=none P/base@x P/cN` (the properties the driver clones
 *      with), the same plus the `zfs set mountpoint=` the driver does next,
 *      `berth.copy({ snapshot: true })` in-process (plain, and an instrumented instance that
 *      times every command and the driver's steps), `berth -P LXCPATH copy -s base cN`
 *      (CLI, a process per clone) and `berth --version` (the CLI's start-up floor);
 *   2. 100 clones of one base: 100 sequential bare snapshot+clone pairs against one
 *      `berth copy -s base c1 … c100` and the library with copyConcurrency 1, 4, 16;
 *   3. the commands berth spawns per clone (library: the `command:started` event; CLI:
 *      `-v`, untimed), by kind, against the bare 2.
 * Each sample carries the 1-minute load average. Clones are destroyed after each sample,
 * untimed.
 *
 *   node --import tsx --conditions=berth-source bench/zfs-clone.ts [--runs 11] [--batch 100]
 *        [--batch-runs 3] [--concurrency 1,4,16] [--no-build] [--image-dir DIR] [--cli BIN]
 *
 * Every external command runs with an argv array, never a shell. The timed ones (the bare
 * zfs commands, mount, the CLI) are spawned with plain child_process.spawn (spawnTimed),
 * not execa: execa adds 1.5–2.5 ms per spawn, which would inflate 200 sequential bare
 * commands against one berth process; so every contender pays the same small per-spawn
 * cost. Setup, cleanup and the untimed `-v` runs use execa (run). Everything the run makes
 * (clones, the pool, the zfs-fuse daemon it started, the sparse file, lock dirs, mount
 * anchors) is removed at the end, also on failure or SIGINT/SIGTERM; the run fails if the
 * pool, a mount, the daemon it started or the work directory is left.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  CLI_BIN,
  REPO,
  cliStart,
  checkClean,
  fmtRatio,
  fromCli,
  importFrom,
  load1,
  log,
  makeBerthLib,
  median,
  onCleanup,
  run,
  runCleanups,
  setupZfsPool,
  spawnTimed,
  toolVersion,
  unmountDatasets,
  zfsRetry,
  type BerthLib,
  runBench,
  table,
  measureInterleaved,
  type Contender,
  type Series,
} from './common.js';

// ------------------------------------------------------------------ arguments

interface Args {
  runs: number;
  batch: number;
  batchRuns: number;
  concurrency: number[];
  build: boolean;
  imageDir: string;
  poolSize: number;
  cli: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { runs: 11, batch: 100, batchRuns: 3, concurrency: [1, 4, 16], build: true, imageDir: '/var/tmp', poolSize: 2 * 1024 ** 3, cli: CLI_BIN };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--runs': args.runs = Number.parseInt(value(), 10); break;
      case '--batch': args.batch = Number.parseInt(value(), 10); break;
      case '--batch-runs': args.batchRuns = Number.parseInt(value(), 10); break;
      case '--concurrency': args.concurrency = value().split(',').map((x) => Number.parseInt(x, 10)); break;
      case '--no-build': args.build = false; break;
      case '--image-dir': args.imageDir = resolve(value()); break;
      case '--cli': args.cli = resolve(value()); break;
      case '-h':
      case '--help':
        console.log('usage: node --import tsx --conditions=berth-source bench/zfs-clone.ts [--runs N] [--batch N] [--batch-runs N] [--concurrency 1,4,16] [--no-build] [--image-dir DIR] [--cli BIN]');
        process.exit(0);
      default:
        throw new Error(`unknown argument ${arg}`);
    }
  }
  if (!(args.runs >= 1) || !(args.batchRuns >= 1)) throw new Error('--runs and --batch-runs must be at least 1');
  if (args.concurrency.some((c) => !(c >= 1))) throw new Error('--concurrency takes positive integers');
  return args;
}

// ------------------------------------------------------------------ the testbed

interface Bed {
  pool: string;
  /** The parent dataset of the containers (zfsRoot / lxc.bdev.zfs.root). */
  root: string;
  base: string;
  lxcpath: string;
  /** The system config the library gets; the CLI reads the same from BERTH_LXC_CONF. */
  system: Record<string, unknown>;
  cliEnv: Record<string, string>;
  zfsBin: string;
}

/** Absolute path of a tool, found once (berth's runner spawns by absolute path too: same cost for the bare commands). */
function findTool(tool: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (dir && existsSync(join(dir, tool))) return join(dir, tool);
  }
  return undefined;
}

async function zfsList(bed: Bed, args: string[]): Promise<string[]> {
  const r = await run([bed.zfsBin, 'list', '-H', '-o', 'name', ...args], { reject: false });
  return r.exitCode === 0 ? r.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : [];
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i]!);
  }));
}

/**
 * Untimed, after each sample: every dataset under the root but base (clones), then every
 * snapshot of base, then every container dir but base, base's lxc_snapshots record and
 * stale mount anchors of the pool. Whatever a contender made, or left after a failure.
 */
async function removeClones(bed: Bed): Promise<number> {
  const clones = (await zfsList(bed, ['-t', 'filesystem', '-r', bed.root])).filter((n) => n !== bed.root && n !== bed.base);
  for (const c of clones) await unmountDatasets(c);
  await mapLimit(clones, 4, (c) => zfsRetry([bed.zfsBin, 'destroy', c]));
  const snapshots = await zfsList(bed, ['-t', 'snapshot', '-d', '1', bed.base]);
  await mapLimit(snapshots, 4, (s) => zfsRetry([bed.zfsBin, 'destroy', s]));
  for (const name of await readdir(bed.lxcpath)) {
    if (name !== 'base' && !name.startsWith('.')) await rm(join(bed.lxcpath, name), { recursive: true, force: true });
  }
  await rm(join(bed.lxcpath, 'base', 'lxc_snapshots'), { force: true });
  await removeAnchors(bed.pool);
  return clones.length;
}

/** The driver's private mountpoints (/run/berth/zfs/<dataset, URI-encoded>) of this pool, if empty. */
async function removeAnchors(pool: string): Promise<void> {
  const dir = process.env.BERTH_ZFS_ANCHOR_DIR ?? '/run/berth/zfs';
  const prefix = encodeURIComponent(`${pool}/`);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith(prefix) || name === encodeURIComponent(pool)) await rmdir(join(dir, name)).catch(() => undefined);
  }
}

/** A small rootfs tree: busybox and a few hundred small files; etc/hostname says `base`. */
async function makeTree(dir: string): Promise<void> {
  for (const d of ['bin', 'etc', 'usr/share/doc', 'var/lib', 'tmp']) await mkdir(join(dir, d), { recursive: true });
  if (existsSync('/usr/bin/busybox')) await copyFile('/usr/bin/busybox', join(dir, 'bin/busybox'));
  await writeFile(join(dir, 'etc/hostname'), 'base\n');
  await writeFile(join(dir, 'etc/hosts'), '127.0.0.1 localhost\n127.0.1.1 base\n');
  for (let i = 0; i < 300; i++) await writeFile(join(dir, 'usr/share/doc', `f${i}`), `file ${i}\n`.repeat(20));
  await chmod(join(dir, 'tmp'), 0o1777);
}

function isMounted(dataset: string, at: string): boolean {
  return readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => { const f = l.split(' '); return f[0] === dataset && f[1] === at; });
}

// ------------------------------------------------------------------ command accounting

/** `zfs snapshot`, `zfs get`, `mount`, `zpool list`: the kind of a spawned command. */
const kindOf = (argv: readonly string[]) => {
  const tool = basename(argv[0] ?? '');
  return tool === 'zfs' || tool === 'zpool' ? `${tool} ${argv[1] ?? ''}` : tool;
};

function countKinds(argvs: readonly (readonly string[])[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of argvs) out[kindOf(a)] = (out[kindOf(a)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

/** A plain library instance (berth's own runner) whose `command:started` events are recorded. */
async function makePlainLib(bed: Bed, copyConcurrency: number) {
  const core = await importFrom(fromCli, '@berth/core');
  const { zfsModule } = await importFrom(fromCli, '@berth/storage-zfs');
  const { dirModule } = await importFrom(fromCli, '@berth/storage-dir');
  const { overlayModule } = await importFrom(fromCli, '@berth/storage-overlay');
  const instance = await core.createBerth({ modules: [zfsModule, dirModule, overlayModule], lxcpath: bed.lxcpath, system: bed.system, copyConcurrency });
  const started: (readonly string[])[] = [];
  instance.events.on('command:started', ({ argv }: { argv: readonly string[] }) => started.push(argv));
  return { berth: instance.berth, instance, started };
}

type PlainLib = Awaited<ReturnType<typeof makePlainLib>>;

async function libCopy(lib: { berth: any }, targets: string[]): Promise<void> {
  const outcomes = await lib.berth.copy({ source: 'base', targets, snapshot: true });
  const failed = outcomes.filter((o: any) => !o.ok);
  if (failed.length) throw new Error(`berth.copy failed for ${failed.length} target(s): ${failed[0]!.error?.message}`);
}

/**
 * On the instrumented instance (makeBerthLib's runner times each command): wraps the
 * steps of a clone to time them. Nothing in packages/ changes.
 */
function instrument(lib: BerthLib, spans: { label: string; ms: number }[], active: { on: boolean }): void {
  const wrap = (obj: any, method: string, label: string) => {
    const original = obj[method];
    if (typeof original !== 'function') throw new Error(`cannot instrument ${label}: not a function`);
    obj[method] = async function (this: unknown, ...a: unknown[]) {
      if (!active.on) return original.apply(this, a);
      const t0 = performance.now();
      try {
        return await original.apply(this, a);
      } finally {
        spans.push({ label, ms: performance.now() - t0 });
      }
    };
  };
  const berth = lib.instance.berth;
  const driver = berth.drivers.storageDriver('zfs');
  wrap(berth, 'clone', 'berth.clone (storage + config + hostname + dependency records)');
  wrap(driver, 'snapshot', 'zfs driver snapshot (checks, zfs snapshot, zfs clone, set mountpoint)');
  wrap(berth, 'updateHostname', 'hostname update (mount the clone, edit etc/hostname, unmount)');
  wrap(driver, 'mount', 'driver.mount (in the hostname update)');
  wrap(driver, 'unmount', 'driver.unmount (in the hostname update)');
  wrap(berth, 'summary', 'summary (the outcome: config, records)');
  wrap(berth, 'loadVolume', 'loadVolume (read + parse source config)');
}

// ------------------------------------------------------------------ measurement

type ZfsSeries = Series & { commandsPerClone?: number };

/** Samples return the commands they spawned, when known; clones are destroyed after each. */
async function measure(title: string, contenders: Contender<number | undefined>[], runs: number, bed: Bed, clonesPerSample: number): Promise<ZfsSeries[]> {
  const list: ZfsSeries[] = await measureInterleaved(title, contenders, runs, { cleanUp: async () => void (await removeClones(bed)), commandsOf: (commands) => commands });
  for (const s of list) if (s.commands !== undefined) s.commandsPerClone = s.commands / clonesPerSample;
  return list;
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root (zfs-fuse, mounts)');
  const startedAt = new Date();
  const t0 = performance.now();
  const loadAtStart = loadavg();

  let buildNote = 'skipped (--no-build)';
  if (args.build) {
    log('building: npm run build (tsc -b, then the CLI bundle)');
    const b = await run(['npm', 'run', '--silent', 'build'], { cwd: REPO, reject: false, all: true, timeout: 300_000 });
    buildNote = b.exitCode === 0 ? 'ok' : `failed (exit ${b.exitCode}): ${(b as any).all?.split('\n').slice(0, 5).join(' | ')}`;
    log(`build ${buildNote}`);
  }
  const haveCli = existsSync(args.cli);
  if (!haveCli) log(`${args.cli} does not exist: the CLI is not measured`);
  if (!findTool('zfs-fuse') || !findTool('zfs')) throw new Error('zfs-fuse is not installed (apt-get install zfs-fuse)');

  const env = {
    kernel: release(), cpus: cpus().length, memGiB: Math.round(totalmem() / 1024 ** 3), node: process.version,
    zfs: (await toolVersion(['dpkg-query', '-W', '-f', '${Package} ${Version}', 'zfs-fuse'])) || 'unknown',
    imageHostFs: (await run(['findmnt', '-n', '-o', 'FSTYPE', '--target', args.imageDir])).stdout.trim(),
  };

  const workdir = join(args.imageDir, `berth-zfs-bench.${process.pid}`);
  await mkdir(workdir, { recursive: true });
  onCleanup(`rm ${workdir}`, async () => {
    await rm(workdir, { recursive: true, force: true });
    await rm(join('/run/lxc/lock', workdir), { recursive: true, force: true });
  });

  const report: Record<string, any> = { startedAt: startedAt.toISOString(), args, env, build: buildNote, cli: haveCli ? args.cli : null, loadAtStart };
  let pool: string | undefined;
  let startedDaemon: number | undefined;
  try {
    log(`setting up a ${args.poolSize / 1024 ** 3} GiB zfs pool on a sparse file in ${workdir}`);
    const z = await setupZfsPool(workdir, args.poolSize);
    pool = z.pool;
    startedDaemon = z.startedDaemon;
    report.pool = { name: z.pool, daemon: z.startedDaemon ? `zfs-fuse started by this run (pid ${z.startedDaemon})` : 'already running (not ours)' };
    const root = `${z.pool}/lxc`;
    const lxcpath = join(workdir, 'lxc');
    await mkdir(lxcpath, { mode: 0o755 });
    const zfsBin = findTool('zfs');
    if (!zfsBin) throw new Error('no zfs command on PATH');
    await run([zfsBin, 'create', '-o', 'mountpoint=none', root]);
    onCleanup(`lock dirs of ${lxcpath}`, async () => { await rm(join('/run/lxc/lock', lxcpath), { recursive: true, force: true }); });
    onCleanup(`clones and anchors in ${z.pool}`, async () => {
      await unmountDatasets(z.pool);
      await removeAnchors(z.pool);
    });
    // The CLI reads the same system settings from BERTH_LXC_CONF.
    const defaultConfig = join(workdir, 'default.conf');
    await writeFile(defaultConfig, 'lxc.net.0.type = empty\n');
    const lxcConf = join(workdir, 'lxc.conf');
    await writeFile(lxcConf, `lxc.lxcpath = ${lxcpath}\nlxc.bdev.zfs.root = ${root}\nlxc.default_config = ${defaultConfig}\n`);
    const core = await importFrom(fromCli, '@berth/core');
    const system = { ...core.LXC_DEFAULTS, lxcpath, zfsRoot: root, defaultConfig };
    const bed: Bed = { pool: z.pool, root, base: `${root}/base`, lxcpath, system, cliEnv: { BERTH_LXC_CONF: lxcConf, BERTH_CONFIG: join(workdir, 'no-plugins.json') }, zfsBin };

    // base: a zfs container made by berth from a small tree (untimed).
    const tree = join(workdir, 'tree');
    await makeTree(tree);
    const maker = await makePlainLib(bed, 1);
    await maker.berth.create({ name: 'base', backend: 'zfs', source: { kind: 'directory', path: tree } });
    const baseConfig = await readFile(join(lxcpath, 'base/config'), 'utf8');
    if (!baseConfig.includes(`lxc.rootfs.path = zfs:${bed.base}`)) throw new Error(`berth create did not make a zfs base:\n${baseConfig}`);
    log(`base: ${bed.base} (made by berth create -B zfs from a ${readdirCount(tree)}-entry tree)`);

    const cliArgv = (...rest: string[]) => [...cliStart(args.cli), '-P', lxcpath, ...rest];
    const cli = (...rest: string[]) => spawnTimed(cliArgv(...rest), { env: { ...process.env, ...bed.cliEnv } });
    const lib = await makePlainLib(bed, 1);
    const traced = await makeBerthLib(lxcpath, { zfs: true, system, copyConcurrency: 1 });
    const spans: { label: string; ms: number }[] = [];
    const active = { on: false };
    instrument(traced, spans, active);
    // First calls pay one-off costs (ensureRecovered, the driver probe, lazy imports): untimed.
    for (const l of [lib, traced]) {
      await libCopy(l, ['warmup']);
      const warm = await readFile(join(lxcpath, 'warmup/config'), 'utf8');
      const mp = (await run([zfsBin, 'get', '-H', '-o', 'value', 'mountpoint', `${root}/warmup`])).stdout.trim();
      if (!warm.includes(`zfs:${root}/warmup`) || mp !== join(lxcpath, 'warmup/rootfs')) throw new Error(`the warm-up clone is not as expected (mountpoint ${mp})`);
      await removeClones(bed);
    }

    // ---------------------------------------------------------------- 1: one clone
    const tracedRuns: { ms: number; spans: { label: string; ms: number }[]; commands: { cmd: string; seconds: number }[] }[] = [];
    const libStarted: (readonly string[])[][] = [];
    const bareArgv = (tag: string) => {
      const snap = `${bed.base}@bare-${tag}`;
      return [[zfsBin, 'snapshot', snap], [zfsBin, 'clone', '-o', 'canmount=noauto', '-o', 'mountpoint=none', snap, `${root}/s-${tag}`]];
    };
    const single: Contender<number | undefined>[] = [
      {
        id: 'bare', label: 'zfs snapshot + zfs clone (bare, 2 commands)',
        run: async (tag) => { for (const a of bareArgv(tag)) await spawnTimed(a); return 2; },
      },
      {
        id: 'bare3', label: 'bare + zfs set mountpoint (3 commands)',
        run: async (tag) => {
          for (const a of bareArgv(tag)) await spawnTimed(a);
          await spawnTimed([zfsBin, 'set', `mountpoint=${join(lxcpath, `s-${tag}`, 'rootfs')}`, `${root}/s-${tag}`]);
          return 3;
        },
      },
      {
        // What the driver + hostname update need at least, as bare commands: clone straight
        // to the container's mountpoint (zfs-fuse's clone mounts it there; OpenZFS needs the
        // `zfs mount`), rewrite etc/hostname, unmount. No anchor, no bind mount, no
        // mountpoint set/reset, no existence/quota lookups.
        id: 'lean', label: 'lean: snapshot + clone at home + edit hostname + unmount',
        run: async (tag) => {
          const snap = `${bed.base}@lean-${tag}`;
          const dataset = `${root}/x-${tag}`;
          const home = join(lxcpath, `x-${tag}`, 'rootfs');
          await spawnTimed([zfsBin, 'snapshot', snap]);
          await spawnTimed([zfsBin, 'clone', '-o', 'canmount=noauto', '-o', `mountpoint=${home}`, snap, dataset]);
          let commands = 3;
          if (!isMounted(dataset, home)) { await spawnTimed([zfsBin, 'mount', dataset]); commands++; }
          const hostname = join(home, 'etc/hostname');
          if ((await readFile(hostname, 'utf8')).trim() === 'base') await writeFile(hostname, `x-${tag}\n`);
          await zfsRetry([zfsBin, 'unmount', dataset], { timed: true });
          return commands;
        },
      },
      {
        id: 'berth-lib', label: 'berth.copy snapshot (library)',
        run: async (tag) => {
          const mark = lib.started.length;
          await libCopy(lib, [`b-${tag}`]);
          libStarted.push(lib.started.slice(mark));
          return lib.started.length - mark;
        },
      },
      {
        id: 'berth-lib-traced', label: 'berth.copy (library, instrumented)',
        run: async (tag) => {
          spans.length = 0;
          const mark = traced.commands.length;
          active.on = true;
          const t = performance.now();
          try {
            await libCopy(traced, [`t-${tag}`]);
          } finally {
            active.on = false;
          }
          tracedRuns.push({ ms: performance.now() - t, spans: [...spans], commands: traced.commands.slice(mark) });
          return traced.commands.length - mark;
        },
      },
    ];
    if (haveCli) {
      single.push(
        { id: 'berth-cli', label: `berth copy -s (CLI ${basename(args.cli)})`, run: async (tag) => { await cli('copy', '-s', 'base', `c-${tag}`); return undefined; } },
        { id: 'cli-version', label: `berth --version (start-up floor)`, run: async () => { await cli('--version'); return undefined; } },
      );
    }
    log(`=== one clone, ${args.runs} runs per contender, interleaved`);
    const singleSeries = await measure('one clone', single, args.runs, bed, 1);
    const get = (list: ZfsSeries[], id: string) => list.find((s) => s.id === id);

    // Paired overhead: library minus bare in the same run.
    const paired = (id: string) => {
      const bare = get(singleSeries, 'bare')!;
      const xs = (get(singleSeries, id)?.samples ?? []).flatMap((s) => {
        const b = bare.samples.find((x) => x.run === s.run);
        return b ? [s.ms - b.ms] : [];
      });
      return xs.length ? median(xs) : NaN;
    };
    // Where the instrumented clone's time goes: per step (wrapped methods, inclusive) and per command kind.
    const stepMedians = new Map<string, number[]>();
    const cmdMedians = new Map<string, { ms: number[]; count: number[] }>();
    for (const r of tracedRuns) {
      const steps = new Map<string, number>();
      for (const s of r.spans) steps.set(s.label, (steps.get(s.label) ?? 0) + s.ms);
      steps.set('all spawned commands (sum)', r.commands.reduce((a, c) => a + c.seconds * 1000, 0));
      for (const [k, v] of steps) stepMedians.set(k, [...(stepMedians.get(k) ?? []), v]);
      const kinds = new Map<string, { ms: number; count: number }>();
      for (const c of r.commands) {
        const k = kindOf(c.cmd.split(' '));
        const e = kinds.get(k) ?? { ms: 0, count: 0 };
        e.ms += c.seconds * 1000;
        e.count++;
        kinds.set(k, e);
      }
      for (const [k, v] of kinds) {
        const e = cmdMedians.get(k) ?? { ms: [], count: [] };
        e.ms.push(v.ms);
        e.count.push(v.count);
        cmdMedians.set(k, e);
      }
    }
    const tracedTotal = tracedRuns.length ? median(tracedRuns.map((r) => r.ms)) : NaN;
    report.single = {
      series: singleSeries,
      overhead: { libOverBarePairedMs: paired('berth-lib'), cliOverBarePairedMs: paired('berth-cli') },
      breakdown: {
        method: 'instrumented instance: its runner times each command; berth.clone, the driver\'s snapshot/mount/unmount, updateHostname, summary, loadVolume wrapped (inclusive times)',
        tracedTotalMedianMs: tracedTotal,
        steps: [...stepMedians].map(([label, xs]) => ({ label, medianMs: median(xs) })).sort((a, b) => b.medianMs - a.medianMs),
        commands: [...cmdMedians].map(([kind, e]) => ({ kind, countPerClone: median(e.count), medianMsPerClone: median(e.ms) })).sort((a, b) => b.medianMsPerClone - a.medianMsPerClone),
      },
      libCommandKindsPerClone: libStarted.length ? countKinds(libStarted[libStarted.length - 1]!) : {},
      libCommandsOneClone: libStarted.length ? libStarted[libStarted.length - 1]!.map((a) => a.map((x) => x.replace(workdir, '$W')).join(' ')) : [],
    };

    // ---------------------------------------------------------------- 2: batch
    if (args.batch > 0) {
      const n = args.batch;
      const names = (prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
      const libs = new Map<number, PlainLib>();
      for (const c of args.concurrency) {
        const l = await makePlainLib(bed, c);
        await libCopy(l, ['warmup']);
        await removeClones(bed);
        libs.set(c, l);
      }
      const batchKinds: Record<string, Record<string, number>> = {};
      const batch: Contender<number | undefined>[] = [
        {
          id: 'bare', label: `${n} × (zfs snapshot + zfs clone), sequential`,
          run: async (tag) => {
            for (let i = 1; i <= n; i++) for (const a of bareArgv(`${tag}-${i}`)) await spawnTimed(a);
            return 2 * n;
          },
        },
        ...args.concurrency.map((c): Contender<number | undefined> => ({
          id: `berth-lib-c${c}`, label: `berth.copy, ${n} targets, copyConcurrency ${c}`,
          run: async (tag) => {
            const l = libs.get(c)!;
            const mark = l.started.length;
            await libCopy(l, names(`b${c}${tag}-`));
            batchKinds[`berth-lib-c${c}`] = countKinds(l.started.slice(mark));
            return l.started.length - mark;
          },
        })),
      ];
      if (haveCli) {
        batch.unshift({
          id: 'berth-cli', label: `berth copy -s base c1…c${n} (CLI, one process)`,
          run: async (tag) => { await cli('copy', '-s', 'base', ...names(`c${tag}-`)); return undefined; },
        });
      }
      log(`=== ${n} clones, ${args.batchRuns} runs per contender, interleaved`);
      const batchSeries = await measure(`${n} clones`, batch, args.batchRuns, bed, n);
      const bareMs = get(batchSeries, 'bare')?.medianMs;
      const ratios: Record<string, number> = {};
      for (const s of batchSeries) if (s.id !== 'bare' && s.medianMs && bareMs) ratios[`${s.id}/bare`] = s.medianMs / bareMs;
      report.batch = { clones: n, series: batchSeries, ratios, commandKinds: Object.fromEntries(Object.entries(batchKinds).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([kind, x]) => [kind, x / n]))])) };
    }

    // ---------------------------------------------------------------- 3: CLI commands (untimed, -v)
    if (haveCli) {
      log('=== commands the CLI spawns (untimed, berth -v)');
      const verbose = async (targets: string[]) => {
        const r = await run(cliArgv('-v', 'copy', '-s', 'base', ...targets), { env: bed.cliEnv });
        const argvs = r.stderr.split('\n').filter((l) => l.startsWith('+ ')).map((l) => l.slice(2).split(' '));
        await removeClones(bed);
        return { total: argvs.length, perClone: argvs.length / targets.length, kinds: countKinds(argvs) };
      };
      report.cliCommands = { one: await verbose(['v1']) };
      if (args.batch > 0) report.cliCommands.batch = await verbose(Array.from({ length: args.batch }, (_, i) => `v${i + 1}`));
    }
  } finally {
    await runCleanups();
  }

  // Nothing of the run may be left: the pool, its mounts, the daemon it started, the work directory.
  const leftovers = await checkClean(workdir);
  if (pool) {
    if (readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.startsWith(`${pool} `) || l.startsWith(`${pool}/`))) leftovers.push(`mounts of ${pool}`);
    const pools = await run(['zpool', 'list', '-H', '-o', 'name'], { reject: false });
    if (pools.exitCode === 0 && pools.stdout.split('\n').includes(pool)) leftovers.push(`pool ${pool}`);
  }
  if (startedDaemon !== undefined && existsSync(`/proc/${startedDaemon}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${startedDaemon}/status`, 'utf8'))) leftovers.push(`zfs-fuse ${startedDaemon}`);
  report.leftovers = leftovers;
  // The CLI's commands were counted once, untimed, with -v.
  for (const s of (report.single?.series ?? []) as ZfsSeries[]) if (s.id === 'berth-cli' && report.cliCommands) s.commandsPerClone = report.cliCommands.one.perClone;
  for (const s of (report.batch?.series ?? []) as ZfsSeries[]) if (s.id === 'berth-cli' && report.cliCommands?.batch) s.commandsPerClone = report.cliCommands.batch.perClone;

  report.loadAtEnd = loadavg();
  report.totalSeconds = (performance.now() - t0) / 1000;
  const outDir = join(REPO, 'bench/results');
  await mkdir(outDir, { recursive: true });
  const outFile = join(outDir, `zfs-clone-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(outFile, `${JSON.stringify(report, null, 2)}\n`);
  printReport(report);
  console.log(`\nJSON: ${outFile}`);
  if (leftovers.length) {
    console.log(`LEFTOVERS: ${leftovers.join('; ')}`);
    process.exitCode = 1;
  }
}

function readdirCount(dir: string): number {
  let n = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    for (const e of readdirSync(d, { withFileTypes: true })) { n++; if (e.isDirectory()) stack.push(join(d, e.name)); }
  }
  return n;
}

// ------------------------------------------------------------------ output

const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : x < 10 ? x.toFixed(2) : x < 1000 ? x.toFixed(1) : x.toFixed(0));
const kinds = (k: Record<string, number> | undefined) => (k ? Object.entries(k).map(([name, c]) => `${name} ×${Number.isInteger(c) ? c : c.toFixed(2)}`).join(', ') : '-');

function printReport(r: Record<string, any>): void {
  console.log(`\nberth zfs clone benchmark — ${r.env.kernel}, ${r.env.cpus} CPUs, node ${r.env.node}, ${r.env.zfs}; pool file on ${r.env.imageHostFs}; ${r.pool?.daemon ?? ''}`);
  console.log(`build: ${r.build}; CLI: ${r.cli ?? 'not measured'}; load average at start ${r.loadAtStart.map((x: number) => x.toFixed(2)).join(' ')}, at end ${r.loadAtEnd.map((x: number) => x.toFixed(2)).join(' ')}`);
  if (r.single) {
    const list: ZfsSeries[] = r.single.series;
    const bare = list.find((s) => s.id === 'bare')?.medianMs;
    console.log(`\n## one snapshot clone (${r.args.runs} runs each, interleaved; sync before each, clones destroyed after, untimed)`);
    console.log(table([
      ['', 'median ms', 'min ms', 'max ms', '/bare', 'commands', 'load1 (median)'],
      ...list.map((s) => s.error && !s.samples.length
        ? [s.label, `FAILED: ${s.error}`.slice(0, 70), '', '', '', '', '']
        : [s.label, ms(s.medianMs), ms(s.minMs), ms(s.maxMs), fmtRatio(bare ? s.medianMs! / bare : undefined), s.commandsPerClone === undefined ? '' : String(s.commandsPerClone), s.load1Median!.toFixed(2)]),
    ]));
    const o = r.single.overhead;
    console.log(`overhead over the bare pair (median of paired differences): library ${ms(o.libOverBarePairedMs)} ms, CLI ${ms(o.cliOverBarePairedMs)} ms ("commands" of the CLI: counted with -v, untimed)`);
    console.log(`library commands for one clone: ${kinds(r.single.libCommandKindsPerClone)}`);
    const b = r.single.breakdown;
    console.log(`\n## where berth.copy's time goes (instrumented instance, median of ${r.args.runs} clones: ${ms(b.tracedTotalMedianMs)} ms)`);
    console.log(table([['step (inclusive)', 'median ms'], ...b.steps.map((s: any) => [s.label, ms(s.medianMs)])]));
    console.log('');
    console.log(table([['command', 'per clone', 'median ms (sum)'], ...b.commands.map((c: any) => [c.kind, String(c.countPerClone), ms(c.medianMsPerClone)])]));
  }
  if (r.batch) {
    const list: ZfsSeries[] = r.batch.series;
    const bare = list.find((s) => s.id === 'bare')?.medianMs;
    console.log(`\n## ${r.batch.clones} snapshot clones of one base (${r.args.batchRuns} runs each, interleaved)`);
    console.log(table([
      ['', 'median s', 'min s', 'max s', 'ms/clone', '/bare', 'commands/clone', 'load1 (median)'],
      ...list.map((s) => s.error && !s.samples.length
        ? [s.label, `FAILED: ${s.error}`.slice(0, 70), '', '', '', '', '', '']
        : [s.label, (s.medianMs! / 1000).toFixed(3), (s.minMs! / 1000).toFixed(3), (s.maxMs! / 1000).toFixed(3), ms(s.medianMs! / r.batch.clones), fmtRatio(bare ? s.medianMs! / bare : undefined), s.commandsPerClone === undefined ? '' : s.commandsPerClone.toFixed(2), s.load1Median!.toFixed(2)]),
    ]));
    for (const [id, k] of Object.entries(r.batch.commandKinds ?? {})) console.log(`${id} commands per clone: ${kinds(k as Record<string, number>)}`);
  }
  if (r.cliCommands) {
    console.log('\n## commands the CLI spawns (berth -v, untimed)');
    console.log(`one clone: ${r.cliCommands.one.total} (${kinds(r.cliCommands.one.kinds)})`);
    if (r.cliCommands.batch) console.log(`${r.args.batch} clones: ${r.cliCommands.batch.total}, ${r.cliCommands.batch.perClone.toFixed(2)} per clone (${kinds(r.cliCommands.batch.kinds)})`);
    console.log('bare: 2 per clone (zfs snapshot, zfs clone)');
  }
  console.log(`\ntotal ${r.totalSeconds.toFixed(1)} s`);
}

// ------------------------------------------------------------------ entry

await runBench(main);
