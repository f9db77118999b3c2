import { resolve } from 'node:path';
import { createBerth, DryRunRunner, formatArgv, type Berth, type BerthInstance, type LoadedModules } from '@berth/core';
import { builtinModules } from './builtins.js';
import { ExitCode } from './exit.js';
import { Output, type CliIo } from './output.js';
import { loadConfiguredPlugins, pluginConfigPath } from './plugins.js';
import { ProgressDisplay } from './progress.js';

/** The options every command takes (`berth --help`). */
export interface GlobalOptions {
  readonly lxcpath?: string;
  readonly json: boolean;
  readonly dryRun: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly debug: boolean;
}

/** What a mutating command reports once it is done. */
export interface Report {
  /** The `--json` document (a dry run prints `{ dryRun, plan }` instead). */
  readonly json: unknown;
  /** Confirmation lines for humans; `--quiet` drops them. */
  readonly lines: readonly string[];
}

/**
 * One run of one command: the global options, the output, and the Berth facade,
 * composed on first use (so `--help` and usage errors never load plugins or touch
 * the host).
 */
export class Session {
  readonly output: Output;
  exitCode: ExitCode = ExitCode.Done;
  private instance: BerthInstance | undefined;
  private plugins: LoadedModules | undefined;
  private progress: ProgressDisplay | undefined;

  constructor(
    readonly io: CliIo,
    readonly options: GlobalOptions,
  ) {
    this.output = new Output(io, { json: options.json, quiet: options.quiet });
  }

  async berth(): Promise<Berth> {
    this.instance ??= await this.compose();
    return this.instance.berth;
  }

  /** Builtins plus the plugins of the config file; broken plugins are warned of, then skipped. */
  async loadedModules(): Promise<LoadedModules> {
    if (!this.plugins) {
      this.plugins = await loadConfiguredPlugins(pluginConfigPath(this.io.env), builtinModules, this.io.importModule);
      for (const failure of this.plugins.failures) this.output.warn(`plugin ${failure.specifier} skipped: ${failure.reason}`);
    }
    return this.plugins;
  }

  private async compose(): Promise<BerthInstance> {
    const plugins = await this.loadedModules();
    const instance = await createBerth({
      modules: [...builtinModules, ...plugins.modules],
      pluginFailures: plugins.failures,
      dryRun: this.options.dryRun,
      ...(this.options.lxcpath !== undefined ? { lxcpath: resolve(this.options.lxcpath) } : {}),
    });
    instance.events.on('warning', (message) => this.output.warn(message));
    if (this.options.verbose) {
      instance.events.on('command:started', ({ argv }) => this.output.note(`+ ${formatArgv(argv)}`));
    }
    if (this.wantsProgress()) {
      this.progress = new ProgressDisplay(this.io.stderr);
      this.progress.attach(instance.events);
    }
    return instance;
  }

  /** Bars only for a person watching a terminal, and never mixed into JSON. */
  private wantsProgress(): boolean {
    return Boolean(this.io.stdout.isTTY && this.io.stderr.isTTY) && !this.options.json && !this.options.quiet && !this.options.verbose;
  }

  /**
   * Runs a command that changes things. On a dry run, prints the plan the dry-run runner
   * recorded (one command or file change per line) instead of the confirmation.
   */
  async perform<T>(operation: (berth: Berth) => Promise<T>, report: (result: T) => Report): Promise<T> {
    const berth = await this.berth();
    let result: T;
    try {
      result = await operation(berth);
    } finally {
      this.stopProgress();
    }
    const { json, lines } = report(result);
    if (this.options.dryRun) {
      const plan = this.plan();
      if (this.output.json) {
        this.output.writeJson({ dryRun: true, plan });
      } else {
        this.output.result(null, plan);
        if (!this.output.quiet) this.output.note(`berth: dry run: ${plan.length} step(s) planned, nothing was changed`);
      }
      return result;
    }
    if (this.output.json) this.output.writeJson(json);
    else for (const line of lines) this.output.info(line);
    return result;
  }

  /** What the dry-run runner recorded so far. */
  plan(): string[] {
    const runner = this.instance?.runner;
    return runner instanceof DryRunRunner ? [...runner.plan] : [];
  }

  stopProgress(): void {
    this.progress?.stop();
  }
}
