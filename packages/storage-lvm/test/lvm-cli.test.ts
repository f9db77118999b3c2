import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { BerthError } from '@berth/core';
import { ScriptedRunner } from '@berth/core/testing';
import { dmName, hasUuidMagic, isLiveLv, lvmCli, lvNameProblem, mayNeedNewUuid, parseDevicePath } from '@berth/storage-lvm';

const LVS = ['lvs', '--noheadings', '--nosuffix', '--units', 'b', '--separator', '|', '--options', 'vg_name,lv_name,lv_attr,lv_size,pool_lv,origin,data_percent,metadata_percent'];

describe('lvm-cli', () => {
  it('parses lvs rows: thin pool, thin volume, classic origin and snapshot', () => {
    const stdout = [
      '  lxc|lxc|twi-aotz--|2147483648|||12.50|3.10',
      '  lxc|c1|Vwi-aotz--|67108864|lxc||40.00|',
      '  lxc|old|owi-a-s---|67108864||||',
      '  lxc|old-snap|swi-a-s---|33554432||old|0,50|',
    ].join('\n');
    const rows = lvmCli.parseLvs(stdout);
    expect(rows.map((r) => [r.name, r.attr[0], r.sizeBytes])).to.deep.equal([
      ['lxc', 't', 2147483648],
      ['c1', 'V', 67108864],
      ['old', 'o', 67108864],
      ['old-snap', 's', 33554432],
    ]);
    expect(rows[0]).to.include({ dataPercent: 12.5, metadataPercent: 3.1 });
    expect(rows[1]).to.include({ pool: 'lxc', dataPercent: 40 });
    expect(rows[1]!.metadataPercent).to.equal(undefined);
    expect(rows[3]).to.include({ origin: 'old', dataPercent: 0.5 });
    expect(lvmCli.parseLvs('\n')).to.deep.equal([]);
    expect(() => lvmCli.parseLvs('garbage')).to.throw(BerthError);
  });

  it('reads a missing LV (lvs exit 5) as undefined, and other failures as errors', async () => {
    const runner = new ScriptedRunner([
      { argv: [...LVS, 'lxc/c1'], stdout: '  lxc|c1|Vwi-a-tz--|1073741824|lxc||0.00|\n' },
      { argv: [...LVS, 'lxc/none'], exitCode: 5, stderr: '  Failed to find logical volume "lxc/none"\n' },
      { argv: [...LVS, 'novg/c1'], exitCode: 5, stderr: '  Volume group "novg" not found\n  Cannot process volume group novg\n' },
      { argv: [...LVS, 'lxc/c2'], exitCode: 5, stderr: '  Reading VG lxc failed: device-mapper broken\n' },
    ]);
    expect((await lvmCli.lvInfo(runner, 'lxc', 'c1'))?.sizeBytes).to.equal(1073741824);
    expect(await lvmCli.lvInfo(runner, 'lxc', 'none')).to.equal(undefined);
    expect(await lvmCli.lvInfo(runner, 'novg', 'c1')).to.equal(undefined);
    let failure: unknown;
    await lvmCli.lvInfo(runner, 'lxc', 'c2').catch((error: unknown) => (failure = error));
    expect(BerthError.is(failure) && failure.code).to.equal('CommandFailed');
    runner.assertDone();
  });

  it('reads several LVs in one lvs: the missing ones absent, a missing VG as undefined, other failures as errors', async () => {
    const rows = '  lxc|lxc|twi-aotz--|1572864000|||0.32|11.13\n  lxc|c1|Vwi-a-tz--|67108864|lxc||7.42|\n';
    const runner = new ScriptedRunner([
      { argv: [...LVS, 'lxc/c1', 'lxc/c2', 'lxc/lxc'], exitCode: 5, stdout: rows, stderr: '  Failed to find logical volume "lxc/c2"\n' },
      { argv: [...LVS, 'lxc/c1', 'lxc/lxc'], stdout: rows },
      { argv: [...LVS, 'lxc/lxc_tdata'], stdout: '  lxc|[lxc_tdata]|Twi-ao----|1572864000||||\n' },
      { argv: [...LVS, 'novg/c1', 'novg/lxc'], exitCode: 5, stderr: '  Volume group "novg" not found\n  Cannot process volume group novg\n' },
      { argv: [...LVS, 'lxc/c1', 'lxc/c2'], exitCode: 5, stdout: rows, stderr: '  Failed to find logical volume "lxc/c2"\n  Reading VG lxc failed: device-mapper broken\n' },
    ]);
    const found = await lvmCli.lvsOf(runner, 'lxc', ['c1', 'c2', 'lxc']);
    expect([...found!.keys()].sort()).to.deep.equal(['c1', 'lxc']);
    expect(found!.get('lxc')).to.include({ dataPercent: 0.32, metadataPercent: 11.13 });
    expect([...(await lvmCli.lvsOf(runner, 'lxc', ['c1', 'c1', 'lxc']))!.keys()].sort(), 'a name asked twice is asked once').to.deep.equal(['c1', 'lxc']);
    expect((await lvmCli.lvsOf(runner, 'lxc', ['lxc_tdata']))?.get('lxc_tdata')?.attr).to.equal('Twi-ao----');
    expect(await lvmCli.lvsOf(runner, 'novg', ['c1', 'lxc'])).to.equal(undefined);
    let failure: unknown;
    await lvmCli.lvsOf(runner, 'lxc', ['c1', 'c2']).catch((error: unknown) => (failure = error));
    expect(BerthError.is(failure) && failure.code).to.equal('CommandFailed');
    expect((failure as Error).message).to.equal('lvs lxc/c1 lxc/c2 failed: Reading VG lxc failed: device-mapper broken');
    runner.assertDone();
  });

  it('creates thin and classic LVs, activated thin snapshots and sized classic snapshots', async () => {
    const runner = new ScriptedRunner([
      { argv: ['lvcreate', '--yes', '--type', 'thin', '--virtualsize', '67108864b', '--thinpool', 'lxc', '--name', 'c1', 'lxc'] },
      { argv: ['lvcreate', '--yes', '--wipesignatures', 'y', '--size', '67108864b', '--name', 'c1', 'vg0'] },
      { argv: ['lvcreate', '--yes', '--snapshot', '--setactivationskip', 'n', '--activate', 'y', '--name', 'c2', 'lxc/c1'] },
      { argv: ['lvcreate', '--yes', '--snapshot', '--size', '33554432b', '--name', 'c2', 'vg0/c1'] },
      { argv: ['lvchange', '--activate', 'y', '--ignoreactivationskip', 'lxc/c3'] },
      { argv: ['lvrename', 'lxc', 'c1', 'c9'] },
      { argv: ['lvextend', '--size', '134217728b', 'lxc/c9'] },
      { argv: ['lvremove', '--force', 'lxc/c9'] },
    ]);
    await lvmCli.createThin(runner, 'lxc', 'lxc', 'c1', 64 * 1024 * 1024);
    await lvmCli.createClassic(runner, 'vg0', 'c1', 64 * 1024 * 1024);
    await lvmCli.thinSnapshot(runner, 'lxc', 'c1', 'c2');
    await lvmCli.classicSnapshot(runner, 'vg0', 'c1', 'c2', 32 * 1024 * 1024);
    await lvmCli.activate(runner, 'lxc', 'c3');
    await lvmCli.rename(runner, 'lxc', 'c1', 'c9');
    await lvmCli.extend(runner, 'lxc', 'c9', 128 * 1024 * 1024);
    await lvmCli.remove(runner, 'lxc', 'c9');
    runner.assertDone();
  });

  it('makes filesystems forced, small xfs under the xfstests environment, small btrfs mixed', async () => {
    const MiB = 1024 * 1024;
    const runner = new ScriptedRunner([
      { argv: ['mkfs.ext4', '-q', '-F', '-O', 'metadata_csum_seed', '/dev/lxc/c1'] },
      { argv: ['mkfs.xfs', '-q', '-f', '/dev/lxc/c1'] },
      { argv: ['mkfs.btrfs', '-q', '-f', '--mixed', '/dev/lxc/c1'] },
      { argv: ['vgs', '--noheadings', '--options', 'vg_name', 'lxc'], stdout: '  lxc\n' },
      { argv: ['vgs', '--noheadings', '--options', 'vg_name', 'nope'], exitCode: 5, stderr: 'Volume group "nope" not found' },
    ]);
    await lvmCli.mkfs(runner, 'ext4', '/dev/lxc/c1', 64 * MiB);
    await lvmCli.mkfs(runner, 'xfs', '/dev/lxc/c1', 64 * MiB);
    await lvmCli.mkfs(runner, 'btrfs', '/dev/lxc/c1', 64 * MiB);
    expect(await lvmCli.vgExists(runner, 'lxc')).to.equal(true);
    expect(await lvmCli.vgExists(runner, 'nope')).to.equal(false);
    runner.assertDone();
  });

  it('reads the size of an xfs (xfs_info) and a btrfs (btrfs filesystem show --raw) filesystem', async () => {
    const xfsInfo = [
      'meta-data=/dev/lxc/c1            isize=512    agcount=4, agsize=5120 blks',
      '         =                       sectsz=512   attr=2, projid32bit=1',
      'data     =                       bsize=4096   blocks=20480, imaxpct=25',
      '         =                       sunit=0      swidth=0 blks',
      'naming   =version 2              bsize=4096   ascii-ci=0, ftype=1',
      'log      =internal log           bsize=4096   blocks=1368, version=2',
      'realtime =none                   extsz=4096   blocks=0, rtextents=0',
    ].join('\n');
    const btrfsShow = (devices: string) => `Label: none  uuid: 6b1c2f6e-0d1e-4a8e-9a43-3f0b5c1d2e4f\n\tTotal devices 1 FS bytes used 147456\n${devices}\n`;
    const runner = new ScriptedRunner([
      { argv: ['xfs_info', '/dev/lxc/c1'], stdout: xfsInfo },
      { argv: ['xfs_info', '/dev/lxc/c2'], stdout: 'not xfs\n' },
      { argv: ['btrfs', 'filesystem', 'show', '--raw', '/dev/lxc/c3'], stdout: btrfsShow('\tdevid    1 size 268435456 used 20971520 path /dev/mapper/lxc-c3') },
      {
        argv: ['btrfs', 'filesystem', 'show', '--raw', '/dev/lxc/c4'],
        stdout: btrfsShow('\tdevid    1 size 268435456 used 0 path /dev/loop1\n\tdevid    2 size 268435456 used 0 path /dev/loop2'),
      },
    ]);
    expect(await lvmCli.xfsSizeBytes(runner, '/dev/lxc/c1')).to.equal(20480 * 4096);
    await lvmCli.xfsSizeBytes(runner, '/dev/lxc/c2').then(
      () => expect.fail('no size in that output'),
      (error: unknown) => expect(BerthError.is(error) && error.code).to.equal('CommandFailed'),
    );
    expect(await lvmCli.btrfsSizeBytes(runner, '/dev/lxc/c3')).to.equal(268435456);
    await lvmCli.btrfsSizeBytes(runner, '/dev/lxc/c4').then(
      () => expect.fail('two devices: no single size'),
      (error: unknown) => expect(BerthError.is(error) && error.code).to.equal('CommandFailed'),
    );
    runner.assertDone();
  });

  it('finds the xfs and btrfs magics where blkid looks for them, and says "ask blkid" when it cannot tell', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-lvm-magic-'));
    try {
      const image = async (name: string, size: number, at?: number, magic?: string) => {
        const buffer = Buffer.alloc(size);
        if (magic !== undefined) buffer.write(magic, at!, 'latin1');
        await writeFile(join(dir, name), buffer);
        return join(dir, name);
      };
      // ext4's magic 0xEF53 sits at 1080: nothing blkid would call xfs or btrfs.
      expect(await hasUuidMagic(await image('ext', 128 * 1024, 1080, '\x53\xef'))).to.equal(false);
      expect(await hasUuidMagic(await image('xfs', 128 * 1024, 0, 'XFSB'))).to.equal(true);
      expect(await hasUuidMagic(await image('btrfs', 128 * 1024, 65536 + 0x40, '_BHRfS_M'))).to.equal(true);
      expect(await hasUuidMagic(await image('short', 4096)), 'too short to hold a btrfs superblock: ask').to.equal(true);
      // A regular file is no block device: mayNeedNewUuid always asks blkid then.
      expect(await mayNeedNewUuid(join(dir, 'ext'))).to.equal(true);
      expect(await mayNeedNewUuid(join(dir, 'missing'))).to.equal(true);
      expect(await isLiveLv(join(dir, 'ext'), 'lxc', 'c1')).to.equal(false);
      expect(await isLiveLv('/dev/berth-no-vg/c1', 'berth-no-vg', 'c1')).to.equal(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(dmName('lxc', 'c1')).to.equal('lxc-c1');
    expect(dmName('my-vg', 'web-1')).to.equal('my--vg-web--1');
  });

  it('knows the LV names LVM refuses, and the /dev/<vg>/<lv> paths it owns', () => {
    expect(lvNameProblem('web-1.example_a+b')).to.equal(undefined);
    expect(lvNameProblem('café')).to.match(/letters, digits/);
    expect(lvNameProblem('a:b')).to.match(/letters, digits/);
    expect(lvNameProblem('snapshot1')).to.match(/reserves/);
    expect(lvNameProblem('db_tmeta')).to.match(/_tmeta/);
    expect(lvNameProblem('x'.repeat(128))).to.match(/127/);
    expect(parseDevicePath('/dev/lxc/c1')).to.deep.equal({ vg: 'lxc', lv: 'c1' });
    expect(parseDevicePath('/dev/mapper/lxc-c1')).to.equal(undefined);
    expect(parseDevicePath('/dev/sda1')).to.equal(undefined);
    expect(parseDevicePath('/var/lib/lxc/c1/rootfs')).to.equal(undefined);
  });
});
