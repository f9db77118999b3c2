import type { Command } from 'commander';
import { formatBytes, parseSize, type ContainerInfo, type ContainerSummary } from '@berth/core';
import { checkNames, usageError } from '../arguments.js';
import { ExitCode, errorCodeOf, errorMessageOf } from '../exit.js';
import { containerInfoJson, containerJson } from '../json.js';
import { listOrDash, renderTable } from '../output.js';
import type { CommandContext } from './context.js';

export function registerContainerCommands(program: Command, context: CommandContext): void {
  program
    .command('destroy')
    .summary('destroy containers')
    .description('destroy containers; each is refused while other containers depend on it')
    .argument('<names...>', 'the containers, destroyed in this order (name clones before their base)')
    .option('-s, --with-snapshots', 'destroy their snapshots too (refused if one is the base of a clone)')
    .addHelpText(
      'after',
      `
With several names, each is destroyed under its own lock, in the order given, and
a refusal stops only that one; exit status 1 when any failed. One process for many
containers also saves a start-up per container.

Examples:
  berth destroy web1
  berth destroy c1 c2 c3 base           clones first, then their base`,
    )
    .action(async (names: string[], flags: { withSnapshots?: boolean }, command: Command) => {
      const session = context.session(command);
      checkNames(...names);
      const twice = names.find((name, i) => names.indexOf(name) !== i);
      if (twice !== undefined) throw usageError(`${twice} is named twice`);
      const options = { withSnapshots: flags.withSnapshots ?? false };
      if (names.length === 1) {
        // One name: the error is the command's (its own exit status), as before.
        const [name] = names as [string];
        await session.perform(
          (berth) => berth.destroy(name, options),
          () => ({ json: { destroyed: name }, lines: [`destroyed ${name}`] }),
        );
        return;
      }
      const outcomes = await session.perform(
        async (berth) => {
          const results: { name: string; error?: unknown }[] = [];
          for (const name of names) results.push(await berth.destroy(name, options).then(() => ({ name }), (error: unknown) => ({ name, error })));
          return results;
        },
        (results) => ({
          json: {
            destroyed: results.filter((r) => !('error' in r)).map((r) => r.name),
            failed: results.flatMap((r) => ('error' in r ? [{ name: r.name, error: { code: errorCodeOf(r.error), message: errorMessageOf(r.error) } }] : [])),
          },
          lines: results.flatMap((r) => ('error' in r ? [] : [`destroyed ${r.name}`])),
        }),
      );
      const failed = outcomes.filter((r) => 'error' in r);
      if (!session.output.json) for (const r of failed) session.output.note(`berth: ${r.name}: ${errorMessageOf(r.error)}`);
      if (failed.length > 0) session.exitCode = ExitCode.Failed;
    });

  program
    .command('quota')
    .summary('set or remove the size limit of a container')
    .description('set the size limit of a container\'s rootfs (btrfs: a qgroup limit), or remove it with "none"')
    .argument('<name>', 'the container')
    .argument('<size>', 'the limit: 512M, 10G, 2GiB (a bare number is MiB), or none')
    .action(async (name: string, size: string, _flags: unknown, command: Command) => {
      const session = context.session(command);
      checkNames(name);
      const bytes = size === 'none' ? null : parseSize(size, 'quota');
      await session.perform(
        (berth) => berth.setQuota(name, bytes),
        (info) => ({
          json: containerInfoJson(info),
          lines: [bytes === null ? `removed the quota of ${name}` : `${name} is limited to ${formatBytes(bytes)}${info.usage ? ` (uses ${formatBytes(info.usage.usedBytes)})` : ''}`],
        }),
      );
    });

  program
    .command('rename')
    .summary("rename a container")
    .description('rename a container (its directory, config, hostname and snapshots)')
    .argument('<name>', 'the container')
    .argument('<newname>', 'its new name')
    .action(async (name: string, newName: string, _flags: unknown, command: Command) => {
      const session = context.session(command);
      checkNames(name, newName);
      await session.perform(
        (berth) => berth.rename(name, newName),
        (summary) => ({ json: containerJson(summary), lines: [`renamed ${name} to ${newName}`] }),
      );
    });

  program
    .command('ls')
    .summary("list containers")
    .alias('list')
    .description('list the containers in the lxcpath')
    .option('-u, --usage', 'also show each rootfs\'s usage and limit, where the backend reports them (slower: asks every backend)')
    .action(async (flags: { usage?: boolean }, command: Command) => {
      const session = context.session(command);
      const berth = await session.berth();
      const containers = await berth.list();
      if (flags.usage) {
        const infos = await Promise.all(containers.map((c) => berth.info(c.name)));
        const used = (info: ContainerInfo) => (info.usage ? formatBytes(info.usage.usedBytes) : '-');
        const limit = (info: ContainerInfo) => (info.usage?.limitBytes !== undefined ? formatBytes(info.usage.limitBytes) : '-');
        session.output.result(infos.map(containerInfoJson), () =>
          infos.length === 0
            ? []
            : renderTable(
                ['NAME', 'BACKEND', 'SNAPSHOTS', 'USED', 'LIMIT', 'DEPENDS-ON', 'DEPENDENTS'],
                infos.map((c) => [listName(c), c.backend, String(c.snapshots), used(c), limit(c), listOrDash(c.dependsOn), listOrDash(c.dependents)]),
              ),
        );
        return;
      }
      session.output.result(containers.map(containerJson), () =>
        containers.length === 0
          ? []
          : renderTable(
              ['NAME', 'BACKEND', 'SNAPSHOTS', 'DEPENDS-ON', 'DEPENDENTS'],
              containers.map((c) => [listName(c), c.backend, String(c.snapshots), listOrDash(c.dependsOn), listOrDash(c.dependents)]),
            ),
      );
    });

  program
    .command('info')
    .summary("show a container's storage details")
    .description("show a container's storage: backend, rootfs, snapshots, dependencies, usage")
    .argument('<name>', 'the container')
    .action(async (name: string, _flags: unknown, command: Command) => {
      const session = context.session(command);
      checkNames(name);
      const berth = await session.berth();
      if (!(await berth.exists(name))) {
        // info() alone would describe what little is there; a missing container is an error.
        await berth.loadVolume(berth.ref(name));
      }
      const info = await berth.info(name);
      session.output.result(containerInfoJson(info), () => infoLines(info));
    });

  program
    .command('mount')
    .summary("mount a container's rootfs")
    .description("mount a container's rootfs (default: on <lxcpath>/<name>/rootfs) and print where")
    .argument('<name>', 'the container')
    .argument('[mountpoint]', 'an existing directory to mount it on')
    .action(async (name: string, mountpoint: string | undefined, _flags: unknown, command: Command) => {
      const session = context.session(command);
      checkNames(name);
      const path = await session.perform(
        (berth) => berth.mount(name, mountpoint),
        (where) => ({ json: { name, mountpoint: where }, lines: [] }),
      );
      if (!session.options.dryRun && !session.output.json) session.output.result(null, [path]);
    });

  program
    .command('umount')
    .summary("unmount a container's rootfs")
    .alias('unmount')
    .description("unmount a container's rootfs")
    .argument('<name>', 'the container')
    .argument('[mountpoint]', 'where it is mounted (default: <lxcpath>/<name>/rootfs)')
    .action(async (name: string, mountpoint: string | undefined, _flags: unknown, command: Command) => {
      const session = context.session(command);
      checkNames(name);
      await session.perform(
        (berth) => berth.unmount(name, mountpoint),
        (where) => ({ json: { name, mountpoint: where }, lines: [`unmounted ${where}`] }),
      );
    });
}

