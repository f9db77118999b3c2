import { mkdir, readdir, readFile, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  BerthError,
  COMMAND_RUNNER,
  ExecaRunner,
  HOST_FS,
  LXC_DEFAULTS,
  canSnapshot,
  createBerth,
  describeError,
  type Berth,
  type BerthModule,
  type CommandRunner,
  type ContainerSummary,
  type LxcSystemConfig,
  type StorageOptions,
} from '@berth/core';
import { FailingRunner } from '@berth/core/testing';
import { FailingHostFs } from './failing-fs.js';
import { FIXTURE, buildFixture, describeAcl, describeTree, describeXattrs, diffTrees, type Fixture } from './fixture.js';
import { dependentsFile, journalEntries, listLxcpath, mountpointsUnder, removeTreeAndMounts } from './host-state.js';
import { recordConformanceRun } from './registry.js';
import { skipBecause } from './skip.js';

/** One test's world: a fresh lxcpath, and the backend options to create containers with. */
export interface ConformanceEnvironment {
  /** An empty directory (mkdtemp) for this test's containers. */
  readonly lxcpath: string;
  /** Backend options for create and copy (`fssize` for a sized driver…). */
  readonly options?: StorageOptions;
  /** System settings (`/etc/lxc/lxc.conf`) the backend needs here, e.g. `zfsRoot` on a test pool. */
  readonly system?: Partial<LxcSystemConfig>;
  /** Removes everything `setup` made (mounts, loop devices, the lxcpath). Runs even after a failure. */
  teardown(): Promise<void>;
}

export interface StorageConformanceOptions {
  /** Shown in the suite's title. */
  readonly name: string;
  /** The driver under test. */
  readonly module: BerthModule;
  /** Other drivers the cases need (`dir`, for overlay clones to have a source). */
  readonly helpers?: readonly BerthModule[];
  /** The backend type containers under test are created with. */
  readonly backend: string;
  /** A fresh environment for each test (`makeTemporaryLxcpath` does for most drivers). */
  setup(): Promise<ConformanceEnvironment>;
  /**
   * How a container of `backend` holding the fixture is made for the cases that need one:
   * `create` (default) fills a new container from the fixture directory; `snapshot-clone`
   * makes a snapshot clone of a filled `cloneSource` container (overlay: an overlay clone
   * of a dir container is what it is for).
   */
  readonly filledBy?: 'create' | 'snapshot-clone';
  /**
   * The backend whose containers this driver makes snapshot clones of (`dir` for overlay,
   * `btrfs` for btrfs). Unset: the driver makes no snapshot clones, the snapshot-clone
   * cases do not apply, and such a clone must fail with NotSupported.
   */
  readonly cloneSource?: string;
  /**
   * Snapshot clones are independent of their source in both directions (default). Set
   * to false, with the reason, where writes to the source reach its clones by design
   * (overlay: the source's rootfs is the clone's lower layer; LXC says the same).
   */
  readonly sourceWritesIsolated?: true | { readonly isolated: false; readonly reason: string };
  /** The driver's create fills a new container from a directory (default true). */
  readonly createFilled?: boolean;
  /**
   * Metadata the backend truly cannot hold, each with the precise reason: the fixture
   * leaves it out and the xattr/ACL comparisons skip with that reason (zfs-fuse: no
   * POSIX ACLs through FUSE 2).
   */
  readonly unsupported?: { readonly xattrs?: string; readonly acl?: string };
}

interface CaseWorld {
  readonly env: ConformanceEnvironment;
  readonly lxcpath: string;
  readonly scratch: string;
  readonly runner: CommandRunner;
  berth: Berth;
  fixture(): Promise<Fixture>;
}

const DEFAULT_TIMEOUT_MS = 300_000;
/** An injection loop stops here whatever happens: an operation with more steps is a bug. */
const MAX_INJECTED_STEPS = 200;

/**
 * Defines the mocha suites a storage driver passes against its real backend. Each case
 * runs in a fresh environment from `setup()`; everything a case makes is removed after
 * it, even when it fails. A driver's test file calls this once per configuration, and
 * adds its own driver-specific cases beside.
 */
