import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  BerthError,
  ExecaRunner,
  LXC_DEFAULTS,
  commandFailed,
  containerRef,
  createBerth,
  formatArgv,
  type Berth,
  type CommandRunner,
  type RunOptions,
  type RunResult,
} from '@berth/core';
import { listLxcpath, makeTemporaryLxcpath, mountpointsUnder, skipBecause, storageConformance } from '@berth/conformance';
import { dirModule } from '@berth/storage-dir';
import { overlayModule } from '@berth/storage-overlay';
import { ZfsDriver, zfsModule } from '@berth/storage-zfs';
import { makeZfsTestbed, type ZfsTestbed } from './zfs-testbed.js';

/** Everything here runs on one real ZFS pool (zfs-fuse on a sparse file), made and removed by the suite. */
describe('storage-zfs', function () {
  this.timeout(600_000);
  const runner = new ExecaRunner();
  let testbed: ZfsTestbed | undefined;

  before(async function () {
    if (process.getuid?.() !== 0) skipBecause(this, 'zfs-fuse and mounts need root');
    if (!(await runner.which('zfs-fuse')) && !(await runner.which('zfs'))) throw new Error('zfs-fuse is not installed: run scripts/setup.sh (or apt-get install zfs-fuse)');
    testbed = await makeZfsTestbed(runner);
  });

  after(async function () {
    const current = testbed;
    testbed = undefined;
    await current?.teardown();
  });

  /** A fresh lxcpath and a fresh parent dataset, both removed afterwards. */
  const environment = async () => {
    const temporary = await makeTemporaryLxcpath(testbed!.workDir);
    const zfsRoot = await testbed!.freshRoot();
    return {
      lxcpath: temporary.lxcpath,
      zfsRoot,
      system: { zfsRoot },
      async teardown() {
        try {
          await temporary.teardown();
        } finally {
          await testbed?.removeRoot(zfsRoot);
        }
      },
    };
  };

  storageConformance({
    name: 'zfs (zfs-fuse)',
    module: zfsModule,
    helpers: [dirModule, overlayModule],
    backend: 'zfs',
    cloneSource: 'zfs',
    setup: environment,
    // zfs-fuse only: OpenZFS keeps both. Without --enable-xattr zfs-fuse refuses xattrs;
    // with it, FUSE 2 hands POSIX ACLs to it as opaque xattrs, so `cp -a` setting a file's
    // ACL no longer sets its mode bits and every copy gets wrong modes.
    unsupported: {
      xattrs: 'zfs-fuse 0.7 refuses xattrs (ENOTSUP) unless started with --enable-xattr, which breaks mode bits under cp -a',
      acl: 'zfs-fuse 0.7 has no POSIX ACLs: FUSE 2 passes ACL xattrs through as opaque data',
    },
  });

  describe('zfs specifics', function () {
    let env: Awaited<ReturnType<typeof environment>> | undefined;
    let berth: Berth;
    let lxcpath: string;
    let root: string;

    const makeBerth = async (extra: Partial<Parameters<typeof createBerth>[0]> = {}) =>
      (
        await createBerth({
          modules: [zfsModule, dirModule, overlayModule],
          lxcpath,
          system: { ...LXC_DEFAULTS, lxcpath, zfsRoot: root, defaultConfig: join(lxcpath, '.none') },
          ...extra,
        })
      ).berth;

    beforeEach(async function () {
      env = await environment();
      lxcpath = env.lxcpath;
      root = env.zfsRoot;
      berth = await makeBerth();
    });

    afterEach(async function () {
      const current = env;
      env = undefined;
      await current?.teardown();
    });

    const get = async (name: string, property: string) => (await runner.run(['zfs', 'get', '-Hp', '-o', 'value', property, name], { readOnly: true })).stdout.trim();
    const list = async (type: 'filesystem' | 'snapshot') =>
      (await runner.run(['zfs', 'list', '-H', '-o', 'name', '-t', type, '-r', root], { readOnly: true })).stdout
        .split('\n')
        .filter((n) => n && n !== root);
    const copy = async (b: Berth, source: string, target: string, snapshot = true) => {
      const [outcome] = await b.copy({ source, targets: [target], snapshot });
      if (!outcome?.ok) throw outcome?.error ?? new Error('no outcome');
      return outcome.container;
    };
    const withMounted = async <T>(name: string, fn: (path: string) => Promise<T>): Promise<T> => {
      const path = `${lxcpath}.mnt-${name}`;
      await mkdir(path, { recursive: true });
      await berth.mount(name, path);
      try {
        return await fn(path);
      } finally {
        await berth.unmount(name, path);
      }
    };
    const volumeOf = (name: string) => ({ ...containerRef(lxcpath, name), rootfs: { type: 'zfs', source: `${root}/${name}` } });
    const expectCode = async (promise: Promise<unknown>, code: BerthError['code']): Promise<BerthError> => {
      try {
        await promise;
      } catch (error) {
        expect(BerthError.is(error, code), String(error)).to.equal(true);
        return error as BerthError;
      }
      throw new Error(`expected ${code}, but it succeeded`);
    };

    it('creates <zfsroot>/<name> with LXC\'s mountpoint and canmount=noauto, and a zfs: rootfs path', async () => {
      await berth.create({ name: 'c1', backend: 'zfs' });
      const dataset = `${root}/c1`;
      expect(await readFile(join(lxcpath, 'c1', 'config'), 'utf8')).to.include(`lxc.rootfs.path = zfs:${dataset}`);
      expect(await get(dataset, 'mountpoint')).to.equal(join(lxcpath, 'c1', 'rootfs'));
      expect(await get(dataset, 'canmount')).to.equal('noauto');
      expect(await get(dataset, 'mounted')).to.equal('no');
    });

    it('mounts one dataset at several places at once (a copy to many targets), and unmounts cleanly', async () => {
      await berth.create({ name: 'c1', backend: 'zfs' });
      await withMounted('c1', async (first) => {
        await writeFile(join(first, 'f'), 'x');
        const second = `${lxcpath}.second`;
        await mkdir(second);
        await berth.mount('c1', second);
        expect(await readFile(join(second, 'f'), 'utf8')).to.equal('x');
        await berth.unmount('c1', second);
        expect(await readFile(join(first, 'f'), 'utf8')).to.equal('x');
      });
      expect(await get(`${root}/c1`, 'mounted')).to.equal('no');
      expect(await get(`${root}/c1`, 'mountpoint')).to.equal(join(lxcpath, 'c1', 'rootfs'));
      expect(await mountpointsUnder(lxcpath)).to.deep.equal([]);
      const [b, d] = await berth.copy({ source: 'c1', targets: ['c2', 'c3'] });
      expect(b?.ok && d?.ok, String(b?.ok ? '' : b?.error) + String(d?.ok ? '' : d?.error)).to.equal(true);
      await withMounted('c3', async (path) => expect(await readFile(join(path, 'f'), 'utf8')).to.equal('x'));
    });

    it('two containers each snapshot-cloned twice: unique snapshot names, no collision', async () => {
      for (const source of ['a', 'b']) {
        await berth.create({ name: source, backend: 'zfs' });
        await withMounted(source, (path) => writeFile(join(path, 'who'), source));
      }
      for (const [source, target] of [['a', 'a1'], ['a', 'a2'], ['b', 'b1'], ['b', 'b2']] as const) {
        const clone = await copy(berth, source, target);
        expect(clone.dependsOn).to.deep.equal([source]);
        const origin = await get(`${root}/${target}`, 'origin');
        expect(origin).to.match(new RegExp(`^${root}/${source}@berth-${target}-[0-9a-f]{8}$`));
        await withMounted(target, async (path) => expect(await readFile(join(path, 'who'), 'utf8')).to.equal(source));
      }
      expect(await list('snapshot')).to.have.length(4);
      // Container snapshots of both: LXC would name both clones <zfsroot>/snap0.
      expect((await berth.snapshot('a')).name).to.equal('snap0');
      expect((await berth.snapshot('b')).name).to.equal('snap0');
      expect(await list('filesystem')).to.include.members([`${root}/a:snap0`, `${root}/b:snap0`]);
    });

    it('refuses to destroy an origin with live clones, naming them; destroying a clone removes its origin snapshot', async () => {
      await berth.create({ name: 'base', backend: 'zfs' });
      await copy(berth, 'base', 'k1');
      await copy(berth, 'base', 'k2');
      const error = await expectCode(berth.destroy('base'), 'FailedPrecondition');
      expect(error.message).to.include('k1').and.to.include('k2');
      expect(await list('filesystem')).to.include(`${root}/base`);
      await berth.destroy('k1');
      expect(await list('snapshot')).to.have.length(1);
      await expectCode(berth.destroy('base'), 'FailedPrecondition');
      await berth.destroy('k2');
      expect(await list('snapshot')).to.deep.equal([]);
      await berth.destroy('base');
      expect(await list('filesystem')).to.deep.equal([]);
    });

    it('restores an older snapshot while newer ones exist, in place and to a new name; nothing is left after', async () => {
      await berth.create({ name: 'c', backend: 'zfs' });
      for (const version of ['v0', 'v1', 'v2']) {
        await withMounted('c', (path) => writeFile(join(path, 'version'), version));
        await berth.snapshot('c');
      }
      await withMounted('c', (path) => writeFile(join(path, 'version'), 'v3'));
      await berth.restoreSnapshot('c', 'snap0');
      await withMounted('c', async (path) => expect(await readFile(join(path, 'version'), 'utf8')).to.equal('v0'));
      expect((await berth.listSnapshots('c')).map((s) => s.name)).to.deep.equal(['snap0', 'snap1', 'snap2']);
      expect(await readFile(join(lxcpath, 'c', 'config'), 'utf8')).to.include(`lxc.rootfs.path = zfs:${root}/c\n`);
      await berth.restoreSnapshot('c', 'snap1');
      await withMounted('c', async (path) => expect(await readFile(join(path, 'version'), 'utf8')).to.equal('v1'));
      await berth.restoreSnapshot('c', 'snap2', 'c2');
      await withMounted('c2', async (path) => expect(await readFile(join(path, 'version'), 'utf8')).to.equal('v2'));
      for (const snap of ['snap0', 'snap1', 'snap2']) {
        await withMounted('c', async () => undefined);
        expect(await berth.deleteSnapshot('c', snap)).to.deep.equal([snap]);
      }
      await withMounted('c2', async (path) => expect(await readFile(join(path, 'version'), 'utf8')).to.equal('v2'));
      await berth.destroy('c');
      await withMounted('c2', async (path) => expect(await readFile(join(path, 'version'), 'utf8')).to.equal('v2'));
      await berth.destroy('c2');
      expect(await list('filesystem')).to.deep.equal([]);
      expect(await list('snapshot')).to.deep.equal([]);
    });

    it('enforces a refquota inside the mounted rootfs; usage shows used/referenced; quota on request', async () => {
      await berth.create({ name: 'q', backend: 'zfs', options: { size: '16M' } });
      expect(await get(`${root}/q`, 'refquota')).to.equal(String(16 * 1024 * 1024));
      const info = await berth.info('q');
      expect(info.usage?.limitBytes).to.equal(16 * 1024 * 1024);
      expect(info.usage?.details).to.include.keys('used', 'referenced', 'available');
      const written = await withMounted('q', (path) =>
        runner.run(['dd', 'if=/dev/urandom', `of=${join(path, 'big')}`, 'bs=1M', 'count=64', 'conv=fsync'], { readOnly: true }).then(
          () => 'written',
          (error: unknown) => (error as BerthError).command?.stderr ?? String(error),
        ),
      );
      expect(written).to.match(/quota exceeded|no space/i);
      await withMounted('q', (path) => rm(join(path, 'big')));
      await copy(berth, 'q', 'q2');
      expect((await berth.info('q2')).usage?.limitBytes, 'a clone keeps its limit').to.equal(16 * 1024 * 1024);
      await berth.setQuota('q', 32 * 1024 * 1024);
      expect(await get(`${root}/q`, 'refquota')).to.equal(String(32 * 1024 * 1024));
      await berth.setQuota('q', null);
      expect(await get(`${root}/q`, 'refquota')).to.equal('0');
      await berth.create({ name: 'q3', backend: 'zfs', options: { size: '8M', quotaProperty: 'quota' } });
      expect(await get(`${root}/q3`, 'quota')).to.equal(String(8 * 1024 * 1024));
      expect(await get(`${root}/q3`, 'refquota')).to.equal('0');
    });

    it('an injected zfs clone failure fails the copy and leaves no stray snapshot or dataset', async () => {
      await berth.create({ name: 'base', backend: 'zfs' });
      const before = await listLxcpath(lxcpath);
      const failing = await makeBerth({ runner: new FailOnCommand(runner, ['zfs', 'clone']) });
      const [outcome] = await failing.copy({ source: 'base', targets: ['clone'], snapshot: true });
      expect(outcome?.ok).to.equal(false);
      expect(outcome && !outcome.ok && outcome.error.message).to.match(/injected clone failure/);
      expect(await list('snapshot')).to.deep.equal([]);
      expect(await list('filesystem')).to.deep.equal([`${root}/base`]);
      expect(await listLxcpath(lxcpath)).to.deep.equal(before);
    });

    it('a snapshot clone rewrites etc/hostname through editFileOffline (zfs mount at home), leaving nothing mounted', async () => {
      await berth.create({ name: 'base', backend: 'zfs' });
      await withMounted('base', async (path) => {
        await mkdir(join(path, 'etc'));
        await writeFile(join(path, 'etc', 'hostname'), 'base\n');
      });
      const counting = new CountingRunner(runner);
      const counted = await makeBerth({ runner: counting });
      const driver = counted.drivers.storageDriver('zfs') as ZfsDriver;
      let offline = 0;
      const original = driver.editFileOffline.bind(driver);
      driver.editFileOffline = async (...args) => {
        const done = await original(...args);
        if (done) offline++;
        return done;
      };
      await copy(counted, 'base', 'c1');
      expect(offline, 'editFileOffline did the edit').to.equal(1);
      const bindMounts = counting.commands.filter((c) => c[0] === 'mount' || c[0] === 'umount');
      expect(bindMounts, 'no bind mount').to.deep.equal([]);
      expect(counting.commands.filter((c) => c[0] === 'zfs' && c[1] === 'set' && c[2]?.startsWith('mountpoint=')), 'no mountpoint juggling').to.deep.equal([]);
      expect(await get(`${root}/c1`, 'mounted')).to.equal('no');
      expect(await get(`${root}/c1`, 'mountpoint')).to.equal(join(lxcpath, 'c1', 'rootfs'));
      expect(await mountpointsUnder(lxcpath)).to.deep.equal([]);
      await withMounted('c1', async (path) => expect(await readFile(join(path, 'etc', 'hostname'), 'utf8')).to.equal('c1\n'));
      await withMounted('base', async (path) => expect(await readFile(join(path, 'etc', 'hostname'), 'utf8')).to.equal('base\n'));
      // A symlinked etc/hostname is not followed out of the rootfs; a mounted dataset is left to the core.
      await withMounted('c1', async (path) => {
        await rm(join(path, 'etc', 'hostname'));
        await symlink(join(lxcpath, 'outside'), join(path, 'etc', 'hostname'));
      });
      await writeFile(join(lxcpath, 'outside'), 'c1\n');
      expect(await driver.editFileOffline(volumeOf('c1'), 'etc/hostname', () => 'changed\n')).to.equal(true);
      expect(await readFile(join(lxcpath, 'outside'), 'utf8')).to.equal('c1\n');
      await withMounted('c1', async () => {
        expect(await driver.editFileOffline(volumeOf('c1'), 'etc/hostname', () => 'changed\n')).to.equal(false);
      });
      expect(await mountpointsUnder(lxcpath)).to.deep.equal([]);
      expect(await get(`${root}/c1`, 'mounted')).to.equal('no');
    });

    it('refuses a clone onto a dataset berth did not make, leaving that dataset untouched', async () => {
      await berth.create({ name: 'base', backend: 'zfs' });
      const foreign = `${root}/c1`;
      await runner.run(['zfs', 'create', '-o', 'mountpoint=none', '-o', 'berth:test=foreign', foreign]);
      await runner.run(['zfs', 'snapshot', `${foreign}@keep`]);
      const before = await listLxcpath(lxcpath);
      const [outcome] = await berth.copy({ source: 'base', targets: ['c1'], snapshot: true });
      expect(outcome?.ok).to.equal(false);
      const error = outcome && !outcome.ok ? outcome.error : undefined;
      expect(BerthError.is(error, 'AlreadyExists'), String(error)).to.equal(true);
      expect(error?.message).to.equal(`ZFS dataset ${foreign} already exists; destroy it or choose another name`);
      expect(await get(foreign, 'berth:test')).to.equal('foreign');
      expect(await get(foreign, 'mountpoint')).to.equal('none');
      expect(await list('snapshot')).to.deep.equal([`${foreign}@keep`]);
      expect(await list('filesystem')).to.deep.equal([`${root}/base`, foreign]);
      expect(await listLxcpath(lxcpath)).to.deep.equal(before);
    });

    it('rolls back a clone killed while its dataset was mounted at home (zfs-fuse\'s clone mount, an offline edit)', async () => {
      await berth.create({ name: 'base', backend: 'zfs' });
      const before = await listLxcpath(lxcpath);
      // The process "dies" at the 1st `zfs unmount` (of zfs-fuse's mount of the new clone)
      // or the 2nd (the offline edit's): the dataset is mounted at home, the journal keeps
      // the undo, and a new instance's recovery must remove everything.
      for (const nth of [1, 2]) {
        const dying = await makeBerth({ runner: new FailOnCommand(runner, ['zfs', 'unmount'], { kill: true, nth }) });
        const [outcome] = await dying.copy({ source: 'base', targets: ['c1'], snapshot: true });
        expect(outcome?.ok, `killed at zfs unmount #${nth}`).to.equal(false);
        expect(await get(`${root}/c1`, 'mounted')).to.equal('yes');
        expect(await mountpointsUnder(lxcpath)).to.deep.equal([join(lxcpath, 'c1', 'rootfs')]);
        const report = await (await makeBerth()).recover();
        expect(report.failed, JSON.stringify(report.failed)).to.deep.equal([]);
        expect(await list('filesystem')).to.deep.equal([`${root}/base`]);
        expect(await list('snapshot')).to.deep.equal([]);
        expect(await mountpointsUnder(lxcpath)).to.deep.equal([]);
        expect(await listLxcpath(lxcpath)).to.deep.equal(before);
      }
    });

    it('the driver\'s destroy (the undo of a create or clone) unmounts a dataset mounted only at its own mountpoint, as zfs destroy would', async () => {
      await berth.create({ name: 'c1', backend: 'zfs' });
      const driver = berth.drivers.storageDriver('zfs') as ZfsDriver;
      const mountpoint = `${lxcpath}.bind`;
      await mkdir(mountpoint);
      await berth.mount('c1', mountpoint);
      try {
        await expectCode(driver.destroy(volumeOf('c1')), 'InUse');
      } finally {
        await berth.unmount('c1', mountpoint);
      }
      await runner.run(['zfs', 'mount', `${root}/c1`]);
      expect(await get(`${root}/c1`, 'mounted')).to.equal('yes');
      await driver.destroy(volumeOf('c1'));
      await driver.destroy(volumeOf('c1'));
      expect(await list('filesystem')).to.deep.equal([]);
      expect(await mountpointsUnder(lxcpath)).to.deep.equal([]);
    });

    it('detects an unprefixed dataset path, as older LXC configs have', async () => {
      await berth.create({ name: 'c1', backend: 'zfs' });
      const config = join(lxcpath, 'c1', 'config');
      await writeFile(config, (await readFile(config, 'utf8')).replace(`zfs:${root}/c1`, `${root}/c1`));
      expect((await berth.info('c1')).backend).to.equal('zfs');
      await berth.destroy('c1');
      expect(await list('filesystem')).to.deep.equal([]);
    });

    it('says clearly: no such pool, zfs tools missing, dataset busy', async () => {
      const error = await expectCode(berth.create({ name: 'c1', backend: 'zfs', options: { zfsroot: 'nosuchpool/lxc' } }), 'NotFound');
      expect(error.message).to.match(/no such ZFS pool nosuchpool/);
      expect(await berth.exists('c1')).to.equal(false);

      const driver = new ZfsDriver(new NoZfsRunner(), undefined as never, undefined as never, undefined as never);
      const availability = await driver.probe();
      expect(availability.available).to.equal(false);
      expect(!availability.available && availability.reason).to.match(/zfs tools are missing/);

      await berth.create({ name: 'c1', backend: 'zfs' });
      const mountpoint = `${lxcpath}.busy`;
      await mkdir(mountpoint);
      await berth.mount('c1', mountpoint);
      try {
        const busy = await expectCode(berth.destroy('c1'), 'InUse');
        expect(busy.message).to.match(/busy/);
      } finally {
        await berth.unmount('c1', mountpoint);
      }
      await berth.destroy('c1');
    });

    describe('interop with LXC\'s layout', function () {
      before(async function () {
        if (!(await runner.which('lxc-ls'))) throw new Error('lxc is not installed: run scripts/setup.sh');
      });

      it('lxc-ls -P lists berth\'s zfs containers and lxc-snapshot -L their snapshots', async () => {
        await berth.create({ name: 'z1', backend: 'zfs' });
        await copy(berth, 'z1', 'z2');
        await berth.snapshot('z1', { comment: 'first' });
        await berth.snapshot('z1');
        const listed = await runner.run(['lxc-ls', '-P', lxcpath, '-1'], { readOnly: true });
        expect(listed.stdout.split('\n').filter(Boolean)).to.deep.equal(['z1', 'z2']);
        const snaps = await runner.run(['lxc-snapshot', '-P', lxcpath, '-n', 'z1', '-L'], { readOnly: true });
        expect(snaps.stdout).to.match(new RegExp(`^snap0 \\(${join(lxcpath, 'z1', 'snaps')}\\) \\d{4}:\\d\\d:\\d\\d \\d\\d:\\d\\d:\\d\\d$`, 'm'));
        expect(snaps.stdout).to.match(/^snap1 /m);
        expect(await readFile(join(lxcpath, 'z1', 'snaps', 'snap0', 'config'), 'utf8')).to.include(`lxc.rootfs.path = zfs:${root}/z1:snap0`);
      });
    });
  });
});

