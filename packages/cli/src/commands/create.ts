import { Option, type Command } from 'commander';
import type { CreateSource } from '@berth/core';
import { addBackendFlags, backendOptions, type BackendFlags, checkNames, sizeArgument, usageError } from '../arguments.js';
import { containerJson } from '../json.js';
import type { CommandContext } from './context.js';

interface CreateFlags extends BackendFlags {
  backend?: string;
  fromDir?: string;
  tarball?: string;
  template?: string;
}

export function registerCreate(program: Command, context: CommandContext): void {
  addBackendFlags(
    program
      .command('create')
      .summary('create a container (empty, from a directory, tarball or template)')
      .description('create a container: empty, or filled from a directory, a rootfs tarball or an LXC template')
      .argument('<name>', 'name of the new container')
      .argument('[args...]', 'after --: arguments for the template (with -t)')
      .option('-B, --backend <type>', 'storage backend, see `berth drivers` (default: dir)')
      .addOption(new Option('--fssize <size>', 'filesystem size for sized backends: 512M, 1G, 2GiB; a bare number is MiB').argParser(sizeArgument))
      .option('--fstype <type>', 'filesystem type for sized backends (ext4, xfs…)')
      .option('--dir <path>', 'put the rootfs directory here instead of <lxcpath>/<name>/rootfs (dir backend)'),
  )
    .addOption(new Option('--from-dir <dir>', 'fill the rootfs with a copy of this directory').conflicts(['tarball', 'template']))
    .addOption(new Option('--tarball <file>', 'fill the rootfs from this tarball (.tar, .tar.gz, .tar.xz…)').conflicts(['template']))
    .option('-t, --template <name>', 'run an LXC template: lxc-<name> in /usr/share/lxc/templates, or a path')
    .addHelpText(
      'after',
      `
Examples:
  berth create web                          an empty dir container
  berth create web --from-dir /srv/rootfs   a copy of a directory
  berth create bb -t busybox                LXC's busybox template
  berth create deb -t download -- -d debian -r bookworm -a amd64`,
    )
    .action(async (name: string, templateArgs: string[], flags: CreateFlags, command: Command) => {
      const session = context.session(command);
      checkNames(name);
      if (templateArgs.length > 0 && flags.template === undefined) {
        throw usageError(`unexpected argument ${JSON.stringify(templateArgs[0])}: arguments after the name go to a template, and there is no -t/--template`);
      }
      const options = backendOptions(flags);
      const source: CreateSource =
        flags.fromDir !== undefined
          ? { kind: 'directory', path: flags.fromDir }
          : flags.tarball !== undefined
            ? { kind: 'tarball', path: flags.tarball }
            : flags.template !== undefined
              ? { kind: 'template', template: flags.template, args: templateArgs }
              : { kind: 'empty' };
      await session.perform(
        (berth) => berth.create({ name, options, source, ...(flags.backend !== undefined ? { backend: flags.backend } : {}) }),
        (summary) => ({ json: containerJson(summary), lines: [`created ${name} (${summary.backend})`] }),
      );
    });
}
