import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, stat, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { BerthError, ExecaRunner, LXC_DEFAULTS, createBerth, describeError, type Berth, type CommandRunner, type StorageOptions } from '@berth/core';
import { FailingRunner } from '@berth/core/testing';
import { makeTemporaryLxcpath, skipBecause, storageConformance, type ConformanceEnvironment, type TemporaryLxcpath } from '@berth/conformance';
import { dirModule } from '@berth/storage-dir';
import { lvmCli, lvmModule } from '@berth/storage-lvm';

/**
 * The LVM driver against real LVM thin provisioning. It needs device-mapper, which
 * these machines' kernel lacks: `pnpm test:lvm` (test/vm/) boots a VM that has it, with
 * a volume group `lxc` and a thin pool `lxc` on a loop device, and runs this file there.
 * BERTH_LVM_TEST_VG / BERTH_LVM_TEST_THINPOOL name another VG and pool.
 */
const VG = process.env.BERTH_LVM_TEST_VG ?? 'lxc';
const POOL = process.env.BERTH_LVM_TEST_THINPOOL ?? 'lxc';
const runner = new ExecaRunner();
const MiB = 1024 * 1024;

/** Why the LVM tests cannot run here, or undefined when they can. */
async function unavailableReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'LVM needs root';
  if (!existsSync('/dev/mapper/control')) return 'no device-mapper on this kernel (/dev/mapper/control is missing); run them in the VM: pnpm test:lvm';
  if (!(await runner.which('lvs'))) return 'lvm2 is not installed';
  const pool = await lvmCli.lvInfo(runner, VG, POOL).catch(() => undefined);
  if (!pool?.attr.startsWith('t')) return `no thin pool ${VG}/${POOL} (pnpm test:lvm makes one in its VM)`;
  return undefined;
}

/** LVs of the test VG other than the pool (and LVM's hidden ones). */
async function testLvs(): Promise<string[]> {
  return (await lvmCli.listLvs(runner, VG)).map((lv) => lv.name).filter((name) => name !== POOL && !name.startsWith('['));
}

/** Removes the LVs that appeared since `before` (classic snapshots first: lvremove of an origin takes them along anyway). */
async function removeNewLvs(before: readonly string[]): Promise<string[]> {
  const rows = (await lvmCli.listLvs(runner, VG)).filter((lv) => lv.name !== POOL && !before.includes(lv.name) && !lv.name.startsWith('['));
  rows.sort((a, b) => (a.attr[0] === 's' ? -1 : 0) - (b.attr[0] === 's' ? -1 : 0));
  for (const lv of rows) await runner.run(['lvremove', '--force', `${VG}/${lv.name}`], { okExitCodes: [5] });
  return rows.map((lv) => lv.name);
}

