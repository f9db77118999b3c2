import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { execa, type Result } from 'execa';
import { skipBecause } from '@berth/conformance';
import { parseSize } from '@berth/core';
import { builtinModules } from '../src/builtins.js';

/**
 * The `berth` binary as a user runs it: the built and bundled `dist/berth.cjs` (build first with
 * `npx tsc -b tsconfig.build.json`), spawned with argv arrays against a fresh lxcpath
 * per test.
 */
const BIN = fileURLToPath(new URL('../dist/berth.cjs', import.meta.url));

interface RunOptions {
  readonly env?: Readonly<Record<string, string>>;
  /** Leave out the `-P <lxcpath>` this suite adds by default. */
  readonly noLxcpath?: boolean;
}

let lxcpath: string;
let scratch: string;

async function berth(args: readonly string[], options: RunOptions = {}): Promise<Result<{ reject: false }>> {
  return execa(BIN, [...(options.noLxcpath ? [] : ['-P', lxcpath]), ...args], {
    reject: false,
    // A config file of the host must not change what these tests see.
    env: { BERTH_CONFIG: join(scratch, 'no-such-config.json'), ...options.env },
    stripFinalNewline: false,
    timeout: 120_000,
  });
}

async function json<T>(args: readonly string[], options: RunOptions = {}): Promise<T> {
  const result = await berth(['--json', ...args], options);
  expect(result.exitCode, `berth ${args.join(' ')}: ${String(result.stderr)}`).to.equal(0);
  return JSON.parse(String(result.stdout)) as T;
}

async function ok(args: readonly string[], options: RunOptions = {}): Promise<Result<{ reject: false }>> {
  const result = await berth(args, options);
  expect(result.exitCode, `berth ${args.join(' ')}: ${String(result.stderr)}`).to.equal(0);
  return result;
}

/** The exit status and the single `berth: …` line of a failed command. */
function expectOneLineError(result: Result<{ reject: false }>, exitCode: number, pattern: RegExp): void {
  expect(result.exitCode, String(result.stderr)).to.equal(exitCode);
  const lines = String(result.stderr).split('\n').filter(Boolean);
  expect(lines, String(result.stderr)).to.have.length(1);
  expect(lines[0]).to.match(/^berth: /);
  expect(lines[0]).to.match(pattern);
}

interface ContainerJson {
  name: string;
  lxcpath: string;
  backend: string;
  rootfs: string;
  snapshots: number;
  dependsOn: string[];
  dependents: string[];
  partial: boolean;
}

interface DriversJson {
  storage: {
    type: string;
    aliases: string[];
    description: string;
    available: boolean;
    reason: string | null;
    capabilities: Record<string, unknown>;
    options: { name: string; type: string; required: boolean; description: string }[];
  }[];
  network: { type: string }[];
  pluginFailures: { specifier: string; reason: string }[];
}

/** Everything mounted at or below `root`, deepest first. */
async function mountsUnder(root: string): Promise<string[]> {
  const table = await readFile('/proc/self/mounts', 'utf8');
  return table
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' ') ?? '')
    .filter((target) => target === root || target.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
}

async function skipUnlessOverlay(context: Mocha.Context): Promise<void> {
  const drivers = await json<DriversJson>(['drivers']);
  const overlay = drivers.storage.find((d) => d.type === 'overlay');
  if (!overlay?.available) skipBecause(context, `the kernel has no usable overlayfs: ${overlay?.reason ?? 'no driver'}`);
}

