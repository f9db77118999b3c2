/**
 * btrfs snapshot-clone benchmark (issue 3, "Benchmark"): on one loop-mounted btrfs
 * filesystem, with a base made by `lxc-create -B btrfs -t busybox`:
 *   1. one clone: `berth copy -s base cN` (CLI, a process per clone) against
 *      `lxc-copy -s`, a bare `btrfs subvolume snapshot` of base/rootfs, and
 *      `berth.copy({ snapshot: true })` in-process (library), interleaved;
 *   2. the library's overhead per clone over the bare command, and where it goes
 *      (a second, instrumented library instance: see `instrument`);
 *   3. 100 clones of one base: one `berth copy -s base c1 … c100` against 100 sequential
 *      `lxc-copy -s` (and 100 bare snapshots), and the library with copyConcurrency 1, 4, 16, 32;
 *   4. (untimed) evidence for the CLI: --cpu-prof summaries and strace counts.
 *
 *   node --import tsx --conditions=berth-source bench/btrfs-clone.ts [--runs 11] [--batch 100]
 *        [--batch-runs 3] [--concurrency 1,4,16,32] [--no-build] [--no-profile] [--image-dir DIR] [--cli BIN]
 *
 * Every external command runs with an argv array, never a shell. The timed ones (lxc-copy,
 * btrfs, the CLI, node) are spawned with plain child_process.spawn (spawnTimed), not
 * execa: execa adds 1.5–2.5 ms per spawn here, which would inflate 100 sequential
 * lxc-copy by ~0.2 s against one berth process; so every contender pays the same small
 * per-spawn cost. Setup, cleanup and version queries use execa (run).
 *
 * The bundle, dist/berth.cjs, runs as a program, as a user runs it: its first lines start
 * node through /bin/sh without NODE_EXTRA_CA_CERTS, which Node 20 parses at start-up
 * (~56 ms here) though berth never uses TLS. When the variable is set, `node berth.cjs`
 * (no launcher: Node parses it) is timed too, as a row of its own.
 *
 * Everything the run makes (clones, the loop image, its mount, lock dirs) is removed at
 * the end, also on failure or SIGINT/SIGTERM; the run fails if a loop device or mount is left.
 */
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
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
  resetBaseRecords,
  run,
  runCleanups,
  setupHostFs,
  spawnTimed,
  toolVersion,
  type BerthLib,
  type HostFsSetup,
  runBench,
  rerunWithThreadPool,
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
  profile: boolean;
  imageDir: string;
  imageSize: number;
  /** CLI entry points to measure: dist/bin.js (tsc output) and, if built, the bundle dist/berth.cjs. */
  clis: string[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { runs: 11, batch: 100, batchRuns: 3, concurrency: [1, 4, 16, 32], build: true, profile: true, imageDir: '/var/tmp', imageSize: 2 * 1024 ** 3, clis: [] };
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
      case '--no-profile': args.profile = false; break;
      case '--image-dir': args.imageDir = resolve(value()); break;
      case '--cli': args.clis.push(resolve(value())); break;
      case '-h':
      case '--help':
        console.log('usage: node --import tsx --conditions=berth-source bench/btrfs-clone.ts [--runs N] [--batch N] [--batch-runs N] [--concurrency 1,4,16,32] [--no-build] [--no-profile] [--image-dir DIR] [--cli BIN.js]');
        process.exit(0);
      default:
        throw new Error(`unknown argument ${arg}`);
    }
  }
  if (!(args.runs >= 1) || !(args.batchRuns >= 1)) throw new Error('--runs and --batch-runs must be at least 1');
  if (args.concurrency.some((c) => !(c >= 1))) throw new Error('--concurrency takes positive integers');
  if (!args.clis.length) args.clis = [join(REPO, 'packages/cli/dist/bin.js'), join(REPO, 'packages/cli/dist/berth.cjs')];
  return args;
}

// ------------------------------------------------------------------ btrfs helpers

const SUBVOLUME_ROOT_INODE = 256n;

async function isSubvolume(path: string): Promise<boolean> {
  try {
    const st = await lstat(path, { bigint: true });
    return st.isDirectory() && st.ino === SUBVOLUME_ROOT_INODE;
  } catch {
    return false;
  }
}

/**
 * Removes containers (their rootfs subvolume, then the directory) and plain snapshots,
 * untimed: one `btrfs subvolume delete` for all of them, then `btrfs subvolume sync` so
 * that the cleaner thread is not still freeing extents during the next timing.
 */
async function removeClones(host: HostFsSetup, containers: readonly string[], plain: readonly string[] = []): Promise<void> {
  const subvolumes: string[] = [];
  for (const name of containers) {
    const rootfs = join(host.lxcpath, name, 'rootfs');
    if (await isSubvolume(rootfs)) subvolumes.push(rootfs);
  }
  for (const path of plain) if (await isSubvolume(path)) subvolumes.push(path);
  for (let i = 0; i < subvolumes.length; i += 200) await run(['btrfs', 'subvolume', 'delete', '--commit-after', ...subvolumes.slice(i, i + 200)]);
  for (const name of containers) await rm(join(host.lxcpath, name), { recursive: true, force: true });
  for (const path of plain) await rm(path, { recursive: true, force: true });
  await resetBaseRecords(host);
  if (!subvolumes.length) return;
  // A transaction commit wakes the cleaner; after a plain `sync` the wait is the 30 s commit interval.
  await run(['btrfs', 'filesystem', 'sync', host.mnt]);
  const waited = await run(['btrfs', 'subvolume', 'sync', host.mnt], { reject: false, timeout: 60_000 });
  if (waited.exitCode !== 0) log(`btrfs subvolume sync did not finish: ${waited.stderr.trim()}`);
}

