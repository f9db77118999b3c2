import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { BerthError, HostFs, LXC_DEFAULTS, type ContainerRef, type OperationContext, type UndoStep, type Volume } from '@berth/core';
import { ScriptedRunner, type ScriptedCommand } from '@berth/core/testing';
import { LvmDriver } from '@berth/storage-lvm';

/**
 * The commands the LVM driver runs for a create, a snapshot clone and a mount, against a
 * scripted runner (no LVM needed): one lvs answers everything a clone or a create needs.
 * The VG is one that never exists, so that nothing reads a real device (`/dev/berthtest/…`).
 */
const VG = 'berthtest';
const LVS = ['lvs', '--noheadings', '--nosuffix', '--units', 'b', '--separator', '|', '--options', 'vg_name,lv_name,lv_attr,lv_size,pool_lv,origin,data_percent,metadata_percent'];
const POOL_ROW = (data: number) => `  ${VG}|lxc|twi-aotz--|1572864000|||${data.toFixed(2)}|11.13\n`;
const THIN_ROW = (name: string, attr = 'Vwi-a-tz--') => `  ${VG}|${name}|${attr}|1073741824|lxc||7.42|\n`;
const TOOLS = new Set(['lvs', 'vgs', 'lvcreate', 'lvchange', 'mkfs.ext4', 'debugfs', 'blkid', 'mount', 'umount']);

