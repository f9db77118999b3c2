import { randomBytes } from 'node:crypto';
import { mkdir, rmdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { inject, injectable } from 'tsyringe';
import * as z from 'zod';
import {
  BERTH_SETTINGS,
  BerthError,
  editRootfsFile,
  COMMAND_RUNNER,
  HOST_FS,
  LOCK_MANAGER,
  describeError,
  errnoCode,
  hostCli,
  sizeOption,
  parseSize,
  paths,
  readMounts,
  type Availability,
  type BerthSettings,
  type CommandRunner,
  type ContainerRef,
  type HostFs,
  type LockManager,
  type MountEntry,
  type OfflineEditCapable,
  type OperationContext,
  type QuotaCapable,
  type RenameCapable,
  type RootfsSpec,
  type SnapshotCapable,
  type SnapshotResult,
  type StorageCapabilities,
  type StorageDriver,
  type StorageOptions,
  type Usage,
  type UsageCapable,
  type Volume,
} from '@berth/core';
import * as zfs from './zfs-cli.js';

/** A dataset path: pool[/component…], components as ZFS accepts them (both OpenZFS and zfs-fuse). */
const DATASET_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]*(\/[A-Za-z0-9_.:-]+)*$/;
/** The snapshots berth makes for clones; only these are removed with the last clone. */
const BERTH_SNAPSHOT_PREFIX = 'berth-';
/** Private mountpoints of datasets, bind-mounted to where berth is asked to mount them. */
const ANCHOR_ROOT = process.env.BERTH_ZFS_ANCHOR_DIR ?? '/run/berth/zfs';
const BUSY_RETRY_MS = 250;
const BUSY_RETRIES = 20;
/**
 * A user property a snapshot clone is made with, set to a value unique to that clone:
 * its undo destroys the dataset only if it carries that value, so a dataset of the same
 * name that someone else made (the clone then failed with "already exists") is never
 * touched, without a look-up before every clone.
 */
const CLONE_MARKER_PROPERTY = 'berth:clone';
/** How many datasets `snapshot`/`rename` remember having given their home mountpoint. */
const HOME_HINTS_MAX = 1024;

export const zfsOptionsSchema = z.strictObject({
  zfsroot: z
    .string()
    .regex(DATASET_PATTERN, 'expected a dataset path such as tank/lxc')
    .optional()
    .describe('Parent dataset of new containers (default: lxc.bdev.zfs.root of /etc/lxc/lxc.conf, else lxc); it must exist'),
  size: sizeOption()
    .optional()
    .describe('Quota on the dataset, e.g. 10G: refquota (the data of the container itself) unless quotaProperty says quota'),
  quotaProperty: z
    .enum(['refquota', 'quota'])
    .optional()
    .describe('Which ZFS property --size sets: refquota (default; snapshots and clones are not counted) or quota (counts them too)'),
});

type ZfsOptions = z.infer<typeof zfsOptionsSchema>;

/**
 * ZFS datasets: a container's rootfs is the dataset `<zfsroot>/<name>` (`zfs:` in the
 * config) with `mountpoint=<lxcpath>/<name>/rootfs` and `canmount=noauto`, as LXC makes
 * it.
 *
 * - Snapshot clones (`copy -s`) snapshot the source as `<src>@berth-<target>-<random>`,
 *   unique per clone (LXC's `<src>@<target>` collides, lxc#2443), then `zfs clone`; a
 *   failed clone removes its snapshot. A clone of a container depends on that container
 *   (the core records it in `lxc_rdepends`/`lxc_snapshots`, so the origin is not
 *   destroyed under it).
 * - Container snapshots are clones too, named `<zfsroot>/<container>:<snapN>` (`:` never
 *   appears in a container name), so any snapshot can be restored (a clone of it), not
 *   only the latest (`zfs rollback`'s limit).
 * - `destroy` removes the dataset and the berth snapshot it was cloned from, once no
 *   other clone uses it. Clones the core did not record (container snapshots of a
 *   container restored in place, a restore to a new name) are promoted first, so that
 *   nothing another dataset uses is lost.
 * - Mounting: the dataset is mounted (`zfs mount`) at a private anchor under
 *   `/run/berth/zfs/` and bind-mounted wherever berth asks; the last unmount releases the
 *   anchor and puts `mountpoint` back. `zfs mount` can only mount at the `mountpoint`
 *   property, and zfs-fuse has no `mount -t zfs`; one anchor lets the same dataset be
 *   mounted at several places at once (a copy to many targets) on both implementations.
 * - Offline edits (the hostname of a clone): an unmounted dataset is `zfs mount`ed at its
 *   own mountpoint (the container's rootfs), the file edited, and unmounted, instead of
 *   the anchor and bind mount. A crash in between leaves the dataset mounted at home;
 *   destroy (and so the undo of a clone) and rename unmount such a mount first.
 */
