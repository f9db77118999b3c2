/**
 * Skips the current test (or, from a hook, the whole suite) and records why, so the
 * run's report says what was skipped and for what reason. A skip is only honest when
 * the host truly lacks something (a kernel feature); a missing package is a setup bug.
 */
export function skipBecause(context: Mocha.Context, reason: string): never {
  // In a hook, `context.test` is the hook (and `currentTest` only the test it runs
  // before): a `before` hook skips its whole suite, so the reason goes on the suite.
  const runnable = context.test as (Mocha.Runnable & { type?: string }) | undefined;
  const target = (runnable?.type === 'hook' ? runnable.parent : (context.currentTest ?? runnable)) as unknown as { berthSkipReason?: string } | undefined;
  if (target) target.berthSkipReason = reason;
  context.skip();
  throw new Error('unreachable: mocha skip() throws');
}
