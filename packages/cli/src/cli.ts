import { CommanderError, type Command } from 'commander';
import type { CommandContext } from './commands/context.js';
import { debugDetails, errorJson, errorMessageOf, ExitCode, exitCodeOf } from './exit.js';
import type { CliIo } from './output.js';
import { buildProgram } from './program.js';
import { Session, type GlobalOptions } from './session.js';

/**
 * Runs `berth` with `argv` (the arguments after the program name) and returns the exit
 * status. Never calls `process.exit`: the binary sets `process.exitCode`.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let session: Session | undefined;
  const context: CommandContext = {
    session(command: Command): Session {
      session ??= new Session(io, globalOptions(command));
      return session;
    },
  };
  const program = buildProgram(io, context);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return session?.exitCode ?? ExitCode.Done;
  } catch (error) {
    session?.stopProgress();
    return report(error, io, session?.options ?? prescan(argv));
  }
}

function globalOptions(command: Command): GlobalOptions {
  const all = command.optsWithGlobals<Record<string, unknown>>();
  return {
    ...(typeof all.lxcpath === 'string' ? { lxcpath: all.lxcpath } : {}),
    json: all.json === true,
    dryRun: all.dryRun === true,
    quiet: all.quiet === true,
    verbose: all.verbose === true,
    debug: all.debug === true,
  };
}

/** For errors raised while parsing, before any action ran: the flags as far as they can be told. */
function prescan(argv: readonly string[]): Pick<GlobalOptions, 'json' | 'debug'> {
  const end = argv.indexOf('--');
  const options = end < 0 ? argv : argv.slice(0, end);
  return { json: options.includes('--json'), debug: options.includes('--debug') };
}

function report(error: unknown, io: CliIo, options: Pick<GlobalOptions, 'json' | 'debug'>): ExitCode {
  if (error instanceof CommanderError) {
    // --help and --version end in a CommanderError too: they succeeded.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.Done;
    // Help printed because no command was given (commander's "commander.help"): a usage error.
    if (error.code === 'commander.help') return ExitCode.Usage;
    const message = error.message.replace(/^error: /, '').split('\n').map((line) => line.trim()).filter(Boolean).join(' ');
    if (options.json) io.stdout.write(`${JSON.stringify({ error: { code: 'InvalidArgument', message } }, null, 2)}\n`);
    else io.stderr.write(`berth: ${message}${message.includes('Did you mean') ? '' : ' (see --help)'}\n`);
    return ExitCode.Usage;
  }
  if (options.json) io.stdout.write(`${JSON.stringify(errorJson(error, options.debug), null, 2)}\n`);
  else io.stderr.write(`berth: ${errorMessageOf(error)}\n`);
  if (options.debug) for (const line of debugDetails(error)) io.stderr.write(`${line}\n`);
  return exitCodeOf(error);
}
