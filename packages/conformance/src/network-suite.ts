import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import {
  BerthError,
  ExecaRunner,
  LxcConfig,
  createBerth,
  networkKeysOf,
  setNetworkKeys,
  type BerthModule,
  type CommandRunner,
  type NetworkDriver,
  type NetworkKeys,
  type NetworkSettings,
  type NetworkTarget,
} from '@berth/core';
import { FailingRunner } from '@berth/core/testing';
import { recordConformanceRun } from './registry.js';
import { skipBecause } from './skip.js';

/**
 * The network half of the conformance suite: a driver wires "containers" (network
 * namespaces the suite makes) from a "host" namespace the suite makes too, so nothing
 * touches the machine's own network. Addresses are documentation ranges only; every
 * ping is bounded.
 */
export interface NetworkConformanceOptions {
  /** Shown in the suite's title. */
  readonly name: string;
  readonly module: BerthModule;
  /** The `lxc.net.N.type` under test. */
  readonly type: string;
  /**
   * Makes the device in the host namespace `hostNetns` (a name under /run/netns) that
   * the containers attach to, and returns its name: a bridge for veth, a parent for
   * macvlan.
   */
  makeLink(hostNetns: string): Promise<string>;
  /** Keys every network of the suite gets besides type, link, flags and addresses (`macvlan.mode=bridge`). */
  readonly extraKeys?: NetworkKeys;
  /** Every key of the type with a valid value, for the round trip. */
  readonly everyKey: NetworkKeys;
  /** A key of another type, which this type must refuse. */
  readonly foreignKey: readonly [string, string];
  /** The driver makes a device on the host side (veth's pair end) that teardown removes. */
  readonly hostSideDevice: boolean;
}

/** One test's namespaces: H (the host side) and containers C1, C2. */
export interface NetworkWorld {
  readonly host: string;
  readonly containers: readonly [string, string];
  readonly link: string;
  readonly driver: NetworkDriver;
  readonly runner: CommandRunner;
  target(container: 0 | 1, index?: number): NetworkTarget;
}

/** Runs a command; fails the test with its stderr when it fails. */
export async function sh(argv: readonly string[]): Promise<string> {
  const [file, ...args] = argv;
  const result = await execa(file!, args, { reject: false, timeout: 30_000, stdin: 'ignore' });
  if (result.exitCode !== 0) expect.fail(`${argv.join(' ')} exited ${result.exitCode}: ${String(result.stderr)}`);
  return String(result.stdout);
}

/** The device names of a named netns. */
export async function interfacesIn(netns: string): Promise<string[]> {
  const links = JSON.parse(await sh(['ip', '-n', netns, '-j', 'link', 'show'])) as { ifname: string }[];
  return links.map((l) => l.ifname).sort();
}

/** Whether one bounded ping (`-c 1 -W 1`, busybox) from a netns gets an answer. */
export async function pings(netns: string, address: string): Promise<boolean> {
  const family = address.includes(':') ? ['-6'] : ['-4'];
  for (let attempt = 0; attempt < 3; attempt++) {
    const result = await execa('ip', ['netns', 'exec', netns, 'busybox', 'ping', ...family, '-c', '1', '-W', '1', address], { reject: false, timeout: 10_000 });
    if (result.exitCode === 0) return true;
  }
  return false;
}

