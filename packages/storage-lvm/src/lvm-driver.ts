import { randomBytes } from 'node:crypto';
import { realpath, statfs } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { inject, injectable } from 'tsyringe';
import * as z from 'zod';
import {
  BERTH_SETTINGS,
  BerthError,
  COMMAND_RUNNER,
  HOST_FS,
  copyTree,
  formatBytes,
  hostCli,
  isMountpoint,
  sizeOption,
  filesystemCli,
  parseSize,
  pathExists,
  paths,
  readMounts,
  withRootfs,
  type Availability,
  type BerthSettings,
  type CommandRunner,
  type ContainerRef,
  type HostFs,
  type OperationContext,
  type QuotaCapable,
  type RenameCapable,
  type RootfsSpec,
  type SizedCapable,
  type SnapshotCapable,
  type SnapshotResult,
  type StorageCapabilities,
  type StorageDriver,
  type StorageOptions,
  type UndoStep,
  type Usage,
  type UsageCapable,
  type Volume,
  type VolumeShape,
} from '@berth/core';
import { isLiveLv, mayNeedNewUuid } from './device.js';
import * as lvm from './lvm-cli.js';

const DEFAULT_FSSIZE = '1G';
const DEFAULT_FSTYPE: lvm.LvmFstype = 'ext4';
const DEFAULT_THINPOOL_THRESHOLD = 90;
/** LVM sizes count in 512-byte sectors. */
const SECTOR = 512;
/** What LVM accepts in VG and LV names. */
const LVM_NAME = /^[A-Za-z0-9+_.-]+$/;
/** btrfs resizes a device only to 256 MiB or more (the kernel's BTRFS_IOC_RESIZE says EINVAL below). */
const BTRFS_MINIMUM_RESIZE = 256 * 1024 * 1024;
/** LVM keeps these for its own hidden sub-LVs: no LV name may contain them. */
const RESERVED_PARTS = ['_cdata', '_cmeta', '_corig', '_cpool', '_cvol', '_iorig', '_mimage', '_mlog', '_pmspare', '_rimage', '_rmeta', '_tdata', '_tmeta', '_vdata', '_vorigin', '_wcorig'];
/** LVM's limit on a VG or LV name (NAME_LEN 128 with its NUL). */
const MAX_LV_NAME = 127;

const lvmName = (what: string) =>
  z
    .string()
    .regex(LVM_NAME, `expected a ${what} name of letters, digits and + _ . - (as LVM allows)`)
    .refine((name) => !name.startsWith('-') && name !== '.' && name !== '..', `a ${what} name cannot start with "-" or be "." or ".."`);

export const lvmOptionsSchema = z.strictObject({
  vgname: lvmName('volume group')
    .optional()
    .describe('Volume group of new LVs (default: lxc.bdev.lvm.vg of /etc/lxc/lxc.conf, else lxc); it must exist'),
  thinpool: lvmName('thin pool')
    .optional()
    .describe('Thin pool LV in the volume group (default: lxc.bdev.lvm.thin_pool, else lxc); when it is not a thin pool, new LVs are classic (fully allocated)'),
  fssize: sizeOption()
    .optional()
    .describe('Size of the new LV (thin: virtual size), e.g. 512M or 4G; a bare number means MiB. Default 1G; a copy keeps its source\'s size. For a classic snapshot clone: the room for changes (default: the origin\'s size)'),
  fstype: z
    .enum(filesystemCli.BLOCK_FSTYPES)
    .optional()
    .describe('Filesystem made on the LV: ext4 (default), xfs or btrfs (ext2, ext3 too); a copy keeps its source\'s'),
  size: sizeOption()
    .optional()
    .describe('The LV size as a quota: at create the same as fssize; for a copy or clone, grow it to this size (never shrink). `berth quota` grows it later (lvextend + filesystem grow)'),
  thinpoolThreshold: z
    .number()
    .min(0)
    .max(100)
    .optional()
    .describe('Refuse to create or clone into a thin pool whose data or metadata use is above this percentage (default 90), instead of letting the pool fill up'),
});

type LvmOptions = z.infer<typeof lvmOptionsSchema>;

/** A volume's LV: `/dev/<vg>/<lv>`. */
interface LvRef {
  readonly vg: string;
  readonly lv: string;
}

/** The LV name a new volume wants (see `wantedLvName`). */
interface WantedName {
  /** The container it is for. */
  readonly container: string;
  readonly name: string;
  /** Only this name will do (a container's own name); else a random suffix is added when it is taken. */
  readonly exact: boolean;
  /** Why LVM cannot take it (thrown when the name is picked), undefined when it can. */
  readonly problem: string | undefined;
}

/**
 * What one `lvs` said of the LVs an operation needs in a VG (by name), or undefined when
 * the VG does not exist. In a dry run without lvm2 nothing is known: an empty map.
 */
type LvRows = ReadonlyMap<string, lvm.LvInfo> | undefined;

