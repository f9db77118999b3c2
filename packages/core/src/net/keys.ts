import { randomBytes } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import * as z from 'zod';
import { BerthError } from '../errors.js';
import type { NetworkKeys } from '../contracts/network.js';
import type { LxcConfig } from '../lxc/config.js';

/**
 * The `lxc.net.N.*` keys every network type shares (`lxc.container.conf(5)`), as zod
 * fields over their config text, and the parse/render between keys and settings that
 * each driver uses with its own strict object.
 */

/** LXC's prefixes for generated MACs (00:16:3e up to 6.0.3, 10:66:6a from 6.0.4): not locally administered, accepted as LXC writes them. */
export const LXC_MAC_PREFIXES = ['00:16:3e', '10:66:6a'] as const;

const CONTROL = /[\x00-\x1f\x7f]/;
const text = () => z.string().refine((v) => !CONTROL.test(v), 'contains a newline or control character');

/** What is wrong with a MAC or MAC template (`x` = a random hex digit), or undefined. */
export function macProblem(value: string): string | undefined {
  if (!/^[0-9a-fx]{2}(:[0-9a-fx]{2}){5}$/i.test(value)) return 'expected a MAC address such as 02:00:00:12:34:56 (x = a random hex digit)';
  const low = value[1]!.toLowerCase();
  if (low === 'x') return undefined; // filled unicast and locally administered
  const nibble = parseInt(low, 16);
  if (nibble & 1) return 'a multicast address (the first octet is odd): a device needs a unicast MAC';
  const prefix = value.slice(0, 8).toLowerCase();
  if (!(nibble & 2) && !LXC_MAC_PREFIXES.some((p) => p === prefix)) {
    return 'not locally administered (the second-lowest bit of the first octet must be set, e.g. 02:…, or LXC\'s 00:16:3e:…)';
  }
  return undefined;
}

/** Fills each `x` with a random hex digit; an `x` in the first octet's low digit keeps the MAC unicast and locally administered. */
export function fillHwaddr(template: string): string {
  const bytes = randomBytes(template.length);
  return template.replace(/x/gi, (_x, offset: number) => {
    const digit = bytes[offset]! % 16;
    return (offset === 1 ? (digit & ~1) | 2 : digit).toString(16);
  });
}

export function isHwaddrTemplate(value: string): boolean {
  return /x/i.test(value);
}

function ipv4Cidr(value: string, prefixRequired: boolean): boolean {
  const [address, broadcast, extra] = value.split(/\s+/);
  if (extra !== undefined || address === undefined) return false;
  if (broadcast !== undefined && !isIPv4(broadcast)) return false;
  const [ip, prefix, more] = address.split('/');
  if (more !== undefined || !isIPv4(ip ?? '')) return false;
  if (prefix === undefined) return !prefixRequired;
  return /^\d{1,2}$/.test(prefix) && Number(prefix) <= 32;
}

function ipv6Cidr(value: string, prefixRequired: boolean): boolean {
  const [ip, prefix, more] = value.split('/');
  if (more !== undefined || !isIPv6(ip ?? '')) return false;
  if (prefix === undefined) return !prefixRequired;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= 128;
}

/** The kernel's rule: 1–15 bytes, no `/`, `:` or whitespace, not `.` or `..`. */
export function isInterfaceName(value: string): boolean {
  return /^[^\s/:]{1,15}$/.test(value) && value !== '.' && value !== '..' && !CONTROL.test(value);
}

const ifname = (what: string) => z.string().refine(isInterfaceName, `expected ${what}: 1–15 characters, no "/", ":" or spaces`);