/** Every container dir in the lxcpath but base (a failed or interrupted run's leftovers too). */
async function strayContainers(host: HostFsSetup): Promise<string[]> {
  return (await readdir(host.lxcpath)).filter((n) => n !== 'base' && !n.startsWith('.'));
}

// ------------------------------------------------------------------ instrumentation

interface Span { label: string; t0: number; t1: number }

/**
 * Wraps, on one library instance only, the methods a clone goes through (berth's own
 * steps, the lock manager, the host-fs writes, the journal, the btrfs driver, the
 * command runner) so that each call records a span. Nothing in packages/ is changed;
 * the uninstrumented instance is timed separately. Steps that are plain module
 * functions (readFile of the source config, cloneConfig, updateHostnameFile) cannot be
 * wrapped: they show up as the time between two wrapped steps of their caller, named
 * by their neighbours (`clone: journal.addUndo → fs.write(config)` is cloneConfig).
 */
class Tracer {
  spans: Span[] = [];
  active = false;

  wrap(obj: any, method: string, label: string | ((args: any[]) => string), after?: (result: any) => any): void {
    const original = obj[method];
    if (typeof original !== 'function') throw new Error(`cannot instrument ${method}: not a function`);
    const tracer = this;
    obj[method] = function (this: unknown, ...args: any[]) {
      if (!tracer.active) return original.apply(this, args);
      const t0 = performance.now();
      const name = typeof label === 'string' ? label : label(args);
      const done = (value: any) => {
        tracer.spans.push({ label: name, t0, t1: performance.now() });
        return after ? after(value) : value;
      };
      const result = original.apply(this, args);
      if (result && typeof result.then === 'function') {
        return result.then(done, (error: unknown) => {
          tracer.spans.push({ label: `${name} (failed)`, t0, t1: performance.now() });
          throw error;
        });
      }
      return done(result);
    };
  }
}

async function instrument(lib: BerthLib, tracer: Tracer): Promise<void> {
  const berth = lib.instance.berth;
  for (const m of ['ensureRecovered', 'loadVolumeAndConfig', 'planClone', 'clone', 'prepareContainerDir', 'withLocks', 'addDependencies']) {
    tracer.wrap(berth, m, `berth.${m}`);
  }
  const locks = berth.locks;
  tracer.wrap(locks, 'acquire', (a) => (String(a[1]?.what ?? '').endsWith('/partial') ? 'lock partial (acquire)' : `lock container ${a[1]?.mode ?? 'exclusive'} (acquire)`), (handle) => {
    const kind = String(handle.path).endsWith('/partial') ? 'lock partial (release)' : `lock container ${handle.mode} (release)`;
    tracer.wrap(handle, 'release', kind);
    return handle;
  });
  const fs = berth.fs;
  for (const m of ['mkdir', 'mkdirp']) tracer.wrap(fs, m, `fs.${m}`);
  for (const m of ['removeFile', 'removeTree']) tracer.wrap(fs, m, (a) => `fs.${m}(${basename(String(a[0]))})`);
  tracer.wrap(fs, 'writeFileAtomic', (a) => `fs.write(${basename(String(a[0]))})`);
  const operations = berth.operations;
  tracer.wrap(operations, 'run', 'operation');
  const journalFor = operations.journalFor;
  operations.journalFor = (lxcpath: string) => {
    const journal = journalFor(lxcpath);
    tracer.wrap(journal, 'begin', 'journal.begin', (record) => {
      tracer.wrap(record, 'addUndo', 'journal.addUndo');
      tracer.wrap(record, 'close', 'journal.close');
      return record;
    });
    return journal;
  };
  const driver = berth.drivers.storageDriver('btrfs');
  for (const m of ['snapshot', 'inheritLimit', 'quotasEnabled']) tracer.wrap(driver, m, `btrfs.${m}`);
  tracer.wrap(driver.subvolumes, 'snapshot', `subvolume snapshot (${driver.subvolumes.via})`);
  tracer.wrap(berth.drivers, 'usableStorage', 'registry.usableStorage');
  tracer.wrap(lib.instance.runner, 'run', (a) => `cmd ${(a[0] as string[]).slice(0, 3).join(' ')}`);
  const core = await importFrom(fromCli, '@berth/core');
  tracer.wrap(core.LxcConfig, 'parse', 'LxcConfig.parse');
}

interface SpanNode extends Span { children: SpanNode[] }

/**
 * Exclusive time per step of one traced call: each span's own time (minus its wrapped
 * children), and each stretch of a span not covered by a child, named after the
 * children around it.
 */