/**
 * Why LVM cannot take `name` as an LV name, or undefined when it can: letters, digits
 * and `+ _ . -`, not starting with `-`, not `.`/`..`, not `snapshot*`/`pvmove*`, none of
 * LVM's reserved sub-LV suffixes, at most 127 characters.
 */
export function lvNameProblem(name: string): string | undefined {
  if (!LVM_NAME.test(name)) return 'LVM allows only letters, digits and + _ . - in LV names';
  if (name.startsWith('-')) return 'an LV name cannot start with "-"';
  if (name === '.' || name === '..') return 'an LV name cannot be "." or ".."';
  if (/^(snapshot|pvmove)/.test(name)) return 'LVM reserves LV names starting with "snapshot" or "pvmove"';
  const reserved = RESERVED_PARTS.find((part) => name.includes(part));
  if (reserved) return `LVM reserves LV names containing "${reserved}"`;
  if (name.length > MAX_LV_NAME) return `LVM allows at most ${MAX_LV_NAME} characters in an LV name`;
  return undefined;
}

/**
 * LVM logical volumes: a container's rootfs is the LV `<vg>/<name>` holding a
 * filesystem (`lvm:/dev/<vg>/<name>` in the config), mounted on the empty `rootfs/`
 * mountpoint, as LXC makes it.
 *
 * - New LVs are thin volumes in `<vg>/<thinpool>` when that LV is a thin pool, else
 *   classic LVs; before anything is made in a thin pool its data and metadata use are
 *   checked against `thinpoolThreshold`, so that berth never fills a pool (a full pool
 *   stalls every volume in it).
 * - Snapshot clones (`copy -s`) of a thin volume are thin snapshots made active (without
 *   LVM's activation-skip flag, which leaves LXC's clones unmountable, lxc#968); they
 *   stand alone. Of a classic LV: a classic snapshot (`-L`), which needs its origin — the
 *   core records the dependency. xfs and btrfs clones get a new filesystem UUID.
 * - Container snapshots are thin snapshots (full copies on classic LVs: a classic
 *   snapshot cannot itself be snapshotted, nor outlive its origin).
 * - A full copy is the core's: a new LV of the source's size and filesystem (`inspect`)
 *   filled by a file copy, from any backend.
 */
@injectable()
export class LvmDriver implements StorageDriver, SnapshotCapable, SizedCapable, QuotaCapable, UsageCapable, RenameCapable {
  readonly type = 'lvm';
  readonly aliases: readonly string[] = [];
  readonly description = 'LVM logical volumes in a thin pool (or classic); activated thin snapshot clones and container snapshots; fssize/fstype; grow with quota; pool-fill safety';
  readonly capabilities: StorageCapabilities = {
    snapshot: true,
    snapshotSources: ['lvm'],
    nativeCopy: false,
    directAccess: false,
    sized: true,
    quota: true,
    usage: true,
    rename: true,
  };
  readonly optionsSchema = lvmOptionsSchema;

  constructor(
    @inject(COMMAND_RUNNER) private readonly runner: CommandRunner,
    @inject(HOST_FS) private readonly fs: HostFs,
    @inject(BERTH_SETTINGS) private readonly settings: BerthSettings,
  ) {}

  async probe(): Promise<Availability> {
    for (const tool of ['lvs', 'vgs', 'lvcreate', 'lvremove', 'lvchange', 'lvrename', 'lvextend', 'blkid', 'mount', 'umount', 'mkfs.ext4']) {
      if (!(await this.runner.which(tool))) return { available: false, reason: `${tool} is not installed${tool.startsWith('lv') || tool === 'vgs' ? ' (install lvm2, and thin-provisioning-tools for thin pools)' : ''}` };
    }
    if (!(await pathExists('/dev/mapper/control'))) {
      return { available: false, reason: 'no device-mapper: /dev/mapper/control is missing (modprobe dm-mod dm-thin-pool dm-snapshot)' };
    }
    return { available: true };
  }

  /** An unprefixed `/dev/<vg>/<lv>` that names an existing LV. */
  async detect(path: string): Promise<boolean> {
    const ref = parseDevicePath(path);
    if (!ref || !(await this.runner.which('lvs'))) return false;
    try {
      return (await lvm.lvInfo(this.runner, ref.vg, ref.lv)) !== undefined;
    } catch {
      return false;
    }
  }

  async create(target: ContainerRef, options: StorageOptions, ctx: OperationContext): Promise<RootfsSpec> {
    return this.createLv(target, lvmOptionsSchema.parse(options), ctx);
  }

