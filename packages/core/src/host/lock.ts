import { closeSync, constants, mkdirSync, openSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { tryLock } from '@berth/fcntl-lock';
import { BerthError, errnoCode } from '../errors.js';

/**
 * File locks that hold across processes (POSIX `fcntl` record locks, released by the
 * kernel when the holder dies, even by SIGKILL) and, within one process, an async
 * readers-writer queue, since fcntl locks do not exclude a process from itself.
 *
 * Container locks use LXC's own lock file, `/run/lxc/lock/<lxcpath>/.<name>`, so that
 * berth and the LXC tools (`lxc-copy`, `lxc-snapshot`, `lxc-destroy`) wait for each other.
 *
 * Opening a lock file, trying its lock (F_SETLK, which never waits) and closing it are
 * synchronous calls: each is one cheap syscall on a small file, where a trip through
 * libuv's thread pool costs the main thread tens of microseconds, and a batch of clones
 * takes three locks per clone. Waiting for another holder is a retry on a timer.
 */
export type LockMode = 'exclusive' | 'shared';

export interface LockHandle {
  readonly path: string;
  readonly mode: LockMode;
  release(): Promise<void>;
}

export interface AcquireOptions {
  readonly mode?: LockMode;
  /** How long to wait for another holder. Default 60 s; 0 fails at once. */
  readonly timeoutMs?: number;
  /** Names the locked thing in the timeout message. */
  readonly what?: string;
}

interface Waiter {
  readonly mode: LockMode;
  readonly grant: () => void;
}

interface LockState {
  /** The lock file's descriptor while this process holds its OS lock. */
  fd: number | undefined;
  osMode: LockMode | undefined;
  holders: number;
  mode: LockMode | undefined;
  waiters: Waiter[];
  /** The first holder's taking of the OS lock; holders that join it (shared) wait for it too. */
  osLocking: Promise<void> | undefined;
}

const POLL_MIN_MS = 5;
const POLL_MAX_MS = 100;

export class LockManager {
  private readonly states = new Map<string, LockState>();

  constructor(readonly lockRoot = process.env.BERTH_LOCK_DIR ?? (process.getuid?.() === 0 ? '/run/lxc/lock' : join(process.env.XDG_RUNTIME_DIR ?? '/tmp', 'lxc', 'lock'))) {}

  /** LXC's lock file for a container: `<lockRoot>/<lxcpath>/.<name>`. */
  containerLockPath(lxcpath: string, name: string): string {
    return join(this.lockRoot, resolve(lxcpath), `.${name}`);
  }

  async lockContainer(lxcpath: string, name: string, options: AcquireOptions = {}): Promise<LockHandle> {
    return this.acquire(this.containerLockPath(lxcpath, name), { what: `container ${name}`, ...options });
  }

  async acquire(path: string, options: AcquireOptions = {}): Promise<LockHandle> {
    const mode = options.mode ?? 'exclusive';
    const state = this.stateFor(path);
    await this.enterInProcess(state, mode, path, options);
    try {
      state.osLocking ??= this.takeOsLock(path, state, mode, options).catch((error: unknown) => {
        state.osLocking = undefined;
        throw error;
      });
      await state.osLocking;
    } catch (error) {
      this.leaveInProcess(state);
      throw error;
    }
    let released = false;
    return {
      path,
      mode,
      release: async () => {
        if (released) return;
        released = true;
        if (state.holders === 1) {
          // Newcomers queue while the OS lock is dropped (closing the fd would drop theirs).
          state.mode = 'exclusive';
          await this.dropOsLock(state);
        }
        this.leaveInProcess(state);
        if (state.holders === 0 && state.waiters.length === 0) this.states.delete(path);
      },
    };
  }

  /** Runs `fn` with the lock held; releases it whatever happens. */
  async with<T>(path: string, options: AcquireOptions, fn: () => Promise<T>): Promise<T> {
    const handle = await this.acquire(path, options);
    try {
      return await fn();
    } finally {
      await handle.release();
    }
  }

  private stateFor(path: string): LockState {
    let state = this.states.get(path);
    if (!state) {
      state = { fd: undefined, osMode: undefined, holders: 0, mode: undefined, waiters: [], osLocking: undefined };
      this.states.set(path, state);
    }
    return state;
  }

  private enterInProcess(state: LockState, mode: LockMode, path: string, options: AcquireOptions): Promise<void> {
    const compatible = state.holders === 0 || (mode === 'shared' && state.mode === 'shared' && state.waiters.length === 0);
    if (compatible) {
      state.holders++;
      state.mode = mode;
      return Promise.resolve();
    }
    const timeoutMs = options.timeoutMs ?? 60_000;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        mode,
        grant: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        const index = state.waiters.indexOf(waiter);
        if (index < 0) return;
        state.waiters.splice(index, 1);
        reject(new BerthError('InUse', `${options.what ?? path} is locked by another operation of this process (waited ${Math.round(timeoutMs / 1000)} s)`));
      }, timeoutMs);
      state.waiters.push(waiter);
    });
  }

  private leaveInProcess(state: LockState): void {
    state.holders--;
    if (state.holders > 0) return;
    state.mode = undefined;
    // Wake the next writer alone, or every reader queued before the next writer.
    const next = state.waiters[0];
    if (!next) return;
    if (next.mode === 'exclusive') {
      state.waiters.shift();
      state.holders = 1;
      state.mode = 'exclusive';
      next.grant();
      return;
    }
    while (state.waiters[0]?.mode === 'shared') {
      const reader = state.waiters.shift()!;
      state.holders++;
      state.mode = 'shared';
      reader.grant();
    }
  }

  private async takeOsLock(path: string, state: LockState, mode: LockMode, options: AcquireOptions): Promise<void> {
    const openLockFile = () => openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    let fd: number;
    try {
      fd = openLockFile();
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
      mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
      fd = openLockFile();
    }
    const timeoutMs = options.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    let delay = POLL_MIN_MS;
    try {
      while (!tryLock(fd, mode === 'exclusive')) {
        if (Date.now() >= deadline) {
          throw new BerthError('InUse', `${options.what ?? path} is locked by another process (waited ${Math.round(timeoutMs / 1000)} s)`);
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, POLL_MAX_MS);
      }
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    state.fd = fd;
    state.osMode = mode;
  }

  private async dropOsLock(state: LockState): Promise<void> {
    const fd = state.fd;
    state.fd = undefined;
    state.osMode = undefined;
    state.osLocking = undefined;
    // Closing the only descriptor this process has on the file drops the lock with it.
    if (fd !== undefined) closeSync(fd);
  }

  /** Tries the lock once without waiting: true if nobody (in any process) holds it. */
  async isFree(path: string): Promise<boolean> {
    if ((this.states.get(path)?.holders ?? 0) > 0) return false;
    try {
      const handle = await this.acquire(path, { timeoutMs: 0 });
      await handle.release();
      return true;
    } catch (error) {
      if (BerthError.is(error, 'InUse')) return false;
      throw error;
    }
  }
}

export const LOCK_MANAGER = Symbol.for('berth.LockManager');