function exclusiveTimes(spans: readonly Span[]): Map<string, { ms: number; count: number }> {
  const sorted = [...spans].sort((a, b) => a.t0 - b.t0 || b.t1 - a.t1);
  const roots: SpanNode[] = [];
  const stack: SpanNode[] = [];
  for (const s of sorted) {
    const node: SpanNode = { ...s, children: [] };
    while (stack.length && stack[stack.length - 1]!.t1 <= s.t0) stack.pop();
    (stack.length ? stack[stack.length - 1]!.children : roots).push(node);
    stack.push(node);
  }
  const out = new Map<string, { ms: number; count: number }>();
  const add = (label: string, ms: number, count = 1) => {
    const e = out.get(label) ?? { ms: 0, count: 0 };
    e.ms += ms;
    e.count += count;
    out.set(label, e);
  };
  const visit = (n: SpanNode) => {
    const children = n.children;
    if (!children.length) {
      add(n.label, n.t1 - n.t0);
      return;
    }
    add(n.label, 0);
    let cursor = n.t0;
    let previous = 'start';
    for (const c of children) {
      const gap = Math.max(0, Math.min(c.t0, n.t1) - cursor);
      if (gap > 0) add(`${n.label}: ${previous} → ${c.label}`, gap, 0);
      cursor = Math.max(cursor, Math.min(c.t1, n.t1));
      previous = c.label;
      visit(c);
    }
    const tail = n.t1 - cursor;
    if (tail > 0) add(`${n.label}: ${previous} → end`, tail, 0);
  };
  for (const r of roots) visit(r);
  return out;
}

/** What the unwrapped stretches between two steps are (from the code of berth.ts and the driver). */
const GAP_NAMES: [RegExp, string][] = [
  [/^berth\.clone: berth\.planClone → /, 'parseOptions (zod)'],
  [/^berth\.clone: journal\.addUndo → fs\.write\(config\)$/, 'cloneConfig (copy the config, new hwaddrs)'],
  [/^berth\.clone: fs\.write\(config\) → lock partial \(release\)$/, 'hostname update (withRootfs + updateHostnameFile: open, read, truncate, write)'],
  [/^btrfs\.snapshot: start → /, 'btrfsOptionsSchema.parse, mountinfo, realpath ×2 (same filesystem?)'],
  [/^berth\.prepareContainerDir: start → journal\.addUndo$/, 'pathExists(dir), isDirectory(lxcpath), isInside'],
  [/^berth\.loadVolumeAndConfig: /, 'read + parse config, resolveRootfs'],
  [/^berth\.copy: start → /, 'validate names'],
];

function gapName(label: string): string | undefined {
  return GAP_NAMES.find(([re]) => re.test(label))?.[1];
}

// ------------------------------------------------------------------ measurement

type Made = { containers: string[]; plain: string[] };

/** Removes what a sample made, and whatever a failed one left (untimed). */
function measure(title: string, contenders: Contender<Made>[], runs: number, host: HostFsSetup): Promise<Series[]> {
  return measureInterleaved(title, contenders, runs, {
    cleanUp: async (made) => {
      const stray = await strayContainers(host);
      const plainLeft = (await readdir(host.plain)).map((n) => join(host.plain, n));
      await removeClones(host, [...new Set([...(made?.containers ?? []), ...stray])], [...new Set([...(made?.plain ?? []), ...plainLeft])]);
    },
  });
}

async function libCopy(lib: BerthLib, targets: string[]): Promise<void> {
  const outcomes = await lib.berth.copy({ source: 'base', targets, snapshot: true });
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length) throw new Error(`berth.copy failed for ${failed.length} target(s): ${failed[0]!.error?.message}`);
}

// ------------------------------------------------------------------ profiles (untimed)

interface ProfileSummary { file: string; totalMs: number; categories: { name: string; ms: number }[]; topFunctions: { name: string; ms: number }[] }

/** Self time of a V8 .cpuprofile, by where the code lives and by function. */
async function summarizeCpuProfile(file: string): Promise<ProfileSummary> {
  const p = JSON.parse(await readFile(file, 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[]; timeDeltas: number[]; startTime: number; endTime: number;
  };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000));
  const category = (url: string, fn: string) => {
    if (!url) return fn.startsWith('(') ? fn : '(native)';
    if (url.startsWith('node:internal/modules') || url.includes('/esm/')) return 'node: module loading';
    if (url.startsWith('node:')) return 'node: other internals';
    const nm = url.lastIndexOf('/node_modules/');
    if (nm >= 0) {
      const rest = url.slice(nm + 14).split('/');
      return `dependency ${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
    }
    const pk = url.match(/\/packages\/([^/]+)\//);
    if (pk) return `berth ${pk[1]}`;
    return url;
  };
  const cats = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    const { url, functionName, lineNumber } = n.callFrame;
    cats.set(category(url, functionName), (cats.get(category(url, functionName)) ?? 0) + ms);
    const key = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(node_modules|packages)\//, '$1/')}:${lineNumber + 1}` : ''}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + ms);
  }
  const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, ms]) => ({ name, ms: Math.round(ms * 10) / 10 }));
  return { file, totalMs: (p.endTime - p.startTime) / 1000, categories: top(cats, 12), topFunctions: top(fns, 15) };
}

interface StraceSummary { what: string; processesStarted: number; execveCalls: number; syscalls: { name: string; calls: number; errors: number; seconds: number }[] }

