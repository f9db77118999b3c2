import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { inject, injectable } from 'tsyringe';
import {
  canEditOffline,
  canNativeCopy,
  canRename,
  canSnapshot,
  hasDirectAccess,
  hasQuota,
  hasUsage,
  isSized,
  type OperationContext,
  type StorageDriver,
  type StorageOptions,
  type Usage,
  type Volume,
} from './contracts/storage.js';
import { BerthError, describeError, errnoCode } from './errors.js';
import { EVENTS, type BerthEventEmitter, type OperationSubject } from './events.js';
import { HOST_FS, HostFs, isDirectory, isInside, pathExists, readTextIfExists } from './host/fs.js';
import { extractTarball } from './host/host-cli.js';
import { mountsUnder } from './host/mounts.js';
import { LOCK_MANAGER, type LockHandle, type LockManager } from './host/lock.js';
import { COMMAND_RUNNER, type CommandRunner } from './host/runner.js';
import { LxcConfig } from './lxc/config.js';
import {
  containerRef,
  formatDependencyFile,
  formatSnapshotTimestamp,
  listSnapshotNames,
  nextSnapshotName,
  paths,
  readDependencyFile,
  sameRecord,
  snapshotRef,
  type ContainerRef,
  type DependencyRecord,
} from './lxc/layout.js';
import { validateContainerName } from './lxc/names.js';
import { formatRootfs, parseRootfs, type RootfsSpec } from './lxc/rootfs.js';
import type { LxcSystemConfig } from './lxc/system.js';
import { copyTree, withRootfs } from './ops/access.js';
import { cloneConfig, newContainerConfig, updateHostnameFile } from './ops/clone-config.js';
import { Journal } from './ops/journal.js';
import { OperationRunner, runUndoSteps, type Operation, type UndoServices } from './ops/operation.js';
import { DriverRegistry } from './registry.js';
import { NETWORKS } from './contracts/network.js';
import type { Networks } from './networks.js';

export interface BerthSettings {
  /** Where containers live (`-P`). */
  readonly lxcpath: string;
  readonly system: LxcSystemConfig;
  /** How long to wait for another process's lock on a container. */
  readonly lockTimeoutMs: number;
  /** How many targets of one multi-target copy run at once (default: 32 snapshot clones, 4 full copies). */
  readonly copyConcurrency?: number;
}

export const BERTH_SETTINGS = Symbol.for('berth.Settings');

/** Where a new container's files come from. */
export type CreateSource =
  | { readonly kind: 'empty' }
  | { readonly kind: 'directory'; readonly path: string }
  | { readonly kind: 'tarball'; readonly path: string }
  /** An LXC template script (`busybox`, or a path), run with LXC's arguments then `args`. */
  | { readonly kind: 'template'; readonly template: string; readonly args: readonly string[] };

export interface CreateRequest {
  readonly name: string;
  /** Backend type; default `dir`. */
  readonly backend?: string;
  /** The backend's options (`fssize`, `fstype`…), checked against its schema. */
  readonly options?: StorageOptions;
  readonly source?: CreateSource;
}

export interface CopyRequest {
  readonly source: string;
  readonly targets: readonly string[];
  /** A copy-on-write snapshot clone instead of a full copy. */
  readonly snapshot?: boolean;
  /** Backend of the copies; default: the source's (for a snapshot of `dir`: `overlay`). */
  readonly backend?: string;
  readonly options?: StorageOptions;
  /** Keep the source's MAC addresses (default: new ones, as lxc-copy does). */
  readonly keepHwaddr?: boolean;
  /**
   * Copy a running container (`lxc-copy -a`): its files may change mid-copy. Refused by
   * default, as LXC does.
   */
  readonly allowRunning?: boolean;
}

export type CopyOutcome =
  | { readonly name: string; readonly ok: true; readonly container: ContainerSummary }
  | { readonly name: string; readonly ok: false; readonly error: BerthError };

export interface ContainerSummary {
  readonly name: string;
  readonly lxcpath: string;
  readonly backend: string;
  readonly rootfs: string;
  readonly snapshots: number;
  /** Containers whose storage this one needs (`lxc_rdepends`). */
  readonly dependsOn: readonly string[];
  /** Containers that need this one's storage (`lxc_snapshots`). */
  readonly dependents: readonly string[];
  /** Creation was interrupted (a `partial` marker is present). */
  readonly partial: boolean;
}

export interface ContainerInfo extends ContainerSummary {
  readonly dir: string;
  readonly config: string;
  readonly usage?: Usage;
  readonly usageError?: string;
}

export interface SnapshotInfo {
  readonly name: string;
  readonly container: string;
  readonly dir: string;
  readonly timestamp: string | undefined;
  readonly comment: string | undefined;
  readonly backend: string;
}

export interface RecoveryReport {
  readonly recovered: { readonly id: string; readonly kind: string; readonly name: string; readonly how: 'undone' | 'finished' }[];
  readonly failed: { readonly id: string; readonly kind: string; readonly name: string; readonly reason: string }[];
}

export interface DestroyOptions {
  /** Destroy the container's snapshots too (`lxc-destroy -s`), refusing if any is a clone's base. */
  readonly withSnapshots?: boolean;
}

/** How `clone` makes the new volume. */
type CloneMode =
  /** Copy-on-write through the target driver; refuse if it cannot. */
  | 'snapshot'
  /** Copy the files (or the driver's native copy). */
  | 'full'
  /** Container snapshots and restores: the source's type, CoW where that driver can, else a copy. */
  | 'keep-type';

interface CloneRequest {
  readonly source: Volume;
  readonly target: ContainerRef;
  readonly mode: CloneMode;
  readonly backend?: string;
  readonly options?: StorageOptions;
  readonly keepHwaddr?: boolean;
  readonly keepName?: boolean;
  /** The source's config as just read (read again when absent). */
  readonly sourceConfig?: LxcConfig;
}

/** The LXC order of detection, but with dir last: it claims any directory. */
const DETECTION_ORDER = ['zfs', 'lvm', 'rbd', 'btrfs', 'overlay', 'loop', 'nbd'];

/**
 * The operations berth users call. It picks drivers, takes locks, writes configs and
 * dependency records, journals each mutation and rolls it back on failure; drivers do
 * only the storage steps.
 */
@injectable()
export class Berth {
  private readonly operations: OperationRunner;
  private recoveredOnce = false;

