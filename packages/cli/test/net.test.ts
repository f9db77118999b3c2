import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { execa, type Result } from 'execa';
import { TestNamespaces, conformanceRuns, conformanceRunsFor, interfacesIn, pings, sh, skipBecause, waitForDad } from '@berth/conformance';
import { builtinModules } from '../src/builtins.js';

/**
 * `berth net …` as a user runs it (the built and bundled `dist/berth.cjs`), against a fresh lxcpath and
 * an LXC system config whose default container config has no network (the host's
 * default links lxcbr0, which does not exist here).
 */
const BIN = fileURLToPath(new URL('../dist/berth.cjs', import.meta.url));

describe('berth net', function () {
  this.timeout(120_000);
  let root: string;
  let lxcpath: string;
  let env: Record<string, string>;
  let namespaces: TestNamespaces;

  async function berth(args: readonly string[]): Promise<Result<{ reject: false }>> {
    return execa(BIN, ['-P', lxcpath, ...args], { reject: false, env, timeout: 120_000 });
  }
  async function ok(args: readonly string[]): Promise<string> {
    const result = await berth(args);
    expect(result.exitCode, `berth ${args.join(' ')}: ${String(result.stderr)}`).to.equal(0);
    return String(result.stdout);
  }
  async function json<T>(args: readonly string[]): Promise<T> {
    return JSON.parse(await ok(['--json', ...args])) as T;
  }
  const config = () => readFile(join(lxcpath, 'c1', 'config'), 'utf8');

  beforeEach(async function () {
    root = await mkdtemp(join(tmpdir(), 'berth-net-cli-'));
    lxcpath = join(root, 'lxc');
    await writeFile(join(root, 'default.conf'), 'lxc.apparmor.profile = unconfined\n');
    await writeFile(join(root, 'lxc.conf'), `lxc.default_config = ${join(root, 'default.conf')}\n`);
    env = { BERTH_CONFIG: join(root, 'no-such-config.json'), BERTH_LXC_CONF: join(root, 'lxc.conf') };
    namespaces = new TestNamespaces();
  });

  afterEach(async function () {
    if (lxcpath && existsSync(lxcpath)) {
      const running = await execa('lxc-ls', ['-P', lxcpath, '--running', '-1'], { reject: false });
      for (const name of String(running.stdout).split(/\s+/).filter(Boolean)) {
        for (const ns of await namespaceNames()) await execa('ip', ['netns', 'exec', ns, 'lxc-stop', '-P', lxcpath, '-n', name, '-k'], { reject: false, timeout: 30_000 });
      }
    }
    await namespaces.remove();
    await rm(root, { recursive: true, force: true });
  });

  async function namespaceNames(): Promise<string[]> {
    const listed = await execa('ip', ['netns', 'list'], { reject: false });
    return String(listed.stdout).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(`berth-t-${namespaces.id}-`));
  }

  it('add, ls and rm edit lxc.net.N and keep every other line', async function () {
    await ok(['create', 'c1']);
    const before = await config();
    const added = await json<{ index: number; keys: { key: string; value: string }[] }>([
      'net', 'add', 'c1', 'veth', 'link=br0', 'ipv4.address=192.0.2.10/24', 'ipv4.address=198.51.100.10/24', 'hwaddr=02:00:00:xx:xx:xx',
    ]);
    expect(added.index).to.equal(0);
    const text = await config();
    expect(text.startsWith(before)).to.equal(true);
    expect(text).to.match(/^lxc\.net\.0\.hwaddr = 02:00:00:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/m);
    expect(text).to.include('lxc.net.0.ipv4.address = 192.0.2.10/24\nlxc.net.0.ipv4.address = 198.51.100.10/24');
    expect(text).to.include('lxc.net.0.flags = up');
    await ok(['net', 'add', 'c1', 'macvlan', 'link=eth9', 'macvlan.mode=bridge']);
    const listed = await json<{ index: number; type: string; problem: string | null }[]>(['net', 'ls', 'c1']);
    expect(listed.map((n) => [n.index, n.type, n.problem])).to.deep.equal([[0, 'veth', null], [1, 'macvlan', null]]);
    expect(await ok(['net', 'ls', 'c1'])).to.match(/INDEX\s+TYPE\s+KEYS/);
    await ok(['net', 'rm', 'c1', '0']);
    const after = await config();
    expect(after).not.to.include('lxc.net.0.');
    expect(after).to.include('lxc.net.1.type = macvlan');
    expect(after.startsWith(before)).to.equal(true);
  });

  it('refuses bad keys with one line naming the key (exit 2); --dry-run changes nothing', async function () {
    await ok(['create', 'c1']);
    const before = await config();
    const bad = await berth(['net', 'add', 'c1', 'veth', 'hwaddr=01:00:00:00:00:01']);
    expect(bad.exitCode).to.equal(2);
    expect(String(bad.stderr).trim()).to.match(/^berth: lxc\.net\.0\.hwaddr: .*multicast/);
    const foreign = await berth(['net', 'add', 'c1', 'veth', 'macvlan.mode=bridge']);
    expect(String(foreign.stderr).trim()).to.match(/^berth: veth networks have no key lxc\.net\.0\.macvlan\.mode/);
    expect((await berth(['net', 'add', 'c1', 'wireguard'])).exitCode).to.equal(1);
    const dry = await json<{ dryRun: boolean; plan: string[] }>(['--dry-run', 'net', 'add', 'c1', 'veth', 'link=br0']);
    expect(dry.plan).to.deep.equal([`write ${join(lxcpath, 'c1', 'config')}`]);
    expect(await config()).to.equal(before);
    expect((await berth(['net', 'rm', 'c1', '4'])).exitCode).to.equal(1);
  });

  it('attach, check and detach wire a namespace from a host namespace; --dry-run plans the ip commands', async function () {
    const host = await namespaces.make('h');
    const container = await namespaces.make('c');
    await sh(['ip', '-n', host, 'link', 'add', 'br0', 'type', 'bridge']);
    await sh(['ip', '-n', host, 'link', 'set', 'br0', 'up']);
    await ok(['create', 'c1']);
    await ok(['net', 'add', 'c1', 'veth', 'link=br0', 'veth.pair=vethc1', 'ipv4.address=192.0.2.10/24']);
    const wiring = ['--netns', `/run/netns/${container}`, '--host-netns', `/run/netns/${host}`];
    const dry = await json<{ plan: string[] }>(['--dry-run', 'net', 'attach', 'c1', ...wiring]);
    expect(dry.plan[0]).to.match(new RegExp(`^ip -n ${host} link add vethc1 mtu 1500 type veth peer name eth0 mtu 1500 netns \/run\/netns\/${container}$`));
    expect(await interfacesIn(container)).to.deep.equal(['lo']);
    const attached = await json<{ hostInterface: string; containerInterface: string }[]>(['net', 'attach', 'c1', ...wiring]);
    expect(attached).to.have.length(1);
    expect(attached[0]).to.include({ hostInterface: 'vethc1', containerInterface: 'eth0' });
    expect(await json<{ drift: unknown[] }[]>(['net', 'check', 'c1', ...wiring])).to.deep.equal([{ index: 0, type: 'veth', drift: [] }]);
    await sh(['ip', '-n', host, 'link', 'set', 'vethc1', 'nomaster']);
    const drifted = await berth(['net', 'check', 'c1', ...wiring]);
    expect(drifted.exitCode).to.equal(1);
    expect(String(drifted.stdout)).to.include('lxc.net.0: vethc1 master: expected br0, found none');
    await ok(['net', 'detach', 'c1', ...wiring]);
    expect(await interfacesIn(container)).to.deep.equal(['lo']);
    expect(await interfacesIn(host)).to.deep.equal(['br0', 'lo']);
    expect((await berth(['net', 'attach', 'c1', '--netns', '/x', '--pid', '1'])).exitCode).to.equal(2);
  });

  it('interop: a busybox container with a berth-added veth, started by lxc-start in the host namespace, joins br0 and pings a second namespace', async function () {
    const host = await namespaces.make('h');
    const other = await namespaces.make('c2');
    await sh(['ip', '-n', host, 'link', 'add', 'br0', 'type', 'bridge']);
    await sh(['ip', '-n', host, 'link', 'set', 'br0', 'up']);
    await ok(['create', 'c1', '-t', 'busybox']);
    // The template's rcS runs udhcpc, which drops a static address when no DHCP server answers.
    const rcS = join(lxcpath, 'c1', 'rootfs', 'etc', 'init.d', 'rcS');
    await writeFile(rcS, (await readFile(rcS, 'utf8')).split('\n').filter((line) => !line.includes('udhcpc')).join('\n'));
    await ok(['net', 'add', 'c1', 'veth', 'link=br0', 'ipv4.address=192.0.2.10/24', 'ipv6.address=2001:db8::10/64']);
    // The second "container": another berth container's network attached to a namespace.
    await ok(['create', 'c2']);
    await ok(['net', 'add', 'c2', 'veth', 'link=br0', 'ipv4.address=192.0.2.20/24']);
    await ok(['net', 'attach', 'c2', '--netns', `/run/netns/${other}`, '--host-netns', `/run/netns/${host}`]);

    const log = join(root, 'c1.log');
    const start = await execa('ip', ['netns', 'exec', host, 'lxc-start', '-P', lxcpath, '-n', 'c1', '-l', 'DEBUG', '-o', log], { reject: false, timeout: 60_000 });
    const waited = await execa('ip', ['netns', 'exec', host, 'lxc-wait', '-P', lxcpath, '-n', 'c1', '-s', 'RUNNING', '-t', '20'], { reject: false });
    if (start.exitCode !== 0 || waited.exitCode !== 0) {
      const text = existsSync(log) ? await readFile(log, 'utf8') : '';
      expect.fail(`lxc-start failed: ${String(start.stderr)}\n${text.split('\n').filter((l) => / ERROR /.test(l)).join('\n')}`);
    }
    const ports = JSON.parse(await sh(['ip', '-n', host, '-j', 'link', 'show', 'master', 'br0'])) as { ifname: string }[];
    expect(ports, 'c1 and c2 host ends in br0').to.have.length(2);
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) reached = await pings(other, '192.0.2.10');
    expect(reached, 'c2 pings c1 (lxc-started) over br0').to.equal(true);
    const back = await execa('ip', ['netns', 'exec', host, 'lxc-attach', '-P', lxcpath, '-n', 'c1', '--', 'ping', '-c', '1', '-W', '1', '192.0.2.20'], { reject: false, timeout: 20_000 });
    expect(back.exitCode, String(back.stdout) + String(back.stderr)).to.equal(0);
    await execa('ip', ['netns', 'exec', host, 'lxc-stop', '-P', lxcpath, '-n', 'c1', '-k'], { reject: false, timeout: 30_000 });
    await waitForDad(other);
    await ok(['net', 'detach', 'c2', '--netns', `/run/netns/${other}`, '--host-netns', `/run/netns/${host}`]);
    expect(await interfacesIn(host)).to.deep.equal(['br0', 'lo']);
  });
});

describe('meta: every builtin network driver runs the network conformance suite', function () {
  for (const module of builtinModules.filter((m) => m.kind === 'network')) {
    it(`${module.name} has a conformance run`, function () {
      if (conformanceRunsFor('network', module.name).length === 0 && conformanceRuns().length === 0) {
        skipBecause(this, 'no conformance suite was loaded in this run (only a subset of spec files); run the whole set to check');
      }
      expect(conformanceRunsFor('network', module.name), `no networkConformance() suite for ${module.name}`).not.to.be.empty;
    });
  }
});