async function straceExecs(file: string, argv: string[]): Promise<{ processesStarted: number; execveCalls: number }> {
  await run(['strace', '-f', '-qq', '-e', 'trace=execve,execveat', '-o', file, ...argv]);
  // With -f, a call another process interrupts is split: "execve(… <unfinished ...>" then "<... execve resumed>) = 0".
  const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => /execve/.test(l));
  return { processesStarted: lines.filter((l) => /\)\s+= 0$/.test(l)).length, execveCalls: lines.filter((l) => /execve(at)?\(/.test(l)).length };
}

function parseStraceC(text: string): StraceSummary['syscalls'] {
  const rows: StraceSummary['syscalls'] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    // % time, seconds, usecs/call, calls, [errors], syscall
    if (f.length < 5 || !/^\d+\.\d+$/.test(f[0]!) || f[f.length - 1] === 'total') continue;
    const name = f[f.length - 1]!;
    const errors = f.length === 6 ? Number(f[4]) : 0;
    rows.push({ name, calls: Number(f[3]), errors, seconds: Number(f[1]) });
  }
  return rows.sort((a, b) => b.calls - a.calls);
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root (loop devices, mounts, btrfs)');
  const startedAt = new Date();
  const t0 = performance.now();
  const loadAtStart = loadavg();

  let buildNote = 'skipped (--no-build)';
  if (args.build) {
    log('building: npm run build');
    const b = await run(['npm', 'run', '--silent', 'build'], { cwd: REPO, reject: false, all: true, timeout: 300_000 });
    buildNote = b.exitCode === 0 ? 'ok' : `failed (exit ${b.exitCode}): ${(b as any).all?.split('\n').slice(0, 5).join(' | ')}`;
    log(`build ${buildNote}`);
    const bundler = join(REPO, 'packages/cli/scripts/bundle.mjs');
    if (b.exitCode === 0 && existsSync(bundler)) {
      const bb = await run([process.execPath, bundler], { cwd: REPO, reject: false, all: true, timeout: 300_000 });
      buildNote += `; bundle ${bb.exitCode === 0 ? 'ok' : `failed (exit ${bb.exitCode})`}`;
      log(`bundle (packages/cli/scripts/bundle.mjs): exit ${bb.exitCode}`);
    }
  }
  const clis = args.clis.filter((c) => existsSync(c));
  for (const c of args.clis) if (!clis.includes(c)) log(`${c} does not exist: not measured`);
  const haveCli = clis.length > 0;
  const cliName = (c: string) => basename(c);

  const env = {
    kernel: release(), cpus: cpus().length, memGiB: Math.round(totalmem() / 1024 ** 3), node: process.version,
    lxc: await toolVersion(['lxc-copy', '--version']), btrfsProgs: await toolVersion(['btrfs', '--version']),
    imageHostFs: (await run(['findmnt', '-n', '-o', 'FSTYPE', '--target', args.imageDir])).stdout.trim(),
    nodeExtraCaCerts: process.env.NODE_EXTRA_CA_CERTS ?? 'unset',
  };

  const workdir = join(args.imageDir, `berth-btrfs-bench.${process.pid}`);
  await mkdir(workdir, { recursive: true });
  onCleanup(`rm ${workdir}`, async () => {
    await rm(workdir, { recursive: true, force: true });
    await rm(join('/run/lxc/lock', workdir), { recursive: true, force: true });
  });
  const profileDir = join(REPO, 'bench/results', `btrfs-clone-profiles-${startedAt.toISOString().replace(/[:.]/g, '-')}`);

  const report: Record<string, any> = { startedAt: startedAt.toISOString(), args, env, build: buildNote, clis, loadAtStart };
  try {
    log(`setting up a ${args.imageSize / 1024 ** 3} GiB btrfs loop image in ${workdir}`);
    const host = await setupHostFs('btrfs', workdir, args.imageSize);
    // Clones left by an interrupted run go with the filesystem; this only keeps base's dir tidy.
    const conf = join(workdir, 'base.conf');
    await writeFile(conf, 'lxc.net.0.type = empty\n');
    const created = await run(['lxc-create', '-P', host.lxcpath, '-n', 'base', '-B', 'btrfs', '-t', 'busybox', '-f', conf], { reject: false, all: true });
    if (created.exitCode !== 0) throw new Error(`lxc-create failed: ${(created as any).all}`);
    const baseConfig = await readFile(join(host.lxcpath, 'base/config'), 'utf8');
    const baseRootfs = join(host.lxcpath, 'base/rootfs');
    if (!/^lxc\.rootfs\.path\s*=\s*btrfs:/m.test(baseConfig) || !(await isSubvolume(baseRootfs))) throw new Error('lxc-create did not make a btrfs base');
    log('base made by lxc-create -B btrfs -t busybox');

    const node = process.execPath;
    const cliArgv = (bin: string, ...rest: string[]) => [...cliStart(bin), '-P', host.lxcpath, ...rest];
    // With NODE_EXTRA_CA_CERTS set, the bundle is timed also by `node berth.cjs`: without the
    // launcher, Node parses the variable at start-up.
    const caCli = process.env.NODE_EXTRA_CA_CERTS ? clis.find((c) => c.endsWith('.cjs')) : undefined;
    const caArgv = (bin: string, ...rest: string[]) => [node, bin, '-P', host.lxcpath, ...rest];
    const lib = await makeBerthLib(host.lxcpath, { btrfs: true, copyConcurrency: 1 });
    const traced = await makeBerthLib(host.lxcpath, { btrfs: true, copyConcurrency: 1 });
    const tracer = new Tracer();
    await instrument(traced, tracer);
    // First calls pay one-off costs (ensureRecovered, driver probe, lazy imports): untimed.
    for (const l of [lib, traced]) await libCopy(l, ['warmup']).then(() => removeClones(host, ['warmup']));

    // ---------------------------------------------------------------- 1 + 2: one clone
    const tracedRuns: { ms: number; spans: Span[]; commands: number }[] = [];
    const single: Contender<Made>[] = [
      {
        id: 'bare', label: 'btrfs subvolume snapshot (bare)',
        run: async (tag) => { const p = join(host.plain, `s-${tag}`); await spawnTimed(['btrfs', 'subvolume', 'snapshot', baseRootfs, p]); return { containers: [], plain: [p] }; },
      },
      {
        id: 'lxc-copy', label: 'lxc-copy -s',
        run: async (tag) => { await spawnTimed(['lxc-copy', '-P', host.lxcpath, '-n', 'base', '-N', `l-${tag}`, '-s']); return { containers: [`l-${tag}`], plain: [] }; },
      },
      {
        id: 'berth-lib', label: 'berth.copy snapshot (library)',
        run: async (tag) => { await libCopy(lib, [`b-${tag}`]); return { containers: [`b-${tag}`], plain: [] }; },
      },
      {
        id: 'berth-lib-traced', label: 'berth.copy (library, instrumented)',
        run: async (tag) => {
          tracer.spans = [];
          const mark = traced.commands.length;
          tracer.active = true;
          const t = performance.now();
          try {
            await libCopy(traced, [`t-${tag}`]);
          } finally {
            tracer.active = false;
          }
          tracedRuns.push({ ms: performance.now() - t, spans: [{ label: 'berth.copy', t0: t, t1: performance.now() }, ...tracer.spans], commands: traced.commands.length - mark });
          return { containers: [`t-${tag}`], plain: [] };
        },
      },
    ];
    if (haveCli) single.push({ id: 'node', label: 'node -e 0 (start-up floor)', run: async () => { await spawnTimed([node, '-e', '0']); return { containers: [], plain: [] }; } });
    for (const [i, bin] of clis.entries()) {
      single.push(
        { id: `berth-cli${i ? i + 1 : ''}`, label: `berth copy -s (CLI ${cliName(bin)})`, run: async (tag) => { await spawnTimed(cliArgv(bin, 'copy', '-s', 'base', `c${i}-${tag}`)); return { containers: [`c${i}-${tag}`], plain: [] }; } },
        { id: `cli-help${i ? i + 1 : ''}`, label: `berth --help (${cliName(bin)}: start-up + module load)`, run: async () => { await spawnTimed([...cliStart(bin), '--help']); return { containers: [], plain: [] }; } },
      );
    }
    if (caCli) {
      single.push({
        id: 'berth-cli-nodeca', label: `berth copy -s (node ${cliName(caCli)}: no launcher, Node parses NODE_EXTRA_CA_CERTS)`,
        run: async (tag) => { await spawnTimed(caArgv(caCli, 'copy', '-s', 'base', `n-${tag}`)); return { containers: [`n-${tag}`], plain: [] }; },
      });
    }
    log(`=== one clone, ${args.runs} runs per contender, interleaved`);
    const singleSeries = await measure('one clone', single, args.runs, host);
    const get = (list: Series[], id: string) => list.find((s) => s.id === id);

    // Paired overhead: library minus bare in the same run (adjacent in time).
    const paired: number[] = [];
    const bare = get(singleSeries, 'bare')!;
    for (const s of get(singleSeries, 'berth-lib')!.samples) {
      const b = bare.samples.find((x) => x.run === s.run);
      if (b) paired.push(s.ms - b.ms);
    }
    const overhead = {
      medianMinusMedianMs: (get(singleSeries, 'berth-lib')?.medianMs ?? NaN) - (bare.medianMs ?? NaN),
      pairedMedianMs: paired.length ? median(paired) : NaN,
      goalMs: 5,
    };

    // Breakdown from the instrumented runs: median over runs of each step's exclusive time.
    const perRun = tracedRuns.map((r) => exclusiveTimes(r.spans));
    const labels = new Set(perRun.flatMap((m) => [...m.keys()]));
    const steps = [...labels].map((label) => {
      const ms = median(perRun.map((m) => m.get(label)?.ms ?? 0));
      const count = median(perRun.map((m) => m.get(label)?.count ?? 0));
      return { label, name: gapName(label) ?? '', medianMs: ms, countPerClone: count };
    }).filter((s) => s.medianMs > 0.0005 || s.countPerClone > 0).sort((a, b) => b.medianMs - a.medianMs);
    const commandsPerClone = median(tracedRuns.map((r) => r.commands));
    const tracedTotal = median(tracedRuns.map((r) => r.ms));
    // Grouped: what the issue asks about.
    const group = (label: string): string => {
      if (label.startsWith('cmd btrfs subvolume snapshot') || label.startsWith('subvolume snapshot')) return 'the snapshot itself (ioctl, or btrfs subvolume snapshot command)';
      if (/^btrfs\.quotasEnabled|^btrfs\.inheritLimit|^cmd btrfs qgroup show/.test(label)) return 'quota check (inheritLimit: from the snapshot ioctl; btrfs qgroup show only with quotas on)';
      if (label.startsWith('cmd ')) return `other commands (${label.slice(4)})`;
      if (label.startsWith('lock partial')) return 'partial marker (lock + remove)';
      if (label.startsWith('fs.removeFile(partial)')) return 'partial marker (lock + remove)';
      if (label.startsWith('lock ')) return 'container locks (source shared, target exclusive)';
      if (label.startsWith('journal.')) return 'journal (begin, undo-step lines, close)';
      if (label.startsWith('fs.mkdir')) return 'mkdir of the container dir';
      if (label.startsWith('fs.write(config)')) return 'config write (atomic)';
      if (label === 'LxcConfig.parse' || /^berth\.loadVolume/.test(label)) return 'config read + parse (source)';
      if (/→ fs\.write\(config\)$/.test(label)) return 'cloneConfig';
      if (/^berth\.clone: fs\.write\(config\) → lock partial/.test(label)) return 'hostname update';
      if (label.startsWith('registry.') || label.startsWith('berth.planClone')) return 'planClone / driver probe (×2)';
      return 'other glue (promise hops, validation, withLocks/operation wrappers)';
    };
    const grouped = new Map<string, number[]>();
    for (const m of perRun) {
      const sums = new Map<string, number>();
      for (const [label, { ms }] of m) sums.set(group(label), (sums.get(group(label)) ?? 0) + ms);
      for (const [g, ms] of sums) grouped.set(g, [...(grouped.get(g) ?? []), ms]);
    }
    const groupedMedians = [...grouped].map(([g, xs]) => ({ group: g, medianMs: median(xs) })).sort((a, b) => b.medianMs - a.medianMs);
    report.single = { series: singleSeries, overhead, breakdown: { method: 'instrumented instance (see Tracer)', tracedTotalMedianMs: tracedTotal, commandsPerClone, grouped: groupedMedians, steps } };

    // ---------------------------------------------------------------- 3: batch
    if (args.batch > 0) {
      const n = args.batch;
      const names = (prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
      const libs = new Map<number, BerthLib>();
      for (const c of args.concurrency) {
        const l = await makeBerthLib(host.lxcpath, { btrfs: true, copyConcurrency: c });
        await libCopy(l, ['warmup']).then(() => removeClones(host, ['warmup']));
        libs.set(c, l);
      }
      const progsLib = await makeBerthLib(host.lxcpath, { btrfs: true, copyConcurrency: 32, btrfsSubvolumes: 'btrfs-progs' });
      await libCopy(progsLib, ['warmup']).then(() => removeClones(host, ['warmup']));
      const batch: Contender<Made>[] = [
        {
          id: 'lxc-copy', label: `${n} × lxc-copy -s (sequential)`,
          run: async (tag) => {
            const list = names(`l${tag}-`);
            for (const name of list) await spawnTimed(['lxc-copy', '-P', host.lxcpath, '-n', 'base', '-N', name, '-s']);
            return { containers: list, plain: [] };
          },
        },
        {
          id: 'bare', label: `${n} × btrfs subvolume snapshot (sequential)`,
          run: async (tag) => {
            const list = names(`s${tag}-`).map((x) => join(host.plain, x));
            for (const p of list) await spawnTimed(['btrfs', 'subvolume', 'snapshot', baseRootfs, p]);
            return { containers: [], plain: list };
          },
        },
        {
          // Can the kernel go faster when snapshots run concurrently (their transaction commits coalesce)?
          id: 'bare-p16', label: `${n} × btrfs subvolume snapshot, 16 at a time (xargs -P 16)`,
          run: async (tag) => {
            const list = names(`p${tag}-`).map((x) => join(host.plain, x));
            await spawnTimed(['xargs', '-P', '16', '-n', '2', 'btrfs', 'subvolume', 'snapshot'], { input: list.map((p) => `${baseRootfs} ${p}\n`).join('') });
            return { containers: [], plain: list };
          },
        },
        ...args.concurrency.map((c): Contender<Made> => ({
          id: `berth-lib-c${c}`, label: `berth.copy, ${n} targets, copyConcurrency ${c}`,
          run: async (tag) => { const list = names(`b${c}${tag}-`); await libCopy(libs.get(c)!, list); return { containers: list, plain: [] }; },
        })),
        {
          // The same library with every snapshot by a spawned btrfs (no addon): what the ioctls save.
          id: 'berth-lib-progs', label: `berth.copy, ${n} targets, copyConcurrency 32, btrfs-progs`,
          run: async (tag) => { const list = names(`g${tag}-`); await libCopy(progsLib, list); return { containers: list, plain: [] }; },
        },
      ];
      batch.unshift(...clis.map((bin, i): Contender<Made> => ({
        id: `berth-cli${i ? i + 1 : ''}`, label: `berth copy -s base c1…c${n} (CLI ${cliName(bin)}, one process)`,
        run: async (tag) => { const list = names(`c${i}${tag}-`); await spawnTimed(cliArgv(bin, 'copy', '-s', 'base', ...list)); return { containers: list, plain: [] }; },
      })));
      if (caCli) {
        batch.splice(clis.length, 0, {
          id: 'berth-cli-nodeca', label: `berth copy -s base c1…c${n} (node ${cliName(caCli)}: no launcher, Node parses NODE_EXTRA_CA_CERTS)`,
          run: async (tag) => { const list = names(`n${tag}-`); await spawnTimed(caArgv(caCli, 'copy', '-s', 'base', ...list)); return { containers: list, plain: [] }; },
        });
      }
      log(`=== ${n} clones, ${args.batchRuns} runs per contender, interleaved`);
      const batchSeries = await measure(`${n} clones`, batch, args.batchRuns, host);
      const lxc = get(batchSeries, 'lxc-copy')?.medianMs;
      const speedups: Record<string, number> = {};
      for (const s of batchSeries) if (s.id !== 'lxc-copy' && s.medianMs && lxc) speedups[`lxc-copy/${s.id}`] = lxc / s.medianMs;
      report.batch = { clones: n, series: batchSeries, speedups, goal: 'lxc-copy/berth-cli >= 3' };
    }

    // ---------------------------------------------------------------- 4: evidence (untimed)
    if (args.profile && haveCli) {
      log('=== profiles (untimed): --cpu-prof, strace');
      await mkdir(profileDir, { recursive: true });
      const profiles: Record<string, unknown> = {};
      const cpuProf = async (what: string, bin: string, targets: string[]) => {
        const dir = join(profileDir, what.replace(/\W+/g, '_'));
        await run([node, '--cpu-prof', '--cpu-prof-dir', dir, bin, '-P', host.lxcpath, 'copy', '-s', 'base', ...targets]);
        const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'))!;
        profiles[`cpu ${what}`] = await summarizeCpuProfile(join(dir, file));
        await removeClones(host, targets);
      };
      for (const bin of clis) {
        await cpuProf(`${cliName(bin)} one clone`, bin, ['p1']);
        if (args.batch > 0) await cpuProf(`${cliName(bin)} ${args.batch} clones`, bin, Array.from({ length: args.batch }, (_, i) => `p${i + 1}`));
      }
      if ((await toolVersion(['strace', '-V'])) !== 'unavailable') {
        const st: StraceSummary[] = [];
        // Two traced runs per command (syscall counts, then the execve trace), each on a clean lxcpath.
        const one = async (what: string, argv: string[], made: string[]) => {
          const countFile = join(profileDir, `strace-c-${what.replace(/\W+/g, '_')}.txt`);
          await run(['strace', '-f', '-c', '-o', countFile, ...argv]);
          const syscalls = parseStraceC(await readFile(countFile, 'utf8'));
          await removeClones(host, made);
          const execs = await straceExecs(join(profileDir, `strace-x-${what.replace(/\W+/g, '_')}.txt`), argv);
          await removeClones(host, made);
          st.push({ what, ...execs, syscalls });
        };
        await one('lxc-copy -s (one clone)', ['lxc-copy', '-P', host.lxcpath, '-n', 'base', '-N', 'y1', '-s'], ['y1']);
        for (const bin of clis) {
          await one(`berth copy -s, ${cliName(bin)} (one clone)`, cliArgv(bin, 'copy', '-s', 'base', 'x1'), ['x1']);
          if (args.batch > 0) {
            const list = Array.from({ length: args.batch }, (_, i) => `x${i + 1}`);
            await one(`berth copy -s, ${cliName(bin)} (${args.batch} clones)`, cliArgv(bin, 'copy', '-s', 'base', ...list), list);
          }
        }
        profiles.strace = st;
      } else {
        profiles.strace = 'strace not installed';
      }
      report.profiles = profiles;
    }
  } finally {
    await runCleanups();
  }

  const leftovers = await checkClean(workdir);
  report.leftovers = leftovers;
  report.loadAtEnd = loadavg();
  report.totalSeconds = (performance.now() - t0) / 1000;
  const outDir = join(REPO, 'bench/results');
  await mkdir(outDir, { recursive: true });
  const outFile = join(outDir, `btrfs-clone-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(outFile, `${JSON.stringify(report, null, 2)}\n`);
  printReport(report);
  console.log(`\nJSON: ${outFile}`);
  if (report.profiles) console.log(`profiles: ${profileDir}`);
  if (leftovers.length) {
    console.log(`LEFTOVERS: ${leftovers.join('; ')}`);
    process.exitCode = 1;
  }
}

// ------------------------------------------------------------------ output

const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : x < 10 ? x.toFixed(2) : x < 1000 ? x.toFixed(1) : x.toFixed(0));

function printReport(r: Record<string, any>): void {
  console.log(`\nberth btrfs clone benchmark — ${r.env.kernel}, ${r.env.cpus} CPUs, node ${r.env.node}, lxc ${r.env.lxc}, ${r.env.btrfsProgs}; image on ${r.env.imageHostFs}`);
  console.log(`NODE_EXTRA_CA_CERTS: ${r.env.nodeExtraCaCerts}${r.env.nodeExtraCaCerts === 'unset' ? '' : ' (Node parses it at start-up; berth.cjs starts node without it, the "node berth.cjs" rows with it)'}`);
  console.log(`build: ${r.build}; CLIs measured: ${r.clis.length ? r.clis.join(", ") : "none"}; load average at start ${r.loadAtStart.map((x: number) => x.toFixed(2)).join(' ')}, at end ${r.loadAtEnd.map((x: number) => x.toFixed(2)).join(' ')}`);
  if (r.single) {
    const list: Series[] = r.single.series;
    const bare = list.find((s) => s.id === 'bare')?.medianMs;
    const lxc = list.find((s) => s.id === 'lxc-copy')?.medianMs;
    console.log(`\n## one snapshot clone (${r.args.runs} runs each, interleaved; sync before each, untimed)`);
    console.log(table([
      ['', 'median ms', 'min ms', 'max ms', '/bare', '/lxc-copy', 'load1 (median)'],
      ...list.map((s) => s.error && !s.samples.length
        ? [s.label, `FAILED: ${s.error}`.slice(0, 70), '', '', '', '', '']
        : [s.label, ms(s.medianMs), ms(s.minMs), ms(s.maxMs), fmtRatio(bare ? s.medianMs! / bare : undefined), fmtRatio(lxc ? s.medianMs! / lxc : undefined), s.load1Median!.toFixed(2)]),
    ]));
    const o = r.single.overhead;
    console.log(`library overhead per clone over the bare command: ${ms(o.pairedMedianMs)} ms (median of paired differences), ${ms(o.medianMinusMedianMs)} ms (difference of medians); goal < ${o.goalMs} ms: ${o.pairedMedianMs < o.goalMs ? 'MET' : 'NOT MET'}`);
    const b = r.single.breakdown;
    console.log(`\n## where berth.copy's time goes (instrumented instance, median of ${r.args.runs} clones: ${ms(b.tracedTotalMedianMs)} ms, ${b.commandsPerClone} commands spawned per clone)`);
    console.log(table([['group', 'median ms'], ...b.grouped.map((g: any) => [g.group, ms(g.medianMs)])]));
    console.log('\nsteps (exclusive time; "A → B" is unwrapped code of the step between its wrapped calls A and B):');
    console.log(table([['step', 'median ms', 'calls', 'what'], ...b.steps.filter((s: any) => s.medianMs >= 0.05).map((s: any) => [s.label.slice(0, 80), ms(s.medianMs), s.countPerClone ? String(s.countPerClone) : '', s.name])]));
  }
  if (r.batch) {
    const list: Series[] = r.batch.series;
    const lxc = list.find((s) => s.id === 'lxc-copy')?.medianMs;
    console.log(`\n## ${r.batch.clones} snapshot clones of one base (${r.args.batchRuns} runs each, interleaved)`);
    console.log(table([
      ['', 'median s', 'min s', 'max s', 'ms/clone', 'lxc-copy/this', 'load1 (median)'],
      ...list.map((s) => s.error && !s.samples.length
        ? [s.label, `FAILED: ${s.error}`.slice(0, 70), '', '', '', '', '']
        : [s.label, (s.medianMs! / 1000).toFixed(3), (s.minMs! / 1000).toFixed(3), (s.maxMs! / 1000).toFixed(3), ms(s.medianMs! / r.batch.clones), fmtRatio(lxc ? lxc / s.medianMs! : undefined), s.load1Median!.toFixed(2)]),
    ]));
    // The CLI as a user runs it is the headline; `node berth.cjs` is for comparison.
    for (const s of list.filter((x) => x.id.startsWith('berth-cli'))) {
      const v = r.batch.speedups[`lxc-copy/${s.id}`];
      const what = s.id === 'berth-cli-nodeca' ? 'for comparison' : 'goal';
      if (v !== undefined) console.log(`${what}: ${s.label} at least 3x faster than ${r.batch.clones} lxc-copy -s: ${fmtRatio(v)} ${v >= 3 ? 'MET' : 'NOT MET'}`);
    }
  }
  if (r.profiles) {
    for (const [what, p] of Object.entries(r.profiles) as [string, any][]) {
      if (what === 'strace') continue;
      console.log(`\n## ${what} (CLI --cpu-prof, self time; profile covers ${ms(p.totalMs)} ms after start-up)`);
      console.log(table([['where', 'ms'], ...p.categories.slice(0, 8).map((c: any) => [c.name, ms(c.ms)])]));
      console.log(`top functions: ${p.topFunctions.slice(0, 6).map((f: any) => `${f.name} ${ms(f.ms)}`).join('; ')}`);
    }
    if (Array.isArray(r.profiles.strace)) {
      console.log('\n## strace -f (untimed runs)');
      console.log(table([
        ['', 'processes', 'execve calls', 'clone/clone3', 'wait4', 'openat', 'rename', 'fsync', 'total syscalls'],
        ...r.profiles.strace.map((s: StraceSummary) => {
          const c = (name: string) => String(s.syscalls.filter((x) => x.name === name).reduce((a, x) => a + x.calls, 0));
          const cl = s.syscalls.filter((x) => x.name === 'clone' || x.name === 'clone3').reduce((a, x) => a + x.calls, 0);
          return [s.what, String(s.processesStarted), String(s.execveCalls), String(cl), c('wait4'), c('openat'), c('rename'), c('fsync'), String(s.syscalls.reduce((a, x) => a + x.calls, 0))];
        }),
      ]));
    }
  }
  console.log(`\ntotal ${r.totalSeconds.toFixed(1)} s`);
}

// ------------------------------------------------------------------ entry

if (!rerunWithThreadPool()) await runBench(main);
