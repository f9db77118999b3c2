import type { Command } from 'commander';
import { ExitCode } from '../exit.js';
import type { CommandContext } from './context.js';

export function registerRecover(program: Command, context: CommandContext): void {
  program
    .command('recover')
    .summary('finish or undo operations a crashed berth left')
    .description('finish or undo operations a crashed berth left half-done (any mutating command does this first)')
    .action(async (_flags: unknown, command: Command) => {
      const session = context.session(command);
      const report = await session.perform(
        (berth) => berth.recover(),
        (result) => ({
          json: result,
          lines:
            result.recovered.length + result.failed.length === 0
              ? ['nothing to recover']
              : result.recovered.map((r) => `${r.how} an interrupted ${r.kind} of ${r.name}`),
        }),
      );
      for (const failed of report.failed) session.output.note(`berth: could not recover an interrupted ${failed.kind} of ${failed.name}: ${failed.reason}`);
      if (report.failed.length > 0) session.exitCode = ExitCode.Failed;
    });
}