function infoLines(info: ContainerInfo): string[] {
  const rows: [string, string][] = [
    ['name', info.partial ? `${info.name} (partial: creation was interrupted)` : info.name],
    ['backend', info.backend],
    ['rootfs', info.rootfs || '-'],
    ['directory', info.dir],
    ['config', info.config],
    ['snapshots', String(info.snapshots)],
    ['depends on', listOrDash(info.dependsOn)],
    ['dependents', listOrDash(info.dependents)],
  ];
  if (info.usage) {
    const { usedBytes, limitBytes, freeBytes, details } = info.usage;
    rows.push(['used', formatBytes(usedBytes)]);
    if (limitBytes !== undefined) rows.push(['limit', formatBytes(limitBytes)]);
    if (freeBytes !== undefined) rows.push(['free', formatBytes(freeBytes)]);
    for (const [key, value] of Object.entries(details ?? {})) rows.push([key, typeof value === 'number' ? formatBytes(value) : value]);
  } else if (info.usageError) {
    rows.push(['usage', `unknown (${info.usageError})`]);
  }
  const width = Math.max(...rows.map(([key]) => key.length)) + 1;
  return rows.map(([key, value]) => `${`${key}:`.padEnd(width)} ${value}`);
}

function listName(container: ContainerSummary): string {
  return container.partial ? `${container.name} (partial)` : container.name;
}
