import { expect } from 'chai';
import { conformanceRuns, conformanceRunsFor, skipBecause } from '@berth/conformance';
import { builtinModules } from '../src/builtins.js';

/**
 * Every storage driver the CLI ships runs the conformance suite. Suites record
 * themselves when their spec file is loaded, and mocha loads every spec file before it
 * runs any test, so by the time these cases run the registry holds the whole run's suites.
 */
describe('meta: every builtin storage driver runs the conformance suite', function () {
  const storageModules = builtinModules.filter((module) => module.kind === 'storage');

  it('has builtin storage drivers to check', function () {
    expect(storageModules.map((m) => m.name)).to.include.members(['dir', 'overlay']);
  });

  for (const module of storageModules) {
    it(`${module.name} has a conformance run`, function () {
      if (conformanceRuns().length === 0) {
        skipBecause(this, 'no conformance suite was loaded in this run (only a subset of spec files); run the whole set to check');
      }
      const runs = conformanceRunsFor('storage', module.name);
      expect(runs, `no storageConformance() suite for the ${module.name} backend; loaded: ${conformanceRuns().map((r) => r.name).join(', ')}`).not.to.be.empty;
    });
  }
});
