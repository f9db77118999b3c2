import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerContainerCommands } from './commands/containers.js';
import type { CommandContext } from './commands/context.js';
import { registerCopy } from './commands/copy.js';
import { registerCreate } from './commands/create.js';
import { registerDrivers } from './commands/drivers.js';
import { registerNet } from './commands/net.js';
import { registerRecover } from './commands/recover.js';
import { registerSnapshot } from './commands/snapshot.js';
import type { CliIo } from './output.js';

const EPILOGUE = `
Exit status:
  0  done
  1  the operation failed (for copy: at least one target failed); nothing
     half-made is left behind
  2  usage error: unknown command or option, missing or extra argument, an
     invalid name, size or backend option (error code InvalidArgument); also
     "berth" with no command, which prints this help on stderr

Errors are one line on stderr, "berth: <message>"; with --json they are
{"error":{"code":...,"message":...}} on stdout. --debug adds the failed
command and the stack.

Environment:
  BERTH_CONFIG    plugin config file (default /etc/berth/config.json):
                  {"plugins": ["@acme/berth-storage-x", "./driver.js"]}
  BERTH_LXC_CONF  LXC system config (default /etc/lxc/lxc.conf)`;

function packageVersion(): string {
  try {
    const json = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return json.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The `berth` command tree. Commander never exits the process: errors are thrown
 * (`exitOverride`) and printed by `runCli`, which owns exit statuses.
 */
export function buildProgram(io: CliIo, context: CommandContext): Command {
  const program = new Command('berth')
    .description('LXC-compatible container storage: create, copy, snapshot and destroy container root filesystems')
    .usage('[options] <command> [arguments]')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('-P, --lxcpath <path>', 'where containers live (default: lxc.lxcpath in /etc/lxc/lxc.conf, else /var/lib/lxc)')
    .option('--json', 'machine-readable output: exactly one JSON document on stdout')
    .option('--dry-run', 'print the commands and file changes, one per line, and change nothing')
    .option('-q, --quiet', 'print only errors and the values asked for')
    .option('-v, --verbose', 'print each external command on stderr as it runs')
    .option('--debug', 'on error, also print the failed command and the stack')
    .helpOption('-h, --help', 'print help')
    .helpCommand('help [command]', 'print help for a command')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // runCli prints commander's errors itself, as one `berth: …` line.
      outputError: () => {},
    })
    .addHelpText('after', EPILOGUE);

  registerCreate(program, context);
  registerCopy(program, context);
  registerSnapshot(program, context);
  registerContainerCommands(program, context);
  registerDrivers(program, context);
  registerRecover(program, context);
  registerNet(program, context);
  return program;
}