  constructor(
    @inject(DriverRegistry) readonly drivers: DriverRegistry,
    @inject(COMMAND_RUNNER) private readonly runner: CommandRunner,
    @inject(HOST_FS) private readonly fs: HostFs,
    @inject(LOCK_MANAGER) private readonly locks: LockManager,
    @inject(EVENTS) readonly events: BerthEventEmitter,
    @inject(BERTH_SETTINGS) readonly settings: BerthSettings,
    /** The containers' `lxc.net.N` networks and their runtime wiring. */
    @inject(NETWORKS) readonly networks: Networks,
  ) {
    const journals = new Map<string, Journal>();
    const journalFor = (lxcpath: string): Journal => {
      let journal = journals.get(lxcpath);
      if (!journal) journals.set(lxcpath, (journal = new Journal(lxcpath)));
      return journal;
    };
    this.operations = new OperationRunner(this.undoServices, events, journalFor);
  }

  get lxcpath(): string {
    return this.settings.lxcpath;
  }

  private get undoServices(): UndoServices {
    return { fs: this.fs, runner: this.runner, storageDriver: (type) => this.drivers.storageDriver(type) };
  }

  /** Scratch mountpoints live inside the lxcpath. */
  private get scratchDir(): string {
    return join(this.lxcpath, '.berth', 'mnt');
  }

  ref(name: string): ContainerRef {
    return containerRef(this.lxcpath, name);
  }

  // ---------------------------------------------------------------- create

  async create(request: CreateRequest): Promise<ContainerSummary> {
    const target = this.ref(request.name);
    const driver = await this.drivers.usableStorage(request.backend ?? 'dir');
    const options = parseOptions(driver, request.options ?? {});
    const source = request.source ?? { kind: 'empty' };
    await checkSource(source);
    await this.ensureRecovered();
    return this.withLocks([{ ref: target, mode: 'exclusive' }], () =>
      this.operations.run('create', subjectOf(target), async (op) => {
        const partial = await this.prepareContainerDir(target, op);
        try {
          const rootfs = await driver.create(target, options, op);
          await op.onUndo({ do: 'destroyVolume', volume: { ...target, rootfs } });
          const volume: Volume = { ...target, rootfs };
          const defaults = await readTextIfExists(this.settings.system.defaultConfig);
          const header = source.kind === 'template' ? `# Template used to create this container: ${templatePath(source.template)}\n# Parameters passed to the template: ${source.args.join(' ')}\n\n` : '';
          const config = newContainerConfig(defaults, formatRootfs(rootfs), target.name, header);
          await this.fs.writeFileAtomic(paths.config(target), config.toString(), 0o640);
          if (source.kind !== 'empty') {
            await withRootfs(this.fs, driver, volume, op, this.scratchDir, (path) => this.fill(target, path, source, op));
          }
        } finally {
          await partial?.release();
        }
        await this.fs.removeFile(paths.partial(target));
        return this.summary(target);
      }),
    );
  }

  private async fill(target: ContainerRef, rootfsPath: string, source: CreateSource, op: Operation): Promise<void> {
    switch (source.kind) {
      case 'empty':
        return;
      case 'directory':
        return copyTree(this.runner, resolve(source.path), rootfsPath, op, this.wantsProgress());
      case 'tarball':
        await extractTarball(this.runner, resolve(source.path), rootfsPath);
        return;
      case 'template': {
        const script = templatePath(source.template);
        await this.runner.run(
          [script, '--path', target.dir, '--name', target.name, '--rootfs', rootfsPath, ...source.args],
          { timeoutMs: 60 * 60 * 1000, env: { LXC_NAME: target.name, LXC_PATH: target.dir, LXC_ROOTFS_PATH: rootfsPath, LXC_CONFIG_FILE: paths.config(target) } },
        );
        return;
      }
    }
  }

  // ---------------------------------------------------------------- copy

