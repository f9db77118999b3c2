// Interop with real LXC: the `berth` binary and the lxc-* tools (Debian's lxc 5.0.2)
// work on the same lxcpath. LXC boots what berth copied, lists berth's snapshots and
// honours its dependency records; berth copies, snapshots, restores and refuses to
// destroy what LXC made, the way LXC does.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Lxcpath, ok, refused, run, skipBecause, berthBinary, ensureBerthBinary } from '@berth/conformance';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const BERTH_BIN = berthBinary(REPO_ROOT);

describe('interop with real LXC (lxc-* tools and the berth binary on one lxcpath)', function () {
  this.timeout(180_000);
  let lx: Lxcpath;

  before(async function () {
    if (process.getuid?.() !== 0) skipBecause(this, 'LXC interop needs root (containers, mounts)');
    for (const tool of ['lxc-create', 'lxc-start', 'lxc-attach', 'lxc-snapshot', 'lxc-destroy', 'lxc-copy']) {
      const found = await run(['sh', '-c', `command -v ${tool}`]);
      expect(found.exitCode, `${tool} is missing: scripts/test.sh installs Debian's lxc package`).to.equal(0);
    }
    await ensureBerthBinary(REPO_ROOT);
    lx = await Lxcpath.make(BERTH_BIN);
    await ok(lx.lxc('create', 'base', '-t', 'busybox', '-f', lx.createConfig));
  });

  after(async function () {
    await lx?.remove();
  });

  describe('berth copies what lxc-create made', function () {
    it('copies base in full: its own dir rootfs, its own name', async function () {
      await ok(lx.berth('copy', 'base', 'full'));
      const config = await lx.config('full');
      expect(config).to.match(new RegExp(`^lxc\\.rootfs\\.path = dir:${lx.path}/full/rootfs$`, 'm'));
      expect(config).to.match(/^lxc\.uts\.name = "?full"?$/m);
      expect(existsSync(join(lx.path, 'full/rootfs/bin/busybox'))).to.equal(true);
    });

    it('makes a snapshot clone of base with LXC dependency records', async function () {
      await ok(lx.berth('copy', '-s', 'base', 'clone'));
      const config = await lx.config('clone');
      expect(config).to.match(new RegExp(`^lxc\\.rootfs\\.path = overlay:${lx.path}/base/rootfs:${lx.path}/clone/overlay/delta$`, 'm'));
      expect(await readFile(join(lx.path, 'clone/lxc_rdepends'), 'utf8')).to.equal(`${lx.path}\nbase\n`);
      expect(await readFile(join(lx.path, 'base/lxc_snapshots'), 'utf8')).to.equal(`${lx.path}\nclone\n`);
    });

    it('shows LXC both copies (lxc-ls)', async function () {
      const listed = await ok(['lxc-ls', '-P', lx.path, '-1']);
      expect(listed.stdout.split(/\s+/).filter(Boolean)).to.have.members(['base', 'clone', 'full']);
    });
  });

  describe('lxc-start boots what berth copied', function () {
    after(async function () {
      await lx?.stopAll();
    });

    for (const name of ['full', 'clone']) {
      it(`boots ${name}, whose hostname is ${name}`, async function () {
        await lx.start(name);
        const hostname = await ok(lx.lxc('attach', name, '--', 'hostname'));
        expect(hostname.stdout.trim()).to.equal(name);
      });
    }

    it('berth will not destroy a container LXC is running', async function () {
      expect((await refused(lx.berth('destroy', 'clone'))).stderr).to.match(/running/);
      expect(lx.exists('clone')).to.equal(true);
    });

    it('berth copies a running container only when allowed (lxc-copy -a)', async function () {
      expect((await refused(lx.berth('copy', 'full', 'hot'))).stderr).to.match(/running.*--allowrunning/);
      expect(lx.exists('hot')).to.equal(false);
      await ok(lx.berth('copy', '-a', 'full', 'hot'));
      expect(lx.exists('hot')).to.equal(true);
      await ok(lx.berth('destroy', 'hot'));
    });
  });

  describe('snapshots are shared between berth and lxc-snapshot', function () {
    it('lxc-snapshot -L lists a snapshot berth made', async function () {
      await ok(lx.berth('snapshot', 'full', '-c', 'made by berth'));
      const listed = await ok(lx.lxc('snapshot', 'full', '-L', '-C'));
      expect(listed.stdout).to.match(new RegExp(`^snap0 \\(${lx.path}/full/snaps\\) \\d{4}:\\d\\d:\\d\\d \\d\\d:\\d\\d:\\d\\d$`, 'm'));
      expect(listed.stdout).to.include('made by berth');
    });

    it('berth snapshot list shows a snapshot lxc-snapshot made', async function () {
      await ok(lx.lxc('snapshot', 'full'));
      expect(existsSync(join(lx.path, 'full/snaps/snap1/config'))).to.equal(true);
      const listed = await ok(lx.berth('snapshot', 'list', 'full'));
      expect(listed.stdout).to.match(/\bsnap0\b/);
      expect(listed.stdout).to.match(/\bsnap1\b/);
    });

    it('berth snapshot restore puts back what lxc-snapshot saved, and it boots', async function () {
      const marker = join(lx.path, 'full/rootfs/after-snap1');
      await writeFile(marker, 'written after snap1\n');
      await ok(lx.berth('snapshot', 'restore', 'full', 'snap1'));
      expect(existsSync(marker), 'a file made after snap1 survived its restore').to.equal(false);
      expect(existsSync(join(lx.path, 'full/rootfs/bin/busybox'))).to.equal(true);
      const snaps = await ok(lx.lxc('snapshot', 'full', '-L'));
      expect(snaps.stdout).to.match(/^snap0 /m).and.to.match(/^snap1 /m);
      try {
        await lx.start('full');
        expect((await ok(lx.lxc('attach', 'full', '--', 'hostname'))).stdout.trim()).to.equal('full');
      } finally {
        await run(lx.lxc('stop', 'full', '-k'));
      }
    });

    it('lxc-snapshot -r restores a snapshot berth made as a new container', async function () {
      await ok(lx.lxc('snapshot', 'full', '-r', 'snap0', '-N', 'fromsnap'));
      expect(await lx.config('fromsnap')).to.match(/^lxc\.uts\.name = "?fromsnap"?$/m);
      await ok(lx.berth('destroy', 'fromsnap'));
      expect(lx.exists('fromsnap')).to.equal(false);
    });
  });

  describe('destroy honours dependencies both ways', function () {
    it('berth destroy and lxc-destroy both refuse base while clone uses it', async function () {
      expect((await refused(lx.berth('destroy', 'base'))).stderr).to.match(/\bclone\b/);
      expect(lx.exists('base'), 'berth destroyed base under its clone').to.equal(true);
      expect((await refused(lx.lxc('destroy', 'base'))).stderr).to.include('has clones');
      expect(lx.exists('base'), 'lxc-destroy destroyed base under its clone').to.equal(true);
    });

    it('after berth destroy clone, lxc-destroy removes base', async function () {
      await ok(lx.berth('destroy', 'clone'));
      expect(lx.exists('clone')).to.equal(false);
      expect(existsSync(join(lx.path, 'clone'))).to.equal(false);
      await ok(lx.lxc('destroy', 'base'));
      expect(existsSync(join(lx.path, 'base'))).to.equal(false);
    });

    it('berth refuses to destroy a container whose lxc-copy -s clone exists, then allows it', async function () {
      await ok(lx.lxc('copy', 'full', '-N', 'lxclone', '-s'));
      expect((await refused(lx.berth('destroy', '-s', 'full'))).stderr).to.match(/\blxclone\b/);
      expect(lx.exists('full')).to.equal(true);
      await ok(lx.lxc('destroy', 'lxclone'));
      await ok(lx.berth('destroy', '-s', 'full'));
      expect(existsSync(join(lx.path, 'full'))).to.equal(false);
      const listed = await ok(['lxc-ls', '-P', lx.path, '-1']);
      expect(listed.stdout.trim()).to.equal('');
    });
  });
});
