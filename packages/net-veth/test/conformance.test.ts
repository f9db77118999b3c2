import { expect } from 'chai';
import { createBerth } from '@berth/core';
import { TestNamespaces, interfacesIn, networkConformance, pings, sh, waitForDad } from '@berth/conformance';
import { vethModule, type VethSettings } from '../src/index.js';

networkConformance({
  name: 'veth',
  module: vethModule,
  type: 'veth',
  hostSideDevice: true,
  async makeLink(host) {
    await sh(['ip', '-n', host, 'link', 'add', 'br0', 'type', 'bridge']);
    await sh(['ip', '-n', host, 'link', 'set', 'br0', 'up']);
    return 'br0';
  },
  everyKey: [
    ['type', 'veth'],
    ['link', 'br0'],
    ['flags', 'up'],
    ['name', 'eth1'],
    ['hwaddr', '02:16:3e:ab:cd:ef'],
    ['mtu', '1450'],
    ['ipv4.address', '192.0.2.10/24'],
    ['ipv4.address', '198.51.100.10/24 198.51.100.255'],
    ['ipv4.gateway', 'auto'],
    ['ipv6.address', '2001:db8::10/64'],
    ['ipv6.gateway', '2001:db8::1'],
    ['script.up', '/usr/local/bin/net-up'],
    ['script.down', '/usr/local/bin/net-down'],
    ['veth.pair', 'vethc1'],
    ['veth.mode', 'bridge'],
    ['veth.ipv4.route', '198.51.100.0/24'],
    ['veth.ipv6.route', '2001:db8:1::/64'],
  ],
  foreignKey: ['macvlan.mode', 'bridge'],
});