  /**
   * `create`, with what one `lvs` of the VG already said (`known`, read for `wanted` and
   * the pool) when the caller has it: the new name's LV, the thin pool and the VG itself
   * come from a single lvs either way.
   */
  private async createLv(target: ContainerRef, parsed: LvmOptions, ctx: OperationContext, known?: { rows: LvRows; wanted: WantedName }): Promise<RootfsSpec> {
    const fstype = parsed.fstype ?? DEFAULT_FSTYPE;
    const bytes = roundToSector(createSize(parsed));
    const vg = parsed.vgname ?? this.settings.system.lvmVg;
    const pool = parsed.thinpool ?? this.settings.system.lvmThinPool;
    const wanted = known?.wanted ?? wantedLvName(target);
    const rows = known ? known.rows : await this.readLvs(vg, [wanted, pool]);
    const lv = pickLvName(wanted, vg, rows);
    await this.requireTools(lvm.mkfsTools(fstype), `a ${fstype} LV`);
    if (!rows) await this.vgMissing(vg);
    const thin = thinPoolRow(rows, pool);
    if (thin) this.refuseFullPool(thin, parsed);

    await ctx.onUndo(this.step('removeLv', { vg, lv }));
    if (thin) await this.lvm(`cannot create the thin LV ${vg}/${lv} in pool ${pool}`, () => lvm.createThin(this.runner, vg, pool, lv, bytes));
    else await this.lvm(`cannot create the LV ${vg}/${lv}`, () => lvm.createClassic(this.runner, vg, lv, bytes));
    const device = devicePath({ vg, lv });
    await lvm.mkfs(this.runner, fstype, device, bytes);
    if (fstype.startsWith('ext')) await lvm.removeLostAndFound(this.runner, device);
    await this.makeMountpoint(target, ctx);
    return { type: this.type, source: device };
  }

  /**
   * A thin snapshot of a thin volume (standalone), a classic snapshot of a classic LV
   * (needs its origin); a container snapshot of a classic LV, and a clone of a classic
   * snapshot, are full copies instead.
   */
  async snapshot(source: Volume, target: ContainerRef, options: StorageOptions, ctx: OperationContext): Promise<SnapshotResult> {
    const parsed = lvmOptionsSchema.parse(options);
    const origin = this.lvOf(source);
    // One lvs for everything the clone needs: the origin, the new name, and the thin pool
    // (the origin's pool is only known from its row: the configured pool is read on the
    // chance it is that one, as it nearly always is; another pool costs a second lvs).
    const wanted = wantedLvName(target);
    const guessedPool = parsed.thinpool ?? this.settings.system.lvmThinPool;
    const rows = await this.readLvs(origin.vg, [origin.lv, wanted, guessedPool], true);
    const info = rows?.get(origin.lv);
    if (!rows || !info) throw new BerthError('NotFound', `the LV ${origin.vg}/${origin.lv} of ${source.name} does not exist`);
    if (parsed.vgname !== undefined && parsed.vgname !== origin.vg) {
      throw new BerthError('NotSupported', `cannot snapshot ${origin.vg}/${origin.lv} into the volume group ${parsed.vgname}: an LVM snapshot stays in its origin's VG (copy without --snapshot instead)`);
    }
    const kind = info.attr[0];
    if (kind === 'V') {
      const pool = info.pool && (rows.has(info.pool) || info.pool === guessedPool) ? thinPoolRow(rows, info.pool) : await this.thinPool(origin.vg, info.pool);
      if (pool) this.refuseFullPool(pool, parsed);
      const lv = pickLvName(wanted, origin.vg, rows);
      await this.makeMountpoint(target, ctx);
      await ctx.onUndo(this.step('removeLv', { vg: origin.vg, lv }));
      await this.lvm(`cannot make a thin snapshot of ${origin.vg}/${origin.lv}`, () => lvm.thinSnapshot(this.runner, origin.vg, origin.lv, lv));
      // A thin snapshot has its origin's (virtual) size.
      const spec = await this.finishClone({ vg: origin.vg, lv }, target, parsed, info.sizeBytes, ctx);
      return { rootfs: spec, dependency: 'none' };
    }
    if ((kind === '-' || kind === 'o') && !isContainerSnapshot(target)) {
      const lv = pickLvName(wanted, origin.vg, rows);
      const room = parsed.fssize !== undefined ? roundToSector(parseSize(parsed.fssize, 'fssize')) : classicSnapshotRoom(info.sizeBytes);
      await this.makeMountpoint(target, ctx);
      await ctx.onUndo(this.step('removeLv', { vg: origin.vg, lv }));
      await this.lvm(`cannot make a snapshot of ${origin.vg}/${origin.lv}`, () => lvm.classicSnapshot(this.runner, origin.vg, origin.lv, lv, room));
      const spec = await this.finishClone({ vg: origin.vg, lv }, target, { ...parsed, size: undefined }, info.sizeBytes, ctx);
      return { rootfs: spec, dependency: 'source' };
    }
    // The copy's new LV goes to the origin's VG and the configured pool: both already read.
    const shape = await this.shapeOf(origin, info, source.name);
    return { rootfs: await this.copyFiles(source, shape, target, { ...parsed, vgname: origin.vg }, ctx, { rows, wanted }), dependency: 'none' };
  }