describe('berth CLI', function () {
  this.timeout(120_000);

  before(function () {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "pnpm run build" at the repository root first`);
  });

  beforeEach(async function () {
    scratch = await mkdtemp(join(tmpdir(), 'berth-cli-'));
    lxcpath = join(scratch, 'lxc');
    await mkdir(lxcpath);
  });

  afterEach(async function () {
    for (const target of await mountsUnder(scratch)) await execa('umount', ['-l', target], { reject: false });
    await rm(scratch, { recursive: true, force: true });
    // berth's container locks are LXC's lock files: /run/lxc/lock/<lxcpath>/.<name>
    await rm(join('/run/lxc/lock', scratch), { recursive: true, force: true });
  });

  describe('help and usage', function () {
    const commands = [
      [],
      ['create'],
      ['copy'],
      ['snapshot'],
      ['snapshot', 'create'],
      ['snapshot', 'list'],
      ['snapshot', 'restore'],
      ['snapshot', 'delete'],
      ['destroy'],
      ['rename'],
      ['ls'],
      ['list'],
      ['info'],
      ['mount'],
      ['umount'],
      ['drivers'],
      ['recover'],
    ];
    for (const command of commands) {
      it(`berth ${[...command, '--help'].join(' ')} prints usage and exits 0`, async function () {
        const result = await ok([...command, '--help']);
        expect(String(result.stdout)).to.match(/^Usage: berth/);
        if (command.length > 0) expect(String(result.stdout)).to.include(command.at(-1) === 'list' && command.length === 1 ? 'ls' : command.at(-1)!);
      });
    }

    it('documents the exit statuses in berth --help', async function () {
      const result = await ok(['--help']);
      expect(String(result.stdout)).to.match(/Exit status:\n\s+0\s+done\n\s+1\s+the operation failed/);
      expect(String(result.stdout)).to.match(/\n\s+2\s+usage error/);
    });

    it('berth with no command prints help on stderr and exits 2', async function () {
      const result = await berth([], { noLxcpath: true });
      expect(result.exitCode).to.equal(2);
      expect(String(result.stderr)).to.match(/^Usage: berth/);
      expect(String(result.stdout)).to.equal('');
    });

    it('an unknown option or command is a usage error, in one line', async function () {
      expectOneLineError(await berth(['ls', '--frobnicate']), 2, /unknown option '--frobnicate'/);
      expectOneLineError(await berth(['frobnicate']), 2, /unknown command 'frobnicate'/);
      expectOneLineError(await berth(['create']), 2, /missing required argument 'name'/);
    });

    it('usage errors with --json are a JSON error document on stdout', async function () {
      const result = await berth(['--json', 'create']);
      expect(result.exitCode).to.equal(2);
      expect(JSON.parse(String(result.stdout))).to.deep.equal({ error: { code: 'InvalidArgument', message: "missing required argument 'name'" } });
    });
  });

  describe('the binary', function () {
    // A file Node cannot read: Node warns on stderr when it sees this at start-up.
    const missingCa = { NODE_EXTRA_CA_CERTS: '/nonexistent/berth-test-ca.pem' };

    it('is a program of its own: sh, dash and BusyBox sh start it', async function () {
      const shells = [['/bin/sh'], ['dash'], ['busybox', 'sh']].filter(([shell]) => existsSync(shell!) || existsSync(`/usr/bin/${shell}`) || existsSync(`/bin/${shell}`));
      expect(shells.length, 'no shell found').to.be.greaterThan(1);
      for (const shell of shells) {
        const result = await execa(shell[0]!, [...shell.slice(1), BIN, '--version'], { reject: false });
        expect(result.exitCode, `${shell.join(' ')}: ${result.stderr}`).to.equal(0);
        expect(result.stdout.trim()).to.match(/^\d+\.\d+\.\d+$/);
      }
    });

    it('starts node without NODE_EXTRA_CA_CERTS and gives it back to the commands it runs', async function () {
      // The control: node started on the bundle directly parses the variable, and warns.
      const direct = await execa('node', [BIN, '--version'], { reject: false, env: missingCa });
      expect(direct.exitCode).to.equal(0);
      expect(direct.stderr).to.match(/Ignoring extra certs from `\/nonexistent\/berth-test-ca\.pem`/);
      const launched = await berth(['--version'], { env: missingCa, noLxcpath: true });
      expect(launched.exitCode).to.equal(0);
      expect(String(launched.stderr)).to.equal('');
      // A template is a command berth runs: it sees the variable as the user set it, and
      // nothing of the launcher's.
      const template = join(scratch, 'lxc-envdump');
      await writeFile(
        template,
        [
          '#!/bin/sh',
          'while [ $# -gt 0 ]; do [ "$1" = --rootfs ] && rootfs=$2; shift; done',
          'mkdir -p "$rootfs/etc"',
          'printf "%s|%s" "${NODE_EXTRA_CA_CERTS-unset}" "${BERTH_NODE_EXTRA_CA_CERTS-unset}" > "$rootfs/etc/ca-env"',
          '',
        ].join('\n'),
        { mode: 0o755 },
      );
      await ok(['create', 'c1', '-t', template], { env: missingCa });
      expect(await readFile(join(lxcpath, 'c1', 'rootfs', 'etc', 'ca-env'), 'utf8')).to.equal(`${missingCa.NODE_EXTRA_CA_CERTS}|unset`);
    });
  });

  describe('create', function () {
    it('creates an empty dir container in LXC layout', async function () {
      const result = await ok(['create', 'c1']);
      expect(String(result.stdout)).to.equal('created c1 (dir)\n');
      const config = await readFile(join(lxcpath, 'c1', 'config'), 'utf8');
      expect(config).to.match(new RegExp(`^lxc\\.rootfs\\.path = dir:${lxcpath}/c1/rootfs$`, 'm'));
      expect(config).to.match(/^lxc\.uts\.name = c1$/m);
      expect((await stat(join(lxcpath, 'c1', 'rootfs'))).isDirectory()).to.equal(true);
      expect(existsSync(join(lxcpath, 'c1', 'partial'))).to.equal(false);
    });

    it('creates a container from a directory', async function () {
      const source = join(scratch, 'source');
      await mkdir(join(source, 'etc'), { recursive: true });
      await writeFile(join(source, 'etc', 'motd'), 'hello\n');
      await ok(['create', 'c1', '--from-dir', source]);
      expect(await readFile(join(lxcpath, 'c1', 'rootfs', 'etc', 'motd'), 'utf8')).to.equal('hello\n');
    });

    it('creates a container from the LXC busybox template', async function () {
      await ok(['create', 'bb', '-t', 'busybox']);
      const rootfs = join(lxcpath, 'bb', 'rootfs');
      expect(existsSync(join(rootfs, 'bin', 'busybox'))).to.equal(true);
      expect(await readFile(join(lxcpath, 'bb', 'config'), 'utf8')).to.match(/^# Template used to create this container: .*lxc-busybox$/m);
    });

    it('passes the options a backend does not take to its schema, which refuses them (exit 2)', async function () {
      expectOneLineError(await berth(['create', 'c1', '--fssize', '1G']), 2, /backend dir has no option fssize/);
      expectOneLineError(await berth(['create', 'c1', '-o', 'colour=blue']), 2, /backend dir has no option colour/);
      expect(await readdir(lxcpath)).to.deep.equal([]);
    });

    it('refuses template arguments without a template', async function () {
      expectOneLineError(await berth(['create', 'c1', '--', '-r', 'bookworm']), 2, /no -t\/--template/);
      expect(await readdir(lxcpath)).to.deep.equal([]);
    });

    it('refuses two sources at once', async function () {
      expectOneLineError(await berth(['create', 'c1', '--from-dir', scratch, '-t', 'busybox']), 2, /cannot be used with/);
    });

    it('a missing source directory is an operation failure (exit 1) that leaves nothing', async function () {
      expectOneLineError(await berth(['create', 'c1', '--from-dir', join(scratch, 'nowhere')]), 1, /does not exist/);
      expect(await readdir(lxcpath)).to.deep.equal([]);
    });
  });

  describe('names and sizes', function () {
    const badNames = ['a/b', '..', 'x\ny', '-x'];
    for (const name of badNames) {
      it(`refuses the name ${JSON.stringify(name)} with exit 2 and touches nothing`, async function () {
        const result = await berth(['create', name]);
        expect(result.exitCode, String(result.stderr)).to.equal(2);
        expect(String(result.stderr).split('\n').filter(Boolean)).to.have.length(1);
        expect(await readdir(lxcpath)).to.deep.equal([]);
      });
    }

    it('refuses a bad name after --, and in copy, rename and snapshot', async function () {
      expectOneLineError(await berth(['create', '--', '-x']), 2, /invalid container name "-x": it starts with "-"/);
      await ok(['create', 'c1']);
      expectOneLineError(await berth(['copy', 'c1', 'ok', 'a/b']), 2, /invalid container name "a\/b"/);
      expectOneLineError(await berth(['rename', 'c1', '..']), 2, /invalid container name/);
      expectOneLineError(await berth(['snapshot', 'restore', 'c1', '../x']), 2, /invalid snapshot name/);
      expect((await readdir(lxcpath)).filter((entry) => !entry.startsWith('.'))).to.deep.equal(['c1']);
    });

    it('refuses a malformed --fssize at parse time (exit 2)', async function () {
      for (const size of ['12X', '', '1.5.5G', '-1G', '0']) {
        const result = await berth(['create', 'c1', '--fssize', size]);
        expect(result.exitCode, `${size}: ${String(result.stderr)}`).to.equal(2);
      }
      expectOneLineError(await berth(['create', 'c1', '--fssize', '12X']), 2, /--fssize.*12X.*512M, 1G, 2GiB/);
      expect(await readdir(lxcpath)).to.deep.equal([]);
    });

    it('parses sizes as LXC does (binary units, bare numbers in MiB)', function () {
      expect(parseSize('1024')).to.equal(1024 * 1024 ** 2);
      expect(parseSize('512M')).to.equal(512 * 1024 ** 2);
      expect(parseSize('1G')).to.equal(1024 ** 3);
      expect(parseSize('2GiB')).to.equal(2 * 1024 ** 3);
      expect(parseSize('1gb')).to.equal(1024 ** 3);
      expect(parseSize('1.5G')).to.equal(1.5 * 1024 ** 3);
      expect(parseSize('4096B')).to.equal(4096);
      expect(() => parseSize('12X')).to.throw(/invalid size "12X"/);
      expect(() => parseSize('0')).to.throw(/more than 0/);
    });
  });

  describe('copy', function () {
    it('makes full copies to several targets, one line each', async function () {
      await ok(['create', 'base', '--from-dir', join(fileURLToPath(new URL('.', import.meta.url)))]);
      const result = await ok(['copy', 'base', 'f1', 'f2', 'f3']);
      expect(String(result.stdout).split('\n').filter(Boolean)).to.deep.equal([
        'copied base to f1 (dir)',
        'copied base to f2 (dir)',
        'copied base to f3 (dir)',
      ]);
      for (const name of ['f1', 'f2', 'f3']) {
        expect(existsSync(join(lxcpath, name, 'rootfs', 'cli.test.ts'))).to.equal(true);
        expect(await readFile(join(lxcpath, name, 'config'), 'utf8')).to.match(new RegExp(`^lxc\\.uts\\.name = ${name}$`, 'm'));
      }
    });

    it('makes overlay snapshot clones of a dir container with -s, recorded as dependents', async function () {
      await skipUnlessOverlay(this);
      await ok(['create', 'base']);
      await ok(['copy', '-s', 'base', 's1', 's2']);
      const list = await json<ContainerJson[]>(['ls']);
      const byName = new Map(list.map((c) => [c.name, c]));
      expect(byName.get('s1')).to.include({ backend: 'overlay' });
      expect(byName.get('s1')!.dependsOn).to.deep.equal(['base']);
      expect(byName.get('s2')!.dependsOn).to.deep.equal(['base']);
      expect([...byName.get('base')!.dependents].sort()).to.deep.equal(['s1', 's2']);
    });

    it('reports each failed target and exits 1 while the others are made', async function () {
      await ok(['create', 'base']);
      await ok(['create', 'taken']);
      const result = await berth(['copy', 'base', 'new1', 'taken']);
      expect(result.exitCode).to.equal(1);
      expect(String(result.stdout)).to.equal('copied base to new1 (dir)\n');
      expect(String(result.stderr)).to.match(/^berth: taken: container taken already exists/);
      const report = await berth(['--json', 'copy', 'base', 'new2', 'taken']);
      expect(report.exitCode).to.equal(1);
      const document = JSON.parse(String(report.stdout)) as { source: string; targets: { name: string; ok: boolean; error?: { code: string } }[] };
      expect(document.source).to.equal('base');
      expect(document.targets.map((t) => [t.name, t.ok])).to.deep.equal([['new2', true], ['taken', false]]);
      expect(document.targets[1]!.error!.code).to.equal('AlreadyExists');
    });
  });

  describe('ls and info', function () {
    it('ls --json is an array of container summaries', async function () {
      expect(await json<ContainerJson[]>(['ls'])).to.deep.equal([]);
      await ok(['create', 'b']);
      await ok(['create', 'a']);
      const list = await json<ContainerJson[]>(['ls']);
      expect(list.map((c) => c.name)).to.deep.equal(['a', 'b']);
      expect(list[0]).to.deep.equal({
        name: 'a',
        lxcpath,
        backend: 'dir',
        rootfs: `dir:${lxcpath}/a/rootfs`,
        snapshots: 0,
        dependsOn: [],
        dependents: [],
        partial: false,
      });
      const table = await ok(['list']);
      expect(String(table.stdout).split('\n')[0]).to.match(/^NAME\s+BACKEND\s+SNAPSHOTS\s+DEPENDS-ON\s+DEPENDENTS$/);
    });

    it('info shows one container; a missing one is NotFound (exit 1), as JSON with --json', async function () {
      await ok(['create', 'c1']);
      const info = await ok(['info', 'c1']);
      expect(String(info.stdout)).to.match(/^backend:\s+dir$/m);
      const missing = await berth(['--json', 'info', 'nosuch']);
      expect(missing.exitCode).to.equal(1);
      const document = JSON.parse(String(missing.stdout)) as { error: { code: string; message: string } };
      expect(document.error.code).to.equal('NotFound');
      expect(document.error.message).to.match(/nosuch does not exist/);
    });

    it('renames a container', async function () {
      await ok(['create', 'old']);
      expect(String((await ok(['rename', 'old', 'new'])).stdout)).to.equal('renamed old to new\n');
      expect((await json<ContainerJson[]>(['ls'])).map((c) => c.name)).to.deep.equal(['new']);
    });
  });

  describe('snapshots', function () {
    it('snapshot, snapshot list, restore in place and as new, delete ALL', async function () {
      const source = join(scratch, 'source');
      await mkdir(source);
      await writeFile(join(source, 'file'), 'one\n');
      await ok(['create', 'c1', '--from-dir', source]);
      expect(String((await ok(['snapshot', 'c1', '-c', 'first'])).stdout)).to.equal('c1: snapshot snap0 created\n');
      await writeFile(join(lxcpath, 'c1', 'rootfs', 'file'), 'two\n');
      await ok(['snapshot', 'create', 'c1']);

      const snapshots = await json<{ name: string; comment: string | null; timestamp: string }[]>(['snapshot', 'list', 'c1']);
      expect(snapshots.map((s) => [s.name, s.comment])).to.deep.equal([['snap0', 'first'], ['snap1', null]]);
      expect(snapshots[0]!.timestamp).to.match(/^\d{4}:\d{2}:\d{2} \d{2}:\d{2}:\d{2}$/);
      expect(await readFile(join(lxcpath, 'c1', 'snaps', 'snap0', 'comment'), 'utf8')).to.equal('first');
      const table = await ok(['snapshot', 'list', 'c1']);
      expect(String(table.stdout)).to.match(/^SNAPSHOT\s+CREATED\s+BACKEND\s+COMMENT\nsnap0 .* first\nsnap1 /);

      await ok(['snapshot', 'restore', 'c1', 'snap0', 'c2']);
      expect(await readFile(join(lxcpath, 'c2', 'rootfs', 'file'), 'utf8')).to.equal('one\n');
      await ok(['snapshot', 'restore', 'c1', 'snap0']);
      expect(await readFile(join(lxcpath, 'c1', 'rootfs', 'file'), 'utf8')).to.equal('one\n');

      expect(String((await ok(['snapshot', 'delete', 'c1', 'ALL'])).stdout)).to.equal('c1: deleted snap0, snap1\n');
      expect(await json<unknown[]>(['snapshot', 'list', 'c1'])).to.deep.equal([]);
      expect(existsSync(join(lxcpath, 'c1', 'snaps'))).to.equal(false);
    });

    it('reaches a container named like a subcommand through "snapshot create"', async function () {
      await ok(['create', 'list']);
      expectOneLineError(await berth(['snapshot', 'list']), 2, /missing required argument 'name'/);
      await ok(['snapshot', 'create', 'list']);
      expect((await json<{ name: string }[]>(['snapshot', 'list', 'list'])).map((s) => s.name)).to.deep.equal(['snap0']);
    });

    it('a missing snapshot is NotFound (exit 1)', async function () {
      await ok(['create', 'c1']);
      expectOneLineError(await berth(['snapshot', 'delete', 'c1', 'snap7']), 1, /c1 has no snapshot snap7/);
    });
  });

  describe('destroy', function () {
    it('is refused while a clone depends on the container, then allowed', async function () {
      await skipUnlessOverlay(this);
      await ok(['create', 'base']);
      await ok(['copy', '-s', 'base', 'clone']);
      expectOneLineError(await berth(['destroy', 'base']), 1, /cannot destroy base: clone depend/);
      expect(existsSync(join(lxcpath, 'base', 'config'))).to.equal(true);
      await ok(['destroy', 'clone']);
      expect(String((await ok(['destroy', 'base'])).stdout)).to.equal('destroyed base\n');
      expect(await json<unknown[]>(['ls'])).to.deep.equal([]);
    });

    it('destroys several containers in the order given; a refused one stops only itself', async function () {
      await skipUnlessOverlay(this);
      await ok(['create', 'base']);
      await ok(['copy', '-s', 'base', 'c1', 'c2']);
      await ok(['create', 'other']);
      // base first: refused (its clones still exist), while the clones and other go.
      const refused = await berth(['destroy', 'base', 'c1', 'c2', 'other']);
      expect(refused.exitCode).to.equal(1);
      const stderr = String(refused.stderr).trim().split('\n');
      expect(stderr).to.have.length(1);
      expect(stderr[0]).to.match(/^berth: base: cannot destroy base: (c1, c2|c2, c1) depend on it; destroy them first$/);
      expect(String(refused.stdout)).to.equal('destroyed c1\ndestroyed c2\ndestroyed other\n');
      expect((await json<{ name: string }[]>(['ls'])).map((c) => c.name)).to.deep.equal(['base']);
      await ok(['copy', '-s', 'base', 'c3']);
      expect(await json(['destroy', 'c3', 'base'])).to.deep.equal({ destroyed: ['c3', 'base'], failed: [] });
      expect(await json<unknown[]>(['ls'])).to.deep.equal([]);
      expectOneLineError(await berth(['destroy', 'x', 'x']), 2, /x is named twice/);
      expectOneLineError(await berth(['destroy', 'ok', '../etc']), 2, /name/);
    });

    it('needs --with-snapshots for a container with snapshots', async function () {
      await ok(['create', 'c1']);
      await ok(['snapshot', 'c1']);
      expectOneLineError(await berth(['destroy', 'c1']), 1, /--with-snapshots/);
      await ok(['destroy', '-s', 'c1']);
      expect(existsSync(join(lxcpath, 'c1'))).to.equal(false);
    });
  });

  describe('mount', function () {
    it('mounts and unmounts an overlay clone on its rootfs', async function () {
      await skipUnlessOverlay(this);
      await ok(['create', 'base']);
      await ok(['copy', '-s', 'base', 'clone']);
      const mounted = await ok(['mount', 'clone']);
      const mountpoint = join(lxcpath, 'clone', 'rootfs');
      expect(String(mounted.stdout)).to.equal(`${mountpoint}\n`);
      expect(await mountsUnder(mountpoint)).to.deep.equal([mountpoint]);
      await ok(['umount', 'clone']);
      expect(await mountsUnder(mountpoint)).to.deep.equal([]);
    });
  });

  describe('--dry-run', function () {
    it('prints the plan of a create and changes nothing', async function () {
      const result = await ok(['--dry-run', 'create', 'c1', '-t', 'busybox']);
      const plan = String(result.stdout).split('\n').filter(Boolean);
      expect(plan).to.include(`mkdir -m 770 ${lxcpath}/c1`);
      expect(plan).to.include(`write ${lxcpath}/c1/config`);
      expect(plan.some((line) => line.startsWith('/usr/share/lxc/templates/lxc-busybox --path'))).to.equal(true);
      expect(String(result.stderr)).to.match(/dry run: \d+ step\(s\) planned, nothing was changed/);
      expect(await readdir(lxcpath)).to.deep.equal([]);
    });

    it('does not even make a missing lxcpath, and gives the plan as JSON', async function () {
      lxcpath = join(scratch, 'not-yet');
      const document = await json<{ dryRun: boolean; plan: string[] }>(['--dry-run', 'create', 'c1']);
      expect(document.dryRun).to.equal(true);
      expect(document.plan[0]).to.equal(`mkdir -p ${lxcpath}`);
      expect(existsSync(lxcpath)).to.equal(false);
    });

    it('plans a destroy without destroying', async function () {
      await ok(['create', 'c1']);
      const result = await ok(['--dry-run', 'destroy', 'c1']);
      expect(String(result.stdout)).to.include(`rm -rf ${lxcpath}/c1`);
      expect(existsSync(join(lxcpath, 'c1', 'config'))).to.equal(true);
    });
  });

  describe('--verbose', function () {
    it('prints each command on stderr as it runs', async function () {
      const source = join(scratch, 'source');
      await mkdir(source);
      const result = await ok(['-v', 'create', 'c1', '--from-dir', source]);
      expect(String(result.stderr)).to.match(/^\+ cp .*source/m);
    });
  });

  describe('--quiet and --debug', function () {
    it('--quiet drops confirmations but keeps errors', async function () {
      const result = await ok(['-q', 'create', 'c1']);
      expect(String(result.stdout)).to.equal('');
      expectOneLineError(await berth(['-q', 'create', 'c1']), 1, /c1 already exists/);
    });

    it('--debug adds the failed command, its stderr and the stack', async function () {
      const tarball = join(scratch, 'broken.tar.gz');
      await writeFile(tarball, 'not a tarball\n');
      const plain = await berth(['create', 'c1', '--tarball', tarball]);
      expectOneLineError(plain, 1, /^berth: tar exited with \d+/);
      const debug = await berth(['--debug', 'create', 'c1', '--tarball', tarball]);
      expect(debug.exitCode).to.equal(1);
      expect(String(debug.stderr)).to.match(/^command: tar --extract --file /m);
      expect(String(debug.stderr)).to.match(/^exit code: \d+$/m);
      expect(String(debug.stderr)).to.match(/^BerthError: tar exited/m);
      expect(String(debug.stderr)).to.match(/^\s+at /m);
      expect((await readdir(lxcpath)).filter((entry) => !entry.startsWith('.'))).to.deep.equal([]);
    });
  });

  describe('drivers and plugins', function () {
    it('drivers --json lists dir and overlay with capabilities and described options', async function () {
      const drivers = await json<DriversJson>(['drivers']);
      expect(drivers.storage.map((d) => d.type)).to.include.members(['dir', 'overlay']);
      const dir = drivers.storage.find((d) => d.type === 'dir')!;
      expect(dir.available).to.equal(true);
      expect(dir.capabilities).to.include({ directAccess: true, snapshot: false });
      expect(dir.options).to.have.length(1);
      expect(dir.options[0]).to.include({ name: 'dir', type: 'string', required: false });
      expect(dir.options[0]!.description).to.match(/rootfs directory/);
      const overlay = drivers.storage.find((d) => d.type === 'overlay')!;
      expect(overlay.aliases).to.deep.equal(['overlayfs']);
      expect(overlay.capabilities).to.include({ snapshot: true });
      expect(overlay.capabilities.snapshotSources).to.include('dir');
      expect(overlay.options).to.deep.equal([]);
      expect(drivers.network.map((d) => d.type)).to.deep.equal(['veth', 'macvlan']);
      expect(drivers.pluginFailures).to.deep.equal([]);
      const text = await ok(['drivers']);
      expect(String(text.stdout)).to.match(/^STORAGE\s+STATUS\s+CAPABILITIES$/m);
      expect(String(text.stdout)).to.match(/^ {2}dir=<string> {2}Where the rootfs directory goes/m);
    });

    it('reports broken plugins, skips them, and keeps working plugins and builtins', async function () {
      const plugins = join(scratch, 'plugins');
      await mkdir(plugins);
      await writeFile(join(plugins, 'throws.mjs'), "throw new Error('plugin exploded on import');\n");
      await writeFile(join(plugins, 'bad-descriptor.mjs'), "export default { kind: 'storage' };\n");
      await writeFile(join(plugins, 'claims-dir.mjs'), fakeDriverPlugin('dir'));
      await writeFile(join(plugins, 'fake.mjs'), fakeDriverPlugin('fake'));
      const config = join(scratch, 'config.json');
      await writeFile(
        config,
        JSON.stringify({ plugins: ['./plugins/missing.mjs', './plugins/throws.mjs', './plugins/bad-descriptor.mjs', './plugins/claims-dir.mjs', './plugins/fake.mjs'] }),
      );
      const env = { BERTH_CONFIG: config };
      const result = await berth(['--json', 'drivers'], { env });
      expect(result.exitCode, String(result.stderr)).to.equal(0);
      const drivers = JSON.parse(String(result.stdout)) as DriversJson;
      expect(drivers.pluginFailures.map((f) => f.specifier)).to.deep.equal([
        './plugins/missing.mjs',
        './plugins/throws.mjs',
        './plugins/bad-descriptor.mjs',
        'storage module claims-dir',
      ]);
      expect(drivers.pluginFailures[1]!.reason).to.match(/plugin exploded on import/);
      expect(drivers.pluginFailures[3]!.reason).to.match(/two storage drivers claim the type dir/);
      const builtinTypes = builtinModules.filter((m) => m.kind === 'storage').map((m) => m.name);
      expect(drivers.storage.map((d) => d.type)).to.deep.equal([...builtinTypes, 'fake']);
      expect(drivers.storage.find((d) => d.type === 'fake')).to.include({ available: false, reason: 'a test double' });
      expect(String(result.stderr).match(/^berth: warning: plugin .* skipped: /gm)).to.have.length(4);

      const text = await ok(['drivers'], { env });
      expect(String(text.stdout)).to.match(/plugins that failed to load:\n {2}\.\/plugins\/missing\.mjs: /);
      await ok(['create', 'c1'], { env });
    });

    it('a plugin shares berth\'s tsyringe: its decorated constructor gets berth\'s command runner', async function () {
      const config = join(scratch, 'config.json');
      await writeFile(config, JSON.stringify({ plugins: [fileURLToPath(new URL('./fixtures/injected-plugin.mjs', import.meta.url))] }));
      const drivers = await json<DriversJson>(['drivers'], { env: { BERTH_CONFIG: config } });
      expect(drivers.pluginFailures).to.deep.equal([]);
      expect(drivers.storage.find((d) => d.type === 'injected')).to.include({ available: false, reason: 'injected runner: ExecaRunner (dry run false)' });
    });

    it('a config file that is not JSON is reported, and berth goes on with its builtins', async function () {
      const config = join(scratch, 'config.json');
      await writeFile(config, '{ plugins: nope');
      const drivers = await json<DriversJson>(['drivers'], { env: { BERTH_CONFIG: config } });
      expect(drivers.pluginFailures).to.have.length(1);
      expect(drivers.pluginFailures[0]!.reason).to.match(/not JSON/);
      expect(drivers.storage.map((d) => d.type)).to.include('dir');
    });
  });
});

/** A plugin module with a do-nothing storage driver of type `type` (no imports needed). */
function fakeDriverPlugin(type: string): string {
  return `
const driver = {
  type: ${JSON.stringify(type)},
  aliases: [],
  description: 'a test double',
  capabilities: { snapshot: false, snapshotSources: [], nativeCopy: false, directAccess: false, sized: false, quota: false, usage: false, rename: false },
  optionsSchema: { shape: {}, safeParse: (value) => ({ success: true, data: value }) },
  probe: async () => ({ available: false, reason: 'a test double' }),
  detect: async () => false,
  create: async () => { throw new Error('unused'); },
  mount: async () => {},
  unmount: async () => {},
  destroy: async () => {},
};
export default {
  kind: 'storage',
  name: ${JSON.stringify(type === 'dir' ? 'claims-dir' : type)},
  register(container) {
    container.register(Symbol.for('berth.StorageDriver'), { useValue: driver });
  },
};
`;
}
