import { closeSync, constants, mkdirSync, openSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { lstat, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { tryLock } from '@berth/fcntl-lock';
import { errnoCode } from '../errors.js';
import type { OperationKind } from '../events.js';
import type { Volume } from '../contracts/storage.js';
import type { ContainerRef } from '../lxc/layout.js';
import { uniqueSuffix } from '../host/unique.js';
import { writeAll } from '../host/fs.js';

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
 * The journal of operations in progress: `<lxcpath>/.berth/journal/<id>.log`, one file
 * per operation, held under an fcntl lock by its process while it runs. A journal file
 * whose lock is free belongs to a process that died mid-operation.
 *
 * Each file is an append-only log of JSON lines: the entry's header, then one line per
 * change to its undo steps (`{"undo": step}` adds one, `{"set": [...]}` replaces them
 * all). Recording a step is one `write` on a file already open, issued before the side
 * effect it undoes starts. A process killed mid-write leaves a last line without its
 * newline: that step's side effect never began, so the torn line is ignored. A file is
 * born as `<id>.new`, and renamed to `<id>.log` only once it is locked and holds its
 * header, so that recovery never sees a live entry it could take for a dead one.
 */
/** Entries of this process's live operations: fcntl locks do not exclude their own process. */
const liveEntryPaths = new Set<string>();

export class Journal {
  private made = false;

  constructor(readonly lxcpath: string) {}

  get dir(): string {
    return join(this.lxcpath, '.berth', 'journal');
  }

  async begin(entry: Omit<JournalEntry, 'id' | 'pid' | 'startedAt' | 'undo'>): Promise<JournalRecord> {
    // Synchronous, like appendLine: a handful of metadata syscalls per operation, each
    // far cheaper than a thread-pool round trip (see lock.ts).
    const id = uniqueSuffix();
    const path = join(this.dir, `${id}.log`);
    const newborn = join(this.dir, `${id}.new`);
    const create = () => openSync(newborn, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND, 0o600);
    if (!this.made) this.makeDir();
    let fd: number;
    try {
      fd = create();
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
      this.makeDir();
      fd = create();
    }
    try {
      if (!tryLock(fd, true)) throw new Error(`journal entry ${newborn} is locked by another process`);
      const header: JournalHeader = { ...entry, id, pid: process.pid, startedAt: new Date().toISOString() };
      appendLine(fd, header);
      renameSync(newborn, path);
    } catch (error) {
      rmSync(newborn, { force: true });
      closeSync(fd);
      throw error;
    }
    liveEntryPaths.add(path);
    return new JournalRecord(path, fd, id);
  }

  /** Made once per instance; a journal directory removed meanwhile is made again. */
  private makeDir(): void {
    mkdirSync(this.lxcpath, { recursive: true, mode: 0o755 });
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.made = true;
  }

  /** Journal entries whose process is gone: each is locked for the caller to recover. */
  async orphans(): Promise<OrphanedEntry[]> {
    let files: string[];
    try {
      files = await readdir(this.dir);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw error;
    }
    const found: OrphanedEntry[] = [];
    for (const file of files.filter((f) => f.endsWith('.log') || f.endsWith('.new')).sort()) {
      const path = join(this.dir, file);
      if (liveEntryPaths.has(path)) continue;
      // A `.new` file is a begin() between its create and its lock: leave young ones alone
      // (taking the lock there would fail that begin); an old one died before it was an entry.
      if (file.endsWith('.new') && !(await olderThan(path, NEWBORN_GRACE_MS))) continue;
      let handle: FileHandle;
      try {
        handle = await open(path, constants.O_RDWR);
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') continue; // finished (or born) meanwhile
        throw error;
      }
      if (!tryLock(handle.fd, true)) {
        await handle.close(); // its process is alive and working
        continue;
      }
      // Its process unlinks an entry before letting go of the lock: a file that lost its
      // last link between our open and our lock is a finished operation, not a dead one.
      if ((await handle.stat()).nlink === 0) {
        await handle.close();
        continue;
      }
      const remove = async () => {
        await rm(path, { force: true });
        await handle.close();
      };
      // A `.new` file whose lock is free died before it was an entry: nothing was done.
      let entry: JournalEntry | undefined;
      try {
        entry = file.endsWith('.log') ? parseJournal(await handle.readFile('utf8')) : undefined;
      } catch {
        await handle.close(); // not a journal berth wrote: left alone, for a person to look at
        continue;
      }
      if (entry === undefined) {
        await remove();
        continue;
      }
      found.push({ entry, done: remove, release: () => handle.close() });
    }
    return found;
  }
}

type JournalHeader = Omit<JournalEntry, 'undo'>;

/** How long a `.new` journal file may wait for its lock before it counts as abandoned. */
const NEWBORN_GRACE_MS = 60_000;

async function olderThan(path: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await lstat(path)).mtimeMs > ms;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/** One line of a journal file after its header. */
type JournalChange = { readonly undo: UndoStep } | { readonly set: UndoStep[] };

/**
 * The entry a journal file records, or undefined when it holds no complete header (the
 * process died before it wrote one). A last line without its newline is a torn write
 * and is left out; a complete line that is not JSON is an error.
 */
export function parseJournal(text: string): JournalEntry | undefined {
  const lines = text.split('\n');
  lines.pop(); // after the last newline: empty, or a torn line
  if (lines.length === 0) return undefined;
  const header = JSON.parse(lines[0]!) as JournalHeader;
  let undo: UndoStep[] = [];
  for (const line of lines.slice(1)) {
    const change = JSON.parse(line) as JournalChange;
    if ('undo' in change) undo.push(change.undo);
    else undo = [...change.set];
  }
  return { ...header, undo };
}

function appendLine(fd: number, value: JournalHeader | JournalChange): void {
  // Synchronous on purpose: a line is a few hundred bytes, it must be in the file before
  // the side effect it guards starts, and one write costs far less than a round trip
  // through the thread pool, where a batch of clones queues it behind their snapshots.
  // No fsync: the journal guards against the process dying (SIGKILL, a crash), and the
  // page cache survives that; an fsync per step cost more than a whole btrfs clone.
  writeAll(fd, `${JSON.stringify(value)}\n`);
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
    private readonly fd: number,
    readonly id: string,
  ) {}

  async addUndo(step: UndoStep): Promise<void> {
    appendLine(this.fd, { undo: step });
  }

  async setUndo(steps: readonly UndoStep[]): Promise<void> {
    appendLine(this.fd, { set: [...steps] });
  }

  /** Leaves the entry for `berth recover` (its undo failed) and lets go of its lock. */
  async abandon(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    liveEntryPaths.delete(this.path);
    closeSync(this.fd);
  }

  /** The operation is over (done or undone): forget it. Unlinked before the lock goes (see orphans). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    liveEntryPaths.delete(this.path);
    try {
      unlinkSync(this.path);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
    } finally {
      closeSync(this.fd);
    }
  }
}
