import { expect } from 'chai';
import { createBerth } from '@berth/core';
import { TestNamespaces, networkConformance, pings, sh, waitForDad } from '@berth/conformance';
import { macvlanModule } from '../src/index.js';

/** A parent with carrier in the host namespace: one end of a veth pair (this kernel has no dummy driver). */
async function makeParent(host: string): Promise<string> {
  await sh(['ip', '-n', host, 'link', 'add', 'parent0', 'type', 'veth', 'peer', 'name', 'parent0p']);
  await sh(['ip', '-n', host, 'link', 'set', 'parent0', 'up']);
  await sh(['ip', '-n', host, 'link', 'set', 'parent0p', 'up']);
  return 'parent0';
}

networkConformance({
  name: 'macvlan (bridge mode)',
  module: macvlanModule,
  type: 'macvlan',
  hostSideDevice: false,
  makeLink: makeParent,
  extraKeys: [['macvlan.mode', 'bridge']],
  everyKey: [
    ['type', 'macvlan'],
    ['link', 'parent0'],
    ['flags', 'up'],
    ['name', 'eth1'],
    ['hwaddr', '02:16:3e:xx:xx:xx'],
    ['mtu', '1450'],
    ['ipv4.address', '192.0.2.10/24'],
    ['ipv4.gateway', 'dev'],
    ['ipv6.address', '2001:db8::10/64'],
    ['ipv6.gateway', 'auto'],
    ['script.up', '/usr/local/bin/net-up'],
    ['script.down', '/usr/local/bin/net-down'],
    ['macvlan.mode', 'vepa'],
  ],
  foreignKey: ['veth.pair', 'vethx'],
});

describe('macvlan: driver specifics', function () {
  this.timeout(60_000);
  let namespaces: TestNamespaces;
  let host: string;
  let containers: string[];

  beforeEach(async function () {
    namespaces = new TestNamespaces();
    host = await namespaces.make('h');
    containers = [await namespaces.make('c1'), await namespaces.make('c2')];
    await makeParent(host);
  });
  afterEach(async () => namespaces.remove());

  async function driver() {
    const { berth } = await createBerth({ modules: [macvlanModule], lxcpath: '/nonexistent' });
    return berth.drivers.networkDriver('macvlan');
  }
  const target = (i: number) => ({ containerName: `c${i}`, index: 0, containerNetns: { path: `/run/netns/${containers[i]}` }, hostNetns: { path: `/run/netns/${host}` } });

  it('private mode (LXC\'s default) isolates two macvlans of one parent; bridge mode does not', async function () {
    const macvlan = await driver();
    const settings = (n: number, more: [string, string][] = []) =>
      macvlan.parse([['type', 'macvlan'], ['link', 'parent0'], ['flags', 'up'], ['ipv4.address', `192.0.2.${n}/24`], ...more]);
    const privates = [settings(1), settings(2)];
    await macvlan.setup(privates[0]!, target(0));
    await macvlan.setup(privates[1]!, target(1));
    expect(await sh(['ip', '-n', containers[0]!, '-d', 'link', 'show', 'eth0'])).to.include('macvlan mode private');
    expect(await pings(containers[0]!, '192.0.2.2')).to.equal(false);
    await macvlan.teardown(privates[0]!, target(0));
    await macvlan.teardown(privates[1]!, target(1));
    const bridged = [settings(1, [['macvlan.mode', 'bridge']]), settings(2, [['macvlan.mode', 'bridge']])];
    await macvlan.setup(bridged[0]!, target(0));
    await macvlan.setup(bridged[1]!, target(1));
    await waitForDad(containers[0]!);
    expect(await pings(containers[0]!, '192.0.2.2')).to.equal(true);
  });

  it('check reports a wrong mode and a wrong parent', async function () {
    const macvlan = await driver();
    const settings = macvlan.parse([['type', 'macvlan'], ['link', 'parent0'], ['macvlan.mode', 'bridge']]);
    await macvlan.setup(settings, target(0));
    const other = macvlan.parse([['type', 'macvlan'], ['link', 'parent0p'], ['macvlan.mode', 'vepa']]);
    expect((await macvlan.check(other, target(0))).map((d) => d.what)).to.deep.equal(['eth0 macvlan.mode', 'eth0 parent']);
  });

  it('requires a link', async function () {
    const macvlan = await driver();
    expect(() => macvlan.parse([['type', 'macvlan']], 'lxc.net.0.')).to.throw(/lxc\.net\.0\.link/);
  });
});
