/**
 * berth loop copy benchmark: a copy of a loop container holding a Debian minbase rootfs,
 * `berth copy` (a reflink clone of the image on btrfs/xfs hosts, a sparse copy on ext4,
 * keeping size and fstype) against `lxc-copy` (a new 1 GiB ext4 image, mkfs, rsync), on
 * ext4, btrfs and xfs host filesystems (loop-mounted images).
 *
 *   node --import tsx --conditions=berth-source bench/loop-copy.ts [--runs 3] [--fs ext4,btrfs,xfs] [--rootfs DIR]
 *
 * Needs the CLI built (`npx tsc -b tsconfig.build.json`) and the rootfs from
 * bench/prepare-rootfs.sh. Everything it makes is removed at the end, also on failure
 * or SIGINT/SIGTERM.
 */
import { CLI_BIN, abortAndCleanUp, dropCaches, fmt, fmtRatio, log, makeBase, median, run, runCleanups, setupHostFs, timed, usedBytes } from './common.js';

interface Args {
  runs: number;
  filesystems: string[];
  rootfs: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { runs: 3, filesystems: ['ext4', 'btrfs', 'xfs'], rootfs: '/var/cache/berth-bench/minbase' };
  for (let i = 0; i < argv.length; i++) {
    const value = () => argv[++i] ?? '';
    switch (argv[i]) {
      case '--runs': args.runs = Number(value()); break;
      case '--fs': args.filesystems = value().split(','); break;
      case '--rootfs': args.rootfs = value(); break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  process.on('SIGINT', () => void abortAndCleanUp().then(() => process.exit(130)));
  process.on('SIGTERM', () => void abortAndCleanUp().then(() => process.exit(143)));
  const workdir = (await run(['mktemp', '-d', '/var/tmp/berth-loop-bench.XXXXXX'])).stdout.trim();
  const rows: string[] = [];
  try {
    for (const fs of args.filesystems) {
      const host = await setupHostFs(fs, workdir, 8 * 1024 ** 3);
      await makeBase(host, args.rootfs);
      const berth = (...rest: string[]) => ['node', CLI_BIN, '-P', host.lxcpath, ...rest];
      // The source: a 1 GiB ext4 loop container (LXC's default shape) holding the rootfs.
      await run(berth('copy', '-B', 'loop', 'base', 'src'));
      const berthTimes: number[] = [];
      const lxcTimes: number[] = [];
      const berthSpace: number[] = [];
      const lxcSpace: number[] = [];
      for (let i = 0; i < args.runs; i++) {
        for (const [tool, times, space] of [
          ['berth', berthTimes, berthSpace],
          ['lxc-copy', lxcTimes, lxcSpace],
        ] as const) {
          const name = `${tool === 'berth' ? 'b' : 'l'}${i}`;
          await dropCaches();
          const before = await usedBytes(host.mnt);
          const argv = tool === 'berth' ? berth('copy', 'src', name) : ['lxc-copy', '-P', host.lxcpath, '-n', 'src', '-N', name];
          const { seconds } = await timed(() => run(argv));
          await run(['sync']);
          times.push(seconds);
          space.push((await usedBytes(host.mnt)) - before);
          const destroy = tool === 'berth' ? berth('destroy', name) : ['lxc-destroy', '-P', host.lxcpath, '-n', name];
          await run(destroy);
        }
      }
      const b = median(berthTimes);
      const l = median(lxcTimes);
      const mib = (xs: number[]) => `${(median(xs) / 1024 ** 2).toFixed(0)} MiB`;
      rows.push(`${fs.padEnd(6)} berth ${fmt(b)} s (${mib(berthSpace)} new)   lxc-copy ${fmt(l)} s (${mib(lxcSpace)} new)   lxc-copy/berth ${fmtRatio(l / b)}`);
      log(rows[rows.length - 1]!);
      await run(berth('destroy', 'src'));
      await runCleanups();
    }
  } finally {
    await runCleanups();
    await run(['rm', '-rf', workdir]);
  }
  console.log(`loop copy of a 1 GiB ext4 loop container holding ${args.rootfs}, median of ${args.runs}:`);
  for (const row of rows) console.log(row);
}

await main();
