import { InvalidArgumentError, type Command } from 'commander';
import type { ConfiguredNetwork, NetnsRef, NetworkAttachment, WiringRequest } from '@berth/core';
import { checkNames, usageError } from '../arguments.js';
import { ExitCode } from '../exit.js';
import { renderTable } from '../output.js';
import type { CommandContext } from './context.js';

interface WiringFlags {
  readonly netns?: string;
  readonly pid?: number;
  readonly hostNetns?: string;
  readonly index?: number;
}

function integerArgument(what: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected ${what}, a non-negative integer`);
    return Number(value);
  };
}

/** `KEY=VALUE` words → ordered key pairs (a key may repeat: ipv4.address, routes). */
function networkKeyPairs(words: readonly string[]): [string, string][] {
  return words.map((word) => {
    const equals = word.indexOf('=');
    if (equals <= 0) throw usageError(`expected KEY=VALUE, got ${JSON.stringify(word)}`);
    return [word.slice(0, equals).trim(), word.slice(equals + 1)];
  });
}

function wiringRequest(flags: WiringFlags): WiringRequest {
  if ((flags.netns === undefined) === (flags.pid === undefined)) throw usageError('give the container\'s namespace as exactly one of --netns PATH or --pid PID');
  const containerNetns: NetnsRef = flags.netns !== undefined ? { path: flags.netns } : { pid: flags.pid! };
  return {
    containerNetns,
    ...(flags.hostNetns !== undefined ? { hostNetns: { path: flags.hostNetns } } : {}),
    ...(flags.index !== undefined ? { index: flags.index } : {}),
  };
}

function networkJson(network: ConfiguredNetwork) {
  return { index: network.index, type: network.type, keys: network.keys.map(([key, value]) => ({ key, value })), problem: network.problem ?? null };
}

function attachmentJson(a: NetworkAttachment) {
  return { index: a.index, type: a.type, hostInterface: a.hostInterface ?? null, containerInterface: a.containerInterface, hwaddr: a.hwaddr ?? null, mtu: a.mtu ?? null };
}

function keysText(network: ConfiguredNetwork): string {
  return network.keys.filter(([key]) => key !== 'type').map(([key, value]) => `${key}=${value}`).join(' ');
}

function wiringOptions(command: Command): Command {
  return command
    .argument('<name>', 'the container')
    .option('--netns <path>', 'the container\'s network namespace file (/run/netns/NAME, /proc/PID/ns/net…)')
    .option('--pid <pid>', 'a process whose network namespace is the container\'s', integerArgument('a pid'))
    .option('--host-netns <path>', 'the host side\'s namespace (default: berth\'s own)')
    .option('--index <n>', 'only lxc.net.<n> (default: all)', integerArgument('an index'));
}

/**
 * `berth net …`: a container's `lxc.net.N` networks in its config (add, ls, rm), and
 * wiring them into a network namespace made by another runtime (attach, detach, check).
 */
export function registerNet(program: Command, context: CommandContext): void {
  const net = program
    .command('net')
    .summary('add, list and remove networks; wire them into a network namespace')
    .description('manage a container\'s lxc.net.N networks (veth, macvlan), and set them up in a network namespace')
    .addHelpText(
      'after',
      `
Keys are those after lxc.net.N. (see "berth drivers" for each type's keys):
  berth net add c1 veth link=br0 ipv4.address=192.0.2.10/24 hwaddr=02:00:00:xx:xx:xx
A repeatable key (ipv4.address, ipv6.address, veth.ipv4.route…) may be given several
times. "add" writes flags=up unless flags is given, and fills x in hwaddr once.`,
    );

  net
    .command('add')
    .description('add lxc.net.<next N> of a type to a container\'s config')
    .argument('<name>', 'the container')
    .argument('<type>', 'the network type (veth, macvlan)')
    .argument('[keys...]', 'KEY=VALUE settings, keys as after lxc.net.N.')
    .action(async (name: string, type: string, words: string[], _flags: unknown, command: Command) => {
      const session = context.session(command);
      checkNames(name);
      const keys = networkKeyPairs(words);
      await session.perform(
        (berth) => berth.networks.add(name, type, keys),
        (network) => ({ json: networkJson(network), lines: [`${name}: added lxc.net.${network.index} (${network.type} ${keysText(network)})`] }),
      );
    });

  net
    .command('ls')
    .description('list a container\'s networks')
    .argument('<name>', 'the container')
    .action(async (name: string, _flags: unknown, command: Command) => {
      const session = context.session(command);
      checkNames(name);
      const networks = await (await session.berth()).networks.list(name);
      session.output.result(networks.map(networkJson), () =>
        networks.length === 0
          ? [`${name} has no networks`]
          : renderTable(['INDEX', 'TYPE', 'KEYS'], networks.map((n) => [String(n.index), n.type, n.problem ? `(invalid: ${n.problem})` : keysText(n)])),
      );
    });

  net
    .command('rm')
    .description('remove lxc.net.<index> from a container\'s config (other indices keep their numbers)')
    .argument('<name>', 'the container')
    .argument('<index>', 'N of lxc.net.N', integerArgument('an index'))
    .action(async (name: string, index: number, _flags: unknown, command: Command) => {
      const session = context.session(command);
      checkNames(name);
      await session.perform(
        (berth) => berth.networks.remove(name, index),
        (network) => ({ json: networkJson(network), lines: [`${name}: removed lxc.net.${index} (${network.type})`] }),
      );
    });

  wiringOptions(net.command('attach').description('set up the container\'s networks in a network namespace (as LXC would at start)')).action(
    async (name: string, flags: WiringFlags, command: Command) => {
      const session = context.session(command);
      checkNames(name);
      const request = wiringRequest(flags);
      await session.perform(
        (berth) => berth.networks.attach(name, request),
        (attachments) => ({
          json: attachments.map(attachmentJson),
          lines: attachments.map((a) => `${name}: lxc.net.${a.index} ${a.type} ${a.containerInterface}${a.hostInterface ? ` (host ${a.hostInterface})` : ''}${a.hwaddr ? ` ${a.hwaddr}` : ''}`),
        }),
      );
    },
  );

  wiringOptions(net.command('detach').description('remove what attach set up')).action(async (name: string, flags: WiringFlags, command: Command) => {
    const session = context.session(command);
    checkNames(name);
    const request = wiringRequest(flags);
    await session.perform(
      (berth) => berth.networks.detach(name, request),
      (indices) => ({ json: { container: name, detached: indices }, lines: [`${name}: detached ${indices.map((i) => `lxc.net.${i}`).join(', ') || 'nothing'}`] }),
    );
  });

  wiringOptions(net.command('check').description('report drift between the config and the namespace (exit 1 when any)')).action(
    async (name: string, flags: WiringFlags, command: Command) => {
      const session = context.session(command);
      checkNames(name);
      const checks = await (await session.berth()).networks.check(name, wiringRequest(flags));
      const drifted = checks.some((c) => c.drift.length > 0);
      session.output.result(
        checks.map((c) => ({ index: c.index, type: c.type, drift: c.drift.map((d) => ({ ...d })) })),
        () =>
          drifted
            ? checks.flatMap((c) => c.drift.map((d) => `lxc.net.${c.index}: ${d.what}: expected ${d.expected}, found ${d.actual}`))
            : [`${name}: ${checks.length} network(s) as configured`],
      );
      if (drifted) session.exitCode = ExitCode.Failed;
    },
  );
}
