import { BerthError } from './errors.js';
import { commandFailed, formatArgv, type CommandRunner, type RunOptions, type RunResult } from './host/runner.js';

/**
 * A fake CommandRunner for unit tests: it replays a table of expected commands with
 * canned results, in order, and fails the test on any command it did not expect.
 *
 *   const runner = new ScriptedRunner([
 *     { argv: ['btrfs', 'subvolume', 'create', '/p/c/rootfs'] },
 *     { argv: ['btrfs', 'subvolume', 'show', '/p/c/rootfs'], stdout: '…' },
 *     { argv: ['mkfs.ext4', '/dev/loop0'], exitCode: 1, stderr: 'no space' },
 *   ]);
 */
export interface ScriptedCommand {
  /** Exact argv, or a predicate for argv with random parts. */
  readonly argv: readonly string[] | ((argv: readonly string[]) => boolean);
  readonly stdout?: string;
  readonly stderr?: string;
  readonly exitCode?: number;
}

export class ScriptedRunner implements CommandRunner {
  readonly dryRun = false;
  readonly calls: string[][] = [];
  private next = 0;

  constructor(
    private readonly script: readonly ScriptedCommand[],
    private readonly tools: ReadonlySet<string> = new Set(),
  ) {}

  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    this.calls.push([...argv]);
    const expected = this.script[this.next];
    if (!expected) throw new BerthError('Internal', `unexpected command (script ended): ${formatArgv(argv)}`);
    const matches = typeof expected.argv === 'function' ? expected.argv(argv) : formatArgv(expected.argv) === formatArgv(argv);
    if (!matches) {
      const want = typeof expected.argv === 'function' ? '(predicate)' : formatArgv(expected.argv);
      throw new BerthError('Internal', `unexpected command ${formatArgv(argv)}; expected ${want}`);
    }
    this.next++;
    const exitCode = expected.exitCode ?? 0;
    const stdout = expected.stdout ?? '';
    if (options.onStdoutLine) for (const line of stdout.split('\n').filter(Boolean)) options.onStdoutLine(line);
    if (exitCode !== 0 && !(options.okExitCodes ?? []).includes(exitCode)) {
      throw commandFailed(argv, exitCode, expected.stderr ?? '', false);
    }
    return { argv, exitCode, stdout, stderr: expected.stderr ?? '' };
  }

  async which(tool: string): Promise<string | undefined> {
    return this.tools.has(tool) ? `/usr/bin/${tool}` : undefined;
  }

  /** Throws unless every scripted command ran. */
  assertDone(): void {
    if (this.next !== this.script.length) {
      throw new BerthError('Internal', `${this.script.length - this.next} scripted command(s) never ran, first: ${JSON.stringify(this.script[this.next]?.argv)}`);
    }
  }
}

/**
 * Wraps a real runner and fails the N-th (1-based) mutating command, for failure
 * injection: run an operation with N = 1, 2, … until it succeeds, and check after each
 * failure that nothing was left behind.
 */
export class FailingRunner implements CommandRunner {
  readonly dryRun = false;
  mutating = 0;
  readonly seen: string[] = [];

  constructor(
    private readonly real: CommandRunner,
    private readonly failAt: number,
  ) {}

  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    if (!options.readOnly) {
      this.mutating++;
      this.seen.push(formatArgv(argv));
      if (this.mutating === this.failAt) throw commandFailed(argv, 1, 'injected failure', false);
    }
    return this.real.run(argv, options);
  }

  which(tool: string): Promise<string | undefined> {
    return this.real.which(tool);
  }
}
