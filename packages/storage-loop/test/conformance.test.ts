import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { BerthError, ExecaRunner, LXC_DEFAULTS, createBerth, type Berth, type StorageOptions } from '@berth/core';
import {
  Lxcpath,
  kernelHasFilesystem,
  makeLoopFilesystem,
  makeTemporaryLxcpath,
  ok,
  skipBecause,
  storageConformance,
  type ConformanceEnvironment,
  type LoopFilesystem,
  type TemporaryLxcpath,
  berthBinary,
  ensureBerthBinary,
} from '@berth/conformance';
import { dirModule } from '@berth/storage-dir';
import { loopCli, loopModule } from '@berth/storage-loop';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const BERTH_BIN = berthBinary(REPO_ROOT);
const MiB = 1024 * 1024;
const runner = new ExecaRunner();
/** Online ext4 growth needs CAP_SYS_RESOURCE, which some machines (this VM) withhold from root. */
const canResizeOnline = (() => {
  const effective = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 'ffffffff';
  return ((BigInt(`0x${effective}`) >> 24n) & 1n) === 1n;
})();

/** Loop devices backed by files under `root`, and mounts at or under it: what a test must never leave. */
async function leftovers(root: string): Promise<string[]> {
  const prefix = `${root}/`;
  const devices = (await loopCli.allDevices(runner)).filter((d) => d.backFile.startsWith(prefix)).map((d) => `loop device ${d.name} on ${d.backFile}`);
  const mounts = (await readFile('/proc/mounts', 'utf8'))
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((mountpoint) => mountpoint === root || mountpoint.startsWith(prefix) || mountpoint.startsWith(`${root}.scratch/`))
    .map((mountpoint) => `mount ${mountpoint}`);
  return [...devices, ...mounts];
}

/** Detaches what a failed test left (after its mounts went), so one failure does not leak into the next. */
async function detachUnder(root: string): Promise<void> {
  for (const device of (await loopCli.allDevices(runner)).filter((d) => d.backFile.startsWith(`${root}/`))) {
    await runner.run(['losetup', '--detach', device.name]).catch(() => undefined);
  }
}