  async mount(volume: Volume, mountpoint: string, ctx: OperationContext): Promise<void> {
    const ref = this.lvOf(volume);
    const device = devicePath(ref);
    // Live (its device-mapper device is there under its name, by sysfs): no lvs needed.
    if (!this.runner.dryRun && !(await isLiveLv(device, ref.vg, ref.lv))) {
      const info = await lvm.lvInfo(this.runner, ref.vg, ref.lv);
      if (!info) throw new BerthError('NotFound', `the LV ${ref.vg}/${ref.lv} of ${volume.name} does not exist`);
      // Inactive (a thin snapshot LXC made, with the activation-skip flag): activate it.
      if (info.attr[4] !== 'a') await this.lvm(`cannot activate ${ref.vg}/${ref.lv}`, () => lvm.activate(this.runner, ref.vg, ref.lv));
    }
    await ctx.onUndo({ do: 'unmount', path: mountpoint });
    await lvm.mount(this.runner, device, mountpoint);
  }

  async unmount(_volume: Volume, mountpoint: string): Promise<void> {
    if (this.runner.dryRun || (await isMountpoint(mountpoint))) await hostCli.umount(this.runner, mountpoint);
  }

  /**
   * Removes the LV; a missing one is no error. Refused while it is mounted, and while it
   * is the origin of classic snapshots (lvremove would take them along).
   */
  async destroy(volume: Volume): Promise<void> {
    await this.removeLv(this.lvOf(volume));
  }

  async rename(volume: Volume, target: ContainerRef, ctx: OperationContext): Promise<RootfsSpec> {
    const from = this.lvOf(volume);
    const lv = await this.newLvName(target, from.vg);
    await ctx.onUndo(this.step('renameLv', { vg: from.vg, from: lv, to: from.lv }));
    await this.lvm(`cannot rename ${from.vg}/${from.lv} to ${lv}`, () => lvm.rename(this.runner, from.vg, from.lv, lv));
    return { type: this.type, source: devicePath({ vg: from.vg, lv }) };
  }

  async revert(action: string, args: Readonly<Record<string, unknown>>): Promise<void> {
    const text = (key: string): string => {
      const value = args[key];
      if (typeof value !== 'string') throw new BerthError('Internal', `lvm undo ${action}: no ${key}`);
      return value;
    };
    switch (action) {
      case 'removeLv':
        return this.removeLv({ vg: text('vg'), lv: text('lv') });
      case 'renameLv': {
        const vg = text('vg');
        const rows = await lvm.lvsOf(this.runner, vg, [text('from'), text('to')]);
        if (!rows?.has(text('from')) || rows.has(text('to'))) return;
        await this.lvm(`cannot rename ${vg}/${text('from')} back to ${text('to')}`, () => lvm.rename(this.runner, vg, text('from'), text('to')));
        return;
      }
      case 'restoreSize':
        if (typeof args.bytes !== 'number') break;
        return this.restoreSize({ vg: text('vg'), lv: text('lv') }, args.bytes);
    }
    throw new BerthError('Internal', `lvm driver cannot revert ${action}`);
  }

  async inspect(volume: Volume): Promise<VolumeShape & { sizeBytes: number; fstype: string }> {
    const ref = this.lvOf(volume);
    return this.shapeOf(ref, await this.requireLv(ref, volume.name), volume.name);
  }

  /**
   * From `lvs`: the LV's size (the limit) and, for a thin volume, how much of it the pool
   * has allocated (data%), with the pool's own data and metadata use; where the LV is
   * mounted here, the filesystem's free space too.
   */
  async usage(volume: Volume): Promise<Usage> {
    const ref = this.lvOf(volume);
    // The LV's pool is read in the same lvs when it is the configured pool (it nearly always is).
    const guessedPool = this.settings.system.lvmThinPool;
    const rows = await this.readLvs(ref.vg, [ref.lv, guessedPool], true);
    const info = rows?.get(ref.lv);
    if (!info) throw new BerthError('NotFound', `the LV ${ref.vg}/${ref.lv} of ${volume.name} does not exist`);
    const details: Record<string, number | string> = { lvSize: info.sizeBytes, attr: info.attr };
    let usedBytes = info.sizeBytes;
    if (info.attr[0] === 'V' && info.dataPercent !== undefined) {
      usedBytes = Math.round((info.sizeBytes * info.dataPercent) / 100);
      details.dataPercent = info.dataPercent;
      const pool = info.pool === guessedPool ? rows?.get(info.pool) : await lvm.lvInfo(this.runner, ref.vg, info.pool);
      if (pool) {
        details.pool = `${ref.vg}/${info.pool}`;
        if (pool.dataPercent !== undefined) details.poolDataPercent = pool.dataPercent;
        if (pool.metadataPercent !== undefined) details.poolMetadataPercent = pool.metadataPercent;
      }
    } else if (info.attr[0] === 's' && info.dataPercent !== undefined) {
      details.snapshotPercent = info.dataPercent;
      details.origin = `${ref.vg}/${info.origin}`;
    }
    const mountpoint = (await this.mountpointsOf(ref))[0];
    let freeBytes: number | undefined;
    if (mountpoint) {
      const fsStats = await statfs(mountpoint);
      freeBytes = fsStats.bavail * fsStats.bsize;
      details.filesystemUsed = (fsStats.blocks - fsStats.bfree) * fsStats.bsize;
    }
    return { usedBytes, limitBytes: info.sizeBytes, ...(freeBytes !== undefined ? { freeBytes } : {}), details };
  }

