import type { z } from 'zod';
import type { ContainerRef } from '../lxc/layout.js';
import type { RootfsSpec } from '../lxc/rootfs.js';
import type { UndoStep } from '../ops/journal.js';

/**
 * # Storage drivers
 *
 * A storage driver keeps container root filesystems on one kind of backing store
 * (a directory, a btrfs subvolume, a ZFS dataset, an LVM LV, a loop image, an overlay).
 * It knows nothing of configs, locks, names or dependency records: the core's `Berth`
 * facade does that, and calls the driver for the storage steps alone.
 *
 * Terms:
 * - **volume**: one container's root filesystem as the driver stores it, named by the
 *   container's `lxc.rootfs.path` ({@link RootfsSpec}: `<type>:<source>`).
 * - **container ref**: where a container lives, `<lxcpath>/<name>/`. A container
 *   snapshot is a container too: `<lxcpath>/<name>/snaps/snapN/`.
 * - **mount**: make a volume's files visible at a directory, so the core can fill,
 *   copy or read them.
 * - **snapshot clone**: a new volume that shares unchanged data with its source
 *   (copy-on-write). The core uses it for `copy --snapshot` and for container snapshots.
 *
 * Lifecycle: `probe` once → `create` (empty; the core then mounts and fills it) →
 * `mount`/`unmount` any number of times → `snapshot` (if capable) → `destroy`.
 * A full copy is the core's job (create + mount both + copy the files) unless the
 * driver declares `nativeCopy` and does it faster itself.
 *
 * Every method that changes the host takes an {@link OperationContext}: a driver
 * registers an undo step for each side effect *before* making it (`ctx.onUndo`), so a
 * failure or a crash part-way leaves nothing behind. Undo steps are data; a driver's own
 * kind (`{ do: 'driver', … }`) is replayed through its `revert`.
 *
 * Drivers run every external command through the injected `CommandRunner`, keep those
 * calls in one `*-cli.ts` file, and never import another driver.
 */
export interface StorageDriver {
  /** The `lxc.rootfs.path` prefix this driver owns (`dir`, `btrfs`…). */
  readonly type: string;
  /** Other prefixes that mean the same (`overlayfs` for `overlay`). */
  readonly aliases: readonly string[];
  /** One line for `berth drivers`. */
  readonly description: string;
  readonly capabilities: StorageCapabilities;
  /**
   * The driver's options (`fssize`, `fstype`, `vgname`…) as a strict zod object: unknown
   * keys are errors, every key has a `.describe()` text (shown by `berth drivers` and
   * `--help`).
   */
  readonly optionsSchema: z.ZodObject;

  /** Can this driver work on this host? Never throws: says why not instead. */
  probe(): Promise<Availability>;

  /** Does an unprefixed rootfs path (as older configs have) belong to this driver? */
  detect(path: string): Promise<boolean>;

  /** Makes an empty volume for `target`; `options` has been parsed by `optionsSchema`. */
  create(target: ContainerRef, options: StorageOptions, ctx: OperationContext): Promise<RootfsSpec>;

  mount(volume: Volume, mountpoint: string, ctx: OperationContext): Promise<void>;
  unmount(volume: Volume, mountpoint: string, ctx: OperationContext): Promise<void>;

  /**
   * Removes the volume. Idempotent: a volume that is already (partly) gone is not an
   * error, so that undo and crash recovery can call it on half-made volumes.
   */
  destroy(volume: Volume, ctx: OperationContext): Promise<void>;

  /** Replays one of this driver's own undo steps (`{ do: 'driver', driver: type }`). */
  revert?(action: string, args: Readonly<Record<string, unknown>>, ctx: OperationContext): Promise<void>;
}

export type StorageOptions = Readonly<Record<string, unknown>>;

/** A container's volume: where the container is, and what its config says of its rootfs. */
export interface Volume extends ContainerRef {
  readonly rootfs: RootfsSpec;
}

export type Availability = { readonly available: true } | { readonly available: false; readonly reason: string };

/**
 * What a driver can do beyond the lifecycle every driver has. Declared, never probed
 * with `typeof`: use the type guards below.
 */
export interface StorageCapabilities {
  /** `snapshot()`: copy-on-write clones. */
  readonly snapshot: boolean;
  /**
   * The rootfs types this driver can snapshot-clone *from*. A driver that snapshots its
   * own volumes lists its own type; overlay also lists `dir` (the lower is the source).
   */
  readonly snapshotSources: readonly string[];
  /** `copy()`: a faster full copy of its own volumes than create + file copy. */
  readonly nativeCopy: boolean;
  /** `hostPath()`: the volume is a plain host directory, readable without mounting. */
  readonly directAccess: boolean;
  /** `inspect()`: volumes have a fixed size and filesystem that a copy should keep. */
  readonly sized: boolean;
  /** `setQuota()` */
  readonly quota: boolean;
  /** `usage()` */
  readonly usage: boolean;
  /** `rename()`: moving the container directory is not enough to rename a volume. */
  readonly rename: boolean;
  /** `editFileOffline()`: small edits (the hostname of a clone) without mounting. */
  readonly offlineEdit?: boolean;
}

