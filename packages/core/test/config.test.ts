import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { assertConfigValue, LxcConfig } from '@berth/core';
import { expectThrowsBerth, FIXTURES, TempDirs } from './helpers.js';

const run = promisify(execFile);
const CONFIGS = join(FIXTURES, 'configs');

describe('LxcConfig', () => {
  describe('round trip', () => {
    it('gives back every fixture byte for byte', async () => {
      const names = (await readdir(CONFIGS)).filter((n) => n.endsWith('.conf'));
      expect(names.length).to.be.greaterThanOrEqual(5);
      for (const name of names) {
        const text = await readFile(join(CONFIGS, name), 'utf8');
        expect(LxcConfig.parse(text).toString(), name).to.equal(text);
      }
    });

    it('keeps the empty file, a lone newline and a missing final newline', () => {
      for (const text of ['', '\n', '\n\n', 'lxc.arch = x86_64', 'lxc.arch = x86_64\n', '# only a comment']) {
        expect(LxcConfig.parse(text).toString()).to.equal(text);
      }
    });

    it('keeps untouched lines as they were after another line is changed', async () => {
      const text = await readFile(join(CONFIGS, 'odd-spacing.conf'), 'utf8');
      const config = LxcConfig.parse(text).set('lxc.arch', 'aarch64');
      const out = config.toString();
      expect(out).to.equal(text.replace('lxc.arch\t=\tx86_64', 'lxc.arch = aarch64'));
      expect(out.endsWith('0 0')).to.equal(true); // still no final newline
    });

    it('keeps CRLF line ends and reads values without the CR', async () => {
      const text = await readFile(join(CONFIGS, 'crlf.conf'), 'utf8');
      const config = LxcConfig.parse(text);
      expect(config.get('lxc.uts.name')).to.equal('crlf');
      expect(config.getAll('lxc.mount.entry')).to.deep.equal(['a b none bind 0 0']);
      expect(config.toString()).to.equal(text);
    });

    describe('a config written by the real lxc-create -t busybox', () => {
      const temp = new TempDirs();
      after(() => temp.cleanup());

      it('round-trips and reads its keys', async function () {
        const lxcpath = await temp.make();
        await run('lxc-create', ['-P', lxcpath, '-n', 'c', '-t', 'busybox'], { timeout: 60_000 });
        const text = await readFile(join(lxcpath, 'c', 'config'), 'utf8');
        const config = LxcConfig.parse(text);
        expect(config.toString()).to.equal(text);
        expect(config.get('lxc.uts.name')).to.equal('c'); // written quoted: "c"
        expect(text).to.include('lxc.uts.name = "c"');
        expect(config.get('lxc.rootfs.path')).to.equal(`dir:${lxcpath}/c/rootfs`);
        expect(config.getAll('lxc.mount.entry').length).to.be.greaterThan(2);
        // A change to one key leaves every other line as lxc-create wrote it.
        const changed = config.clone().set('lxc.uts.name', 'd').toString();
        expect(changed.split('\n').filter((l, i) => l !== text.split('\n')[i])).to.deep.equal(['lxc.uts.name = d']);
      });
    });
  });

  describe('reading', () => {
    let config: LxcConfig;
    beforeEach(async () => {
      config = LxcConfig.parse(await readFile(join(CONFIGS, 'busybox.conf'), 'utf8'));
    });

    it('get returns the last value, unquoted', () => {
      expect(config.get('lxc.uts.name')).to.equal('b1');
      expect(config.get('lxc.mount.entry')).to.equal('/sys/kernel/security sys/kernel/security none ro,bind,optional 0 0');
      expect(config.get('lxc.nope')).to.equal(undefined);
      expect(LxcConfig.parse('a.b = 1\na.b = 2\n').get('a.b')).to.equal('2');
    });

    it('does not take commented-out lines as keys', () => {
      expect(config.has('lxc.include')).to.equal(false);
      expect(config.getAll('lxc.apparmor.profile')).to.deep.equal(['generated']);
    });

    it('getAll returns every value in order', () => {
      expect(config.getAll('lxc.mount.entry')).to.deep.equal([
        'shm dev/shm tmpfs defaults,create=dir 0 0',
        'mqueue dev/mqueue mqueue defaults,optional,create=dir 0 0',
        '/lib lib none ro,bind 0 0',
        '/usr/lib usr/lib none ro,bind 0 0',
        '/sys/kernel/security sys/kernel/security none ro,bind,optional 0 0',
      ]);
    });

    it('reads lxc.include lines and odd spacing', async () => {
      const download = LxcConfig.parse(await readFile(join(CONFIGS, 'download-include.conf'), 'utf8'));
      expect(download.getAll('lxc.include')).to.deep.equal(['/usr/share/lxc/config/common.conf', '/usr/share/lxc/config/userns.conf']);
      const odd = LxcConfig.parse(await readFile(join(CONFIGS, 'odd-spacing.conf'), 'utf8'));
      expect(odd.get('lxc.uts.name')).to.equal('odd');
      expect(odd.get('lxc.tty.max')).to.equal('4');
      expect(odd.get('lxc.arch')).to.equal('x86_64');
      expect(odd.get('lxc.rootfs.path')).to.equal('dir:/srv/lxc/odd/rootfs');
      expect(odd.get('lxc.environment')).to.equal('GREETING=hello world');
      expect(odd.getAll('lxc.mount.entry')).to.deep.equal(['', 'proc proc proc nodev,noexec,nosuid 0 0']);
      expect(odd.entries().map((e) => e.key)).to.not.include('');
    });
  });

  describe('changing', () => {
    it('set rewrites the first occurrence in place and removes later duplicates', () => {
      const config = LxcConfig.parse('# head\na = 1\nb = x\na = 2\nc = y\na = 3\n');
      config.set('a', '9');
      expect(config.toString()).to.equal('# head\na = 9\nb = x\nc = y\n');
      expect(config.getAll('a')).to.deep.equal(['9']);
    });

    it('set appends a key not present yet', () => {
      expect(LxcConfig.parse('# c\nb = 1\n').set('a', '2').toString()).to.equal('# c\nb = 1\na = 2\n');
      expect(LxcConfig.empty().set('a', '1').toString()).to.equal('a = 1\n');
    });

    it('append goes after the last occurrence, or at the end', () => {
      const config = LxcConfig.parse('m = 1\nx = 0\nm = 2\n# tail\n');
      config.append('m', '3').append('z', '4');
      expect(config.toString()).to.equal('m = 1\nx = 0\nm = 2\nm = 3\n# tail\nz = 4\n');
    });

    it('delete removes every occurrence and only that key', () => {
      const config = LxcConfig.parse('a = 1\nab = 2\n# a = 3\na = 4\n');
      expect(config.delete('a').toString()).to.equal('ab = 2\n# a = 3\n');
    });

    it('deletePrefix removes the keys that start with the prefix', () => {
      const config = LxcConfig.parse('lxc.net.0.type = veth\nlxc.net.1.type = macvlan\nlxc.net.1.link = eth0\nlxc.net.10.type = veth\n');
      config.deletePrefix('lxc.net.1.');
      expect(config.toString()).to.equal('lxc.net.0.type = veth\nlxc.net.10.type = veth\n');
    });

    it('mapValues rewrites changed lines in place and keeps unchanged ones raw', () => {
      const config = LxcConfig.parse('a=/old/x\n  b   =  keep  \nc = "/old/y"\n');
      config.mapValues((_, value) => value.replace('/old/', '/new/'));
      expect(config.toString()).to.equal('a = /new/x\n  b   =  keep  \nc = /new/y\n');
    });

    it('clone is independent of the original', () => {
      const original = LxcConfig.parse('a = 1\n');
      const copy = original.clone().set('a', '2').append('b', '3');
      expect(original.toString()).to.equal('a = 1\n');
      expect(copy.toString()).to.equal('a = 2\nb = 3\n');
    });

    it('refuses values with a newline, CR or NUL, and changes nothing', () => {
      const text = 'a = 1\nb = 2\n';
      for (const bad of ['x\ny', 'x\ry', 'x\0y', '\n']) {
        const config = LxcConfig.parse(text);
        const error = expectThrowsBerth(() => config.set('a', bad), 'InvalidArgument');
        expect(error.message).to.not.include('\n');
        expectThrowsBerth(() => config.append('c', bad), 'InvalidArgument');
        expectThrowsBerth(() => config.mapValues((key, value) => (key === 'b' ? bad : `${value}0`)), 'InvalidArgument');
        expect(config.toString()).to.equal(text);
      }
    });

    it('refuses invalid keys', () => {
      expectThrowsBerth(() => LxcConfig.empty().set('bad key', 'x'), 'InvalidArgument');
      expectThrowsBerth(() => LxcConfig.empty().append('a=b', 'x'), 'InvalidArgument');
      expectThrowsBerth(() => assertConfigValue('', 'x'), 'InvalidArgument');
      expect(() => assertConfigValue('lxc.net.0.ipv4.address', '10.0.0.2/24')).to.not.throw();
    });

    it('refuses a config containing NUL', () => {
      expectThrowsBerth(() => LxcConfig.parse('a = 1\nb = x\0y\n'), 'InvalidArgument');
    });
  });
});