  /**
   * Copies `source` to each of `targets`, concurrently, each under its own lock. Every
   * target gets its own outcome; a failed one leaves nothing behind. Combinations that
   * cannot work (a snapshot into a backend that cannot clone from the source's) are
   * refused before anything is touched.
   */
  async copy(request: CopyRequest): Promise<CopyOutcome[]> {
    if (request.targets.length === 0) throw new BerthError('InvalidArgument', 'copy needs at least one target name');
    const seen = new Set<string>();
    for (const name of request.targets) {
      validateContainerName(name);
      if (seen.has(name)) throw new BerthError('InvalidArgument', `target ${name} is named twice`);
      if (name === request.source) throw new BerthError('InvalidArgument', `cannot copy ${name} onto itself`);
      seen.add(name);
    }
    const sourceRef = this.ref(request.source);
    await this.ensureRecovered();
    const source = await this.loadVolume(sourceRef);
    if (!request.allowRunning) await this.refuseIfRunning(sourceRef, 'copy', ' (allowRunning / --allowrunning copies it anyway)');
    const mode: CloneMode = request.snapshot ? 'snapshot' : 'full';
    const { driver, cow } = await this.planClone(source, mode, request.backend);
    parseOptions(driver, request.options ?? {});

    const outcomes: CopyOutcome[] = new Array(request.targets.length);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < request.targets.length; i = next++) {
        const name = request.targets[i]!;
        try {
          const target = this.ref(name);
          const container = await this.withLocks(
            [{ ref: sourceRef, mode: 'shared' }, { ref: target, mode: 'exclusive' }],
            () =>
              this.operations.run('copy', subjectOf(target), async (op) => {
                const { volume: current, config: sourceConfig } = await this.loadVolumeAndConfig(sourceRef);
                const made = await this.clone(
                  {
                    source: current,
                    sourceConfig,
                    target,
                    mode,
                    ...(request.backend ? { backend: request.backend } : {}),
                    options: request.options ?? {},
                    keepHwaddr: request.keepHwaddr ?? false,
                  },
                  op,
                );
                return made.summary;
              }),
          );
          outcomes[i] = { name, ok: true, container };
        } catch (error) {
          outcomes[i] = { name, ok: false, error: BerthError.wrap(error, 'Internal', `copy to ${name} failed`) };
        }
      }
    };
    const concurrency = this.settings.copyConcurrency ?? (cow ? 32 : 4);
    const workers = Math.max(1, Math.min(concurrency, request.targets.length));
    await Promise.all(Array.from({ length: workers }, worker));
    return outcomes;
  }

  /** Picks the target driver of a clone and checks the combination can work. */
  private async planClone(source: Volume, mode: CloneMode, backend: string | undefined): Promise<{ driver: StorageDriver; cow: boolean }> {
    const sourceDriver = this.drivers.storageDriver(source.rootfs.type);
    if (mode === 'keep-type') {
      const driver = await this.drivers.usableStorage(sourceDriver.type);
      return { driver, cow: canSnapshot(driver) && driver.capabilities.snapshotSources.includes(source.rootfs.type) };
    }
    if (mode === 'snapshot') {
      let type = backend;
      if (!type) {
        if (canSnapshot(sourceDriver) && sourceDriver.capabilities.snapshotSources.includes(sourceDriver.type)) type = sourceDriver.type;
        else {
          const cloner = this.drivers.storageDrivers().find((d) => canSnapshot(d) && d.capabilities.snapshotSources.includes(source.rootfs.type));
          if (!cloner) throw new BerthError('NotSupported', `no backend can make snapshot clones of a ${source.rootfs.type} container`);
          type = cloner.type;
        }
      }
      const driver = await this.drivers.usableStorage(type);
      if (!canSnapshot(driver) || !driver.capabilities.snapshotSources.includes(source.rootfs.type)) {
        throw new BerthError('NotSupported', `backend ${driver.type} cannot make snapshot clones of a ${source.rootfs.type} container; copy without --snapshot for a full copy`);
      }
      return { driver, cow: true };
    }
    // A full copy: by default the source's type, except that an overlay clone becomes a
    // standalone dir container (a "full copy" that still needed its base would not be one).
    const type = backend ?? (sourceDriver.type === 'overlay' ? 'dir' : sourceDriver.type);
    const driver = await this.drivers.usableStorage(type);
    return { driver, cow: false };
  }

  /**
   * The storage and config half of copy, snapshot and restore, inside an operation.
   * Returns the new volume and its summary (made from what was written, not read back).
   */
  private async clone(request: CloneRequest, op: Operation): Promise<{ volume: Volume; summary: ContainerSummary }> {
    const { source, target } = request;
    const sourceDriver = this.drivers.storageDriver(source.rootfs.type);
    const { driver, cow } = await this.planClone(source, request.mode, request.backend);
    let options = parseOptions(driver, request.options ?? {});
    const sourceConfig = request.sourceConfig ?? LxcConfig.parse(await readFile(paths.config(source), 'utf8'));

    const oldHostname = sourceConfig.get('lxc.uts.name') ?? source.name;
    const partial = await this.prepareContainerDir(target, op);
    try {
      let rootfs: RootfsSpec;
      let dependency: 'none' | 'source' | 'inherited' = 'none';
      let hostnameDone = false;
      if (cow && canSnapshot(driver)) {
        const result = await driver.snapshot(source, target, options, op);
        rootfs = result.rootfs;
        dependency = result.dependency;
        await op.onUndo({ do: 'destroyVolume', volume: { ...target, rootfs } });
      } else if (canNativeCopy(driver) && source.rootfs.type === driver.type) {
        // The driver copies its own volumes faster (a same-filesystem btrfs snapshot,
        // a reflinked image); it registers the undo of each step itself.
        rootfs = await driver.copy(source, target, options, op);
        await op.onUndo({ do: 'destroyVolume', volume: { ...target, rootfs } });
      } else {
        if (isSized(driver) && isSized(sourceDriver)) {
          // Keep the source's size and filesystem unless the caller chose others.
          const shape = await sourceDriver.inspect(source);
          options = parseOptions(driver, { ...shapeOptions(driver, shape), ...(request.options ?? {}) });
        }
        rootfs = await driver.create(target, options, op);
        await op.onUndo({ do: 'destroyVolume', volume: { ...target, rootfs } });
        const targetVolume: Volume = { ...target, rootfs };
        await withRootfs(this.fs, sourceDriver, source, op, this.scratchDir, (from) =>
          withRootfs(this.fs, driver, targetVolume, op, this.scratchDir, async (to) => {
            await copyTree(this.runner, from, to, op, this.wantsProgress());
            // The hostname now, while the copy is mounted: a block backend (loop, LVM)
            // would otherwise mount the new volume a second time for this one file.
            if (!request.keepName && !this.runner.dryRun) await updateHostnameFile(to, oldHostname, target.name);
          }),
        );
        hostnameDone = true;
      }
      const volume: Volume = { ...target, rootfs };
      const config = cloneConfig(sourceConfig, source, target, formatRootfs(rootfs), {
        keepHwaddr: request.keepHwaddr ?? false,
        keepName: request.keepName ?? false,
      });
      await this.fs.writeNewFile(paths.config(target), config.toString(), 0o640);
      if (!request.keepName && !hostnameDone) await this.updateHostname(driver, volume, oldHostname, target.name, op);
      let dependsOn: readonly DependencyRecord[] = [];
      if (dependency === 'source') dependsOn = [{ lxcpath: source.lxcpath, name: source.name }];
      if (dependency === 'inherited') dependsOn = (await readDependencyFile(paths.rdepends(source))).records;
      if (dependsOn.length > 0) await this.addDependencies(target, dependsOn, op);
      const summary: ContainerSummary = {
        name: target.name,
        lxcpath: target.lxcpath,
        backend: rootfs.type,
        rootfs: formatRootfs(rootfs),
        snapshots: 0,
        dependsOn: dependsOn.map((r) => recordName(r, target.lxcpath)),
        dependents: [],
        partial: false,
      };
      return { volume, summary };
    } finally {
      await partial?.release();
      await this.fs.removeFile(paths.partial(target));
    }
  }

  // ---------------------------------------------------------------- snapshots

  async snapshot(name: string, options: { comment?: string } = {}): Promise<SnapshotInfo> {
    const parent = this.ref(name);
    if (options.comment !== undefined && options.comment.includes('\0')) throw new BerthError('InvalidArgument', 'comment contains a NUL byte');
    await this.ensureRecovered();
    return this.withLocks([{ ref: parent, mode: 'exclusive' }], async () => {
      const source = await this.loadVolume(parent);
      await this.planClone(source, 'keep-type', undefined);
      const snapName = nextSnapshotName(await listSnapshotNames(parent));
      const target = snapshotRef(parent, snapName);
      return this.operations.run('snapshot', subjectOf(parent), async (op) => {
        const snapsDir = paths.snapsDir(parent);
        if (!(await pathExists(snapsDir))) {
          await op.onUndo({ do: 'removeEmptyDir', path: snapsDir });
          await this.fs.mkdir(snapsDir, 0o755);
        }
        await this.clone({ source, target, mode: 'keep-type', keepHwaddr: true, keepName: true }, op);
        await this.fs.writeFileAtomic(paths.snapshotTs(target), formatSnapshotTimestamp(new Date()), 0o644);
        if (options.comment !== undefined) await this.fs.writeFileAtomic(paths.snapshotComment(target), options.comment, 0o644);
        return this.snapshotInfo(parent, snapName);
      });
    });
  }

  async listSnapshots(name: string): Promise<SnapshotInfo[]> {
    const parent = this.ref(name);
    await this.requireContainer(parent);
    const names = await listSnapshotNames(parent);
    return Promise.all(names.map((snap) => this.snapshotInfo(parent, snap)));
  }

  private async snapshotInfo(parent: ContainerRef, snapName: string): Promise<SnapshotInfo> {
    const ref = snapshotRef(parent, snapName);
    const config = LxcConfig.parse((await readTextIfExists(paths.config(ref))) ?? '');
    const rootfs = config.get('lxc.rootfs.path') ?? config.get('lxc.rootfs') ?? '';
    return {
      name: snapName,
      container: parent.name,
      dir: ref.dir,
      timestamp: await readTextIfExists(paths.snapshotTs(ref)),
      comment: await readTextIfExists(paths.snapshotComment(ref)),
      backend: rootfs ? (parseRootfs(rootfs).type ?? 'dir') : 'unknown',
    };
  }

  /**
   * Restores snapshot `snapName` of `name`: in place (the current rootfs is replaced;
   * refused while other containers depend on it), or as a new container `newName`.
   */
  async restoreSnapshot(name: string, snapName: string, newName?: string): Promise<ContainerSummary> {
    const parent = this.ref(name);
    const snap = snapshotRef(parent, snapName);
    const target = newName === undefined ? parent : this.ref(newName);
    await this.ensureRecovered();
    if (newName === undefined) await this.refuseIfRunning(parent, 'restore a snapshot over');
    const lockList = newName === undefined ? [{ ref: parent, mode: 'exclusive' as const }] : [{ ref: parent, mode: 'shared' as const }, { ref: target, mode: 'exclusive' as const }];
    return this.withLocks(lockList, async () => {
      await this.requireContainer(parent);
      if (!(await pathExists(paths.config(snap)))) throw new BerthError('NotFound', `${name} has no snapshot ${snapName}`);
      const source = await this.loadVolume(snap);
      await this.planClone(source, 'keep-type', undefined);
      if (newName !== undefined) {
        return this.operations.run('restore', subjectOf(target), async (op) => {
          return (await this.clone({ source, target, mode: 'keep-type', keepHwaddr: false }, op)).summary;
        });
      }
      const dependents = await this.liveRecords(paths.dependents(parent));
      if (dependents.length > 0) {
        throw new BerthError('FailedPrecondition', `cannot restore ${name} in place: ${describeRecords(dependents)} depend on its rootfs`);
      }
      // In place: set the current container aside, clone the snapshot back, move the
      // snapshots home, then drop the old rootfs. Until that last step a failure (or a
      // crash, through the journal) puts the old container back as it was.
      const aside: ContainerRef = { lxcpath: parent.lxcpath, name: `.${name}.berth-restore`, dir: join(parent.lxcpath, `.${name}.berth-restore`) };
      return this.operations.run('restore', subjectOf(parent), async (op) => {
        const current = await this.loadVolume(parent);
        const currentDriver = this.drivers.storageDriver(current.rootfs.type);
        if (await pathExists(aside.dir)) throw new BerthError('FailedPrecondition', `${aside.dir} is left from an interrupted restore; run berth recover`);
        await op.onUndo({ do: 'rename', from: aside.dir, to: parent.dir });
        await this.fs.rename(parent.dir, aside.dir);
        let asideVolume: Volume = { ...aside, rootfs: relocateSpec(current.rootfs, parent.dir, aside.dir) };
        if (canRename(currentDriver)) {
          asideVolume = { ...aside, rootfs: await currentDriver.rename(current, aside, op) };
          await op.onUndo({ do: 'renameVolume', volume: asideVolume, target: parent });
        }
        await this.rewriteSnapshotPaths(parent, aside, op);
        const snapshot = await this.loadVolume(snapshotRef(aside, snapName));
        await this.clone({ source: snapshot, target: parent, mode: 'keep-type', keepHwaddr: true }, op);
        const asideSnaps = paths.snapsDir(aside);
        await op.onUndo({ do: 'rename', from: paths.snapsDir(parent), to: asideSnaps });
        await this.fs.rename(asideSnaps, paths.snapsDir(parent));
        await this.rewriteSnapshotPaths(aside, parent, op);
        // Committed. What is left only removes the old rootfs: registered as the undo so
        // that a crash from here on is finished by recovery instead of undone.
        await op.forgetSince(0);
        await op.onUndo({ do: 'removeTree', path: aside.dir });
        await op.onUndo({ do: 'destroyVolume', volume: asideVolume });
        await currentDriver.destroy(asideVolume, op);
        await this.fs.removeTree(aside.dir);
        return this.summary(parent);
      });
    });
  }

  async deleteSnapshot(name: string, snapName: string | 'ALL'): Promise<string[]> {
    const parent = this.ref(name);
    await this.ensureRecovered();
    return this.withLocks([{ ref: parent, mode: 'exclusive' }], async () => {
      await this.requireContainer(parent);
      const names = snapName === 'ALL' ? await listSnapshotNames(parent) : [snapName];
      const refs = names.map((n) => snapshotRef(parent, n));
      for (const ref of refs) {
        if (!(await pathExists(paths.config(ref)))) throw new BerthError('NotFound', `${name} has no snapshot ${ref.name}`);
        const dependents = await this.liveRecords(paths.dependents(ref));
        if (dependents.length > 0) throw new BerthError('FailedPrecondition', `snapshot ${ref.name} of ${name} is the base of ${describeRecords(dependents)}`);
      }
      for (const ref of refs) {
        // Journalled under the container, not the snapshot: a snapshot's "lxcpath" is
        // `snaps/`, where a journal would block its removal and `recover` never looks.
        await this.operations.run('snapshot-delete', subjectOf(parent), (op) => this.destroyContainerStorage(ref, op), {
          recovery: 'rollforward',
          resume: { op: 'destroy', lxcpath: ref.lxcpath, name: ref.name },
        });
      }
      if (snapName === 'ALL' || (await listSnapshotNames(parent)).length === 0) await this.fs.removeEmptyDir(paths.snapsDir(parent));
      return names;
    });
  }

  // ---------------------------------------------------------------- destroy

  /**
   * Destroys a container. Refused while it has snapshots (unless `withSnapshots`) or
   * while any container depends on its storage — or on a snapshot's: everything is
   * checked before anything is removed.
   */
  async destroy(name: string, options: DestroyOptions = {}): Promise<void> {
    const target = this.ref(name);
    await this.ensureRecovered();
    await this.refuseIfRunning(target, 'destroy');
    await this.withLocks([{ ref: target, mode: 'exclusive' }], async () => {
      await this.requireContainer(target);
      const mounted = await mountsUnder(target.dir);
      if (mounted.length > 0) {
        throw new BerthError('InUse', `cannot destroy ${name}: ${mounted[mounted.length - 1]!.mountpoint} is mounted; unmount it first`);
      }
      const dependents = await this.liveRecords(paths.dependents(target));
      if (dependents.length > 0) {
        throw new BerthError('FailedPrecondition', `cannot destroy ${name}: ${describeRecords(dependents)} depend on it; destroy them first`);
      }
      const legacy = (await readDependencyFile(paths.dependents(target))).legacyCount;
      if (legacy !== undefined && legacy > 0) {
        throw new BerthError('FailedPrecondition', `cannot destroy ${name}: its lxc_snapshots says ${legacy} containers depend on it`);
      }
      const snaps = await listSnapshotNames(target);
      if (snaps.length > 0 && !options.withSnapshots) {
        throw new BerthError('FailedPrecondition', `cannot destroy ${name}: it has ${snaps.length} snapshot(s) (${snaps.join(', ')}); use --with-snapshots`);
      }
      for (const snap of snaps) {
        const ref = snapshotRef(target, snap);
        const snapDependents = await this.liveRecords(paths.dependents(ref));
        if (snapDependents.length > 0) {
          throw new BerthError('FailedPrecondition', `cannot destroy ${name}: its snapshot ${snap} is the base of ${describeRecords(snapDependents)}`);
        }
      }
      await this.loadVolume(target);
      await this.operations.run('destroy', subjectOf(target), (op) => this.destroyResumable(target, op), {
        recovery: 'rollforward',
        resume: { op: 'destroy', lxcpath: target.lxcpath, name: target.name },
      });
    });
  }

  /** Removes a container with its snapshots; safe to run again on a half-destroyed one. */
  private async destroyResumable(target: ContainerRef, op: OperationContext): Promise<void> {
    for (const snap of await listSnapshotNames(target)) await this.destroyContainerStorage(snapshotRef(target, snap), op);
    await this.destroyContainerStorage(target, op);
  }

  /** Storage, dependency records, then the directory of one container (or snapshot). */
  private async destroyContainerStorage(target: ContainerRef, op: OperationContext): Promise<void> {
    const configText = await readTextIfExists(paths.config(target));
    if (configText !== undefined) {
      const volume = await this.loadVolume(target);
      await this.drivers.storageDriver(volume.rootfs.type).destroy(volume, op);
      for (const base of (await readDependencyFile(paths.rdepends(target))).records) {
        await this.removeDependent(base, { lxcpath: target.lxcpath, name: target.name });
      }
    }
    await this.fs.removeTree(target.dir);
  }

  // ---------------------------------------------------------------- rename

  async rename(name: string, newName: string): Promise<ContainerSummary> {
    const from = this.ref(name);
    const to = this.ref(newName);
    if (name === newName) throw new BerthError('InvalidArgument', 'the new name is the old one');
    await this.ensureRecovered();
    await this.refuseIfRunning(from, 'rename');
    return this.withLocks([{ ref: from, mode: 'exclusive' }, { ref: to, mode: 'exclusive' }], async () => {
      const volume = await this.loadVolume(from);
      if (await pathExists(to.dir)) throw new BerthError('AlreadyExists', `container ${newName} already exists`);
      const dependents = await this.liveRecords(paths.dependents(from));
      if (dependents.length > 0) {
        throw new BerthError('FailedPrecondition', `cannot rename ${name}: ${describeRecords(dependents)} use its rootfs by path`);
      }
      for (const snap of await listSnapshotNames(from)) {
        const snapDependents = await this.liveRecords(paths.dependents(snapshotRef(from, snap)));
        if (snapDependents.length > 0) throw new BerthError('FailedPrecondition', `cannot rename ${name}: its snapshot ${snap} is the base of ${describeRecords(snapDependents)}`);
      }
      const driver = this.drivers.storageDriver(volume.rootfs.type);
      return this.operations.run('rename', subjectOf(from), async (op) => {
        const config = LxcConfig.parse(await readFile(paths.config(from), 'utf8'));
        await op.onUndo({ do: 'rename', from: to.dir, to: from.dir });
        await this.fs.rename(from.dir, to.dir);
        let rootfs = relocateSpec(volume.rootfs, from.dir, to.dir);
        if (canRename(driver)) {
          rootfs = await driver.rename(volume, to, op);
          await op.onUndo({ do: 'renameVolume', volume: { ...to, rootfs }, target: from });
        }
        const renamed = cloneConfig(config, from, to, formatRootfs(rootfs), { keepHwaddr: true });
        await op.onUndo({ do: 'restoreFile', path: paths.config(to), content: config.toString(), mode: 0o640 });
        await this.fs.writeFileAtomic(paths.config(to), renamed.toString(), 0o640);
        await this.rewriteSnapshotPaths(from, to, op);
        for (const base of (await readDependencyFile(paths.rdepends(to))).records) {
          await this.replaceDependent(base, { lxcpath: from.lxcpath, name: from.name }, { lxcpath: to.lxcpath, name: to.name });
        }
        await this.updateHostname(driver, { ...to, rootfs }, config.get('lxc.uts.name') ?? name, newName, op);
        return this.summary(to);
      });
    });
  }

  /** After a container directory moved, its snapshots' configs still name the old place. */
  private async rewriteSnapshotPaths(from: ContainerRef, to: ContainerRef, op: OperationContext): Promise<void> {
    for (const snap of await listSnapshotNames(to)) {
      const ref = snapshotRef(to, snap);
      const text = await readTextIfExists(paths.config(ref));
      if (text === undefined) continue;
      await op.onUndo({ do: 'restoreFile', path: paths.config(ref), content: text, mode: 0o640 });
      const config = LxcConfig.parse(text);
      config.mapValues((_, value) => value.split(from.dir + '/').join(to.dir + '/'));
      await this.fs.writeFileAtomic(paths.config(ref), config.toString(), 0o640);
    }
  }

  // ---------------------------------------------------------------- quota

  /** Sets (or with `null` removes) the size limit of a container's rootfs. */
  async setQuota(name: string, bytes: number | null): Promise<ContainerInfo> {
    const ref = this.ref(name);
    if (bytes !== null && (!Number.isSafeInteger(bytes) || bytes <= 0)) throw new BerthError('InvalidArgument', `invalid quota ${bytes}: must be a positive number of bytes`);
    await this.ensureRecovered();
    await this.withLocks([{ ref, mode: 'exclusive' }], async () => {
      const volume = await this.loadVolume(ref);
      const driver = await this.drivers.usableStorage(volume.rootfs.type);
      if (!hasQuota(driver)) throw new BerthError('NotSupported', `the ${driver.type} backend has no quotas`);
      await this.operations.run('quota', subjectOf(ref), (op) => driver.setQuota(volume, bytes, op));
    });
    return this.info(name);
  }

  // ---------------------------------------------------------------- reading

  async list(): Promise<ContainerSummary[]> {
    let entries: string[];
    try {
      entries = await readdir(this.lxcpath);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw error;
    }
    const summaries: ContainerSummary[] = [];
    for (const entry of entries.sort()) {
      if (entry.startsWith('.')) continue;
      let ref: ContainerRef;
      try {
        ref = this.ref(entry);
      } catch {
        continue; // not a name berth accepts: not a container berth manages
      }
      if (!(await pathExists(paths.config(ref)))) continue;
      summaries.push(await this.summary(ref));
    }
    return summaries;
  }

  async info(name: string): Promise<ContainerInfo> {
    const ref = this.ref(name);
    const summary = await this.summary(ref);
    const base: ContainerInfo = { ...summary, dir: ref.dir, config: paths.config(ref) };
    try {
      const volume = await this.loadVolume(ref);
      const driver = this.drivers.storageDriver(volume.rootfs.type);
      if (hasUsage(driver)) return { ...base, usage: await driver.usage(volume) };
      return { ...base, usageError: `the ${driver.type} backend does not report usage` };
    } catch (error) {
      return { ...base, usageError: describeError(error) };
    }
  }

  async exists(name: string): Promise<boolean> {
    return pathExists(paths.config(this.ref(name)));
  }

  private async summary(ref: ContainerRef): Promise<ContainerSummary> {
    const text = await readTextIfExists(paths.config(ref));
    if (text === undefined && !this.runner.dryRun) throw new BerthError('NotFound', `container ${ref.name} does not exist in ${ref.lxcpath}`);
    const config = LxcConfig.parse(text ?? '');
    const rootfs = config.get('lxc.rootfs.path') ?? config.get('lxc.rootfs') ?? '';
    let backend = 'unknown';
    if (rootfs) backend = (await this.resolveRootfs(rootfs).catch(() => undefined))?.type ?? 'unknown';
    const rdepends = await readDependencyFile(paths.rdepends(ref));
    const dependents = await readDependencyFile(paths.dependents(ref));
    return {
      name: ref.name,
      lxcpath: ref.lxcpath,
      backend,
      rootfs,
      snapshots: (await listSnapshotNames(ref)).length,
      dependsOn: rdepends.records.map((r) => recordName(r, ref.lxcpath)),
      dependents: dependents.records.map((r) => recordName(r, ref.lxcpath)),
      partial: await pathExists(paths.partial(ref)),
    };
  }

  /** A container's volume, from its config; NotFound if there is no container. */
  async loadVolume(ref: ContainerRef): Promise<Volume> {
    return (await this.loadVolumeAndConfig(ref)).volume;
  }

  private async loadVolumeAndConfig(ref: ContainerRef): Promise<{ volume: Volume; config: LxcConfig }> {
    const text = await readTextIfExists(paths.config(ref));
    if (text === undefined) throw new BerthError('NotFound', `container ${ref.name} does not exist in ${ref.lxcpath}`);
    const config = LxcConfig.parse(text);
    const value = config.get('lxc.rootfs.path') ?? config.get('lxc.rootfs');
    if (!value) throw new BerthError('FailedPrecondition', `container ${ref.name} has no lxc.rootfs.path`);
    return { volume: { ...ref, rootfs: await this.resolveRootfs(value) }, config };
  }

  /** Parses a rootfs path, detecting the type of an unprefixed one. */
  async resolveRootfs(value: string): Promise<RootfsSpec> {
    const parsed = parseRootfs(value);
    if (parsed.type !== undefined) {
      const driver = this.drivers.storageDriver(parsed.type);
      return { type: driver.type, source: parsed.source };
    }
    const candidates = [
      ...DETECTION_ORDER.flatMap((t) => this.drivers.findStorage(t) ?? []),
      ...this.drivers.storageDrivers().filter((d) => !DETECTION_ORDER.includes(d.type) && d.type !== 'dir'),
      ...(this.drivers.findStorage('dir') ? [this.drivers.storageDriver('dir')] : []),
    ];
    for (const driver of candidates) {
      if (await driver.detect(parsed.source)) return { type: driver.type, source: parsed.source };
    }
    throw new BerthError('NotSupported', `cannot tell the backend of rootfs ${value}`);
  }

  private async requireContainer(ref: ContainerRef): Promise<void> {
    if (!(await pathExists(paths.config(ref)))) throw new BerthError('NotFound', `container ${ref.name} does not exist in ${ref.lxcpath}`);
  }

  // ---------------------------------------------------------------- mount

  /**
   * Mounts a container's rootfs (default: on `<dir>/rootfs`, where LXC would). For a
   * backend whose rootfs is a plain directory, with no mountpoint given, nothing needs
   * mounting: the path is returned.
   */
  async mount(name: string, mountpoint?: string): Promise<string> {
    const ref = this.ref(name);
    return this.withLocks([{ ref, mode: 'shared' }], async () => {
      const volume = await this.loadVolume(ref);
      const driver = await this.drivers.usableStorage(volume.rootfs.type);
      if (mountpoint === undefined && hasDirectAccess(driver)) return driver.hostPath(volume);
      const target = resolve(mountpoint ?? paths.rootfs(ref));
      if (!(await isDirectory(target))) throw new BerthError('NotFound', `mountpoint ${target} is not a directory`);
      await driver.mount(volume, target, noUndoContext());
      return target;
    });
  }

  async unmount(name: string, mountpoint?: string): Promise<string> {
    const ref = this.ref(name);
    const volume = await this.loadVolume(ref);
    const driver = this.drivers.storageDriver(volume.rootfs.type);
    const target = resolve(mountpoint ?? paths.rootfs(ref));
    await driver.unmount(volume, target, noUndoContext());
    return target;
  }

  // ---------------------------------------------------------------- recovery

  /**
   * Finishes or undoes operations whose process died (journal entries nobody holds):
   * creates and copies are undone, destroys finished.
   */
  async recover(): Promise<RecoveryReport> {
    const report: RecoveryReport = { recovered: [], failed: [] };
    if (this.runner.dryRun) return report;
    const journal = new Journal(this.lxcpath);
    for (const orphan of await journal.orphans()) {
      const { entry } = orphan;
      const ctx = noUndoContext();
      try {
        if (entry.recovery === 'rollforward' && entry.resume?.op === 'destroy') {
          const ref = containerRef(String(entry.resume.lxcpath), String(entry.resume.name));
          await this.destroyResumable(ref, ctx);
          report.recovered.push({ id: entry.id, kind: entry.kind, name: entry.name, how: 'finished' });
        } else {
          const failures = await runUndoSteps(entry.undo, this.undoServices, ctx);
          if (failures.length > 0) throw new BerthError('Internal', failures.join('; '));
          report.recovered.push({ id: entry.id, kind: entry.kind, name: entry.name, how: 'undone' });
        }
        await orphan.done();
      } catch (error) {
        report.failed.push({ id: entry.id, kind: entry.kind, name: entry.name, reason: describeError(error) });
        await orphan.release();
      }
    }
    return report;
  }

  /** Every mutating operation first recovers what a crashed berth left (once per instance). */
  private async ensureRecovered(): Promise<void> {
    if (this.recoveredOnce) return;
    this.recoveredOnce = true;
    const report = await this.recover();
    for (const done of report.recovered) this.events.emit('warning', `recovered an interrupted ${done.kind} of ${done.name} (${done.how})`);
    for (const failed of report.failed) this.events.emit('warning', `could not recover an interrupted ${failed.kind} of ${failed.name}: ${failed.reason}`);
  }

  // ---------------------------------------------------------------- helpers

  /**
   * LXC will not change the storage of a running container, nor will berth. A running
   * container's monitor listens on the abstract socket `@<lxcpath>/<name>/command`, seen
   * in `/proc/net/unix` (of this network namespace, as `lxc-info` would see it too).
   * Reading it needs no process and, unlike `lxc-info`, does not wait for the
   * container lock.
   */
  private async refuseIfRunning(ref: ContainerRef, action: string, hint = ''): Promise<void> {
    const sockets = await readTextIfExists('/proc/net/unix');
    if (sockets === undefined) return;
    const name = `@${ref.lxcpath}/${ref.name}/command`;
    if (sockets.split('\n').some((line) => line.endsWith(` ${name}`))) {
      throw new BerthError('InUse', `cannot ${action} ${ref.name}: it is running; stop it first${hint}`);
    }
  }

  /**
   * A copy or rename rewrites the rootfs's `/etc/hostname` when it held the old name, as
   * LXC does: in place for a plain directory, through the driver where it can edit
   * offline (an overlay's upper), else through a temporary mount.
   */
  private async updateHostname(driver: StorageDriver, volume: Volume, oldName: string, newName: string, op: Operation): Promise<void> {
    if (this.runner.dryRun) return;
    if (!hasDirectAccess(driver) && canEditOffline(driver)) {
      const edit = (current: string | undefined) => (current !== undefined && current.trim() === oldName ? `${newName}\n` : undefined);
      if (await driver.editFileOffline(volume, 'etc/hostname', edit)) return;
    }
    await withRootfs(this.fs, driver, volume, op, this.scratchDir, (path) => updateHostnameFile(path, oldName, newName));
  }

  private wantsProgress(): boolean {
    return this.events.listenerCount('operation:progressed') > 0;
  }

  /**
   * Makes `<lxcpath>/<name>/` for a new container, with LXC's `partial` marker held
   * under a lock for as long as the creation runs (LXC removes a container whose
   * `partial` is unlocked: an interrupted creation).
   */
  private async prepareContainerDir(target: ContainerRef, op: Operation): Promise<LockHandle | undefined> {
    if (await pathExists(target.dir)) throw new BerthError('AlreadyExists', `container ${target.name} already exists in ${target.lxcpath}`);
    if (!(await isDirectory(target.lxcpath))) {
      if (dirname(target.lxcpath) === target.lxcpath) throw new BerthError('InvalidArgument', 'lxcpath cannot be /');
      await this.fs.mkdirp(target.lxcpath, 0o755);
    }
    if (!isInside(this.lxcpath, target.dir)) throw new BerthError('InvalidArgument', `${target.dir} is outside ${this.lxcpath}`);
    await op.onUndo({ do: 'removeTree', path: target.dir });
    await this.fs.mkdir(target.dir, 0o770);
    if (this.runner.dryRun) return undefined;
    return this.locks.acquire(paths.partial(target), { timeoutMs: 0, what: `${target.name}/partial` });
  }

  private async withLocks<T>(wanted: { ref: ContainerRef; mode: 'shared' | 'exclusive' }[], fn: () => Promise<T>): Promise<T> {
    if (this.runner.dryRun) return fn();
    // Always in the same order, so two operations on the same pair cannot deadlock.
    // (Plain code-unit order: localeCompare would start ICU's collator, about 10 ms.)
    const ordered = [...wanted].sort((a, b) => (a.ref.dir < b.ref.dir ? -1 : a.ref.dir > b.ref.dir ? 1 : 0));
    const held: LockHandle[] = [];
    try {
      for (const { ref, mode } of ordered) {
        held.push(await this.locks.lockContainer(ref.lxcpath, ref.name, { mode, timeoutMs: this.settings.lockTimeoutMs }));
      }
      return await fn();
    } finally {
      for (const handle of held.reverse()) await handle.release();
    }
  }

  private recordsLockPath(ref: DependencyRecord): string {
    return `${this.locks.containerLockPath(ref.lxcpath, ref.name)}.records`;
  }

  /** Writes `dependent`'s `lxc_rdepends` and adds it to each base's `lxc_snapshots`. */
  private async addDependencies(dependent: ContainerRef, bases: readonly DependencyRecord[], op: Operation): Promise<void> {
    if (bases.length === 0) return;
    const self: DependencyRecord = { lxcpath: dependent.lxcpath, name: dependent.name };
    await this.fs.writeFileAtomic(paths.rdepends(dependent), formatDependencyFile(bases), 0o644);
    for (const base of bases) {
      const file = join(base.lxcpath, base.name, 'lxc_snapshots');
      await this.updateRecords(base, async () => {
        const current = await readDependencyFile(file);
        const before = await readTextIfExists(file);
        await op.onUndo({ do: 'restoreFile', path: file, content: before, mode: 0o644 });
        const records = current.records.filter((r) => !sameRecord(r, self));
        await this.fs.writeFileAtomic(file, formatDependencyFile([...records, self]), 0o644);
      });
    }
  }

  private async removeDependent(base: DependencyRecord, dependent: DependencyRecord): Promise<void> {
    await this.replaceDependent(base, dependent, undefined);
  }

  private async replaceDependent(base: DependencyRecord, old: DependencyRecord, replacement: DependencyRecord | undefined): Promise<void> {
    const file = join(base.lxcpath, base.name, 'lxc_snapshots');
    await this.updateRecords(base, async () => {
      const current = await readDependencyFile(file);
      if (current.legacyCount !== undefined || !(await pathExists(file))) return;
      const records = current.records.flatMap((r) => (sameRecord(r, old) ? (replacement ? [replacement] : []) : [r]));
      if (records.length === 0) await this.fs.removeFile(file);
      else await this.fs.writeFileAtomic(file, formatDependencyFile(records), 0o644);
    });
  }

  private async updateRecords(base: DependencyRecord, fn: () => Promise<void>): Promise<void> {
    if (this.runner.dryRun) return fn();
    await this.locks.with(this.recordsLockPath(base), { timeoutMs: this.settings.lockTimeoutMs, what: `records of ${base.name}` }, fn);
  }

  /** Records in a dependency file whose container still exists (stale ones are ignored). */
  private async liveRecords(file: string): Promise<DependencyRecord[]> {
    const { records } = await readDependencyFile(file);
    const live: DependencyRecord[] = [];
    for (const record of records) {
      if (await pathExists(join(record.lxcpath, record.name, 'config'))) live.push(record);
    }
    return live;
  }
}