@injectable()
export class ZfsDriver implements StorageDriver, SnapshotCapable, UsageCapable, QuotaCapable, RenameCapable, OfflineEditCapable {
  readonly type = 'zfs';
  readonly aliases: readonly string[] = [];
  readonly description = 'ZFS datasets; snapshot clones and container snapshots are zfs snapshot+clone; refquota/quota; usage';
  readonly capabilities: StorageCapabilities = {
    snapshot: true,
    snapshotSources: ['zfs'],
    nativeCopy: false,
    directAccess: false,
    sized: false,
    quota: true,
    usage: true,
    rename: true,
    offlineEdit: true,
  };
  readonly optionsSchema = zfsOptionsSchema;
  /**
   * Datasets whose `mountpoint` this instance has just set to their container's rootfs
   * (a clone, a rename), so that `editFileOffline` right after need not read it back.
   */
  private readonly homeHints = new Map<string, string>();

  constructor(
    @inject(COMMAND_RUNNER) private readonly runner: CommandRunner,
    @inject(HOST_FS) private readonly fs: HostFs,
    @inject(LOCK_MANAGER) private readonly locks: LockManager,
    @inject(BERTH_SETTINGS) private readonly settings: BerthSettings,
  ) {}

  async probe(): Promise<Availability> {
    for (const tool of ['zfs', 'zpool']) {
      if (!(await this.runner.which(tool))) return { available: false, reason: `the zfs tools are missing (no ${tool} command; install zfsutils-linux, or zfs-fuse)` };
    }
    try {
      await zfs.poolNames(this.runner);
    } catch (error) {
      const text = stderrOf(error);
      if (/zfs-fuse daemon/i.test(text)) return { available: false, reason: 'the zfs-fuse daemon is not running (start zfs-fuse)' };
      if (/modules? (are|is) not loaded|\/dev\/zfs/i.test(text)) return { available: false, reason: 'the ZFS kernel module is not loaded (modprobe zfs)' };
      return { available: false, reason: `zfs does not answer: ${lastLine(error)}` };
    }
    return { available: true };
  }

  /** An unprefixed rootfs that names a dataset (`tank/lxc/c1`), as LXC detects it. */
  async detect(path: string): Promise<boolean> {
    if (path.startsWith('/') || !DATASET_PATTERN.test(path)) return false;
    if (!(await this.runner.which('zfs'))) return false;
    try {
      return (await zfs.get(this.runner, path, ['type'])).get('type') === 'filesystem';
    } catch {
      return false;
    }
  }

  async create(target: ContainerRef, options: StorageOptions, ctx: OperationContext): Promise<RootfsSpec> {
    const parsed = zfsOptionsSchema.parse(options);
    const parent = parsed.zfsroot ?? this.settings.system.zfsRoot;
    await this.requireParent(parent);
    const dataset = await this.newDatasetName(target, parent);
    await this.makeRootfsDir(target, ctx);
    await ctx.onUndo({ do: 'driver', driver: this.type, action: 'destroyDataset', args: { dataset } });
    await this.zfs(`cannot create ${dataset}`, () =>
      zfs.create(this.runner, dataset, { canmount: 'noauto', mountpoint: paths.rootfs(target), ...quotaProperties(parsed) }),
    );
    return { type: this.type, source: dataset };
  }