/**
 * A real runner that fails one command (by its first words), as a broken `zfs clone`
 * would; with `kill`, it then fails every command, as a dead process runs none (the
 * journal is left for recovery: its undo commands fail too).
 */
class FailOnCommand implements CommandRunner {
  readonly dryRun = false;
  private dead = false;
  constructor(
    private readonly real: CommandRunner,
    private readonly prefix: readonly string[],
    private readonly options: { kill?: boolean; nth?: number } = {},
  ) {}
  private seen = 0;

  async run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    if (this.dead) throw commandFailed(argv, 1, `killed before ${formatArgv(argv)}`, false);
    if (this.prefix.every((word, i) => argv[i] === word) && ++this.seen >= (this.options.nth ?? 1)) {
      if (this.options.kill) this.dead = true;
      throw commandFailed(argv, 1, `injected clone failure of ${formatArgv(argv)}`, false);
    }
    return this.real.run(argv, options);
  }

  which(tool: string): Promise<string | undefined> {
    return this.real.which(tool);
  }
}

/** A real runner that records every command it runs. */
class CountingRunner implements CommandRunner {
  readonly dryRun = false;
  readonly commands: (readonly string[])[] = [];
  constructor(private readonly real: CommandRunner) {}

  async run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    this.commands.push(argv);
    return this.real.run(argv, options);
  }

  which(tool: string): Promise<string | undefined> {
    return this.real.which(tool);
  }
}

/** A host without the zfs tools. */
class NoZfsRunner implements CommandRunner {
  readonly dryRun = false;
  async run(argv: readonly string[]): Promise<RunResult> {
    throw commandFailed(argv, undefined, 'not found', false);
  }
  async which(): Promise<string | undefined> {
    return undefined;
  }
}

