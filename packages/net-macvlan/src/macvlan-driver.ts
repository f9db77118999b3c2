import { inject, injectable } from 'tsyringe';
import * as z from 'zod';
import {
  BerthError,
  COMMAND_RUNNER,
  UndoStack,
  checkContainerSide,
  commonNetworkKeys,
  configureContainerSide,
  containerInterfaceName,
  effectiveHwaddr,
  ipCli,
  parseNetworkKeys,
  probeNetworkTools,
  renderNetworkKeys,
  requireFreeName,
  requireLink,
  runNetworkScript,
  type Availability,
  type CommandRunner,
  type NetworkAttachment,
  type NetworkDriver,
  type NetworkDrift,
  type NetworkKeys,
  type NetworkTarget,
} from '@berth/core';

export const MACVLAN_MODES = ['private', 'vepa', 'bridge', 'passthru'] as const;

export const macvlanSchema = z.strictObject({
  type: z.literal('macvlan').describe('macvlan: a device with its own MAC on a parent link, moved into the container'),
  ...commonNetworkKeys,
  link: commonNetworkKeys.link.unwrap().describe('The parent device on the host (required)'),
  'macvlan.mode': z
    .enum(MACVLAN_MODES)
    .optional()
    .describe('private (LXC\'s default): no traffic between macvlans of the parent; vepa: through the external switch; bridge: directly between them; passthru: the one macvlan takes over the parent'),
});

export type MacvlanSettings = z.output<typeof macvlanSchema>;

/**
 * macvlan devices on a parent `link`, made straight inside the container's namespace.
 * The host cannot reach a macvlan guest through the parent itself (a kernel rule).
 */
@injectable()
export class MacvlanDriver implements NetworkDriver<MacvlanSettings> {
  readonly type = 'macvlan';
  readonly description = 'macvlan on a parent link, modes private (default), vepa, bridge, passthru';
  readonly schema = macvlanSchema;

  constructor(@inject(COMMAND_RUNNER) private readonly runner: CommandRunner) {}

  probe(): Promise<Availability> {
    return probeNetworkTools(this.runner);
  }

  parse(keys: NetworkKeys, keyPrefix = ''): MacvlanSettings {
    return parseNetworkKeys(macvlanSchema, this.type, keys, keyPrefix);
  }

  render(settings: MacvlanSettings): NetworkKeys {
    return renderNetworkKeys(macvlanSchema, settings);
  }

  async setup(settings: MacvlanSettings, target: NetworkTarget): Promise<NetworkAttachment> {
    const name = containerInterfaceName(settings, target);
    const parent = await requireLink(this.runner, target.hostNetns, settings.link, this.type);
    await requireFreeName(this.runner, target.containerNetns, name, 'name');
    const mtu = settings.mtu ?? parent.mtu;
    const hwaddr = effectiveHwaddr(settings);
    const undo = new UndoStack();
    await undo.guard(async () => {
      await ipCli.macvlanAdd(this.runner, target.hostNetns, {
        parent: settings.link,
        name,
        mode: settings['macvlan.mode'] ?? 'private',
        netns: target.containerNetns,
        mtu,
        ...(hwaddr !== undefined ? { hwaddr } : {}),
      });
      undo.push(`delete ${name}`, () => ipCli.linkDelete(this.runner, target.containerNetns, name));
      await configureContainerSide(this.runner, settings, target, name);
      await runNetworkScript(this.runner, settings, target, 'up', undefined);
    });
    return { index: target.index, type: this.type, containerInterface: name, mtu, ...(hwaddr !== undefined ? { hwaddr } : {}) };
  }

  async teardown(settings: MacvlanSettings, target: NetworkTarget): Promise<void> {
    const name = containerInterfaceName(settings, target);
    await runNetworkScript(this.runner, settings, target, 'down', undefined);
    const inside = await ipCli.linkShow(this.runner, target.containerNetns, name);
    if (!inside) return;
    if (inside.linkinfo?.info_kind !== 'macvlan') {
      throw new BerthError('FailedPrecondition', `${name} in ${ipCli.describeNetns(target.containerNetns)} is not a macvlan (it is ${inside.linkinfo?.info_kind ?? 'a plain device'}): not removing it`);
    }
    await ipCli.linkDelete(this.runner, target.containerNetns, name);
  }

  async check(settings: MacvlanSettings, target: NetworkTarget): Promise<NetworkDrift[]> {
    const { drift, link } = await checkContainerSide(this.runner, settings, target, this.type);
    if (!link || link.linkinfo?.info_kind !== 'macvlan') return drift;
    const mode = settings['macvlan.mode'] ?? 'private';
    const actualMode = link.linkinfo.info_data?.mode ?? 'unknown';
    if (actualMode !== mode) drift.push({ what: `${link.ifname} macvlan.mode`, expected: mode, actual: actualMode });
    const parent = (await ipCli.linkList(this.runner, target.hostNetns)).find((l) => l.ifindex === link.link_index);
    if (parent?.ifname !== settings.link) drift.push({ what: `${link.ifname} parent`, expected: settings.link, actual: parent?.ifname ?? 'not in the host namespace' });
    return drift;
  }
}