  async snapshot(source: Volume, target: ContainerRef, options: StorageOptions, ctx: OperationContext): Promise<SnapshotResult> {
    const parsed = zfsOptionsSchema.parse(options);
    const origin = this.datasetOf(source);
    const parent = parsed.zfsroot ?? parentOf(origin);
    if (poolOf(parent) !== poolOf(origin)) {
      throw new BerthError('NotSupported', `cannot clone ${origin} into ${parent}: a ZFS clone stays in its source's pool (copy without --snapshot instead)`);
    }
    // The origin's own parent exists as long as the origin does (the commands below say so if not).
    if (parent !== parentOf(origin)) await this.requireParent(parent);
    // No look-up of a container's name: `zfs clone` refuses a taken one, and the undo
    // destroys only a dataset carrying this clone's marker.
    const dataset = await this.newDatasetName(target, parent, { lookUp: false });
    const home = paths.rootfs(target);
    const marker = randomBytes(8).toString('hex');
    const snapshotName = `${origin}@${BERTH_SNAPSHOT_PREFIX}${zfsComponent(target.name)}-${randomBytes(4).toString('hex')}`;
    const limits = parsed.size === undefined ? await this.quotaOf(origin) : quotaProperties(parsed);

    await this.makeRootfsDir(target, ctx);
    await ctx.onUndo({ do: 'driver', driver: this.type, action: 'destroySnapshot', args: { snapshot: snapshotName } });
    await this.zfs(`cannot snapshot ${origin}`, () => zfs.snapshot(this.runner, snapshotName));
    await ctx.onUndo({ do: 'driver', driver: this.type, action: 'destroyDataset', args: { dataset, marker } });
    try {
      await zfs.clone(this.runner, snapshotName, dataset, { canmount: 'noauto', mountpoint: home, [CLONE_MARKER_PROPERTY]: marker });
    } catch (error) {
      const failure = classify(error, `cannot clone ${snapshotName} to ${dataset}`);
      if (failure.code === 'AlreadyExists') throw new BerthError('AlreadyExists', `ZFS dataset ${dataset} already exists; destroy it or choose another name`, { cause: error });
      throw failure;
    }
    if (!this.runner.dryRun) {
      // zfs-fuse's `zfs clone` mounts the clone even with canmount=noauto (OpenZFS does not):
      // a new volume is left unmounted. (Cheaper there than cloning with mountpoint=none
      // and setting it after, which OpenZFS would pay too.)
      if ((await mountsOf(dataset)).length > 0) await this.retryBusy(`cannot unmount ${dataset}`, () => zfs.unmount(this.runner, dataset));
      this.rememberHome(dataset, home);
    }
    // Limits after the clone: `zfs clone -o refquota=` fails when the source is already full.
    for (const [property, value] of Object.entries(limits)) {
      await this.zfs(`cannot set the ${property} of ${dataset}`, async () => {
        try {
          await zfs.set(this.runner, dataset, property, value);
        } catch (error) {
          // A source filled up to its limit: the clone is limited to what it holds already.
          if (parsed.size !== undefined || !/less than current/i.test(stderrOf(error))) throw error;
          const held = (await zfs.get(this.runner, dataset, ['used'])).get('used') ?? value;
          await zfs.set(this.runner, dataset, property, held);
        }
      });
    }

    // A container snapshot, or a clone of a container snapshot (a restore), stands alone
    // as far as the core is concerned: destroy promotes what still uses its snapshots.
    // A clone of a container needs that container: the core records it.
    const standalone = isSnapshotOf(target, source) || isContainerSnapshot(source);
    return { rootfs: { type: this.type, source: dataset }, dependency: standalone ? 'none' : 'source' };
  }

  async mount(volume: Volume, mountpoint: string, ctx: OperationContext): Promise<void> {
    const dataset = this.datasetOf(volume);
    const anchor = anchorOf(dataset);
    await ctx.onUndo({ do: 'driver', driver: this.type, action: 'unmount', args: { dataset, mountpoint, home: paths.rootfs(volume) } });
    if (this.runner.dryRun) {
      await zfs.set(this.runner, dataset, 'mountpoint', anchor);
      await zfs.mount(this.runner, dataset);
      await hostCli.bindMount(this.runner, anchor, mountpoint);
      return;
    }
    await this.withMountLock(dataset, async () => {
      const mounts = await mountsOf(dataset);
      if (mounts.some((m) => m.mountpoint === mountpoint)) return;
      let from = mounts.find((m) => m.mountpoint === anchor)?.mountpoint;
      if (from === undefined) {
        if (mounts.length > 0) {
          // Mounted by someone else (zfs mount, LXC): share that mount, leave it to them.
          from = mounts[0]!.mountpoint;
        } else {
          await mkdir(anchor, { recursive: true, mode: 0o700 });
          await this.zfs(`cannot mount ${dataset}`, () => zfs.set(this.runner, dataset, 'mountpoint', anchor));
          await this.zfs(`cannot mount ${dataset}`, () => zfs.mount(this.runner, dataset));
          from = anchor;
        }
      }
      await hostCli.bindMount(this.runner, from, mountpoint);
    });
  }

