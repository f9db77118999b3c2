import { BerthError } from '../errors.js';

/**
 * `lxc.rootfs.path` as LXC reads it: `<type>:<source>`, split at the first `:`
 * (`dir:/var/lib/lxc/c/rootfs`, `zfs:lxc/c`, `overlay:<lower>:<upper>`). A path with no
 * known prefix is "unprefixed" and its type is detected by the drivers.
 */
export interface RootfsSpec {
  readonly type: string;
  readonly source: string;
}

/** Every prefix LXC itself understands; `overlayfs` is an alias of `overlay`. */
export const LXC_ROOTFS_TYPES = ['dir', 'btrfs', 'zfs', 'lvm', 'loop', 'overlay', 'overlayfs', 'rbd', 'nbd'] as const;

export function formatRootfs(spec: RootfsSpec): string {
  return `${spec.type}:${spec.source}`;
}

/** Splits a rootfs path. Returns `type: undefined` for an unprefixed path. */
export function parseRootfs(value: string): { type: string | undefined; source: string } {
  const colon = value.indexOf(':');
  if (colon > 0) {
    const prefix = value.slice(0, colon);
    if ((LXC_ROOTFS_TYPES as readonly string[]).includes(prefix) || /^[a-z][a-z0-9-]*$/.test(prefix)) {
      return { type: prefix === 'overlayfs' ? 'overlay' : prefix, source: value.slice(colon + 1) };
    }
  }
  if (value === '') throw new BerthError('InvalidArgument', 'lxc.rootfs.path is empty');
  return { type: undefined, source: value };
}

/** `overlay:<lower>:<upper>`'s source split into its two paths (upper is after the last `:`). */
export function splitOverlaySource(source: string): { lower: string; upper: string } {
  const colon = source.lastIndexOf(':');
  if (colon <= 0) throw new BerthError('InvalidArgument', `overlay rootfs ${JSON.stringify(source)} is not <lower>:<upper>`);
  return { lower: source.slice(0, colon), upper: source.slice(colon + 1) };
}
