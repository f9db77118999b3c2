import type { z } from 'zod';
import type { Availability } from './storage.js';

/**
 * # Network drivers
 *
 * A network driver handles one `lxc.net.N.type` (`veth`, `macvlan`…) two ways:
 * - **config**: `parse`/`render` between a typed, validated description and the
 *   `lxc.net.N.*` keys, for LXC to wire the network when it starts the container;
 * - **runtime**: `setup`/`teardown`/`check` wire a network namespace berth is handed
 *   (a `/run/netns/…` path or a pid), from a host namespace that is a parameter too,
 *   as a CNI plugin would.
 */
export interface NetworkDriver<N extends NetworkSettings = NetworkSettings> {
  /** The `lxc.net.N.type` value this driver owns. */
  readonly type: string;
  readonly description: string;
  /** The keys after `lxc.net.N.` as a strict zod object, each described. */
  readonly schema: z.ZodObject;
  probe(): Promise<Availability>;
  /** Keys (without the `lxc.net.N.` prefix) → settings; refuses bad values naming the key. */
  parse(keys: Readonly<Record<string, string>>): N;
  /** Settings → keys, in LXC's order, `type` first. */
  render(settings: N): Record<string, string>;
  setup(settings: N, target: NetworkTarget): Promise<NetworkAttachment>;
  teardown(settings: N, target: NetworkTarget): Promise<void>;
  check(settings: N, target: NetworkTarget): Promise<NetworkDrift[]>;
}

export type NetworkSettings = Readonly<Record<string, unknown>> & { readonly type: string };

export interface NetworkTarget {
  readonly containerName: string;
  readonly index: number;
  /** The container's namespace: a netns path or a pid. */
  readonly containerNetns: { readonly path: string } | { readonly pid: number };
  /** The host side; undefined means the caller's own namespace. */
  readonly hostNetns?: { readonly path: string } | { readonly pid: number };
}

export interface NetworkAttachment {
  readonly hostInterface?: string;
  readonly containerInterface: string;
  readonly hwaddr?: string;
}

export interface NetworkDrift {
  readonly what: string;
  readonly expected: string;
  readonly actual: string;
}

export const NETWORK_DRIVER = Symbol.for('berth.NetworkDriver');