export function storageConformance(options: StorageConformanceOptions): void {
  recordConformanceRun({ kind: 'storage', type: options.backend, name: options.name });
  const modules = [options.module, ...(options.helpers ?? [])];
  const runner = new ExecaRunner();
  const filledBy = options.filledBy ?? 'create';
  if (filledBy === 'snapshot-clone' && !options.cloneSource) {
    throw new BerthError('InvalidArgument', `${options.name}: filledBy snapshot-clone needs a cloneSource`);
  }

  describe(`storage conformance: ${options.name}`, function () {
    this.timeout(DEFAULT_TIMEOUT_MS);
    let world: CaseWorld | undefined;

    const makeBerth = (lxcpath: string, extra: Partial<Parameters<typeof createBerth>[0]> = {}, env = world?.env) =>
      createBerth({
        modules,
        lxcpath,
        // No /etc/lxc/default.conf: the cases must not depend on the host's defaults.
        system: { ...LXC_DEFAULTS, ...env?.system, lxcpath, defaultConfig: join(lxcpath, '.no-default-config') },
        lockTimeoutMs: 10_000,
        ...extra,
      }).then((instance) => instance.berth);

    before(async function () {
      if (process.getuid?.() !== 0) skipBecause(this, 'storage conformance needs root (owners, device nodes, mounts)');
      const env = await options.setup();
      try {
        const berth = await makeBerth(env.lxcpath, {}, env);
        for (const type of [options.backend, ...(options.cloneSource ? [options.cloneSource] : [])]) {
          const availability = await berth.drivers.probe(berth.drivers.storageDriver(type));
          if (!availability.available) skipBecause(this, `backend ${type} unavailable: ${availability.reason}`);
        }
      } finally {
        await env.teardown();
      }
    });

    beforeEach(async function () {
      const env = await options.setup();
      const scratch = `${env.lxcpath}.scratch`;
      await mkdir(scratch, { mode: 0o700 });
      let fixture: Promise<Fixture> | undefined;
      world = {
        env,
        lxcpath: env.lxcpath,
        scratch,
        runner,
        berth: await makeBerth(env.lxcpath, {}, env),
        fixture: () => (fixture ??= buildFixture(runner, join(scratch, 'fixture'), options.unsupported)),
      };
    });

    afterEach(async function () {
      const current = world;
      world = undefined;
      if (!current) return;
      try {
        await removeTreeAndMounts(current.scratch, runner);
      } finally {
        await current.env.teardown();
      }
    });

    const w = (): CaseWorld => {
      if (!world) throw new Error('no conformance environment (setup failed)');
      return world;
    };

    // ------------------------------------------------------------ helpers

    const backendOptions = () => w().env.options ?? {};

    /** A container of the backend under test holding the fixture; returns its base too, if any. */
    const makeFilled = async (name: string, berth = w().berth): Promise<{ name: string; base?: string }> => {
      const fixture = await w().fixture();
      if (filledBy === 'create') {
        await berth.create({ name, backend: options.backend, options: backendOptions(), source: { kind: 'directory', path: fixture.root } });
        return { name };
      }
      const base = `${name}-base`;
      await berth.create({ name: base, backend: options.cloneSource!, source: { kind: 'directory', path: fixture.root } });
      await copyOne(berth, { source: base, target: name, snapshot: true, backend: options.backend, options: backendOptions() });
      return { name, base };
    };

    /** A filled container of `cloneSource`, the source of snapshot clones. */
    const makeCloneSource = async (name: string): Promise<void> => {
      const fixture = await w().fixture();
      await w().berth.create({ name, backend: options.cloneSource!, source: { kind: 'directory', path: fixture.root } });
    };

    let mountSerial = 0;
    /** Runs `fn` with the container's files mounted through the facade, unmounted after. */
    const withMounted = async <T>(name: string, fn: (path: string) => Promise<T>): Promise<T> => {
      const mountpoint = join(w().scratch, `mnt-${name}-${mountSerial++}`);
      await mkdir(mountpoint);
      await w().berth.mount(name, mountpoint);
      try {
        return await fn(mountpoint);
      } finally {
        await w().berth.unmount(name, mountpoint);
        await rmdir(mountpoint);
      }
    };

    const expectSameAsFixture = async (path: string, what: string) => {
      const fixture = await w().fixture();
      const differences = diffTrees(await describeTree(fixture.root), await describeTree(path));
      expect(differences, `${what} differs from the fixture`).to.deep.equal([]);
      const sparse = (await describeTree(path)).get(FIXTURE.sparse.path)!;
      expect(sparse.allocated, `${what}: ${FIXTURE.sparse.path} should stay sparse`).to.be.below(16 * 1024 * 1024);
    };

    const expectSameXattrs = async (context: Mocha.Context, path: string, what: string) => {
      const fixture = await w().fixture();
      if (fixture.xattrsUnsupported) skipBecause(context, fixture.xattrsUnsupported);
      if (fixture.aclUnsupported) skipBecause(context, fixture.aclUnsupported);
      const expected = await describeXattrs(runner, fixture.root);
      expect(expected.some((l) => l.startsWith(`${FIXTURE.xattr.path}: ${FIXTURE.xattr.name}=`)), 'fixture has its xattr').to.equal(true);
      expect(await describeXattrs(runner, path), `${what}: xattrs`).to.deep.equal(expected);
      expect(await describeAcl(runner, join(path, FIXTURE.acl.path)), `${what}: ACL`).to.equal(await describeAcl(runner, join(fixture.root, FIXTURE.acl.path)));
    };

    const expectNoMounts = async () => {
      expect(await mountpointsUnder(w().lxcpath), 'mounts left under the lxcpath').to.deep.equal([]);
    };

    const expectCode = async (promise: Promise<unknown>, code: BerthError['code']): Promise<BerthError> => {
      try {
        await promise;
      } catch (error) {
        expect(BerthError.is(error), `expected a BerthError, got ${describeError(error)}`).to.equal(true);
        expect((error as BerthError).code, (error as BerthError).message).to.equal(code);
        return error as BerthError;
      }
      throw new Error(`expected a ${code} failure, but it succeeded`);
    };

    const lxcSnapshotList = async (name: string): Promise<string> => {
      const result = await runner.run(['lxc-snapshot', '-P', w().lxcpath, '-n', name, '-L'], { readOnly: true });
      return result.stdout + result.stderr;
    };

    // ------------------------------------------------------------ create and mount

    it('creates an empty container', async function () {
      const summary = await w().berth.create({ name: 'c1', backend: options.backend, options: backendOptions() });
      expect(summary.backend).to.equal(options.backend);
      expect(summary.partial).to.equal(false);
      const config = await readFile(join(w().lxcpath, 'c1', 'config'), 'utf8');
      expect(config).to.match(new RegExp(`^lxc\\.rootfs\\.path = ${options.backend}:`, 'm'));
      expect(config).to.match(/^lxc\.uts\.name = c1$/m);
      await withMounted('c1', async (path) => expect(await readdir(path)).to.deep.equal([]));
      expect((await w().berth.list()).map((c) => c.name)).to.deep.equal(['c1']);
      await expectNoMounts();
    });

    if (options.createFilled !== false) {
      it('creates a container filled from a directory, keeping content and metadata', async function () {
        await w().berth.create({ name: 'c1', backend: options.backend, options: backendOptions(), source: { kind: 'directory', path: (await w().fixture()).root } });
        await withMounted('c1', (path) => expectSameAsFixture(path, 'the new container'));
        await expectNoMounts();
      });

      it('creates a container filled from a directory, keeping xattrs and ACLs', async function () {
        await w().berth.create({ name: 'c1', backend: options.backend, options: backendOptions(), source: { kind: 'directory', path: (await w().fixture()).root } });
        await withMounted('c1', (path) => expectSameXattrs(this, path, 'the new container'));
      });
    }

    it('mounts and unmounts a container through the facade', async function () {
      await makeFilled('c1');
      const mountpoint = join(w().scratch, 'mountpoint');
      await mkdir(mountpoint);
      expect(await w().berth.mount('c1', mountpoint)).to.equal(mountpoint);
      try {
        expect(await mountpointsUnder(mountpoint)).to.deep.equal([mountpoint]);
        expect(await readFile(join(mountpoint, FIXTURE.hello.path), 'utf8')).to.equal(FIXTURE.hello.content);
        await expectSameAsFixture(mountpoint, 'the mounted container');
      } finally {
        await w().berth.unmount('c1', mountpoint);
      }
      expect(await mountpointsUnder(mountpoint)).to.deep.equal([]);
      expect(await readdir(mountpoint)).to.deep.equal([]);
      await expectNoMounts();
    });

    // ------------------------------------------------------------ copy

    it('copies a container, keeping content and metadata', async function () {
      const { name } = await makeFilled('c1');
      const copy = await copyOne(w().berth, { source: name, target: 'c2' });
      expect(copy.dependsOn).to.deep.equal([]);
      await withMounted('c2', (path) => expectSameAsFixture(path, 'the copy'));
      const config = await readFile(join(w().lxcpath, 'c2', 'config'), 'utf8');
      expect(config).to.match(/^lxc\.uts\.name = c2$/m);
      // A path for most backends, a dataset or LV name for zfs and lvm: either way it names c2.
      expect(config, 'the copy names its own rootfs').to.match(/^lxc\.rootfs\.path = .*\bc2\b/m);
      expect(config, 'the copy must not name its source').not.to.include(`${join(w().lxcpath, 'c1')}/`);
      await expectNoMounts();
    });

    it('copies a container, keeping xattrs and ACLs', async function () {
      const { name } = await makeFilled('c1');
      await copyOne(w().berth, { source: name, target: 'c2' });
      await withMounted('c2', (path) => expectSameXattrs(this, path, 'the copy'));
    });

    // ------------------------------------------------------------ snapshot clones

    if (options.cloneSource) {
      const cloneSource = options.cloneSource;

      it(`makes snapshot clones of ${cloneSource} containers, keeping content and metadata`, async function () {
        await makeCloneSource('base');
        const clone = await copyOne(w().berth, { source: 'base', target: 'clone', snapshot: true, backend: options.backend, options: backendOptions() });
        expect(clone.backend).to.equal(options.backend);
        await withMounted('clone', (path) => expectSameAsFixture(path, 'the snapshot clone'));
        await withMounted('clone', (path) => expectSameXattrs(this, path, 'the snapshot clone'));
      });

      it('keeps a snapshot clone independent of its source', async function () {
        await makeCloneSource('base');
        await copyOne(w().berth, { source: 'base', target: 'clone', snapshot: true, backend: options.backend, options: backendOptions() });
        await withMounted('clone', async (path) => {
          await writeFile(join(path, 'written-in-clone'), 'clone\n');
          await writeFile(join(path, FIXTURE.hello.path), 'changed in the clone\n');
          await unlink(join(path, FIXTURE.hardlinks[0]));
          await rm(join(path, 'empty-dir'), { recursive: true });
        });
        await withMounted('base', (path) => expectSameAsFixture(path, 'the source after writes to its clone'));
        await withMounted('clone', async (path) => {
          expect(await readFile(join(path, FIXTURE.hello.path), 'utf8')).to.equal('changed in the clone\n');
          expect(await readFile(join(path, 'written-in-clone'), 'utf8')).to.equal('clone\n');
          expect(await readdir(join(path, 'links'))).to.deep.equal(['second']);
        });
        if (options.sourceWritesIsolated === undefined || options.sourceWritesIsolated === true) {
          await withMounted('base', async (path) => {
            await writeFile(join(path, 'written-in-source'), 'source\n');
            await writeFile(join(path, FIXTURE.relativeLink.target.replace('../', '')), 'changed in the source\n');
            await unlink(join(path, FIXTURE.hardlinks[1]));
          });
          await withMounted('clone', async (path) => {
            expect(await readdir(path)).not.to.include('written-in-source');
            expect(await readFile(join(path, FIXTURE.hello.path), 'utf8')).to.equal('changed in the clone\n');
            expect(await readdir(join(path, 'links'))).to.deep.equal(['second']);
          });
        }
      });

      it('refuses to destroy the source of a dependent snapshot clone, removing nothing', async function () {
        await makeCloneSource('base');
        const clone = await copyOne(w().berth, { source: 'base', target: 'clone', snapshot: true, backend: options.backend, options: backendOptions() });
        if (clone.dependsOn.length === 0) {
          // The backend shares data itself (btrfs, zfs): the source may go first.
          await w().berth.destroy('base');
          await withMounted('clone', (path) => expectSameAsFixture(path, 'the clone after its source was destroyed'));
          return;
        }
        expect(clone.dependsOn).to.deep.equal(['base']);
        expect((await w().berth.info('base')).dependents).to.deep.equal(['clone']);
        const before = await listLxcpath(w().lxcpath);
        await expectCode(w().berth.destroy('base'), 'FailedPrecondition');
        await expectCode(w().berth.destroy('base', { withSnapshots: true }), 'FailedPrecondition');
        expect(await listLxcpath(w().lxcpath)).to.deep.equal(before);
        await w().berth.destroy('clone');
        expect(await dependentsFile(w().lxcpath, 'base'), 'base lxc_snapshots after its clone is gone').to.equal(undefined);
        await w().berth.destroy('base');
        expect(await listLxcpath(w().lxcpath)).to.deep.equal([]);
      });
    }

    // ------------------------------------------------------------ container snapshots

    it('snapshots, restores in place and to a new name, and deletes snapshots', async function () {
      const { berth, lxcpath } = w();
      await makeFilled('c1');
      const snap0 = await berth.snapshot('c1', { comment: 'first' });
      expect(snap0.name).to.equal('snap0');
      expect(snap0.timestamp).to.match(/^\d{4}:\d\d:\d\d \d\d:\d\d:\d\d$/);
      expect(await readFile(join(lxcpath, 'c1', 'snaps', 'snap0', 'comment'), 'utf8')).to.equal('first');
      await withMounted('c1', async (path) => {
        await writeFile(join(path, FIXTURE.hello.path), 'changed after snap0\n');
        await writeFile(join(path, 'added-after-snap0'), 'new\n');
        await unlink(join(path, FIXTURE.hardlinks[0]));
      });
      const snap1 = await berth.snapshot('c1');
      expect(snap1.name).to.equal('snap1');
      expect((await berth.listSnapshots('c1')).map((s) => s.name)).to.deep.equal(['snap0', 'snap1']);
      const listed = await lxcSnapshotList('c1');
      expect(listed).to.include(`snap0 (${join(lxcpath, 'c1', 'snaps')})`);
      expect(listed).to.include(`snap1 (${join(lxcpath, 'c1', 'snaps')})`);

      const restored = await berth.restoreSnapshot('c1', 'snap0');
      expect(restored.backend).to.equal(options.backend);
      expect(restored.snapshots).to.equal(2);
      await withMounted('c1', (path) => expectSameAsFixture(path, 'c1 restored from snap0'));

      await berth.restoreSnapshot('c1', 'snap1', 'c2');
      await withMounted('c2', async (path) => {
        expect(await readFile(join(path, FIXTURE.hello.path), 'utf8')).to.equal('changed after snap0\n');
        expect(await readdir(join(path, 'links'))).to.deep.equal(['second']);
      });
      expect(await readFile(join(lxcpath, 'c2', 'config'), 'utf8')).to.match(/^lxc\.uts\.name = c2$/m);

      expect(await berth.deleteSnapshot('c1', 'snap0')).to.deep.equal(['snap0']);
      expect((await berth.listSnapshots('c1')).map((s) => s.name)).to.deep.equal(['snap1']);
      expect((await berth.snapshot('c1')).name, 'the lowest free index is reused').to.equal('snap0');
      expect((await berth.deleteSnapshot('c1', 'ALL')).sort()).to.deep.equal(['snap0', 'snap1']);
      expect(await berth.listSnapshots('c1')).to.deep.equal([]);
      expect(await readdir(join(lxcpath, 'c1'))).not.to.include('snaps');
      expect(await lxcSnapshotList('c1')).not.to.match(/snap\d/);
      await expectNoMounts();
    });

    // ------------------------------------------------------------ destroy

    it('destroys a container with its snapshots, leaving nothing behind', async function () {
      const { berth, lxcpath } = w();
      const base = filledBy === 'snapshot-clone' ? 'c1-base' : undefined;
      if (base) await makeCloneSource(base);
      const before = await listLxcpath(lxcpath);
      if (base) await copyOne(berth, { source: base, target: 'c1', snapshot: true, backend: options.backend, options: backendOptions() });
      else await makeFilled('c1');
      await berth.snapshot('c1');
      await berth.destroy('c1', { withSnapshots: true });
      expect(await berth.exists('c1')).to.equal(false);
      expect(await readdir(lxcpath)).not.to.include('c1');
      await expectNoMounts();
      if (base) expect(await dependentsFile(lxcpath, base), `${base}'s lxc_snapshots`).to.equal(undefined);
      expect(await listLxcpath(lxcpath)).to.deep.equal(before);
    });

    it('refuses to destroy a container that has snapshots, removing nothing', async function () {
      await makeFilled('c1');
      await w().berth.snapshot('c1');
      const before = await listLxcpath(w().lxcpath);
      const error = await expectCode(w().berth.destroy('c1'), 'FailedPrecondition');
      expect(error.message).to.include('snapshot');
      expect(await listLxcpath(w().lxcpath)).to.deep.equal(before);
      await expectNoMounts();
    });

    // ------------------------------------------------------------ unsupported

    it('fails unsupported operations with NotSupported, touching nothing', async function () {
      const { berth, lxcpath } = w();
      await makeFilled('c1');
      const before = await listLxcpath(lxcpath);
      await expectCode(berth.create({ name: 'c2', backend: 'berth-no-such-backend' }), 'NotSupported');
      const cannotClone = berth.drivers.storageDrivers().filter((d) => !(canSnapshot(d) && d.capabilities.snapshotSources.includes(options.backend)));
      for (const driver of cannotClone) {
        await expectCode(copyOne(berth, { source: 'c1', target: 'c2', snapshot: true, backend: driver.type }), 'NotSupported');
      }
      if (!berth.drivers.storageDrivers().some((d) => canSnapshot(d) && d.capabilities.snapshotSources.includes(options.backend))) {
        await expectCode(copyOne(berth, { source: 'c1', target: 'c2', snapshot: true }), 'NotSupported');
      }
      expect(await listLxcpath(lxcpath)).to.deep.equal(before);
      await expectNoMounts();
    });

    // ------------------------------------------------------------ failure injection

    /**
     * Runs `operation` failing its 1st, 2nd… mutating command, then (a new round) its
     * 1st, 2nd… mutating HostFs call, until it succeeds; after each injected failure the
     * lxcpath holds what it held before, nothing is mounted under it, no journal entry
     * is left, and the error is a BerthError. `undo` removes a success before the next round.
     */
    const injectFailures = async (operation: (berth: Berth) => Promise<unknown>, undo: (berth: Berth) => Promise<void>) => {
      const { lxcpath } = w();
      const summary: string[] = [];
      for (const kind of ['command', 'file'] as const) {
        for (let n = 1; ; n++) {
          if (n > MAX_INJECTED_STEPS) throw new Error(`more than ${MAX_INJECTED_STEPS} ${kind} steps`);
          const before = await listLxcpath(lxcpath);
          let injector: FailingRunner | FailingHostFs;
          const berth = await (kind === 'command'
            ? makeBerth(lxcpath, { runner: (injector = new FailingRunner(new ExecaRunner(), n)) })
            : makeBerth(lxcpath, {
                configure: (container) => {
                  injector = new FailingHostFs(container.resolve<CommandRunner>(COMMAND_RUNNER), n);
                  container.register(HOST_FS, { useValue: injector });
                },
              }));
          let failure: unknown;
          try {
            await operation(berth);
          } catch (error) {
            failure = error;
          }
          const step = injector!.seen[n - 1];
          if (failure === undefined) {
            await undo(w().berth);
            expect(await listLxcpath(lxcpath), `after undoing the success`).to.deep.equal(before);
            if (injector!.mutating < n) break; // the operation has fewer steps: all covered
            summary.push(`${kind} ${n} (${step}): absorbed`);
            continue;
          }
          const where = `after a failure of ${kind} step ${n} (${step ?? 'none'}): ${describeError(failure)}`;
          expect(step, `the operation failed before reaching ${kind} step ${n}: ${describeError(failure)}`).not.to.equal(undefined);
          expect(BerthError.is(failure), `${where}: not a BerthError`).to.equal(true);
          expect(describeError(failure), where).not.to.include('undo failed');
          expect(await mountpointsUnder(lxcpath), `${where}: mounts left`).to.deep.equal([]);
          expect(await journalEntries(lxcpath), `${where}: journal entries left`).to.deep.equal([]);
          expect(await listLxcpath(lxcpath), where).to.deep.equal(before);
          summary.push(`${kind} ${n} (${step}): rolled back`);
        }
      }
      if (process.env.BERTH_CONFORMANCE_DEBUG) console.log(summary.join('\n'));
      // Some operations run no command at all (an overlay clone is directories and files).
      expect(summary.length, 'no step was exercised').to.be.above(0);
    };

    if (options.createFilled !== false) {
      it('rolls back a filled create that fails at any step', async function () {
        const fixture = await w().fixture();
        await injectFailures(
          (berth) => berth.create({ name: 'c1', backend: options.backend, options: backendOptions(), source: { kind: 'directory', path: fixture.root } }),
          (berth) => berth.destroy('c1'),
        );
      });
    }

    it('rolls back a copy that fails at any step', async function () {
      const { name } = await makeFilled('c1');
      await injectFailures(
        (berth) => copyOne(berth, { source: name, target: 'c2' }),
        (berth) => berth.destroy('c2'),
      );
    });

    if (options.cloneSource) {
      it('rolls back a snapshot clone that fails at any step, keeping the source\'s records', async function () {
        await makeCloneSource('base');
        const records = await dependentsFile(w().lxcpath, 'base');
        await injectFailures(
          async (berth) => {
            await copyOne(berth, { source: 'base', target: 'clone', snapshot: true, backend: options.backend, options: backendOptions() });
          },
          (berth) => berth.destroy('clone'),
        );
        expect(await dependentsFile(w().lxcpath, 'base')).to.equal(records);
      });
    }

    it('rolls back a container snapshot that fails at any step', async function () {
      const { base } = await makeFilled('c1');
      const records = base ? await dependentsFile(w().lxcpath, base) : undefined;
      await injectFailures(
        (berth) => berth.snapshot('c1'),
        async (berth) => {
          await berth.deleteSnapshot('c1', 'ALL');
        },
      );
      if (base) expect(await dependentsFile(w().lxcpath, base)).to.equal(records);
    });
  });
}

async function copyOne(
  berth: Berth,
  request: { source: string; target: string; snapshot?: boolean; backend?: string; options?: StorageOptions },
): Promise<ContainerSummary> {
  const [outcome] = await berth.copy({
    source: request.source,
    targets: [request.target],
    ...(request.snapshot ? { snapshot: true } : {}),
    ...(request.backend ? { backend: request.backend } : {}),
    ...(request.options ? { options: request.options } : {}),
  });
  if (!outcome) throw new Error('copy returned no outcome');
  if (!outcome.ok) throw outcome.error;
  return outcome.container;
}
