import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { lock as fcntlLock } from 'os-lock';
import { errnoCode } from '../errors.js';
import type { OperationKind } from '../events.js';
import type { Volume } from '../contracts/storage.js';
import type { ContainerRef } from '../lxc/layout.js';

/**
 * A step that undoes one side effect. Steps are data, not closures, so that they can be
 * written to the journal and replayed by another process after a crash. Every handler
 * is idempotent: undoing what was never done (or was already undone) is not an error.
 */
export type UndoStep =
  /** `rm -rf` a tree berth created (refused if something is mounted inside). */
  | { readonly do: 'removeTree'; readonly path: string }
  | { readonly do: 'removeFile'; readonly path: string }
  | { readonly do: 'removeEmptyDir'; readonly path: string }
  | { readonly do: 'unmount'; readonly path: string }
  /** Put a renamed file or directory back. */
  | { readonly do: 'rename'; readonly from: string; readonly to: string }
  /** Write a file back as it was (`content: undefined`: it did not exist). */
  | { readonly do: 'restoreFile'; readonly path: string; readonly content: string | undefined; readonly mode: number }
  /** Destroy a volume a driver made (its `destroy` is idempotent). */
  | { readonly do: 'destroyVolume'; readonly volume: Volume }
  /** Rename a volume back (RenameCapable drivers) after its directory moved back. */
  | { readonly do: 'renameVolume'; readonly volume: Volume; readonly target: ContainerRef }
  /** A driver-specific undo, handled by that driver's `revert`. */
  | { readonly do: 'driver'; readonly driver: string; readonly action: string; readonly args: Readonly<Record<string, unknown>> };

export interface JournalEntry {
  readonly id: string;
  readonly kind: OperationKind;
  readonly lxcpath: string;
  readonly name: string;
  readonly pid: number;
  readonly startedAt: string;
  /**
   * How a crash is recovered: `rollback` undoes the steps (create, copy, snapshot);
   * `rollforward` finishes the operation (destroy, whose removals cannot be undone).
   */
  readonly recovery: 'rollback' | 'rollforward';
  readonly undo: UndoStep[];
  /** For `rollforward`: what to finish. */
  readonly resume?: Readonly<Record<string, unknown>>;
}

/**
 * The journal of operations in progress: `<lxcpath>/.berth/journal/<id>.json`, one file
 * per operation, each held under an fcntl lock by its process while it runs. A journal
 * file whose lock is free belongs to a process that died mid-operation.
 */
/** Entries of this process's live operations: fcntl locks do not exclude their own process. */
const liveEntryPaths = new Set<string>();

export class Journal {
  constructor(readonly lxcpath: string) {}

  get dir(): string {
    return join(this.lxcpath, '.berth', 'journal');
  }

  async begin(entry: Omit<JournalEntry, 'id' | 'pid' | 'startedAt' | 'undo'>): Promise<JournalRecord> {
    await mkdir(this.lxcpath, { recursive: true, mode: 0o755 });
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const id = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const path = join(this.dir, `${id}.json`);
    // The lock lives on its own file: the entry itself is replaced by renames, and a
    // lock on a replaced inode would no longer guard the path.
    const handle = await open(`${path}.lock`, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
    await fcntlLock(handle.fd, { exclusive: true, immediate: true });
    liveEntryPaths.add(path);
    const record = new JournalRecord(path, handle, { ...entry, id, pid: process.pid, startedAt: new Date().toISOString(), undo: [] });
    await record.flush();
    return record;
  }

  /** Journal entries whose process is gone: each is locked for the caller to recover. */
  async orphans(): Promise<OrphanedEntry[]> {
    let files: string[];
    try {
      files = (await readdir(this.dir)).filter((f) => f.endsWith('.json'));
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw error;
    }
    const found: OrphanedEntry[] = [];
    for (const file of files.sort()) {
      const path = join(this.dir, file);
      if (liveEntryPaths.has(path)) continue;
      let handle: FileHandle;
      try {
        handle = await open(`${path}.lock`, constants.O_RDWR | constants.O_CREAT, 0o600);
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') continue; // finished meanwhile
        throw error;
      }
      try {
        await fcntlLock(handle.fd, { exclusive: true, immediate: true });
      } catch {
        await handle.close(); // its process is alive and working
        continue;
      }
      const remove = async () => {
        await rm(path, { force: true });
        await rm(`${path}.lock`, { force: true });
        await handle.close();
      };
      let entry: JournalEntry;
      try {
        entry = JSON.parse(await readFile(path, 'utf8')) as JournalEntry;
      } catch {
        // Gone meanwhile, or killed before its first write: nothing was done yet.
        await remove();
        continue;
      }
      found.push({ entry, done: remove, release: () => handle.close() });
    }
    return found;
  }
}

export interface OrphanedEntry {
  readonly entry: JournalEntry;
  /** Removes the entry: it has been recovered. */
  done(): Promise<void>;
  /** Leaves the entry for a later attempt. */
  release(): Promise<void>;
}

export class JournalRecord {
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly handle: FileHandle,
    private entry: JournalEntry,
  ) {}

  get id(): string {
    return this.entry.id;
  }

  async addUndo(step: UndoStep): Promise<void> {
    this.entry = { ...this.entry, undo: [...this.entry.undo, step] };
    await this.flush();
  }

  async setUndo(steps: readonly UndoStep[]): Promise<void> {
    this.entry = { ...this.entry, undo: [...steps] };
    await this.flush();
  }

  /** Rewrites the entry through a rename, so a crash never leaves half a record. */
  async flush(): Promise<void> {
    const temporary = `${this.path}.tmp`;
    const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
    try {
      // No fsync: the journal guards against the process dying (SIGKILL, a crash), and
      // the page cache survives that; the rename alone makes each update atomic. An fsync
      // per step cost more than the rest of a clone on btrfs.
      await handle.writeFile(JSON.stringify(this.entry));
    } finally {
      await handle.close();
    }
    await rename(temporary, this.path);
  }

  /** Leaves the entry for `berth recover` (its undo failed) and lets go of its lock. */
  async abandon(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    liveEntryPaths.delete(this.path);
    await this.handle.close();
  }

  /** The operation is over (done or undone): forget it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    liveEntryPaths.delete(this.path);
    await rm(this.path, { force: true });
    await rm(`${this.path}.lock`, { force: true });
    await this.handle.close();
  }
}