/** Waits (bounded) until no IPv6 address in the netns is tentative (duplicate address detection done). */
export async function waitForDad(netns: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if ((await sh(['ip', '-n', netns, '-6', 'addr', 'show', 'tentative'])).trim() === '') return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Makes namespaces named berth-t-<random>-<role>; `remove` deletes them whatever happened. */
export class TestNamespaces {
  private readonly made: string[] = [];
  readonly id = randomBytes(3).toString('hex');

  async make(role: string): Promise<string> {
    const name = `berth-t-${this.id}-${role}`;
    await sh(['ip', 'netns', 'add', name]);
    this.made.push(name);
    await sh(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  async remove(): Promise<void> {
    for (const name of this.made.reverse()) await execa('ip', ['netns', 'delete', name], { reject: false });
    this.made.length = 0;
  }
}

export function networkConformance(options: NetworkConformanceOptions): void {
  recordConformanceRun({ kind: 'network', type: options.type, name: options.name });

  describe(`network conformance: ${options.name}`, function () {
    this.timeout(120_000);
    let namespaces: TestNamespaces;
    let world: NetworkWorld;
    let scratch: string;

    async function makeWorld(runner?: CommandRunner): Promise<NetworkWorld> {
      const instance = await createBerth({ modules: [options.module], lxcpath: scratch, ...(runner ? { runner } : {}) });
      const driver = instance.berth.drivers.networkDriver(options.type);
      const availability = await instance.berth.drivers.probe(driver);
      if (!availability.available) throw new Error(`${options.type} unavailable: ${availability.reason}`);
      const base = world;
      return {
        ...base,
        driver,
        runner: instance.runner,
      };
    }

    function keys(address: 1 | 2, more: NetworkKeys = []): NetworkKeys {
      return [
        ['type', options.type],
        ['link', world.link],
        ['flags', 'up'],
        ['ipv4.address', `192.0.2.${address}/24`],
        ['ipv6.address', `2001:db8::${address}/64`],
        ...(options.extraKeys ?? []),
        ...more,
      ];
    }

    async function hostState(): Promise<string[]> {
      return interfacesIn(world.host);
    }

    async function expectEmptyContainers(): Promise<void> {
      for (const c of world.containers) expect(await interfacesIn(c), `devices left in ${c}`).to.deep.equal(['lo']);
    }

    beforeEach(async function () {
      if (process.getuid?.() !== 0) skipBecause(this, 'network namespaces need root');
      namespaces = new TestNamespaces();
      scratch = await mkdtemp(join(tmpdir(), 'berth-net-'));
      const host = await namespaces.make('h');
      const containers = [await namespaces.make('c1'), await namespaces.make('c2')] as const;
      const link = await options.makeLink(host);
      const partial = {
        host,
        containers,
        link,
        target: (container: 0 | 1, index = 0): NetworkTarget => ({
          containerName: `c${container + 1}`,
          index,
          containerNetns: { path: `/run/netns/${containers[container]}` },
          hostNetns: { path: `/run/netns/${host}` },
        }),
      };
      world = partial as NetworkWorld;
      world = await makeWorld();
    });

    afterEach(async function () {
      await namespaces?.remove();
      if (scratch) await rm(scratch, { recursive: true, force: true });
    });

    it('two containers on one link ping each other over IPv4 and IPv6; teardown leaves no interface', async function () {
      const before = await hostState();
      const settings = [world.driver.parse(keys(1)), world.driver.parse(keys(2))];
      const attachments = [await world.driver.setup(settings[0]!, world.target(0)), await world.driver.setup(settings[1]!, world.target(1))];
      expect(attachments[0]!.containerInterface).to.equal('eth0');
      await waitForDad(world.containers[0]);
      await waitForDad(world.containers[1]);
      expect(await pings(world.containers[0], '192.0.2.2'), 'IPv4 ping c1 → c2').to.equal(true);
      expect(await pings(world.containers[1], '192.0.2.1'), 'IPv4 ping c2 → c1').to.equal(true);
      expect(await pings(world.containers[0], '2001:db8::2'), 'IPv6 ping c1 → c2').to.equal(true);
      expect(await world.driver.check(settings[0]!, world.target(0))).to.deep.equal([]);
      if (options.hostSideDevice) expect(await hostState()).to.include(attachments[0]!.hostInterface);
      await world.driver.teardown(settings[0]!, world.target(0));
      await world.driver.teardown(settings[1]!, world.target(1));
      await expectEmptyContainers();
      expect(await hostState()).to.deep.equal(before);
    });

    it('gives the container side the configured MAC, MTU, name and addresses; check reports drift', async function () {
      const settings = world.driver.parse(keys(1, [['name', 'berth0'], ['mtu', '1400'], ['hwaddr', '02:00:5e:xx:xx:xx']]));
      const attachment = await world.driver.setup(settings, world.target(0));
      expect(attachment.hwaddr).to.match(/^02:00:5e:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/);
      const [link] = JSON.parse(await sh(['ip', '-n', world.containers[0], '-j', 'addr', 'show', 'dev', 'berth0'])) as {
        mtu: number;
        address: string;
        flags: string[];
        addr_info: { local: string; prefixlen: number }[];
      }[];
      expect(link!.mtu).to.equal(1400);
      expect(link!.address).to.equal(attachment.hwaddr);
      expect(link!.flags).to.include('UP');
      expect(link!.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).to.include.members(['192.0.2.1/24', '2001:db8::1/64']);
      const fixed = { ...settings, hwaddr: attachment.hwaddr } as NetworkSettings;
      expect(await world.driver.check(fixed, world.target(0))).to.deep.equal([]);
      await sh(['ip', '-n', world.containers[0], 'addr', 'del', '192.0.2.1/24', 'dev', 'berth0']);
      const drift = await world.driver.check(fixed, world.target(0));
      expect(drift.map((d) => d.what)).to.include('berth0 address');
      await world.driver.teardown(settings, world.target(0));
      expect((await world.driver.check(settings, world.target(0))).map((d) => d.actual)).to.deep.equal(['missing']);
      await expectEmptyContainers();
    });

    it('routes the container through the configured gateway', async function () {
      const settings = world.driver.parse(keys(1, [['ipv4.gateway', '192.0.2.254'], ['ipv6.gateway', 'dev']]));
      await world.driver.setup(settings, world.target(0));
      expect(await sh(['ip', '-n', world.containers[0], '-4', 'route', 'show', 'default'])).to.match(/default via 192\.0\.2\.254 dev eth0/);
      expect(await sh(['ip', '-n', world.containers[0], '-6', 'route', 'show', 'default'])).to.match(/default dev eth0/);
      await world.driver.teardown(settings, world.target(0));
      await expectEmptyContainers();
    });

    it('refuses a nonexistent link with a clear error and leaves nothing', async function () {
      const before = await hostState();
      const settings = world.driver.parse([['type', options.type], ['link', 'berth-nosuch'], ['flags', 'up'], ...(options.extraKeys ?? [])]);
      const error = await world.driver.setup(settings, world.target(0)).then(
        () => expect.fail('setup succeeded'),
        (e: unknown) => e,
      );
      expect(BerthError.is(error, 'NotFound'), String(error)).to.equal(true);
      expect((error as Error).message).to.match(/link.*berth-nosuch.*does not exist/);
      await expectEmptyContainers();
      expect(await hostState()).to.deep.equal(before);
    });

    it('refuses a taken name with a clear error and leaves nothing', async function () {
      await sh(['ip', '-n', world.containers[0], 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other0']);
      const inside = await interfacesIn(world.containers[0]);
      const before = await hostState();
      const error = await world.driver.setup(world.driver.parse(keys(1)), world.target(0)).then(
        () => expect.fail('setup succeeded'),
        (e: unknown) => e,
      );
      expect(BerthError.is(error, 'AlreadyExists'), String(error)).to.equal(true);
      expect((error as Error).message).to.match(/name: an interface named eth0 already exists/);
      expect(await interfacesIn(world.containers[0])).to.deep.equal(inside);
      expect(await hostState()).to.deep.equal(before);
    });

    it('refuses bad values naming the key: a bad MAC, a bad CIDR, a newline, a key of another type', function () {
      const bad: [string, string, RegExp][] = [
        ['hwaddr', '01:00:5e:00:00:01', /hwaddr: .*multicast/],
        ['hwaddr', '00:11:22:33:44:55', /hwaddr: .*locally administered/],
        ['hwaddr', 'zz:00:00:00:00:00', /hwaddr: .*MAC/],
        ['ipv4.address', '192.0.2.300/24', /ipv4\.address: .*IPv4/],
        ['ipv4.address', '192.0.2.1/33', /ipv4\.address: .*IPv4/],
        ['ipv6.address', '2001:db8::zz/64', /ipv6\.address: .*IPv6/],
        ['ipv4.gateway', 'somewhere', /ipv4\.gateway: /],
        ['mtu', '12', /mtu: .*at least 68/],
        ['name', 'a-name-far-too-long', /name: /],
        ['link', 'br0\nlxc.hook.pre-start = /bin/evil', /link: .*newline/],
        ['script.up', 'relative/script', /script\.up: .*absolute/],
        [options.foreignKey[0], options.foreignKey[1], new RegExp(`no key lxc\\.net\\.3\\.${options.foreignKey[0].replace(/\./g, '\\.')}`)],
      ];
      for (const [key, value, pattern] of bad) {
        const attempt = () => world.driver.parse([['type', options.type], ['link', 'br0'], [key, value]], 'lxc.net.3.');
        expect(attempt, `${key}=${JSON.stringify(value)}`).to.throw(BerthError, pattern);
        expect(attempt, `${key}=${JSON.stringify(value)} names the key`).to.throw(new RegExp(`lxc\\.net\\.3\\.${key.replace(/\./g, '\\.')}`));
      }
    });

    it('round-trips every key through render and parse, and keeps the rest of an LXC config', function () {
      const settings = world.driver.parse(options.everyKey);
      const rendered = world.driver.render(settings);
      expect(world.driver.parse(rendered)).to.deep.equal(settings);
      const sortedInput = [...options.everyKey].map(([k, v]) => `${k}=${v}`).sort();
      expect([...rendered].map(([k, v]) => `${k}=${v}`).sort()).to.deep.equal(sortedInput);
      // As lxc-create writes a config: comments, other keys, several networks.
      const text = [
        '# Template used to create this container: /usr/share/lxc/templates/lxc-busybox',
        'lxc.rootfs.path = dir:/var/lib/lxc/c1/rootfs',
        `lxc.net.0.type = ${options.type}`,
        `lxc.net.0.link = ${world.link}`,
        'lxc.net.0.flags = up',
        'lxc.net.0.hwaddr = 00:16:3e:12:34:56',
        'lxc.uts.name = c1',
        'lxc.net.1.type = empty',
        '',
      ].join('\n');
      const config = LxcConfig.parse(text);
      const parsed = world.driver.parse(networkKeysOf(config, 0), 'lxc.net.0.');
      expect(parsed).to.include({ link: world.link, flags: 'up', hwaddr: '00:16:3e:12:34:56' });
      setNetworkKeys(config, 0, world.driver.render(parsed));
      const after = config.toString();
      expect(after).to.include('# Template used to create this container');
      expect(after).to.include('lxc.uts.name = c1');
      expect(after).to.include('lxc.net.1.type = empty');
      expect(world.driver.parse(networkKeysOf(LxcConfig.parse(after), 0))).to.deep.equal(parsed);
      // A later value of a single key wins; an empty value of a list clears it, as in LXC.
      const later = world.driver.parse([...keys(1), ['mtu', '1300'], ['mtu', '1400'], ['ipv6.address', '']]);
      expect(later).to.include({ mtu: 1400 });
      expect(later).not.to.have.property('ipv6.address');
    });

    it('runs script.up and script.down with LXC\'s arguments and environment', async function () {
      const log = join(scratch, 'script.log');
      const script = join(scratch, 'script.sh');
      await writeFile(script, `#!/bin/sh\necho "$* | $LXC_HOOK_TYPE $LXC_NET_TYPE $LXC_NET_PARENT \${LXC_NET_PEER:-none}" >> ${log}\n`);
      await chmod(script, 0o755);
      const settings = world.driver.parse(keys(1, [['script.up', script], ['script.down', script]]));
      const attachment = await world.driver.setup(settings, world.target(0));
      await world.driver.teardown(settings, world.target(0));
      const peer = attachment.hostInterface ? ` ${attachment.hostInterface}` : '';
      const lines = (await readFile(log, 'utf8')).trim().split('\n');
      expect(lines).to.deep.equal([
        `c1 net up ${options.type} ${world.link}${peer} | up ${options.type} ${world.link} ${attachment.hostInterface ?? 'none'}`,
        `c1 net down ${options.type} ${world.link}${peer} | down ${options.type} ${world.link} ${attachment.hostInterface ?? 'none'}`,
      ]);
      await expectEmptyContainers();
    });

    it('leaves nothing behind when any step of setup fails (including script.up)', async function () {
      const before = await hostState();
      const script = join(scratch, 'ok.sh');
      await writeFile(script, '#!/bin/sh\nexit 0\n');
      await chmod(script, 0o755);
      const settings = world.driver.parse(keys(1, [['ipv4.gateway', '192.0.2.254'], ['script.up', script]]));
      let succeeded = false;
      for (let failAt = 1; failAt <= 30 && !succeeded; failAt++) {
        const failing = new FailingRunner(new ExecaRunner(), failAt);
        const injected = await makeWorld(failing);
        try {
          await injected.driver.setup(settings, world.target(0));
          succeeded = true;
        } catch (error) {
          expect(String((error as Error).message), failing.seen.join('\n')).to.match(/injected failure/);
          await expectEmptyContainers();
          expect(await hostState(), `after failing step ${failAt}: ${failing.seen.at(-1)}`).to.deep.equal(before);
        }
      }
      expect(succeeded, 'setup never succeeded within 30 steps').to.equal(true);
      await world.driver.teardown(settings, world.target(0));
      await expectEmptyContainers();
      expect(await hostState()).to.deep.equal(before);
    });
  });
}
