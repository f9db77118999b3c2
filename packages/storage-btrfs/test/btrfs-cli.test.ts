import { expect } from 'chai';
import { ScriptedRunner } from '@berth/core/testing';
import { btrfsCli } from '@berth/storage-btrfs';

describe('btrfs-cli', () => {
  it('parses the subvolume row of qgroup show -re -f --raw', () => {
    const stdout = [
      'Qgroupid    Referenced    Exclusive  Max referenced  Max exclusive   Path ',
      '--------    ----------    ---------  --------------  -------------   ---- ',
      '0/257         20987904     20987904        52428800           none   lxc/c1/rootfs',
    ].join('\n');
    expect(btrfsCli.parseQgroupShow(stdout)).to.deep.equal({ referenced: 20987904, exclusive: 20987904, maxReferenced: 52428800 });
  });

  it('reads an unlimited qgroup as no limit, and no row as undefined', () => {
    expect(btrfsCli.parseQgroupShow('0/256  16384  16384  none  none  a')?.maxReferenced).to.equal(undefined);
    expect(btrfsCli.parseQgroupShow('Qgroupid Referenced\n-------- ----------\n')).to.equal(undefined);
  });

  it('parses filesystem du -s --raw', () => {
    const stdout = '     Total   Exclusive  Set shared  Filename\n   2105344       4096     2101248  /mnt/lxc/c1/rootfs\n';
    expect(btrfsCli.parseFilesystemDu(stdout)).to.deep.equal({ total: 2105344, exclusive: 4096, shared: 2101248 });
  });

  it('runs each command as an argv array, limits in bytes', async () => {
    const runner = new ScriptedRunner([
      { argv: ['btrfs', 'subvolume', 'snapshot', '/p/a/rootfs', '/p/b/rootfs'] },
      { argv: ['btrfs', 'qgroup', 'limit', '1048576', '/p/b/rootfs'] },
      { argv: ['btrfs', 'qgroup', 'limit', 'none', '/p/b/rootfs'] },
    ]);
    await btrfsCli.subvolumeSnapshot(runner, '/p/a/rootfs', '/p/b/rootfs');
    await btrfsCli.qgroupLimit(runner, '/p/b/rootfs', 1048576);
    await btrfsCli.qgroupLimit(runner, '/p/b/rootfs', null);
    runner.assertDone();
  });
});
