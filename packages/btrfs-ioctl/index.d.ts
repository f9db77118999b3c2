/** The rejection of every call: a Node-style system error. */
export interface BtrfsIoctlError extends Error {
  /** The errno name, e.g. `EEXIST`, `EXDEV`, `ENOTTY` (not btrfs), `EPERM`, `ENOSPC`, `EDQUOT`. */
  code: string;
  errno: number;
  /** `open` or `ioctl`. */
  syscall: string;
  /** The directory or source the failing call was made on. */
  path: string;
}

/** Whether the native addon loaded; when false every call throws `unavailableReason`. */
export declare const available: boolean;
export declare const unavailableReason: string | undefined;

/** What the pool thread that made a snapshot learnt about its filesystem afterwards. */
export interface SnapshotFacts {
  /** The filesystem's UUID (BTRFS_IOC_FS_INFO), as /sys/fs/btrfs names it; absent if unknown. */
  fsid?: string;
  /** Whether qgroups are enabled (/sys/fs/btrfs/<fsid>/qgroups exists); absent if sysfs cannot tell. */
  quotas?: boolean;
}

/**
 * A snapshot of the subvolume at `source`, made as `dir/name` (BTRFS_IOC_SNAP_CREATE_V2).
 * `name` is one path component. Writable unless `readOnly`.
 */
export declare function snapshot(source: string, dir: string, name: string, readOnly?: boolean): Promise<SnapshotFacts>;
/** A new empty subvolume `dir/name` (BTRFS_IOC_SUBVOL_CREATE_V2). */
export declare function create(dir: string, name: string): Promise<void>;
/** Deletes the subvolume `dir/name` (BTRFS_IOC_SNAP_DESTROY); ENOTEMPTY while it holds subvolumes. */
export declare function destroy(dir: string, name: string): Promise<void>;
