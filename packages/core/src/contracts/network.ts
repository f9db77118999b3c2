import type { z } from 'zod';
import type { Availability } from './storage.js';

/**
 * # Network drivers
 *
 * A network driver handles one `lxc.net.N.type` (`veth`, `macvlan`…) two ways:
 * - **config**: `parse`/`render` between a typed, validated description (the
 *   *settings*) and the keys after `lxc.net.N.` (the *keys*), for LXC to wire the network
 *   when it starts the container;
 * - **runtime**: `setup`/`teardown`/`check` wire a network namespace berth is handed
 *   (a netns path such as `/run/netns/c1`, or a pid), from a *host namespace* that is a
 *   parameter too (default: the caller's), as a CNI plugin would.
 *
 * Lifecycle: `parse` (or build settings in code) → `setup` (creates devices, returns
 * the attachment: what it made) → `check` (drift between settings and the kernel) →
 * `teardown` (removes what setup made, nothing else). `setup` undoes its own steps in
 * reverse when one fails, so a failed setup leaves nothing behind.
 *
 * Keys are an ordered list of pairs, not a record: `ipv4.address`, `ipv6.address` and
 * the route keys may repeat, as `lxc.net.N.ipv4.address` lines may in LXC.
 */
export interface NetworkDriver<N extends NetworkSettings = NetworkSettings> {
  /** The `lxc.net.N.type` value this driver owns. */
  readonly type: string;
  readonly description: string;
  /**
   * The keys after `lxc.net.N.` as a strict zod object over their config text (strings;
   * arrays for the repeatable keys), each described. Its output is the settings.
   */
  readonly schema: z.ZodObject;
  probe(): Promise<Availability>;
  /**
   * Keys (without the `lxc.net.N.` prefix) → settings; refuses bad values naming the
   * key, shown with `keyPrefix` in front (`lxc.net.1.`).
   */
  parse(keys: NetworkKeys, keyPrefix?: string): N;
  /** Settings → keys, in LXC's order, `type` first, repeatable keys once per value. */
  render(settings: N): NetworkKeys;
  setup(settings: N, target: NetworkTarget): Promise<NetworkAttachment>;
  teardown(settings: N, target: NetworkTarget): Promise<void>;
  check(settings: N, target: NetworkTarget): Promise<NetworkDrift[]>;
}

/** `lxc.net.N.*` keys without the prefix, in order; a key may repeat. */
export type NetworkKeys = readonly (readonly [key: string, value: string])[];

export type NetworkSettings = Readonly<Record<string, unknown>> & { readonly type: string };

/** A network namespace: a bind-mounted netns file (`/run/netns/NAME`, any path) or a process's. */
export type NetnsRef = { readonly path: string } | { readonly pid: number };

export interface NetworkTarget {
  /** The container's name, passed to `script.up`/`script.down`. */
  readonly containerName: string;
  /** N of `lxc.net.N`: the default container-side name is `eth<index>`. */
  readonly index: number;
  /** The container's namespace. */
  readonly containerNetns: NetnsRef;
  /** The host side; undefined means the caller's own namespace. */
  readonly hostNetns?: NetnsRef;
}

export interface NetworkAttachment {
  readonly index: number;
  readonly type: string;
  /** The host-side device (a veth's pair end); none for macvlan. */
  readonly hostInterface?: string;
  readonly containerInterface: string;
  /** The MAC the container side got (a `x` template filled now, or the configured one). */
  readonly hwaddr?: string;
  readonly mtu?: number;
}

/** One way the kernel differs from the settings (`check`). */
export interface NetworkDrift {
  readonly what: string;
  readonly expected: string;
  readonly actual: string;
}

export const NETWORK_DRIVER = Symbol.for('berth.NetworkDriver');

/** The `Networks` service (`packages/core/src/networks.ts`), reached as `berth.networks`. */
export const NETWORKS = Symbol.for('berth.Networks');