function subjectOf(ref: ContainerRef): OperationSubject {
  return { lxcpath: ref.lxcpath, name: ref.name };
}

function recordName(record: DependencyRecord, lxcpath: string): string {
  return resolve(record.lxcpath) === resolve(lxcpath) ? record.name : join(record.lxcpath, record.name);
}

function describeRecords(records: readonly DependencyRecord[]): string {
  const names = records.map((r) => r.name);
  return names.length === 1 ? names[0]! : `${names.slice(0, 5).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}`;
}

/** Replaces a moved container directory in a rootfs spec's paths. */
function relocateSpec(spec: RootfsSpec, fromDir: string, toDir: string): RootfsSpec {
  return { type: spec.type, source: spec.source.split(`${fromDir}/`).join(`${toDir}/`) };
}

function templatePath(template: string): string {
  if (template.includes('/')) return resolve(template);
  if (!/^[A-Za-z0-9_.-]+$/.test(template)) throw new BerthError('InvalidArgument', `invalid template name ${JSON.stringify(template)}`);
  return join(process.env.BERTH_TEMPLATE_DIR ?? '/usr/share/lxc/templates', `lxc-${template}`);
}

async function checkSource(source: CreateSource): Promise<void> {
  switch (source.kind) {
    case 'empty':
      return;
    case 'directory':
      if (!(await isDirectory(source.path))) throw new BerthError('NotFound', `source directory ${source.path} does not exist`);
      return;
    case 'tarball': {
      let info;
      try {
        info = await stat(source.path);
      } catch {
        throw new BerthError('NotFound', `tarball ${source.path} does not exist`);
      }
      if (!info.isFile()) throw new BerthError('InvalidArgument', `tarball ${source.path} is not a file`);
      if (!/\.(tar|tar\.gz|tgz|tar\.xz|txz|tar\.zst|tar\.bz2)$/.test(basename(source.path))) {
        throw new BerthError('InvalidArgument', `${source.path}: expected a .tar, .tar.gz or .tar.xz rootfs tarball`);
      }
      return;
    }
    case 'template': {
      const script = templatePath(source.template);
      if (!(await pathExists(script))) throw new BerthError('NotFound', `template ${source.template} not found (${script})`);
      return;
    }
  }
}

