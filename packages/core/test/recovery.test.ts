import { execFile } from 'node:child_process';
import { access, mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { createBerth, Journal, parseJournal, type BerthInstance } from '@berth/core';
import { dirModule } from '@berth/storage-dir';
import { FIXTURES, killGroup, spawnFixture, TempDirs, waitFor } from './helpers.js';

const execFileAsync = promisify(execFile);
const TEMPLATE = join(FIXTURES, 'slow-template.sh');

const exists = (path: string) => access(path).then(() => true, () => false);

describe('journal and crash recovery', function () {
  this.timeout(120_000);
  const temp = new TempDirs();
  const children: ReturnType<typeof spawnFixture>[] = [];
  after(async () => {
    for (const child of children) await killGroup(child);
    await temp.cleanup();
  });

  function newBerth(lxcpath: string): Promise<BerthInstance> {
    return createBerth({ modules: [dirModule], lxcpath, lockTimeoutMs: 5000 });
  }

  /** Starts a create of `c` in a child process and SIGKILLs it while the template runs. */
  async function crashCreate(lxcpath: string): Promise<void> {
    const marker = join(await temp.make('berth-marker-'), 'marker');
    const child = spawnFixture('create-child.mts', [lxcpath, TEMPLATE], { BERTH_TEST_MARKER: marker });
    children.push(child);
    await waitFor(async () => (await exists(marker)) || child.exitCode !== null, 'the template to start', 60_000);
    expect(child.exitCode, child.output()).to.equal(null);

    // While the child lives, its journal entry is locked: nobody else recovers it.
    const observer = await newBerth(lxcpath);
    expect(await observer.berth.recover()).to.deep.equal({ recovered: [], failed: [] });
    expect(await exists(join(lxcpath, 'c', 'config'))).to.equal(true);

    await killGroup(child);
  }

  it('a create killed by SIGKILL leaves a partial container that recover() undoes', async () => {
    const lxcpath = await temp.make();
    await crashCreate(lxcpath);

    const dir = join(lxcpath, 'c');
    expect(await exists(join(dir, 'partial')), 'LXC’s partial marker').to.equal(true);
    expect(await readFile(join(dir, 'rootfs', 'bin', 'hello'), 'utf8')).to.equal('hello\n');
    const journalFiles = await readdir(join(lxcpath, '.berth', 'journal'));
    expect(journalFiles).to.have.length(1);
    expect(journalFiles[0]).to.match(/\.log$/);
    const entry = parseJournal(await readFile(join(lxcpath, '.berth', 'journal', journalFiles[0]!), 'utf8'))!;
    expect(entry).to.deep.include({ kind: 'create', name: 'c', recovery: 'rollback' });
    expect(entry.undo).to.deep.include({ do: 'removeTree', path: dir });

    const { berth } = await newBerth(lxcpath);
    const report = await berth.recover();
    expect(report.failed).to.deep.equal([]);
    expect(report.recovered).to.have.length(1);
    expect(report.recovered[0]).to.deep.include({ kind: 'create', name: 'c', how: 'undone' });
    expect(await exists(dir)).to.equal(false);
    expect((await readdir(join(lxcpath, '.berth', 'journal'))).length, 'journal emptied').to.equal(0);

    const { stdout } = await execFileAsync('lxc-ls', ['-P', lxcpath, '-1']);
    expect(stdout.trim()).to.equal('');
    // A second recover finds nothing more.
    expect(await berth.recover()).to.deep.equal({ recovered: [], failed: [] });
  });

  it('the next mutating call recovers first and warns', async () => {
    const lxcpath = await temp.make();
    await crashCreate(lxcpath);
    expect(await exists(join(lxcpath, 'c'))).to.equal(true);

    const { berth, events } = await newBerth(lxcpath);
    const warnings: string[] = [];
    events.on('warning', (message) => warnings.push(message));
    await berth.create({ name: 'd' });
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/recovered an interrupted create of c \(undone\)/);
    expect(await exists(join(lxcpath, 'c'))).to.equal(false);
    expect((await berth.list()).map((c) => c.name)).to.deep.equal(['d']);
    // Only once per instance.
    await berth.create({ name: 'e' });
    expect(warnings).to.have.length(1);
  });

  it('a destroy killed mid-way is finished by recover (rollforward)', async () => {
    const lxcpath = await temp.make();
    const { berth } = await newBerth(lxcpath);
    const tree = await temp.make('berth-src-');
    await mkdir(join(tree, 'etc'));
    await writeFile(join(tree, 'etc', 'hostname'), 'x\n');
    await berth.create({ name: 'x', source: { kind: 'directory', path: tree } });
    await berth.create({ name: 'keep' });
    // What a destroy killed after removing part of the rootfs leaves: its journal entry
    // (no process holds its lock) and a half-removed container.
    await rm(join(lxcpath, 'x', 'rootfs', 'etc'), { recursive: true });
    const journal = new Journal(lxcpath);
    await mkdir(journal.dir, { recursive: true });
    const id = 'crashed-destroy';
    await writeFile(
      join(journal.dir, `${id}.log`),
      `${JSON.stringify({
        id,
        kind: 'destroy',
        lxcpath,
        name: 'x',
        pid: 2 ** 22 + 1,
        startedAt: new Date().toISOString(),
        recovery: 'rollforward',
        resume: { op: 'destroy', lxcpath, name: 'x' },
      })}\n`,
    );

    const fresh = await newBerth(lxcpath);
    const report = await fresh.berth.recover();
    expect(report).to.deep.equal({ recovered: [{ id, kind: 'destroy', name: 'x', how: 'finished' }], failed: [] });
    expect(await exists(join(lxcpath, 'x'))).to.equal(false);
    expect(await exists(join(lxcpath, 'keep', 'config'))).to.equal(true);
    expect(await readdir(journal.dir)).to.deep.equal([]);
  });

  it('an entry killed before its header was complete, or before it was renamed into place, is dropped', async () => {
    const lxcpath = await temp.make();
    const journal = new Journal(lxcpath);
    await mkdir(journal.dir, { recursive: true });
    await writeFile(join(journal.dir, 'torn.log'), '{"id":"torn","ki');
    // A `.new` file is left alone for a minute (its begin() may be about to lock it).
    await writeFile(join(journal.dir, 'young.new'), '');
    await writeFile(join(journal.dir, 'unborn.new'), '');
    const old = new Date(Date.now() - 120_000);
    await utimes(join(journal.dir, 'unborn.new'), old, old);
    const { berth } = await newBerth(lxcpath);
    expect(await berth.recover()).to.deep.equal({ recovered: [], failed: [] });
    expect(await readdir(journal.dir)).to.deep.equal(['young.new']);
  });

  it('a step torn by the kill is ignored (its side effect never began); set lines replace the steps', () => {
    const header = { id: 'i', kind: 'copy', lxcpath: '/l', name: 'n', pid: 1, startedAt: 'now', recovery: 'rollback' };
    const lines = [header, { undo: { do: 'removeTree', path: '/l/n' } }, { undo: { do: 'removeFile', path: '/l/x' } }];
    const text = lines.map((line) => `${JSON.stringify(line)}\n`).join('');
    expect(parseJournal(text)!.undo).to.deep.equal([{ do: 'removeTree', path: '/l/n' }, { do: 'removeFile', path: '/l/x' }]);
    expect(parseJournal(`${text}{"undo":{"do":"remov`)!.undo).to.have.length(2);
    expect(parseJournal(`${text}${JSON.stringify({ set: [{ do: 'removeEmptyDir', path: '/l/s' }] })}\n`)!.undo).to.deep.equal([
      { do: 'removeEmptyDir', path: '/l/s' },
    ]);
    expect(parseJournal('')).to.equal(undefined);
    expect(() => parseJournal(`${text}not json\n`)).to.throw();
  });

  it('an entry whose undo fails is reported and kept for a later recover', async () => {
    const lxcpath = await temp.make();
    const journal = new Journal(lxcpath);
    await mkdir(journal.dir, { recursive: true });
    const entry = {
      id: 'bad-undo',
      kind: 'create',
      lxcpath,
      name: 'z',
      pid: 1,
      startedAt: new Date().toISOString(),
      recovery: 'rollback',
    };
    const step = { do: 'driver', driver: 'no-such-driver', action: 'x', args: {} };
    await writeFile(join(journal.dir, 'bad-undo.log'), `${JSON.stringify(entry)}\n${JSON.stringify({ undo: step })}\n`);
    const { berth } = await newBerth(lxcpath);
    const report = await berth.recover();
    expect(report.recovered).to.deep.equal([]);
    expect(report.failed).to.have.length(1);
    expect(report.failed[0]).to.deep.include({ id: 'bad-undo', kind: 'create', name: 'z' });
    expect(report.failed[0]!.reason).to.include('no-such-driver');
    expect(await readdir(journal.dir)).to.include('bad-undo.log');
  });

  it('a finished operation leaves no journal entry', async () => {
    const lxcpath = await temp.make();
    const { berth } = await newBerth(lxcpath);
    await berth.create({ name: 'done' });
    expect(await readdir(join(lxcpath, '.berth', 'journal'))).to.deep.equal([]);
    expect(await exists(join(lxcpath, 'done', 'partial'))).to.equal(false);
  });
});