  /** Grows the LV and its filesystem to `bytes`; an LV cannot shrink here, nor lose its size. */
  async setQuota(volume: Volume, bytes: number | null, ctx: OperationContext): Promise<void> {
    if (bytes === null) {
      throw new BerthError('InvalidArgument', `${volume.name} is an LV of a fixed size: its size cannot be removed, only grown (berth quota ${volume.name} SIZE)`);
    }
    const ref = this.lvOf(volume);
    const current = (await this.requireLv(ref, volume.name)).sizeBytes;
    const wanted = roundToSector(bytes);
    if (wanted < current) {
      throw new BerthError(
        'FailedPrecondition',
        `cannot shrink ${volume.name} from ${formatBytes(current)} to ${formatBytes(bytes)}: berth only grows LVs (copy it into a smaller one with berth copy --fssize)`,
      );
    }
    if (wanted === current) return;
    await this.grow(volume, wanted, ctx, current);
  }

  // ---------------------------------------------------------------- helpers

  private step(action: string, args: Record<string, unknown>): UndoStep {
    return { do: 'driver', driver: this.type, action, args };
  }

  private lvOf(volume: Volume): LvRef {
    const ref = parseDevicePath(volume.rootfs.source);
    if (!ref) throw new BerthError('InvalidArgument', `${volume.name}: ${JSON.stringify(volume.rootfs.source)} is not an LV path (/dev/<vg>/<lv>)`);
    return ref;
  }

  /** The LV name for a new volume (see `wantedLvName`), checked against LVM with one lvs. */
  private async newLvName(target: ContainerRef, vg: string): Promise<string> {
    const wanted = wantedLvName(target);
    if (wanted.problem) return pickLvName(wanted, vg, new Map());
    return pickLvName(wanted, vg, await this.readLvs(vg, [wanted]));
  }

  /**
   * One `lvs` of the named LVs of `vg` (a wanted name stands for its name; names LVM
   * cannot have are left out: they cannot exist). Undefined when the VG does not exist.
   * In a dry run without lvm2, nothing is known (an empty map) unless `always`.
   */
  private async readLvs(vg: string, names: readonly (string | WantedName | undefined)[], always = false): Promise<LvRows> {
    if (!always && this.runner.dryRun && !(await this.runner.which('lvs'))) return new Map();
    const wanted = names.map((n) => (typeof n === 'object' ? n.name : n)).filter((n): n is string => n !== undefined && LVM_NAME.test(n));
    return lvm.lvsOf(this.runner, vg, wanted);
  }

  /** Throws the error of a missing volume group, naming those that exist. */
  private async vgMissing(vg: string): Promise<never> {
    const names = await lvm.vgNames(this.runner).catch(() => [] as string[]);
    throw new BerthError('NotFound', `no volume group ${vg}${names.length ? ` (volume groups: ${names.join(', ')})` : ''}; set vgname or lxc.bdev.lvm.vg`);
  }

  private async requireLv(ref: LvRef, name: string): Promise<lvm.LvInfo> {
    const info = await lvm.lvInfo(this.runner, ref.vg, ref.lv);
    if (!info) throw new BerthError('NotFound', `the LV ${ref.vg}/${ref.lv} of ${name} does not exist`);
    return info;
  }

  /** The pool's `lvs` row when `<vg>/<pool>` is a thin pool (lv_attr starts with `t`), else undefined. */
  private async thinPool(vg: string, pool: string): Promise<lvm.LvInfo | undefined> {
    if (!pool) return undefined;
    return thinPoolRow(await this.readLvs(vg, [pool]), pool);
  }

  /** Size (from the LV's lvs row) and filesystem (blkid) of an LV, as a copy keeps them. */
  private async shapeOf(ref: LvRef, info: lvm.LvInfo, name: string): Promise<{ sizeBytes: number; fstype: string }> {
    const fstype = await lvm.probeTag(this.runner, devicePath(ref), 'TYPE');
    if (!fstype) throw new BerthError('FailedPrecondition', `the LV ${ref.vg}/${ref.lv} of ${name} holds no filesystem blkid recognises`);
    return { sizeBytes: info.sizeBytes, fstype };
  }

  /** Refuses to add to a thin pool whose data or metadata use is above the threshold. */
  private refuseFullPool(pool: lvm.LvInfo, options: LvmOptions): void {
    const threshold = options.thinpoolThreshold ?? DEFAULT_THINPOOL_THRESHOLD;
    const data = pool.dataPercent ?? 0;
    const metadata = pool.metadataPercent ?? 0;
    if (data <= threshold && metadata <= threshold) return;
    throw new BerthError(
      'FailedPrecondition',
      `thin pool ${pool.vg}/${pool.name} is ${data.toFixed(2)}% full (data) and ${metadata.toFixed(2)}% (metadata), above the ${threshold}% threshold: ` +
        'extend it (lvextend) or free space before adding volumes (thinpoolThreshold sets the limit)',
    );
  }

