import { expect } from 'chai';
import { ScriptedRunner } from '@berth/core/testing';
import { loopCli } from '@berth/storage-loop';

describe('loop-cli', () => {
  it('parses losetup --list --json, empty or not', () => {
    const stdout = JSON.stringify({ loopdevices: [{ name: '/dev/loop3', 'back-file': '/l/c1/rootdev' }, { name: '/dev/loop4', 'back-file': null }] });
    expect(loopCli.parseLosetupJson(stdout)).to.deep.equal([
      { name: '/dev/loop3', backFile: '/l/c1/rootdev' },
      { name: '/dev/loop4', backFile: '' },
    ]);
    expect(loopCli.parseLosetupJson('{\n   "loopdevices": [\n\n   ]\n}\n')).to.deep.equal([]);
    expect(loopCli.parseLosetupJson('')).to.deep.equal([]);
  });

  it('reads size, free space (without the root reserve) and features from dumpe2fs -h', () => {
    const stdout = [
      'Filesystem volume name:   <none>',
      'Filesystem features:      has_journal ext_attr resize_inode dir_index filetype extent 64bit metadata_csum metadata_csum_seed',
      'Block count:              16384',
      'Reserved block count:     819',
      'Free blocks:              12000',
      'Block size:               4096',
    ].join('\n');
    const figures = loopCli.parseDumpe2fs(stdout);
    expect(figures.sizeBytes).to.equal(16384 * 4096);
    expect(figures.freeBytes).to.equal((12000 - 819) * 4096);
    expect(figures.features).to.include('metadata_csum_seed');
  });

  it('reads xfs_db and btrfs dump-super figures, and fails clearly on output it does not know', () => {
    expect(loopCli.parseXfsDb('dblocks = 16384\nfdblocks = 14984\nblocksize = 4096\n')).to.deep.equal({ sizeBytes: 16384 * 4096, freeBytes: 14984 * 4096 });
    const superblock = 'csum_type\t\t0 (crc32c)\ntotal_bytes\t\t67108864\nbytes_used\t\t36864\nsectorsize\t\t4096\n';
    expect(loopCli.parseBtrfsDumpSuper(superblock)).to.deep.equal({ sizeBytes: 67108864, freeBytes: 67108864 - 36864 });
    expect(() => loopCli.parseXfsDb('garbage')).to.throw(/dblocks|blocksize/);
  });

  it('probes a filesystem type with blkid -p, reading exit 2 as none', async () => {
    const runner = new ScriptedRunner([
      { argv: ['blkid', '-p', '-o', 'value', '-s', 'TYPE', '/l/c1/rootdev'], stdout: 'xfs\n' },
      { argv: ['blkid', '-p', '-o', 'value', '-s', 'TYPE', '/l/c2/rootdev'], exitCode: 2 },
    ]);
    expect(await loopCli.probeTag(runner, '/l/c1/rootdev', 'TYPE')).to.equal('xfs');
    expect(await loopCli.probeTag(runner, '/l/c2/rootdev', 'TYPE')).to.equal('');
    runner.assertDone();
  });

  it('makes each filesystem with its own mkfs, ext4 with a checksum seed, small btrfs mixed', async () => {
    const MiB = 1024 * 1024;
    const runner = new ScriptedRunner([
      { argv: ['mkfs.ext4', '-q', '-F', '-O', 'metadata_csum_seed', '/i'] },
      { argv: ['mkfs.xfs', '-q', '-f', '/i'] },
      { argv: ['mkfs.btrfs', '-q', '-f', '--mixed', '/i'] },
      { argv: ['mkfs.btrfs', '-q', '-f', '/i'] },
    ]);
    await loopCli.mkfs(runner, 'ext4', '/i', 64 * MiB);
    await loopCli.mkfs(runner, 'xfs', '/i', 64 * MiB);
    await loopCli.mkfs(runner, 'btrfs', '/i', 64 * MiB);
    await loopCli.mkfs(runner, 'btrfs', '/i', 2048 * MiB);
    runner.assertDone();
  });

  it('attaches through mount -o loop, copies with reflink and holes, renews UUIDs non-interactively', async () => {
    const runner = new ScriptedRunner([
      { argv: ['mount', '-o', 'loop', '/l/c1/rootdev', '/l/c1/rootfs'] },
      { argv: ['losetup', '--list', '--json', '--output', 'NAME,BACK-FILE', '--associated', '/l/c1/rootdev'], stdout: '{"loopdevices": [{"name": "/dev/loop7", "back-file": "/l/c1/rootdev"}]}' },
      { argv: ['losetup', '--detach', '/dev/loop7'] },
      { argv: ['cp', '--reflink=auto', '--sparse=always', '/l/c1/rootdev', '/l/c2/rootdev'] },
      { argv: ['xfs_admin', '-U', 'generate', '/l/c2/rootdev'] },
      { argv: ['btrfstune', '-f', '-u', '/l/c2/rootdev'] },
      { argv: ['truncate', '--size=134217728', '/l/c2/rootdev'] },
    ]);
    await loopCli.mountImage(runner, '/l/c1/rootdev', '/l/c1/rootfs');
    const [device] = await loopCli.associatedDevices(runner, '/l/c1/rootdev');
    await loopCli.detach(runner, device!.name);
    await loopCli.copyImage(runner, '/l/c1/rootdev', '/l/c2/rootdev');
    await loopCli.xfsNewUuid(runner, '/l/c2/rootdev');
    await loopCli.btrfsNewUuid(runner, '/l/c2/rootdev');
    await loopCli.truncate(runner, '/l/c2/rootdev', 128 * 1024 * 1024);
    runner.assertDone();
  });
});