describe('storage-loop', function () {
  this.timeout(600_000);
  /** Leftovers seen when each test's environment was torn down; afterEach fails the test on any. */
  const leaked: string[] = [];
  const testbeds: { xfs?: LoopFilesystem; btrfs?: LoopFilesystem } = {};

  before(async function () {
    if (process.getuid?.() !== 0) skipBecause(this, 'loop devices and mounts need root');
    // Hosts of each kind: the images of the xfs and btrfs runs live on a reflink-capable
    // filesystem (copies are reflink clones), the ext4 run's on /tmp (ext4: sparse copies).
    if (await kernelHasFilesystem('xfs', runner)) testbeds.xfs = await makeLoopFilesystem({ fstype: 'xfs', size: '2G', runner });
    if (await kernelHasFilesystem('btrfs', runner)) testbeds.btrfs = await makeLoopFilesystem({ fstype: 'btrfs', size: '2G', runner });
  });

  after(async function () {
    for (const key of ['xfs', 'btrfs'] as const) {
      const testbed = testbeds[key];
      delete testbeds[key];
      await testbed?.teardown();
    }
  });

  afterEach(function () {
    const found = leaked.splice(0);
    expect(found, 'loop devices or mounts left behind').to.deep.equal([]);
  });

  const environment = (parent: () => string | undefined, options: StorageOptions) => async (): Promise<ConformanceEnvironment> => {
    const temporary = await makeTemporaryLxcpath(parent(), 'berth-loop-');
    return {
      lxcpath: temporary.lxcpath,
      options,
      async teardown() {
        leaked.push(...(await leftovers(temporary.lxcpath)));
        await temporary.teardown();
        await detachUnder(temporary.lxcpath);
      },
    };
  };

  storageConformance({
    name: 'loop (ext4 images on an ext4 host: sparse copies)',
    module: loopModule,
    helpers: [dirModule],
    backend: 'loop',
    cloneSource: 'loop',
    setup: environment(() => undefined, { fssize: '64M', fstype: 'ext4' }),
  });

  storageConformance({
    name: 'loop (xfs images on an xfs host: reflink copies)',
    module: loopModule,
    helpers: [dirModule],
    backend: 'loop',
    cloneSource: 'loop',
    setup: environment(() => testbeds.xfs?.mountpoint, { fssize: '64M', fstype: 'xfs' }),
  });

  storageConformance({
    name: 'loop (btrfs images on a btrfs host: reflink copies)',
    module: loopModule,
    helpers: [dirModule],
    backend: 'loop',
    cloneSource: 'loop',
    setup: environment(() => testbeds.btrfs?.mountpoint, { fssize: '64M', fstype: 'btrfs' }),
  });

  describe('loop specifics', function () {
    let temporary: TemporaryLxcpath | undefined;
    let berth: Berth;
    let lxcpath: string;

    const useLxcpath = async (parent?: string) => {
      temporary = await makeTemporaryLxcpath(parent, 'berth-loop-');
      lxcpath = temporary.lxcpath;
      berth = (
        await createBerth({
          modules: [loopModule, dirModule],
          lxcpath,
          system: { ...LXC_DEFAULTS, lxcpath, defaultConfig: join(lxcpath, '.none') },
        })
      ).berth;
    };

    beforeEach(() => useLxcpath());

    afterEach(async function () {
      const current = temporary;
      temporary = undefined;
      if (!current) return;
      leaked.push(...(await leftovers(current.lxcpath)));
      await current.teardown();
      await detachUnder(current.lxcpath);
    });

    const image = (name: string) => join(lxcpath, name, 'rootdev');
    const blkid = async (name: string, tag: 'TYPE' | 'UUID') => loopCli.probeTag(runner, image(name), tag);
    const copyOne = async (source: string, target: string, options: StorageOptions = {}, backend?: string) => {
      const [outcome] = await berth.copy({ source, targets: [target], options, ...(backend ? { backend } : {}) });
      if (!outcome?.ok) throw outcome?.error ?? new Error('no outcome');
    };
    const expectCode = async (promise: Promise<unknown>, code: BerthError['code'], pattern: RegExp) => {
      const error = await promise.then(
        () => expect.fail(`expected ${code}`),
        (e: unknown) => e,
      );
      expect(BerthError.is(error, code), String(error)).to.equal(true);
      expect((error as Error).message).to.match(pattern);
    };
    /** Mounts each named container at once on mountpoints of its own, runs fn, unmounts. */
    const withAllMounted = async (names: string[], fn: (paths: string[]) => Promise<unknown>) => {
      const mounted: [string, string][] = [];
      try {
        for (const name of names) {
          const mountpoint = join(`${lxcpath}.scratch`, name);
          await mkdir(mountpoint, { recursive: true });
          await berth.mount(name, mountpoint);
          mounted.push([name, mountpoint]);
        }
        await fn(mounted.map(([, m]) => m));
      } finally {
        for (const [name, mountpoint] of mounted.reverse()) await berth.unmount(name, mountpoint);
        await runner.run(['rm', '-rf', `${lxcpath}.scratch`]);
      }
    };

    it('creates a sparse 0600 rootdev of 1 GiB ext4 by default, a loop: rootfs path and an empty rootfs mountpoint', async () => {
      await berth.create({ name: 'c1', backend: 'loop' });
      const info = await stat(image('c1'));
      expect(info.mode & 0o777).to.equal(0o600);
      expect(info.size).to.equal(1024 * MiB);
      expect(info.blocks * 512, 'sparse').to.be.below(128 * MiB);
      expect(await blkid('c1', 'TYPE')).to.equal('ext4');
      expect(await readFile(join(lxcpath, 'c1', 'config'), 'utf8')).to.include(`lxc.rootfs.path = loop:${image('c1')}\n`);
      expect((await stat(join(lxcpath, 'c1', 'rootfs'))).isDirectory()).to.equal(true);
    });

    it('takes --fssize (a bare number is MiB) and --fstype, and refuses disagreeing --size and --fssize', async () => {
      await berth.create({ name: 'c1', backend: 'loop', options: { fssize: '80', fstype: 'xfs' } });
      expect((await stat(image('c1'))).size).to.equal(80 * MiB);
      expect(await blkid('c1', 'TYPE')).to.equal('xfs');
      await berth.create({ name: 'c2', backend: 'loop', options: { size: '136M', fstype: 'btrfs' } });
      expect((await stat(image('c2'))).size).to.equal(136 * MiB);
      await expectCode(berth.create({ name: 'c3', backend: 'loop', options: { size: '72M', fssize: '64M' } }), 'InvalidArgument', /disagree/);
      await expectCode(berth.create({ name: 'c3', backend: 'loop', options: { fstype: 'vfat' } }), 'InvalidArgument', /fstype/);
      expect(await berth.exists('c3')).to.equal(false);
    });

    for (const fstype of ['xfs', 'btrfs', 'ext4'] as const) {
      it(`a copy of a 64 MiB ${fstype} container is a 64 MiB ${fstype} container with a new UUID; both mount at once`, async () => {
        await berth.create({ name: 'c1', backend: 'loop', options: { fssize: '64M', fstype } });
        await withAllMounted(['c1'], async ([path]) => writeFile(join(path!, 'marker'), 'from c1\n'));
        await copyOne('c1', 'c2');
        expect((await stat(image('c2'))).size).to.equal((await stat(image('c1'))).size);
        expect(await blkid('c2', 'TYPE')).to.equal(fstype);
        expect(await blkid('c2', 'UUID')).to.not.equal(await blkid('c1', 'UUID'));
        expect((await stat(image('c2'))).mode & 0o777).to.equal(0o600);
        await withAllMounted(['c1', 'c2'], async ([one, two]) => {
          expect(await readFile(join(two!, 'marker'), 'utf8')).to.equal('from c1\n');
          await writeFile(join(two!, 'marker'), 'from c2\n');
          expect(await readFile(join(one!, 'marker'), 'utf8')).to.equal('from c1\n');
        });
      });
    }

    it('a copy can change the filesystem (a file copy into a new image) and grow, never shrink in place', async () => {
      await berth.create({ name: 'c1', backend: 'loop', options: { fssize: '64M' } });
      await withAllMounted(['c1'], async ([path]) => writeFile(join(path!, 'marker'), 'x'));
      await copyOne('c1', 'as-xfs', { fstype: 'xfs' });
      expect(await blkid('as-xfs', 'TYPE')).to.equal('xfs');
      expect((await stat(image('as-xfs'))).size).to.equal(64 * MiB);
      await copyOne('c1', 'bigger', { size: '96M' });
      expect((await stat(image('bigger'))).size).to.equal(96 * MiB);
      expect((await berth.info('bigger')).usage?.details?.filesystemSize).to.be.above(90 * MiB);
      await withAllMounted(['as-xfs', 'bigger'], async ([a, b]) => {
        expect(await readFile(join(a!, 'marker'), 'utf8')).to.equal('x');
        expect(await readFile(join(b!, 'marker'), 'utf8')).to.equal('x');
      });
    });

    it('a copy from another backend mounts the new image once, and renames the hostname while it is mounted', async () => {
      const source = `${lxcpath}.src`;
      await mkdir(join(source, 'etc'), { recursive: true });
      await writeFile(join(source, 'etc', 'hostname'), 'd\n');
      try {
        await berth.create({ name: 'd', backend: 'dir', source: { kind: 'directory', path: source } });
        const counted = await createBerth({ modules: [loopModule, dirModule], lxcpath, system: { ...LXC_DEFAULTS, lxcpath, defaultConfig: join(lxcpath, '.none') } });
        const mounts: string[] = [];
        counted.events.on('command:started', ({ argv }) => {
          if (argv[0] === 'mount') mounts.push(argv.join(' '));
        });
        const [outcome] = await counted.berth.copy({ source: 'd', targets: ['l'], backend: 'loop', options: { fssize: '64M' } });
        expect(outcome?.ok, outcome && !outcome.ok ? outcome.error.message : '').to.equal(true);
        expect(mounts, 'one mount of the new image: the copy and the hostname share it').to.have.length(1);
        await withAllMounted(['l'], async ([path]) => expect(await readFile(join(path!, 'etc', 'hostname'), 'utf8')).to.equal('l\n'));
      } finally {
        await runner.run(['rm', '-rf', source]);
      }
    });

    it('a copy from a dir container into loop is a 1 GiB ext4 image unless told otherwise', async () => {
      const source = `${lxcpath}.src`;
      await mkdir(source);
      await writeFile(join(source, 'hello'), 'world');
      try {
        await berth.create({ name: 'd', backend: 'dir', source: { kind: 'directory', path: source } });
        await copyOne('d', 'l', { fssize: '64M' }, 'loop');
        expect((await stat(image('l'))).size).to.equal(64 * MiB);
        await withAllMounted(['l'], async ([path]) => expect(await readFile(join(path!, 'hello'), 'utf8')).to.equal('world'));
      } finally {
        await runner.run(['rm', '-rf', source]);
      }
    });

    it('container snapshots stay loop images of the same size, and a restore keeps it (LXC grows to 1 GiB)', async () => {
      await berth.create({ name: 'c1', backend: 'loop', options: { fssize: '64M', fstype: 'xfs' } });
      await berth.snapshot('c1');
      const snapImage = join(lxcpath, 'c1', 'snaps', 'snap0', 'rootdev');
      expect((await stat(snapImage)).size).to.equal(64 * MiB);
      expect(await readFile(join(lxcpath, 'c1', 'snaps', 'snap0', 'config'), 'utf8')).to.include(`lxc.rootfs.path = loop:${snapImage}`);
      await berth.restoreSnapshot('c1', 'snap0');
      expect((await stat(image('c1'))).size).to.equal(64 * MiB);
      expect(await blkid('c1', 'TYPE')).to.equal('xfs');
      await berth.restoreSnapshot('c1', 'snap0', 'c2');
      expect((await stat(image('c2'))).size).to.equal(64 * MiB);
    });

    for (const fstype of ['ext4', 'xfs', 'btrfs'] as const) {
      it(`grows a ${fstype} image and its filesystem with setQuota, offline and while mounted`, async () => {
        await berth.create({ name: 'c1', backend: 'loop', options: { fssize: '128M', fstype } });
        await withAllMounted(['c1'], async ([path]) => writeFile(join(path!, 'marker'), 'kept'));
        const before = await berth.info('c1');
        // btrfs: the kernel resizes to 256 MiB at the least.
        const first = fstype === 'btrfs' ? 320 * MiB : 192 * MiB;
        const second = first + 64 * MiB;
        if (fstype === 'btrfs') await expectCode(berth.setQuota('c1', 192 * MiB), 'InvalidArgument', /256 MiB or more/);
        const info = await berth.setQuota('c1', first);
        expect((await stat(image('c1'))).size).to.equal(first);
        expect(info.usage?.limitBytes).to.equal(first);
        expect(info.usage?.details?.filesystemSize).to.be.above(Number(before.usage?.details?.filesystemSize) + 48 * MiB);
        await withAllMounted(['c1'], async ([path]) => {
          // Online: the image is attached and mounted here, the filesystem grows in place.
          if (fstype === 'ext4' && !canResizeOnline) {
            // This machine withholds CAP_SYS_RESOURCE, which the ext4 resize ioctl needs.
            await expectCode(berth.setQuota('c1', second), 'FailedPrecondition', /CAP_SYS_RESOURCE/);
            expect((await stat(image('c1'))).size, 'a refused grow changes nothing').to.equal(first);
            return;
          }
          await berth.setQuota('c1', second);
          expect(await readFile(join(path!, 'marker'), 'utf8')).to.equal('kept');
          const mounted = await berth.info('c1');
          expect(mounted.usage?.details?.source).to.match(/^statfs/);
          expect(mounted.usage?.details?.filesystemSize).to.be.above(second - 32 * MiB);
        });
        expect((await stat(image('c1'))).size).to.equal(fstype === 'ext4' && !canResizeOnline ? first : second);
      });
    }

    it('refuses to shrink an image, or to remove its size, with a clear error, changing nothing', async () => {
      await berth.create({ name: 'c1', backend: 'loop', options: { fssize: '64M' } });
      await expectCode(berth.setQuota('c1', 32 * MiB), 'FailedPrecondition', /cannot shrink c1 from 64 MiB to 32 MiB: loop images only grow/);
      await expectCode(berth.setQuota('c1', null), 'InvalidArgument', /fixed size/);
      expect((await stat(image('c1'))).size).to.equal(64 * MiB);
    });

    it('info shows the apparent and allocated size and the free space', async () => {
      await berth.create({ name: 'c1', backend: 'loop', options: { fssize: '64M' } });
      await withAllMounted(['c1'], async ([path]) => runner.run(['dd', 'if=/dev/urandom', `of=${join(path!, 'data')}`, 'bs=1M', 'count=8', 'status=none']));
      const usage = (await berth.info('c1')).usage!;
      expect(usage.details?.apparent).to.equal(64 * MiB);
      expect(usage.details?.allocated).to.be.above(8 * MiB).and.below(40 * MiB);
      expect(usage.freeBytes).to.be.above(20 * MiB).and.below(56 * MiB);
      expect(usage.usedBytes).to.be.above(8 * MiB);
      expect(usage.details?.source).to.equal('superblock');
    });

    it('detects an unprefixed rootdev path as loop, and refuses to destroy a mounted image', async () => {
      await berth.create({ name: 'c1', backend: 'loop', options: { fssize: '64M' } });
      const configPath = join(lxcpath, 'c1', 'config');
      await writeFile(configPath, (await readFile(configPath, 'utf8')).replace(`loop:${image('c1')}`, image('c1')));
      expect((await berth.info('c1')).backend).to.equal('loop');
      await withAllMounted(['c1'], async () => {
        await expectCode(berth.destroy('c1'), 'InUse', /mounted/);
      });
      await berth.destroy('c1');
      expect(existsSync(join(lxcpath, 'c1'))).to.equal(false);
    });

    it('copies reflink the image on an xfs host: the copy takes no new space', async function () {
      if (!testbeds.xfs) skipBecause(this, 'no xfs testbed');
      await temporary!.teardown();
      await useLxcpath(testbeds.xfs!.mountpoint);
      await berth.create({ name: 'c1', backend: 'loop', options: { fssize: '256M', fstype: 'ext4' } });
      await withAllMounted(['c1'], async ([path]) => runner.run(['dd', 'if=/dev/urandom', `of=${join(path!, 'data')}`, 'bs=1M', 'count=64', 'status=none']));
      const free = async () => (await runner.run(['df', '--output=used', '-B1', testbeds.xfs!.mountpoint])).stdout.split('\n')[1]!.trim();
      await runner.run(['sync']);
      const before = Number(await free());
      await copyOne('c1', 'c2');
      await runner.run(['sync']);
      expect(Number(await free()) - before, 'bytes the copy added on the host').to.be.below(16 * MiB);
    });
  });

  describe('interop with real LXC', function () {
    let lx: Lxcpath | undefined;

    before(async function () {
      if (process.getuid?.() !== 0) skipBecause(this, 'LXC needs root');
      await ensureBerthBinary(REPO_ROOT);
      lx = await Lxcpath.make(BERTH_BIN);
      await ok(lx.lxc('create', 'base', '-t', 'busybox', '-f', lx.createConfig));
    });

    after(async function () {
      const current = lx;
      lx = undefined;
      if (!current) return;
      await current.remove();
      leaked.push(...(await leftovers(current.root)));
      await detachUnder(current.root);
    });

    it('lxc-start boots a berth loop container made from lxc-create -t busybox content; LXC mounts the image itself', async function () {
      await ok(lx!.berth('copy', '-B', 'loop', '--fssize', '256M', 'base', 'c1'));
      expect(await lx!.config('c1')).to.include(`lxc.rootfs.path = loop:${lx!.path}/c1/rootdev`);
      await lx!.start('c1');
      try {
        expect((await ok(lx!.lxc('attach', 'c1', '--', 'hostname'))).stdout.trim()).to.equal('c1');
        const devices = await loopCli.associatedDevices(runner, join(lx!.path, 'c1', 'rootdev'));
        expect(devices.length, 'LXC attached the image').to.equal(1);
        const mounts = (await ok(lx!.lxc('attach', 'c1', '--', 'cat', '/proc/mounts'))).stdout;
        expect(mounts).to.match(new RegExp(`^${devices[0]!.name} / ext4 `, 'm'));
      } finally {
        await ok(lx!.lxc('stop', 'c1', '-k'));
      }
      expect(await loopCli.associatedDevices(runner, join(lx!.path, 'c1', 'rootdev')), 'LXC detached the image (autoclear)').to.deep.equal([]);
    });

    it('a berth copy of the loop container boots too, with its size, and berth snapshots of it list in lxc-snapshot -L', async function () {
      await ok(lx!.berth('copy', 'c1', 'c2'));
      expect((await stat(join(lx!.path, 'c2', 'rootdev'))).size).to.equal(256 * MiB);
      await lx!.start('c2');
      try {
        expect((await ok(lx!.lxc('attach', 'c2', '--', 'hostname'))).stdout.trim()).to.equal('c2');
      } finally {
        await ok(lx!.lxc('stop', 'c2', '-k'));
      }
      await ok(lx!.berth('snapshot', 'c2'));
      expect((await ok(lx!.lxc('snapshot', 'c2', '-L'))).stdout).to.match(/^snap0 \(.*\/c2\/snaps\) /m);
      expect((await stat(join(lx!.path, 'c2', 'snaps', 'snap0', 'rootdev'))).size).to.equal(256 * MiB);
    });

    it('berth copies an lxc-create -B loop container, keeping its size (lxc-copy would make 1 GiB)', async function () {
      await ok(lx!.lxc('create', 'lxcloop', '-B', 'loop', '--fssize', '200M', '-t', 'busybox', '-f', lx!.createConfig));
      await ok(lx!.berth('copy', 'lxcloop', 'c3'));
      const size = (await stat(join(lx!.path, 'lxcloop', 'rootdev'))).size;
      expect(Math.floor((await stat(join(lx!.path, 'c3', 'rootdev'))).size / 512)).to.equal(Math.floor(size / 512));
      await lx!.start('c3');
      try {
        expect((await ok(lx!.lxc('attach', 'c3', '--', 'hostname'))).stdout.trim()).to.equal('c3');
      } finally {
        await ok(lx!.lxc('stop', 'c3', '-k'));
      }
    });
  });
});
