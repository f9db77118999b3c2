import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import sinon from 'sinon';
import { BerthError, DryRunRunner, ExecaRunner, formatArgv } from '@berth/core';
import { FailingRunner, ScriptedRunner } from '@berth/core/testing';
import { expectBerthError, TempDirs } from './helpers.js';

describe('ExecaRunner', () => {
  const temp = new TempDirs();
  after(() => temp.cleanup());
  const runner = new ExecaRunner();

  it('passes arguments literally, without a shell', async () => {
    const dir = await temp.make();
    const marker = join(dir, 'x');
    const result = await runner.run(['printf', '%s|', `$(touch ${marker})`, '`touch ${marker}`', '; touch ' + marker, '*']);
    expect(result.stdout).to.equal(`$(touch ${marker})|\`touch \${marker}\`|; touch ${marker}|*|`);
    expect(result.exitCode).to.equal(0);
    let created = true;
    await access(marker).catch(() => (created = false));
    expect(created, 'the argument was run by a shell').to.equal(false);
  });

  it('feeds input, sets env and cwd', async () => {
    const dir = await temp.make();
    expect((await runner.run(['cat'], { input: 'hello\nworld' })).stdout).to.equal('hello\nworld');
    expect((await runner.run(['sh', '-c', 'printf %s "$BERTH_T"'], { env: { BERTH_T: 'v1' } })).stdout).to.equal('v1');
    expect((await runner.run(['pwd'], { cwd: dir })).stdout.trim()).to.equal(dir);
  });

  it('reports failures with the command, exit code and stderr', async () => {
    const argv = ['sh', '-c', 'echo first >&2; echo "no space left" >&2; exit 3', 'arg0'];
    const error = await expectBerthError(runner.run(argv), 'CommandFailed');
    expect(error.command).to.deep.include({ command: argv, exitCode: 3, timedOut: false });
    expect(error.command!.stderr).to.include('no space left');
    expect(error.message).to.equal('sh exited with 3: no space left');
  });

  it('keeps the command details through a wrapping BerthError', async () => {
    const inner = await expectBerthError(runner.run(['false']), 'CommandFailed');
    const outer = new BerthError('Internal', 'create failed', { cause: inner });
    expect(outer.command?.command).to.deep.equal(['false']);
    expect(outer.cause).to.equal(inner);
  });

  it('accepts extra ok exit codes', async () => {
    const result = await runner.run(['sh', '-c', 'exit 1'], { okExitCodes: [1] });
    expect(result.exitCode).to.equal(1);
  });

  it('times out with code Timeout', async () => {
    const started = Date.now();
    const error = await expectBerthError(runner.run(['sleep', '10'], { timeoutMs: 200 }), 'Timeout');
    expect(Date.now() - started).to.be.lessThan(5000);
    expect(error.command?.timedOut).to.equal(true);
    expect(error.message).to.include('timed out');
  });

  it('says clearly that a missing binary could not run', async () => {
    const error = await expectBerthError(runner.run(['/nonexistent/berth-no-such-tool', '--x']), 'CommandFailed');
    expect(error.message).to.include('/nonexistent/berth-no-such-tool could not run');
    expect(error.message).to.match(/ENOENT/);
    expect(error.command?.exitCode).to.equal(undefined);
  });

  it('refuses an empty argv', async () => {
    await expectBerthError(runner.run([]), 'InvalidArgument');
  });

  it('streams stdout lines and tells the observer each command', async () => {
    const seen: (readonly string[])[] = [];
    const observed = new ExecaRunner((argv) => seen.push(argv));
    const lines: string[] = [];
    await observed.run(['printf', 'a\nb\nc\n'], { onStdoutLine: (l) => lines.push(l) });
    expect(lines).to.deep.equal(['a', 'b', 'c']);
    expect(seen).to.deep.equal([['printf', 'a\nb\nc\n']]);
  });

  it('finds tools on PATH', async () => {
    expect(await runner.which('sh')).to.match(/\/sh$/);
    expect(await runner.which('berth-no-such-tool-xyz')).to.equal(undefined);
  });
});

