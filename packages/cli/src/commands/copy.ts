import { Option, type Command } from 'commander';
import { addBackendFlags, backendOptions, type BackendFlags, checkNames, sizeArgument } from '../arguments.js';
import { ExitCode, errorCodeOf, errorMessageOf } from '../exit.js';
import { containerJson } from '../json.js';
import type { CommandContext } from './context.js';

interface CopyFlags extends BackendFlags {
  snapshot?: boolean;
  backend?: string;
  keepHwaddr?: boolean;
  allowrunning?: boolean;
}

export function registerCopy(program: Command, context: CommandContext): void {
  addBackendFlags(
    program
      .command('copy')
      .summary('copy a container to new ones (full or snapshot clones)')
      .description('copy a container to one or more new ones, all at once (as lxc-copy)')
      .argument('<source>', 'the container to copy')
      .argument('<target...>', 'names of the new containers')
      .option('-s, --snapshot', 'copy-on-write snapshot clones instead of full copies (a dir container gets overlay clones)')
      .option('-B, --backend <type>', "backend of the copies (default: the source's)")
      .addOption(new Option('--fssize <size>', 'filesystem size of the copies, for sized backends: 512M, 1G, 2GiB; a bare number is MiB').argParser(sizeArgument))
      .option('-M, --keep-hwaddr', "keep the source's MAC addresses (default: new ones)")
      .option('-a, --allowrunning', 'copy a running container (its files may change during the copy), as lxc-copy -a'),
  )
    .addHelpText(
      'after',
      `
Each target is copied under its own lock and either completes or leaves nothing
behind; the others go on. Exit status 1 when any target failed.

Examples:
  berth copy base web1 web2 web3        full copies
  berth copy -s base scratch            an overlay clone of a dir container`,
    )
    .action(async (source: string, targets: string[], flags: CopyFlags, command: Command) => {
      const session = context.session(command);
      checkNames(source, ...targets);
      const options = backendOptions(flags);
      const outcomes = await session.perform(
        (berth) =>
          berth.copy({
            source,
            targets,
            options,
            snapshot: flags.snapshot ?? false,
            keepHwaddr: flags.keepHwaddr ?? false,
            allowRunning: flags.allowrunning ?? false,
            ...(flags.backend !== undefined ? { backend: flags.backend } : {}),
          }),
        (results) => ({
          json: {
            source,
            targets: results.map((outcome) =>
              outcome.ok
                ? { name: outcome.name, ok: true, container: containerJson(outcome.container) }
                : { name: outcome.name, ok: false, error: { code: errorCodeOf(outcome.error), message: errorMessageOf(outcome.error) } },
            ),
          },
          lines: results.flatMap((outcome) =>
            outcome.ok ? [`copied ${source} to ${outcome.name} (${outcome.container.backend}${flags.snapshot ? ' snapshot' : ''})`] : [],
          ),
        }),
      );
      const failed = outcomes.filter((outcome) => !outcome.ok);
      for (const outcome of failed) {
        if (!outcome.ok && !session.output.json) session.output.note(`berth: ${outcome.name}: ${errorMessageOf(outcome.error)}`);
      }
      if (failed.length > 0) session.exitCode = ExitCode.Failed;
    });
}
