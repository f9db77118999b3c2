import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { BerthError, ExecaRunner, LXC_DEFAULTS, createBerth, type Berth } from '@berth/core';
import {
  Lxcpath,
  kernelHasFilesystem,
  listLxcpath,
  ok,
  run,
  makeLoopFilesystem,
  makeTemporaryLxcpath,
  skipBecause,
  storageConformance,
  type LoopFilesystem,
  type TemporaryLxcpath,
  berthBinary,
  ensureBerthBinary,
} from '@berth/conformance';
import { dirModule } from '@berth/storage-dir';
import { overlayModule } from '@berth/storage-overlay';
import { btrfsModule, createBtrfsModule, ioctlAvailability, subvolumeOps, type SubvolumeOps } from '@berth/storage-btrfs';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const BERTH_BIN = berthBinary(REPO_ROOT);

/** Everything here runs on one real btrfs filesystem on a loop device, made and removed by the suite. */
describe('storage-btrfs', function () {
  this.timeout(300_000);
  const runner = new ExecaRunner();
  let testbed: LoopFilesystem | undefined;

  before(async function () {
    if (process.getuid?.() !== 0) skipBecause(this, 'loop devices and mounts need root');
    if (!(await kernelHasFilesystem('btrfs', runner))) skipBecause(this, 'the kernel has no btrfs');
    testbed = await makeLoopFilesystem({ fstype: 'btrfs', size: '2G', runner });
  });

  after(async function () {
    const current = testbed;
    testbed = undefined;
    await current?.teardown();
  });

  storageConformance({
    name: 'btrfs',
    module: btrfsModule,
    helpers: [dirModule, overlayModule],
    backend: 'btrfs',
    cloneSource: 'btrfs',
    setup: () => makeTemporaryLxcpath(testbed!.mountpoint),
  });

  // The same cases with every subvolume made and deleted by btrfs-progs: the means
  // used without the addon, and the one the command-failure injection reaches.
  storageConformance({
    name: 'btrfs (btrfs-progs)',
    module: createBtrfsModule({ subvolumes: 'btrfs-progs' }),
    helpers: [dirModule, overlayModule],
    backend: 'btrfs',
    cloneSource: 'btrfs',
    setup: () => makeTemporaryLxcpath(testbed!.mountpoint),
  });

  describe('btrfs specifics', function () {
    let temporary: TemporaryLxcpath | undefined;
    let berth: Berth;
    let lxcpath: string;

    beforeEach(async function () {
      temporary = await makeTemporaryLxcpath(testbed!.mountpoint);
      lxcpath = temporary.lxcpath;
      berth = (
        await createBerth({
          modules: [btrfsModule, dirModule, overlayModule],
          lxcpath,
          system: { ...LXC_DEFAULTS, lxcpath, defaultConfig: join(lxcpath, '.none') },
        })
      ).berth;
    });

    afterEach(async function () {
      const current = temporary;
      temporary = undefined;
      await current?.teardown();
    });

    const subvolumes = async () =>
      (await runner.run(['btrfs', 'subvolume', 'list', '-o', testbed!.mountpoint], { readOnly: true })).stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => line.slice(line.indexOf(' path ') + 6));

    const show = async (path: string) => (await runner.run(['btrfs', 'subvolume', 'show', path], { readOnly: true })).stdout;

    it('creates the rootfs as a subvolume, with a btrfs: rootfs path', async () => {
      await berth.create({ name: 'c1', backend: 'btrfs' });
      const config = await readFile(join(lxcpath, 'c1', 'config'), 'utf8');
      expect(config).to.include(`lxc.rootfs.path = btrfs:${join(lxcpath, 'c1', 'rootfs')}`);
      expect(await show(join(lxcpath, 'c1', 'rootfs'))).to.match(/Subvolume ID:\s+\d+/);
    });

    it('a snapshot clone is a subvolume snapshot of its source (btrfs subvolume show names the parent)', async () => {
      await berth.create({ name: 'base', backend: 'btrfs' });
      const [outcome] = await berth.copy({ source: 'base', targets: ['c1'], snapshot: true });
      expect(outcome?.ok).to.equal(true);
      const baseUuid = /^\s*UUID:\s+(\S+)/m.exec(await show(join(lxcpath, 'base', 'rootfs')))![1];
      expect(await show(join(lxcpath, 'c1', 'rootfs'))).to.match(new RegExp(`Parent UUID:\\s+${baseUuid}`));
    });

    it('a plain copy on the same filesystem is a snapshot too, as in LXC', async () => {
      await berth.create({ name: 'base', backend: 'btrfs' });
      const [outcome] = await berth.copy({ source: 'base', targets: ['c1'] });
      expect(outcome?.ok).to.equal(true);
      const baseUuid = /^\s*UUID:\s+(\S+)/m.exec(await show(join(lxcpath, 'base', 'rootfs')))![1];
      expect(await show(join(lxcpath, 'c1', 'rootfs'))).to.match(new RegExp(`Parent UUID:\\s+${baseUuid}`));
    });

    it('a copy from a dir container into btrfs is a real subvolume (LXC leaves a plain directory)', async () => {
      const source = join(lxcpath, '..', `${temporary!.lxcpath.split('/').pop()}.src`);
      await mkdir(source, { recursive: true });
      await writeFile(join(source, 'hello'), 'world');
      await berth.create({ name: 'd', backend: 'dir', source: { kind: 'directory', path: source } });
      const [outcome] = await berth.copy({ source: 'd', targets: ['b'], backend: 'btrfs' });
      expect(outcome?.ok, outcome && !outcome.ok ? outcome.error.message : '').to.equal(true);
      expect(await show(join(lxcpath, 'b', 'rootfs'))).to.match(/Subvolume ID/);
      expect(await readFile(join(lxcpath, 'b', 'rootfs', 'hello'), 'utf8')).to.equal('world');
      await berth.destroy('b');
      await runner.run(['rm', '-rf', source]);
    });

    it('destroys a container that made subvolumes inside itself, deepest first, and nothing else', async () => {
      await berth.create({ name: 'nest', backend: 'btrfs' });
      await berth.create({ name: 'neighbour', backend: 'btrfs' });
      const rootfs = join(lxcpath, 'nest', 'rootfs');
      await runner.run(['btrfs', 'subvolume', 'create', join(rootfs, 'inner')]);
      await runner.run(['btrfs', 'subvolume', 'create', join(rootfs, 'inner', 'deeper')]);
      await mkdir(join(rootfs, 'dir'));
      await runner.run(['btrfs', 'subvolume', 'create', join(rootfs, 'dir', 'side')]);
      await berth.destroy('nest');
      const left = await subvolumes();
      expect(left.some((p) => p.includes('/nest/'))).to.equal(false);
      expect(left.some((p) => p.endsWith('/neighbour/rootfs'))).to.equal(true);
    });

    it('refuses a snapshot clone into another filesystem with NotSupported, touching nothing', async () => {
      await berth.create({ name: 'base', backend: 'dir' });
      try {
        await berth.copy({ source: 'base', targets: ['c1'], snapshot: true, backend: 'btrfs' });
        expect.fail('a dir source cannot be btrfs-snapshotted');
      } catch (error) {
        expect(BerthError.is(error, 'NotSupported'), String(error)).to.equal(true);
      }
      expect(await berth.exists('c1')).to.equal(false);
    });

    it('refuses a snapshot clone of a btrfs container onto another filesystem in one line, touching nothing, by either means', async () => {
      // base's rootfs stays on the testbed; the clone would land in an lxcpath on a second
      // btrfs (the ioctl says EXDEV) or on a filesystem that is not btrfs (ENOTTY).
      await berth.create({ name: 'base', backend: 'btrfs' });
      const baseConfig = await readFile(join(lxcpath, 'base', 'config'), 'utf8');
      const second = await makeLoopFilesystem({ fstype: 'btrfs', size: '256M', runner });
      const places: TemporaryLxcpath[] = [];
      try {
        places.push(await makeTemporaryLxcpath(second.mountpoint), await makeTemporaryLxcpath());
        for (const place of places) {
          await mkdir(join(place.lxcpath, 'base'));
          await writeFile(join(place.lxcpath, 'base', 'config'), baseConfig);
          for (const [means, module] of [['ioctl', btrfsModule], ['btrfs-progs', createBtrfsModule({ subvolumes: 'btrfs-progs' })]] as const) {
            const before = await listLxcpath(place.lxcpath);
            const system = { ...LXC_DEFAULTS, lxcpath: place.lxcpath, defaultConfig: join(place.lxcpath, '.none') };
            const there = (await createBerth({ modules: [module], lxcpath: place.lxcpath, system })).berth;
            const [outcome] = await there.copy({ source: 'base', targets: ['c1'], snapshot: true });
            const what = `${means} into ${place.lxcpath}`;
            expect(outcome?.ok, what).to.equal(false);
            const error = outcome && !outcome.ok ? outcome.error : undefined;
            expect(BerthError.is(error, 'NotSupported'), `${what}: ${String(error)}`).to.equal(true);
            expect(error!.message, what).to.match(/cannot snapshot base into .*: not on the same btrfs filesystem/);
            expect(error!.message, what).to.not.include('\n');
            expect(await listLxcpath(place.lxcpath), what).to.deep.equal(before);
          }
        }
        expect((await subvolumes()).filter((p) => !p.endsWith('base/rootfs'))).to.deep.equal([]);
      } finally {
        for (const place of places) await place.teardown();
        await second.teardown();
      }
    });

    it('says clearly when the lxcpath is not on btrfs', async () => {
      const elsewhere = await makeTemporaryLxcpath();
      try {
        const other = (await createBerth({ modules: [btrfsModule], lxcpath: elsewhere.lxcpath, system: { ...LXC_DEFAULTS, lxcpath: elsewhere.lxcpath } })).berth;
        await other.create({ name: 'c1', backend: 'btrfs' }).then(
          () => expect.fail('created on a non-btrfs lxcpath'),
          (error: unknown) => {
            expect(BerthError.is(error, 'FailedPrecondition'), String(error)).to.equal(true);
            expect((error as Error).message).to.match(/not on a btrfs filesystem/);
          },
        );
        expect(await other.exists('c1')).to.equal(false);
      } finally {
        await elsewhere.teardown();
      }
    });

    it('detects an unprefixed rootfs path that is a subvolume, and destroys it as one', async () => {
      await berth.create({ name: 'old', backend: 'btrfs' });
      const configPath = join(lxcpath, 'old', 'config');
      const rootfs = join(lxcpath, 'old', 'rootfs');
      const config = await readFile(configPath, 'utf8');
      await writeFile(configPath, config.replace(`lxc.rootfs.path = btrfs:${rootfs}`, `lxc.rootfs.path = ${rootfs}`));
      expect((await berth.info('old')).backend).to.equal('btrfs');
      await berth.destroy('old');
      expect((await subvolumes()).some((p) => p.includes('/old/'))).to.equal(false);
    });

    it('refuses to destroy a container while something is mounted inside it, touching nothing', async () => {
      await berth.create({ name: 'busy', backend: 'btrfs' });
      const inside = join(lxcpath, 'busy', 'rootfs', 'mnt');
      await mkdir(inside);
      await runner.run(['mount', '-t', 'tmpfs', 'tmpfs', inside]);
      try {
        await berth.destroy('busy').then(
          () => expect.fail('destroyed a container with a mount inside'),
          (error: unknown) => {
            expect(BerthError.is(error, 'InUse'), String(error)).to.equal(true);
            expect((error as Error).message).to.match(/mounted/);
          },
        );
        expect(await berth.exists('busy')).to.equal(true);
        expect(await show(join(lxcpath, 'busy', 'rootfs'))).to.match(/Subvolume ID/);
      } finally {
        await runner.run(['umount', inside]);
      }
      await berth.destroy('busy');
    });

    describe('subvolumes by ioctl (@berth/btrfs-ioctl)', function () {
      // The setup builds the addon: its absence here is a broken install, not a skip.
      const ioctl = () => subvolumeOps(runner, 'ioctl');
      const expectCode = async (promise: Promise<unknown>, code: string, message: RegExp) => {
        await promise.then(
          () => expect.fail(`expected ${code}`),
          (error: unknown) => {
            expect(BerthError.is(error), String(error)).to.equal(true);
            expect((error as BerthError).code, String(error)).to.equal(code);
            expect((error as Error).message).to.match(message);
            expect((error as Error).message).not.to.include('\n');
          },
        );
      };

      it('is built, and the default driver uses it (a dry run uses btrfs-progs, so the plan shows the command)', async () => {
        expect(ioctlAvailability()).to.deep.equal({ available: true });
        expect((berth.drivers.storageDriver('btrfs') as unknown as { subvolumes: SubvolumeOps }).subvolumes.via).to.equal('ioctl');
        expect(subvolumeOps(runner, 'auto').via).to.equal('ioctl');
        expect(berth.drivers.storageDriver('btrfs').description).to.match(/made by ioctl, in process/);
        const dry = await createBerth({ modules: [btrfsModule], lxcpath, dryRun: true, system: { ...LXC_DEFAULTS, lxcpath, defaultConfig: join(lxcpath, '.none') } });
        expect((dry.berth.drivers.storageDriver('btrfs') as unknown as { subvolumes: SubvolumeOps }).subvolumes.via).to.equal('btrfs-progs');
      });

      it('creates, snapshots (with the parent recorded) and deletes subvolumes', async () => {
        const a = join(lxcpath, 'a');
        const b = join(lxcpath, 'b');
        await ioctl().create(a);
        await writeFile(join(a, 'file'), 'data');
        // The snapshot reports the filesystem it was made on, as sysfs names it, and that quotas are off.
        const facts = await ioctl().snapshot(a, b);
        const fsid = (await runner.run(['findmnt', '-n', '-o', 'UUID', '--target', lxcpath], { readOnly: true })).stdout.trim();
        expect(facts).to.deep.equal({ fsid, quotas: false });
        expect(existsSync(join('/sys/fs/btrfs', fsid))).to.equal(true);
        expect(await readFile(join(b, 'file'), 'utf8')).to.equal('data');
        const aUuid = /^\s*UUID:\s+(\S+)/m.exec(await show(a))![1];
        expect(await show(b)).to.match(new RegExp(`Parent UUID:\\s+${aUuid}`));
        await writeFile(join(b, 'file'), 'changed');
        expect(await readFile(join(a, 'file'), 'utf8')).to.equal('data');
        await ioctl().delete(b);
        await ioctl().delete(a);
        expect(existsSync(a) || existsSync(b)).to.equal(false);
      });

      it('fails in one line with a code: existing target, not a subvolume, not btrfs, nested subvolumes, missing source', async () => {
        const a = join(lxcpath, 'a');
        await ioctl().create(a);
        await mkdir(join(lxcpath, 'plain'));
        await expectCode(ioctl().snapshot(a, join(lxcpath, 'plain')), 'AlreadyExists', /cannot snapshot .* \(EEXIST\)$/);
        await expectCode(ioctl().snapshot(join(lxcpath, 'plain'), join(lxcpath, 'x')), 'FailedPrecondition', /not a btrfs subvolume/);
        await expectCode(ioctl().snapshot(join(lxcpath, 'missing'), join(lxcpath, 'x')), 'NotFound', /ENOENT/);
        const elsewhere = await makeTemporaryLxcpath();
        try {
          await expectCode(ioctl().snapshot(a, join(elsewhere.lxcpath, 'x')), 'FailedPrecondition', /not on a btrfs filesystem/);
          await expectCode(ioctl().create(join(elsewhere.lxcpath, 'x')), 'FailedPrecondition', /not on a btrfs filesystem/);
        } finally {
          await elsewhere.teardown();
        }
        await ioctl().create(join(a, 'inner'));
        await expectCode(ioctl().delete(a), 'InUse', /still holds subvolumes/);
        await ioctl().delete(join(a, 'inner'));
        await ioctl().delete(a);
        expect(existsSync(join(lxcpath, 'x'))).to.equal(false);
      });

      it('64 concurrent snapshots of one subvolume all land intact', async () => {
        const base = join(lxcpath, 'base');
        await ioctl().create(base);
        await writeFile(join(base, 'file'), 'base');
        const targets = Array.from({ length: 64 }, (_, i) => join(lxcpath, `s${i}`));
        await Promise.all(targets.map((target) => ioctl().snapshot(base, target)));
        for (const target of targets) expect(await readFile(join(target, 'file'), 'utf8')).to.equal('base');
        await Promise.all([...targets, base].map((target) => ioctl().delete(target)));
        expect(await subvolumes()).to.deep.equal([]);
      });

      it('a snapshot that fails after the kernel made it is undone: nothing is left', async () => {
        await berth.create({ name: 'base', backend: 'btrfs' });
        const before = await listLxcpath(lxcpath);
        const real = ioctl();
        const failingAfter: SubvolumeOps = {
          ...real,
          snapshot: async (source, target) => {
            await real.snapshot(source, target);
            throw new BerthError('Internal', 'injected after the snapshot');
          },
        };
        const injected = (
          await createBerth({
            modules: [createBtrfsModule({ subvolumes: failingAfter })],
            lxcpath,
            system: { ...LXC_DEFAULTS, lxcpath, defaultConfig: join(lxcpath, '.none') },
          })
        ).berth;
        const [outcome] = await injected.copy({ source: 'base', targets: ['c1'], snapshot: true });
        expect(outcome?.ok).to.equal(false);
        expect(await listLxcpath(lxcpath)).to.deep.equal(before);
        expect((await subvolumes()).some((p) => p.includes('/c1/'))).to.equal(false);
      });
    });

    describe('quotas', function () {
      it('filling a container past the quota it is given fails in one line and leaves nothing behind', async () => {
        // The data comes from another filesystem: within this one, cp would reflink it,
        // and shared extents are not charged when written.
        const elsewhere = await makeTemporaryLxcpath();
        try {
          await writeFile(join(elsewhere.lxcpath, 'blob'), randomBytes(24 * 1024 * 1024));
          const before = await listLxcpath(lxcpath);
          const subvolumesBefore = await subvolumes();
          const attempt = berth.create({ name: 'small', backend: 'btrfs', options: { size: '8M' }, source: { kind: 'directory', path: elsewhere.lxcpath } });
          const error = await attempt.then(() => undefined, (e: unknown) => e as Error);
          expect(error, 'created past its quota').to.not.equal(undefined);
          expect(error!.message).to.match(/quota exceeded/i);
          expect(error!.message).to.not.include('\n');
          expect(await listLxcpath(lxcpath)).to.deep.equal(before);
          expect(await subvolumes()).to.deep.equal(subvolumesBefore);
        } finally {
          await elsewhere.teardown();
        }
      });

      it('enforces a size limit inside the rootfs (EDQUOT) and a clone keeps its limit', async () => {
        await berth.create({ name: 'q', backend: 'btrfs', options: { size: '16M' } });
        const info = await berth.info('q');
        expect(info.usage?.limitBytes).to.equal(16 * 1024 * 1024);
        const fill = (path: string) =>
          runner.run(['dd', 'if=/dev/zero', `of=${path}`, 'bs=1M', 'count=64', 'conv=fsync'], { readOnly: true }).then(
            () => 'written',
            (error: unknown) => (error as BerthError).command?.stderr ?? String(error),
          );
        expect(await fill(join(lxcpath, 'q', 'rootfs', 'big'))).to.match(/quota exceeded/i);
        const [outcome] = await berth.copy({ source: 'q', targets: ['q2'], snapshot: true });
        expect(outcome?.ok, outcome && !outcome.ok ? outcome.error.message : '').to.equal(true);
        expect((await berth.info('q2')).usage?.limitBytes).to.equal(16 * 1024 * 1024);
      });
    });
  });
  describe('many berth processes at once', function () {
    let lx: Lxcpath | undefined;

    before(async function () {
      await ensureBerthBinary(REPO_ROOT);
      lx = await Lxcpath.make(BERTH_BIN, testbed!.mountpoint);
    });

    after(async function () {
      await lx?.remove();
    });

    it('20 snapshot clones of one base, each by its own berth process started at once, all succeed intact', async function () {
      await ok(lx!.berth('create', 'base', '-B', 'btrfs'));
      await writeFile(join(lx!.path, 'base', 'rootfs', 'marker'), 'base content\n');
      const names = Array.from({ length: 20 }, (_, i) => `c${i + 1}`);
      const results = await Promise.all(names.map((name) => run(lx!.berth('copy', '-s', 'base', name), 120_000)));
      results.forEach((result, i) => expect(result.exitCode, `clone ${names[i]}: ${result.stderr}`).to.equal(0));
      for (const name of names) {
        const config = await lx!.config(name);
        expect(config).to.include(`lxc.rootfs.path = btrfs:${lx!.path}/${name}/rootfs`);
        expect(config).to.match(new RegExp(`^lxc\\.uts\\.name = ${name}$`, 'm'));
        expect(await readFile(join(lx!.path, name, 'rootfs', 'marker'), 'utf8')).to.equal('base content\n');
        expect(existsSync(join(lx!.path, name, 'partial'))).to.equal(false);
      }
      const listed = await ok(lx!.berth('--json', 'ls'));
      expect((JSON.parse(listed.stdout) as { name: string }[]).map((c) => c.name).sort()).to.deep.equal(['base', ...names].sort());
    });

    it('berth quota sets and removes a limit; ls --usage and info show it', async function () {
      await ok(lx!.berth('create', 'q1', '-B', 'btrfs'));
      const set = await ok(lx!.berth('quota', 'q1', '48M'));
      expect(set.stdout).to.match(/q1 is limited to 48 MiB/);
      const info = JSON.parse((await ok(lx!.berth('--json', 'info', 'q1'))).stdout) as { usage: { limitBytes: number | null; details: Record<string, unknown> } };
      expect(info.usage.limitBytes).to.equal(48 * 1024 * 1024);
      expect(info.usage.details).to.include.keys('referenced', 'exclusive');
      const table = (await ok(lx!.berth('ls', '--usage'))).stdout;
      expect(table).to.match(/^NAME\s+BACKEND\s+SNAPSHOTS\s+USED\s+LIMIT/m);
      expect(table).to.match(/^q1\s+btrfs\s+0\s+\S+ \S+\s+48 MiB/m);
      await ok(lx!.berth('quota', 'q1', 'none'));
      const after = JSON.parse((await ok(lx!.berth('--json', 'info', 'q1'))).stdout) as { usage: { limitBytes: number | null } };
      expect(after.usage.limitBytes).to.equal(null);
      const bad = await run(lx!.berth('quota', 'q1', '12X'));
      expect(bad.exitCode).to.equal(2);
      expect(bad.stderr.trim().split('\n')).to.have.length(1);
    });
  });

  describe('interop with real LXC on btrfs', function () {
    let lx: Lxcpath | undefined;

    before(async function () {
      await ensureBerthBinary(REPO_ROOT);
      lx = await Lxcpath.make(BERTH_BIN, testbed!.mountpoint);
      await ok(lx.lxc('create', 'base', '-B', 'btrfs', '-t', 'busybox', '-f', lx.createConfig));
    });

    after(async function () {
      await lx?.remove();
    });

    it('berth copy -s of an lxc-create -B btrfs container boots under lxc-start', async function () {
      await ok(lx!.berth('copy', '-s', 'base', 'c1'));
      await lx!.start('c1');
      const hostname = await ok(lx!.lxc('attach', 'c1', '--', 'hostname'));
      expect(hostname.stdout.trim()).to.equal('c1');
      await ok(lx!.lxc('stop', 'c1', '-k'));
    });

    it('btrfs subvolume list shows c1/rootfs as a snapshot of base/rootfs', async function () {
      const show = async (name: string) => (await ok(['btrfs', 'subvolume', 'show', join(lx!.path, name, 'rootfs')])).stdout;
      const baseUuid = /^\s*UUID:\s+(\S+)/m.exec(await show('base'))![1];
      expect(await show('c1')).to.match(new RegExp(`Parent UUID:\\s+${baseUuid}`));
      const all = (await ok(['btrfs', 'subvolume', 'list', '-q', testbed!.mountpoint])).stdout;
      const relative = join(lx!.path, 'c1', 'rootfs').slice(testbed!.mountpoint.length + 1);
      const c1Line = all.split('\n').find((line) => line.endsWith(` path ${relative}`));
      expect(c1Line, all).to.include(`parent_uuid ${baseUuid}`);
    });

    it('lxc-snapshot -L lists berth snapshots of a btrfs container, and berth restores them', async function () {
      await ok(lx!.berth('snapshot', 'c1', '-c', 'before'));
      const listed = await ok(lx!.lxc('snapshot', 'c1', '-L'));
      expect(listed.stdout).to.match(/^snap0 \(.*\/c1\/snaps\) \d{4}:\d{2}:\d{2} \d{2}:\d{2}:\d{2}$/m);
      await writeFile(join(lx!.path, 'c1', 'rootfs', 'after'), 'x');
      await ok(lx!.berth('snapshot', 'restore', 'c1', 'snap0'));
      expect(existsSync(join(lx!.path, 'c1', 'rootfs', 'after'))).to.equal(false);
      expect((await ok(['btrfs', 'subvolume', 'show', join(lx!.path, 'c1', 'rootfs')])).stdout).to.match(/Subvolume ID/);
    });
  });
});
