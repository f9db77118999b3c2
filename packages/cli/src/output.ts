import type { ModuleImporter } from '@berth/core';
import Table from 'cli-table3';

/** The streams and environment a run of `berth` uses (the process's, or a test's). */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Imports plugin modules; the bundled binary passes its loader's `import()` (default: core's). */
  readonly importModule?: ModuleImporter;
}

export interface OutputMode {
  /** One JSON document on stdout per command, nothing else there. */
  readonly json: boolean;
  /** Only errors (and a command's essential answer, such as a mount path). */
  readonly quiet: boolean;
}

/**
 * Where everything the CLI says goes: results on stdout (as text or, with `--json`, as
 * exactly one JSON document), diagnostics on stderr prefixed `berth:`.
 */
export class Output {
  constructor(
    private readonly io: CliIo,
    private readonly mode: OutputMode,
  ) {}

  get json(): boolean {
    return this.mode.json;
  }

  get quiet(): boolean {
    return this.mode.quiet;
  }

  /** A command's result: `value` as JSON, or the text lines for humans. */
  result(value: unknown, lines: readonly string[] | (() => readonly string[])): void {
    if (this.mode.json) {
      this.writeJson(value);
      return;
    }
    const text = typeof lines === 'function' ? lines() : lines;
    for (const line of text) this.io.stdout.write(`${line}\n`);
  }

  /** A confirmation such as `created c1`: dropped by `--quiet` and `--json`. */
  info(line: string): void {
    if (!this.mode.json && !this.mode.quiet) this.io.stdout.write(`${line}\n`);
  }

  writeJson(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  warn(message: string): void {
    if (!this.mode.quiet) this.io.stderr.write(`berth: warning: ${message}\n`);
  }

  /** A line of diagnostics on stderr (verbose command traces, dry-run notes). */
  note(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }
}

/** A borderless table in the style of `lxc-ls -f`: columns two spaces apart. */
export function renderTable(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const table = new Table({
    head: [...head],
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
      bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '',
      right: '', 'right-mid': '', middle: '  ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const row of rows) table.push([...row]);
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.length > 0);
}

/** A list for a table cell or a line: `a, b`, or `-` when empty. */
export function listOrDash(items: readonly string[]): string {
  return items.length > 0 ? items.join(', ') : '-';
}