  async unmount(volume: Volume, mountpoint: string): Promise<void> {
    await this.unmountDataset(this.datasetOf(volume), mountpoint, paths.rootfs(volume));
  }

  /**
   * Edits a file of an unmounted dataset: `zfs mount` at its own mountpoint (the
   * container's rootfs; two commands fewer than the anchor and bind mount of `mount`),
   * the edit, `zfs unmount`. The file is edited as `updateHostnameFile` does: no symlink
   * followed (parents must be real directories, the file a regular one opened with
   * O_NOFOLLOW), nothing bigger than 64 KiB; a missing file is created only if
   * its directory exists. False (the core mounts instead) when the dataset is mounted
   * already, or its mountpoint is not the rootfs.
   */
  async editFileOffline(volume: Volume, relativePath: string, edit: (current: string | undefined) => string | undefined): Promise<boolean> {
    const parts = relativePath.split('/').filter(Boolean);
    if (parts.length === 0 || parts.some((p) => p === '..' || p === '.')) throw new BerthError('InvalidArgument', `bad rootfs path ${relativePath}`);
    if (this.runner.dryRun) return false;
    const dataset = this.datasetOf(volume);
    const home = paths.rootfs(volume);
    const known = this.homeHints.get(dataset) === home;
    this.homeHints.delete(dataset);
    const mounted = await this.withMountLock(dataset, async () => {
      if ((await mountsOf(dataset)).length > 0) return false;
      if (!known) {
        const values = await this.zfs(`cannot read the mountpoint of ${dataset}`, () => zfs.get(this.runner, dataset, ['mountpoint', 'canmount']));
        if (values.get('mountpoint') !== home || values.get('canmount') === 'off') return false;
      }
      await this.zfs(`cannot mount ${dataset}`, () => zfs.mount(this.runner, dataset));
      return true;
    });
    if (!mounted) return false;
    try {
      if (!(await mountsOf(dataset)).some((m) => m.mountpoint === home)) {
        throw new BerthError('Internal', `zfs mount ${dataset} did not mount it on ${home}`);
      }
      editRootfsFile(home, parts, edit);
    } finally {
      await this.withMountLock(dataset, async () => {
        if ((await mountsOf(dataset)).length > 0) await this.retryBusy(`cannot unmount ${dataset}`, () => zfs.unmount(this.runner, dataset));
      });
    }
    return true;
  }

  /**
   * Removes the dataset, then the berth snapshot it was cloned from once no clone uses
   * it. Clones of its own snapshots (which the core would have refused the destroy for
   * had it recorded them) are promoted first, so nothing they need goes. Idempotent.
   */
  async destroy(volume: Volume): Promise<void> {
    await this.destroyDataset(this.datasetOf(volume));
  }

  async rename(volume: Volume, target: ContainerRef, ctx: OperationContext): Promise<RootfsSpec> {
    const from = this.datasetOf(volume);
    const to = await this.newDatasetName(target, parentOf(from));
    await ctx.onUndo({ do: 'driver', driver: this.type, action: 'rename', args: { from: to, to: from, home: paths.rootfs(volume) } });
    // A crash in editFileOffline after an earlier rename leaves the dataset mounted at home.
    await this.releaseHomeMount(from, paths.rootfs(volume));
    await this.retryBusy(`cannot rename ${from} to ${to}`, () => zfs.rename(this.runner, from, to));
    await this.zfs(`cannot set the mountpoint of ${to}`, () => zfs.set(this.runner, to, 'mountpoint', paths.rootfs(target)));
    if (!this.runner.dryRun) this.rememberHome(to, paths.rootfs(target));
    return { type: this.type, source: to };
  }