/** The result of a snapshot clone. */
export interface SnapshotResult {
  readonly rootfs: RootfsSpec;
  /**
   * Whether the new volume needs its source's storage to keep existing:
   * `source` (an overlay on the source's rootfs, a classic LVM snapshot) — the core
   * records it in `lxc_rdepends`/`lxc_snapshots` so the source is never destroyed under
   * it; `inherited` — it needs what the source needed (an overlay clone of an overlay
   * shares the same lower); `none` — it stands alone (btrfs/zfs/thin handle sharing).
   */
  readonly dependency: 'none' | 'source' | 'inherited';
}

export interface SnapshotCapable {
  snapshot(source: Volume, target: ContainerRef, options: StorageOptions, ctx: OperationContext): Promise<SnapshotResult>;
}

export interface NativeCopyCapable {
  copy(source: Volume, target: ContainerRef, options: StorageOptions, ctx: OperationContext): Promise<RootfsSpec>;
}

export interface DirectAccessCapable {
  /** The host directory that is the volume's root. */
  hostPath(volume: Volume): string;
}

export interface VolumeShape {
  readonly sizeBytes?: number;
  readonly fstype?: string;
}

export interface SizedCapable {
  /** Size and filesystem of a volume, as a copy into this driver's type should keep them. */
  inspect(volume: Volume): Promise<VolumeShape>;
}

export interface Usage {
  /** Bytes the volume's data uses. */
  readonly usedBytes: number;
  /** The limit, when one is set. */
  readonly limitBytes?: number;
  /** Free bytes left to the volume, when it has a size of its own. */
  readonly freeBytes?: number;
  /** Driver-specific figures worth showing (`referenced`, `exclusive`, `allocated`…). */
  readonly details?: Readonly<Record<string, number | string>>;
}

export interface UsageCapable {
  usage(volume: Volume): Promise<Usage>;
}

export interface QuotaCapable {
  /** Sets or (with `null`) removes the volume's size limit. */
  setQuota(volume: Volume, bytes: number | null, ctx: OperationContext): Promise<void>;
}

export interface RenameCapable {
  /**
   * Called after the core has moved the container directory from `volume.dir` to
   * `target.dir`; returns the new rootfs spec.
   */
  rename(volume: Volume, target: ContainerRef, ctx: OperationContext): Promise<RootfsSpec>;
}

export interface OfflineEditCapable {
  /**
   * Rewrites one file of an unmounted volume, as the mounted volume would show it:
   * `edit` gets the current content (undefined: no such regular file) and returns the
   * new content, or undefined for no change. Resolves false when the driver cannot
   * tell the file's state without mounting; the core then mounts and edits.
   */
  editFileOffline(volume: Volume, relativePath: string, edit: (current: string | undefined) => string | undefined): Promise<boolean>;
}

export const canSnapshot = (d: StorageDriver): d is StorageDriver & SnapshotCapable => d.capabilities.snapshot;
export const canNativeCopy = (d: StorageDriver): d is StorageDriver & NativeCopyCapable => d.capabilities.nativeCopy;
export const hasDirectAccess = (d: StorageDriver): d is StorageDriver & DirectAccessCapable => d.capabilities.directAccess;
export const isSized = (d: StorageDriver): d is StorageDriver & SizedCapable => d.capabilities.sized;
export const hasUsage = (d: StorageDriver): d is StorageDriver & UsageCapable => d.capabilities.usage;
export const hasQuota = (d: StorageDriver): d is StorageDriver & QuotaCapable => d.capabilities.quota;
export const canRename = (d: StorageDriver): d is StorageDriver & RenameCapable => d.capabilities.rename;
export const canEditOffline = (d: StorageDriver): d is StorageDriver & OfflineEditCapable => d.capabilities.offlineEdit === true;

/** What a driver gets for each operation: undo registration and progress reporting. */
export interface OperationContext {
  /** Registers (and journals) the undo of a side effect the caller is about to make. */
  onUndo(step: UndoStep): Promise<void>;
  /** Reports progress of a long step. */
  progress(step: string, done: number, total: number | undefined, unit: 'files' | 'bytes'): void;
  /** Aborted when the operation is being cancelled. */
  readonly signal: AbortSignal | undefined;
}

export const STORAGE_DRIVER = Symbol.for('berth.StorageDriver');
