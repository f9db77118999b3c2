/**
 * Skips the current test (or, from a hook, the whole suite) and records why, so the
 * run's report says what was skipped and for what reason. A skip is only honest when
 * the host truly lacks something (a kernel feature); a missing package is a setup bug.
 */
export function skipBecause(context: Mocha.Context, reason: string): never {
  const runnable = context.currentTest ?? context.test;
  const isHook = (runnable as { type?: string } | undefined)?.type === 'hook';
  const target = (isHook ? runnable?.parent : runnable) as unknown as { berthSkipReason?: string } | undefined;
  if (target) target.berthSkipReason = reason;
  context.skip();
  throw new Error('unreachable: mocha skip() throws');
}
