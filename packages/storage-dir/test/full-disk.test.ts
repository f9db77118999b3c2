import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { BerthError, ExecaRunner, LXC_DEFAULTS, createBerth, describeError } from '@berth/core';
import { listLxcpath, makeLoopFilesystem, mountpointsUnder, skipBecause, type LoopFilesystem } from '@berth/conformance';
import { dirModule } from '@berth/storage-dir';
import { overlayModule } from '@berth/storage-overlay';

/** A full disk mid-copy is an ordinary failure: one clear error, and nothing left behind. */
describe('dir: a copy that fills the disk', function () {
  this.timeout(120_000);
  let testbed: LoopFilesystem | undefined;

  before(async function () {
    if (process.getuid?.() !== 0) skipBecause(this, 'loop devices and mounts need root');
    testbed = await makeLoopFilesystem({ fstype: 'ext4', size: '32M', runner: new ExecaRunner() });
  });

  after(async function () {
    const current = testbed;
    testbed = undefined;
    await current?.teardown();
  });

  it('fails with ENOSPC in one line and removes the half-made copy', async function () {
    const lxcpath = join(testbed!.mountpoint, 'lxc');
    // Outside the small filesystem: 18 MiB of incompressible data, which fits on it once.
    const source = `${testbed!.mountpoint}.source`;
    await mkdir(source);
    await writeFile(join(source, 'blob'), randomBytes(18 * 1024 * 1024));
    const { berth } = await createBerth({ modules: [dirModule, overlayModule], lxcpath, system: { ...LXC_DEFAULTS, lxcpath, defaultConfig: join(lxcpath, '.none') } });
    await berth.create({ name: 'c1', source: { kind: 'directory', path: source } });
    const before = await listLxcpath(lxcpath);

    const [outcome] = await berth.copy({ source: 'c1', targets: ['c2'] });
    expect(outcome?.ok).to.equal(false);
    const error = outcome && !outcome.ok ? outcome.error : undefined;
    expect(BerthError.is(error, 'CommandFailed'), describeError(error)).to.equal(true);
    expect(error!.message).to.match(/No space left on device/);
    expect(error!.message).to.not.include('\n');
    expect(await listLxcpath(lxcpath)).to.deep.equal(before);
    expect(await mountpointsUnder(lxcpath)).to.deep.equal([]);
    expect(await berth.exists('c2')).to.equal(false);
  });
});
