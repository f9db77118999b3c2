import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { LockManager, type LockHandle } from '@berth/core';
import { expectBerthError, killGroup, spawnFixture, TempDirs, waitFor } from './helpers.js';

/** Resolves to true if `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((r) => setTimeout(r, ms));
  return settled;
}

describe('LockManager', () => {
  const temp = new TempDirs();
  let dir: string;
  let locks: LockManager;
  before(async () => {
    dir = await temp.make();
    locks = new LockManager(join(dir, 'lock-root'));
  });
  after(() => temp.cleanup());

  describe('within one process', () => {
    it('an exclusive holder excludes another exclusive acquire until it releases', async () => {
      const path = join(dir, 'ex');
      const first = await locks.acquire(path);
      const second = locks.acquire(path);
      expect(await settlesWithin(second, 100)).to.equal(false);
      await first.release();
      const handle = await second;
      expect(handle.mode).to.equal('exclusive');
      await handle.release();
      expect(await locks.isFree(path)).to.equal(true);
    });

    it('shared holders coexist', async () => {
      const path = join(dir, 'sh');
      const readers = await Promise.all([1, 2, 3].map(() => locks.acquire(path, { mode: 'shared', timeoutMs: 1000 })));
      expect(readers.map((r) => r.mode)).to.deep.equal(['shared', 'shared', 'shared']);
      expect(await locks.isFree(path)).to.equal(false);
      for (const r of readers) await r.release();
      expect(await locks.isFree(path)).to.equal(true);
    });

    it('a writer waits for every reader, and readers after a waiting writer wait for it', async () => {
      const path = join(dir, 'rw');
      const order: string[] = [];
      const r1 = await locks.acquire(path, { mode: 'shared' });
      const r2 = await locks.acquire(path, { mode: 'shared' });
      const writer = locks.acquire(path, { mode: 'exclusive' }).then((h) => (order.push('writer'), h));
      const lateReader = locks.acquire(path, { mode: 'shared' }).then((h) => (order.push('late reader'), h));
      expect(await settlesWithin(writer, 50)).to.equal(false);
      await r1.release();
      expect(await settlesWithin(writer, 50)).to.equal(false);
      await r2.release();
      const w = await writer;
      expect(await settlesWithin(lateReader, 50)).to.equal(false);
      await w.release();
      await (await lateReader).release();
      expect(order).to.deep.equal(['writer', 'late reader']);
    });

    it('release is idempotent', async () => {
      const path = join(dir, 'idem');
      const handle = await locks.acquire(path);
      await handle.release();
      await handle.release();
      const again = await locks.acquire(path, { timeoutMs: 0 });
      await again.release();
    });

    it('with() releases after a failure', async () => {
      const path = join(dir, 'with');
      let error: unknown;
      await locks.with(path, {}, async () => {
        throw new Error('boom');
      }).catch((e: unknown) => (error = e));
      expect((error as Error).message).to.equal('boom');
      expect(await locks.isFree(path)).to.equal(true);
    });

    it('an in-process waiter gives up after timeoutMs with InUse', async () => {
      const path = join(dir, 'in-process-timeout');
      const holder = await locks.acquire(path);
      try {
        const started = Date.now();
        const error = await expectBerthError(locks.acquire(path, { timeoutMs: 150, what: 'container w' }), 'InUse');
        expect(Date.now() - started).to.be.lessThan(2000);
        expect(error.message).to.include('container w');
      } finally {
        await holder.release();
      }
      // The timed-out waiter left no trace: the lock is free again.
      expect(await locks.isFree(path)).to.equal(true);
    });
  });

  describe('across processes', () => {
    let child: ReturnType<typeof spawnFixture> | undefined;
    afterEach(async () => {
      if (child) await killGroup(child);
      child = undefined;
    });

    async function holdInChild(path: string, mode: 'exclusive' | 'shared' = 'exclusive'): Promise<void> {
      child = spawnFixture('lock-holder.mts', [path, mode]);
      const c = child;
      await waitFor(() => c.output().includes('locked') || c.exitCode !== null, 'the child to take the lock');
      expect(c.output()).to.include('locked');
    }

    it('a lock held by another process fails the acquire with InUse; after SIGKILL it is free at once', async () => {
      const path = join(dir, 'cross');
      await holdInChild(path);
      const started = Date.now();
      const error = await expectBerthError(locks.acquire(path, { timeoutMs: 200, what: 'container x' }), 'InUse');
      expect(Date.now() - started).to.be.within(150, 3000);
      expect(error.message).to.match(/container x is locked by another process/);
      expect(await locks.isFree(path)).to.equal(false);

      await killGroup(child!);
      const handle = await locks.acquire(path, { timeoutMs: 0 });
      await handle.release();
    });

    it('a waiting acquire gets the lock when the other process dies', async () => {
      const path = join(dir, 'cross-wait');
      await holdInChild(path);
      const waiting = locks.acquire(path, { timeoutMs: 10_000 });
      expect(await settlesWithin(waiting, 150)).to.equal(false);
      await killGroup(child!);
      await (await waiting).release();
    });

    it('shared holders in two processes coexist, but exclude a writer', async () => {
      const path = join(dir, 'cross-shared');
      await holdInChild(path, 'shared');
      const reader = await locks.acquire(path, { mode: 'shared', timeoutMs: 500 });
      await reader.release();
      await expectBerthError(locks.acquire(path, { mode: 'exclusive', timeoutMs: 200 }), 'InUse');
    });

    it('concurrent shared acquires in this process all wait for another process’s exclusive lock', async () => {
      const path = join(dir, 'cross-readers');
      await holdInChild(path, 'exclusive');
      const results = await Promise.allSettled([1, 2, 3].map(() => locks.acquire(path, { mode: 'shared', timeoutMs: 300 })));
      for (const result of results) if (result.status === 'fulfilled') await (result.value as LockHandle).release();
      expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected', 'rejected']);
      await killGroup(child!);
      const after = await Promise.all([1, 2].map(() => locks.acquire(path, { mode: 'shared', timeoutMs: 1000 })));
      for (const h of after) await h.release();
    });
  });

  describe('container locks', () => {
    it('use LXC’s path /run/lxc/lock/<lxcpath>/.<name>, mode 0600', async function () {
      if (process.getuid?.() !== 0 || process.env.BERTH_LOCK_DIR) this.skip();
      const lxcpath = await temp.make();
      const manager = new LockManager();
      expect(manager.containerLockPath('/var/lib/lxc', 'c1')).to.equal('/run/lxc/lock/var/lib/lxc/.c1');
      expect(manager.containerLockPath('/var/lib/lxc/', 'c1')).to.equal('/run/lxc/lock/var/lib/lxc/.c1');
      const handle = await manager.lockContainer(lxcpath, 'c1', { timeoutMs: 0 });
      try {
        expect(handle.path).to.equal(`/run/lxc/lock${lxcpath}/.c1`);
        const info = await stat(handle.path);
        expect(info.isFile()).to.equal(true);
        expect(info.mode & 0o777).to.equal(0o600);
      } finally {
        await handle.release();
      }
    });
  });
});