describe('lvm driver commands', () => {
  let lxcpath: string;
  let undo: UndoStep[];
  const ctx: OperationContext = { onUndo: async (step) => void undo.push(step), progress: () => undefined, signal: undefined };

  beforeEach(async () => {
    lxcpath = await mkdtemp(join(tmpdir(), 'berth-lvm-driver-'));
    undo = [];
  });
  afterEach(async () => {
    await rm(lxcpath, { recursive: true, force: true });
  });

  const driverWith = (script: ScriptedCommand[]) => {
    const runner = new ScriptedRunner(script, TOOLS);
    const driver = new LvmDriver(runner, new HostFs(runner), { lxcpath, system: { ...LXC_DEFAULTS, lxcpath, lvmVg: VG }, lockTimeoutMs: 1000, copyConcurrency: 1 });
    return { runner, driver };
  };
  const ref = async (name: string): Promise<ContainerRef> => {
    await mkdir(join(lxcpath, name), { recursive: true });
    return { lxcpath, name, dir: join(lxcpath, name) };
  };
  const volume = (name: string): Volume => ({ lxcpath, name, dir: join(lxcpath, name), rootfs: { type: 'lvm', source: `/dev/${VG}/${name}` } });
  const expectCode = async (promise: Promise<unknown>, code: BerthError['code']) => {
    const error = await promise.then(
      () => expect.fail(`expected a ${code} failure`),
      (e: unknown) => e,
    );
    expect(BerthError.is(error) && error.code, String(error)).to.equal(code);
    return error as BerthError;
  };

  it('a create reads the VG, the new name and the pool with one lvs', async () => {
    const { runner, driver } = driverWith([
      { argv: [...LVS, `${VG}/c1`, `${VG}/lxc`], exitCode: 5, stdout: POOL_ROW(1), stderr: `  Failed to find logical volume "${VG}/c1"\n` },
      { argv: ['lvcreate', '--yes', '--type', 'thin', '--virtualsize', '67108864b', '--thinpool', 'lxc', '--name', 'c1', VG] },
      { argv: ['mkfs.ext4', '-q', '-F', '-O', 'metadata_csum_seed', `/dev/${VG}/c1`] },
      { argv: ['debugfs', '-w', '-R', 'rmdir lost+found', `/dev/${VG}/c1`] },
    ]);
    expect(await driver.create(await ref('c1'), { fssize: '64M' }, ctx)).to.deep.equal({ type: 'lvm', source: `/dev/${VG}/c1` });
    runner.assertDone();
    expect(undo.map((s) => (s.do === 'driver' ? s.action : s.do))).to.deep.equal(['removeLv', 'removeEmptyDir']);
  });

  it('a create into a missing VG, a taken name or a full pool fails before anything is made', async () => {
    const { runner, driver } = driverWith([
      { argv: [...LVS, 'novg/c1', 'novg/lxc'], exitCode: 5, stderr: '  Volume group "novg" not found\n  Cannot process volume group novg\n' },
      { argv: ['vgs', '--noheadings', '--options', 'vg_name'], stdout: `  ${VG}\n` },
      { argv: [...LVS, `${VG}/c1`, `${VG}/lxc`], stdout: POOL_ROW(1) + THIN_ROW('c1') },
      { argv: [...LVS, `${VG}/c2`, `${VG}/lxc`], exitCode: 5, stdout: POOL_ROW(95), stderr: `  Failed to find logical volume "${VG}/c2"\n` },
    ]);
    const missing = await expectCode(driver.create(await ref('c1'), { vgname: 'novg' }, ctx), 'NotFound');
    expect(missing.message).to.equal(`no volume group novg (volume groups: ${VG}); set vgname or lxc.bdev.lvm.vg`);
    const taken = await expectCode(driver.create(await ref('c1'), {}, ctx), 'AlreadyExists');
    expect(taken.message).to.equal(`the LV ${VG}/c1 already exists; remove it or choose another name`);
    const full = await expectCode(driver.create(await ref('c2'), {}, ctx), 'FailedPrecondition');
    expect(full.message).to.match(new RegExp(`thin pool ${VG}/lxc is 95\\.00% full`));
    runner.assertDone();
    expect(undo).to.deep.equal([]);
  });

  it('a thin snapshot clone: one lvs (origin, name, pool), the activated snapshot, blkid only when xfs or btrfs may be there', async () => {
    const { runner, driver } = driverWith([
      { argv: [...LVS, `${VG}/base`, `${VG}/c2`, `${VG}/lxc`], exitCode: 5, stdout: POOL_ROW(1) + THIN_ROW('base'), stderr: `  Failed to find logical volume "${VG}/c2"\n` },
      { argv: ['lvcreate', '--yes', '--snapshot', '--setactivationskip', 'n', '--activate', 'y', '--name', 'c2', `${VG}/base`] },
      // /dev/berthtest/c2 cannot be read here: the driver asks blkid (on a real LV an ext clone skips it).
      { argv: ['blkid', '-p', '-o', 'value', '-s', 'TYPE', `/dev/${VG}/c2`], stdout: 'ext4\n' },
    ]);
    const result = await driver.snapshot(volume('base'), await ref('c2'), {}, ctx);
    expect(result).to.deep.equal({ rootfs: { type: 'lvm', source: `/dev/${VG}/c2` }, dependency: 'none' });
    runner.assertDone();
    expect(undo.map((s) => (s.do === 'driver' ? `${s.action} ${String(s.args.lv)}` : s.do))).to.deep.equal(['removeEmptyDir', 'removeLv c2']);
  });

  it('a classic snapshot clone: a copy-on-write store with room for every chunk of its origin and their records, unless sized', async () => {
    const origin = 64 * 1024 * 1024;
    const classicRow = `  ${VG}|base|-wi-a-----|${origin}||||\n`;
    // 64 MiB, its 16-byte record per 4 KiB chunk (256 KiB), and a MiB for the header.
    const room = origin + origin / 256 + 1024 * 1024;
    const { runner, driver } = driverWith([
      { argv: [...LVS, `${VG}/base`, `${VG}/c2`, `${VG}/lxc`], exitCode: 5, stdout: POOL_ROW(1) + classicRow, stderr: `  Failed to find logical volume "${VG}/c2"\n` },
      { argv: ['lvcreate', '--yes', '--snapshot', '--size', `${room}b`, '--name', 'c2', `${VG}/base`] },
      { argv: ['blkid', '-p', '-o', 'value', '-s', 'TYPE', `/dev/${VG}/c2`], stdout: 'ext4\n' },
      { argv: [...LVS, `${VG}/base`, `${VG}/c3`, `${VG}/lxc`], exitCode: 5, stdout: POOL_ROW(1) + classicRow, stderr: `  Failed to find logical volume "${VG}/c3"\n` },
      { argv: ['lvcreate', '--yes', '--snapshot', '--size', `${32 * 1024 * 1024}b`, '--name', 'c3', `${VG}/base`] },
      { argv: ['blkid', '-p', '-o', 'value', '-s', 'TYPE', `/dev/${VG}/c3`], stdout: 'ext4\n' },
    ]);
    expect(await driver.snapshot(volume('base'), await ref('c2'), {}, ctx)).to.deep.equal({ rootfs: { type: 'lvm', source: `/dev/${VG}/c2` }, dependency: 'source' });
    // --fssize sizes the store as the caller asks (LXC's lxc-copy -s -L).
    expect(await driver.snapshot(volume('base'), await ref('c3'), { fssize: '32M' }, ctx)).to.deep.equal({ rootfs: { type: 'lvm', source: `/dev/${VG}/c3` }, dependency: 'source' });
    runner.assertDone();
  });

  it('a snapshot clone refuses a pool above the threshold, and reads another pool than the configured one', async () => {
    const { runner, driver } = driverWith([
      { argv: [...LVS, `${VG}/base`, `${VG}/c2`, `${VG}/lxc`], exitCode: 5, stdout: POOL_ROW(95) + THIN_ROW('base'), stderr: `  Failed to find logical volume "${VG}/c2"\n` },
      { argv: [...LVS, `${VG}/other`, `${VG}/c3`, `${VG}/lxc`], exitCode: 5, stdout: POOL_ROW(1) + `  ${VG}|other|Vwi-a-tz--|1073741824|pool2||7.42|\n`, stderr: `  Failed to find logical volume "${VG}/c3"\n` },
      { argv: [...LVS, `${VG}/pool2`], stdout: `  ${VG}|pool2|twi-aotz--|1572864000|||97.00|1.00\n` },
    ]);
    const error = await expectCode(driver.snapshot(volume('base'), await ref('c2'), {}, ctx), 'FailedPrecondition');
    expect(error.message).to.match(new RegExp(`thin pool ${VG}/lxc is 95\\.00% full`));
    const other = await expectCode(driver.snapshot(volume('other'), await ref('c3'), {}, ctx), 'FailedPrecondition');
    expect(other.message).to.match(new RegExp(`thin pool ${VG}/pool2 is 97\\.00% full`));
    runner.assertDone();
    expect(undo).to.deep.equal([]);
  });

  it('a snapshot clone of a missing LV, or to a taken name, fails with one lvs', async () => {
    const { runner, driver } = driverWith([
      { argv: [...LVS, `${VG}/base`, `${VG}/c2`, `${VG}/lxc`], exitCode: 5, stdout: POOL_ROW(1), stderr: `  Failed to find logical volume "${VG}/base"\n  Failed to find logical volume "${VG}/c2"\n` },
      { argv: [...LVS, `${VG}/base`, `${VG}/c2`, `${VG}/lxc`], stdout: POOL_ROW(1) + THIN_ROW('base') + THIN_ROW('c2') },
    ]);
    const missing = await expectCode(driver.snapshot(volume('base'), await ref('c2'), {}, ctx), 'NotFound');
    expect(missing.message).to.equal(`the LV ${VG}/base of base does not exist`);
    const taken = await expectCode(driver.snapshot(volume('base'), await ref('c2'), {}, ctx), 'AlreadyExists');
    expect(taken.message).to.equal(`the LV ${VG}/c2 already exists; remove it or choose another name`);
    runner.assertDone();
  });

  it('mounting an LV whose device is not live asks lvs, and activates an inactive one (lxc#968)', async () => {
    const { runner, driver } = driverWith([
      { argv: [...LVS, `${VG}/l1`], stdout: THIN_ROW('l1', 'Vwi---tz-k') },
      { argv: ['lvchange', '--activate', 'y', '--ignoreactivationskip', `${VG}/l1`] },
      { argv: ['mount', `/dev/${VG}/l1`, join(lxcpath, 'mnt')] },
      { argv: [...LVS, `${VG}/gone`], exitCode: 5, stderr: `  Failed to find logical volume "${VG}/gone"\n` },
    ]);
    await driver.mount(volume('l1'), join(lxcpath, 'mnt'), ctx);
    await expectCode(driver.mount(volume('gone'), join(lxcpath, 'mnt'), ctx), 'NotFound');
    runner.assertDone();
  });
});