/** The common keys, in LXC's order. Each driver spreads these into its strict object. */
export const commonNetworkKeys = {
  link: ifname('an interface name').optional().describe('The host-side device: the bridge a veth joins, the parent of a macvlan'),
  flags: z.enum(['up']).optional().describe('"up" brings the container-side interface up (LXC leaves it down otherwise)'),
  name: ifname('an interface name').optional().describe('The interface name inside the container (default eth<N>)'),
  hwaddr: text()
    .superRefine((v, ctx) => {
      const problem = macProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional()
    .describe('MAC of the container side; each x becomes a random hex digit, filled once when the network is added and kept. Must be unicast and locally administered (or LXC\'s 00:16:3e prefix)'),
  mtu: z
    .string()
    .regex(/^\d{2,5}$/, 'expected a number of bytes, 68 to 65535')
    .transform(Number)
    .pipe(z.number().int().min(68, 'at least 68').max(65535, 'at most 65535'))
    .optional()
    .describe('MTU of both sides (default: the link\'s MTU)'),
  'ipv4.address': z
    .array(text().refine((v) => ipv4Cidr(v, false), 'expected an IPv4 address with prefix, e.g. 192.0.2.10/24 (optionally followed by a broadcast address)'))
    .optional()
    .describe('IPv4 addresses of the container side, a.b.c.d/prefix; repeat the key for several'),
  'ipv4.gateway': text()
    .refine((v) => v === 'auto' || v === 'dev' || isIPv4(v), 'expected an IPv4 address, "auto" (the link\'s first address) or "dev" (a device route)')
    .optional()
    .describe('IPv4 default route: an address, "auto" (the first IPv4 address of the link) or "dev" (default route through the device, no next hop)'),
  'ipv6.address': z
    .array(text().refine((v) => ipv6Cidr(v, false), 'expected an IPv6 address with prefix, e.g. 2001:db8::10/64'))
    .optional()
    .describe('IPv6 addresses of the container side, addr/prefix; repeat the key for several'),
  'ipv6.gateway': text()
    .refine((v) => v === 'auto' || v === 'dev' || isIPv6(v), 'expected an IPv6 address, "auto" or "dev"')
    .optional()
    .describe('IPv6 default route: an address, "auto" (the first global IPv6 address of the link) or "dev"'),
  'script.up': text()
    .refine((v) => v.startsWith('/'), 'expected an absolute path of an executable (run without a shell)')
    .optional()
    .describe('Run on the host after the network is set up, with LXC\'s arguments "<container> net up <type> <link> [<host veth>]" and LXC_* environment'),
  'script.down': text()
    .refine((v) => v.startsWith('/'), 'expected an absolute path of an executable (run without a shell)')
    .optional()
    .describe('Run on the host before the network is removed, with the arguments of script.up but "down"'),
};

export const routeKeys = {
  ipv4: z.array(text().refine((v) => ipv4Cidr(v, true) && !/\s/.test(v), 'expected an IPv4 network with prefix, e.g. 198.51.100.0/24')),
  ipv6: z.array(text().refine((v) => ipv6Cidr(v, true), 'expected an IPv6 network with prefix, e.g. 2001:db8:1::/64')),
};

/** Prefix LXC gives an IPv4 address written without one: by address class. */
export function defaultIpv4Prefix(address: string): number {
  const first = Number(address.split('.')[0]);
  if (first < 128) return 8;
  if (first < 192) return 16;
  return 24;
}

function isRepeatable(field: unknown): boolean {
  let current = field as { def?: { type?: string; innerType?: unknown } } | undefined;
  while (current?.def?.type === 'optional' || current?.def?.type === 'default') current = current.def.innerType as typeof current;
  return current?.def?.type === 'array';
}

/**
 * Keys → settings through a driver's strict object. As LXC reads them: a later value
 * of a single key wins; a repeatable key collects its values; an empty value clears.
 */
export function parseNetworkKeys<S extends z.ZodObject>(schema: S, type: string, keys: NetworkKeys, keyPrefix = ''): z.output<S> {
  const shape = schema.shape as Record<string, unknown>;
  const raw: Record<string, string | string[]> = {};
  for (const [key, value] of keys) {
    if (/[\n\r\0]/.test(value)) throw new BerthError('InvalidArgument', `${keyPrefix}${key}: the value contains a newline or NUL`);
    if (isRepeatable(shape[key])) {
      if (value === '') delete raw[key];
      else raw[key] = [...((raw[key] as string[] | undefined) ?? []), value];
    } else if (value === '' && key !== 'type') {
      delete raw[key];
    } else {
      raw[key] = value;
    }
  }
  if (raw.type !== undefined && raw.type !== type) {
    throw new BerthError('InvalidArgument', `${keyPrefix}type: is ${String(raw.type)}, not ${type}`);
  }
  raw.type = type;
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const names = issue.keys.map((k) => `${keyPrefix}${k}`).join(', ');
    throw new BerthError('InvalidArgument', `${type} networks have no key ${names} (they take: ${Object.keys(shape).filter((k) => k !== 'type').join(', ')})`);
  }
  const key = String(issue.path[0] ?? 'keys');
  const value = raw[key];
  const shown = typeof value === 'string' ? ` ${JSON.stringify(value)}` : Array.isArray(value) && typeof issue.path[1] === 'number' ? ` ${JSON.stringify(value[issue.path[1]])}` : '';
  throw new BerthError('InvalidArgument', `${keyPrefix}${key}:${shown} ${issue.message}`);
}

/** Settings → keys in the schema's order (`type` first), repeatable keys once per value. */
export function renderNetworkKeys(schema: z.ZodObject, settings: Readonly<Record<string, unknown>>): [string, string][] {
  const keys: [string, string][] = [];
  for (const key of Object.keys(schema.shape)) {
    const value = settings[key];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) keys.push([key, String(item)]);
    else keys.push([key, String(value)]);
  }
  return keys;
}

// ---------------------------------------------------------------- config files

const NET_KEY = /^lxc\.net\.(\d+)\.(.+)$/;

/** The N of every `lxc.net.N.*` key, ascending. */
export function networkIndices(config: LxcConfig): number[] {
  const indices = new Set<number>();
  for (const { key } of config.entries()) {
    const match = NET_KEY.exec(key);
    if (match) indices.add(Number(match[1]));
  }
  return [...indices].sort((a, b) => a - b);
}

/** The keys of `lxc.net.<index>.*`, prefix stripped, in file order. */
export function networkKeysOf(config: LxcConfig, index: number): [string, string][] {
  const keys: [string, string][] = [];
  for (const { key, value } of config.entries()) {
    const match = NET_KEY.exec(key);
    if (match && Number(match[1]) === index) keys.push([match[2]!, value]);
  }
  return keys;
}

/** Replaces `lxc.net.<index>.*` with `keys`; every other line stays as it was. */
export function setNetworkKeys(config: LxcConfig, index: number, keys: NetworkKeys): void {
  config.deletePrefix(`lxc.net.${index}.`);
  for (const [key, value] of keys) config.append(`lxc.net.${index}.${key}`, value);
}