  async revert(action: string, args: Readonly<Record<string, unknown>>): Promise<void> {
    const text = (key: string): string => {
      const value = args[key];
      if (typeof value !== 'string') throw new BerthError('Internal', `zfs undo ${action}: no ${key}`);
      return value;
    };
    switch (action) {
      case 'destroyDataset':
        // `marker`: only a dataset this clone made (older journals have none).
        return this.destroyDataset(text('dataset'), typeof args.marker === 'string' ? args.marker : undefined);
      case 'destroySnapshot':
        return this.destroySnapshotIfUnused(text('snapshot'));
      case 'unmount':
        return this.unmountDataset(text('dataset'), text('mountpoint'), text('home'));
      case 'rename': {
        const from = text('from');
        const to = text('to');
        if (!(await this.exists(from)) || (await this.exists(to))) return;
        const mountpoint = (await this.zfs(`cannot read ${from}`, () => zfs.get(this.runner, from, ['mountpoint']))).get('mountpoint');
        if (mountpoint !== undefined) await this.releaseHomeMount(from, mountpoint);
        await this.retryBusy(`cannot rename ${from} back to ${to}`, () => zfs.rename(this.runner, from, to));
        await this.zfs(`cannot set the mountpoint of ${to}`, () => zfs.set(this.runner, to, 'mountpoint', text('home')));
        return;
      }
      default:
        throw new BerthError('Internal', `zfs driver cannot revert ${action}`);
    }
  }

  async usage(volume: Volume): Promise<Usage> {
    const dataset = this.datasetOf(volume);
    const values = await this.zfs(`cannot read the usage of ${dataset}`, () =>
      zfs.get(this.runner, dataset, ['used', 'referenced', 'available', 'usedbysnapshots', 'refquota', 'quota']),
    );
    const number = (key: string) => Number(values.get(key) ?? '0') || 0;
    const limit = number('refquota') || number('quota');
    return {
      usedBytes: number('referenced'),
      ...(limit > 0 ? { limitBytes: limit } : {}),
      freeBytes: number('available'),
      details: {
        used: number('used'),
        referenced: number('referenced'),
        available: number('available'),
        usedbysnapshots: number('usedbysnapshots'),
        quotaProperty: number('refquota') > 0 || number('quota') === 0 ? 'refquota' : 'quota',
      },
    };
  }

  /** Sets `refquota` (or `quota`, when the dataset was given one: see `quotaProperty`). */
  async setQuota(volume: Volume, bytes: number | null, ctx: OperationContext): Promise<void> {
    const dataset = this.datasetOf(volume);
    const current = await this.zfs(`cannot read the quota of ${dataset}`, () => zfs.get(this.runner, dataset, ['refquota', 'quota']));
    const property = Number(current.get('quota') ?? '0') > 0 && Number(current.get('refquota') ?? '0') === 0 ? 'quota' : 'refquota';
    void ctx;
    if (bytes === null) {
      for (const name of ['refquota', 'quota']) {
        if (Number(current.get(name) ?? '0') > 0) await this.zfs(`cannot remove the ${name} of ${dataset}`, () => zfs.set(this.runner, dataset, name, 'none'));
      }
      return;
    }
    await this.zfs(`cannot set the ${property} of ${dataset}`, () => zfs.set(this.runner, dataset, property, String(bytes)));
  }

  // ---------------------------------------------------------------- helpers

  private datasetOf(volume: Volume): string {
    const dataset = volume.rootfs.source;
    if (!DATASET_PATTERN.test(dataset)) throw new BerthError('InvalidArgument', `${volume.name}: ${JSON.stringify(dataset)} is not a ZFS dataset name`);
    return dataset;
  }

