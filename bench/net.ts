/**
 * Setup + teardown of N veth interfaces (default 50): bare `ip` commands against berth's
 * veth driver in-process (library) and `berth net attach/detach` (CLI, one process per
 * container). Everything happens in namespaces made here (a host namespace with a
 * bridge, one container namespace), deleted at the end even on failure.
 *
 *   node --import tsx --conditions=berth-source bench/net.ts [--count 50]
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLI_BIN, fromCli, importFrom, log, run } from './common.js';

const countArg = process.argv.indexOf('--count');
const COUNT = countArg > 0 ? Number(process.argv[countArg + 1]) : 50;
const id = randomBytes(3).toString('hex');
const HOST = `berth-b-${id}-h`;
const CONTAINER = `berth-b-${id}-c`;
const hostNetns = { path: `/run/netns/${HOST}` };
const containerNetns = { path: `/run/netns/${CONTAINER}` };

async function timed(label: string, fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  const ms = performance.now() - start;
  log(`${label}: ${ms.toFixed(0)} ms (${(ms / COUNT).toFixed(1)} ms per interface)`);
  return ms;
}

async function assertClean(): Promise<void> {
  const { stdout } = await run(['ip', '-n', CONTAINER, '-br', 'link']);
  if (stdout.trim().split('\n').length !== 1) throw new Error(`interfaces left in ${CONTAINER}:\n${stdout}`);
}

const scratch = await mkdtemp(join(tmpdir(), 'berth-bench-net-'));
try {
  await run(['ip', 'netns', 'add', HOST]);
  await run(['ip', 'netns', 'add', CONTAINER]);
  await run(['ip', '-n', HOST, 'link', 'add', 'br0', 'type', 'bridge']);
  await run(['ip', '-n', HOST, 'link', 'set', 'br0', 'up']);
  const address = (i: number) => `198.51.100.${i + 1}/24`;

  const bare = await timed(`bare ip, ${COUNT} veth`, async () => {
    for (let i = 0; i < COUNT; i++) {
      await run(['ip', '-n', HOST, 'link', 'add', `vb${i}`, 'mtu', '1500', 'type', 'veth', 'peer', 'name', `eth${i}`, 'mtu', '1500', 'netns', CONTAINER]);
      await run(['ip', '-n', HOST, 'link', 'set', 'dev', `vb${i}`, 'master', 'br0']);
      await run(['ip', '-n', HOST, 'link', 'set', 'dev', `vb${i}`, 'up']);
      await run(['ip', '-n', CONTAINER, 'addr', 'add', address(i), 'dev', `eth${i}`]);
      await run(['ip', '-n', CONTAINER, 'link', 'set', 'dev', `eth${i}`, 'up']);
    }
    for (let i = 0; i < COUNT; i++) await run(['ip', '-n', CONTAINER, 'link', 'delete', 'dev', `eth${i}`]);
  });
  await assertClean();

  const core = await importFrom(fromCli, '@berth/core');
  const { vethModule } = await importFrom(fromCli, '@berth/net-veth');
  const { berth } = await core.createBerth({ modules: [vethModule], lxcpath: join(scratch, 'lxc') });
  const driver = berth.drivers.networkDriver('veth');
  const settings = Array.from({ length: COUNT }, (_, i) =>
    driver.parse([['type', 'veth'], ['link', 'br0'], ['flags', 'up'], ['veth.pair', `vb${i}`], ['ipv4.address', address(i)]]),
  );
  const target = (i: number) => ({ containerName: `c${i}`, index: i, containerNetns, hostNetns });
  const library = await timed(`berth library, ${COUNT} veth`, async () => {
    for (let i = 0; i < COUNT; i++) await driver.setup(settings[i], target(i));
    for (let i = 0; i < COUNT; i++) await driver.teardown(settings[i], target(i));
  });
  await assertClean();

  let cli: number | undefined;
  if (existsSync(CLI_BIN)) {
    const lxcpath = join(scratch, 'lxc');
    await writeFile(join(scratch, 'default.conf'), '');
    await writeFile(join(scratch, 'lxc.conf'), `lxc.default_config = ${join(scratch, 'default.conf')}\n`);
    const env = { ...process.env, BERTH_CONFIG: join(scratch, 'none.json'), BERTH_LXC_CONF: join(scratch, 'lxc.conf') };
    const berthCli = (...args: string[]) => run(['node', CLI_BIN, '-P', lxcpath, ...args], { env });
    // One container per interface, each with lxc.net.0 named eth<i> (not timed).
    for (let i = 0; i < COUNT; i++) {
      await berthCli('create', `c${i}`);
      await berthCli('net', 'add', `c${i}`, 'veth', 'link=br0', `name=eth${i}`, `veth.pair=vb${i}`, `ipv4.address=${address(i)}`);
    }
    const wiring = ['--netns', containerNetns.path, '--host-netns', hostNetns.path];
    cli = await timed(`berth CLI, ${COUNT} veth`, async () => {
      for (let i = 0; i < COUNT; i++) await berthCli('net', 'attach', `c${i}`, ...wiring);
      for (let i = 0; i < COUNT; i++) await berthCli('net', 'detach', `c${i}`, ...wiring);
    });
    await assertClean();
  } else {
    log(`no ${CLI_BIN}: build first (npx tsc -b tsconfig.build.json) to measure the CLI`);
  }
  log(`ratios to bare ip: library ${(library / bare).toFixed(2)}x${cli === undefined ? '' : `, CLI ${(cli / bare).toFixed(2)}x`}`);
} finally {
  await run(['ip', 'netns', 'delete', CONTAINER], { reject: false });
  await run(['ip', 'netns', 'delete', HOST], { reject: false });
  await rm(scratch, { recursive: true, force: true });
}
