/**
 * LVM thin clone benchmark (issue 6, "Benchmark"). It needs device-mapper: on these
 * machines run it in the LVM test VM, `bash test/vm/run-lvm-tests.sh --bench [options]`,
 * which builds the CLI on the host first and copies the JSON back to bench/results/.
 *
 * In the volume group `lxc` with its thin pool `lxc` (options --vg, --thinpool), with a
 * container `base` made by `lxc-create -B lvm --thinpool … -t busybox` (by berth from the
 * same template if lxc-create fails), 1 GiB ext4 like LXC's default, whose
 * etc/hostname says `base` (so every clone's hostname is rewritten, as LXC does):
 *   1. one snapshot clone, interleaved: the bare `lvcreate -s -kn -ay` of the thin origin
 *      (the driver's one LVM command: a thin snapshot made active, without the
 *      activation-skip flag), LVM's default `lvcreate -s` + the `lvchange -ay -K` needed to
 *      mount it, a "lean" bare sequence (the -kn snapshot, mount, rewrite etc/hostname,
 *      umount: what a clone needs at least), `berth.copy({ snapshot: true })` in-process,
 *      `berth copy -s` (CLI, a process per clone), `berth --version` (the CLI's start-up
 *      floor) and `lxc-copy -s` (which may fail on thin LVM: lxc#968; then its error and
 *      the state of the LV it left are recorded, never a number);
 *   2. one full copy, interleaved: `berth copy` (CLI), `berth.copy` (library) and
 *      `lxc-copy` (a new LV of the source's size, mkfs, rsync), all into the same pool.
 * Times are medians over N runs; under qemu TCG absolute times mean little, the ratios
 * are the figures. `sync` before each sample; after it, untimed, every LV, mount and
 * container the sample made is removed. Commands counted: the library's through its
 * `command:started` event, the CLI's once with -v (untimed).
 *
 *   node --import tsx --conditions=berth-source bench/lvm-clone.ts [--runs 5] [--full-runs N]
 *        [--vg lxc] [--thinpool lxc] [--cli BIN] [--work-dir DIR] [--out-dir DIR]
 *
 * No build here (the VM's root is read-only): build first (`pnpm run build`; the VM runner
 * does it). Every external command runs with an argv array, never a shell. The timed ones
 * (lvcreate, lvchange, mount, umount, lxc-copy, the CLI) are spawned with plain
 * child_process.spawn (spawnTimed), not execa: execa adds 1.5–2.5 ms per spawn, more per
 * command for a contender that spawns several than for one berth process; so every
 * contender pays the same small per-spawn cost. Setup, cleanup, warm-up, lxc-copy's debug
 * rerun and the untimed `-v` runs use execa (run). Everything the run makes (LVs, mounts,
 * containers, the work directory, lock dirs) is removed at the end, also on failure or
 * SIGINT/SIGTERM; the run fails if any of it is left.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  CLI_BIN,
  REPO,
  cliStart,
  fmtRatio,
  fromCli,
  importFrom,
  load1,
  log,
  median,
  onCleanup,
  run,
  runBench,
  runCleanups,
  spawnTimed,
  toolVersion,
  umountAllUnder,
  table,
  measureInterleaved,
  type Contender,
  type Series,
} from './common.js';

// ------------------------------------------------------------------ arguments

interface Args {
  runs: number;
  fullRuns: number;
  vg: string;
  thinpool: string;
  cli: string;
  workDir: string;
  outDir: string;
  baseSize: string;
}

const USAGE = 'usage: node --import tsx --conditions=berth-source bench/lvm-clone.ts [--runs N] [--full-runs N] [--vg VG] [--thinpool LV] [--cli BIN] [--work-dir DIR] [--out-dir DIR] [--base-size SIZE]';

function parseArgs(argv: string[]): Args {
  const args: Args = { runs: 5, fullRuns: 0, vg: 'lxc', thinpool: 'lxc', cli: CLI_BIN, workDir: process.env.TMPDIR || tmpdir(), outDir: join(REPO, 'bench/results'), baseSize: '1G' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--runs': args.runs = Number.parseInt(value(), 10); break;
      case '--full-runs': args.fullRuns = Number.parseInt(value(), 10); break;
      case '--vg': args.vg = value(); break;
      case '--thinpool': args.thinpool = value(); break;
      case '--cli': args.cli = resolve(value()); break;
      case '--work-dir': args.workDir = resolve(value()); break;
      case '--out-dir': args.outDir = resolve(value()); break;
      case '--base-size': args.baseSize = value(); break;
      case '-h':
      case '--help':
        console.log(USAGE);
        process.exit(0);
      default:
        throw new Error(`unknown argument ${arg}\n${USAGE}`);
    }
  }
  if (!args.fullRuns) args.fullRuns = args.runs;
  if (!(args.runs >= 1) || !(args.fullRuns >= 1)) throw new Error('--runs and --full-runs must be at least 1');
  return args;
}

// ------------------------------------------------------------------ the testbed

interface Bed {
  vg: string;
  pool: string;
  workdir: string;
  lxcpath: string;
  /** Mountpoints of the bare sequences. */
  plain: string;
  /** LVs of the VG before the run (never touched). */
  lvsBefore: Set<string>;
  cliEnv: Record<string, string>;
  system: Record<string, unknown>;
}