  /**
   * After a snapshot of `sizeBytes`: a new filesystem UUID where duplicates are refused,
   * then growing to `size`. blkid runs only when the superblock magics say the clone may
   * be xfs or btrfs (the only filesystems whose UUID is renewed): an ext clone needs none.
   */
  private async finishClone(ref: LvRef, target: ContainerRef, options: LvmOptions, sizeBytes: number, ctx: OperationContext): Promise<RootfsSpec> {
    const spec: RootfsSpec = { type: this.type, source: devicePath(ref) };
    const fstype = this.runner.dryRun || !(await mayNeedNewUuid(spec.source)) ? undefined : await lvm.probeTag(this.runner, spec.source, 'TYPE');
    if (fstype) await this.renewUuid(ref, fstype, target);
    if (options.size !== undefined) {
      const bytes = roundToSector(parseSize(options.size, 'size'));
      const current = this.runner.dryRun ? 0 : sizeBytes;
      if (bytes > current) await this.grow({ ...target, rootfs: spec }, bytes, ctx, current, fstype);
    }
    return spec;
  }

  /**
   * A clone must not share its origin's filesystem UUID: xfs refuses to mount a
   * duplicate, btrfs confuses the two. A snapshot of a mounted xfs has a dirty log, which
   * xfs_admin refuses: it is replayed by one mount (`nouuid`) first.
   */
  private async renewUuid(ref: LvRef, fstype: string, target: ContainerRef): Promise<void> {
    const device = devicePath(ref);
    if (fstype === 'btrfs') {
      await this.requireTools(['btrfstune'], 'a clone of a btrfs LV');
      await lvm.btrfsNewUuid(this.runner, device);
      return;
    }
    if (fstype !== 'xfs') return;
    await this.requireTools(['xfs_admin'], 'a clone of an xfs LV');
    try {
      await lvm.xfsNewUuid(this.runner, device);
    } catch (error) {
      if (!(BerthError.is(error) && /log|replay|mount/i.test(`${error.command?.stderr ?? ''} ${error.message}`))) throw error;
      const scratch = join(target.lxcpath, '.berth', 'mnt', `${ref.lv}-uuid-${randomBytes(4).toString('hex')}`);
      await this.fs.mkdirp(scratch, 0o700);
      try {
        await lvm.mount(this.runner, device, scratch, ['nouuid']);
        await hostCli.umount(this.runner, scratch);
      } finally {
        await this.fs.removeEmptyDir(scratch);
      }
      await lvm.xfsNewUuid(this.runner, device);
    }
  }

  /**
   * A copy as a new LV (of the source's `shape` unless the options say otherwise) filled
   * by a file copy (classic snapshots cannot be snapshotted); `known`: the lvs rows of the
   * target VG already read for the new name and pool.
   */
  private async copyFiles(
    source: Volume,
    shape: { sizeBytes: number; fstype: string },
    target: ContainerRef,
    options: LvmOptions,
    ctx: OperationContext,
    known: { rows: LvRows; wanted: WantedName },
  ): Promise<RootfsSpec> {
    const parsed = lvmOptionsSchema.parse({ ...options, fssize: options.fssize ?? `${shape.sizeBytes}B`, fstype: options.fstype ?? shape.fstype, size: undefined });
    const spec = await this.createLv(target, parsed, ctx, known);
    const scratch = join(target.lxcpath, '.berth', 'mnt');
    await withRootfs(this.fs, this, source, ctx, scratch, (from) =>
      withRootfs(this.fs, this, { ...target, rootfs: spec }, ctx, scratch, (to) => copyTree(this.runner, from, to, ctx, false)),
    );
    return spec;
  }

  private async makeMountpoint(target: ContainerRef, ctx: OperationContext): Promise<void> {
    const rootfs = paths.rootfs(target);
    await ctx.onUndo({ do: 'removeEmptyDir', path: rootfs });
    await this.fs.mkdir(rootfs, 0o755);
  }

  private async requireTools(tools: readonly string[], what: string): Promise<void> {
    if (this.runner.dryRun) return;
    for (const tool of tools) {
      if (!(await this.runner.which(tool))) throw new BerthError('Unavailable', `${tool} is needed for ${what} and is not installed`);
    }
  }

