/**
 * berth copy benchmark: full copies and overlay snapshot clones of a Debian minbase
 * rootfs, berth (CLI and library) against lxc-copy, cp -a and rsync -aHAX, on ext4,
 * btrfs and xfs loop images. See bench/README.md.
 *
 *   node --import tsx --conditions=berth-source bench/copy.ts [--runs 3] [--fs ext4,btrfs,xfs]
 *        [--batch 100] [--batch-timebox 240] [--no-build] [--rootfs DIR]
 *
 * Every external command runs through execa with an argv array. Everything the run
 * makes (containers, mounts, loop devices, images, lock dirs) is removed at the end,
 * also on failure or SIGINT/SIGTERM.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  CLI_BIN,
  REPO,
  cliStart,
  berthLibCopy,
  checkClean,
  cleanups,
  dropCaches,
  fmt,
  fmtRatio,
  log,
  makeBase,
  makeBerthLib,
  median,
  onCleanup,
  removeContainer,
  resetBaseRecords,
  run,
  runCleanups,
  spawnTimed,
  interleavedOrder,
  setupHostFs,
  timed,
  toolVersion,
  treeStats,
  usedBytes,
  type BerthLib,
  type CommandTiming,
  type HostFsSetup,
  type TreeStats,
  runBench,
  table,
} from './common.js';


// ------------------------------------------------------------------ arguments

interface Args {
  runs: number;
  filesystems: string[];
  batch: number;
  batchTimeboxS: number;
  build: boolean;
  rootfs?: string;
  imageDir: string;
  imageSize: number;
  snapshots: boolean;
  /** The berth CLI entry point to run (default packages/cli/dist/berth.cjs). */
  cli: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    runs: 3,
    filesystems: ['ext4', 'btrfs', 'xfs'],
    batch: 100,
    batchTimeboxS: 240,
    build: true,
    imageDir: '/var/tmp',
    imageSize: 4 * 1024 ** 3,
    snapshots: true,
    cli: CLI_BIN,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--runs': args.runs = Number.parseInt(value(), 10); break;
      case '--fs': args.filesystems = value().split(',').filter(Boolean); break;
      case '--batch': args.batch = Number.parseInt(value(), 10); break;
      case '--batch-timebox': args.batchTimeboxS = Number(value()); break;
      case '--no-build': args.build = false; break;
      case '--rootfs': args.rootfs = resolve(value()); break;
      case '--image-dir': args.imageDir = resolve(value()); break;
      case '--no-snapshots': args.snapshots = false; break;
      case '--cli': args.cli = resolve(value()); break;
      case '-h':
      case '--help':
        console.log('usage: node --import tsx --conditions=berth-source bench/copy.ts [--runs N] [--fs ext4,btrfs,xfs] [--batch N] [--batch-timebox SECONDS] [--no-build] [--no-snapshots] [--rootfs DIR] [--image-dir DIR] [--cli BIN.js]');
        process.exit(0);
      default:
        throw new Error(`unknown argument ${arg}`);
    }
  }
  if (!(args.runs >= 1)) throw new Error('--runs must be at least 1');
  for (const f of args.filesystems) if (!['ext4', 'btrfs', 'xfs'].includes(f)) throw new Error(`unknown filesystem ${f}`);
  return args;
}

// ------------------------------------------------------------------ contenders

interface Contender {
  id: string;
  label: string;
  /** Makes the copy named `target` (a container name or a plain dir path). */
  run(target: string): Promise<void>;
  /** Where the copy's files end up, for the sanity check. */
  rootfsOf(target: string): string;
  target(run: number): string;
  remove(target: string): Promise<void>;
}

interface Sample { seconds: number; withSyncSeconds: number; usedDeltaBytes: number; order: number; commands?: CommandTiming[] }
interface Series { id: string; label: string; samples: Sample[]; error?: string; median?: number; medianWithSync?: number; min?: number; max?: number }

