import { BerthError } from '../errors.js';
import type { NetnsRef } from '../contracts/network.js';
import type { CommandRunner, RunOptions } from '../host/runner.js';

/**
 * The iproute2 (and nsenter) commands the network drivers run, one function each.
 * `ip` exits 1 on a failed request (stderr: "RTNETLINK answers: File exists", "Cannot
 * find device", "Error: …") and 255 on a usage error.
 *
 * Namespaces: a named netns (`/run/netns/NAME`) is reached with `ip -n NAME`; any other
 * netns path or a pid with `nsenter --net=PATH ip …` (nsenter does not remount /sys,
 * which `ip` over netlink does not need); no namespace means the caller's own.
 */

const NAMED_NETNS = /^\/run\/netns\/([^/]+)$/;

/** The path of a namespace's file. */
export function netnsPath(ns: NetnsRef): string {
  return 'path' in ns ? ns.path : `/proc/${ns.pid}/ns/net`;
}

export function describeNetns(ns: NetnsRef | undefined): string {
  if (!ns) return 'the caller\'s namespace';
  return 'path' in ns ? `netns ${ns.path}` : `the netns of pid ${ns.pid}`;
}

/** argv running `ip ARGS` in a namespace. */
export function ipArgv(ns: NetnsRef | undefined, args: readonly string[]): string[] {
  if (!ns) return ['ip', ...args];
  if ('path' in ns) {
    const named = NAMED_NETNS.exec(ns.path);
    if (named) return ['ip', '-n', named[1]!, ...args];
  }
  return inNetns(ns, ['ip', ...args]);
}

/** argv running any command with its network namespace switched (scripts). */
export function inNetns(ns: NetnsRef | undefined, argv: readonly string[]): string[] {
  return ns ? ['nsenter', `--net=${netnsPath(ns)}`, '--', ...argv] : [...argv];
}

/** The value of `ip link … netns X`: a pid, or a netns file path (iproute2 opens a path with a "/"). */
export function netnsArgument(ns: NetnsRef): string {
  return 'path' in ns ? ns.path : String(ns.pid);
}

function ip(runner: CommandRunner, ns: NetnsRef | undefined, args: readonly string[], options?: RunOptions) {
  return runner.run(ipArgv(ns, args), options);
}

/** One device as `ip -j -d link show` reports it (the fields berth reads). */
export interface LinkInfo {
  readonly ifindex: number;
  readonly ifname: string;
  readonly flags: readonly string[];
  readonly mtu: number;
  readonly address?: string;
  readonly master?: string;
  /** The peer's ifindex (veth) or the parent's (macvlan), in `link_netnsid`'s namespace when set. */
  readonly link_index?: number;
  readonly link_netnsid?: number;
  readonly linkinfo?: { readonly info_kind?: string; readonly info_data?: { readonly mode?: string } };
}

export interface AddressInfo {
  readonly family: 'inet' | 'inet6';
  readonly local: string;
  readonly prefixlen: number;
  readonly scope?: string;
  readonly tentative?: boolean;
}

/** `ip -j -d link show dev DEV`: undefined when there is no such device (exit 1, "does not exist"). */
export async function linkShow(runner: CommandRunner, ns: NetnsRef | undefined, dev: string): Promise<LinkInfo | undefined> {
  const result = await ip(runner, ns, ['-j', '-d', 'link', 'show', 'dev', dev], { readOnly: true, okExitCodes: [1] });
  if (result.exitCode === 1) {
    if (/does not exist|Cannot find device/i.test(result.stderr)) return undefined;
    throw new BerthError('CommandFailed', `ip link show ${dev} in ${describeNetns(ns)} failed: ${result.stderr.trim()}`);
  }
  return (JSON.parse(result.stdout || '[]') as LinkInfo[])[0];
}

/** `ip -j -d link show`: every device of the namespace. */
export async function linkList(runner: CommandRunner, ns: NetnsRef | undefined): Promise<LinkInfo[]> {
  const result = await ip(runner, ns, ['-j', '-d', 'link', 'show'], { readOnly: true });
  return JSON.parse(result.stdout || '[]') as LinkInfo[];
}

/** `ip -j addr show dev DEV`: its addresses. */
export async function addressList(runner: CommandRunner, ns: NetnsRef | undefined, dev: string): Promise<AddressInfo[]> {
  const result = await ip(runner, ns, ['-j', 'addr', 'show', 'dev', dev], { readOnly: true });
  const links = JSON.parse(result.stdout || '[]') as { addr_info?: AddressInfo[] }[];
  return links.flatMap((l) => l.addr_info ?? []);
}

