import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  containerRef,
  formatDependencyFile,
  formatRootfs,
  formatSnapshotTimestamp,
  listSnapshotNames,
  LXC_DEFAULTS,
  nextSnapshotName,
  parseDependencyFile,
  parseRootfs,
  paths,
  readDependencyFile,
  readSystemConfig,
  sameRecord,
  snapshotRef,
  splitOverlaySource,
} from '@berth/core';
import { expectBerthError, expectThrowsBerth, TempDirs } from './helpers.js';

describe('rootfs paths', () => {
  it('parses prefixed paths at the first colon', () => {
    expect(parseRootfs('dir:/var/lib/lxc/c/rootfs')).to.deep.equal({ type: 'dir', source: '/var/lib/lxc/c/rootfs' });
    expect(parseRootfs('zfs:lxc/c')).to.deep.equal({ type: 'zfs', source: 'lxc/c' });
    expect(parseRootfs('lvm:/dev/lxc/c')).to.deep.equal({ type: 'lvm', source: '/dev/lxc/c' });
    expect(parseRootfs('loop:/var/lib/lxc/c/rootdev')).to.deep.equal({ type: 'loop', source: '/var/lib/lxc/c/rootdev' });
    expect(parseRootfs('overlay:/a/rootfs:/b/overlay/delta')).to.deep.equal({ type: 'overlay', source: '/a/rootfs:/b/overlay/delta' });
  });

  it('maps the overlayfs alias to overlay', () => {
    expect(parseRootfs('overlayfs:/a:/b')).to.deep.equal({ type: 'overlay', source: '/a:/b' });
  });

  it('leaves unprefixed paths untyped', () => {
    expect(parseRootfs('/var/lib/lxc/c/rootfs')).to.deep.equal({ type: undefined, source: '/var/lib/lxc/c/rootfs' });
    expect(parseRootfs('/lower:/upper')).to.deep.equal({ type: undefined, source: '/lower:/upper' });
    expect(parseRootfs(':x')).to.deep.equal({ type: undefined, source: ':x' });
  });

  it('refuses an empty path', () => {
    expectThrowsBerth(() => parseRootfs(''), 'InvalidArgument');
  });

  it('formats and parses back', () => {
    for (const spec of [{ type: 'dir', source: '/x/rootfs' }, { type: 'overlay', source: '/l:/u' }, { type: 'zfs', source: 'tank/lxc/c' }]) {
      expect(parseRootfs(formatRootfs(spec))).to.deep.equal(spec);
    }
  });

  it('splits an overlay source at its last colon', () => {
    expect(splitOverlaySource('/l:/u')).to.deep.equal({ lower: '/l', upper: '/u' });
    expect(splitOverlaySource('/l1:/l2:/u')).to.deep.equal({ lower: '/l1:/l2', upper: '/u' });
    expectThrowsBerth(() => splitOverlaySource('/only'), 'InvalidArgument');
    expectThrowsBerth(() => splitOverlaySource(':/u'), 'InvalidArgument');
  });
});