async function measure(title: string, contenders: Contender[], runs: number, host: HostFsSetup, lib: BerthLib | undefined, check?: (c: Contender, target: string) => Promise<void>): Promise<Series[]> {
  const series = new Map<string, Series>(contenders.map((c) => [c.id, { id: c.id, label: c.label, samples: [] }]));
  const active = [...contenders];
  for (let r = 0; r < runs; r++) {
    for (const [position, c] of interleavedOrder(active, r).entries()) {
      const s = series.get(c.id)!;
      if (s.error) continue;
      const target = c.target(r);
      try {
        await dropCaches();
        const before = await usedBytes(host.mnt);
        const mark = lib?.commands.length ?? 0;
        const t = await timed(() => c.run(target));
        const sync = await timed(() => run(['sync']));
        const after = await usedBytes(host.mnt);
        const commands = c.id === 'berth-lib' && lib ? lib.commands.slice(mark) : undefined;
        s.samples.push({ seconds: t.seconds, withSyncSeconds: t.seconds + sync.seconds, usedDeltaBytes: after - before, order: position, ...(commands ? { commands } : {}) });
        log(`${title} run ${r + 1}/${runs} ${c.label}: ${fmt(t.seconds)} s (+sync ${fmt(sync.seconds)} s, +${((after - before) / 1e6).toFixed(1)} MB used)`);
        if (r === 0 && check) await check(c, target);
      } catch (error) {
        const e = error as Error & { stderr?: string };
        s.error = `${e.message.split('\n')[0]}${e.stderr ? ` — ${e.stderr.trim().split('\n').slice(-1)[0]}` : ''}`;
        log(`${title} ${c.label} FAILED: ${s.error}`);
      } finally {
        await c.remove(target).catch((error) => log(`removing ${target} failed: ${(error as Error).message}`));
      }
    }
  }
  for (const s of series.values()) {
    const xs = s.samples.map((x) => x.seconds);
    if (xs.length) {
      s.median = median(xs);
      s.medianWithSync = median(s.samples.map((x) => x.withSyncSeconds));
      s.min = Math.min(...xs);
      s.max = Math.max(...xs);
    }
  }
  return [...series.values()];
}

// ------------------------------------------------------------------ main

interface FsResult {
  fs: string;
  full: Series[];
  fullRatios: Record<string, number | undefined>;
  snapshot?: Series[];
  snapshotRatios?: Record<string, number | undefined>;
  batch?: BatchResult[];
  berthLibBreakdown?: Breakdown;
  berthLibSnapshotBreakdown?: Breakdown;
}

interface Breakdown { totalMedian: number; commandsMedian: Record<string, number>; otherMedian: number }

/** Where the library's time goes: each external command (cp, mount…) against the rest. */
function breakdown(list: Series[]): Breakdown | undefined {
  const libSeries = list.find((s) => s.id === 'berth-lib');
  if (!libSeries?.samples.length) return undefined;
  const byCmd = new Map<string, number[]>();
  const other: number[] = [];
  for (const sample of libSeries.samples) {
    const sums = new Map<string, number>();
    for (const c of sample.commands ?? []) {
      // `cp -a`, `mount -t`, but `umount` (its argument is a per-run path).
      const key = c.cmd.split(' ').filter((w, i) => i === 0 || w.startsWith('-')).join(' ');
      sums.set(key, (sums.get(key) ?? 0) + c.seconds);
    }
    for (const [k, v] of sums) byCmd.set(k, [...(byCmd.get(k) ?? []), v]);
    other.push(sample.seconds - [...sums.values()].reduce((a, b) => a + b, 0));
  }
  return {
    totalMedian: libSeries.median!,
    commandsMedian: Object.fromEntries([...byCmd].map(([k, v]) => [k, median(v)])),
    otherMedian: median(other),
  };
}

