import { BerthError, describeError, formatArgv, type BerthErrorCode } from '@berth/core';

/** What `berth` exits with; listed in `berth --help`. */
export const ExitCode = {
  /** The command did what was asked. */
  Done: 0,
  /** The operation failed (or, for a multi-target copy, at least one target did). */
  Failed: 1,
  /** The command line is wrong: nothing was attempted. */
  Usage: 2,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Errors that are the caller's: an unknown option or command, a missing or malformed
 * argument (name, size, backend option). The facade reports those as InvalidArgument,
 * before it changes anything, so they are usage errors too.
 */
export function exitCodeOf(error: unknown): ExitCode {
  return errorCodeOf(error) === 'InvalidArgument' ? ExitCode.Usage : ExitCode.Failed;
}

export function errorCodeOf(error: unknown): BerthErrorCode {
  return BerthError.is(error) ? error.code : 'Internal';
}

/** The one line `berth: <message>` shows: messages never span lines. */
export function errorMessageOf(error: unknown): string {
  return describeError(error);
}

/** What `--debug` adds to an error: the failed command and the stack. */
export function debugDetails(error: unknown): string[] {
  const lines: string[] = [];
  if (BerthError.is(error) && error.command) {
    const { command, exitCode, stderr, timedOut } = error.command;
    lines.push(`command: ${formatArgv(command)}`);
    lines.push(`exit code: ${timedOut ? 'timed out' : (exitCode ?? 'did not run')}`);
    if (stderr.trim()) lines.push('stderr:', ...stderr.trimEnd().split('\n').map((line) => (line.trim() ? `  ${line}` : '')));
  }
  let current: unknown = error;
  let depth = 0;
  while (current instanceof Error && depth < 5) {
    if (current.stack) lines.push(depth === 0 ? current.stack : `caused by: ${current.stack}`);
    current = current.cause;
    depth++;
  }
  return lines;
}

/** The `--json` form of an error. */
export function errorJson(error: unknown, debug: boolean): { error: Record<string, unknown> } {
  const json: Record<string, unknown> = { code: errorCodeOf(error), message: errorMessageOf(error) };
  if (debug && BerthError.is(error) && error.command) json.command = error.command;
  return { error: json };
}
