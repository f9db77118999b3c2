import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  BerthError,
  createBerth,
  mountsUnder,
  DryRunRunner,
  LOCK_MANAGER,
  LxcConfig,
  parseDependencyFile,
  parseRootfs,
  splitOverlaySource,
  type BerthInstance,
  type LockManager,
  type OperationFailed,
  type OperationFinished,
  type OperationProgressed,
  type OperationStarted,
} from '@berth/core';
import { dirModule } from '@berth/storage-dir';
import { overlayModule } from '@berth/storage-overlay';
import { expectBerthError, FIXTURES, killGroup, listTree, spawnFixture, TempDirs, waitFor } from './helpers.js';

const exists = (path: string) => lstat(path).then(() => true, () => false);
const readConfig = async (path: string) => LxcConfig.parse(await readFile(path, 'utf8'));

describe('Berth facade (dir and overlay drivers)', function () {
  this.timeout(120_000);
  const temp = new TempDirs();
  after(() => temp.cleanup());

  async function setup(options: { dryRun?: boolean; lxcpath?: string } = {}): Promise<BerthInstance & { lxcpath: string }> {
    const lxcpath = options.lxcpath ?? (await temp.make());
    const instance = await createBerth({ modules: [dirModule, overlayModule], lxcpath, lockTimeoutMs: 10_000, dryRun: options.dryRun ?? false });
    return { ...instance, lxcpath };
  }

  /** A rootfs tree to create containers from: etc/hostname holds `hostname`. */
  async function sourceTree(hostname: string): Promise<string> {
    const tree = await temp.make('berth-tree-');
    await mkdir(join(tree, 'etc'));
    await mkdir(join(tree, 'bin'));
    await writeFile(join(tree, 'etc', 'hostname'), `${hostname}\n`);
    await writeFile(join(tree, 'bin', 'hello'), '#!/bin/sh\necho hello\n', { mode: 0o755 });
    return tree;
  }

  async function createFrom(berth: BerthInstance['berth'], name: string) {
    return berth.create({ name, source: { kind: 'directory', path: await sourceTree(name) } });
  }

  describe('copy', () => {
    it('refuses a snapshot copy into -B dir with NotSupported before touching anything', async () => {
      const { berth, lxcpath } = await setup();
      await createFrom(berth, 'base');
      const before = await listTree(lxcpath);
      const error = await expectBerthError(berth.copy({ source: 'base', targets: ['t1', 't2'], snapshot: true, backend: 'dir' }), 'NotSupported');
      expect(error.message).to.include('dir').and.include('snapshot');
      expect(await listTree(lxcpath)).to.deep.equal(before);
    });

    it('refuses bad target names before touching anything', async () => {
      const { berth, lxcpath } = await setup();
      await createFrom(berth, 'base');
      const before = await listTree(lxcpath);
      await expectBerthError(berth.copy({ source: 'base', targets: ['ok', '../escape'] }), 'InvalidArgument');
      await expectBerthError(berth.copy({ source: 'base', targets: ['a', 'a'] }), 'InvalidArgument');
      await expectBerthError(berth.copy({ source: 'base', targets: ['base'] }), 'InvalidArgument');
      await expectBerthError(berth.copy({ source: 'base', targets: [] }), 'InvalidArgument');
      await expectBerthError(berth.copy({ source: 'nope', targets: ['x'] }), 'NotFound');
      expect(await listTree(lxcpath)).to.deep.equal(before);
    });

    it('copy onto an existing name fails with AlreadyExists and leaves it alone', async () => {
      const { berth, lxcpath } = await setup();
      await createFrom(berth, 'base');
      await createFrom(berth, 'other');
      const before = await listTree(join(lxcpath, 'other'));
      const configBefore = await readFile(join(lxcpath, 'other', 'config'), 'utf8');
      const [outcome] = await berth.copy({ source: 'base', targets: ['other'] });
      expect(outcome!.ok).to.equal(false);
      if (outcome!.ok) return;
      expect(outcome!.error).to.be.instanceOf(BerthError);
      expect(outcome!.error.code).to.equal('AlreadyExists');
      expect(await listTree(join(lxcpath, 'other'))).to.deep.equal(before);
      expect(await readFile(join(lxcpath, 'other', 'config'), 'utf8')).to.equal(configBefore);
    });

    it('makes 20 overlay snapshot clones at once, each with its own upper, all recorded in the base', async () => {
      const { berth, lxcpath } = await setup();
      await createFrom(berth, 'base');
      const names = Array.from({ length: 20 }, (_, i) => `clone${i}`);
      const outcomes = await berth.copy({ source: 'base', targets: names, snapshot: true });
      const failed = outcomes.filter((o) => !o.ok).map((o) => (o.ok ? '' : `${o.name}: ${o.error.message}`));
      expect(failed).to.deep.equal([]);
      expect(outcomes.map((o) => o.name)).to.deep.equal(names);

      const uppers = new Set<string>();
      for (const name of names) {
        const config = await readConfig(join(lxcpath, name, 'config'));
        const rootfs = parseRootfs(config.get('lxc.rootfs.path')!);
        expect(rootfs.type).to.equal('overlay');
        const { lower, upper } = splitOverlaySource(rootfs.source);
        expect(lower).to.equal(join(lxcpath, 'base', 'rootfs'));
        expect(upper).to.equal(join(lxcpath, name, 'overlay', 'delta'));
        uppers.add(upper);
        expect(config.get('lxc.uts.name')).to.equal(name);
        // The hostname was rewritten through the overlay: into the clone's upper only.
        expect(await readFile(join(upper, 'etc', 'hostname'), 'utf8')).to.equal(`${name}\n`);
        expect(await readFile(join(lxcpath, name, 'lxc_rdepends'), 'utf8')).to.equal(`${lxcpath}\nbase\n`);
        expect(await exists(join(lxcpath, name, 'partial'))).to.equal(false);
      }
      expect(uppers.size).to.equal(20);
      expect(await readFile(join(lxcpath, 'base', 'rootfs', 'etc', 'hostname'), 'utf8')).to.equal('base\n');

      const dependents = parseDependencyFile(await readFile(join(lxcpath, 'base', 'lxc_snapshots'), 'utf8'));
      expect(dependents.records.map((r) => r.name).sort()).to.deep.equal([...names].sort());
      expect(new Set(dependents.records.map((r) => r.lxcpath))).to.deep.equal(new Set([lxcpath]));
      // Nothing is left mounted or half made.
      expect(await mountsUnder(lxcpath)).to.deep.equal([]);
      expect(await readdir(join(lxcpath, '.berth', 'mnt')).catch(() => [])).to.deep.equal([]);
      expect(await readdir(join(lxcpath, '.berth', 'journal'))).to.deep.equal([]);
      // And the base cannot go while they need it.
      await expectBerthError(berth.destroy('base'), 'FailedPrecondition');
    });

    it('a copy’s directory is 0770 and its config 0640, as LXC makes them, whatever the umask', async () => {
      const { berth, lxcpath } = await setup();
      await createFrom(berth, 'base');
      const before = process.umask(0o077);
      try {
        expect((await berth.copy({ source: 'base', targets: ['narrow'] }))[0]?.ok).to.equal(true);
        process.umask(0);
        expect((await berth.copy({ source: 'base', targets: ['wide'] }))[0]?.ok).to.equal(true);
      } finally {
        process.umask(before);
      }
      for (const name of ['narrow', 'wide']) {
        expect((await lstat(join(lxcpath, name))).mode & 0o7777, name).to.equal(0o770);
        expect((await lstat(join(lxcpath, name, 'config'))).mode & 0o7777, name).to.equal(0o640);
        expect(await readdir(join(lxcpath, name))).to.deep.equal(['config', 'rootfs']);
      }
    });

    it('one bad target among good ones fails alone', async () => {
      const { berth, lxcpath } = await setup();
      await createFrom(berth, 'base');
      await createFrom(berth, 'taken');
      const outcomes = await berth.copy({ source: 'base', targets: ['good1', 'taken', 'good2'], snapshot: true });
      expect(outcomes.map((o) => [o.name, o.ok])).to.deep.equal([
        ['good1', true],
        ['taken', false],
        ['good2', true],
      ]);
      const bad = outcomes[1]!;
      expect(bad.ok ? undefined : bad.error.code).to.equal('AlreadyExists');
      const dependents = parseDependencyFile(await readFile(join(lxcpath, 'base', 'lxc_snapshots'), 'utf8'));
      expect(dependents.records.map((r) => r.name).sort()).to.deep.equal(['good1', 'good2']);
      expect(await exists(join(lxcpath, 'taken', 'lxc_rdepends'))).to.equal(false);
    });

    it('regenerates hwaddr, renames lxc.uts.name and etc/hostname, and moves paths that named the old container', async () => {
      const { berth, lxcpath } = await setup();
      await createFrom(berth, 'hw');
      const configPath = join(lxcpath, 'hw', 'config');
      const config = await readConfig(configPath);
      config.set('lxc.net.0.type', 'veth').set('lxc.net.0.hwaddr', '00:16:3e:aa:bb:cc').set('lxc.mount.fstab', join(lxcpath, 'hw', 'fstab'));
      await writeFile(configPath, config.toString());

      const [copy, kept] = await berth.copy({ source: 'hw', targets: ['hw2'] }).then(async (a) => [...a, ...(await berth.copy({ source: 'hw', targets: ['hw3'], keepHwaddr: true }))]);
      expect(copy!.ok && kept!.ok).to.equal(true);

      const copied = await readConfig(join(lxcpath, 'hw2', 'config'));
      const mac = copied.get('lxc.net.0.hwaddr')!;
      expect(mac).to.match(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      expect(mac).to.not.equal('00:16:3e:aa:bb:cc');
      const firstOctet = parseInt(mac.slice(0, 2), 16);
      expect(firstOctet & 1, 'unicast').to.equal(0);
      expect((firstOctet & 2) !== 0 || mac.startsWith('00:16:3e:') || mac.startsWith('10:66:6a:'), `${mac} is locally administered or LXC's`).to.equal(true);
      expect(copied.get('lxc.uts.name')).to.equal('hw2');
      expect(copied.get('lxc.rootfs.path')).to.equal(`dir:${join(lxcpath, 'hw2', 'rootfs')}`);
      expect(copied.get('lxc.mount.fstab')).to.equal(join(lxcpath, 'hw2', 'fstab'));
      expect(await readFile(join(lxcpath, 'hw2', 'rootfs', 'etc', 'hostname'), 'utf8')).to.equal('hw2\n');
      expect(await readFile(join(lxcpath, 'hw2', 'rootfs', 'bin', 'hello'), 'utf8')).to.include('echo hello');
      expect(await readFile(join(lxcpath, 'hw', 'rootfs', 'etc', 'hostname'), 'utf8')).to.equal('hw\n');

      const keptConfig = await readConfig(join(lxcpath, 'hw3', 'config'));
      expect(keptConfig.get('lxc.net.0.hwaddr')).to.equal('00:16:3e:aa:bb:cc');
    });

    it('does not write through an etc/hostname (or etc) symlink to a host file', async () => {
      const { berth, lxcpath } = await setup();
      const hostDir = await temp.make('berth-host-');
      const hostFile = join(hostDir, 'hostname');
      await writeFile(hostFile, 'sl\n');
      const tree = await temp.make('berth-tree-');
      await mkdir(join(tree, 'etc'));
      await symlink(hostFile, join(tree, 'etc', 'hostname'));
      await berth.create({ name: 'sl', source: { kind: 'directory', path: tree } });

      const hostEtc = await temp.make('berth-host-etc-');
      await writeFile(join(hostEtc, 'hostname'), 'se\n');
      const tree2 = await temp.make('berth-tree-');
      await symlink(hostEtc, join(tree2, 'etc'));
      await berth.create({ name: 'se', source: { kind: 'directory', path: tree2 } });

      const outcomes = [...(await berth.copy({ source: 'sl', targets: ['sl2'] })), ...(await berth.copy({ source: 'se', targets: ['se2'] }))];
      expect(outcomes.map((o) => o.ok)).to.deep.equal([true, true]);
      expect(await readFile(hostFile, 'utf8')).to.equal('sl\n');
      expect(await readFile(join(hostEtc, 'hostname'), 'utf8')).to.equal('se\n');
      expect(await readlink(join(lxcpath, 'sl2', 'rootfs', 'etc', 'hostname'))).to.equal(hostFile);
      expect((await readConfig(join(lxcpath, 'sl2', 'config'))).get('lxc.uts.name')).to.equal('sl2');
    });
  });

  describe('rename', () => {
    it('keeps snapshots working: their configs name the new place', async () => {
      const { berth, lxcpath } = await setup();
      await createFrom(berth, 'r');
      const snap = await berth.snapshot('r', { comment: 'first' });
      expect(snap.name).to.equal('snap0');
      await writeFile(join(lxcpath, 'r', 'rootfs', 'bin', 'hello'), 'changed after the snapshot\n');

      const renamed = await berth.rename('r', 'r2');
      expect(renamed.name).to.equal('r2');
      expect(renamed.snapshots).to.equal(1);
      expect(await exists(join(lxcpath, 'r'))).to.equal(false);

      const config = await readConfig(join(lxcpath, 'r2', 'config'));
      expect(config.get('lxc.uts.name')).to.equal('r2');
      expect(config.get('lxc.rootfs.path')).to.equal(`dir:${join(lxcpath, 'r2', 'rootfs')}`);
      expect(await readFile(join(lxcpath, 'r2', 'rootfs', 'etc', 'hostname'), 'utf8')).to.equal('r2\n');

      const snapConfigText = await readFile(join(lxcpath, 'r2', 'snaps', 'snap0', 'config'), 'utf8');
      expect(snapConfigText).to.not.include(`${join(lxcpath, 'r')}/`);
      expect(LxcConfig.parse(snapConfigText).get('lxc.rootfs.path')).to.equal(`dir:${join(lxcpath, 'r2', 'snaps', 'snap0', 'rootfs')}`);

      const snaps = await berth.listSnapshots('r2');
      expect(snaps.map((s) => [s.name, s.comment])).to.deep.equal([['snap0', 'first']]);
      expect(snaps[0]!.timestamp).to.match(/^\d{4}:\d{2}:\d{2} \d{2}:\d{2}:\d{2}$/);

      const restored = await berth.restoreSnapshot('r2', 'snap0', 'r3');
      expect(restored.name).to.equal('r3');
      expect(await readFile(join(lxcpath, 'r3', 'rootfs', 'bin', 'hello'), 'utf8')).to.include('echo hello');

      await berth.restoreSnapshot('r2', 'snap0');
      expect(await readFile(join(lxcpath, 'r2', 'rootfs', 'bin', 'hello'), 'utf8')).to.include('echo hello');
      expect((await berth.listSnapshots('r2')).map((s) => s.name)).to.deep.equal(['snap0']);
    });

    it('updates the base’s lxc_snapshots for a renamed overlay clone, and the clone still mounts', async () => {
      const { berth, lxcpath } = await setup();
      await createFrom(berth, 'b');
      const [clone] = await berth.copy({ source: 'b', targets: ['oc'], snapshot: true });
      expect(clone!.ok).to.equal(true);

      await expectBerthError(berth.rename('b', 'b2'), 'FailedPrecondition');
      await berth.rename('oc', 'oc2');

      expect(await readFile(join(lxcpath, 'b', 'lxc_snapshots'), 'utf8')).to.equal(`${lxcpath}\noc2\n`);
      expect(await readFile(join(lxcpath, 'oc2', 'lxc_rdepends'), 'utf8')).to.equal(`${lxcpath}\nb\n`);
      const config = await readConfig(join(lxcpath, 'oc2', 'config'));
      expect(config.get('lxc.rootfs.path')).to.equal(`overlay:${join(lxcpath, 'b', 'rootfs')}:${join(lxcpath, 'oc2', 'overlay', 'delta')}`);
      expect(config.get('lxc.uts.name')).to.equal('oc2');
      expect(await readFile(join(lxcpath, 'oc2', 'overlay', 'delta', 'etc', 'hostname'), 'utf8')).to.equal('oc2\n');
      const summary = await berth.info('b');
      expect(summary.dependents).to.deep.equal(['oc2']);
      const mounted = await berth.mount('oc2');
      try {
        expect(mounted).to.equal(join(lxcpath, 'oc2', 'rootfs'));
        expect(await readFile(join(mounted, 'etc', 'hostname'), 'utf8')).to.equal('oc2\n');
        expect(await readFile(join(mounted, 'bin', 'hello'), 'utf8')).to.include('echo hello');
      } finally {
        await berth.unmount('oc2');
      }
      expect(await readdir(join(lxcpath, 'oc2', 'rootfs'))).to.deep.equal([]);

      // Destroying the clone drops it from the base's record; then the base can go.
      await berth.destroy('oc2');
      expect(await exists(join(lxcpath, 'b', 'lxc_snapshots'))).to.equal(false);
      await berth.destroy('b');
      expect(await berth.list()).to.deep.equal([]);
    });
  });

  describe('locks', () => {
    let child: ReturnType<typeof spawnFixture> | undefined;
    afterEach(async () => {
      if (child) await killGroup(child);
      child = undefined;
    });

    it('an operation waiting for a container lock held in this process times out with InUse', async () => {
      const lxcpath = await temp.make();
      const { berth, container } = await createBerth({ modules: [dirModule, overlayModule], lxcpath, lockTimeoutMs: 300 });
      await createFrom(berth, 'base');
      const locks = container.resolve<LockManager>(LOCK_MANAGER);
      const held = await locks.lockContainer(lxcpath, 'base');
      try {
        const [outcome] = await berth.copy({ source: 'base', targets: ['t'] });
        expect(outcome!.ok ? 'ok' : outcome!.error.code).to.equal('InUse');
        await expectBerthError(berth.snapshot('base'), 'InUse');
      } finally {
        await held.release();
      }
      expect(await exists(join(lxcpath, 't'))).to.equal(false);
      const [outcome] = await berth.copy({ source: 'base', targets: ['t'] });
      expect(outcome!.ok).to.equal(true);
    });

    // Through copy and snapshot: destroy and rename first ask lxc-info, which itself
    // blocks on this lock (up to its 15 s timeout).
    it('a container lock held by another process (LXC’s lock file) makes copy and snapshot fail with InUse', async () => {
      const lxcpath = await temp.make();
      const { berth, container } = await createBerth({ modules: [dirModule], lxcpath, lockTimeoutMs: 300 });
      await createFrom(berth, 'held');
      const lockPath = container.resolve<LockManager>(LOCK_MANAGER).containerLockPath(lxcpath, 'held');
      child = spawnFixture('lock-holder.mts', [lockPath]);
      const c = child;
      await waitFor(() => c.output().includes('locked') || c.exitCode !== null, 'the child to lock the container');
      const [outcome] = await berth.copy({ source: 'held', targets: ['t'] });
      expect(outcome!.ok ? 'ok' : outcome!.error.code).to.equal('InUse');
      expect(outcome!.ok ? '' : outcome!.error.message).to.include('container held');
      await expectBerthError(berth.snapshot('held'), 'InUse');
      expect(await exists(join(lxcpath, 't'))).to.equal(false);
      expect(await exists(join(lxcpath, 'held', 'snaps'))).to.equal(false);
      await killGroup(child);
      await berth.destroy('held');
      expect(await exists(join(lxcpath, 'held'))).to.equal(false);
    });
  });

  describe('dry run', () => {
    it('create and copy leave the lxcpath untouched and plan the steps', async () => {
      const real = await setup();
      await createFrom(real.berth, 'base');
      const tree = await sourceTree('n');
      const dry = await setup({ dryRun: true, lxcpath: real.lxcpath });
      const lxcpath = real.lxcpath;
      const before = await listTree(lxcpath);

      const created = await dry.berth.create({ name: 'n', source: { kind: 'directory', path: tree } });
      expect(created.name).to.equal('n');
      const outcomes = await dry.berth.copy({ source: 'base', targets: ['m'] });
      expect(outcomes.map((o) => o.ok)).to.deep.equal([true]);
      const clones = await dry.berth.copy({ source: 'base', targets: ['o1', 'o2'], snapshot: true });
      expect(clones.map((o) => o.ok)).to.deep.equal([true, true]);

      expect(await listTree(lxcpath)).to.deep.equal(before);
      expect(dry.runner).to.be.instanceOf(DryRunRunner);
      const plan = (dry.runner as DryRunRunner).plan;
      expect(plan).to.include(`mkdir -m 770 ${join(lxcpath, 'n')}`);
      expect(plan).to.include(`mkdir -m 755 ${join(lxcpath, 'n', 'rootfs')}`);
      expect(plan).to.include(`cp -a --reflink=auto --sparse=auto --no-target-directory ${tree} ${join(lxcpath, 'n', 'rootfs')}`);
      expect(plan).to.include(`write ${join(lxcpath, 'n', 'config')}`);
      expect(plan).to.include(`mkdir -m 770 ${join(lxcpath, 'm')}`);
      expect(plan).to.include(`cp -a --reflink=auto --sparse=auto --no-target-directory ${join(lxcpath, 'base', 'rootfs')} ${join(lxcpath, 'm', 'rootfs')}`);
      expect(plan).to.include(`write ${join(lxcpath, 'm', 'config')}`);
      expect(plan).to.include(`mkdir -m 755 ${join(lxcpath, 'o1', 'overlay', 'delta')}`);
      expect(plan).to.include(`write ${join(lxcpath, 'o2', 'lxc_rdepends')}`);
      expect(plan.indexOf(`mkdir -m 770 ${join(lxcpath, 'n')}`)).to.be.lessThan(plan.indexOf(`write ${join(lxcpath, 'n', 'config')}`));
    });

    it('a dry-run create in an lxcpath that does not exist creates nothing', async () => {
      const parent = await temp.make();
      const lxcpath = join(parent, 'not-yet');
      const dry = await setup({ dryRun: true, lxcpath });
      await dry.berth.create({ name: 'c' });
      expect(await exists(lxcpath)).to.equal(false);
      expect((dry.runner as DryRunRunner).plan).to.include(`mkdir -p ${lxcpath}`);
    });
  });

  describe('events', () => {
    it('emits started and finished with the same id and payloads', async () => {
      const { berth, events, lxcpath } = await setup();
      const started: OperationStarted[] = [];
      const finished: OperationFinished[] = [];
      const failed: OperationFailed[] = [];
      events.on('operation:started', (e) => started.push(e));
      events.on('operation:finished', (e) => finished.push(e));
      events.on('operation:failed', (e) => failed.push(e));
      await berth.create({ name: 'ev' });
      expect(started).to.have.length(1);
      expect(started[0]).to.deep.include({ kind: 'create', subject: { lxcpath, name: 'ev' } });
      expect(started[0]!.id).to.be.a('string').and.not.equal('');
      expect(finished).to.have.length(1);
      expect(finished[0]).to.deep.include({ id: started[0]!.id, kind: 'create', subject: { lxcpath, name: 'ev' } });
      expect(finished[0]!.elapsedMs).to.be.a('number').and.at.least(0);
      expect(failed).to.deep.equal([]);
    });

    it('reports copy progress in files when someone listens', async () => {
      const { berth, events } = await setup();
      await createFrom(berth, 'p');
      const progress: OperationProgressed[] = [];
      events.on('operation:progressed', (e) => progress.push(e));
      const [outcome] = await berth.copy({ source: 'p', targets: ['p2'] });
      expect(outcome!.ok).to.equal(true);
      expect(progress.length).to.be.greaterThan(0);
      const last = progress[progress.length - 1]!;
      expect(last).to.deep.include({ kind: 'copy', unit: 'files', step: 'copy' });
      expect(last.total).to.be.a('number').and.greaterThan(0);
      expect(last.done).to.equal(last.total);
    });

    it('emits failed with reverted:true after a clean rollback', async () => {
      const { berth, events, lxcpath } = await setup();
      const started: OperationStarted[] = [];
      const failed: OperationFailed[] = [];
      events.on('operation:started', (e) => started.push(e));
      events.on('operation:failed', (e) => failed.push(e));
      process.env.BERTH_TEST_TEMPLATE_FAIL = '1';
      let error: BerthError;
      try {
        error = await expectBerthError(berth.create({ name: 'bad', source: { kind: 'template', template: join(FIXTURES, 'slow-template.sh'), args: [] } }), 'CommandFailed');
      } finally {
        delete process.env.BERTH_TEST_TEMPLATE_FAIL;
      }
      expect(error.command?.exitCode).to.equal(7);
      expect(failed).to.have.length(1);
      expect(failed[0]).to.deep.include({ id: started[0]!.id, kind: 'create', subject: { lxcpath, name: 'bad' }, reverted: true });
      expect(failed[0]!.error).to.equal(error);
      expect(await exists(join(lxcpath, 'bad'))).to.equal(false);
      expect(await readdir(join(lxcpath, '.berth', 'journal'))).to.deep.equal([]);
    });

    it('a create over an existing container fails, reverted, and removes nothing', async () => {
      const { berth, events, lxcpath } = await setup();
      await createFrom(berth, 'there');
      const before = await listTree(join(lxcpath, 'there'));
      const failed: OperationFailed[] = [];
      events.on('operation:failed', (e) => failed.push(e));
      await expectBerthError(berth.create({ name: 'there' }), 'AlreadyExists');
      expect(failed.map((f) => [f.kind, f.reverted, (f.error as BerthError).code])).to.deep.equal([['create', true, 'AlreadyExists']]);
      expect(await listTree(join(lxcpath, 'there'))).to.deep.equal(before);
    });
  });
});