interface BatchResult { id: string; label: string; clones: number; seconds?: number; perClone?: number; timedOut?: boolean; error?: string; extrapolatedSeconds?: number }

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root (loop devices, mounts, drop_caches)');
  const startedAt = new Date();
  const t0 = performance.now();

  // Build (tsc -b) so that the CLI's dist is current; the CLI is benchmarked if its bin exists.
  let buildNote = 'skipped (--no-build)';
  if (args.build) {
    log('building: npm run build');
    const b = await run(['npm', 'run', '--silent', 'build'], { cwd: REPO, reject: false, all: true, timeout: 300_000 });
    buildNote = b.exitCode === 0 ? 'ok' : `failed (exit ${b.exitCode}): ${(b as any).all?.split('\n').slice(0, 5).join(' | ')}`;
    log(`build ${buildNote}`);
  }
  const haveCli = existsSync(args.cli);
  if (!haveCli) log(`${args.cli} does not exist: the berth CLI is not measured`);

  // The rootfs.
  let rootfs = args.rootfs;
  let rootfsKind = 'given with --rootfs';
  if (!rootfs) {
    const p = await run(['bash', join(REPO, 'bench/prepare-rootfs.sh')], { stderr: 'inherit', timeout: 30 * 60_000 });
    rootfs = p.stdout.trim().split('\n').pop()!;
    rootfsKind = readFileSync(join(dirname(rootfs), 'minbase.kind'), 'utf8').trim();
  }
  const rootfsStats = await treeStats(rootfs);
  const comparable = await treeStats(rootfs, ['etc/hostname']);
  log(`rootfs ${rootfs} (${rootfsKind}): ${rootfsStats.entries} entries, ${rootfsStats.files} files, ${rootfsStats.symlinks} symlinks, ${(rootfsStats.bytes / 1e6).toFixed(0)} MB in files`);

  const env = {
    kernel: release(),
    cpus: cpus().length,
    memGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    cp: await toolVersion(['cp', '--version']),
    rsync: await toolVersion(['rsync', '--version']),
    lxc: await toolVersion(['lxc-copy', '--version']),
    rootfsHostFs: (await run(['findmnt', '-n', '-o', 'FSTYPE', '--target', args.imageDir])).stdout.trim(),
  };

  const workdir = join(args.imageDir, `berth-bench.${process.pid}`);
  await mkdir(workdir, { recursive: true });
  onCleanup(`rm ${workdir}`, async () => {
    await rm(workdir, { recursive: true, force: true });
    // berth's and LXC's lock files for the lxcpaths inside it.
    await rm(join('/run/lxc/lock', workdir), { recursive: true, force: true });
  });

  const results: FsResult[] = [];
  let cliStartup: Awaited<ReturnType<typeof measureStartup>> | undefined;
  try {
    for (const fsType of args.filesystems) {
      const mark = cleanups.length;
      log(`=== ${fsType}: setting up a ${args.imageSize / 1024 ** 3} GiB loop image`);
      const host = await setupHostFs(fsType, workdir, args.imageSize);
      try {
        const baseRootfs = await makeBase(host, rootfs);
        const lib = await makeBerthLib(host.lxcpath);
        const containerDir = (name: string) => join(host.lxcpath, name, 'rootfs');
        const full: Contender[] = [];
        if (haveCli) {
          full.push({
            id: 'berth-cli', label: 'berth copy (CLI)',
            run: async (t) => { await spawnTimed([...cliStart(args.cli), '-P', host.lxcpath, 'copy', 'base', t]); },
            rootfsOf: containerDir, target: (r) => `t${r}-cli`, remove: (t) => removeContainer(host, t),
          });
        }
        full.push(
          {
            id: 'berth-lib', label: 'berth.copy (library)',
            run: (t) => berthLibCopy(lib, 'base', [t], false),
            rootfsOf: containerDir, target: (r) => `t${r}-lib`, remove: (t) => removeContainer(host, t),
          },
          {
            id: 'lxc-copy', label: 'lxc-copy',
            run: async (t) => { await spawnTimed(['lxc-copy', '-P', host.lxcpath, '-n', 'base', '-N', t]); },
            rootfsOf: containerDir, target: (r) => `t${r}-lxc`, remove: (t) => removeContainer(host, t),
          },
          {
            id: 'cp', label: 'cp -a',
            run: async (t) => { await spawnTimed(['cp', '-a', baseRootfs, t]); },
            rootfsOf: (t) => t, target: (r) => join(host.plain, `cp-${r}`), remove: (t) => rm(t, { recursive: true, force: true }),
          },
          {
            id: 'rsync', label: 'rsync -aHAX',
            run: async (t) => { await spawnTimed(['rsync', '-aHAX', `${baseRootfs}/`, `${t}/`]); },
            rootfsOf: (t) => t, target: (r) => join(host.plain, `rsync-${r}`), remove: (t) => rm(t, { recursive: true, force: true }),
          },
        );
        const check = async (c: Contender, target: string) => {
          const st = await treeStats(c.rootfsOf(target), ['etc/hostname']);
          if (st.entries !== comparable.entries || st.bytes !== comparable.bytes || st.hardlinked !== comparable.hardlinked) {
            log(`WARNING: ${c.label} copy has ${st.entries} entries / ${st.bytes} bytes / ${st.hardlinked} hardlinked, the source ${comparable.entries} / ${comparable.bytes} / ${comparable.hardlinked}`);
          }
        };
        const fullSeries = await measure(`${fsType} full`, full, args.runs, host, lib, check);
        const get = (list: Series[], id: string) => list.find((s) => s.id === id)?.median;
        const ratios = (list: Series[]) => {
          const out: Record<string, number | undefined> = {};
          for (const b of ['berth-cli', 'berth-lib']) {
            for (const ref of ['lxc-copy', 'cp', 'rsync']) {
              const x = get(list, b);
              const y = get(list, ref);
              if (x !== undefined && y !== undefined) out[`${b}/${ref}`] = x / y;
            }
          }
          return out;
        };
        const result: FsResult = { fs: fsType, full: fullSeries, fullRatios: ratios(fullSeries) };

        result.berthLibBreakdown = breakdown(fullSeries);

        if (args.snapshots) {
          const snap: Contender[] = [];
          const snapRemove = async (t: string) => { await removeContainer(host, t); await resetBaseRecords(host); };
          if (haveCli) {
            snap.push({
              id: 'berth-cli', label: 'berth copy -s (CLI)',
              run: async (t) => { await spawnTimed([...cliStart(args.cli), '-P', host.lxcpath, 'copy', '-s', 'base', t]); },
              rootfsOf: containerDir, target: (r) => `s${r}-cli`, remove: snapRemove,
            });
          }
          snap.push(
            {
              id: 'berth-lib', label: 'berth.copy snapshot (library)',
              run: (t) => berthLibCopy(lib, 'base', [t], true),
              rootfsOf: containerDir, target: (r) => `s${r}-lib`, remove: snapRemove,
            },
            {
              id: 'lxc-copy', label: 'lxc-copy -s',
              run: async (t) => { await spawnTimed(['lxc-copy', '-P', host.lxcpath, '-n', 'base', '-N', t, '-s']); },
              rootfsOf: containerDir, target: (r) => `s${r}-lxc`, remove: snapRemove,
            },
          );
          const snapCheck = async (c: Contender, target: string) => {
            const cfg = readFileSync(join(host.lxcpath, target, 'config'), 'utf8');
            const line = cfg.split('\n').find((l) => /^lxc\.rootfs\.path\s*=/.test(l)) ?? '(none)';
            if (!/=\s*overlay/.test(line)) log(`WARNING: ${c.label} made ${line}, not an overlay clone`);
          };
          const snapSeries = await measure(`${fsType} snapshot`, snap, args.runs, host, lib, snapCheck);
          result.snapshot = snapSeries;
          const sr: Record<string, number | undefined> = {};
          for (const b of ['berth-cli', 'berth-lib']) {
            const x = get(snapSeries, b);
            const y = get(snapSeries, 'lxc-copy');
            if (x !== undefined && y !== undefined) sr[`${b}/lxc-copy`] = x / y;
          }
          result.snapshotRatios = sr;
          result.berthLibSnapshotBreakdown = breakdown(snapSeries);

          if (fsType === 'ext4' && args.batch > 0) result.batch = await batchClones(host, lib, args);
        }

        if (haveCli && cliStartup === undefined) cliStartup = await measureStartup(args.cli);
        results.push(result);
      } finally {
        // This filesystem's cleanups now (umount, losetup -d, rm image), not at the end.
        await runCleanups(mark);
      }
    }
  } finally {
    await runCleanups();
  }

  // Report.
  const leftovers = await checkClean(workdir);
  const report = { startedAt: startedAt.toISOString(), totalSeconds: (performance.now() - t0) / 1000, args, env, build: buildNote, cli: haveCli, rootfs: { path: rootfs, kind: rootfsKind, ...rootfsStats }, cliStartup, results, leftovers };
  const outDir = join(REPO, 'bench/results');
  await mkdir(outDir, { recursive: true });
  const outFile = join(outDir, `copy-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(outFile, `${JSON.stringify(report, null, 2)}\n`);
  printReport(report as unknown as Report);
  console.log(`\nJSON: ${outFile}`);
  if (leftovers.length) {
    console.log(`LEFTOVERS: ${leftovers.join('; ')}`);
    process.exitCode = 1;
  }
}

async function batchClones(host: HostFsSetup, lib: BerthLib, args: Args): Promise<BatchResult[]> {
  const n = args.batch;
  const names = (prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
  const out: BatchResult[] = [];
  const clean = async (list: string[]) => {
    for (const name of list) await removeContainer(host, name);
    await resetBaseRecords(host);
  };
  const timeboxMs = args.batchTimeboxS * 1000;
  const one = async (id: string, label: string, list: string[], fn: (deadline: number) => Promise<number>) => {
    await dropCaches();
    const t = performance.now();
    try {
      const made = await fn(t + timeboxMs);
      const seconds = (performance.now() - t) / 1000;
      const r: BatchResult = { id, label, clones: made, seconds, perClone: seconds / Math.max(made, 1) };
      if (made < n) { r.timedOut = true; r.extrapolatedSeconds = (seconds / Math.max(made, 1)) * n; }
      out.push(r);
      log(`ext4 batch ${label}: ${made} clones in ${fmt(seconds)} s${r.timedOut ? ' (time-boxed)' : ''}`);
    } catch (error) {
      out.push({ id, label, clones: 0, error: (error as Error).message.split('\n')[0] });
      log(`ext4 batch ${label} FAILED: ${(error as Error).message.split('\n')[0]}`);
    } finally {
      await clean(list);
    }
  };
  if (existsSync(args.cli)) {
    const list = names('bc');
    await one('berth-cli', `berth copy -s base bc1..bc${n} (CLI, one process)`, list, async () => {
      await spawnTimed([...cliStart(args.cli), '-P', host.lxcpath, 'copy', '-s', 'base', ...list], { timeoutMs: timeboxMs });
      return n;
    });
  }
  {
    const list = names('bl');
    await one('berth-lib', `berth.copy({snapshot, targets: ${n}}) (library)`, list, async () => {
      await berthLibCopy(lib, 'base', list, true);
      return n;
    });
  }
  {
    const list = names('lc');
    await one('lxc-copy', `${n} x lxc-copy -s (sequential)`, list, async (deadline) => {
      let made = 0;
      for (const name of list) {
        if (performance.now() > deadline) break;
        await spawnTimed(['lxc-copy', '-P', host.lxcpath, '-n', 'base', '-N', name, '-s']);
        made++;
      }
      return made;
    });
  }
  return out;
}

/** Node and CLI start-up, warm and cold (after drop_caches): what every CLI invocation pays. */
async function measureStartup(bin: string): Promise<{ nodeBaseline: number; cliHelp: number; nodeCold: number; cliHelpCold: number }> {
  const warmNode: number[] = [];
  const warmCli: number[] = [];
  const coldNode: number[] = [];
  const coldCli: number[] = [];
  for (let i = 0; i < 5; i++) {
    warmNode.push((await timed(() => spawnTimed([process.execPath, '-e', '0']))).seconds);
    warmCli.push((await timed(() => spawnTimed([...cliStart(bin), '--help']))).seconds);
  }
  for (let i = 0; i < 3; i++) {
    await dropCaches();
    coldNode.push((await timed(() => spawnTimed([process.execPath, '-e', '0']))).seconds);
    await dropCaches();
    coldCli.push((await timed(() => spawnTimed([...cliStart(bin), '--help']))).seconds);
  }
  return { nodeBaseline: median(warmNode), cliHelp: median(warmCli), nodeCold: median(coldNode), cliHelpCold: median(coldCli) };
}

// ------------------------------------------------------------------ output

interface Report {
  env: Record<string, unknown>;
  rootfs: TreeStats & { path: string; kind: string };
  args: Args;
  build: string;
  cli: boolean;
  totalSeconds: number;
  cliStartup?: { nodeBaseline: number; cliHelp: number; nodeCold: number; cliHelpCold: number };
  results: FsResult[];
}

function seriesRows(list: Series[]): string[][] {
  return [
    ['', 'median s', 'min s', 'max s', 'median+sync s', 'MB used/copy'],
    ...list.map((s) => s.error && !s.samples.length
      ? [s.label, `FAILED: ${s.error}`.slice(0, 70), '', '', '', '']
      : [s.label, fmt(s.median), fmt(s.min), fmt(s.max), fmt(s.medianWithSync), (median(s.samples.map((x) => x.usedDeltaBytes)) / 1e6).toFixed(1)]),
  ];
}

function printBreakdown(b: Breakdown | undefined): void {
  if (!b) return;
  const parts = Object.entries(b.commandsMedian).map(([k, v]) => `\`${k}\` ${fmt(v)} s`);
  console.log(`berth.copy breakdown (medians): total ${fmt(b.totalMedian)} s = ${[...parts, `in-process ${fmt(b.otherMedian)} s`].join(' + ')}`);
}