  /**
   * lvextend, then the filesystem: ext2/3/4 online where mounted here, else offline
   * (`e2fsck -f`, `resize2fs`); xfs and btrfs grow only mounted, at a scratch mountpoint
   * when nobody mounts them (btrfs not below 256 MiB, which the kernel refuses: checked
   * before the LV changes). The undo shrinks the LV back only while its filesystem still
   * fits in the old size.
   */
  private async grow(volume: Volume, bytes: number, ctx: OperationContext, sizeBytes: number, knownFstype?: string): Promise<void> {
    const ref = this.lvOf(volume);
    const device = devicePath(ref);
    const fstype = knownFstype || (await lvm.probeTag(this.runner, device, 'TYPE'));
    if (!fstype) throw new BerthError('FailedPrecondition', `the LV ${ref.vg}/${ref.lv} of ${volume.name} holds no filesystem blkid recognises`);
    const ext = fstype.startsWith('ext');
    const tools = fstype === 'xfs' ? ['xfs_growfs', 'xfs_info'] : fstype === 'btrfs' ? ['btrfs'] : ext ? ['resize2fs', 'e2fsck'] : undefined;
    if (!tools) throw new BerthError('NotSupported', `cannot grow a ${fstype} filesystem`);
    if (fstype === 'btrfs' && bytes < BTRFS_MINIMUM_RESIZE) {
      throw new BerthError(
        'FailedPrecondition',
        `cannot grow the btrfs of ${volume.name} to ${formatBytes(bytes)}: btrfs resizes its device only to ${formatBytes(BTRFS_MINIMUM_RESIZE)} or more (give at least 256M)`,
      );
    }
    await this.requireTools(tools, `growing a ${fstype} LV`);
    await ctx.onUndo(this.step('restoreSize', { ...ref, bytes: sizeBytes }));
    await this.lvm(`cannot extend ${ref.vg}/${ref.lv}`, () => lvm.extend(this.runner, ref.vg, ref.lv, bytes));
    const mounted = (await this.mountpointsOf(ref))[0];
    if (ext && !mounted) {
      await lvm.e2fsck(this.runner, device);
      await lvm.resize2fs(this.runner, device);
      return;
    }
    if (mounted) return this.growMounted(fstype, device, mounted);
    const scratchRoot = join(volume.lxcpath, '.berth', 'mnt');
    await this.fs.mkdirp(scratchRoot, 0o700);
    const mountpoint = join(scratchRoot, `${volume.name}-grow-${randomBytes(4).toString('hex')}`);
    await ctx.onUndo({ do: 'removeEmptyDir', path: mountpoint });
    await this.fs.mkdir(mountpoint, 0o755);
    await this.mount(volume, mountpoint, ctx);
    try {
      await this.growMounted(fstype, device, mountpoint);
    } finally {
      await this.unmount(volume, mountpoint);
      await this.fs.removeEmptyDir(mountpoint);
    }
  }

  private async growMounted(fstype: string, device: string, mountpoint: string): Promise<void> {
    if (fstype === 'xfs') await lvm.xfsGrowfs(this.runner, mountpoint);
    else if (fstype === 'btrfs') await lvm.btrfsResizeMax(this.runner, mountpoint);
    else await lvm.resize2fs(this.runner, device);
  }

  /**
   * Undo of a grow: shrinks the LV back while its filesystem has not grown past the old
   * size (ext: dumpe2fs; xfs: xfs_info; btrfs: its device size); otherwise, or when the
   * size cannot be read, it stays grown.
   */
  private async restoreSize(ref: LvRef, bytes: number): Promise<void> {
    if (this.runner.dryRun) return;
    const info = await lvm.lvInfo(this.runner, ref.vg, ref.lv);
    if (!info || info.sizeBytes <= bytes) return;
    const device = devicePath(ref);
    const fstype = await lvm.probeTag(this.runner, device, 'TYPE');
    const read = fstype.startsWith('ext') ? lvm.ext4SizeBytes : fstype === 'xfs' ? lvm.xfsSizeBytes : fstype === 'btrfs' ? lvm.btrfsSizeBytes : undefined;
    if (!read) return;
    const filesystemBytes = await read(this.runner, device).catch(() => undefined);
    if (filesystemBytes !== undefined && filesystemBytes <= bytes) await lvm.reduce(this.runner, ref.vg, ref.lv, bytes);
  }

  /** Where the LV is mounted in this mount namespace (matched by the device node, whatever path mounted it). */
  private async mountpointsOf(ref: LvRef): Promise<string[]> {
    const node = await realpath(devicePath(ref)).catch(() => undefined);
    if (!node) return [];
    const found: string[] = [];
    for (const mount of await readMounts()) {
      if (!mount.source.startsWith('/dev/')) continue;
      if ((await realpath(mount.source).catch(() => mount.source)) === node) found.push(mount.mountpoint);
    }
    return found;
  }

  private async removeLv(ref: LvRef): Promise<void> {
    if (this.runner.dryRun && !(await this.runner.which('lvs'))) {
      await lvm.remove(this.runner, ref.vg, ref.lv);
      return;
    }
    const info = await lvm.lvInfo(this.runner, ref.vg, ref.lv);
    if (!info) return;
    const mountpoints = await this.mountpointsOf(ref);
    if (mountpoints.length > 0) throw new BerthError('InUse', `the LV ${ref.vg}/${ref.lv} is mounted at ${mountpoints.join(', ')}; unmount it first`);
    if (info.attr[0] === 'o') {
      const snapshots = (await lvm.listLvs(this.runner, ref.vg)).filter((l) => l.origin === ref.lv).map((l) => l.name);
      if (snapshots.length > 0) {
        throw new BerthError('FailedPrecondition', `the LV ${ref.vg}/${ref.lv} is the origin of the classic snapshots ${snapshots.join(', ')}: remove them first`);
      }
    }
    await this.lvm(`cannot remove ${ref.vg}/${ref.lv}`, () => lvm.remove(this.runner, ref.vg, ref.lv));
  }

