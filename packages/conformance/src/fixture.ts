import { createHash } from 'node:crypto';
import { chmod, chown, link, lstat, lutimes, mkdir, open, readdir, readFile, readlink, symlink, utimes, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describeError, type CommandRunner } from '@berth/core';

/**
 * The directory tree every storage driver must carry through create, copy, snapshot and
 * restore unchanged: each entry is one kind of metadata a naive copy loses.
 */
export const FIXTURE = {
  /** A regular file and its content. */
  hello: { path: 'hello.txt', content: 'hello from berth\n' },
  /** setuid, owned by ids that exist nowhere on the host. */
  setuid: { path: 'bin/suid', mode: 0o4755, uid: 1234, gid: 5678 },
  /** Two names of one inode. */
  hardlinks: ['links/first', 'links/second'] as const,
  xattr: { path: 'attrs/xattr-file', name: 'user.berth', value: '1' },
  /** A POSIX access ACL entry for a user that does not exist on the host. */
  acl: { path: 'attrs/acl-file', entry: 'user:1234:rw-' },
  /** A symlink out of the tree: copied as a link, never followed. */
  absoluteLink: { path: 'symlinks/passwd', target: '/etc/passwd' },
  relativeLink: { path: 'symlinks/hello', target: '../hello.txt' },
  /** /dev/null's numbers. */
  device: { path: 'dev/null', major: 1, minor: 3 },
  /** 1 GiB apparent size, a few bytes of data at the end. */
  sparse: { path: 'sparse/big', size: 1024 ** 3, tail: 'sparse-end\n' },
  /** Every entry gets this mtime (and atime). */
  mtime: new Date('2001-02-03T04:05:06Z'),
} as const;

export interface Fixture {
  readonly root: string;
  /** Why user xattrs could not be set here (the filesystem refuses them), if so. */
  readonly xattrsUnsupported: string | undefined;
  /** Why ACLs could not be set here, if so. */
  readonly aclUnsupported: string | undefined;
}

/** What a filesystem answers when it does not do xattrs or ACLs at all. */
const UNSUPPORTED = /not supported|ENOTSUP|EOPNOTSUPP/i;

/**
 * Builds the fixture under `root` (which must not exist) with Node's fs and argv-only
 * commands (`mknod`, `setfattr`, `setfacl`). Must run as root (owners, device node).
 */
export async function buildFixture(
  runner: CommandRunner,
  root: string,
  /** Leave out what the backend under test cannot hold, saying why (the cases comparing it skip). */
  without: { readonly xattrs?: string; readonly acl?: string } = {},
): Promise<Fixture> {
  await mkdir(root, { mode: 0o755 });
  for (const dir of ['bin', 'links', 'attrs', 'symlinks', 'dev', 'sparse', 'empty-dir']) await mkdir(join(root, dir), { mode: 0o755 });

  await writeFile(join(root, FIXTURE.hello.path), FIXTURE.hello.content, { mode: 0o644 });

  const suid = join(root, FIXTURE.setuid.path);
  await writeFile(suid, '#!/bin/sh\necho suid\n');
  await chown(suid, FIXTURE.setuid.uid, FIXTURE.setuid.gid);
  await chmod(suid, FIXTURE.setuid.mode); // after chown, which clears setuid

  const [first, second] = FIXTURE.hardlinks;
  await writeFile(join(root, first), 'one inode, two names\n', { mode: 0o640 });
  await link(join(root, first), join(root, second));

  const xattrFile = join(root, FIXTURE.xattr.path);
  await writeFile(xattrFile, 'has a user xattr\n', { mode: 0o644 });
  let xattrsUnsupported: string | undefined = without.xattrs;
  if (xattrsUnsupported === undefined) {
    try {
      await runner.run(['setfattr', '-n', FIXTURE.xattr.name, '-v', FIXTURE.xattr.value, xattrFile]);
    } catch (error) {
      if (!UNSUPPORTED.test(describeError(error))) throw error;
      xattrsUnsupported = 'user xattrs unsupported by this filesystem';
    }
  }

  const aclFile = join(root, FIXTURE.acl.path);
  await writeFile(aclFile, 'has an ACL\n', { mode: 0o640 });
  let aclUnsupported: string | undefined = without.acl;
  if (aclUnsupported === undefined) {
    try {
      await runner.run(['setfacl', '-m', FIXTURE.acl.entry, aclFile]);
    } catch (error) {
      if (!UNSUPPORTED.test(describeError(error))) throw error;
      aclUnsupported = 'POSIX ACLs unsupported by this filesystem';
    }
  }

  await symlink(FIXTURE.absoluteLink.target, join(root, FIXTURE.absoluteLink.path));
  await symlink(FIXTURE.relativeLink.target, join(root, FIXTURE.relativeLink.path));

  await runner.run(['mknod', '-m', '0666', join(root, FIXTURE.device.path), 'c', String(FIXTURE.device.major), String(FIXTURE.device.minor)]);

  const sparse = await open(join(root, FIXTURE.sparse.path), 'w', 0o644);
  try {
    await sparse.truncate(FIXTURE.sparse.size);
    await sparse.write(FIXTURE.sparse.tail, FIXTURE.sparse.size - FIXTURE.sparse.tail.length);
  } finally {
    await sparse.close();
  }

  await setTimesDeepestFirst(root);
  return { root, xattrsUnsupported, aclUnsupported };
}

