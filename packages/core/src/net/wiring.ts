import { randomBytes } from 'node:crypto';
import { BerthError, describeError } from '../errors.js';
import type { NetnsRef, NetworkDrift, NetworkTarget } from '../contracts/network.js';
import type { Availability } from '../contracts/storage.js';
import type { CommandRunner } from '../host/runner.js';
import * as ipCli from './ip-cli.js';
import { defaultIpv4Prefix, fillHwaddr, isHwaddrTemplate } from './keys.js';

/**
 * The runtime steps veth and macvlan share once the container-side device exists in the
 * container's namespace: addresses, up, default routes, scripts and the checks of them.
 */

/** The keys both types share, as settings. */
export interface CommonNetworkSettings {
  readonly type: string;
  readonly link?: string;
  readonly flags?: 'up';
  readonly name?: string;
  readonly hwaddr?: string;
  readonly mtu?: number;
  readonly 'ipv4.address'?: readonly string[];
  readonly 'ipv4.gateway'?: string;
  readonly 'ipv6.address'?: readonly string[];
  readonly 'ipv6.gateway'?: string;
  readonly 'script.up'?: string;
  readonly 'script.down'?: string;
}

/** Undo steps of one setup, run last first when a later step fails. */
export class UndoStack {
  private readonly steps: { what: string; undo: () => Promise<unknown> }[] = [];

  push(what: string, undo: () => Promise<unknown>): void {
    this.steps.push({ what, undo });
  }

  /** Runs every step, last first; returns what could not be undone. */
  async unwind(): Promise<string[]> {
    const failures: string[] = [];
    for (const step of this.steps.reverse()) {
      try {
        await step.undo();
      } catch (error) {
        failures.push(`${step.what}: ${describeError(error)}`);
      }
    }
    this.steps.length = 0;
    return failures;
  }

  /** Runs `fn`; when it throws, unwinds and rethrows (noting any undo that failed). */
  async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      const failures = await this.unwind();
      if (failures.length === 0) throw error;
      throw new BerthError(BerthError.is(error) ? error.code : 'Internal', `${describeError(error)} (and undoing failed: ${failures.join('; ')})`, { cause: error });
    }
  }
}

export function containerInterfaceName(settings: CommonNetworkSettings, target: NetworkTarget): string {
  return settings.name ?? `eth${target.index}`;
}

/** A fresh MAC for a template; the configured one otherwise. */
export function effectiveHwaddr(settings: CommonNetworkSettings): string | undefined {
  if (settings.hwaddr === undefined) return undefined;
  return isHwaddrTemplate(settings.hwaddr) ? fillHwaddr(settings.hwaddr) : settings.hwaddr.toLowerCase();
}

/** `veth` + 6 random characters, as LXC names an unnamed host side. */
export function randomVethName(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return `veth${[...randomBytes(6)].map((b) => alphabet[b % alphabet.length]).join('')}`;
}

/** Refuses a name already taken in a namespace, before anything is made. */
export async function requireFreeName(runner: CommandRunner, ns: NetnsRef | undefined, name: string, key: string): Promise<void> {
  if (await ipCli.linkShow(runner, ns, name)) {
    throw new BerthError('AlreadyExists', `${key}: an interface named ${name} already exists in ${ipCli.describeNetns(ns)}`);
  }
}

/** The host-side link, which must exist. */
export async function requireLink(runner: CommandRunner, ns: NetnsRef | undefined, link: string, type: string): Promise<ipCli.LinkInfo> {
  const info = await ipCli.linkShow(runner, ns, link);
  if (!info) throw new BerthError('NotFound', `link: ${type} needs the host device ${link}, which does not exist in ${ipCli.describeNetns(ns)}`);
  return info;
}

function splitAddress(value: string, family: 4 | 6): { cidr: string; broadcast?: string } {
  const [address = '', broadcast] = value.split(/\s+/);
  const cidr = address.includes('/') ? address : `${address}/${family === 4 ? defaultIpv4Prefix(address) : 64}`;
  return broadcast ? { cidr, broadcast } : { cidr };
}

/** The configured addresses as CIDRs (a bare IPv4 address gets its class prefix, as in LXC). */
export function configuredAddresses(settings: CommonNetworkSettings): { family: 4 | 6; cidr: string; broadcast?: string }[] {
  return [
    ...(settings['ipv4.address'] ?? []).map((a) => ({ family: 4 as const, ...splitAddress(a, 4) })),
    ...(settings['ipv6.address'] ?? []).map((a) => ({ family: 6 as const, ...splitAddress(a, 6) })),
  ];
}

/** `auto`: the first address of the link on the host side (IPv6: the first global one). */
async function autoGateway(runner: CommandRunner, hostNs: NetnsRef | undefined, link: string | undefined, family: 4 | 6): Promise<string> {
  const key = `ipv${family}.gateway`;
  if (!link) throw new BerthError('InvalidArgument', `${key}: "auto" needs a link to take the address of`);
  const addresses = await ipCli.addressList(runner, hostNs, link);
  const found = addresses.find((a) => a.family === (family === 4 ? 'inet' : 'inet6') && (family === 4 || a.scope === 'global'));
  if (!found) throw new BerthError('FailedPrecondition', `${key}: "auto" but ${link} has no IPv${family} address in ${ipCli.describeNetns(hostNs)}`);
  return found.local;
}

/**
 * Addresses, up (with `flags = up`) and default routes of the container-side device,
 * which is already in the container's namespace with its name, MAC and MTU.
 */