interface LvRow { name: string; attr: string; pool: string; sizeBytes: number }

async function listLvs(vg: string): Promise<LvRow[]> {
  const r = await run(['lvs', '--noheadings', '--nosuffix', '--units', 'b', '--separator', '|', '--options', 'lv_name,lv_attr,pool_lv,lv_size', vg]);
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const [name = '', attr = '', pool = '', size = ''] = l.split('|').map((f) => f.trim());
    return { name, attr, pool, sizeBytes: Number(size) };
  });
}

/** LVs this run made (all but those there before and LVM's hidden ones). */
async function ourLvs(bed: Bed): Promise<LvRow[]> {
  return (await listLvs(bed.vg)).filter((l) => !bed.lvsBefore.has(l.name) && !l.name.startsWith('['));
}

/**
 * Untimed, after each sample: unmounts everything under the work directory, removes every
 * LV of the run but base, every container dir but base (and berth's own `.berth`), base's
 * lxc_snapshots record and the bare sequences' mountpoints.
 */
async function removeClones(bed: Bed): Promise<string[]> {
  await umountAllUnder(bed.workdir);
  const removed: string[] = [];
  for (const lv of await ourLvs(bed)) {
    if (lv.name === 'base') continue;
    await run(['lvremove', '--force', `${bed.vg}/${lv.name}`]);
    removed.push(lv.name);
  }
  for (const name of await readdir(bed.lxcpath)) {
    if (name !== 'base' && !name.startsWith('.')) await rm(join(bed.lxcpath, name), { recursive: true, force: true });
  }
  await rm(join(bed.lxcpath, 'base', 'lxc_snapshots'), { force: true });
  for (const name of await readdir(bed.plain)) await rmdir(join(bed.plain, name)).catch(() => undefined);
  return removed;
}

/** `<lxcpath>/<name>/config`'s lxc.rootfs.path. */
async function rootfsPath(bed: Bed, name: string): Promise<string | undefined> {
  const config = await readFile(join(bed.lxcpath, name, 'config'), 'utf8').catch(() => '');
  return /^lxc\.rootfs\.path\s*=\s*(.*)$/m.exec(config)?.[1]?.trim();
}

/** A copy must be an LV of the bench's pool named by its config: checked untimed after each copy. */
async function checkCopy(bed: Bed, name: string, expectPool = true): Promise<void> {
  const path = await rootfsPath(bed, name);
  if (path !== `lvm:/dev/${bed.vg}/${name}`) throw new Error(`${name}: lxc.rootfs.path is ${JSON.stringify(path)}, not lvm:/dev/${bed.vg}/${name}`);
  const lv = (await listLvs(bed.vg)).find((l) => l.name === name);
  if (!lv) throw new Error(`${name}: no LV ${bed.vg}/${name}`);
  if (expectPool && lv.pool !== bed.pool) throw new Error(`${name}: LV ${bed.vg}/${name} is not in the thin pool ${bed.pool} (attr ${lv.attr}, pool ${lv.pool || 'none'})`);
}

/** Removes `dir` and its empty parents up to (not including) `stop`. */
async function rmdirUp(dir: string, stop: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  for (let d = dirname(dir); d.startsWith(`${stop}/`); d = dirname(d)) {
    try { await rmdir(d); } catch { return; }
  }
}

// ------------------------------------------------------------------ library