function printReport(r: Report): void {
  console.log(`\nberth copy benchmark — ${r.args.runs} runs each, cold cache (sync + drop_caches before every run), order alternated`);
  console.log(`rootfs: ${r.rootfs.kind}: ${r.rootfs.entries} entries (${r.rootfs.files} files, ${r.rootfs.dirs} dirs, ${r.rootfs.symlinks} symlinks, ${r.rootfs.hardlinked} hardlinked), ${(r.rootfs.bytes / 1e6).toFixed(0)} MB`);
  console.log(`host: ${r.env.kernel}, ${r.env.cpus} CPUs, ${r.env.memGiB} GiB; images on ${r.env.rootfsHostFs}; ${r.env.cp}; ${r.env.rsync}; lxc ${r.env.lxc}; node ${r.env.node}`);
  console.log(`build: ${r.build}; CLI ${r.cli ? 'measured' : 'NOT measured (packages/cli/dist/berth.cjs missing)'}`);
  for (const f of r.results) {
    console.log(`\n## ${f.fs}: full copy`);
    console.log(table(seriesRows(f.full)));
    const goal = f.fs === 'ext4' ? 0.6 : 0.1;
    console.log(`ratios (median/median): ${Object.entries(f.fullRatios).map(([k, v]) => `${k} ${fmtRatio(v)}`).join(', ')}`);
    for (const b of ['berth-cli', 'berth-lib']) {
      const v = f.fullRatios[`${b}/lxc-copy`];
      if (v !== undefined) console.log(`goal ${b}/lxc-copy <= ${goal}${f.fs === 'ext4' ? '' : ' (reflink)'}: ${fmtRatio(v)} ${v <= goal ? 'MET' : 'NOT MET'}`);
    }
    printBreakdown(f.berthLibBreakdown);
    if (f.snapshot) {
      console.log(`\n## ${f.fs}: snapshot clone (dir -> overlay)`);
      console.log(table(seriesRows(f.snapshot)));
      console.log(`ratios: ${Object.entries(f.snapshotRatios ?? {}).map(([k, v]) => `${k} ${fmtRatio(v)}`).join(', ')}`);
      printBreakdown(f.berthLibSnapshotBreakdown);
    }
    if (f.batch) {
      console.log(`\n## ${f.fs}: ${r.args.batch} snapshot clones of one base`);
      console.log(table([
        ['', 'clones', 'seconds', 's/clone', 'note'],
        ...f.batch.map((b) => [b.label, String(b.clones), fmt(b.seconds), fmt(b.perClone), b.error ? `FAILED: ${b.error}`.slice(0, 60) : b.timedOut ? `time-boxed; ~${fmt(b.extrapolatedSeconds)} s for ${r.args.batch}` : '']),
      ]));
      const lxc = f.batch.find((b) => b.id === 'lxc-copy');
      for (const b of f.batch) {
        if (b.id !== 'lxc-copy' && lxc?.perClone && b.perClone && !b.error) console.log(`${b.id}/lxc-copy per clone: ${fmtRatio(b.perClone / lxc.perClone)}`);
      }
    }
  }
  if (r.cliStartup) console.log(`\nstart-up: node -e 0 ${fmt(r.cliStartup.nodeBaseline)} s warm, ${fmt(r.cliStartup.nodeCold)} s cold; berth --help ${fmt(r.cliStartup.cliHelp)} s warm, ${fmt(r.cliStartup.cliHelpCold)} s cold`);
  console.log(`total ${fmt(r.totalSeconds)} s`);
}

// ------------------------------------------------------------------ entry

await runBench(main);
