import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import * as fcntl from '@berth/fcntl-lock';

const packageDir = join(createRequire(import.meta.url).resolve('@berth/fcntl-lock'), '..');

/** What another process gets when it tries the lock on `path` (`taken` or `refused`). */
function tryInOtherProcess(path: string, exclusive: boolean): string {
  const script = `const l = require(${JSON.stringify(packageDir)}); const fd = require('node:fs').openSync(process.argv[1], 'r+'); process.stdout.write(l.tryLock(fd, process.argv[2] === 'x') ? 'taken' : 'refused');`;
  const child = spawnSync(process.execPath, ['-e', script, path, exclusive ? 'x' : 's'], { encoding: 'utf8' });
  expect(child.status, child.stderr).to.equal(0);
  return child.stdout;
}

describe('@berth/fcntl-lock', () => {
  let dir: string;
  let path: string;
  let fd: number;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-fcntl-'));
    path = join(dir, 'lock');
    fd = openSync(path, 'w+', 0o600);
  });

  afterEach(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('is built (the setup installs its compiler)', () => {
    expect(fcntl.available, fcntl.unavailableReason).to.equal(true);
  });

  it('an exclusive lock refuses every other process until it is dropped', () => {
    expect(fcntl.tryLock(fd, true)).to.equal(true);
    expect(tryInOtherProcess(path, true)).to.equal('refused');
    expect(tryInOtherProcess(path, false)).to.equal('refused');
    fcntl.unlock(fd);
    expect(tryInOtherProcess(path, true)).to.equal('taken');
  });

  it('shared locks coexist across processes and refuse a writer', () => {
    expect(fcntl.tryLock(fd, false)).to.equal(true);
    expect(tryInOtherProcess(path, false)).to.equal('taken');
    expect(tryInOtherProcess(path, true)).to.equal('refused');
  });

  it('closing any descriptor of the file drops the lock (classic POSIX locks, as LXC takes them)', () => {
    expect(fcntl.tryLock(fd, true)).to.equal(true);
    closeSync(openSync(path, 'r'));
    expect(tryInOtherProcess(path, true)).to.equal('taken');
  });

  it('fails in one line with a code on a bad descriptor, and refuses a non-descriptor', () => {
    const closed = openSync(path, 'r');
    closeSync(closed);
    expect(() => fcntl.tryLock(closed, true)).to.throw(/^EBADF: bad file descriptor, fcntl$/).with.property('code', 'EBADF');
    expect(() => fcntl.tryLock('3' as unknown as number, true)).to.throw(TypeError, /file descriptor/);
    expect(() => fcntl.unlock(-1)).to.throw(TypeError, /file descriptor/);
  });
});