async function makeLib(bed: Bed) {
  const core = await importFrom(fromCli, '@berth/core');
  const { lvmModule } = await importFrom(fromCli, '@berth/storage-lvm');
  const { dirModule } = await importFrom(fromCli, '@berth/storage-dir');
  const { overlayModule } = await importFrom(fromCli, '@berth/storage-overlay');
  // berth's own runner, wrapped to time each command it spawns (what createBerth makes by default otherwise).
  const started: (readonly string[])[] = [];
  const timings: { argv: readonly string[]; ms: number }[] = [];
  const real = new core.ExecaRunner((argv: readonly string[]) => started.push(argv));
  const runner = {
    dryRun: false,
    async run(argv: readonly string[], options?: unknown) {
      const t = performance.now();
      try {
        return await real.run(argv, options);
      } finally {
        timings.push({ argv, ms: performance.now() - t });
      }
    },
    which: (tool: string) => real.which(tool),
  };
  const instance = await core.createBerth({ modules: [lvmModule, dirModule, overlayModule], lxcpath: bed.lxcpath, system: bed.system, copyConcurrency: 1, runner });
  return { berth: instance.berth, started, timings };
}

type Lib = Awaited<ReturnType<typeof makeLib>>;

/** Per kind of command (lvs, lvcreate, mount…): how many one copy spawned and their summed time. */
type CommandKinds = Record<string, { count: number; ms: number }>;

async function libCopy(lib: Lib, source: string, target: string, snapshot: boolean, kinds?: CommandKinds[]): Promise<number> {
  const mark = lib.started.length;
  const timed = lib.timings.length;
  const outcomes = await lib.berth.copy({ source, targets: [target], ...(snapshot ? { snapshot: true } : {}) });
  const failed = outcomes.filter((o: any) => !o.ok);
  if (failed.length) throw new Error(`berth.copy failed: ${failed[0]!.error?.message}`);
  if (kinds) {
    const one: CommandKinds = {};
    for (const { argv, ms } of lib.timings.slice(timed)) {
      const k = (one[kindOf(argv)] ??= { count: 0, ms: 0 });
      k.count++;
      k.ms += ms;
    }
    kinds.push(one);
  }
  return lib.started.length - mark;
}

/** Medians over the runs, per kind, and of the sum over all commands. */
function commandBreakdown(runs: CommandKinds[]): { kind: string; count: number; medianMs: number }[] {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  const rows = names.map((kind) => ({ kind, count: median(runs.map((r) => r[kind]?.count ?? 0)), medianMs: median(runs.map((r) => r[kind]?.ms ?? 0)) }));
  rows.sort((a, b) => b.medianMs - a.medianMs);
  if (runs.length) rows.push({ kind: 'all spawned commands', count: median(runs.map((r) => Object.values(r).reduce((a, k) => a + k.count, 0))), medianMs: median(runs.map((r) => Object.values(r).reduce((a, k) => a + k.ms, 0))) });
  return rows;
}

