import { inject, injectable } from 'tsyringe';
import * as z from 'zod';
import {
  BerthError,
  COMMAND_RUNNER,
  UndoStack,
  checkContainerSide,
  commonNetworkKeys,
  configureContainerSide,
  configuredAddresses,
  containerInterfaceName,
  effectiveHwaddr,
  ipCli,
  isInterfaceName,
  parseNetworkKeys,
  probeNetworkTools,
  randomVethName,
  renderNetworkKeys,
  requireFreeName,
  requireLink,
  routeKeys,
  runNetworkScript,
  type Availability,
  type CommandRunner,
  type NetworkAttachment,
  type NetworkDriver,
  type NetworkDrift,
  type NetworkKeys,
  type NetworkTarget,
} from '@berth/core';

export const vethSchema = z.strictObject({
  type: z.literal('veth').describe('veth: a pair of devices, one end in the container, the other on the host'),
  ...commonNetworkKeys,
  'veth.pair': z
    .string()
    .refine(isInterfaceName, 'expected an interface name: 1–15 characters, no "/", ":" or spaces')
    .optional()
    .describe('Name of the host-side end (default: veth + 6 random characters)'),
  'veth.mode': z
    .enum(['bridge', 'router'])
    .optional()
    .describe('bridge (default): the host side joins the bridge in link; router: no bridge, the host routes the container\'s addresses to its side'),
  'veth.ipv4.route': routeKeys.ipv4.optional().describe('IPv4 networks the host routes through its side of the pair; repeat the key for several'),
  'veth.ipv6.route': routeKeys.ipv6.optional().describe('IPv6 networks the host routes through its side of the pair; repeat the key for several'),
});

export type VethSettings = z.output<typeof vethSchema>;

/**
 * veth pairs. Setup creates the pair with the peer straight inside the container's
 * namespace, joins the host end to the bridge `link` (bridge mode) or routes the
 * container's addresses to it (router mode), then configures the container side.
 * Teardown deletes the container side, which takes the host end with it.
 */
@injectable()
export class VethDriver implements NetworkDriver<VethSettings> {
  readonly type = 'veth';
  readonly description = 'veth pair: the host end joins a bridge (or routes), the peer is the container\'s interface';
  readonly schema = vethSchema;

  constructor(@inject(COMMAND_RUNNER) private readonly runner: CommandRunner) {}

  probe(): Promise<Availability> {
    return probeNetworkTools(this.runner);
  }

  parse(keys: NetworkKeys, keyPrefix = ''): VethSettings {
    return parseNetworkKeys(vethSchema, this.type, keys, keyPrefix);
  }

  render(settings: VethSettings): NetworkKeys {
    return renderNetworkKeys(vethSchema, settings);
  }

  async setup(settings: VethSettings, target: NetworkTarget): Promise<NetworkAttachment> {
    const host = target.hostNetns;
    const name = containerInterfaceName(settings, target);
    const hostName = settings['veth.pair'] ?? randomVethName();
    const mode = settings['veth.mode'] ?? 'bridge';
    const bridge = mode === 'bridge' ? settings.link : undefined;
    let mtu = settings.mtu;
    if (bridge !== undefined) {
      const link = await requireLink(this.runner, host, bridge, this.type);
      if (link.linkinfo?.info_kind !== 'bridge' && link.linkinfo?.info_kind !== 'openvswitch') {
        throw new BerthError('FailedPrecondition', `link: ${bridge} in ${ipCli.describeNetns(host)} is not a bridge (it is ${link.linkinfo?.info_kind ?? 'a plain device'})`);
      }
      mtu ??= link.mtu;
    }
    await requireFreeName(this.runner, host, hostName, 'veth.pair');
    await requireFreeName(this.runner, target.containerNetns, name, 'name');
    const hwaddr = effectiveHwaddr(settings);

    const undo = new UndoStack();
    await undo.guard(async () => {
      await ipCli.vethAdd(this.runner, host, {
        hostName,
        peerName: name,
        peerNetns: target.containerNetns,
        ...(hwaddr !== undefined ? { peerHwaddr: hwaddr } : {}),
        ...(mtu !== undefined ? { mtu } : {}),
      });
      undo.push(`delete ${hostName}`, () => ipCli.linkDelete(this.runner, host, hostName));
      if (bridge !== undefined) await ipCli.linkSetMaster(this.runner, host, hostName, bridge);
      await ipCli.linkSetUp(this.runner, host, hostName);
      if (mode === 'router') await this.routeToContainer(settings, host, hostName);
      for (const route of settings['veth.ipv4.route'] ?? []) await ipCli.routeAdd(this.runner, host, 4, route, hostName);
      for (const route of settings['veth.ipv6.route'] ?? []) await ipCli.routeAdd(this.runner, host, 6, route, hostName);
      await configureContainerSide(this.runner, settings, target, name);
      await runNetworkScript(this.runner, settings, target, 'up', hostName);
    });
    return {
      index: target.index,
      type: this.type,
      hostInterface: hostName,
      containerInterface: name,
      ...(hwaddr !== undefined ? { hwaddr } : {}),
      ...(mtu !== undefined ? { mtu } : {}),
    };
  }

