/**
 * @berth/conformance: the mocha suites every berth storage driver passes against its
 * real backend, builtin or third-party. A driver's test file is a factory call plus its
 * own extras:
 *
 *   import { makeTemporaryLxcpath, storageConformance } from '@berth/conformance';
 *   import { btrfsModule } from '@example/berth-btrfs';
 *
 *   storageConformance({
 *     name: 'btrfs',
 *     module: btrfsModule,
 *     backend: 'btrfs',
 *     cloneSource: 'btrfs',
 *     setup: () => makeTemporaryLxcpath(myBtrfsMount),
 *   });
 *
 * Each case gets a fresh environment from `setup()` and removes what it made even when
 * it fails. Failure injection (`FailingRunner` from `@berth/core/testing`, and
 * `FailingHostFs`) checks that every step of create, copy, snapshot clone and container
 * snapshot rolls back cleanly; set BERTH_CONFORMANCE_DEBUG=1 to print the steps it failed.
 */
export { skipBecause } from './skip.js';
export { storageConformance, type ConformanceEnvironment, type StorageConformanceOptions } from './storage-suite.js';
export { networkConformance, interfacesIn, pings, sh, waitForDad, TestNamespaces, type NetworkConformanceOptions, type NetworkWorld } from './network-suite.js';
export { conformanceRuns, conformanceRunsFor, recordConformanceRun, type ConformanceRun } from './registry.js';
export { FailingHostFs } from './failing-fs.js';
export { FIXTURE, buildFixture, describeAcl, describeTree, describeXattrs, diffTrees, type EntryFacts, type Fixture } from './fixture.js';
export {
  dependentsFile,
  journalEntries,
  listLxcpath,
  makeTemporaryLxcpath,
  mountpointsUnder,
  removeTreeAndMounts,
  type TemporaryLxcpath,
} from './host-state.js';
export { kernelHasFilesystem, makeLoopFilesystem, type LoopFilesystem, type LoopFilesystemOptions } from './loop-filesystem.js';
export { Lxcpath, berthBinary, ensureBerthBinary, ok, refused, run, type Result } from './lxc-testbed.js';