  /** Runs an lvm2 command, turning its failure into a BerthError with a clear code. */
  private async lvm<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (!BerthError.is(error)) throw BerthError.wrap(error, 'Internal', what);
      const stderr = error.command?.stderr ?? '';
      const reason = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^WARNING/.test(l)).slice(-1)[0] ?? error.message;
      const code: BerthError['code'] = /already exists/i.test(stderr)
        ? 'AlreadyExists'
        : /not found|failed to find/i.test(stderr)
          ? 'NotFound'
          : /in use|open|busy/i.test(stderr)
            ? 'InUse'
            : /insufficient free space|not enough/i.test(stderr)
              ? 'FailedPrecondition'
              : error.code;
      throw new BerthError(code, `${what}: ${reason}`, { cause: error });
    }
  }
}

/** `/dev/<vg>/<lv>` → its VG and LV; undefined for anything else. */
export function parseDevicePath(path: string): LvRef | undefined {
  const match = /^\/dev\/([^/]+)\/([^/]+)$/.exec(path);
  if (!match) return undefined;
  const [, vg, lv] = match as unknown as [string, string, string];
  if (vg === 'mapper' || vg === 'disk' || !LVM_NAME.test(vg) || !LVM_NAME.test(lv)) return undefined;
  return { vg, lv };
}

function devicePath(ref: LvRef): string {
  return `/dev/${ref.vg}/${ref.lv}`;
}

/** The size of a new LV: `size` and `fssize` mean the same at create; given both, they must agree. */
function createSize(options: LvmOptions): number {
  const fssize = parseSize(options.fssize ?? DEFAULT_FSSIZE, 'fssize');
  if (options.size === undefined) return fssize;
  const size = parseSize(options.size, 'size');
  if (options.fssize !== undefined && size !== fssize) {
    throw new BerthError('InvalidArgument', `--size ${options.size} and --fssize ${options.fssize} disagree: an LV has one size (give one of them)`);
  }
  return size;
}

function roundToSector(bytes: number): number {
  return Math.ceil(bytes / SECTOR) * SECTOR;
}

/**
 * The copy-on-write store of a classic snapshot that cannot overflow (an overflowed
 * snapshot is invalid: its data is gone). Each chunk of the origin is copied there at
 * most once, whichever side writes it, but the store also keeps a 16-byte record per
 * chunk (1/256 of the data at the smallest, 4 KiB, chunks) and a header chunk: a store
 * the size of its origin, as LXC makes, fills up before the last chunks are written. A MiB
 * more covers the header and a part-filled record chunk at chunk sizes up to 512 KiB: at
 * most that MiB and the extent rounding go unused.
 */
function classicSnapshotRoom(originBytes: number): number {
  return roundToSector(originBytes + Math.ceil(originBytes / 256) + 1024 * 1024);
}

/** `<lxcpath>/<c>/snaps/snapN`: a container snapshot. */
function isContainerSnapshot(ref: ContainerRef): boolean {
  return basename(ref.lxcpath) === 'snaps' && /^snap\d+$/.test(ref.name);
}

/**
 * The LV name for a new volume: the container's name; `<container>_<snapN>` for a
 * container snapshot; `<name>.<random>` for berth's own hidden directories
 * (`.c.berth-restore`). A container's name that LVM cannot take, or that is taken, is
 * an error (never adopt someone's LV); the others get a random suffix when taken.
 */
function wantedLvName(target: ContainerRef): WantedName {
  const named = (name: string, exact: boolean): WantedName => ({ container: target.name, name, exact, problem: lvNameProblem(name) });
  if (isContainerSnapshot(target)) return named(`${basename(join(target.lxcpath, '..'))}_${target.name}`, false);
  if (target.name.startsWith('.')) return named(`${target.name}.${randomBytes(3).toString('hex')}`, false);
  return named(target.name, true);
}

/** The name to create, given what lvs said of `wanted` (`rows`; undefined: the VG does not exist, so nothing is taken). */
function pickLvName(wanted: WantedName, vg: string, rows: LvRows): string {
  const { container, name, exact, problem } = wanted;
  if (problem) throw new BerthError('InvalidArgument', `container name ${JSON.stringify(container)} cannot be an LV name: ${problem}`);
  if (!rows?.has(name)) return name;
  if (exact) throw new BerthError('AlreadyExists', `the LV ${vg}/${name} already exists; remove it or choose another name`);
  const suffixed = `${name}-${randomBytes(3).toString('hex')}`;
  if (lvNameProblem(suffixed)) throw new BerthError('InvalidArgument', `no free LV name for ${container}: ${vg}/${name} exists`);
  return suffixed;
}

/** `pool`'s row when lvs found it and it is a thin pool (lv_attr starts with `t`). */
function thinPoolRow(rows: LvRows, pool: string): lvm.LvInfo | undefined {
  const info = pool ? rows?.get(pool) : undefined;
  return info?.attr.startsWith('t') ? info : undefined;
}