describe('DryRunRunner', () => {
  it('records mutating commands and runs read-only ones', async () => {
    const real = new ExecaRunner();
    const spy = sinon.spy(real, 'run');
    const dry = new DryRunRunner(real);
    expect(dry.dryRun).to.equal(true);
    const mutating = await dry.run(['mkfs.ext4', '/dev/vg/my lv']);
    expect(mutating).to.deep.include({ exitCode: 0, stdout: '', stderr: '' });
    const probe = await dry.run(['echo', 'probed'], { readOnly: true });
    expect(probe.stdout).to.equal('probed\n');
    dry.note('mkdir -m 755 /p/c');
    expect(dry.plan).to.deep.equal(["mkfs.ext4 '/dev/vg/my lv'", 'mkdir -m 755 /p/c']);
    expect(spy.callCount).to.equal(1);
    expect(spy.firstCall.args[0]).to.deep.equal(['echo', 'probed']);
  });

  it('never runs a mutating command', async () => {
    const temp = new TempDirs();
    try {
      const dir = await temp.make();
      const dry = new DryRunRunner(new ExecaRunner());
      await dry.run(['touch', join(dir, 'made')]);
      let made = true;
      await access(join(dir, 'made')).catch(() => (made = false));
      expect(made).to.equal(false);
    } finally {
      await temp.cleanup();
    }
  });
});

describe('ScriptedRunner', () => {
  it('replays canned results in order', async () => {
    const runner = new ScriptedRunner(
      [{ argv: ['btrfs', 'subvolume', 'create', '/p/c/rootfs'] }, { argv: (a) => a[0] === 'uuidgen', stdout: 'u-1\nu-2\n' }],
      new Set(['btrfs']),
    );
    expect((await runner.run(['btrfs', 'subvolume', 'create', '/p/c/rootfs'])).exitCode).to.equal(0);
    const lines: string[] = [];
    expect((await runner.run(['uuidgen', '-r'], { onStdoutLine: (l) => lines.push(l) })).stdout).to.equal('u-1\nu-2\n');
    expect(lines).to.deep.equal(['u-1', 'u-2']);
    expect(runner.calls).to.deep.equal([['btrfs', 'subvolume', 'create', '/p/c/rootfs'], ['uuidgen', '-r']]);
    expect(() => runner.assertDone()).to.not.throw();
    expect(await runner.which('btrfs')).to.equal('/usr/bin/btrfs');
    expect(await runner.which('zfs')).to.equal(undefined);
  });

  it('fails scripted failures as CommandFailed', async () => {
    const runner = new ScriptedRunner([{ argv: ['mkfs.ext4', '/dev/loop0'], exitCode: 1, stderr: 'no space' }, { argv: ['grep', 'x'], exitCode: 1 }]);
    const error = await expectBerthError(runner.run(['mkfs.ext4', '/dev/loop0']), 'CommandFailed');
    expect(error.command).to.deep.include({ exitCode: 1, stderr: 'no space' });
    expect((await runner.run(['grep', 'x'], { okExitCodes: [1] })).exitCode).to.equal(1);
  });

  it('rejects unexpected commands and extra ones', async () => {
    const runner = new ScriptedRunner([{ argv: ['a'] }]);
    const wrong = await expectBerthError(runner.run(['b']), 'Internal');
    expect(wrong.message).to.include('expected a');
    expect(() => runner.assertDone()).to.throw(/never ran/);
    await runner.run(['a']);
    const extra = await expectBerthError(runner.run(['a']), 'Internal');
    expect(extra.message).to.include('script ended');
  });
});

describe('FailingRunner', () => {
  it('fails the N-th mutating command only', async () => {
    const runner = new FailingRunner(new ScriptedRunner([{ argv: ['probe'] }, { argv: ['one'] }, { argv: ['three'] }]), 2);
    await runner.run(['probe'], { readOnly: true });
    await runner.run(['one']);
    const error = await expectBerthError(runner.run(['two']), 'CommandFailed');
    expect(error.command?.stderr).to.equal('injected failure');
    await runner.run(['three']);
    expect(runner.seen).to.deep.equal(['one', 'two', 'three']);
  });
});

describe('formatArgv', () => {
  it('quotes only where a shell would need it', () => {
    expect(formatArgv(['cp', '-a', '--reflink=auto', '/a/b', 'x@y:z,1+2%'])).to.equal('cp -a --reflink=auto /a/b x@y:z,1+2%');
    expect(formatArgv(['echo', 'a b', '', '$HOME', 'a*', 'semi;colon'])).to.equal(`echo 'a b' '' '$HOME' 'a*' 'semi;colon'`);
    expect(formatArgv(["it's"])).to.equal(`'it'\\''s'`);
    expect(formatArgv(['a\nb'])).to.equal(`'a\nb'`);
  });

  it('quotes so that sh reads the same argv back', async () => {
    const argv = ['printf', '%s\\n', "it's", 'a b', '', '$(x)', '"q"', 'back\\slash'];
    const { stdout } = await new ExecaRunner().run(['sh', '-c', formatArgv(argv)]);
    expect(stdout).to.equal(argv.slice(2).map((a) => `${a}\n`).join(''));
  });
});