export async function configureContainerSide(
  runner: CommandRunner,
  settings: CommonNetworkSettings,
  target: NetworkTarget,
  dev: string,
): Promise<void> {
  const ns = target.containerNetns;
  for (const { cidr, broadcast } of configuredAddresses(settings)) await ipCli.addressAdd(runner, ns, dev, cidr, broadcast);
  if (settings.flags !== 'up') return;
  await ipCli.linkSetUp(runner, ns, dev);
  for (const family of [4, 6] as const) {
    const gateway = settings[`ipv${family}.gateway`];
    if (gateway === undefined) continue;
    if (gateway === 'dev') await ipCli.routeAdd(runner, ns, family, 'default', dev);
    else {
      const via = gateway === 'auto' ? await autoGateway(runner, target.hostNetns, settings.link, family) : gateway;
      try {
        await ipCli.routeAdd(runner, ns, family, 'default', dev, via);
      } catch (error) {
        // A gateway outside the container's subnets (veth router mode's usual setup):
        // make it reachable on the device first, as LXC does, then route through it.
        if (!/unreachable|invalid gateway|nexthop/i.test(describeError(error))) throw error;
        await ipCli.routeAdd(runner, ns, family, `${via}/${family === 4 ? 32 : 128}`, dev);
        await ipCli.routeAdd(runner, ns, family, 'default', dev, via);
      }
    }
  }
}

/**
 * Runs `script.up`/`script.down` in the host namespace as LXC does: arguments
 * `<container> net up|down <type> <link> [<host veth>]`, and the `LXC_*` variables of
 * `lxc.hook.version = 1`. A path, never a shell line.
 */
export async function runNetworkScript(
  runner: CommandRunner,
  settings: CommonNetworkSettings,
  target: NetworkTarget,
  phase: 'up' | 'down',
  hostInterface: string | undefined,
): Promise<void> {
  const script = settings[`script.${phase}`];
  if (script === undefined) return;
  const args = [target.containerName, 'net', phase, settings.type, settings.link ?? '', ...(hostInterface ? [hostInterface] : [])];
  const env: Record<string, string> = {
    LXC_NAME: target.containerName,
    LXC_HOOK_TYPE: phase,
    LXC_HOOK_SECTION: 'net',
    LXC_NET_TYPE: settings.type,
    LXC_NET_PARENT: settings.link ?? '',
    ...(hostInterface ? { LXC_NET_PEER: hostInterface } : {}),
  };
  try {
    await runner.run(ipCli.inNetns(target.hostNetns, [script, ...args]), { env, timeoutMs: 60_000 });
  } catch (error) {
    throw BerthError.wrap(error, 'CommandFailed', `script.${phase} ${script} failed`);
  }
}

/** Drift of the container-side device: existence, kind, MAC, MTU, state, addresses. */
export async function checkContainerSide(
  runner: CommandRunner,
  settings: CommonNetworkSettings,
  target: NetworkTarget,
  kind: string,
): Promise<{ drift: NetworkDrift[]; link: ipCli.LinkInfo | undefined }> {
  const dev = containerInterfaceName(settings, target);
  const link = await ipCli.linkShow(runner, target.containerNetns, dev);
  if (!link) return { drift: [{ what: `device ${dev}`, expected: `a ${kind} device in ${ipCli.describeNetns(target.containerNetns)}`, actual: 'missing' }], link };
  const drift: NetworkDrift[] = [];
  const actualKind = link.linkinfo?.info_kind ?? 'none';
  if (actualKind !== kind) drift.push({ what: `${dev} kind`, expected: kind, actual: actualKind });
  if (settings.hwaddr !== undefined && !isHwaddrTemplate(settings.hwaddr) && link.address?.toLowerCase() !== settings.hwaddr.toLowerCase()) {
    drift.push({ what: `${dev} hwaddr`, expected: settings.hwaddr.toLowerCase(), actual: link.address ?? 'none' });
  }
  if (settings.mtu !== undefined && link.mtu !== settings.mtu) drift.push({ what: `${dev} mtu`, expected: String(settings.mtu), actual: String(link.mtu) });
  if (settings.flags === 'up' && !link.flags.includes('UP')) drift.push({ what: `${dev} state`, expected: 'up', actual: 'down' });
  const present = new Set((await ipCli.addressList(runner, target.containerNetns, dev)).map((a) => `${a.local}/${a.prefixlen}`));
  for (const { cidr } of configuredAddresses(settings)) {
    const normalised = normaliseCidr(cidr);
    if (!present.has(normalised)) drift.push({ what: `${dev} address`, expected: normalised, actual: [...present].filter((a) => !a.startsWith('fe80:')).join(', ') || 'none' });
  }
  return { drift, link };
}

/** `ip` prints IPv6 compressed and lower-case: compare in that form. */
function normaliseCidr(cidr: string): string {
  const [address = '', prefix] = cidr.split('/');
  if (!address.includes(':')) return cidr;
  const url = new URL(`http://[${address}]/`);
  return `${url.hostname.slice(1, -1)}/${prefix}`;
}

/** What every runtime network driver needs on the host: iproute2's ip and nsenter. */
export async function probeNetworkTools(runner: CommandRunner): Promise<Availability> {
  if (!(await runner.which('ip'))) return { available: false, reason: 'iproute2 is not installed (no ip command)' };
  if (!(await runner.which('nsenter'))) return { available: false, reason: 'util-linux nsenter is not installed' };
  return { available: true };
}
