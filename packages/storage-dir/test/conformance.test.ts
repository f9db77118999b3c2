import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { ExecaRunner, LXC_DEFAULTS, createBerth, type Berth } from '@berth/core';
import { kernelHasFilesystem, makeLoopFilesystem, makeTemporaryLxcpath, skipBecause, storageConformance, type LoopFilesystem, type TemporaryLxcpath } from '@berth/conformance';
import { dirModule } from '@berth/storage-dir';

storageConformance({
  name: 'dir',
  module: dirModule,
  backend: 'dir',
  setup: () => makeTemporaryLxcpath(),
});

/** The cases where the lxcpath's filesystem matters, on a real btrfs loop filesystem. */
describe('dir on btrfs', function () {
  this.timeout(300_000);
  const runner = new ExecaRunner();
  let testbed: LoopFilesystem | undefined;
  let mountpoint: string | undefined;

  before(async function () {
    if (process.getuid?.() !== 0) skipBecause(this, 'loop devices and mounts need root');
    if (!(await kernelHasFilesystem('btrfs', runner))) skipBecause(this, 'the kernel has no btrfs');
    testbed = await makeLoopFilesystem({ fstype: 'btrfs', size: '1G', runner });
    mountpoint = testbed.mountpoint;
  });

  after(async function () {
    const current = testbed;
    testbed = mountpoint = undefined;
    await current?.teardown();
  });

  storageConformance({
    name: 'dir (lxcpath on btrfs)',
    module: dirModule,
    backend: 'dir',
    setup: () => makeTemporaryLxcpath(mountpoint),
  });

  describe('reflinks', function () {
    let temporary: TemporaryLxcpath | undefined;
    let berth: Berth;

    beforeEach(async function () {
      temporary = await makeTemporaryLxcpath(mountpoint);
      const lxcpath = temporary.lxcpath;
      berth = (await createBerth({ modules: [dirModule], lxcpath, system: { ...LXC_DEFAULTS, lxcpath, defaultConfig: join(lxcpath, '.none') } })).berth;
    });

    afterEach(async function () {
      const current = temporary;
      temporary = undefined;
      if (!current) return;
      await rm(`${current.lxcpath}.source`, { recursive: true, force: true });
      await current.teardown();
    });

    /** `btrfs filesystem du --raw`: total and exclusive bytes of one file. */
    const du = async (path: string): Promise<{ total: number; exclusive: number }> => {
      await runner.run(['btrfs', 'filesystem', 'sync', mountpoint!]);
      const { stdout } = await runner.run(['btrfs', 'filesystem', 'du', '--raw', path], { readOnly: true });
      const row = stdout.trim().split('\n').at(-1)!.trim().split(/\s+/);
      return { total: Number(row[0]), exclusive: Number(row[1]) };
    };

    it('copies by reflink when the lxcpath is on btrfs: the copy shares every extent', async function () {
      const source = `${temporary!.lxcpath}.source`;
      await mkdir(source);
      await writeFile(join(source, 'blob'), randomBytes(8 * 1024 * 1024));
      await berth.create({ name: 'c1', source: { kind: 'directory', path: source } });
      const [outcome] = await berth.copy({ source: 'c1', targets: ['c2'] });
      expect(outcome?.ok, outcome && !outcome.ok ? outcome.error.message : '').to.equal(true);
      const copied = await du(join(temporary!.lxcpath, 'c2', 'rootfs', 'blob'));
      expect(copied.total).to.equal(8 * 1024 * 1024);
      expect(copied.exclusive, 'bytes of the copy not shared with the source').to.equal(0);
      const { stdout } = await runner.run(['filefrag', '-v', join(temporary!.lxcpath, 'c2', 'rootfs', 'blob')], { readOnly: true });
      expect(stdout).to.include('shared');
      expect(await readFile(join(temporary!.lxcpath, 'c2', 'rootfs', 'blob'))).to.deep.equal(await readFile(join(source, 'blob')));
    });
  });
});