export interface VethAdd {
  readonly hostName: string;
  readonly peerName: string;
  readonly peerNetns: NetnsRef;
  readonly peerHwaddr?: string;
  readonly mtu?: number;
}

/**
 * `ip link add HOST [mtu M] type veth peer name PEER [address MAC] [mtu M] netns NS`:
 * the pair in one request, the peer created straight in the container's namespace
 * (so its name is only checked there, and it never appears on the host).
 */
export function vethAdd(runner: CommandRunner, hostNs: NetnsRef | undefined, spec: VethAdd) {
  const mtu = spec.mtu === undefined ? [] : ['mtu', String(spec.mtu)];
  const address = spec.peerHwaddr === undefined ? [] : ['address', spec.peerHwaddr];
  return ip(runner, hostNs, ['link', 'add', spec.hostName, ...mtu, 'type', 'veth', 'peer', 'name', spec.peerName, ...address, ...mtu, 'netns', netnsArgument(spec.peerNetns)]);
}

export interface MacvlanAdd {
  readonly parent: string;
  readonly name: string;
  readonly mode: string;
  readonly netns: NetnsRef;
  readonly hwaddr?: string;
  readonly mtu?: number;
}

/** `ip link add link PARENT name NAME [address MAC] [mtu M] netns NS type macvlan mode MODE`: made inside the container's namespace. */
export function macvlanAdd(runner: CommandRunner, hostNs: NetnsRef | undefined, spec: MacvlanAdd) {
  const mtu = spec.mtu === undefined ? [] : ['mtu', String(spec.mtu)];
  const address = spec.hwaddr === undefined ? [] : ['address', spec.hwaddr];
  return ip(runner, hostNs, ['link', 'add', 'link', spec.parent, 'name', spec.name, ...address, ...mtu, 'netns', netnsArgument(spec.netns), 'type', 'macvlan', 'mode', spec.mode]);
}

/** `ip link set dev DEV master BRIDGE` */
export function linkSetMaster(runner: CommandRunner, ns: NetnsRef | undefined, dev: string, master: string) {
  return ip(runner, ns, ['link', 'set', 'dev', dev, 'master', master]);
}

/** `ip link set dev DEV up` */
export function linkSetUp(runner: CommandRunner, ns: NetnsRef | undefined, dev: string) {
  return ip(runner, ns, ['link', 'set', 'dev', dev, 'up']);
}

/** `ip link delete dev DEV` (a veth end takes its peer with it). */
export function linkDelete(runner: CommandRunner, ns: NetnsRef | undefined, dev: string) {
  return ip(runner, ns, ['link', 'delete', 'dev', dev]);
}

/** `ip addr add CIDR [broadcast B] dev DEV` */
export function addressAdd(runner: CommandRunner, ns: NetnsRef | undefined, dev: string, cidr: string, broadcast?: string) {
  return ip(runner, ns, ['addr', 'add', cidr, ...(broadcast ? ['broadcast', broadcast] : []), 'dev', dev]);
}

/** `ip [-6] route add DEST [via GW] dev DEV` */
export function routeAdd(runner: CommandRunner, ns: NetnsRef | undefined, family: 4 | 6, destination: string, dev: string, via?: string) {
  return ip(runner, ns, [`-${family}`, 'route', 'add', destination, ...(via ? ['via', via] : []), 'dev', dev]);
}

/** `ip [-6] neigh add proxy ADDRESS dev DEV`: answer ARP/NDP for ADDRESS on DEV. */
export function neighProxyAdd(runner: CommandRunner, ns: NetnsRef | undefined, family: 4 | 6, address: string, dev: string) {
  return ip(runner, ns, [`-${family}`, 'neigh', 'add', 'proxy', address, 'dev', dev]);
}

/**
 * `sysctl -w KEY=VALUE` in a namespace (`/proc/sys/net` shows the writer's own network
 * namespace, so the command runs inside it). Exit 255 when the key does not exist.
 */
export function sysctlSet(runner: CommandRunner, ns: NetnsRef | undefined, key: string, value: string) {
  return runner.run(inNetns(ns, ['sysctl', '-q', '-w', `${key}=${value}`]));
}

/** `ip [-6] route show dev DEV`: the routes through a device, one per line. */
export async function routeList(runner: CommandRunner, ns: NetnsRef | undefined, family: 4 | 6, dev: string): Promise<string[]> {
  const result = await ip(runner, ns, [`-${family}`, 'route', 'show', 'dev', dev], { readOnly: true });
  return result.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}