/** Validates options against a driver's strict schema, naming the bad key. */
export function parseOptions(driver: StorageDriver, options: StorageOptions): StorageOptions {
  const result = driver.optionsSchema.safeParse(options);
  if (result.success) return result.data as StorageOptions;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys?: string[] }).keys ?? [];
    const known = Object.keys(driver.optionsSchema.shape);
    return fail(`backend ${driver.type} has no option ${keys.join(', ')}${known.length ? ` (it takes: ${known.join(', ')})` : ' (it takes none)'}`);
  }
  return fail(`backend ${driver.type}: ${issue.path.join('.') || 'options'}: ${issue.message}`);
}

function fail(message: string): never {
  throw new BerthError('InvalidArgument', message);
}

/** The options a sized driver's schema knows, filled from a source's shape. */
function shapeOptions(driver: StorageDriver, shape: { sizeBytes?: number; fstype?: string }): StorageOptions {
  const keys = Object.keys(driver.optionsSchema.shape);
  const options: Record<string, unknown> = {};
  if (shape.sizeBytes !== undefined && keys.includes('fssize')) options.fssize = `${shape.sizeBytes}B`;
  if (shape.fstype !== undefined && keys.includes('fstype')) options.fstype = shape.fstype;
  return options;
}

function noUndoContext(): OperationContext {
  return { onUndo: async () => {}, progress: () => {}, signal: undefined };
}
