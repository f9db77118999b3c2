/**
 * Which drivers define a conformance suite in this process. A suite records itself when
 * it is defined (mocha loads every spec file before running any test), so a meta-test
 * can check that every builtin driver has a run, whatever order the files run in.
 *
 * The record lives on `globalThis` under a registered symbol: a suite and the meta-test
 * may load this package through different paths, and must still see one registry.
 */
export interface ConformanceRun {
  readonly kind: 'storage' | 'network';
  /** The backend type the suite creates containers with (`dir`, `overlay`…), or the network type. */
  readonly type: string;
  /** The suite's display name. */
  readonly name: string;
}

const REGISTRY = Symbol.for('berth.conformance.runs');

function runs(): ConformanceRun[] {
  const holder = globalThis as { [REGISTRY]?: ConformanceRun[] };
  holder[REGISTRY] ??= [];
  return holder[REGISTRY];
}

export function recordConformanceRun(run: ConformanceRun): void {
  runs().push(run);
}

/** Every suite defined so far in this process. */
export function conformanceRuns(): readonly ConformanceRun[] {
  return [...runs()];
}

/** The suites defined for one driver kind and type. */
export function conformanceRunsFor(kind: ConformanceRun['kind'], type: string): readonly ConformanceRun[] {
  return runs().filter((run) => run.kind === kind && run.type === type);
}