  /**
   * Router mode, as LXC does it: host routes to the container's addresses through the
   * host end, and that end answers ARP/NDP for the container's gateways (proxy entries),
   * so the container reaches the host without any bridge. All of it goes with the device.
   */
  private async routeToContainer(settings: VethSettings, host: NetworkTarget['hostNetns'], hostName: string): Promise<void> {
    for (const { family, cidr } of configuredAddresses(settings)) {
      await ipCli.routeAdd(this.runner, host, family, `${cidr.split('/')[0]!}/${family === 4 ? 32 : 128}`, hostName);
    }
    for (const family of [4, 6] as const) {
      const gateway = settings[`ipv${family}.gateway`];
      if (gateway === undefined || gateway === 'auto' || gateway === 'dev') continue;
      const key = family === 4 ? `net.ipv4.conf.${hostName}.proxy_arp` : `net.ipv6.conf.${hostName}.proxy_ndp`;
      await ipCli.sysctlSet(this.runner, host, key, '1');
      await ipCli.neighProxyAdd(this.runner, host, family, gateway, hostName);
    }
  }

  async teardown(settings: VethSettings, target: NetworkTarget): Promise<void> {
    const name = containerInterfaceName(settings, target);
    const inside = await ipCli.linkShow(this.runner, target.containerNetns, name);
    const hostEnd = inside ? await this.hostEnd(inside, target) : undefined;
    const hostName = hostEnd?.ifname ?? settings['veth.pair'];
    await runNetworkScript(this.runner, settings, target, 'down', hostName);
    if (inside) {
      if (inside.linkinfo?.info_kind !== 'veth') {
        throw new BerthError('FailedPrecondition', `${name} in ${ipCli.describeNetns(target.containerNetns)} is not a veth (it is ${inside.linkinfo?.info_kind ?? 'a plain device'}): not removing it`);
      }
      await ipCli.linkDelete(this.runner, target.containerNetns, name);
      return;
    }
    // The container side is gone already; a named host end of ours may remain.
    const pair = settings['veth.pair'];
    if (pair !== undefined) {
      const left = await ipCli.linkShow(this.runner, target.hostNetns, pair);
      if (left?.linkinfo?.info_kind === 'veth') await ipCli.linkDelete(this.runner, target.hostNetns, pair);
    }
  }

  async check(settings: VethSettings, target: NetworkTarget): Promise<NetworkDrift[]> {
    const { drift, link } = await checkContainerSide(this.runner, settings, target, this.type);
    if (!link || link.linkinfo?.info_kind !== 'veth') return drift;
    const hostEnd = await this.hostEnd(link, target);
    if (!hostEnd) return [...drift, { what: 'host end', expected: `a veth peer of ${link.ifname} in ${ipCli.describeNetns(target.hostNetns)}`, actual: 'missing' }];
    const pair = settings['veth.pair'];
    if (pair !== undefined && hostEnd.ifname !== pair) drift.push({ what: 'veth.pair', expected: pair, actual: hostEnd.ifname });
    if ((settings['veth.mode'] ?? 'bridge') === 'bridge' && settings.link !== undefined && hostEnd.master !== settings.link) {
      drift.push({ what: `${hostEnd.ifname} master`, expected: settings.link, actual: hostEnd.master ?? 'none' });
    }
    if (!hostEnd.flags.includes('UP')) drift.push({ what: `${hostEnd.ifname} state`, expected: 'up', actual: 'down' });
    return drift;
  }

  /** The host end of a container-side veth: the veth whose peer is that device. */
  private async hostEnd(inside: ipCli.LinkInfo, target: NetworkTarget): Promise<ipCli.LinkInfo | undefined> {
    if (inside.link_index === undefined) return undefined;
    const links = await ipCli.linkList(this.runner, target.hostNetns);
    return links.find((l) => l.ifindex === inside.link_index && l.linkinfo?.info_kind === 'veth' && l.link_index === inside.ifindex);
  }
}