describe('storage-lvm', function () {
  this.timeout(900_000);
  let reason: string | undefined;

  before(async function () {
    reason = await unavailableReason();
  });

  const environment = (options: StorageOptions) => async (): Promise<ConformanceEnvironment> => {
    const temporary = await makeTemporaryLxcpath(undefined, 'berth-lvm-');
    const before = reason ? [] : await testLvs();
    return {
      lxcpath: temporary.lxcpath,
      options,
      system: { lvmVg: VG, lvmThinPool: POOL },
      async teardown() {
        await temporary.teardown();
        if (!reason) await removeNewLvs(before);
      },
    };
  };

  storageConformance({
    name: 'lvm (thin volumes, ext4)',
    module: lvmModule,
    helpers: [dirModule],
    backend: 'lvm',
    cloneSource: 'lvm',
    setup: environment({ fssize: '64M' }),
  });

  describe('lvm specifics', function () {
    let temporary: TemporaryLxcpath | undefined;
    let berth: Berth;
    let lxcpath: string;
    let lvsBefore: string[] = [];

    beforeEach(async function () {
      if (reason) skipBecause(this, reason);
      temporary = await makeTemporaryLxcpath(undefined, 'berth-lvm-');
      lxcpath = temporary.lxcpath;
      lvsBefore = await testLvs();
      berth = await makeBerth(lxcpath);
    });

    afterEach(async function () {
      const current = temporary;
      temporary = undefined;
      if (!current) return;
      await current.teardown();
      await removeNewLvs(lvsBefore);
    });

    const makeBerth = async (path: string, runnerOverride?: CommandRunner) =>
      (
        await createBerth({
          modules: [lvmModule, dirModule],
          lxcpath: path,
          system: { ...LXC_DEFAULTS, lxcpath: path, lvmVg: VG, lvmThinPool: POOL, defaultConfig: join(path, '.none') },
          ...(runnerOverride ? { runner: runnerOverride } : {}),
        })
      ).berth;

    const copyOne = async (source: string, target: string, snapshot: boolean, options: StorageOptions = {}) => {
      const [outcome] = await berth.copy({ source, targets: [target], ...(snapshot ? { snapshot: true } : {}), options });
      if (!outcome?.ok) throw outcome?.error ?? new Error('no outcome');
      return outcome.container;
    };

    const expectCode = async (promise: Promise<unknown>, code: BerthError['code']): Promise<BerthError> => {
      try {
        await promise;
      } catch (error) {
        expect(BerthError.is(error), describeError(error)).to.equal(true);
        expect((error as BerthError).code, (error as BerthError).message).to.equal(code);
        return error as BerthError;
      }
      throw new Error(`expected a ${code} failure, but it succeeded`);
    };

    const mountpoint = async (name: string) => {
      const path = join(lxcpath, `.mnt-${name}`);
      await mkdir(path, { recursive: true });
      return path;
    };
    const blkid = (lv: string, tag: 'TYPE' | 'UUID') => lvmCli.probeTag(runner, `/dev/${VG}/${lv}`, tag);

    it('creates a thin LV named after the container, 1 GiB ext4 by default, with an lvm:/dev/<vg>/<lv> rootfs path', async () => {
      await berth.create({ name: 'c1', backend: 'lvm' });
      const config = await readFile(join(lxcpath, 'c1', 'config'), 'utf8');
      expect(config).to.match(new RegExp(`^lxc\\.rootfs\\.path = lvm:/dev/${VG}/c1$`, 'm'));
      const info = await lvmCli.lvInfo(runner, VG, 'c1');
      expect(info?.attr[0], 'a thin volume').to.equal('V');
      expect(info?.pool).to.equal(POOL);
      expect(info?.sizeBytes).to.equal(1024 * MiB);
      expect(await blkid('c1', 'TYPE')).to.equal('ext4');
      const usage = (await berth.info('c1')).usage;
      expect(usage?.limitBytes).to.equal(1024 * MiB);
      expect(usage?.details?.pool).to.equal(`${VG}/${POOL}`);
      expect(usage?.details?.poolDataPercent).to.be.a('number');
    });

    it('takes fssize (a bare number is MiB) and fstype, and refuses container names LVM cannot take', async () => {
      await berth.create({ name: 'c1', backend: 'lvm', options: { fssize: '80', fstype: 'xfs' } });
      expect((await lvmCli.lvInfo(runner, VG, 'c1'))?.sizeBytes).to.equal(80 * MiB);
      expect(await blkid('c1', 'TYPE')).to.equal('xfs');
      const error = await expectCode(berth.create({ name: 'web@1', backend: 'lvm', options: { fssize: '64M' } }), 'InvalidArgument');
      expect(error.message).to.match(/LV name/);
      expect(await berth.exists('web@1')).to.equal(false);
    });

    it('a thin snapshot clone is active and mounts while its origin is mounted', async () => {
      await berth.create({ name: 'c1', backend: 'lvm', options: { fssize: '64M' } });
      const origin = await mountpoint('c1');
      await berth.mount('c1', origin);
      try {
        await writeFile(join(origin, 'hello'), 'from the origin\n');
        await runner.run(['sync']);
        const clone = await copyOne('c1', 'c2', true);
        expect(clone.dependsOn).to.deep.equal([]);
        const info = await lvmCli.lvInfo(runner, VG, 'c2');
        expect(info?.attr[0]).to.equal('V');
        expect(info?.attr[4], 'the clone is active').to.equal('a');
        const cloneMount = await mountpoint('c2');
        await berth.mount('c2', cloneMount);
        try {
          expect(await readFile(join(cloneMount, 'hello'), 'utf8')).to.equal('from the origin\n');
        } finally {
          await berth.unmount('c2', cloneMount);
          await rmdir(cloneMount);
        }
      } finally {
        await berth.unmount('c1', origin);
      }
    });

    it('an xfs clone gets a new filesystem UUID and mounts beside its origin', async () => {
      await berth.create({ name: 'c1', backend: 'lvm', options: { fssize: '64M', fstype: 'xfs' } });
      await copyOne('c1', 'c2', true);
      expect(await blkid('c2', 'TYPE')).to.equal('xfs');
      expect(await blkid('c2', 'UUID')).to.not.equal(await blkid('c1', 'UUID'));
      const a = await mountpoint('c1');
      const b = await mountpoint('c2');
      await berth.mount('c1', a);
      try {
        await berth.mount('c2', b);
        await berth.unmount('c2', b);
      } finally {
        await berth.unmount('c1', a);
      }
    });

    it('a classic snapshot clone of a classic LV depends on its origin: destroy of the origin is refused', async () => {
      await berth.create({ name: 'c1', backend: 'lvm', options: { fssize: '64M', thinpool: 'no-such-pool' } });
      expect((await lvmCli.lvInfo(runner, VG, 'c1'))?.attr[0], 'a classic LV').to.equal('-');
      const clone = await copyOne('c1', 'c2', true, { fssize: '32M' });
      expect(clone.dependsOn).to.deep.equal(['c1']);
      const info = await lvmCli.lvInfo(runner, VG, 'c2');
      expect(info?.attr[0]).to.equal('s');
      expect(info?.origin).to.equal('c1');
      expect(info?.sizeBytes).to.equal(32 * MiB);
      const error = await expectCode(berth.destroy('c1'), 'FailedPrecondition');
      expect(error.message).to.include('c2');
      expect(await lvmCli.lvInfo(runner, VG, 'c1')).to.not.equal(undefined);
      await berth.destroy('c2');
      await berth.destroy('c1');
      expect(await lvmCli.lvInfo(runner, VG, 'c1')).to.equal(undefined);
    });

    it('a classic snapshot clone has room for every block of its origin: writing all of it leaves the snapshot valid', async () => {
      await berth.create({ name: 'c1', backend: 'lvm', options: { fssize: '64M', thinpool: 'no-such-pool' } });
      await copyOne('c1', 'c2', true);
      expect((await lvmCli.lvInfo(runner, VG, 'c2'))?.attr[0], 'a classic snapshot').to.equal('s');
      // (A snapshot's lv_size is its store's; the device is as large as the origin.)
      const device = (await lvmCli.lvInfo(runner, VG, 'c1'))?.sizeBytes ?? 0;
      // Each 4 KiB chunk written takes an exception in the copy-on-write store, which also
      // holds the exceptions' own records: a store only as large as the origin overflows,
      // and an overflowed snapshot is invalid, its data gone.
      const written = spawnSync('dd', ['if=/dev/zero', `of=/dev/${VG}/c2`, 'bs=1M', `count=${device / MiB}`, 'oflag=direct', 'conv=notrunc'], { encoding: 'utf8' });
      const after = await lvmCli.lvInfo(runner, VG, 'c2');
      expect(after?.attr[4], `snapshot state after writing all of it (I: invalid, it overflowed); dd: ${written.stderr}`).to.equal('a');
      expect(written.status, `dd: ${written.stderr}`).to.equal(0);
      await berth.destroy('c2');
      await berth.destroy('c1');
    });

    it('a snapshot clone and a full copy of an ext4 LV spawn only the commands they need (one lvs for a clone, no blkid, no vgs)', async () => {
      await berth.create({ name: 'c1', backend: 'lvm', options: { fssize: '64M' } });
      const spawned: string[] = [];
      const counted = await makeBerth(lxcpath, new ExecaRunner((argv) => spawned.push(argv[0]!)));
      const kinds = () => {
        const counts: Record<string, number> = {};
        for (const name of spawned.splice(0)) counts[name] = (counts[name] ?? 0) + 1;
        return counts;
      };
      const [clone] = await counted.copy({ source: 'c1', targets: ['c2'], snapshot: true });
      expect(clone?.ok, describeError(clone?.ok === false ? clone.error : undefined)).to.equal(true);
      // The lvs of the origin, its pool and the new name; the clone; the hostname rewrite's mount.
      expect(kinds()).to.deep.equal({ lvs: 1, lvcreate: 1, mount: 1, umount: 1 });
      const [copy] = await counted.copy({ source: 'c1', targets: ['c3'] });
      expect(copy?.ok, describeError(copy?.ok === false ? copy.error : undefined)).to.equal(true);
      // The source's size (lvs) and filesystem (blkid); one lvs for the VG, new name and
      // pool; no lvs before a mount of an active LV; one mount of each LV (the hostname is
      // rewritten inside the copy's mount, not by mounting the new LV again).
      expect(kinds()).to.deep.equal({ lvs: 2, blkid: 1, lvcreate: 1, 'mkfs.ext4': 1, debugfs: 1, mount: 2, umount: 2, cp: 1 });
      expect((await lvmCli.lvInfo(runner, VG, 'c2'))?.attr[4], 'the clone is active').to.equal('a');
    });

    it('refuses to create or clone into a thin pool above the threshold, naming the pool and its use', async () => {
      await berth.create({ name: 'c1', backend: 'lvm', options: { fssize: '128M' } });
      const path = await mountpoint('c1');
      await berth.mount('c1', path);
      try {
        await runner.run(['dd', 'if=/dev/urandom', `of=${join(path, 'fill')}`, 'bs=1M', 'count=40', 'conv=fsync', 'status=none']);
      } finally {
        await berth.unmount('c1', path);
      }
      const pool = await lvmCli.lvInfo(runner, VG, POOL);
      const threshold = Math.max(0, Math.floor((pool?.dataPercent ?? 1) - 0.5));
      const error = await expectCode(berth.create({ name: 'c2', backend: 'lvm', options: { fssize: '64M', thinpoolThreshold: threshold } }), 'FailedPrecondition');
      expect(error.message).to.include(`${VG}/${POOL}`).and.to.match(/% full/);
      const [outcome] = await berth.copy({ source: 'c1', targets: ['c3'], snapshot: true, options: { thinpoolThreshold: threshold } });
      expect(outcome?.ok).to.equal(false);
      expect(await lvmCli.lvInfo(runner, VG, 'c2')).to.equal(undefined);
      expect(await lvmCli.lvInfo(runner, VG, 'c3')).to.equal(undefined);
      await berth.create({ name: 'c2', backend: 'lvm', options: { fssize: '64M' } });
    });

    it('an injected mkfs failure leaves no LV (and no container) behind', async () => {
      for (let n = 1; n <= 3; n++) {
        const failing = new FailingRunner(new ExecaRunner(), n);
        const injected = await makeBerth(lxcpath, failing);
        await expectCode(injected.create({ name: 'c1', backend: 'lvm', options: { fssize: '64M' } }), 'CommandFailed');
        expect(await lvmCli.lvInfo(runner, VG, 'c1'), `after failing ${failing.seen[n - 1]}`).to.equal(undefined);
        expect(await berth.exists('c1')).to.equal(false);
        if (failing.seen[n - 1]?.startsWith('mkfs')) return;
      }
      throw new Error('mkfs was not among the first three mutating commands');
    });

    it('grows an LV and its filesystem with setQuota, refuses to shrink', async () => {
      await berth.create({ name: 'c1', backend: 'lvm', options: { fssize: '64M' } });
      await berth.setQuota('c1', 96 * MiB);
      expect((await lvmCli.lvInfo(runner, VG, 'c1'))?.sizeBytes).to.equal(96 * MiB);
      expect(await lvmCli.ext4SizeBytes(runner, `/dev/${VG}/c1`)).to.equal(96 * MiB);
      await expectCode(berth.setQuota('c1', 32 * MiB), 'FailedPrecondition');
    });

    /** Mountpoints (this mount namespace) of the LV's block device, matched by device number. */
    const mountsOfLv = async (lv: string): Promise<string[]> => {
      const device = (await stat(`/dev/${VG}/${lv}`)).rdev;
      const found: string[] = [];
      for (const line of (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
        const fields = line.split(' ');
        const dash = fields.indexOf('-');
        if (dash < 0) continue;
        const source = fields[dash + 2] ?? '';
        if (!source.startsWith('/dev/')) continue;
        const rdev = await stat(source).then((s) => s.rdev, () => undefined);
        if (rdev === device) found.push(fields[4]!.replace(/\\040/g, ' '));
      }
      return found;
    };
    /** The size of the filesystem itself, from its own tool: xfs_info's data section (device or mountpoint). */
    const xfsDataBytes = async (target: string) => {
      const { stdout } = await runner.run(['xfs_info', target], { readOnly: true });
      const match = /^data\s+=\s+bsize=(\d+)\s+blocks=(\d+)/m.exec(stdout);
      if (!match) throw new Error(`cannot read xfs_info ${target}:\n${stdout}`);
      return Number(match[1]) * Number(match[2]);
    };
    /** `btrfs filesystem show --raw`: the size btrfs records for its (single) device. */
    const btrfsDeviceBytes = async (target: string) => {
      const { stdout } = await runner.run(['btrfs', 'filesystem', 'show', '--raw', target], { readOnly: true });
      const sizes = [...stdout.matchAll(/^\s*devid\s+\d+\s+size\s+(\d+)\s/gm)].map((m) => Number(m[1]));
      if (sizes.length !== 1) throw new Error(`expected one device in btrfs filesystem show ${target}:\n${stdout}`);
      return sizes[0]!;
    };
    const statfsBytes = async (path: string) => {
      const s = await statfs(path);
      return s.blocks * s.bsize;
    };
    /** The driver's scratch mountpoints, left empty or gone after a grow. */
    const scratchLeft = async () => (await readdir(join(lxcpath, '.berth', 'mnt')).catch(() => [] as string[]));

    // Sizes in MiB: made, grown unmounted, grown mounted. btrfs resizes only to 256 MiB or more.
    const growSizes = { xfs: [80, 128, 192], btrfs: [80, 256, 320] } as const;
    for (const fstype of ['xfs', 'btrfs'] as const) {
      it(`grows a ${fstype} LV and its filesystem with setQuota, unmounted (scratch mount) and mounted (online)`, async () => {
        const fsBytes = fstype === 'xfs' ? xfsDataBytes : btrfsDeviceBytes;
        const [made, offline, online] = growSizes[fstype];
        // xfs: below mkfs.xfs's 300 MiB minimum (the driver's mkfs lifts it); btrfs: mixed block groups.
        await berth.create({ name: 'c1', backend: 'lvm', options: { fssize: `${made}M`, fstype } });
        const device = `/dev/${VG}/c1`;
        expect(await blkid('c1', 'TYPE')).to.equal(fstype);
        expect(await fsBytes(device)).to.equal(made * MiB);

        // Unmounted: the driver mounts it at a scratch mountpoint to grow it, then unmounts it.
        await berth.setQuota('c1', offline * MiB);
        expect((await lvmCli.lvInfo(runner, VG, 'c1'))?.sizeBytes).to.equal(offline * MiB);
        expect(await fsBytes(device), 'the filesystem grew with the LV').to.equal(offline * MiB);
        expect(await mountsOfLv('c1'), 'no scratch mount is left').to.deep.equal([]);
        expect(await scratchLeft(), 'no scratch mountpoint is left').to.deep.equal([]);

        // Mounted: grown online where it is mounted, with no second mount.
        const at = await mountpoint('c1');
        await berth.mount('c1', at);
        try {
          await writeFile(join(at, 'kept'), 'still here\n');
          const before = await statfsBytes(at);
          // A runner that never fails, to see the commands: lvextend and the grow, no mount.
          const watched = new FailingRunner(new ExecaRunner(), 0);
          await (await makeBerth(lxcpath, watched)).setQuota('c1', online * MiB);
          expect(watched.seen.map((c) => c.split(' ')[0]), watched.seen.join('; ')).to.deep.equal(['lvextend', fstype === 'xfs' ? 'xfs_growfs' : 'btrfs']);
          expect((await lvmCli.lvInfo(runner, VG, 'c1'))?.sizeBytes).to.equal(online * MiB);
          expect(await fsBytes(at), 'the mounted filesystem grew').to.equal(online * MiB);
          expect(await statfsBytes(at), 'statfs of the mount sees the new size').to.be.above(before + ((online - offline) / 2) * MiB);
          expect(await mountsOfLv('c1'), 'grown where it is mounted, no scratch mount').to.deep.equal([at]);
          expect(await readFile(join(at, 'kept'), 'utf8')).to.equal('still here\n');
        } finally {
          await berth.unmount('c1', at);
        }
        expect(await scratchLeft()).to.deep.equal([]);
        await expectCode(berth.setQuota('c1', offline * MiB), 'FailedPrecondition');
        expect((await lvmCli.lvInfo(runner, VG, 'c1'))?.sizeBytes).to.equal(online * MiB);
        // It still mounts and holds its file after the grows.
        await berth.mount('c1', at);
        try {
          expect(await readFile(join(at, 'kept'), 'utf8')).to.equal('still here\n');
        } finally {
          await berth.unmount('c1', at);
        }
      });

      it(`a failed ${fstype} grow leaves the LV at its old size`, async () => {
        const fsBytes = fstype === 'xfs' ? xfsDataBytes : btrfsDeviceBytes;
        const [made, grown] = growSizes[fstype];
        await berth.create({ name: 'c1', backend: 'lvm', options: { fssize: `${made}M`, fstype } });
        // Mutating commands of an unmounted grow: lvextend, mount, the filesystem's grow, umount.
        const failing = new FailingRunner(new ExecaRunner(), 3);
        const injected = await makeBerth(lxcpath, failing);
        await expectCode(injected.setQuota('c1', grown * MiB), 'CommandFailed');
        expect(failing.seen[2], 'the injected failure hit the filesystem grow').to.match(fstype === 'xfs' ? /^xfs_growfs / : /^btrfs filesystem resize /);
        expect((await lvmCli.lvInfo(runner, VG, 'c1'))?.sizeBytes, 'the undo shrank the LV back').to.equal(made * MiB);
        expect(await fsBytes(`/dev/${VG}/c1`)).to.equal(made * MiB);
        expect(await mountsOfLv('c1')).to.deep.equal([]);
        expect(await scratchLeft()).to.deep.equal([]);
      });
    }

    it('refuses to grow a btrfs LV below 256 MiB (the kernel cannot resize btrfs there), before changing the LV', async () => {
      await berth.create({ name: 'c1', backend: 'lvm', options: { fssize: '80M', fstype: 'btrfs' } });
      const error = await expectCode(berth.setQuota('c1', 128 * MiB), 'FailedPrecondition');
      expect(error.message).to.match(/256 MiB/);
      expect((await lvmCli.lvInfo(runner, VG, 'c1'))?.sizeBytes).to.equal(80 * MiB);
      expect(await btrfsDeviceBytes(`/dev/${VG}/c1`)).to.equal(80 * MiB);
    });

    it('a snapshot clone of a btrfs LV grown with --size gets a new UUID and its grown filesystem', async () => {
      await berth.create({ name: 'c1', backend: 'lvm', options: { fssize: '80M', fstype: 'btrfs' } });
      await copyOne('c1', 'c2', true, { size: '256M' });
      expect(await blkid('c2', 'UUID')).to.not.equal(await blkid('c1', 'UUID'));
      expect((await lvmCli.lvInfo(runner, VG, 'c2'))?.sizeBytes).to.equal(256 * MiB);
      expect(await btrfsDeviceBytes(`/dev/${VG}/c2`)).to.equal(256 * MiB);
      expect(await btrfsDeviceBytes(`/dev/${VG}/c1`)).to.equal(80 * MiB);
      expect(await mountsOfLv('c2')).to.deep.equal([]);
    });

    it('renames the LV with the container, and detects an unprefixed /dev/<vg>/<lv> rootfs', async () => {
      await berth.create({ name: 'c1', backend: 'lvm', options: { fssize: '64M' } });
      await berth.rename('c1', 'c9');
      expect(await lvmCli.lvInfo(runner, VG, 'c1')).to.equal(undefined);
      expect((await readFile(join(lxcpath, 'c9', 'config'), 'utf8'))).to.include(`lvm:/dev/${VG}/c9`);
      const driver = berth.drivers.storageDriver('lvm');
      expect(await driver.detect(`/dev/${VG}/c9`)).to.equal(true);
      expect(await driver.detect(`/dev/${VG}/nothing`)).to.equal(false);
      expect(await driver.detect('/var/lib/lxc/c9/rootfs')).to.equal(false);
    });
  });
});