  /**
   * The dataset for a new volume under `parent`: `<parent>/<name>` for a container;
   * `<parent>/<container>:<snapN>` for a container snapshot; `<parent>/<name>:<random>`
   * for berth's own hidden directories (`.c.berth-restore`). A container's name that is
   * taken is an error (never adopt someone's dataset); the others get a random suffix.
   * `lookUp: false` skips the look-up of a container's name: for a caller whose command
   * fails on a taken name and whose undo cannot destroy someone else's dataset.
   */
  private async newDatasetName(target: ContainerRef, parent: string, options: { lookUp?: boolean } = {}): Promise<string> {
    if (isContainerSnapshot(target)) {
      const base = `${parent}/${zfsComponent(basename(dirname(target.lxcpath)))}:${target.name}`;
      return (await this.exists(base)) ? `${base}-${randomBytes(3).toString('hex')}` : base;
    }
    if (target.name.startsWith('.')) return `${parent}/${zfsComponent(target.name)}:${randomBytes(4).toString('hex')}`;
    if (!/^[A-Za-z0-9_.-]+$/.test(target.name)) {
      throw new BerthError('InvalidArgument', `container name ${JSON.stringify(target.name)} cannot be a ZFS dataset name (no + or @)`);
    }
    const dataset = `${parent}/${target.name}`;
    if (options.lookUp !== false && (await this.exists(dataset))) throw new BerthError('AlreadyExists', `ZFS dataset ${dataset} already exists; destroy it or choose another name`);
    return dataset;
  }

  /** The parent dataset must exist (berth never creates a zfsroot: its mountpoint and properties are the admin's). */
  private async requireParent(parent: string): Promise<void> {
    if (this.runner.dryRun && !(await this.runner.which('zfs'))) return;
    if (await this.exists(parent)) return;
    const pool = poolOf(parent);
    const pools = await this.zfs('cannot list the ZFS pools', () => zfs.poolNames(this.runner));
    if (!pools.includes(pool)) {
      throw new BerthError('NotFound', `no such ZFS pool ${pool}${pools.length ? ` (pools: ${pools.join(', ')})` : ' (no pool is imported)'}; set zfsroot or lxc.bdev.zfs.root`);
    }
    throw new BerthError('NotFound', `ZFS dataset ${parent} does not exist: create it (zfs create -o mountpoint=none ${parent}) or set zfsroot`);
  }

  private async makeRootfsDir(target: ContainerRef, ctx: OperationContext): Promise<void> {
    const rootfs = paths.rootfs(target);
    await ctx.onUndo({ do: 'removeEmptyDir', path: rootfs });
    await this.fs.mkdir(rootfs, 0o755);
  }

  private async exists(name: string): Promise<boolean> {
    return (await this.getIfExists(name, ['type'])) !== undefined;
  }

  /** `zfs get` of a dataset or snapshot; undefined when there is no such one. */
  private async getIfExists(name: string, properties: readonly string[]): Promise<Map<string, string> | undefined> {
    try {
      return await zfs.get(this.runner, name, properties);
    } catch (error) {
      if (/does not exist|dataset name|invalid/i.test(stderrOf(error))) return undefined;
      throw classify(error, `cannot look up ${name}`);
    }
  }

  private rememberHome(dataset: string, home: string): void {
    if (this.homeHints.size >= HOME_HINTS_MAX) this.homeHints.clear();
    this.homeHints.set(dataset, home);
  }

  /** The quota properties a clone keeps from its source (clones do not inherit them). */
  private async quotaOf(dataset: string): Promise<Record<string, string>> {
    const values = await this.zfs(`cannot read the quota of ${dataset}`, () => zfs.get(this.runner, dataset, ['refquota', 'quota']));
    const kept: Record<string, string> = {};
    for (const name of ['refquota', 'quota']) {
      const value = values.get(name);
      if (value !== undefined && Number(value) > 0) kept[name] = value;
    }
    return kept;
  }

  /**
   * Destroys a dataset (idempotent); with `marker`, only if it carries that clone marker.
   * A mount at its own mountpoint alone (zfs-fuse's mount of a new clone, an offline
   * edit, a `zfs mount`: what a crash can leave) is unmounted first, as `zfs destroy`
   * would; any other mount (berth's bind mounts) makes it InUse.
   */
  private async destroyDataset(dataset: string, marker?: string): Promise<void> {
    const values = await this.getIfExists(dataset, ['origin', 'mountpoint', ...(marker === undefined ? [] : [CLONE_MARKER_PROPERTY])]);
    if (values === undefined) return;
    if (marker !== undefined && values.get(CLONE_MARKER_PROPERTY) !== marker) return;
    this.homeHints.delete(dataset);
    const mounts = await this.releaseHomeMount(dataset, values.get('mountpoint') ?? '');
    if (mounts.length > 0) {
      throw new BerthError('InUse', `ZFS dataset ${dataset} is busy: mounted on ${mounts.map((m) => m.mountpoint).join(', ')}; unmount it first`);
    }
    // A promotion makes the dataset a clone of what it promoted: its origin is read again.
    const promoted = await this.promoteClonesOf(dataset);
    const origin = promoted ? (await this.zfs(`cannot read ${dataset}`, () => zfs.get(this.runner, dataset, ['origin']))).get('origin') : values.get('origin');
    await this.retryBusy(`cannot destroy ${dataset}`, () => zfs.destroy(this.runner, dataset, { recursive: true }));
    if (origin && origin !== '-' && snapshotPart(origin).startsWith(BERTH_SNAPSHOT_PREFIX)) await this.destroySnapshotIfUnused(origin);
  }

