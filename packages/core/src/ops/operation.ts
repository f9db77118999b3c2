import { BerthError, describeError } from '../errors.js';
import type { BerthEventEmitter, OperationKind, OperationSubject } from '../events.js';
import { pathExists, type HostFs } from '../host/fs.js';
import { umount } from '../host/host-cli.js';
import { isMountpoint } from '../host/mounts.js';
import type { CommandRunner } from '../host/runner.js';
import { canRename, type OperationContext, type StorageDriver } from '../contracts/storage.js';
import type { Journal, JournalRecord, UndoStep } from './journal.js';
import { chmod, writeFile } from 'node:fs/promises';
import { uniqueSuffix } from '../host/unique.js';

export interface UndoServices {
  readonly fs: HostFs;
  readonly runner: CommandRunner;
  readonly storageDriver: (type: string) => StorageDriver;
}

/**
 * One multi-step mutation in progress: the reverter (undo steps registered before each
 * side effect, run in reverse on failure) and its journal entry (so that a process
 * killed mid-way is undone by the next one).
 */
export class Operation implements OperationContext {
  readonly id: string;
  private readonly undoSteps: UndoStep[] = [];

  constructor(
    readonly kind: OperationKind,
    readonly subject: OperationSubject,
    private readonly record: JournalRecord | undefined,
    private readonly services: UndoServices,
    private readonly events: BerthEventEmitter,
    readonly signal: AbortSignal | undefined = undefined,
  ) {
    this.id = record?.id ?? uniqueSuffix();
  }

  async onUndo(step: UndoStep): Promise<void> {
    this.undoSteps.push(step);
    await this.record?.addUndo(step);
  }

  /** Drops undo steps registered after `mark` (their effects were themselves undone). */
  async forgetSince(mark: number): Promise<void> {
    this.undoSteps.length = mark;
    await this.record?.setUndo(this.undoSteps);
  }

  get mark(): number {
    return this.undoSteps.length;
  }

  progress(step: string, done: number, total: number | undefined, unit: 'files' | 'bytes'): void {
    this.events.emit('operation:progressed', { id: this.id, kind: this.kind, subject: this.subject, step, done, total, unit });
  }

  /** Undoes every registered step, last first. Returns the failures (empty: all undone). */
  async rollback(): Promise<string[]> {
    const failures = await runUndoSteps(this.undoSteps, this.services, this);
    this.undoSteps.length = 0;
    return failures;
  }

  async close(): Promise<void> {
    await this.record?.close();
  }
}

export async function runUndoSteps(steps: readonly UndoStep[], services: UndoServices, ctx: OperationContext): Promise<string[]> {
  const failures: string[] = [];
  for (const step of [...steps].reverse()) {
    try {
      await runUndoStep(step, services, ctx);
    } catch (error) {
      failures.push(`${describeStep(step)}: ${describeError(error)}`);
    }
  }
  return failures;
}

function describeStep(step: UndoStep): string {
  switch (step.do) {
    case 'driver':
      return `${step.driver} ${step.action}`;
    case 'rename':
      return `rename ${step.from} back to ${step.to}`;
    case 'destroyVolume':
      return `destroy ${step.volume.rootfs.type} volume of ${step.volume.name}`;
    case 'renameVolume':
      return `rename ${step.volume.rootfs.type} volume of ${step.volume.name} back`;
    default:
      return `${step.do} ${step.path}`;
  }
}

async function runUndoStep(step: UndoStep, services: UndoServices, ctx: OperationContext): Promise<void> {
  const { fs, runner } = services;
  switch (step.do) {
    case 'removeTree':
      return fs.removeTree(step.path);
    case 'removeFile':
      return fs.removeFile(step.path);
    case 'removeEmptyDir':
      return fs.removeEmptyDir(step.path);
    case 'unmount':
      if (runner.dryRun || !(await isMountpoint(step.path))) return;
      await umount(runner, step.path);
      return;
    case 'rename': {
      if (!(await pathExists(step.from))) return;
      return fs.rename(step.from, step.to);
    }
    case 'restoreFile':
      if (fs.dryRun) return;
      if (step.content === undefined) return fs.removeFile(step.path);
      await writeFile(step.path, step.content, { mode: step.mode });
      await chmod(step.path, step.mode);
      return;
    case 'destroyVolume':
      return services.storageDriver(step.volume.rootfs.type).destroy(step.volume, ctx);
    case 'renameVolume': {
      const driver = services.storageDriver(step.volume.rootfs.type);
      if (!canRename(driver)) return;
      await driver.rename(step.volume, step.target, ctx);
      return;
    }
    case 'driver': {
      const driver = services.storageDriver(step.driver);
      if (!driver.revert) throw new BerthError('Internal', `driver ${step.driver} registered an undo step but cannot revert`);
      return driver.revert(step.action, step.args, ctx);
    }
  }
}

/** Starts, journals, finishes or rolls back operations, and emits their events. */
export class OperationRunner {
  constructor(
    private readonly services: UndoServices,
    private readonly events: BerthEventEmitter,
    private readonly journalFor: (lxcpath: string) => Journal,
  ) {}

  async run<T>(
    kind: OperationKind,
    subject: OperationSubject,
    body: (op: Operation) => Promise<T>,
    options: { recovery?: 'rollback' | 'rollforward'; resume?: Record<string, unknown> } = {},
  ): Promise<T> {
    const started = Date.now();
    const record = this.services.runner.dryRun
      ? undefined
      : await this.journalFor(subject.lxcpath).begin({
          kind,
          lxcpath: subject.lxcpath,
          name: subject.name,
          recovery: options.recovery ?? 'rollback',
          ...(options.resume ? { resume: options.resume } : {}),
        });
    const op = new Operation(kind, subject, record, this.services, this.events);
    this.events.emit('operation:started', { id: op.id, kind, subject });
    try {
      const result = await body(op);
      await op.close();
      this.events.emit('operation:finished', { id: op.id, kind, subject, elapsedMs: Date.now() - started });
      return result;
    } catch (error) {
      const failures = options.recovery === 'rollforward' ? [] : await op.rollback();
      // With failures the journal entry stays: `berth recover` retries the undo.
      if (failures.length === 0) await op.close();
      else await record?.abandon();
      const wrapped = BerthError.is(error) ? error : BerthError.wrap(error, 'Internal', `${kind} failed`);
      const final = failures.length
        ? new BerthError(wrapped.code, `${wrapped.message} (and undo failed: ${failures.join('; ')}; run berth recover)`, { cause: wrapped })
        : wrapped;
      this.events.emit('operation:failed', { id: op.id, kind, subject, error: final, reverted: failures.length === 0 });
      throw final;
    }
  }
}