const kindOf = (argv: readonly string[]) => basename(argv[0] ?? '');
function countKinds(argvs: readonly (readonly string[])[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of argvs) out[kindOf(a)] = (out[kindOf(a)] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

// ------------------------------------------------------------------ measurement

/** Samples return the commands they spawned, when known; LVs and containers are removed after each. */
function measure(title: string, contenders: Contender<number | undefined>[], runs: number, bed: Bed): Promise<Series[]> {
  return measureInterleaved(title, contenders, runs, { cleanUp: async () => void (await removeClones(bed)), commandsOf: (commands) => commands });
}

const get = (list: Series[], id: string) => list.find((s) => s.id === id);
function ratio(list: Series[], a: string, b: string): number | undefined {
  const x = get(list, a)?.medianMs;
  const y = get(list, b)?.medianMs;
  return x !== undefined && y ? x / y : undefined;
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root (LVM, mounts)');
  if (!existsSync('/dev/mapper/control')) throw new Error('no device-mapper here (/dev/mapper/control is missing): run it in the VM, bash test/vm/run-lvm-tests.sh --bench');
  const startedAt = new Date();
  const t0 = performance.now();
  const haveCli = existsSync(args.cli);
  if (!haveCli) log(`${args.cli} does not exist (build first: pnpm run build): the CLI is not measured`);

  const pools = await listLvs(args.vg).catch((error) => { throw new Error(`no volume group ${args.vg}: ${(error as Error).message}`); });
  if (!pools.find((l) => l.name === args.thinpool)?.attr.startsWith('t')) throw new Error(`${args.vg}/${args.thinpool} is not a thin pool`);
  if (pools.some((l) => l.name === 'base')) throw new Error(`${args.vg}/base exists already: the bench makes its own base`);

  // The CLI loader compiles its bundle with a V8 code cache made by the build; the VM cannot rewrite a rejected one.
  const bundle = join(dirname(args.cli), 'berth-bundle.cjs');
  let cliCodeCache = 'none';
  if (haveCli && existsSync(`${bundle}.cache`)) {
    const probe = "const{readFileSync:r}=require('node:fs');const{Script}=require('node:vm');const{wrap}=require('node:module');const b=process.argv[1];" +
      "console.log(new Script(wrap(r(b,'utf8')),{filename:b,cachedData:r(b+'.cache')}).cachedDataRejected?'rejected':'accepted')";
    cliCodeCache = (await run([process.execPath, '-e', probe, bundle], { reject: false })).stdout.trim() || 'unknown';
  }
  const env = {
    cliCodeCache,
    kernel: release(), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', memGiB: Math.round(totalmem() / 1024 ** 3), node: process.version,
    lvm: await toolVersion(['lvm', 'version']), lxc: await toolVersion(['lxc-copy', '--version']), rsync: await toolVersion(['rsync', '--version']),
    workDirFs: (await run(['findmnt', '-n', '-o', 'FSTYPE', '--target', args.workDir])).stdout.trim(),
    cli: haveCli ? { path: args.cli, mtime: statSync(args.cli).mtime.toISOString() } : null,
    gitHead: (await run(['git', '-C', REPO, 'rev-parse', '--short', 'HEAD'], { reject: false })).stdout.trim() || 'unknown',
    gitModifiedFiles: (await run(['git', '-C', REPO, 'status', '--porcelain', '--untracked-files=no'], { reject: false })).stdout.split('\n').filter(Boolean).length,
  };

  const workdir = join(args.workDir, `berth-lvm-bench.${process.pid}`);
  const lxcpath = join(workdir, 'lxc');
  const plain = join(workdir, 'plain');
  await mkdir(lxcpath, { recursive: true, mode: 0o755 });
  await mkdir(plain, { mode: 0o755 });
  onCleanup(`rm ${workdir}`, async () => {
    await umountAllUnder(workdir);
    await rm(workdir, { recursive: true, force: true });
    await rmdirUp(join('/run/lxc/lock', lxcpath), '/run/lxc/lock');
  });
  const defaultConfig = join(workdir, 'default.conf');
  await writeFile(defaultConfig, 'lxc.net.0.type = empty\n');
  const lxcConf = join(workdir, 'lxc.conf');
  await writeFile(lxcConf, `lxc.lxcpath = ${lxcpath}\nlxc.bdev.lvm.vg = ${args.vg}\nlxc.bdev.lvm.thin_pool = ${args.thinpool}\nlxc.default_config = ${defaultConfig}\n`);
  const core = await importFrom(fromCli, '@berth/core');
  const bed: Bed = {
    vg: args.vg, pool: args.thinpool, workdir, lxcpath, plain,
    lvsBefore: new Set(pools.map((l) => l.name)),
    cliEnv: { BERTH_LXC_CONF: lxcConf, BERTH_CONFIG: join(workdir, 'no-plugins.json') },
    system: { ...core.LXC_DEFAULTS, lxcpath, lvmVg: args.vg, lvmThinPool: args.thinpool, defaultConfig },
  };
  // Registered after the work directory's: runs first (LIFO).
  onCleanup('LVs of the run', async () => {
    await removeClones(bed);
    for (const lv of await ourLvs(bed)) await run(['lvremove', '--force', `${bed.vg}/${lv.name}`], { reject: false });
  });

  const report: Record<string, any> = { startedAt: startedAt.toISOString(), args, env, loadAtStart: loadavg() };
  try {
    // ---------------------------------------------------------------- base (untimed)
    const baseConf = join(workdir, 'base.conf');
    await writeFile(baseConf, 'lxc.net.0.type = empty\n');
    // LXC reads its VG and pool for copies from /etc/lxc/lxc.conf (default lxc/lxc): tell when they differ.
    const lxcSystem = await core.readSystemConfig('/etc/lxc/lxc.conf');
    const lxcMatches = lxcSystem.lvmVg === args.vg && lxcSystem.lvmThinPool === args.thinpool;
    const created = await run(['lxc-create', '-P', lxcpath, '-n', 'base', '-B', 'lvm', '--vgname', args.vg, '--thinpool', args.thinpool, '--fssize', args.baseSize, '-t', 'busybox', '-f', baseConf], { reject: false, all: true });
    let madeBy = `lxc-create -B lvm --vgname ${args.vg} --thinpool ${args.thinpool} --fssize ${args.baseSize} -t busybox`;
    let lxcCreateError: string | undefined;
    if (created.exitCode !== 0 || (await rootfsPath(bed, 'base')) !== `lvm:/dev/${args.vg}/base`) {
      lxcCreateError = `exit ${created.exitCode}: ${((created as any).all as string ?? '').trim().split('\n').slice(-6).join(' | ')}`;
      log(`lxc-create failed (${lxcCreateError}); making base with berth from the busybox template`);
      await removeClones(bed);
      for (const lv of await ourLvs(bed)) await run(['lvremove', '--force', `${args.vg}/${lv.name}`]);
      await rm(join(lxcpath, 'base'), { recursive: true, force: true });
      const maker = await makeLib(bed);
      await maker.berth.create({ name: 'base', backend: 'lvm', options: { fssize: args.baseSize }, source: { kind: 'template', template: 'busybox', args: [] } });
      madeBy = `berth.create lvm fssize ${args.baseSize} from the busybox template (lxc-create failed)`;
    }
    await checkCopy(bed, 'base');
    // etc/hostname says base (the busybox template writes none): every clone rewrites it, as LXC does.
    const baseMnt = join(plain, 'base-mnt');
    await mkdir(baseMnt);
    await run(['mount', `/dev/${args.vg}/base`, baseMnt]);
    let entries = 0;
    try {
      await writeFile(join(baseMnt, 'etc/hostname'), 'base\n');
      entries = Number((await run(['find', baseMnt, '-xdev'])).stdout.split('\n').filter(Boolean).length) - 1;
    } finally {
      await run(['umount', baseMnt]);
      await rmdir(baseMnt);
    }
    const baseLv = (await listLvs(args.vg)).find((l) => l.name === 'base')!;
    const fstype = (await run(['blkid', '-p', '-o', 'value', '-s', 'TYPE', `/dev/${args.vg}/base`])).stdout.trim();
    report.base = { madeBy, lxcCreateError, lv: `${args.vg}/base`, attr: baseLv.attr, sizeBytes: baseLv.sizeBytes, fstype, entries, lxcSystemVgPool: `${lxcSystem.lvmVg}/${lxcSystem.lvmThinPool}` };
    log(`base: ${madeBy}; ${fstype}, ${baseLv.sizeBytes} bytes, ${entries} entries`);
    if (!lxcMatches) log(`/etc/lxc/lxc.conf names ${lxcSystem.lvmVg}/${lxcSystem.lvmThinPool}: lxc-copy's full copies land there, not in ${args.vg}/${args.thinpool}`);

    const cliArgv = (...rest: string[]) => [...cliStart(args.cli), '-P', lxcpath, ...rest];
    const cli = (...rest: string[]) => spawnTimed(cliArgv(...rest), { env: { ...process.env, ...bed.cliEnv } });
    const lib = await makeLib(bed);
    // First calls pay one-off costs (recovery, the driver probe, lazy imports, the page cache): untimed.
    await libCopy(lib, 'base', 'warmup', true);
    await checkCopy(bed, 'warmup');
    await removeClones(bed);
    if (haveCli) {
      await run(cliArgv('copy', '-s', 'base', 'warmup'), { env: bed.cliEnv });
      await checkCopy(bed, 'warmup');
      await removeClones(bed);
    }

    const lvState = async (name: string) => {
      const lv = (await listLvs(args.vg)).find((l) => l.name === name);
      const dir = existsSync(join(lxcpath, name)) ? `container dir ${name}/ left (${(await readdir(join(lxcpath, name))).join(', ')})` : `no container dir ${name}/`;
      return [lv ? `LV ${args.vg}/${name} left: attr ${lv.attr} (${lv.attr[4] === 'a' ? 'active' : 'inactive'}${lv.attr[9] === 'k' ? ', activation skip' : ''})` : `no LV ${args.vg}/${name} left`, dir];
    };

    /** After an lxc-copy failure (untimed): the same copy again with LXC's debug log, for its reasons. */
    const lxcCopyDebug = async (tag: string, extra: string[]) => {
      await removeClones(bed);
      const logfile = join(workdir, `lxc-copy-${tag}.log`);
      const name = `d-${tag}`;
      const r = await run(['lxc-copy', '-P', lxcpath, '-n', 'base', '-N', name, ...extra, '-l', 'DEBUG', '-o', logfile], { reject: false });
      const text = await readFile(logfile, 'utf8').catch(() => '');
      await rm(logfile, { force: true });
      const lines = text.split('\n')
        .filter((l) => /\b(ERROR|WARN)\b|lvcreate|lvchange|activat|mount/i.test(l))
        .map((l) => l.replace(/^\S+\s+\S+\s+\d+\.\d+\s+/, '').trim())
        .slice(-14);
      return [`again with -l DEBUG: exit ${r.exitCode}; ${(await lvState(name)).join('; ')}; from its log:`, ...lines.map((l) => `  ${l}`)];
    };

    // ---------------------------------------------------------------- 1: one snapshot clone
    const origin = `${args.vg}/base`;
    const snapshotKinds: CommandKinds[] = [];
    const fullKinds: CommandKinds[] = [];
    const single: Contender<number | undefined>[] = [
      {
        id: 'bare', label: 'lvcreate -s -kn -ay (bare, the driver\'s LVM command)',
        run: async (tag) => { await spawnTimed(['lvcreate', '--yes', '--snapshot', '--setactivationskip', 'n', '--activate', 'y', '--name', `s-${tag}`, origin]); return 1; },
        check: async (tag) => { if ((await listLvs(args.vg)).find((l) => l.name === `s-${tag}`)?.attr[4] !== 'a') throw new Error(`s-${tag} is not active`); },
      },
      {
        id: 'bare-K', label: 'lvcreate -s + lvchange -ay -K (bare, LVM\'s default + activation)',
        run: async (tag) => {
          await spawnTimed(['lvcreate', '--yes', '--snapshot', '--name', `k-${tag}`, origin]);
          await spawnTimed(['lvchange', '--activate', 'y', '--ignoreactivationskip', `${args.vg}/k-${tag}`]);
          return 2;
        },
        check: async (tag) => { if ((await listLvs(args.vg)).find((l) => l.name === `k-${tag}`)?.attr[4] !== 'a') throw new Error(`k-${tag} is not active`); },
      },
      {
        // The least a clone with its hostname rewritten needs, as bare commands.
        id: 'lean', label: 'lean: lvcreate -s -kn -ay + mount + edit hostname + umount',
        run: async (tag) => {
          const name = `x-${tag}`;
          await spawnTimed(['lvcreate', '--yes', '--snapshot', '--setactivationskip', 'n', '--activate', 'y', '--name', name, origin]);
          const at = join(plain, name);
          await mkdir(at);
          await spawnTimed(['mount', `/dev/${args.vg}/${name}`, at]);
          const hostname = join(at, 'etc/hostname');
          if ((await readFile(hostname, 'utf8')).trim() === 'base') await writeFile(hostname, `${name}\n`);
          await spawnTimed(['umount', at]);
          await rmdir(at);
          return 3;
        },
      },
      {
        id: 'berth-lib', label: 'berth.copy({ snapshot: true }) (library)',
        run: (tag) => libCopy(lib, 'base', `b-${tag}`, true, snapshotKinds),
        check: (tag) => checkCopy(bed, `b-${tag}`),
      },
    ];
    if (haveCli) {
      single.push(
        { id: 'berth-cli', label: `berth copy -s (CLI ${basename(args.cli)})`, run: async (tag) => { await cli('copy', '-s', 'base', `c-${tag}`); return undefined; }, check: (tag) => checkCopy(bed, `c-${tag}`) },
        { id: 'cli-version', label: 'berth --version (CLI start-up floor)', run: async () => { await cli('--version'); return undefined; } },
      );
    }
    single.push({
      id: 'lxc-copy', label: 'lxc-copy -s',
      run: async (tag) => { await spawnTimed(['lxc-copy', '-P', lxcpath, '-n', 'base', '-N', `l-${tag}`, '-s']); return undefined; },
      check: async (tag) => {
        await checkCopy(bed, `l-${tag}`);
        const lv = (await listLvs(args.vg)).find((l) => l.name === `l-${tag}`)!;
        if (lv.attr[4] !== 'a') throw new Error(`lxc-copy -s reported success but its LV ${args.vg}/l-${tag} is inactive (attr ${lv.attr}): not mountable as is`);
      },
      diagnose: async (tag) => [...(await lvState(`l-${tag}`)), ...(await lxcCopyDebug(tag, ['-s']))],
    });
    log(`=== one snapshot clone, ${args.runs} runs per contender, interleaved`);
    const singleSeries = await measure('snapshot clone', single, args.runs, bed);
    const singleRatios: Record<string, number | undefined> = {};
    for (const s of singleSeries) if (s.id !== 'bare' && s.medianMs) singleRatios[`${s.id}/bare`] = ratio(singleSeries, s.id, 'bare');
    for (const id of ['berth-lib', 'berth-cli']) singleRatios[`${id}/lean`] = ratio(singleSeries, id, 'lean');
    for (const id of ['berth-lib', 'berth-cli']) singleRatios[`${id}/lxc-copy`] = ratio(singleSeries, id, 'lxc-copy');
    const lxcSnap = get(singleSeries, 'lxc-copy')!;
    report.single = {
      series: singleSeries,
      ratios: Object.fromEntries(Object.entries(singleRatios).filter(([, v]) => v !== undefined)),
      libCommands: commandBreakdown(snapshotKinds),
      lxcCopySnapshot: lxcSnap.error ? { ok: false, error: lxcSnap.error, detail: lxcSnap.errorDetail } : { ok: true },
    };

    // ---------------------------------------------------------------- 2: one full copy
    const full: Contender<number | undefined>[] = [
      {
        id: 'berth-lib', label: 'berth.copy (library)',
        run: (tag) => libCopy(lib, 'base', `g-${tag}`, false, fullKinds),
        check: (tag) => checkCopy(bed, `g-${tag}`),
      },
      {
        id: 'lxc-copy', label: 'lxc-copy (new LV + rsync)',
        run: async (tag) => { await spawnTimed(['lxc-copy', '-P', lxcpath, '-n', 'base', '-N', `m-${tag}`]); return undefined; },
        check: (tag) => checkCopy(bed, `m-${tag}`),
        diagnose: async (tag) => [...(await lvState(`m-${tag}`)), ...(await lxcCopyDebug(tag, []))],
      },
    ];
    if (haveCli) full.unshift({ id: 'berth-cli', label: `berth copy (CLI ${basename(args.cli)})`, run: async (tag) => { await cli('copy', 'base', `f-${tag}`); return undefined; }, check: (tag) => checkCopy(bed, `f-${tag}`) });
    log(`=== one full copy, ${args.fullRuns} runs per contender, interleaved`);
    const fullSeries = await measure('full copy', full, args.fullRuns, bed);
    const fullRatios: Record<string, number | undefined> = {
      'berth-cli/lxc-copy': ratio(fullSeries, 'berth-cli', 'lxc-copy'),
      'berth-lib/lxc-copy': ratio(fullSeries, 'berth-lib', 'lxc-copy'),
    };
    report.full = {
      series: fullSeries,
      ratios: Object.fromEntries(Object.entries(fullRatios).filter(([, v]) => v !== undefined)),
      libCommands: commandBreakdown(fullKinds),
    };

    // ---------------------------------------------------------------- 3: the CLI's commands (untimed, -v)
    if (haveCli) {
      const verbose = async (...rest: string[]) => {
        const r = await run(cliArgv('-v', 'copy', ...rest), { env: bed.cliEnv });
        const argvs = r.stderr.split('\n').filter((l) => l.startsWith('+ ')).map((l) => l.slice(2).split(' '));
        await removeClones(bed);
        return { total: argvs.length, kinds: countKinds(argvs) };
      };
      report.cliCommands = { snapshot: await verbose('-s', 'base', 'v1'), full: await verbose('base', 'v2') };
    }
  } finally {
    await runCleanups();
  }

  // Nothing of the run may be left: LVs, mounts, the work directory, lock dirs.
  const leftovers: string[] = [];
  const lvsLeft = (await listLvs(args.vg).catch(() => [] as LvRow[])).filter((l) => !l.name.startsWith('[') && !pools.some((p) => p.name === l.name));
  if (lvsLeft.length) leftovers.push(`LVs ${lvsLeft.map((l) => l.name).join(', ')}`);
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(workdir) || l.includes(`/dev/mapper/${args.vg}-`) && !pools.some((p) => l.startsWith(`/dev/mapper/${args.vg}-${p.name} `)));
  if (mounts.length) leftovers.push(`mounts: ${mounts.join('; ')}`);
  if (existsSync(workdir)) leftovers.push(`directory ${workdir}`);
  if (existsSync(join('/run/lxc/lock', lxcpath))) leftovers.push(`lock directory /run/lxc/lock${lxcpath}`);
  report.leftovers = leftovers;
  report.loadAtEnd = loadavg();
  report.totalSeconds = (performance.now() - t0) / 1000;

  await mkdir(args.outDir, { recursive: true });
  const outFile = join(args.outDir, `lvm-clone-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(outFile, `${JSON.stringify(report, null, 2)}\n`);
  printReport(report);
  console.log(`\nJSON: ${outFile}`);
  if (leftovers.length) {
    console.log(`LEFTOVERS: ${leftovers.join('; ')}`);
    process.exitCode = 1;
  }
}

// ------------------------------------------------------------------ output

const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(0));
const kinds = (k: Record<string, number> | undefined) => (k ? Object.entries(k).map(([name, c]) => `${name} ×${c}`).join(', ') : '-');

function seriesTable(list: Series[], refs: { id: string; label: string }[]): string {
  return table([
    ['', 'median ms', 'min ms', 'max ms', ...refs.map((r) => `/${r.label}`), 'commands', 'load1'],
    ...list.map((s) => (s.error && !s.samples.length
      ? [s.label, 'FAILED', '', '', ...refs.map(() => ''), '', '']
      : [s.label, ms(s.medianMs), ms(s.minMs), ms(s.maxMs), ...refs.map((r) => fmtRatio(ratio(list, s.id, r.id))), s.commands === undefined ? '' : String(s.commands), s.load1Median!.toFixed(2)])),
  ]);
}

function printReport(r: Record<string, any>): void {
  console.log(`\nberth LVM clone benchmark — ${r.env.kernel}, ${r.env.cpus} CPUs (${r.env.cpuModel}), node ${r.env.node}, ${r.env.lvm.replace(/\s+/g, ' ')}, ${r.env.lxc ? `LXC ${r.env.lxc}` : ''}`);
  console.log(`VG ${r.args.vg}, thin pool ${r.args.thinpool}; work dir on ${r.env.workDirFs}; CLI ${r.env.cli ? `${r.env.cli.path} (built ${r.env.cli.mtime}, V8 code cache ${r.env.cliCodeCache})` : 'not measured'}; git ${r.env.gitHead}${r.env.gitModifiedFiles ? ` + ${r.env.gitModifiedFiles} modified files` : ''}`);
  if (r.base) console.log(`base: ${r.base.madeBy}; ${r.base.fstype}, ${(r.base.sizeBytes / 1024 ** 3).toFixed(2)} GiB, ${r.base.entries} entries${r.base.lxcCreateError ? `; lxc-create: ${r.base.lxcCreateError}` : ''}`);
  if (r.single) {
    console.log(`\n## one snapshot clone (${r.args.runs} runs each, interleaved; sync before each, clones removed after, untimed)`);
    console.log(seriesTable(r.single.series, [{ id: 'bare', label: 'bare' }, { id: 'lean', label: 'lean' }]));
    for (const [k, v] of Object.entries(r.single.ratios as Record<string, number>)) console.log(`  ${k}: ${fmtRatio(v)}`);
    console.log(`\nberth.copy snapshot: its commands (median per clone: count, summed ms) against its wall time ${ms(r.single.series.find((x: Series) => x.id === 'berth-lib')?.medianMs)} ms`);
    console.log(table([['command', 'count', 'ms'], ...r.single.libCommands.map((c: any) => [c.kind, String(c.count), ms(c.medianMs)])]));
    if (!r.single.lxcCopySnapshot.ok) console.log(`lxc-copy -s FAILED: ${r.single.lxcCopySnapshot.error}\n  ${(r.single.lxcCopySnapshot.detail ?? []).join('\n  ')}`);
  }
  if (r.full) {
    console.log(`\n## one full copy (${r.args.fullRuns} runs each, interleaved; copies removed after, untimed)`);
    console.log(seriesTable(r.full.series, [{ id: 'lxc-copy', label: 'lxc-copy' }]));
    for (const x of r.full.series as Series[]) if (x.error) console.log(`${x.label} FAILED: ${x.error}\n  ${(x.errorDetail ?? []).join('\n  ')}`);
    console.log(`\nberth.copy full: its commands (median per copy: count, summed ms) against its wall time ${ms(r.full.series.find((x: Series) => x.id === 'berth-lib')?.medianMs)} ms`);
    console.log(table([['command', 'count', 'ms'], ...r.full.libCommands.map((c: any) => [c.kind, String(c.count), ms(c.medianMs)])]));
  }
  if (r.cliCommands) console.log(`\nCLI commands (berth -v, untimed): snapshot clone ${r.cliCommands.snapshot.total} (${kinds(r.cliCommands.snapshot.kinds)}); full copy ${r.cliCommands.full.total} (${kinds(r.cliCommands.full.kinds)})`);
  console.log(`\ntotal ${r.totalSeconds.toFixed(1)} s`);
}

// ------------------------------------------------------------------ entry

await runBench(main);
