import type { ContainerInfo, ContainerSummary, SnapshotInfo } from '@berth/core';

/**
 * The `--json` shapes, built field by field so that they stay stable whatever the
 * facade's types gain. Absent values are `null`, never missing keys.
 */
export interface ContainerJson {
  readonly name: string;
  readonly lxcpath: string;
  readonly backend: string;
  readonly rootfs: string;
  readonly snapshots: number;
  readonly dependsOn: readonly string[];
  readonly dependents: readonly string[];
  readonly partial: boolean;
}

export function containerJson(summary: ContainerSummary): ContainerJson {
  return {
    name: summary.name,
    lxcpath: summary.lxcpath,
    backend: summary.backend,
    rootfs: summary.rootfs,
    snapshots: summary.snapshots,
    dependsOn: [...summary.dependsOn],
    dependents: [...summary.dependents],
    partial: summary.partial,
  };
}

export function containerInfoJson(info: ContainerInfo): ContainerJson & Record<string, unknown> {
  return {
    ...containerJson(info),
    dir: info.dir,
    config: info.config,
    usage: info.usage
      ? {
          usedBytes: info.usage.usedBytes,
          limitBytes: info.usage.limitBytes ?? null,
          freeBytes: info.usage.freeBytes ?? null,
          details: info.usage.details ?? {},
        }
      : null,
    usageError: info.usageError ?? null,
  };
}

export function snapshotJson(snapshot: SnapshotInfo): Record<string, unknown> {
  return {
    name: snapshot.name,
    container: snapshot.container,
    dir: snapshot.dir,
    timestamp: snapshot.timestamp ?? null,
    comment: snapshot.comment ?? null,
    backend: snapshot.backend,
  };
}
