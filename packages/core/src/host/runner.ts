import { access, constants } from 'node:fs/promises';
import { BerthError } from '../errors.js';

/**
 * Every external command berth runs (btrfs, zfs, lvcreate, mkfs, mount, cp, tar, ip…)
 * goes through one CommandRunner: an argv array, never a shell string.
 */
export interface RunOptions {
  /** Kill the command after this long. Default 10 minutes. */
  readonly timeoutMs?: number;
  /** Fed to the command's stdin. */
  readonly input?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /**
   * The command only reads state (a probe, a `show`, a `list`): it runs even in dry-run
   * mode, because later steps are planned from what it reports.
   */
  readonly readOnly?: boolean;
  /** Called with each line of stdout as it arrives (progress reporting). */
  readonly onStdoutLine?: (line: string) => void;
  /** Exit codes that are not failures (e.g. `grep`'s 1). Default: only 0. */
  readonly okExitCodes?: readonly number[];
}

export interface RunResult {
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandRunner {
  /** True when mutating commands are recorded instead of run. */
  readonly dryRun: boolean;
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Resolves to the absolute path of a tool on PATH, or undefined. Never throws. */
  which(tool: string): Promise<string | undefined>;
}

export const COMMAND_RUNNER = Symbol.for('berth.CommandRunner');

const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

/** Formats argv for humans (dry-run plans, error messages): quoted only where needed. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map(quoteArg).join(' ');
}

function quoteArg(arg: string): string {
  if (arg !== '' && /^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function commandFailed(argv: readonly string[], exitCode: number | undefined, stderr: string, timedOut: boolean): BerthError {
  const firstLine = stderr.split('\n').map((l) => l.trim()).filter(Boolean).slice(-1)[0] ?? '';
  const how = timedOut ? 'timed out' : exitCode === undefined ? 'could not run' : `exited with ${exitCode}`;
  return new BerthError(
    timedOut ? 'Timeout' : 'CommandFailed',
    `${argv[0] ?? '?'} ${how}${firstLine ? `: ${firstLine}` : ''}`,
    { command: { command: [...argv], exitCode, stderr, timedOut } },
  );
}

type Execa = (typeof import('execa'))['execa'];
let execaLoaded: Promise<Execa> | undefined;
/**
 * execa and the modules it needs (child_process, streams) load on the first command:
 * a berth run that spawns nothing (a btrfs clone batch, `ls`) starts without them.
 */
const loadExeca = (): Promise<Execa> => (execaLoaded ??= import('execa').then((module) => module.execa));

/** Runs commands for real, through execa. */
export class ExecaRunner implements CommandRunner {
  readonly dryRun = false;
  private readonly whichCache = new Map<string, string | undefined>();

  constructor(private readonly onCommand?: (argv: readonly string[]) => void) {}

  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const [name, ...args] = argv;
    if (name === undefined) throw new BerthError('InvalidArgument', 'empty command');
    this.onCommand?.(argv);
    // Spawn by absolute path, found once: a bare name makes every spawn try each PATH
    // entry in turn (eight failed execve calls for /usr/bin on a typical root PATH).
    const file = name.includes('/') ? name : ((await this.which(name)) ?? name);
    const execa = await loadExeca();
    const child = execa(file, args, {
      reject: false,
      shell: false,
      stripFinalNewline: false,
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
      env: options.env === undefined ? undefined : { ...process.env, ...options.env },
      cwd: options.cwd,
      // LC_ALL=C so that tools' messages parse the same everywhere.
      extendEnv: true,
      ...(options.onStdoutLine ? { lines: false } : {}),
    });
    if (options.onStdoutLine) {
      const onLine = options.onStdoutLine;
      let pending = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        let newline = pending.indexOf('\n');
        while (newline >= 0) {
          onLine(pending.slice(0, newline));
          pending = pending.slice(newline + 1);
          newline = pending.indexOf('\n');
        }
      });
    }
    const result = await child;
    const stdout = typeof result.stdout === 'string' ? result.stdout : '';
    const stderr = typeof result.stderr === 'string' ? result.stderr : '';
    const exitCode = result.exitCode;
    const ok = exitCode !== undefined && (exitCode === 0 || (options.okExitCodes ?? []).includes(exitCode));
    if (!ok || result.timedOut) {
      const reason = result.failed && exitCode === undefined && !result.timedOut ? (result.shortMessage ?? stderr) : stderr;
      throw commandFailed(argv, exitCode, reason, result.timedOut);
    }
    return { argv, exitCode: exitCode ?? 0, stdout, stderr };
  }

  async which(tool: string): Promise<string | undefined> {
    if (this.whichCache.has(tool)) return this.whichCache.get(tool);
    const found = await findOnPath(tool);
    this.whichCache.set(tool, found);
    return found;
  }
}

async function findOnPath(tool: string): Promise<string | undefined> {
  const dirs = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  for (const dir of [...dirs, '/usr/sbin', '/sbin']) {
    if (!dir) continue;
    const candidate = `${dir}/${tool}`;
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Dry-run: read-only commands run (so planning sees the real state); every mutating
 * command is appended to `plan` and answered with an empty success.
 */
export class DryRunRunner implements CommandRunner {
  readonly dryRun = true;
  readonly plan: string[] = [];

  constructor(private readonly real: CommandRunner) {}

  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    if (options.readOnly) return this.real.run(argv, options);
    this.plan.push(formatArgv(argv));
    return { argv, exitCode: 0, stdout: '', stderr: '' };
  }

  /** Records a host change berth makes itself (mkdir, writing a file) in the plan. */
  note(step: string): void {
    this.plan.push(step);
  }

  which(tool: string): Promise<string | undefined> {
    return this.real.which(tool);
  }
}