describe('layout', () => {
  const temp = new TempDirs();
  after(() => temp.cleanup());

  it('containerRef resolves the lxcpath and validates the name', () => {
    expect(containerRef('/var/lib/lxc/', 'c')).to.deep.equal({ lxcpath: '/var/lib/lxc', name: 'c', dir: '/var/lib/lxc/c' });
    expect(containerRef('/a/b/../lxc', 'c').dir).to.equal('/a/lxc/c');
    expectThrowsBerth(() => containerRef('/var/lib/lxc', '../etc'), 'InvalidArgument');
  });

  it('names LXC’s files', () => {
    const c = containerRef('/p', 'c');
    expect(paths.config(c)).to.equal('/p/c/config');
    expect(paths.rootfs(c)).to.equal('/p/c/rootfs');
    expect(paths.rootdev(c)).to.equal('/p/c/rootdev');
    expect(paths.overlayDelta(c)).to.equal('/p/c/overlay/delta');
    expect(paths.overlayWork(c)).to.equal('/p/c/overlay/work');
    expect(paths.partial(c)).to.equal('/p/c/partial');
    expect(paths.snapsDir(c)).to.equal('/p/c/snaps');
    expect(paths.rdepends(c)).to.equal('/p/c/lxc_rdepends');
    expect(paths.dependents(c)).to.equal('/p/c/lxc_snapshots');
    expect(paths.snapshotTs(c)).to.equal('/p/c/ts');
    expect(paths.snapshotComment(c)).to.equal('/p/c/comment');
  });

  it('snapshotRef is a container in <dir>/snaps and refuses anything but snapN', () => {
    const parent = containerRef('/p', 'c');
    expect(snapshotRef(parent, 'snap12')).to.deep.equal({ lxcpath: '/p/c/snaps', name: 'snap12', dir: '/p/c/snaps/snap12' });
    for (const bad of ['snap', 'snapX', 'snap-1', '../snap0', 'snap0/x', 'Snap0', 'snap0 ', 'other']) {
      expectThrowsBerth(() => snapshotRef(parent, bad), 'InvalidArgument');
    }
  });

  it('nextSnapshotName picks the lowest free index', () => {
    expect(nextSnapshotName([])).to.equal('snap0');
    expect(nextSnapshotName(['snap0', 'snap1'])).to.equal('snap2');
    expect(nextSnapshotName(['snap0', 'snap2', 'snap3'])).to.equal('snap1');
    expect(nextSnapshotName(['snap1', 'snap5'])).to.equal('snap0');
  });

  it('listSnapshotNames orders by number and ignores other entries', async () => {
    const lxcpath = await temp.make();
    const c = containerRef(lxcpath, 'c');
    expect(await listSnapshotNames(c)).to.deep.equal([]);
    for (const name of ['snap10', 'snap2', 'snap0', 'notes', 'snapX']) await mkdir(join(paths.snapsDir(c), name), { recursive: true });
    expect(await listSnapshotNames(c)).to.deep.equal(['snap0', 'snap2', 'snap10']);
  });

  it('formats snapshot timestamps as %Y:%m:%d %H:%M:%S in local time', () => {
    expect(formatSnapshotTimestamp(new Date(2024, 0, 5, 3, 4, 5))).to.equal('2024:01:05 03:04:05');
    expect(formatSnapshotTimestamp(new Date(1999, 11, 31, 23, 59, 58))).to.equal('1999:12:31 23:59:58');
    expect(formatSnapshotTimestamp(new Date())).to.match(/^\d{4}:\d{2}:\d{2} \d{2}:\d{2}:\d{2}$/);
  });

  describe('dependency files', () => {
    it('parse and format 2-line records', () => {
      const text = '/var/lib/lxc\nbase\n/srv/lxc\nother\n';
      const parsed = parseDependencyFile(text);
      expect(parsed).to.deep.equal({
        records: [
          { lxcpath: '/var/lib/lxc', name: 'base' },
          { lxcpath: '/srv/lxc', name: 'other' },
        ],
        legacyCount: undefined,
      });
      expect(formatDependencyFile(parsed.records)).to.equal(text);
    });

    it('read the legacy bare count', () => {
      expect(parseDependencyFile('3\n')).to.deep.equal({ records: [], legacyCount: 3 });
      expect(parseDependencyFile('0')).to.deep.equal({ records: [], legacyCount: 0 });
    });

    it('read an empty file as no records', () => {
      expect(parseDependencyFile('')).to.deep.equal({ records: [], legacyCount: undefined });
      expect(formatDependencyFile([])).to.equal('');
    });

    it('read a missing file as no records', async () => {
      const dir = await temp.make();
      expect(await readDependencyFile(join(dir, 'lxc_snapshots'))).to.deep.equal({ records: [], legacyCount: undefined });
      await writeFile(join(dir, 'lxc_snapshots'), '/p\na\n');
      expect((await readDependencyFile(join(dir, 'lxc_snapshots'))).records).to.deep.equal([{ lxcpath: '/p', name: 'a' }]);
    });

    it('compare records by resolved lxcpath and name', () => {
      expect(sameRecord({ lxcpath: '/p/', name: 'a' }, { lxcpath: '/p', name: 'a' })).to.equal(true);
      expect(sameRecord({ lxcpath: '/p', name: 'a' }, { lxcpath: '/q', name: 'a' })).to.equal(false);
      expect(sameRecord({ lxcpath: '/p', name: 'a' }, { lxcpath: '/p', name: 'b' })).to.equal(false);
    });
  });
});

describe('readSystemConfig', () => {
  const temp = new TempDirs();
  after(() => temp.cleanup());

  it('reads the keys lxc.system.conf(5) defines and defaults the rest', async () => {
    const dir = await temp.make();
    const path = join(dir, 'lxc.conf');
    await writeFile(path, '# system\nlxc.lxcpath = /srv/containers\nlxc.bdev.lvm.vg=vg0\nlxc.bdev.zfs.root = "tank/lxc"\n');
    expect(await readSystemConfig(path)).to.deep.equal({
      lxcpath: '/srv/containers',
      lvmVg: 'vg0',
      lvmThinPool: LXC_DEFAULTS.lvmThinPool,
      zfsRoot: 'tank/lxc',
      defaultConfig: '/etc/lxc/default.conf',
    });
  });

  it('reads thin pool and default config', async () => {
    const dir = await temp.make();
    const path = join(dir, 'lxc.conf');
    await writeFile(path, 'lxc.bdev.lvm.thin_pool = pool0\nlxc.default_config = /etc/lxc/other.conf\n');
    const system = await readSystemConfig(path);
    expect(system.lvmThinPool).to.equal('pool0');
    expect(system.defaultConfig).to.equal('/etc/lxc/other.conf');
    expect(system.lxcpath).to.equal('/var/lib/lxc');
  });

  it('gives LXC’s defaults when the file is missing', async () => {
    const dir = await temp.make();
    expect(await readSystemConfig(join(dir, 'absent.conf'))).to.deep.equal({
      lxcpath: '/var/lib/lxc',
      lvmVg: 'lxc',
      lvmThinPool: 'lxc',
      zfsRoot: 'lxc',
      defaultConfig: '/etc/lxc/default.conf',
    });
  });

  it('refuses a system config with a NUL byte', async () => {
    const dir = await temp.make();
    const path = join(dir, 'lxc.conf');
    await writeFile(path, 'lxc.lxcpath = /a\0b\n');
    await expectBerthError(readSystemConfig(path), 'InvalidArgument');
  });
});
