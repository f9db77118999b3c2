import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { BerthError, ExecaRunner, LXC_DEFAULTS, createBerth, type Berth, type ContainerSummary } from '@berth/core';
import { makeTemporaryLxcpath, skipBecause, storageConformance, type TemporaryLxcpath } from '@berth/conformance';
import { dirModule } from '@berth/storage-dir';
import { overlayModule } from '@berth/storage-overlay';

storageConformance({
  name: 'overlay',
  module: overlayModule,
  helpers: [dirModule],
  backend: 'overlay',
  filledBy: 'snapshot-clone',
  cloneSource: 'dir',
  sourceWritesIsolated: { isolated: false, reason: "the source's rootfs is the clone's lower layer: LXC's overlay clones share it too" },
  setup: () => makeTemporaryLxcpath(),
});

describe('overlay: LXC layout and interop', function () {
  this.timeout(120_000);
  const runner = new ExecaRunner();
  let temporary: TemporaryLxcpath | undefined;
  let berth: Berth;
  let lxcpath: string;

  const copyOne = async (source: string, target: string, snapshot: boolean): Promise<ContainerSummary> => {
    const [outcome] = await berth.copy({ source, targets: [target], ...(snapshot ? { snapshot: true, backend: 'overlay' } : {}) });
    if (!outcome?.ok) throw outcome?.error ?? new Error('no outcome');
    return outcome.container;
  };

  beforeEach(async function () {
    if (process.getuid?.() !== 0) skipBecause(this, 'overlay mounts need root');
    temporary = await makeTemporaryLxcpath();
    lxcpath = temporary.lxcpath;
    berth = (await createBerth({ modules: [overlayModule, dirModule], lxcpath, system: { ...LXC_DEFAULTS, lxcpath, defaultConfig: join(lxcpath, '.none') } })).berth;
    const source = `${lxcpath}.source`;
    await mkdir(join(source, 'etc'), { recursive: true });
    await writeFile(join(source, 'etc', 'hostname'), 'base\n');
    await writeFile(join(source, 'data'), 'from the base\n');
    await berth.create({ name: 'base', source: { kind: 'directory', path: source } });
  });

  afterEach(async function () {
    const current = temporary;
    temporary = undefined;
    if (!current) return;
    await rm(`${current.lxcpath}.source`, { recursive: true, force: true });
    await current.teardown();
  });

  it("writes a clone's rootfs as overlay:<base>/rootfs:<clone>/overlay/delta with overlay/work beside", async function () {
    await copyOne('base', 'clone', true);
    const config = await readFile(join(lxcpath, 'clone', 'config'), 'utf8');
    expect(config).to.match(new RegExp(`^lxc\\.rootfs\\.path = overlay:${lxcpath}/base/rootfs:${lxcpath}/clone/overlay/delta$`, 'm'));
    expect((await stat(join(lxcpath, 'clone', 'overlay', 'work'))).isDirectory()).to.equal(true);
    expect((await stat(join(lxcpath, 'clone', 'rootfs'))).isDirectory(), 'the mountpoint LXC uses').to.equal(true);
  });

  it("records dependencies in LXC's 2-line lxc_rdepends and lxc_snapshots", async function () {
    await copyOne('base', 'clone', true);
    await copyOne('base', 'clone2', true);
    expect(await readFile(join(lxcpath, 'clone', 'lxc_rdepends'), 'utf8')).to.equal(`${lxcpath}\nbase\n`);
    expect(await readFile(join(lxcpath, 'clone2', 'lxc_rdepends'), 'utf8')).to.equal(`${lxcpath}\nbase\n`);
    expect(await readFile(join(lxcpath, 'base', 'lxc_snapshots'), 'utf8')).to.equal(`${lxcpath}\nclone\n${lxcpath}\nclone2\n`);
    await berth.destroy('clone');
    expect(await readFile(join(lxcpath, 'base', 'lxc_snapshots'), 'utf8')).to.equal(`${lxcpath}\nclone2\n`);
  });

  it('makes lxc-destroy refuse the base while a clone exists', async function () {
    await copyOne('base', 'clone', true);
    let refusal: string | undefined;
    try {
      await runner.run(['lxc-destroy', '-P', lxcpath, '-n', 'base']);
    } catch (error) {
      refusal = BerthError.is(error) ? (error.command?.stderr ?? error.message) : String(error);
    }
    expect(refusal, 'lxc-destroy succeeded').to.include('has clones');
    expect(await berth.exists('base')).to.equal(true);
    expect(await readFile(join(lxcpath, 'base', 'rootfs', 'data'), 'utf8')).to.equal('from the base\n');
  });

  it("rewrites the clone's hostname in its upper, leaving the base's", async function () {
    await copyOne('base', 'clone', true);
    expect(await readFile(join(lxcpath, 'clone', 'overlay', 'delta', 'etc', 'hostname'), 'utf8')).to.equal('clone\n');
    expect(await readFile(join(lxcpath, 'base', 'rootfs', 'etc', 'hostname'), 'utf8')).to.equal('base\n');
  });

  it('makes a full copy of an overlay clone a standalone dir container', async function () {
    await copyOne('base', 'clone', true);
    const copy = await copyOne('clone', 'standalone', false);
    expect(copy.backend).to.equal('dir');
    expect(copy.dependsOn).to.deep.equal([]);
    expect(await readFile(join(lxcpath, 'standalone', 'config'), 'utf8')).to.match(new RegExp(`^lxc\\.rootfs\\.path = dir:${lxcpath}/standalone/rootfs$`, 'm'));
    expect(await readFile(join(lxcpath, 'base', 'lxc_snapshots'), 'utf8')).to.equal(`${lxcpath}\nclone\n`);
    await berth.destroy('clone');
    await berth.destroy('base');
    expect(await readFile(join(lxcpath, 'standalone', 'rootfs', 'data'), 'utf8')).to.equal('from the base\n');
    expect(await readFile(join(lxcpath, 'standalone', 'rootfs', 'etc', 'hostname'), 'utf8')).to.equal('standalone\n');
  });
});