describe('veth: driver specifics', function () {
  this.timeout(60_000);
  let namespaces: TestNamespaces;
  let host: string;
  let container: string;

  beforeEach(async function () {
    namespaces = new TestNamespaces();
    host = await namespaces.make('h');
    container = await namespaces.make('c');
  });
  afterEach(async () => namespaces.remove());

  async function driver() {
    const { berth } = await createBerth({ modules: [vethModule], lxcpath: '/nonexistent' });
    return berth.drivers.networkDriver('veth');
  }
  const target = () => ({ containerName: 'c', index: 0, containerNetns: { path: `/run/netns/${container}` }, hostNetns: { path: `/run/netns/${host}` } });

  it('joins the named host end to the bridge, inherits its MTU, and adds host routes', async function () {
    await sh(['ip', '-n', host, 'link', 'add', 'br0', 'mtu', '1420', 'type', 'bridge']);
    await sh(['ip', '-n', host, 'link', 'set', 'br0', 'up']);
    const veth = await driver();
    const settings = veth.parse([
      ['type', 'veth'], ['link', 'br0'], ['flags', 'up'], ['veth.pair', 'vethberth'],
      ['ipv4.address', '192.0.2.5/24'], ['veth.ipv4.route', '198.51.100.0/24'], ['veth.ipv6.route', '2001:db8:5::/64'],
    ]) as VethSettings;
    const attachment = await veth.setup(settings, target());
    expect(attachment).to.include({ hostInterface: 'vethberth', containerInterface: 'eth0', mtu: 1420 });
    const [hostEnd] = JSON.parse(await sh(['ip', '-n', host, '-j', 'link', 'show', 'vethberth'])) as { master: string; mtu: number }[];
    expect(hostEnd).to.include({ master: 'br0', mtu: 1420 });
    expect(await sh(['ip', '-n', host, '-4', 'route', 'show', 'dev', 'vethberth'])).to.include('198.51.100.0/24');
    expect(await sh(['ip', '-n', host, '-6', 'route', 'show', 'dev', 'vethberth'])).to.include('2001:db8:5::/64');
    await sh(['ip', '-n', host, 'link', 'set', 'vethberth', 'nomaster']);
    expect((await veth.check(settings, target())).map((d) => d.what)).to.deep.equal(['vethberth master']);
    await veth.teardown(settings, target());
    expect(await interfacesIn(host)).to.deep.equal(['br0', 'lo']);
  });

  it('refuses a link that is not a bridge, and a taken host-side name', async function () {
    await sh(['ip', '-n', host, 'link', 'add', 'plain0', 'type', 'veth', 'peer', 'name', 'plain1']);
    const veth = await driver();
    await veth.setup(veth.parse([['type', 'veth'], ['link', 'plain0']]), target()).then(
      () => expect.fail('setup succeeded'),
      (error: Error) => expect(error.message).to.match(/link: plain0 .* is not a bridge/),
    );
    await veth.setup(veth.parse([['type', 'veth'], ['veth.pair', 'plain1']]), target()).then(
      () => expect.fail('setup succeeded'),
      (error: Error) => expect(error.message).to.match(/veth\.pair: an interface named plain1 already exists/),
    );
    expect(await interfacesIn(host)).to.deep.equal(['lo', 'plain0', 'plain1']);
    expect(await interfacesIn(container)).to.deep.equal(['lo']);
  });

  it('router mode: no bridge; the host routes the container\'s address to its end', async function () {
    const veth = await driver();
    const settings = veth.parse([
      ['type', 'veth'], ['veth.mode', 'router'], ['flags', 'up'], ['veth.pair', 'vethr'],
      ['ipv4.address', '192.0.2.7/24'],
    ]);
    await veth.setup(settings, target());
    await sh(['ip', '-n', host, 'addr', 'add', '192.0.2.1/32', 'dev', 'vethr']);
    await sh(['ip', '-n', container, 'route', 'replace', '192.0.2.1/32', 'dev', 'eth0']);
    expect(await sh(['ip', '-n', host, '-4', 'route', 'show', 'dev', 'vethr'])).to.include('192.0.2.7');
    await waitForDad(container);
    expect(await pings(host, '192.0.2.7')).to.equal(true);
    await veth.teardown(settings, target());
    expect(await interfacesIn(host)).to.deep.equal(['lo']);
  });

  it('router mode with gateways: the host end answers ARP/NDP for them, the container reaches the host', async function () {
    const veth = await driver();
    // The host's own address lives on another device (a veth with both ends in the host
    // namespace; this kernel has no dummy driver): only routing joins them.
    await sh(['ip', '-n', host, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'uplink-peer']);
    await sh(['ip', '-n', host, 'link', 'set', 'uplink-peer', 'up']);
    await sh(['ip', '-n', host, 'addr', 'add', '198.51.100.1/24', 'dev', 'uplink']);
    await sh(['ip', '-n', host, 'addr', 'add', '2001:db8:2::1/64', 'dev', 'uplink', 'nodad']);
    await sh(['ip', '-n', host, 'link', 'set', 'uplink', 'up']);
    await sh(['ip', 'netns', 'exec', host, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
    const settings = veth.parse([
      ['type', 'veth'], ['veth.mode', 'router'], ['flags', 'up'], ['veth.pair', 'vethg'],
      // IPv4: the host's own address as the gateway (ARP for a route-less address is
      // never proxied); IPv6: a link-local gateway that only proxy NDP answers.
      ['ipv4.address', '192.0.2.20/32'], ['ipv4.gateway', '198.51.100.1'],
      ['ipv6.address', '2001:db8::20/128'], ['ipv6.gateway', 'fe80::1'],
    ]);
    await veth.setup(settings, target());
    expect(await sh(['ip', 'netns', 'exec', host, 'sysctl', '-n', 'net.ipv4.conf.vethg.proxy_arp'])).to.equal('1');
    expect(await sh(['ip', '-n', host, '-4', 'neigh', 'show', 'proxy', 'dev', 'vethg'])).to.include('198.51.100.1');
    expect(await sh(['ip', '-n', host, '-6', 'neigh', 'show', 'proxy', 'dev', 'vethg'])).to.include('fe80::1');
    expect(await sh(['ip', '-n', container, '-4', 'route', 'show', 'default'])).to.include('via 198.51.100.1');
    await waitForDad(container);
    expect(await pings(container, '198.51.100.1'), 'IPv4 through the gateway').to.equal(true);
    expect(await pings(container, '2001:db8:2::1'), 'IPv6 through the proxy-NDP gateway').to.equal(true);
    await veth.teardown(settings, target());
    expect(await interfacesIn(host)).to.deep.equal(['lo', 'uplink', 'uplink-peer']);
  });
});