  /**
   * Unmounts `dataset` when it is mounted only at `home` (its own mountpoint, so not one
   * of berth's anchors or bind mounts, nor a mount by anything else). Returns the
   * mounts it leaves.
   */
  private async releaseHomeMount(dataset: string, home: string): Promise<MountEntry[]> {
    const mounts = await mountsOf(dataset);
    if (mounts.length === 0 || !home.startsWith('/') || !mounts.every((m) => m.mountpoint === home)) return mounts;
    if (this.runner.dryRun) {
      await zfs.unmount(this.runner, dataset);
      return [];
    }
    return this.withMountLock(dataset, async () => {
      if ((await mountsOf(dataset)).every((m) => m.mountpoint === home)) {
        await this.retryBusy(`cannot unmount ${dataset}`, () => zfs.unmount(this.runner, dataset));
      }
      return mountsOf(dataset);
    });
  }

  /**
   * Makes every clone of `dataset`'s snapshots independent of it: the clone of the
   * newest snapshot that backs one is promoted (taking that snapshot and all older ones
   * along), until none is left.
   */
  private async promoteClonesOf(dataset: string): Promise<boolean> {
    for (let round = 0; round < 1000; round++) {
      const clones = (await this.zfs(`cannot list the clones of ${dataset}`, () => zfs.listOrigins(this.runner, poolOf(dataset)))).filter(
        (row) => row.origin !== undefined && row.origin.startsWith(`${dataset}@`),
      );
      if (clones.length === 0) return round > 0;
      const snapshots = await this.zfs(`cannot list the snapshots of ${dataset}`, () => zfs.listSnapshots(this.runner, dataset));
      const txg = (name: string | undefined) => snapshots.find((s) => s.name === name)?.createtxg ?? 0;
      const newest = clones.reduce((a, b) => (txg(b.origin) > txg(a.origin) ? b : a));
      await this.retryBusy(`cannot promote ${newest.name} (a clone of ${dataset})`, () => zfs.promote(this.runner, newest.name));
    }
    throw new BerthError('Internal', `${dataset} keeps having clones after promoting them`);
  }

  private async destroySnapshotIfUnused(snapshotName: string): Promise<void> {
    if (!(await this.exists(snapshotName))) return;
    const users = (await this.zfs(`cannot list the clones of ${snapshotName}`, () => zfs.listOrigins(this.runner, poolOf(snapshotName)))).filter(
      (row) => row.origin === snapshotName,
    );
    if (users.length > 0) return;
    await this.retryBusy(`cannot destroy ${snapshotName}`, () => zfs.destroy(this.runner, snapshotName));
  }

  /** Unmounts one place a dataset is mounted, then the anchor if nothing else uses it. */
  private async unmountDataset(dataset: string, mountpoint: string, home: string): Promise<void> {
    if (this.runner.dryRun) {
      await hostCli.umount(this.runner, mountpoint);
      await zfs.unmount(this.runner, dataset);
      await zfs.set(this.runner, dataset, 'mountpoint', home);
      return;
    }
    const anchor = anchorOf(dataset);
    await this.withMountLock(dataset, async () => {
      if ((await mountsOf(dataset)).some((m) => m.mountpoint === mountpoint) && mountpoint !== anchor) {
        await hostCli.umount(this.runner, mountpoint);
      }
      const left = await mountsOf(dataset);
      if (left.some((m) => m.mountpoint !== anchor)) return;
      if (left.length > 0) await this.retryBusy(`cannot unmount ${dataset}`, () => zfs.unmount(this.runner, dataset));
      if (!(await this.exists(dataset))) return;
      const current = (await zfs.get(this.runner, dataset, ['mountpoint'])).get('mountpoint');
      if (current === anchor) await this.zfs(`cannot reset the mountpoint of ${dataset}`, () => zfs.set(this.runner, dataset, 'mountpoint', home));
      await rmdir(anchor).catch((error: unknown) => {
        if (errnoCode(error) !== 'ENOENT') throw error;
      });
    });
  }

