/**
 * The one error type berth throws. `code` says what kind of failure it is, so callers
 * (the CLI, integrators) can branch on it without parsing messages; `cause` keeps the
 * underlying error (often a {@link CommandFailedDetails}-carrying runner error).
 */
export type BerthErrorCode =
  | 'NotFound'
  | 'AlreadyExists'
  | 'InvalidArgument'
  | 'FailedPrecondition'
  | 'NotSupported'
  | 'InUse'
  | 'Unavailable'
  | 'CommandFailed'
  | 'Timeout'
  | 'Internal';

export interface CommandFailedDetails {
  readonly command: readonly string[];
  readonly exitCode: number | undefined;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export interface BerthErrorOptions {
  readonly cause?: unknown;
  readonly command?: CommandFailedDetails;
}

export class BerthError extends Error {
  override readonly name = 'BerthError';
  readonly code: BerthErrorCode;
  /** Set when the failure is an external command's: what ran, how it ended. */
  readonly command: CommandFailedDetails | undefined;

  constructor(code: BerthErrorCode, message: string, options: BerthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.command = options.command ?? findCommand(options.cause);
  }

  /**
   * Also true for a BerthError from another copy of this package (a plugin's own
   * @berth/core, a bundled CLI), where `instanceof` would say no.
   */
  static is(error: unknown, code?: BerthErrorCode): error is BerthError {
    const berthLike =
      error instanceof BerthError || (error instanceof Error && error.name === 'BerthError' && typeof (error as { code?: unknown }).code === 'string');
    return berthLike && (code === undefined || (error as BerthError).code === code);
  }

  /** Wraps anything thrown into a BerthError, keeping BerthErrors as they are. */
  static wrap(error: unknown, code: BerthErrorCode, message: string): BerthError {
    if (BerthError.is(error)) return error;
    return new BerthError(code, `${message}: ${describeError(error)}`, { cause: error });
  }
}

function findCommand(cause: unknown): CommandFailedDetails | undefined {
  return BerthError.is(cause) ? cause.command : undefined;
}

/** A short, single-line description of anything thrown. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n').map((line) => line.trim()).filter(Boolean).join('; ');
}

/** Error codes of Node's fs calls, read without casting at every call site. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
