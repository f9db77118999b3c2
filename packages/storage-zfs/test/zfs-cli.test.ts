import { expect } from 'chai';
import { ScriptedRunner } from '@berth/core/testing';
import { zfsCli } from '@berth/storage-zfs';

describe('zfs-cli', () => {
  it('parses zfs get -Hp -o property,value', () => {
    const values = zfsCli.parseGet('used\t151552\nreferenced\t151552\nrefquota\t0\n');
    expect(Object.fromEntries(values)).to.deep.equal({ used: '151552', referenced: '151552', refquota: '0' });
  });

  it('parses origins and snapshot rows of zfs list -H', () => {
    expect(zfsCli.parseOrigins('tank\t-\ntank/lxc/c1\t-\ntank/lxc/c2\ttank/lxc/c1@berth-c2-0a1b2c3d\n')).to.deep.equal([
      { name: 'tank', origin: undefined },
      { name: 'tank/lxc/c1', origin: undefined },
      { name: 'tank/lxc/c2', origin: 'tank/lxc/c1@berth-c2-0a1b2c3d' },
    ]);
    expect(zfsCli.parseSnapshots('tank/lxc/c1@a\t43\ntank/lxc/c1@b\t57\n')).to.deep.equal([
      { name: 'tank/lxc/c1@a', createtxg: 43 },
      { name: 'tank/lxc/c1@b', createtxg: 57 },
    ]);
  });

  it('runs each command as an argv array with the flags OpenZFS and zfs-fuse share', async () => {
    const runner = new ScriptedRunner([
      { argv: ['zfs', 'create', '-o', 'canmount=noauto', '-o', 'mountpoint=/p/c/rootfs', 'tank/lxc/c'] },
      { argv: ['zfs', 'clone', '-o', 'canmount=noauto', '-o', 'mountpoint=none', 'tank/lxc/c@s', 'tank/lxc/d'] },
      { argv: ['zfs', 'get', '-Hp', '-o', 'property,value', 'refquota,quota', 'tank/lxc/d'], stdout: 'refquota\t0\nquota\t0\n' },
      { argv: ['zfs', 'destroy', '-r', 'tank/lxc/d'] },
    ]);
    await zfsCli.create(runner, 'tank/lxc/c', { canmount: 'noauto', mountpoint: '/p/c/rootfs' });
    await zfsCli.clone(runner, 'tank/lxc/c@s', 'tank/lxc/d', { canmount: 'noauto', mountpoint: 'none' });
    expect((await zfsCli.get(runner, 'tank/lxc/d', ['refquota', 'quota'])).get('quota')).to.equal('0');
    await zfsCli.destroy(runner, 'tank/lxc/d', { recursive: true });
    runner.assertDone();
  });
});
