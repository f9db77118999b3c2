/**
 * Where a berth copy's time goes (companion of bench/copy.ts):
 *   A. wall / user / sys of `cp -a` (what berth runs), the rsync that lxc-copy runs, and
 *      lxc-copy itself, cold cache: is the copy CPU- or I/O-bound?
 *   B. the same tree copied by K concurrent `cp -a` over a size-balanced split: would a
 *      parallel copy beat one cp?
 *   C. berth.copy in-process, with every fsync/fdatasync berth makes counted and timed,
 *      for a full copy and a snapshot clone.
 *
 *   node --import tsx --conditions=berth-source bench/profile-copy.ts [--fs ext4,btrfs] [--runs 3]
 */
import { chmod, chown, lstat, mkdir, open, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  REPO,
  berthLibCopy,
  checkClean,
  cleanups,
  dropCaches,
  fmt,
  makeBase,
  makeBerthLib,
  median,
  onCleanup,
  removeContainer,
  resetBaseRecords,
  run,
  runCleanups,
  setupHostFs,
  type HostFsSetup,
  runBench,
} from './common.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
};
const filesystems = opt('--fs', 'ext4,btrfs').split(',');
const runs = Number.parseInt(opt('--runs', '3'), 10);

interface Times { wall: number; user: number; sys: number }

/** Runs argv under GNU time; returns its wall, user and sys seconds. */
async function gnuTime(cmd: readonly string[]): Promise<Times> {
  const r = await run(['/usr/bin/time', '-f', 'BENCHTIME %e %U %S', ...cmd]);
  const line = r.stderr.split('\n').find((l) => l.startsWith('BENCHTIME '))!;
  const [wall, user, sys] = line.split(' ').slice(1).map(Number) as [number, number, number];
  return { wall, user, sys };
}

const med = (xs: Times[]): Times => ({ wall: median(xs.map((x) => x.wall)), user: median(xs.map((x) => x.user)), sys: median(xs.map((x) => x.sys)) });
const showTimes = (t: Times) => `wall ${fmt(t.wall)} s, user ${fmt(t.user)} s, sys ${fmt(t.sys)} s, CPU/wall ${((t.user + t.sys) / t.wall).toFixed(2)}`;

async function duBytes(path: string): Promise<number> {
  let total = 0;
  const st = await lstat(path);
  if (!st.isDirectory()) return st.size;
  for (const name of await readdir(path)) total += await duBytes(join(path, name));
  return total;
}