  /** One host-wide lock for the short mount bookkeeping (a lock file per dataset would pile up). */
  private async withMountLock<T>(dataset: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.with(join(ANCHOR_ROOT, 'mounts.lock'), { timeoutMs: this.settings.lockTimeoutMs, what: `the ZFS mounts (for ${dataset})` }, fn);
  }

  /** Runs a zfs command, turning its failure into a BerthError with a clear code. */
  private async zfs<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw classify(error, what);
    }
  }

  /** zfs-fuse releases a dataset a moment after its last unmount: "busy" is retried briefly. */
  private async retryBusy<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        const busy = /busy/i.test(stderrOf(error));
        if (!busy || attempt >= BUSY_RETRIES || this.runner.dryRun) throw classify(error, what);
        await new Promise((resolve) => setTimeout(resolve, BUSY_RETRY_MS));
      }
    }
  }
}


function quotaProperties(options: ZfsOptions): Record<string, string> {
  if (options.size === undefined) return {};
  return { [options.quotaProperty ?? 'refquota']: String(parseSize(options.size, 'size')) };
}

/** `<lxcpath>/<c>/snaps/snapN`: a container snapshot. */
function isContainerSnapshot(ref: ContainerRef): boolean {
  return basename(ref.lxcpath) === 'snaps' && /^snap\d+$/.test(ref.name);
}

/** `target` is a snapshot of the container `source`. */
function isSnapshotOf(target: ContainerRef, source: ContainerRef): boolean {
  return target.lxcpath === join(source.dir, 'snaps');
}

function parentOf(dataset: string): string {
  return dataset.includes('/') ? dirname(dataset) : dataset;
}

function poolOf(name: string): string {
  return name.split(/[/@]/)[0]!;
}

function snapshotPart(name: string): string {
  return name.slice(name.indexOf('@') + 1);
}

/** A name made safe for one dataset or snapshot component. */
function zfsComponent(name: string): string {
  return name.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9_.-]/g, '_') || 'x';
}

function anchorOf(dataset: string): string {
  return join(ANCHOR_ROOT, encodeURIComponent(dataset));
}

async function mountsOf(dataset: string) {
  return (await readMounts()).filter((m) => m.source === dataset && (m.fstype === 'zfs' || m.fstype === 'fuse.zfs'));
}

function stderrOf(error: unknown): string {
  return BerthError.is(error) ? `${error.command?.stderr ?? ''} ${error.message}` : describeError(error);
}

function lastLine(error: unknown): string {
  const stderr = BerthError.is(error) ? (error.command?.stderr ?? '') : '';
  return stderr.split('\n').map((l) => l.trim()).filter(Boolean).slice(-1)[0] ?? describeError(error);
}

/** A zfs failure as a BerthError whose code says what happened. */
function classify(error: unknown, what: string): BerthError {
  const text = stderrOf(error);
  const reason = lastLine(error);
  const code: BerthError['code'] | undefined = /no such pool/i.test(text)
    ? 'NotFound'
    : /does not exist/i.test(text)
      ? 'NotFound'
      : /busy/i.test(text)
        ? 'InUse'
        : /already exists/i.test(text)
          ? 'AlreadyExists'
          : /daemon is running|failed to initialize ZFS library|modules are not loaded|\/dev\/zfs/i.test(text)
            ? 'Unavailable'
            : undefined;
  if (code === undefined) return BerthError.is(error) ? new BerthError(error.code, `${what}: ${error.message}`, { cause: error }) : BerthError.wrap(error, 'Internal', what);
  const hint = code === 'InUse' ? ' (the dataset is busy: mounted or in use)' : '';
  return new BerthError(code, `${what}: ${reason}${hint}`, { cause: error });
}
