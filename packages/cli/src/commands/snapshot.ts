import type { Command } from 'commander';
import { validateContainerName } from '@berth/core';
import { checkNames } from '../arguments.js';
import { containerJson, snapshotJson } from '../json.js';
import { renderTable } from '../output.js';
import type { CommandContext } from './context.js';

/**
 * `berth snapshot NAME` makes a snapshot, while `berth snapshot list|restore|delete …`
 * manage them: `create` is the default subcommand, so its name may be left out. A
 * container called `list`, `restore`, `delete`, `create` or `help` is reached by naming
 * the subcommand: `berth snapshot create list`.
 */
export function registerSnapshot(program: Command, context: CommandContext): void {
  const snapshot = program
    .command('snapshot')
    .summary('make, list, restore and delete snapshots')
    .description('make, list, restore and delete container snapshots (as lxc-snapshot)')
    .usage('[create] <name> [-c <text>] | list <name> | restore <name> <snap> [newname] | delete <name> <snap|ALL>')
    .addHelpText(
      'after',
      `
"berth snapshot NAME" is short for "berth snapshot create NAME". For a container
named like a subcommand (list, restore, delete, create, help), spell it out:
"berth snapshot create list".

Snapshots live in <lxcpath>/<name>/snaps/snapN, where lxc-snapshot -L finds them.`,
    );

  snapshot
    .command('create', { isDefault: true })
    .description('snapshot a container into <lxcpath>/<name>/snaps/snapN (the default subcommand)')
    .argument('<name>', 'the container')
    .option('-c, --comment <text>', 'a comment stored with the snapshot')
    .action(async (name: string, flags: { comment?: string }, command: Command) => {
      const session = context.session(command);
      checkNames(name);
      await session.perform(
        (berth) => berth.snapshot(name, flags.comment !== undefined ? { comment: flags.comment } : {}),
        (info) => ({ json: snapshotJson(info), lines: [`${name}: snapshot ${info.name} created`] }),
      );
    });

  snapshot
    .command('list')
    .description("list a container's snapshots")
    .argument('<name>', 'the container')
    .action(async (name: string, _flags: unknown, command: Command) => {
      const session = context.session(command);
      checkNames(name);
      const snapshots = await (await session.berth()).listSnapshots(name);
      session.output.result(snapshots.map(snapshotJson), () =>
        snapshots.length === 0
          ? [`${name} has no snapshots`]
          : renderTable(
              ['SNAPSHOT', 'CREATED', 'BACKEND', 'COMMENT'],
              snapshots.map((s) => [s.name, s.timestamp ?? '-', s.backend, (s.comment ?? '').split('\n')[0] || '-']),
            ),
      );
    });

  snapshot
    .command('restore')
    .description('restore a snapshot: in place (replacing the current rootfs), or as a new container')
    .argument('<name>', 'the container')
    .argument('<snap>', 'the snapshot (snapN)')
    .argument('[newname]', 'restore into this new container instead of in place')
    .action(async (name: string, snap: string, newName: string | undefined, _flags: unknown, command: Command) => {
      const session = context.session(command);
      checkNames(name, ...(newName !== undefined ? [newName] : []));
      validateContainerName(snap, 'snapshot name');
      await session.perform(
        (berth) => berth.restoreSnapshot(name, snap, newName),
        (summary) => ({
          json: containerJson(summary),
          lines: [newName === undefined ? `${name}: restored from ${snap}` : `${newName}: restored from ${snap} of ${name}`],
        }),
      );
    });

  snapshot
    .command('delete')
    .description('delete one snapshot, or ALL of them')
    .argument('<name>', 'the container')
    .argument('<snap>', 'the snapshot (snapN), or ALL')
    .action(async (name: string, snap: string, _flags: unknown, command: Command) => {
      const session = context.session(command);
      checkNames(name);
      if (snap !== 'ALL') validateContainerName(snap, 'snapshot name');
      await session.perform(
        (berth) => berth.deleteSnapshot(name, snap),
        (deleted) => ({
          json: { container: name, deleted },
          lines: [deleted.length === 0 ? `${name} had no snapshots` : `${name}: deleted ${deleted.join(', ')}`],
        }),
      );
    });
}