/** Splits a tree's entries (2 levels deep under big dirs) into k buckets of similar size. */
async function split(root: string, k: number): Promise<{ dirs: string[]; buckets: string[][] }> {
  const items: { rel: string; bytes: number }[] = [];
  const dirs: string[] = [];
  const walk = async (rel: string, depth: number) => {
    for (const name of await readdir(join(root, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(root, r));
      if (st.isDirectory() && depth < 2 && ['usr', 'usr/lib', 'usr/share', 'var', 'var/lib'].includes(r)) {
        dirs.push(r);
        await walk(r, depth + 1);
      } else {
        items.push({ rel: r, bytes: await duBytes(join(root, r)) });
      }
    }
  };
  await walk('', 0);
  items.sort((a, b) => b.bytes - a.bytes);
  const buckets = Array.from({ length: k }, () => ({ bytes: 0, rels: [] as string[] }));
  for (const it of items) {
    const b = buckets.reduce((x, y) => (y.bytes < x.bytes ? y : x));
    b.bytes += it.bytes;
    b.rels.push(it.rel);
  }
  return { dirs, buckets: buckets.map((b) => b.rels) };
}

async function parallelCp(src: string, dst: string, plan: { dirs: string[]; buckets: string[][] }): Promise<void> {
  await mkdir(dst);
  for (const d of plan.dirs) await mkdir(join(dst, d));
  await Promise.all(plan.buckets.map(async (rels) => {
    // One cp per bucket and parent dir (cp -a SRC... DIR).
    const byParent = new Map<string, string[]>();
    for (const rel of rels) {
      const parent = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
      byParent.set(parent, [...(byParent.get(parent) ?? []), join(src, rel)]);
    }
    for (const [parent, sources] of byParent) await run(['cp', '-a', ...sources, `${join(dst, parent)}/`]);
  }));
  // The skeleton dirs' own metadata (owner, mode, times), as cp -a would leave it.
  for (const d of ['', ...plan.dirs].reverse()) {
    const st = await lstat(join(src, d));
    await chown(join(dst, d), st.uid, st.gid);
    await chmod(join(dst, d), st.mode & 0o7777);
    await utimes(join(dst, d), st.atime, st.mtime);
  }
}

/** Counts and times every fsync/fdatasync made through fs/promises FileHandles. */
async function instrumentSyncs(): Promise<{ calls: number; seconds: number; reset(): void }> {
  const probe = await open('/dev/null', 'r');
  const proto = Object.getPrototypeOf(probe) as Record<string, (...a: unknown[]) => Promise<unknown>>;
  await probe.close();
  const stats = { calls: 0, seconds: 0, reset() { stats.calls = 0; stats.seconds = 0; } };
  for (const method of ['sync', 'datasync']) {
    const original = proto[method]!;
    proto[method] = async function (this: unknown, ...a: unknown[]) {
      const t0 = performance.now();
      try {
        return await original.apply(this, a);
      } finally {
        stats.calls++;
        stats.seconds += (performance.now() - t0) / 1000;
      }
    };
  }
  return stats;
}

async function profileFs(fsType: string, workdir: string, rootfs: string, syncs: Awaited<ReturnType<typeof instrumentSyncs>>): Promise<string[]> {
  const out: string[] = [`## ${fsType}`];
  const host: HostFsSetup = await setupHostFs(fsType, workdir, 4 * 1024 ** 3);
  const base = await makeBase(host, rootfs);
  const dst = join(host.plain, 'x');

  // A. CPU vs wall, cold.
  const cases: [string, (d: string) => string[]][] = [
    ['cp -a --reflink=auto --sparse=auto (berth)', (d) => ['cp', '-a', '--reflink=auto', '--sparse=auto', '--no-target-directory', base, d]],
    ['rsync -aHXS --numeric-ids (as lxc-copy)', (d) => ['rsync', '-aHXS', '--numeric-ids', `${base}/`, `${d}/`]],
    ['lxc-copy', () => ['lxc-copy', '-P', host.lxcpath, '-n', 'base', '-N', 'p1']],
  ];
  for (const [label, cmd] of cases) {
    const xs: Times[] = [];
    for (let r = 0; r < runs; r++) {
      await dropCaches();
      xs.push(await gnuTime(cmd(dst)));
      await rm(dst, { recursive: true, force: true });
      await removeContainer(host, 'p1');
    }
    out.push(`A  ${label.padEnd(44)} ${showTimes(med(xs))}`);
  }

  // B. K concurrent cp -a.
  for (const k of [1, 2, 4]) {
    const plan = await split(base, k);
    const xs: number[] = [];
    for (let r = 0; r < runs; r++) {
      await dropCaches();
      const t0 = performance.now();
      await parallelCp(base, dst, plan);
      xs.push((performance.now() - t0) / 1000);
      await rm(dst, { recursive: true, force: true });
    }
    out.push(`B  ${`${k} concurrent cp -a (split by size)`.padEnd(44)} wall ${fmt(median(xs))} s`);
  }

  // C. berth in-process: fsyncs and external commands.
  const lib = await makeBerthLib(host.lxcpath);
  await berthLibCopy(lib, 'base', ['warmup'], true); // first operation runs recovery
  await removeContainer(host, 'warmup');
  await resetBaseRecords(host);
  for (const snapshot of [false, true]) {
    const rows: { total: number; cmds: number; syncs: number; syncSeconds: number; cmdList: string }[] = [];
    for (let r = 0; r < runs; r++) {
      await dropCaches();
      const mark = lib.commands.length;
      syncs.reset();
      const t0 = performance.now();
      await berthLibCopy(lib, 'base', [`c${r}`], snapshot);
      const total = (performance.now() - t0) / 1000;
      const cmds = lib.commands.slice(mark);
      rows.push({ total, cmds: cmds.reduce((a, c) => a + c.seconds, 0), syncs: syncs.calls, syncSeconds: syncs.seconds, cmdList: cmds.map((c) => `${c.cmd} ${fmt(c.seconds)}`).join(', ') });
      await removeContainer(host, `c${r}`);
      await resetBaseRecords(host);
    }
    const m = (f: (x: (typeof rows)[number]) => number) => median(rows.map(f));
    out.push(`C  berth.copy ${snapshot ? 'snapshot' : 'full'}: total ${fmt(m((x) => x.total))} s; external commands ${fmt(m((x) => x.cmds))} s [${rows[0]!.cmdList}]; ${m((x) => x.syncs)} fsync/fdatasync calls taking ${fmt(m((x) => x.syncSeconds))} s; rest ${fmt(m((x) => x.total - x.cmds - x.syncSeconds))} s`);
  }
  return out;
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('run as root');
  const p = await run(['bash', join(REPO, 'bench/prepare-rootfs.sh')]);
  const rootfs = resolve(p.stdout.trim().split('\n').pop()!);
  const workdir = join('/var/tmp', `berth-profile.${process.pid}`);
  await mkdir(workdir, { recursive: true });
  onCleanup(`rm ${workdir}`, async () => {
    await rm(workdir, { recursive: true, force: true });
    await rm(join('/run/lxc/lock', workdir), { recursive: true, force: true });
  });
  const syncs = await instrumentSyncs();
  const lines: string[] = [];
  try {
    for (const fsType of filesystems) {
      const mark = cleanups.length;
      try {
        lines.push(...(await profileFs(fsType, workdir, rootfs, syncs)));
      } finally {
        await runCleanups(mark);
      }
    }
  } finally {
    await runCleanups();
  }
  const text = `berth copy profile (${runs} runs, medians, cold cache)\n${lines.join('\n')}\n`;
  console.log(text);
  await mkdir(join(REPO, 'bench/results'), { recursive: true });
  await writeFile(join(REPO, 'bench/results', `profile-${new Date().toISOString().replace(/[:.]/g, '-')}.txt`), text);
  const left = await checkClean(workdir);
  if (left.length) { console.log(`LEFTOVERS: ${left.join('; ')}`); process.exitCode = 1; }
}

await runBench(main);