/** Fixed mtimes on every entry; directories after their children (which change them). */
async function setTimesDeepestFirst(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const info = await lstat(path);
    if (info.isDirectory()) await setTimesDeepestFirst(path);
    else if (info.isSymbolicLink()) await lutimes(path, FIXTURE.mtime, FIXTURE.mtime);
    else await utimes(path, FIXTURE.mtime, FIXTURE.mtime);
  }
  await utimes(dir, FIXTURE.mtime, FIXTURE.mtime);
}

/** What the suite compares of one entry of a tree. */
export interface EntryFacts {
  readonly type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';
  readonly mode: string;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: number;
  readonly size?: number;
  readonly sha256?: string;
  /** The last bytes of a file too big to hash whole. */
  readonly tail?: string;
  readonly target?: string;
  readonly rdev?: string;
  /** The other paths of the tree with the same inode. */
  readonly hardlinks?: readonly string[];
  /** Allocated bytes; compared only where a test asks (sparseness). */
  readonly allocated: number;
}

const HASH_LIMIT = 1024 * 1024;

/**
 * The facts of every entry below `root` (not `root` itself), keyed by relative path.
 * Symlinks are described, never followed.
 */
export async function describeTree(root: string): Promise<Map<string, EntryFacts>> {
  const facts = new Map<string, EntryFacts>();
  const inodes = new Map<string, string[]>();
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const rel = relative(root, path);
      const info = await lstat(path);
      const base = {
        mode: (info.mode & 0o7777).toString(8).padStart(4, '0'),
        uid: info.uid,
        gid: info.gid,
        mtime: Math.round(info.mtimeMs),
        allocated: info.blocks * 512,
      };
      if (info.isDirectory()) {
        facts.set(rel, { type: 'dir', ...base });
        await walk(path);
      } else if (info.isSymbolicLink()) {
        facts.set(rel, { type: 'symlink', ...base, mode: '', target: await readlink(path) });
      } else if (info.isFile()) {
        const key = `${info.dev}:${info.ino}`;
        inodes.set(key, [...(inodes.get(key) ?? []), rel]);
        const content = info.size <= HASH_LIMIT ? await readFile(path) : undefined;
        facts.set(rel, {
          type: 'file',
          ...base,
          size: info.size,
          ...(content ? { sha256: createHash('sha256').update(content).digest('hex') } : { tail: await readTail(path, info.size, 64) }),
        });
      } else {
        const type = info.isCharacterDevice() ? 'char' : info.isBlockDevice() ? 'block' : info.isFIFO() ? 'fifo' : 'socket';
        facts.set(rel, { type, ...base, rdev: `${Math.floor(info.rdev / 256) & 0xfff}:${(info.rdev & 0xff) | ((info.rdev >> 12) & 0xfff00)}` });
      }
    }
  };
  await walk(root);
  for (const paths of inodes.values()) {
    if (paths.length < 2) continue;
    for (const path of paths) facts.set(path, { ...facts.get(path)!, hardlinks: paths.filter((p) => p !== path).sort() });
  }
  return facts;
}

async function readTail(path: string, size: number, bytes: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(bytes, size));
    await handle.read(buffer, 0, buffer.length, size - buffer.length);
    return buffer.toString('latin1');
  } finally {
    await handle.close();
  }
}

/**
 * The differences between two trees' facts, one line each (empty: the same). Allocation
 * is not compared: a copy may lay data out differently; sparseness is checked apart.
 */
export function diffTrees(expected: Map<string, EntryFacts>, actual: Map<string, EntryFacts>): string[] {
  const differences: string[] = [];
  for (const [path, want] of expected) {
    const got = actual.get(path);
    if (!got) {
      differences.push(`${path}: missing`);
      continue;
    }
    const { allocated: _w, ...wantRest } = want;
    const { allocated: _g, ...gotRest } = got;
    for (const key of new Set([...Object.keys(wantRest), ...Object.keys(gotRest)])) {
      const a = JSON.stringify((wantRest as Record<string, unknown>)[key]);
      const b = JSON.stringify((gotRest as Record<string, unknown>)[key]);
      if (a !== b) differences.push(`${path}: ${key} is ${b}, expected ${a}`);
    }
  }
  for (const path of actual.keys()) if (!expected.has(path)) differences.push(`${path}: unexpected`);
  return differences;
}

/**
 * Every extended attribute below `root` (user, trusted, system: ACLs are
 * `system.posix_acl_access`), as `path: name=value` lines, symlinks not followed.
 */
export async function describeXattrs(runner: CommandRunner, root: string): Promise<string[]> {
  const result = await runner.run(['getfattr', '--recursive', '--physical', '--no-dereference', '--dump', '--match=-', '--encoding=hex', '--absolute-names', root], {
    readOnly: true,
  });
  const lines: string[] = [];
  let current: string | undefined;
  for (const line of result.stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = relative(root, line.slice('# file: '.length));
    } else if (line !== '' && current !== undefined && current !== '') {
      lines.push(`${current}: ${line}`);
    }
  }
  return lines.sort();
}

/** `getfacl` of one file, without its header. */
export async function describeAcl(runner: CommandRunner, path: string): Promise<string> {
  const result = await runner.run(['getfacl', '--omit-header', '--numeric', '--absolute-names', path], { readOnly: true });
  return result.stdout.trim();
}
